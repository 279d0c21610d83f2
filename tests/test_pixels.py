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
