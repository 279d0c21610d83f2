"""Transposed convolution's checkerboard: overlap counts against a slow loop, and the checkerboard explorer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import itertools  # noqa: E402
import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from torch import nn  # noqa: E402

import explainer.explorers.convolution as module  # noqa: E402
from _controls import assert_every_control_repaints, step  # noqa: E402
from _pictures import assert_same_picture  # noqa: E402
from explainer.conv import transposed_overlap  # noqa: E402
from explainer.explorers.convolution import CHECKERBOARD_RANGES, checkerboard_explorer  # noqa: E402
from explainer.paint import ENV_VAR, Painter, new_figure  # noqa: E402
from explainer.views.convolution import draw_overlap  # noqa: E402


def overlap_by_loop(n, k, s, p):
    """Count, for every output pixel, the (input pixel, kernel tap) pairs that land on it, one by one (float64)."""
    (nh, nw), (kh, kw), (sh, sw), (ph, pw) = n, k, s, p
    oh, ow = (nh - 1) * sh + kh - 2 * ph, (nw - 1) * sw + kw - 2 * pw
    counts = torch.zeros(oh, ow, dtype=torch.float64)
    for iy, ix, ky, kx in itertools.product(range(nh), range(nw), range(kh), range(kw)):
        y, x = iy * sh + ky - ph, ix * sw + kx - pw  # where input pixel (iy, ix) puts tap (ky, kx)
        if 0 <= y < oh and 0 <= x < ow:
            counts[y, x] += 1
    return counts


@pytest.mark.parametrize("n,k,s,p", [
    ((3, 4), (3, 2), (2, 3), (0, 0)),
    ((5, 2), (5, 4), (3, 2), (1, 0)),
    ((4, 6), (1, 7), (2, 4), (0, 3)),
    ((2, 3), (7, 3), (1, 1), (2, 1)),
])
def test_overlap_counts_match_a_slow_loop_and_conv_transpose2d(n, k, s, p):
    result = transposed_overlap(n, k, s, p)
    expected = overlap_by_loop(n, k, s, p)
    assert result.counts.dtype == torch.int64
    assert torch.equal(result.counts.double(), expected)
    up = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, bias=False).double()
    with torch.no_grad():
        up.weight.fill_(1.0)
        assert torch.equal(up(torch.ones(1, 1, *n, dtype=torch.float64))[0, 0], expected)


@pytest.mark.parametrize("k,s", [(k, s) for k in range(1, 8) for s in range(1, 5)])
def test_interior_counts_are_products_of_floor_and_ceil_of_k_over_s(k, s):
    """The checkerboard's rule (Odena et al. 2016): even overlap inside exactly when s divides k."""
    result = transposed_overlap(2 * k + 3, k, s)  # large enough to have an interior
    low, high = k // s, math.ceil(k / s)
    assert set(result.levels) == {a * b for a in {low, high} for b in {low, high}}
    assert result.even == (k % s == 0)
    (y0, y1), (x0, x1) = result.interior
    inside = result.counts[y0:y1, x0:x1]
    assert torch.equal(inside[s:, :], inside[:-s, :]) and torch.equal(inside[:, s:], inside[:, :-s])  # period s
    assert int(result.counts.sum()) == (2 * k + 3) ** 2 * k * k  # every tap of every pixel lands somewhere


def test_the_lesson_numbers():
    """k = 3, s = 2 gives 1, 2 and 4 (a 4:1 ratio); k = 4, s = 2 gives 4 everywhere inside; k = 1, s = 2 leaves holes."""
    assert transposed_overlap(4, 3, 2).levels == (1, 2, 4)
    assert transposed_overlap(4, 4, 2).levels == (4,)
    assert transposed_overlap(4, 4, 3).levels == (1, 2, 4)
    assert transposed_overlap(4, 1, 2).levels == (0, 1)
    assert transposed_overlap(4, 3, 1).levels == (9,)
    assert transposed_overlap((2, 3), (7, 1), 1).interior == ((6, 6), (0, 3)) and transposed_overlap(2, 7, 1).levels == ()


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(input_size=0, kernel_size=3), ValueError, ["input_size", ">= 1"]),
    (dict(input_size=3, kernel_size=2.5), TypeError, ["kernel_size"]),
    (dict(input_size=2, kernel_size=1, stride=1, padding=1), ValueError, ["padding=1", "too large"]),
    (dict(input_size=3, kernel_size=3, stride=0), ValueError, ["stride"]),
])
def test_overlap_rejects_bad_input_naming_it(kwargs, error, words):
    with pytest.raises(error) as info:
        transposed_overlap(**kwargs)
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- view
def test_view_returns_artists_labels_counts_and_leaves_no_figure():
    fig = new_figure(6, 4.5)
    ax, cax = fig.add_axes((0.05, 0.05, 0.7, 0.9)), fig.add_axes((0.8, 0.1, 0.04, 0.8))
    view = draw_overlap(ax, cax, transposed_overlap(3, 3, 2))
    assert view.artists and all(isinstance(a, Artist) and a.axes is ax for a in view.artists)
    assert view.shown == [str(v) for v in transposed_overlap(3, 3, 2).counts.flatten().tolist()]
    assert len(view.labels.get_paths()) == len(view.labels.get_offsets()) == 7 * 7
    assert list(view.colorbar.get_ticks()) == [0, 1, 2, 3, 4] and view.vmax == 4
    assert view.update(transposed_overlap(3, 4, 2)) is False  # same largest count: the bar stays
    assert view.update(transposed_overlap(6, 5, 2)) is True  # counts up to 9
    assert all(float(t).is_integer() for t in view.colorbar.get_ticks()) and view.colorbar.vmax >= 9
    assert view.shown == [] and not view.labels.get_paths()  # 15 x 15 output: too many labels, the bar reads it
    view.update(transposed_overlap(3, 3, 2))
    dark = view.labels.get_facecolor()[[int(t) == 1 for t in view.shown]]  # count 1: a dark cell, white digits
    assert np.allclose(dark, [1, 1, 1, 1]) and np.allclose(view.labels.get_facecolor()[view.shown.index("4")], [0, 0, 0, 1])
    Painter(fig).frame()
    assert plt.get_fignums() == []


# --------------------------------------------------------------------------- explorer
@pytest.fixture
def ex():
    explorer = checkerboard_explorer()
    yield explorer
    assert plt.get_fignums() == []


def test_builds_with_the_checkerboard_and_its_explanation(ex):
    assert ex.png()[:4] == b"\x89PNG" and ex.frames == 1 and ex.last_error is None
    assert ex.result.levels == (1, 2, 4) and not ex.result.even
    assert "⌊k/s⌋ = 1" in ex.info.value and "uneven" in ex.info.value
    assert_every_control_repaints(ex)


def test_try_this_steps_show_what_the_lesson_says(ex):
    ex.set(kernel_size=4)
    assert ex.result.even and ex.result.levels == (4,) and "no checkerboard" in ex.info.value
    ex.set(stride=3)
    assert ex.result.levels == (1, 2, 4)
    ex.set(kernel_size=1, stride=2)
    assert ex.result.levels == (0, 1) and "no patch reaches" in ex.info.value
    ex.set(stride=1, kernel_size=3)
    assert ex.result.even and ex.last_error is None


def test_a_moved_explorer_paints_what_a_fresh_one_paints(ex):
    for move in (dict(kernel_size=4), dict(stride=1, kernel_size=7, input_size=6), dict(kernel_size=1, stride=2),
                 dict(padding=1), dict(input_size=2, padding=0), dict(kernel_size=3, stride=2, input_size=4)):
        ex.set(**move)
        fresh = checkerboard_explorer(**ex.values)
        assert ex.png() == fresh.png(), move
        assert ex.info.value == fresh.info.value and ex.hints.value == fresh.hints.value, move


@pytest.mark.parametrize("presentation", [False, True])
def test_picture_fits_a_projector_page(presentation):
    ex = checkerboard_explorer(presentation=presentation)
    assert ex.painter.size[0] <= 1200 and ex.painter.size[1] <= 720


def test_fast_paths_paint_what_stock_matplotlib_paints(monkeypatch):
    def walk(off):
        monkeypatch.setenv(ENV_VAR, off)
        ex = checkerboard_explorer()
        frames = [ex.png()]
        for control in ex.controls.values():
            start = control.value
            for value in (step(control), start):
                control.value = value
                frames.append(ex.png())
        return frames

    for i, (fast, stock) in enumerate(zip(walk("0"), walk("1"))):
        assert_same_picture(fast, stock, label=i)


def test_padding_is_limited_so_the_output_never_vanishes(ex):
    ex.set(input_size=2, stride=1, kernel_size=1)  # output 2 - 2p >= 1: p = 0 only
    assert ex.controls["padding"].max == 0 and "≥ 1" in ex.hints.value
    with pytest.raises(ValueError, match="padding=1 is not allowed"):
        ex.set(padding=1)
    for name, (low, high) in CHECKERBOARD_RANGES.items():
        for value in (low, high):
            ex.controls[name].value = value
            assert ex.last_error is None and ex.result.counts.shape[0] >= 1


def test_a_forced_error_is_shown_and_the_explorer_recovers(ex, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("overlap exploded")

    monkeypatch.setattr(module, "transposed_overlap", broken)
    picture = ex.png()
    ex.controls["stride"].value = 3
    assert ex.last_error == "RuntimeError: overlap exploded" and "overlap exploded" in ex.errors.value
    assert ex.png() == picture
    monkeypatch.undo()
    ex.controls["kernel_size"].value = 5
    assert ex.last_error is None and ex.result.kernel_size == (5, 5)


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(kernel_size=8), ValueError, ["kernel_size", "8"]),
    (dict(stride=0), ValueError, ["stride", "0"]),
    (dict(input_size=3.0), TypeError, ["input_size"]),
    (dict(input_size=2, kernel_size=1, stride=1, padding=1), ValueError, ["padding=1", "too large"]),
])
def test_factory_rejects_bad_settings(kwargs, error, words):
    with pytest.raises(error) as info:
        checkerboard_explorer(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="zoom"):
        checkerboard_explorer(zoom=2)


@pytest.mark.parametrize("n,k,s,p", [(3, 5, 3, 0), (4, 3, 2, 1), (5, 7, 2, 2), (2, 2, 3, 0), (6, 7, 1, 0), (3, 4, 4, 1)])
def test_interior_is_exactly_where_no_input_is_missing(n, k, s, p):
    """An output pixel is interior when every input of an unbounded row that would cover it exists."""
    result = transposed_overlap(n, k, s, p)
    (y0, y1), (x0, x1) = result.interior
    assert (y0, y1) == (x0, x1)  # square settings
    for y in range(result.counts.shape[0]):
        wanted = [i for i in range(-k - 1, n + k + 1) if 0 <= y + p - i * s <= k - 1]  # (before the crop p)
        assert (y0 <= y < y1) == all(0 <= i < n for i in wanted), y
