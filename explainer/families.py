"""The classic CNN families layer by layer, and the design moves that made them cheap.

:func:`network_table` builds one network from real ``nn.Module``s and reads, for every layer with
weights or a change of shape, its output shape (forward hooks), its parameters
(``sum(p.numel())``), its multiply-adds and its receptive field (the analytic walker of
:mod:`explainer.receptive_fields`). The networks (:data:`FAMILIES`):

* ``"alexnet"``: Krizhevsky, Sutskever & Hinton 2012 as in the paper (227x227 input, local
  response normalisation after conv1 and conv2, conv2/4/5 split in two groups, one per GPU);
* ``"vgg16"``: Simonyan & Zisserman 2015 (https://arxiv.org/abs/1409.1556), configuration D;
* ``"inception"``: one Inception (v1) module, "3a" of Szegedy et al. 2015
  (https://arxiv.org/abs/1409.4842): 1x1, 1x1 -> 3x3, 1x1 -> 5x5 and pool -> 1x1 branches, concatenated;
* ``"bottleneck"``: one ResNet bottleneck block at 256 channels (He et al. 2016,
  https://arxiv.org/abs/1512.03385): 1x1 down to 64, 3x3, 1x1 back up, plus the identity;
* ``"transformer"``: one encoder block (``nn.TransformerEncoderLayer``, the base model of Vaswani
  et al. 2017) on 64 tokens; its field is counted in tokens.

:func:`compare` measures the same way the four design moves: ``"stack"`` (three 3x3 against one
7x7), ``"bottleneck"`` (1x1 bottleneck against plain 3x3s), ``"factorised"`` (n x 1 then 1 x n
against n x n) and ``"separable"`` (depthwise-separable against a full convolution).

Multiply-adds count the products of convolutions, linear layers and attention (projections,
``Q K^T`` and the weighted sum of values), the work that dominates; normalisation, pooling and
activations are counted as 0. Networks are built on the ``meta`` device by default: shapes and
counts without memory or time (VGG-16 has 138 million weights); ``device="cpu"`` builds them with
random weights.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from explainer._validate import check_choice, check_int
from explainer.conv import depthwise_separable
from explainer.costs import layer_multiply_adds
from explainer.receptive_fields import receptive_field, reference_network
from explainer.receptive_fields.networks import Bottleneck

__all__ = ["FAMILIES", "COMPARISONS", "LayerRow", "NetworkTable", "Design", "Comparison", "family_network",
           "layer_table", "network_table", "compare"]

FAMILIES: tuple[str, ...] = ("alexnet", "vgg16", "inception", "bottleneck", "transformer")
COMPARISONS: tuple[str, ...] = ("stack", "bottleneck", "factorised", "separable")

# Layers that get a row: those with weights or that change the shape. Activations, dropout and
# flatten are left out (no weights, same values per position).
_ROW_TYPES = (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.LocalResponseNorm,
              nn.BatchNorm2d, nn.LayerNorm, nn.MultiheadAttention)
_INPUTS = {"alexnet": (1, 3, 227, 227), "vgg16": (1, 3, 224, 224), "inception": (1, 192, 28, 28),
           "bottleneck": (1, 256, 56, 56), "transformer": (1, 64, 512)}


@dataclass(frozen=True)
class LayerRow:
    """One layer call of a forward pass.

    Attributes:
        name: the module's path (``"features.3"``, ``"branch2.1"``, ``"self_attn"``).
        kind: its class name (``"Conv2d"``).
        output_shape: its output's shape without the batch: ``(C, H, W)`` or ``(N, D)``.
        params: ``sum(p.numel())`` of the module (weights and biases).
        multiply_adds: multiply-adds of this call for one input (0 for norms and pools).
        field: receptive field after the layer: pixels (square side) for images, tokens for the
            transformer; a fully connected layer sees the whole input.
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    multiply_adds: int
    field: int


@dataclass(frozen=True)
class NetworkTable:
    """Every row of one network, in call order, and its totals.

    Attributes:
        network: its name; input_shape: the input without the batch; field_unit: "pixels" or "tokens".
        rows: the :class:`LayerRow` of each layer call.
        params: ``sum(p.numel())`` over the whole model (equals the rows' sum).
        multiply_adds: the rows' sum.
    """

    network: str
    input_shape: tuple[int, ...]
    field_unit: str
    rows: tuple[LayerRow, ...]
    params: int
    multiply_adds: int

    def cumulative(self, column: str) -> list[int]:
        """Running total of ``"params"`` or ``"multiply_adds"`` over the rows."""
        check_choice("column", column, ("params", "multiply_adds"))
        total, out = 0, []
        for row in self.rows:
            total += getattr(row, column)
            out.append(total)
        return out


def _mha_multiply_adds(module: nn.MultiheadAttention, query: torch.Tensor, key: torch.Tensor) -> int:
    """Projections of Q (Tq E^2), K and V (2 Tk E^2) and the output (Tq E^2); Q K^T and A V (2 Tq Tk E)."""
    E = module.embed_dim
    tq, tk = query.shape[-2], key.shape[-2]  # batch_first (B, T, E)
    return 2 * tq * E * E + 2 * tk * E * E + 2 * tq * tk * E


def _row_cost(module: nn.Module, args: tuple, output: Any) -> int:
    if isinstance(module, nn.MultiheadAttention):
        return _mha_multiply_adds(module, args[0], args[1])
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        return layer_multiply_adds(module, args[0], output) // args[0].shape[0]  # per input of the batch
    return 0


def layer_table(model: nn.Module, *inputs: torch.Tensor) -> list[tuple[str, nn.Module, LayerRow]]:
    """Rows (with ``field=0``) of every layer call of ``model(*inputs)`` (one forward pass, eval mode).

    A layer inside a layer that has a row (the ``out_proj`` of an attention layer) gets none.
    Returns ``(name, module, row)`` triples in call order.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    records: list[tuple[str, nn.Module, LayerRow]] = []
    owners = [n for n, m in model.named_modules() if isinstance(m, nn.MultiheadAttention)]

    def hook(name: str):
        def record(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            args = args + tuple(v for k, v in kwargs.items() if k in ("key", "value") and len(args) < 3)
            out = output[0] if isinstance(output, tuple) else output
            records.append((name, module, LayerRow(name, type(module).__name__, tuple(out.shape[1:]),
                                                   sum(p.numel() for p in module.parameters()),
                                                   _row_cost(module, args, out), 0)))
        return record

    handles = [m.register_forward_hook(hook(n), with_kwargs=True) for n, m in model.named_modules()
               if isinstance(m, _ROW_TYPES) and not any(n.startswith(o + ".") for o in owners)]
    training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(training)
    return records


def family_network(name: str, device: str | torch.device = "meta") -> nn.Module:
    """The network ``name`` of :data:`FAMILIES`, built from real modules (see the module docstring).

    Example:
        >>> sum(p.numel() for p in family_network("vgg16").parameters())
        138357544
    """
    name = check_choice("name", name, FAMILIES)
    if name == "alexnet":
        return _alexnet(device)
    if name == "vgg16":
        features = reference_network("vgg16", device=device).features
        return nn.Sequential(OrderedDict(features=features, classifier=_classifier(512 * 7 * 7, device)))
    if name == "inception":
        return InceptionModule(192, 64, (96, 128), (16, 32), 32, device=device)
    if name == "bottleneck":
        return Bottleneck(256, 64, 1, "3x3", device)
    return nn.TransformerEncoderLayer(512, 8, 2048, dropout=0.1, batch_first=True, device=device)


def _classifier(in_features: int, device: Any) -> nn.Sequential:
    kw = {"device": device}
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, 4096, **kw), nn.ReLU(inplace=True), nn.Dropout(),
                         nn.Linear(4096, 4096, **kw), nn.ReLU(inplace=True), nn.Dropout(), nn.Linear(4096, 1000, **kw))


def _alexnet(device: Any) -> nn.Sequential:
    kw = {"device": device}
    features = nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4, **kw), nn.ReLU(inplace=True), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2, **kw), nn.ReLU(inplace=True),
        nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1, **kw), nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1, groups=2, **kw), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, groups=2, **kw), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
    )
    return nn.Sequential(OrderedDict(features=features, classifier=_classifier(256 * 6 * 6, device)))


class InceptionModule(nn.Module):
    """An Inception (v1) module: four branches on one input, concatenated along the channels.

    ``branch1`` 1x1; ``branch2`` 1x1 (``reduce3[0]`` channels) -> 3x3; ``branch3`` 1x1 -> 5x5;
    ``branch4`` 3x3 max pool (stride 1) -> 1x1. Each convolution is followed by a ReLU. The 1x1s
    before the 3x3 and 5x5 are the "bottleneck": they cut the channels the big kernels read.
    """

    def __init__(self, in_channels: int, out1: int, reduce3: tuple[int, int], reduce5: tuple[int, int],
                 pool_proj: int, device: Any = None) -> None:
        super().__init__()
        kw = {"device": device}
        relu = nn.ReLU
        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, out1, 1, **kw), relu())
        self.branch2 = nn.Sequential(nn.Conv2d(in_channels, reduce3[0], 1, **kw), relu(),
                                     nn.Conv2d(reduce3[0], reduce3[1], 3, padding=1, **kw), relu())
        self.branch3 = nn.Sequential(nn.Conv2d(in_channels, reduce5[0], 1, **kw), relu(),
                                     nn.Conv2d(reduce5[0], reduce5[1], 5, padding=2, **kw), relu())
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), nn.Conv2d(in_channels, pool_proj, 1, **kw), relu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def _fields(name: str, model: nn.Module, rows: list[tuple[str, nn.Module, LayerRow]]) -> list[int]:
    """The receptive field after every row: from the analytic walker for convolutional parts."""
    if name == "transformer":
        tokens, field, out = _INPUTS[name][1], 1, []
        for _, module, _ in rows:
            field = tokens if isinstance(module, nn.MultiheadAttention) else field
            out.append(field)
        return out
    conv_part = nn.Sequential(OrderedDict(features=model.features)) if name in ("alexnet", "vgg16") else model
    walked = {layer.name: layer.size[0] for layer in receptive_field(conv_part)}
    whole = _INPUTS[name][-1]
    return [walked.get(row_name, whole) for row_name, _, _ in rows]  # a classifier layer sees the whole image


def network_table(name: str, device: str | torch.device = "meta") -> NetworkTable:
    """Layer-by-layer table of network ``name`` (see :data:`FAMILIES` and the module docstring).

    Example:
        >>> t = network_table("alexnet")
        >>> [(r.name, r.output_shape, r.field) for r in t.rows[:2]]
        [('features.0', (96, 55, 55), 11), ('features.2', (96, 55, 55), 11)]
    """
    name = check_choice("name", name, FAMILIES)
    model = family_network(name, device)
    rows = layer_table(model, torch.zeros(_INPUTS[name], device=device))
    rows = [(n, m, LayerRow(r.name, r.kind, r.output_shape, r.params, r.multiply_adds, f))
            for (n, m, r), f in zip(rows, _fields(name, model, rows), strict=True)]
    return NetworkTable(name, _INPUTS[name][1:], "tokens" if name == "transformer" else "pixels",
                        tuple(r for _, _, r in rows), sum(p.numel() for p in model.parameters()),
                        sum(r.multiply_adds for _, _, r in rows))


@dataclass(frozen=True)
class Design:
    """One way to build a layer, measured: ``label``, ``params`` (``sum(p.numel())``, biases
    included), ``multiply_adds`` (one input), ``field`` (pixels), ``nonlinearities`` (ReLUs),
    ``output_shape`` ``(C, H, W)``, and the layers as ``rows``."""

    label: str
    params: int
    multiply_adds: int
    field: int
    nonlinearities: int
    output_shape: tuple[int, ...]
    rows: tuple[LayerRow, ...]


@dataclass(frozen=True)
class Comparison:
    """Two or three :class:`Design`\\ s of one layer, the first the plain one: ``kind``, ``channels``,
    ``size`` (input side), ``kernel_size``, ``designs``."""

    kind: str
    channels: int
    size: int
    kernel_size: int
    designs: tuple[Design, ...]


def _conv_relu(*layers: nn.Conv2d) -> nn.Sequential:
    out: list[nn.Module] = []
    for layer in layers:
        out += [layer, nn.ReLU()]
    return nn.Sequential(*out)


def _designs(kind: str, c: int, k: int) -> list[tuple[str, nn.Module, int]]:
    """``(label, model, input channels)`` of each design."""
    def conv(cin: int, cout: int, kernel: Any, **kw: Any) -> nn.Conv2d:
        pad = tuple(x // 2 for x in kernel) if isinstance(kernel, tuple) else kernel // 2
        return nn.Conv2d(cin, cout, kernel, padding=pad, device="meta", **kw)

    if kind == "stack":
        big = 3 * (k - 1) + 1
        return [(f"one {big}x{big}", _conv_relu(conv(c, c, big)), c),
                (f"three {k}x{k}", _conv_relu(conv(c, c, k), conv(c, c, k), conv(c, c, k)), c)]
    if kind == "bottleneck":
        w = max(c // 4, 1)
        return [(f"two {k}x{k} at {c}", _conv_relu(conv(c, c, k), conv(c, c, k)), c),
                (f"1x1 {c}->{w}, {k}x{k}, 1x1 {w}->{c}", _conv_relu(conv(c, w, 1), conv(w, w, k), conv(w, c, 1)), c),
                (f"two {k}x{k} at {w}", _conv_relu(conv(w, w, k), conv(w, w, k)), w)]
    if kind == "factorised":
        return [(f"{k}x{k}", _conv_relu(conv(c, c, k)), c),
                (f"{k}x1 then 1x{k}", _conv_relu(conv(c, c, (k, 1)), conv(c, c, (1, k))), c)]
    separable = depthwise_separable(c, c, k, padding=k // 2).to("meta")
    return [(f"{k}x{k}", _conv_relu(conv(c, c, k)), c),
            (f"depthwise {k}x{k} + pointwise 1x1", nn.Sequential(separable, nn.ReLU()), c)]


def compare(kind: str, channels: int = 64, size: int = 28, kernel_size: int = 3) -> Comparison:
    """Measure the designs of one comparison of :data:`COMPARISONS` on a ``channels x size x size`` input.

    * ``"stack"``: one ``(3(k-1)+1)^2`` kernel against three ``k x k`` (VGG): same field;
    * ``"bottleneck"``: two ``k x k`` at C against 1x1 C -> C/4, ``k x k``, 1x1 C/4 -> C (ResNet),
      and two ``k x k`` at C/4 (the plain block He et al. set the bottleneck against);
    * ``"factorised"``: ``k x k`` against ``k x 1`` then ``1 x k`` (Inception v3, ERFNet);
    * ``"separable"``: ``k x k`` against depthwise ``k x k`` + pointwise 1x1 (MobileNets).

    Every convolution has a bias and is followed by a ReLU; padding keeps the size (odd ``k``).

    Example (our notes' 18 w^2 + 2 w and 17 w^2 / 16 + 3 w / 2 for w = 256):
        >>> [d.params for d in compare("bottleneck", channels=256).designs][:2]
        [1180160, 70016]
    """
    kind = check_choice("kind", kind, COMPARISONS)
    channels = check_int("channels", channels, minimum=4)
    size = check_int("size", size, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the padding keeps the size), got {kernel_size}")
    designs = []
    for label, model, in_channels in _designs(kind, channels, kernel_size):
        records = layer_table(model, torch.zeros(1, in_channels, size, size, device="meta"))
        fields = {layer.name: layer.size for layer in receptive_field(model)}
        rows = tuple(LayerRow(r.name, r.kind, r.output_shape, r.params, r.multiply_adds, max(fields[n]))
                     for n, _, r in records)
        designs.append(Design(label, sum(p.numel() for p in model.parameters()), sum(r.multiply_adds for r in rows),
                              rows[-1].field, sum(isinstance(m, nn.ReLU) for m in model.modules()),
                              rows[-1].output_shape, rows))
    return Comparison(kind, channels, size, kernel_size, tuple(designs))
