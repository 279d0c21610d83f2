"""The dilation and deformation explorers in plain pytest: every control moves the picture, clicks select,
the stated facts hold, limits grey out the seed, kept results give a fresh explorer's picture."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402
import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from explainer.explorers.dilation import (  # noqa: E402
    EDGE_KERNELS,
    HYBRID_SCHEDULES,
    MASKS,
    ZOOM_HALF,
    deformation_explorer,
    dilation_explorer,
)
from explainer.deformable import affine_offsets, deform_conv2d, random_offsets  # noqa: E402
from explainer.sampling import hdc_max_gap, sampling_positions, stacked_coverage  # noqa: E402
from _controls import assert_every_control_repaints, assert_walk_matches_fresh  # noqa: E402


@pytest.fixture(autouse=True)
def no_open_figures():
    yield
    assert plt.get_fignums() == []


def _same(*names):
    """A walk check: the results' tensors ``names`` are equal to a fresh explorer's, bit for bit."""
    def check(ex, fresh, move):
        for name in names:
            assert torch.equal(getattr(ex.result, name), getattr(fresh.result, name)), (move, name)
    return check


def test_dilation_facts_and_every_control():
    ex = dilation_explorer()
    assert ex.last_error is None and ex.png()[:4] == b"\x89PNG"
    r = ex.result
    assert (r.kernel_size, r.dilation, r.effective) == (3, 2, 5)
    assert r.holes_hybrid == 0 and r.holes_equal > 0
    centre = torch.tensor(r.centre, dtype=torch.float32)
    assert torch.equal(r.taps[4], centre) and torch.equal(r.taps[0], centre - 2)
    assert "3 + 2·1 = <b>5</b>" in ex.info.value
    assert_every_control_repaints(ex)
    ex.set(kernel_size=3, dilation=2, hybrid="1, 2, 5")
    for d in range(1, 7):
        ex.set(dilation=d)
        assert ex.result.effective == 3 + 2 * (d - 1)
        assert ex.result.field_equal == 1 + 3 * 2 * d
        assert (ex.result.holes_equal == 0) == (d == 1)  # equal dilations > 1 always leave holes
        torch.testing.assert_close(ex.result.coverage_equal, stacked_coverage(3, [d] * 3))


def test_a_dilation_walk_gives_a_fresh_explorers_picture():
    """Coverages are kept per (k, schedule): after any walk, result, picture and info are those of an explorer
    built at the same values."""
    ex = dilation_explorer()
    walk = [dict(dilation=3), dict(dilation=1), dict(kernel_size=4), dict(dilation=5), dict(hybrid="1, 2, 3"),
            dict(dilation=2), dict(kernel_size=2), dict(hybrid="1, 2, 5"), dict(kernel_size=3, dilation=6),
            dict(dilation=2)]
    assert_walk_matches_fresh(ex, dilation_explorer, walk, _same("taps", "coverage_equal", "coverage_hybrid"))


def test_dilation_click_moves_the_kernel():
    ex = dilation_explorer()
    before, centre = ex.png(), ex.result.centre
    px, py = ex.painter.data_to_pixel(ex.ax_photo, 10.0, 20.0)
    ex.click(px, py)
    assert ex.result.centre == (20, 10) != centre and ex.png() != before
    expected = sampling_positions(64, 3, padding=2, dilation=2)[20, 10]
    assert torch.equal(ex.result.taps, expected)
    ex.click(1, 1)  # outside the photo: nothing moves
    assert ex.result.centre == (20, 10)


def test_stacked_coverage_counts_paths_like_autograd():
    for k, ds in ((3, [2, 2, 2]), (3, [1, 2, 5]), (2, [1, 3]), (4, [2, 1, 3])):
        cov = stacked_coverage(k, ds)
        size = cov.shape[0]
        x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
        y = x
        for d in ds:  # all-ones weights: d y / d x counts the paths
            y = F.conv2d(y, torch.ones(1, 1, k, k, dtype=torch.float64), dilation=d)
        assert y.shape[-2:] == (1, 1)
        (grad,) = torch.autograd.grad(y.sum(), x)
        torch.testing.assert_close(cov, grad[0, 0])
        assert cov.sum() == k ** (2 * len(ds))
    with pytest.raises(ValueError, match="dilations"):
        stacked_coverage(3, [])


def test_deformation_facts_and_every_control():
    ex = deformation_explorer()
    assert ex.last_error is None
    assert_every_control_repaints(ex)
    ex.set(scale=1.0, angle=0.0, shear=0.0, noise=0.0, mask="none")
    r = ex.result
    assert torch.equal(r.deformed, r.regular)  # no deformation: the ordinary grid
    torch.testing.assert_close(r.deformed_output, r.plain)  # ... and the ordinary convolution
    assert ex.controls["seed"].disabled  # the seed matters only with random offsets or mask
    ex.set(scale=2.0)
    r = ex.result
    torch.testing.assert_close(r.deformed - r.deformed[4], 2 * (r.regular - r.regular[4]))
    assert not torch.allclose(r.deformed_output, r.plain)
    ex.set(scale=1.0, angle=90.0)
    rel = ex.result.deformed - ex.result.regular[4]
    torch.testing.assert_close(rel[5], torch.tensor([-1.0, 0.0]), atol=1e-6, rtol=0)  # right of centre -> above
    ex.set(mask="random")
    assert not ex.controls["seed"].disabled and ex.result.mask.shape == (1, 9, 48, 48)
    x = ex.photo[None]
    w = torch.tensor(EDGE_KERNELS[ex.values["kernel"]], dtype=torch.float32)[None, None]
    torch.testing.assert_close(ex.result.deformed_output,
                               deform_conv2d(x, ex.result.offset, w, padding=1, mask=ex.result.mask)[0, 0])
    # The explorer keeps the seed's noise, the kernel's plain map and computes one unit's taps; each
    # must equal the library's own full computation, after the controls moved away and back.
    ex.set(noise=0.7, seed=3, kernel=list(EDGE_KERNELS)[1], angle=25.0)
    ex.set(seed=4, noise=1.1, kernel=list(EDGE_KERNELS)[0])
    ex.set(seed=3, noise=0.7, kernel=list(EDGE_KERNELS)[1])
    r = ex.result
    matrix = torch.tensor([[math.cos(math.radians(25)), -math.sin(math.radians(25))],
                           [math.sin(math.radians(25)), math.cos(math.radians(25))]])
    torch.testing.assert_close(r.offset, affine_offsets(3, 48, matrix) + random_offsets(3, 48, 0.7, seed=3))
    assert torch.equal(r.deformed, sampling_positions(48, 3, padding=1, offset=r.offset[0])[r.unit])
    w = torch.tensor(EDGE_KERNELS[list(EDGE_KERNELS)[1]], dtype=torch.float32)[None, None]
    assert torch.equal(r.plain, F.conv2d(x, w, padding=1)[0, 0])
    # The deformed output is kept while only the tap or the unit moves, and follows every other control.
    for move in (dict(tap=2), dict(mask="centre-weighted"), dict(tap=7), dict(shear=0.5), dict(tap=4)):
        ex.set(**move)
        r = ex.result
        torch.testing.assert_close(r.deformed_output, deform_conv2d(x, r.offset, w, padding=1, mask=r.mask)[0, 0])
        assert r.tap == ex.values["tap"]
    expected = affine_offsets(3, 48, matrix @ torch.tensor([[1.0, 0.0], [0.5, 1.0]])) + random_offsets(3, 48, 0.7, seed=3)
    torch.testing.assert_close(r.offset, expected)


def test_a_deformation_walk_gives_a_fresh_explorers_picture():
    """Offsets and outputs are kept per setting: after any walk,
    result, picture and info are those of an explorer built at the same values."""
    ex = deformation_explorer()
    walk = [dict(tap=3), dict(angle=35.0), dict(angle=30.0), dict(scale=1.5), dict(tap=8), dict(kernel=list(EDGE_KERNELS)[1]),
            dict(scale=2.0), dict(noise=0.0), dict(seed=5, mask="random"), dict(noise=0.5), dict(shear=-0.3),
            dict(kernel=list(EDGE_KERNELS)[0]), dict(mask="none"), dict(tap=0, shear=0.0)]
    assert_walk_matches_fresh(ex, deformation_explorer, walk, _same("offset", "deformed", "deformed_output", "plain"))


def test_deformation_click_selects_a_unit_on_any_panel():
    ex = deformation_explorer()
    for ax, (x, y) in zip(ex.axes, ((5.0, 7.0), (30.0, 12.0), (44.0, 40.0), (2.0, 3.0))):
        before = ex.png()
        ex.click(*ex.painter.data_to_pixel(ax, x, y))
        assert ex.result.unit == (round(y), round(x)) and ex.png() != before
        assert torch.equal(ex.result.regular, sampling_positions(48, 3, padding=1)[round(y), round(x)])


def test_bad_options_and_presentation():
    with pytest.raises(TypeError, match="zoom"):
        deformation_explorer(zoom=2)
    with pytest.raises(ValueError, match=r"scale must be a number in \[0.5, 3\], got 10"):
        deformation_explorer(scale=10)
    with pytest.raises(TypeError, match="angle must be a number"):
        deformation_explorer(angle="30")
    with pytest.raises(ValueError, match="tap"):
        deformation_explorer(tap=9)
    with pytest.raises(ValueError, match="seed"):
        deformation_explorer(seed=21)
    with pytest.raises(ValueError, match="mask"):
        deformation_explorer(mask="gaussian")
    with pytest.raises(ValueError, match="dilation"):
        dilation_explorer(dilation=7)
    with pytest.raises(ValueError, match="hybrid"):
        dilation_explorer(hybrid="2, 2, 2")
    big = dilation_explorer(presentation=True)
    assert big.theme.presentation and big.painter.size[0] > dilation_explorer(presentation=False).painter.size[0]
    assert len(MASKS) == 3 and len(HYBRID_SCHEDULES) >= 2


@pytest.mark.parametrize("k,d", [(3, 2), (4, 1), (4, 3), (2, 5), (5, 2)])
def test_dilation_taps_are_what_conv2d_padding_same_reads(k, d):
    """The shown taps of unit (y, x) are the pixels F.conv2d(padding="same") weighs for output (y, x), for odd
    and even (k-1)d; the info text says the padding correctly (no symmetric padding when (k-1)d is odd)."""
    ex = dilation_explorer(kernel_size=k, dilation=d)
    r = ex.result
    before, after = r.padding
    assert before + after == (k - 1) * d and after - before == (k - 1) * d % 2
    g = torch.Generator().manual_seed(k + 10 * d)
    x = torch.randn(1, 1, 64, 64, dtype=torch.float64, generator=g)
    w = torch.randn(1, 1, k, k, dtype=torch.float64, generator=g)
    with warnings.catch_warnings():  # odd (k-1)d: PyTorch warns (once) that it pads a copy of the input
        warnings.simplefilter("ignore", UserWarning)
        y = F.conv2d(x, w, padding="same", dilation=d)
    cy, cx = r.centre
    taps = r.taps.long()
    assert ((taps >= 0) & (taps < 64)).all()  # the centre unit reads no padding
    torch.testing.assert_close(y[0, 0, cy, cx], (x[0, 0, taps[:, 0], taps[:, 1]] * w.flatten()).sum())
    if (k - 1) * d % 2:
        assert "no symmetric padding keeps the size" in ex.info.value
        assert f"puts {before} top/left and {after} bottom/right" in ex.info.value
    else:
        assert f"padding (k−1)d/2 = {before} on each side" in ex.info.value


def test_dilation_info_says_why_the_hybrid_schedule_covers_or_not():
    """The gridding line names the real condition (common factor, HDC's gap bound M_2 <= k) and agrees with the
    coverage the panel shows, for every kernel size and schedule."""
    for k in range(2, 6):
        for label, schedule in HYBRID_SCHEDULES:
            ex = dilation_explorer(kernel_size=k, hybrid=label)
            r, info = ex.result, ex.info.value
            assert r.hdc_gap == hdc_max_gap(schedule)
            if math.gcd(*schedule) > 1:
                assert r.holes_hybrid > 0 and f"share the factor {math.gcd(*schedule)}" in info
            elif "(HDC)" in info:
                assert r.holes_hybrid == 0 and r.hdc_gap <= k
            else:
                assert (r.holes_hybrid > 0) == ("yet" in info)
                assert "exceeds" not in info or r.hdc_gap > k
            assert f"{int(r.coverage_equal.max())} paths reach one pixel" in info


def test_deformation_zoom_separates_the_taps_and_marks_its_region():
    ex = deformation_explorer()  # scale 2: taps about 2 px apart, a few screen pixels on the 48 px photo
    r = ex.result

    def spacing(ax, points):
        screen = ax.transData.transform(points[:, [1, 0]].double().numpy())  # (9, 2) display pixels
        dist = np.hypot(*(screen[:, None] - screen[None]).transpose(2, 0, 1))
        return dist[np.triu_indices(9, 1)].min()

    (uy, ux), h = r.unit, ZOOM_HALF
    zoomed = r.deformed - torch.tensor([uy - h, ux - h], dtype=r.deformed.dtype)
    assert spacing(ex.zoom_ax, zoomed) > 3 * spacing(ex.axes[0], r.deformed)  # magnified: the taps separate
    np.testing.assert_allclose(ex.zoom.taps.taps.get_offsets(), zoomed.numpy()[:, ::-1], atol=1e-5)
    box = ex.taps.footprint
    assert box.get_visible() and box.get_bbox().bounds == pytest.approx((ux - h - 0.5, uy - h - 0.5, 2 * h + 1, 2 * h + 1))
    before = ex.png()
    ex.click(*ex.painter.data_to_pixel(ex.axes[2], 10.0, 30.0))
    assert ex.result.unit == (30, 10) and ex.png() != before
    assert ex.taps.footprint.get_bbox().bounds == pytest.approx((10 - h - 0.5, 30 - h - 0.5, 2 * h + 1, 2 * h + 1))
    crop = ex.zoom.taps.photo.get_array()[..., 0]
    np.testing.assert_allclose(crop, ex.photo[0, 30 - h:31 + h, 10 - h:11 + h].numpy(), atol=1e-6)
    ex.click(*ex.painter.data_to_pixel(ex.zoom_ax, 1.0, 1.0))  # the zoom is not a map of units: nothing moves
    assert ex.result.unit == (30, 10)


def test_deformation_colours_are_fixed_and_every_picture_fits_a_projector_page():
    ex = deformation_explorer()
    clim = ex.plain.get_clim()
    for kernel in EDGE_KERNELS:
        ex.set(kernel=kernel)
        assert ex.plain.get_clim() == ex.deformed.get_clim() == clim  # one colourbar for every kernel
        assert max(abs(ex.result.plain.min()), ex.result.plain.max()) <= clim[1]
    for factory in (dilation_explorer, deformation_explorer):
        big = factory(presentation=True)
        assert big.painter.size[0] <= 1200, (factory.__name__, big.painter.size)


# --------------------------------------------------------------------------- learned offsets
def _learned():
    from explainer.explorers.dilation import learned_offsets_explorer

    return learned_offsets_explorer


def test_learned_offsets_are_the_models_and_the_hand_made_grid_turns_and_scales():
    from explainer.deformable import affine_offsets
    from explainer.models import load_pretrained
    from explainer.models.deform import STRIDE

    ex = _learned()(scale=1.0, angle=0.0, seed=2)
    assert ex.last_error is None and ex.png()[:4] == b"\x89PNG"
    r = ex.result
    assert torch.allclose(r.hand, r.regular)  # scale 1, no turn: the hand-made grid is the regular one
    assert_every_control_repaints(ex)
    model = load_pretrained("deform")
    for move in (dict(scale=1.5, angle=45.0, seed=4), dict(scale=0.7, angle=-30.0), dict(seed=9, angle=90.0)):
        ex.set(**move)
        r, v = ex.result, ex.values
        s = model.sampling(r.scene[None])  # the library's own sampling of the picture shown
        i, j = r.unit
        assert torch.equal(r.learned, s.positions[0, i, j]) and torch.equal(r.spread, s.spread[0])
        t = math.radians(v["angle"])
        # screen-counter-clockwise turn of (y, x): a tap right of the centre goes up
        matrix = v["scale"] * torch.tensor([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
        hand_cells = affine_offsets(3, 1, matrix)[0, :, 0, 0].reshape(9, 2)  # offsets in map cells
        torch.testing.assert_close(r.hand, r.regular + STRIDE * hand_cells)
        if v["angle"] == 90.0:  # the tap right of the centre goes up
            torch.testing.assert_close(r.hand[5] - r.hand[4], torch.tensor([-STRIDE * v["scale"], 0.0]))
        # the unit is the cell under the object's centre, the object turned about that centre
        cy, cx = (c.float().mean() for c in r.mask.nonzero(as_tuple=True))
        assert (i, j) == (int(cy // STRIDE), int(cx // STRIDE))
        with torch.no_grad():
            probs = torch.softmax(model(r.scene[None]), 1)[0]
        assert r.confidence == pytest.approx(float(probs.max()))


def test_turning_the_scene_turns_the_object_about_its_centre():
    from explainer.data import hard_scenes
    from explainer.explorers.dilation import _turn

    s = hard_scenes(3, 32, seed=5, objects=(1, 1), scale=(1.2, 1.2), rotate=True, contrast=1.0)
    for image, mask in zip(s.images, s.masks[:, 0], strict=True):
        same_image, same_mask = _turn(image, mask, 0.0)
        assert torch.equal(same_image, image) and torch.equal(same_mask, mask)
        centre = torch.stack([c.double().mean() for c in mask.nonzero(as_tuple=True)])
        for degrees in (30.0, 90.0, -45.0):
            turned_image, turned = _turn(image, mask, degrees)
            assert abs(int(turned.sum()) - int(mask.sum())) <= 0.12 * int(mask.sum())  # nearest: area kept roughly
            moved = torch.stack([c.double().mean() for c in turned.nonzero(as_tuple=True)])
            assert (moved - centre).norm() < 0.75
            # every object pixel of the turned scene shows the object's colour
            colour = image[:, mask].mean(1)
            torch.testing.assert_close(turned_image[:, turned].mean(1), colour, atol=0.02, rtol=0)
        _, quarter = _turn(image, mask, 90.0)
        # a quarter turn on screen (counter-clockwise): what was right of the centre is now above it
        ys, xs = mask.nonzero(as_tuple=True)
        right = xs.double().max() - centre[1]
        ys2, _ = quarter.nonzero(as_tuple=True)
        assert abs((centre[0] - ys2.double().min()) - right) <= 1.0


def test_a_learned_offsets_walk_gives_a_fresh_explorers_picture_and_clicks_pick_units():
    factory = _learned()
    ex = factory()
    walk = [dict(scale=1.5), dict(angle=45.0), dict(seed=3), dict(scale=0.6), dict(angle=-90.0), dict(seed=0),
            dict(scale=1.2, angle=0.0)]
    assert_walk_matches_fresh(ex, factory, walk, _same("learned", "hand", "spread", "scene"))
    for ax, (x, y) in zip(ex.axes, ((5.0, 7.0), (30.0, 12.0), (20.0, 26.0)), strict=True):
        before = ex.png()
        ex.click(*ex.painter.data_to_pixel(ax, x, y))
        assert ex.result.unit == (int(y // 2), int(x // 2)) and ex.png() != before
    ex.set(angle=30.0)  # a clicked unit stays while the object turns or scales
    assert ex.result.unit == (13, 10)
    ex.set(seed=7)  # a new scene: back to the cell under its object
    cy, cx = (c.float().mean() for c in ex.result.mask.nonzero(as_tuple=True))
    assert ex.result.unit == (int(cy // 2), int(cx // 2))


def test_learned_offsets_bad_options():
    factory = _learned()
    with pytest.raises(ValueError, match=r"scale must be a number in \[0.5, 1.6\], got 2"):
        factory(scale=2)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 20\], got 21"):
        factory(seed=21)
    with pytest.raises(TypeError, match="angle must be a number"):
        factory(angle="90")
