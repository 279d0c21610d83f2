"""A tiny CNN with one deformable 3x3 layer (Dai et al. 2017, https://arxiv.org/abs/1703.06211), trained on
scenes whose objects vary in scale and rotation, so that lesson 03 can show offsets that were *learned*.

``DeformCNN``: a stem of two ordinary 3x3 convolutions (``conv -> BN -> ReLU``, twice) and a 2x2 max-pool,
one :class:`~explainer.deformable.DeformConv2d` 3x3 layer on that half-resolution map, whose offset head
starts at zero (an ordinary convolution), then ``BN -> ReLU -> max-pool 2 -> conv 3x3 -> BN -> ReLU``,
global max pooling (is the shape anywhere?) and a linear classifier over the scene shapes.
:meth:`DeformCNN.sampling` gives, for an input, the offsets the deformable layer predicts and the image
positions its taps read. Weights made by ``python -m explainer.train deform`` ship in ``explainer/weights/deform.pt``;
``explainer.models.load_pretrained("deform")`` loads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_int, check_tensor
from explainer.data import SHAPES
from explainer.deformable import DeformConv2d, deform_conv2d, split_offset_head
from explainer.sampling import sampling_positions

__all__ = ["STRIDE", "WEIGHTS", "WIDTHS", "DeformCNN", "DeformSampling", "build"]

WEIGHTS = "deform.pt"
WIDTHS = (16, 32, 32, 64)  # stem convs, deformable layer, last conv
STRIDE = 2  # image pixels per step of the deformable layer's input grid (the stem's max-pool)


def _conv_bn(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


@dataclass(frozen=True)
class DeformSampling:
    """Where the deformable layer of :class:`DeformCNN` reads, for every output position of one batch.

    The layer runs on the stem's map, ``h = H // STRIDE`` by ``w = W // STRIDE``, with stride 1 and
    padding 1: its output position ``(i, j)`` sits at the middle of image pixels ``STRIDE*i .. STRIDE*i +
    STRIDE-1``, i.e. at image coordinate ``STRIDE*i + (STRIDE-1)/2``, and its regular taps are the map cells
    ``(i + a, j + b)``, ``a, b`` in ``{-1, 0, 1}`` (row-major). Positions here are *image* coordinates
    ``(y, x)`` in pixels, so they can be drawn on the input.

    Attributes:
        offset: ``(B, 18, h, w)`` the predicted ``(dy, dx)`` pairs per tap in map cells (the layout of
            :func:`~explainer.deformable.deform_conv2d`); one cell is ``STRIDE`` image pixels.
        positions: ``(B, h, w, 9, 2)`` image coordinates of the taps: the regular grid plus the offsets.
        regular: ``(h, w, 9, 2)`` the taps of an ordinary 3x3 convolution with padding 1, image coordinates.
    """

    offset: Tensor
    positions: Tensor
    regular: Tensor

    @property
    def centres(self) -> Tensor:
        """``(h, w, 2)`` image coordinates of the output positions (the regular centre tap)."""
        return self.regular[:, :, 4]

    @property
    def spread(self) -> Tensor:
        """``(B, h, w)`` mean distance in image pixels of the 9 taps from their output position.

        The regular grid's spread is ``STRIDE * (4 + 4*sqrt(2)) / 9 ~ 2.15`` pixels: 4 taps one cell away, 4
        diagonal, the centre at 0; a grid scaled by ``s`` about its centre has ``s`` times that.
        """
        return (self.positions - self.centres[:, :, None]).norm(dim=-1).mean(dim=-1)  # (B, h, w)


class DeformCNN(nn.Module):
    """Stem, one deformable 3x3 layer, a last conv and a classifier; see the module docstring.

    Args:
        num_classes: outputs (the scene shapes by default).
        zero_offsets: ignore the offset head (every offset 0): the same weights as an ordinary CNN, the
            control the tests compare the learned offsets with.

    Shapes: ``x (B, 3, H, W)`` in [0, 1], ``H, W >= 2*STRIDE`` ``-> logits (B, num_classes)``.

    Example:
        >>> DeformCNN()(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 4])
    """

    def __init__(self, num_classes: int = len(SHAPES), zero_offsets: bool = False) -> None:
        super().__init__()
        num_classes = check_int("num_classes", num_classes, minimum=2)
        a, b, mid, last = WIDTHS
        self.zero_offsets = bool(zero_offsets)
        self.stem = nn.Sequential(*_conv_bn(3, a), *_conv_bn(a, b), nn.MaxPool2d(STRIDE))
        self.deform = DeformConv2d(b, mid, 3, padding=1, bias=False)
        self.after = nn.Sequential(nn.BatchNorm2d(mid), nn.ReLU(), nn.MaxPool2d(2), *_conv_bn(mid, last))
        self.head = nn.Linear(last, num_classes)

    def _check(self, x: Tensor) -> Tensor:
        x = check_tensor("x", x, ndim=4)
        if x.shape[1] != 3 or min(x.shape[-2:]) < 2 * STRIDE:
            raise ValueError(f"x must be RGB images (B, 3, H, W) with H, W >= {2 * STRIDE}, got shape "
                             f"{tuple(x.shape)}")
        return x

    def _offset(self, features: Tensor) -> Tensor:
        """``(B, 18, h, w)`` offsets of the deformable layer for the stem's ``features (B, C, h, w)``."""
        offset, _ = split_offset_head(self.deform.offset_conv(features), 3)  # (B, 18, h, w)
        return torch.zeros_like(offset) if self.zero_offsets else offset

    def forward(self, x: Tensor) -> Tensor:
        h = self.stem(self._check(x) - 0.5)  # (B, C_stem, H/2, W/2)
        c = self.deform.conv
        h = deform_conv2d(h, self._offset(h), c.weight, c.bias, c.stride, c.padding, c.dilation)  # (B, C_mid, ...)
        return self.head(self.after(h).amax(dim=(2, 3)))  # (B, num_classes)

    @torch.no_grad()
    def sampling(self, x: Tensor) -> DeformSampling:
        """The offsets and tap positions of the deformable layer for the images ``x (B, 3, H, W)``.

        Example:
            >>> s = DeformCNN().sampling(torch.rand(1, 3, 10, 14))  # the map is 5 x 7
            >>> s.positions.shape, bool(s.positions.equal(s.regular[None]))  # untrained: zero offsets
            (torch.Size([1, 5, 7, 9, 2]), True)
            >>> s.regular[0, 0, :3].tolist()  # top-left position, first tap row: cells 2 px apart, centre 0.5
            [[-1.5, -1.5], [-1.5, 0.5], [-1.5, 2.5]]
        """
        x = self._check(x)
        offset = self._offset(self.stem(x - 0.5))  # (B, 18, h, w)
        b, _, h, w = offset.shape
        cells = sampling_positions((h, w), 3, padding=1, dtype=offset.dtype, device=offset.device)  # (h, w, 9, 2)
        moved = cells + offset.reshape(b, 9, 2, h, w).permute(0, 3, 4, 1, 2)  # (B, h, w, 9, 2) in map cells
        to_image = (STRIDE - 1) / 2  # the middle of the STRIDE x STRIDE pixels a map cell pools
        return DeformSampling(offset=offset, positions=STRIDE * moved + to_image, regular=STRIDE * cells + to_image)


def build() -> DeformCNN:
    """The untrained architecture whose state dict ``deform.pt`` holds (offset head at zero)."""
    return DeformCNN()
