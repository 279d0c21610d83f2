"""The paint layer: blitted frames must equal a full redraw, pixel for pixel."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from explainer.render import Painter, new_figure

matplotlib.use("Agg")


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _scene():
    fig = new_figure(3.2, 2.4, dpi=80)
    ax = fig.add_subplot()
    ax.set_xlim(0, 9)
    ax.set_ylim(0, 7)
    ax.set_title("static title")
    # Animated artists are always painted above the background; a spine overlapping the image
    # would be above it in a full draw. Views therefore keep frames off their animated areas.
    ax.spines[:].set_visible(False)
    ax.set_xticks([])
    ax.set_yticks([])
    image = ax.imshow(np.zeros((5, 7)), extent=(0, 9, 0, 7), vmin=0, vmax=1, cmap="viridis")
    (line,) = ax.plot([0, 9], [0, 7], color="C1")
    text = ax.text(1, 1, "t=0")
    return fig, ax, image, line, text


def test_frame_is_png_of_canvas_size():
    fig, ax, image, line, text = _scene()
    painter = Painter(fig)
    png = painter.frame()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert _pixels(png).shape == (painter.size[1], painter.size[0], 3) == (192, 256, 3)


def test_blitted_frame_equals_full_redraw():
    fig, ax, image, line, text = _scene()
    painter = Painter(fig)
    painter.animate(image, line, text)
    painter.frame()
    rng = np.random.default_rng(3)
    image.set_data(rng.random((5, 7)))
    line.set_data([0, 4, 9], [7, 2, 5])
    text.set_text("t=1")
    blitted = _pixels(painter.frame())

    fig2, ax2, image2, line2, text2 = _scene()
    image2.set_data(image.get_array())
    line2.set_data(line.get_data())
    text2.set_text("t=1")
    full = _pixels(Painter(fig2).frame())
    assert np.array_equal(blitted, full)


def test_animated_artists_are_not_baked_into_the_background():
    fig, ax, image, line, text = _scene()
    painter = Painter(fig)
    painter.animate(line)
    with_line = _pixels(painter.frame())
    line.set_visible(False)
    without_line = _pixels(painter.frame())
    assert not np.array_equal(with_line, without_line)


def test_invalidate_redraws_static_parts():
    fig, ax, *_ = _scene()
    painter = Painter(fig)
    before = _pixels(painter.frame())
    ax.set_title("another title")
    assert np.array_equal(_pixels(painter.frame()), before)  # cached background: no change yet
    painter.invalidate()
    assert not np.array_equal(_pixels(painter.frame()), before)


@pytest.mark.parametrize("point", [(0.5, 0.5), (8.0, 6.5), (4.5, 3.0)])
def test_pixel_to_data_round_trips(point):
    fig, ax, *_ = _scene()
    painter = Painter(fig)
    px, py = painter.data_to_pixel(ax, *point)
    assert painter.pixel_to_data(ax, px, py) == pytest.approx(point)


def test_pixel_outside_axes_is_none():
    fig, ax, *_ = _scene()
    assert Painter(fig).pixel_to_data(ax, 0, 0) is None


def test_no_pyplot_figure_is_left_open():
    import matplotlib.pyplot as plt

    _scene()
    assert plt.get_fignums() == []


@pytest.mark.parametrize("deflate", ["isal", "zlib"])
@pytest.mark.parametrize("size", [(1.01, 0.37), (3.2, 2.4), (2.0, 5.13)])
def test_png_decodes_to_exactly_the_canvas_pixels(size, deflate, monkeypatch):
    import explainer.render as render

    if deflate == "zlib":  # the fallback when isal is not installed
        monkeypatch.setattr(render, "_isal_compress", None)
    else:
        assert render._isal_compress is not None, "isal is a dependency: the fast path must be in use"
    fig = new_figure(*size, dpi=77)
    ax = fig.add_subplot()
    ax.imshow(np.random.default_rng(0).random((9, 13)), cmap="viridis")
    painter = Painter(fig)
    for _ in range(2):  # the second frame reuses the scanline buffer
        png = painter.frame()
        decoded = Image.open(io.BytesIO(png))
        decoded.load()  # verifies the zlib stream and chunk CRCs
        assert decoded.mode == "RGBA" and decoded.size == painter.size
        assert np.array_equal(np.asarray(decoded), np.asarray(painter.canvas.buffer_rgba()))
        ax.images[0].set_data(np.random.default_rng(1).random((9, 13)))
        painter.invalidate()


def _texts_figure(canvas_class):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.3, 2.9), dpi=91, facecolor="#f4f1e8")
    canvas_class(fig) if canvas_class else None
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.imshow(np.random.default_rng(2).random((5, 7)), cmap="viridis", aspect="auto")
    ax.set_title("title: k = 3, field 7")
    ax.text(0.3, 2.2, "two lines\n27 C$^2$ = 110,592", color="white", fontsize=13)
    ax.text(3.1, 1.4, r"$\sqrt{d_k}$ = 8", color="#d62728", alpha=0.6, fontsize=9)
    ax.text(5.2, 3.7, "rotated", rotation=30)
    ax.text(1.05, 4.1, "tiny", fontsize=5, ha="center", va="top")
    return fig


def test_cached_text_draws_the_same_pixels_as_agg():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from explainer.render import TextCachingRenderer, _Canvas

    reference = _texts_figure(FigureCanvasAgg)
    reference.canvas.draw()
    expected = np.asarray(reference.canvas.buffer_rgba()).astype(int)
    cached = _texts_figure(_Canvas)
    for _ in range(2):  # the first draw fills the cache, the second only copies pixels
        cached.canvas.draw()
        assert isinstance(cached.canvas.get_renderer(), TextCachingRenderer)
        got = np.asarray(cached.canvas.buffer_rgba()).astype(int)
        assert np.abs(got - expected).max() <= 2  # blending rounding only
    assert len(cached.canvas.get_renderer()._texts) >= 5  # every horizontal line of text was cached
    from explainer import render

    if render._GLYPH_PATH:  # matplotlib >= 3.11: the scratch canvases kept FreeType's glyphs too
        assert len(render._GLYPHS) > 20


_TEXT_STYLES = st.fixed_dictionaries({
    "s": st.sampled_from(["k = 3", "gate 0.53", "two\nlines", r"$\sqrt{d_k}$ = 8", "", "wide label, field 7 x 7"]),
    "fontsize": st.sampled_from([6, 9.5, 13]),
    "ha": st.sampled_from(["left", "center", "right"]),
    "va": st.sampled_from(["baseline", "bottom", "center", "top"]),
    "rotation": st.sampled_from([0, 30, 90]),
    "linespacing": st.sampled_from([None, 1.6]),
    "bbox": st.sampled_from([None, {"fc": "black", "alpha": 0.5, "lw": 0, "pad": 2}]),
})


def _text_frame(x, y, style, dpi, caching, restyle=None):
    fig = new_figure(2.7, 1.9, dpi=dpi)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    text = ax.text(x, y, **{k: v for k, v in style.items() if v is not None})
    painter = Painter(fig)
    if caching:
        painter.animate(text)
    for change in (restyle or {}).items():  # changed after a first frame: a new layout, not the kept one
        painter.frame()
        text.set(**dict([change]))
    if not caching:
        painter.invalidate()  # a static text is in the background: draw it again
    painter.frame()
    return np.asarray(painter.canvas.buffer_rgba()).copy(), text, painter.canvas.get_renderer()


@settings(max_examples=60, deadline=None)
@given(x=st.floats(0.05, 0.95), y=st.floats(0.05, 0.95), style=_TEXT_STYLES, dpi=st.sampled_from([72, 113]),
       restyle=st.sampled_from([None, {"text": "another"}, {"fontsize": 15}, {"ha": "right", "rotation": 45}]))
def test_animated_texts_keep_their_layout_and_draw_the_same_pixels(x, y, style, dpi, restyle):
    """An animated text is laid out once per string and style; what it draws equals a plain Text drawn
    in the background, also after its string or style changed."""
    from explainer.render import LayoutCachingText

    expected, plain, _ = _text_frame(x, y, style, dpi, caching=False, restyle=restyle)  # plain, redrawn in full
    for _ in range(2):  # the second time from the kept layouts
        got, text, renderer = _text_frame(x, y, style, dpi, caching=True, restyle=restyle)
        assert type(text) is LayoutCachingText
        assert np.array_equal(got, expected)
        kept, fresh = text._get_layout(renderer), plain._get_layout(plain.figure.canvas.get_renderer())
        assert kept[0].bounds == fresh[0].bounds and kept[1:] == fresh[1:]


# ----------------------------------------------------------------------------- steady artists
def _steady_scene(steady: bool):
    """The scene with a second image and a marker; the images animated steady (or not)."""
    fig, ax, image, line, text = _scene()
    other = ax.imshow(np.zeros((3, 4)), extent=(5, 9, 4, 7), vmin=0, vmax=1, cmap="magma", zorder=0.5)
    (marker,) = ax.plot([2], [3], "s", color="white", zorder=3)
    painter = Painter(fig)
    painter.animate(image, other, steady=steady)
    painter.animate(line, text, marker)
    return painter, (image, other, line, text, marker)


MOVES = st.sampled_from(["image data", "other data", "clim", "same clim", "hide image", "show image", "line",
                         "marker", "text", "nothing", "invalidate"])


def _move(move: str, artists, value: float) -> None:
    image, other, line, text, marker = artists
    rng = np.random.default_rng(int(value * 1000))
    if move == "image data":
        image.set_data(rng.random((5, 7)))
    elif move == "other data":
        other.set_data(rng.random((3, 4)))
    elif move == "clim":
        image.set_clim(0, 0.5 + value)
    elif move == "same clim":
        image.set_clim(*image.get_clim())
    elif move in ("hide image", "show image"):
        other.set_visible(move == "show image")
    elif move == "line":
        line.set_data([0, 9], [value * 7, 7 - value * 7])
    elif move == "marker":
        marker.set_data([value * 9], [3])
    elif move == "text":
        text.set_text(f"t={value:.2f}")


@settings(max_examples=60, deadline=None)
@given(moves=st.lists(st.tuples(MOVES, st.floats(0, 1)), min_size=1, max_size=12))
def test_steady_artists_give_the_same_frames_as_animated_ones(moves):
    """Whatever changes between frames, a painter with steady artists paints what one that redraws
    every animated artist paints."""
    steady, steady_artists = _steady_scene(True)
    plain, plain_artists = _steady_scene(False)
    assert steady.frame() == plain.frame()
    for move, value in moves:
        for painter, artists in ((steady, steady_artists), (plain, plain_artists)):
            _move(move, artists, value)
            if move == "invalidate":
                painter.invalidate()
        assert steady.frame() == plain.frame(), move


def test_steady_artists_are_drawn_only_after_a_change(monkeypatch):
    painter, (image, other, line, text, marker) = _steady_scene(True)
    drawn = []
    for artist in (image, other, marker):
        monkeypatch.setattr(artist, "draw", lambda renderer, a=artist, f=artist.draw: (drawn.append(a), f(renderer)))
    painter.frame()
    assert drawn == [image, other, marker]  # the first frame: everything, steady ones first
    drawn.clear()
    marker.set_data([5], [3])
    painter.frame()
    assert drawn == [marker]  # only the marker moved: the steady images come from the kept canvas
    drawn.clear()
    image.set_clim(0, 0.3)
    painter.frame()
    assert drawn == [image, other, marker]


def test_an_artist_marked_again_moves_between_steady_and_every_frame():
    painter, (image, other, line, text, marker) = _steady_scene(True)
    painter.animate(image)
    assert image in painter._animated and image not in painter._steady
    painter.animate(image, steady=True)
    assert image in painter._steady and image not in painter._animated
