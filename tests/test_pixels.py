"""fast_imshow draws what matplotlib's own imshow draws, only faster (the oracle is matplotlib itself)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import AxesImage

from explainer.render import new_figure
from explainer.views._pixels import NearestImage, fast_imshow


def _draw(fast: bool, data, ax_setup=None, **kwargs) -> np.ndarray:
    fig = new_figure(3.1, 2.3, dpi=97)
    ax = fig.add_axes((0.13, 0.11, 0.71, 0.77))
    image = fast_imshow(ax, data, **kwargs) if fast else ax.imshow(data, interpolation="nearest", **kwargs)
    assert type(image) is (NearestImage if fast else AxesImage)
    if ax_setup:
        ax_setup(ax)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


rng = np.random.default_rng(3)
CASES = {
    "scalar, default extent": (rng.random((7, 11)), None, {}),
    "scalar, origin lower, norm": (rng.random((9, 5)), None, {"origin": "lower", "vmin": 0.2, "vmax": 0.7,
                                                               "cmap": "magma"}),
    "explicit flipped extent": (rng.random((6, 6)), None, {"extent": (0, 1, 1, 0)}),
    "RGB floats, extent in data units": (rng.random((5, 8, 3)), None, {"extent": (-0.5, 7.5, 4.5, -0.5)}),
    "RGBA uint8 with alpha": ((rng.random((13, 4, 4)) * 255).astype(np.uint8), None, {}),
    "scalar alpha": (rng.random((8, 8)), None, {"alpha": 0.6}),
    "NaN cells (bad colour)": (np.where(rng.random((6, 9)) < 0.2, np.nan, rng.random((6, 9))), None, {}),
    "zoomed in: clipped by the axes": (rng.random((10, 10)), lambda ax: (ax.set_xlim(2.3, 6.1), ax.set_ylim(7.7, 1.2)), {}),
    "x axis inverted": (rng.random((4, 7)), lambda ax: ax.invert_xaxis(), {}),
    "aspect auto, large upsampling": (rng.random((3, 2)), None, {"aspect": "auto"}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fast_imshow_matches_matplotlib(name):
    data, setup, kwargs = CASES[name]
    slow, fast = _draw(False, data, setup, **kwargs), _draw(True, data, setup, **kwargs)
    differs = (np.abs(slow.astype(int) - fast.astype(int)) > 2).any(-1)  # (H, W)
    # Only pixels on cell borders may round the other way: a sliver of the image at most.
    assert differs.mean() < 0.02, f"{name}: {differs.mean():.3%} of pixels differ"
    # ... and each differing pixel takes a colour of a neighbouring pixel of matplotlib's picture.
    for y, x in zip(*np.nonzero(differs)):
        window = slow[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].reshape(-1, 4).astype(int)
        assert (np.abs(window - fast[y, x].astype(int)) <= 2).all(-1).any(), (name, y, x)


def test_other_interpolations_fall_back_to_matplotlib():
    data = rng.random((6, 6))
    fig = new_figure(2, 2, dpi=80)
    ax = fig.add_subplot()
    image = fast_imshow(ax, data, interpolation="bilinear")
    fig.canvas.draw()
    fast = np.asarray(fig.canvas.buffer_rgba()).copy()
    image.__class__ = AxesImage
    fig.canvas.draw()
    assert np.array_equal(fast, np.asarray(fig.canvas.buffer_rgba()))


def test_a_fully_clipped_image_draws_nothing():
    fig = new_figure(2, 2, dpi=80)
    ax = fig.add_subplot()
    fast_imshow(ax, rng.random((4, 4)))
    ax.set_xlim(10, 20)
    fig.canvas.draw()
    assert (np.asarray(fig.canvas.buffer_rgba())[..., :3] == 255).all(-1).mean() > 0.5  # white: no image


def test_kept_pixels_follow_every_change_of_data_colours_alpha_and_place():
    fig = new_figure(3, 2, dpi=80)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    data = rng.random((5, 6))
    fast = fast_imshow(ax, data, vmin=0, vmax=1)
    slow = ax.imshow(data, interpolation="nearest", vmin=0, vmax=1)  # matplotlib's own, drawn alternately

    def pictures():
        out = []
        for shown, hidden in ((fast, slow), (slow, fast)):
            shown.set_visible(True)
            hidden.set_visible(False)
            fig.canvas.draw()
            out.append(np.asarray(fig.canvas.buffer_rgba()).astype(int))
        return out

    changes = [lambda im: None, lambda im: im.set_data(data[::-1]), lambda im: im.set_clim(0.3, 0.6),
               lambda im: im.set_cmap("magma"), lambda im: im.set_alpha(0.4),
               lambda im: im.set_extent((1, 3, 4, 0)), lambda im: im.axes.set_xlim(0.5, 2.5)]
    before = None
    for step, change in enumerate(changes):
        change(fast)
        if step != len(changes) - 1:  # the axes limits are shared
            change(slow)
        got, expected = pictures()
        assert (np.abs(got - expected) > 2).any(-1).mean() < 0.02, step  # the change reached the screen
        if before is not None:
            assert not np.array_equal(got, before), step
        before = got
    assert fast._nearest is not None  # and the last pixels are kept for the next, unchanged draw


# ----------------------------------------------------------------------------- colour-mapping shortcut
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402

_value = st.floats(-3.0, 3.0, allow_nan=False, width=64) | st.sampled_from([0.0, 1.0, -0.25, 0.25, 0.5, 1e-17])
_CMAPS = {"viridis": colormaps["viridis"], "RdBu_r": colormaps["RdBu_r"], "tab10": colormaps["tab10"],
          "viridis with extremes": colormaps["viridis"].with_extremes(under="k", over="w", bad="r")}


def _colour_case(data, rows, cols, cmap, norm, dtype="float64", nan=False):
    """An image of drawn values, with the colour bytes of matplotlib's to_rgba and of the shortcut,
    and how many times the shortcut called to_rgba."""
    values = np.array(data.draw(st.lists(_value, min_size=rows * cols, max_size=rows * cols))).reshape(rows, cols)
    if nan:
        values[0, 0] = np.nan
    values = np.nan_to_num(values * 3).astype(dtype) if dtype == "int64" else values.astype(dtype)
    fig = new_figure(1, 1)
    image = fast_imshow(fig.add_axes((0, 0, 1, 1)), values, cmap=_CMAPS[cmap], norm=norm)
    expected = np.array(image.to_rgba(image._A, bytes=True), dtype=np.uint8, order="C")
    calls = []
    image.to_rgba = lambda *a, **k: calls.append(1) or NearestImage.to_rgba(image, *a, **k)
    got = image._colour_bytes()
    assert got.dtype == np.uint8 and got.flags.c_contiguous and got.shape == (rows, cols, 4)
    return expected, got, len(calls)


@settings(max_examples=150, deadline=None)
@given(rows=st.integers(1, 9), cols=st.integers(1, 9), data=st.data(), cmap=st.sampled_from(list(_CMAPS)),
       limits=st.sampled_from([(0.0, 1.0), (-0.25, 0.25), (-1.0, 2.5), (0.1, 0.1 + 1e-9), (-3.0, 3.0)]))
def test_the_colour_shortcut_gives_to_rgbas_very_bytes(rows, cols, data, cmap, limits):
    """float64 values under a plain Normalize skip to_rgba and still get its bytes, at the edges of
    the colour range too (vmin, vmax, just inside and outside, under / over / bad colours)."""
    expected, got, calls = _colour_case(data, rows, cols, cmap, mcolors.Normalize(*limits))
    assert calls == 0  # the shortcut was taken
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=100, deadline=None)
@given(rows=st.integers(1, 6), cols=st.integers(1, 6), data=st.data(), cmap=st.sampled_from(list(_CMAPS)),
       case=st.sampled_from(["NaN cell", "float32", "int64", "clip", "two-slope", "log", "equal limits"]))
def test_everything_else_is_coloured_by_to_rgba(rows, cols, data, cmap, case):
    norm = {"clip": mcolors.Normalize(0.0, 1.0, clip=True), "two-slope": mcolors.TwoSlopeNorm(0.0, -1.0, 2.0),
            "log": mcolors.LogNorm(1e-3, 2.0), "equal limits": mcolors.Normalize(0.5, 0.5)}.get(case,
                                                                                             mcolors.Normalize(0, 1))
    dtype = case if case in ("float32", "int64") else "float64"
    expected, got, calls = _colour_case(data, rows, cols, cmap, norm, dtype=dtype, nan=case == "NaN cell")
    assert calls == 1
    np.testing.assert_array_equal(got, expected)


def test_reversed_limits_are_refused_as_matplotlib_refuses_them():
    image = fast_imshow(new_figure(1, 1).add_axes((0, 0, 1, 1)), np.zeros((2, 2)), norm=mcolors.Normalize(1.0, 0.0))
    with pytest.raises(ValueError, match="minvalue must be less than or equal to maxvalue"):
        image._colour_bytes()


# ----------------------------------------------------------------------------- opaque pixels copied
from matplotlib.backends.backend_agg import RendererAgg  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from explainer.views import _pixels  # noqa: E402
from explainer.views._pixels import PixelImage, blit_opaque  # noqa: E402

_coordinate = st.floats(-12.0, 60.0, allow_nan=False).map(lambda v: round(v * 4) / 4)  # whole, half, quarter px


@settings(max_examples=300, deadline=None)
@given(rows=st.integers(1, 23), cols=st.integers(1, 31), x=st.integers(-10, 50), y=st.integers(-10, 40),
       clip=st.none() | st.tuples(_coordinate, _coordinate, _coordinate, _coordinate), seed=st.integers(0, 2**16))
def test_blit_opaque_writes_the_bytes_agg_draw_image_writes(rows, cols, x, y, clip, seed):
    """The oracle is Agg itself: draw_image with the same gc clip rectangle, on the same background."""
    generator = np.random.default_rng(seed)
    pixels = generator.integers(0, 256, (rows, cols, 4), dtype=np.uint8)
    pixels[..., 3] = 255
    background = generator.integers(0, 256, (37, 45, 4), dtype=np.uint8)
    box = None if clip is None else Bbox.from_extents(*clip)  # extents in any order, as a gc may hold them

    agg, ours = RendererAgg(45, 37, 72), RendererAgg(45, 37, 72)
    for renderer in (agg, ours):
        np.asarray(renderer.buffer_rgba())[...] = background
    gc = agg.new_gc()
    gc.set_clip_rectangle(box)
    agg.draw_image(gc, x, y, pixels)
    gc.restore()
    assert blit_opaque(ours, pixels, x, y, box)
    assert np.array_equal(np.asarray(ours.buffer_rgba()), np.asarray(agg.buffer_rgba()))


def test_blit_opaque_leaves_other_renderers_to_their_own_draw_image():
    from matplotlib.backends.backend_svg import RendererSVG
    import io

    assert blit_opaque(RendererSVG(10, 10, io.StringIO()), np.full((2, 2, 4), 255, np.uint8), 0, 0) is False


def _explorer_pixels(factory, moves):
    explorer = factory()
    frames = []
    for name, value in moves:
        explorer.controls[name].value = value
        assert explorer.last_error is None
        explorer.painter.render()
        frames.append(np.asarray(explorer.painter.canvas.buffer_rgba()).copy())
    return frames


@pytest.mark.parametrize(("factory", "moves"), [
    ("conv_attention_explorer", [("row", 7), ("kernel", "blur 5x5"), ("sharpness", 0.5)]),
    ("self_attention_explorer", [("tokens", 11), ("mask", "causal"), ("num_heads", 4)]),
    ("se_explorer", [("channel", 5), ("stage", 2)]),
    ("receptive_field_explorer", [("kernel_size", 5), ("depth", 3)]),
])
def test_explorer_frames_with_copied_pixels_equal_agg_blending_them(factory, moves, monkeypatch):
    import explainer.explorers as explorers

    fast = _explorer_pixels(getattr(explorers, factory), moves)
    monkeypatch.setattr(_pixels, "blit_opaque", lambda *args, **kwargs: False)  # Agg draws every image
    slow = _explorer_pixels(getattr(explorers, factory), moves)
    for step, (got, expected) in enumerate(zip(fast, slow)):
        assert np.array_equal(got, expected), (factory, moves[step])


def test_pixel_images_with_transparent_cells_are_blended_by_agg(monkeypatch):
    fig = new_figure(2, 2, dpi=50)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    image = PixelImage(ax)
    rgba = np.full((3, 3, 4), 255, np.uint8)
    image.set(rgba)
    assert image._opaque
    rgba[1, 1, 3] = 100
    image.set(rgba)
    assert not image._opaque
    called = []
    monkeypatch.setattr(_pixels, "blit_opaque", lambda *args: called.append(args) or True)
    fig.canvas.draw()
    assert called == []  # blended, not copied
