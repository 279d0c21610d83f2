"""Networks whose receptive fields the lesson measures: plain conv stacks, VGG's stacked small
kernels, and the convolutional trunks of AlexNet, VGG-16 and ResNet-50 with their published fields.

* :func:`conv_stack` builds a plain, seeded stack of convolutions (and pools) to explore;
  :func:`stack_output_sizes` tells, without building it, how deep such a stack can go.
* :func:`vgg_comparison`: ``n`` stacked ``k x k`` convolutions see as far as one
  ``(n(k-1)+1)^2`` kernel with fewer weights and more nonlinearities (Simonyan & Zisserman,
  "Very Deep Convolutional Networks for Large-Scale Image Recognition", 2015,
  https://arxiv.org/abs/1409.1556).
* :func:`reference_network` rebuilds the trunks of AlexNet, VGG-16 and ResNet-50 (He et al. 2016,
  https://arxiv.org/abs/1512.03385) with torchvision's layer geometry and module paths, and
  :data:`PUBLISHED_FIELDS` names where each published field size is read. Araujo, Norris and Sim
  (Distill 2019, https://distill.pub/2019/computing-receptive-fields/) computed theirs on the
  TF-slim models (https://github.com/google-research/receptive_field): ResNet-50's 483 is TF-slim's
  ``resnet_v1_50``, which downsamples in the 3x3 conv of the *last* bottleneck of a stage.
  torchvision's ResNet-50 (stride on the 3x3 of the *first* bottleneck) has 427. The original Caffe
  model (stride on the first 1x1 of the first bottleneck) has 483 too: its stride sits just after
  TF-slim's, with only 1x1 convolutions in between, which add nothing to the field.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from explainer._validate import check_choice, check_int, check_pair
from explainer.receptive_fields.analytic import _output_length, receptive_field

__all__ = [
    "StackVsSingle",
    "PublishedField",
    "PUBLISHED_FIELDS",
    "REFERENCE_NETWORKS",
    "conv_stack",
    "stack_output_sizes",
    "vgg_comparison",
    "reference_network",
    "Bottleneck",
]


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
        stride_on: for ResNet-50, which conv of a downsampling bottleneck strides ("3x3" or "1x1").
        layer: the module path in :func:`reference_network`'s model (``field_at(rf, layer)``).
        label: the layer's name in the source (``"pool5"``, ``"conv5_3"``, ``"block4"``).
        size: the published field size in pixels (square).
        source: where the number is published (or "summed by hand" where nobody printed it).
        stride_block: for ResNet-50, which bottleneck of a stage downsamples ("first" or "last").
    """

    network: str
    stride_on: str | None
    layer: str
    label: str
    size: int
    source: str
    stride_block: str | None = None


_ARAUJO = "Araujo, Norris & Sim, Distill 2019 (TF-slim models)"
PUBLISHED_FIELDS: tuple[PublishedField, ...] = (
    PublishedField("alexnet", None, "features.12", "pool5", 195, _ARAUJO),
    PublishedField("vgg16", None, "features.28", "conv5_3", 196, "Simonyan & Zisserman 2015 layout, summed by hand"),
    PublishedField("vgg16", None, "features.30", "pool5", 212, _ARAUJO),
    PublishedField("resnet50", "3x3", "layer4", "conv5_x", 427,
                   "torchvision resnet50 (v1.5: stride on the 3x3 of the first block), summed by hand", "first"),
    PublishedField("resnet50", "3x3", "layer3", "block3", 291,
                   "google-research/receptive_field table, TF-slim resnet_v1_50", "last"),
    PublishedField("resnet50", "3x3", "layer4", "block4", 483,
                   _ARAUJO + ": resnet_v1_50 strides on the 3x3 of a stage's last block", "last"),
    PublishedField("resnet50", "1x1", "layer4", "conv5_x", 483,
                   "He et al. 2016 Caffe model (stride on the first 1x1 of the first block), summed by hand", "first"),
)

REFERENCE_NETWORKS: tuple[str, ...] = ("alexnet", "vgg16", "resnet50")


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


def reference_network(name: str, *, stride_on: str | None = None, stride_block: str | None = None,
                      device: str | torch.device | None = None) -> nn.Module:
    """The convolutional trunk of AlexNet, VGG-16 or ResNet-50 with torchvision's layer geometry.

    Rebuilt by hand with random weights (torchvision is not needed; nothing is downloaded). The
    classifier heads are left out: their fully connected layers see the whole image. Module paths
    match torchvision (``features.12`` is AlexNet's pool5, ``layer4`` ResNet's last stage), so
    :data:`PUBLISHED_FIELDS` name where each published size is read.

    Args:
        name: "alexnet", "vgg16" or "resnet50".
        stride_on: ResNet-50 only: which conv of a downsampling bottleneck strides: "3x3" (the
            default; torchvision and TF-slim) or "1x1" (the original Caffe model: its first 1x1
            strides, so the 3x3 after it already runs at the coarser jump).
        stride_block: ResNet-50 only: which bottleneck of a stage downsamples: "first" (the
            default; torchvision and Caffe: the first block of stages 2-4) or "last" (TF-slim's
            ``resnet_v1_50``: the last block of stages 1-3, so every 3x3 of stage 4 runs at jump 32).
        device: where to build it; ``"meta"`` builds instantly without memory (geometry only).

    Every 3x3 adds ``2 j`` at the jump ``j`` it reads at. torchvision's strided 3x3 reads at the
    finer jump, so its 16 3x3 convs run 4, 4, 6 and 2 at jumps 4, 8, 16 and 32: 427. Caffe's and
    TF-slim's run 3, 4, 6 and 3 there: 483 both.

    Example:
        >>> from explainer.receptive_fields import field_at
        >>> def final(**placement):
        ...     return field_at(receptive_field(reference_network("resnet50", device="meta", **placement)), "layer4")
        >>> final().size, final(stride_block="last").size, final(stride_on="1x1").size
        ((427, 427), (483, 483), (483, 483))
    """
    check_choice("name", name, REFERENCE_NETWORKS)
    for key, value in (("stride_on", stride_on), ("stride_block", stride_block)):
        if name != "resnet50" and value is not None:
            raise ValueError(f"{key} only applies to name='resnet50', got {key}={value!r} for {name!r}")
    if name == "alexnet":
        return nn.Sequential(OrderedDict(features=_alexnet_features(device)))
    if name == "vgg16":
        return nn.Sequential(OrderedDict(features=_vgg16_features(device)))
    return _ResNet50Trunk(check_choice("stride_on", stride_on or "3x3", ("3x3", "1x1")),
                          check_choice("stride_block", stride_block or "first", ("first", "last")), device)


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


class Bottleneck(nn.Module):
    """torchvision's Bottleneck (1x1 -> 3x3 -> 1x1, expansion 4) with the stride on the 3x3 or first 1x1.

    A strided block whose channels do not change (TF-slim's layout only) subsamples its shortcut
    with a 1x1 max pool, as TF-slim does, instead of a 1x1 convolution.
    """

    def __init__(self, in_channels: int, width: int, stride: int, stride_on: str, device: Any) -> None:
        super().__init__()
        s1, s3 = (stride, 1) if stride_on == "1x1" else (1, stride)
        kw = {"bias": False, "device": device}
        self.conv1, self.bn1 = nn.Conv2d(in_channels, width, 1, stride=s1, **kw), nn.BatchNorm2d(width, device=device)
        self.conv2 = nn.Conv2d(width, width, 3, stride=s3, padding=1, **kw)
        self.bn2 = nn.BatchNorm2d(width, device=device)
        self.conv3, self.bn3 = nn.Conv2d(width, width * 4, 1, **kw), nn.BatchNorm2d(width * 4, device=device)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if in_channels != width * 4:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, width * 4, 1, stride=stride, **kw),
                                            nn.BatchNorm2d(width * 4, device=device))
        elif stride != 1:  # only in TF-slim's layout: its shortcut subsamples (resnet_utils.subsample)
            self.downsample = nn.MaxPool2d(1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class _ResNet50Trunk(nn.Module):
    """ResNet-50 up to ``layer4`` (torchvision names: conv1, bn1, relu, maxpool, layer1..layer4).

    With ``stride_block="last"`` (TF-slim) a stage's stride moves to the last block of the stage
    before it: stages 1-3 end by halving the map and stage 4 does not stride.
    """

    def __init__(self, stride_on: str, stride_block: str, device: Any) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False, device=device)
        self.bn1, self.relu = nn.BatchNorm2d(64, device=device), nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = 64
        stages = ((64, 3), (128, 4), (256, 6), (512, 3))
        strides = (1, 2, 2, 2) if stride_block == "first" else (2, 2, 2, 1)
        for index, ((width, blocks), stride) in enumerate(zip(stages, strides), 1):
            per_block = [1] * blocks
            per_block[0 if stride_block == "first" else -1] = stride
            stage = []
            for block_stride in per_block:
                stage.append(Bottleneck(channels, width, block_stride, stride_on, device))
                channels = width * 4
            setattr(self, f"layer{index}", nn.Sequential(*stage))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))
