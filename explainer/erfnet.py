"""The three residual blocks compared in the ERFNet paper, and their parameter counts in closed form.

Romera et al., "ERFNet: Efficient Residual Factorized ConvNet for Real-time Semantic Segmentation"
(IEEE T-ITS 2017, https://github.com/Eromera/erfnet_pytorch) compare ResNet's non-bottleneck and
bottleneck blocks with their own *non-bottleneck-1D* block, which factorises every 3x3 convolution
into a 3x1 and a 1x3 one. Each block maps ``(B, w, H, W) -> (B, w, H, W)``; ``w`` is the block
width (channels). :func:`erfnet_block_params` is checked in ``tests/test_erfnet.py`` against
``sum(p.numel())`` of the real modules.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from explainer._validate import check_choice, check_int

__all__ = [
    "ERFNET_BLOCKS",
    "NonBottleneck",
    "Bottleneck",
    "NonBottleneck1D",
    "erfnet_block",
    "erfnet_block_params",
]

ERFNET_BLOCKS = ("non_bottleneck", "bottleneck", "non_bottleneck_1d")


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
