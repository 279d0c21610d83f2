"""Views for cross-attention (lesson 09): a scene and a question, one word's attention over the patches, the
importance map, and the weight matrices of self-attention, cross-attention and cross-attention with Q and K swapped.

Drawn for blitting: axes, colour bars and legends are static; a move changes only image data, outlines,
squares, row outlines, titles and the word labels (one path of glyph outlines per strip, in fixed slots,
so a new question never redraws the background).

Notation: ``L`` words (queries), ``P = g*g`` image patches (keys and values), ``h`` a head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import Affine2D

from explainer.theme import Theme, get_theme
from explainer.views._common import label_outline
from explainer.views.attention import MatrixView, draw_matrix
from explainer.views.gating import draw_colorbar
from explainer.views.vit_attention import _EMPTY, PictureView, draw_picture

__all__ = ["MAX_WORDS", "word_path", "patch_labels", "CrossAttentionView", "draw_cross_attention"]

MAX_WORDS = 6  # the longest question; a matrix's rows sit in MAX_WORDS fixed slots, so their labels never move


@lru_cache(maxsize=256)
def word_path(words: tuple[str, ...], axis: str, size: tuple[float, float], font_size: float,
              line_scale: float = 1.0) -> Path:
    """The glyph outlines of ``words`` in fixed slots beside a matrix, in its axes coordinates (y up).

    Word ``i`` sits at slot ``i`` of :data:`MAX_WORDS` (row ``i`` of a matrix drawn with ``grid=(MAX_WORDS, .)``):
    ``axis="y"`` right-aligned left of the axes, level with row ``i``; ``"x"`` turned upright below the
    axes, under column ``i``. One path for all the words: a new question repaints one patch, not a text
    per word. ``size`` is the axes' (width, height) in points.

    Example:
        >>> a = word_path(("red",), "y", (100.0, 60.0), 8.0)
        >>> b = word_path(("red", "one"), "y", (100.0, 60.0), 8.0)
        >>> bool((b.vertices[: len(a.vertices)] == a.vertices).all())  # the first word does not move
        True
    """
    width, height = size
    pad = 4 * line_scale
    to_axes = Affine2D().scale(1 / width, 1 / height)
    parts = []
    for i, word in enumerate(words):
        outline = label_outline(word, font_size)
        at = (i + 0.5) / MAX_WORDS
        if axis == "y":
            right = outline.vertices[outline.codes != Path.CLOSEPOLY, 0].max()  # half the word's width
            placed = Affine2D().translate(-pad - right, (1 - at) * height)
        else:
            right = outline.vertices[outline.codes != Path.CLOSEPOLY, 0].max()
            placed = Affine2D().rotate_deg(90).translate(at * width * 1.0, -pad - right)
        parts.append(outline.transformed(placed + to_axes))
    return Path.make_compound_path(*parts) if parts else Path(np.zeros((1, 2)))


def patch_labels(grid: int, every: int = 8) -> list[tuple[int, str]]:
    """``(index, "r<row>c<col>")`` for every ``every``-th of ``grid*grid`` row-major patches, and the last one.

    The last patch is named too (the axis ends there), unless it lies within half a step of the
    label before it (the two would crowd each other).

    Example:
        >>> patch_labels(8)[:2], patch_labels(8)[-2:]
        ([(0, 'r0c0'), (8, 'r1c0')], [(56, 'r7c0'), (63, 'r7c7')])
    """
    pairs = [(i, f"r{i // grid}c{i % grid}") for i in range(0, grid * grid, every)]
    last = grid * grid - 1
    if last - pairs[-1][0] >= max(every // 2, 1):
        pairs.append((last, f"r{last // grid}c{last % grid}"))
    return pairs


@dataclass
class CrossAttentionView:
    """Six panels: scene, the word's map, the importance map; self, cross and swapped weight matrices.

    Attributes:
        word_labels: the words in fixed slots, each set one path of glyph outlines (:func:`word_path`):
            by the rows of each matrix, then under the self-attention's columns.
        labels: the words written now.
    """

    scene: PictureView
    word_map: PictureView
    importance: PictureView
    self_matrix: MatrixView
    cross_matrix: MatrixView
    swapped_matrix: MatrixView
    titles: tuple[Text, Text, Text]
    word_labels: tuple[PathPatch, ...]
    theme: Theme
    grid: int
    labels: tuple[str, ...] = field(default_factory=tuple)

    @property
    def artists(self) -> list:
        return [*self.scene.artists, *self.word_map.artists, *self.importance.artists, *self.self_matrix.artists,
                *self.cross_matrix.artists, *self.swapped_matrix.artists, *self.titles,
                *self.word_labels]

    def label(self, words: Sequence[str]) -> None:
        """Write ``words`` (at most :data:`MAX_WORDS`) by the matrices' rows and under the self-attention's columns."""
        words = tuple(map(str, words))
        if len(words) > MAX_WORDS:
            raise ValueError(f"words must hold at most {MAX_WORDS} words, got {len(words)}")
        if words == self.labels:
            return
        views = (self.self_matrix, self.cross_matrix, self.swapped_matrix, self.self_matrix)
        for patch, view, axis in zip(self.word_labels, views, ("y", "y", "y", "x"), strict=True):
            box = view.ax.get_position()
            fig = view.ax.figure
            size = (72 * box.width * fig.get_figwidth(), 72 * box.height * fig.get_figheight())
            patch.set_path(word_path(words, axis, size, self.theme.font_size - 2, self.theme.line_scale))
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
    importance.ax.set_title("importance map\n(mean over the words)", fontsize=theme.font_size - 1, pad=3)
    draw_colorbar(fig.add_axes((0.9, top, 0.01, height)), "weight / its max", vmin=0.0, vmax=1.0,
                  ticks=[0.0, 0.5, 1.0], tick_labels=["0", "½", "max"], theme=theme)
    bottom, low = 0.15, 0.27
    matrices, titles = [], []
    for left, width, grid_cols in ((0.09, 0.14, MAX_WORDS), (0.33, 0.28, None), (0.7, 0.28, None)):
        view = draw_matrix(fig.add_axes((left, bottom, width, low)), "", signed=False, theme=theme,
                           grid=(MAX_WORDS, grid_cols))
        titles.append(view.ax.text(0.5, 1.02, "", transform=view.ax.transAxes, ha="center", va="bottom",
                                   fontsize=theme.font_size - 2))
        matrices.append(view)
    # What does not change is static (drawn once); the animated line under it carries the numbers.
    for view, title in zip(matrices, ("self: Q, K, V = words", "cross W: Q = words; K, V = patches",
                                      "Q, K swapped: softmax over words"), strict=True):
        view.ax.set_title(title, fontsize=theme.font_size - 2, pad=3 + 1.4 * (theme.font_size - 2))
    for view in matrices[1:]:
        pairs = patch_labels(grid)
        view.ax.set_xticks([(i + 0.5) / grid**2 for i, _ in pairs], [t for _, t in pairs],
                           fontsize=theme.font_size - 4, rotation=90)
        view.ax.tick_params(axis="x", length=0, pad=1)
        view.ax.set_xlabel("patches (row-major)", fontsize=theme.font_size - 3, labelpad=1)
    labels = []
    for view in (*matrices, matrices[0]):
        patch = PathPatch(Path(np.zeros((1, 2))), facecolor="black", edgecolor="none", transform=view.ax.transAxes,
                          clip_on=False)
        view.ax.add_patch(patch)
        labels.append(patch)
    return CrossAttentionView(scene, word_map, importance, *matrices, titles=tuple(titles),
                              word_labels=tuple(labels), theme=theme, grid=grid)
