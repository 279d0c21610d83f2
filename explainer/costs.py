"""Parameters and multiply-adds of every convolution and linear layer of a model, in call order.

:func:`layer_costs` runs the model once with forward hooks, so it counts what a forward pass really
calls (a module called twice is counted twice), for any ``nn.Module``. A convolution's count is
the batch size times :func:`~explainer.conv.conv_flops` (or
:func:`~explainer.conv.conv_transpose_flops`) of its settings; ``tests/test_costs.py`` checks the
counts against ``torch.utils.flop_counter``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_int

__all__ = ["LayerCost", "layer_costs", "layer_multiply_adds"]

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer call in a forward pass.

    Attributes:
        name: the module's name in ``model.named_modules()`` (``""`` for the model itself).
        kind: the module's class name, e.g. ``"Conv2d"``.
        input_shape: shape of the layer's input, batch included.
        output_shape: shape of its output, batch included.
        params: the layer's own parameters (weight + bias).
        multiply_adds: multiply-adds of this call for the whole batch (bias not counted).
    """

    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    multiply_adds: int


def layer_multiply_adds(module: nn.Module, x: Tensor, y: Tensor) -> int:
    """Multiply-adds of one call ``y = module(x)`` of a convolution, transposed convolution or linear layer.

    For the whole batch, bias not counted: what :func:`layer_costs` records per layer.

    Example:
        >>> conv = nn.Conv2d(3, 8, 3, padding=1)
        >>> x = torch.zeros(1, 3, 5, 5)
        >>> layer_multiply_adds(conv, x, conv(x))  # 5*5*8 outputs, each 3*3*3 products
        5400
    """
    if not isinstance(module, _TRANSPOSED + _CONVS + (nn.Linear,)):
        raise TypeError(f"module must be a Conv, ConvTranspose or Linear layer, got {type(module).__name__}")
    if isinstance(module, _TRANSPOSED):
        # weight (C_in, C_out/g, *k): every input value meets C_out/g * prod(k) weights.
        return x.numel() * module.weight[0].numel()
    if isinstance(module, _CONVS):
        # weight (C_out, C_in/g, *k): every output value is a dot product of length C_in/g * prod(k).
        return y.numel() * module.weight[0].numel()
    return y.numel() * module.in_features  # nn.Linear


def layer_costs(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerCost]:
    """Parameters and multiply-adds of every convolution and linear layer, in call order.

    Runs one forward pass on zeros (no gradients, eval mode, training flags restored after) with
    forward hooks on ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d`` and ``Linear``.

    Args:
        model: any ``nn.Module``.
        input_shape: the full input shape, batch included, e.g. ``(1, 3, 224, 224)``.

    Returns:
        One :class:`LayerCost` per layer call.

    Example:
        >>> costs = layer_costs(nn.Conv2d(3, 8, 3, padding=1), (1, 3, 5, 5))
        >>> costs[0].multiply_adds  # 5*5*8*3*3*3
        5400
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(input_shape, (tuple, list, torch.Size)) or not input_shape:
        raise TypeError(f"input_shape must be a non-empty tuple of ints, got {input_shape!r}")
    shape = tuple(check_int("input_shape", s, minimum=1) for s in input_shape)
    costs: list[LayerCost] = []

    def hook(name: str):
        def record(module: nn.Module, args: tuple, output: Tensor) -> None:
            x = args[0]
            params = sum(p.numel() for p in module.parameters(recurse=False))
            costs.append(LayerCost(name, type(module).__name__, tuple(x.shape), tuple(output.shape), params,
                                   layer_multiply_adds(module, x, output)))
        return record

    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, _CONVS + _TRANSPOSED + (nn.Linear,))]
    handles = [m.register_forward_hook(hook(n)) for n, m in layers]
    modes = {m: m.training for m in model.modules()}
    first = next(model.parameters(), None)
    x = torch.zeros(shape, dtype=first.dtype if first is not None else torch.float32,
                    device=first.device if first is not None else None)
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    return costs
