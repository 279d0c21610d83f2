"""Views for the transformer block and its decoding walk (lesson 14).

* :func:`draw_block_costs`: one block's weights and multiply-adds as stacked bars (attention,
  feed-forward, norms; projections, ``Q K^T`` and ``A V``, feed-forward), each part labelled in %;
* :func:`draw_scaling`: multiply-adds of the three parts against the token count ``N`` (log-log),
  the linear parts growing as ``N``, the scores as ``N^2``, with the current ``N`` marked;
* :func:`draw_residual_streams`: the scale of the residual stream after each block, post-norm
  against pre-norm, the chosen one in bold;
* :func:`draw_decoding`: the causal self-attention and the cross-attention of one decoding step,
  tokens named on both axes (one path of glyph outlines per matrix), one colour bar, and the
  next-token probabilities as bars.

Drawn for blitting: axes, colour bars and static labels once; a move changes the bars, lines and
texts. The token names of the decoding panels change with each step and input: they are paths
of glyph outlines in fixed slots, animated like the rest, so the background is never redrawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text

from explainer.families import NetworkTable
from explainer.theme import Theme, get_theme
from explainer.transformer import ResidualStream, cost_split
from explainer.views.attention import MatrixView, draw_colorbar, draw_matrix
from explainer.views.families import format_count
from explainer.views.token_axes import axes_points, label_room, labels_path

__all__ = ["BlockCostsView", "draw_block_costs", "ScalingView", "draw_scaling", "SCALING_TOKENS",
           "StreamsView", "draw_residual_streams", "DecodingView", "draw_decoding"]

SCALING_TOKENS = np.geomspace(4, 8192, 40)


def _parts(table: NetworkTable) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    attention = sum(r.params for r in table.rows if r.kind == "MultiheadAttention")
    ffn = sum(r.params for r in table.rows if r.kind == "Linear")
    norms = table.params - attention - ffn
    split = cost_split(table)
    return ([("attention", attention), ("feed-forward", ffn), ("norms", norms)],
            [("Q K V O projections", split["projections"]), ("QK\u1d40 and AV", split["scores"]),
             ("feed-forward", split["feed-forward"])])


_SHORT = (("attention", "FFN", "norms"), ("projections", "QK\u1d40, AV", "FFN"))


@dataclass
class BlockCostsView:
    """Two stacked horizontal bars (weights, multiply-adds) of three segments each, named and labelled in %."""

    segments: list[list[Rectangle]]
    labels: list[list[Text]]
    totals: list[Text]

    @property
    def artists(self) -> list:
        return [*(s for row in self.segments for s in row), *(t for row in self.labels for t in row), *self.totals]

    def update(self, table: NetworkTable) -> None:
        for row, (parts, total_text, total) in enumerate(zip(_parts(table), self.totals,
                                                             (table.params, table.multiply_adds), strict=True)):
            left = 0.0
            for k, (seg, text, (_, count)) in enumerate(zip(self.segments[row], self.labels[row], parts, strict=True)):
                share = count / max(total, 1)
                seg.set_x(left)
                seg.set_width(share)
                text.set_position((left + share / 2, row))
                pct = f"{100 * share:.0f}%"
                text.set_text(f"{_SHORT[row][k]}\n{pct}" if share >= 0.35 else pct if share >= 0.06 else "")
                left += share
            total_text.set_text(f"{format_count(total)} {'weights' if row == 0 else 'multiply-adds'}")


def draw_block_costs(ax: Axes, theme: Theme | None = None) -> BlockCostsView:
    """Set up ``ax`` for :class:`BlockCostsView`: rows "weights" (top) and "multiply-adds"; the segments
    are named inside the bars (a small one by its colour only: blue attention / projections, orange
    the scores, green the feed-forward, grey the norms)."""
    theme = theme or get_theme()
    fs = theme.font_size
    colors = ((theme.accent2, theme.accent3, theme.grid_color), (theme.accent2, theme.accent, theme.accent3))
    ax.set_xlim(0, 1)
    ax.set_ylim(1.45, -0.75)
    ax.set_yticks([0, 1], ["weights", "multiply-\nadds"], fontsize=fs - 2)
    ax.set_xticks([0, 0.5, 1], ["0", "50%", "100%"], fontsize=fs - 2)
    segments, labels, totals = [], [], []
    for row in range(2):
        segs, texts = [], []
        for k in range(3):
            seg = Rectangle((0, row - 0.35), 0, 0.7, color=colors[row][k])
            ax.add_patch(seg)
            segs.append(seg)
            texts.append(ax.text(0, row, "", ha="center", va="center", fontsize=fs - 3, color="white",
                                 fontweight="bold", linespacing=1.0))
        segments.append(segs)
        labels.append(texts)
        totals.append(ax.text(0.0, row - 0.4, "", ha="left", va="bottom", fontsize=fs - 2))
    return BlockCostsView(segments, labels, totals)


@dataclass
class ScalingView:
    """Three lines (projections, scores, feed-forward) against ``N`` and a marker line at the current ``N``."""

    lines: list[Line2D]
    marker: Line2D
    note: Text

    @property
    def artists(self) -> list:
        return [*self.lines, self.marker, self.note]

    def update(self, table: NetworkTable) -> None:
        n = table.input_shape[0]
        split = cost_split(table)
        ratio = SCALING_TOKENS / n
        for line, key, power in zip(self.lines, ("projections", "scores", "feed-forward"), (1, 2, 1), strict=True):
            line.set_data(SCALING_TOKENS, np.maximum(split[key] * ratio ** power, 1.0))
        self.marker.set_xdata([n, n])
        linear = split["projections"] + split["feed-forward"]
        cross = n * linear / max(split["scores"], 1)  # scores * (N'/N)^2 = linear * N'/N
        self.note.set_text(f"N = {n}: QK\u1d40,AV overtake the rest at N \u2248 {cross:,.0f}")


def draw_scaling(ax: Axes, theme: Theme | None = None) -> ScalingView:
    """Log-log axes of multiply-adds against tokens ``N`` (fixed limits) for :class:`ScalingView`."""
    theme = theme or get_theme()
    fs, lw = theme.font_size, theme.line_scale
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(SCALING_TOKENS[0], SCALING_TOKENS[-1])
    ax.set_ylim(1e4, 1e13)
    ax.set_xlabel("tokens N", fontsize=fs - 1)
    ax.set_ylabel("multiply-adds", fontsize=fs - 1)
    ax.tick_params(labelsize=fs - 2)
    ax.grid(True, color=theme.grid_color, alpha=0.3, linewidth=0.5 * lw)
    styles = (("projections \u221d N", theme.accent2, "-"), ("QK\u1d40, AV \u221d N\u00b2", theme.accent, "-"),
              ("feed-forward \u221d N", theme.accent3, "--"))
    lines = [ax.plot([], [], color=c, linestyle=s, linewidth=1.8 * lw, label=name)[0] for name, c, s in styles]
    marker = ax.axvline(64, color="black", linewidth=lw, linestyle=":")
    ax.legend(handles=lines, loc="upper left", fontsize=fs - 3, framealpha=0.9)
    note = ax.text(0.0, 1.02, "", transform=ax.transAxes, ha="left", va="bottom", fontsize=fs - 2)
    return ScalingView(lines, marker, note)


@dataclass
class StreamsView:
    """Post-norm and pre-norm stream scales (``lines``: post, pre); the chosen one drawn bold."""

    lines: list[Line2D]

    @property
    def artists(self) -> list:
        return list(self.lines)

    def update(self, norm_first: bool) -> None:
        for line, first in zip(self.lines, (False, True), strict=True):
            line.set_linewidth(3.0 if first == norm_first else 1.0)
            line.set_alpha(1.0 if first == norm_first else 0.4)


def draw_residual_streams(ax: Axes, post: ResidualStream, pre: ResidualStream,
                          theme: Theme | None = None) -> StreamsView:
    """Both streams' scale after each block (static data); :meth:`StreamsView.update` picks the bold one."""
    theme = theme or get_theme()
    fs = theme.font_size
    blocks = np.arange(len(post.scale))
    lines = [ax.plot(blocks, s.scale.numpy(), marker="o", markersize=3, color=c, label=name)[0]
             for s, c, name in ((post, theme.accent2, "post-norm"), (pre, theme.accent, "pre-norm"))]
    top = float(max(post.scale.max(), pre.scale.max()))
    ax.set_xlim(-0.3, blocks[-1] + 0.3)
    ax.set_ylim(0, top * 1.35)
    ax.set_xlabel("blocks so far", fontsize=fs - 1)
    ax.set_ylabel("RMS of the stream", fontsize=fs - 1)
    ax.tick_params(labelsize=fs - 2)
    ax.legend(loc="upper left", fontsize=fs - 3, framealpha=0.9)
    ax.grid(True, color=theme.grid_color, alpha=0.3, linewidth=0.5)
    return StreamsView(lines)


# --------------------------------------------------------------------------- decoding
@dataclass
class DecodingView:
    """Self-attention and cross-attention heatmaps of one step, a colour bar, and next-token bars.

    Attributes:
        self_attn, cross_attn: the two matrices on a ``grid x grid`` cell layout (row ``i`` stays put).
        bars: one bar per vocabulary entry (the step's probabilities); chosen: the written token's outline.
        titles: the two matrix titles (animated).
        names: per matrix, its tokens' names beside its rows and under its columns: one path of glyph
            outlines each (:func:`~explainer.views.token_axes.labels_path`), animated, so a new step or
            input repaints two patches and never the background.
        labels: the token names now on the axes (decoder inputs, source tokens).
    """

    self_attn: MatrixView
    cross_attn: MatrixView
    bars: list[Rectangle]
    titles: tuple[Text, Text, Text]
    grid: int
    theme: Theme
    names: tuple[PathPatch, PathPatch] = ()
    labels: tuple[tuple[str, ...], tuple[str, ...]] = field(default_factory=lambda: ((), ()))

    @property
    def artists(self) -> list:
        return [*self.self_attn.artists, *self.cross_attn.artists, *self.bars, *self.titles, *self.names]

    def label(self, inputs: Sequence[str], source: Sequence[str]) -> bool:
        """Name the tokens on the axes, row / column ``i`` in slot ``i`` of ``grid``; True when they changed.

        The decoder inputs name the rows of both matrices and the columns of the self-attention, the
        source tokens the columns of the cross-attention.
        """
        wanted = (tuple(map(str, inputs)), tuple(map(str, source)))
        if wanted == self.labels:
            return False
        if max(len(wanted[0]), len(wanted[1])) > self.grid:
            raise ValueError(f"at most {self.grid} tokens per axis, got {len(wanted[0])} and {len(wanted[1])}")
        rows = tuple(((i + 0.5) / self.grid, name) for i, name in enumerate(wanted[0]))
        for patch, view, columns in zip(self.names, (self.self_attn, self.cross_attn), wanted, strict=True):
            cols = tuple(((j + 0.5) / self.grid, name) for j, name in enumerate(columns))
            patch.set_path(labels_path(rows, cols, axes_points(view.ax), self.theme.font_size - 2,
                                       self.theme.line_scale, turn=True, marks=False))
        self.labels = wanted
        return True

    def update(self, self_weights: np.ndarray, cross_weights: np.ndarray, probabilities: np.ndarray,
               titles: tuple[str, str, str]) -> None:
        """Show one step: ``self_weights (t+1, t+1)``, ``cross_weights (t+1, S)``, ``probabilities (V,)``.

        Exact zeros (the causal mask's hidden keys) are drawn grey; the last row, this step's query,
        is outlined.
        """
        w = np.asarray(self_weights, dtype=float)
        c = np.asarray(cross_weights, dtype=float)
        if w.ndim != 2 or w.shape[0] != w.shape[1] or c.ndim != 2 or c.shape[0] != w.shape[0]:
            raise ValueError(f"self_weights must be (t+1, t+1) and cross_weights (t+1, S), got {w.shape}, {c.shape}")
        if max(w.shape[0], c.shape[1]) > self.grid:
            raise ValueError(f"at most {self.grid} tokens per axis, got {w.shape} and {c.shape}")
        self.self_attn.update(np.where(w == 0, np.nan, w), row=w.shape[0] - 1, limit=1.0)
        self.cross_attn.update(c, row=c.shape[0] - 1, limit=1.0)
        p = np.asarray(probabilities, dtype=float).reshape(-1)
        best = int(p.argmax())
        for k, bar in enumerate(self.bars):
            bar.set_width(p[k] if k < len(p) else 0.0)
            bar.set_edgecolor("black" if k == best else "none")
        for text, title in zip(self.titles, titles, strict=True):
            text.set_text(title)


def draw_decoding(fig: Figure, vocabulary: Sequence[str], grid: int, theme: Theme | None = None) -> DecodingView:
    """Lay out the decoding panels in ``fig``: two matrices, a colour bar, the vocabulary's bars."""
    theme = theme or get_theme()
    fs = theme.font_size
    bottom, height = 0.2, 0.64
    views, titles = [], []
    for left in (0.1, 0.43):
        view = draw_matrix(fig.add_axes((left, bottom, 0.26, height)), "", signed=False, theme=theme,
                           grid=(grid, grid))
        titles.append(view.ax.text(0.0, 1.02, "", transform=view.ax.transAxes, ha="left", va="bottom",
                                   fontsize=fs - 1))
        views.append(view)
    left, below = label_room(max(vocabulary, key=len), fs - 2, theme.line_scale, turn=True, marks=False)
    views[0].ax.set_xlabel("keys: tokens written so far", fontsize=fs - 2, labelpad=below)
    views[1].ax.set_xlabel("keys: source tokens", fontsize=fs - 2, labelpad=below)
    views[0].ax.set_ylabel("queries: decoder inputs", fontsize=fs - 2, labelpad=left)
    names = []
    for view in views:
        names.append(PathPatch(Path(np.zeros((1, 2))), facecolor="black", edgecolor="none",
                               transform=view.ax.transAxes, clip_on=False))
        view.ax.add_patch(names[-1])
    draw_colorbar(fig.add_axes((0.70, bottom, 0.012, height)), views[0].cmap, (0.0, 1.0),
                  "weight (grey: masked)", theme=theme)
    ax = fig.add_axes((0.84, bottom, 0.14, height))
    n = len(vocabulary)
    ax.set_xlim(0, 1.0)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks(range(n), list(vocabulary), fontsize=fs - 2)
    ax.set_xticks([0, 0.5, 1], ["0", ".5", "1"], fontsize=fs - 2)
    ax.set_xlabel("p(next token)", fontsize=fs - 2)
    bars = []
    for k in range(n):
        bar = Rectangle((0, k - 0.4), 0, 0.8, facecolor=theme.accent2, edgecolor="none", linewidth=1.5)
        ax.add_patch(bar)
        bars.append(bar)
    titles.append(ax.text(0.0, 1.02, "", transform=ax.transAxes, ha="left", va="bottom", fontsize=fs - 1))
    return DecodingView(views[0], views[1], bars, (titles[0], titles[1], titles[2]), grid, theme,
                        names=(names[0], names[1]))
