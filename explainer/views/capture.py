"""Views for recorded attention (lesson 10): one head's weights, a summary (head mean or rollout) and
one query's weights, with the tokens named on both axes of every matrix, as bertviz does.

Drawn for blitting: the axes, colour bars and token labels are static; a move changes only the
heatmaps, the row outlines, the bars and the two panel titles (animated texts). The token labels
change only when a layer of another shape is shown: :meth:`RecordedAttentionView.label` says so,
and the explorer then has the painter redraw its background once.

Notation: ``Tq`` query tokens (rows), ``Tk`` key tokens (columns), ``h`` the head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

from explainer.theme import Theme, get_theme
from explainer.views.attention import MatrixView, WeightBarsView, draw_colorbar, draw_matrix, draw_weight_bars
from explainer.views.token_axes import ROW_GAP, spaced_ticks

__all__ = ["MAX_LABELS", "shown_labels", "RecordedAttentionView", "draw_recorded_attention"]

MAX_LABELS = 24  # more tokens than this along an axis: every k-th is named, so the labels stay readable


def shown_labels(labels: Sequence[str], max_labels: int = MAX_LABELS) -> list[tuple[int, str]]:
    """The ``(index, label)`` pairs to write along an axis of ``len(labels)`` tokens: all, or every k-th.

    Example:
        >>> [i for i, _ in shown_labels([str(i) for i in range(50)], max_labels=10)]
        [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    """
    n = len(labels)
    step = max(1, -(-n // max_labels))  # ceil(n / max_labels)
    return [(i, str(labels[i])) for i in range(0, n, step)]


def _label_axis(ax, labels: Sequence[str], axis: str, theme: Theme, title: str) -> None:  # noqa: ANN001
    """Name the tokens along one axis; positions (labels ``"0", "1", ...``) as every few and the last, level."""
    n = max(len(labels), 1)
    box = ax.get_position()
    length = 72 * (box.height * ax.figure.get_figheight() if axis == "y" else box.width * ax.figure.get_figwidth())
    positions = all(label == str(i) for i, label in enumerate(labels))
    if positions:  # integer ticks, upright, spaced to fit the axis (as the other lessons' position labels)
        size = theme.font_size - 3
        gap = ROW_GAP * size if axis == "y" else len(str(n - 1)) * 0.6 * size + size
        pairs = [(i, str(i)) for i in spaced_ticks(n, length, gap)]
    else:  # words: every k-th, no more than the axis holds at about a line each
        size = theme.font_size - (2 if min(len(labels), MAX_LABELS) <= 10 else 3)
        pairs = shown_labels(labels, max(1, min(MAX_LABELS, int(length // (1.2 * size)))))
    ticks = [(i + 0.5) / n for i, _ in pairs]
    words = [word for _, word in pairs]
    if axis == "y":
        ax.set_yticks(ticks, words, fontsize=size)
        ax.set_ylabel(title, fontsize=theme.font_size - 2, labelpad=2)
    else:
        ax.set_xticks(ticks, words, fontsize=size, rotation=0 if positions else 90)
        ax.set_xlabel(title, fontsize=theme.font_size - 2, labelpad=2)
    ax.tick_params(axis=axis, length=2 if positions else 0, pad=2)


@dataclass
class RecordedAttentionView:
    """Three panels: one head's weights ``(Tq, Tk)``, a summary ``(Tq, Tk)``, one query's weights ``(Tk,)``.

    Attributes:
        weights: the selected head's matrix (rows: queries, columns: keys), colour range 0..1.
        summary: the mean over the heads, or the rollout, same colour range.
        bars: the selected query's weights over the keys.
        titles: the two matrix titles (animated texts, set by :meth:`update`).
        labels: the ``(query labels, key labels)`` written on the axes now.
    """

    weights: MatrixView
    summary: MatrixView
    bars: WeightBarsView
    titles: tuple[Text, Text]
    theme: Theme
    labels: tuple[tuple[str, ...], tuple[str, ...]] = field(default_factory=lambda: ((), ()))

    @property
    def artists(self) -> list:
        """Artists :meth:`update` changes."""
        return [*self.weights.artists, *self.summary.artists, *self.bars.artists, *self.titles]

    def label(self, queries: Sequence[str], keys: Sequence[str]) -> bool:
        """Write the token names on the axes (static text); True when they changed (redraw the background)."""
        wanted = (tuple(map(str, queries)), tuple(map(str, keys)))
        if wanted == self.labels:
            return False
        for view, rows in ((self.weights, "queries i"), (self.summary, "")):  # the summary's rows: the same queries
            _label_axis(view.ax, wanted[0], "y", self.theme, rows)
            _label_axis(view.ax, wanted[1], "x", self.theme, "keys j")
        _label_axis(self.bars.ax, wanted[1], "x", self.theme, "keys j")
        self.labels = wanted
        return True

    def update(self, weights: np.ndarray, summary: np.ndarray, row: int, titles: tuple[str, str]) -> None:
        """Show ``weights (Tq, Tk)`` and ``summary (Tq, Tk)``, outline query ``row``, bar its weights.

        Entries that are NaN or exactly 0 are drawn grey: PyTorch gives masked keys a weight of
        exactly 0 (a softmax of finite scores is never 0) and a query masked out entirely NaN.

        Raises:
            ValueError: the two matrices differ in shape, or ``row`` lies outside ``[0, Tq)``.
        """
        weights, summary = np.asarray(weights, dtype=float), np.asarray(summary, dtype=float)
        if weights.ndim != 2 or weights.shape != summary.shape:
            raise ValueError(f"weights and summary must be 2-D of one shape, got {weights.shape} and {summary.shape}")
        if not 0 <= row < weights.shape[0]:
            raise ValueError(f"row must be in [0, {weights.shape[0]}), got {row}")
        self.weights.update(np.where(weights == 0, np.nan, weights), row=row, limit=1.0)
        self.summary.update(np.where(summary == 0, np.nan, summary), row=row, limit=1.0)
        self.bars.update(np.nan_to_num(weights[row]))
        for text, title in zip(self.titles, titles, strict=True):
            text.set_text(title)


def draw_recorded_attention(fig: Figure, theme: Theme | None = None) -> RecordedAttentionView:
    """Lay the three panels and two colour bars out in ``fig`` (made by :func:`~explainer.paint.new_figure`)."""
    theme = theme or get_theme()
    bottom, height, width = 0.25, 0.65, 0.25
    views, titles = [], []
    for left in (0.085, 0.41):  # room on the left of each matrix for its query names
        view = draw_matrix(fig.add_axes((left, bottom, width, height)), "", signed=False, theme=theme)
        titles.append(view.ax.text(0.5, 1.02, "", transform=view.ax.transAxes, ha="center", va="bottom",
                                   fontsize=theme.font_size))
        views.append(view)
    # One colour bar for both matrices: the same colours, the same fixed range 0..1.
    draw_colorbar(fig.add_axes((0.67, bottom, 0.012, height)), views[0].cmap, (0.0, 1.0),
                  "weight, both matrices (grey: 0, masked)", theme=theme)
    bars = draw_weight_bars(fig.add_axes((0.80, bottom, 0.18, height)), "weights of query i", theme)
    return RecordedAttentionView(weights=views[0], summary=views[1], bars=bars, titles=(titles[0], titles[1]),
                                 theme=theme)
