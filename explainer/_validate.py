"""Input checks shared by the compute modules.

Every public function validates its arguments *before* computing anything, and every
error names the parameter, the constraint and the value received, e.g.::

    ValueError: stride must be an integer >= 1, got 0

Helpers here raise exactly such messages so that the wording is the same everywhere.
"""

from __future__ import annotations

import numbers
from typing import Any

__all__ = [
    "check_int",
    "check_pair",
    "check_choice",
    "check_tensor",
    "check_kernel_fits",
]


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking its type and range.

    Args:
        name: the parameter's name, used in the error message.
        value: what the caller passed. ``bool`` is rejected even though it is an ``int``.
        minimum: smallest allowed value (inclusive), or None.
        maximum: largest allowed value (inclusive), or None.

    Raises:
        TypeError: ``value`` is not an integer.
        ValueError: ``value`` lies outside ``[minimum, maximum]``.

    Example:
        >>> check_int("stride", 2, minimum=1)
        2
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum}, got {value}")
    return value


def check_pair(name: str, value: Any, minimum: int | None = None) -> tuple[int, int]:
    """Return ``value`` as an ``(h, w)`` pair of ints; a single int ``k`` means ``(k, k)``.

    This mirrors how ``nn.Conv2d`` accepts ``kernel_size=3`` or ``kernel_size=(3, 5)``.

    Raises:
        TypeError: not an int nor a length-2 sequence of ints.
        ValueError: an element lies below ``minimum``.

    Example:
        >>> check_pair("kernel_size", 3, minimum=1)
        (3, 3)
        >>> check_pair("kernel_size", (1, 7), minimum=1)
        (1, 7)
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise TypeError(f"{name} must be an int or a pair (h, w), got {value!r} of length {len(value)}")
        h, w = value
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        h = w = value
    else:
        raise TypeError(f"{name} must be an int or a pair (h, w), got {value!r} ({type(value).__name__})")
    for part in (h, w):
        if isinstance(part, bool) or not isinstance(part, numbers.Integral):
            raise TypeError(f"{name} must be an int or a pair (h, w) of ints, got {value!r}")
        if minimum is not None and part < minimum:
            raise ValueError(f"{name} must be >= {minimum} in every dimension, got {value!r}")
    return int(h), int(w)


def check_choice(name: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them.

    Example:
        >>> check_choice("name", "vgg16", ("alexnet", "vgg16"))
        'vgg16'
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_tensor(name: str, value: Any, ndim: int | None = None):
    """Check that ``value`` is a ``torch.Tensor`` (of rank ``ndim`` if given) and return it.

    Example:
        >>> import torch
        >>> check_tensor("x", torch.zeros(1, 3, 4, 4), ndim=4).shape
        torch.Size([1, 3, 4, 4])
    """
    import torch

    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(value.shape)}")
    return value


def check_kernel_fits(size: int, kernel_size: int, padding: int, dilation: int, dim: str = "") -> None:
    """Raise if a dilated kernel does not fit in the padded input (the output would be empty).

    Args:
        size, kernel_size, padding, dilation: already-checked ints along one dimension.
        dim: the dimension's name for the message (``"height"``), or ``""``.

    Raises:
        ValueError: ``dilation*(kernel_size-1)+1 > size+2*padding``.

    Example:
        >>> check_kernel_fits(5, kernel_size=3, padding=0, dilation=2)  # spans 5 pixels: fits
    """
    span = dilation * (kernel_size - 1) + 1
    if span > size + 2 * padding:
        where = f" in {dim}" if dim else ""
        raise ValueError(
            f"kernel_size={kernel_size} with dilation={dilation} spans {span} pixels{where}, more than the "
            f"padded input size + 2*padding = {size} + 2*{padding} = {size + 2 * padding}; the output would be "
            f"empty (need dilation*(kernel_size-1)+1 <= size+2*padding)"
        )
