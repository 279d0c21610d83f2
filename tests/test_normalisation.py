"""Batch norm and layer norm statistics against nn.BatchNorm2d / nn.LayerNorm in float64, running
statistics against nn.BatchNorm2d fed the same batches, GAP versus flatten heads against nn.Linear
parameter counts and a slow loop, and the shift laws."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from explainer.normalisation import head_parameters, norm_statistics, pooling_heads, running_batch_norm, shift


def _x(*shape, seed=0, scale=3.0, offset=1.5):
    g = torch.Generator().manual_seed(seed)
    return offset + scale * torch.randn(*shape, generator=g, dtype=torch.float64)


def test_batch_norm_and_layer_norm_match_pytorchs_modules():
    x = _x(3, 5, 4, 7)  # B, C, H, W: odd and asymmetric
    s = norm_statistics(x)
    bn = nn.BatchNorm2d(5, affine=False, dtype=torch.float64).train()
    torch.testing.assert_close(s.batch_norm, bn(x))
    ln = nn.LayerNorm(5, elementwise_affine=False, dtype=torch.float64)
    torch.testing.assert_close(s.layer_norm, ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))


def test_statistics_match_a_slow_loop():
    x = _x(2, 3, 3, 5, seed=1)
    s = norm_statistics(x)
    b, c, h, w = x.shape
    for k in range(c):
        values = [float(x[i, k, y, z]) for i in range(b) for y in range(h) for z in range(w)]
        mean = sum(values) / len(values)
        assert float(s.channel_mean[k]) == pytest.approx(mean)
        assert float(s.channel_var[k]) == pytest.approx(sum((v - mean) ** 2 for v in values) / len(values))
    for i in range(b):
        for y in range(h):
            for z in range(w):
                values = [float(x[i, k, y, z]) for k in range(c)]
                mean = sum(values) / c
                assert float(s.token_mean[i, y, z]) == pytest.approx(mean)
                assert float(s.token_var[i, y, z]) == pytest.approx(sum((v - mean) ** 2 for v in values) / c)


@settings(max_examples=25, deadline=None)
@given(b=st.integers(2, 4), c=st.integers(2, 5), h=st.integers(1, 4), w=st.integers(1, 4), seed=st.integers(0, 99))
def test_each_norm_zeroes_the_mean_and_unit_the_variance_over_its_own_axes(b, c, h, w, seed):
    s = norm_statistics(_x(b, c, h, w, seed=seed))
    bn_mean, bn_var = s.batch_norm.mean(dim=(0, 2, 3)), s.batch_norm.var(dim=(0, 2, 3), unbiased=False)
    ln_mean, ln_var = s.layer_norm.mean(dim=1), s.layer_norm.var(dim=1, unbiased=False)
    torch.testing.assert_close(bn_mean, torch.zeros_like(bn_mean), atol=1e-10, rtol=0)
    torch.testing.assert_close(ln_mean, torch.zeros_like(ln_mean), atol=1e-10, rtol=0)
    # 1 up to eps: var / (var + eps)
    torch.testing.assert_close(bn_var, s.channel_var / (s.channel_var + 1e-5))
    torch.testing.assert_close(ln_var, s.token_var / (s.token_var + 1e-5))


@pytest.mark.parametrize("momentum", [0.1, 0.35, 1.0])
def test_running_statistics_and_eval_mode_match_batchnorm2d(momentum):
    seen = _x(6, 4, 3, 2, 5, seed=2)  # K=6 batches of (4, 3, 2, 5)
    x = _x(2, 3, 3, 3, seed=3, offset=-1.0)
    r = running_batch_norm(seen, x, momentum)
    bn = nn.BatchNorm2d(3, momentum=momentum, affine=False, dtype=torch.float64).train()
    torch.testing.assert_close(r.running_mean[0], bn.running_mean)
    for k, batch in enumerate(seen):
        bn(batch)
        torch.testing.assert_close(r.running_mean[k + 1], bn.running_mean)
        torch.testing.assert_close(r.running_var[k + 1], bn.running_var)
    torch.testing.assert_close(r.eval, bn.eval()(x))
    torch.testing.assert_close(r.train, bn.train()(x))


def test_with_no_batch_seen_eval_mode_is_almost_the_identity():
    x = _x(2, 3, 2, 2, seed=4)
    r = running_batch_norm(torch.zeros(0, 2, 3, 2, 2, dtype=torch.float64), x)
    torch.testing.assert_close(r.eval, x / (1 + 1e-5) ** 0.5)


@pytest.mark.parametrize("c,h,w,k", [(3, 5, 4, 7), (16, 7, 7, 10), (1, 1, 1, 1)])
def test_head_parameters_are_the_linear_layers(c, h, w, k):
    counts = head_parameters(c, h, w, k)
    assert counts["gap"] == sum(p.numel() for p in nn.Linear(c, k).parameters())
    assert counts["flatten"] == sum(p.numel() for p in nn.Linear(c * h * w, k).parameters())


def test_pooling_heads_match_nn_linear_and_a_slow_average():
    x = _x(2, 3, 4, 5, seed=5)
    gap, flat = nn.Linear(3, 4, dtype=torch.float64), nn.Linear(60, 4, dtype=torch.float64)
    heads = pooling_heads(x, gap.weight, gap.bias, flat.weight, flat.bias)
    for i in range(2):
        for k in range(3):
            assert float(heads.pooled[i, k]) == pytest.approx(sum(float(v) for v in x[i, k].flatten()) / 20)
    torch.testing.assert_close(heads.gap, gap(x.mean(dim=(2, 3))))
    torch.testing.assert_close(heads.flatten, flat(nn.Flatten()(x)))


@settings(max_examples=25, deadline=None)
@given(dy=st.integers(-6, 6), dx=st.integers(-6, 6), seed=st.integers(0, 99))
def test_gap_ignores_a_circular_shift_and_shifting_back_restores_the_flatten_logits(dy, dx, seed):
    x = _x(1, 3, 4, 5, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    weights = [torch.randn(s, generator=g, dtype=torch.float64) for s in ((2, 3), (2,), (2, 60), (2,))]
    before, after = pooling_heads(x, *weights), pooling_heads(shift(x, dy, dx), *weights)
    torch.testing.assert_close(after.gap, before.gap)
    torch.testing.assert_close(pooling_heads(shift(shift(x, dy, dx), -dy, -dx), *weights).flatten, before.flatten)


def test_the_flatten_head_does_see_a_shift():
    x = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    x[0, 0, 1, 1] = 1.0
    weight = torch.arange(16, dtype=torch.float64).reshape(1, 16)
    one, zero = torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    moved = pooling_heads(shift(x, 1, 2), one, zero, weight, zero)
    still = pooling_heads(x, one, zero, weight, zero)
    assert float(still.flatten) == 5.0 and float(moved.flatten) == 11.0
    assert float(still.gap) == float(moved.gap) == 1 / 16


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        norm_statistics(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="floating"):
        norm_statistics(torch.zeros(1, 2, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="channels"):
        running_batch_norm(torch.zeros(1, 2, 4, 1, 1), torch.zeros(1, 3, 1, 1))
    with pytest.raises(ValueError, match="momentum"):
        running_batch_norm(torch.zeros(1, 2, 3, 1, 1), torch.zeros(1, 3, 1, 1), momentum=0)
    with pytest.raises(ValueError, match="flat_weight"):
        pooling_heads(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2), torch.zeros(1), torch.zeros(1, 7), torch.zeros(1))
    with pytest.raises(ValueError, match="classes"):
        head_parameters(2, 2, 2, 0)
