"""deform_conv2d against a deliberately slow loop reference (torchvision's CPU kernel, written out),
F.conv2d for zero and dilation offsets, gradcheck, the module and the offset builders."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.deformable import (
    DeformConv2d,
    affine_offsets,
    bilinear_read,
    bilinear_slope,
    fit_offsets,
    offset_channels,
    split_offset_head,
    deform_conv2d,
    dilation_as_offsets,
    random_offsets,
    scale_offsets,
)
from _oracles import rotation
from explainer.data import sample_image
from explainer.sampling import sampling_positions


def bilinear_ref(img, y, x):
    """torchvision's bilinear_interpolate: zero if (y, x) is beyond one pixel of the image, corners inside only."""
    h, w = img.shape
    if y <= -1 or y >= h or x <= -1 or x >= w:
        return img.new_zeros(())
    y0, x0 = math.floor(y), math.floor(x)
    ly, lx = y - y0, x - x0
    total = img.new_zeros(())
    for yy, wy in ((y0, 1 - ly), (y0 + 1, ly)):
        for xx, wx in ((x0, 1 - lx), (x0 + 1, lx)):
            if 0 <= yy < h and 0 <= xx < w:
                total = total + wy * wx * img[yy, xx]
    return total


def deform_ref(x, offset, weight, bias, stride, padding, dilation, mask=None):
    """Slow loop reference with torchvision's layouts, float64."""
    b, c, h, w = x.shape
    c_out, cg, kh, kw = weight.shape
    groups, offset_groups = c // cg, offset.shape[1] // (2 * kh * kw)
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh, ow = offset.shape[-2:]
    out = torch.zeros(b, c_out, oh, ow, dtype=x.dtype)
    for n in range(b):
        for o in range(c_out):
            g = o // (c_out // groups)
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0 if bias is None else float(bias[o])
                    for ci in range(cg):
                        channel = g * cg + ci
                        og = channel // (c // offset_groups)
                        for ky in range(kh):
                            for kx in range(kw):
                                k = ky * kw + kx
                                dy = float(offset[n, 2 * (og * kh * kw + k), i, j])
                                dx = float(offset[n, 2 * (og * kh * kw + k) + 1, i, j])
                                yy = i * sh - ph + ky * dh + dy
                                xx = j * sw - pw + kx * dw + dx
                                value = float(bilinear_ref(x[n, channel], yy, xx))
                                if mask is not None:
                                    value *= float(mask[n, og * kh * kw + k, i, j])
                                acc += float(weight[o, ci, ky, kx]) * value
                    out[n, o, i, j] = acc
    return out


def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def make(b, c, c_out, groups, offset_groups, hw, k, s, p, d, seed, modulated=True, scale=2.0):
    gen = torch.Generator().manual_seed(seed)
    oh, ow = (out_size(hw[i], k[i], s[i], p[i], d[i]) for i in range(2))
    x = torch.randn(b, c, *hw, dtype=torch.float64, generator=gen)
    weight = torch.randn(c_out, c // groups, *k, dtype=torch.float64, generator=gen)
    bias = torch.randn(c_out, dtype=torch.float64, generator=gen)
    offset = torch.randn(b, 2 * offset_groups * k[0] * k[1], oh, ow, dtype=torch.float64, generator=gen) * scale
    mask = torch.rand(b, offset_groups * k[0] * k[1], oh, ow, dtype=torch.float64, generator=gen) if modulated else None
    return x, offset, weight, bias, mask


CASES = [  # b, c, c_out, groups, offset_groups, (H, W), k, stride, padding, dilation
    (2, 4, 4, 2, 2, (6, 7), (2, 3), (2, 1), (1, 0), (1, 2)),
    (1, 3, 2, 1, 3, (5, 8), (3, 1), (1, 3), (0, 2), (2, 1)),
    (1, 4, 6, 2, 4, (7, 5), (3, 3), (2, 2), (1, 1), (1, 1)),
    (2, 2, 3, 1, 1, (4, 4), (1, 2), (1, 1), (2, 0), (1, 3)),
    (1, 2, 2, 1, 2, (1, 6), (1, 3), (1, 1), (1, 1), (1, 1)),  # one row: sampled by the gather, not grid_sample
]


@pytest.mark.parametrize("modulated", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_matches_the_slow_reference(case, modulated):
    b, c, c_out, g, og, hw, k, s, p, d = case
    x, offset, weight, bias, mask = make(b, c, c_out, g, og, hw, k, s, p, d, seed=len(hw) + sum(k), modulated=modulated)
    expected = deform_ref(x, offset, weight, bias, s, p, d, mask)
    torch.testing.assert_close(deform_conv2d(x, offset, weight, bias, s, p, d, mask), expected)


@pytest.mark.parametrize("case", [*CASES, (1, 2, 2, 1, 1, (37, 45), (3, 3), (1, 1), (1, 1), (1, 1))])
def test_float32_matches_the_float64_reference(case):
    """The explorers run in float32: the sampling must keep float32 accuracy, taps on exact pixels included.

    The photo-sized case matters: far from the origin, float32 coordinates carry larger rounding.
    """
    b, c, c_out, g, og, hw, k, s, p, d = case
    x, offset, weight, bias, mask = make(b, c, c_out, g, og, hw, k, s, p, d, seed=7)
    offset[:, ::3] = offset[:, ::3].round()  # a third of the taps on whole pixels, some on the border
    expected = deform_ref(x, offset, weight, bias, s, p, d, mask)
    got = deform_conv2d(x.float(), offset.float(), weight.float(), bias.float(), s, p, d, mask.float())
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected.float())


def test_non_contiguous_inputs_and_batch_zero():
    b, c, c_out, g, og, hw, k, s, p, d = CASES[0]
    x, offset, weight, bias, mask = make(b, c, c_out, g, og, hw, k, s, p, d, seed=3)
    expected = deform_ref(x, offset, weight, bias, s, p, d, mask)
    xt = x.transpose(-1, -2).contiguous().transpose(-1, -2)  # same values, other strides
    ot = offset.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    wt = weight.flip(0).contiguous().flip(0)
    mt = mask.transpose(0, 1).contiguous().transpose(0, 1)
    assert not xt.is_contiguous() and not ot.is_contiguous() and not mt.is_contiguous()
    torch.testing.assert_close(deform_conv2d(xt, ot, wt, bias, s, p, d, mt), expected)
    empty = deform_conv2d(x[:0], offset[:0], weight, bias, s, p, d, mask[:0])
    assert empty.shape == (0, c_out, *offset.shape[-2:])


@settings(max_examples=40, deadline=None)
@given(hw=st.tuples(st.integers(1, 7), st.integers(1, 7)), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)), p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       d=st.tuples(st.integers(1, 2), st.integers(1, 2)), og=st.sampled_from([1, 2]), seed=st.integers(0, 2**16))
def test_zero_offsets_reproduce_conv2d(hw, k, s, p, d, og, seed):
    if any(out_size(hw[i], k[i], s[i], p[i], d[i]) < 1 for i in range(2)):
        with pytest.raises(ValueError, match="empty"):
            deform_conv2d(torch.ones(1, 2, *hw), torch.zeros(1, 2 * k[0] * k[1], 1, 1), torch.ones(1, 2, *k), None, s, p, d)
        return
    x, offset, weight, bias, _ = make(2, 2, 4, 2, og, hw, k, s, p, d, seed, modulated=False)
    expected = F.conv2d(x, weight, bias, s, p, d, groups=2)
    torch.testing.assert_close(deform_conv2d(x, torch.zeros_like(offset), weight, bias, s, p, d), expected)
    ones = torch.ones(2, og * k[0] * k[1], *offset.shape[-2:], dtype=torch.float64)
    torch.testing.assert_close(deform_conv2d(x, torch.zeros_like(offset), weight, bias, s, p, d, ones), expected)


@settings(max_examples=30, deadline=None)
@given(n=st.tuples(st.integers(5, 12), st.integers(5, 12)), k=st.sampled_from([(3, 3), (1, 3), (3, 5), (2, 3)]),
       d=st.tuples(st.integers(1, 4), st.integers(1, 4)), s=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       extra=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_dilation_as_offsets_equals_dilated_conv2d_exactly(n, k, d, s, extra, seed):
    if any((d[i] - 1) * (k[i] - 1) % 2 for i in range(2)):
        with pytest.raises(ValueError, match="even"):
            dilation_as_offsets(k, d, 3)
        return
    shift = tuple((d[i] - 1) * (k[i] - 1) // 2 for i in range(2))
    p = tuple(shift[i] + extra for i in range(2))  # the dilated conv's padding; the deformable one pads p - shift
    if any(out_size(n[i], k[i], s[i], p[i], d[i]) < 1 for i in range(2)):
        return
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 2, *n, dtype=torch.float64, generator=gen)
    w = torch.randn(3, 2, *k, dtype=torch.float64, generator=gen)
    expected = F.conv2d(x, w, stride=s, padding=p, dilation=d)
    off = dilation_as_offsets(k, d, expected.shape[-2:], dtype=torch.float64)
    got = deform_conv2d(x, off, w, stride=s, padding=(extra, extra))
    assert torch.equal(off, scale_offsets(k, expected.shape[-2:], (float(d[0]), float(d[1])), dtype=torch.float64))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_gradcheck_float64():
    b, c, c_out, g, og, hw, k, s, p, d = (1, 2, 2, 2, 2, (4, 5), (2, 2), (1, 2), (1, 0), (1, 1))
    x, offset, weight, bias, mask = make(b, c, c_out, g, og, hw, k, s, p, d, seed=5, scale=0.7)
    offset = offset + 0.137  # keep positions off the integer grid, where bilinear weights have kinks
    args = [t.requires_grad_() for t in (x, offset, weight, bias, mask)]

    def f(x, offset, weight, bias, mask):
        return deform_conv2d(x, offset, weight, bias, s, p, d, mask)

    assert torch.autograd.gradcheck(f, args)


def test_bad_shapes_state_expected_and_received():
    x, w = torch.zeros(1, 4, 6, 6), torch.zeros(2, 4, 3, 3)
    good = torch.zeros(1, 18, 4, 4)
    with pytest.raises(ValueError, match=r"offset must have shape \(1, 18, 4, 4\).*got \(1, 18, 5, 4\)"):
        deform_conv2d(x, torch.zeros(1, 18, 5, 4), w)
    with pytest.raises(ValueError, match=r"multiple of 18.*got offset shape \(1, 10, 4, 4\)"):
        deform_conv2d(x, torch.zeros(1, 10, 4, 4), w)
    with pytest.raises(ValueError, match=r"offset_groups dividing C_in=4.*\(1, 54, 4, 4\)"):
        deform_conv2d(x, torch.zeros(1, 54, 4, 4), w)  # 3 offset groups do not divide 4 channels
    with pytest.raises(ValueError, match=r"mask must have shape \(1, 9, 4, 4\).*got \(1, 18, 4, 4\)"):
        deform_conv2d(x, good, w, mask=torch.zeros(1, 18, 4, 4))
    with pytest.raises(ValueError, match=r"weight must have shape.*C_in=4.*\(2, 3, 3, 3\)"):
        deform_conv2d(x, good, torch.zeros(2, 3, 3, 3))
    with pytest.raises(ValueError, match="bias must have 1 dimensions"):
        deform_conv2d(x, good, w, torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        deform_conv2d(x, good, w, torch.zeros(3))
    with pytest.raises(TypeError, match="weight must have the input's floating dtype torch.float32, got torch.int64"):
        deform_conv2d(x, good, w.long())
    with pytest.raises(ValueError, match="input must have 4 dimensions"):
        deform_conv2d(x[0], good, w)
    with pytest.raises(ValueError, match="stride"):
        deform_conv2d(x, good, w, stride=0)


def test_follows_dtype_and_device_of_the_input():
    x, w = torch.randn(1, 1, 5, 5, dtype=torch.float32), torch.randn(1, 1, 3, 3)
    y = deform_conv2d(x, random_offsets(3, 3, seed=0), w)
    assert y.dtype == torch.float32 and y.shape == (1, 1, 3, 3)
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        z = deform_conv2d(x.to(dev), random_offsets(3, 3, seed=0, device=dev), w.to(dev))
        torch.testing.assert_close(z.cpu(), y, rtol=1e-4, atol=1e-4)


def test_module_starts_as_an_ordinary_convolution_and_learns_offsets():
    torch.manual_seed(0)  # nn.Conv2d's own init; the library never seeds
    layer = DeformConv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2, offset_groups=2,
                         modulated=True).double()
    x = torch.randn(2, 4, 7, 8, dtype=torch.float64)
    plain = F.conv2d(x, layer.weight, layer.bias, (2, 1), (1, 0), (1, 2), groups=2)
    torch.testing.assert_close(layer(x), 0.5 * (plain - layer.bias[:, None, None]) + layer.bias[:, None, None])
    assert layer.offset_conv.out_channels == 3 * 2 * 6 and not layer.offset_conv.weight.any()
    layer(x).square().sum().backward()
    assert layer.offset_conv.weight.grad.abs().sum() > 0
    unmodulated = DeformConv2d(2, 3, 3, padding=1)
    y = torch.randn(1, 2, 5, 6)
    torch.testing.assert_close(unmodulated(y), F.conv2d(y, unmodulated.weight, unmodulated.bias, padding=1))
    with pytest.raises(ValueError, match="offset_groups"):
        DeformConv2d(4, 4, 3, offset_groups=3)


def relative(positions, k):
    """Deformed taps relative to the kernel centre, (K, 2), for the first output unit."""
    return positions[0, 0] - positions[0, 0].mean(0)


def test_offset_builders_move_taps_by_the_linear_map():
    k, n = 3, 6
    base = sampling_positions(n, k, padding=1, dtype=torch.float64)  # (6, 6, 9, 2)
    rel = base[2, 3] - base[2, 3].mean(0)  # (9, 2)
    cases = [
        (scale_offsets(k, n, 2.0, dtype=torch.float64), torch.tensor([[2.0, 0], [0, 2.0]])),
        (scale_offsets(k, n, (0.5, 3.0), dtype=torch.float64), torch.tensor([[0.5, 0], [0, 3.0]])),
        (affine_offsets(k, n, rotation(30.0), dtype=torch.float64),
         torch.tensor([[math.cos(math.pi / 6), -math.sin(math.pi / 6)], [math.sin(math.pi / 6), math.cos(math.pi / 6)]])),
        (affine_offsets(k, n, [[1.0, 0.0], [0.5, 1.0]], dtype=torch.float64), torch.tensor([[1.0, 0], [0.5, 1.0]])),
        (affine_offsets(k, n, [[1.0, 0.3], [-0.2, 0.8]], dtype=torch.float64), torch.tensor([[1.0, 0.3], [-0.2, 0.8]])),
    ]
    for offset, a in cases:
        assert offset.shape == (1, 18, n, n)
        moved = sampling_positions(n, k, padding=1, offset=offset[0])  # (6, 6, 9, 2)
        torch.testing.assert_close(moved[2, 3] - base[2, 3].mean(0), rel @ a.double().T)
        torch.testing.assert_close(moved - base, (moved[:1, :1] - base[:1, :1]).expand_as(base))  # the same at every unit
    # rotation keeps distances to the centre, shear keeps rows
    rot = sampling_positions(n, k, padding=1, offset=affine_offsets(k, n, rotation(77.0), dtype=torch.float64)[0])
    torch.testing.assert_close((rot[0, 0] - rot[0, 0].mean(0)).norm(dim=-1), rel.norm(dim=-1))


def test_random_offsets_are_seeded_and_never_touch_the_global_rng():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = random_offsets((3, 2), (4, 5), 0.5, offset_groups=2, batch=3, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert a.shape == (3, 2 * 2 * 6, 4, 5)
    assert torch.equal(a, random_offsets((3, 2), (4, 5), 0.5, offset_groups=2, batch=3, seed=7))
    assert not torch.equal(a, random_offsets((3, 2), (4, 5), 0.5, offset_groups=2, batch=3, seed=8))
    gen = torch.Generator().manual_seed(7)
    assert torch.equal(a, random_offsets((3, 2), (4, 5), 0.5, offset_groups=2, batch=3, generator=gen))
    assert 0.4 < random_offsets(3, 40, 0.5, seed=0).std() < 0.6
    with pytest.raises(ValueError, match="std"):
        random_offsets(3, 4, -1.0)
    with pytest.raises(ValueError, match=r"matrix must have shape \(2, 2\)"):
        affine_offsets(3, 4, [1.0, 2.0])


# --------------------------------------------------------------------------- where the offsets come from
def test_offset_head_channels_and_split():
    """A parallel nn.Conv2d predicts 2*G*k^2 offsets (+ G*k^2 mask logits, squashed by a sigmoid) per position."""
    assert [offset_channels(3), offset_channels(3, modulated=True), offset_channels((3, 2), 2, True)] == [18, 27, 36]
    g = torch.Generator().manual_seed(0)
    predicted = torch.randn(2, 27, 4, 5, dtype=torch.float64, generator=g)
    offset, mask = split_offset_head(predicted, 3, modulated=True)
    assert torch.equal(offset, predicted[:, :18]) and torch.equal(mask, torch.sigmoid(predicted[:, 18:]))
    assert ((mask > 0) & (mask < 1)).all()
    offset, mask = split_offset_head(predicted[:, :24], (3, 2), offset_groups=2)
    assert mask is None and offset.shape == (2, 24, 4, 5)
    with pytest.raises(ValueError, match=r"predicted must have 27 channels.*got shape \(2, 18, 4, 5\)"):
        split_offset_head(predicted[:, :18], 3, modulated=True)
    with pytest.raises(ValueError, match="offset_groups"):
        offset_channels(3, 0)


def test_a_conv_offset_head_feeds_deform_conv2d_like_the_module():
    torch.manual_seed(0)  # nn.Conv2d's own init; the library never seeds
    layer = DeformConv2d(3, 5, 3, stride=(1, 2), padding=1, dilation=(2, 1), modulated=True).double()
    nn.init.normal_(layer.offset_conv.weight, std=0.3)  # a trained-looking head, not the zero start
    assert layer.offset_conv.out_channels == offset_channels(3, modulated=True) == 27
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    offset, mask = split_offset_head(layer.offset_conv(x), 3, modulated=True)
    c = layer.conv
    expected = deform_conv2d(x, offset, c.weight, c.bias, c.stride, c.padding, c.dilation, mask)
    torch.testing.assert_close(layer(x), expected)
    assert offset.shape[-2:] == expected.shape[-2:] == (7, 4)  # one set of offsets per output position


def test_bilinear_read_and_its_slope_against_autograd_and_finite_differences():
    g = torch.Generator().manual_seed(1)
    img = torch.randn(5, 7, dtype=torch.float64, generator=g)
    y = torch.rand(200, dtype=torch.float64, generator=g) * 7 - 1.5  # inside, at the border and outside
    x = torch.rand(200, dtype=torch.float64, generator=g) * 9 - 1.5
    for (yy, xx), value in zip(zip(y.tolist(), x.tolist()), bilinear_read(img, y, x).tolist()):
        assert math.isclose(value, float(bilinear_ref(img, yy, xx)), abs_tol=1e-12)
    y.requires_grad_(), x.requires_grad_()
    gy, gx = torch.autograd.grad(bilinear_read(img, y, x).sum(), (y, x))
    sy, sx = bilinear_slope(img, y.detach(), x.detach())
    torch.testing.assert_close(gy, sy)
    torch.testing.assert_close(gx, sx)
    eps = 1e-6
    with torch.no_grad():
        fy = (bilinear_read(img, y + eps, x) - bilinear_read(img, y - eps, x)) / (2 * eps)
    torch.testing.assert_close(fy, sy, atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        bilinear_read(img, y[:3], x[:4])
    with pytest.raises(TypeError, match="image must be a floating"):
        bilinear_slope(img.long(), y, x)


def test_on_a_whole_pixel_autograd_takes_a_one_sided_difference():
    """The kink: zero offsets put taps on whole pixels, where the read is not differentiable; the gradient
    autograd gives there is one of the two one-sided differences, so training can leave the regular grid."""
    g = torch.Generator().manual_seed(2)
    img = torch.randn(6, 7, dtype=torch.float64, generator=g)
    y = torch.tensor([1.0, 2.0, 4.0, 0.0], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([1.0, 5.0, 3.0, 2.0], dtype=torch.float64, requires_grad=True)
    (gy,) = torch.autograd.grad(bilinear_read(img, y, x).sum(), y)
    yi, xi = y.detach().long(), x.detach().long()
    forward = img[yi + 1, xi] - img[yi, xi]
    backward = img[yi, xi] - img[yi - 1, xi].where(yi > 0, torch.zeros(()))
    assert ((gy - forward).abs() < 1e-12).logical_or((gy - backward).abs() < 1e-12).all()
    assert torch.equal(bilinear_slope(img, y.detach(), x.detach())[0], forward)


def test_gradcheck_offsets_and_masks_predicted_by_a_head():
    """End to end in float64: input -> offset head -> (offset, sigmoid mask) -> deform_conv2d, fractional offsets."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 5, 6, dtype=torch.float64, generator=g)
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, generator=g)
    head_w = (0.4 * torch.randn(27, 2, 3, 3, dtype=torch.float64, generator=g)).requires_grad_()
    head_b = (torch.rand(27, dtype=torch.float64, generator=g) - 0.5).requires_grad_()

    def layer(head_w, head_b):
        offset, mask = split_offset_head(F.conv2d(x, head_w, head_b, padding=1), 3, modulated=True)
        return deform_conv2d(x, offset, w, padding=1, mask=mask)

    assert torch.autograd.gradcheck(layer, (head_w, head_b))


def test_fit_offsets_learns_dilation_from_an_ordinary_convolution():
    """Trained through the bilinear read alone (weights fixed), zero offsets on the photo move to the offsets of a
    dilation-2 kernel: the deformable 3x3 learns to read where F.conv2d(dilation=2) reads."""
    x = sample_image(48, grayscale=True)[None].double()  # (1, 1, 48, 48); a photo: smooth enough to descend
    w = torch.randn(1, 1, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fit = fit_offsets(x, F.conv2d(x, w, padding=2, dilation=2), w, padding=1, steps=120)
    wanted = dilation_as_offsets(3, 2, 1, dtype=torch.float64)[0, :, 0, 0].reshape(9, 2)  # (K, 2)
    torch.testing.assert_close(fit.offsets, wanted, atol=0.05, rtol=0)
    assert fit.losses.shape == (120,) and fit.losses[-1] < 1e-4 * fit.losses[0]
    again = fit_offsets(x, F.conv2d(x, w, padding=2, dilation=2), w, padding=1, steps=3)
    assert torch.equal(again.losses, fit.losses[:3])  # deterministic
    assert not x.requires_grad and not w.requires_grad


def test_fit_offsets_refuses_bad_settings():
    x, w = torch.zeros(1, 1, 6, 6), torch.zeros(1, 1, 3, 3)
    with pytest.raises(ValueError, match=r"target must have the output's shape \(1, 1, 4, 4\), got \(1, 1, 6, 6\)"):
        fit_offsets(x, x, w)
    with pytest.raises(ValueError, match="steps"):
        fit_offsets(x, x, w, padding=1, steps=0)
    with pytest.raises(ValueError, match="lr must be a number > 0, got -1"):
        fit_offsets(x, x, w, padding=1, lr=-1)
