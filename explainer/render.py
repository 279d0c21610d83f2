"""The paint layer: draw a figure's static parts once, then blit only what changed into PNG bytes.

Why (measured, see ../shared/ARCHITECTURE.md): tick labels and text layout are two thirds of a full
Agg draw, so a slider move must never rebuild the figure or redraw its axes. A :class:`Painter`
keeps a copy of the rendered background (everything not marked animated) and, per frame, restores
it, draws the animated artists on top and encodes the canvas as a PNG with a fast deflate (ISA-L).
Nothing here touches pyplot, so no figure is ever left open.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from explainer.theme import Theme, get_theme
from explainer.views._shapes import FAST_COLLECTIONS

__all__ = ["new_figure", "Painter", "TextCachingRenderer", "LayoutCachingText"]


try:  # ISA-L's deflate: about 10x faster than zlib at level 1, for the same output format and size
    from isal.isal_zlib import compress as _isal_compress
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _isal_compress = None


def _deflate(data: memoryview, level: int) -> bytes:
    """zlib-format deflate of ``data``: ISA-L when installed (levels 0-3), else the standard library."""
    if _isal_compress is not None:
        return _isal_compress(data, min(level, 3))
    return zlib.compress(data, level)


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC of type + data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


_TEXT_PAD = 4  # pixels around a text's measured box, for overhanging glyphs
_TEXT_CACHE_SIZE = 1024
_GLYPH_CACHE_SIZE = 8192
# matplotlib >= 3.11 draws text glyph by glyph (RendererAgg._draw_text_glyphs_and_boxes); where that
# private path exists, the renderer below also keeps each rendered glyph. Elsewhere it is not used.
_GLYPH_PATH = hasattr(RendererAgg, "_draw_text_glyphs_and_boxes")
_GLYPHS: OrderedDict[tuple, tuple[np.ndarray, int, int]] = OrderedDict()  # shared by every renderer


def _text_metrics(renderer: RendererAgg, s: str, prop, ismath) -> tuple[float, float, float]:  # noqa: ANN001
    """Width, height and descent of ``s``, from matplotlib's metrics cache when it has one.

    ``Text`` has just measured the same string with the same renderer, so this is usually a hit
    (FreeType's layout of a short label costs about 0.4 ms).
    """
    try:
        from matplotlib.text import _get_text_metrics_with_cache
    except ImportError:  # pragma: no cover - older or newer matplotlib
        return renderer.get_text_width_height_descent(s, prop, ismath)
    return _get_text_metrics_with_cache(renderer, s, prop, ismath, renderer.dpi)


class _GlyphCachingRenderer(RendererAgg):
    """An Agg renderer that keeps every glyph bitmap FreeType renders for it (see the method)."""

    def _draw_text_glyphs_and_boxes(self, gc, x, y, angle, glyphs, boxes):  # noqa: ANN001, ANN201
        """Agg's glyph loop with each glyph's bitmap kept: FreeType renders a glyph once per size,
        sub-pixel offset (1/64 px, FreeType's own precision) and antialiasing, not once per draw.

        A glyph shifted by whole pixels is the same bitmap shifted, so the key holds only the
        fractional part of its position. Rotated, slanted or stretched glyphs take Agg's path.
        """
        glyphs = list(glyphs)
        if angle or any(slant != 0 or extend != 1 for _, _, _, slant, extend, _, _ in glyphs):
            return super()._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, boxes)
        from matplotlib.backends.backend_agg import get_hinting_flag
        from matplotlib.ft2font import RenderMode

        flags, antialiased = get_hinting_flag(), gc.get_antialiased()
        for font, size, glyph_index, _, _, dx, dy in glyphs:  # dy is upwards, as in Agg's own loop
            px, py = round(0x40 * (x + dx)), round(0x40 * (self.height - y + dy))  # 26.6 fixed point
            key = (font.fname, size, self.dpi, glyph_index, px & 63, py & 63, antialiased, flags)
            hit = _GLYPHS.get(key)
            if hit is None:
                font.set_size(size, self.dpi)
                font._set_transform([[0x10000, 0], [0, 0x10000]], [px & 63, py & 63])
                bitmap = font._render_glyph(glyph_index, flags,
                                            RenderMode.NORMAL if antialiased else RenderMode.MONO)
                buffer = np.array(bitmap.buffer, dtype=np.uint8)  # a copy: FreeType reuses its own
                if not antialiased:
                    buffer *= 0xFF
                hit = _GLYPHS[key] = (buffer, bitmap.left, bitmap.top)
                if len(_GLYPHS) > _GLYPH_CACHE_SIZE:
                    _GLYPHS.popitem(last=False)
            buffer, left, top = hit
            left, top = left + (px >> 6), top + (py >> 6)
            self._renderer.draw_text_image(buffer, left, int(self.height) - top + buffer.shape[0], 0, gc)
        if boxes:  # mathtext's rules and fraction bars
            super()._draw_text_glyphs_and_boxes(gc, x, y, angle, [], boxes)
        return None


class TextCachingRenderer(_GlyphCachingRenderer):
    """An Agg renderer that rasterises each distinct horizontal text once and then copies the pixels.

    matplotlib renders every glyph with FreeType on every draw (0.8-2.4 ms for a two-line label,
    more for a mathtext string it has not parsed recently); explorers redraw the same labels as a
    slider moves back and forth. A text is drawn once into a transparent scratch canvas, kept
    (least recently used first out, 1024 texts) under everything that decides its pixels (string,
    font, size, colour, alpha, antialiasing, dpi and the sub-pixel part of its position), and
    alpha-blended onto the canvas: exactly what Agg does when it draws the glyphs in place. Rotated
    texts are drawn the usual way.
    """

    def __init__(self, width: int, height: int, dpi: float) -> None:
        super().__init__(width, height, dpi)
        self._texts: OrderedDict[tuple, tuple[np.ndarray, int, int]] = OrderedDict()

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):  # noqa: ANN001, ANN201
        if angle or ismath == "TeX" or not s:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        ix, iy = math.floor(x), math.floor(y)
        key = (s, hash(prop), bool(ismath), gc.get_antialiased(), tuple(gc.get_rgb()), gc.get_alpha(),
               gc.get_forced_alpha(), round((x - ix) * 64), round((y - iy) * 64), self.dpi)
        entry = self._texts.get(key)
        if entry is None:
            entry = self._rasterise(gc, x - ix, y - iy, s, prop, ismath, mtext)
            self._texts[key] = entry
            if len(self._texts) > _TEXT_CACHE_SIZE:
                self._texts.popitem(last=False)
        else:
            self._texts.move_to_end(key)
        pixels, left, top = entry
        if pixels is not None:  # y runs down the canvas here; draw_image wants the bottom-left corner, y up
            self.draw_image(gc, ix + left, self.height - (iy + top + pixels.shape[0]), pixels)

    def _rasterise(self, gc, fx: float, fy: float, s: str, prop, ismath, mtext) -> tuple:  # noqa: ANN001
        width, height, descent = _text_metrics(self, s, prop, ismath)
        pad = _TEXT_PAD + int(prop.get_size_in_points() * self.dpi / 72 / 2)
        cols, rows = int(math.ceil(width)) + 2 * pad, int(math.ceil(height)) + 2 * pad
        scratch = _GlyphCachingRenderer(cols, rows, self.dpi)  # transparent
        # Baseline-left at (pad + fx, pad + ascent + fy) in the scratch's downward y.
        top = -(pad + int(math.ceil(height - descent)))
        scratch.draw_text(gc, pad + fx, -top + fy, s, prop, 0, ismath, mtext)
        rgba = np.asarray(scratch.buffer_rgba())  # (rows, cols, 4), row 0 at the top
        if not rgba[..., 3].any():
            return None, 0, 0
        return np.ascontiguousarray(rgba[::-1]), -pad, top  # draw_image's row 0 is the bottom


_LAYOUT_CACHE_SIZE = 4096
_LAYOUTS: OrderedDict[tuple, tuple] = OrderedDict()  # shared by every LayoutCachingText


class LayoutCachingText(Text):
    """A ``Text`` that lays out each distinct string and style once.

    ``Text.draw`` lays its text out on every draw (font tables, line metrics, alignment and
    rotation: about 0.065 ms for a one-line label, six of them in the SE explorer) before a single
    pixel is drawn. The layout is relative to the text's anchor, so it depends only on what is
    keyed here: the string, the font properties, dpi, line spacing, math parsing, rotation and its
    mode, the alignments and the renderer's class. Wrapped and TeX texts are laid out as usual (a
    wrapped layout depends on the text's place in the figure). The :class:`Painter` gives its
    animated texts this class.
    """

    def _get_layout(self, renderer):  # noqa: ANN001, ANN202 - matplotlib's private API
        if self._wrap or self.get_usetex():
            return super()._get_layout(renderer)
        key = (self._text, hash(self._fontproperties), self.get_figure(root=True).dpi, self._linespacing,
               self._parse_math, self.get_rotation(), self._rotation_mode, self._horizontalalignment,
               self._verticalalignment, self._multialignment, type(renderer))
        hit = _LAYOUTS.get(key)
        if hit is None:
            hit = _LAYOUTS[key] = super()._get_layout(renderer)
            if len(_LAYOUTS) > _LAYOUT_CACHE_SIZE:
                _LAYOUTS.popitem(last=False)
        else:
            _LAYOUTS.move_to_end(key)
        bbox, lines, corner = hit
        return bbox.frozen(), lines, corner  # callers may move the box: a copy


# Plain matplotlib classes and the twins Painter.animate gives them (same state, same pixels, less work).
_FAST_TWINS: dict[type, type] = {Text: LayoutCachingText, **FAST_COLLECTIONS}


class _Canvas(FigureCanvasAgg):
    """An Agg canvas whose renderer caches text rasters (see :class:`TextCachingRenderer`)."""

    def get_renderer(self):  # noqa: ANN201 - matplotlib's API
        width, height = self.get_width_height(physical=True)
        key = width, height, self.figure.dpi
        if getattr(self, "_lastKey", None) != key:
            self.renderer = TextCachingRenderer(width, height, self.figure.dpi)
            self._lastKey = key
        return self.renderer


def new_figure(width: float, height: float, dpi: int | None = None, theme: Theme | None = None) -> Figure:
    """Return a pyplot-free figure with an Agg canvas.

    Args:
        width: width in inches.
        height: height in inches.
        dpi: dots per inch; ``theme.dpi`` when None.
        theme: background, dpi and ``figure_scale`` (which multiplies width and height); the global
            theme (:func:`~explainer.theme.get_theme`) when None.
    """
    theme = theme or get_theme()
    size = (width * theme.figure_scale, height * theme.figure_scale)
    fig = Figure(figsize=size, dpi=dpi or theme.dpi, facecolor=theme.background)
    _Canvas(fig)
    return fig


class Painter:
    """Blit animated artists over a cached background and return PNG frames.

    Animated artists are painted above every static artist, whatever their zorder, so views keep
    static frames and spines off the areas their animated artists cover.

    Animated artists marked *steady* (``animate(..., steady=True)``: a heatmap that only some
    controls change, the cells of a grid while a marker moves over it) are drawn over the
    background into a second kept canvas, which a frame restores instead of the background while
    none of them changed, that is, while none is ``stale`` (matplotlib marks an artist stale in
    every setter that changes how it looks). Steady artists lie below the other animated ones.

    Example:
        >>> fig = new_figure(2, 2)
        >>> ax = fig.add_subplot()
        >>> (line,) = ax.plot([0, 1], [0, 1])
        >>> painter = Painter(fig)
        >>> painter.animate(line)
        >>> png = painter.frame()
        >>> png[:4] == b"\\x89PNG"
        True
    """

    def __init__(self, fig: Figure, compress_level: int = 1) -> None:
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        self.fig = fig
        self.canvas: FigureCanvasAgg = fig.canvas
        self.compress_level = compress_level
        self._animated: list[Artist] = []
        self._steady: list[Artist] = []  # animated, drawn into _steady_canvas (see the class docstring)
        self._background = None
        self._steady_canvas = None  # background + steady artists, while none of them is stale
        self._rows: np.ndarray | None = None  # reused PNG scanline buffer

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the PNG frames in pixels."""
        width, height = self.canvas.get_width_height()
        return int(width), int(height)

    def animate(self, *artists: Artist | Iterable[Artist], steady: bool = False) -> None:
        """Mark artists as redrawn on every frame; everything else is static background.

        With ``steady``, the artists are redrawn only on frames where one of them is stale (see the
        class docstring); they lie below the artists animated without it.

        Plain ``Text`` artists become :class:`LayoutCachingText` (the same pixels, laid out once per
        string and style), and plain ``PolyCollection`` / ``LineCollection`` artists their fast twins
        (:data:`~explainer.views._shapes.FAST_COLLECTIONS`: the same pixels, one Agg call), since they
        are now drawn on every frame.
        """
        for item in artists:
            group = [item] if isinstance(item, Artist) else list(item)
            for artist in group:
                if type(artist) in _FAST_TWINS:  # exactly the plain class: subclasses keep their own draw
                    artist.__class__ = _FAST_TWINS[type(artist)]
                artist.set_animated(True)
                into, out_of = (self._steady, self._animated) if steady else (self._animated, self._steady)
                if artist in out_of:  # marked again, the other way
                    out_of.remove(artist)
                if artist not in into:
                    into.append(artist)
        self.invalidate()

    def invalidate(self) -> None:
        """Redraw the static background on the next frame (after changing limits, ticks, static text)."""
        self._background = None
        self._steady_canvas = None

    def frame(self) -> bytes:
        """Return the current picture as PNG bytes."""
        self.render()
        return self.encode()

    def render(self) -> None:
        """Bring the canvas up to date: restore (or redraw) the background, then draw animated artists."""
        fresh = self._background is None
        if fresh:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        if self._steady and self._steady_canvas is not None and not any(a.stale for a in self._steady):
            self.canvas.restore_region(self._steady_canvas)
        else:
            if not fresh:
                self.canvas.restore_region(self._background)
            if self._steady:
                self._draw(self._steady)
                for artist in self._steady:  # drawn, or hidden: either way as the kept canvas shows it
                    artist.stale = False
                self._steady_canvas = self.canvas.copy_from_bbox(self.fig.bbox)
        self._draw(self._animated)

    def _draw(self, artists: list[Artist]) -> None:
        """Draw ``artists`` in zorder onto the canvas as it stands."""
        renderer = self.canvas.get_renderer()  # once per frame (Figure.draw_artist asks per artist)
        for artist in sorted(artists, key=lambda a: a.get_zorder()):
            if artist.get_visible() and artist.figure is not None:
                artist.draw(renderer)

    def encode(self) -> bytes:
        """Encode the canvas as an RGBA PNG: filter type 0 rows, deflated by ISA-L when available.

        Measured per 800x460 frame: the canvas rows copied as they are (RGBA, one filter byte
        per row) and deflated with ISA-L (``isal``) at level 1 take 0.25-0.5 ms, where dropping
        the alpha channel (a strided copy) and zlib took 2.4-5 ms, for the same number of bytes.
        Pillow's adaptive row filters cost more again (5.9 ms) and save little on flat diagrams.
        Without ``isal`` the standard library's zlib produces the same PNG format, slower.
        """
        width, height = self.size
        rgba = np.asarray(self.canvas.buffer_rgba())  # (H, W, 4) uint8, a view of the canvas
        if self._rows is None or self._rows.shape != (height, 1 + 4 * width):
            self._rows = np.zeros((height, 1 + 4 * width), np.uint8)  # column 0: filter type "None"
        self._rows[:, 1:] = rgba.reshape(height, 4 * width)
        header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
        data = _deflate(self._rows.data, self.compress_level)
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")

    def pixel_to_data(self, ax: Axes, px: float, py: float) -> tuple[float, float] | None:
        """Map PNG pixel coordinates (origin top-left) to ``ax``'s data coordinates.

        Returns None when the point lies outside ``ax``. ipyevents reports clicks on an
        ``ipywidgets.Image`` as ``dataX``/``dataY`` in exactly these PNG pixel coordinates.
        """
        _, height = self.size
        display = (float(px), float(height) - float(py))
        if not ax.bbox.contains(*display):
            return None
        x, y = ax.transData.inverted().transform(display)
        return float(x), float(y)

    def data_to_pixel(self, ax: Axes, x: float, y: float) -> tuple[float, float]:
        """Inverse of :meth:`pixel_to_data`: where data point (x, y) of ``ax`` lands in the PNG."""
        _, height = self.size
        dx, dy = ax.transData.transform((float(x), float(y)))
        return float(dx), float(height) - float(dy)
