"""Text drawn as matplotlib 3.11's Agg draws it, with its layout and glyph bitmaps kept.

``RendererAgg.draw_text`` shapes the string with FreeType on every draw and then renders every
glyph, and an explorer redraws the same labels as a slider moves back and forth. The renderer here
keeps (least recently used out first) the shaped layout of each string and font, and the bitmap of
each glyph per font, size, dpi, antialiasing and sub-pixel offset (1/64 px, FreeType's own
precision; a glyph moved by whole pixels is the same bitmap moved). It then makes exactly the calls
Agg's own loop makes, with the same bitmaps at the same places, so the pixels are the same.

A string drawn again at the same place (a title that stays while a slider moves) is drawn, from its
second time on, as one bitmap, its glyphs' bitmaps side by side, in one ``draw_text_image`` call
instead of one per glyph. That is the same picture only where no two glyph bitmaps cover the same
pixel (Agg blends glyphs one after another, and two blends round differently from one): where they
do, the string is drawn glyph by glyph as before.

This reaches into matplotlib 3.11's private text path (``_prepare_font``, ``FT2Font._layout``,
``_render_glyph``, ``_set_transform``, ``_draw_text_glyphs_and_boxes``, ``_renderer``);
:data:`AVAILABLE` says whether this matplotlib has it. Where it does not, the painter draws text
with matplotlib's own renderer.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.ft2font import FT2Font

__all__ = ["AVAILABLE", "TextCachingCanvas", "TextCachingRenderer"]

AVAILABLE = (hasattr(RendererAgg, "_draw_text_glyphs_and_boxes") and hasattr(RendererAgg, "_prepare_font")
             and all(hasattr(FT2Font, name) for name in ("_layout", "_render_glyph", "_set_transform")))

_LAYOUT_CACHE_SIZE = 4096
_GLYPH_CACHE_SIZE = 8192
_STRING_CACHE_SIZE = 1024
# Shared by every renderer: a layout and a glyph do not depend on the canvas they are drawn on.
_LAYOUTS: OrderedDict[tuple, list[tuple]] = OrderedDict()
_GLYPHS: OrderedDict[tuple, tuple[np.ndarray, int, int]] = OrderedDict()
# A string's glyphs as one bitmap, per layout, place and canvas height: (bitmap, left column, bottom
# row) in draw_text_image's terms, None where glyph bitmaps overlap (drawn glyph by glyph), or _SEEN
# after the first draw (a number that changes on every move is drawn once: no bitmap is made for it).
_SEEN = "seen"
_STRINGS: OrderedDict[tuple, tuple[np.ndarray, int, int] | str | None] = OrderedDict()


def _kept(cache: OrderedDict, key: tuple, make, size: int):  # noqa: ANN001, ANN202
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = make()
        if len(cache) > size:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return hit


class TextCachingRenderer(RendererAgg):
    """An Agg renderer whose text keeps its layout and glyph bitmaps (see the module docstring)."""

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):  # noqa: ANN001, ANN201
        if ismath:  # parsed (and kept) by matplotlib's mathtext parser; its glyphs are kept below
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        font = self._prepare_font(prop)  # the font file(s) for prop, at its size and this dpi
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        size = prop.get_size_in_points()
        flags = get_hinting_flag()
        key = (s, font, size, self.dpi, flags, None if features is None else tuple(features),
               None if language is None else str(language))

        def layout() -> list[tuple]:
            items = font._layout(s, flags=flags, features=features, language=language)
            return [(item.ft_object, item.glyph_index, item.x, item.y) for item in items]

        items = _kept(_LAYOUTS, key, layout, _LAYOUT_CACHE_SIZE)
        glyphs = [(ft, size, index, 0, 1, dx, dy) for ft, index, dx, dy in items]
        if angle or not glyphs:
            self._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, [])
            return None
        antialiased = gc.get_antialiased()
        where = (key, x, y, self.height, antialiased)
        seen = where in _STRINGS
        string = _kept(_STRINGS, where, lambda: _SEEN, _STRING_CACHE_SIZE)
        if seen and string is _SEEN:  # drawn here once before: from now on as one bitmap
            string = _STRINGS[where] = self._one_bitmap(x, y, glyphs, antialiased)
        if string is None or string is _SEEN:
            self._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, [])
        else:
            bitmap, left, bottom = string
            self._renderer.draw_text_image(bitmap, left, bottom, 0, gc)
        return None

    def _placed_glyphs(self, x, y, glyphs, antialiased):  # noqa: ANN001, ANN202
        """Per glyph: (bitmap, left column, top row) on the canvas (rows downwards), as Agg's loop places them."""
        from matplotlib.ft2font import RenderMode

        flags = get_hinting_flag()
        placed = []
        for font, size, glyph_index, _, _, dx, dy in glyphs:  # dy is upwards, as in Agg's own loop
            px, py = round(0x40 * (x + dx)), round(0x40 * (self.height - y + dy))  # 26.6 fixed point

            def render(font=font, size=size, glyph_index=glyph_index, px=px, py=py):  # noqa: ANN001, ANN202
                font.set_size(size, self.dpi)
                font._set_transform([[0x10000, 0], [0, 0x10000]], [px & 63, py & 63])
                bitmap = font._render_glyph(glyph_index, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO)
                buffer = np.array(bitmap.buffer, dtype=np.uint8)  # a copy: FreeType reuses its own
                if not antialiased:
                    buffer *= 0xFF
                return buffer, bitmap.left, bitmap.top

            key = (font.fname, size, self.dpi, glyph_index, px & 63, py & 63, antialiased, flags)
            buffer, left, top = _kept(_GLYPHS, key, render, _GLYPH_CACHE_SIZE)
            placed.append((buffer, left + (px >> 6), int(self.height) - (top + (py >> 6))))
        return placed

    def _one_bitmap(self, x, y, glyphs, antialiased):  # noqa: ANN001, ANN202
        """The glyphs side by side in one bitmap (left column, bottom row), None where two cover one pixel."""
        placed = [(b, left, top) for b, left, top in self._placed_glyphs(x, y, glyphs, antialiased) if b.size]
        if not placed:
            return None
        left = min(c for _, c, _ in placed)
        top = min(r for _, _, r in placed)
        right = max(c + b.shape[1] for b, c, _ in placed)
        bottom = max(r + b.shape[0] for b, _, r in placed)
        bitmap = np.zeros((bottom - top, right - left), np.uint8)
        for buffer, c, r in placed:
            region = bitmap[r - top:r - top + buffer.shape[0], c - left:c - left + buffer.shape[1]]
            if np.any((region != 0) & (buffer != 0)):
                return None  # two glyphs blend into one pixel: only Agg's glyph-by-glyph order gives its pixels
            region |= buffer
        return bitmap, left, bottom

    def _draw_text_glyphs_and_boxes(self, gc, x, y, angle, glyphs, boxes):  # noqa: ANN001, ANN201
        """Agg's glyph loop with each glyph's bitmap kept; rotated, slanted or stretched glyphs take Agg's path."""
        glyphs = list(glyphs)
        if angle or any(slant != 0 or extend != 1 for _, _, _, slant, extend, _, _ in glyphs):
            return super()._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, boxes)
        for buffer, left, top in self._placed_glyphs(x, y, glyphs, gc.get_antialiased()):
            # draw_text_image's y is downwards and the bitmap's bottom side, as in Agg's own loop.
            self._renderer.draw_text_image(buffer, left, top + buffer.shape[0], 0, gc)
        if boxes:  # mathtext's rules and fraction bars
            super()._draw_text_glyphs_and_boxes(gc, x, y, angle, [], boxes)
        return None


class TextCachingCanvas(FigureCanvasAgg):
    """An Agg canvas whose renderer is a :class:`TextCachingRenderer` (made as matplotlib 3.11 makes its own)."""

    def get_renderer(self):  # noqa: ANN201 - matplotlib's API
        width, height = self.get_width_height(physical=True)
        key = width, height, self.figure.dpi
        if getattr(self, "_explainer_key", None) != key:
            self.renderer = TextCachingRenderer(width, height, self.figure.dpi)
            self._explainer_key = key
        return self.renderer
