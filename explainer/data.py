"""Input pictures for the explorers: a real photo that ships with matplotlib, and a synthetic fallback.

The photo is matplotlib's bundled ``mpl-data/sample_data/grace_hopper.jpg`` (a portrait of Grace
Hopper). It is located with ``importlib`` *without importing matplotlib*, decoded once with Pillow
and resized per request, so nothing is ever downloaded. :func:`synthetic_image` draws a seeded
picture of rectangles, discs and a ramp for machines without the photo.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explainer._validate import check_int, check_pair

__all__ = ["sample_image_path", "sample_image", "synthetic_image"]

_PHOTO = ("mpl-data", "sample_data", "grace_hopper.jpg")


def sample_image_path() -> Path:
    """Path of matplotlib's bundled sample photo (matplotlib is located, not imported).

    Raises:
        FileNotFoundError: matplotlib or its sample data is not installed.
    """
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("sample_image needs matplotlib's bundled sample data, but matplotlib is not "
                                "installed; use synthetic_image() instead")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*_PHOTO)
    if not path.is_file():
        raise FileNotFoundError(f"matplotlib's sample photo is missing (expected {path}); use synthetic_image()")
    return path


@functools.lru_cache(maxsize=1)
def _decoded_photo() -> Image.Image:
    with Image.open(sample_image_path()) as photo:
        return photo.convert("RGB")


@functools.lru_cache(maxsize=16)
def _resized(height: int, width: int, grayscale: bool) -> np.ndarray:
    photo = _decoded_photo()
    # Centre-crop to the requested aspect ratio first, so faces are not squashed.
    scale = min(photo.width / width, photo.height / height)
    crop_w, crop_h = round(width * scale), round(height * scale)
    left, top = (photo.width - crop_w) // 2, (photo.height - crop_h) // 2
    image = photo.crop((left, top, left + crop_w, top + crop_h))
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    if grayscale:
        image = image.convert("L")
    array = np.asarray(image, dtype=np.float32) / 255.0
    array.setflags(write=False)
    return array


def sample_image(size: int | Sequence[int] = 64, grayscale: bool = False) -> torch.Tensor:
    """The bundled photo, centre-cropped to the aspect of ``size`` and resized.

    Args:
        size: (H, W) or an int for a square.
        grayscale: one channel (ITU-R 601 luma) instead of three.

    Returns:
        (3, H, W) or (1, H, W) float32 tensor with values in [0, 1]; a fresh tensor each call.

    Raises:
        FileNotFoundError: the photo is not available (see :func:`sample_image_path`).

    Example:
        >>> sample_image((48, 32)).shape, sample_image(16, grayscale=True).shape
        (torch.Size([3, 48, 32]), torch.Size([1, 16, 16]))
    """
    height, width = check_pair("size", size, minimum=1)
    if not isinstance(grayscale, bool):
        raise TypeError(f"grayscale must be a bool, got {grayscale!r}")
    array = _resized(height, width, grayscale)
    tensor = torch.tensor(array)  # copies: callers may modify it
    return tensor.unsqueeze(0) if grayscale else tensor.permute(2, 0, 1).contiguous()  # (C, H, W)


def synthetic_image(size: int | Sequence[int] = 64, seed: int = 0, grayscale: bool = False) -> torch.Tensor:
    """A seeded synthetic picture: a soft ramp, a few rectangles and discs with sharp edges.

    Args:
        size: (H, W) or an int for a square.
        seed: seed of a private ``torch.Generator`` (the global RNG is untouched).
        grayscale: one channel instead of three.

    Returns:
        (3, H, W) or (1, H, W) float32 tensor in [0, 1].

    Example:
        >>> a, b = synthetic_image(20, seed=1), synthetic_image(20, seed=1)
        >>> a.shape, bool((a == b).all()), float(a.min()) >= 0.0, float(a.max()) <= 1.0
        (torch.Size([3, 20, 20]), True, True, True)
    """
    height, width = check_pair("size", size, minimum=1)
    g = torch.Generator().manual_seed(check_int("seed", seed))
    ys = torch.linspace(0, 1, height).view(-1, 1)  # (H, 1)
    xs = torch.linspace(0, 1, width).view(1, -1)  # (1, W)
    image = (0.15 + 0.25 * (ys + xs) / 2).expand(height, width).unsqueeze(0).repeat(3, 1, 1)  # (3, H, W)
    for _ in range(3):
        colour = torch.rand(3, 1, 1, generator=g)
        y0, x0 = torch.rand(2, generator=g) * 0.7
        h, w = 0.15 + torch.rand(2, generator=g) * 0.35
        inside = (ys >= y0) & (ys <= y0 + h) & (xs >= x0) & (xs <= x0 + w)  # (H, W)
        image = torch.where(inside, colour, image)
    for _ in range(2):
        colour = torch.rand(3, 1, 1, generator=g)
        cy, cx = 0.2 + torch.rand(2, generator=g) * 0.6
        radius = 0.08 + float(torch.rand(1, generator=g)) * 0.2
        inside = (ys - cy) ** 2 + (xs - cx) ** 2 <= radius**2
        image = torch.where(inside, colour, image)
    if grayscale:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
        return (image * weights).sum(0, keepdim=True).clamp(0, 1)
    return image.clamp(0, 1)
