"""Gate attention: SE, CBAM and ECA, the blocks that rescale a feature map by learned gates in (0, 1).

- SE: Hu et al., "Squeeze-and-Excitation Networks", https://arxiv.org/abs/1709.01507
- CBAM: Woo et al., "CBAM: Convolutional Block Attention Module", https://arxiv.org/abs/1807.06521
- ECA: Wang et al., "ECA-Net: Efficient Channel Attention for Deep CNNs", https://arxiv.org/abs/1910.03151

SE's two ``Linear`` layers, CBAM's shared 1x1-conv MLP over the average- and max-pooled
descriptors plus its 2->1 spatial convolution over the channel-wise mean and max maps, and ECA's 1D
convolution across the pooled channels. We drop every bias, as our notes' code does, so that each
parameter count has a closed form (SE ``2 C (C//r)``) and a map of zeros gets every gate
``sigmoid(0) = 1/2``. The reference implementations keep some: Hu et al.'s SE code and timm's
``SEModule`` have biases in both layers (``C//r + C`` more parameters), and the CBAM authors' MLP has
them too (their spatial convolution has none but a batch norm); ECA's has none. One vocabulary for
all three (``channels``, ``reduction``, ...) so a network can swap them (see :mod:`explainer.models`).

Letters: ``B`` batch, ``C`` channels, ``H, W`` height and width, ``r`` reduction, ``k`` kernel size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_choice, check_int, check_pair, check_tensor

__all__ = [
    "GATES",
    "Gates",
    "eca_kernel_size",
    "SqueezeExcitation",
    "CBAM",
    "ECA",
    "make_gate",
    "gate_params",
    "gate_multiply_adds",
    "SESteps",
    "se_steps",
]

GATES = ("none", "se", "cbam", "eca")


@dataclass(frozen=True)
class Gates:
    """The gates a block multiplies its input by.

    Attributes:
        channel: (B, C) channel gates in (0, 1).
        spatial: (B, H, W) spatial gates in (0, 1) (CBAM), or None.
    """

    channel: Tensor
    spatial: Tensor | None = None


def eca_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """ECA's adaptive kernel size: ``|log2(C)/gamma + b/gamma|``, truncated, made odd (even -> +1).

    Example:
        >>> [eca_kernel_size(c) for c in (64, 128, 256, 512, 1024, 2048)]  # (6+1)/2=3.5 -> 3, ...
        [3, 5, 5, 5, 5, 7]
    """
    channels = check_int("channels", channels, minimum=1)
    gamma = check_int("gamma", gamma, minimum=1)
    b = check_int("b", b, minimum=0)
    k = int(abs(math.log2(channels) / gamma + b / gamma))
    return k if k % 2 else k + 1


def _check_reduction(channels: int, reduction: int) -> tuple[int, int]:
    channels = check_int("channels", channels, minimum=1)
    reduction = check_int("reduction", reduction, minimum=1)
    if channels < reduction:
        raise ValueError(f"channels must be >= reduction (the bottleneck has channels // reduction >= 1 units), "
                         f"got channels={channels}, reduction={reduction}")
    return channels, reduction


def _check_input(x: Tensor, channels: int) -> Tensor:
    x = check_tensor("x", x, ndim=4)
    if x.shape[1] != channels:
        raise ValueError(f"x must have {channels} channels (shape (B, {channels}, H, W)), got shape {tuple(x.shape)}")
    return x


class SqueezeExcitation(nn.Module):
    """SE: ``g = sigmoid(W2 relu(W1 mean_hw(x)))``, ``y = x * g``; ``2 C (C//r)`` parameters.

    We drop the two layers' biases (Hu et al.'s code and timm's ``SEModule`` keep them, ``C//r + C``
    more parameters), so that the count is exactly ``2 C (C//r)`` and a zero map gives gates of 1/2.

    Args:
        channels: ``C``.
        reduction: ``r``; the bottleneck has ``C // r`` units.

    Shapes: ``x (B, C, H, W) -> (B, C, H, W)``; gates ``channel (B, C)``.

    Example:
        >>> se = SqueezeExcitation(32, reduction=4)
        >>> sum(p.numel() for p in se.parameters())  # 2 * 32 * 8
        512
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.channels, self.reduction = _check_reduction(channels, reduction)
        hidden = channels // reduction
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, channels, bias=False)

    def gates(self, x: Tensor) -> Gates:
        """Channel gates ``(B, C)`` for ``x (B, C, H, W)``."""
        x = _check_input(x, self.channels)
        squeezed = x.mean(dim=(2, 3))  # (B, C)
        return Gates(torch.sigmoid(self.fc2(torch.relu(self.fc1(squeezed)))))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gates(x).channel[..., None, None]


class CBAM(nn.Module):
    """CBAM: a channel gate, then a spatial gate, each multiplied in turn.

    ``g_c = sigmoid(MLP(avg_hw(x)) + MLP(max_hw(x)))`` with one shared MLP of 1x1 convolutions
    ``C -> C//r -> C``; ``x' = x * g_c``; ``g_s = sigmoid(conv_kxk([mean_c(x'), max_c(x')]))``
    (2 -> 1 channels, padding ``k//2``); ``y = x' * g_s``. ``2 C (C//r) + 2 k^2`` parameters: we drop
    the MLP's biases (the authors' code keeps them) and the spatial convolution has none (the
    authors follow it by a batch norm, which we leave out).

    Args:
        channels: ``C``.
        reduction: ``r``.
        spatial_kernel_size: odd ``k`` of the spatial convolution (7 in the paper).

    Shapes: ``x (B, C, H, W) -> (B, C, H, W)``; gates ``channel (B, C)``, ``spatial (B, H, W)``.

    Example:
        >>> sum(p.numel() for p in CBAM(32, reduction=4).parameters())  # 2*32*8 + 2*7*7
        610
    """

    def __init__(self, channels: int, reduction: int = 16, spatial_kernel_size: int = 7) -> None:
        super().__init__()
        self.channels, self.reduction = _check_reduction(channels, reduction)
        k = check_int("spatial_kernel_size", spatial_kernel_size, minimum=1)
        if k % 2 == 0:
            raise ValueError(f"spatial_kernel_size must be odd (so the gate map keeps H x W), got {k}")
        hidden = channels // reduction
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(),
                                 nn.Conv2d(hidden, channels, 1, bias=False))
        self.spatial = nn.Conv2d(2, 1, k, padding=k // 2, bias=False)

    def _channel(self, x: Tensor) -> Tensor:
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))  # (B, C, 1, 1)
        peak = self.mlp(x.amax(dim=(2, 3), keepdim=True))  # (B, C, 1, 1)
        return torch.sigmoid(avg + peak).flatten(1)  # (B, C)

    def _spatial(self, x: Tensor) -> Tensor:
        maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)  # (B, 2, H, W)
        return torch.sigmoid(self.spatial(maps))[:, 0]  # (B, H, W)

    def gates(self, x: Tensor) -> Gates:
        """Channel gates ``(B, C)`` and the spatial gates ``(B, H, W)`` computed on the channel-gated ``x``."""
        x = _check_input(x, self.channels)
        channel = self._channel(x)
        return Gates(channel, self._spatial(x * channel[..., None, None]))

    def forward(self, x: Tensor) -> Tensor:
        g = self.gates(x)
        return x * g.channel[..., None, None] * g.spatial[:, None]


class ECA(nn.Module):
    """ECA: ``g = sigmoid(conv1d_k(mean_hw(x)))`` across channels, ``y = x * g``; ``k`` parameters (no bias,
    as in the authors' code).

    Args:
        channels: ``C``.
        gamma, b: set ``k = eca_kernel_size(C, gamma, b)``.

    Shapes: ``x (B, C, H, W) -> (B, C, H, W)``; gates ``channel (B, C)``.

    Example:
        >>> ECA(64).kernel_size, sum(p.numel() for p in ECA(64).parameters())
        (3, 3)
    """

    def __init__(self, channels: int, gamma: int = 2, b: int = 1) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, minimum=1)
        self.kernel_size = eca_kernel_size(channels, gamma, b)
        self.conv = nn.Conv1d(1, 1, self.kernel_size, padding=self.kernel_size // 2, bias=False)

    def gates(self, x: Tensor) -> Gates:
        """Channel gates ``(B, C)``: each reads its ``k`` neighbouring pooled channels (zero-padded)."""
        x = _check_input(x, self.channels)
        pooled = x.mean(dim=(2, 3))[:, None]  # (B, 1, C)
        return Gates(torch.sigmoid(self.conv(pooled))[:, 0])  # (B, C)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gates(x).channel[..., None, None]


def make_gate(kind: str, channels: int, reduction: int = 16, spatial_kernel_size: int = 7) -> nn.Module | None:
    """Build the gate named ``kind`` (``"none"`` gives None), with one shared argument vocabulary.

    ECA takes neither ``reduction`` nor ``spatial_kernel_size`` (its kernel follows ``channels``).

    Example:
        >>> type(make_gate("eca", 64)).__name__
        'ECA'
    """
    kind = check_choice("kind", kind, GATES)
    if kind == "se":
        return SqueezeExcitation(channels, reduction)
    if kind == "cbam":
        return CBAM(channels, reduction, spatial_kernel_size)
    if kind == "eca":
        return ECA(channels)
    return None


def gate_params(kind: str, channels: int, reduction: int = 16, spatial_kernel_size: int = 7) -> int:
    """Parameter count from the closed forms: SE ``2C(C//r)``, CBAM ``2C(C//r) + 2k^2``, ECA ``k_eca``.

    Example:
        >>> [gate_params(k, 64, 16) for k in GATES]  # 0, 2*64*4, 512 + 98, eca_kernel_size(64)
        [0, 512, 610, 3]
    """
    kind = check_choice("kind", kind, GATES)
    channels, reduction = _check_reduction(channels, reduction)
    spatial_kernel_size = check_int("spatial_kernel_size", spatial_kernel_size, minimum=1)
    mlp = 2 * channels * (channels // reduction)
    return {"none": 0, "se": mlp, "cbam": mlp + 2 * spatial_kernel_size**2, "eca": eca_kernel_size(channels)}[kind]


def gate_multiply_adds(kind: str, channels: int, size: tuple[int, int], reduction: int = 16,
                       spatial_kernel_size: int = 7) -> int:
    """Multiply-adds of one gate on one ``C x H x W`` map: the MLP / convs plus the final rescaling.

    SE ``2C(C//r) + CHW``; CBAM ``4C(C//r) + 2k^2 HW + 2CHW`` (the MLP runs twice; two rescalings);
    ECA ``k C + CHW``. Pooling (additions and comparisons) is not counted.

    Example:
        >>> gate_multiply_adds("se", 64, (8, 8), 16)  # 512 + 64*64
        4608
    """
    kind = check_choice("kind", kind, GATES)
    channels, reduction = _check_reduction(channels, reduction)
    h, w = check_pair("size", size, minimum=1)
    k = check_int("spatial_kernel_size", spatial_kernel_size, minimum=1)
    mlp, scale = 2 * channels * (channels // reduction), channels * h * w
    return {"none": 0, "se": mlp + scale, "cbam": 2 * mlp + 2 * k * k * h * w + 2 * scale,
            "eca": eca_kernel_size(channels) * channels + scale}[kind]


@dataclass(frozen=True)
class SESteps:
    """Every intermediate of one SE pass.

    Attributes:
        pooled: (B, C) squeeze, the spatial mean of each channel.
        hidden: (B, C//r) bottleneck after ReLU.
        gates: (B, C) excitation, sigmoid of the second layer.
        output: (B, C, H, W) the rescaled map ``x * gates``.
    """

    pooled: Tensor
    hidden: Tensor
    gates: Tensor
    output: Tensor


def se_steps(block: SqueezeExcitation, x: Tensor) -> SESteps:
    """Run ``block`` on ``x (B, C, H, W)`` and keep every step.

    Example:
        >>> s = se_steps(SqueezeExcitation(8, 4), torch.ones(1, 8, 3, 5))
        >>> s.pooled.shape, s.hidden.shape, s.gates.shape
        (torch.Size([1, 8]), torch.Size([1, 2]), torch.Size([1, 8]))
    """
    if not isinstance(block, SqueezeExcitation):
        raise TypeError(f"block must be a SqueezeExcitation, got {type(block).__name__}")
    x = _check_input(x, block.channels)
    pooled = x.mean(dim=(2, 3))  # (B, C)
    hidden = torch.relu(block.fc1(pooled))  # (B, C//r)
    gates = torch.sigmoid(block.fc2(hidden))  # (B, C)
    return SESteps(pooled, hidden, gates, x * gates[..., None, None])
