"""Convolution arithmetic: output sizes, parameter counts and multiply-adds, computed as PyTorch does.

Every formula here is checked in ``tests/test_conv.py`` against PyTorch's own layers
(``nn.Conv2d`` / ``nn.ConvTranspose2d`` forward shapes, ``sum(p.numel())`` and
``torch.utils.flop_counter``). The geometry follows Dumoulin & Visin, "A guide to convolution
arithmetic for deep learning" (https://arxiv.org/abs/1603.07285); the ERFNet blocks follow
Romera et al., "ERFNet: Efficient Residual Factorized ConvNet for Real-time Semantic
Segmentation" (IEEE T-ITS 2017, https://github.com/Eromera/erfnet_pytorch).

The output sizes live one layer lower, in :mod:`explainer.sizes`, because
:mod:`explainer.sampling` needs them too; they are re-exported here on purpose, so that all of the
convolution arithmetic of lesson 01 is imported from one place.

Letters used throughout: ``n`` input size, ``k`` kernel size, ``s`` stride, ``p`` padding,
``d`` dilation, ``o`` output size, ``w`` block width (channels).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_choice, check_int, check_pair
from explainer.sampling import TransposedGeometry, sampling_positions, transposed_geometry
from explainer.sizes import conv_output_size, effective_kernel_size, transposed_output_size

__all__ = [
    "conv_output_size",
    "transposed_output_size",
    "effective_kernel_size",
    "conv_params",
    "conv_flops",
    "conv_transpose_flops",
    "ERFNET_BLOCKS",
    "NonBottleneck",
    "Bottleneck",
    "NonBottleneck1D",
    "erfnet_block",
    "erfnet_block_params",
    "LayerCost",
    "layer_costs",
    "ConvArithmetic",
    "conv_arithmetic",
]

ERFNET_BLOCKS = ("non_bottleneck", "bottleneck", "non_bottleneck_1d")

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


# --------------------------------------------------------------------------- ERFNet blocks
def _bn(channels: int, batch_norm: bool) -> nn.Module:
    # eps=1e-3 as in the ERFNet reference code; BN has 2 parameters per channel (weight, bias).
    return nn.BatchNorm2d(channels, eps=1e-3) if batch_norm else nn.Identity()


class NonBottleneck(nn.Module):
    """ResNet's basic block as used in ERFNet's comparison: two 3x3 convolutions ``w -> w``, residual add.

    Args:
        channels: block width ``w``.
        batch_norm: add a BatchNorm after each convolution (2w parameters each).

    Shapes: ``(B, w, H, W) -> (B, w, H, W)``.
    """

    def __init__(self, channels: int, batch_norm: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = _bn(channels, batch_norm)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = _bn(channels, batch_norm)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + x)


class Bottleneck(nn.Module):
    """ResNet's bottleneck block: 1x1 ``w -> w/4``, 3x3 ``w/4 -> w/4``, 1x1 ``w/4 -> w``, residual add.

    Args:
        channels: block width ``w`` (divisible by 4).
        batch_norm: add a BatchNorm after each convolution.

    Shapes: ``(B, w, H, W) -> (B, w, H, W)``.
    """

    def __init__(self, channels: int, batch_norm: bool = False) -> None:
        super().__init__()
        inner = channels // 4
        self.conv1 = nn.Conv2d(channels, inner, 1)
        self.bn1 = _bn(inner, batch_norm)
        self.conv2 = nn.Conv2d(inner, inner, 3, padding=1)
        self.bn2 = _bn(inner, batch_norm)
        self.conv3 = nn.Conv2d(inner, channels, 1)
        self.bn3 = _bn(channels, batch_norm)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + x)


class NonBottleneck1D(nn.Module):
    """ERFNet's factorised block: 3x1, 1x3, 3x1, 1x3 convolutions ``w -> w``, residual add.

    As in the reference code (``non_bottleneck_1d``), BatchNorm follows the 2nd and 4th
    convolutions only, and the second pair may be dilated.

    Args:
        channels: block width ``w``.
        batch_norm: add the two BatchNorm layers.
        dilation: dilation of the second 3x1/1x3 pair (no effect on the parameter count).

    Shapes: ``(B, w, H, W) -> (B, w, H, W)``.
    """

    def __init__(self, channels: int, batch_norm: bool = False, dilation: int = 1) -> None:
        super().__init__()
        self.conv3x1_1 = nn.Conv2d(channels, channels, (3, 1), padding=(1, 0))
        self.conv1x3_1 = nn.Conv2d(channels, channels, (1, 3), padding=(0, 1))
        self.bn1 = _bn(channels, batch_norm)
        self.conv3x1_2 = nn.Conv2d(channels, channels, (3, 1), padding=(dilation, 0), dilation=(dilation, 1))
        self.conv1x3_2 = nn.Conv2d(channels, channels, (1, 3), padding=(0, dilation), dilation=(1, dilation))
        self.bn2 = _bn(channels, batch_norm)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.conv3x1_1(x))
        y = torch.relu(self.bn1(self.conv1x3_1(y)))
        y = torch.relu(self.conv3x1_2(y))
        y = self.bn2(self.conv1x3_2(y))
        return torch.relu(y + x)


def _check_block(kind: str, width: int) -> tuple[str, int]:
    kind = check_choice("kind", kind, ERFNET_BLOCKS)
    width = check_int("width", width, minimum=1)
    if kind == "bottleneck" and width % 4:
        raise ValueError(f"width must be divisible by 4 for kind='bottleneck' (inner width w/4), got {width}")
    return kind, width


def erfnet_block(kind: str, width: int, batch_norm: bool = False, dilation: int = 1) -> nn.Module:
    """Build one of the three residual blocks compared in the ERFNet paper.

    Args:
        kind: ``"non_bottleneck"``, ``"bottleneck"`` or ``"non_bottleneck_1d"``.
        width: channels ``w`` in and out (divisible by 4 for the bottleneck).
        batch_norm: include the BatchNorm layers.
        dilation: dilation of the second factorised pair (``non_bottleneck_1d`` only).

    Example:
        >>> sum(p.numel() for p in erfnet_block("non_bottleneck_1d", 64).parameters())  # 12*64**2 + 4*64
        49408
    """
    kind, width = _check_block(kind, width)
    dilation = check_int("dilation", dilation, minimum=1)
    if kind == "non_bottleneck":
        return NonBottleneck(width, batch_norm)
    if kind == "bottleneck":
        return Bottleneck(width, batch_norm)
    return NonBottleneck1D(width, batch_norm, dilation)


def erfnet_block_params(kind: str, width: int, batch_norm: bool = False) -> int:
    """Parameter count of an ERFNet-paper block from its closed form (convolutions with bias).

    - non-bottleneck: ``2 (9w + 1) w = 18w^2 + 2w``
    - bottleneck: ``(w+1) w/4 + (9w/4+1) w/4 + (w/4+1) w = 17w^2/16 + 3w/2`` (``= 17w_0^2 + 6w_0``
      with ``w = 4 w_0``)
    - non-bottleneck-1D: ``4 (3w + 1) w = 12w^2 + 4w``

    BatchNorm adds 2 parameters per channel: ``4w``, ``3w`` (``w/4 + w/4 + w`` channels) and ``4w``.

    Example:
        >>> [erfnet_block_params(k, 64) for k in ERFNET_BLOCKS]  # 18*4096+128, 17*256+96, 12*4096+256
        [73856, 4448, 49408]
    """
    kind, width = _check_block(kind, width)
    w = width
    if kind == "non_bottleneck":
        return 18 * w * w + 2 * w + (4 * w if batch_norm else 0)
    if kind == "bottleneck":
        w0 = w // 4
        return 17 * w0 * w0 + 6 * w0 + (3 * w if batch_norm else 0)
    return 12 * w * w + 4 * w + (4 * w if batch_norm else 0)


# --------------------------------------------------------------------------- per-layer costs
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


def _multiply_adds(module: nn.Module, x: Tensor, y: Tensor) -> int:
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
                                   _multiply_adds(module, x, output)))
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
