"""Reference computations shared by several test modules (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import math

import torch


def zero_insert(x: torch.Tensor, stride: tuple[int, int]) -> torch.Tensor:
    """``s - 1`` zeros between neighbouring pixels of the last two dimensions: ``(..., H, W) -> (..., H', W')``."""
    sh, sw = stride
    h, w = x.shape[-2:]
    out = x.new_zeros((*x.shape[:-2], (h - 1) * sh + 1, (w - 1) * sw + 1))  # (..., H', W')
    out[..., ::sh, ::sw] = x
    return out


def rotation(angle: float) -> list[list[float]]:
    """The 2x2 matrix acting on ``(y, x)`` that rotates by ``angle`` degrees (counter-clockwise on screen, y down)."""
    t = math.radians(angle)
    return [[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]]
