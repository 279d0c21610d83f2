"""Shapes drawn as matplotlib draws them, with less work per draw.

An explorer redraws its markers (the query box, a kernel footprint, a selected unit) on every
move. matplotlib's ``Rectangle.draw`` rebuilds its patch transform each time (a bbox transform
and a five-step affine chain, half of its 0.07 ms); :class:`FastRectangle` multiplies the same
matrices itself, so Agg receives the very same path, transform and graphics context.

Collections (grid lines, bars, taps) pay the same way: ``Collection.draw`` freezes its transform
tree twice and asks Agg once with no paths (to learn whether it takes hatch colours) before the
real call. :class:`FastPolyCollection` and :class:`FastLineCollection` make the one real call with
the same arguments; the :class:`~explainer.render.Painter` gives its animated collections these
classes.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from matplotlib import artist as martist
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import Collection, LineCollection, PolyCollection
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

__all__ = ["FastRectangle", "FastPolyCollection", "FastLineCollection", "FAST_COLLECTIONS"]

# matplotlib's own graphics-context set-up for patches (private, present in 3.x); without it, Rectangle.draw.
_PRIVATE_DRAW = hasattr(Rectangle, "_draw_paths_with_artist_properties")


class FastRectangle(Rectangle):
    """A ``Rectangle`` whose draw composes its transform directly (the same pixels, about half the time).

    For an unrotated rectangle with plain numbers for its corner and size, matplotlib's patch
    transform is ``BboxTransformTo(bbox)`` followed by a chain (translate, scale, rotate by 0,
    scale, translate back) that is exactly the identity; the result is composed with the data
    transform as ``data @ patch``. This draw builds ``patch`` from the bbox alone and takes the
    same product, so the matrix handed to the renderer is bit for bit matplotlib's. Anything else
    (rotation, unit-converted coordinates, a non-affine data transform) takes ``Rectangle.draw``.
    """

    @martist.allow_rasterization
    def draw(self, renderer) -> None:  # noqa: ANN001 - a matplotlib renderer
        if not self.get_visible():
            return
        data = self.get_data_transform()
        values = (self._x0, self._y0, self._width, self._height)
        if (self.angle or getattr(self, "_aspect_ratio_correction", 1) != 1 or not data.is_affine
                or not all(isinstance(v, Real) for v in values) or not _PRIVATE_DRAW):
            Rectangle.draw(self, renderer)
            return
        x0, y0, width, height = (float(v) for v in values)
        # get_bbox(): Bbox.from_extents(x0, y0, x0 + width, y0 + height); its bounds give the size back.
        patch = np.array([[(x0 + width) - x0, 0.0, x0], [0.0, (y0 + height) - y0, y0], [0.0, 0.0, 1.0]])
        affine = Affine2D(np.dot(data.get_affine().get_matrix(), patch))
        self._draw_paths_with_artist_properties(
            renderer, [(Path.unit_rectangle(), affine, self._facecolor if self._facecolor[3] else None)])


# The private attributes and helpers Collection.draw reads (matplotlib 3.x), looked for once on a
# throwaway collection (Collection.__init__ sets them on every instance); without them, Collection.draw.
_COLLECTION_STATE = ("_hatch", "_gapcolor", "_linewidths", "_linestyles", "_antialiaseds", "_urls", "_joinstyle",
                     "_capstyle", "_set_gc_clip")
_PRIVATE_COLLECTION_DRAW = all(hasattr(PolyCollection([]), name) for name in _COLLECTION_STATE)
_AGG_HATCHCOLORS: list[bool] = []  # [whether RendererAgg.draw_path_collection takes hatchcolors], once known


class _FastCollectionDraw:
    """``Collection.draw`` for the plain case, with one call to Agg's ``draw_path_collection``.

    The plain case: an Agg renderer, affine data and offset transforms, no units, hatch, sketch,
    path effects or gap colour, and not exactly one path (matplotlib draws a single path as
    markers). The graphics context, the frozen transform (its matrix is the same product, see
    :class:`FastRectangle`) and the per-path properties are what ``Collection.draw`` passes;
    everything else takes ``Collection.draw`` itself.
    """

    @martist.allow_rasterization
    def draw(self, renderer) -> None:  # noqa: ANN001 - a matplotlib renderer
        if not self.get_visible():
            return
        slow = super().draw  # the class's own matplotlib draw
        paths = self.get_paths()
        transform, offset_trf = self.get_transform(), self.get_offset_transform()
        if (not _PRIVATE_COLLECTION_DRAW or len(paths) == 1 or not isinstance(renderer, RendererAgg)
                or not _agg_takes_hatchcolors(renderer) or self._hatch or self._gapcolor is not None or self.get_sketch_params() is not None
                or self.get_path_effects() or self.have_units() or not transform.is_affine
                or not offset_trf.is_affine):
            slow(renderer)
            return
        offsets = self.get_offsets()
        if len(offsets) == 0 or not paths:  # matplotlib bails out, or draws no path: nothing on the canvas
            self.stale = False
            return
        if hasattr(self, "set_sizes") and hasattr(self, "_sizes"):  # as _CollectionWithSizes.draw does
            self.set_sizes(self._sizes, self.get_figure(root=True).dpi)
        self.update_scalarmappable()
        if isinstance(offsets, np.ma.MaskedArray):
            offsets = offsets.filled(np.nan)
        gc = renderer.new_gc()
        try:
            self._set_gc_clip(gc)
            gc.set_snap(self.get_snap())
            if self._joinstyle:
                gc.set_joinstyle(self._joinstyle)
            if self._capstyle:
                gc.set_capstyle(self._capstyle)
            renderer.draw_path_collection(
                gc, Affine2D(transform.get_affine().get_matrix()), paths, self.get_transforms(), offsets,
                offset_trf, self.get_facecolor(), self.get_edgecolor(), self._linewidths, self._linestyles,
                self._antialiaseds, self._urls, "screen", hatchcolors=self.get_hatchcolor())
        finally:
            gc.restore()
        self.stale = False


def _agg_takes_hatchcolors(renderer: RendererAgg) -> bool:
    """Whether Agg's ``draw_path_collection`` takes ``hatchcolors`` (matplotlib >= 3.10), asked once."""
    if not _AGG_HATCHCOLORS:
        gc = renderer.new_gc()
        try:  # no paths: nothing is drawn (matplotlib's own probe)
            renderer.draw_path_collection(gc, Affine2D(), [], np.empty((0, 3, 3)), np.zeros((1, 2)), Affine2D(),
                                          np.empty((0, 4)), np.empty((0, 4)), [1.0], [(0, None)], [True],
                                          [None], "screen", hatchcolors=np.empty((0, 4)))
            _AGG_HATCHCOLORS.append(True)
        except TypeError:  # pragma: no cover - older matplotlib
            _AGG_HATCHCOLORS.append(False)
        finally:
            gc.restore()
    return _AGG_HATCHCOLORS[0]


class FastPolyCollection(_FastCollectionDraw, PolyCollection):
    """A ``PolyCollection`` drawn with less Python work (the same pixels: see :class:`_FastCollectionDraw`)."""


class FastLineCollection(_FastCollectionDraw, LineCollection):
    """A ``LineCollection`` drawn with less Python work (the same pixels: see :class:`_FastCollectionDraw`)."""


# Plain matplotlib classes and their faster twins (same state, same pixels).
FAST_COLLECTIONS: dict[type[Collection], type[Collection]] = {PolyCollection: FastPolyCollection,
                                                              LineCollection: FastLineCollection}
