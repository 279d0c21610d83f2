"""Text drawn as matplotlib 3.11's Agg draws it, with its layout and glyph bitmaps kept.

``RendererAgg.draw_text`` shapes the string with FreeType on every draw and then renders every
glyph, and an explorer redraws the same labels as a slider moves back and forth. The renderer here
keeps (least recently used out first) the shaped layout of each string and font, and the bitmap of
each glyph per font, size, dpi, antialiasing and sub-pixel offset (1/64 px, FreeType's own
precision; a glyph moved by whole pixels is the same bitmap moved). It then makes exactly the calls
Agg's own loop makes, with the same bitmaps at the same places, so the pixels are the same.

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
# Shared by every renderer: a layout and a glyph do not depend on the canvas they are drawn on.
_LAYOUTS: OrderedDict[tuple, list[tuple]] = OrderedDict()
_GLYPHS: OrderedDict[tuple, tuple[np.ndarray, int, int]] = OrderedDict()


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
        self._draw_text_glyphs_and_boxes(
            gc, x, y, angle, ((ft, size, index, 0, 1, dx, dy) for ft, index, dx, dy in items), [])
        return None

    def _draw_text_glyphs_and_boxes(self, gc, x, y, angle, glyphs, boxes):  # noqa: ANN001, ANN201
        """Agg's glyph loop with each glyph's bitmap kept; rotated, slanted or stretched glyphs take Agg's path."""
        glyphs = list(glyphs)
        if angle or any(slant != 0 or extend != 1 for _, _, _, slant, extend, _, _ in glyphs):
            return super()._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, boxes)
        from matplotlib.ft2font import RenderMode

        flags, antialiased = get_hinting_flag(), gc.get_antialiased()
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
            left, top = left + (px >> 6), top + (py >> 6)
            # draw_text_image's y is downwards and the bitmap's bottom side, as in Agg's own loop.
            self._renderer.draw_text_image(buffer, left, int(self.height) - top + buffer.shape[0], 0, gc)
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
