"""What the lesson views share: axes fixed once, colour mixing, photos as arrays.

Views are drawn for blitting: each ``draw_*`` fixes its axes once (limits, no ticks, no
autoscaling) and a move only changes artists (``set_data``, ``set_bounds``, ``set_text``), never the
axes, so the painter's kept background stays valid.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.path import Path
from matplotlib.textpath import TextPath

from explainer.theme import Theme, get_theme

__all__ = ["fixed_axes", "unit_square", "pixel_axes", "matrix_axes", "mix", "image_array", "label_outline"]


def fixed_axes(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float], *, equal: bool = False,
               frame: bool | None = None) -> None:
    """Fix ``ax``'s limits, with no ticks and no autoscaling.

    Args:
        ax: the axes to set up.
        xlim, ylim: the limits (``ylim`` decreasing puts y downwards).
        equal: keep square data units (equal aspect).
        frame: show (True) or hide (False) the spines; None leaves them.
    """
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    if equal:
        ax.set_aspect("equal")
    ax.set_autoscale_on(False)
    ax.set_xticks([])
    ax.set_yticks([])
    if frame is not None:
        for spine in ax.spines.values():
            spine.set_visible(frame)


def unit_square(ax: Axes, *, equal: bool = True, frame: bool = True) -> None:
    """Fix ``ax`` to the unit square with y pointing down (grids and matrices are placed inside it).

    Without ``frame`` nothing static lies over the animated area.
    """
    fixed_axes(ax, (0, 1), (1, 0), equal=equal, frame=frame)


def pixel_axes(ax: Axes, height: int, width: int) -> None:
    """Fix ``ax`` to a ``height x width`` picture: pixel centres at integer coordinates, y down, square pixels."""
    fixed_axes(ax, (-0.5, width - 0.5), (height - 0.5, -0.5), equal=True)


def matrix_axes(ax: Axes, title: str = "", *, xlabel: str = "", ylabel: str = "", equal: bool = False,
                frame: bool = False, theme: Theme | None = None) -> None:
    """:func:`unit_square` with a static title and axis labels, for a matrix heatmap."""
    theme = theme or get_theme()
    unit_square(ax, equal=equal, frame=frame)
    if title:
        ax.set_title(title, fontsize=theme.font_size, pad=3)
    if xlabel:
        ax.set_xlabel(xlabel, labelpad=2)
    if ylabel:
        ax.set_ylabel(ylabel, labelpad=2)


def mix(color: str, weight: float, other: str = "white") -> tuple[float, float, float, float]:
    """RGBA of ``weight * color + (1 - weight) * other``.

    Example:
        >>> mix("black", 0.25)
        (0.75, 0.75, 0.75, 1.0)
    """
    a, b = np.array(to_rgba(color)), np.array(to_rgba(other))
    return tuple(float(v) for v in weight * a + (1 - weight) * b)


def image_array(image: torch.Tensor, fade: float = 0.0) -> np.ndarray:
    """``(C, H, W)`` tensor in [0, 1] (C = 1 or 3) -> ``(H, W, 3)`` float array, optionally faded to light grey."""
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"image must be a (1 or 3, H, W) tensor, got {getattr(image, 'shape', type(image))}")
    array = image.detach().float().clamp(0, 1).cpu().permute(1, 2, 0).numpy()
    array = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array
    return (1 - fade) * array + fade * 0.93 if fade else array


def _drawn(path: Path) -> np.ndarray:
    """The vertices of ``path`` that are drawn (a CLOSEPOLY's vertex is ignored)."""
    return path.vertices if path.codes is None else path.vertices[path.codes != Path.CLOSEPOLY]


@functools.lru_cache(maxsize=64)
def _digit_middle(size: float) -> float:
    """Half-way up a digit at ``size`` points (from its outline's points)."""
    y = _drawn(TextPath((0, 0), "0", size=size))[:, 1]
    return float(y.min() + y.max()) / 2


@functools.lru_cache(maxsize=1024)
def label_outline(text: str, size: float) -> Path:
    """``text``'s glyph outline at ``size`` points, in points, centred on the origin.

    Horizontally the label's points are centred on x = 0; vertically the middle of a digit is, so
    numbers of any length sit on one line. Many short labels (indices, counts, ticks that follow a
    matrix's size) then draw as one path or one collection instead of one laid-out text each.

    Example:
        >>> path = label_outline("10", 10)
        >>> x = path.vertices[path.codes != path.CLOSEPOLY, 0]  # the points drawn
        >>> bool(abs(x.min() + x.max()) < 1e-9)
        True
    """
    path = TextPath((0, 0), text, size=size)
    x = _drawn(path)[:, 0]
    return Path(path.vertices - [(x.min() + x.max()) / 2, _digit_middle(size)], path.codes)
