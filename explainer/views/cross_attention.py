"""Views for cross-attention (lesson 09): a scene and a question, one word's attention over the patches, the
importance map, and the weight matrices of self-attention, cross-attention and cross-attention with Q and K swapped.

Drawn for blitting: axes, colour bars and legends are static; a move changes only image data, outlines,
squares, row outlines, titles and the word labels (animated texts in fixed slots, so a new question
never redraws the background).

Notation: ``L`` words (queries), ``P = g*g`` image patches (keys and values), ``h`` a head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.text import Text

from explainer.theme import Theme, get_theme
from explainer.views.attention import MatrixView, draw_matrix
from explainer.views.gating import draw_colorbar
from explainer.views.vit_attention import _EMPTY, PictureView, draw_picture

__all__ = ["MAX_WORDS", "patch_labels", "CrossAttentionView", "draw_cross_attention"]

MAX_WORDS = 6  # the longest question; a matrix's rows sit in MAX_WORDS fixed slots, so their labels never move


def patch_labels(grid: int, every: int = 8) -> list[tuple[int, str]]:
    """``(index, "r<row>")`` for every ``every``-th of ``grid*grid`` row-major patches (the first of each row).

    Example:
        >>> patch_labels(8)[:3]
        [(0, 'r0c0'), (8, 'r1c0'), (16, 'r2c0')]
    """
    return [(i, f"r{i // grid}c{i % grid}") for i in range(0, grid * grid, every)]


@dataclass
class CrossAttentionView:
    """Six panels: scene, the word's map, the importance map; self, cross and swapped weight matrices.

    Attributes:
        word_texts: the word labels (animated texts in fixed slots): rows of each matrix, then the
            self-attention's columns.
        labels: the words written now.
    """

    scene: PictureView
    word_map: PictureView
    importance: PictureView
    self_matrix: MatrixView
    cross_matrix: MatrixView
    swapped_matrix: MatrixView
    titles: tuple[Text, Text, Text]
    word_texts: tuple[list[Text], ...]
    theme: Theme
    grid: int
    labels: tuple[str, ...] = field(default_factory=tuple)

    @property
    def artists(self) -> list:
        return [*self.scene.artists, *self.word_map.artists, *self.importance.artists, *self.self_matrix.artists,
                *self.cross_matrix.artists, *self.swapped_matrix.artists, *self.titles,
                *(t for texts in self.word_texts for t in texts)]

    def label(self, words: Sequence[str]) -> None:
        """Write ``words`` (at most :data:`MAX_WORDS`) by the matrices' rows and under the self-attention's columns."""
        words = tuple(map(str, words))
        if len(words) > MAX_WORDS:
            raise ValueError(f"words must hold at most {MAX_WORDS} words, got {len(words)}")
        for texts in self.word_texts:
            for i, text in enumerate(texts):
                text.set_text(words[i] if i < len(words) else "")
        self.labels = words

    def update_matrices(self, self_weights: np.ndarray, cross: np.ndarray, swapped: np.ndarray, row: int,
                        titles: tuple[str, str, str]) -> None:
        """``self_weights (L, L)``, ``cross (L, P)`` and ``swapped (L, P)`` (each coloured up to its own max)."""
        for view, matrix in ((self.self_matrix, self_weights), (self.cross_matrix, cross),
                             (self.swapped_matrix, swapped)):
            m = np.asarray(matrix, dtype=float)
            view.update(m / max(float(np.nanmax(m)), 1e-12), row=row, limit=1.0)
        for text, title in zip(self.titles, titles, strict=True):
            text.set_text(title)


def draw_cross_attention(fig: Figure, size: int, grid: int, theme: Theme | None = None) -> CrossAttentionView:
    """Lay the six panels and the colour bar out in ``fig`` (made by :func:`~explainer.paint.new_figure`)."""
    theme = theme or get_theme()
    top, height = 0.57, 0.34
    scene = draw_picture(fig.add_axes((0.05, top, 0.2, height)), size, theme)
    scene.box.set_visible(False)
    scene.ax.legend(handles=[scene.square, PathPatch(_EMPTY, fill=False, edgecolor="black")],
                    labels=["the model's answer", "the named object"], fontsize=theme.font_size - 4,
                    loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, handlelength=1.2,
                    handletextpad=0.3)
    word_map = draw_picture(fig.add_axes((0.42, top, 0.2, height)), size, theme)
    importance = draw_picture(fig.add_axes((0.68, top, 0.2, height)), size, theme)
    for view in (word_map, importance):
        view.box.set_visible(False)
    draw_colorbar(fig.add_axes((0.9, top, 0.01, height)), "weight / its max", vmin=0.0, vmax=1.0,
                  ticks=[0.0, 0.5, 1.0], tick_labels=["0", "½", "max"], theme=theme)
    bottom, low = 0.15, 0.27
    matrices, titles = [], []
    for left, width, grid_cols in ((0.09, 0.14, MAX_WORDS), (0.33, 0.28, None), (0.7, 0.28, None)):
        view = draw_matrix(fig.add_axes((left, bottom, width, low)), "", signed=False, theme=theme,
                           grid=(MAX_WORDS, grid_cols))
        titles.append(view.ax.text(0.5, 1.03, "", transform=view.ax.transAxes, ha="center", va="bottom",
                                   fontsize=theme.font_size - 2))
        matrices.append(view)
    for view in matrices[1:]:
        pairs = patch_labels(grid)
        view.ax.set_xticks([(i + 0.5) / grid**2 for i, _ in pairs], [t for _, t in pairs],
                           fontsize=theme.font_size - 4, rotation=90)
        view.ax.tick_params(axis="x", length=0, pad=1)
        view.ax.set_xlabel("patches (row-major)", fontsize=theme.font_size - 3, labelpad=1)
    size = theme.font_size - 2
    slots = [(i + 0.5) / MAX_WORDS for i in range(MAX_WORDS)]
    texts = [[view.ax.text(-0.03, y, "", ha="right", va="center", fontsize=size) for y in slots]
             for view in matrices]
    texts.append([matrices[0].ax.text(x, 1.03, "", ha="center", va="top", rotation=90, fontsize=size)
                  for x in slots])
    return CrossAttentionView(scene, word_map, importance, *matrices, titles=tuple(titles), word_texts=tuple(texts),
                              theme=theme, grid=grid)
