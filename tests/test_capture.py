"""Recording attention from any model, and reading it: against recomputations from the layers' own
weights and against slow loops, in float64 with odd sizes (d_model 12, 3 heads, T 7, memory 5, B 2)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from explainer.attention import MultiHeadAttention
from explainer.attention.capture import (
    attention_modules,
    attention_rollout,
    capture_attention,
    importance_map,
    mean_attention_distance,
)

DT = torch.float64
D, HEADS, T, S, B = 12, 3, 7, 5, 2  # d_model, heads, target tokens, memory tokens, batch


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=gen(seed), dtype=DT)


def init(model: nn.Module, seed: int) -> nn.Module:
    """Seeded weights (not the global RNG), float64, eval mode."""
    g = gen(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=DT) * 0.5)
    return model.to(DT).eval()


def encoder(batch_first=True, heads=HEADS, layers=2, seed=0, nested=False):
    layer = nn.TransformerEncoderLayer(D, heads, dim_feedforward=10, dropout=0.0, batch_first=batch_first)
    return init(nn.TransformerEncoder(layer, layers, enable_nested_tensor=nested), seed)


def decoder(batch_first=True, seed=1):
    layer = nn.TransformerDecoderLayer(D, HEADS, dim_feedforward=10, dropout=0.0, batch_first=batch_first)
    return init(nn.TransformerDecoder(layer, 2), seed)


def causal(n: int) -> torch.Tensor:
    return torch.ones(n, n, dtype=torch.bool).triu(1)  # PyTorch's convention: True = may NOT attend


def padding(lengths: list[int], n: int) -> torch.Tensor:
    return torch.arange(n)[None, :] >= torch.tensor(lengths)[:, None]  # (B, n), True = padded


def oracle_weights(mha: nn.MultiheadAttention, q_in, kv_in, attn_mask=None, key_padding_mask=None):
    """softmax(Q_h K_h^T / sqrt(d_k)) per head from the layer's own packed in_proj, masks as -inf; (B, H, Tq, Tk)."""
    w_q, w_k, _ = mha.in_proj_weight.split(D)
    b_q, b_k, _ = mha.in_proj_bias.split(D)
    d_k = D // mha.num_heads
    q = (q_in @ w_q.T + b_q).unflatten(-1, (mha.num_heads, d_k)).transpose(1, 2)  # (B, H, Tq, d_k)
    k = (kv_in @ w_k.T + b_k).unflatten(-1, (mha.num_heads, d_k)).transpose(1, 2)  # (B, H, Tk, d_k)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (B, H, Tq, Tk)
    if attn_mask is not None:
        scores = scores.masked_fill(attn_mask, -math.inf)
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask[:, None, None, :], -math.inf)
    return torch.softmax(scores, dim=-1)


def batch_major(x, batch_first):
    return x if batch_first else x.transpose(0, 1)


# --------------------------------------------------------------------------- capture: oracles
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("masks", ["none", "causal", "padding", "both"])
def test_encoder_weights_equal_a_recomputation_from_the_layers_own_projections(batch_first, masks):
    model = encoder(batch_first)
    x = rand(B, T, D, seed=2)
    mask = causal(T) if masks in ("causal", "both") else None
    pad = padding([T, 4], T) if masks in ("padding", "both") else None
    with torch.no_grad(), capture_attention(model) as rec:
        model(batch_major(x, batch_first), mask=mask, src_key_padding_mask=pad)
    assert list(rec.maps) == ["layers.0.self_attn", "layers.1.self_attn"]
    h = x
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            expected = oracle_weights(layer.self_attn, h, h, mask, pad)
            torch.testing.assert_close(rec.maps[f"layers.{i}.self_attn"], expected, rtol=1e-12, atol=1e-13)
            h = batch_major(layer(batch_major(h, batch_first), src_mask=mask, src_key_padding_mask=pad), batch_first)


@pytest.mark.parametrize("batch_first", [True, False])
def test_decoder_self_and_cross_attention_equal_a_recomputation(batch_first):
    model = decoder(batch_first)
    tgt, memory = rand(B, T, D, seed=3), rand(B, S, D, seed=4)
    tgt_mask, memory_pad = causal(T), padding([S, 3], S)
    with torch.no_grad(), capture_attention(model) as rec:
        model(batch_major(tgt, batch_first), batch_major(memory, batch_first), tgt_mask=tgt_mask,
              memory_key_padding_mask=memory_pad)
    assert list(rec.maps) == ["layers.0.self_attn", "layers.0.multihead_attn",
                              "layers.1.self_attn", "layers.1.multihead_attn"]
    h = tgt
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            self_w = oracle_weights(layer.self_attn, h, h, attn_mask=tgt_mask)
            torch.testing.assert_close(rec.maps[f"layers.{i}.self_attn"], self_w, rtol=1e-12, atol=1e-13)
            # The cross-attention's queries: the layer's state after its self-attention block (post-norm).
            sa = _self_attention_output(layer, h, tgt_mask, batch_first)
            cross_q = layer.norm1(h + sa)
            cross_w = oracle_weights(layer.multihead_attn, cross_q, memory, key_padding_mask=memory_pad)
            assert rec.maps[f"layers.{i}.multihead_attn"].shape == (B, HEADS, T, S)
            torch.testing.assert_close(rec.maps[f"layers.{i}.multihead_attn"], cross_w, rtol=1e-12, atol=1e-13)
            assert bool((rec.maps[f"layers.{i}.multihead_attn"][1, :, :, 3:] == 0).all())  # padded memory
            h = batch_major(layer(batch_major(h, batch_first), batch_major(memory, batch_first), tgt_mask=tgt_mask,
                                  memory_key_padding_mask=memory_pad), batch_first)


def _self_attention_output(layer, h, tgt_mask, batch_first):
    """The self-attention block's output, batch first (PyTorch's module, called outside any recording)."""
    hb = batch_major(h, batch_first)
    out = layer.self_attn(hb, hb, hb, attn_mask=tgt_mask, need_weights=False)[0]
    return batch_major(out, batch_first)


def test_our_multi_head_attention_is_recorded_as_it_returns_it():
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = MultiHeadAttention(D, HEADS, kdim=5, vdim=5)

        def forward(self, x, memory):
            return self.attn(x, memory, memory).output

    model = init(Tiny(), 5)
    x, memory = rand(B, T, D, seed=6), rand(B, S, 5, seed=7)
    with torch.no_grad(), capture_attention(model) as rec:
        y = model(x, memory)
    with torch.no_grad():
        direct = model.attn(x, memory, memory)
    assert list(rec.maps) == ["attn"]
    assert torch.equal(rec.maps["attn"], direct.weights) and torch.equal(y, direct.output)


# --------------------------------------------------------------------------- capture: outputs unchanged
# Recording makes PyTorch compute the weights explicitly (softmax, then a matrix product) where the
# unrecorded call may use a fused kernel that adds in another order: the same numbers up to rounding,
# so the comparison is allclose at a float64 rounding tolerance, not equality.
TIGHT = dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("heads", [HEADS, 4])  # 4 heads, batch first, eval: PyTorch's fast path when unrecorded
def test_recording_leaves_the_encoder_outputs_unchanged(batch_first, heads):
    model = encoder(batch_first, heads=heads)
    x = batch_major(rand(B, T, D, seed=8), batch_first)
    with torch.no_grad():
        plain = model(x, mask=causal(T))
        with capture_attention(model) as rec:
            recorded = model(x, mask=causal(T))
    assert len(rec.maps) == 2  # the attention modules ran, even where the fast path would skip them
    torch.testing.assert_close(recorded, plain, **TIGHT)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_the_fast_path_nested_encoder_agrees_at_unpadded_positions():
    """enable_nested_tensor + padding: unrecorded, PyTorch zeros the padded positions; recorded, it computes them."""
    model = encoder(True, heads=4, nested=True)
    x, pad = rand(B, T, D, seed=9), padding([T, 4], T)
    with torch.no_grad():
        plain = model(x, src_key_padding_mask=pad)
        with capture_attention(model) as rec:
            recorded = model(x, src_key_padding_mask=pad)
    torch.testing.assert_close(recorded[~pad], plain[~pad], **TIGHT)
    assert bool((plain[pad] == 0).all()) and bool((recorded[pad] != 0).any())
    assert bool((rec.maps["layers.0.self_attn"][1, :, :, 4:] == 0).all())


def test_recording_leaves_the_decoder_outputs_unchanged():
    model = decoder(False)
    tgt, memory = rand(T, B, D, seed=10), rand(S, B, D, seed=11)
    with torch.no_grad():
        plain = model(tgt, memory, tgt_mask=causal(T), tgt_is_causal=True)
        with capture_attention(model):
            recorded = model(tgt, memory, tgt_mask=causal(T), tgt_is_causal=True)
    torch.testing.assert_close(recorded, plain, **TIGHT)


@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True), (False, False)])
def test_a_bare_multihead_attention_returns_what_its_caller_asked(need_weights, average):
    mha = init(nn.MultiheadAttention(D, HEADS, batch_first=True), 12)
    q, kv = rand(B, T, D, seed=13), rand(B, S, D, seed=14)
    with torch.no_grad():
        plain = mha(q, kv, kv, None, need_weights, None, average)  # positional, as some callers do
        with capture_attention(mha) as rec:
            recorded = mha(q, kv, kv, None, need_weights, None, average)
    torch.testing.assert_close(recorded[0], plain[0], **TIGHT)
    if need_weights:
        torch.testing.assert_close(recorded[1], plain[1], **TIGHT)
    else:
        assert recorded[1] is None and plain[1] is None
    assert list(rec.maps) == [""] and rec.maps[""].shape == (B, HEADS, T, S)


def test_unbatched_input_is_recorded_with_a_batch_of_one():
    mha = init(nn.MultiheadAttention(D, HEADS), 15)
    x = rand(T, D, seed=16)
    with torch.no_grad(), capture_attention(mha) as rec:
        _, averaged = mha(x, x, x)
    assert rec.maps[""].shape == (1, HEADS, T, T)
    torch.testing.assert_close(rec.maps[""][0].mean(0), averaged, **TIGHT)


# --------------------------------------------------------------------------- capture: calls, restore
def test_each_call_of_the_model_replaces_the_maps_and_history_keeps_them_all():
    model = encoder()
    xs = [rand(B, T, D, seed=20 + i) for i in range(3)]
    with torch.no_grad(), capture_attention(model, history=True) as rec:
        for x in xs:
            model(x)
            last = rec.maps
    with torch.no_grad(), capture_attention(model) as single:
        model(xs[-1])
    assert rec.maps is last and len(rec.history) == 3 and rec.history[-1] is rec.maps
    assert torch.equal(rec.maps["layers.0.self_attn"], single.maps["layers.0.self_attn"])
    assert not torch.equal(rec.history[0]["layers.0.self_attn"], rec.history[1]["layers.0.self_attn"])
    assert single.history == []


def test_a_layer_used_twice_is_recorded_once_per_run():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(D, HEADS, batch_first=True)

        def forward(self, x):
            y = self.attn(x, x, x, need_weights=False)[0]
            return self.attn(y, y, y, need_weights=False)[0]

    model = init(Twice(), 21)
    x = rand(B, T, D, seed=22)
    with torch.no_grad(), capture_attention(model) as rec:
        model(x)
        model(x)  # a second call starts over: still two entries
    assert list(rec.maps) == ["attn", "attn#2"]
    with torch.no_grad():
        y = model.attn(x, x, x)[0]
        torch.testing.assert_close(rec.maps["attn"], oracle_weights(model.attn, x, x), **TIGHT)
        torch.testing.assert_close(rec.maps["attn#2"], oracle_weights(model.attn, y, y), **TIGHT)


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._forward_hooks_with_kwargs)
               for m in model.modules())


@pytest.mark.parametrize("fastpath", [True, False])
def test_everything_is_restored_on_exit_also_after_an_exception(fastpath):
    model = encoder(heads=4)
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(fastpath)
    try:
        with pytest.raises(RuntimeError, match="on purpose"), capture_attention(model):
            assert not torch.backends.mha.get_fastpath_enabled() and _hook_count(model) > 0
            raise RuntimeError("on purpose")
        assert torch.backends.mha.get_fastpath_enabled() is fastpath and _hook_count(model) == 0
        with capture_attention(model) as rec:
            pass
        assert torch.backends.mha.get_fastpath_enabled() is fastpath and _hook_count(model) == 0
    finally:
        torch.backends.mha.set_fastpath_enabled(before)
    with torch.no_grad():
        model(rand(B, T, D))
    assert rec.maps == {}  # nothing recorded after the block


def test_a_failing_forward_does_not_confuse_the_next_call():
    model = encoder()
    with torch.no_grad(), capture_attention(model) as rec:
        with pytest.raises(AssertionError, match="embedding dimension"):
            model(rand(B, T, D + 1))
        model(rand(B, T, D))
    assert list(rec.maps) == ["layers.0.self_attn", "layers.1.self_attn"]


def test_detach_false_keeps_the_weights_in_the_graph():
    model = encoder()
    x = rand(B, T, D, seed=23).requires_grad_()
    with capture_attention(model, detach=False) as rec:
        model(x)
    rec.maps["layers.1.self_attn"][:, :, 0, 1].sum().backward()
    assert x.grad is not None and bool(x.grad.abs().sum() > 0)


def test_capture_refuses_bad_input():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got Tensor"):
        with capture_attention(torch.zeros(1)):
            pass
    with pytest.raises(ValueError, match=r"model \(Sequential\) has no nn.MultiheadAttention"):
        with capture_attention(nn.Sequential(nn.Linear(2, 2))):
            pass
    with pytest.raises(TypeError, match="history must be a bool, got 1"):
        with capture_attention(encoder(), history=1):
            pass
    assert [n for n, _ in attention_modules(decoder())][:2] == ["layers.0.self_attn", "layers.0.multihead_attn"]


# --------------------------------------------------------------------------- rollout
def slow_rollout(layers, fusion="mean", residual=True):
    """Per batch element, per entry, python loops: R = A_L ... A_1, A = rownorm((fuse W + I) / 2)."""
    Bn, H, n, _ = layers[0].shape
    out = torch.zeros(Bn, n, n, dtype=DT)
    for b in range(Bn):
        r = [[float(i == j) for j in range(n)] for i in range(n)]
        for w in layers:
            a = [[0.0] * n for _ in range(n)]
            for i in range(n):
                for j in range(n):
                    heads = [float(w[b, h, i, j]) for h in range(H)]
                    value = {"mean": sum(heads) / H, "max": max(heads), "min": min(heads)}[fusion]
                    a[i][j] = (value + (i == j)) / 2 if residual else value
                total = sum(a[i])
                a[i] = [v / total for v in a[i]] if total > 0 else a[i]
            r = [[sum(a[i][k] * r[k][j] for k in range(n)) for j in range(n)] for i in range(n)]
        out[b] = torch.tensor(r, dtype=DT)
    return out


def random_weights(*shape, seed=0, sharp=2.0):
    return torch.softmax(rand(*shape, seed=seed) * sharp, dim=-1)


@pytest.mark.parametrize("fusion", ["mean", "max", "min"])
@pytest.mark.parametrize("residual", [True, False])
def test_rollout_equals_a_slow_loop(fusion, residual):
    layers = [random_weights(B, HEADS, T, T, seed=30 + i) for i in range(3)]
    expected = slow_rollout(layers, fusion, residual)
    torch.testing.assert_close(attention_rollout(layers, head_fusion=fusion, residual=residual), expected)


def test_rollout_reads_recorded_maps_a_list_or_one_tensor_alike():
    model = encoder(layers=3)
    with torch.no_grad(), capture_attention(model) as rec:
        model(rand(B, T, D, seed=31), mask=causal(T))
    layers = list(rec.maps.values())
    expected = slow_rollout(layers)
    for maps in (rec.maps, layers, torch.stack(layers)):
        torch.testing.assert_close(attention_rollout(maps), expected)
    # causal layers give a causal (lower-triangular) rollout: no token hears from the future
    assert bool((attention_rollout(rec.maps).triu(1) == 0).all())


def test_rollout_order_matters():
    layers = [random_weights(1, 2, 5, 5, seed=32), random_weights(1, 2, 5, 5, seed=33)]
    forward, backward = attention_rollout(layers), attention_rollout(layers[::-1])
    assert not torch.allclose(forward, backward)
    torch.testing.assert_close(forward, slow_rollout(layers))


@settings(max_examples=40, deadline=None)
@given(layers=st.integers(1, 4), heads=st.integers(1, 3), tokens=st.integers(1, 6), seed=st.integers(0, 10_000),
       fusion=st.sampled_from(["mean", "max", "min"]), residual=st.booleans())
def test_rollout_rows_are_distributions(layers, heads, tokens, seed, fusion, residual):
    maps = [random_weights(2, heads, tokens, tokens, seed=seed + i, sharp=4.0) for i in range(layers)]
    r = attention_rollout(maps, head_fusion=fusion, residual=residual)
    assert r.shape == (2, tokens, tokens) and bool((r >= 0).all())
    torch.testing.assert_close(r.sum(-1), torch.ones(2, tokens, dtype=DT))


@settings(max_examples=30, deadline=None)
@given(layers=st.integers(1, 4), heads=st.integers(1, 3), tokens=st.integers(1, 6), residual=st.booleans())
def test_identity_layers_roll_out_to_the_identity(layers, heads, tokens, residual):
    eye = torch.eye(tokens, dtype=DT).expand(2, heads, tokens, tokens)
    torch.testing.assert_close(attention_rollout([eye] * layers, residual=residual),
                               torch.eye(tokens, dtype=DT).expand(2, tokens, tokens))


@settings(max_examples=30, deadline=None)
@given(heads=st.integers(1, 4), tokens=st.integers(1, 7), seed=st.integers(0, 10_000))
def test_one_layer_rolls_out_to_half_its_head_average_plus_half_the_identity(heads, tokens, seed):
    w = random_weights(1, heads, tokens, tokens, seed=seed)
    torch.testing.assert_close(attention_rollout([w]), (w.mean(1) + torch.eye(tokens, dtype=DT)) / 2)


def test_a_zero_row_becomes_an_identity_row_with_the_residual():
    w = random_weights(1, 2, 4, 4, seed=34)
    w[0, :, 2] = 0  # a query masked out entirely, as our MultiHeadAttention returns it
    assert torch.equal(attention_rollout([w])[0, 2], torch.tensor([0, 0, 1.0, 0], dtype=DT))
    assert bool((attention_rollout([w], residual=False)[0, 2] == 0).all())


def test_rollout_refuses_bad_input():
    w = random_weights(B, HEADS, T, T)
    with pytest.raises(ValueError, match="at least one layer"):
        attention_rollout([])
    with pytest.raises(ValueError, match=r"maps\[0\] must have 4 dimensions"):
        attention_rollout([w[0]])
    with pytest.raises(ValueError, match=r"same B and T, got maps\[0\] \(2, 3, 7, 7\) and maps\[1\] \(2, 3, 7, 5\)"):
        attention_rollout([w, w[..., :5]])
    with pytest.raises(ValueError, match="must be finite"):
        attention_rollout([w.masked_fill(w > 0.5, math.nan)])
    with pytest.raises(ValueError, match="non-negative"):
        attention_rollout([-w])
    with pytest.raises(ValueError, match="head_fusion must be one of 'mean', 'max', 'min'; got 'median'"):
        attention_rollout([w], head_fusion="median")
    with pytest.raises(TypeError, match="maps must be a mapping"):
        attention_rollout(3)
    with pytest.raises(TypeError, match="residual must be a bool"):
        attention_rollout([w], residual=0.5)


# --------------------------------------------------------------------------- attention distance
def slow_distance(w, grid, patch, prefix, normalize):
    """Loops over batch, head, query and key patch, with math.hypot for the pixel distance."""
    gh, gw = grid
    Bn, H = w.shape[:2]
    P = gh * gw
    out = torch.zeros(Bn, H, P, dtype=DT)
    for b in range(Bn):
        for h in range(H):
            for i in range(P):
                row = [float(w[b, h, prefix + i, prefix + j]) for j in range(P)]
                total = sum(row) if normalize else 1.0
                d = 0.0
                for j in range(P):
                    dy, dx = (i // gw - j // gw) * patch[0], (i % gw - j % gw) * patch[1]
                    d += row[j] / total * math.hypot(dy, dx)
                out[b, h, i] = d
    return out


@pytest.mark.parametrize("grid, patch, prefix", [((3, 4), (16, 16), 1), ((2, 5), (4, 7), 0), ((1, 3), (1, 1), 2)])
@pytest.mark.parametrize("normalize", [True, False])
def test_mean_attention_distance_equals_a_slow_loop(grid, patch, prefix, normalize):
    n = prefix + grid[0] * grid[1]
    w = random_weights(B, HEADS, n, n, seed=40)
    expected = slow_distance(w, grid, patch, prefix, normalize)
    kwargs = dict(grid=grid, patch_size=patch, num_prefix_tokens=prefix, normalize_keys=normalize)
    torch.testing.assert_close(mean_attention_distance(w, per_query=True, **kwargs), expected)
    torch.testing.assert_close(mean_attention_distance(w, **kwargs), expected.mean(-1))
    torch.testing.assert_close(mean_attention_distance(w[0], **kwargs), expected[0].mean(-1))  # (H,) for 3-D


def test_attention_on_oneself_has_distance_zero_and_uniform_attention_the_mean_pairwise_distance():
    P = 6
    eye = torch.eye(P, dtype=DT).expand(1, 2, P, P)
    assert bool((mean_attention_distance(eye, grid=(2, 3), patch_size=8) == 0).all())
    uniform = torch.full((1, 1, P, P), 1 / P, dtype=DT)
    centres = [(r * 8.0, c * 8.0) for r in range(2) for c in range(3)]
    pairwise = sum(math.dist(a, b) for a in centres for b in centres) / P**2
    assert mean_attention_distance(uniform, grid=(2, 3), patch_size=8).item() == pytest.approx(pairwise)


@settings(max_examples=30, deadline=None)
@given(gh=st.integers(1, 4), gw=st.integers(1, 4), scale=st.integers(1, 20), seed=st.integers(0, 10_000))
def test_distance_grows_with_the_patch_size_and_never_exceeds_the_diagonal(gh, gw, scale, seed):
    w = random_weights(1, 2, gh * gw + 1, gh * gw + 1, seed=seed)
    one = mean_attention_distance(w, grid=(gh, gw), num_prefix_tokens=1)
    torch.testing.assert_close(mean_attention_distance(w, grid=(gh, gw), patch_size=scale, num_prefix_tokens=1),
                               one * scale)
    assert bool((one >= 0).all()) and bool((one <= math.hypot(gh - 1, gw - 1) + 1e-12).all())


def test_mean_attention_distance_refuses_bad_input():
    w = random_weights(1, 2, 5, 5)
    with pytest.raises(ValueError, match=r"T = num_prefix_tokens \+ gh\*gw = 0 \+ 2\*2 = 4, got shape \(1, 2, 5, 5\)"):
        mean_attention_distance(w, grid=2)
    with pytest.raises(ValueError, match="weights must have 3 or 4 dimensions"):
        mean_attention_distance(w[0, 0], grid=(1, 5))
    with pytest.raises(ValueError, match="grid must be >= 1"):
        mean_attention_distance(w, grid=(0, 5))
    with pytest.raises(ValueError, match="num_prefix_tokens must be an integer >= 0, got -1"):
        mean_attention_distance(w, grid=2, num_prefix_tokens=-1)
    with pytest.raises(TypeError, match="per_query must be a bool"):
        mean_attention_distance(w, grid=2, num_prefix_tokens=1, per_query="yes")


# --------------------------------------------------------------------------- importance map
def test_importance_map_averages_over_the_words_into_an_image():
    words, grid = 3, (2, 3)
    w = random_weights(B, HEADS, words, 1 + 6, seed=50)  # keys: a class token, then 2 x 3 patches
    m = importance_map(w, dim=-2, grid=grid, num_prefix_tokens=1)
    assert m.shape == (B, HEADS, 2, 3)
    for b in range(B):
        for h in range(HEADS):
            for r in range(2):
                for c in range(3):
                    expected = sum(float(w[b, h, q, 1 + r * 3 + c]) for q in range(words)) / words
                    assert m[b, h, r, c].item() == pytest.approx(expected, abs=1e-15)


def test_importance_map_over_any_axis_is_the_mean_along_it():
    w = random_weights(2, 3, 4, 5, seed=51)
    for dim in range(-4, 4):
        torch.testing.assert_close(importance_map(w, dim=dim), w.mean(dim))
    torch.testing.assert_close(importance_map(w, dim=-1), torch.full((2, 3, 4), 1 / 5, dtype=DT))  # rows sum to 1
    torch.testing.assert_close(importance_map(w, dim=1, grid=(1, 5)), w.mean(1).unflatten(-1, (1, 5)))


def test_importance_map_refuses_bad_input():
    w = random_weights(2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"dim must be an integer in \[-4, 3\], got 4"):
        importance_map(w, dim=4)
    with pytest.raises(ValueError, match=r"num_prefix_tokens \+ gh\*gw = 0 \+ 2\*2 = 4 tokens, got 5"):
        importance_map(w, grid=2)
    with pytest.raises(ValueError, match="only used with a grid"):
        importance_map(w, num_prefix_tokens=1)
    with pytest.raises(TypeError, match="floating-point tensor with >= 2 dimensions"):
        importance_map(torch.ones(3))
    with pytest.raises(ValueError, match="must be finite"):
        importance_map(torch.full((2, 2), math.nan))
