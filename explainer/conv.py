"""Convolution arithmetic: output sizes, parameter counts and multiply-adds, computed as PyTorch does.

Every formula here is checked in ``tests/test_conv.py`` against PyTorch's own layers
(``nn.Conv2d`` / ``nn.ConvTranspose2d`` forward shapes, ``sum(p.numel())`` and
``torch.utils.flop_counter``). The geometry follows Dumoulin & Visin, "A guide to convolution
arithmetic for deep learning" (https://arxiv.org/abs/1603.07285). :func:`conv_arithmetic` gathers
every number of one convolution, with the taps of :mod:`explainer.sampling`, for the
convolution-arithmetic explorer.

The output sizes live one layer lower, in :mod:`explainer.sizes`, because
:mod:`explainer.sampling` needs them too; they are re-exported here on purpose, so that all of the
convolution arithmetic of lesson 01 is imported from one place.

Letters used throughout: ``n`` input size, ``k`` kernel size, ``s`` stride, ``p`` padding,
``d`` dilation, ``o`` output size.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from explainer._validate import check_int, check_pair
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
