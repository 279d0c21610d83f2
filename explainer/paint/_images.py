"""Nearest-neighbour heatmaps drawn by a numpy lookup, and opaque pixels copied into the canvas.

matplotlib colour-maps an ``imshow`` image's *resampled* array on every draw (one norm and colormap
per screen pixel, through a general affine resampler). For a nearest-neighbour image on unrotated
axes the result is simply, for every screen pixel, the colour of the data cell under its centre:
:class:`ImageDrawer` colour-maps the small data array once, picks those cells with a numpy index,
and keeps the pixels while the data (compared by value), colours, limits, alpha and place stay the
same. It then draws them as ``AxesImage.draw`` does (same graphics context, same ``draw_image``
call), or, when every pixel is opaque, copies them straight into the Agg canvas
(:func:`blit_opaque`: over an opaque source Agg's blend is a copy). Anything else (other
interpolations, rotated or non-affine transforms, clip paths, per-pixel alpha arrays, other
renderers) is left to ``AxesImage.draw``, so the picture is the same either way; the tests hold
the two pixel-equal.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import Normalize
from matplotlib.image import AxesImage
from matplotlib.transforms import Bbox

__all__ = ["ImageDrawer", "blit_opaque"]


def blit_opaque(renderer: RendererAgg, pixels: np.ndarray, x: int, y: int, clip: Bbox | None = None) -> None:
    """Copy fully opaque ``pixels`` onto an Agg canvas, exactly as Agg's ``draw_image`` would.

    The placement and the clip rectangle follow Agg's own rounding (``RendererAgg::draw_image`` and
    ``set_clipbox``: the clip box is rounded to whole pixels and its edges are inclusive).

    Args:
        renderer: the Agg renderer drawing.
        pixels: ``(h, w, 4)`` uint8 RGBA with every alpha 255, row 0 at the *bottom* (as
            ``draw_image`` takes it).
        x, y: canvas position of the bottom-left corner, in pixels from the bottom-left.
        clip: the clip rectangle in display coordinates, or None for the whole canvas.
    """
    canvas = np.asarray(renderer.buffer_rgba())  # (H, W, 4), row 0 at the top, writable
    height, width = canvas.shape[:2]
    rows, cols = pixels.shape[:2]
    top, left = int(height - (y + rows)), int(x)  # the image's first row, counted from the top
    col0, col1, row0, row1 = 0, width - 1, 0, height - 1  # inclusive, like Agg's clip box
    if clip is not None and (clip.x0, clip.y0, clip.x1, clip.y1) != (0, 0, 0, 0):
        # Agg's set_clipbox: each edge rounded, the first two raised to 0 and the last two capped at
        # the canvas size *before* the box is normalised, then clipped to the canvas.
        a, b = max(math.floor(clip.x0 + 0.5), 0), max(math.floor(height - clip.y0 + 0.5), 0)
        c, d = min(math.floor(clip.x1 + 0.5), width), min(math.floor(height - clip.y1 + 0.5), height)
        col0, col1 = max(col0, min(a, c)), min(col1, max(a, c))
        row0, row1 = max(row0, min(b, d)), min(row1, max(b, d))
    c0, c1 = max(left, col0), min(left + cols - 1, col1)
    r0, r1 = max(top, row0), min(top + rows - 1, row1)
    if c0 > c1 or r0 > r1:
        return  # nothing of it inside the clip
    flipped = pixels[::-1]  # row 0 at the top, as the canvas
    canvas[r0:r1 + 1, c0:c1 + 1] = flipped[r0 - top:r1 - top + 1, c0 - left:c1 - left + 1]


@dataclass
class _Kept:
    """What one image's pixels were made from, and the pixels."""

    colours: tuple  # everything but the data that decides the colours (limits, colormap, alpha)
    data: np.ndarray  # a copy of the array coloured, compared by value (it may be changed in place)
    rgba: np.ndarray  # (rows, cols, 4) uint8, the colour of each data cell
    opaque: bool
    place: tuple = ()  # the screen placement the lookup below was made for
    pixels: np.ndarray | None = None  # (h, w, 4) uint8, row 0 at the bottom


def _same_data(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return (np.array_equal(np.ma.getdata(a), np.ma.getdata(b), equal_nan=a.dtype.kind in "fc")
            and np.array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b)))


class ImageDrawer:
    """Draws nearest-neighbour ``AxesImage`` artists for a painter (see the module docstring).

    Args:
        opaque: copy fully opaque pixels straight into the canvas (the ``opaque`` fast path).
    """

    def __init__(self, opaque: bool = True) -> None:
        self.opaque = opaque
        self._kept: weakref.WeakKeyDictionary[AxesImage, _Kept] = weakref.WeakKeyDictionary()

    def draw(self, image: AxesImage, renderer: RendererAgg) -> bool:
        """Draw ``image`` as ``image.draw(renderer)`` would; False (nothing drawn) where that must do it."""
        data = image.get_array()
        alpha = image.get_alpha()
        if (not isinstance(renderer, RendererAgg) or renderer.get_image_magnification() != 1.0
                or not image.get_visible() or data is None or data.size == 0 or data.ndim not in (2, 3)
                or image.get_interpolation() != "nearest" or np.ndim(alpha) != 0
                or (alpha is not None and (data.ndim == 3 or np.ma.is_masked(data)))
                or (image.get_clip_on() and image.get_clip_path() is not None)):
            return False
        transform = image.get_transform()
        if not transform.is_affine:
            return False
        matrix = transform.get_matrix()
        if abs(matrix[0, 1]) > 1e-12 or abs(matrix[1, 0]) > 1e-12:  # rotated or sheared
            return False
        placed = self._place(image, renderer, data.shape[:2])
        if placed is not None:
            kept = self._pixels(image, data, alpha, placed)
            px0, py0 = placed[0], placed[2]
            clip = image.get_clip_box() if image.get_clip_on() else None
            if kept.opaque and self.opaque:
                blit_opaque(renderer, kept.pixels, px0, py0, clip)
            else:  # as AxesImage.draw: the same graphics context and draw_image call
                gc = renderer.new_gc()
                gc.set_clip_rectangle(clip)
                gc.set_clip_path(None)
                gc.set_alpha(1.0 if alpha is None else alpha)
                gc.set_url(image.get_url())
                gc.set_gid(image.get_gid())
                renderer.draw_image(gc, px0, py0, kept.pixels)
                gc.restore()
        image.stale = False
        return True

    @staticmethod
    def _place(image: AxesImage, renderer: RendererAgg, shape: tuple[int, int]) -> tuple | None:
        """``(px0, px1, py0, py1, x0, x1, y0, y1, rows, cols)``: the screen pixels whose centres lie inside
        both the image and its clip box, and the screen corners of the first and last data cells;
        None when no pixel does."""
        rows, cols = shape
        left, right, bottom, top = image.get_extent()
        first_row_y, last_row_y = (top, bottom) if image.origin == "upper" else (bottom, top)
        (x0, y0), (x1, y1) = image.get_transform().transform([(left, first_row_y), (right, last_row_y)])
        if image.get_clip_on():
            clip = image.get_clip_box() or image.axes.bbox
        else:
            clip = Bbox.from_bounds(0, 0, renderer.width, renderer.height)
        lo_x, hi_x = max(min(x0, x1), clip.x0), min(max(x0, x1), clip.x1)
        lo_y, hi_y = max(min(y0, y1), clip.y0), min(max(y0, y1), clip.y1)
        px0, px1 = int(np.ceil(lo_x - 0.5)), int(np.floor(hi_x - 0.5)) + 1
        py0, py1 = int(np.ceil(lo_y - 0.5)), int(np.floor(hi_y - 0.5)) + 1
        if px1 <= px0 or py1 <= py0:
            return None
        return px0, px1, py0, py1, x0, x1, y0, y1, rows, cols

    def _pixels(self, image: AxesImage, data: np.ndarray, alpha: float | None, place: tuple) -> _Kept:
        """The image's screen pixels for ``place``, recoloured only when what decides the colours changed."""
        norm, cmap = image.norm, image.get_cmap()
        if data.ndim == 2:
            norm.autoscale_None(data)  # as the stock draw does before colour-mapping
        plain = type(norm) is Normalize  # other norms may hold more state than their limits
        colours = (alpha, cmap, cmap.get_bad().tobytes(), cmap.get_under().tobytes(), cmap.get_over().tobytes(),
                   norm, norm.vmin, norm.vmax, norm.clip) if plain else None
        kept = self._kept.get(image)
        if kept is None or colours is None or kept.colours != colours or not _same_data(kept.data, data):
            rgba = np.array(image.to_rgba(data, bytes=True), dtype=np.uint8, order="C")  # (rows, cols, 4)
            if alpha is not None:  # matplotlib scales a greyscale image's alpha channel by a scalar alpha
                rgba[..., 3] = (rgba[..., 3].astype(np.float32) * alpha).astype(np.uint8)
            kept = self._kept[image] = _Kept(colours, data.copy(), rgba, bool((rgba[..., 3] == 0xFF).all()))
        if kept.place != place:  # the data cell under each screen pixel's centre
            px0, px1, py0, py1, x0, x1, y0, y1, rows, cols = place
            col = ((np.arange(px0, px1) + 0.5 - x0) * (cols / (x1 - x0))).astype(np.intp).clip(0, cols - 1)
            row = ((np.arange(py0, py1) + 0.5 - y0) * (rows / (y1 - y0))).astype(np.intp).clip(0, rows - 1)
            # Whole pixels (as uint32) gathered columns first, then rows: several times faster than
            # gathering bytes or one broadcast fancy index. Row 0 is the bottom screen row.
            picked = kept.rgba.view(np.uint32).reshape(rows, cols)[:, col][row]
            kept.pixels = picked.view(np.uint8).reshape(len(row), len(col), 4)
            kept.place = place
        return kept
