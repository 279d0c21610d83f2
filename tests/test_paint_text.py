"""Text drawn by the paint package (layout and glyph bitmaps kept) is stock Agg's text, pixel for pixel."""

from __future__ import annotations

import matplotlib
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg

from explainer.paint import Painter, new_figure
from explainer.paint import _text

matplotlib.use("Agg")

_STYLES = st.fixed_dictionaries({
    "s": st.sampled_from(["k = 3", "gate 0.53", "two\nlines", r"$\sqrt{d_k}$ = 8", "", "wide label, field 7 x 7",
                          "27 C$^2$ = 110,592", "ß ✓ ∑ →", "tiny"]),
    "fontsize": st.sampled_from([5, 9.5, 13]),
    "ha": st.sampled_from(["left", "center", "right"]),
    "va": st.sampled_from(["baseline", "bottom", "center", "top"]),
    "rotation": st.sampled_from([0, 0, 30, 90]),
    "color": st.sampled_from(["black", "#d62728", "white"]),
    "alpha": st.sampled_from([None, 0.6]),
    "family": st.sampled_from(["sans-serif", "monospace"]),
    "weight": st.sampled_from(["normal", "bold"]),
    "antialiased": st.sampled_from([True, False]),
    "bbox": st.sampled_from([None, {"fc": "black", "alpha": 0.5, "lw": 0, "pad": 2}]),
})


def _frame(x: float, y: float, style: dict, dpi: int, fast_paths, restyle=None) -> np.ndarray:
    fig = new_figure(2.7, 1.9, dpi=dpi)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.set_title("static title: k = 3")  # drawn in the background, by the same renderer
    text = ax.text(x, y, **{k: v for k, v in style.items() if v is not None})
    painter = Painter(fig, fast_paths=fast_paths)
    painter.animate(text)
    painter.frame()
    if restyle:  # changed after a first frame: a new layout, not the kept one
        text.set(**restyle)
    painter.frame()
    return np.asarray(painter.canvas.buffer_rgba()).copy()


@settings(max_examples=80, deadline=None)
@given(x=st.floats(0.05, 0.95), y=st.floats(0.05, 0.95), style=_STYLES, dpi=st.sampled_from([72, 100, 113]),
       restyle=st.sampled_from([None, {"text": "another"}, {"fontsize": 15}, {"ha": "right", "rotation": 45}]))
def test_text_is_drawn_exactly_as_agg_draws_it(x, y, style, dpi, restyle):
    expected = _frame(x, y, style, dpi, (), restyle)
    for _ in range(2):  # the second time from the kept layouts and glyphs
        assert np.array_equal(_frame(x, y, style, dpi, ["text"], restyle), expected)


def test_the_text_path_is_there_on_the_matplotlib_it_was_written_for():
    """matplotlib 3.11's Agg draws text glyph by glyph, which the kept bitmaps replay; on 3.10 the
    painter leaves text to matplotlib's own renderer."""
    newest = matplotlib.__version_info__[:2] >= (3, 11)
    assert _text.AVAILABLE is newest
    painter = Painter(new_figure(1, 1), fast_paths=["text"])
    assert type(painter.canvas) is (_text.TextCachingCanvas if newest else FigureCanvasAgg)
    assert type(Painter(new_figure(1, 1), fast_paths=()).canvas) is FigureCanvasAgg
    if newest:
        _frame(0.5, 0.5, {"s": "kept: layouts and glyphs"}, 80, ["text"])
        assert any(key[0] == "kept: layouts and glyphs" for key in _text._LAYOUTS)
        assert len(_text._GLYPHS) > 10
        # Drawn twice at one place (two frames): the second time, and from then on, as one bitmap.
        kept = [v for k, v in _text._STRINGS.items() if k[0][0] == "kept: layouts and glyphs"]
        assert len(kept) == 1 and kept[0] is not _text._SEEN  # a bitmap, or None: two glyphs share a pixel
        _frame(0.5, 0.5, {"s": "gate 0.57"}, 80, ["text"])  # a string no other test draws
        kept = [v for k, v in _text._STRINGS.items() if k[0][0] == "gate 0.57"]
        assert len(kept) == 1 and isinstance(kept[0], tuple) and kept[0][0].dtype == np.uint8
        _frame(0.3, 0.5, {"s": "drawn once, 0.123"}, 80, ["text"], restyle={"text": "drawn once, 0.456"})
        once = {k[0][0]: v for k, v in _text._STRINGS.items() if k[0][0].startswith("drawn once")}
        assert once == {"drawn once, 0.123": _text._SEEN, "drawn once, 0.456": _text._SEEN}  # no bitmap made
