"""The analytic (theoretical) receptive field, read layer by layer from a model's real modules.

Per spatial dimension, with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` of layer
``l`` (Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
Distill 2019, https://distill.pub/2019/computing-receptive-fields/)::

    r_l     = r_{l-1} + (k_l - 1) d_l j_{l-1}      field size, r_0 = 1
    j_l     = j_{l-1} s_l                          jump (input pixels between neighbouring units), j_0 = 1
    left_l  = left_{l-1} - p_l j_{l-1}             first unit's leftmost input pixel, left_0 = 0
    start_l = left_l + (r_l - 1) / 2               first unit's centre

Unit ``o`` of layer ``l`` then sees input pixels ``left_l + o j_l`` to ``left_l + o j_l + r_l - 1``.
:func:`receptive_field` folds these recurrences through nested ``Sequential``s and, for any other
model, through its torch.fx graph; where branches meet (a residual ``add``, a channel ``cat``) the
field is the union over paths: the bounding box of the branches' boxes.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from explainer._validate import check_pair

__all__ = ["LayerRF", "receptive_field", "field_at", "clip_box"]

Pair = tuple[int, int]
Box = tuple[int, int, int, int]


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
        >>> from explainer.receptive_fields import reference_network
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
