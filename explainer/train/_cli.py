"""What the model-training commands share: their common options, and train -> save float16 -> reload."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from explainer.models._weights import WEIGHTS_DIR, save_state


def command_parser(name: str, doc: str | None, weights: str) -> argparse.ArgumentParser:
    """``python -m explainer.train NAME``'s parser with ``--out`` (the folder for ``weights``) and ``--threads``."""
    parser = argparse.ArgumentParser(prog=f"python -m explainer.train {name}",
                                     description=(doc or name).splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help=f"folder for {weights}")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 is fastest on a busy machine; default: torch's choice)")
    return parser


def train_and_save(args: argparse.Namespace, weights: str, train: Callable[[], nn.Module]) -> tuple[nn.Module, float]:
    """Run ``train()`` on ``args.threads`` threads, save its float16 weights to ``args.out / weights`` and load them
    back into the model, so that the figures reported afterwards are those of the weights that ship.

    Returns:
        The model and the seconds that training and saving took.
    """
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model = train()
    state = save_state(model, args.out / weights)
    took = time.perf_counter() - start
    model.load_state_dict(state)
    return model, took
