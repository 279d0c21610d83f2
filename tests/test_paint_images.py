"""Heatmaps drawn by the paint package: the same picture as matplotlib's own ``AxesImage.draw``
(the oracle), and colours kept only while nothing that decides them changed."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from _pictures import assert_same_picture

from explainer.paint import Painter, _images, new_figure
from explainer.paint._images import ImageDrawer

rng = np.random.default_rng(3)


# On matplotlib 3.10 the painter leaves heatmaps to matplotlib (see _images.AVAILABLE and
# test_paint.py::test_the_heatmap_path_is_there_on_the_matplotlib_it_was_written_for): nothing here runs.
pytestmark = pytest.mark.skipif(not _images.AVAILABLE, reason="matplotlib < 3.11 draws heatmaps itself")

def _frame(fast_paths, data, ax_setup=None, change=None, **kwargs) -> tuple[bytes, Painter]:
    """A frame of one animated nearest-neighbour image (after ``change`` on a second frame)."""
    fig = new_figure(3.1, 2.3, dpi=97)
    ax = fig.add_axes((0.13, 0.11, 0.71, 0.77))
    image = ax.imshow(data, **{"interpolation": "nearest", **kwargs})
    if ax_setup:
        ax_setup(ax)
    painter = Painter(fig, fast_paths=fast_paths)
    painter.animate(image)
    png = painter.frame()
    if change is not None:
        change(image)
        png = painter.frame()
    return png, painter


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
    "many small cells": (rng.random((64, 128)), None, {"aspect": "auto"}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_heatmaps_match_matplotlibs_own_draw(name):
    data, setup, kwargs = CASES[name]
    fast, painter = _frame(["heatmap"], data, setup, **kwargs)
    stock, _ = _frame([], data, setup, **kwargs)
    assert painter._images._kept, "the fast path was taken"
    if name == "many small cells" and matplotlib.__version_info__[:2] < (3, 11):
        # matplotlib 3.10's span interpolator drifts by up to a pixel across a wide image (3.11
        # samples every pixel centre, as the lookup does), so columns of 1.5 px cells shift.
        assert_same_picture(fast, stock, share=0.2, thin=False, label=name)
    else:
        assert_same_picture(fast, stock, label=name)


@pytest.mark.parametrize("kwargs", [{"interpolation": "bilinear"}, {"alpha": np.full((4, 4), 0.5)},
                                    {"interpolation": "nearest", "clip_path": "circle"}])
def test_everything_else_is_left_to_matplotlib(kwargs):
    from matplotlib.patches import Circle

    data = rng.random((4, 4))

    def frame(fast_paths):
        fig = new_figure(2, 2, dpi=80)
        ax = fig.add_subplot()
        extra = dict(kwargs)
        clip = extra.pop("clip_path", None)
        image = ax.imshow(data, **extra)
        if clip:
            image.set_clip_path(Circle((1.5, 1.5), 1.2, transform=ax.transData))
        painter = Painter(fig, fast_paths=fast_paths)
        painter.animate(image)
        return painter.frame(), painter

    fast, painter = frame(["heatmap"])
    assert not painter._images._kept  # not drawn by the fast path
    assert fast == frame([])[0]


def test_a_fully_clipped_image_draws_nothing():
    png, _ = _frame(["heatmap"], rng.random((4, 4)), lambda ax: ax.set_xlim(10, 20))
    stock, _ = _frame([], rng.random((4, 4)), lambda ax: ax.set_xlim(10, 20))
    assert png == stock


CHANGES = {
    "nothing": lambda im: None,
    "data": lambda im: im.set_data(im.get_array()[::-1]),
    "equal data": lambda im: im.set_data(np.array(im.get_array())),
    "data changed in place": lambda im: im.get_array().__setitem__((0, 0), 0.97),
    "limits": lambda im: im.set_clim(0.3, 0.6),
    "colormap": lambda im: im.set_cmap("magma"),
    "bad colour": lambda im: im.set_cmap(im.get_cmap().with_extremes(bad="red")),
    "alpha": lambda im: im.set_alpha(0.4),
    "extent": lambda im: (im.axes.set_autoscale_on(False), im.set_extent((1, 3, 4, 0))),
    "axes limits": lambda im: im.axes.set_xlim(0.5, 2.5),
    "hidden": lambda im: im.set_visible(False),
    "norm": lambda im: im.set_norm(__import__("matplotlib.colors").colors.PowerNorm(0.5, 0, 1)),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_second_frame_shows_every_change_of_data_colours_alpha_and_place(change):
    """The kept pixels are reused only while nothing that decides them changed, whatever changed."""
    data = rng.random((5, 6))
    data[2, 2] = np.nan
    fast, painter = _frame(["heatmap"], data.copy(), change=CHANGES[change], vmin=0, vmax=1)
    stock, _ = _frame([], data.copy(), change=CHANGES[change], vmin=0, vmax=1)
    assert_same_picture(fast, stock, label=change)
    first, _ = _frame(["heatmap"], data.copy(), vmin=0, vmax=1)
    assert (fast == first) == (change in ("nothing", "equal data")), change


def test_pixels_are_kept_while_nothing_changed():
    data = rng.random((5, 7))
    _, painter = _frame(["heatmap"], data, change=lambda im: im.set_data(data.copy()))
    (kept,) = painter._images._kept.values()
    pixels = kept.pixels
    image = next(iter(painter._images._kept))
    image.set_data(data.copy())  # an equal copy: recoloured? no
    painter.frame()
    assert next(iter(painter._images._kept.values())).pixels is pixels
    image.set_clim(0.1, 0.2)
    painter.frame()
    assert next(iter(painter._images._kept.values())).pixels is not pixels


def test_the_drawer_refuses_other_renderers():
    import io

    from matplotlib.backends.backend_svg import RendererSVG

    fig = new_figure(1, 1)
    image = fig.add_subplot().imshow(np.zeros((2, 2)), interpolation="nearest")
    assert ImageDrawer().draw(image, RendererSVG(10, 10, io.StringIO())) is False


# ----------------------------------------------------------------------------- colour-mapping
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

_FEW = ListedColormap(["#440154", "#21918c", "#fde725"], name="three").with_extremes(
    under="#ff0000", over="#00ff00", bad="#0000ff")
_CMAPS = ["viridis", "RdBu_r", "gray", _FEW]
_VALUES = st.one_of(st.floats(-5, 5, width=32), st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0, -1.0, 0.5]))


@settings(max_examples=300, deadline=None)
@given(data=arrays(st.sampled_from([np.float64, np.float32]), st.tuples(st.integers(1, 6), st.integers(1, 7)),
                   elements=_VALUES),
       limits=st.tuples(st.floats(-3, 3), st.floats(0, 4)) | st.tuples(st.integers(-3, 3), st.integers(0, 4)),
       cmap=st.sampled_from(_CMAPS), form=st.sampled_from(["array", "as set_data keeps it", "masked, no mask"]))
def test_cell_colours_are_matplotlibs_colour_mapping(data, limits, cmap, form):
    """The fast colour-mapping gives to_rgba's bytes for every float array, limits (equal ones
    included) and colormap, with NaN, infinities, and values at, under and over the limits; as a
    plain array, as the masked array ``AxesImage.set_data`` keeps (invalid cells masked), and as a
    masked array without a mask."""
    low, width = limits
    fig = new_figure(1, 1)
    image = fig.add_subplot().imshow(np.zeros((2, 2)), cmap=cmap, vmin=low, vmax=low + width)
    if form == "as set_data keeps it":
        image.set_data(data)
        data = image.get_array()
    elif form == "masked, no mask":
        data = np.ma.MaskedArray(data)
    fast = _images.cell_colours(image, data)
    assert fast is not None
    with np.errstate(over="ignore"):  # matplotlib's own warning for limits a hair apart
        expected = image.to_rgba(data, bytes=True)
    np.testing.assert_array_equal(fast, expected)


@pytest.mark.parametrize("case", ["integer data", "log norm", "clipping norm"])
def test_cell_colours_leave_other_cases_to_matplotlib(case):
    fig = new_figure(1, 1)
    data = rng.random((3, 4))
    image = fig.add_subplot().imshow(data, vmin=0.1, vmax=0.9)
    if case == "integer data":
        data = (data * 10).astype(int)
    elif case == "log norm":
        image.set_norm(__import__("matplotlib.colors").colors.LogNorm(0.1, 0.9))
    else:
        image.norm.clip = True
    assert _images.cell_colours(image, data) is None
