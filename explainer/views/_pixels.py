"""Matrices drawn as pixels: colour-mapped, stretched in numpy and copied 1:1 onto the canvas.

matplotlib resamples an ``imshow`` image on every draw (several ms for a few hundred pixels, about
11 ms for the ten heatmaps of the self-attention explorer); copying an array of exactly the axes'
pixel size costs about 0.1 ms per heatmap, whatever the matrix size. :class:`PixelImage` fills a
whole axes; :func:`fast_imshow` keeps everything ``imshow`` offers (extent, origin, norm, alpha,
clipping) and only replaces the resampling, for nearest-neighbour images on unrotated axes.
"""

from __future__ import annotations

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.image import AxesImage
from matplotlib.transforms import IdentityTransform

__all__ = ["PixelImage", "NearestImage", "fast_imshow"]


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
        self._lookup_key: tuple[int, int, int, int] | None = None
        self._lookup: tuple[np.ndarray, np.ndarray] = (np.zeros((1, 1), np.intp), np.zeros((1, 1), np.intp))
        self.set_zorder(zorder)
        ax.add_artist(self)

    def set(self, rgba: np.ndarray) -> None:
        """Show ``rgba (rows, cols, 4)`` uint8, row 0 at the top, over the axes' current box."""
        self.ax.apply_aspect()  # an equal-aspect axes shrinks at draw time: place the pixels where it will be
        x0, y0, width, height = (int(round(v)) for v in self.ax.bbox.bounds)
        rows, cols = rgba.shape[:2]
        if self._lookup_key != (rows, cols, width, height):  # source row / column of every screen pixel
            bottom_up = (np.arange(height - 1, -1, -1) * rows) // height  # (height,)
            across = (np.arange(width) * cols) // width  # (width,)
            self._lookup = (bottom_up[:, None], across[None, :])
            self._lookup_key = (rows, cols, width, height)
        # One gather of whole pixels (as uint32) instead of two of bytes: about 5x faster.
        packed = np.ascontiguousarray(rgba, dtype=np.uint8).view(np.uint32).reshape(rows, cols)
        self.pixels = packed[self._lookup].view(np.uint8).reshape(height, width, 4)  # (height, width, 4)
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


class NearestImage(AxesImage):
    """An ``imshow`` image whose nearest-neighbour resampling is a numpy lookup.

    matplotlib colour-maps the *resampled* array (one norm + colormap per screen pixel) and runs a
    general affine resampler; this colour-maps the small data array once and picks, for every
    screen pixel, the data cell under its centre (about 0.2 ms for a 300x300 px image instead of
    1-3 ms). The pixels are kept while the data array (``set_data`` replaces it), colormap, norm
    and its limits, alpha and the image's place on the canvas stay the same, so an unchanged
    heatmap costs only its copy onto the canvas. Like matplotlib's own cache, it assumes the data
    array is replaced, not modified in place. Anything else (another interpolation, rotated or
    non-affine transforms, a magnifying renderer, per-pixel alpha arrays, unsampled output for
    vector backends) takes matplotlib's own path, so the picture is the same either way.
    """

    def make_image(self, renderer, magnification=1.0, unsampled=False):  # noqa: ANN001, ANN201 - matplotlib's API
        fast = (not unsampled and magnification == 1.0 and self._A is not None and self._A.size
                and self.get_interpolation() == "nearest" and np.ndim(self.get_alpha()) == 0)
        matrix = self.get_transform().get_matrix() if fast and self.get_transform().is_affine else None
        if matrix is None or abs(matrix[0, 1]) > 1e-12 or abs(matrix[1, 0]) > 1e-12:
            return super().make_image(renderer, magnification, unsampled)
        rows, cols = self._A.shape[:2]
        left, right, bottom, top = self.get_extent()
        first_row_y, last_row_y = (top, bottom) if self.origin == "upper" else (bottom, top)
        (x0, y0), (x1, y1) = self.get_transform().transform([(left, first_row_y), (right, last_row_y)])
        clip = (self.get_clip_box() or self.axes.bbox) if self.get_clip_on() else self.get_figure(root=True).bbox
        # Screen pixels whose centres lie inside both the image and the clip box.
        lo_x, hi_x = max(min(x0, x1), clip.x0), min(max(x0, x1), clip.x1)
        lo_y, hi_y = max(min(y0, y1), clip.y0), min(max(y0, y1), clip.y1)
        px0, px1 = int(np.ceil(lo_x - 0.5)), int(np.floor(hi_x - 0.5)) + 1
        py0, py1 = int(np.ceil(lo_y - 0.5)), int(np.floor(hi_y - 0.5)) + 1
        if px1 <= px0 or py1 <= py0:
            return None, 0, 0, None
        norm = self.norm
        key = (px0, px1, py0, py1, x0, x1, y0, y1, self.get_alpha(), norm.vmin, norm.vmax)
        held = (self._A, self.cmap, norm)  # compared by identity; kept alive, so no id is ever reused
        cached = getattr(self, "_nearest", None)
        if cached is not None and cached[0] == key and all(a is b for a, b in zip(cached[1], held)):
            return cached[2], px0, py0, IdentityTransform()  # same data, colours and place: same pixels
        col = ((np.arange(px0, px1) + 0.5 - x0) * (cols / (x1 - x0))).astype(np.intp).clip(0, cols - 1)
        row = ((np.arange(py0, py1) + 0.5 - y0) * (rows / (y1 - y0))).astype(np.intp).clip(0, rows - 1)
        rgba = np.array(self.to_rgba(self._A, bytes=True), dtype=np.uint8, order="C")  # (rows, cols, 4), a copy
        if self.get_alpha() is not None:  # matplotlib scales the alpha channel by a scalar alpha, as here
            rgba[..., 3] = (rgba[..., 3].astype(np.float32) * self.get_alpha()).astype(np.uint8)
        # Row 0 of the result is the bottom screen row, as Agg's draw_image expects.
        picked = rgba.view(np.uint32).reshape(rows, cols)[row[:, None], col[None, :]]
        pixels = picked.view(np.uint8).reshape(len(row), len(col), 4)
        self._nearest = (key, held, pixels)
        return pixels, px0, py0, IdentityTransform()


def fast_imshow(ax: Axes, data, **kwargs) -> NearestImage:  # noqa: ANN001 - whatever imshow takes
    """``ax.imshow(data, interpolation="nearest", **kwargs)``, drawn by :class:`NearestImage`.

    Limits, aspect and extent are set by ``imshow`` itself; only the artist's class changes.
    """
    image = ax.imshow(data, **{"interpolation": "nearest", **kwargs})
    image.__class__ = NearestImage  # same state, faster make_image
    return image
