"""Sizes along one dimension of a convolution: the output length and the span of a dilated kernel.

The relations between input size ``n``, kernel size ``k``, stride ``s``, padding ``p``, dilation
``d`` and output size ``o`` follow Dumoulin & Visin, "A guide to convolution arithmetic for deep
learning" (https://arxiv.org/abs/1603.07285), and are computed exactly as ``nn.Conv2d`` and
``nn.ConvTranspose2d`` compute them (checked in ``tests/test_conv.py``). This is the lowest layer
of the convolution lessons: :mod:`explainer.sampling` (where the taps read) and
:mod:`explainer.conv` (counts, and all numbers of one convolution) build on it, and
:mod:`explainer.conv` re-exports every name here.
"""

from __future__ import annotations

from explainer._validate import check_int, check_kernel_fits

__all__ = ["conv_output_size", "transposed_output_size", "effective_kernel_size"]


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution along one dimension, as ``nn.Conv2d`` computes it.

    ``o = floor((n + 2p - d(k-1) - 1) / s) + 1``

    Args:
        size: input length ``n`` (>= 1).
        kernel_size: ``k`` (>= 1).
        stride: ``s`` (>= 1).
        padding: zeros added on each side, ``p`` (>= 0).
        dilation: spacing between kernel taps, ``d`` (>= 1).

    Raises:
        TypeError: a non-integer argument.
        ValueError: an argument out of range, or a dilated kernel larger than the padded input.

    Example:
        >>> conv_output_size(7, kernel_size=3, stride=2, padding=1)  # floor((7+2-2-1)/2)+1
        4
    """
    size = check_int("size", size, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    dilation = check_int("dilation", dilation, minimum=1)
    check_kernel_fits(size, kernel_size, padding, dilation)
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def transposed_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a transposed convolution along one dimension, as ``nn.ConvTranspose2d`` computes it.

    ``o = (n-1)s - 2p + d(k-1) + output_padding + 1``

    ``output_padding`` (one extra row/column at the bottom/right) picks one of the ``s`` input sizes
    that a stride-``s`` convolution maps to the same output size; PyTorch requires it to be smaller
    than ``max(stride, dilation)``.

    Raises:
        TypeError: a non-integer argument.
        ValueError: an argument out of range, ``output_padding >= max(stride, dilation)``, or an
            output that would be empty (padding too large).

    Example:
        >>> transposed_output_size(3, kernel_size=3, stride=2, padding=1, output_padding=1)  # 4-2+2+1+1
        6
    """
    size = check_int("size", size, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    dilation = check_int("dilation", dilation, minimum=1)
    output_padding = check_int("output_padding", output_padding, minimum=0)
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding must be smaller than max(stride, dilation) = {max(stride, dilation)}, "
            f"got {output_padding}"
        )
    out = (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if out < 1:
        raise ValueError(
            f"padding={padding} is too large: the transposed output (size-1)*stride - 2*padding + "
            f"dilation*(kernel_size-1) + output_padding + 1 would be {out} (need >= 1)"
        )
    return out


def effective_kernel_size(kernel_size: int, dilation: int) -> int:
    """Span of a dilated kernel in input pixels: ``k + (k-1)(d-1)`` (= ``d(k-1) + 1``).

    Example:
        >>> effective_kernel_size(3, dilation=2)  # taps at 0, 2, 4
        5
    """
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    dilation = check_int("dilation", dilation, minimum=1)
    return kernel_size + (kernel_size - 1) * (dilation - 1)
