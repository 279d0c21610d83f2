"""Matrices drawn as pixels: colour-mapped, stretched in numpy and copied 1:1 onto the canvas.

matplotlib resamples an ``imshow`` image on every draw (several ms for a few hundred pixels, about
11 ms for the ten heatmaps of the self-attention explorer); copying an array of exactly the axes'
pixel size costs about 0.1 ms per heatmap, whatever the matrix size.
"""

from __future__ import annotations

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes

__all__ = ["PixelImage"]


class PixelImage(Artist):
    """An RGBA matrix stretched (nearest neighbour) over an axes' whole area.

    It is a child of the axes, so a full draw (``savefig``, GIF export) paints it too; its zorder
    (2.6) puts it above the axes' spines and ticks (2.5), where a blit paints it, so exported frames
    equal the live picture.

    Attributes:
        pixels: ``(h, w, 4)`` uint8 as Agg draws it: row 0 at the *bottom*.
        ox, oy: canvas position of the bottom-left corner, in pixels from the bottom-left.
    """

    def __init__(self, ax: Axes, zorder: float = 2.6) -> None:
        super().__init__()
        self.ax = ax
        self.pixels = np.zeros((1, 1, 4), np.uint8)
        self.ox = self.oy = 0
        self.set_zorder(zorder)
        ax.add_artist(self)

    def set(self, rgba: np.ndarray) -> None:
        """Show ``rgba (rows, cols, 4)`` uint8, row 0 at the top, over the axes' current box."""
        self.ax.apply_aspect()  # an equal-aspect axes shrinks at draw time: place the pixels where it will be
        x0, y0, width, height = (int(round(v)) for v in self.ax.bbox.bounds)
        rows, cols = rgba.shape[:2]
        bottom_up = (np.arange(height - 1, -1, -1) * rows) // height  # (height,) source row of each pixel row
        across = (np.arange(width) * cols) // width  # (width,)
        self.pixels = np.ascontiguousarray(rgba[bottom_up][:, across])  # (height, width, 4)
        self.ox, self.oy = x0, y0
        self.stale = True

    def draw(self, renderer) -> None:  # noqa: ANN001 - a matplotlib renderer
        if not self.get_visible():
            return
        gc = renderer.new_gc()
        try:
            renderer.draw_image(gc, self.ox, self.oy, self.pixels)
        finally:
            gc.restore()
        self.stale = False
