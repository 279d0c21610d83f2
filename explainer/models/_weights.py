"""Where the shipped weights live and how they load (``torch.load(weights_only=True)``, kept per file)."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

__all__ = ["WEIGHTS_DIR", "load_state"]

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
