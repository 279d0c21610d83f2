"""Python-side cost of one explorer update, per explorer and per control.

For every explorer factory in ``explainer.explorers`` (default arguments) and every control, the
control is moved 50 times across its range, one step at a time (as a drag or arrow keys would), and
the wall time of the assignment is recorded: the observer, ``limits``, compute, artist updates, blit
and PNG encoding. Clicks are timed for explorers that accept them. Prints p50 / p95 / max in ms.

    .venv/bin/python benchmarks/explorer_updates.py [--moves 50]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

import explainer.explorers as explorers
from explainer.explorers._kit import option_values


def _positions(control, moves: int) -> list:
    """A back-and-forth walk over the control's allowed values."""
    if hasattr(control, "options") and control.options:
        # Dropdowns may hold (label, value) pairs; the control's value is the second item.
        options = option_values(control)
    elif isinstance(control.value, bool):
        options = [False, True]
    elif hasattr(control, "base"):  # FloatLogSlider: min/max are exponents of base
        count = int(round((control.max - control.min) / control.step)) + 1
        options = [control.base ** (control.min + i * control.step) for i in range(count)]
    elif hasattr(control, "min"):
        step = control.step or 1
        count = int(round((control.max - control.min) / step)) + 1
        options = [control.min + i * step for i in range(count)]
        if isinstance(control.value, int):
            options = [int(o) for o in options]
    else:
        return []
    if len(options) < 2:
        return []
    walk = options + options[-2:0:-1]
    start = walk.index(control.value) if control.value in walk else 0
    return [walk[(start + 1 + i) % len(walk)] for i in range(moves)]


def _time_control(explorer, name: str, moves: int) -> list[float]:
    control = explorer.controls[name]
    original = control.value
    times = []
    for value in _positions(control, moves):
        if control.value == value or (hasattr(control, "options") and value not in option_values(control)):
            continue  # already there, or no longer allowed after another control moved
        start = time.perf_counter()
        control.value = value
        times.append((time.perf_counter() - start) * 1e3)
        if explorer.last_error:
            raise RuntimeError(f"{name}={value!r}: {explorer.last_error}")
    explorer.controls[name].value = original
    return times


def _time_clicks(explorer, moves: int) -> list[float]:
    width, height = explorer.painter.size
    rng = np.random.default_rng(0)
    times = []
    for _ in range(moves):
        start = time.perf_counter()
        explorer.click(float(rng.uniform(0, width)), float(rng.uniform(0, height)))
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _row(label: str, times: list[float]) -> str:
    p50, p95 = np.percentile(times, [50, 95])
    return f"| {label:<44} | {len(times):>5} | {p50:7.2f} | {p95:7.2f} | {max(times):7.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=50)
    parser.add_argument("--only", nargs="+", metavar="FACTORY", choices=explorers.__all__,
                        help="time only these explorer factories (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"python {platform.python_version()}, torch {torch.__version__}")
    print("| explorer / control                           | moves | p50 ms  | p95 ms  | max ms  |")
    print("|----------------------------------------------|-------|---------|---------|---------|")
    everything = []
    for factory_name in args.only or explorers.__all__:
        explorer = getattr(explorers, factory_name)()
        for name in explorer.controls:
            times = _time_control(explorer, name, args.moves)
            if times:
                everything += times
                print(_row(f"{factory_name} / {name}", times))
        if explorer._events is not None:
            times = _time_clicks(explorer, args.moves)
            everything += times
            print(_row(f"{factory_name} / click", times))
    print(_row("all moves", everything))


if __name__ == "__main__":
    main()
