"""Comparing pictures drawn by the paint package's fast paths with stock matplotlib's."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def rgba(picture: bytes | np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` int array of a PNG's or a canvas buffer's pixels."""
    if isinstance(picture, (bytes, bytearray)):
        picture = np.asarray(Image.open(io.BytesIO(picture)).convert("RGBA"))
    return np.asarray(picture).astype(int)


def assert_same_picture(fast: bytes | np.ndarray, stock: bytes | np.ndarray, *, share: float = 0.05,
                        thin: bool = True, label: object = "") -> None:
    """``fast`` is ``stock`` but where a nearest-neighbour heatmap's cell border or edge rounds the other way.

    matplotlib resamples such an image with Agg's fixed-point span interpolator and antialiases its
    edges; the paint package picks the cell under each pixel's centre. The two may put a border one
    pixel apart (and anything antialiased drawn across it blends with the other colour), so the
    pixels that differ (by more than 2 levels) are at most ``share`` of the picture and form lines
    one or two pixels wide: no 3 x 3 block of them (unless ``thin`` is False). A stale or wrong
    heatmap cell, or anything missing, differs over an area.
    """
    a, b = rgba(fast), rgba(stock)
    assert a.shape == b.shape, (label, a.shape, b.shape)
    differs = (np.abs(a - b) > 2).any(-1)  # (H, W)
    assert differs.mean() <= share, f"{label}: {differs.mean():.2%} of the pixels differ"
    if not thin:
        return
    height, width = differs.shape
    block = np.ones((height - 2, width - 2), bool)
    for dy in range(3):
        for dx in range(3):
            block &= differs[dy:dy + height - 2, dx:dx + width - 2]
    assert not block.any(), (label, "an area differs around", (np.argwhere(block)[:3] + 1).tolist())
