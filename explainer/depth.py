"""Depth: how gradients and activations travel through a plain and a residual stack, and the
degradation experiment (a deeper plain network trains worse; the same network with shortcuts does not).

A residual block, as our notes describe it (He et al. 2015, https://arxiv.org/abs/1512.03385):
**add, then activate**, ``y = f(norm(W x) + x)``; the plain block drops the ``+ x``. When ``W`` is
zero the residual block falls back to ``f(x)``, the identity after a ReLU (its input is already
>= 0), so a deeper residual network can always do at least as well as a shallower one, and the
gradient reaches early layers through the ``+ x`` path without passing every ``W``.

Everything random (weights, inputs, labels, batch order) comes from ``torch.Generator`` objects
made here from ``seed``; the global RNG is never seeded nor consumed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from explainer._validate import check_choice, check_int
from explainer.activations import SATURATION, activation_module, local_derivative

__all__ = [
    "NORMS",
    "INITS",
    "CLASSES",
    "Block",
    "Stack",
    "init_weights",
    "stack_weights",
    "build_stack",
    "GradientFlow",
    "gradient_flow",
    "DEGRADATION_DEFAULTS",
    "DEGRADATION_FILE",
    "SHIPPED_DEPTHS",
    "Degradation",
    "degradation_net",
    "degradation_curves",
    "shipped_degradation",
]

NORMS = ("none", "batch", "layer")
INITS = ("default", "xavier", "kaiming")
CLASSES = 4  # the scenes' four shapes; the gradient-flow stack's random labels use as many
# kaiming_normal_'s nonlinearity (and slope) for each activation; the smooth ReLU-likes use ReLU's gain.
_KAIMING = {"sigmoid": ("sigmoid", 0.0), "tanh": ("tanh", 0.0), "relu": ("relu", 0.0),
            "leaky_relu": ("leaky_relu", 0.01), "prelu": ("leaky_relu", 0.25), "elu": ("relu", 0.0),
            "silu": ("relu", 0.0), "gelu": ("relu", 0.0)}


class Block(nn.Module):
    """``y = f(norm(layer(x)) + x)`` with ``residual``, else ``y = f(norm(layer(x)))``.

    ``layer`` maps a tensor to one of the same shape (``nn.Linear(w, w)`` or a padded ``nn.Conv2d(c, c, 3)``).
    """

    def __init__(self, layer: nn.Module, norm: nn.Module, activation: nn.Module, residual: bool) -> None:
        super().__init__()
        self.layer, self.norm, self.activation, self.residual = layer, norm, activation, residual

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        """``norm(layer(x)) (+ x)``: what the activation receives (x's shape)."""
        z = self.norm(self.layer(x))
        return z + x if self.residual else z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.pre_activation(x))


class Stack(nn.Module):
    """``depth`` blocks of one width, then a linear head (after global average pooling for images)."""

    def __init__(self, blocks: list[Block], head: nn.Linear, stem: nn.Module | None = None) -> None:
        super().__init__()
        self.stem = stem if stem is not None else nn.Identity()
        self.blocks = nn.ModuleList(blocks)
        self.head = head

    def trace(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """``(logits (B, classes), pre-activations, outputs)``, one of each per block (each x-shaped)."""
        h = self.stem(x)
        pre, post = [], []
        for block in self.blocks:
            z = block.pre_activation(h)
            h = block.activation(z)
            pre.append(z)
            post.append(h)
        pooled = h.mean(dim=(2, 3)) if h.ndim == 4 else h  # (B, C)
        return self.head(pooled), pre, post

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trace(x)[0]


def init_weights(shape: tuple[int, ...], init: str, activation: str, generator: torch.Generator,
                 dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` for a layer whose weight has ``shape`` (out, in, ...), drawn from ``generator``.

    ``"default"`` is what PyTorch's ``nn.Linear`` / ``nn.Conv2d`` ``reset_parameters`` draws (Kaiming-uniform
    with a = √5, i.e. weight and bias both U(±1/√fan_in)); ``"xavier"`` is Glorot-uniform with gain 1,
    U(±√(6 / (fan_in + fan_out))); ``"kaiming"`` is He-normal, N(0, gain² / fan_in) with
    ``nn.init.calculate_gain`` of ``activation``. The last two have zero bias.

    Example:
        >>> w, b = init_weights((8, 200), "default", "relu", torch.Generator().manual_seed(0))
        >>> bool(w.abs().max() <= 200 ** -0.5), tuple(b.shape)
        (True, (8,))
    """
    init = check_choice("init", init, INITS)
    activation = check_choice("activation", activation, tuple(_KAIMING))
    fan_out, fan_in = shape[0] * math.prod(shape[2:]), math.prod(shape[1:])
    if init == "kaiming":
        nonlinearity, slope = _KAIMING[activation]
        std = nn.init.calculate_gain(nonlinearity, slope) / math.sqrt(fan_in)
        return torch.randn(shape, generator=generator, dtype=dtype) * std, torch.zeros(shape[0], dtype=dtype)
    bound = 1 / math.sqrt(fan_in) if init == "default" else math.sqrt(6 / (fan_in + fan_out))
    weight = (2 * torch.rand(shape, generator=generator, dtype=dtype) - 1) * bound
    if init == "xavier":
        return weight, torch.zeros(shape[0], dtype=dtype)
    return weight, (2 * torch.rand(shape[0], generator=generator, dtype=dtype) - 1) * bound


def _norm(norm: str, width: int, image: bool, dtype: torch.dtype) -> nn.Module:
    if norm == "none":
        return nn.Identity()
    if norm == "batch":
        return (nn.BatchNorm2d if image else nn.BatchNorm1d)(width, dtype=dtype)
    # GroupNorm(1, C) normalises each image over (C, H, W): LayerNorm's rule for feature maps.
    return nn.GroupNorm(1, width, dtype=dtype) if image else nn.LayerNorm(width, dtype=dtype)


def _layer(shape: tuple[int, ...], init: str, activation: str, g: torch.Generator, dtype: torch.dtype,
           stride: int = 1) -> nn.Module:
    """A Linear (2D ``shape``) or a padded Conv2d (4D) filled from ``g``; building draws nothing from the global RNG."""
    if len(shape) == 2:
        layer = nn.utils.skip_init(nn.Linear, shape[1], shape[0], dtype=dtype)
    else:
        layer = nn.utils.skip_init(nn.Conv2d, shape[1], shape[0], shape[2], stride=stride, padding=shape[2] // 2,
                                   dtype=dtype)
    weight, bias = init_weights(shape, init, activation, g, dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


def build_stack(depth: int, width: int, activation: str = "relu", init: str = "default", norm: str = "none",
                residual: bool = False, seed: int = 0, image_channels: int = 0,
                dtype: torch.dtype = torch.float32) -> Stack:
    """A stack of ``depth`` blocks of ``width`` units (or channels), its weights drawn from ``seed``.

    With ``image_channels = 0`` the blocks are ``nn.Linear(width, width)`` on ``(B, width)`` inputs;
    otherwise a 3x3 stride-2 stem convolution maps ``(B, image_channels, H, W)`` to ``width`` channels
    at half the size and the blocks are padded 3x3 ``nn.Conv2d(width, width)``. The head (PyTorch's
    default initialisation) maps to :data:`CLASSES` logits and is drawn first, then the stem, then the
    blocks in order, so a deeper stack shares the shallower one's head and first blocks. Plain and
    residual stacks built with the same arguments hold exactly the same weights.

    Raises:
        ValueError: an unknown activation, init or norm; depth or width below 1.
    """
    activation = check_choice("activation", activation, tuple(_KAIMING))
    init, norm = check_choice("init", init, INITS), check_choice("norm", norm, NORMS)
    depth, width = check_int("depth", depth, minimum=1), check_int("width", width, minimum=1)
    image_channels = check_int("image_channels", image_channels, minimum=0)
    g = torch.Generator().manual_seed(check_int("seed", seed))
    image = image_channels > 0
    head = _layer((CLASSES, width), "default", activation, g, dtype)
    stem = None
    if image:
        stem = nn.Sequential(_layer((width, image_channels, 3, 3), init, activation, g, dtype, stride=2),
                             activation_module(activation).to(dtype))
    shape = (width, width, 3, 3) if image else (width, width)
    blocks = [Block(_layer(shape, init, activation, g, dtype), _norm(norm, width, image, dtype),
                    activation_module(activation).to(dtype), residual) for _ in range(depth)]
    return Stack(blocks, head, stem)


def stack_weights(depth: int, width: int, activation: str = "relu", init: str = "default",
                  seed: int = 0, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    """The weights :func:`build_stack` (linear blocks) draws, as tensors, without building modules.

    Returns ``(head_weight (CLASSES, width), head_bias (CLASSES,), weights (depth, width, width),
    biases (depth, width))``, new tensors on every call. The blocks are drawn one after another
    from one generator, so a deeper stack starts with a shallower one's blocks: small draws (teaching
    sizes) are kept per (width, activation, init, seed, dtype) and extended when a deeper stack is
    asked for, which gives the same numbers as drawing afresh (tests/test_depth.py) and spares the
    gradient-flow explorer drawing up to 50 blocks twice (plain and residual) per move.
    """
    activation = check_choice("activation", activation, tuple(_KAIMING))
    init = check_choice("init", init, INITS)
    depth, width = check_int("depth", depth, minimum=1), check_int("width", width, minimum=1)
    seed = check_int("seed", seed)
    small = depth * width * width <= _KEPT_NUMBERS
    drawn = (_drawn_layers if small else _Draws)(width, activation, init, seed, dtype)
    layers = drawn.upto(depth)
    return (drawn.head[0].clone(), drawn.head[1].clone(), torch.stack([w for w, _ in layers]),
            torch.stack([b for _, b in layers]))


class _Draws:
    """A stack's head and blocks in the order :func:`stack_weights` draws them, drawn as far as asked."""

    def __init__(self, width: int, activation: str, init: str, seed: int, dtype: torch.dtype) -> None:
        self.shape, self.activation, self.init, self.dtype = (width, width), activation, init, dtype
        self.generator = torch.Generator().manual_seed(seed)
        self.head = init_weights((CLASSES, width), "default", activation, self.generator, dtype)
        self.layers: list[tuple[torch.Tensor, torch.Tensor]] = []

    def upto(self, depth: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        while len(self.layers) < depth:
            self.layers.append(init_weights(self.shape, self.init, self.activation, self.generator, self.dtype))
        return self.layers[:depth]


_KEPT_NUMBERS = 2**18  # draws of at most this many weights are kept (1 MiB in float32; 16 settings kept)


@functools.lru_cache(maxsize=16)
def _drawn_layers(width: int, activation: str, init: str, seed: int, dtype: torch.dtype) -> _Draws:
    return _Draws(width, activation, init, seed, dtype)


@dataclass(frozen=True)
class GradientFlow:
    """One backward pass through a stack of L blocks, per block (index 0 is nearest the input).

    Attributes:
        grad_norms: (L,) Frobenius norm of ∂loss/∂W of each block's layer.
        mean: (L,) mean of the block's output (after the activation).
        std: (L,) standard deviation of the block's output.
        dead: (L,) share of units (over the batch) that output 0 and pass no gradient (f = f' = 0).
        saturated: (L,) share of the others where |f'| < :data:`~explainer.activations.SATURATION`.
        outputs: (L, B, width) the block outputs, for histograms.
        loss: the cross-entropy of the batch.
    """

    grad_norms: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    dead: torch.Tensor
    saturated: torch.Tensor
    outputs: torch.Tensor
    loss: float


def gradient_flow(depth: int = 20, width: int = 32, activation: str = "relu", init: str = "default",
                  norm: str = "none", residual: bool = False, batch: int = 64, seed: int = 0,
                  dtype: torch.dtype = torch.float32) -> GradientFlow:
    """One seeded batch forward and backward through the linear stack :func:`build_stack` would build.

    The inputs are ``(batch, width)`` standard normal, the labels uniform over :data:`CLASSES`, both
    from a generator seeded with ``seed + 1`` (the weights use ``seed``); the loss is cross-entropy;
    batch norm uses the batch's statistics (training mode), and both norms have their initial scale 1
    and shift 0. Computed with functional ops on :func:`stack_weights` (building 50 modules costs
    far more than the pass itself); the tests hold it to the modules.

    Example:
        >>> plain = gradient_flow(depth=30, activation="sigmoid")
        >>> bool(plain.grad_norms[0] < 1e-6 * plain.grad_norms[-1])  # vanished on the way down
        True
        >>> residual = gradient_flow(depth=30, activation="relu", residual=True)
        >>> bool(residual.grad_norms[0] > 0.01 * residual.grad_norms[-1])  # the shortcut carries it
        True
    """
    norm = check_choice("norm", norm, NORMS)
    batch = check_int("batch", batch, minimum=2)
    head_w, head_b, weights, biases = stack_weights(depth, width, activation, init, seed, dtype)
    act = activation_module(activation).to(dtype)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(batch, width, generator=g, dtype=dtype)  # (B, width)
    labels = torch.randint(0, CLASSES, (batch,), generator=g)  # (B,)
    with torch.enable_grad():
        weights.requires_grad_(True)
        h, pre, post = x, [], []
        for w, b in zip(weights, biases, strict=True):
            z = _normalise(F.linear(h, w, b), norm)  # (B, width)
            z = z + h if residual else z
            h = act(z)
            pre.append(z.detach())
            post.append(h)
        loss = F.cross_entropy(F.linear(h, head_w, head_b), labels)
        (grads,) = torch.autograd.grad(loss, [weights])  # (L, width, width)
    outputs = torch.stack([h.detach() for h in post])  # (L, B, width)
    derivative = local_derivative(act, torch.stack(pre))[1]  # (L, B, width)
    dead = (outputs == 0) & (derivative == 0)
    return GradientFlow(
        grad_norms=grads.flatten(1).norm(dim=1),
        mean=outputs.mean(dim=(1, 2)),
        std=outputs.std(dim=(1, 2)),
        dead=dead.to(dtype).mean(dim=(1, 2)),
        saturated=(~dead & (derivative.abs() < SATURATION)).to(dtype).mean(dim=(1, 2)),
        outputs=outputs,
        loss=float(loss.detach()),
    )


def _normalise(z: torch.Tensor, norm: str) -> torch.Tensor:
    """Batch norm over the batch (per unit) or layer norm over the units (per example), eps 1e-5."""
    if norm == "batch":
        return F.batch_norm(z, None, None, training=True)
    if norm == "layer":
        return F.layer_norm(z, z.shape[-1:])
    return z


# --------------------------------------------------------------------------- the degradation experiment
DEGRADATION_DEFAULTS = dict(depth=20, norm="batch", steps=300, seed=0)
SHIPPED_DEPTHS = (4, 20)  # the curves shipped (at the default norm, steps and seed): the default and a shallow one
DEGRADATION_FILE = Path(__file__).parent / "weights" / "degradation.pt"
_SIZE, _WIDTH, _BATCH, _TRAIN, _LR = 16, 8, 32, 2048, 3e-3


@dataclass(frozen=True)
class Degradation:
    """Training-loss curves of a plain and a residual network of the same depth and initial weights.

    Attributes:
        depth, norm, seed: the setting.
        plain: (steps,) the training batch's cross-entropy before each step's update, plain network.
        residual: (steps,) the same for the residual network (same batches, same initial weights).
    """

    depth: int
    norm: str
    seed: int
    plain: torch.Tensor
    residual: torch.Tensor


def degradation_net(depth: int, norm: str = "none", residual: bool = False, seed: int = 0) -> Stack:
    """The experiment's network: a 3x3 stride-2 stem to 8 channels (8x8), ``depth`` 3x3 ReLU blocks, pooling,
    4 logits."""
    if norm not in ("none", "batch"):
        raise ValueError(f"norm must be one of 'none', 'batch' for the degradation experiment; got {norm!r}")
    return build_stack(depth, _WIDTH, "relu", "default", norm, residual, seed, image_channels=3)


@contextmanager
def _one_thread() -> Iterator[None]:
    """One intra-op thread while training: sums then run in one order, so curves repeat exactly."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def degradation_curves(depth: int = 20, norm: str = "none", steps: int = 300, seed: int = 0,
                       progress: Callable[[int, int], None] | None = None) -> Degradation:
    """Train a plain and a residual :func:`degradation_net` for ``steps`` Adam steps each, on the scenes.

    Both see the same batches of 16x16 :func:`explainer.data.scenes` with one shape each (2048 of
    them, seed 11, batches of 32 drawn from ``seed + 1``) from the same initial weights (``seed``), with
    Adam (lr 0.003). Deterministic: the same arguments give the same curves.

    Args:
        depth: blocks per network (1 to 64).
        norm: ``"none"`` or ``"batch"``.
        steps: training steps per network (1 to 2000).
        seed: weights and batch order.
        progress: called as ``progress(done, total)`` after every step (total = 2 * steps).
    """
    from explainer.data import scenes

    depth, steps = check_int("depth", depth, 1, 64), check_int("steps", steps, 1, 2000)
    seed = check_int("seed", seed, minimum=0)
    data = scenes(_TRAIN, _SIZE, seed=11, max_objects=1)
    order = torch.randint(0, _TRAIN, (steps, _BATCH), generator=torch.Generator().manual_seed(seed + 1))
    curves = []
    with _one_thread(), torch.enable_grad():
        for k, residual in enumerate((False, True)):
            net = degradation_net(depth, norm, residual, seed).train()
            optimiser = torch.optim.Adam(net.parameters(), lr=_LR)
            losses = torch.empty(steps)
            for step in range(steps):
                loss = F.cross_entropy(net(data.images[order[step]]), data.labels[order[step]])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses[step] = loss.detach()
                if progress is not None:
                    progress(k * steps + step + 1, 2 * steps)
            curves.append(losses)
    return Degradation(depth, norm, seed, curves[0], curves[1])


def shipped_degradation() -> dict[tuple[int, str], Degradation]:
    """``{(depth, norm): Degradation}`` as ``python -m explainer.train degradation`` wrote them
    (:data:`SHIPPED_DEPTHS` at the default norm, steps and seed)."""
    saved = torch.load(DEGRADATION_FILE, weights_only=True)
    return {(int(c["depth"]), str(c["norm"])): Degradation(int(c["depth"]), str(c["norm"]), int(c["seed"]), c["plain"],
                                                           c["residual"]) for c in saved["curves"]}
