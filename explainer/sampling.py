"""Where a convolution's kernel taps read: sampling positions and the zero-insertion view of transposed convolution.

A direct 2-D convolution computes output unit ``(oy, ox)`` from the input values at

    ``y = s_h * oy - p_h + d_h * ky``,   ``x = s_w * ox - p_w + d_w * kx``

for every tap ``(ky, kx)`` of the kernel; coordinates outside ``[0, H) x [0, W)`` read the zero
padding. A transposed convolution with stride ``s`` is the direct, stride-1 convolution of a
*zero-inserted* input (``s - 1`` zeros between neighbouring pixels), padded by ``d(k-1) - p`` on
each side (plus ``output_padding`` at the bottom/right; a negative amount crops), with the kernel
flipped and its in/out channels swapped (Dumoulin & Visin, https://arxiv.org/abs/1603.07285, sec. 4).

Positions are floating point because deformable convolution (Dai et al. 2017) adds fractional
offsets to exactly these grids; ``sampling_positions`` takes its options after ``*`` so that an
``offset=`` keyword can join them without breaking callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from explainer._validate import check_int, check_kernel_fits, check_pair, check_tensor
from explainer.sizes import transposed_output_size

__all__ = [
    "sampling_positions",
    "same_padding",
    "stacked_coverage",
    "hdc_max_gap",
    "TransposedGeometry",
    "transposed_geometry",
]

Pair = tuple[int, int]


def _tap_grid(out_size: Pair, kernel_size: Pair, stride: Pair, origin: Pair, dilation: Pair,
              dtype: torch.dtype, device: torch.device | str | None) -> Tensor:
    """Tap coordinates ``stride*o + origin + dilation*k`` as a ``(H_out, W_out, kh*kw, 2)`` tensor."""
    axes = []
    for o, k, s, start, d in zip(out_size, kernel_size, stride, origin, dilation):
        first = torch.arange(o, device=device) * s + start  # (o,) first tap of each output unit
        axes.append(first[:, None] + torch.arange(k, device=device) * d)  # (o, k)
    (oh, kh), (ow, kw) = axes[0].shape, axes[1].shape
    y = axes[0][:, None, :, None].expand(oh, ow, kh, kw)  # (H_out, W_out, kh, kw)
    x = axes[1][None, :, None, :].expand(oh, ow, kh, kw)  # (H_out, W_out, kh, kw)
    return torch.stack((y, x), dim=-1).reshape(oh, ow, kh * kw, 2).to(dtype)  # taps row-major, like weight.flatten(-2)


def sampling_positions(input_size: int | Pair, kernel_size: int | Pair, stride: int | Pair = 1,
                       padding: int | Pair = 0, dilation: int | Pair = 1, *, offset: Tensor | None = None,
                       dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    """The input coordinate each kernel tap reads, for every output unit of a direct convolution.

    Args:
        input_size: ``H`` or ``(H, W)``.
        kernel_size, stride, padding, dilation: as for ``nn.Conv2d`` (ints or pairs).
        offset: optional deformable-convolution offsets, ``(2*kh*kw, H_out, W_out)`` or
            ``(B, 2*kh*kw, H_out, W_out)`` with ``(dy, dx)`` pairs per tap (the layout of
            :func:`deform_conv2d` with one offset group); they are added to the regular grid.
        dtype: a floating dtype for the result (ignored with ``offset``: the offset's dtype wins).
        device: where to create the result (ignored with ``offset``: the offset's device wins).

    Returns:
        ``(H_out, W_out, kh*kw, 2)`` tensor of ``(y, x)`` coordinates (``(B, H_out, W_out, kh*kw, 2)``
        for a batched offset); taps are in row-major ``(ky, kx)`` order, matching
        ``weight.flatten(-2)``. Values outside ``[0, H)``/``[0, W)`` fall in the padding (and a
        deformed position between pixels is read by bilinear interpolation).

    Example:
        >>> pos = sampling_positions(5, 3, stride=2, padding=1)  # output 3x3
        >>> pos[1, 2, 0].tolist(), pos[1, 2, -1].tolist()  # (2*1-1, 2*2-1) and + (2, 2)
        ([1.0, 3.0], [3.0, 5.0])
    """
    size = check_pair("input_size", input_size, minimum=1)
    k = check_pair("kernel_size", kernel_size, minimum=1)
    s = check_pair("stride", stride, minimum=1)
    p = check_pair("padding", padding, minimum=0)
    d = check_pair("dilation", dilation, minimum=1)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    for i, dim in enumerate(("height", "width")):
        check_kernel_fits(size[i], k[i], p[i], d[i], dim)
    out = tuple((size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))
    if offset is None:
        return _tap_grid(out, k, s, (-p[0], -p[1]), d, dtype, device)
    return _deformed(offset, out, k, s, p, d)


def _deformed(offset: Tensor, out: Pair, k: Pair, s: Pair, p: Pair, d: Pair) -> Tensor:
    """Regular taps plus ``offset`` ``([B,] 2K, H_out, W_out)`` -> ``([B,] H_out, W_out, K, 2)``."""
    offset = check_tensor("offset", offset)
    taps = k[0] * k[1]
    expected = (2 * taps, *out)
    if offset.ndim not in (3, 4) or tuple(offset.shape[-3:]) != expected or not offset.dtype.is_floating_point:
        raise ValueError(f"offset must be a floating tensor of shape {expected} or (B, *{expected}) "
                         f"(2*kh*kw, H_out, W_out), got {tuple(offset.shape)} {offset.dtype}")
    grid = _tap_grid(out, k, s, (-p[0], -p[1]), d, offset.dtype, offset.device)  # (H_out, W_out, K, 2)
    pairs = offset.reshape(*offset.shape[:-3], taps, 2, *out)  # ([B,] K, 2, H_out, W_out)
    return grid + pairs.movedim((-4, -3), (-2, -1))  # ([B,] H_out, W_out, K, 2)


def same_padding(kernel_size: int, dilation: int = 1) -> tuple[int, int]:
    """Padding ``(before, after)`` along one axis that keeps a stride-1 convolution's size, as PyTorch pads.

    The output keeps the input's size when the total padding is ``(k-1)d``, the span of the dilated
    kernel minus one. When ``(k-1)d`` is even it splits evenly, ``(k-1)d/2`` on each side; when it is
    odd (an even ``k`` with an odd ``d``) no symmetric padding keeps the size, and
    ``F.conv2d(..., padding="same")`` puts ``floor((k-1)d/2)`` before (top/left) and one more after
    (bottom/right).

    Example:
        >>> same_padding(3, 2), same_padding(4, 1), same_padding(4, 2)  # (k-1)d = 4, 3 (odd), 6
        ((2, 2), (1, 2), (3, 3))
    """
    k = check_int("kernel_size", kernel_size, minimum=1)
    d = check_int("dilation", dilation, minimum=1)
    total = (k - 1) * d
    return total // 2, total - total // 2


def stacked_coverage(kernel_size: int | Pair, dilations: Sequence[int]) -> Tensor:
    """How many paths join each input pixel to one output unit of stacked dilated convolutions.

    With all weights 1 and no nonlinearity, output unit ``(0, 0)`` of the stack equals the sum of
    the input weighted by these counts (the gradient of the unit w.r.t. the input). Zeros inside
    the field are the "gridding" holes (Wang et al. 2018, https://arxiv.org/abs/1702.08502). Equal
    dilations ``d > 1`` always leave them; so does any schedule whose dilations share a factor
    ``g > 1``. Sharing no factor is not enough: with ``k = 3``, 3, 4, 5 and 1, 5, 9 still leave
    holes, because their gaps are wider than a kernel can bridge. Hybrid dilated convolution
    starts with dilation 1 and bounds the gaps, :func:`hdc_max_gap` ``<= k``; 1, 2, 5 does.

    Args:
        kernel_size: ``k`` or ``(kh, kw)`` of every layer.
        dilations: one dilation per layer (at least one); the counts do not depend on their order.

    Returns:
        ``(R_h, R_w)`` float64 tensor, ``R = 1 + sum_l d_l (k - 1)`` (the receptive field).

    Example:
        >>> stacked_coverage(3, [2, 2]).shape, stacked_coverage(3, [2, 2])[1].sum().item()  # odd rows: holes
        (torch.Size([9, 9]), 0.0)
        >>> int((stacked_coverage(3, [3, 4, 5]) == 0).sum()) > 0  # no common factor, and still holes
        True
    """
    k = check_pair("kernel_size", kernel_size, minimum=1)
    ds = _check_dilations(dilations, pairs=True)
    size = tuple(1 + sum(d[i] * (k[i] - 1) for d in ds) for i in range(2))
    field = torch.zeros(1, 1, *size, dtype=torch.float64)
    field[0, 0, 0, 0] = 1.0
    ones = torch.ones(1, 1, *k, dtype=torch.float64)
    for d in ds:  # spread the unit's counts one layer down: a transposed conv with an all-ones kernel
        field = F.conv_transpose2d(field, ones, dilation=d)[..., :size[0], :size[1]]
    return field[0, 0]  # (R_h, R_w)


def _check_dilations(dilations: Sequence[int], *, pairs: bool) -> list:
    if isinstance(dilations, (str, bytes)) or not isinstance(dilations, Sequence) or not dilations:
        raise ValueError(f"dilations must be a non-empty sequence of ints >= 1, got {dilations!r}")
    check = check_pair if pairs else check_int
    return [check(f"dilations[{i}]", d, minimum=1) for i, d in enumerate(dilations)]


def hdc_max_gap(dilations: Sequence[int]) -> int:
    """``M_2`` of hybrid dilated convolution (Wang et al. 2018, sec. 3.2.1, https://arxiv.org/abs/1702.08502).

    ``M_i`` is the largest distance between two neighbouring pixels that layers ``i .. n`` (3-tap
    kernels with dilations ``r_i .. r_n``, the input side first) read, computed from the top:
    ``M_n = r_n`` and ``M_i = max(M_{i+1} - 2 r_i, M_{i+1} - 2 (M_{i+1} - r_i), r_i)``. The design
    goal is ``M_2 <= k``: a first layer of dilation 1 then bridges every gap with its ``k`` dense
    taps, and the stack reads every pixel of its field (a test checks this against
    :func:`stacked_coverage` for ``k = 3, 4, 5``). A common factor ``g > 1`` alone never suffices;
    nor does its absence: 3, 4, 5 gives ``M_2 = 4``, 1, 5, 9 gives ``M_2 = 5``.

    Args:
        dilations: ``r_1, ..., r_n``, the input side first (at least one; with one layer ``M_2``
            does not exist and 0 is returned, nothing left to bridge).

    Example:
        >>> hdc_max_gap([1, 2, 5]), hdc_max_gap([3, 4, 5]), hdc_max_gap([1, 5, 9])
        (2, 4, 5)
    """
    r = _check_dilations(dilations, pairs=False)
    if len(r) == 1:
        return 0
    gap = r[-1]
    for ri in reversed(r[1:-1]):
        gap = max(gap - 2 * ri, gap - 2 * (gap - ri), ri)
    return gap


@dataclass(frozen=True)
class TransposedGeometry:
    """A transposed convolution seen as a stride-1 direct convolution over a zero-inserted grid.

    Coordinates are those of the zero-inserted grid, where input pixel ``(i, j)`` sits at
    ``(s_h i, s_w j)``; negative coordinates or ones ``>= inserted_size`` are implicit padding.
    All pairs are ``(h, w)``.

    Attributes:
        input_size, kernel_size, stride, padding, output_padding, dilation: the settings.
        inserted_size: ``(n-1)s + 1``, the input with ``s-1`` zeros between pixels.
        pad_before: implicit padding at the top/left, ``d(k-1) - p`` (negative: that many rows
            or columns are cropped instead).
        pad_after: implicit padding at the bottom/right, ``d(k-1) - p + output_padding``.
        padded_size: ``inserted_size + pad_before + pad_after``, the grid the kernel slides over.
        output_size: ``padded_size - d(k-1)`` = ``(n-1)s - 2p + d(k-1) + output_padding + 1``.
        input_positions: ``(H_in, W_in, 2)`` long tensor, where each input pixel lands.
        positions: ``(H_out, W_out, kh*kw, 2)`` float32 tensor, the taps of the equivalent direct
            convolution (its kernel is the transposed kernel flipped, with in/out channels swapped).
    """

    input_size: Pair
    kernel_size: Pair
    stride: Pair
    padding: Pair
    output_padding: Pair
    dilation: Pair
    inserted_size: Pair
    pad_before: Pair
    pad_after: Pair
    padded_size: Pair
    output_size: Pair
    input_positions: Tensor
    positions: Tensor

    def reads_input(self) -> Tensor:
        """``(H_out, W_out, kh*kw)`` bool: which taps land on a real input pixel (not an inserted or padded zero)."""
        pos = self.positions.long()  # (H_out, W_out, K, 2)
        stride = torch.tensor(self.stride)
        inside = (pos >= 0) & (pos < torch.tensor(self.inserted_size))
        return (inside & (pos % stride == 0)).all(dim=-1)


def transposed_geometry(input_size: int | Pair, kernel_size: int | Pair, stride: int | Pair = 1,
                        padding: int | Pair = 0, output_padding: int | Pair = 0,
                        dilation: int | Pair = 1) -> TransposedGeometry:
    """The zero-insertion view of ``nn.ConvTranspose2d`` with these settings (``groups`` plays no part).

    Raises:
        ValueError: bad settings, ``output_padding >= max(stride, dilation)`` or an empty output.

    Example:
        >>> g = transposed_geometry(3, 3, stride=2, padding=1, output_padding=1)
        >>> g.inserted_size, g.pad_before, g.pad_after, g.output_size  # 2*2+1; 2-1; 2-1+1; 5+1+2-2
        ((5, 5), (1, 1), (2, 2), (6, 6))
    """
    size = check_pair("input_size", input_size, minimum=1)
    k = check_pair("kernel_size", kernel_size, minimum=1)
    s = check_pair("stride", stride, minimum=1)
    p = check_pair("padding", padding, minimum=0)
    op = check_pair("output_padding", output_padding, minimum=0)
    d = check_pair("dilation", dilation, minimum=1)
    out = tuple(transposed_output_size(size[i], k[i], s[i], p[i], op[i], d[i]) for i in range(2))
    inserted = tuple((size[i] - 1) * s[i] + 1 for i in range(2))
    before = tuple(d[i] * (k[i] - 1) - p[i] for i in range(2))
    after = tuple(before[i] + op[i] for i in range(2))
    iy = torch.arange(size[0]) * s[0]  # (H_in,)
    ix = torch.arange(size[1]) * s[1]  # (W_in,)
    landed = torch.stack(torch.meshgrid(iy, ix, indexing="ij"), dim=-1)  # (H_in, W_in, 2)
    return TransposedGeometry(
        input_size=size, kernel_size=k, stride=s, padding=p, output_padding=op, dilation=d,
        inserted_size=inserted, pad_before=before, pad_after=after,
        padded_size=(inserted[0] + before[0] + after[0], inserted[1] + before[1] + after[1]),
        output_size=out, input_positions=landed,
        positions=_tap_grid(out, k, (1, 1), (-before[0], -before[1]), d, torch.float32, None),
    )
