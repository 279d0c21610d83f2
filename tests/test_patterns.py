"""Efficient attention patterns: mask laws against slow loop references, reachability, costs counted from
masks, and linear attention equal to its explicit quadratic form (float64)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.attention.core import causal_mask, scaled_dot_product_attention
from explainer.attention.patterns import (
    PATTERNS,
    attention_cost,
    block_mask,
    bucket_mask,
    feature_map,
    kernel_attention_quadratic,
    linear_attention,
    local_mask,
    lsh_buckets,
    pattern_mask,
    pattern_nnz,
    blockwise_attention,
    lsh_rounds,
    reachability,
    stacked_reach,
    strided_mask,
    window_mask,
)

FAST = settings(max_examples=40, deadline=None)


def loop_mask(T, allowed):
    return torch.tensor([[bool(allowed(i, j)) for j in range(T)] for i in range(T)])


def loop_reach(mask, layers):
    """Breadth-first search, ``layers`` steps, on Python sets: the slow reference for the matrix power."""
    T = mask.shape[0]
    nbrs = [{j for j in range(T) if mask[i, j]} for i in range(T)]
    out = torch.zeros(T, T, dtype=torch.bool)
    for i in range(T):
        frontier = {i}
        for _ in range(layers):
            frontier = set().union(*(nbrs[m] for m in frontier)) if frontier else set()
        out[i, list(frontier)] = True
    return out


# --------------------------------------------------------------------------- masks vs loops
@FAST
@given(T=st.integers(1, 23), window=st.integers(0, 25), causal=st.booleans())
def test_local_mask_matches_the_loop(T, window, causal):
    want = loop_mask(T, lambda i, j: abs(i - j) <= window and (j <= i or not causal))
    assert torch.equal(local_mask(T, window, causal), want)


@FAST
@given(T=st.integers(1, 23), stride=st.integers(1, 9), causal=st.booleans())
def test_strided_mask_is_child_et_al_local_head_union_strided_head(T, stride, causal):
    def allowed(i, j):
        d = i - j if causal else abs(i - j)
        return d >= 0 and (d <= stride or d % stride == 0)

    assert torch.equal(strided_mask(T, stride, causal), loop_mask(T, allowed))


def child_sets(i, l):
    """Child et al. 2019, section 4.2, as written: A1 = {t, t+1, ..., i} with t = max(0, i - l),
    A2 = {j : (i - j) mod l = 0} (j <= i); the strided pattern is their union."""
    a1 = set(range(max(0, i - l), i + 1))
    a2 = {j for j in range(i + 1) if (i - j) % l == 0}
    return a1, a2


@pytest.mark.parametrize("n,l", [(1, 1), (9, 1), (16, 4), (23, 3), (31, 5), (40, 7), (12, 20)])
def test_strided_mask_is_the_union_of_the_papers_sets_and_the_row_bound_holds(n, l):
    """The paper's local head A1 holds l + 1 positions (i - l .. i), not l; since i - l is also in the
    strided head A2, the union equals the one built from "the previous l locations". Row i >= l holds
    l + floor(i / l) keys, so no row exceeds l + (N - 1) / l, and the last row reaches it."""
    mask = strided_mask(n, l)
    rows = []
    for i in range(n):
        a1, a2 = child_sets(i, l)
        assert len(a1) == min(i, l) + 1
        assert set(torch.nonzero(mask[i]).flatten().tolist()) == a1 | a2
        assert a1 | a2 == set(range(max(0, i - l + 1), i + 1)) | a2  # "previous l": the same union
        rows.append(len(a1 | a2))
    assert mask.sum(1).tolist() == rows
    assert max(rows) <= l + (n - 1) // l
    if n > l:
        assert rows[-1] == l + (n - 1) // l


@FAST
@given(T=st.integers(1, 23), block=st.integers(1, 9))
def test_block_mask_matches_the_loop(T, block):
    assert torch.equal(block_mask(T, block), loop_mask(T, lambda i, j: i // block == j // block))


def test_local_is_symmetric_and_causal_local_is_the_lower_band():
    for T, w in ((1, 0), (7, 2), (10, 3), (5, 9)):
        m = local_mask(T, w)
        assert torch.equal(m, m.T)
        band = torch.ones(T, T, dtype=torch.bool).tril().triu(-w)  # 0 <= i - j <= w
        assert torch.equal(m & causal_mask(T), band)
        assert torch.equal(local_mask(T, w, causal=True), band)
    assert torch.equal(local_mask(6, 5), torch.ones(6, 6, dtype=torch.bool))  # window >= T-1: full attention


@FAST
@given(T=st.integers(1, 20), block=st.integers(1, 8))
def test_block_mask_is_an_equivalence_relation(T, block):
    m = block_mask(T, block)
    assert m.diagonal().all()  # reflexive
    assert torch.equal(m, m.T)  # symmetric
    assert torch.equal(reachability(m, 2), m)  # transitive: m∘m ⊆ m (and ⊇ m by reflexivity)


@FAST
@given(T=st.integers(1, 30), n_buckets=st.sampled_from([2, 4, 6, 8]), seed=st.integers(0, 1000),
       causal=st.booleans())
def test_bucket_mask_groups_by_lsh_bucket(T, n_buckets, seed, causal):
    buckets = lsh_buckets(T, n_buckets, seed)
    assert buckets.shape == (T,) and buckets.dtype == torch.int64
    assert 0 <= buckets.min() and buckets.max() < n_buckets
    m = bucket_mask(T, n_buckets, seed, causal)
    want = loop_mask(T, lambda i, j: buckets[i] == buckets[j] and (j <= i or not causal))
    assert torch.equal(m, want)
    assert torch.equal(bucket_mask(T, n_buckets, seed, causal), m)  # seeded: the same draw again
    if not causal:
        assert torch.equal(reachability(m, 2), m)  # one hash: the buckets never mix


def swin_window_groups(height, width, m, shift):
    """Swin's shifted-window attention the way its reference code builds it (Liu et al. 2021, and
    SwinTransformerBlock in microsoft/Swin-Transformer): pad the grid to multiples of M, roll it by
    -shift, cut M x M windows, and within a window keep apart the three regions
    [0, Hp - M), [Hp - M, Hp - shift), [Hp - shift, Hp) per axis (shifted coordinates) that the roll
    brought together. Returns a (H*W, H*W) bool tensor built pair by pair."""
    hp, wp = -(-height // m) * m, -(-width // m) * m

    def region(x, size):
        if shift == 0:
            return 0
        return 0 if x < size - m else (1 if x < size - shift else 2)

    label = {}
    for r in range(height):
        for c in range(width):
            rs, cs = (r - shift) % hp, (c - shift) % wp  # where the roll by -shift puts (r, c)
            label[r * width + c] = (rs // m, cs // m, region(rs, hp), region(cs, wp))
    n = height * width
    return torch.tensor([[label[i] == label[j] for j in range(n)] for i in range(n)])


@pytest.mark.parametrize("height,width,m", [(4, 4, 2), (6, 9, 3), (5, 7, 2), (8, 8, 4), (3, 5, 4), (7, 6, 1)])
def test_window_mask_is_swins_partition_plain_and_shifted(height, width, m):
    for shift in sorted({0, m // 2, m - 1}):
        want = swin_window_groups(height, width, m, shift)
        got = window_mask((height, width), m, shift_size=shift)
        assert torch.equal(got, want), (shift, got.int(), want.int())
        assert torch.equal(window_mask((height, width), m, shift, causal=True), want & causal_mask(height * width))
    plain = window_mask((height, width), m)
    # plain windows: a loop over the grid straight from the definition
    cell = [(t // width, t % width) for t in range(height * width)]
    assert torch.equal(plain, loop_mask(height * width, lambda i, j: cell[i][0] // m == cell[j][0] // m
                                        and cell[i][1] // m == cell[j][1] // m))


@pytest.mark.parametrize("height,width,m", [(4, 4, 2), (8, 8, 4), (6, 9, 3)])
def test_shifted_windows_let_information_cross_window_borders_plain_windows_never(height, width, m):
    plain, shifted = window_mask((height, width), m), window_mask((height, width), m, m // 2)
    assert torch.equal(reachability(plain, 2), plain) and torch.equal(reachability(plain, 5), plain)  # equivalence
    two = stacked_reach([plain, shifted])
    assert torch.equal(two, loop_reach_stacked([plain, shifted]))
    assert (two & ~plain).any() and not (plain & ~two).any()  # strictly more, nothing lost
    # token (m-1, m-1), the bottom-right corner of the first window, hears the next window's corner (m, m)
    corner, across = (m - 1) * width + (m - 1), m * width + m
    assert not plain[corner, across] and two[corner, across]
    # the reach grows with depth through alternating layers (W-MSA, SW-MSA, W-MSA, ...)
    four = stacked_reach([plain, shifted, plain, shifted])
    assert not (two & ~four).any() and four.sum() > two.sum()


def loop_reach_stacked(masks):
    """Sets, layer by layer: i reaches j if i attends m in the last layer and m reached j before."""
    n = masks[0].shape[0]
    reach = [{j for j in range(n) if masks[0][i, j]} for i in range(n)]
    for mask in masks[1:]:
        reach = [set().union(*(reach[m] for m in range(n) if mask[i, m])) for i in range(n)]
    out = torch.zeros(n, n, dtype=torch.bool)
    for i, js in enumerate(reach):
        out[i, list(js)] = True
    return out


def test_window_pattern_lays_tokens_on_a_grid_and_counts():
    assert torch.equal(pattern_mask("window", 24, window_size=2, grid_width=6, shift_size=1),
                       window_mask((4, 6), 2, 1))
    partial = pattern_mask("window", 22, window_size=3, grid_width=5)  # the last row holds 2 tokens
    assert torch.equal(partial, window_mask((5, 5), 3)[:22, :22])
    for n, w, m, s, causal in ((22, 5, 3, 1, False), (64, 8, 4, 2, True), (7, 8, 2, 0, False)):
        kw = dict(window_size=m, grid_width=w, shift_size=s, causal=causal)
        assert pattern_nnz("window", n, **kw) == int(pattern_mask("window", n, **kw).sum())


def test_reformer_rounds_lower_the_chance_that_similar_vectors_miss_each_other():
    """Kitaev et al. 2020 hash n_rounds times and attend over the union of buckets: a pair of nearby
    vectors is missed only when every round splits it, so the miss rate falls with the rounds. A single
    round's buckets stay an equivalence relation: rounds do not widen the reach across layers."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(400, 16, generator=g, dtype=torch.float64)
    b = a + 0.5 * a.norm(dim=1, keepdim=True) / 4 * torch.randn(400, 16, generator=g, dtype=torch.float64)
    x = torch.cat([a, b])  # pairs (p, 400 + p): similar directions
    buckets = lsh_rounds(x, 8, 8, seed=3)  # (8, 800)
    assert torch.equal(buckets[0], lsh_buckets(x, 8, seed=3))
    same = buckets[:, :400] == buckets[:, 400:]  # (rounds, pairs)
    miss = [float((~same[:r].any(0)).double().mean()) for r in (1, 2, 4, 8)]
    assert miss == sorted(miss, reverse=True) and miss[0] > 0.2 and miss[-1] < miss[0] / 4
    # independent rounds: the miss rate with r rounds is close to (one-round miss rate) ** r
    one = float((~same).double().mean())
    assert abs(miss[2] - one ** 4) < 0.05


def test_blockwise_attention_is_exact_attention_without_the_score_matrix():
    """FlashAttention (Dao et al. 2022) changes memory, not arithmetic: the tiled online softmax gives
    softmax attention's output with the same N*M*(d_k + d_v) multiply-adds, holding one tile of scores."""
    q, k, v = qkv((2, 3), 13, 29, 5, 7, seed=4)
    for block in (1, 4, 7, 64):
        r = blockwise_attention(q, k, v, block)
        assert torch.allclose(r.output, F.scaled_dot_product_attention(q, k, v), atol=1e-12)
        assert r.multiply_adds == 13 * 29 * (5 + 7)
        assert r.peak_scores == min(block, 13) * min(block, 29)
    assert attention_cost(64, 16).flops == blockwise_attention(*qkv((), 64, 64, 16, 16, seed=0), 8).multiply_adds
    assert blockwise_attention(*qkv((), 64, 64, 16, 16, seed=0), 8).peak_scores == 64 < attention_cost(64, 16).memory


def test_bucket_hashing_is_reformer_argmax_of_rotation_and_its_negation():
    x = torch.randn(40, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    b = lsh_buckets(x, 6, seed=7)
    assert torch.equal(lsh_buckets(3.5 * x, 6, seed=7), b)  # angular: only directions matter
    rotation = torch.randn(5, 3, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    assert torch.equal(b, torch.cat([x @ rotation, -x @ rotation], -1).argmax(-1))
    # nearby directions share buckets far more often than random pairs
    near = lsh_buckets(x + 1e-3 * torch.randn(40, 5, dtype=torch.float64), 6, seed=7)
    assert (near == b).float().mean() > 0.9
    assert lsh_buckets(64, 4, seed=1).unique().numel() > 1
    assert not torch.equal(lsh_buckets(64, 4, seed=1), lsh_buckets(64, 4, seed=2))


def test_pattern_mask_dispatches_by_name():
    assert torch.equal(pattern_mask("strided", 9, stride=3, causal=True), strided_mask(9, 3))
    assert torch.equal(pattern_mask("block", 9, block_size=2), block_mask(9, 2))
    assert torch.equal(pattern_mask("bucket", 9, n_buckets=2, seed=4), bucket_mask(9, 2, 4))


# --------------------------------------------------------------------------- reachability
@FAST
@given(T=st.integers(1, 16), layers=st.integers(1, 4), pattern=st.sampled_from(PATTERNS), p=st.integers(1, 5),
       causal=st.booleans())
def test_reachability_is_the_boolean_matrix_power_and_grows_with_depth(T, layers, pattern, p, causal):
    m = pattern_mask(pattern, T, window=p, stride=p, block_size=p, n_buckets=2 * p, seed=p, causal=causal)
    reach = reachability(m, layers)
    assert torch.equal(reach, loop_reach(m, layers))
    assert torch.equal(reachability(m, 1), m)
    assert not (reach & ~reachability(m, layers + 1)).any()  # monotone: the diagonal is always allowed


def test_two_local_layers_see_twice_as_far():
    for T, w in ((12, 1), (15, 3)):
        assert torch.equal(reachability(local_mask(T, w), 2), local_mask(T, 2 * w))
        assert torch.equal(reachability(local_mask(T, w, True), 3), local_mask(T, 3 * w, True))


@pytest.mark.parametrize("T,stride", [(16, 4), (9, 3), (25, 5), (30, 5), (64, 8), (50, 3), (7, 1), (5, 9)])
def test_two_strided_layers_connect_every_earlier_position(T, stride):
    """Child et al.: with l ~ sqrt(T) each row keeps O(sqrt(T)) keys, yet two layers reach all j <= i.

    What is asserted: for the union of the local head (i - j < l) and the strided head
    ((i - j) mod l = 0), the two-layer reach is exactly the causal mask, for every T (T <= l^2 is
    where the paper sets l; the strided head here repeats past it, so larger T is covered too).
    One layer alone misses pairs whenever 1 < l and T > l + 1.
    """
    m = strided_mask(T, stride)
    assert torch.equal(reachability(m, 2), causal_mask(T))
    assert (m.sum(1) <= stride + (T - 1) // stride).all()
    if 1 < stride and T > stride + 1:
        assert not torch.equal(m, causal_mask(T))
    # with causal=False both directions are covered
    assert reachability(strided_mask(T, stride, causal=False), 2).all()


def test_reachability_refuses_bad_masks():
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        reachability(torch.ones(3, 3), 2)
    with pytest.raises(ValueError, match=r"mask must be square .*\(3, 4\)"):
        reachability(torch.ones(3, 4, dtype=torch.bool), 2)
    with pytest.raises(ValueError, match="layers must be an integer >= 1, got 0"):
        reachability(torch.ones(3, 3, dtype=torch.bool), 0)


# --------------------------------------------------------------------------- cost
@FAST
@given(n=st.integers(1, 60), p=st.integers(1, 12), pattern=st.sampled_from(PATTERNS), causal=st.booleans(),
       seed=st.integers(0, 50))
def test_pattern_nnz_counts_the_mask(n, p, pattern, causal, seed):
    kw = dict(window=p - 1, stride=p, block_size=p, n_buckets=2 * ((p + 1) // 2), seed=seed, causal=causal)
    assert pattern_nnz(pattern, n, **kw) == int(pattern_mask(pattern, n, **kw).sum())


@pytest.mark.parametrize("n,dim", [(1, 1), (37, 5), (128, 64)])
def test_attention_cost_against_counting(n, dim):
    full = attention_cost(n, dim)
    assert (full.pairs, full.memory, full.flops) == (n * n, n * n, 2 * n * n * dim)
    for pattern in PATTERNS:
        kw = dict(window=3, stride=4, block_size=8, n_buckets=4, seed=1)
        cost = attention_cost(n, dim, pattern, **kw)
        nnz = int(pattern_mask(pattern, n, **kw).sum())
        assert cost.pairs == cost.memory == nnz and cost.flops == 2 * nnz * dim
        assert cost.flops <= full.flops
    # linear: count the multiply-adds of the O(N) path term by term
    lin = attention_cost(n, dim, "linear")
    summary, per_query, normaliser = n * dim * dim, n * dim * dim, n * dim
    assert lin.flops == summary + per_query + normaliser and lin.memory == dim * dim + dim and lin.pairs == 0


def test_costs_grow_as_claimed():
    c = {p: [attention_cost(n, 64, p, window=16, stride=32, block_size=32) for n in (1024, 2048)]
         for p in ("full", "local", "block", "linear", "strided")}
    assert c["full"][1].flops == 4 * c["full"][0].flops  # quadratic
    for p in ("local", "block", "linear"):
        assert 1.9 < c[p][1].flops / c[p][0].flops < 2.1  # linear in N
    assert 2.0 < c["strided"][1].flops / c["strided"][0].flops < 4.0  # between: n*l + n^2/(2l) at a fixed stride l
    assert attention_cost(10**5, 64, "local", window=8).pairs == 10**5 * 17 - 8 * 9  # big n: no mask built


# --------------------------------------------------------------------------- linear attention
def qkv(batch, n, m, d, dv, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*batch, n, d, generator=g, dtype=torch.float64),
            torch.randn(*batch, m, d, generator=g, dtype=torch.float64),
            torch.randn(*batch, m, dv, generator=g, dtype=torch.float64))


def loop_kernel_attention(q, k, v, causal):
    """Slow reference for one (N, d) sequence: explicit sums over keys."""
    out = torch.zeros(q.shape[0], v.shape[1], dtype=q.dtype)
    for i in range(q.shape[0]):
        keys = range(i + 1) if causal else range(k.shape[0])
        w = [float(feature_map(q[i]) @ feature_map(k[j])) for j in keys]
        out[i] = sum(wj * v[j] for wj, j in zip(w, keys)) / sum(w)
    return out


@pytest.mark.parametrize("batch,n,m,d,dv,causal", [
    ((), 5, 7, 3, 2, False), ((1,), 6, 6, 5, 3, True), ((3, 2), 4, 9, 1, 5, False), ((2,), 7, 7, 3, 1, True)])
def test_linear_attention_equals_the_quadratic_form_and_the_loop(batch, n, m, d, dv, causal):
    q, k, v = qkv(batch, n, m, d, dv, seed=n + m)
    fast, slow = linear_attention(q, k, v, causal), kernel_attention_quadratic(q, k, v, causal)
    assert fast.output.shape == slow.output.shape == (*batch, n, dv)
    assert (fast.output - slow.output).abs().max() < 1e-13
    assert torch.allclose(slow.weights.sum(-1), torch.ones(*batch, n, dtype=torch.float64))
    flat_q, flat_k, flat_v = (t.reshape(-1, *t.shape[-2:]) for t in (q, k, v))
    for b in range(flat_q.shape[0]):
        want = loop_kernel_attention(flat_q[b], flat_k[b], flat_v[b], causal)
        assert torch.allclose(fast.output.reshape(-1, n, dv)[b], want, atol=1e-12)
    if causal:
        assert (slow.weights.triu(1) == 0).all()
        assert fast.summary.shape == (*batch, n, d, dv) and fast.normalizer.shape == (*batch, n, d)
    else:
        assert fast.summary.shape == (*batch, d, dv) and fast.normalizer.shape == (*batch, d)


@FAST
@given(n=st.integers(1, 12), d=st.integers(1, 6), dv=st.integers(1, 4), causal=st.booleans(), seed=st.integers(0, 99))
def test_linear_attention_rows_sum_to_one_and_match(n, d, dv, causal, seed):
    q, k, v = qkv((2,), n, n, d, dv, seed)
    slow = kernel_attention_quadratic(q, k, v, causal)
    assert (slow.weights >= 0).all()
    assert torch.allclose(slow.weights.sum(-1), torch.ones(2, n, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(linear_attention(q, k, v, causal).output, slow.output, atol=1e-12)


def test_kernel_attention_is_softmax_attention_with_another_kernel():
    """exp(q·k / sqrt(d)) as the kernel gives softmax attention: the quadratic form is the general one."""
    q, k, v = qkv((2,), 4, 6, 3, 2, seed=1)
    scores = torch.exp(q @ k.transpose(-2, -1) / 3 ** 0.5)
    out = (scores / scores.sum(-1, keepdim=True)) @ v
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v))
    assert torch.allclose(out, scaled_dot_product_attention(q, k, v).output)


def test_linear_attention_follows_device_and_dtype():
    q, k, v = (t.float() for t in qkv((), 4, 4, 3, 2, seed=0))
    out = linear_attention(q, k, v, causal=True)
    assert out.output.dtype == torch.float32 and out.output.device == q.device


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call,kind,words", [
    (lambda: local_mask(0, 1), ValueError, "n must be an integer >= 1, got 0"),
    (lambda: local_mask(4, -1), ValueError, "window must be an integer >= 0, got -1"),
    (lambda: local_mask(4.0, 1), TypeError, "n must be an integer"),
    (lambda: window_mask((4, 0), 2), ValueError, "size"),
    (lambda: window_mask((4, 4), 0), ValueError, "window_size must be an integer >= 1, got 0"),
    (lambda: window_mask((4, 4), 2, shift_size=2), ValueError, r"shift_size must be an integer in \[0, 1\], got 2"),
    (lambda: pattern_mask("window", 8, grid_width=0), ValueError, "grid_width must be an integer >= 1, got 0"),
    (lambda: lsh_rounds(8, 4, 0), ValueError, "n_rounds must be an integer >= 1, got 0"),
    (lambda: stacked_reach([]), TypeError, "masks must be a non-empty sequence"),
    (lambda: stacked_reach([torch.ones(3, 3, dtype=torch.bool), torch.ones(4, 4, dtype=torch.bool)]), ValueError,
     r"masks must share one shape, got \(3, 3\) and \(4, 4\)"),
    (lambda: stacked_reach([torch.ones(3, 3)]), TypeError, r"masks\[0\] must be a bool tensor"),
    (lambda: blockwise_attention(torch.ones(3, 2), torch.ones(3, 2), torch.ones(3, 1), 0), ValueError,
     "block_size must be an integer >= 1, got 0"),
    (lambda: strided_mask(4, 0), ValueError, "stride must be an integer >= 1, got 0"),
    (lambda: block_mask(4, 0), ValueError, "block_size must be an integer >= 1, got 0"),
    (lambda: bucket_mask(8, 3), ValueError, "n_buckets must be even"),
    (lambda: bucket_mask(8, 4, seed=-1), ValueError, "seed must be an integer >= 0"),
    (lambda: bucket_mask(torch.ones(3), 4), ValueError, "x must have 2 dimensions"),
    (lambda: local_mask(4, 1, causal=1), TypeError, "causal must be True or False"),
    (lambda: pattern_mask("dilated", 4), ValueError, "pattern must be one of"),
    (lambda: attention_cost(0, 4), ValueError, "n must be an integer >= 1, got 0"),
    (lambda: attention_cost(8, 4, "sparse"), ValueError, "pattern must be one of"),
    (lambda: linear_attention(torch.ones(3, 2), torch.ones(3, 4), torch.ones(3, 1)), ValueError, "share their last"),
    (lambda: linear_attention(torch.ones(3, 2), torch.ones(4, 2), torch.ones(3, 1)), ValueError, "as many positions"),
    (lambda: linear_attention(torch.ones(3, 2), torch.ones(4, 2), torch.ones(4, 1), True), ValueError,
     "as many queries as keys"),
    (lambda: kernel_attention_quadratic(torch.ones(3, 2, dtype=torch.long), torch.ones(3, 2), torch.ones(3, 1)),
     ValueError, "floating-point"),
])
def test_errors_name_the_parameter_and_the_value(call, kind, words):
    with pytest.raises(kind, match=words):
        call()
