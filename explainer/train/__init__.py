"""Deterministic training of the shipped models: ``python -m explainer.train NAME [options]``.

``NAME`` is ``gates`` (the four gated CNNs of lesson 04, :mod:`explainer.train.gates`) or any further
model of :data:`explainer.models.MODELS`, trained by the module ``explainer.train.<NAME>`` (its
``main(argv)``). Every command runs on the CPU in minutes, draws all randomness from its own
``torch.Generator`` objects (the global RNG is never seeded), shows a progress bar, writes its
weights to ``explainer/weights/`` (``--out`` elsewhere) and ends with the figures its tests hold
the weights to.
"""

from __future__ import annotations

import importlib
import sys

from explainer.models import MODELS
from explainer.train.gates import (
    BATCH,
    EPOCHS,
    MODEL_SEED,
    TEST_SEED,
    TRAIN_SEED,
    TRAIN_SIZE,
    accuracy,
    train_gated_cnn,
)

__all__ = [
    "BATCH",
    "COMMANDS",
    "EPOCHS",
    "MODEL_SEED",
    "TEST_SEED",
    "TRAIN_SEED",
    "TRAIN_SIZE",
    "accuracy",
    "main",
    "train_gated_cnn",
]

COMMANDS: tuple[str, ...] = ("gates", *MODELS, "degradation")


def main(argv: list[str] | None = None) -> None:
    """Run ``python -m explainer.train NAME ...``: the module ``explainer.train.<NAME>``'s ``main``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        given = repr(argv[0]) if argv else "nothing"
        sys.exit(f"usage: python -m explainer.train NAME [options]; NAME must be one of {', '.join(COMMANDS)}, "
                 f"got {given}")
    importlib.import_module(f"explainer.train.{argv[0]}").main(argv[1:])
