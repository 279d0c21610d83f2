"""Views for attention: matrix heatmaps (Q, K, V, scores, weights), a highlighted query row, the
weights of one query as bars, softmax entropy against the head width, colour bars and token labels.

Drawn for blitting: every axes gets fixed limits once; a move only changes artists (image data and
colour limits, rectangles, polygons, lines), never the axes. Matrices of any shape fill the same
unit square, row ``i`` of a ``rows``-row matrix occupying ``y in [i/rows, (i+1)/rows)`` (y pointing
down). Token names are static tick labels (:func:`label_tokens`, set once); integer ticks that
follow a matrix's size are one path of glyph outlines each (:class:`TickStripView`).

Notation: ``N`` tokens, ``d_k`` query/key width per head, ``h`` heads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap, Normalize, to_rgba
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D

from explainer.theme import Theme, get_theme
from explainer.views._common import label_outline, matrix_axes, unit_square
from explainer.views.token_axes import index_ticks, label_gap, tick_step

__all__ = [
    "MatrixView",
    "draw_matrix",
    "row_of",
    "WeightBarsView",
    "draw_weight_bars",
    "EntropyView",
    "draw_entropy",
    "draw_colorbar",
    "label_tokens",
    "clicked_row",
    "TickStripView",
    "draw_tick_strip",
]


def row_of(y: float, rows: int) -> int:
    """Row index under data coordinate ``y`` (unit square, y down) of a ``rows``-row matrix, clipped.

    Example:
        >>> row_of(0.55, 4)
        2
    """
    return int(min(max(math.floor(y * rows), 0), rows - 1))


@dataclass
class MatrixView:
    """A heatmap filling the axes (nearest-neighbour ``imshow``) plus an outline marking one row (the selected query).

    Attributes:
        data: the matrix shown, ``(rows, cols)`` float (NaN where drawn in the 'bad' grey).
        limits: the colour range ``(vmin, vmax)`` of the last update.
        grid: ``(rows, cols)`` of a fixed cell grid, or None along an axis the matrix fills. With
            ``grid=(16, None)`` a matrix of ``N`` rows fills the top ``N/16`` of the square, so row
            ``i`` stays where a static label names it whatever ``N`` is.
    """

    ax: Axes
    image: AxesImage
    marker: Rectangle
    signed: bool
    cmap: Colormap
    data: np.ndarray = field(default_factory=lambda: np.zeros((1, 1)))
    limits: tuple[float, float] = (-1.0, 1.0)
    grid: tuple[int | None, int | None] = (None, None)

    @property
    def artists(self) -> list:
        """Artists :meth:`update` changes."""
        return [self.image, self.marker]

    def update(self, matrix: np.ndarray, row: int | None = None, limit: float | None = None) -> None:
        """Show ``matrix (rows, cols)``; non-finite entries (masked scores) are drawn in the 'bad' grey.

        Args:
            matrix: 2-D array.
            row: the row to outline, or None for no outline.
            limit: colour range ``[-limit, limit]`` (signed) or ``[0, limit]``; default from the data.
        """
        data = np.asarray(matrix, dtype=float)
        if data.ndim != 2 or data.size == 0:
            raise ValueError(f"matrix must be 2-D and non-empty, got shape {data.shape}")
        data = np.where(np.isfinite(data), data, np.nan)
        finite = data[np.isfinite(data)]
        if limit is None:
            limit = float(np.abs(finite).max()) if finite.size else 1.0
        limit = max(float(limit), 1e-12)
        low = -limit if self.signed else 0.0
        self.data, self.limits = data, (low, limit)
        self.image.set_data(data)  # NaN: the colormap's 'bad' grey
        self.image.set_clim(low, limit)
        rows, cols = data.shape
        height, width = self.fraction(rows, cols)
        if self.grid != (None, None) and tuple(self.image.get_extent()) != (0, width, height, 0):
            self.image.set_extent((0, width, height, 0))  # only when the shape changes: it re-reads the data limits
        self.marker.set_visible(row is not None)
        if row is not None:
            self.marker.set_bounds(0.004 * width, row / rows * height, 0.992 * width, height / rows)

    def fraction(self, rows: int, cols: int) -> tuple[float, float]:
        """(height, width) of the unit square a ``rows x cols`` matrix covers (1 along an axis it fills)."""
        return (rows / self.grid[0] if self.grid[0] else 1.0), (cols / self.grid[1] if self.grid[1] else 1.0)

    def row_at(self, y: float) -> int | None:
        """The row under data coordinate ``y``, or None below the last row (on the grid's empty part)."""
        rows = self.data.shape[0]
        height = self.fraction(rows, 1)[0]
        return row_of(y / height, rows) if y < height else None


def clicked_row(painter: Any, views: Sequence[MatrixView], px: float, py: float) -> int | None:
    """The row of the first of ``views`` under PNG pixel ``(px, py)`` (via ``painter.pixel_to_data``), or None
    when the point lies outside them or below that matrix's last row."""
    for view in views:
        point = painter.pixel_to_data(view.ax, px, py)
        if point is not None:
            return view.row_at(point[1])
    return None


def draw_matrix(ax: Axes, title: str = "", signed: bool = True, theme: Theme | None = None,
                grid: tuple[int | None, int | None] = (None, None)) -> MatrixView:
    """Set up ``ax`` and return an empty :class:`MatrixView` (diverging colours if ``signed``).

    ``grid``: see :attr:`MatrixView.grid` (default: every matrix fills the square).
    """
    theme = theme or get_theme()
    matrix_axes(ax, title, theme=theme)
    cmap = colormaps[theme.diverging_cmap if signed else theme.cmap].with_extremes(bad="#d9d9d9")
    image = ax.imshow(np.zeros((1, 1)), cmap=cmap, interpolation="nearest", extent=(0, 1, 1, 0), aspect="auto")
    marker = Rectangle((0, 0), 1, 0.1, fill=False, edgecolor=theme.accent, linewidth=2.0 * theme.line_scale,
                       zorder=3)
    ax.add_patch(marker)
    view = MatrixView(ax=ax, image=image, marker=marker, signed=signed, cmap=cmap, grid=grid)
    view.update(np.zeros((1, 1)))
    return view


@dataclass
class WeightBarsView:
    """Bars of one query's attention weights over the keys (height 1 = all attention on one key)."""

    ax: Axes
    bars: PolyCollection

    @property
    def artists(self) -> list:
        return [self.bars]

    def update(self, weights: np.ndarray) -> None:
        """Show ``weights (Tk,)``: key ``j`` is the bar over ``x in [j/Tk, (j+1)/Tk)``."""
        w = np.asarray(weights, dtype=float).reshape(-1)
        n = len(w)
        x0 = np.arange(n) / n
        gap = 0.12 / n
        verts = np.stack([np.stack([x0 + gap, np.zeros(n)], -1), np.stack([x0 + 1 / n - gap, np.zeros(n)], -1),
                          np.stack([x0 + 1 / n - gap, w], -1), np.stack([x0 + gap, w], -1)], 1)  # (n, 4, 2)
        self.bars.set_verts(verts)


def draw_weight_bars(ax: Axes, title: str = "", theme: Theme | None = None) -> WeightBarsView:
    """Axes ``[0, 1] x [0, 1.05]`` with a y axis (static) and bars for :meth:`WeightBarsView.update`."""
    theme = theme or get_theme()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_autoscale_on(False)
    ax.set_xticks([])
    ax.set_yticks([0, 0.5, 1])
    ax.tick_params(labelsize=theme.font_size - 2)
    ax.set_xlabel("keys j", fontsize=theme.font_size - 1, labelpad=1)
    ax.set_ylabel("weight", fontsize=theme.font_size - 2, labelpad=1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=theme.font_size, pad=3)
    bars = PolyCollection([], facecolors=to_rgba(theme.accent2), edgecolors="none")
    ax.add_collection(bars, autolim=False)
    return WeightBarsView(ax=ax, bars=bars)


@dataclass
class EntropyView:
    """Mean softmax entropy against the head width ``d`` (log axis), with and without ``1/sqrt(d)``."""

    ax: Axes
    scaled: Line2D
    unscaled: Line2D
    uniform: Line2D
    current: Line2D

    @property
    def artists(self) -> list:
        return [self.uniform, self.scaled, self.unscaled, self.current]

    def update(self, dims: np.ndarray, scaled: np.ndarray, unscaled: np.ndarray, tokens: int, d: int,
               d_entropy: float) -> None:
        """Curves over ``dims``; ``log(tokens)`` (uniform attention) dashed; a dot at the current ``d``."""
        self.scaled.set_data(dims, scaled)
        self.unscaled.set_data(dims, unscaled)
        self.uniform.set_data([dims[0], dims[-1]], [math.log(tokens)] * 2)
        self.current.set_data([d], [d_entropy])


def draw_entropy(ax: Axes, dims: tuple[int, int], max_entropy: float, theme: Theme | None = None) -> EntropyView:
    """Static log-x axes over ``dims = (d_min, d_max)`` and ``[0, max_entropy]`` with a small legend.

    The x ticks are the integer head widths ``d_k`` at every power of 4 in ``dims``.
    """
    theme = theme or get_theme()
    ticks = [4 ** i for i in range(12) if dims[0] <= 4 ** i <= dims[1]]
    lw = 1.6 * theme.line_scale
    ax.set_xscale("log", base=2)
    ax.set_xlim(dims[0] / 1.3, dims[1] * 1.3)
    ax.set_ylim(0, max_entropy)  # leave room above log(T) for the legend
    ax.set_autoscale_on(False)
    ax.tick_params(labelsize=theme.font_size - 2)
    ax.set_xticks(list(ticks), [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("head width $d_k$", fontsize=theme.font_size - 1, labelpad=1)
    ax.set_title("softmax entropy (nats)", fontsize=theme.font_size, pad=3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    (scaled,) = ax.plot([], [], color=theme.accent2, lw=lw, marker="o", ms=3 * theme.line_scale, label="÷√$d_k$")
    (unscaled,) = ax.plot([], [], color=theme.accent, lw=lw, marker="s", ms=3 * theme.line_scale, label="no ÷√$d_k$")
    (uniform,) = ax.plot([], [], color=theme.grid_color, lw=1.0 * theme.line_scale, ls="--", label="uniform")
    (current,) = ax.plot([], [], "o", color="black", ms=7 * theme.line_scale, mfc="none", mew=1.5 * theme.line_scale)
    ax.legend(handles=[scaled, unscaled, uniform], fontsize=theme.font_size - 3, loc="upper center", ncol=3,
              frameon=False, handlelength=1.2, columnspacing=0.8, handletextpad=0.4, borderaxespad=0.1)
    return EntropyView(ax=ax, scaled=scaled, unscaled=unscaled, uniform=uniform, current=current)


def draw_colorbar(ax: Axes, cmap: Colormap | str, limits: tuple[float, float], label: str = "",
                  extend: str = "neither", theme: Theme | None = None) -> Colorbar:
    """A static colour bar in ``ax`` for the fixed range ``limits`` (drawn once, into the background).

    ``extend="both"`` draws arrows for values beyond the range (shown in the end colours).
    """
    theme = theme or get_theme()
    mappable = ScalarMappable(norm=Normalize(*limits), cmap=cmap)
    bar = Colorbar(ax, mappable, extend=extend)
    bar.ax.tick_params(labelsize=theme.font_size - 3, length=2, pad=1)
    bar.locator = MaxNLocator(nbins=4)
    bar.update_ticks()
    if label:
        bar.set_label(label, fontsize=theme.font_size - 2, labelpad=2)
    return bar


def label_tokens(ax: Axes, words: list[str] | None, axis: str = "y", theme: Theme | None = None,
                 label: str = "", slots: int | None = None) -> None:
    """Name the rows (``axis="y"``) or columns (``"x"``, written upwards) of a unit-square matrix by ``words``.

    Token ``i`` sits at ``(i + 0.5) / slots`` (``slots`` defaults to ``len(words)``; a larger value
    matches a :class:`MatrixView` with a fixed ``grid``); ``None`` removes the labels. Static text: set
    once, or redraw the painter's background afterwards.
    """
    theme = theme or get_theme()
    words = list(words or [])
    n = slots or len(words)
    size = theme.font_size - (2 if n <= 10 else 3)
    ticks = [(i + 0.5) / n for i in range(len(words))]
    if axis == "y":
        ax.set_yticks(ticks, words, fontsize=size)
        ax.set_ylabel(label, fontsize=theme.font_size - 2, labelpad=2)
    else:
        ax.set_xticks(ticks, words, fontsize=size, rotation=90)
        ax.set_xlabel(label, fontsize=theme.font_size - 2, labelpad=2)
    ax.tick_params(axis=axis, length=0, pad=2)


@dataclass
class TickStripView:
    """Integer tick marks and labels along one side of a unit-square matrix, following its size.

    Marks and labels are one path (the labels' glyph outlines, :func:`~explainer.views._common.label_outline`)
    in the strip's own axes, replaced on each update: a handful of numbers cost one patch, not a
    laid-out text each. The strip's axis label is static.

    Attributes:
        ax: the strip's own axes, beside the matrix (left of it for ``axis="y"``, below for ``"x"``).
        patch: the marks and labels.
        axis: ``"y"`` (rows, labels right-aligned against the matrix) or ``"x"`` (columns, below).
        span: the part ``(start, stop)`` of the strip, in its own fraction, that lies beside the matrix.
        values: the integers labelled by the last update.
    """

    ax: Axes
    patch: PathPatch
    axis: str
    theme: Theme
    span: tuple[float, float] = (0.0, 1.0)
    values: list[int] = field(default_factory=list)

    @property
    def artists(self) -> list:
        return [self.patch]

    def update(self, count: int) -> None:
        """Label indices ``0, step, 2 step, ...`` and the last, ``count - 1``, index ``i`` at ``(i + 0.5) / count``.

        ``step`` is the smallest power of two that keeps the labels apart
        (:func:`~explainer.views.token_axes.tick_step`), and a regular label less than one step before
        the last is left out (:func:`~explainer.views.token_axes.index_ticks`).
        """
        box = self.ax.get_position()
        size = (72 * box.width * self.ax.figure.get_figwidth(), 72 * box.height * self.ax.figure.get_figheight())
        length = (size[1] if self.axis == "y" else size[0]) * (self.span[1] - self.span[0])
        step = tick_step(count, length, label_gap(self.axis, count, self.theme.font_size - 3))
        self.values = index_ticks(count, step, apart=step)
        where = tuple(self.span[0] + (v + 0.5) / count * (self.span[1] - self.span[0]) for v in self.values)
        self.patch.set_path(_strip_path(self.axis, tuple(map(str, self.values)), where, size,
                                        self.theme.font_size - 3, self.theme.line_scale))


@lru_cache(maxsize=256)
def _strip_path(axis: str, labels: tuple[str, ...], where: tuple[float, ...], size: tuple[float, float],
                font_size: float, line_scale: float) -> Path:
    """Tick marks and label outlines at ``where`` (fractions along the strip), in the strip's axes coordinates.

    ``size``: the strip's width and height in points. ``"y"`` strips put the marks on their right
    edge and the labels left of them; ``"x"`` strips on their top edge, labels below (y up here).
    """
    mark, pad, half = 4 * line_scale, 6 * line_scale, max(line_scale, 1.0) / 2
    width, height = size
    to_axes = Affine2D().scale(1 / width, 1 / height)
    parts = []
    for label, at in zip(labels, where):
        outline = label_outline(label, font_size)
        right, top = outline.vertices[outline.codes != Path.CLOSEPOLY].max(axis=0)  # half its width and height
        if axis == "y":  # unit_square puts y down: row ``at`` sits at 1 - at in axes coordinates
            y = (1 - at) * height
            tick = [(width - mark, y - half), (width, y - half), (width, y + half), (width - mark, y + half)]
            shift = (width - pad - right, y)
        else:
            x = at * width
            tick = [(x - half, height), (x + half, height), (x + half, height - mark), (x - half, height - mark)]
            shift = (x, height - pad - top)
        parts.append(Path([*tick, tick[0]], closed=True).transformed(to_axes))
        parts.append(outline.transformed(Affine2D().translate(*shift) + to_axes))
    return Path.make_compound_path(*parts) if parts else Path(np.zeros((1, 2)))


def draw_tick_strip(fig_ax: Axes, axis: str, label: str = "", theme: Theme | None = None,
                    span: tuple[float, float] = (0.0, 1.0)) -> TickStripView:
    """A :class:`TickStripView` in ``fig_ax`` (a new axes beside a matrix), with a static axis ``label``.

    ``span``: where the matrix lies along the strip, as fractions of its length (a strip longer than
    the matrix leaves room for the end labels).
    """
    theme = theme or get_theme()
    unit_square(fig_ax, equal=False, frame=False)
    fig_ax.set_facecolor("none")  # the strip may reach over a neighbour's title: paint nothing but its labels
    if axis == "y":
        fig_ax.set_ylabel(label, fontsize=theme.font_size - 2, labelpad=1)
    else:
        fig_ax.set_xlabel(label, fontsize=theme.font_size - 2, labelpad=1)
    patch = PathPatch(Path(np.zeros((1, 2))), facecolor="black", edgecolor="none", transform=fig_ax.transAxes,
                      clip_on=False)
    fig_ax.add_patch(patch)
    return TickStripView(ax=fig_ax, patch=patch, axis=axis, theme=theme, span=span)
