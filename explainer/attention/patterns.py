"""Efficient attention: sparse mask patterns, what they reach over layers, their cost, and linear attention.

Every mask is a ``(T, T)`` boolean tensor, True where query ``i`` (row) may attend to key ``j``
(column): PyTorch's convention, the same one :func:`explainer.attention.core.scaled_dot_product_attention`
takes. The patterns:

* local (sliding window): ``|i - j| <= window``.
* strided, Child et al., "Generating Long Sequences with Sparse Transformers" (2019,
  https://arxiv.org/abs/1904.10509), section 4.2: the union of its two heads,
  ``A1 = {j : i - j < stride}`` (the previous ``stride`` positions, a local window) and
  ``A2 = {j : (i - j) mod stride = 0}`` (every ``stride``-th position back, the "summary" column
  pattern), restricted to ``j <= i`` as in the paper (``causal=False`` uses ``|i - j|`` instead).
* block (block-diagonal): ``i // block_size == j // block_size``.
* bucket, the LSH attention of Kitaev et al., "Reformer: The Efficient Transformer" (2020,
  https://arxiv.org/abs/2001.04451): shared query/key vectors are hashed by a random rotation,
  ``h(x) = argmax([xR; -xR])``, and a query attends to the keys in its own bucket.

Linear attention follows Katharopoulos et al., "Transformers are RNNs" (2020,
https://arxiv.org/abs/2006.16236): with the feature map ``phi(x) = elu(x) + 1`` the weights
``phi(q_i)·phi(k_j) / sum_j phi(q_i)·phi(k_j)`` need never be formed, because
``sum_j (phi(q_i)·phi(k_j)) v_j = phi(q_i)^T (sum_j phi(k_j) v_j^T)``: one ``(d, d_v)`` summary for
all queries, or a running (cumulative) sum of them when attention is causal.

Letters: ``T`` / ``N`` sequence length, ``d`` query/key size, ``d_v`` value size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from explainer._validate import check_choice, check_int, check_tensor

__all__ = [
    "PATTERNS",
    "local_mask",
    "strided_mask",
    "block_mask",
    "lsh_buckets",
    "bucket_mask",
    "pattern_mask",
    "reachability",
    "pattern_nnz",
    "AttentionCost",
    "attention_cost",
    "feature_map",
    "KernelAttention",
    "kernel_attention_quadratic",
    "LinearAttention",
    "linear_attention",
]

PATTERNS = ("local", "strided", "block", "bucket")


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _offsets(T: int, device: torch.device | str | None) -> Tensor:
    """``(T, T)`` int64 tensor of ``i - j`` (query row minus key column)."""
    pos = torch.arange(T, device=device)
    return pos[:, None] - pos[None, :]  # (T, T)


# --------------------------------------------------------------------------- masks
def local_mask(T: int, window: int, causal: bool = False, device: torch.device | str | None = None) -> Tensor:
    """Sliding-window mask: query ``i`` may attend to key ``j`` when ``|i - j| <= window``.

    Args:
        T: sequence length (>= 1).
        window: how far each side a query sees (>= 0; ``window >= T - 1`` is full attention).
        causal: also require ``j <= i`` (a banded lower-triangular mask).
        device: where to create the mask.

    Returns:
        ``(T, T)`` bool tensor.

    Example:
        >>> local_mask(4, 1).int()
        tensor([[1, 1, 0, 0],
                [1, 1, 1, 0],
                [0, 1, 1, 1],
                [0, 0, 1, 1]], dtype=torch.int32)
    """
    T = check_int("T", T, minimum=1)
    window = check_int("window", window, minimum=0)
    causal = _check_bool("causal", causal)
    d = _offsets(T, device)  # (T, T)
    mask = d.abs() <= window
    return mask & (d >= 0) if causal else mask


def strided_mask(T: int, stride: int, causal: bool = True, device: torch.device | str | None = None) -> Tensor:
    """Child et al.'s strided pattern: the previous ``stride`` positions plus every ``stride``-th one.

    Query ``i`` may attend to key ``j`` when ``j <= i`` and ``(i - j) < stride`` (local head) or
    ``(i - j) mod stride == 0`` (strided head); with ``causal=False`` the same with ``|i - j|``.
    Each row has at most ``stride + T / stride`` entries, ``O(sqrt(T))`` for ``stride ~ sqrt(T)``,
    and two layers reach every earlier position (see :func:`reachability`).

    Args:
        T: sequence length (>= 1).
        stride: the paper's ``l`` (>= 1).
        causal: keep ``j <= i`` (the paper's autoregressive setting, the default).
        device: where to create the mask.

    Example:
        >>> strided_mask(6, 2)[5].int()  # i - j in {0, 1} or even: j = 5, 4, 3, 1
        tensor([0, 1, 0, 1, 1, 1], dtype=torch.int32)
    """
    T = check_int("T", T, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    causal = _check_bool("causal", causal)
    d = _offsets(T, device)  # (T, T)
    gap = d.abs()
    mask = (gap < stride) | (gap % stride == 0)
    return mask & (d >= 0) if causal else mask


def block_mask(T: int, block_size: int, causal: bool = False, device: torch.device | str | None = None) -> Tensor:
    """Block-diagonal mask: tokens attend within their block ``i // block_size == j // block_size``.

    The last block is shorter when ``block_size`` does not divide ``T``.

    Example:
        >>> block_mask(5, 2).int()
        tensor([[1, 1, 0, 0, 0],
                [1, 1, 0, 0, 0],
                [0, 0, 1, 1, 0],
                [0, 0, 1, 1, 0],
                [0, 0, 0, 0, 1]], dtype=torch.int32)
    """
    T = check_int("T", T, minimum=1)
    block_size = check_int("block_size", block_size, minimum=1)
    causal = _check_bool("causal", causal)
    block = torch.arange(T, device=device) // block_size  # (T,)
    mask = block[:, None] == block[None, :]  # (T, T)
    return mask & (_offsets(T, device) >= 0) if causal else mask


def _hash_inputs(x: Tensor | int, dim: int, seed: int) -> Tensor:
    """``(T, dim)`` vectors to hash: ``x`` itself, or ``T`` seeded standard-normal vectors."""
    if isinstance(x, Tensor):
        check_tensor("x", x, ndim=2)
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        return x
    T = check_int("x", x, minimum=1)
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(T, dim, generator=generator, dtype=torch.float64)


def lsh_buckets(x: Tensor | int, n_buckets: int, seed: int = 0, dim: int = 8) -> Tensor:
    """Reformer's angular LSH: bucket ``argmax([xR; -xR])`` of each row of ``x`` for a seeded rotation ``R``.

    Vectors pointing in similar directions tend to share a bucket. Keys are the normalised
    queries (shared-QK attention), so hashing the queries hashes the keys too.

    Args:
        x: ``(T, d)`` shared query/key vectors, or a length ``T`` to hash seeded random vectors.
        n_buckets: number of buckets (even, >= 2).
        seed: seeds the rotation ``R (d, n_buckets/2)`` (and the random vectors).
        dim: size of the random vectors when ``x`` is a length.

    Returns:
        ``(T,)`` int64 bucket ids in ``[0, n_buckets)`` on ``x``'s device.

    Example:
        >>> b = lsh_buckets(torch.tensor([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0]]), 2).tolist()
        >>> b[0] == b[1] != b[2]  # same direction: same bucket; opposite: the other one
        True
    """
    n_buckets = check_int("n_buckets", n_buckets, minimum=2)
    if n_buckets % 2:
        raise ValueError(f"n_buckets must be even (argmax over [xR; -xR]), got {n_buckets}")
    seed = check_int("seed", seed, minimum=0)
    dim = check_int("dim", dim, minimum=1)
    x = _hash_inputs(x, dim, seed)
    generator = torch.Generator().manual_seed(seed + 1)  # a stream apart from the random vectors'
    rotation = torch.randn(x.shape[-1], n_buckets // 2, generator=generator, dtype=torch.float64)
    projected = x.double().cpu() @ rotation  # (T, n_buckets/2)
    buckets = torch.cat([projected, -projected], dim=-1).argmax(dim=-1)  # (T,)
    return buckets.to(x.device)


def bucket_mask(x: Tensor | int, n_buckets: int, seed: int = 0, causal: bool = False, dim: int = 8) -> Tensor:
    """LSH bucket pattern: query ``i`` attends to key ``j`` when both hash to the same bucket.

    Shared-QK attention in the Reformer; same-bucket is an equivalence relation, so tokens never
    see beyond their bucket however many layers use the same hash (Reformer re-hashes per layer
    and per round). Arguments as in :func:`lsh_buckets`; ``causal`` also requires ``j <= i``.

    Example:
        >>> m = bucket_mask(16, 4, seed=0)
        >>> m.shape, bool(m.diagonal().all()), bool((m == m.T).all())
        (torch.Size([16, 16]), True, True)
    """
    causal = _check_bool("causal", causal)
    buckets = lsh_buckets(x, n_buckets, seed, dim)  # (T,)
    mask = buckets[:, None] == buckets[None, :]  # (T, T)
    return mask & (_offsets(len(buckets), buckets.device) >= 0) if causal else mask


def pattern_mask(pattern: str, T: int, *, window: int = 2, stride: int = 4, block_size: int = 4,
                 n_buckets: int = 4, seed: int = 0, causal: bool = False) -> Tensor:
    """One of :data:`PATTERNS` by name, with the shared vocabulary of size arguments.

    Example:
        >>> bool((pattern_mask("local", 7, window=2) == local_mask(7, 2)).all())
        True
    """
    pattern = check_choice("pattern", pattern, PATTERNS)
    if pattern == "local":
        return local_mask(T, window, causal)
    if pattern == "strided":
        return strided_mask(T, stride, causal)
    if pattern == "block":
        return block_mask(T, block_size, causal)
    return bucket_mask(T, n_buckets, seed, causal)


def reachability(mask: Tensor, layers: int = 2) -> Tensor:
    """Which keys each query can draw information from after ``layers`` stacked attention layers.

    Layer ``l`` attends over the outputs of layer ``l - 1``, so the reach is the boolean matrix
    power ``mask^layers``: ``i`` reaches ``j`` when a chain ``i -> m -> ... -> j`` of allowed
    steps exists. When the diagonal is allowed (every pattern here) the reach only grows with depth.

    Args:
        mask: ``(T, T)`` bool mask, True where attending is allowed.
        layers: number of layers (>= 1).

    Returns:
        ``(T, T)`` bool tensor.

    Example:
        >>> reachability(local_mask(7, 1), 2)[3].int()  # two steps of |i-j| <= 1
        tensor([0, 1, 1, 1, 1, 1, 0], dtype=torch.int32)
    """
    check_tensor("mask", mask, ndim=2)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor, got dtype {mask.dtype}")
    if mask.shape[0] != mask.shape[1]:
        raise ValueError(f"mask must be square (T, T), got shape {tuple(mask.shape)}")
    layers = check_int("layers", layers, minimum=1)
    step = mask.float()  # path counts can be huge; only "> 0" matters and float32 never rounds a count to 0
    reach = mask
    for _ in range(layers - 1):
        reach = (reach.float() @ step) > 0  # (T, T)
    return reach


# --------------------------------------------------------------------------- cost
def _row_counts(pattern: str, n: int, window: int, stride: int, causal: bool) -> Tensor:
    """Allowed keys per query row for ``local`` / ``strided``, in O(n) without building the mask."""
    i = torch.arange(n, dtype=torch.int64)
    before, after = i, n - 1 - i  # keys to the left / right of query i
    if pattern == "local":
        left, right = before.clamp(max=window), after.clamp(max=window)
    else:  # strided: offsets < stride, plus the multiples of stride beyond them
        left = before.clamp(max=stride - 1) + torch.div(before, stride, rounding_mode="floor")
        right = after.clamp(max=stride - 1) + torch.div(after, stride, rounding_mode="floor")
    return 1 + left + (0 if causal else right)


def pattern_nnz(pattern: str, n: int, *, window: int = 2, stride: int = 4, block_size: int = 4,
                n_buckets: int = 4, seed: int = 0, causal: bool = False) -> int:
    """Number of allowed (query, key) pairs of a pattern of length ``n``: exactly ``pattern_mask(...).sum()``.

    Counted per row in O(n) (local, strided), per block (block) or per bucket (bucket), so that
    cost curves reach lengths whose masks would not fit in memory.

    Example:
        >>> pattern_nnz("local", 10, window=2)  # 10*5 - 2*3 cut off at the two ends
        44
    """
    pattern = check_choice("pattern", pattern, PATTERNS)
    n = check_int("n", n, minimum=1)
    causal = _check_bool("causal", causal)
    if pattern in ("local", "strided"):
        return _nnz(pattern, n, check_int("window", window, minimum=0), check_int("stride", stride, minimum=1),
                    causal=causal)
    if pattern == "block":
        return _nnz(pattern, n, block_size=check_int("block_size", block_size, minimum=1), causal=causal)
    return _nnz(pattern, n, n_buckets=n_buckets, seed=seed, causal=causal)


@lru_cache(maxsize=4096)
def _nnz(pattern: str, n: int, window: int = 0, stride: int = 1, block_size: int = 1, n_buckets: int = 2,
         seed: int = 0, *, causal: bool) -> int:
    """:func:`pattern_nnz` on validated arguments, remembered: a cost curve asks for the same
    lengths again whenever another slider moves (65 counts per frame, up to N = 65536)."""
    if pattern in ("local", "strided"):
        return int(_row_counts(pattern, n, window, stride, causal).sum())
    if pattern == "block":
        sizes = [block_size] * (n // block_size) + [n % block_size] * bool(n % block_size)
    else:
        sizes = torch.bincount(lsh_buckets(n, n_buckets, seed)).tolist()
    return sum(s * (s + 1) // 2 if causal else s * s for s in sizes)


@dataclass(frozen=True)
class AttentionCost:
    """Cost of one attention head over ``n`` tokens of size ``dim`` (projections not counted).

    Attributes:
        pattern: ``"full"``, a mask pattern name or ``"linear"``.
        n: sequence length.
        dim: query/key/value size ``d``.
        pairs: (query, key) pairs scored: ``n^2`` for full, the mask's nnz for a pattern, 0 for linear.
        flops: multiply-adds: ``2 * pairs * d`` (scores ``q·k`` and the weighted sum of values) for
            full attention and patterns; ``2 n d^2 + n d`` for linear attention (the ``phi(K)^T V``
            summary, ``phi(q_i)^T S`` per query and the normaliser ``phi(q_i)·z``).
        memory: elements held for the attention step: the score matrix entries (``pairs``), or
            the ``d x d`` summary plus the ``d``-vector ``z`` for linear attention.
    """

    pattern: str
    n: int
    dim: int
    pairs: int
    flops: int
    memory: int


def attention_cost(n: int, dim: int, pattern: str = "full", **sizes: int | bool) -> AttentionCost:
    """FLOPs (multiply-adds) and memory of full, sparse-pattern or linear attention over ``n`` tokens.

    Args:
        n: sequence length (>= 1).
        dim: head size ``d`` (>= 1), used for queries, keys and values.
        pattern: ``"full"``, one of :data:`PATTERNS`, or ``"linear"``.
        **sizes: the pattern's arguments (``window``, ``stride``, ``block_size``, ``n_buckets``,
            ``seed``, ``causal``) as in :func:`pattern_nnz`.

    Example:
        >>> c = attention_cost(1024, 64)
        >>> c.flops == 2 * 1024**2 * 64, c.memory == 1024**2
        (True, True)
        >>> attention_cost(1024, 64, "linear").flops  # 2*1024*64**2 + 1024*64
        8454144
    """
    n = check_int("n", n, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    pattern = check_choice("pattern", pattern, ("full", *PATTERNS, "linear"))
    if pattern == "linear":
        return AttentionCost(pattern, n, dim, 0, 2 * n * dim * dim + n * dim, dim * dim + dim)
    pairs = n * n if pattern == "full" else pattern_nnz(pattern, n, **sizes)  # type: ignore[arg-type]
    return AttentionCost(pattern, n, dim, pairs, 2 * pairs * dim, pairs)


# --------------------------------------------------------------------------- linear attention
def feature_map(x: Tensor) -> Tensor:
    """Katharopoulos et al.'s positive feature map ``phi(x) = elu(x) + 1`` (elementwise, > 0).

    Example:
        >>> feature_map(torch.tensor([-1.0, 0.0, 2.0]))  # exp(-1), 1, 3
        tensor([0.3679, 1.0000, 3.0000])
    """
    return F.elu(check_tensor("x", x)) + 1


def _check_qkv(q: Tensor, k: Tensor, v: Tensor, causal: bool) -> None:
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_tensor(name, t)
        if t.ndim < 2 or not t.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor (..., N, d), got {t.dtype} {tuple(t.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must share their last size d, got q {tuple(q.shape)} and k {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have as many positions, got k {tuple(k.shape)} and v {tuple(v.shape)}")
    if q.shape[:-2] != k.shape[:-2] or k.shape[:-2] != v.shape[:-2]:
        raise ValueError(f"q, k, v must share batch sizes, got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    _check_bool("causal", causal)
    if causal and q.shape[-2] != k.shape[-2]:
        raise ValueError(f"causal attention needs as many queries as keys, got {q.shape[-2]} and {k.shape[-2]}")


@dataclass(frozen=True)
class KernelAttention:
    """Attention with an explicit weight matrix.

    Attributes:
        output: ``(..., N, d_v)`` weighted sums of the values.
        weights: ``(..., N, M)`` normalised kernel weights; each row sums to 1.
    """

    output: Tensor
    weights: Tensor


def kernel_attention_quadratic(q: Tensor, k: Tensor, v: Tensor, causal: bool = False) -> KernelAttention:
    """The explicit O(N^2) form of linear attention: ``W = normalise(phi(Q) phi(K)^T)``, output ``W V``.

    Args:
        q: ``(..., N, d)`` queries.
        k: ``(..., M, d)`` keys.
        v: ``(..., M, d_v)`` values.
        causal: keep only ``j <= i`` (needs ``N == M``).

    Example:
        >>> q = k = torch.zeros(1, 3, 2)  # phi(0) = 1: all pairs weigh the same
        >>> kernel_attention_quadratic(q, k, torch.eye(3)[None], causal=True).weights[0, 2]
        tensor([0.3333, 0.3333, 0.3333])
    """
    _check_qkv(q, k, v, causal)
    scores = feature_map(q) @ feature_map(k).transpose(-2, -1)  # (..., N, M), all > 0
    if causal:
        scores = scores.tril()
    weights = scores / scores.sum(dim=-1, keepdim=True)  # (..., N, M)
    return KernelAttention(output=weights @ v, weights=weights)


@dataclass(frozen=True)
class LinearAttention:
    """Output of O(N) linear attention and the summaries it keeps instead of a weight matrix.

    Attributes:
        output: ``(..., N, d_v)``.
        summary: ``sum_j phi(k_j) v_j^T``, ``(..., d, d_v)``; for causal attention the running
            sums ``(..., N, d, d_v)`` (row ``i`` sums ``j <= i``): an RNN's hidden state.
        normalizer: ``z = sum_j phi(k_j)``, ``(..., d)``; causal: ``(..., N, d)``.
    """

    output: Tensor
    summary: Tensor
    normalizer: Tensor


def linear_attention(q: Tensor, k: Tensor, v: Tensor, causal: bool = False) -> LinearAttention:
    """Linear attention in O(N): ``out_i = phi(q_i)^T S / phi(q_i)^T z`` with ``S = phi(K)^T V``, ``z = sum phi(k_j)``.

    Equal (up to rounding) to :func:`kernel_attention_quadratic`, whose weight matrix it never forms.

    Args:
        q: ``(..., N, d)``; k: ``(..., M, d)``; v: ``(..., M, d_v)``.
        causal: position ``i`` only sums keys ``j <= i`` (cumulative sums of the summaries).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> q, k, v = (torch.randn(2, 5, d, generator=g, dtype=torch.float64) for d in (3, 3, 4))
        >>> fast, slow = linear_attention(q, k, v, causal=True), kernel_attention_quadratic(q, k, v, causal=True)
        >>> bool(torch.allclose(fast.output, slow.output))
        True
    """
    _check_qkv(q, k, v, causal)
    phi_q, phi_k = feature_map(q), feature_map(k)  # (..., N, d), (..., M, d)
    if causal:
        summary = torch.cumsum(phi_k.unsqueeze(-1) * v.unsqueeze(-2), dim=-3)  # (..., N, d, d_v)
        normalizer = torch.cumsum(phi_k, dim=-2)  # (..., N, d)
        numerator = (phi_q.unsqueeze(-2) @ summary).squeeze(-2)  # (..., N, d_v)
        denominator = (phi_q * normalizer).sum(-1, keepdim=True)  # (..., N, 1)
    else:
        summary = phi_k.transpose(-2, -1) @ v  # (..., d, d_v)
        normalizer = phi_k.sum(dim=-2)  # (..., d)
        numerator = phi_q @ summary  # (..., N, d_v)
        denominator = phi_q @ normalizer.unsqueeze(-1)  # (..., N, 1)
    return LinearAttention(output=numerator / denominator, summary=summary, normalizer=normalizer)
