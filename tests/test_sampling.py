"""Oracle tests for explainer.sampling: tap positions against F.conv2d, zero insertion against F.conv_transpose2d."""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.deformable import deform_conv2d, random_offsets
from _oracles import zero_insert
from explainer.sampling import hdc_max_gap, same_padding, sampling_positions, stacked_coverage, transposed_geometry


def gather_conv(x, weight, positions):
    """Slow reference: read x at every tap position (zero outside), multiply by the taps, sum.

    x (C_in, H, W), weight (C_out, C_in, kh, kw), positions (H_out, W_out, kh*kw, 2) -> (C_out, H_out, W_out).
    """
    c_in, h, w = x.shape
    pos = positions.long()
    y, xx = pos[..., 0], pos[..., 1]  # (H_out, W_out, K)
    inside = (y >= 0) & (y < h) & (xx >= 0) & (xx < w)
    values = x[:, y.clamp(0, h - 1), xx.clamp(0, w - 1)] * inside  # (C_in, H_out, W_out, K)
    taps = weight.flatten(-2)  # (C_out, C_in, K)
    return torch.einsum("ihwk,oik->ohw", values, taps)


def zero_insertion_conv(x, weight, bias, geo):
    """F.conv_transpose2d the long way, by the geometry's zero-insertion view: zero-insert, pad by
    pad_before / pad_after (negative crops), then a stride-1 direct convolution with the flipped kernel.

    x (B, C_in, H, W), weight (C_in, C_out, kh, kw) -> (B, C_out, H_out, W_out).
    """
    z = zero_insert(x, geo.stride)  # (B, C_in, H', W')
    (bh, bw), (ah, aw) = geo.pad_before, geo.pad_after
    z = F.pad(z, (bw, aw, bh, ah))
    flipped = weight.flip(-2, -1).transpose(0, 1)  # (C_out, C_in, kh, kw)
    return F.conv2d(z, flipped, bias, stride=1, dilation=geo.dilation)


def assert_gather_equals_conv(n, k, s, p, d, generator):
    x = torch.randn(3, *n, dtype=torch.float64, generator=generator)
    weight = torch.randn(2, 3, *k, dtype=torch.float64, generator=generator)
    positions = sampling_positions(n, k, s, p, d, dtype=torch.float64)
    expected = F.conv2d(x[None], weight, stride=s, padding=p, dilation=d)[0]
    assert positions.shape == (*expected.shape[-2:], k[0] * k[1], 2)
    torch.testing.assert_close(gather_conv(x, weight, positions), expected)


@pytest.mark.parametrize("n,k,s,p,d", [
    ((7, 5), (3, 2), (2, 1), (1, 0), (1, 2)),
    ((9, 6), (2, 3), (3, 2), (0, 2), (2, 1)),
    ((5, 11), (1, 4), (1, 3), (2, 1), (3, 1)),
    ((4, 4), (4, 4), (1, 1), (0, 0), (1, 1)),
    ((1, 1), (3, 3), (2, 2), (1, 1), (1, 1)),
])
def test_sampling_positions_reproduce_conv2d(n, k, s, p, d):
    assert_gather_equals_conv(n, k, s, p, d, torch.Generator().manual_seed(0))


@settings(max_examples=50, deadline=None)
@given(n=st.tuples(st.integers(1, 10), st.integers(1, 10)), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)), p=st.tuples(st.integers(0, 3), st.integers(0, 3)),
       d=st.tuples(st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 2**16))
def test_sampling_positions_reproduce_conv2d_for_random_settings(n, k, s, p, d, seed):
    fits = all(d[i] * (k[i] - 1) + 1 <= n[i] + 2 * p[i] for i in range(2))
    if not fits:
        with pytest.raises(ValueError, match="empty"):
            sampling_positions(n, k, s, p, d)
        return
    assert_gather_equals_conv(n, k, s, p, d, torch.Generator().manual_seed(seed))


def test_sampling_positions_formula_and_options():
    pos = sampling_positions((6, 8), (2, 3), stride=(2, 3), padding=(1, 2), dilation=(2, 1))
    assert pos.dtype == torch.float32
    oy, ox, ky, kx = 2, 1, 1, 2
    assert pos[oy, ox, ky * 3 + kx].tolist() == [2 * oy - 1 + 2 * ky, 3 * ox - 2 + 1 * kx]
    assert sampling_positions(5, 3, dtype=torch.float64).dtype == torch.float64
    with pytest.raises(TypeError, match="dtype"):
        sampling_positions(5, 3, dtype=torch.int64)
    with pytest.raises(TypeError):
        sampling_positions(5, 3, 1, 0, 1, torch.float64)  # options are keyword-only (room for offset=)


# --------------------------------------------------------------------------- transposed convolution
@pytest.mark.parametrize("n,k,s,p,op,d", [
    ((3, 4), (3, 2), (2, 1), (1, 0), (1, 0), (1, 1)),
    ((2, 5), (2, 3), (3, 2), (0, 2), (2, 1), (1, 2)),
    ((4, 3), (3, 3), (1, 2), (3, 1), (0, 1), (2, 1)),  # padding > d(k-1) - ...: crop
    ((5, 2), (1, 4), (2, 3), (0, 3), (1, 2), (1, 1)),
])
def test_zero_insertion_reproduces_conv_transpose2d(n, k, s, p, op, d):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, *n, dtype=torch.float64, generator=gen)
    weight = torch.randn(3, 4, *k, dtype=torch.float64, generator=gen)  # (C_in, C_out, kh, kw)
    bias = torch.randn(4, dtype=torch.float64, generator=gen)
    expected = F.conv_transpose2d(x, weight, bias, stride=s, padding=p, output_padding=op, dilation=d)
    geo = transposed_geometry(n, k, s, p, op, d)
    torch.testing.assert_close(zero_insertion_conv(x, weight, bias, geo), expected)


@settings(max_examples=50, deadline=None)
@given(n=st.tuples(st.integers(1, 6), st.integers(1, 6)), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)), p=st.tuples(st.integers(0, 3), st.integers(0, 3)),
       op=st.tuples(st.integers(0, 2), st.integers(0, 2)), d=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       seed=st.integers(0, 2**16))
def test_geometry_taps_reproduce_conv_transpose2d(n, k, s, p, op, d, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 2, *n, dtype=torch.float64, generator=gen)
    weight = torch.randn(2, 3, *k, dtype=torch.float64, generator=gen)
    try:
        expected = F.conv_transpose2d(x, weight, stride=s, padding=p, output_padding=op, dilation=d)[0]
    except RuntimeError:
        with pytest.raises(ValueError):
            transposed_geometry(n, k, s, p, op, d)
        return
    geo = transposed_geometry(n, k, s, p, op, d)
    assert geo.output_size == tuple(expected.shape[-2:])
    # Rebuild the zero-inserted grid by hand from where the geometry says the pixels land.
    grid = torch.zeros(2, *geo.inserted_size, dtype=torch.float64)
    iy, ix = geo.input_positions[..., 0], geo.input_positions[..., 1]  # (H_in, W_in)
    grid[:, iy, ix] = x[0]
    flipped = weight.flip(-2, -1).transpose(0, 1)  # (C_out, C_in, kh, kw)
    torch.testing.assert_close(gather_conv(grid, flipped, geo.positions), expected)
    torch.testing.assert_close(zero_insertion_conv(x, weight, None, geo)[0], expected)


def test_reads_input_marks_exactly_the_pixels_each_output_depends_on():
    n, k, s, p, op, d = (3, 4), (3, 2), (2, 3), (1, 0), (1, 2), (1, 2)
    geo = transposed_geometry(n, k, s, p, op, d)
    weight = torch.randn(1, 1, *k, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    x = torch.zeros(1, 1, *n, dtype=torch.float64, requires_grad=True)
    y = F.conv_transpose2d(x, weight, stride=s, padding=p, output_padding=op, dilation=d)[0, 0]
    real = geo.reads_input()  # (H_out, W_out, K)
    for oy in range(y.shape[0]):
        for ox in range(y.shape[1]):
            (grad,) = torch.autograd.grad(y[oy, ox], x, retain_graph=True)
            measured = {tuple(ij) for ij in (grad[0, 0] != 0).nonzero().tolist()}
            taps = geo.positions[oy, ox][real[oy, ox]].long()  # (K_real, 2)
            claimed = {(yy // s[0], xx // s[1]) for yy, xx in taps.tolist()}
            assert claimed == measured, (oy, ox)


def test_transposed_geometry_numbers_and_errors():
    geo = transposed_geometry(4, 3, stride=2, padding=2, output_padding=1, dilation=1)
    assert geo.inserted_size == (7, 7)
    assert geo.pad_before == (0, 0) and geo.pad_after == (1, 1)
    assert geo.output_size == (6, 6) == (geo.padded_size[0] - 2, geo.padded_size[1] - 2)  # 3*2 - 4 + 2 + 1 + 1
    cropped = transposed_geometry(6, 3, stride=1, padding=3)  # 5 - 6 + 2 + 1
    assert cropped.pad_before == (-1, -1) and cropped.output_size == (2, 2)
    with pytest.raises(ValueError, match="output_padding"):
        transposed_geometry(4, 3, stride=2, output_padding=2)


# --------------------------------------------------------------------------- deformed positions (offset=)
def test_sampling_positions_with_offsets_are_where_deform_conv2d_reads():
    n, k, s, p, d = (7, 6), (3, 2), (2, 1), (1, 0), (1, 2)
    out = (4, 4)
    offset = random_offsets(k, out, 1.5, batch=2, seed=3, dtype=torch.float64)  # (2, 12, 4, 4)
    regular = sampling_positions(n, k, s, p, d, dtype=torch.float64)  # (4, 4, 6, 2)
    batched = sampling_positions(n, k, s, p, d, offset=offset)  # (2, 4, 4, 6, 2)
    assert batched.shape == (2, *out, 6, 2) and batched.dtype == torch.float64
    torch.testing.assert_close(sampling_positions(n, k, s, p, d, offset=offset[1]), batched[1])
    oy, ox, tap = 2, 3, 4
    dy, dx = offset[1, 2 * tap, oy, ox], offset[1, 2 * tap + 1, oy, ox]
    torch.testing.assert_close(batched[1, oy, ox, tap], regular[oy, ox, tap] + torch.stack([dy, dx]))
    # a one-hot input at an integer pixel: deform_conv2d with a one-hot weight reads exactly the deformed tap
    x = torch.zeros(2, 1, *n, dtype=torch.float64)
    y, xx = batched[1, oy, ox, tap].floor().long().tolist()
    assert 0 <= y < n[0] and 0 <= xx < n[1]  # the seed puts this tap inside the image
    x[1, 0, y, xx] = 1.0
    w = torch.zeros(1, 1, *k, dtype=torch.float64)
    w.view(-1)[tap] = 1.0
    fy, fx = (batched[1, oy, ox, tap] - batched[1, oy, ox, tap].floor()).tolist()
    expected = (1 - fy) * (1 - fx)  # bilinear weight of the top-left neighbour
    torch.testing.assert_close(deform_conv2d(x, offset, w, None, s, p, d)[1, 0, oy, ox].item(), expected)


def test_sampling_positions_offset_shape_errors_state_expected_and_received():
    with pytest.raises(ValueError, match=r"offset must be a floating tensor of shape \(18, 3, 3\).*got \(18, 4, 3\)"):
        sampling_positions(5, 3, offset=torch.zeros(18, 4, 3))
    with pytest.raises(ValueError, match=r"got \(8, 3, 3\)"):
        sampling_positions(5, 3, offset=torch.zeros(8, 3, 3))
    with pytest.raises(TypeError, match="offset must be a torch.Tensor"):
        sampling_positions(5, 3, offset=[0.0] * 18)
    assert torch.equal(sampling_positions(5, 3, offset=torch.zeros(18, 3, 3)), sampling_positions(5, 3))


# --------------------------------------------------------------------------- "same" padding and gridding
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_same_padding_is_what_conv2d_padding_same_does(k, d):
    """(k-1)d even: (k-1)d/2 on each side; odd (even k, odd d): no symmetric padding keeps the size, and
    PyTorch puts the extra row/column at the bottom/right."""
    before, after = same_padding(k, d)
    assert before + after == (k - 1) * d and after - before == (k - 1) * d % 2
    g = torch.Generator().manual_seed(k * 10 + d)
    x = torch.randn(1, 2, 9, 11, dtype=torch.float64, generator=g)
    w = torch.randn(3, 2, k, k, dtype=torch.float64, generator=g)
    with warnings.catch_warnings():  # odd (k-1)d: PyTorch warns (once) that it pads a copy of the input
        warnings.simplefilter("ignore", UserWarning)
        expected = F.conv2d(x, w, padding="same", dilation=d)
    assert expected.shape[-2:] == x.shape[-2:]
    torch.testing.assert_close(F.conv2d(F.pad(x, (before, after, before, after)), w, dilation=d), expected)
    if (k - 1) * d % 2:  # no symmetric padding p keeps the size: 2p + 1 - (k-1)d is even, never 1
        for p in (before, after):  # the two nearest symmetric choices: one row short, one too many
            assert F.conv2d(x, w, padding=p, dilation=d).shape[-1] != x.shape[-1]
    with pytest.raises(ValueError, match="kernel_size"):
        same_padding(0, 1)


def covers(k, dilations):
    return bool((stacked_coverage(k, dilations) > 0).all())


def test_no_common_factor_is_necessary_but_not_enough():
    """The old sentence "dilations without a common factor cover the whole field" is false: 3, 4, 5 and
    1, 5, 9 share no factor and leave holes with k = 3; 1, 2, 5 covers; a shared factor always leaves holes."""
    assert covers(3, [1, 2, 5]) and covers(3, [1, 2, 3])
    for schedule in ([3, 4, 5], [1, 5, 9]):
        assert math.gcd(*schedule) == 1 and not covers(3, schedule)
    for schedule in ([2, 4, 8], [2, 2, 2], [3, 6, 9]):
        assert not covers(3, schedule)


def test_hdc_gap_bound_predicts_coverage():
    """Wang et al.'s M_2 <= k with a first layer of dilation 1 leaves no hole (k = 3, 4, 5, every schedule of
    2-3 layers with dilations up to 9); for k = 3 and growing schedules it is also necessary."""
    assert (hdc_max_gap([1, 2, 5]), hdc_max_gap([3, 4, 5]), hdc_max_gap([1, 5, 9])) == (2, 4, 5)
    assert hdc_max_gap([1, 3, 9]) == 3 and hdc_max_gap([4]) == 0
    for k in (3, 4, 5):
        for n in (2, 3):
            for rest in itertools.product(range(1, 10), repeat=n - 1):
                schedule = [1, *rest]
                if hdc_max_gap(schedule) <= k:
                    assert covers(k, schedule), (k, schedule)
                elif k == 3 and list(rest) == sorted(rest):
                    assert not covers(k, schedule), schedule
    with pytest.raises(ValueError, match="dilations"):
        hdc_max_gap([])
    with pytest.raises(ValueError, match=r"dilations\[1\]"):
        hdc_max_gap([1, 0])


def test_1_3_9_reads_every_pixel_exactly_once_for_k3_only():
    assert (stacked_coverage(3, [1, 3, 9]) == 1).all()  # base-3 digits: one path per pixel
    five = stacked_coverage(5, [1, 3, 9])
    assert (five > 0).all() and five.max() > 1  # k = 5 covers the field, some pixels by several paths
    assert not covers(2, [1, 3, 9])  # k = 2: holes


def test_stacked_coverage_does_not_depend_on_the_order_of_the_layers():
    for k, ds in ((3, [1, 2, 5]), (2, [1, 3, 2]), (4, [3, 1, 2])):
        torch.testing.assert_close(stacked_coverage(k, ds), stacked_coverage(k, ds[::-1]))
