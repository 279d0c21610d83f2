"""The tiny deformable CNN (explainer.models.deform): its forward pass and sampling positions against slow
references in float64, and the shipped weights held to stated bars on fresh seeded scenes.

Measured with the shipped weights (``python -m explainer.train deform``: 4000 scenes, 8 epochs; 4 min on 2 idle
cores, 31 min on the same cores shared with other training; a rerun gave bit-identical weights) on fresh scenes (``test_scenes``, seed 2; 300 here, 500 in
brackets), one object of size r 2.3-9.7 px at a random angle on clutter, four shapes (chance 25%):
accuracy 65.0% (63.4%): 33% for r < 4 px, 68% for 4-6, 79% for 6-8, 78% for 8-10. The same weights with
zero offsets fall to 39.7% (40.8%). The learned spread (mean distance of a unit's 9 taps from it; 2.15 px
for the regular grid) is 4.39 px over the background and 3.52 px (3.50) over the object's cells, smaller
on the object in 93% of scenes, and it shrinks as the object grows: correlation with r -0.61 (-0.61).
Control, the trained head's weights shuffled: spread 2.13 px on both, correlation -0.18 (-0.16).
So the layer learned to read wide over the clutter and compactly on the object, not (as Dai et al.
found for large detectors) wider on larger objects.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from explainer.models.deform import STRIDE, DeformCNN, build


def _randomised(seed: int) -> DeformCNN:
    """A float64 DeformCNN in eval mode with every parameter and BN statistic random, offset head included."""
    g = torch.Generator().manual_seed(seed)
    model = DeformCNN().double().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 0.3 if "offset_conv" in name else 0.5
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g, dtype=b.dtype) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g, dtype=b.dtype))
    return model


def _read(features, y, x):
    """Bilinear read of ``features (C, h, w)`` at one fractional (y, x), zero outside: the four neighbours."""
    c, h, w = features.shape
    y0, x0 = math.floor(y), math.floor(x)
    total = features.new_zeros(c)
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                total = total + wy * wx * features[:, yy, xx]
    return total


def _deform_layer_ref(model, features, positions):
    """The deformable layer's output rebuilt from the image positions of :meth:`DeformCNN.sampling`.

    Each tap's image position is turned back into map cells, ``(p - (STRIDE-1)/2) / STRIDE``, read from the
    stem's map by :func:`_read`, and weighted by the layer's kernel, one output position and tap at a time.
    """
    weight = model.deform.conv.weight  # (C_out, C_in, 3, 3)
    b, _, h, w = features.shape
    out = features.new_zeros(b, weight.shape[0], h, w)
    cells = (positions - (STRIDE - 1) / 2) / STRIDE  # (B, h, w, 9, 2)
    for n in range(b):
        for i in range(h):
            for j in range(w):
                for k in range(9):
                    y, x = (float(v) for v in cells[n, i, j, k])
                    out[n, :, i, j] += weight[:, :, k // 3, k % 3] @ _read(features[n], y, x)
    return out


def test_forward_and_sampling_agree_with_a_slow_reference_float64():
    model = _randomised(0)
    x = torch.rand(2, 3, 15, 19, generator=torch.Generator().manual_seed(1), dtype=torch.float64)  # odd sizes
    s = model.sampling(x)
    assert s.offset.shape == (2, 18, 7, 9) and s.positions.shape == (2, 7, 9, 9, 2) and s.regular.shape == (7, 9, 9, 2)
    assert s.offset.abs().mean() > 0.3  # the taps really move, by fractions of a cell
    features = model.stem(x - 0.5)  # (2, 32, 7, 9)
    deformed = _deform_layer_ref(model, features, s.positions)
    expected = model.head(model.after(deformed).amax(dim=(2, 3)))
    torch.testing.assert_close(model(x), expected)


def test_sampling_positions_are_image_pixels_the_regular_grid_plus_offsets():
    model = _randomised(2)
    x = torch.rand(1, 3, 13, 10, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    s = model.sampling(x)
    for i, j, k in ((0, 0, 0), (3, 2, 4), (5, 4, 8), (2, 1, 5)):  # (h, w) = (6, 5)
        a, b = divmod(k, 3)
        dy, dx = float(s.offset[0, 2 * k, i, j]), float(s.offset[0, 2 * k + 1, i, j])
        # map cell (i - 1 + a + dy, j - 1 + b + dx); cell c covers image pixels 2c and 2c + 1, centred at 2c + 0.5
        expected = [STRIDE * (i - 1 + a + dy) + 0.5, STRIDE * (j - 1 + b + dx) + 0.5]
        torch.testing.assert_close(s.positions[0, i, j, k], torch.tensor(expected, dtype=torch.float64))
        assert s.regular[i, j, k].tolist() == [STRIDE * (i - 1 + a) + 0.5, STRIDE * (j - 1 + b) + 0.5]
    distances = (s.positions[0, 3, 2] - s.centres[3, 2]).norm(dim=-1)  # (9,)
    torch.testing.assert_close(s.spread[0, 3, 2], distances.mean())


def test_zero_offsets_are_an_ordinary_convolution_and_a_fresh_model_starts_there():
    model = _randomised(4)
    flat = DeformCNN(zero_offsets=True).double().eval()
    flat.load_state_dict(model.state_dict())
    x = torch.rand(3, 3, 16, 12, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    conv = F.conv2d(model.stem(x - 0.5), model.deform.conv.weight, padding=1)  # (3, 32, 8, 6)
    torch.testing.assert_close(flat(x), model.head(model.after(conv).amax(dim=(2, 3))))
    assert flat.sampling(x).offset.abs().max() == 0 and not torch.allclose(model(x), flat(x))
    fresh = build().eval()
    s = fresh.sampling(x.float())
    assert torch.equal(s.positions, s.regular.expand_as(s.positions))
    torch.testing.assert_close(s.spread, torch.full_like(s.spread, STRIDE * (4 + 4 * math.sqrt(2)) / 9))


def test_bad_input_is_refused_naming_the_shape():
    model = build()
    for bad in (torch.rand(1, 1, 16, 16), torch.rand(3, 16, 16), torch.rand(1, 3, 3, 16)):
        with pytest.raises(ValueError, match=r"x must .*got shape"):
            model(bad)
        with pytest.raises(ValueError, match=r"x must .*got shape"):
            model.sampling(bad)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        model([[0.0]])


# --------------------------------------------------------------------------- the shipped weights
ACCURACY_BAR = 0.55  # chance is 0.25 (four shapes)


@pytest.fixture(scope="module")
def fresh():
    from explainer.train.deform import test_scenes

    return test_scenes(300)  # seed 2: never trained on


def _spreads(model, scenes):
    """Per scene: the mean learned spread over the object's cells and over the background's (image pixels)."""
    spread = model.sampling(scenes.images).spread  # (N, h, w)
    on = F.avg_pool2d(scenes.masks[:, :1].float(), STRIDE)[:, 0] > 0.5  # (N, h, w) cells mostly on the object
    keep = on.any(dim=(1, 2))  # the smallest objects can cover no whole cell
    on_object = (spread * on).sum((1, 2)) / on.sum((1, 2)).clamp(min=1)
    background = (spread * ~on).sum((1, 2)) / (~on).sum((1, 2))
    return on_object[keep], background[keep], scenes.radii[keep, 0]


def test_shipped_weights_load_safely_and_are_small():
    from explainer.models import WEIGHTS_DIR, load_pretrained
    from explainer.models.deform import WEIGHTS

    path = WEIGHTS_DIR / WEIGHTS
    state = torch.load(path, weights_only=True)
    assert set(state) == set(build().state_dict()) and path.stat().st_size < 200_000
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    model = load_pretrained("deform")
    assert not model.training and next(model.parameters()).dtype == torch.float32


def test_accurate_on_fresh_scenes_and_the_offsets_carry_part_of_it(fresh):
    from explainer.models import load_pretrained
    from explainer.train.deform import accuracy

    model = load_pretrained("deform")
    flat = DeformCNN(zero_offsets=True).eval()
    flat.load_state_dict(model.state_dict())
    assert accuracy(model, fresh) >= ACCURACY_BAR
    assert accuracy(flat, fresh) < accuracy(model, fresh) - 0.15  # the same weights reading the regular grid


def test_the_learned_taps_spread_over_the_clutter_and_gather_on_the_object(fresh):
    """What the offsets learned, against the regular grid and a control: the trained head's weights shuffled
    (same values, any structure gone)."""
    from explainer.models import load_pretrained

    model = load_pretrained("deform")
    regular = STRIDE * (4 + 4 * math.sqrt(2)) / 9  # 2.15 px
    on_object, background, radius = _spreads(model, fresh)
    assert background.mean() > 1.7 * regular  # the taps reach about twice as far over the clutter
    assert (on_object < background).float().mean() > 0.9  # ... and stay closer together on the object
    assert torch.corrcoef(torch.stack([on_object, radius]))[0, 1] < -0.4  # the more so, the larger the object
    control = DeformCNN().eval()
    control.load_state_dict(model.state_dict())
    with torch.no_grad():
        w = control.deform.offset_conv.weight
        w.copy_(w.flatten()[torch.randperm(w.numel(), generator=torch.Generator().manual_seed(0))].view_as(w))
    c_object, c_background, _ = _spreads(control, fresh)
    assert abs(float(c_background.mean()) - regular) < 0.3 * regular  # random offsets of these weights stay small
    assert abs(torch.corrcoef(torch.stack([c_object, radius]))[0, 1]) < 0.3
