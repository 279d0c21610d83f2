"""Oracle tests for explainer.conv (and the sizes it re-exports from explainer.sizes): every number against
what PyTorch's own layers do."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from explainer.conv import (
    conv_arithmetic,
    conv_flops,
    conv_output_size,
    conv_params,
    conv_transpose_flops,
    conv_unit,
    depthwise_separable,
    effective_kernel_size,
    separable_flops,
    separable_params,
    transposed_output_size,
)
from explainer.costs import layer_costs


def torch_conv_size(n, k, s, p, d):
    """Output length from a real forward pass, or None where PyTorch refuses."""
    try:
        return F.conv2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1), stride=(s, 1), padding=(p, 0),
                        dilation=(d, 1)).shape[2]
    except RuntimeError:
        return None


def torch_transposed_size(n, k, s, p, op, d):
    try:
        return F.conv_transpose2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1), stride=(s, 1), padding=(p, 0),
                                  output_padding=(op, 0), dilation=(d, 1)).shape[2]
    except RuntimeError:
        return None


def ours_or_none(fn, *args):
    try:
        return fn(*args)
    except ValueError:
        return None


def macs_from_flop_counter(module, x):
    """torch's own FLOP counter counts 2 FLOPs per multiply-add (bias excluded)."""
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // 2


# --------------------------------------------------------------------------- output sizes
def test_conv_output_size_matches_pytorch_over_a_grid():
    checked = 0
    for n, k, s, p, d in itertools.product(range(1, 10), range(1, 5), range(1, 4), range(0, 3), range(1, 4)):
        expected = torch_conv_size(n, k, s, p, d)
        assert ours_or_none(conv_output_size, n, k, s, p, d) == expected, (n, k, s, p, d)
        checked += expected is not None
    assert checked > 500  # most of the grid is valid; both sides agree on the invalid rest


def test_transposed_output_size_matches_pytorch_over_a_grid():
    checked = 0
    for n, k, s, p, op, d in itertools.product(range(1, 7), range(1, 5), range(1, 4), range(0, 4), range(0, 3),
                                               range(1, 3)):
        expected = torch_transposed_size(n, k, s, p, op, d)
        assert ours_or_none(transposed_output_size, n, k, s, p, op, d) == expected, (n, k, s, p, op, d)
        checked += expected is not None
    assert checked > 400


def test_rectangular_sizes_match_nn_modules():
    x = torch.zeros(1, 2, 11, 6)
    conv = nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 3))
    h, w = conv(x).shape[-2:]
    assert (h, w) == (conv_output_size(11, 3, 2, 1, 1), conv_output_size(6, 2, 1, 0, 3))
    up = nn.ConvTranspose2d(2, 3, (4, 1), stride=(3, 2), padding=(1, 0), output_padding=(2, 1), dilation=(1, 2))
    h, w = up(x).shape[-2:]
    assert (h, w) == (transposed_output_size(11, 4, 3, 1, 2, 1), transposed_output_size(6, 1, 2, 0, 1, 2))


@pytest.mark.parametrize("k,d", [(1, 1), (1, 4), (3, 1), (3, 2), (5, 3), (2, 4)])
def test_effective_kernel_size_is_the_smallest_input_pytorch_accepts(k, d):
    span = effective_kernel_size(k, d)
    assert span == k + (k - 1) * (d - 1)
    assert torch_conv_size(span, k, 1, 0, d) == 1
    assert span == 1 or torch_conv_size(span - 1, k, 1, 0, d) is None


# --------------------------------------------------------------------------- parameters and multiply-adds
@pytest.mark.parametrize("cin,cout,k,groups,bias", [
    (3, 8, 3, 1, True), (4, 6, (1, 5), 2, True), (12, 12, 3, 12, False), (6, 9, (2, 3), 3, False), (1, 1, 1, 1, True),
])
def test_conv_params_match_modules(cin, cout, k, groups, bias):
    for module in (nn.Conv2d(cin, cout, k, groups=groups, bias=bias),
                   nn.ConvTranspose2d(cin, cout, k, groups=groups, bias=bias)):
        assert conv_params(cin, cout, k, groups, bias) == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("cin,cout,k,groups,stride,padding,size", [
    (3, 8, 3, 1, 1, 1, (9, 7)), (4, 6, (1, 5), 2, (2, 1), (0, 2), (8, 11)), (6, 6, 3, 6, 2, 0, (13, 5)),
])
def test_conv_flops_match_torch_flop_counter(cin, cout, k, groups, stride, padding, size):
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups)
    x = torch.zeros(1, cin, *size)
    out = tuple(conv(x).shape[-2:])
    assert conv_flops(cin, cout, k, out, groups) == macs_from_flop_counter(conv, x)


@pytest.mark.parametrize("cin,cout,k,groups,stride,size", [
    (8, 4, 3, 1, 2, (5, 4)), (6, 9, (2, 3), 3, (1, 2), (3, 7)), (4, 4, 1, 4, 3, (2, 2)),
])
def test_conv_transpose_flops_match_torch_flop_counter(cin, cout, k, groups, stride, size):
    up = nn.ConvTranspose2d(cin, cout, k, stride=stride, groups=groups)
    x = torch.zeros(1, cin, *size)
    assert conv_transpose_flops(cin, cout, k, size, groups) == macs_from_flop_counter(up, x)


def test_grouped_convolution_divides_parameters_by_groups():
    dense = conv_params(32, 64, 3, bias=False)
    for g in (1, 2, 4, 8, 16, 32):
        assert conv_params(32, 64, 3, groups=g, bias=False) * g == dense


# --------------------------------------------------------------------------- the explorer's bundle
@settings(max_examples=40, deadline=None)
@given(n=st.tuples(st.integers(1, 9), st.integers(1, 9)), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)), p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       d=st.tuples(st.integers(1, 3), st.integers(1, 3)), op=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       g=st.sampled_from([1, 2, 4]), transposed=st.booleans())
def test_conv_arithmetic_matches_real_layers(n, k, s, p, d, op, g, transposed):
    cin, cout = 4, 8
    if transposed:
        op = tuple(min(op[i], max(s[i], d[i]) - 1) for i in range(2))
        layer = nn.ConvTranspose2d(cin, cout, k, s, p, output_padding=op, groups=g, dilation=d)
    else:
        op = (0, 0)
        layer = nn.Conv2d(cin, cout, k, s, p, dilation=d, groups=g)
    x = torch.zeros(1, cin, *n)
    try:
        expected = tuple(layer(x).shape[-2:])
    except RuntimeError:
        expected = (0, 0)
    if min(expected) < 1:  # PyTorch raises, or (grouped transposed path) returns an empty tensor; we refuse both
        with pytest.raises(ValueError):
            conv_arithmetic(n, k, s, p, d, transposed, op, cin, cout, g)
        return
    a = conv_arithmetic(n, k, s, p, d, transposed, op, cin, cout, g)
    assert a.output_size == expected
    assert a.params == sum(q.numel() for q in layer.parameters())
    assert a.multiply_adds == macs_from_flop_counter(layer, x)
    assert a.positions.shape == (*expected, k[0] * k[1], 2)
    assert a.padded_size[0] - a.effective_kernel[0] + 1 >= a.output_size[0]
    assert (a.geometry is not None) == transposed


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,exc,words", [
    (lambda: conv_output_size(5, 0), ValueError, ["kernel_size", ">= 1", "0"]),
    (lambda: conv_output_size(5, 3, stride=0), ValueError, ["stride", "0"]),
    (lambda: conv_output_size(5, 3, dilation=0), ValueError, ["dilation", "0"]),
    (lambda: conv_output_size(5, 3, padding=-1), ValueError, ["padding", ">= 0", "-1"]),
    (lambda: conv_output_size(3, 3, dilation=2), ValueError, ["kernel_size=3", "dilation=2", "empty", "3 + 2*0"]),
    (lambda: conv_output_size(5.0, 3), TypeError, ["size", "5.0"]),
    (lambda: transposed_output_size(3, 3, stride=2, output_padding=2), ValueError, ["output_padding", "2"]),
    (lambda: transposed_output_size(1, 1, padding=1), ValueError, ["padding=1", "-1"]),
    (lambda: conv_params(6, 4, 3, groups=4), ValueError, ["in_channels", "groups=4", "6"]),
    (lambda: conv_params(8, 6, 3, groups=4), ValueError, ["out_channels", "groups=4", "6"]),
    (lambda: conv_params(8, 8, (3, 3, 3)), TypeError, ["kernel_size", "(3, 3, 3)"]),
    (lambda: conv_flops(4, 4, 3, output_size=0), ValueError, ["output_size", "0"]),
    (lambda: conv_arithmetic(5, 3, output_padding=1), ValueError, ["output_padding", "transposed"]),
    (lambda: conv_arithmetic((5, 2), (1, 3)), ValueError, ["width", "kernel_size=3", "empty"]),
    (lambda: conv_arithmetic(5, 3, transposed=1), TypeError, ["transposed", "bool"]),
])
def test_bad_input_is_named(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


# --------------------------------------------------------------------------- one output value, product by product
@pytest.mark.parametrize("groups", [1, 3])
def test_conv_unit_rebuilds_every_output_of_conv2d_in_float64(groups):
    torch.manual_seed(0)
    x = torch.randn(6, 5, 7, dtype=torch.float64).transpose(1, 2)  # (C, H, W) = (6, 7, 5), non-contiguous
    weight = torch.randn(9, 6 // groups, 3, 2, dtype=torch.float64)  # (C_out, C_in/g, kh, kw)
    bias = torch.randn(9, dtype=torch.float64)
    settings_ = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=groups)
    expected = F.conv2d(x[None], weight, bias, **settings_)[0]  # (C_out, H_out, W_out)
    for channel, row, col in itertools.product(range(9), range(expected.shape[1]), range(expected.shape[2])):
        unit = conv_unit(x, weight, bias, channel=channel, row=row, col=col, **settings_)
        assert torch.allclose(unit.value, expected[channel, row, col], rtol=0, atol=1e-12)
        assert torch.allclose(unit.products, unit.window * unit.weight)
        assert torch.allclose(unit.channel_sums.sum() + unit.bias, unit.value)
    assert unit.window.shape == (6 // groups, 3, 2) and len(unit.in_channels) == 6 // groups


def test_conv_unit_reads_zeros_from_padding_and_follows_a_module():
    torch.manual_seed(1)
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    x = torch.randn(2, 4, 5, dtype=torch.float64)
    unit = conv_unit(x, conv.weight, conv.bias, channel=2, row=0, col=4, padding=1)
    assert unit.window[:, 0].eq(0).all() and unit.window[:, :, 2].eq(0).all()  # top row, right column: padding
    assert torch.allclose(unit.value, conv(x[None])[0, 2, 0, 4])
    text = unit.describe(3)
    value = f"{unit.value.item():.3f}".rstrip("0").rstrip(".").replace("-", "−")
    assert text.count("input channel") == 2 and text.splitlines()[-1].endswith(f"= {value}")
    whole = conv_unit(torch.tensor([[[2.0, -1.0]]]), torch.tensor([[[[3.0, 4.0]]]]), torch.tensor([-0.25]))
    assert whole.describe().splitlines()[1:] == ["  input channel 0: 2·3 + (−1)·4 = 2",
                                                 "  sum over channels 2 + bias −0.25 = 1.75"]
    assert float(conv_unit(x, conv.weight, row=1, col=1, padding=1).bias) == 0.0


def test_conv_unit_rejects_bad_input_naming_it():
    x, w = torch.zeros(2, 5, 5), torch.zeros(4, 2, 3, 3)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        conv_unit([[0.0]], w)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        conv_unit(x[None], w)
    with pytest.raises(ValueError, match="groups=2"):
        conv_unit(x, w, groups=2)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        conv_unit(x, w, torch.zeros(3))
    with pytest.raises(ValueError, match="row must be an integer in \\[0, 2\\], got 3"):
        conv_unit(x, w, row=3)
    with pytest.raises(ValueError, match="channel must be an integer in \\[0, 3\\], got 4"):
        conv_unit(x, w, channel=4)


# --------------------------------------------------------------------------- 1x1 and depthwise-separable
def test_a_1x1_convolution_is_a_linear_layer_applied_at_every_pixel():
    torch.manual_seed(2)
    conv = nn.Conv2d(5, 3, 1).double()
    x = torch.randn(2, 5, 4, 7, dtype=torch.float64)
    per_pixel = torch.einsum("oc,bchw->bohw", conv.weight[:, :, 0, 0], x) + conv.bias[:, None, None]
    assert torch.allclose(conv(x), per_pixel)
    assert conv_params(5, 3, 1) == 5 * 3 + 3 == sum(p.numel() for p in conv.parameters())


@pytest.mark.parametrize("cin,cout,k,size", [(64, 64, 3, 32), (5, 7, (3, 5), (9, 6)), (3, 16, 5, 11)])
def test_separable_costs_match_real_modules(cin, cout, k, size):
    kh, kw = (k, k) if isinstance(k, int) else k
    h, w = (size, size) if isinstance(size, int) else size
    block = depthwise_separable(cin, cout, k, padding=(kh // 2, kw // 2))
    assert sum(p.numel() for p in block.parameters()) == separable_params(cin, cout, k)
    assert sum(p.numel() for p in block.parameters() if p.dim() > 1) == separable_params(cin, cout, k, bias=False)
    costs = layer_costs(block, (1, cin, h, w))
    assert [c.params for c in costs] == [(kh * kw + 1) * cin, (cin + 1) * cout]
    assert sum(c.multiply_adds for c in costs) == separable_flops(cin, cout, k, (h, w)) == h * w * cin * (kh * kw + cout)
    assert separable_flops(cin, cout, k, (h, w)) == macs_from_flop_counter(block, torch.zeros(1, cin, h, w))
    plain = nn.Conv2d(cin, cout, k, padding=(kh // 2, kw // 2))
    ratio = separable_params(cin, cout, k, bias=False) / conv_params(cin, cout, k, bias=False)
    assert ratio == pytest.approx(1 / cout + 1 / (kh * kw))  # MobileNets' ratio, weights only
    assert layer_costs(plain, (1, cin, h, w))[0].multiply_adds == conv_flops(cin, cout, k, (h, w))


def test_depthwise_parameter_drop_is_eightfold_for_weights_not_with_biases():
    """The lesson's claim for C_in = C_out = 8, k = 3, g = 8: 584 -> 80 parameters (7.3x); weights 576 -> 72 (8x)."""
    dense, depthwise = nn.Conv2d(8, 8, 3), nn.Conv2d(8, 8, 3, groups=8)
    total = [sum(p.numel() for p in m.parameters()) for m in (dense, depthwise)]
    weights = [m.weight.numel() for m in (dense, depthwise)]
    assert total == [conv_params(8, 8, 3), conv_params(8, 8, 3, groups=8)] == [584, 80]
    assert weights == [576, 72] and weights[0] == 8 * weights[1]
    assert total[0] / total[1] == pytest.approx(7.3)


def test_the_lessons_corrected_sentences_hold():
    """Lesson 01's corrections, by computation: equivariant not invariant; a transposed convolution is the
    adjoint of a convolution, not its inverse; 7 and 8 give 4 units because the 8th row only replaces padding."""
    torch.manual_seed(3)
    conv = nn.Conv2d(2, 3, 3, bias=False).double()
    x = torch.zeros(1, 2, 11, 10, dtype=torch.float64)
    x[..., 3:5, 2:4] = torch.randn(2, 2, 2, dtype=torch.float64)
    shifted = torch.roll(x, (2, 3), dims=(-2, -1))
    assert torch.allclose(conv(shifted), torch.roll(conv(x), (2, 3), dims=(-2, -1)))
    assert not torch.allclose(conv(shifted), conv(x))
    w = torch.randn(3, 2, 3, 2, dtype=torch.float64)
    x = torch.randn(1, 2, 7, 6, dtype=torch.float64)
    down = F.conv2d(x, w, stride=(2, 1), padding=(1, 0))
    y = torch.randn_like(down)
    up = F.conv_transpose2d(y, w, stride=(2, 1), padding=(1, 0))
    assert up.shape == x.shape and torch.allclose((down * y).sum(), (x * up).sum())  # <conv x, y> = <x, conv^T y>
    assert not torch.allclose(F.conv_transpose2d(down, w, stride=(2, 1), padding=(1, 0)), x)  # not the inverse
    last = {n: conv_arithmetic(n, 3, stride=2, padding=1).positions[-1, -1, -1].tolist() for n in (7, 8)}
    assert last == {7: [7.0, 7.0], 8: [7.0, 7.0]}  # row 7: padding for n = 7, the last input row for n = 8
