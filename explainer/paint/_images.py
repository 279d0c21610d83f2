"""Nearest-neighbour heatmaps drawn by a numpy lookup.

matplotlib colour-maps an ``imshow`` image's *resampled* array on every draw (one norm and colormap
per screen pixel, through a general affine resampler). For a nearest-neighbour image on unrotated
axes the result is simply, for every screen pixel, the colour of the data cell under its centre:
:class:`ImageDrawer` colour-maps the small data array once, picks those cells with a numpy index,
and keeps the pixels while the data (compared by value), colours, limits, alpha and place stay the
same. It then draws them as ``AxesImage.draw`` does (same graphics context, same ``draw_image``
call). For a plain linear norm and float data, the cells are colour-mapped by :func:`cell_colours`:
matplotlib's own arithmetic (the same operations, in the same dtypes, on the colormap's own table)
without its masked-array machinery, which costs about 50 µs per small image. Anything else (other
interpolations, rotated or non-affine transforms, clip paths, per-pixel alpha arrays, other
renderers) is left to ``AxesImage.draw``. The picture is
matplotlib's but where a cell border or the image's edge rounds one pixel the other way
(matplotlib resamples in Agg's fixed point and antialiases the edges); the tests hold every
explorer to that.

The lookup reproduces matplotlib 3.11's rounding of upsampled cells (in every explorer, the same
pixels). matplotlib 3.10 rounds many more borders the other way (0.7-9 % of an explorer's pixels),
so :data:`AVAILABLE` is false there and the painter leaves heatmaps to matplotlib.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import Normalize
from matplotlib.image import AxesImage
from matplotlib.transforms import Bbox

__all__ = ["AVAILABLE", "ImageDrawer"]

AVAILABLE = matplotlib.__version_info__[:2] >= (3, 11)


@dataclass
class _Kept:
    """What one image's pixels were made from, and the pixels."""

    colours: tuple  # everything but the data that decides the colours (limits, colormap, alpha)
    data: np.ndarray  # a copy of the array coloured, compared by value (it may be changed in place)
    rgba: np.ndarray  # (rows, cols, 4) uint8, the colour of each data cell
    place: tuple = ()  # the screen placement the lookup below was made for
    pixels: np.ndarray | None = None  # (h, w, 4) uint8, row 0 at the bottom


def cell_colours(image: AxesImage, data: np.ndarray) -> np.ndarray | None:
    """``image.to_rgba(data, bytes=True)`` for a plain ``Normalize`` (no clipping) and float data (an
    array, or a masked array as ``AxesImage.get_array`` returns it); None where matplotlib must do it.

    The steps are those of matplotlib 3.11's ``Normalize.__call__`` and ``Colormap.__call__``: the
    limits converted as ``Normalize.process_value`` converts them, the data shifted and scaled in
    place in its own dtype, scaled by ``N``, the value ``N`` itself kept in range, then the indices
    of the under, over and bad colours (bad: the masked cells if any is masked, else NaN), and a
    lookup in the colormap's table as bytes. tests/test_paint_images.py compares the two on random
    data, masks, limits and colormaps.
    """
    norm, cmap = image.norm, image.get_cmap()
    if (type(norm) is not Normalize or norm.clip or type(data) not in (np.ndarray, np.ma.MaskedArray)
            or data.dtype.kind != "f" or not data.dtype.isnative or norm.vmin is None or norm.vmax is None):
        return None
    vmin, vmax = _limit(norm.vmin), _limit(norm.vmax)
    if vmin > vmax:
        return None  # matplotlib raises its own error
    mask = np.ma.getmask(data)
    masked = mask is not np.ma.nomask and bool(mask.any())
    values = np.array(np.ma.getdata(data), copy=True)
    with np.errstate(over="ignore", invalid="ignore"):  # the same values as matplotlib's, without its warnings
        if vmin == vmax:
            values.fill(0)
        else:
            values -= vmin
            values /= (vmax - vmin)
        cmap._ensure_inited()
        count = cmap.N
        values *= count
        values[values == count] = count - 1
        under, over = values < 0, values >= count
        bad = mask if masked else np.isnan(values)
        index = values.astype(int)
    index[under] = cmap._i_under
    index[over] = cmap._i_over
    index[bad] = cmap._i_bad
    return (cmap._lut * 255).astype(np.uint8).take(index, axis=0, mode="clip")


def _limit(value: float) -> np.generic:
    """A norm limit as ``Normalize.process_value`` turns it into an array element."""
    dtype = np.min_scalar_type([value])
    if np.issubdtype(dtype, np.integer) or dtype.type is np.bool_:
        dtype = np.promote_types(dtype, np.float32)
    return np.asarray([value]).astype(dtype)[0]


def _same_data(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return (np.array_equal(np.ma.getdata(a), np.ma.getdata(b), equal_nan=a.dtype.kind in "fc")
            and np.array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b)))


class ImageDrawer:
    """Draws nearest-neighbour ``AxesImage`` artists for a painter (see the module docstring)."""

    def __init__(self) -> None:
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
        placed = self._place(image, transform, renderer, data.shape[:2])
        if placed is not None:
            kept = self._pixels(image, data, alpha, placed)
            gc = renderer.new_gc()  # as AxesImage.draw: the same graphics context and draw_image call
            gc.set_clip_rectangle(image.get_clip_box() if image.get_clip_on() else None)
            gc.set_clip_path(None)
            gc.set_alpha(1.0 if alpha is None else alpha)
            gc.set_url(image.get_url())
            gc.set_gid(image.get_gid())
            renderer.draw_image(gc, placed[0], placed[2], kept.pixels)
            gc.restore()
        image.stale = False
        return True

    @staticmethod
    def _place(image: AxesImage, transform, renderer: RendererAgg, shape: tuple[int, int]) -> tuple | None:  # noqa: ANN001
        """``(px0, px1, py0, py1, x0, x1, y0, y1, rows, cols)``: the screen pixels whose centres lie inside
        both the image and its clip box, and the screen corners of the first and last data cells;
        None when no pixel does."""
        rows, cols = shape
        left, right, bottom, top = image.get_extent()
        first_row_y, last_row_y = (top, bottom) if image.origin == "upper" else (bottom, top)
        (x0, y0), (x1, y1) = transform.transform([(left, first_row_y), (right, last_row_y)])
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
            rgba = cell_colours(image, data) if data.ndim == 2 else None
            if rgba is None:
                rgba = image.to_rgba(data, bytes=True)
            rgba = np.array(rgba, dtype=np.uint8, order="C")  # (rows, cols, 4); a copy: to_rgba may hand back the data
            if alpha is not None:  # matplotlib scales a greyscale image's alpha channel by a scalar alpha
                rgba[..., 3] = (rgba[..., 3].astype(np.float32) * alpha).astype(np.uint8)
            kept = self._kept[image] = _Kept(colours, data.copy(), rgba)
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
