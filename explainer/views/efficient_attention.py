"""Views for efficient attention: mask patterns and what they reach, cost curves, linear vs quadratic weights.

Drawn for blitting: matrix panels live in the unit square (y down, no ticks), so a mask of any
length ``N`` is an image stretched over fixed limits; cost curves use fixed log-log limits;
line panels use a position axis scaled to ``[0, 1]``. A move changes only artists' data.
Every view returns its artists (``.artists``) for a painter to animate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from torch import Tensor

from explainer.theme import Theme, get_theme
from explainer.views._common import matrix_axes, mix
from explainer.views.token_axes import IndexLabels, draw_index_labels

__all__ = [
    "CURVE_PATTERNS",
    "reach_colors",
    "MaskView",
    "draw_mask",
    "draw_reach_legend",
    "CostView",
    "draw_cost_curves",
    "WeightsView",
    "draw_weights",
    "ComparisonView",
    "draw_comparison",
]

CURVE_PATTERNS = ("full", "local", "strided", "block", "linear")


def reach_colors(theme: Theme | None = None) -> dict[str, np.ndarray]:
    """RGBA colours of matrix cells: ``blocked``, ``allowed`` (one layer), ``reached`` (only through
    more layers), and the selected query row's ``row_allowed`` / ``row_reached``."""
    theme = theme or get_theme()
    return {"blocked": np.array([0.97, 0.97, 0.97, 1.0]), "allowed": np.array(mix(theme.accent2, 0.75)),
            "reached": np.array(mix(theme.accent3, 0.45)), "row_allowed": np.array(to_rgba(theme.accent)),
            "row_reached": np.array(mix(theme.accent, 0.5))}


@dataclass
class MaskView:
    """A ``(N, N)`` mask (or reach) as an image with an optional highlighted query row.

    With ``tokens`` (see :func:`draw_mask`) the token positions are named along both axes (every
    few and the last, :class:`~explainer.views.token_axes.IndexLabels`): one path that follows ``N``.
    """

    ax: Axes
    theme: Theme
    image: AxesImage
    row: Rectangle
    frame: Rectangle
    tokens: IndexLabels | None = None

    @property
    def artists(self) -> list:
        return [self.image, self.row, self.frame, *(self.tokens.artists if self.tokens else [])]

    def update(self, mask: Tensor, row: int | None = None, base: Tensor | None = None,
               selected: bool = False) -> None:
        """Show ``mask``; cells also in ``base`` (e.g. the one-layer mask) in the ``allowed`` colour,
        the rest of ``mask`` in ``reached``; query ``row`` in the accent colours; ``selected`` frames it.
        """
        colors = reach_colors(self.theme)
        palette = (np.array([colors[k] for k in ("blocked", "reached", "allowed", "row_reached", "row_allowed")])
                   * 255).round().astype(np.uint8)  # (5, 4): one colour per cell code below
        m = mask.cpu().numpy()
        first = m if base is None else base.cpu().numpy()
        codes = m.astype(np.uint8) + (m & first)  # 0 blocked, 1 reached only, 2 allowed in one layer
        n = m.shape[0]
        if row is not None:
            codes[row] += np.uint8(2) * (codes[row] > 0).astype(np.uint8)  # 3, 4: the selected query's row
            self.row.set_bounds(0, row / n, 1, 1 / n)
        self.row.set_visible(row is not None)
        self.image.set_data(palette[codes])  # (N, N, 4) uint8
        self.frame.set_visible(selected)
        if self.tokens is not None and self.tokens.rows[-1:] != [n - 1]:
            self.tokens.update(n)


def draw_mask(ax: Axes, mask: Tensor, row: int | None = None, base: Tensor | None = None, title: str = "",
              theme: Theme | None = None, labels: bool = True, tokens: bool = False) -> MaskView:
    """Draw a boolean ``(N, N)`` mask: rows are queries, columns keys, coloured cells are allowed.

    Args:
        ax: the axes (fixed to the unit square).
        mask: ``(N, N)`` bool.
        row: a query row to highlight, or None.
        base: a sub-mask drawn in the "allowed" colour (the rest of ``mask`` as "reached"), or None.
        title: static title.
        theme: colours and line widths.
        labels: label the axes "key j" / "query i".
        tokens: name the token positions on both axes (every few and the last; one path, see
            :class:`~explainer.views.token_axes.IndexLabels`); the axis label leaves room for two digits.
    """
    theme = theme or get_theme()
    xlabel, ylabel = ("key j", "query i") if labels else ("", "")
    matrix_axes(ax, title, xlabel=xlabel, ylabel=ylabel, equal=True, frame=True, theme=theme)
    image = ax.imshow(np.zeros((1, 1, 4), np.uint8), interpolation="nearest", extent=(0, 1, 1, 0), aspect="equal")
    lw = theme.line_scale
    row_box = ax.add_patch(Rectangle((0, 0), 1, 0.1, fill=False, ec="#222222", lw=1.2 * lw, zorder=3))
    frame = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec=theme.accent, lw=3.5 * lw, zorder=4, clip_on=False))
    names = draw_index_labels(ax, mask.shape[0], longest="99", theme=theme) if tokens else None
    view = MaskView(ax, theme, image, row_box, frame, names)
    view.update(mask, row, base)
    return view


def draw_reach_legend(fig, anchor: tuple[float, float], theme: Theme | None = None, ncol: int = 3):
    """A legend (inside the figure, static) naming the colours of :func:`draw_mask`'s cells."""
    theme = theme or get_theme()
    colors = reach_colors(theme)
    handles = [Patch(fc=colors["allowed"], ec="#999999", label="allowed in 1 layer"),
               Patch(fc=colors["reached"], ec="#999999", label="reached only through 2 layers"),
               Patch(fc=colors["row_allowed"], ec="#999999", label="selected query i (row)")]
    return fig.legend(handles=handles, loc="center", bbox_to_anchor=anchor, ncol=ncol, frameon=False,
                      fontsize=theme.font_size - 2, handlelength=1.2, columnspacing=1.2)


@dataclass
class CostView:
    """FLOPs and memory against sequence length (log-log), one line per pattern, the current N marked."""

    axes: tuple[Axes, Axes]
    lines: dict[str, tuple[Line2D, Line2D]]
    marks: tuple[Line2D, Line2D]
    dots: tuple[Line2D, Line2D]

    @property
    def artists(self) -> list:
        return [a for pair in self.lines.values() for a in pair] + list(self.marks) + list(self.dots)

    def update(self, ns: np.ndarray, curves: dict[str, tuple[np.ndarray, np.ndarray]], n: int,
               at_n: dict[str, tuple[float, float]]) -> None:
        """``curves[pattern] = (flops, memory)`` over ``ns``; ``at_n[pattern]`` the values at the current ``n``."""
        for name, (flops_line, memory_line) in self.lines.items():
            flops, memory = curves[name]
            flops_line.set_data(ns, flops)
            memory_line.set_data(ns, np.maximum(memory, 1))
        for k, (mark, dots) in enumerate(zip(self.marks, self.dots)):
            mark.set_xdata([n, n])
            dots.set_data([n] * len(at_n), [max(v[k], 1) for v in at_n.values()])


def draw_cost_curves(ax_flops: Axes, ax_memory: Axes, ns: np.ndarray,
                     curves: dict[str, tuple[np.ndarray, np.ndarray]], n: int,
                     at_n: dict[str, tuple[float, float]], flops_limits: tuple[float, float],
                     memory_limits: tuple[float, float], theme: Theme | None = None) -> CostView:
    """Draw FLOPs (left) and memory (right) against N on fixed log-log axes with a legend.

    Args:
        ax_flops, ax_memory: the two axes.
        ns: ``(K,)`` sequence lengths.
        curves: ``{pattern: (flops (K,), memory (K,))}`` for :data:`CURVE_PATTERNS`.
        n: the current length, marked by a vertical line and dots.
        at_n: ``{pattern: (flops, memory)}`` at ``n``.
        flops_limits, memory_limits: fixed y ranges.
    """
    theme = theme or get_theme()
    palette = {"full": "#000000", "local": theme.accent2, "strided": theme.accent, "block": theme.accent3,
               "linear": "#CC79A7"}
    styles = {"full": "-", "local": "--", "strided": "-", "block": ":", "linear": "-."}
    lw = 1.8 * theme.line_scale
    lines = {}
    for name in CURVE_PATTERNS:
        lines[name] = tuple(ax.plot([], [], styles[name], color=palette[name], lw=lw, label=name)[0]
                            for ax in (ax_flops, ax_memory))
    marks, dots = [], []
    for ax, limits, label in ((ax_flops, flops_limits, "multiply-adds"), (ax_memory, memory_limits,
                                                                          "elements held (naive)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlim(ns[0], ns[-1])
        ax.set_ylim(*limits)
        ax.set_autoscale_on(False)
        ax.set_xlabel("sequence length N")
        ax.set_title(label, fontsize=theme.font_size, pad=3)
        ax.grid(True, which="major", color="#dddddd", lw=0.6)
        marks.append(ax.axvline(ns[0], color="#555555", lw=1.0 * theme.line_scale, ls=(0, (2, 2))))
        dots.append(ax.plot([], [], "o", ms=5 * theme.line_scale, mfc="white", mec="#333333", zorder=5)[0])
    ax_flops.legend(loc="upper left", fontsize=theme.font_size - 2, frameon=False)
    view = CostView((ax_flops, ax_memory), lines, (marks[0], marks[1]), (dots[0], dots[1]))
    view.update(ns, curves, n, at_n)
    return view


@dataclass
class WeightsView:
    """An ``(N, M)`` weight matrix as a heatmap (colour range 0..max) with a highlighted query row, and
    optionally the token positions named on both axes (``tokens``, one path that follows ``N`` and ``M``)."""

    ax: Axes
    image: AxesImage
    row: Rectangle
    tokens: IndexLabels | None = None

    @property
    def artists(self) -> list:
        return [self.image, self.row, *(self.tokens.artists if self.tokens else [])]

    def update(self, weights: Tensor, row: int) -> None:
        """Colour ``weights (N, M)`` from 0 (low end of the colormap) to their maximum."""
        w = weights.detach().cpu().numpy()
        self.image.set_data(w)
        self.image.set_clim(0.0, max(float(w.max()), 1e-12))
        rows, cols = weights.shape
        self.row.set_bounds(0, row / rows, 1, 1 / rows)
        if self.tokens is not None and (self.tokens.rows[-1:], self.tokens.cols[-1:]) != ([rows - 1], [cols - 1]):
            self.tokens.update(rows, cols)


def draw_weights(ax: Axes, weights: Tensor, row: int = 0, title: str = "", theme: Theme | None = None,
                 tokens: bool = False) -> WeightsView:
    """Draw attention weights ``(N, M)`` (rows: queries) with query ``row`` outlined.

    ``tokens``: name the query and key positions (every few and the last, as in :func:`draw_mask`).
    """
    theme = theme or get_theme()
    matrix_axes(ax, title, xlabel="key j", ylabel="query i", equal=True, frame=True, theme=theme)
    image = ax.imshow(np.zeros((1, 1)), cmap=theme.cmap, interpolation="nearest", extent=(0, 1, 1, 0), aspect="equal")
    box = ax.add_patch(Rectangle((0, 0), 1, 0.1, fill=False, ec=theme.accent, lw=2.0 * theme.line_scale, zorder=3))
    names = draw_index_labels(ax, *weights.shape, longest="99", theme=theme) if tokens else None
    view = WeightsView(ax, image, box, names)
    view.update(weights, row)
    return view


@dataclass
class ComparisonView:
    """Two series over positions (scaled to [0, 1]) drawn as a line and as markers, plus a short label."""

    ax: Axes
    line: Line2D
    markers: Line2D
    extra: Line2D
    label: Text

    @property
    def artists(self) -> list:
        return [self.line, self.markers, self.extra, self.label]

    def update(self, first: Tensor, second: Tensor, extra: Tensor | None = None, text: str = "") -> None:
        """``first`` as a line, ``second`` as markers, optional ``extra`` as a thin grey line."""
        a, b = first.detach().cpu().numpy(), second.detach().cpu().numpy()
        x = (np.arange(len(a)) + 0.5) / len(a)
        self.line.set_data(x, a)
        self.markers.set_data(x, b)
        if extra is None:
            self.extra.set_data([], [])
        else:
            self.extra.set_data(x, extra.detach().cpu().numpy())
        self.label.set_text(text)


def draw_comparison(ax: Axes, first: Tensor, second: Tensor, extra: Tensor | None = None,
                    ylim: tuple[float, float] = (0.0, 1.0), labels: tuple[str, str, str] = ("", "", ""),
                    title: str = "", xlabel: str = "position", theme: Theme | None = None) -> ComparisonView:
    """Plot ``first`` (line) and ``second`` (markers) over positions, e.g. quadratic vs linear output."""
    theme = theme or get_theme()
    ax.set_xlim(0, 1)
    ax.set_ylim(*ylim)
    ax.set_autoscale_on(False)
    ax.set_xticks([])
    ax.set_xlabel(xlabel, labelpad=2)
    ax.tick_params(labelsize=theme.font_size - 2)
    if title:
        ax.set_title(title, fontsize=theme.font_size, pad=3)
    lw = 1.6 * theme.line_scale
    (line,) = ax.plot([], [], "-", color=theme.accent2, lw=lw, label=labels[0])
    (markers,) = ax.plot([], [], "o", color=theme.accent, ms=4 * theme.line_scale, mfc="none", label=labels[1])
    (extra_line,) = ax.plot([], [], "-", color="#999999", lw=0.9 * lw, label=labels[2])
    handles = [h for h, name in zip((line, markers, extra_line), labels) if name]
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=theme.font_size - 2, frameon=False)
    label = ax.text(0.02, 0.04, "", transform=ax.transAxes, fontsize=theme.font_size - 1, color="#333333")
    view = ComparisonView(ax, line, markers, extra_line, label)
    view.update(first, second, extra)
    return view
