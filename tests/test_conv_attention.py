"""Convolution as self-attention (Cordonnier et al. 2020): oracles F.conv2d and F.scaled_dot_product_attention."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st

from explainer.attention.conv_attention import (
    DEFAULT_SHARPNESS,
    ConvAttention,
    compare_conv_attention,
    conv_as_attention,
    conv_attention_error,
    kernel_offsets,
)
from explainer.data import sample_image

F64 = torch.float64
# (batch, C_in, C_out, k, H, W): odd, non-square images, batch 1 and 2, C_in != C_out, k = 3 and 5.
SHAPES = [(1, 3, 2, 3, 7, 11), (2, 1, 4, 3, 9, 5), (1, 2, 5, 5, 13, 8), (2, 3, 1, 5, 6, 9)]


def case(b, c_in, c_out, k, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, c_in, h, w, generator=g, dtype=F64),
            torch.randn(c_out, c_in, k, k, generator=g, dtype=F64))


def rel(a, b):
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


def slow_attention(layer: ConvAttention, x):
    """The paper's layer written out: scores v_h . r_delta over a zero-padded token grid, softmax, sum of heads."""
    b, c_in, h, w = x.shape
    pad = layer.padding
    tokens = F.pad(x, (pad,) * 4).flatten(2).transpose(1, 2)  # (B, Hp*Wp, C_in)
    wp = w + 2 * pad
    out = torch.zeros(b, h * w, layer.weight.shape[0], dtype=x.dtype)
    for head in range(layer.num_heads):
        scores = torch.empty(h * w, tokens.shape[1], dtype=x.dtype)
        for qy in range(h):
            for qx in range(w):
                for key in range(tokens.shape[1]):
                    dy, dx = key // wp - pad - qy, key % wp - pad - qx
                    r = torch.tensor([dy * dy + dx * dx, dy, dx], dtype=x.dtype)  # quadratic encoding
                    scores[qy * w + qx, key] = layer.head_vectors[head] @ r
        out += torch.softmax(scores, -1) @ tokens @ layer.value_weight[head].T  # (B, H*W, C_out)
    return out.transpose(1, 2).reshape(b, -1, h, w)  # (B, C_out, H, W)


@pytest.mark.parametrize("shape", SHAPES)
def test_default_sharpness_matches_conv2d_below_1e_3(shape):
    x, weight = case(*shape)
    layer = conv_as_attention(weight)
    assert layer.sharpness == DEFAULT_SHARPNESS == 10.0
    out = layer.forward(x)
    conv = F.conv2d(x, weight, padding=shape[3] // 2)
    assert out.shape == conv.shape and out.dtype == F64
    assert rel(out, conv) < 1e-3
    assert conv_attention_error(x, weight) == pytest.approx(rel(out, conv), rel=1e-9)


def test_sobel_on_the_photo_and_the_worst_case_checkerboard():
    photo = sample_image((32, 32), grayscale=True).to(F64)[None]  # (1, 1, 32, 32)
    sobel = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=F64).view(1, 1, 3, 3)
    assert 1e-5 < conv_attention_error(photo, sobel) < 2e-4  # docstring: 9.1e-5
    board = ((torch.arange(13)[:, None] + torch.arange(15)) % 2 * 2 - 1).to(F64).view(1, 1, 13, 15)
    identity = torch.zeros(1, 1, 3, 3, dtype=F64)
    identity[0, 0, 1, 1] = 1
    error = conv_attention_error(board, identity)
    assert error < 8 * math.exp(-DEFAULT_SHARPNESS) < 1e-3  # the bound stated in the docstring


@pytest.mark.parametrize("shape", SHAPES)
def test_converges_to_conv2d_with_bias(shape):
    x, weight = case(*shape, seed=1)
    bias = torch.randn(weight.shape[0], dtype=F64)
    layer = conv_as_attention(weight, bias, sharpness=40.0)
    torch.testing.assert_close(layer.forward(x), F.conv2d(x, weight, bias, padding=shape[3] // 2),
                               rtol=0, atol=1e-12)


def test_comparison_packages_both_outputs():
    x, weight = case(2, 3, 2, 3, 5, 6, seed=6)
    bias = torch.randn(2, dtype=F64)
    result = compare_conv_attention(x, weight, bias, sharpness=4.0, pad_keys=False)
    assert not result.layer.pad_keys and result.layer.sharpness == 4.0
    torch.testing.assert_close(result.conv, F.conv2d(x, weight, bias, padding=1))
    torch.testing.assert_close(result.attention, result.layer.forward(x))
    assert result.relative_error == pytest.approx(rel(result.attention, result.conv))
    zero = compare_conv_attention(torch.zeros(1, 3, 4, 4, dtype=F64), weight)
    assert zero.relative_error == 0.0


def test_without_padded_keys_the_limit_is_replicate_padding():
    x, weight = case(2, 3, 2, 5, 9, 8, seed=2)
    layer = conv_as_attention(weight, sharpness=40.0, pad_keys=False)
    assert layer.padding == 0 and layer.key_grid((9, 8)) == (9, 8)
    replicate = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), weight)
    torch.testing.assert_close(layer.forward(x), replicate, rtol=0, atol=1e-12)
    assert rel(layer.forward(x), F.conv2d(x, weight, padding=2)) > 1e-2  # borders differ from zero padding


@pytest.mark.parametrize("pad_keys", [True, False])
def test_forward_equals_the_layer_written_out(pad_keys):
    x, weight = case(2, 2, 3, 3, 4, 5, seed=3)
    layer = conv_as_attention(weight, sharpness=0.7, pad_keys=pad_keys)
    torch.testing.assert_close(layer.forward(x), slow_attention(layer, x), rtol=1e-12, atol=1e-12)


def test_forward_equals_torch_sdpa_in_absolute_position_form():
    # -alpha||p - q - D||^2 = (||p||^2, p_y, p_x) . -alpha(1, -2(q+D)_y, -2(q+D)_x) + (term in q only)
    x, weight = case(2, 3, 2, 5, 6, 7, seed=4)
    alpha, (b, c_in, h, w) = 2.5, x.shape
    layer = conv_as_attention(weight, sharpness=alpha)
    hp, wp = layer.key_grid((h, w))
    py, px = torch.meshgrid(torch.arange(hp, dtype=F64) - 2, torch.arange(wp, dtype=F64) - 2, indexing="ij")
    keys = torch.stack([py**2 + px**2, py, px], -1).reshape(1, 1, -1, 3)  # (1, 1, Hp*Wp, 3)
    qy, qx = torch.meshgrid(torch.arange(h, dtype=F64), torch.arange(w, dtype=F64), indexing="ij")
    target = torch.stack([qy, qx], -1).reshape(1, -1, 2) + layer.offsets.to(F64).view(-1, 1, 2)  # (K, H*W, 2)
    queries = -alpha * torch.cat([torch.ones(*target.shape[:2], 1, dtype=F64), -2 * target], -1)[None]
    values = F.pad(x, (2,) * 4).flatten(2).transpose(1, 2)[:, None]  # (B, 1, Hp*Wp, C_in)
    heads = F.scaled_dot_product_attention(queries, keys, values, scale=1.0)  # (B, K, H*W, C_in)
    out = torch.einsum("bktc,koc->bot", heads, layer.value_weight).reshape(b, -1, h, w)
    torch.testing.assert_close(layer.forward(x), out, rtol=1e-10, atol=1e-10)
    weights = torch.softmax(queries[0] @ keys[0, 0].T, -1)  # (K, H*W, Hp*Wp)
    torch.testing.assert_close(layer.attention_weights((h, w)), weights, rtol=1e-10, atol=1e-12)


def test_value_projections_carry_the_kernel_taps_and_head_vectors_follow_the_paper():
    weight = torch.randn(4, 3, 5, 5, dtype=F64)
    layer = conv_as_attention(weight, sharpness=3.0)
    assert layer.num_heads == 25 and layer.kernel_size == 5
    for h, (dy, dx) in enumerate(layer.offsets.tolist()):
        assert torch.equal(layer.value_weight[h], weight[:, :, dy + 2, dx + 2])
        assert layer.head_vectors[h].tolist() == [-3.0, 6.0 * dy, 6.0 * dx]
    assert kernel_offsets(3).tolist() == [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 0], [0, 1], [1, -1], [1, 0],
                                          [1, 1]]


@pytest.mark.parametrize("k", [3, 5])
def test_each_head_peaks_at_its_offset_and_the_peak_tends_to_one(k):
    h, w, r = 9, 11, k // 2
    peaks = []
    for alpha in (0.5, 2.0, 10.0, 30.0):
        layer = conv_as_attention(torch.randn(2, 1, k, k, dtype=F64), sharpness=alpha)
        maps = layer.attention_weights((h, w))  # (K, H*W, Hp*Wp)
        wp = w + 2 * r
        torch.testing.assert_close(maps.sum(-1), torch.ones(k * k, h * w, dtype=F64))
        best = maps.argmax(-1)  # (K, H*W) key index in the padded grid
        for head, (dy, dx) in enumerate(layer.offsets.tolist()):
            for qy in range(r, h - r):  # interior queries
                for qx in range(r, w - r):
                    assert divmod(int(best[head, qy * w + qx]), wp) == (qy + dy + r, qx + dx + r)
        peaks.append(float(maps.max(-1).values.min()))  # the weakest peak over heads and all queries
    assert peaks == sorted(peaks) and peaks[0] < 0.5 and peaks[-1] > 1 - 1e-12


def test_query_maps_are_rows_of_the_dense_maps():
    layer = conv_as_attention(torch.randn(1, 2, 3, 3, dtype=F64), sharpness=1.3)
    dense = layer.attention_weights((5, 7))  # (9, 35, 7*9)
    maps = layer.query_maps((5, 7), (4, 2))  # (9, 7, 9)
    assert maps.shape == (9, 7, 9)
    torch.testing.assert_close(maps.reshape(9, -1), dense[:, 4 * 7 + 2])
    kept = layer.axis_weights((5, 7))  # as a caller that keeps them passes them
    torch.testing.assert_close(layer.query_maps((5, 7), (1, 6), kept).reshape(9, -1), dense[:, 1 * 7 + 6])
    with pytest.raises(ValueError, match="query row"):
        layer.query_maps((5, 7), (5, 0))
    with pytest.raises(ValueError, match=r"axis_weights must be this layer's axis_weights\(\(5, 7\)\)"):
        layer.query_maps((5, 7), (1, 1), layer.axis_weights((7, 5)))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.sampled_from([3, 5]), h=st.integers(4, 12), w=st.integers(4, 12),
       b=st.integers(1, 2), smooth=st.booleans())
@example(seed=5747, k=3, h=4, w=4, b=1, smooth=False)  # found by hypothesis: flat below alpha = 1 (see below)
def test_error_falls_monotonically_with_sharpness(seed, k, h, w, b, smooth):
    x, weight = case(b, 2, 3, k, h, w, seed=seed)
    if smooth:  # a smooth image: the borders weigh more in the error than on noise
        x = x.cumsum(-1).cumsum(-2)
    # From alpha = 1 up (the explorer's slider starts at 0.1): below it every head's map is nearly
    # uniform and the relative error sits at ~0.99, where it can wobble by 1e-4 (0.99443 -> 0.99463
    # on the example above).
    errors = [conv_attention_error(x, weight, alpha) for alpha in torch.logspace(0, 1.35, 25).tolist()]
    assert all(later < earlier for earlier, later in zip(errors, errors[1:])), errors


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.sampled_from([3, 5]), h=st.integers(1, 8), w=st.integers(1, 8))
def test_linear_in_the_image_and_follows_dtype(seed, k, h, w):
    x, weight = case(2, 3, 2, k, h, w, seed=seed)
    layer = conv_as_attention(weight, sharpness=1.0)
    torch.testing.assert_close(layer.forward(2 * x[:1] - x[1:]), 2 * layer.forward(x[:1]) - layer.forward(x[1:]))
    low = conv_as_attention(weight.float(), sharpness=1.0).forward(x.float())
    assert low.dtype == torch.float32
    torch.testing.assert_close(low.double(), layer.forward(x), rtol=1e-4, atol=1e-5)


def test_result_is_frozen():
    layer = conv_as_attention(torch.randn(1, 1, 3, 3))
    with pytest.raises(AttributeError):
        layer.sharpness = 2.0  # type: ignore[misc]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(weight=torch.randn(2, 3, 4, 4)), ValueError, "odd square kernel.*got shape \\(2, 3, 4, 4\\)"),
    (dict(weight=torch.randn(2, 3, 3, 5)), ValueError, "odd square kernel"),
    (dict(weight=torch.randn(3, 3, 3)), ValueError, "weight must have 4 dimensions, got shape \\(3, 3, 3\\)"),
    (dict(weight=[[1.0]]), TypeError, "weight must be a torch.Tensor"),
    (dict(weight=torch.ones(1, 1, 3, 3, dtype=torch.int64)), TypeError, "floating-point.*int64"),
    (dict(weight=torch.randn(2, 1, 3, 3), bias=torch.randn(3)), ValueError, "bias must be \\(2,\\)"),
    (dict(weight=torch.randn(1, 1, 3, 3), sharpness=0.0), ValueError, "sharpness must be a finite number > 0, got 0"),
    (dict(weight=torch.randn(1, 1, 3, 3), sharpness=float("inf")), ValueError, "sharpness"),
    (dict(weight=torch.randn(1, 1, 3, 3), sharpness="10"), TypeError, "sharpness must be a real number"),
    (dict(weight=torch.randn(1, 1, 3, 3), pad_keys=1), TypeError, "pad_keys must be a bool"),
])
def test_bad_arguments_are_refused_with_the_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        conv_as_attention(**kwargs)


def test_bad_inputs_to_forward():
    layer = conv_as_attention(torch.randn(2, 3, 3, 3, dtype=F64))
    with pytest.raises(ValueError, match="C_in = 3 channels.*\\(1, 2, 5, 5\\)"):
        layer.forward(torch.randn(1, 2, 5, 5, dtype=F64))
    with pytest.raises(ValueError, match="4 dimensions"):
        layer.forward(torch.randn(3, 5, 5, dtype=F64))
    with pytest.raises(TypeError, match="dtype and device.*float32"):
        layer.forward(torch.randn(1, 3, 5, 5))
