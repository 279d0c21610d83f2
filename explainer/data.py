"""Input pictures for the explorers: a real photo that ships with matplotlib, a synthetic fallback, and scenes.

The photo is matplotlib's bundled ``mpl-data/sample_data/grace_hopper.jpg`` (a portrait of Grace
Hopper). It is located with ``importlib`` *without importing matplotlib*, decoded once with Pillow
and resized per request, so nothing is ever downloaded. :func:`synthetic_image` draws a seeded
picture of rectangles, discs and a ramp for machines without the photo. :func:`scenes` draws a
seeded labelled dataset of coloured shapes among clutter strokes (with masks, boxes and
captions) for the tiny networks in :mod:`explainer.models`; :func:`hard_scenes` draws the harder
scenes of issue 18 (several objects of comparable size, low contrast, distractors sharing the
target's colour or shape, optional scale and rotation, and questions over :data:`VOCAB`).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explainer._validate import check_choice, check_int, check_pair

__all__ = ["sample_image_path", "sample_image", "synthetic_image", "SHAPES", "COLOURS", "Scenes", "scenes",
           "VOCAB", "TARGETS", "hard_scenes", "tokenize", "detokenize"]

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
        captions: N short captions, e.g. ``"a red circle left of a small blue square"``; for
            :func:`hard_scenes` the question, e.g. ``"where is the red one"``.

    The fields below are filled by :func:`hard_scenes` only (``None`` from :func:`scenes`):

    Attributes:
        colours: (N, M) int64 colour index per object slot into ``list(COLOURS)``, -1 for an absent object.
        tokens: (N, L) int64 word ids of ``captions`` into :data:`VOCAB`, padded with ``"<pad>"`` (id 0).
        word: (N,) int64 position in ``tokens`` of the word that names the target (its colour, or
            ``"largest"``).
        radii: (N, M) float32 size of each object in pixels: the radius of the disc of the same area
            (0 for an absent object).
        angles: (N, M) float32 rotation of each object in radians (0 without ``rotate``).
    """

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    boxes: torch.Tensor
    shapes: torch.Tensor
    captions: tuple[str, ...]
    colours: torch.Tensor | None = None
    tokens: torch.Tensor | None = None
    word: torch.Tensor | None = None
    radii: torch.Tensor | None = None
    angles: torch.Tensor | None = None

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
_CLUTTER_PALETTE = np.array(_CLUTTER_COLOURS, dtype=np.float32)  # (K, 3), the values torch.tensor gives them


def _stroke_offsets(radius: float = 6.5) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets ``(dy, dx)``, each (K,), from ``floor(c)`` that can hold a pixel of a stroke centred at ``c``.

    A stroke (half-length <= 6, half-width 0.6) covers only pixels closer than sqrt(6^2 + 0.6^2) < 6.04 px
    to its centre, and ``c - floor(c)`` lies in the unit square: the offsets within ``radius`` of that
    square hold all of them.
    """
    oy, ox = np.meshgrid(np.arange(-7, 9), np.arange(-7, 9), indexing="ij")  # (16, 16)
    gap_y, gap_x = np.maximum(np.maximum(-oy, oy - 1), 0), np.maximum(np.maximum(-ox, ox - 1), 0)
    keep = gap_y**2 + gap_x**2 <= radius**2
    return oy[keep], ox[keep]


_STROKE_DY, _STROKE_DX = _stroke_offsets()
_STROKE_DY_F, _STROKE_DX_F = _STROKE_DY.astype(np.float32), _STROKE_DX.astype(np.float32)
_STROKE_PAD = 8  # more than any offset: strokes are drawn on the grid padded by this much, then cropped


def _background(size: tuple[int, int], g: torch.Generator, density: float = CLUTTER_DENSITY) -> torch.Tensor:
    """Textured clutter (3, H, W) float32: a tinted base, coarse and fine noise, short strokes of every palette colour.

    The strokes (4 to 12 px long, 1 px wide, any angle, in the objects' own colours plus black and
    white) make colour alone useless for finding the objects: a network has to pick out the large
    shapes from busy surroundings, which is what a spatial gate can help with.
    """
    return torch.from_numpy(_clutter(size, g, density))


def _clutter(size: tuple[int, int], g: torch.Generator, density: float) -> np.ndarray:
    """:func:`_background` as a (3, H, W) float32 array.

    The draws from ``g`` and the float32 arithmetic are those of painting every stroke over the whole
    grid (Python scalars cast to float32 as torch casts them; cos and sin from torch), so the values are
    bit for bit the same; only each stroke is tested on the pixels near its centre (:func:`_stroke_offsets`), in numpy.
    """
    h, w = size
    f = np.float32
    base = f(0.35) + f(0.3) * torch.rand(3, 1, 1, generator=g).numpy()  # (3, 1, 1)
    coarse = torch.rand(1, 3, 4, 4, generator=g) - 0.5
    coarse = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)[0].numpy()
    noise = torch.rand(3, h, w, generator=g).numpy()
    image = np.clip(base + f(0.25) * coarse + f(0.08) * (noise - f(0.5)), f(0), f(1))  # (3, H, W)
    n = max(1, round(density * h * w))
    colour = torch.randint(len(_CLUTTER_COLOURS), (n,), generator=g).numpy()
    cy, cx, half, angle = torch.rand(4, n, 1, 1, generator=g)  # each (n, 1, 1)
    angle = angle * torch.pi
    cos, sin = angle.cos().numpy(), angle.sin().numpy()
    cy, cx, half = cy.numpy() * f(h), cx.numpy() * f(w), f(2) + f(4) * half.numpy()
    cy, cx, half, cos, sin = (a.reshape(-1, 1) for a in (cy, cx, half, cos, sin))  # each (n, 1)
    iy, ix = np.floor(cy), np.floor(cx)  # (n, 1)
    # The grid's dy = (iy + DY) - cy is one rounding of the real number DY - (cy - iy), as is this (cy - iy is exact).
    dy, dx = _STROKE_DY_F - (cy - iy), _STROKE_DX_F - (cx - ix)  # (n, K)
    along = dx * cos + dy * sin  # (n, K)
    across = dy * cos - dx * sin
    stroke, k = np.nonzero((np.abs(along) <= half) & (np.abs(across) <= f(0.6)))
    p, width = _STROKE_PAD, w + 2 * _STROKE_PAD
    centre = (iy.astype(np.int64) + p) * width + ix.astype(np.int64) + p  # (n, 1): index in the padded grid
    pixel = centre[stroke, 0] + (_STROKE_DY * width + _STROKE_DX)[k]
    top = np.zeros((h + 2 * p) * width, dtype=np.int64)  # the last stroke drawn over each pixel (1-based), 0 if none
    np.maximum.at(top, pixel, stroke + 1)
    top = top.reshape(h + 2 * p, width)[p:p + h, p:p + w].reshape(-1)  # (H W,)
    drawn = top > 0
    image.reshape(3, -1)[:, drawn] = _CLUTTER_PALETTE[colour[top[drawn] - 1]].T
    return image


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


# --------------------------------------------------------------------------- hard scenes (issue 18)
TARGETS = ("image", "word")
_NOUNS = ("one", "thing", "object")
# Questions of the word-conditioned scenes; {c} is the target's colour, {n} one of _NOUNS.
_TEMPLATES = ("where is the {c} {n}", "find the {c} {n}", "point at the {c} {n}", "what shape is the {c} {n}")
_IMAGE_QUESTION = "what shape is the largest one"
VOCAB: tuple[str, ...] = ("<pad>", "where", "is", "the", "find", "point", "at", "what", "shape", *_NOUNS, "largest",
                          *COLOURS, *SHAPES)
_WORD_ID = {word: i for i, word in enumerate(VOCAB)}
QUESTION_LENGTH = 6  # words in the longest question; shorter ones are padded with "<pad>"
HARD_CLUTTER_DENSITY = 64 / 1024  # busier than scenes(): 64 strokes on a 32x32 scene
_TARGET_RADIUS = (0.14, 0.19)  # the image-only target's size, as a fraction of the short side (before scale)
_DISTRACTOR_RATIO = (0.55, 0.75)  # image-only distractors: this fraction of the target's size (area 30-56%)
_WORD_RADIUS = (0.11, 0.16)  # word-conditioned scenes: every object (named or not) drawn from this range
# Farthest pixel of each shape from its centre, in units of its size r (equal-area disc radius).
_REACH = {"circle": 1.0, "square": 0.8862 * math.sqrt(2), "triangle": 1.5551, "cross": 1.2254}
# Radius of the largest disc about the centre inside each shape, in units of r (for a quick overlap test).
_INNER = {"circle": 1.0, "square": 0.8862, "triangle": 0.7775, "cross": 0.5771}


def tokenize(text: str, length: int = QUESTION_LENGTH) -> torch.Tensor:
    """Word ids into :data:`VOCAB` of a space-separated ``text``, padded with ``"<pad>"`` (id 0) to ``length``.

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: a word is not in :data:`VOCAB`, or there are more than ``length`` words.

    Example:
        >>> ids = tokenize("where is the red one")
        >>> ids.tolist()[-1], detokenize(ids)
        (0, 'where is the red one')
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    length = check_int("length", length, minimum=1)
    words = text.split()
    unknown = [w for w in words if w not in _WORD_ID or w == "<pad>"]
    if unknown:
        raise ValueError(f"text must use words of VOCAB (explainer.data.VOCAB), got unknown word {unknown[0]!r}")
    if len(words) > length:
        raise ValueError(f"text must have at most length={length} words, got {len(words)}: {text!r}")
    return torch.tensor([_WORD_ID[w] for w in words] + [0] * (length - len(words)), dtype=torch.int64)  # (L,)


def detokenize(ids: torch.Tensor) -> str:
    """The text of word ids ``(L,)`` into :data:`VOCAB`, padding dropped (inverse of :func:`tokenize`)."""
    ids = torch.as_tensor(ids)
    if ids.ndim != 1 or ids.dtype != torch.int64 or (ids.numel() and not 0 <= int(ids.min()) <= int(ids.max())
                                                     < len(VOCAB)):
        raise ValueError(f"ids must be a 1D int64 tensor of word ids in [0, {len(VOCAB)}), got {ids!r}")
    return " ".join(VOCAB[i] for i in ids.tolist() if i != 0)


def _hard_shape_mask(kind: int, cy: float, cx: float, r: float, angle: float, ys: torch.Tensor,
                     xs: torch.Tensor) -> torch.Tensor:
    """Mask (H, W) of shape ``kind`` of area ``pi r^2``, centred at (cy, cx), turned by ``angle`` radians.

    ``ys`` (H, 1) and ``xs`` (1, W) are the pixel coordinates. Every shape has the area of the disc of
    radius ``r``, so "larger" means the same for all of them. Rotation turns the coordinates rigidly
    about the centre (counter-clockwise on screen for angle > 0): a turned square is still a square
    (a diamond at 45 degrees), a turned triangle still a triangle (equilateral, centred at its
    centroid), a turned cross still a cross, so the classes stay apart.
    """
    if not ys.is_floating_point():
        ys, xs = ys.float(), xs.float()
    return torch.from_numpy(_hard_shape_array(kind, cy, cx, r, angle, ys.numpy(), xs.numpy()))


def _hard_shape_array(kind: int, cy: float, cx: float, r: float, angle: float, ys: np.ndarray,
                      xs: np.ndarray) -> np.ndarray:
    """:func:`_hard_shape_mask` on arrays ``ys`` (H, 1) and ``xs`` (1, W): a bool (H, W) array.

    Numpy, because a scene tries several centres per object and torch's per-call cost dominates on a
    32 x 32 grid. Each Python number is cast to the coordinates' dtype before it meets them, as torch
    casts a scalar, so every intermediate value (and so the mask) is the one the tensor formula gives.
    """
    t = ys.dtype.type
    dy, dx = ys - t(cy), xs - t(cx)  # (H, 1), (1, W)
    if angle == 0:  # cos 1, sin 0: dy * 1 + dx * 0 is dy exactly (and dx * 1 - dy * 0 is dx), so skip the (H, W) sums
        v, u = dy, dx
    else:
        c, s = t(math.cos(angle)), t(math.sin(angle))
        v, u = dy * c + dx * s, dx * c - dy * s  # (H, W): the offsets in the shape's own frame
    name = SHAPES[kind]
    if name == "circle":
        return v**2 + u**2 <= t(r**2)
    if name == "square":  # half-side a with 4 a^2 = pi r^2
        a = 0.5 * math.sqrt(math.pi) * r
        return (np.abs(v) <= t(a)) & (np.abs(u) <= t(a))
    if name == "triangle":  # equilateral, apex up, side t with (sqrt(3)/4) t^2 = pi r^2, centred at the centroid
        side = r * math.sqrt(4 * math.pi / math.sqrt(3))
        height = side * math.sqrt(3) / 2
        return (v <= t(height / 3)) & (np.abs(u) <= (v + t(2 * height / 3)) / t(math.sqrt(3)))
    # cross: arms of half-length L, half-width 0.35 L; area 8 L w - 4 w^2 = pi r^2
    arm = r * math.sqrt(math.pi / (8 * 0.35 - 4 * 0.35**2))
    w = 0.35 * arm
    return ((np.abs(v) <= t(w)) & (np.abs(u) <= t(arm))) | ((np.abs(u) <= t(w)) & (np.abs(v) <= t(arm)))


def _grown(mask: np.ndarray) -> np.ndarray:
    """``mask`` (H, W) bool grown by 1 px in all 8 directions (a 3 x 3 max-pool with padding 1)."""
    rows = mask.copy()
    rows[1:] |= mask[:-1]
    rows[:-1] |= mask[1:]
    grown = rows.copy()
    grown[:, 1:] |= rows[:, :-1]
    grown[:, :-1] |= rows[:, 1:]
    return grown


def _place(size: tuple[int, int], g: torch.Generator, kinds: list[int], radii: list[float], angles: list[float],
           ys: np.ndarray, xs: np.ndarray) -> list[np.ndarray] | None:
    """Masks (H, W) for objects placed one after another, each fully inside and 1 px clear of the others, or None."""
    h, w = size
    f = np.float32
    near = np.zeros((h, w), dtype=bool)  # the placed objects grown by 1 px
    masks, placed = [], []  # placed: (cy, cx, inner radius) of every object so far
    for kind, r, angle in zip(kinds, radii, angles, strict=True):
        reach = _REACH[SHAPES[kind]] * r + 0.5
        inner = _INNER[SHAPES[kind]] * r
        cys = f(reach) + torch.rand(60, generator=g).numpy() * f(max(h - 1 - 2 * reach, 0.0))  # (60,) candidate centres
        cxs = f(reach) + torch.rand(60, generator=g).numpy() * f(max(w - 1 - 2 * reach, 0.0))
        for cy, cx in zip(cys.tolist(), cxs.tolist(), strict=True):
            if any(math.hypot(cy - py, cx - px) < inner + pr for py, px, pr in placed):
                continue  # the discs inscribed in both shapes overlap: so do the shapes
            mask = _hard_shape_array(kind, cy, cx, r, angle, ys, xs)
            if np.count_nonzero(mask) and not np.count_nonzero(mask & near):
                break
        else:
            return None
        placed.append((cy, cx, inner))
        near |= _grown(mask)
        masks.append(mask)
    return masks


_OBJECT_PALETTE = np.array(list(COLOURS.values()), dtype=np.float32)  # (len(COLOURS), 3)


def _hard_scene(size: tuple[int, int], g: torch.Generator, objects: tuple[int, int], scale: tuple[float, float],
                rotate: bool, target: str, contrast: float, ys: np.ndarray, xs: np.ndarray) -> tuple:
    """One scene: ``(image (3, H, W) float32 array, masks [(H, W) bool array per object], kinds, colours,
    radii, angles, question, word)``, the lists with one entry per object, the target first."""
    image = _clutter(size, g, HARD_CLUTTER_DENSITY)
    names = list(COLOURS)
    short = min(size)
    zoom = scale[0] + float(torch.rand(1, generator=g)) * (scale[1] - scale[0])  # kept while layouts are redrawn
    u = torch.rand(objects[1], generator=g).tolist()  # the sizes, too: failed layouts must not bias them
    for attempt in range(80):  # redraw the layout until every object fits (at scale 1, almost always at once)
        most = max(objects[0], objects[1] - attempt // 5)  # large scales: fewer objects after 5 failed layouts,
        if attempt >= 25 and attempt % 5 == 0:  # and smaller ones once even objects[0] of them do not fit
            zoom *= 0.9
        count = objects[0] + int(torch.randint(most - objects[0] + 1, (1,), generator=g))
        kinds = torch.randint(len(SHAPES), (count,), generator=g).tolist()
        if target == "image":  # the target is the largest; every distractor is 55-75% of its size
            r0 = short * zoom * (_TARGET_RADIUS[0] + u[0] * (_TARGET_RADIUS[1] - _TARGET_RADIUS[0]))
            radii = [r0] + [r0 * (_DISTRACTOR_RATIO[0] + x * (_DISTRACTOR_RATIO[1] - _DISTRACTOR_RATIO[0]))
                            for x in u[1:count]]
            colours = torch.randint(len(names), (count,), generator=g).tolist()
            if count > 1:  # colour never gives the target away: distractor 1 always wears the target's colour
                colours[1] = colours[0]
        else:  # any object may be named: all of one size range, each of its own colour
            radii = [short * zoom * (_WORD_RADIUS[0] + x * (_WORD_RADIUS[1] - _WORD_RADIUS[0])) for x in u[:count]]
            colours = torch.randperm(len(names), generator=g)[:count].tolist()
            kinds[1] = kinds[0]  # shape never gives the target away: distractor 1 always has the target's shape
        angles = (torch.rand(count, generator=g) * 2 * math.pi).tolist() if rotate else [0.0] * count
        masks = _place(size, g, kinds, radii, angles, ys, xs)
        if masks is not None:
            break
    else:
        raise ValueError(f"objects do not fit: size={size} is too small for objects={objects} at scale={scale}")
    for mask, colour in zip(masks, colours, strict=True):  # low contrast: blended in (the masks never overlap)
        paint = np.float32(contrast) * _OBJECT_PALETTE[colour][:, None]  # (3, 1), as torch's contrast * colour
        image[:, mask] = paint + np.float32(1 - contrast) * image[:, mask]
    if target == "image":
        question, named = _IMAGE_QUESTION, "largest"
    else:
        template = _TEMPLATES[int(torch.randint(len(_TEMPLATES), (1,), generator=g))]
        named = names[colours[0]]
        question = template.format(c=named, n=_NOUNS[int(torch.randint(len(_NOUNS), (1,), generator=g))])
    return image, masks, kinds, colours, radii, angles, question, question.split().index(named)


def _boxes(masks: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write into ``out`` (..., 4) the ``(x0, y0, x1, y1)`` of each non-empty mask of ``masks`` (..., H, W), in pixels
    (x1, y1 one past the last column and row); the entries of empty masks are left as they are."""
    rows, cols = masks.any(-1), masks.any(-2)  # (..., H), (..., W)
    h, w = rows.shape[-1], cols.shape[-1]
    found = rows.any(-1)  # (...)
    first_row, last_row = rows.argmax(-1), h - rows[..., ::-1].argmax(-1)
    first_col, last_col = cols.argmax(-1), w - cols[..., ::-1].argmax(-1)
    out[found] = np.stack([first_col, first_row, last_col, last_row], -1)[found]
    return out


def _check_range(name: str, value: object, low: float, high: float, integer: bool) -> tuple:
    kind = numbers.Integral if integer else numbers.Real
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, kind) for v in value)):
        what = "integers" if integer else "numbers"
        raise TypeError(f"{name} must be a pair (lo, hi) of {what}, got {value!r}")
    lo, hi = value
    if not low <= lo <= hi <= high:
        raise ValueError(f"{name} must be a pair (lo, hi) with {low} <= lo <= hi <= {high}, got {value!r}")
    return (int(lo), int(hi)) if integer else (float(lo), float(hi))


def hard_scenes(n: int, size: int | Sequence[int] = 32, seed: int = 0, target: str = "image",
                objects: tuple[int, int] = (3, 5), scale: tuple[float, float] = (1.0, 1.0), rotate: bool = False,
                contrast: float = 0.7) -> Scenes:
    """Seeded scenes in which a model has to find one object among several to answer.

    Every scene holds ``objects[0]`` to ``objects[1]`` shapes that never touch (1 px apart, all fully
    visible), on a busier clutter than :func:`scenes` (64 strokes per 32x32, in the objects' own
    colours), painted at ``contrast`` (colour = contrast * palette + (1 - contrast) * background, so
    the clutter shows through). Slot 0 is the target; ``labels`` is its shape. Two kinds of target:

    * ``target="image"`` (for classifiers): the target is the **largest** object, identifiable from the
      image alone. Sizes are areas: every shape of size ``r`` has the area of a disc of radius ``r``;
      the target's ``r`` is 14-19% of the short side, every distractor's 55-75% of the target's
      (30-56% of its area). Distractor 1 always has the target's colour, the other distractors'
      colours and every distractor's shape are random (so a distractor often shares the shape too):
      neither colour nor shape alone points at the target. Question: ``"what shape is the largest one"``.
    * ``target="word"`` (for the caption model): every object has its own colour and a size from the
      same range (11-16% of the short side), so only the question tells which is meant: it names the
      target by colour, e.g. ``"where is the red one"``, ``"what shape is the red thing"``; distractor
      1 has the target's shape. ``objects[0]`` must then be >= 2.

    ``scale=(lo, hi)`` multiplies every size in a scene by one factor drawn from ``[lo, hi]`` (the
    image-only rule still holds); ``rotate=True`` turns each object by its own angle in
    ``[0, 2 pi)`` (a turned square is still a square: see ``angles``). Where large scales leave no
    room, a scene holds fewer objects (never fewer than ``objects[0]``) and, if even those do not fit,
    smaller ones (``radii`` says what was drawn). All randomness comes from a
    private ``torch.Generator`` seeded with ``seed`` (no global RNG, no download).

    Args:
        n: number of scenes (>= 1).
        size: (H, W) or an int (each >= 24).
        seed: generator seed; two calls with the same arguments return identical scenes.
        target: ``"image"`` or ``"word"`` (see above).
        objects: (lo, hi) objects per scene, 1 <= lo <= hi <= 6 (lo >= 2 for ``"word"``); ``M = hi`` slots.
        scale: (lo, hi) size factors, 0.5 <= lo <= hi <= 1.6.
        rotate: turn every object by a random angle.
        contrast: object opacity over the clutter, in [0.2, 1].

    Returns:
        :class:`Scenes` with every field filled: ``images (N, 3, H, W)``, ``labels (N,)``, ``masks
        (N, M, H, W)``, ``boxes (N, M, 4)``, ``shapes``/``colours`` ``(N, M)``, ``captions`` (the
        questions), ``tokens (N, 6)``, ``word (N,)``, ``radii``/``angles`` ``(N, M)``.

    Raises:
        ValueError: a size too small for the objects at that scale (raised after 80 layouts fail).

    Example:
        >>> s = hard_scenes(2, seed=1, target="word")
        >>> s.images.shape, s.masks.shape, s.tokens.shape
        (torch.Size([2, 3, 32, 32]), torch.Size([2, 5, 32, 32]), torch.Size([2, 6]))
        >>> all(VOCAB[int(t[i])] == list(COLOURS)[int(c[0])] for t, i, c in zip(s.tokens, s.word, s.colours))
        True
    """
    n = check_int("n", n, minimum=1)
    height, width = check_pair("size", size, minimum=24)
    g = torch.Generator().manual_seed(check_int("seed", seed))
    target = check_choice("target", target, TARGETS)
    objects = _check_range("objects", objects, 2 if target == "word" else 1, len(COLOURS), integer=True)
    scale = _check_range("scale", scale, 0.5, 1.6, integer=False)
    if not isinstance(rotate, bool):
        raise TypeError(f"rotate must be a bool, got {rotate!r}")
    if isinstance(contrast, bool) or not isinstance(contrast, numbers.Real) or not 0.2 <= contrast <= 1:
        raise ValueError(f"contrast must be a number in [0.2, 1], got {contrast!r}")
    m = objects[1]
    images = np.empty((n, 3, height, width), dtype=np.float32)
    masks = np.zeros((n, m, height, width), dtype=bool)
    boxes = np.zeros((n, m, 4), dtype=np.float32)
    shapes, colours = np.full((n, m), -1, dtype=np.int64), np.full((n, m), -1, dtype=np.int64)
    radii, angles = np.zeros((n, m), dtype=np.float32), np.zeros((n, m), dtype=np.float32)
    ys, xs = np.arange(height, dtype=np.float32).reshape(-1, 1), np.arange(width, dtype=np.float32).reshape(1, -1)
    questions, words = [], []
    for i in range(n):
        image, placed, *per_object, question, word = _hard_scene((height, width), g, objects, scale, rotate, target,
                                                                 float(contrast), ys, xs)
        k = len(placed)
        images[i], masks[i, :k] = image, placed
        for field, values in zip((shapes, colours, radii, angles), per_object, strict=True):
            field[i, :k] = values
        questions.append(question)
        words.append(word)
    _boxes(masks, out=boxes)
    shapes_t = torch.from_numpy(shapes)  # (N, M)
    return Scenes(torch.from_numpy(images), shapes_t[:, 0].clone(), torch.from_numpy(masks), torch.from_numpy(boxes),
                  shapes_t, tuple(questions), colours=torch.from_numpy(colours),
                  tokens=torch.stack([tokenize(q) for q in questions]), word=torch.tensor(words, dtype=torch.int64),
                  radii=torch.from_numpy(radii), angles=torch.from_numpy(angles))
