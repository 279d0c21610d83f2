"""Token labels on the axes of attention matrices, as bertviz writes them, cheap enough to follow a slider.

Where the tokens are positions (a sequence of ``N``, no words), an axis names every ``step``-th
position and the last one (:func:`index_ticks`), ``step`` a power of two chosen so that the labels
do not touch (:func:`tick_step`, :func:`spaced_ticks`). Where the labels change on a move (``N``
follows a slider, a decoding step writes a new token), they are drawn as one path of glyph
outlines per matrix (:func:`labels_path`; :class:`IndexLabels` for positions), animated, so a move
repaints one patch instead of laying out a text per label or redrawing the background.

Coordinates: the matrix fills its axes' unit square with y pointing down (see
:func:`~explainer.views._common.unit_square`); a label's place ``at`` is the fraction of the way
down the left edge (rows) or along the bottom edge from the left (columns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import PathPatch
from matplotlib.path import Path

from explainer.theme import Theme, get_theme
from explainer.views._common import _drawn, label_outline

__all__ = ["index_ticks", "tick_step", "label_gap", "spaced_ticks", "labels_path", "IndexLabels", "draw_index_labels",
           "label_room", "axes_points", "ROW_GAP"]

MARK, PAD = 3.0, 5.0  # tick mark length and gap from the axes to a label, in points (times the line scale)
WORD_PAD = 2.0  # gap from the axes to a label without a mark (words), in points (times the line scale)
ROW_GAP = 2.4  # row labels at least this many font sizes apart: fewer, calmer labels than the text allows


def index_ticks(count: int, step: int, apart: float | None = None) -> list[int]:
    """The positions of ``count`` tokens to name: ``0, step, 2*step, ...`` and the last, ``count - 1``.

    A regular tick other than 0 less than ``apart`` positions before the last one (default
    ``step / 2``) is left out, so the last label never runs into it.

    Example:
        >>> index_ticks(32, 8)
        [0, 8, 16, 24, 31]
        >>> index_ticks(26, 8)  # 24 is one position before 25
        [0, 8, 16, 25]
        >>> index_ticks(3, 1)
        [0, 1, 2]
    """
    if count < 1 or step < 1:
        raise ValueError(f"count and step must be >= 1, got count={count}, step={step}")
    last = count - 1
    apart = step / 2 if apart is None else apart
    return [t for t in range(0, last, step) if t == 0 or last - t >= apart] + [last]


def tick_step(count: int, length: float, gap: float) -> int:
    """The smallest power of two ``step`` such that labels ``step`` positions apart lie ``gap`` points apart.

    ``length``: the axis's length in points, shared by ``count`` positions.

    Example:
        >>> tick_step(32, 160.0, 18.0)  # 5 points per position: every 4th is 20 points apart
        4
    """
    cell = length / max(count, 1)
    step = 1
    while step * cell < gap and step < count:
        step *= 2
    return step


@lru_cache(maxsize=512)
def labels_path(rows: tuple[tuple[float, str], ...], cols: tuple[tuple[float, str], ...], size: tuple[float, float],
                font_size: float, line_scale: float = 1.0, turn: bool = False, marks: bool = True) -> Path:
    """Labels left of an axes (``rows``) and under it (``cols``), a short mark each, as one path in axes coordinates.

    Args:
        rows, cols: ``(at, text)`` pairs (see the module's coordinates); row labels are right-aligned
            against their marks, column labels centred under theirs.
        size: the axes' (width, height) in points.
        font_size: the labels' size in points.
        line_scale: the theme's line scale (marks and gaps grow with it).
        turn: column labels turned to read upwards, ending under their marks (words under narrow columns).
        marks: draw the tick marks; without them the labels sit closer (:data:`WORD_PAD`), as words do.

    Example:
        >>> path = labels_path(((0.5, "7"),), (), (100.0, 50.0), 8.0)
        >>> bool(path.vertices[:, 0].max() <= 0)  # all of it left of the axes (the mark ends on its edge)
        True
    """
    width, height = size
    mark, pad, half = MARK * line_scale, (PAD if marks else WORD_PAD) * line_scale, max(line_scale, 1.0) / 2
    mark_codes = np.array([Path.MOVETO, *[Path.LINETO] * 3, Path.CLOSEPOLY], dtype=Path.code_type)
    vertices, codes = [], []
    for axis, labels in (("y", rows), ("x", cols)):
        for at, text in labels:
            outline = label_outline(text, font_size)
            right, top = _extent(text, font_size)  # half the label's width and height
            if axis == "y":
                y = (1 - at) * height
                tick = [(-mark, y - half), (0, y - half), (0, y + half), (-mark, y + half), (-mark, y - half)]
                shift = (-pad - right, y)
            else:
                x = at * width
                tick = [(x - half, 0), (x + half, 0), (x + half, -mark), (x - half, -mark), (x - half, 0)]
                shift = (x, -pad - (right if turn else top))
            turned = axis == "x" and turn
            placed = outline.vertices[:, ::-1] * (-1, 1) if turned else outline.vertices  # turned: (x, y) -> (-y, x)
            vertices += [np.array(tick), placed + shift] if marks else [placed + shift]
            codes += [mark_codes, outline.codes] if marks else [outline.codes]
    if not vertices:
        return Path(np.zeros((1, 2)))
    return Path(np.concatenate(vertices) / (width, height), np.concatenate(codes))


@lru_cache(maxsize=1024)
def _extent(text: str, font_size: float) -> tuple[float, float]:
    """Half the width and half the height of ``text``'s drawn outline (it is centred on the origin)."""
    right, top = _drawn(label_outline(text, font_size)).max(axis=0)
    return float(right), float(top)


def label_room(longest: str, font_size: float, line_scale: float = 1.0, turn: bool = False,
               marks: bool = True) -> tuple[float, float]:
    """Points taken beside an axes by :func:`labels_path`: (left of it, for ``longest`` row label; under it,
    for digits, or for ``longest`` turned upright with ``turn``).

    An axis label set ``labelpad`` to these points clears the tick labels.

    Example:
        >>> left, below = label_room("95", 7.0)
        >>> 5 < below < left
        True
    """
    drawn = _drawn(label_outline(longest, font_size))
    width = float(drawn[:, 0].max() - drawn[:, 0].min())
    digit = _drawn(label_outline("0", font_size))
    height = float(digit[:, 1].max() - digit[:, 1].min())
    pad = (PAD if marks else WORD_PAD) * line_scale
    return pad + width + 2.0, pad + (width if turn else height) + 3.0


def label_gap(axis: str, count: int, font_size: float) -> float:
    """Points the centres of two neighbouring index labels of ``count`` positions must keep apart.

    Rows (``"y"``): :data:`ROW_GAP` font sizes. Columns (``"x"``, labels written upright): the width
    of the widest label, ``count - 1``, plus one font size.

    Example:
        >>> label_gap("y", 100, 7.0) == ROW_GAP * 7.0, label_gap("x", 100, 7.0) > label_gap("x", 10, 7.0) > 7.0
        (True, True)
    """
    if axis == "y":
        return ROW_GAP * font_size
    return float(np.ptp(_drawn(label_outline(str(count - 1), font_size))[:, 0])) + font_size


def spaced_ticks(count: int, length: float, gap: float) -> list[int]:
    """:func:`index_ticks` with labels at least ``gap`` points apart on an axis ``length`` points long.

    Example:
        >>> spaced_ticks(32, 160.0, 18.0)  # 5 points per position: every 4th, and 28 is too close to 31
        [0, 4, 8, 12, 16, 20, 24, 31]
    """
    cell = length / count
    return index_ticks(count, tick_step(count, length, gap), apart=math.ceil(gap / cell - 1e-9))


def axes_points(ax: Axes) -> tuple[float, float]:
    """(width, height) in points of the part of the figure ``ax`` draws in (after its aspect is applied)."""
    ax.apply_aspect()
    box = ax.get_position()
    fig = ax.figure
    return 72 * box.width * fig.get_figwidth(), 72 * box.height * fig.get_figheight()


@dataclass
class IndexLabels:
    """Position labels on the rows (left) and the columns (below) of a matrix filling its axes' unit square.

    Row ``i`` of ``rows`` and column ``j`` of ``cols`` sit at ``(i + 0.5) / rows`` and
    ``(j + 0.5) / cols``; each axis names the positions of :func:`index_ticks` with a step from
    :func:`tick_step`. One patch (:func:`labels_path`) holds all of them: animate it.

    Attributes:
        ax: the matrix's axes.
        patch: the labels and their marks.
        axes: which axes are labelled: ``"xy"``, ``"y"`` (rows only) or ``"x"``.
        rows, cols: the positions named by the last :meth:`update`, per axis.
    """

    ax: Axes
    patch: PathPatch
    theme: Theme
    axes: str = "xy"
    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    size: tuple[float, float] | None = None  # the axes' drawn (width, height) in points, measured once

    @property
    def artists(self) -> list:
        return [self.patch]

    def update(self, rows: int, cols: int | None = None) -> None:
        """Name the positions of a ``rows x cols`` matrix (``cols`` defaults to ``rows``)."""
        cols = rows if cols is None else cols
        self.size = self.size or axes_points(self.ax)  # explorers never move or resize their axes
        width, height = self.size
        size = self.theme.font_size - 3
        self.rows, self.cols = ([spaced_ticks(count, length, label_gap(axis, count, size)) if axis in self.axes else []
                                 for axis, count, length in (("y", rows, height), ("x", cols, width))])
        self.patch.set_path(labels_path(tuple(((i + 0.5) / rows, str(i)) for i in self.rows),
                                        tuple(((j + 0.5) / cols, str(j)) for j in self.cols),
                                        (width, height), size, self.theme.line_scale))


def draw_index_labels(ax: Axes, rows: int, cols: int | None = None, axes: str = "xy", longest: str = "",
                      theme: Theme | None = None) -> IndexLabels:
    """:class:`IndexLabels` on ``ax`` for a ``rows x cols`` matrix; axis labels moved out of their way.

    ``longest``: the longest row label ever shown (e.g. ``"95"``), which sets how far left the y
    axis label sits (static); default ``str(rows - 1)``.
    """
    theme = theme or get_theme()
    if axes not in ("xy", "x", "y"):
        raise ValueError(f"axes must be 'xy', 'x' or 'y', got {axes!r}")
    left, below = label_room(longest or str(rows - 1), theme.font_size - 3, theme.line_scale)
    if "y" in axes:
        ax.yaxis.labelpad = left
    if "x" in axes:
        ax.xaxis.labelpad = below
    patch = PathPatch(Path(np.zeros((1, 2))), facecolor="black", edgecolor="none", transform=ax.transAxes,
                      clip_on=False)
    ax.add_patch(patch)
    view = IndexLabels(ax=ax, patch=patch, theme=theme, axes=axes)
    view.update(rows, cols)
    return view
