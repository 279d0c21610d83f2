"""Input pictures for the explorers: a real photo that ships with matplotlib, a synthetic fallback, and scenes.

The photo is matplotlib's bundled ``mpl-data/sample_data/grace_hopper.jpg`` (a portrait of Grace
Hopper). It is located with ``importlib`` *without importing matplotlib*, decoded once with Pillow
and resized per request, so nothing is ever downloaded. :func:`synthetic_image` draws a seeded
picture of rectangles, discs and a ramp for machines without the photo. :func:`scenes` draws a
seeded labelled dataset of coloured shapes among clutter strokes (with masks, boxes and
captions) for the tiny networks in :mod:`explainer.models`.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explainer._validate import check_int, check_pair

__all__ = ["sample_image_path", "sample_image", "synthetic_image", "SHAPES", "COLOURS", "Scenes", "scenes"]

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


# --------------------------------------------------------------------------- scenes
SHAPES = ("circle", "square", "triangle", "cross")
COLOURS = {"red": (0.85, 0.15, 0.1), "green": (0.1, 0.7, 0.2), "blue": (0.15, 0.3, 0.9),
           "yellow": (0.95, 0.85, 0.1), "magenta": (0.85, 0.2, 0.8), "cyan": (0.1, 0.8, 0.85)}


@dataclass(frozen=True)
class Scenes:
    """A batch of synthetic scenes.

    Attributes:
        images: (N, 3, H, W) float32 in [0, 1].
        labels: (N,) int64, index into :data:`SHAPES` of the target (largest) object.
        masks: (N, M, H, W) bool, one mask per object slot (all False for an absent object);
            slot 0 is the target.
        boxes: (N, M, 4) float32 ``(x0, y0, x1, y1)`` in pixels (zeros for an absent object).
        shapes: (N, M) int64 shape index per object, -1 for an absent object.
        captions: N short captions, e.g. ``"a red circle left of a small blue square"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    boxes: torch.Tensor
    shapes: torch.Tensor
    captions: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _shape_mask(kind: int, cy: float, cx: float, r: float, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    dy, dx = ys - cy, xs - cx  # (H, 1), (1, W)
    if SHAPES[kind] == "circle":
        return dy**2 + dx**2 <= r**2
    if SHAPES[kind] == "square":
        return (dy.abs() <= 0.8 * r) & (dx.abs() <= 0.8 * r)
    if SHAPES[kind] == "triangle":  # apex up: the half-width grows from 0 at the top to r at the bottom
        return (dy >= -r) & (dy <= 0.8 * r) & (dx.abs() <= (dy + r) / 1.8)
    return ((dy.abs() <= 0.3 * r) & (dx.abs() <= r)) | ((dx.abs() <= 0.3 * r) & (dy.abs() <= r))  # cross


CLUTTER_DENSITY = 48 / 1024  # strokes per pixel: 48 on a 32x32 scene
_CLUTTER_COLOURS = (*COLOURS.values(), (0.05, 0.05, 0.05), (0.95, 0.95, 0.95))


def _background(size: tuple[int, int], g: torch.Generator) -> torch.Tensor:
    """Textured clutter: a tinted base, coarse and fine noise, and short strokes of every palette colour.

    The strokes (4 to 12 px long, 1 px wide, any angle, in the objects' own colours plus black and
    white) make colour alone useless for finding the objects: a network has to pick out the large
    shapes from busy surroundings, which is what a spatial gate can help with.
    """
    h, w = size
    base = 0.35 + 0.3 * torch.rand(3, 1, 1, generator=g)
    coarse = torch.rand(1, 3, 4, 4, generator=g) - 0.5
    coarse = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)[0]
    image = (base + 0.25 * coarse + 0.08 * (torch.rand(3, h, w, generator=g) - 0.5)).clamp(0, 1)  # (3, H, W)
    n = max(1, round(CLUTTER_DENSITY * h * w))
    colour = torch.randint(len(_CLUTTER_COLOURS), (n,), generator=g)
    cy, cx, half, angle = torch.rand(4, n, 1, 1, generator=g)  # each (n, 1, 1)
    cy, cx, half, angle = cy * h, cx * w, 2 + 4 * half, angle * torch.pi
    dy, dx = torch.arange(h).view(1, -1, 1) - cy, torch.arange(w).view(1, 1, -1) - cx  # (n, H, 1), (n, 1, W)
    along = dx * angle.cos() + dy * angle.sin()
    across = dy * angle.cos() - dx * angle.sin()
    on = (along.abs() <= half) & (across.abs() <= 0.6)  # (n, H, W)
    top = torch.where(on, torch.arange(1, n + 1).view(-1, 1, 1), 0).amax(0)  # (H, W): last stroke drawn, 0 if none
    palette = torch.tensor(_CLUTTER_COLOURS)[colour].T  # (3, n)
    strokes = palette[:, (top - 1).clamp(min=0)]  # (3, H, W)
    return torch.where(top > 0, strokes, image)


def _scene(size: tuple[int, int], g: torch.Generator, max_objects: int) -> tuple:
    h, w = size
    ys, xs = torch.arange(h, dtype=torch.float32).view(-1, 1), torch.arange(w, dtype=torch.float32).view(1, -1)
    image = _background(size, g)
    count = 1 + int(torch.randint(max_objects, (1,), generator=g))
    names = list(COLOURS)
    objects = []
    for i in range(count):
        kind = int(torch.randint(len(SHAPES), (1,), generator=g))
        colour = int(torch.randint(len(names), (1,), generator=g))
        # The target is large; distractors are at most 60% of its size, so "largest" is unambiguous.
        r = min(h, w) * (0.2 + 0.08 * float(torch.rand(1, generator=g)) if i == 0 else
                         0.08 + 0.04 * float(torch.rand(1, generator=g)))
        cy = r + float(torch.rand(1, generator=g)) * (h - 2 * r)
        cx = r + float(torch.rand(1, generator=g)) * (w - 2 * r)
        objects.append((kind, colour, cy, cx, r))
    masks = torch.zeros(max_objects, h, w, dtype=torch.bool)
    boxes = torch.zeros(max_objects, 4)
    shapes = torch.full((max_objects,), -1, dtype=torch.int64)
    for i in reversed(range(count)):  # target drawn last: always fully visible
        kind, colour, cy, cx, r = objects[i]
        mask = _shape_mask(kind, cy, cx, r, ys, xs)
        if not mask.any():  # a tiny distractor can fall between pixel centres: keep its centre pixel
            mask[min(int(cy), h - 1), min(int(cx), w - 1)] = True
        image = torch.where(mask, torch.tensor(COLOURS[names[colour]]).view(3, 1, 1), image)
        for j in range(i + 1, count):  # later (smaller) objects lose the pixels the target covers
            masks[j] &= ~mask
        masks[i], shapes[i] = mask, kind
        rows, cols = mask.any(1).nonzero(), mask.any(0).nonzero()
        boxes[i] = torch.tensor([float(cols.min()), float(rows.min()), float(cols.max()) + 1, float(rows.max()) + 1])
    return image, masks, boxes, shapes, _caption(objects, names)


def _caption(objects: list, names: list[str]) -> str:
    kind, colour, _, cx, _ = objects[0]
    text = f"a {names[colour]} {SHAPES[kind]}"
    if len(objects) > 1:
        other = objects[1]
        where = "left of" if cx < other[3] else "right of"
        text += f" {where} a small {names[other[1]]} {SHAPES[other[0]]}"
    return text


def scenes(n: int, size: int | Sequence[int] = 32, seed: int = 0, max_objects: int = 3) -> Scenes:
    """A seeded batch of scenes: 1 to ``max_objects`` coloured shapes on a cluttered background.

    The label is the shape of the target, the largest object; the others are small distractors
    of any shape and colour. Everything comes from a private ``torch.Generator`` (no global RNG,
    no download).

    Args:
        n: number of scenes (>= 1).
        size: (H, W) or an int (each >= 16).
        seed: generator seed; scene ``i`` of two calls with the same seed and size is identical.
        max_objects: at most this many objects per scene (1 to 3).

    Example:
        >>> s = scenes(2, size=(32, 40), seed=1)
        >>> s.images.shape, s.masks.shape, s.labels.shape
        (torch.Size([2, 3, 32, 40]), torch.Size([2, 3, 32, 40]), torch.Size([2]))
    """
    n = check_int("n", n, minimum=1)
    height, width = check_pair("size", size, minimum=16)
    max_objects = check_int("max_objects", max_objects, minimum=1, maximum=3)
    g = torch.Generator().manual_seed(check_int("seed", seed))
    parts = [_scene((height, width), g, max_objects) for _ in range(n)]
    images, masks, boxes, shapes, captions = zip(*parts)
    shapes_t = torch.stack(shapes)  # (N, M)
    return Scenes(torch.stack(images), shapes_t[:, 0].clone(), torch.stack(masks), torch.stack(boxes), shapes_t,
                  tuple(captions))
