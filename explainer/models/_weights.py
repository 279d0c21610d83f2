"""Where the shipped weights live and how they load (``torch.load(weights_only=True)``, kept per file)."""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

__all__ = ["WEIGHTS_DIR", "load_state", "save_state"]

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@functools.lru_cache(maxsize=16)
def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def load_state(path: Path, train_name: str) -> dict:
    """The state dict stored at ``path`` (float16 tensors come back as stored; ``load_state_dict`` casts).

    Raises:
        FileNotFoundError: naming the command that makes the file (``python -m explainer.train <train_name>``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no shipped weights at {path}; run `python -m explainer.train {train_name}`")
    return _load(path)


def save_state(model: nn.Module, path: Path) -> dict:
    """Write ``model``'s state dict to ``path`` with floating tensors as float16 (the shipped form); return it.

    Loading it back into the model (``load_state_dict`` casts) gives the weights that ship, so a
    training command can report their figures rather than the float32 ones.
    """
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(state, Path(path))
    return state
