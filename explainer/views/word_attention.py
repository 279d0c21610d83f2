"""Views for lesson 05's trained-versus-random switch: a question's words attending to each other.

The head-averaged weight matrix (queries x keys), every head's matrix, and one query's weights as bars,
each named by the question's words. Drawn for blitting: axes, titles, the colour bar and the legend are
static; a move changes image data, row outlines, the colour word's column outline, the bars, the word
labels (one path of glyph outlines per strip, in fixed slots:
:func:`~explainer.views.cross_attention.word_path`) and two titles (each one path of glyph outlines too:
:func:`~explainer.views._common.label_outline`).

Notation: ``L`` words, ``h`` heads.
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
from matplotlib.transforms import Affine2D, IdentityTransform

from explainer.theme import Theme, get_theme
from explainer.views._common import label_outline
from explainer.views.attention import MatrixView, WeightBarsView, draw_colorbar, draw_matrix, draw_weight_bars
from explainer.views.cross_attention import MAX_WORDS, word_path

__all__ = ["MAX_WORDS", "WordAttentionView", "draw_word_attention"]


def _label_patch(ax: Axes) -> PathPatch:
    patch = PathPatch(Path(np.zeros((1, 2))), facecolor="black", edgecolor="none", transform=ax.transAxes,
                      clip_on=False)
    ax.add_patch(patch)
    return patch


def _title_patch(fig: Figure, x: float, y: float, theme: Theme) -> PathPatch:
    """An empty glyph-outline path centred at figure fraction (x, y); its path is set in points."""
    to_pixels = Affine2D().scale(fig.dpi / 72).translate(x * fig.bbox.width, y * fig.bbox.height)
    patch = PathPatch(Path(np.zeros((1, 2))), facecolor="black", edgecolor="none",
                      transform=to_pixels + IdentityTransform())
    fig.add_artist(patch)
    return patch


@dataclass
class WordAttentionView:
    """The mean of the heads (large, with a colour bar), each head (small), and one query's weights as bars.

    Attributes:
        labels: ``(patch, axes, axis)`` per strip of word labels: rows (``"y"``) or columns (``"x"``).
        words: the words written now.
    """

    mean: MatrixView
    heads: tuple[MatrixView, ...]
    bars: WeightBarsView
    column: Rectangle
    title: PathPatch
    bars_title: PathPatch
    labels: tuple[tuple[PathPatch, Axes, str], ...]
    theme: Theme
    words: tuple[str, ...] = field(default_factory=tuple)
    titles: tuple[str, str] = ("", "")

    @property
    def artists(self) -> list:
        return [*self.mean.artists, *(a for view in self.heads for a in view.artists), *self.bars.artists,
                self.column, self.title, self.bars_title, *(patch for patch, _, _ in self.labels)]

    def label(self, words: Sequence[str]) -> None:
        """Name the rows and columns by ``words`` (at most :data:`MAX_WORDS`, in fixed slots)."""
        words = tuple(map(str, words))
        if not 1 <= len(words) <= MAX_WORDS:
            raise ValueError(f"words must hold 1 to {MAX_WORDS} words, got {len(words)}")
        if words == self.words:
            return
        for patch, ax, axis in self.labels:
            box, fig = ax.get_position(), ax.figure
            size = (72 * box.width * fig.get_figwidth(), 72 * box.height * fig.get_figheight())
            big = ax is self.mean.ax or ax is self.bars.ax
            patch.set_path(word_path(words, axis, size, self.theme.font_size - (2 if big else 4),
                                     self.theme.line_scale))
        self.words = words

    def update(self, weights: np.ndarray, query: int, colour_word: int | None, title: str, bars_title: str) -> None:
        """Show ``weights (h, L, L)`` (rows: queries, sum 1), outline row ``query`` and the colour word's column."""
        w = np.asarray(weights, dtype=float)
        if w.ndim != 3 or w.shape[1] != w.shape[2] or not 1 <= w.shape[1] <= MAX_WORDS:
            raise ValueError(f"weights must have shape (h, L, L) with 1 <= L <= {MAX_WORDS}, got {w.shape}")
        if len(self.heads) != w.shape[0]:
            raise ValueError(f"weights must have {len(self.heads)} heads, got {w.shape[0]}")
        L = w.shape[1]
        if not 0 <= query < L:
            raise ValueError(f"query must be in [0, {L - 1}], got {query}")
        mean = w.mean(0)  # (L, L)
        self.mean.update(mean, row=query, limit=1.0)
        for view, head in zip(self.heads, w, strict=True):
            view.update(head, row=query, limit=1.0)
        self.bars.update(np.pad(mean[query], (0, MAX_WORDS - L)))
        self.column.set_visible(colour_word is not None)
        if colour_word is not None:
            self.column.set_bounds(colour_word / MAX_WORDS, 0.004, 1 / MAX_WORDS, L / MAX_WORDS - 0.008)
        if (title, bars_title) != self.titles:
            self.title.set_path(label_outline(title, self.theme.font_size))
            self.bars_title.set_path(label_outline(bars_title, self.theme.font_size - 2))
            self.titles = (title, bars_title)


def draw_word_attention(fig: Figure, heads: int, theme: Theme | None = None) -> WordAttentionView:
    """Lay the panels out in ``fig`` (made by :func:`~explainer.paint.new_figure`) for a model of ``heads`` heads."""
    theme = theme or get_theme()
    grid = (MAX_WORDS, MAX_WORDS)
    bottom, height = 0.25, 0.56
    pad = 4.0 * (theme.font_size - 2)  # past the longest word of the vocabulary ("magenta"), written sideways
    mean = draw_matrix(fig.add_axes((0.115, bottom, 0.2, height)), "", signed=False, theme=theme, grid=grid)
    mean.ax.set_title("mean of the heads", fontsize=theme.font_size - 1, pad=3)
    mean.ax.set_ylabel("queries i", fontsize=theme.font_size - 2, labelpad=pad)
    mean.ax.set_xlabel("keys j", fontsize=theme.font_size - 2, labelpad=pad)
    draw_colorbar(fig.add_axes((0.325, bottom, 0.01, height)), mean.cmap, (0.0, 1.0), "weight", theme=theme)
    column = Rectangle((0, 0), 0.1, 1, fill=False, edgecolor="black", linestyle="--",
                       linewidth=1.6 * theme.line_scale, zorder=4)
    mean.ax.add_patch(column)
    mean.ax.legend(handles=[Line2D([], [], color="black", linestyle="--", linewidth=1.6 * theme.line_scale),
                            Line2D([], [], color=theme.accent, linewidth=2.0 * theme.line_scale)],
                   labels=["the colour word", "query i"], fontsize=theme.font_size - 4, loc="lower left",
                   bbox_to_anchor=(0.0, 1.09), ncol=2, frameon=False, handlelength=1.5, borderaxespad=0,
                   columnspacing=0.8)
    views, labels = [], [(_label_patch(mean.ax), mean.ax, "y"), (_label_patch(mean.ax), mean.ax, "x")]
    cols = 2
    rows = -(-heads // cols)
    width, gap_x = 0.095, 0.075
    step = 0.7 / rows
    for h in range(heads):
        r, c = divmod(h, cols)
        box = (0.46 + c * (width + gap_x), 0.86 - (r + 1) * step + 0.04, width, step - 0.15)
        view = draw_matrix(fig.add_axes(box), "", signed=False, theme=theme, grid=grid)
        view.ax.set_title(f"head {h + 1}", fontsize=theme.font_size - 2, pad=2)
        labels.append((_label_patch(view.ax), view.ax, "y"))
        if r == rows - 1 or h + cols >= heads:
            labels.append((_label_patch(view.ax), view.ax, "x"))
        views.append(view)
    bars = draw_weight_bars(fig.add_axes((0.8, bottom, 0.18, height)), "", theme)
    bars.ax.set_xlabel("keys j", fontsize=theme.font_size - 2, labelpad=pad)
    labels.append((_label_patch(bars.ax), bars.ax, "x"))
    bars.ax.set_title("(mean of the heads)", fontsize=theme.font_size - 2, pad=3)
    box = bars.ax.get_position()
    title = _title_patch(fig, 0.5, 0.955, theme)
    bars_title = _title_patch(fig, box.x0 + box.width / 2, box.y1 + 0.075, theme)
    return WordAttentionView(mean=mean, heads=tuple(views), bars=bars, column=column, title=title,
                             bars_title=bars_title, labels=tuple(labels), theme=theme)
