"""Positional encodings against their closed forms and hand loops."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.attention.core import scaled_dot_product_attention
from explainer.attention.positional import (
    LearnedPositionalEmbedding,
    RelativePositionBias,
    positional_similarity,
    relative_position_bias,
    relative_position_index,
    sinusoidal_positional_encoding,
    sinusoidal_positional_encoding_2d,
)

DT = torch.float64


@pytest.mark.parametrize("length, dim, base", [(1, 2, 10000.0), (7, 6, 10000.0), (13, 10, 100.0)])
def test_sinusoidal_matches_the_formula_of_vaswani_et_al(length, dim, base):
    pe = sinusoidal_positional_encoding(length, dim, base=base, dtype=DT)
    assert pe.shape == (length, dim) and pe.dtype == DT
    for p in range(length):
        for i in range(dim // 2):
            angle = p / base ** (2 * i / dim)
            assert pe[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-12)
            assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-12)


def test_every_row_has_norm_sqrt_dim_over_2_and_float32_is_the_default():
    pe = sinusoidal_positional_encoding(20, 8)
    assert pe.dtype == torch.float32
    torch.testing.assert_close(pe.norm(dim=1), torch.full((20,), 2.0))  # sqrt(sum sin^2 + cos^2) = sqrt(dim/2)


@settings(max_examples=40, deadline=None)
@given(length=st.integers(2, 40), half=st.integers(1, 16), base=st.sampled_from([10.0, 100.0, 10000.0]),
       data=st.data())
def test_property_dot_products_depend_only_on_the_offset(length, half, base, data):
    dim = 2 * half
    pe = sinusoidal_positional_encoding(length, dim, base=base, dtype=DT)
    k = data.draw(st.integers(-(length - 1), length - 1))
    sims = [pe[p] @ pe[p + k] for p in range(max(0, -k), min(length, length - k))]
    frequencies = torch.tensor([base ** (-2 * i / dim) for i in range(half)], dtype=DT)
    closed_form = torch.cos(frequencies * k).sum()  # sum_i cos(w_i k)
    for s in sims:
        torch.testing.assert_close(s, closed_form)


def test_sinusoidal_errors():
    with pytest.raises(ValueError, match="dim must be even .* got 7"):
        sinusoidal_positional_encoding(4, 7)
    with pytest.raises(ValueError, match="length must be an integer >= 1, got 0"):
        sinusoidal_positional_encoding(0, 4)
    with pytest.raises(ValueError, match="base must be a finite number > 1, got 1.0"):
        sinusoidal_positional_encoding(4, 4, base=1.0)
    with pytest.raises(TypeError, match="dtype must be a floating-point dtype"):
        sinusoidal_positional_encoding(4, 4, dtype=torch.int64)


def test_2d_encoding_is_rows_then_columns_and_its_similarity_depends_on_the_2d_offset():
    H, W, dim = 3, 5, 12
    pe = sinusoidal_positional_encoding_2d(H, W, dim, dtype=DT)
    rows, cols = sinusoidal_positional_encoding(H, 6, dtype=DT), sinusoidal_positional_encoding(W, 6, dtype=DT)
    assert pe.shape == (H, W, dim)
    for r in range(H):
        for c in range(W):
            torch.testing.assert_close(pe[r, c], torch.cat([rows[r], cols[c]]))
    # the offset (1, 2) from (0, 0) and from (1, 2): same dot product
    torch.testing.assert_close(pe[0, 0] @ pe[1, 2], pe[1, 2] @ pe[2, 4])
    with pytest.raises(ValueError, match="divisible by 4"):
        sinusoidal_positional_encoding_2d(2, 2, 6)


def test_learned_embedding_adds_its_table_is_seeded_and_checks_shapes():
    a, b = LearnedPositionalEmbedding(10, 4, seed=3), LearnedPositionalEmbedding(10, 4, seed=3)
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, LearnedPositionalEmbedding(10, 4).weight)
    assert 0.005 < a.weight.std().item() < 0.05
    x = torch.randn(2, 6, 4)
    torch.testing.assert_close(a(x), x + a.weight[:6])
    assert a(x).requires_grad  # learnable
    with pytest.raises(ValueError, match=r"shape \(B, N <= 10, 4\)"):
        a(torch.zeros(1, 11, 4))
    with pytest.raises(ValueError, match=r"shape \(B, N <= 10, 4\)"):
        a(torch.zeros(1, 3, 5))


def test_relative_position_index_and_bias_match_loops():
    T, M = 5, 3
    index = relative_position_index(T, M)
    table = torch.randn(2 * M - 1, 2, dtype=DT)
    bias = relative_position_bias(table, T)
    assert bias.shape == (2, T, T)
    for i in range(T):
        for j in range(T):
            offset = max(-(M - 1), min(M - 1, j - i))
            assert index[i, j] == offset + M - 1
            for h in range(2):
                assert bias[h, i, j] == table[offset + M - 1, h]
    assert relative_position_index(4).max() == 6 and relative_position_index(4).min() == 0
    with pytest.raises(ValueError, match="odd number of"):
        relative_position_bias(torch.zeros(4, 2), 3)


def test_relative_bias_module_is_toeplitz_and_shifts_attention():
    rpb = RelativePositionBias(max_distance=6, num_heads=3, seed=1)
    bias = rpb(6)  # (3, 6, 6)
    assert bias.shape == (3, 6, 6) and rpb.table.shape == (11, 3)
    for k in range(-5, 6):
        diagonal = torch.diagonal(bias, offset=k, dim1=1, dim2=2)  # (3, 6 - |k|)
        assert (diagonal == diagonal[:, :1]).all()  # constant along every diagonal: depends only on j - i
    with torch.no_grad():  # a large bias for offset -1: every query attends to its left neighbour
        rpb.table.zero_()
        rpb.table[6 - 1 - 1] = 50.0
    q = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    a = scaled_dot_product_attention(q, q, q)
    weights = torch.softmax(a.scores + rpb(6)[0], dim=-1)  # (6, 6): content scores + position bias
    assert (weights[1:].argmax(-1) == torch.arange(5)).all()
    assert (a.weights[1:].argmax(-1) != torch.arange(5)).any()  # not so without the bias


def test_positional_similarity_1d_and_2d_grids():
    s = positional_similarity(10, 8)
    assert s.grid == (1, 10)
    torch.testing.assert_close(s.similarity, s.encoding @ s.encoding.T)
    torch.testing.assert_close(s.similarity.diagonal(), torch.full((10,), 4.0))
    for length, grid in ((16, (4, 4)), (17, (4, 5)), (21, (5, 5)), (2, (1, 2))):
        s = positional_similarity(length, 8, kind="2d")
        assert s.grid == grid and s.encoding.shape == (length, 8)
        full = sinusoidal_positional_encoding_2d(*grid, 8).reshape(-1, 8)
        torch.testing.assert_close(s.encoding, full[:length])
    with pytest.raises(ValueError, match="kind must be one of '1d', '2d'; got '3d'"):
        positional_similarity(4, 8, kind="3d")


def test_a_relative_position_bias_is_one_scalar_per_head_and_offset_unlike_shaw_et_al_vectors():
    """The T5 / Swin bias (what RelativePositionBias is) adds the same number to every score of one offset,
    whatever the query; Shaw et al. 2018 add a learned *vector* per offset to the keys, so their position term
    q_i . a_(j-i) changes with the query. Both computed here: the docstrings credit the right papers."""
    N, h, d_k, M = 6, 2, 4, 3
    rpb = RelativePositionBias(max_distance=M, num_heads=h, seed=1)
    assert tuple(rpb.table.shape) == (2 * M - 1, h)  # scalars: (offsets, heads)
    bias = rpb(N).detach()  # (h, N, N)
    for offset in range(-(N - 1), N):
        diagonal = bias.diagonal(offset=offset, dim1=-2, dim2=-1)  # (h, N - |offset|): one value per head
        torch.testing.assert_close(diagonal, diagonal[:, :1].expand_as(diagonal))
    # Shaw et al.: e_ij = q_i . (k_j + a_clip(j - i)) / sqrt(d_k), with vectors a of width d_k (a slow loop).
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(N, d_k, generator=g, dtype=DT), torch.randn(N, d_k, generator=g, dtype=DT)
    vectors = torch.randn(2 * M - 1, d_k, generator=g, dtype=DT)  # one vector per clipped offset
    index = relative_position_index(N, M)
    position_term = torch.tensor([[float(q[i] @ vectors[index[i, j]]) for j in range(N)] for i in range(N)], dtype=DT)
    scores = torch.tensor([[float(q[i] @ (k[j] + vectors[index[i, j]])) for j in range(N)] for i in range(N)],
                          dtype=DT) / math.sqrt(d_k)
    torch.testing.assert_close(scores, (q @ k.T + position_term) / math.sqrt(d_k))
    main = position_term.diagonal()  # offset 0 for every query: differs from query to query
    assert main.std() > 0.1 and not torch.allclose(main, main[:1].expand_as(main))
