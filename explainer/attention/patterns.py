"""Efficient attention: sparse mask patterns, what they reach over layers, their cost, and linear attention.

Every mask is a ``(N, N)`` boolean tensor, True where query ``i`` (row) may attend to key ``j``
(column): PyTorch's convention, the same one :func:`explainer.attention.core.scaled_dot_product_attention`
takes. The patterns:

* local (sliding window): ``|i - j| <= window``.
* strided, Child et al., "Generating Long Sequences with Sparse Transformers" (2019,
  https://arxiv.org/abs/1904.10509), section 4.2: the union of its two heads,
  ``A1 = {t, t+1, ..., i}`` with ``t = max(0, i - l)`` (the paper's set: ``l + 1`` positions,
  ``i - l`` included, although its prose says "the previous l locations") and
  ``A2 = {j : (i - j) mod l = 0}`` (every ``l``-th position back, the "summary" column pattern),
  restricted to ``j <= i`` as in the paper (``causal=False`` uses ``|i - j|`` instead). Position
  ``i - l`` is a multiple of ``l`` back, so it is in ``A2`` too: the union is the same whether the
  local head holds ``l`` or ``l + 1`` positions.
* block (block-diagonal): ``i // block_size == j // block_size``.
* bucket, the LSH attention of Kitaev et al., "Reformer: The Efficient Transformer" (2020,
  https://arxiv.org/abs/2001.04451): shared query/key vectors are hashed by a random rotation,
  ``h(x) = argmax([xR; -xR])``, and a query attends to the keys in its own bucket. The Reformer
  hashes ``n_rounds`` times with independent rotations (:func:`lsh_rounds`) and attends over the union,
  because one hash can put two similar vectors in different buckets; every extra round lowers that
  chance.
* window, Liu et al., "Swin Transformer" (2021, https://arxiv.org/abs/2103.14030): the tokens lie on
  an ``H x W`` grid (row-major) cut into non-overlapping ``M x M`` windows, and a token attends within
  its window; the next layer shifts the windows by ``M // 2`` (``shift_size``), so that windows of the
  two layers straddle each other's borders (:func:`window_mask`).

Linear attention follows Katharopoulos et al., "Transformers are RNNs" (2020,
https://arxiv.org/abs/2006.16236): with the feature map ``phi(x) = elu(x) + 1`` the weights
``phi(q_i)·phi(k_j) / sum_j phi(q_i)·phi(k_j)`` need never be formed, because
``sum_j (phi(q_i)·phi(k_j)) v_j = phi(q_i)^T (sum_j phi(k_j) v_j^T)``: one ``(d, d_v)`` summary for
all queries, or a running (cumulative) sum of them when attention is causal.

Letters: ``N`` sequence length (tokens), ``d_k`` query/key size (``d`` in code), ``d_v`` value size,
``H x W`` a token grid, ``M`` a window's side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from explainer._validate import check_choice, check_int, check_pair, check_tensor

__all__ = [
    "PATTERNS",
    "local_mask",
    "strided_mask",
    "block_mask",
    "lsh_buckets",
    "bucket_mask",
    "lsh_rounds",
    "window_mask",
    "pattern_mask",
    "reachability",
    "stacked_reach",
    "pattern_nnz",
    "AttentionCost",
    "attention_cost",
    "feature_map",
    "KernelAttention",
    "kernel_attention_quadratic",
    "LinearAttention",
    "linear_attention",
    "BlockwiseAttention",
    "blockwise_attention",
]

PATTERNS = ("local", "strided", "block", "bucket", "window")


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _offsets(n: int, device: torch.device | str | None) -> Tensor:
    """``(N, N)`` int64 tensor of ``i - j`` (query row minus key column)."""
    pos = torch.arange(n, device=device)
    return pos[:, None] - pos[None, :]  # (N, N)


# --------------------------------------------------------------------------- masks
def local_mask(n: int, window: int, causal: bool = False, device: torch.device | str | None = None) -> Tensor:
    """Sliding-window mask: query ``i`` may attend to key ``j`` when ``|i - j| <= window``.

    Args:
        n: sequence length (>= 1).
        window: how far each side a query sees (>= 0; ``window >= n - 1`` is full attention).
        causal: also require ``j <= i`` (a banded lower-triangular mask).
        device: where to create the mask.

    Returns:
        ``(N, N)`` bool tensor.

    Example:
        >>> local_mask(4, 1).int()
        tensor([[1, 1, 0, 0],
                [1, 1, 1, 0],
                [0, 1, 1, 1],
                [0, 0, 1, 1]], dtype=torch.int32)
    """
    n = check_int("n", n, minimum=1)
    window = check_int("window", window, minimum=0)
    causal = _check_bool("causal", causal)
    d = _offsets(n, device)  # (N, N)
    mask = d.abs() <= window
    return mask & (d >= 0) if causal else mask


def strided_mask(n: int, stride: int, causal: bool = True, device: torch.device | str | None = None) -> Tensor:
    """Child et al.'s strided pattern: the positions ``i - l .. i`` plus every ``l``-th one (``l = stride``).

    Query ``i`` may attend to key ``j`` when ``j <= i`` and ``(i - j) <= l`` (local head, the paper's
    ``A1 = {max(0, i - l), ..., i}``, ``l + 1`` positions) or ``(i - j) mod l == 0`` (strided head);
    with ``causal=False`` the same with ``|i - j|``. ``i - l`` belongs to both heads, so row ``i``
    (``i >= l``) holds ``l + floor(i / l)`` keys: at most ``l + (N - 1) / l``, ``O(sqrt(N))`` for
    ``l ~ sqrt(N)``, and two layers reach every earlier position (see :func:`reachability`).

    Args:
        n: sequence length (>= 1).
        stride: the paper's ``l`` (>= 1).
        causal: keep ``j <= i`` (the paper's autoregressive setting, the default).
        device: where to create the mask.

    Example:
        >>> strided_mask(6, 2)[5].int()  # i - j in {0, 1, 2} or even: j = 5, 4, 3, 1
        tensor([0, 1, 0, 1, 1, 1], dtype=torch.int32)
    """
    n = check_int("n", n, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    causal = _check_bool("causal", causal)
    d = _offsets(n, device)  # (N, N)
    gap = d.abs()
    mask = (gap <= stride) | (gap % stride == 0)
    return mask & (d >= 0) if causal else mask


def block_mask(n: int, block_size: int, causal: bool = False, device: torch.device | str | None = None) -> Tensor:
    """Block-diagonal mask: tokens attend within their block ``i // block_size == j // block_size``.

    The last block is shorter when ``block_size`` does not divide ``n``.

    Example:
        >>> block_mask(5, 2).int()
        tensor([[1, 1, 0, 0, 0],
                [1, 1, 0, 0, 0],
                [0, 0, 1, 1, 0],
                [0, 0, 1, 1, 0],
                [0, 0, 0, 0, 1]], dtype=torch.int32)
    """
    n = check_int("n", n, minimum=1)
    block_size = check_int("block_size", block_size, minimum=1)
    causal = _check_bool("causal", causal)
    block = torch.arange(n, device=device) // block_size  # (n,)
    mask = block[:, None] == block[None, :]  # (N, N)
    return mask & (_offsets(n, device) >= 0) if causal else mask


def _hash_inputs(x: Tensor | int, dim: int, seed: int) -> Tensor:
    """``(N, dim)`` vectors to hash: ``x`` itself, or ``n`` seeded standard-normal vectors."""
    if isinstance(x, Tensor):
        check_tensor("x", x, ndim=2)
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        return x
    n = check_int("x", x, minimum=1)
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=generator, dtype=torch.float64)


def lsh_buckets(x: Tensor | int, n_buckets: int, seed: int = 0, dim: int = 8) -> Tensor:
    """Reformer's angular LSH: bucket ``argmax([xR; -xR])`` of each row of ``x`` for a seeded rotation ``R``.

    Vectors pointing in similar directions tend to share a bucket. Keys are the normalised
    queries (shared-QK attention), so hashing the queries hashes the keys too.

    Args:
        x: ``(N, d)`` shared query/key vectors, or a length ``n`` to hash seeded random vectors.
        n_buckets: number of buckets (even, >= 2).
        seed: seeds the rotation ``R (d, n_buckets/2)`` (and the random vectors).
        dim: size of the random vectors when ``x`` is a length.

    Returns:
        ``(N,)`` int64 bucket ids in ``[0, n_buckets)`` on ``x``'s device.

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
    projected = x.double().cpu() @ rotation  # (N, n_buckets/2)
    buckets = torch.cat([projected, -projected], dim=-1).argmax(dim=-1)  # (n,)
    return buckets.to(x.device)


def bucket_mask(x: Tensor | int, n_buckets: int, seed: int = 0, causal: bool = False, dim: int = 8) -> Tensor:
    """LSH bucket pattern: query ``i`` attends to key ``j`` when both hash to the same bucket.

    Shared-QK attention in the Reformer, one hash round. Same-bucket is an equivalence relation, so
    tokens never see beyond their bucket however many layers use the same hash. (The Reformer's
    several rounds, :func:`lsh_rounds`, are there for a different reason: to lower the chance that
    two similar vectors miss each other.) Arguments as in :func:`lsh_buckets`; ``causal`` also
    requires ``j <= i``.

    Example:
        >>> m = bucket_mask(16, 4, seed=0)
        >>> m.shape, bool(m.diagonal().all()), bool((m == m.T).all())
        (torch.Size([16, 16]), True, True)
    """
    causal = _check_bool("causal", causal)
    buckets = lsh_buckets(x, n_buckets, seed, dim)  # (n,)
    mask = buckets[:, None] == buckets[None, :]  # (N, N)
    return mask & (_offsets(len(buckets), buckets.device) >= 0) if causal else mask


def lsh_rounds(x: Tensor | int, n_buckets: int, n_rounds: int, seed: int = 0, dim: int = 8) -> Tensor:
    """Reformer's multi-round hashing: the buckets of the same vectors under ``n_rounds`` independent rotations.

    A query attends to the union of its buckets over the rounds. One random rotation can split two
    vectors that point in nearly the same direction; with independent rounds they are missed only if
    *every* round splits them, so the chance of a miss falls with each round (roughly ``p^n_rounds``).

    Args:
        x: ``(N, d)`` shared query/key vectors, or a length ``N`` (seeded random vectors, as in
            :func:`lsh_buckets`).
        n_buckets: buckets per round (even, >= 2).
        n_rounds: number of hash rounds (>= 1).
        seed: round ``r`` uses the rotation of ``lsh_buckets(x, n_buckets, seed + r)``.
        dim: size of the random vectors when ``x`` is a length.

    Returns:
        ``(n_rounds, N)`` int64 bucket ids; row 0 is ``lsh_buckets(x, n_buckets, seed, dim)``.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1]])
        >>> b = lsh_rounds(x, 8, 4)
        >>> b.shape, bool((b[:, 0] == b[:, 1]).any())  # shared a bucket in at least one round
        (torch.Size([4, 2]), True)
    """
    n_rounds = check_int("n_rounds", n_rounds, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    x = _hash_inputs(x, check_int("dim", dim, minimum=1), seed)  # the same vectors in every round
    return torch.stack([lsh_buckets(x, n_buckets, seed + r) for r in range(n_rounds)])  # (n_rounds, N)


def window_mask(size: int | tuple[int, int], window_size: int, shift_size: int = 0, causal: bool = False,
                device: torch.device | str | None = None) -> Tensor:
    """Swin's (shifted) window attention on an ``H x W`` token grid, as a mask over the flattened grid.

    Token ``t = r * W + c`` sits at row ``r``, column ``c``. With ``shift_size = 0`` the grid is cut into
    non-overlapping ``M x M`` windows (``M = window_size``) and a token attends to the tokens of its
    window: ``r // M == r' // M`` and ``c // M == c' // M``. With ``shift_size = s`` (Swin's next layer
    uses ``s = M // 2``) the windows are displaced by ``s`` rows and columns:
    ``(r - s) // M == (r' - s) // M`` (floor division), and the same for columns. Swin computes this
    with a cyclic shift (``torch.roll`` by ``-s``) and a mask that keeps tokens apart which the roll
    brought together from opposite borders; the net effect is the displaced partition above, with
    smaller windows along the borders. When ``M`` does not divide ``H`` or ``W`` the last windows are
    partial (Swin pads the grid to multiples of ``M``; padding tokens are not part of this mask).

    Same-window is an equivalence relation: stacking unshifted layers never widens it, while a
    plain layer followed by a shifted one (:func:`stacked_reach`) reaches across window borders.

    Args:
        size: ``(H, W)`` grid, or one int for a square grid.
        window_size: ``M`` (>= 1).
        shift_size: ``s`` in ``[0, M - 1]``.
        causal: also require ``t' <= t`` in the flattened order.
        device: where to create the mask.

    Returns:
        ``(H*W, H*W)`` bool tensor.

    Example:
        >>> window_mask((2, 4), 2)[0].view(2, 4).int()  # token (0, 0): the 2 x 2 window at the top left
        tensor([[1, 1, 0, 0],
                [1, 1, 0, 0]], dtype=torch.int32)
        >>> window_mask(4, 2, shift_size=1)[5].view(4, 4).int()  # token (1, 1), windows shifted by 1
        tensor([[0, 0, 0, 0],
                [0, 1, 1, 0],
                [0, 1, 1, 0],
                [0, 0, 0, 0]], dtype=torch.int32)
    """
    height, width = check_pair("size", size, minimum=1)
    window_size = check_int("window_size", window_size, minimum=1)
    shift_size = check_int("shift_size", shift_size, minimum=0, maximum=window_size - 1)
    causal = _check_bool("causal", causal)
    ids = _window_ids(height * width, width, window_size, shift_size, device)  # (H*W,)
    mask = ids[:, None] == ids[None, :]  # (H*W, H*W)
    return mask & (_offsets(height * width, device) >= 0) if causal else mask


def _window_ids(n: int, width: int, window_size: int, shift_size: int,
                device: torch.device | str | None = None) -> Tensor:
    """``(n,)`` window id of the first ``n`` tokens of a grid ``width`` wide (row-major)."""
    t = torch.arange(n, device=device)
    row = torch.div(t // width - shift_size, window_size, rounding_mode="floor")  # -1: the top border strip
    col = torch.div(t % width - shift_size, window_size, rounding_mode="floor")
    return (row + 1) * (width + 2) + (col + 1)  # one id per (window row, window column)


def pattern_mask(pattern: str, n: int, *, window: int = 2, stride: int = 4, block_size: int = 4,
                 n_buckets: int = 4, seed: int = 0, causal: bool = False, window_size: int = 2,
                 grid_width: int = 8, shift_size: int = 0) -> Tensor:
    """One of :data:`PATTERNS` by name, with the shared vocabulary of size arguments.

    ``"window"`` lays the ``n`` tokens row by row on a grid ``grid_width`` wide (the last row may be
    partial) and uses :func:`window_mask` with ``window_size`` and ``shift_size``.

    Example:
        >>> bool((pattern_mask("local", 7, window=2) == local_mask(7, 2)).all())
        True
    """
    pattern = check_choice("pattern", pattern, PATTERNS)
    if pattern == "local":
        return local_mask(n, window, causal)
    if pattern == "strided":
        return strided_mask(n, stride, causal)
    if pattern == "block":
        return block_mask(n, block_size, causal)
    if pattern == "bucket":
        return bucket_mask(n, n_buckets, seed, causal)
    n = check_int("n", n, minimum=1)
    grid_width = check_int("grid_width", grid_width, minimum=1)
    rows = -(-n // grid_width)
    return window_mask((rows, grid_width), window_size, shift_size, causal)[:n, :n]


def reachability(mask: Tensor, layers: int = 2) -> Tensor:
    """Which keys each query can draw information from after ``layers`` stacked attention layers.

    Layer ``l`` attends over the outputs of layer ``l - 1``, so the reach is the boolean matrix
    power ``mask^layers``: ``i`` reaches ``j`` when a chain ``i -> m -> ... -> j`` of allowed
    steps exists. When the diagonal is allowed (every pattern here) the reach only grows with depth.

    Args:
        mask: ``(N, N)`` bool mask, True where attending is allowed.
        layers: number of layers (>= 1).

    Returns:
        ``(N, N)`` bool tensor.

    Example:
        >>> reachability(local_mask(7, 1), 2)[3].int()  # two steps of |i-j| <= 1
        tensor([0, 1, 1, 1, 1, 1, 0], dtype=torch.int32)
    """
    _check_mask("mask", mask)
    layers = check_int("layers", layers, minimum=1)
    step = mask.float()  # path counts can be huge; only "> 0" matters and float32 never rounds a count to 0
    reach = mask
    for _ in range(layers - 1):
        reach = (reach.float() @ step) > 0  # (N, N)
    return reach


def _check_mask(name: str, mask: Tensor) -> None:
    check_tensor(name, mask, ndim=2)
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool tensor, got dtype {mask.dtype}")
    if mask.shape[0] != mask.shape[1]:
        raise ValueError(f"{name} must be square (N, N), got shape {tuple(mask.shape)}")


def stacked_reach(masks: Sequence[Tensor]) -> Tensor:
    """What each query reaches through layers that use different masks, the first layer first.

    The output of the last layer at ``i`` mixes the previous layer's outputs at ``m`` with
    ``masks[-1][i, m]``, each of which mixed the layer before, and so on: the reach is the boolean
    product ``masks[-1] @ ... @ masks[0]``. Swin's pair of layers is ``[window_mask(s, M),
    window_mask(s, M, shift_size=M // 2)]``. With one mask repeated this is :func:`reachability`.

    Args:
        masks: one or more ``(N, N)`` bool masks of the same shape.

    Returns:
        ``(N, N)`` bool tensor.

    Example:
        >>> plain, shifted = window_mask((1, 4), 2), window_mask((1, 4), 2, shift_size=1)
        >>> stacked_reach([plain, shifted])[0].int()  # token 0 hears token 1 (layer 1) ... and 2 through 1
        tensor([1, 1, 0, 0], dtype=torch.int32)
        >>> stacked_reach([plain, shifted])[1].int()  # token 1 sits with 2 in layer 2, which heard 3
        tensor([1, 1, 1, 1], dtype=torch.int32)
    """
    if isinstance(masks, Tensor) or not isinstance(masks, Sequence) or not masks:
        raise TypeError(f"masks must be a non-empty sequence of (N, N) bool tensors, got {type(masks).__name__}")
    for k, mask in enumerate(masks):
        _check_mask(f"masks[{k}]", mask)
        if mask.shape != masks[0].shape:
            raise ValueError(f"masks must share one shape, got {tuple(masks[0].shape)} and {tuple(mask.shape)}")
    reach = masks[0]
    for mask in masks[1:]:
        reach = (mask.float() @ reach.float()) > 0  # (N, N); float32 never rounds a count to 0
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
                n_buckets: int = 4, seed: int = 0, causal: bool = False, window_size: int = 2,
                grid_width: int = 8, shift_size: int = 0) -> int:
    """Number of allowed (query, key) pairs of a pattern of length ``n``: exactly ``pattern_mask(...).sum()``.

    Counted per row in O(n) (local, strided), per block (block), per bucket (bucket) or per window, so that
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
    if pattern == "window":
        window_size = check_int("window_size", window_size, minimum=1)
        return _nnz(pattern, n, window_size=window_size, grid_width=check_int("grid_width", grid_width, minimum=1),
                    shift_size=check_int("shift_size", shift_size, minimum=0, maximum=window_size - 1),
                    causal=causal)
    return _nnz(pattern, n, n_buckets=n_buckets, seed=seed, causal=causal)


@lru_cache(maxsize=4096)
def _nnz(pattern: str, n: int, window: int = 0, stride: int = 1, block_size: int = 1, n_buckets: int = 2,
         seed: int = 0, window_size: int = 1, grid_width: int = 1, shift_size: int = 0, *, causal: bool) -> int:
    """:func:`pattern_nnz` on validated arguments, remembered: a cost curve asks for the same
    lengths again whenever another slider moves (65 counts per frame, up to N = 65536)."""
    if pattern in ("local", "strided"):
        return int(_row_counts(pattern, n, window, stride, causal).sum())
    if pattern == "block":
        sizes = [block_size] * (n // block_size) + [n % block_size] * bool(n % block_size)
    elif pattern == "window":
        sizes = torch.unique(_window_ids(n, grid_width, window_size, shift_size), return_counts=True)[1].tolist()
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
        memory: elements a *naive* implementation holds for the attention step: the score matrix
            entries (``pairs``), or the ``d x d`` summary plus the ``d``-vector ``z`` for linear
            attention. FlashAttention (Dao et al. 2022) computes the same full attention tile by tile
            and never stores the score matrix (see :func:`blockwise_attention`): its extra memory is
            O(N), its multiply-adds are the same ``flops``.
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


# --------------------------------------------------------------------------- blockwise (FlashAttention)
@dataclass(frozen=True)
class BlockwiseAttention:
    """Softmax attention computed tile by tile, and what that cost.

    Attributes:
        output: ``(..., N, d_v)``, equal (up to rounding) to ``softmax(QK^T / sqrt(d_k)) V``.
        multiply_adds: ``N * M * (d_k + d_v)`` summed over the tiles: the same as the naive way.
        peak_scores: the most score entries held at once per batch entry: one ``block x block`` tile,
            never the ``N x M`` matrix.
    """

    output: Tensor
    multiply_adds: int
    peak_scores: int


def blockwise_attention(q: Tensor, k: Tensor, v: Tensor, block_size: int = 16) -> BlockwiseAttention:
    """Exact softmax attention without the ``N x M`` score matrix: the tiling of FlashAttention.

    Dao et al., "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness" (2022,
    https://arxiv.org/abs/2205.14135). Keys and values are read ``block_size`` at a time; each query
    keeps a running maximum ``m``, a running softmax denominator ``l`` and a running weighted sum,
    rescaled by ``exp(m_old - m_new)`` when a tile raises the maximum (the "online softmax"). Memory
    beyond the output is one tile plus ``O(N)`` statistics; the multiply-adds are those of naive
    attention (the real kernel even recomputes the scores in the backward pass rather than store them).
    What it saves is memory and memory traffic, not arithmetic.

    Args:
        q: ``(..., N, d_k)``; k: ``(..., M, d_k)``; v: ``(..., M, d_v)``.
        block_size: tile side for queries and keys (>= 1).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> q, k, v = (torch.randn(9, 4, generator=g, dtype=torch.float64) for _ in range(3))
        >>> r = blockwise_attention(q, k, v, block_size=4)
        >>> want = torch.softmax(q @ k.T / 2, dim=-1) @ v
        >>> bool(torch.allclose(r.output, want)), r.multiply_adds == 9 * 9 * (4 + 4), r.peak_scores
        (True, True, 16)
    """
    _check_qkv(q, k, v, False)
    block = check_int("block_size", block_size, minimum=1)
    scale = q.shape[-1] ** -0.5
    outputs, multiply_adds, peak = [], 0, 0
    for q0 in range(0, q.shape[-2], block):
        qb = q[..., q0:q0 + block, :]  # (..., Bq, d_k)
        run_max = qb.new_full((*qb.shape[:-1], 1), float("-inf"))  # (..., Bq, 1)
        run_sum = qb.new_zeros((*qb.shape[:-1], 1))  # (..., Bq, 1)
        acc = qb.new_zeros((*qb.shape[:-1], v.shape[-1]))  # (..., Bq, d_v)
        for k0 in range(0, k.shape[-2], block):
            scores = qb @ k[..., k0:k0 + block, :].transpose(-2, -1) * scale  # (..., Bq, Bk): one tile
            new_max = torch.maximum(run_max, scores.amax(-1, keepdim=True))
            weights = torch.exp(scores - new_max)  # (..., Bq, Bk), unnormalised
            rescale = torch.exp(run_max - new_max)  # 0 on the first tile (run_max = -inf)
            run_sum = run_sum * rescale + weights.sum(-1, keepdim=True)
            acc = acc * rescale + weights @ v[..., k0:k0 + block, :]
            run_max = new_max
            rows, cols = scores.shape[-2:]
            peak = max(peak, rows * cols)
            multiply_adds += rows * cols * (q.shape[-1] + v.shape[-1])
        outputs.append(acc / run_sum)
    return BlockwiseAttention(torch.cat(outputs, dim=-2), multiply_adds, peak)
