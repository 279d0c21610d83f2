"""The degradation curves lesson 11 opens with: ``python -m explainer.train degradation [--out FILE] [--steps N]``.

Trains the plain and the residual network of :func:`explainer.depth.degradation_curves` at each of
:data:`explainer.depth.SHIPPED_DEPTHS` with the rest of :data:`explainer.depth.DEGRADATION_DEFAULTS`
(deterministic, one thread, its own generators) and writes the training-loss curves to
``explainer/weights/degradation.pt`` (float32 tensors and the settings, loaded with
``weights_only=True`` by :func:`explainer.depth.shipped_degradation`), so the lesson shows them
without training. The explorer trains any other setting on a button.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from explainer.depth import DEGRADATION_DEFAULTS, DEGRADATION_FILE, SHIPPED_DEPTHS, degradation_curves
from explainer.train._progress import Progress

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Train both networks, write the curves, and print where each ended."""
    parser = argparse.ArgumentParser(prog="python -m explainer.train degradation", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEGRADATION_FILE, help="the .pt file to write")
    parser.add_argument("--steps", type=int, default=DEGRADATION_DEFAULTS["steps"], help="SGD steps per network")
    args = parser.parse_args(argv)
    d = DEGRADATION_DEFAULTS
    saved = []
    for depth in SHIPPED_DEPTHS:
        bar = Progress(2 * args.steps, f"degradation (depth {depth}, norm {d['norm']})")
        start = time.perf_counter()
        curves = degradation_curves(depth, d["norm"], args.steps, d["seed"],
                                    progress=lambda done, total, bar=bar: bar.step())
        bar.close()
        saved.append({"depth": depth, "norm": curves.norm, "seed": curves.seed, "steps": args.steps,
                      "plain": curves.plain.clone(), "residual": curves.residual.clone()})
        tail = max(1, args.steps // 10)
        print(f"depth {depth}: {time.perf_counter() - start:.0f} s; mean loss over the last {tail} steps: plain "
              f"{float(curves.plain[-tail:].mean()):.3f}, residual {float(curves.residual[-tail:].mean()):.3f} "
              "(chance: ln 4 = 1.386)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"curves": saved}, args.out)
    print(f"wrote {args.out}")
