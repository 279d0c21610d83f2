"""Positional information for attention: sinusoidal (1D and 2D), learned, and relative position bias.

Attention by itself is permutation-equivariant: shuffle the tokens and the outputs shuffle with
them. Transformers therefore add where each token sits:

* :func:`sinusoidal_positional_encoding` (Vaswani et al. 2017, https://arxiv.org/abs/1706.03762):
  ``PE[p, 2i] = sin(p / base^(2i/dim))``, ``PE[p, 2i+1] = cos(p / base^(2i/dim))``. Because
  ``sin(a)sin(b) + cos(a)cos(b) = cos(a - b)``, the dot product ``PE[p] . PE[p+k]`` depends only
  on the offset ``k`` (tested).
* :func:`sinusoidal_positional_encoding_2d`: half of the channels encode the row, half the column
  of an image patch (as in MAE, He et al. 2022).
* :class:`LearnedPositionalEmbedding`: a trained ``(max_length, dim)`` table added to the tokens (ViT, BERT).
* :class:`RelativePositionBias` / :func:`relative_position_bias`: one learned *scalar* per head and
  per offset ``j - i`` added to the attention scores, from a ``(2M-1, h)`` table, as in T5 (Raffel
  et al. 2020, https://arxiv.org/abs/1910.10683, which also buckets the offsets logarithmically)
  and Swin (Liu et al. 2021, https://arxiv.org/abs/2103.14030, per offset inside a window).

  Not to be confused with Shaw et al. 2018 (https://arxiv.org/abs/1803.02155), who learn relative
  position *vectors* ``a^K_(j-i)`` (and ``a^V_(j-i)``) of the head width, added to the keys (and
  values): their score ``q_i . (k_j + a^K_(j-i)) / sqrt(d_k)`` has a position term
  ``q_i . a^K_(j-i)`` that depends on the query, where a T5/Swin bias does not. The clipping of
  offsets beyond ``M - 1`` (:func:`relative_position_index`) is Shaw et al.'s.

Letters: ``N`` positions (tokens), ``d_model`` channels, ``h`` heads, ``M`` the largest distance kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_choice, check_int, check_tensor

__all__ = [
    "sinusoidal_positional_encoding",
    "sinusoidal_positional_encoding_2d",
    "LearnedPositionalEmbedding",
    "relative_position_index",
    "relative_position_bias",
    "RelativePositionBias",
    "PositionalSimilarity",
    "positional_similarity",
]


def _check_base(base: float) -> float:
    if isinstance(base, bool) or not isinstance(base, (int, float)):
        raise TypeError(f"base must be a real number, got {base!r} ({type(base).__name__})")
    if not (math.isfinite(base) and base > 1):
        raise ValueError(f"base must be a finite number > 1, got {base}")
    return float(base)


def sinusoidal_positional_encoding(
    length: int,
    dim: int,
    base: float = 10000.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Sinusoidal encoding ``(length, dim)``: sin on even channels, cos on odd channels.

    Channel pair ``(2i, 2i+1)`` turns at angular frequency ``w_i = base^(-2i/dim)`` per position.

    Args:
        length: number of positions ``N`` (>= 1).
        dim: channels; must be even (each frequency is a sin/cos pair).
        base: wavelength scale (10000 in the paper).
        dtype: floating-point dtype of the result.
        device: where to build it.

    Raises:
        TypeError: non-integer ``length``/``dim`` or a non-float dtype.
        ValueError: ``length < 1``, ``dim`` odd or < 2, ``base <= 1``.

    Example:
        >>> sinusoidal_positional_encoding(2, 2)  # position 1: sin(1), cos(1)
        tensor([[0.0000, 1.0000],
                [0.8415, 0.5403]])
    """
    length = check_int("length", length, minimum=1)
    dim = check_int("dim", dim, minimum=2)
    if dim % 2:
        raise ValueError(f"dim must be even (channels come in sin/cos pairs), got {dim}")
    base = _check_base(base)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
    position = torch.arange(length, dtype=torch.float64, device=device)[:, None]  # (N, 1)
    frequency = base ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=device) / dim)  # (dim/2,)
    angle = position * frequency  # (N, dim/2)
    pe = torch.stack((angle.sin(), angle.cos()), dim=-1).reshape(length, dim)  # (N, dim): sin, cos interleaved
    return pe.to(dtype)


def sinusoidal_positional_encoding_2d(
    height: int,
    width: int,
    dim: int,
    base: float = 10000.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """2D sinusoidal encoding for a ``height x width`` grid of patches: ``(height, width, dim)``.

    Channels ``[0, dim/2)`` are the 1D encoding of the row, channels ``[dim/2, dim)`` that of the
    column, so ``PE[r, c] . PE[r', c']`` depends only on ``(r' - r, c' - c)``. Flatten with
    ``.reshape(height * width, dim)`` for a row-major patch sequence.

    Raises:
        ValueError: ``dim`` not divisible by 4, or a size < 1.

    Example:
        >>> pe = sinusoidal_positional_encoding_2d(2, 3, 4)
        >>> tuple(pe.shape), pe[1, 2].tolist() == [*sinusoidal_positional_encoding(2, 2)[1].tolist(),
        ...                                          *sinusoidal_positional_encoding(3, 2)[2].tolist()]
        ((2, 3, 4), True)
    """
    height = check_int("height", height, minimum=1)
    width = check_int("width", width, minimum=1)
    dim = check_int("dim", dim, minimum=4)
    if dim % 4:
        raise ValueError(f"dim must be divisible by 4 (sin/cos pairs for rows and for columns), got {dim}")
    rows = sinusoidal_positional_encoding(height, dim // 2, base, dtype, device)  # (H, dim/2)
    cols = sinusoidal_positional_encoding(width, dim // 2, base, dtype, device)  # (W, dim/2)
    rows = rows[:, None, :].expand(height, width, dim // 2)  # (H, W, dim/2)
    cols = cols[None, :, :].expand(height, width, dim // 2)  # (H, W, dim/2)
    return torch.cat((rows, cols), dim=-1)  # (H, W, dim)


class LearnedPositionalEmbedding(nn.Module):
    """A learned ``(max_length, dim)`` table; ``forward(x (B, N, dim))`` returns ``x + table[:N]``.

    Initialised from ``normal(0, 0.02^2)`` (as in ViT/BERT) with a seeded generator.

    Example:
        >>> emb = LearnedPositionalEmbedding(16, 4, seed=0)
        >>> x = torch.zeros(2, 5, 4)
        >>> torch.equal(emb(x)[1], emb.weight[:5].detach())
        True
    """

    def __init__(self, max_length: int, dim: int, seed: int = 0) -> None:
        super().__init__()
        self.max_length = check_int("max_length", max_length, minimum=1)
        self.dim = check_int("dim", dim, minimum=1)
        generator = torch.Generator().manual_seed(check_int("seed", seed))
        self.weight = nn.Parameter(torch.randn(max_length, dim, generator=generator) * 0.02)  # (L, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Add the first ``N`` rows of the table to ``x (B, N, dim)``."""
        x = check_tensor("x", x, ndim=3)
        N, D = x.shape[1], x.shape[2]
        if D != self.dim or N > self.max_length:
            raise ValueError(
                f"x must have shape (B, N <= {self.max_length}, {self.dim}), got {tuple(x.shape)}"
            )
        return x + self.weight[:N].to(x.dtype)  # (B, N, dim)


def relative_position_index(length: int, max_distance: int | None = None, device: torch.device | str | None = None) -> Tensor:
    """``(length, length)`` long tensor of table rows: ``j - i`` clipped to ``[-M+1, M-1]``, shifted by ``M-1``.

    ``M = max_distance`` (default ``length``), so the table has ``2M - 1`` rows and offsets
    further apart than ``M-1`` share the edge rows (as in Shaw et al.'s clipping).

    Example:
        >>> relative_position_index(3)
        tensor([[2, 3, 4],
                [1, 2, 3],
                [0, 1, 2]])
    """
    length = check_int("length", length, minimum=1)
    M = length if max_distance is None else check_int("max_distance", max_distance, minimum=1)
    pos = torch.arange(length, device=device)
    offset = (pos[None, :] - pos[:, None]).clamp(-(M - 1), M - 1)  # (N, N): j - i
    return offset + (M - 1)  # (N, N)


def relative_position_bias(table: Tensor, length: int) -> Tensor:
    """Per-head bias ``(H, N, N)`` with ``bias[h, i, j] = table[clip(j - i) + M - 1, h]`` (T5 / Swin style).

    Args:
        table: ``(2M - 1, H)`` one learned scalar per head and per offset.
        length: sequence length ``N``; offsets beyond ``M - 1`` are clipped.

    Raises:
        ValueError: ``table`` not 2-D or with an even number of rows.

    Example:
        >>> table = torch.tensor([[-1.0], [0.0], [1.0]])  # offsets -1, 0, +1 for one head
        >>> relative_position_bias(table, 3)[0]
        tensor([[ 0.,  1.,  1.],
                [-1.,  0.,  1.],
                [-1., -1.,  0.]])
    """
    table = check_tensor("table", table, ndim=2)
    rows = table.shape[0]
    if rows % 2 == 0:
        raise ValueError(f"table must have 2M - 1 (an odd number of) rows, got shape {tuple(table.shape)}")
    index = relative_position_index(length, (rows + 1) // 2, device=table.device)  # (N, N)
    return table[index].permute(2, 0, 1)  # (H, N, N)


class RelativePositionBias(nn.Module):
    """Learned relative position bias (T5, Swin): a ``(2M - 1, num_heads)`` table, ``forward(N) -> (H, N, N)``.

    One scalar per head and per offset ``j - i``, the same whatever the query and key contain
    (Shaw et al. 2018 instead learn vectors added to the keys; see the module docstring). Add the
    result to the attention scores (``scores + bias``) before the softmax. Initialised from
    ``normal(0, 0.02^2)`` with a seeded generator (Swin's truncated-normal std).

    Example:
        >>> rpb = RelativePositionBias(max_distance=4, num_heads=2, seed=0)
        >>> tuple(rpb(3).shape)
        (2, 3, 3)
    """

    def __init__(self, max_distance: int, num_heads: int, seed: int = 0) -> None:
        super().__init__()
        self.max_distance = check_int("max_distance", max_distance, minimum=1)
        self.num_heads = check_int("num_heads", num_heads, minimum=1)
        generator = torch.Generator().manual_seed(check_int("seed", seed))
        self.table = nn.Parameter(torch.randn(2 * max_distance - 1, num_heads, generator=generator) * 0.02)

    def forward(self, length: int) -> Tensor:
        """Bias ``(H, N, N)`` for a sequence of ``length`` tokens."""
        return relative_position_bias(self.table, length)


@dataclass(frozen=True)
class PositionalSimilarity:
    """A sinusoidal encoding and its dot-product similarities.

    Attributes:
        encoding: ``(N, dim)``; for ``kind="2d"`` the patches of ``grid`` in row-major order.
        similarity: ``(N, N)`` ``PE PE^T``.
        grid: ``(rows, cols)`` the positions lie on (``(1, N)`` for 1D).
    """

    encoding: Tensor
    similarity: Tensor
    grid: tuple[int, int]


def positional_similarity(length: int, dim: int, base: float = 10000.0, kind: str = "1d") -> PositionalSimilarity:
    """Encoding of ``length`` positions and its similarity matrix.

    ``kind="2d"``: the positions are patches of a grid ``width = ceil(sqrt(length))`` wide, filled
    row by row (the last row may be partial), encoded by :func:`sinusoidal_positional_encoding_2d`.

    Example:
        >>> positional_similarity(16, 8, kind="2d").grid, positional_similarity(17, 8, kind="2d").grid
        ((4, 4), (4, 5))
    """
    kind = check_choice("kind", kind, ("1d", "2d"))
    length = check_int("length", length, minimum=1)
    if kind == "1d":
        pe, grid = sinusoidal_positional_encoding(length, dim, base), (1, length)
    else:
        width = math.ceil(math.sqrt(length))
        grid = (math.ceil(length / width), width)
        pe = sinusoidal_positional_encoding_2d(*grid, dim, base).reshape(grid[0] * width, dim)[:length]  # (N, dim)
    return PositionalSimilarity(encoding=pe, similarity=pe @ pe.T, grid=grid)
