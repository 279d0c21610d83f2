"""The painter: blitted frames equal full redraws, animated artists never stick in the background,
PNG frames decode to the canvas, and the stock switch turns every fast path off."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from _pictures import assert_same_picture, rgba
from explainer.paint import ENV_VAR, FAST_PATHS, Painter, enabled_fast_paths, new_figure, stock_paint

matplotlib.use("Agg")

MODES = {"fast": None, "stock": ()}  # fast_paths= for Painter: the environment's default, or none


def _scene(interpolation: str = "nearest"):
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
    image = ax.imshow(np.zeros((5, 7)), extent=(0, 9, 0, 7), vmin=0, vmax=1, cmap="viridis",
                      interpolation=interpolation)
    (line,) = ax.plot([0, 9], [0, 7], color="C1")
    text = ax.text(1, 1, "t=0")
    return fig, ax, image, line, text


def test_frame_is_png_of_canvas_size():
    fig, *_ = _scene()
    painter = Painter(fig)
    png = painter.frame()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert rgba(png).shape == (painter.size[1], painter.size[0], 4) == (192, 256, 4)


@pytest.mark.parametrize("mode", MODES)
def test_blitted_frame_equals_a_full_redraw(mode):
    """Stock: a blit is matplotlib's full draw, pixel for pixel. Fast: the same picture."""
    fig, ax, image, line, text = _scene(interpolation="antialiased" if mode == "stock" else "nearest")
    painter = Painter(fig, fast_paths=MODES[mode])
    painter.animate(image, line, text)
    painter.frame()
    image.set_data(np.random.default_rng(3).random((5, 7)))
    line.set_data([0, 4, 9], [7, 2, 5])
    text.set_text("t=1")
    blitted = painter.frame()

    fig2, ax2, image2, line2, text2 = _scene(interpolation=image.get_interpolation())
    image2.set_data(image.get_array())
    line2.set_data(line.get_data())
    text2.set_text("t=1")
    full = Painter(fig2, fast_paths=()).frame()  # nothing animated: matplotlib's own full draw
    if mode == "stock":
        assert blitted == full
    else:
        assert_same_picture(blitted, full)


@pytest.mark.parametrize("mode", MODES)
def test_animated_artists_are_not_baked_into_the_background(mode):
    fig, ax, image, line, text = _scene()
    painter = Painter(fig, fast_paths=MODES[mode])
    painter.animate(line)
    with_line = painter.frame()
    line.set_visible(False)
    assert painter.frame() != with_line


@pytest.mark.parametrize("mode", MODES)
def test_an_animated_image_leaves_nothing_behind_when_it_shrinks(mode):
    """The stale picture of matplotlib < 3.11, which drew animated images into a full draw: a
    transparent border revealed the first picture kept in the background."""
    fig = new_figure(2.4, 2.4, dpi=60)
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
    ax.set_xlim(0, 1)
    ax.set_ylim(1, 0)
    ax.set_autoscale_on(False)
    full = np.full((4, 4, 4), 255, np.uint8)
    full[..., :3] = (200, 30, 30)
    image = ax.imshow(full, extent=(0, 1, 1, 0), interpolation="nearest")
    painter = Painter(fig, fast_paths=MODES[mode])
    painter.animate(image)
    painter.frame()
    framed = np.zeros((6, 6, 4), np.uint8)  # the same red square, inside a transparent border
    framed[1:5, 1:5] = full
    image.set_data(framed)
    got = painter.frame()

    fig2 = new_figure(2.4, 2.4, dpi=60)
    ax2 = fig2.add_axes((0.05, 0.05, 0.9, 0.9))
    ax2.set_xlim(0, 1)
    ax2.set_ylim(1, 0)
    ax2.imshow(framed, extent=(0, 1, 1, 0), interpolation="nearest")
    assert_same_picture(got, Painter(fig2, fast_paths=()).frame(), label=mode)


def test_invalidate_redraws_static_parts():
    fig, ax, *_ = _scene()
    painter = Painter(fig)
    before = painter.frame()
    ax.set_title("another title")
    assert painter.frame() == before  # the kept background: no change yet
    painter.invalidate()
    assert painter.frame() != before


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

    Painter(_scene()[0]).frame()
    assert plt.get_fignums() == []


@pytest.mark.parametrize("writer", ["isal", "zlib", "stock"])
@pytest.mark.parametrize("size", [(1.01, 0.37), (3.2, 2.4), (2.0, 5.13)])
def test_png_decodes_to_exactly_the_canvas_pixels(size, writer, monkeypatch):
    from explainer.paint import _png

    if writer == "zlib":  # the fallback when isal is not installed
        monkeypatch.setattr(_png, "_isal_compress", None)
    elif writer == "isal":
        assert _png._isal_compress is not None, "isal is a dependency: the fast path must be in use"
    fig = new_figure(*size, dpi=77)
    ax = fig.add_subplot()
    ax.imshow(np.random.default_rng(0).random((9, 13)), cmap="viridis")
    painter = Painter(fig, fast_paths=() if writer == "stock" else ["png"])
    for _ in range(2):  # the second frame reuses the scanline buffer
        png = painter.frame()
        decoded = Image.open(io.BytesIO(png))
        decoded.load()  # verifies the zlib stream and chunk CRCs
        assert decoded.mode == "RGBA" and decoded.size == painter.size
        assert np.array_equal(np.asarray(decoded), np.asarray(painter.canvas.buffer_rgba()))
        ax.images[0].set_data(np.random.default_rng(1).random((9, 13)))
        painter.invalidate()


# ----------------------------------------------------------------------------- the stock switch
@pytest.mark.parametrize(("value", "off"), [
    (None, set()), ("", set()), ("0", set()), ("off", set()), ("1", set(FAST_PATHS)), ("all", set(FAST_PATHS)),
    ("TRUE", set(FAST_PATHS)), ("text", {"text"}), (" png , heatmap ", {"png", "heatmap"}),
])
def test_the_environment_variable_turns_fast_paths_off(value, off, monkeypatch):
    if value is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, value)
    assert enabled_fast_paths() == frozenset(FAST_PATHS) - off
    assert stock_paint() is (off == set(FAST_PATHS))
    assert Painter(_scene()[0]).fast_paths == frozenset(FAST_PATHS) - off


def test_an_unknown_fast_path_is_refused_with_the_names_allowed(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "png,glyphs")
    with pytest.raises(ValueError, match=r"EXPLAINER_STOCK_PAINT .*'glyphs'") as error:
        enabled_fast_paths()
    assert "heatmap" in str(error.value)
    with pytest.raises(ValueError, match="fast_paths .*'blit'"):
        Painter(_scene()[0], fast_paths=["blit"])


def test_stock_mode_runs_matplotlibs_own_canvas_and_draws(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    fig, ax, image, line, text = _scene()
    painter = Painter(fig)
    assert type(painter.canvas) is FigureCanvasAgg and painter._images is None
    drawn = []
    monkeypatch.setattr(type(image), "draw", lambda self, renderer: drawn.append(self))
    painter.animate(image)
    painter.frame()
    assert drawn and all(d is image for d in drawn)  # the image's own draw, not the paint package's


def test_the_heatmap_path_is_there_on_the_matplotlib_it_was_written_for(monkeypatch):
    """The lookup reproduces matplotlib 3.11's rounding of upsampled cells; on 3.10, which rounds
    many more cell borders the other way, the painter leaves heatmaps to matplotlib."""
    import matplotlib

    from explainer.paint import _images

    newest = matplotlib.__version_info__[:2] >= (3, 11)
    assert _images.AVAILABLE is newest
    monkeypatch.setenv(ENV_VAR, "0")
    fig, ax, image, line, text = _scene()
    painter = Painter(fig, fast_paths=["heatmap"])
    assert (painter._images is not None) is newest
