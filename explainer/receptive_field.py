"""Receptive fields of convolutional networks: analytic, gradient-measured and effective.

The *analytic* (theoretical) field follows every layer's geometry. Per spatial dimension, with
kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` of layer ``l`` (Araujo, Norris and Sim,
"Computing Receptive Fields of Convolutional Neural Networks", Distill 2019,
https://distill.pub/2019/computing-receptive-fields/)::

    r_l     = r_{l-1} + (k_l - 1) d_l j_{l-1}      field size, r_0 = 1
    j_l     = j_{l-1} s_l                          jump (input pixels between neighbouring units), j_0 = 1
    left_l  = left_{l-1} - p_l j_{l-1}             first unit's leftmost input pixel, left_0 = 0
    start_l = left_l + (r_l - 1) / 2               first unit's centre

Unit ``o`` of layer ``l`` then sees input pixels ``left_l + o j_l`` to ``left_l + o j_l + r_l - 1``.
Where branches meet (a residual ``add``, a channel ``cat``) the field is the union over paths: the
bounding box of the branches' boxes.

The *empirical* field asks autograd which input pixels can move one output unit; the *effective*
field (Luo, Li, Urtasun and Zemel, "Understanding the Effective Receptive Field in Deep
Convolutional Neural Networks", NeurIPS 2016, https://arxiv.org/abs/1701.04128) is the gradient
magnitude ``|d y_unit / d x|`` for the model's actual weights, averaged over random inputs.

The box is the bounding box of the empirical field. The two are equal (after clipping to the image)
when the stack leaves no holes and the unit is not cut by an intermediate border; dilations or
strides larger than the field below leave holes (the "gridding" of dilated convolutions), and a
unit that reads only an intermediate layer's zero padding, or pixels an earlier strided layer
dropped at the right/bottom border, sees fewer pixels than its box.
"""

from __future__ import annotations

import copy
import math
import operator
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from explainer._validate import check_choice, check_int, check_pair

__all__ = [
    "LayerRF",
    "UnitField",
    "ERFSummary",
    "StackVsSingle",
    "PublishedField",
    "PUBLISHED_FIELDS",
    "REFERENCE_NETWORKS",
    "receptive_field",
    "field_at",
    "clip_box",
    "empirical_receptive_field",
    "effective_receptive_field",
    "erf_summary",
    "unit_field",
    "conv_stack",
    "stack_output_sizes",
    "vgg_comparison",
    "reference_network",
]

Pair = tuple[int, int]
Box = tuple[int, int, int, int]


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class LayerRF:
    """The receptive field of the units after one layer.

    Attributes:
        name: dotted module path (``"features.3"``, ``"layer1.0.conv2"``); a module called again
            gets ``"#2"``, ``"#3"`` appended; merge ops are named after their block (``"layer1.0.add"``).
        kind: the module's class name (``"Conv2d"``), or the function for merges (``"add"``, ``"cat"``).
        size: (h, w) field size in input pixels, ``r`` in the formulas.
        jump: (h, w) input pixels between neighbouring units (the product of strides), ``j``.
        start: (y, x) input coordinate of the centre of unit (0, 0)'s field; half-integers for even
            fields, negative with padding. Pixel centres sit at integer coordinates.
        output_size: (h, w) of this layer's output when ``input_size`` was given, else None.

    Example:
        >>> layer = receptive_field(nn.Conv2d(1, 1, 3, stride=2, padding=1), (9, 9))[-1]
        >>> layer.size, layer.jump, layer.start, layer.output_size
        ((3, 3), (2, 2), (0.0, 0.0), (5, 5))
        >>> layer.box((1, 2))  # (y0, x0, y1, x1), inclusive: r_0 + 2 * (o * j - p) ...
        (1, 3, 3, 5)
    """

    name: str
    kind: str
    size: Pair
    jump: Pair
    start: tuple[float, float]
    output_size: Pair | None = None

    def box(self, position: Sequence[int] = (0, 0)) -> Box:
        """``(y0, x0, y1, x1)`` (inclusive, unclipped) input pixels seen by unit ``position``."""
        oy, ox = position
        y0 = int(round(self.start[0] - (self.size[0] - 1) / 2)) + oy * self.jump[0]
        x0 = int(round(self.start[1] - (self.size[1] - 1) / 2)) + ox * self.jump[1]
        return y0, x0, y0 + self.size[0] - 1, x0 + self.size[1] - 1

    def centre(self, position: Sequence[int] = (0, 0)) -> tuple[float, float]:
        """(y, x) input coordinate of the centre of unit ``position``'s field."""
        return self.start[0] + position[0] * self.jump[0], self.start[1] + position[1] * self.jump[1]

    def unit_at(self, point: Sequence[float]) -> Pair:
        """The unit whose field centre is nearest to input point (y, x), clamped to the output."""
        if self.output_size is None:
            raise ValueError("unit_at needs output_size: call receptive_field(model, input_size)")
        units = []
        for axis in range(2):
            o = round((float(point[axis]) - self.start[axis]) / self.jump[axis])
            units.append(min(max(o, 0), self.output_size[axis] - 1))
        return units[0], units[1]


@dataclass(frozen=True)
class ERFSummary:
    """Moments of an effective receptive field (a map that sums to 1).

    Attributes:
        mean: (y, x) centre of mass.
        std: (y, x) standard deviation in pixels along each axis.
        pixels: number of pixels with any gradient at all (the empirical field's area).
        core: fewest pixels holding ``mass`` of the total (the ERF's practical area).
        mass: the fraction used for ``core``.
    """

    mean: tuple[float, float]
    std: tuple[float, float]
    pixels: int
    core: int
    mass: float


@dataclass(frozen=True)
class UnitField:
    """Everything known about one output unit's field, for one picture.

    Attributes:
        layers: the per-layer records of :func:`receptive_field` (the last one is the output).
        position: (y, x) of the unit in the output grid.
        box: (y0, x0, y1, x1) analytic box, inclusive, unclipped (may leave the image).
        clipped: the same box clipped to the image, or None when it misses the image.
        mask: (H, W) bool, pixels that can influence the unit (:func:`empirical_receptive_field`).
        erf: (H, W) float, the effective field (:func:`effective_receptive_field`), sums to 1.
        summary: :func:`erf_summary` of ``erf``.
    """

    layers: tuple[LayerRF, ...]
    position: Pair
    box: Box
    clipped: Box | None
    mask: torch.Tensor
    erf: torch.Tensor
    summary: ERFSummary


@dataclass(frozen=True)
class StackVsSingle:
    """``depth`` stacked k x k convolutions against the one big kernel with the same field (VGG).

    Attributes:
        depth, kernel_size, channels: the stack (C in, C out at every layer).
        single_kernel_size: depth (k - 1) + 1, the big kernel with the same field.
        stack_field, single_field: field sizes read with :func:`receptive_field` from real modules.
        stack_weights, single_weights: ``sum(p.numel())`` of the modules (no biases):
            depth k^2 C^2 against (depth (k - 1) + 1)^2 C^2.
        stack_nonlinearities, single_nonlinearities: ReLUs between/after layers (depth against 1).
    """

    depth: int
    kernel_size: int
    channels: int
    single_kernel_size: int
    stack_field: int
    single_field: int
    stack_weights: int
    single_weights: int
    stack_nonlinearities: int
    single_nonlinearities: int


@dataclass(frozen=True)
class PublishedField:
    """A receptive-field size from the literature and the layer it is read at.

    Attributes:
        network: a :data:`REFERENCE_NETWORKS` key ("alexnet", "vgg16", "resnet50").
        stride_on: for ResNet-50, where a downsampling bottleneck puts its stride ("3x3" or "1x1").
        layer: the module path in :func:`reference_network`'s model (``field_at(rf, layer)``).
        label: the layer's name in the papers (``"pool5"``, ``"conv5_3"``).
        size: the published field size in pixels (square).
        source: where the number is published.
    """

    network: str
    stride_on: str | None
    layer: str
    label: str
    size: int
    source: str


_ARAUJO = "Araujo, Norris & Sim, Distill 2019, Table 1"
PUBLISHED_FIELDS: tuple[PublishedField, ...] = (
    PublishedField("alexnet", None, "features.12", "pool5", 195, _ARAUJO),
    PublishedField("vgg16", None, "features.28", "conv5_3", 196, "Simonyan & Zisserman 2015 layout, summed by hand"),
    PublishedField("vgg16", None, "features.30", "pool5", 212, _ARAUJO),
    PublishedField("resnet50", "3x3", "layer4", "conv5_x", 427,
                   "torchvision resnet50 (v1.5: stride on the 3x3), summed by hand"),
    PublishedField("resnet50", "1x1", "layer4", "conv5_x", 483, _ARAUJO + " (v1: stride on the first 1x1)"),
)

REFERENCE_NETWORKS: tuple[str, ...] = ("alexnet", "vgg16", "resnet50")


# --------------------------------------------------------------------------- analytic field
@dataclass(frozen=True)
class _Geom:
    size: Pair
    jump: Pair
    left: Pair
    extent: Pair | None


_POINTWISE_MODULES: tuple[type[nn.Module], ...] = (
    nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softplus,
    nn.Dropout, nn.Dropout2d, nn.AlphaDropout, nn.BatchNorm2d, nn.LocalResponseNorm,
)
_MERGE_FUNCTIONS = {operator.add: "add", operator.iadd: "add", operator.mul: "mul", operator.imul: "mul",
                    torch.add: "add", torch.mul: "mul", torch.cat: "cat", torch.concat: "cat"}
_POINTWISE_FUNCTIONS = {F.relu: "relu", F.relu_: "relu", F.relu6: "relu6", F.leaky_relu: "leaky_relu",
                        F.gelu: "gelu", F.silu: "silu", F.elu: "elu", F.hardswish: "hardswish",
                        F.dropout: "dropout", torch.relu: "relu", torch.relu_: "relu", torch.sigmoid: "sigmoid",
                        torch.tanh: "tanh"}
_MERGE_METHODS = {"add", "add_", "mul", "mul_"}
_POINTWISE_METHODS = {"relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "contiguous", "clone"}


def receptive_field(model: nn.Module, input_size: int | Sequence[int] | None = None) -> list[LayerRF]:
    """Analytic receptive field after every layer of ``model``, in order.

    Reads real modules: ``Conv2d`` (any kernel, stride, padding incl. ``"same"``, dilation,
    rectangular too; zero padding only), ``MaxPool2d``/``AvgPool2d`` (incl. ``ceil_mode``),
    zero/constant padding layers, activations, ``BatchNorm2d`` (inference), dropout, ``Identity``,
    nested ``Sequential``s, and any model torch.fx can trace whose branches meet in ``add``, ``mul``
    or a channel ``cat`` (residual blocks). Elementwise layers get records too (same field).

    Args:
        model: the network (weights are not read).
        input_size: (H, W) or an int; when given, every record carries its ``output_size`` and
            an input too small for the model raises.

    Returns:
        One :class:`LayerRF` per layer; ``[-1]`` is the model's output.

    Raises:
        TypeError: ``model`` is not a module, or contains a layer this reader cannot follow
            (the message names it: e.g. ``Linear``, ``AdaptiveAvgPool2d``, ``Upsample``).
        ValueError: ``input_size`` < 1, or a layer's output would be empty.

    Example (three 3x3 convolutions see 1 + 3 * 2 = 7 pixels, like one 7x7):
        >>> stack = nn.Sequential(*[nn.Conv2d(1, 1, 3) for _ in range(3)])
        >>> [layer.size for layer in receptive_field(stack)]
        [(3, 3), (5, 5), (7, 7)]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    extent = None if input_size is None else check_pair("input_size", input_size, minimum=1)
    records: list[LayerRF] = []
    _walk(model, "", _Geom((1, 1), (1, 1), (0, 0), extent), records, {})
    if not records:
        raise TypeError(f"model {type(model).__name__} has no layers to read")
    return records


def field_at(layers: Sequence[LayerRF], name: str) -> LayerRF:
    """The record of layer ``name``, or of the last layer inside module ``name`` (its output).

    Example:
        >>> rf = receptive_field(reference_network("alexnet", device="meta"))
        >>> field_at(rf, "features.12").size  # pool5
        (195, 195)
    """
    matches = [layer for layer in layers
               if layer.name == name or layer.name.startswith(name + ".") or layer.name.startswith(name + "#")]
    if not matches:
        known = ", ".join(repr(layer.name) for layer in layers[:6])
        raise ValueError(f"name must be a layer or module of the model, got {name!r} (layers: {known}, ...)")
    return matches[-1]


def clip_box(box: Box, input_size: int | Sequence[int]) -> Box | None:
    """Clip an inclusive ``(y0, x0, y1, x1)`` box to an (H, W) image; None when they do not meet.

    Example:
        >>> clip_box((-2, 3, 4, 12), (8, 10))
        (0, 3, 4, 9)
    """
    height, width = check_pair("input_size", input_size, minimum=1)
    y0, x0, y1, x1 = max(box[0], 0), max(box[1], 0), min(box[2], height - 1), min(box[3], width - 1)
    return None if y0 > y1 or x0 > x1 else (y0, x0, y1, x1)


def _walk(module: nn.Module, name: str, geom: _Geom, out: list[LayerRF], counts: dict[str, int]) -> _Geom:
    """Fold ``geom`` through ``module``, appending records to ``out``."""
    if isinstance(module, nn.Sequential):
        for child_name, child in module.named_children():
            geom = _walk(child, f"{name}.{child_name}" if name else child_name, geom, out, counts)
        return geom
    new = _leaf_geometry(module, name, geom)
    if new is not None:
        _record(out, counts, name or type(module).__name__, type(module).__name__, new)
        return new
    if type(module).__module__.startswith("torch.nn"):
        raise TypeError(f"cannot read module {name or '<model>'!r} ({type(module).__name__}): receptive_field "
                        "follows Conv2d, MaxPool2d, AvgPool2d, padding and elementwise layers only")
    return _walk_graph(module, name, geom, out, counts)


def _record(out: list[LayerRF], counts: dict[str, int], name: str, kind: str, geom: _Geom) -> None:
    counts[name] = counts.get(name, 0) + 1
    label = name if counts[name] == 1 else f"{name}#{counts[name]}"
    start = tuple(geom.left[a] + (geom.size[a] - 1) / 2 for a in range(2))
    out.append(LayerRF(label, kind, geom.size, geom.jump, start, geom.extent))  # type: ignore[arg-type]


def _leaf_geometry(module: nn.Module, name: str, geom: _Geom) -> _Geom | None:
    """The geometry after a known leaf module, or None if ``module`` is not one."""
    if isinstance(module, _POINTWISE_MODULES):
        return geom
    if isinstance(module, nn.Conv2d):
        if module.padding_mode != "zeros":
            raise TypeError(f"cannot read module {name!r} (Conv2d with padding_mode={module.padding_mode!r}): "
                            "only zero padding keeps the field a box")
        if isinstance(module.padding, str):  # "same" pads (total // 2) before, the rest after
            pads = module._reversed_padding_repeated_twice
            padding = ((pads[2], pads[3]), (pads[0], pads[1]))
        else:
            padding = tuple((p, p) for p in module.padding)
        return _window(geom, name, module.kernel_size, module.stride, padding, module.dilation, False)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kernel = check_pair("kernel_size", module.kernel_size, minimum=1)
        stride = check_pair("stride", module.stride or kernel, minimum=1)
        pad = check_pair("padding", module.padding, minimum=0)
        dilation = check_pair("dilation", getattr(module, "dilation", 1), minimum=1)
        return _window(geom, name, kernel, stride, ((pad[0], pad[0]), (pad[1], pad[1])), dilation, module.ceil_mode)
    if isinstance(module, (nn.ZeroPad2d, nn.ConstantPad2d)):
        left, right, top, bottom = module.padding
        return _window(geom, name, (1, 1), (1, 1), ((top, bottom), (left, right)), (1, 1), False)
    return None


def _window(geom: _Geom, name: str, kernel: Sequence[int], stride: Sequence[int],
            padding: Sequence[tuple[int, int]], dilation: Sequence[int], ceil_mode: bool) -> _Geom:
    """Apply one sliding window (conv or pool) to the geometry, per axis."""
    size, jump, left, extent = [], [], [], []
    for a in range(2):
        size.append(geom.size[a] + (kernel[a] - 1) * dilation[a] * geom.jump[a])
        jump.append(geom.jump[a] * stride[a])
        left.append(geom.left[a] - padding[a][0] * geom.jump[a])
        if geom.extent is not None:
            n = _output_length(geom.extent[a], kernel[a], stride[a], padding[a], dilation[a], ceil_mode)
            if n < 1:
                raise ValueError(f"input_size is too small for the model: layer {name!r} gets a "
                                 f"{geom.extent[0]}x{geom.extent[1]} input and would produce an empty output "
                                 f"(size {n} along {'HW'[a]})")
            extent.append(n)
    return _Geom((size[0], size[1]), (jump[0], jump[1]), (left[0], left[1]),
                 (extent[0], extent[1]) if extent else None)


def _output_length(n: int, k: int, s: int, pad: tuple[int, int], d: int, ceil_mode: bool) -> int:
    """PyTorch's output length (``pooling_output_shape`` for ceil_mode: last window must start inside)."""
    span = n + pad[0] + pad[1] - d * (k - 1) - 1  # negative: the window overhangs (ceil_mode allows some)
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + pad[0]:
        out -= 1
    return max(out, 0)


def _walk_graph(module: nn.Module, name: str, geom: _Geom, out: list[LayerRF], counts: dict[str, int]) -> _Geom:
    """Follow a torch.fx trace of ``module``; branches merge as the bounding box of their fields."""
    label = name or type(module).__name__
    try:
        graph = fx.symbolic_trace(module).graph
    except Exception as exc:  # fx raises many types; the user needs the module's name
        raise TypeError(f"cannot read module {label!r} ({type(module).__name__}): torch.fx could not trace it "
                        f"({type(exc).__name__}: {exc})") from exc
    env: dict[fx.Node, _Geom | None] = {}
    inputs = 0
    for node in graph.nodes:
        if node.op == "placeholder":
            inputs += 1
            if inputs > 1 and not node.args:
                raise TypeError(f"cannot read module {label!r}: its forward takes more than one tensor input")
            env[node] = geom if inputs == 1 else None
        elif node.op == "get_attr":
            env[node] = None
        elif node.op == "call_module":
            sub_name = f"{name}.{node.target}" if name else str(node.target)
            env[node] = _walk(module.get_submodule(node.target), sub_name, _single_input(env, node, label),
                              out, counts)
        elif node.op in ("call_function", "call_method"):
            env[node] = _graph_op(node, env, name, label, out, counts)
        elif node.op == "output":
            result = node.args[0]
            if not isinstance(result, fx.Node) or env.get(result) is None:
                raise TypeError(f"cannot read module {label!r}: its output must be one tensor")
            return env[result]  # type: ignore[return-value]
    raise TypeError(f"cannot read module {label!r}: its graph has no output")


def _tensor_args(node: fx.Node, env: dict) -> list[_Geom]:
    """Geometries of the traced tensors among a node's arguments (lists flattened, for cat)."""
    found: list[_Geom] = []
    fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(env[n]) if env.get(n) is not None else None)
    return found


def _single_input(env: dict, node: fx.Node, label: str) -> _Geom:
    found = _tensor_args(node, env)
    if len(found) != 1:
        raise TypeError(f"cannot read module {label!r}: {node.target} must take exactly one traced tensor")
    return found[0]


def _graph_op(node: fx.Node, env: dict, name: str, label: str, out: list[LayerRF],
              counts: dict[str, int]) -> _Geom | None:
    """Geometry after a function or method call in a traced graph."""
    found = _tensor_args(node, env)
    if not found:
        return None  # arithmetic on constants
    if node.op == "call_method":
        kind = str(node.target)
        known = kind in _POINTWISE_METHODS or kind in _MERGE_METHODS
    else:
        kind = _MERGE_FUNCTIONS.get(node.target) or _POINTWISE_FUNCTIONS.get(node.target, "")
        known = bool(kind)
    if kind == "cat":
        dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
        known = dim in (1, -3)
    if not known:
        raise TypeError(f"cannot read {node.op} {node.target!r} (node {node.name!r}) in module {label!r}: "
                        "only add, mul, channel cat and elementwise functions are followed")
    geom = found[0] if len(found) == 1 else _union(found, node.name, label)
    stack = node.meta.get("nn_module_stack") or {}
    scope = next(reversed(stack.values()))[0] if stack else ""
    scope = ".".join(part for part in (name, scope) if part)
    _record(out, counts, f"{scope}.{kind}" if scope else kind, kind, geom)
    return geom


def _union(geoms: list[_Geom], node_name: str, label: str) -> _Geom:
    """Bounding box of several branches' fields; they must share the jump and the output size."""
    first = geoms[0]
    for other in geoms[1:]:
        if other.jump != first.jump:
            raise TypeError(f"cannot read node {node_name!r} in module {label!r}: branches with jumps "
                            f"{first.jump} and {other.jump} meet, so the field is not a box")
        if first.extent is not None and other.extent is not None and other.extent != first.extent:
            raise ValueError(f"input_size gives branches of sizes {first.extent} and {other.extent} "
                             f"at node {node_name!r} in module {label!r}")
    left = tuple(min(g.left[a] for g in geoms) for a in range(2))
    right = tuple(max(g.left[a] + g.size[a] - 1 for g in geoms) for a in range(2))
    size = (right[0] - left[0] + 1, right[1] - left[1] + 1)
    return _Geom(size, first.jump, left, first.extent)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- measured fields
def empirical_receptive_field(model: nn.Module, input_size: int | Sequence[int],
                              position: Sequence[int] | None = None, *, in_channels: int | None = None
                              ) -> torch.Tensor:
    """Input pixels that can influence output unit ``position``, found with autograd.

    The model is copied into a *connectivity twin*: every convolution's weights become the
    positive constant ``1 / fan_in`` (biases 0), elementwise layers (activations, norms, dropout)
    become ``Identity``, and max pools become average pools of the same geometry (a max sends its
    gradient to one pixel only). The twin is linear with positive weights, so no gradient can
    cancel and ``d y / d x`` is non-zero exactly where a path exists. Runs in float64 on the
    model's device; the model itself is untouched.

    Args:
        model: any model :func:`receptive_field` accepts (weights are not read).
        input_size: (H, W) or an int.
        position: (y, x) output unit; the centre ``((h - 1) // 2, (w - 1) // 2)`` when None.
        in_channels: input channels; the first ``Conv2d``'s when None (1 if there is none).

    Returns:
        (H, W) bool tensor on the model's device.

    Raises:
        TypeError, ValueError: as :func:`receptive_field`; ``position`` outside the output.

    Example:
        >>> stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, dilation=2))
        >>> empirical_receptive_field(stack, (9, 9), (0, 0))[0].int().tolist()  # 3 + 2 * 2 = 7 wide
        [1, 1, 1, 1, 1, 1, 1, 0, 0]
    """
    layers = receptive_field(model, input_size)
    oy, ox = _check_position(position, layers[-1].output_size)
    height, width = check_pair("input_size", input_size)
    channels = _in_channels(model, in_channels)
    twin = _connectivity_twin(model)
    device = _device_of(model)
    x = torch.ones(1, channels, height, width, dtype=torch.float64, device=device, requires_grad=True)
    with torch.enable_grad():
        y = twin(x)  # (1, C_out, h, w)
        (grad,) = torch.autograd.grad(y[0, :, oy, ox].sum(), x)
    return grad[0].abs().sum(0) > 0  # (H, W)


def effective_receptive_field(model: nn.Module, input_size: int | Sequence[int],
                              position: Sequence[int] | None = None, *, seed: int = 0, n_samples: int = 16,
                              in_channels: int | None = None, crop: bool = True) -> torch.Tensor:
    """The effective receptive field of Luo et al. 2016 for the model's actual weights.

    ``n_samples`` inputs are drawn from a standard normal (a ``torch.Generator`` seeded with
    ``seed``; global RNG untouched); for each, the gradient of the unit's output (summed over
    channels) with respect to the input is taken; ``|grad|`` summed over input channels and
    averaged over samples is normalised to sum 1. The model runs in eval mode (batch norm uses
    its running statistics, dropout is off) and its training flags are restored afterwards.
    Pixels outside the empirical field get exactly 0.

    Args:
        model: a model :func:`receptive_field` accepts, with real (not meta) weights.
        input_size: (H, W) or an int.
        position: (y, x) output unit; the centre when None.
        seed: seed of the random inputs.
        n_samples: number of random inputs (>= 1).
        in_channels: input channels; the first ``Conv2d``'s when None.
        crop: run the model only on the unit's box (clipped to the image, its origin moved back
            to a multiple of the jump so that every layer's grid stays aligned). Every value the
            unit depends on is computed from pixels inside the box, so the result is the same as
            on the full image (a test checks this), only faster; False runs the full image.

    Returns:
        (H, W) tensor in the model's dtype and device, non-negative, summing to 1 (all zeros
        when every gradient vanished, e.g. dead ReLUs).

    Example:
        >>> erf = effective_receptive_field(nn.Conv2d(1, 1, 3, padding=1), 5, seed=0)
        >>> round(float(erf.sum()), 5), int((erf > 0).sum())  # one 3x3 conv: 9 pixels
        (1.0, 9)
    """
    layers = receptive_field(model, input_size)
    oy, ox = _check_position(position, layers[-1].output_size)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    seed = check_int("seed", seed)
    height, width = check_pair("input_size", input_size)
    device, dtype = _device_of(model), _dtype_of(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(n_samples, _in_channels(model, in_channels), height, width, generator=generator,
                    device=device, dtype=dtype)  # (N, C, H, W)
    y0 = x0 = 0
    window = _crop_window(model, layers[-1], (height, width), (oy, ox)) if crop else None
    if window is not None:
        y0, x0, y1, x1, oy, ox = window
        x = x[:, :, y0 : y1 + 1, x0 : x1 + 1]  # (N, C, h, w)
    x.requires_grad_(True)
    with _eval_mode(model), torch.enable_grad():
        y = model(x)  # (N, C_out, h_out, w_out)
        (grad,) = torch.autograd.grad(y[:, :, oy, ox].sum(), x)
    erf = torch.zeros(height, width, dtype=dtype, device=device)
    erf[y0 : y0 + grad.shape[2], x0 : x0 + grad.shape[3]] = grad.abs().sum(1).mean(0)  # (h, w)
    total = erf.sum()
    return erf / total if total > 0 else erf


def _crop_window(model: nn.Module, last: LayerRF, size: Pair, unit: Pair) -> tuple[int, ...] | None:
    """``(y0, x0, y1, x1, oy, ox)``: the unit's box clipped to the image, its origin moved back to a
    multiple of the jump (so every layer's grid stays aligned), and the unit's index in that window;
    None when there is nothing to crop to (the unit only reads padding somewhere below)."""
    box = clip_box(last.box(unit), size)
    if box is None:
        return None
    jy, jx = last.jump
    y0, x0 = box[0] - box[0] % jy, box[1] - box[1] % jx
    oy, ox = unit[0] - y0 // jy, unit[1] - x0 // jx
    try:
        out = receptive_field(model, (box[2] - y0 + 1, box[3] - x0 + 1))[-1].output_size
    except ValueError:
        return None
    if out is None or not (0 <= oy < out[0] and 0 <= ox < out[1]):
        return None
    return y0, x0, box[2], box[3], oy, ox


def erf_summary(erf: torch.Tensor, mass: float = 0.95) -> ERFSummary:
    """Centre, spread and area of an effective receptive field.

    Args:
        erf: (H, W) non-negative map (normalised here, so any positive scale works).
        mass: fraction of the total for ``core`` (0 < mass <= 1).

    Example (a uniform 3-pixel line has variance (3^2 - 1) / 12 = 2/3):
        >>> s = erf_summary(torch.tensor([[0.0, 1.0, 1.0, 1.0]]))
        >>> round(s.mean[1], 4), round(s.std[1] ** 2, 4), s.pixels, s.core
        (2.0, 0.6667, 3, 3)
    """
    if not isinstance(erf, torch.Tensor) or erf.ndim != 2:
        raise TypeError(f"erf must be a 2-D torch.Tensor (H, W), got {getattr(erf, 'shape', type(erf).__name__)}")
    if not 0 < mass <= 1:
        raise ValueError(f"mass must be in (0, 1], got {mass}")
    if (erf < 0).any() or erf.sum() <= 0:
        raise ValueError("erf must be non-negative with a positive sum")
    p = (erf / erf.sum()).double()  # (H, W)
    ys = torch.arange(p.shape[0], dtype=p.dtype, device=p.device)
    xs = torch.arange(p.shape[1], dtype=p.dtype, device=p.device)
    py, px = p.sum(1), p.sum(0)  # marginals (H,), (W,)
    my, mx = float((py * ys).sum()), float((px * xs).sum())
    sy, sx = float((py * (ys - my) ** 2).sum()) ** 0.5, float((px * (xs - mx) ** 2).sum()) ** 0.5
    ranked = p.flatten().sort(descending=True).values.cumsum(0)
    core = int(torch.searchsorted(ranked, torch.tensor(mass * float(ranked[-1]) - 1e-12, dtype=p.dtype))) + 1
    return ERFSummary((my, mx), (sy, sx), int((p > 0).sum()), min(core, int((p > 0).sum())), float(mass))


def unit_field(model: nn.Module, input_size: int | Sequence[int], position: Sequence[int] | None = None, *,
               seed: int = 0, n_samples: int = 16) -> UnitField:
    """Analytic box, empirical mask and effective field of one output unit, together.

    Example:
        >>> uf = unit_field(conv_stack(2), 16, (3, 4))
        >>> uf.box, int(uf.mask.sum())  # two 3x3 convs: a 5x5 box around pixel (3, 4)
        ((1, 2, 5, 6), 25)
    """
    layers = receptive_field(model, input_size)
    position = _check_position(position, layers[-1].output_size)
    box = layers[-1].box(position)
    mask = empirical_receptive_field(model, input_size, position)
    erf = effective_receptive_field(model, input_size, position, seed=seed, n_samples=n_samples)
    summary = erf_summary(erf) if erf.sum() > 0 else ERFSummary((math.nan, math.nan), (math.nan, math.nan), 0, 0, 0.95)
    return UnitField(tuple(layers), position, box, clip_box(box, input_size), mask, erf, summary)


def _check_position(position: Sequence[int] | None, output_size: Pair | None) -> Pair:
    assert output_size is not None
    if position is None:
        return (output_size[0] - 1) // 2, (output_size[1] - 1) // 2
    oy, ox = check_pair("position", position, minimum=0)
    if oy >= output_size[0] or ox >= output_size[1]:
        raise ValueError(f"position must lie inside the output grid {output_size[0]}x{output_size[1]} "
                         f"(0 <= y < {output_size[0]}, 0 <= x < {output_size[1]}), got {(oy, ox)}")
    return oy, ox


def _in_channels(model: nn.Module, in_channels: int | None) -> int:
    if in_channels is not None:
        return check_int("in_channels", in_channels, minimum=1)
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return conv.in_channels if conv is not None else 1


def _device_of(model: nn.Module) -> torch.device:
    tensor = next(iter(model.parameters()), None)
    if tensor is None:
        tensor = next(iter(model.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def _dtype_of(model: nn.Module) -> torch.dtype:
    tensor = next((p for p in model.parameters() if p.is_floating_point()), None)
    return tensor.dtype if tensor is not None else torch.get_default_dtype()


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode, then restore each one's own flag."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, flag in flags:
            module.training = flag


class _DilatedSumPool(nn.Module):
    """A positive linear stand-in for a dilated ``MaxPool2d`` (AvgPool2d has no dilation)."""

    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw) = _pair(self.pool.kernel_size), _pair(self.pool.stride or self.pool.kernel_size)
        (ph, pw), (dh, dw) = _pair(self.pool.padding), _pair(self.pool.dilation)
        with torch.no_grad():  # PyTorch's own output size, ceil_mode included
            target = self.pool(x.detach()).shape[-2:]
        padded = F.pad(x, (pw, pw + dw * (kw - 1) + sw, ph, ph + dh * (kh - 1) + sh))
        weight = torch.ones(x.shape[1], 1, kh, kw, dtype=x.dtype, device=x.device) / (kh * kw)
        y = F.conv2d(padded, weight, stride=(sh, sw), dilation=(dh, dw), groups=x.shape[1])
        return y[..., : target[0], : target[1]]


def _connectivity_twin(model: nn.Module) -> nn.Module:
    """A float64 twin of ``model`` that is linear with positive weights (see empirical_receptive_field).

    Built as a structural copy (``copy.copy`` per module, fresh parameter tensors), which is
    several times cheaper than ``copy.deepcopy`` and never touches the model's own tensors.
    """
    if isinstance(model, _POINTWISE_MODULES):
        return nn.Identity()
    if isinstance(model, nn.MaxPool2d):
        return _max_pool_stand_in(model)
    twin = copy.copy(model)
    twin._modules = {name: None if child is None else _connectivity_twin(child)
                     for name, child in model._modules.items()}
    twin._parameters = {name: None if p is None else nn.Parameter(_positive(model, name, p), requires_grad=False)
                        for name, p in model._parameters.items()}
    twin._buffers = {name: None if b is None else b.detach().to(torch.float64) if b.is_floating_point() else b
                     for name, b in model._buffers.items()}
    twin.training = False
    return twin


def _positive(module: nn.Module, name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Convolution weights become 1 / fan_in and biases 0, in float64; other parameters are kept."""
    if isinstance(module, nn.Conv2d) and name == "weight":
        return torch.full(tensor.shape, 1.0 / tensor[0].numel(), dtype=torch.float64, device=tensor.device)
    if isinstance(module, nn.Conv2d) and name == "bias":
        return torch.zeros(tensor.shape, dtype=torch.float64, device=tensor.device)
    return tensor.detach().to(torch.float64)


def _max_pool_stand_in(pool: nn.MaxPool2d) -> nn.Module:
    if check_pair("dilation", pool.dilation) != (1, 1):
        return _DilatedSumPool(pool)
    return nn.AvgPool2d(pool.kernel_size, pool.stride, pool.padding, ceil_mode=pool.ceil_mode)


# --------------------------------------------------------------------------- model builders
def conv_stack(depth: int, kernel_size: int | Sequence[int] = 3, stride: int | Sequence[int] = 1,
               dilation: int | Sequence[int] = 1, *, padding: int | Sequence[int] | None = None,
               pool_every: int = 0, pool: str = "max", channels: int = 8, in_channels: int = 3,
               activation: str = "relu", init: str = "kaiming", seed: int = 0) -> nn.Sequential:
    """A plain stack of convolutions (+ ReLU), with an optional 2x2 pool every few layers.

    Layers are named ``conv1, relu1, [pool1], conv2, ...``. Built on the meta device and then
    initialised with a seeded ``torch.Generator``, so the global RNG is never touched.

    Args:
        depth: number of convolutions (>= 1).
        kernel_size, stride, dilation: of every convolution (int or (h, w)).
        padding: of every convolution; None for ``dilation * (k - 1) // 2`` ("same" for odd k, s=1).
        pool_every: put a 2x2 pool (stride 2) after every ``pool_every``-th conv; 0 for none.
        pool: "max" or "avg".
        channels: output channels of every convolution; in_channels: of the first.
        activation: "relu" or "none".
        init: "kaiming" (He-normal weights, zero bias) or "uniform" (every weight 1 / fan_in, zero
            bias: with ``activation="none"`` the effective field is an exact repeated box blur).
        seed: seed of the weights.

    Example:
        >>> [name for name, _ in conv_stack(2, pool_every=2).named_children()]
        ['conv1', 'relu1', 'conv2', 'relu2', 'pool2']
    """
    depth = check_int("depth", depth, minimum=1)
    kernel, strides = check_pair("kernel_size", kernel_size, minimum=1), check_pair("stride", stride, minimum=1)
    dil = check_pair("dilation", dilation, minimum=1)
    pad = (tuple(d * (k - 1) // 2 for k, d in zip(kernel, dil)) if padding is None
           else check_pair("padding", padding, minimum=0))
    pool_every = check_int("pool_every", pool_every, minimum=0)
    check_choice("pool", pool, ("max", "avg"))
    check_choice("activation", activation, ("relu", "none"))
    check_choice("init", init, ("kaiming", "uniform"))
    channels, in_channels = check_int("channels", channels, minimum=1), check_int("in_channels", in_channels, minimum=1)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i in range(1, depth + 1):
        layers[f"conv{i}"] = nn.Conv2d(in_channels if i == 1 else channels, channels, kernel, strides, pad, dil,
                                       device="meta")
        if activation == "relu":
            layers[f"relu{i}"] = nn.ReLU()
        if pool_every and i % pool_every == 0:
            layers[f"pool{i}"] = nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2)
    stack = nn.Sequential(layers).to_empty(device="cpu")
    _initialise(stack, init, torch.Generator().manual_seed(check_int("seed", seed)))
    return stack


def stack_output_sizes(input_size: int, depth: int, kernel_size: int = 3, stride: int = 1, dilation: int = 1, *,
                       padding: int | None = None, pool_every: int = 0) -> list[int]:
    """Side length after each conv (and its pool) of a square :func:`conv_stack`, without building it.

    Sizes that would be empty are 0 (and stay 0), so a caller can find the deepest valid stack.

    Example ("same" stride-2 convs halve 64 down to 1 and stay there; 2x2 pools then empty it):
        >>> stack_output_sizes(64, 8, stride=2)
        [32, 16, 8, 4, 2, 1, 1, 1]
        >>> stack_output_sizes(64, 8, stride=2, pool_every=2)
        [32, 8, 4, 1, 1, 0, 0, 0]
    """
    n = check_int("input_size", input_size, minimum=1)
    depth, k = check_int("depth", depth, minimum=1), check_int("kernel_size", kernel_size, minimum=1)
    s, d = check_int("stride", stride, minimum=1), check_int("dilation", dilation, minimum=1)
    p = d * (k - 1) // 2 if padding is None else check_int("padding", padding, minimum=0)
    pool_every = check_int("pool_every", pool_every, minimum=0)
    sizes = []
    for i in range(1, depth + 1):
        n = _output_length(n, k, s, (p, p), d, False) if n > 0 else 0
        if pool_every and i % pool_every == 0 and n > 0:
            n = _output_length(n, 2, 2, (0, 0), 1, False)
        sizes.append(n)
    return sizes


def _initialise(model: nn.Module, init: str, generator: torch.Generator) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                if init == "uniform":
                    module.weight.fill_(1.0 / module.weight[0].numel())
                else:
                    nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()


def vgg_comparison(channels: int = 64, depth: int = 3, kernel_size: int = 3) -> StackVsSingle:
    """``depth`` stacked k x k convolutions against one kernel with the same field (Simonyan & Zisserman 2015).

    Both are built as real (meta-device, bias-free) ``Conv2d`` modules with ``channels`` in and
    out; fields come from :func:`receptive_field`, counts from ``sum(p.numel())``.

    Example (three 3x3 = one 7x7: 27 C^2 against 49 C^2 weights):
        >>> v = vgg_comparison(channels=10)
        >>> v.single_kernel_size, v.stack_field, v.single_field, v.stack_weights, v.single_weights
        (7, 7, 7, 2700, 4900)
    """
    channels = check_int("channels", channels, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    big = depth * (kernel_size - 1) + 1
    stack = nn.Sequential(*[nn.Conv2d(channels, channels, kernel_size, bias=False, device="meta")
                            for _ in range(depth)])
    single = nn.Conv2d(channels, channels, big, bias=False, device="meta")
    return StackVsSingle(
        depth=depth, kernel_size=kernel_size, channels=channels, single_kernel_size=big,
        stack_field=receptive_field(stack)[-1].size[0], single_field=receptive_field(single)[-1].size[0],
        stack_weights=sum(p.numel() for p in stack.parameters()),
        single_weights=sum(p.numel() for p in single.parameters()),
        stack_nonlinearities=depth, single_nonlinearities=1,
    )


def reference_network(name: str, *, stride_on: str | None = None, device: str | torch.device | None = None
                      ) -> nn.Module:
    """The convolutional trunk of AlexNet, VGG-16 or ResNet-50 with torchvision's layer geometry.

    Rebuilt by hand with random weights (torchvision is not needed; nothing is downloaded). The
    classifier heads are left out: their fully connected layers see the whole image. Module paths
    match torchvision (``features.12`` is AlexNet's pool5, ``layer4`` ResNet's last stage), so
    :data:`PUBLISHED_FIELDS` name where each published size is read.

    Args:
        name: "alexnet", "vgg16" or "resnet50".
        stride_on: ResNet-50 only: "3x3" (torchvision, "v1.5": a downsampling bottleneck strides
            in its 3x3 conv, the default) or "1x1" (the original paper and Caffe model: it strides
            in its first 1x1 conv, so the 3x3 after it runs at the coarser jump).
        device: where to build it; ``"meta"`` builds instantly without memory (geometry only).

    Example:
        >>> rf = receptive_field(reference_network("resnet50", stride_on="1x1", device="meta"))
        >>> field_at(rf, "layer4").size
        (483, 483)
    """
    check_choice("name", name, REFERENCE_NETWORKS)
    if name != "resnet50" and stride_on is not None:
        raise ValueError(f"stride_on only applies to name='resnet50', got stride_on={stride_on!r} for {name!r}")
    if name == "alexnet":
        return nn.Sequential(OrderedDict(features=_alexnet_features(device)))
    if name == "vgg16":
        return nn.Sequential(OrderedDict(features=_vgg16_features(device)))
    return _ResNet50Trunk(check_choice("stride_on", stride_on or "3x3", ("3x3", "1x1")), device)


def _alexnet_features(device: Any) -> nn.Sequential:
    kw = {"device": device}
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2, **kw), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2, **kw), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1, **kw), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, **kw), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1, **kw), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
    )


def _vgg16_features(device: Any) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for width in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if width == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(width), 3, padding=1, device=device), nn.ReLU(inplace=True)]
            channels = int(width)
    return nn.Sequential(*layers)


class _Bottleneck(nn.Module):
    """torchvision's Bottleneck (1x1 -> 3x3 -> 1x1, expansion 4) with the stride on the 3x3 or first 1x1."""

    def __init__(self, in_channels: int, width: int, stride: int, stride_on: str, device: Any) -> None:
        super().__init__()
        s1, s3 = (stride, 1) if stride_on == "1x1" else (1, stride)
        kw = {"bias": False, "device": device}
        self.conv1, self.bn1 = nn.Conv2d(in_channels, width, 1, stride=s1, **kw), nn.BatchNorm2d(width, device=device)
        self.conv2 = nn.Conv2d(width, width, 3, stride=s3, padding=1, **kw)
        self.bn2 = nn.BatchNorm2d(width, device=device)
        self.conv3, self.bn3 = nn.Conv2d(width, width * 4, 1, **kw), nn.BatchNorm2d(width * 4, device=device)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != width * 4:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, width * 4, 1, stride=stride, **kw),
                                            nn.BatchNorm2d(width * 4, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class _ResNet50Trunk(nn.Module):
    """ResNet-50 up to ``layer4`` (torchvision names: conv1, bn1, relu, maxpool, layer1..layer4)."""

    def __init__(self, stride_on: str, device: Any) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False, device=device)
        self.bn1, self.relu = nn.BatchNorm2d(64, device=device), nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = 64
        for index, (width, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), 1):
            stage = [_Bottleneck(channels, width, stride, stride_on, device)]
            stage += [_Bottleneck(width * 4, width, 1, stride_on, device) for _ in range(blocks - 1)]
            setattr(self, f"layer{index}", nn.Sequential(*stage))
            channels = width * 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))
