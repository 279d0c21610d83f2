"""Activation functions: their values and derivatives (from autograd), and how much of a given input
distribution they kill (derivative exactly 0) or saturate (derivative almost 0).

The functions are PyTorch's own modules (``nn.Sigmoid``, ``nn.ReLU``, ``nn.GELU``, ...); derivatives
are what autograd returns for them, never a formula typed here. Our notes say the sigmoid's
derivative goes to 0 as x -> 0; in fact it *peaks* there, at σ'(0) = σ(0)(1 − σ(0)) = 0.25, and
vanishes for large |x|:

    >>> curve = activation_curve("sigmoid", torch.tensor([0.0, 10.0]))
    >>> [round(v, 4) for v in curve.derivative.tolist()]
    [0.25, 0.0]

References: ReLU (Nair & Hinton 2010), leaky ReLU (Maas et al. 2013), PReLU (He et al. 2015,
https://arxiv.org/abs/1502.01852), ELU (Clevert et al. 2015, https://arxiv.org/abs/1511.07289),
SiLU/Swish (Ramachandran et al. 2017, https://arxiv.org/abs/1710.05941), GELU (Hendrycks & Gimpel
2016, https://arxiv.org/abs/1606.08415).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from explainer._validate import check_choice, check_int, check_tensor

__all__ = [
    "ACTIVATIONS",
    "SATURATION",
    "activation_module",
    "ActivationCurve",
    "activation_curve",
    "local_derivative",
    "DeadSaturated",
    "dead_and_saturated",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "silu", "gelu")
# A derivative below this passes less than 1/200 of the gradient: we call the unit saturated there.
SATURATION = 0.005


def activation_module(name: str) -> nn.Module:
    """PyTorch's module for ``name`` (one of :data:`ACTIVATIONS`), with its default settings.

    PReLU has one learnable slope, initialised (without randomness) to 0.25; leaky ReLU's slope is 0.01.

    Example:
        >>> activation_module("leaky_relu")
        LeakyReLU(negative_slope=0.01)
    """
    name = check_choice("activation", name, ACTIVATIONS)
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU,
            "prelu": nn.PReLU, "elu": nn.ELU, "silu": nn.SiLU, "gelu": nn.GELU}[name]()


def local_derivative(module: nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(f(z), f'(z))`` elementwise for an elementwise activation ``module``, the derivative from autograd.

    Because ``f`` acts elementwise, the gradient of ``sum f(z)`` with respect to ``z`` is ``f'(z)``.
    Both have ``z``'s shape, dtype and device, and carry no graph.
    """
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        value = module(z)
        (derivative,) = torch.autograd.grad(value.sum(), z)
    return value.detach(), derivative


@dataclass(frozen=True)
class ActivationCurve:
    """An activation function sampled at points ``x``.

    Attributes:
        name: one of :data:`ACTIVATIONS`.
        x: (N,) the points.
        value: (N,) f(x).
        derivative: (N,) f'(x), from autograd.
    """

    name: str
    x: torch.Tensor
    value: torch.Tensor
    derivative: torch.Tensor


def activation_curve(name: str, x: torch.Tensor) -> ActivationCurve:
    """Values and autograd derivatives of activation ``name`` at the points ``x`` (1D, floating).

    Example:
        >>> c = activation_curve("relu", torch.tensor([-1.0, 2.0]))
        >>> c.value.tolist(), c.derivative.tolist()
        ([0.0, 2.0], [0.0, 1.0])
    """
    module = activation_module(name)
    x = check_tensor("x", x, ndim=1)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating tensor, got dtype {x.dtype}")
    module = module.to(dtype=x.dtype, device=x.device)
    value, derivative = local_derivative(module, x)
    return ActivationCurve(name, x.detach(), value, derivative)


@dataclass(frozen=True)
class DeadSaturated:
    """What share of inputs drawn from N(mean, std²) an activation kills or saturates.

    Attributes:
        dead: probability that f(z) = 0 and f'(z) = 0: the unit outputs nothing and passes no gradient
            (ReLU for z < 0).
        saturated: probability that the unit is not dead but |f'(z)| < threshold: almost no gradient
            passes (sigmoid and tanh far from 0, also where their derivative underflows to 0).
        threshold: the saturation threshold used.
    """

    dead: float
    saturated: float
    threshold: float


def dead_and_saturated(name: str, mean: float = 0.0, std: float = 1.0, threshold: float = SATURATION,
                       points: int = 20000) -> DeadSaturated:
    """Dead and saturated shares of inputs z ~ N(mean, std²) for activation ``name`` (float64).

    Integrates the normal density over a grid of ``points`` values spanning mean ± 10 std (an even
    count, so that no grid point sits exactly on the mean), with the derivative at each point from
    autograd. For ReLU, ``dead`` is Φ(−mean / std).

    Raises:
        ValueError: an unknown activation, ``std`` not positive, ``threshold`` not in (0, 1], or
            fewer than 101 ``points``.

    Example:
        >>> round(dead_and_saturated("relu", mean=0.0, std=1.0).dead, 3)
        0.5
        >>> dead_and_saturated("leaky_relu", mean=-2.0).dead
        0.0
    """
    module = activation_module(name)
    mean, std = _finite("mean", mean), _finite("std", std)
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    threshold = _finite("threshold", threshold)
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    points = check_int("points", points, minimum=101)
    u = torch.linspace(-10.0, 10.0, points, dtype=torch.float64)  # in units of std
    weights = torch.exp(-0.5 * u**2)
    weights = weights / weights.sum()  # the normal density on the grid, summing to 1
    value, derivative = local_derivative(module.to(torch.float64), mean + std * u)
    dead = (value == 0) & (derivative == 0)
    saturated = ~dead & (derivative.abs() < threshold)
    return DeadSaturated(float(weights[dead].sum()), float(weights[saturated].sum()), threshold)


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)
