"""Views for attention on images (lesson 08): a scene, one query patch's attention over the patch grid, the class
token's rollout, and the attention distance per head and layer beside a CNN unit's receptive field.

Drawn for blitting: axes, colour bars and legends are static; a move changes only image data, the target's
outline, the query square, the CNN field box, the chart's points and the panel titles (animated texts).
Every picture panel works in pixel coordinates of the ``S x S`` scene (y down), so a patch map of
``g x g`` cells is stretched over the same square as the scene and outlines fit both.

Notation: ``g x g`` patches of ``p x p`` pixels, ``L`` layers, ``H`` heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text

from explainer.theme import Theme, get_theme
from explainer.views._common import fixed_axes
from explainer.views.gating import draw_colorbar

__all__ = ["mask_outline", "PictureView", "draw_picture", "DistanceView", "draw_distances", "ViTAttentionView",
           "draw_vit_attention"]

_EMPTY = Path(np.zeros((1, 2)))


def mask_outline(mask: np.ndarray) -> Path:
    """The boundary of a boolean ``(H, W)`` mask as pixel-edge segments, in pixel coordinates (edges at ``k - 0.5``).

    Every edge between a pixel inside and one outside (or the image border) is one segment, so the
    outline is exact for any shape, holes included.

    Example:
        >>> path = mask_outline(np.array([[True, False]]))
        >>> len(path.vertices) // 2  # one pixel: four edges
        4
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    padded = np.pad(m, 1)
    segments = []
    rows, cols = np.nonzero(padded[1:-1, 1:] != padded[1:-1, :-1])  # vertical edges, left of column c
    for r, c in zip(rows, cols, strict=True):
        segments.append(((c - 0.5, r - 0.5), (c - 0.5, r + 0.5)))
    rows, cols = np.nonzero(padded[1:, 1:-1] != padded[:-1, 1:-1])  # horizontal edges, above row r
    for r, c in zip(rows, cols, strict=True):
        segments.append(((c - 0.5, r - 0.5), (c + 0.5, r - 0.5)))
    if not segments:
        return _EMPTY
    vertices = np.asarray(segments, dtype=float).reshape(-1, 2)
    codes = np.tile([Path.MOVETO, Path.LINETO], len(segments))
    return Path(vertices, codes)


@dataclass
class PictureView:
    """A picture panel in scene pixels: an RGB scene or a patch map, the target outline, a query square, a box.

    Attributes:
        image: the picture (RGB ``(S, S, 3)`` or a map ``(g, g)`` stretched over the scene).
        outline: the target mask's outline (a path of pixel edges).
        square: the query patch (or answer cell) outline.
        box: an optional second box (the CNN unit's receptive field), dashed.
        title: the panel's animated title.
    """

    ax: Axes
    image: AxesImage
    outline: PathPatch
    square: Rectangle
    box: Rectangle
    title: Text
    size: int

    @property
    def artists(self) -> list:
        return [self.image, self.outline, self.square, self.box, self.title]

    def update(self, picture: np.ndarray, outline: Path | None, square: tuple[float, float, float, float] | None,
               title: str, box: tuple[float, float, float, float] | None = None) -> None:
        """Show ``picture``; ``square`` / ``box`` are ``(x0, y0, width, height)`` in pixels (None: hidden)."""
        self.image.set_data(picture)
        self.outline.set_path(outline if outline is not None else _EMPTY)
        for patch, bounds in ((self.square, square), (self.box, box)):
            patch.set_visible(bounds is not None)
            if bounds is not None:
                patch.set_bounds(*bounds)
        self.title.set_text(title)

    def patch_at(self, x: float, y: float, grid: int) -> tuple[int, int] | None:
        """``(row, col)`` of the ``grid x grid`` patch under pixel coordinates ``(x, y)``, None outside."""
        if not (-0.5 <= x < self.size - 0.5 and -0.5 <= y < self.size - 0.5):
            return None
        cell = self.size / grid
        return min(int((y + 0.5) // cell), grid - 1), min(int((x + 0.5) // cell), grid - 1)


def draw_picture(ax: Axes, size: int, theme: Theme, cmap: str | None = None, box_label: str = "") -> PictureView:
    """A picture panel for an ``size x size`` scene; ``cmap`` given: a map coloured 0..1 in it."""
    fixed_axes(ax, (-0.5, size - 0.5), (size - 0.5, -0.5), equal=True, frame=True)
    extent = (-0.5, size - 0.5, size - 0.5, -0.5)
    image = ax.imshow(np.zeros((2, 2)), extent=extent, cmap=cmap or theme.cmap, vmin=0.0, vmax=1.0,
                      interpolation="nearest")
    outline = PathPatch(_EMPTY, fill=False, edgecolor="white", linewidth=1.6 * theme.line_scale, zorder=3)
    ax.add_patch(outline)
    square = Rectangle((0, 0), 1, 1, fill=False, edgecolor=theme.accent, linewidth=2.2 * theme.line_scale, zorder=4)
    ax.add_patch(square)
    box = Rectangle((0, 0), 1, 1, fill=False, edgecolor=theme.accent3, linewidth=1.8 * theme.line_scale,
                    linestyle=(0, (3, 2)), zorder=4, label=box_label)
    ax.add_patch(box)
    title = ax.text(0.5, 1.02, "", transform=ax.transAxes, ha="center", va="bottom", fontsize=theme.font_size - 1)
    return PictureView(ax, image, outline, square, box, title, size)


@dataclass
class DistanceView:
    """Attention distance per head (one line of points per head, x = layer) and the CNN unit's field distance."""

    ax: Axes
    heads: list[Line2D]
    cnn: Line2D
    chosen: Line2D

    @property
    def artists(self) -> list:
        return [*self.heads, self.cnn, self.chosen]

    def update(self, distances: np.ndarray, cnn: np.ndarray, chosen: tuple[int, float]) -> None:
        """``distances (L, H)`` pixels, ``cnn (L,)`` pixels per stage, ``chosen = (layer index, distance)`` ringed."""
        layers = np.arange(1, distances.shape[0] + 1)
        for h, line in enumerate(self.heads):
            line.set_data(layers + (h - (len(self.heads) - 1) / 2) * 0.06, distances[:, h])
        self.cnn.set_data(layers, cnn)
        self.chosen.set_data([chosen[0] + 1], [chosen[1]])


def draw_distances(ax: Axes, layers: int, heads: int, ymax: float, theme: Theme) -> DistanceView:
    """The chart's axes (layer / stage 1..L against pixels 0..ymax), legend inside."""
    ax.set_xlim(0.6, layers + 0.4)
    ax.set_ylim(0, ymax)
    ax.set_autoscale_on(False)
    ax.set_xticks(range(1, layers + 1))
    ax.set_xlabel("layer / stage", fontsize=theme.font_size - 2, labelpad=1)
    ax.set_ylabel("distance (pixels)", fontsize=theme.font_size - 2, labelpad=1)
    ax.tick_params(labelsize=theme.font_size - 3, length=2, pad=1)
    ax.grid(True, axis="y", color=theme.grid_color, alpha=0.3, linewidth=0.6)
    cmap = colormaps["tab10"]
    lines = [ax.plot([], [], "o-", color=cmap(h), ms=4.5 * theme.line_scale, lw=0.8 * theme.line_scale,
                     label=f"head {h + 1}")[0] for h in range(heads)]
    (cnn,) = ax.plot([], [], "s--", color=theme.accent3, ms=6 * theme.line_scale, lw=1.5 * theme.line_scale,
                     label="CNN field")
    (chosen,) = ax.plot([], [], "o", ms=11 * theme.line_scale, mfc="none", mec="black", mew=1.5 * theme.line_scale)
    ax.legend(fontsize=theme.font_size - 4, loc="upper left", ncol=2, frameon=False, handlelength=1.2,
              columnspacing=0.6, handletextpad=0.3, borderaxespad=0.1)
    ax.set_title("how far they look", fontsize=theme.font_size - 1, pad=3)
    return DistanceView(ax, lines, cnn, chosen)


@dataclass
class ViTAttentionView:
    """Scene, the query's attention over the patches, the class token's rollout, and the distance chart."""

    scene: PictureView
    attention: PictureView
    rollout: PictureView
    distances: DistanceView

    @property
    def artists(self) -> list:
        return [*self.scene.artists, *self.attention.artists, *self.rollout.artists, *self.distances.artists]


def draw_vit_attention(fig: Figure, size: int, layers: int, heads: int, ymax: float,
                       theme: Theme | None = None) -> ViTAttentionView:
    """Lay the four panels and the colour bar out in ``fig`` (made by :func:`~explainer.paint.new_figure`)."""
    theme = theme or get_theme()
    bottom, height = 0.12, 0.72
    scene = draw_picture(fig.add_axes((0.025, bottom, 0.2, height)), size, theme, box_label="CNN unit's field")
    scene.ax.legend(handles=[scene.square, scene.box, PathPatch(_EMPTY, fill=False, edgecolor="black",
                                                                label="target (largest)")],
                    labels=["query patch", "CNN unit's field", "target (largest)"], fontsize=theme.font_size - 4,
                    loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=2, frameon=False, handlelength=1.2,
                    columnspacing=0.6, handletextpad=0.3)
    attention = draw_picture(fig.add_axes((0.25, bottom, 0.2, height)), size, theme)
    rollout = draw_picture(fig.add_axes((0.475, bottom, 0.2, height)), size, theme)
    for view in (attention, rollout):
        view.box.set_visible(False)
    draw_colorbar(fig.add_axes((0.683, bottom, 0.01, height)), "weight / its max", vmin=0.0, vmax=1.0,
                  ticks=[0.0, 0.5, 1.0], tick_labels=["0", "½", "max"], theme=theme)
    distances = draw_distances(fig.add_axes((0.8, bottom + 0.05, 0.19, height - 0.05)), layers, heads, ymax, theme)
    return ViTAttentionView(scene, attention, rollout, distances)
