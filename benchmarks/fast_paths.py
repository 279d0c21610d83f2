"""What each of the paint package's fast paths saves, per explorer: an A/B of explorer updates.

For every fast path named in ``explainer.paint.FAST_PATHS`` (the ``nodelay`` websocket patch acts in
the server, not in an update, and is measured by ``browser_latency.py --stock-sockets``), every
explorer factory is built twice: with every fast path on, and with that one off
(``EXPLAINER_STOCK_PAINT=<path>``). Each control is walked back and forth across its range; the two
explorers take the same positions in alternating blocks of 5 moves, so both run in the same minutes
and share the machine's slow and fast spells. Prints the p50 of an update (the control assignment:
limits, compute, artist updates, paint and PNG) with the path on and off, and the difference. A fast
path earns its place where turning it off costs at least 0.5 ms p50 in some explorer.

    .venv/bin/python benchmarks/fast_paths.py [--moves 100] [--paths text png] [--only FACTORY ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import matplotlib
import numpy as np
import torch

import explainer.explorers as explorers
from explainer.explorers._kit import option_values
from explainer.paint import ENV_VAR, FAST_PATHS

try:  # run as a script: benchmarks/ is on sys.path
    from explorer_updates import _positions
except ImportError:  # imported as benchmarks.fast_paths (doctests)
    from benchmarks.explorer_updates import _positions

BLOCK = 5
BAR_MS = 0.5
MEASURED = tuple(name for name in FAST_PATHS if name != "nodelay")


def _build(factory_name: str, off: str):  # noqa: ANN202
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = off
    try:
        return getattr(explorers, factory_name)()
    finally:
        if previous is None:
            del os.environ[ENV_VAR]
        else:
            os.environ[ENV_VAR] = previous


def _move(explorer, name: str, value) -> float | None:  # noqa: ANN001
    control = explorer.controls[name]
    if control.value == value or (hasattr(control, "options") and value not in option_values(control)):
        return None  # already there, or not allowed after another control moved
    start = time.perf_counter()
    control.value = value
    elapsed = (time.perf_counter() - start) * 1e3
    if explorer.last_error:
        raise RuntimeError(f"{name}={value!r}: {explorer.last_error}")
    return elapsed


def ab_times(factory_name: str, path: str, moves: int) -> tuple[list[float], list[float]]:
    """Update times (ms) of ``factory_name`` with every fast path on, and with ``path`` off."""
    on, off = _build(factory_name, "0"), _build(factory_name, path)
    times: tuple[list[float], list[float]] = ([], [])
    for name in on.controls:
        walk = _positions(on.controls[name], moves)
        for start in range(0, len(walk), BLOCK):
            for explorer, out in ((on, times[0]), (off, times[1])):
                for value in walk[start:start + BLOCK]:
                    elapsed = _move(explorer, name, value)
                    if elapsed is not None:
                        out.append(elapsed)
    return times


def verdict(deltas: dict[str, float]) -> str:
    """Whether a path earns its place: the largest p50 cost of turning it off, against the bar.

    Example:
        >>> verdict({"a": 0.2, "b": 0.7})
        'keep: b +0.70 ms'
        >>> verdict({"a": 0.2})
        'delete: at most +0.20 ms (a)'
    """
    worst = max(deltas, key=deltas.get)
    if deltas[worst] >= BAR_MS:
        return f"keep: {worst} +{deltas[worst]:.2f} ms"
    return f"delete: at most {deltas[worst]:+.2f} ms ({worst})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=100, help="positions per control (half of them per block side)")
    parser.add_argument("--paths", nargs="+", choices=MEASURED, default=list(MEASURED))
    parser.add_argument("--only", nargs="+", metavar="FACTORY", choices=explorers.__all__)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"torch {torch.__version__}, matplotlib {matplotlib.__version__}")
    print("| fast path | explorer | moves | p50 on (ms) | p50 off (ms) | off - on (ms) |")
    print("|---|---|---:|---:|---:|---:|")
    summary = {}
    for path in args.paths:
        deltas, every_on, every_off = {}, [], []
        for factory_name in args.only or explorers.__all__:
            on, off = ab_times(factory_name, path, args.moves)
            every_on += on
            every_off += off
            deltas[factory_name] = float(np.median(off) - np.median(on))
            print(f"| {path} | {factory_name} | {len(on)} | {np.median(on):.2f} | {np.median(off):.2f} | "
                  f"{deltas[factory_name]:+.2f} |", flush=True)
        print(f"| {path} | all moves | {len(every_on)} | {np.median(every_on):.2f} | {np.median(every_off):.2f} | "
              f"{np.median(every_off) - np.median(every_on):+.2f} |", flush=True)
        summary[path] = verdict(deltas)
    print()
    for path, text in summary.items():
        print(f"{path}: {text}")


if __name__ == "__main__":
    main()
