"""Scaled dot-product and multi-head attention against PyTorch's own ops, in float64."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from explainer.attention.core import (
    Attention,
    MultiHeadAttention,
    causal_mask,
    merge_heads,
    per_head_projections,
    random_attention_entropy,
    random_self_attention,
    scaled_dot_product_attention,
    softmax_entropy,
    split_heads,
)

DT = torch.float64


def rand(*shape, seed=0, dtype=DT):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def random_mask(shape, seed=0, keep_one=True):
    mask = torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < 0.5
    if keep_one:  # F.scaled_dot_product_attention gives NaN for a fully masked row
        mask[..., 0] = True
    return mask


SHAPES = [  # (batch dims, Nq, Nk, d_k, d_v)
    ((), 5, 3, 7, 2),
    ((1,), 1, 4, 3, 5),
    ((3,), 6, 9, 4, 4),
    ((2, 3), 4, 7, 5, 3),
]


@pytest.mark.parametrize("batch, tq, tk, d, dv", SHAPES)
@pytest.mark.parametrize("scale", [None, 0.3, -1.5])
def test_equals_torch_without_mask(batch, tq, tk, d, dv, scale):
    q, k, v = rand(*batch, tq, d, seed=1), rand(*batch, tk, d, seed=2), rand(*batch, tk, dv, seed=3)
    a = scaled_dot_product_attention(q, k, v, scale=scale)
    expected = F.scaled_dot_product_attention(q, k, v, scale=scale)
    torch.testing.assert_close(a.output, expected)
    s = 1 / math.sqrt(d) if scale is None else scale
    torch.testing.assert_close(a.scores, q @ k.transpose(-2, -1) * s)
    torch.testing.assert_close(a.weights.sum(-1), torch.ones(*batch, tq, dtype=DT))
    assert a.output.shape == (*batch, tq, dv) and a.weights.shape == (*batch, tq, tk)


@pytest.mark.parametrize("batch, tq, tk, d, dv", SHAPES)
def test_equals_torch_with_a_boolean_mask(batch, tq, tk, d, dv):
    q, k, v = rand(*batch, tq, d, seed=4), rand(*batch, tk, d, seed=5), rand(*batch, tk, dv, seed=6)
    for mask in (random_mask((*batch, tq, tk), seed=7), random_mask((tq, tk), seed=8)):  # full and broadcast
        a = scaled_dot_product_attention(q, k, v, mask=mask)
        torch.testing.assert_close(a.output, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
        full = mask.expand(*batch, tq, tk)
        assert torch.isneginf(a.scores[~full]).all() and torch.isfinite(a.scores[full]).all()
        assert (a.weights[~full] == 0).all()
        torch.testing.assert_close(a.weights.sum(-1), torch.ones(*batch, tq, dtype=DT))


def test_causal_attention_equals_torch_is_causal_and_has_zeros_above_the_diagonal():
    q, k, v = rand(2, 3, 6, 5, seed=1), rand(2, 3, 6, 5, seed=2), rand(2, 3, 6, 4, seed=3)
    a = scaled_dot_product_attention(q, k, v, mask=causal_mask(6))
    torch.testing.assert_close(a.output, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert (a.weights.triu(1) == 0).all() and (a.weights[..., causal_mask(6)] > 0).all()
    # The first query can only see itself: its output is the first value.
    torch.testing.assert_close(a.output[..., 0, :], v[..., 0, :])


def test_a_fully_masked_row_gives_zero_weights_and_zero_output_never_nan():
    q, k, v = rand(2, 4, 3), rand(2, 5, 3, seed=1), rand(2, 5, 2, seed=2)
    mask = random_mask((2, 4, 5), seed=3)
    mask[1, 2] = False
    a = scaled_dot_product_attention(q, k, v, mask=mask)
    assert not a.weights.isnan().any() and not a.output.isnan().any()
    assert (a.weights[1, 2] == 0).all() and (a.output[1, 2] == 0).all()
    assert torch.isneginf(a.scores[1, 2]).all()
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    keep = torch.ones(2, 4, dtype=torch.bool)
    keep[1, 2] = False
    torch.testing.assert_close(a.output[keep], expected[keep])


def test_input_nans_are_not_hidden():
    q = rand(3, 2)
    q[1, 0] = float("nan")
    a = scaled_dot_product_attention(q, rand(4, 2, seed=1), rand(4, 2, seed=2), mask=torch.ones(3, 4, dtype=torch.bool))
    assert a.output[1].isnan().all() and not a.output[[0, 2]].isnan().any()


def test_follows_the_input_dtype_and_result_is_frozen():
    q = rand(2, 3, dtype=torch.float32)
    a = scaled_dot_product_attention(q, q, q)
    assert a.output.dtype == a.weights.dtype == a.scores.dtype == torch.float32
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.output = q  # type: ignore[misc]


def test_scale_zero_gives_uniform_weights_and_the_mean_of_the_values():
    v = rand(5, 3, seed=1)
    a = scaled_dot_product_attention(rand(2, 4), rand(5, 4, seed=2), v, scale=0.0)
    torch.testing.assert_close(a.weights, torch.full((2, 5), 0.2, dtype=DT))
    torch.testing.assert_close(a.output, v.mean(0).expand(2, 3))


@settings(max_examples=50, deadline=None)
@given(b=st.integers(1, 3), tq=st.integers(1, 7), tk=st.integers(1, 7), d=st.integers(1, 6), dv=st.integers(1, 5),
       seed=st.integers(0, 10_000), masked=st.booleans(), scale=st.one_of(st.none(), st.floats(-3, 3)))
def test_property_matches_torch_rows_sum_to_one_and_output_is_a_convex_combination(b, tq, tk, d, dv, seed, masked,
                                                                                   scale):
    q, k, v = rand(b, tq, d, seed=seed), rand(b, tk, d, seed=seed + 1), rand(b, tk, dv, seed=seed + 2)
    mask = random_mask((b, tq, tk), seed=seed) if masked else None
    a = scaled_dot_product_attention(q, k, v, mask=mask, scale=scale)
    torch.testing.assert_close(a.output, F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale))
    torch.testing.assert_close(a.weights.sum(-1), torch.ones(b, tq, dtype=DT))
    assert (a.weights >= 0).all()
    low, high = v.min(1, keepdim=True).values, v.max(1, keepdim=True).values  # (b, 1, dv)
    assert (a.output >= low - 1e-12).all() and (a.output <= high + 1e-12).all()


@pytest.mark.parametrize("args, kwargs, error, words", [
    ((torch.ones(2, 3, dtype=torch.long),) * 3, {}, TypeError, "floating-point"),
    (([[1.0]], torch.ones(2, 3), torch.ones(2, 3)), {}, TypeError, "query must be a torch.Tensor"),
    ((torch.ones(3), torch.ones(2, 3), torch.ones(2, 3)), {}, ValueError, "at least 2 dimensions"),
    ((torch.ones(2, 3), torch.ones(2, 4), torch.ones(2, 3)), {}, ValueError, "same last dimension"),
    ((torch.ones(2, 3), torch.ones(4, 3), torch.ones(5, 3)), {}, ValueError, "same length Nk"),
    ((torch.ones(2, 3), torch.ones(4, 3, dtype=DT), torch.ones(4, 3)), {}, TypeError, "one dtype"),
    ((torch.ones(2, 2, 3), torch.ones(3, 4, 3), torch.ones(3, 4, 3)), {}, ValueError, "must broadcast"),
    ((torch.ones(2, 3), torch.ones(4, 3), torch.ones(4, 3)), {"mask": torch.ones(2, 4)}, TypeError, "boolean"),
    ((torch.ones(2, 3), torch.ones(4, 3), torch.ones(4, 3)), {"mask": torch.ones(4, 2, dtype=torch.bool)},
     ValueError, "= (2, 4), got (4, 2)"),
    ((torch.ones(2, 3), torch.ones(4, 3), torch.ones(4, 3)), {"mask": torch.ones(3, 2, 4, dtype=torch.bool)},
     ValueError, "broadcast to the score shape"),
    ((torch.ones(2, 3),) * 3, {"scale": float("inf")}, ValueError, "scale must be finite"),
    ((torch.ones(2, 3),) * 3, {"scale": "1"}, TypeError, "scale must be a real number"),
])
def test_bad_input_is_refused_with_a_clear_message(args, kwargs, error, words):
    with pytest.raises(error, match=None) as info:
        scaled_dot_product_attention(*args, **kwargs)
    assert words in str(info.value)


def test_causal_mask_is_the_lower_triangle():
    for N in (1, 2, 5):
        m = causal_mask(N)
        assert m.dtype == torch.bool and m.shape == (N, N)
        assert all(bool(m[i, j]) == (j <= i) for i in range(N) for j in range(N))
    with pytest.raises(ValueError, match="N must be an integer >= 1, got 0"):
        causal_mask(0)


def test_softmax_entropy_limits():
    torch.testing.assert_close(softmax_entropy(torch.full((3, 7), 1 / 7, dtype=DT)), torch.full((3,), math.log(7),
                                                                                                   dtype=DT))
    assert softmax_entropy(torch.eye(4, dtype=DT)).abs().max() == 0
    w = torch.softmax(rand(5, 6), -1)
    torch.testing.assert_close(softmax_entropy(w), -(w * w.log()).sum(-1))


def test_dividing_by_sqrt_d_keeps_the_entropy_stable_while_without_it_it_collapses():
    dims = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    scaled = [random_attention_entropy(d, 8, scaled=True, seed=3) for d in dims]
    unscaled = [random_attention_entropy(d, 8, scaled=False, seed=3) for d in dims]
    assert max(scaled) - min(scaled) < 0.15 * math.log(8)
    assert unscaled[0] == pytest.approx(scaled[0])  # d = 1: the same logits
    assert all(a > b for a, b in zip(unscaled, unscaled[1:5])) and unscaled[-1] < 0.1 * math.log(8)
    assert random_attention_entropy(8, 8, seed=1) == random_attention_entropy(8, 8, seed=1)
    hot, cold = random_attention_entropy(8, 8, temperature=4.0), random_attention_entropy(8, 8, temperature=0.25)
    assert cold < random_attention_entropy(8, 8) < hot < math.log(8)
    with pytest.raises(ValueError, match="temperature must be a number > 0"):
        random_attention_entropy(8, 8, temperature=0)


# --------------------------------------------------------------------------- heads
def test_split_and_merge_heads_are_inverse_and_give_each_head_a_contiguous_slice():
    x = rand(2, 5, 12)
    h = split_heads(x, 3)  # (2, 3, 5, 4)
    assert h.shape == (2, 3, 5, 4)
    torch.testing.assert_close(h[:, 1], x[..., 4:8])
    torch.testing.assert_close(merge_heads(h), x)
    with pytest.raises(ValueError, match="divisible by num_heads, got num_heads=5"):
        split_heads(x, 5)


@pytest.mark.parametrize("bias", [True, False])
def test_one_fused_projection_split_into_heads_equals_separate_per_head_projections(bias):
    x, w = rand(3, 5, 7), rand(12, 7, seed=1)
    b = rand(12, seed=2) if bias else None
    fused = split_heads(F.linear(x, w, b), 4)  # (3, 4, 5, 3)
    separate = per_head_projections(x, w, b, 4)
    torch.testing.assert_close(separate, fused)
    for h in range(4):  # the slow loop: head h alone, its own small matrix
        for t in range(5):
            expected = w[3 * h:3 * h + 3] @ x[1, t] + (b[3 * h:3 * h + 3] if bias else 0)
            torch.testing.assert_close(separate[1, h, t], expected)
    with pytest.raises(ValueError, match="in-features 7"):
        per_head_projections(rand(3, 5, 6), w, b, 4)
    with pytest.raises(ValueError, match="bias must have shape"):
        per_head_projections(x, w, rand(11), 4)


def torch_reference(m, q, k, v, mask=None):
    attn_mask = None if mask is None else ~mask  # torch's boolean attn_mask: True = NOT allowed
    return m(q, k, v, attn_mask=attn_mask, need_weights=True, average_attn_weights=False)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kdim, vdim", [(None, None), (5, 3), (6, None)])
@pytest.mark.parametrize("batch", [1, 3])
def test_from_torch_equals_nn_multihead_attention(bias, kdim, vdim, batch):
    torch.manual_seed(0)  # nn.MultiheadAttention initialises from the global RNG; only the test touches it
    m = nn.MultiheadAttention(12, 4, bias=bias, kdim=kdim, vdim=vdim, batch_first=True).double().eval()
    assert (m.in_proj_weight is None) == (kdim is not None or vdim is not None)  # both code paths
    ours = MultiHeadAttention.from_torch(m)
    q = rand(batch, 5, 12, seed=1)
    k = rand(batch, 7, kdim or 12, seed=2)
    v = rand(batch, 7, vdim or 12, seed=3)
    out, weights = torch_reference(m, q, k, v)
    a = ours(q, k, v)
    assert isinstance(a, Attention) and a.weights.shape == (batch, 4, 5, 7) and a.output.shape == (batch, 5, 12)
    torch.testing.assert_close(a.output, out)
    torch.testing.assert_close(a.weights, weights)


def test_from_torch_with_a_mask_and_self_attention():
    torch.manual_seed(1)
    m = nn.MultiheadAttention(6, 2, batch_first=True).double().eval()
    ours = MultiHeadAttention.from_torch(m)
    x = rand(2, 5, 6)
    for mask in (causal_mask(5), random_mask((5, 5), seed=4)):
        out, weights = torch_reference(m, x, x, x, mask)
        a = ours(x, x, x, mask=mask)
        torch.testing.assert_close(a.output, out)
        torch.testing.assert_close(a.weights, weights)
    assert (ours(x, x, x, mask=causal_mask(5)).weights.triu(1) == 0).all()


def test_multi_head_is_the_concatenation_of_single_heads():
    m = MultiHeadAttention(8, 2).double()
    x = rand(1, 4, 8)
    a = m(x, x, x)
    with torch.no_grad():
        heads = []
        for h in range(2):
            rows = slice(4 * h, 4 * h + 4)
            q = x @ m.q_proj.weight[rows].T + m.q_proj.bias[rows]
            k = x @ m.k_proj.weight[rows].T + m.k_proj.bias[rows]
            v = x @ m.v_proj.weight[rows].T + m.v_proj.bias[rows]
            single = scaled_dot_product_attention(q, k, v)
            torch.testing.assert_close(single.weights, a.weights[:, h])
            heads.append(single.output)
        torch.testing.assert_close(m.out_proj(torch.cat(heads, -1)), a.output)


def test_multi_head_errors():
    with pytest.raises(ValueError, match="embed_dim=10 must be divisible by num_heads, got num_heads=4"):
        MultiHeadAttention(10, 4)
    m = MultiHeadAttention(8, 2, kdim=5)
    with pytest.raises(ValueError, match=r"key must have shape \(B, N, 5\)"):
        m(torch.ones(1, 3, 8), torch.ones(1, 3, 8), torch.ones(1, 3, 8))
    with pytest.raises(ValueError, match="must agree"):
        m(torch.ones(1, 3, 8), torch.ones(1, 4, 5), torch.ones(1, 3, 8))
    with pytest.raises(ValueError, match="query must have 3 dimensions"):
        m(torch.ones(3, 8), torch.ones(1, 4, 5), torch.ones(1, 4, 8))
    with pytest.raises(TypeError, match="nn.MultiheadAttention, got Linear"):
        MultiHeadAttention.from_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="add_bias_kv"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(4, 2, add_bias_kv=True))


def test_from_torch_keeps_dtype():
    m = nn.MultiheadAttention(4, 2, batch_first=True)
    assert MultiHeadAttention.from_torch(m).q_proj.weight.dtype == torch.float32
    assert MultiHeadAttention.from_torch(m.double()).q_proj.weight.dtype == torch.float64


def test_gradients_match_finite_differences_also_with_a_mask():
    q, k, v = (rand(2, 3, 4, seed=s).requires_grad_() for s in (1, 2, 3))
    mask = random_mask((2, 3, 3), seed=4)
    mask[1, 0] = False  # a fully masked row: zero output, zero gradient, no NaN
    assert torch.autograd.gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, mask=mask).output,
                                    (q, k, v))


def test_non_contiguous_inputs_give_the_same_result():
    q, k, v = rand(4, 5, seed=1), rand(4, 6, seed=2), rand(3, 6, seed=3)  # stored transposed
    assert not q.T.is_contiguous()
    a = scaled_dot_product_attention(q.T, k.T, v.T)
    torch.testing.assert_close(a.output, scaled_dot_product_attention(q.T.contiguous(), k.T.contiguous(),
                                                                      v.T.contiguous()).output)
    torch.testing.assert_close(a.output, F.scaled_dot_product_attention(q.T, k.T, v.T))


def test_random_self_attention_is_seeded_and_is_the_multi_head_layer_without_output_projection():
    s = random_self_attention(6, head_dim=3, num_heads=2, seed=5)
    assert torch.equal(s.x, random_self_attention(6, 3, 2, seed=5).x)
    assert not torch.equal(s.x, random_self_attention(6, 3, 2, seed=6).x)
    assert s.q.shape == s.k.shape == s.v.shape == (2, 6, 3) and s.scale == pytest.approx(1 / math.sqrt(3))
    assert 0.5 < s.q.std().item() < 1.5  # unit-variance projections
    torch.testing.assert_close(s.attention.output, F.scaled_dot_product_attention(s.q, s.k, s.v))
    torch.testing.assert_close(s.entropy, softmax_entropy(s.attention.weights))
    hot = random_self_attention(6, 3, 2, scale=0.0, mask=causal_mask(6), seed=5)
    assert hot.scale == 0.0 and (hot.attention.weights.triu(1) == 0).all()
    torch.testing.assert_close(hot.attention.weights[0, 3, :4], torch.full((4,), 0.25))  # uniform over the past
