"""Convolution arithmetic: output sizes, parameter counts and multiply-adds, computed as PyTorch does.

Every formula here is checked in ``tests/test_conv.py`` against PyTorch's own layers
(``nn.Conv2d`` / ``nn.ConvTranspose2d`` forward shapes, ``sum(p.numel())`` and
``torch.utils.flop_counter``). The geometry follows Dumoulin & Visin, "A guide to convolution
arithmetic for deep learning" (https://arxiv.org/abs/1603.07285). :func:`conv_arithmetic` gathers
every number of one convolution, with the taps of :mod:`explainer.sampling`, for the
convolution-arithmetic explorer; :func:`conv_unit` opens up the arithmetic of one output value
(window x weights, summed over the window and the input channels, plus the bias);
:func:`separable_params` / :func:`separable_flops` / :func:`depthwise_separable` give the costs of a
depthwise-separable convolution (Howard et al. 2017, MobileNets, https://arxiv.org/abs/1704.04861);
:func:`transposed_overlap` counts how many kernel taps of a transposed convolution land on each
output pixel, the source of its checkerboard artifacts (Odena et al. 2016,
https://distill.pub/2016/deconv-checkerboard/).

The output sizes live one layer lower, in :mod:`explainer.sizes`, because
:mod:`explainer.sampling` needs them too; they are re-exported here on purpose, so that all of the
convolution arithmetic of lesson 01 is imported from one place.

Letters used throughout: ``n`` input size, ``k`` kernel size, ``s`` stride, ``p`` padding,
``d`` dilation, ``o`` output size.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explainer._validate import check_int, check_pair, check_tensor
from explainer.sampling import TransposedGeometry, sampling_positions, transposed_geometry
from explainer.sizes import conv_output_size, effective_kernel_size, transposed_output_size

__all__ = [
    "conv_output_size",
    "transposed_output_size",
    "effective_kernel_size",
    "conv_params",
    "conv_flops",
    "conv_transpose_flops",
    "ConvArithmetic",
    "conv_arithmetic",
    "ConvUnit",
    "conv_unit",
    "separable_params",
    "separable_flops",
    "depthwise_separable",
    "TransposedOverlap",
    "transposed_overlap",
]

Pair = tuple[int, int]


# --------------------------------------------------------------------------- counts
def _check_groups(in_channels: int, out_channels: int, groups: int) -> tuple[int, int, int]:
    in_channels = check_int("in_channels", in_channels, minimum=1)
    out_channels = check_int("out_channels", out_channels, minimum=1)
    groups = check_int("groups", groups, minimum=1)
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise ValueError(f"{name} must be divisible by groups={groups}, got {name}={value}")
    return in_channels, out_channels, groups


def conv_params(in_channels: int, out_channels: int, kernel_size: int | Pair, groups: int = 1,
                bias: bool = True) -> int:
    """Number of learnable parameters of ``nn.Conv2d`` (and of ``nn.ConvTranspose2d``, which has as many).

    ``(C_in/g * kh * kw + [bias]) * C_out``: each of the ``C_out`` filters sees only the
    ``C_in/g`` channels of its group.

    Example:
        >>> conv_params(64, 64, 3)  # (64*3*3 + 1) * 64
        36928
        >>> conv_params(64, 64, 3, groups=64, bias=False)  # depthwise
        576
    """
    in_channels, out_channels, groups = _check_groups(in_channels, out_channels, groups)
    kh, kw = check_pair("kernel_size", kernel_size, minimum=1)
    return out_channels * (in_channels // groups) * kh * kw + (out_channels if bias else 0)


def conv_flops(in_channels: int, out_channels: int, kernel_size: int | Pair, output_size: int | Pair,
               groups: int = 1) -> int:
    """Multiply-adds of one ``nn.Conv2d`` forward pass for one image (bias additions not counted).

    ``H_out * W_out * C_out * (C_in/g) * kh * kw``. FLOPs in the "two operations per
    multiply-add" sense (``torch.utils.flop_counter``) are twice this number.

    Example:
        >>> conv_flops(3, 64, 7, output_size=112)  # 112*112*64*3*7*7
        118013952
    """
    in_channels, out_channels, groups = _check_groups(in_channels, out_channels, groups)
    kh, kw = check_pair("kernel_size", kernel_size, minimum=1)
    oh, ow = check_pair("output_size", output_size, minimum=1)
    return oh * ow * out_channels * (in_channels // groups) * kh * kw


def conv_transpose_flops(in_channels: int, out_channels: int, kernel_size: int | Pair, input_size: int | Pair,
                         groups: int = 1) -> int:
    """Multiply-adds of one ``nn.ConvTranspose2d`` forward pass for one image.

    A transposed convolution scatters every *input* pixel through the kernel, so the count is
    ``H_in * W_in * C_in * (C_out/g) * kh * kw``; the zero-insertion picture (a direct
    convolution over a mostly-zero grid) would spend ``conv_flops(..., output_size)`` instead.

    Example:
        >>> conv_transpose_flops(8, 4, 3, input_size=5)  # 5*5*8*4*3*3
        7200
    """
    in_channels, out_channels, groups = _check_groups(in_channels, out_channels, groups)
    kh, kw = check_pair("kernel_size", kernel_size, minimum=1)
    ih, iw = check_pair("input_size", input_size, minimum=1)
    return ih * iw * in_channels * (out_channels // groups) * kh * kw


# --------------------------------------------------------------------------- one convolution, all numbers
@dataclass(frozen=True)
class ConvArithmetic:
    """Everything the convolution-arithmetic explorer shows for one setting (all pairs are ``(h, w)``).

    Attributes:
        input_size, kernel_size, stride, padding, dilation, output_padding: the settings.
        transposed: whether this is a transposed convolution.
        in_channels, out_channels, groups: the channel settings.
        output_size: the output size, as PyTorch computes it.
        effective_kernel: the dilated kernel's span ``d(k-1)+1``.
        padded_size: size of the grid the kernel slides over: ``n + 2p`` for a direct
            convolution; for a transposed one the zero-inserted input plus its implicit padding
            ``(n-1)s + 1 + 2(d(k-1) - p) + output_padding`` (the equivalent stride-1 convolution).
        params: learnable parameters (with bias).
        multiply_adds: multiply-adds for one image (``conv_flops`` or ``conv_transpose_flops``).
        positions: float32 tensor ``(H_out, W_out, kh*kw, 2)``: the ``(y, x)`` each tap of each
            output unit reads, in input coordinates for a direct convolution (negative or ``>= n``
            means padding) and in zero-inserted-grid coordinates for a transposed one.
        geometry: the zero-insertion view (:class:`~explainer.sampling.TransposedGeometry`) when
            ``transposed``, else None.
    """

    input_size: Pair
    kernel_size: Pair
    stride: Pair
    padding: Pair
    dilation: Pair
    output_padding: Pair
    transposed: bool
    in_channels: int
    out_channels: int
    groups: int
    output_size: Pair
    effective_kernel: Pair
    padded_size: Pair
    params: int
    multiply_adds: int
    positions: Tensor
    geometry: TransposedGeometry | None


def conv_arithmetic(input_size: int | Pair, kernel_size: int | Pair, stride: int | Pair = 1,
                    padding: int | Pair = 0, dilation: int | Pair = 1, transposed: bool = False,
                    output_padding: int | Pair = 0, in_channels: int = 1, out_channels: int = 1,
                    groups: int = 1) -> ConvArithmetic:
    """All the numbers of one (possibly transposed) 2-D convolution, validated like PyTorch.

    Example:
        >>> a = conv_arithmetic(5, 3, stride=2, padding=1)
        >>> a.output_size, a.padded_size, tuple(a.positions.shape)  # floor((5+2-2-1)/2)+1 = 3
        ((3, 3), (7, 7), (3, 3, 9, 2))
        >>> conv_arithmetic(3, 3, stride=2, transposed=True).output_size  # (3-1)*2 + 2 + 1
        (7, 7)
    """
    if not isinstance(transposed, bool):
        raise TypeError(f"transposed must be a bool, got {transposed!r}")
    in_channels, out_channels, groups = _check_groups(in_channels, out_channels, groups)
    k = check_pair("kernel_size", kernel_size, minimum=1)
    d = check_pair("dilation", dilation, minimum=1)
    if not transposed and check_pair("output_padding", output_padding, minimum=0) != (0, 0):
        raise ValueError(f"output_padding applies only to transposed convolutions, got {output_padding!r}")
    geometry = None
    if transposed:
        geometry = transposed_geometry(input_size, kernel_size, stride, padding, output_padding, dilation)
        size, positions = geometry.input_size, geometry.positions
        out, padded = geometry.output_size, geometry.padded_size
        macs = conv_transpose_flops(in_channels, out_channels, k, size, groups)
    else:
        positions = sampling_positions(input_size, kernel_size, stride, padding, dilation)
        size = check_pair("input_size", input_size, minimum=1)
        out = (positions.shape[0], positions.shape[1])
        p = check_pair("padding", padding, minimum=0)
        padded = (size[0] + 2 * p[0], size[1] + 2 * p[1])
        macs = conv_flops(in_channels, out_channels, k, out, groups)
    return ConvArithmetic(
        input_size=size, kernel_size=k, stride=check_pair("stride", stride, minimum=1),
        padding=check_pair("padding", padding, minimum=0), dilation=d,
        output_padding=check_pair("output_padding", output_padding, minimum=0), transposed=transposed,
        in_channels=in_channels, out_channels=out_channels, groups=groups, output_size=out,
        effective_kernel=(d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1), padded_size=padded,
        params=conv_params(in_channels, out_channels, k, groups), multiply_adds=macs,
        positions=positions, geometry=geometry,
    )



# --------------------------------------------------------------------------- one output value, computed
@dataclass(frozen=True)
class ConvUnit:
    """The arithmetic of one output value of a 2-D convolution.

    ``value = sum_c sum_(i, j) window[c, i, j] * weight[c, i, j] + bias``.

    Attributes:
        channel, row, col: the output channel and the output unit ``(row, col)``.
        in_channels: the input channels this output channel reads (all of them, or its group's).
        window: ``(C_in/g, kh, kw)`` the input values the taps read (0 where they read padding).
        weight: ``(C_in/g, kh, kw)`` the output channel's kernel.
        products: ``(C_in/g, kh, kw)`` ``window * weight``.
        channel_sums: ``(C_in/g,)`` each input channel's products summed over the window.
        bias: the output channel's bias (a 0-d tensor; 0 without bias).
        value: ``channel_sums.sum() + bias`` (a 0-d tensor), what ``F.conv2d`` returns there.
    """

    channel: int
    row: int
    col: int
    in_channels: tuple[int, ...]
    window: Tensor
    weight: Tensor
    products: Tensor
    channel_sums: Tensor
    bias: Tensor
    value: Tensor

    def describe(self, decimals: int = 2) -> str:
        """The sums written out, one line per input channel, rounded to ``decimals`` (trailing zeros dropped).

        Example:
            >>> print(conv_unit(torch.ones(1, 2, 2), -torch.ones(1, 1, 2, 2), torch.tensor([0.5])).describe())
            output channel 0, unit (0, 0):
              input channel 0: 1·(−1) + 1·(−1) + 1·(−1) + 1·(−1) = −4
              sum over channels −4 + bias 0.5 = −3.5
        """
        def fmt(v: float) -> str:
            text = f"{v:.{decimals}f}"
            text = text.rstrip("0").rstrip(".") if "." in text else text
            return "0" if text in ("-0", "") else text.replace("-", "−")

        def factor(v: float) -> str:
            text = fmt(v)
            return f"({text})" if text.startswith("−") else text

        window, weight = self.window.detach().flatten(1).tolist(), self.weight.detach().flatten(1).tolist()
        sums = self.channel_sums.detach().tolist()
        lines = [f"output channel {self.channel}, unit ({self.row}, {self.col}):"]
        for c, values, weights, total in zip(self.in_channels, window, weight, sums):
            terms = " + ".join(f"{factor(a)}·{factor(b)}" for a, b in zip(values, weights))
            lines.append(f"  input channel {c}: {terms} = {fmt(total)}")
        bias, value = float(self.bias.detach()), float(self.value.detach())
        lines.append(f"  sum over channels {' + '.join(map(fmt, sums))} + bias {fmt(bias)} = {fmt(value)}")
        return "\n".join(lines)


def conv_unit(x: Tensor, weight: Tensor, bias: Tensor | None = None, *, channel: int = 0, row: int = 0,
              col: int = 0, stride: int | Pair = 1, padding: int | Pair = 0, dilation: int | Pair = 1,
              groups: int = 1) -> ConvUnit:
    """Every product behind one output value of ``F.conv2d(x, weight, bias, stride, padding, dilation, groups)``.

    Args:
        x: ``(C_in, H, W)`` one input image.
        weight: ``(C_out, C_in/g, kh, kw)`` as ``nn.Conv2d.weight``.
        bias: ``(C_out,)`` or None.
        channel: the output channel, ``0 <= channel < C_out``.
        row, col: the output unit, inside the output grid.
        stride, padding, dilation, groups: as for ``nn.Conv2d`` (zero padding).

    Raises:
        TypeError: a non-tensor input or a non-integer setting.
        ValueError: shapes that do not fit together, or a unit outside the output.

    Example:
        >>> u = conv_unit(torch.ones(2, 3, 3), torch.ones(1, 2, 2, 2), torch.tensor([0.5]), row=1, col=1)
        >>> u.channel_sums.tolist(), float(u.value)  # 4 products per channel, 2 channels, + 0.5
        ([4.0, 4.0], 8.5)
    """
    x, weight = check_tensor("x", x, ndim=3), check_tensor("weight", weight, ndim=4)
    groups = check_int("groups", groups, minimum=1)
    c_out, per_group, kh, kw = weight.shape
    if c_out % groups or x.shape[0] != per_group * groups:
        raise ValueError(f"weight {tuple(weight.shape)} with groups={groups} needs C_out divisible by groups and "
                         f"x with C_in = {per_group}*{groups} = {per_group * groups} channels, got x {tuple(x.shape)}")
    if bias is not None and tuple(check_tensor("bias", bias, ndim=1).shape) != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {tuple(bias.shape)}")
    (sh, sw), (ph, pw), (dh, dw) = (check_pair(n, v, m) for n, v, m in
                                    (("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1)))
    oh, ow = (conv_output_size(n, k, s, p, d) for n, k, s, p, d in
              ((x.shape[1], kh, sh, ph, dh), (x.shape[2], kw, sw, pw, dw)))
    channel = check_int("channel", channel, 0, c_out - 1)
    row, col = check_int("row", row, 0, oh - 1), check_int("col", col, 0, ow - 1)
    first = channel // (c_out // groups) * per_group  # the group's first input channel
    padded = F.pad(x[first:first + per_group], (pw, pw, ph, ph))  # (C_in/g, H + 2p_h, W + 2p_w)
    ys = row * sh + dh * torch.arange(kh, device=x.device)  # (kh,) rows read, in padded coordinates
    xs = col * sw + dw * torch.arange(kw, device=x.device)  # (kw,)
    window = padded[:, ys][:, :, xs]  # (C_in/g, kh, kw)
    w = weight[channel]  # (C_in/g, kh, kw)
    products = window * w
    sums = products.sum(dim=(1, 2))  # (C_in/g,)
    b = bias[channel] if bias is not None else x.new_zeros(())
    return ConvUnit(channel, row, col, tuple(range(first, first + per_group)), window, w, products, sums, b,
                    sums.sum() + b)


# --------------------------------------------------------------------------- depthwise-separable costs
def separable_params(in_channels: int, out_channels: int, kernel_size: int | Pair, bias: bool = True) -> int:
    """Parameters of a depthwise ``k x k`` convolution (``groups = C_in``) followed by a pointwise 1x1 one.

    ``(kh*kw + [1]) * C_in + (C_in + [1]) * C_out``. Without biases its ratio to a plain ``k x k``
    convolution is ``1/C_out + 1/(kh*kw)`` (MobileNets, sec. 3.1).

    Example:
        >>> separable_params(64, 64, 3)  # (9 + 1)*64 + (64 + 1)*64
        4800
        >>> separable_params(64, 64, 3, bias=False) / conv_params(64, 64, 3, bias=False) == 1/64 + 1/9
        True
    """
    return (conv_params(in_channels, in_channels, kernel_size, groups=in_channels, bias=bias)
            + conv_params(in_channels, out_channels, 1, bias=bias))


def separable_flops(in_channels: int, out_channels: int, kernel_size: int | Pair, output_size: int | Pair) -> int:
    """Multiply-adds of a depthwise-separable convolution for one image: ``H_out W_out C_in (kh kw + C_out)``.

    Example:
        >>> separable_flops(64, 64, 3, output_size=32)  # 32*32*64*(9 + 64)
        4784128
    """
    return (conv_flops(in_channels, in_channels, kernel_size, output_size, groups=in_channels)
            + conv_flops(in_channels, out_channels, 1, output_size))


def depthwise_separable(in_channels: int, out_channels: int, kernel_size: int | Pair, stride: int | Pair = 1,
                        padding: int | Pair = 0, bias: bool = True) -> nn.Sequential:
    """A depthwise ``k x k`` convolution (one filter per input channel) then a pointwise 1x1 convolution.

    The children are named ``depthwise`` and ``pointwise``; ``sum(p.numel())`` equals
    :func:`separable_params` (the counts are checked in ``tests/test_conv.py``).

    Example:
        >>> block = depthwise_separable(8, 16, 3, padding=1)
        >>> tuple(block(torch.zeros(1, 8, 5, 5)).shape), block.depthwise.groups
        ((1, 16, 5, 5), 8)
    """
    in_channels = check_int("in_channels", in_channels, minimum=1)
    out_channels = check_int("out_channels", out_channels, minimum=1)
    check_pair("kernel_size", kernel_size, minimum=1)
    return nn.Sequential(OrderedDict(
        depthwise=nn.Conv2d(in_channels, in_channels, kernel_size, stride, padding, groups=in_channels, bias=bias),
        pointwise=nn.Conv2d(in_channels, out_channels, 1, bias=bias),
    ))


# --------------------------------------------------------------------------- transposed convolution overlap
@dataclass(frozen=True)
class TransposedOverlap:
    """How many (input pixel, kernel tap) pairs of a transposed convolution land on each output pixel.

    Attributes:
        input_size, kernel_size, stride, padding: the settings (pairs ``(h, w)``).
        counts: int64 ``(H_out, W_out)``, the output of ``nn.ConvTranspose2d`` with all-ones weights
            (no bias) on an all-ones input.
        interior: half-open output ranges ``((y0, y1), (x0, x1))`` free of border effects: every
            input pixel whose patch could cover such an output pixel exists (``k - s <= y < n*s``
            before the crop ``p``). The pattern there repeats with period ``s`` and holds
            ``floor(k/s)`` or ``ceil(k/s)`` taps per axis.
        levels: the sorted distinct counts inside ``interior`` (empty when it is empty).
    """

    input_size: Pair
    kernel_size: Pair
    stride: Pair
    padding: Pair
    counts: Tensor
    interior: tuple[Pair, Pair]
    levels: tuple[int, ...]

    @property
    def even(self) -> bool:
        """Whether every interior pixel gets the same number of contributions (no checkerboard)."""
        return len(self.levels) <= 1


def transposed_overlap(input_size: int | Pair, kernel_size: int | Pair, stride: int | Pair = 1,
                       padding: int | Pair = 0) -> TransposedOverlap:
    """Overlap counts of a transposed convolution: a real ``nn.ConvTranspose2d`` of ones on ones.

    Each input pixel paints a ``k x k`` patch with stride ``s``; where the patches overlap unevenly
    (``k`` not divisible by ``s``) the output shows a checkerboard even for a constant input
    (Odena et al. 2016, https://distill.pub/2016/deconv-checkerboard/).

    Example:
        >>> transposed_overlap(3, 3, stride=2).counts[3].tolist()  # k = 3, s = 2: 1, 2 alternate
        [1, 1, 2, 1, 2, 1, 1]
        >>> transposed_overlap(4, 4, stride=2).levels  # k divisible by s: (k/s)^2 everywhere inside
        (4,)
    """
    n = check_pair("input_size", input_size, minimum=1)
    k = check_pair("kernel_size", kernel_size, minimum=1)
    s = check_pair("stride", stride, minimum=1)
    p = check_pair("padding", padding, minimum=0)
    for axis in (0, 1):  # raises on a padding that leaves no output
        transposed_output_size(n[axis], k[axis], s[axis], p[axis])
    up = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, bias=False, dtype=torch.float64)
    with torch.no_grad():
        up.weight.fill_(1.0)
        counts = up(torch.ones(1, 1, *n, dtype=torch.float64))[0, 0].round().long()  # (H_out, W_out)
    # In padded-output coordinates a pixel y sees a full set of candidates when k-1 <= y <= (n-1)s.
    # Output y (before cropping p) is covered by the inputs i with 0 <= y - i*s <= k-1: all of them exist
    # (no border effect) when k - s <= y < n*s.
    starts = [min(size, max(0, kk - ss - pp)) for kk, ss, pp, size in zip(k, s, p, counts.shape)]
    interior = tuple((y0, max(y0, min(size, nn_ * ss - pp)))  # empty ranges as (y0, y0)
                     for y0, pp, ss, nn_, size in zip(starts, p, s, n, counts.shape))
    (y0, y1), (x0, x1) = interior
    inside = counts[y0:y1, x0:x1]
    levels = tuple(sorted(set(inside.flatten().tolist()))) if inside.numel() else ()
    return TransposedOverlap(n, k, s, p, counts, interior, levels)  # type: ignore[arg-type]
