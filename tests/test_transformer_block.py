"""One transformer block: counts against real layers and torch's FLOP counter, Add & Norm and
LayerNorm-vs-BatchNorm against PyTorch's own modules, in float64."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from explainer.attention import capture_attention
from explainer.transformer import block_table, residual_stream, token_norms


def flop_counter_macs(model, *inputs):
    """torch's FLOP counter (2 per multiply-add). The layers call fused attention with need_weights=False,
    whose CPU kernel the counter does not see; recording the weights makes them take the explicit matmuls."""
    with capture_attention(model), FlopCounterMode(display=False) as counter, torch.no_grad():
        model(*inputs)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_block_against_a_real_layer(norm_first):
    D, H, F, N = 12, 3, 20, 5
    layer = nn.TransformerEncoderLayer(D, H, F, dropout=0.0, batch_first=True, norm_first=norm_first,
                                       dtype=torch.float64).eval()
    table = block_table(D, H, F, N, norm_first=norm_first)
    assert table.params == sum(p.numel() for p in layer.parameters()) == 4 * D * D + 4 * D + 2 * D * F + F + D + 4 * D
    x = torch.randn(1, N, D, dtype=torch.float64)
    assert table.multiply_adds == flop_counter_macs(layer, x) == 4 * N * D * D + 2 * N * N * D + 2 * N * D * F
    order = ["norm1", "self_attn", "norm2", "linear1", "linear2"] if norm_first else \
        ["self_attn", "norm1", "linear1", "linear2", "norm2"]
    assert [r.name for r in table.rows] == order
    assert {r.output_shape for r in table.rows} == {(N, D), (N, F)}
    assert table.rows[0].field == (N if not norm_first else 1)


def test_decoder_block_against_a_real_layer():
    D, H, F, N, M = 8, 2, 14, 4, 7
    layer = nn.TransformerDecoderLayer(D, H, F, dropout=0.0, batch_first=True, dtype=torch.float64).eval()
    table = block_table(D, H, F, N, kind="decoder", memory_len=M)
    assert table.params == sum(p.numel() for p in layer.parameters())
    x, mem = torch.randn(1, N, D, dtype=torch.float64), torch.randn(1, M, D, dtype=torch.float64)
    assert table.multiply_adds == flop_counter_macs(layer, x, mem)
    cross = {r.name: r for r in table.rows}["multihead_attn"]
    assert cross.multiply_adds == 2 * N * D * D + 2 * M * D * D + 2 * N * M * D and cross.field == M


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([8, 16, 48]), st.sampled_from([1, 2, 4, 8]), st.integers(1, 40), st.integers(4, 64))
def test_heads_change_neither_count(D, H, N, F):
    one, many = block_table(D, 1, F, N), block_table(D, H, F, N)
    assert (one.params, one.multiply_adds) == (many.params, many.multiply_adds)


@pytest.mark.parametrize("norm_first", [False, True])
def test_residual_stream_against_a_slow_block(norm_first):
    stream = residual_stream(depth=4, d_model=12, num_heads=3, seq_len=5, norm_first=norm_first, seed=3)
    assert stream.scale.shape == (5,) and stream.update.shape == (4,)
    if norm_first:  # x_{l+1} = x_l + updates: the stream keeps growing away from its input
        assert bool((stream.scale[1:] > stream.scale[0]).all())
    else:  # LayerNorm without affine ends every block: each token has mean 0, variance 1
        torch.testing.assert_close(stream.scale[1:], torch.ones(4, dtype=torch.float64), atol=1e-4, rtol=0)
    # same seed, same numbers; a different seed, different ones
    torch.testing.assert_close(stream.scale, residual_stream(4, 12, 3, 5, norm_first, seed=3).scale)
    assert not torch.equal(stream.scale, residual_stream(4, 12, 3, 5, norm_first, seed=4).scale)


def test_residual_stream_updates_are_what_the_block_adds():
    from explainer.transformer import _seeded_block

    g = torch.Generator().manual_seed(0)
    block = _seeded_block(12, 3, True, g)
    x = torch.randn(1, 5, 12, generator=g, dtype=torch.float64)
    with torch.no_grad():
        y = block(x)
    stream = residual_stream(depth=1, d_model=12, num_heads=3, seq_len=5, norm_first=True, seed=0)
    torch.testing.assert_close(stream.update[0], (y - x).pow(2).mean().sqrt())
    torch.testing.assert_close(stream.scale[1], y.pow(2).mean().sqrt())


def test_token_norms_against_pytorch_modules():
    x = torch.randn(3, 5, 7, dtype=torch.float64) * 3 + torch.arange(7, dtype=torch.float64)
    out = token_norms(x)
    ln = nn.LayerNorm(7, elementwise_affine=False, dtype=torch.float64)
    bn = nn.BatchNorm1d(7, affine=False, dtype=torch.float64).train()
    torch.testing.assert_close(out.layer, ln(x))
    torch.testing.assert_close(out.batch, bn(x.reshape(-1, 7)).reshape(3, 5, 7))
    torch.testing.assert_close(out.token_std, x.std(-1, unbiased=False))
    torch.testing.assert_close(out.feature_mean, x.mean((0, 1)))


def test_layer_norm_of_a_token_ignores_the_other_tokens():
    x = torch.randn(2, 4, 6, dtype=torch.float64)
    y = x.clone()
    y[1] = y[1] * 5 + 2  # change the other sentence only
    a, b = token_norms(x), token_norms(y)
    torch.testing.assert_close(a.layer[0], b.layer[0])
    assert not torch.allclose(a.batch[0], b.batch[0])


def test_bad_input():
    with pytest.raises(ValueError, match="d_model must be divisible by num_heads=3"):
        block_table(8, 3)
    with pytest.raises(ValueError, match="memory_len only applies"):
        block_table(memory_len=4)
    with pytest.raises(ValueError, match="kind"):
        block_table(kind="both")
    with pytest.raises(TypeError, match="norm_first"):
        block_table(norm_first=1)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        token_norms(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="floating-point"):
        token_norms(torch.zeros(2, 3, 4, dtype=torch.long))


@pytest.mark.parametrize("kind", ["encoder", "decoder"])
def test_cost_split_adds_up_to_the_formulas(kind):
    from explainer.transformer import cost_split

    D, F, N, M = 16, 40, 9, 5
    table = block_table(D, 4, F, N, kind=kind, memory_len=M if kind == "decoder" else None)
    split = cost_split(table)
    assert sum(split.values()) == table.multiply_adds
    assert split["feed-forward"] == 2 * N * D * F
    if kind == "encoder":
        assert split == {"projections": 4 * N * D * D, "scores": 2 * N * N * D, "feed-forward": 2 * N * D * F}
    else:
        assert split["scores"] == 2 * N * N * D + 2 * N * M * D
        assert split["projections"] == 4 * N * D * D + 2 * N * D * D + 2 * M * D * D
