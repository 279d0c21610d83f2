"""Deformable convolution (Dai et al. 2017, https://arxiv.org/abs/1703.06211) and its modulated
version DCNv2 (Zhu et al. 2019, https://arxiv.org/abs/1811.11168), written with plain torch ops.

A direct convolution reads output unit ``o`` from the taps ``p_o + p_k`` (the regular, maybe
dilated, grid). A deformable convolution adds a learned, fractional offset per tap and output
unit, reads the input there by bilinear interpolation (zero outside the image) and, in DCNv2,
multiplies each sample by a modulation scalar ``m`` in [0, 1]::

    y(o) = sum_k  w_k * m_k(o) * x(p_o + p_k + Δp_k(o))

Layouts are exactly those of ``torchvision.ops.deform_conv2d``: ``offset`` is
``(B, 2*G*kh*kw, H_out, W_out)`` holding ``(dy, dx)`` pairs per tap (taps row-major, offset
group major), ``mask`` is ``(B, G*kh*kw, H_out, W_out)``; the weight groups come from
``weight.shape[1]`` and the ``G`` offset groups from the offset's channel count.

Where the offsets come from: a parallel ``nn.Conv2d`` over the same input (the *offset head*, with the
layer's kernel size, stride, padding and dilation) predicts :func:`offset_channels` channels per output
position: ``2*G*kh*kw`` offsets, plus ``G*kh*kw`` mask logits in DCNv2 that a sigmoid squashes into
(0, 1) (:func:`split_offset_head`). The head is trained by backpropagation through the bilinear read,
which is differentiable in the sampling position between pixels (:func:`bilinear_slope` gives the
derivative in closed form); :class:`DeformConv2d` wires head and read together, and
:func:`fit_offsets` shows the gradient at work: from zero offsets it learns where to read.

The offset builders return offset tensors for the special cases the notes discuss: any linear map
of the kernel grid (scaling, rotation, shear), random jitter, and dilation itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explainer._validate import check_int, check_pair, check_tensor

__all__ = [
    "deform_conv2d",
    "DeformConv2d",
    "offset_channels",
    "split_offset_head",
    "bilinear_read",
    "bilinear_slope",
    "OffsetFit",
    "fit_offsets",
    "affine_offsets",
    "scale_offsets",
    "random_offsets",
    "dilation_as_offsets",
]

Pair = tuple[int, int]


def _base_grid(out_size: Pair, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
               like: Tensor) -> tuple[Tensor, Tensor]:
    """Regular tap coordinates ``s*o - p + d*k``: y ``(K, H_out, 1)`` and x ``(K, 1, W_out)``."""
    (oh, ow), (kh, kw) = out_size, kernel_size
    ky = torch.arange(kh, device=like.device).repeat_interleave(kw)  # (K,) row-major taps
    kx = torch.arange(kw, device=like.device).repeat(kh)  # (K,)
    oy = torch.arange(oh, device=like.device) * stride[0] - padding[0]  # (H_out,)
    ox = torch.arange(ow, device=like.device) * stride[1] - padding[1]  # (W_out,)
    y = oy[None, :, None] + dilation[0] * ky[:, None, None]  # (K, H_out, 1)
    x = ox[None, None, :] + dilation[1] * kx[:, None, None]  # (K, 1, W_out)
    return y.to(like.dtype), x.to(like.dtype)


def _bilinear(x: Tensor, y: Tensor, xx: Tensor) -> Tensor:
    """Sample ``x (B, G, Cg, H, W)`` at fractional ``(y, xx)`` of shape ``(B, G, N)``; zero outside.

    Each of the four neighbours contributes only if it lies inside the image, which is what
    torchvision's kernel does (and equals bilinear interpolation over a zero-padded image). That is
    ``F.grid_sample`` with zero padding and ``align_corners=True``, once the pixel coordinates are
    mapped to its [-1, 1] range; one ``grid_sample`` call is faster than gathering the four
    neighbours, each with its own mask. The mapping runs in float64:
    in float32 its round trip moves a tap on an exact pixel by up to 4e-6 px, enough to make a
    deformable convolution with zero offsets differ from ``F.conv2d`` by 1.5e-5. An image one pixel
    high or wide has no such range, and takes :func:`_bilinear_gather`.
    """
    b, g, cg, h, w = x.shape
    if h < 2 or w < 2:
        return _bilinear_gather(x, y, xx)
    n = y.shape[-1]
    grid = torch.stack((xx.double() * (2 / (w - 1)) - 1, y.double() * (2 / (h - 1)) - 1), dim=-1)  # (B, G, N, 2)
    out = F.grid_sample(x.double().reshape(b * g, cg, h, w), grid.reshape(b * g, 1, n, 2), mode="bilinear",
                        padding_mode="zeros", align_corners=True)  # (B*G, Cg, 1, N)
    return out.reshape(b, g, cg, n).to(x.dtype)


def _bilinear_gather(x: Tensor, y: Tensor, xx: Tensor) -> Tensor:
    """:func:`_bilinear` written out: the four neighbours gathered and weighted, each only inside the image."""
    b, g, cg, h, w = x.shape
    flat = x.reshape(b, g, cg, h * w)  # (B, G, Cg, H*W)
    y0, x0 = torch.floor(y), torch.floor(xx)
    ly, lx = y - y0, xx - x0  # fractional parts carry the gradient w.r.t. the positions
    out = x.new_zeros((b, g, cg, y.shape[-1]))
    for dy, wy in ((0, 1 - ly), (1, ly)):
        for dx, wx in ((0, 1 - lx), (1, lx)):
            yi, xi = (y0 + dy).long(), (x0 + dx).long()  # (B, G, N)
            inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
            index = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1))[:, :, None, :].expand(b, g, cg, y.shape[-1])
            values = torch.gather(flat, 3, index)  # (B, G, Cg, N)
            out = out + values * (wy * wx * inside)[:, :, None, :]
    return out


def _check_deform(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None,
                  stride: Pair, padding: Pair, dilation: Pair) -> tuple[Pair, int, int]:
    """Validate shapes; return ``((H_out, W_out), weight groups, offset groups)``."""
    for name, t in (("input", input), ("offset", offset), ("weight", weight), ("mask", mask), ("bias", bias)):
        if t is not None:
            check_tensor(name, t, ndim=1 if name == "bias" else 4)
            if t.dtype != input.dtype or not t.dtype.is_floating_point:
                raise TypeError(f"{name} must have the input's floating dtype {input.dtype}, got {t.dtype}")
    b, c, h, w = input.shape
    o, cw, kh, kw = weight.shape
    if cw == 0 or c % cw != 0 or o % (c // cw) != 0:
        raise ValueError(f"weight must have shape (C_out, C_in/groups, kh, kw) with C_in={c} and C_out divisible "
                         f"by groups; got weight {tuple(weight.shape)}")
    out = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in
                zip((h, w), (kh, kw), stride, padding, dilation))
    if min(out) < 1:
        raise ValueError(f"the output would be empty: input {(h, w)}, kernel {(kh, kw)}, padding {padding}, "
                         f"dilation {dilation}")
    taps = kh * kw
    if offset.shape[1] == 0 or offset.shape[1] % (2 * taps) != 0 or c % (offset.shape[1] // (2 * taps)) != 0:
        raise ValueError(f"offset must have 2*offset_groups*kh*kw = multiple of {2 * taps} channels with "
                         f"offset_groups dividing C_in={c}; got offset shape {tuple(offset.shape)}")
    groups = offset.shape[1] // (2 * taps)
    expected = (b, 2 * groups * taps, *out)
    if tuple(offset.shape) != expected:
        raise ValueError(f"offset must have shape {expected} (B, 2*offset_groups*kh*kw, H_out, W_out), "
                         f"got {tuple(offset.shape)}")
    if mask is not None and tuple(mask.shape) != (b, groups * taps, *out):
        raise ValueError(f"mask must have shape {(b, groups * taps, *out)} (B, offset_groups*kh*kw, H_out, W_out), "
                         f"got {tuple(mask.shape)}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"bias must have shape {(o,)}, got {tuple(bias.shape)}")
    return out, c // cw, groups  # type: ignore[return-value]


def deform_conv2d(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None = None,
                  stride: int | Pair = 1, padding: int | Pair = 0, dilation: int | Pair = 1,
                  mask: Tensor | None = None) -> Tensor:
    """Deformable 2-D convolution (DCNv1; DCNv2 with ``mask``), as ``torchvision.ops.deform_conv2d``.

    Args:
        input: ``(B, C_in, H, W)``.
        offset: ``(B, 2*G*kh*kw, H_out, W_out)``: for offset group ``g`` and tap ``k = ky*kw + kx``,
            channels ``2*(g*kh*kw + k)`` and ``+1`` hold ``(dy, dx)``. Channel group ``g`` of the
            input (``C_in/G`` channels each) is read at the positions of offset group ``g``.
        weight: ``(C_out, C_in/groups, kh, kw)``; ``groups = C_in / weight.shape[1]``.
        bias: optional ``(C_out,)``.
        stride, padding, dilation: as for ``F.conv2d`` (ints or pairs).
        mask: optional ``(B, G*kh*kw, H_out, W_out)`` modulation multiplying each sampled value.

    Returns:
        ``(B, C_out, H_out, W_out)``.

    Raises:
        ValueError: mismatched shapes (the message gives expected and received shapes).

    Example:
        >>> x, w = torch.randn(1, 2, 5, 6), torch.randn(3, 2, 3, 3)
        >>> zero = torch.zeros(1, 2 * 9, 3, 4)  # no deformation: an ordinary convolution
        >>> torch.allclose(deform_conv2d(x, zero, w), F.conv2d(x, w), atol=1e-5)
        True
    """
    s, p, d = (check_pair(n, v, minimum=m) for n, v, m in (("stride", stride, 1), ("padding", padding, 0),
                                                            ("dilation", dilation, 1)))
    (oh, ow), groups, offset_groups = _check_deform(input, offset, weight, bias, mask, s, p, d)
    b, c, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    taps = kh * kw
    base_y, base_x = _base_grid((oh, ow), (kh, kw), s, p, d, offset)
    off = offset.reshape(b, offset_groups, taps, 2, oh, ow)  # (B, G, K, 2, H_out, W_out)
    y = (base_y + off[:, :, :, 0]).reshape(b, offset_groups, taps * oh * ow)  # (B, G, K*H_out*W_out)
    x = (base_x + off[:, :, :, 1]).reshape(b, offset_groups, taps * oh * ow)  # (B, G, K*H_out*W_out)
    grouped = input.reshape(b, offset_groups, c // offset_groups, h, w)  # (B, G, C/G, H, W)
    cols = _bilinear(grouped, y, x).reshape(b, offset_groups, c // offset_groups, taps, oh * ow)
    if mask is not None:
        cols = cols * mask.reshape(b, offset_groups, 1, taps, oh * ow)
    cols = cols.reshape(b, groups, (c // groups) * taps, oh * ow)  # (B, groups, C/groups*K, L)
    kernel = weight.reshape(groups, c_out // groups, (c // groups) * taps)  # (groups, C_out/groups, C/groups*K)
    out = torch.einsum("gok,bgkl->bgol", kernel, cols).reshape(b, c_out, oh, ow)  # (B, C_out, H_out, W_out)
    return out if bias is None else out + bias[:, None, None]


class DeformConv2d(nn.Module):
    """A deformable convolution layer that predicts its own offsets (and, optionally, a DCNv2 mask).

    The offset branch is an ordinary ``nn.Conv2d`` over the same input with the same kernel size,
    stride, padding and dilation, producing ``2*G*kh*kw`` (plus ``G*kh*kw`` mask logits when
    ``modulated``) channels. It starts at zero, as in the paper, so a fresh layer is an ordinary
    convolution (with a mask of sigmoid(0) = 0.5 when ``modulated``).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as for
            ``nn.Conv2d``.
        offset_groups: ``G``, the number of channel groups with their own offsets.
        modulated: also predict a DCNv2 mask.

    Example:
        >>> layer = DeformConv2d(2, 4, 3, padding=1)
        >>> x = torch.randn(1, 2, 6, 5)
        >>> torch.allclose(layer(x), F.conv2d(x, layer.weight, layer.bias, padding=1), atol=1e-5)
        True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Pair, stride: int | Pair = 1,
                 padding: int | Pair = 0, dilation: int | Pair = 1, groups: int = 1, bias: bool = True,
                 offset_groups: int = 1, modulated: bool = False, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        groups = check_int("groups", groups, minimum=1)
        self.offset_groups = check_int("offset_groups", offset_groups, minimum=1)
        if in_channels % groups or out_channels % groups or in_channels % self.offset_groups:
            raise ValueError(f"in_channels={in_channels} and out_channels={out_channels} must be divisible by "
                             f"groups={groups}, and in_channels by offset_groups={self.offset_groups}")
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                              device=device, dtype=dtype)
        kh, kw = self.conv.kernel_size
        self.modulated = bool(modulated)
        extra = self.offset_groups * kh * kw if self.modulated else 0
        self.offset_conv = nn.Conv2d(in_channels, 2 * self.offset_groups * kh * kw + extra, kernel_size, stride,
                                     padding, dilation, device=device, dtype=dtype)
        nn.init.zeros_(self.offset_conv.weight)
        nn.init.zeros_(self.offset_conv.bias)

    @property
    def weight(self) -> Tensor:
        return self.conv.weight

    @property
    def bias(self) -> Tensor | None:
        return self.conv.bias

    def forward(self, input: Tensor) -> Tensor:
        """``(B, C_in, H, W) -> (B, C_out, H_out, W_out)``."""
        c = self.conv
        offset, mask = split_offset_head(self.offset_conv(input), c.kernel_size, offset_groups=self.offset_groups,
                                         modulated=self.modulated)  # (B, 2GK, H_out, W_out), (B, GK, ...) | None
        return deform_conv2d(input, offset, c.weight, c.bias, c.stride, c.padding, c.dilation, mask)


# --------------------------------------------------------------------------- the offset head and its gradient
def offset_channels(kernel_size: int | Pair, offset_groups: int = 1, modulated: bool = False) -> int:
    """Output channels of the offset head: ``2*G*kh*kw`` offsets ``(dy, dx)``, plus ``G*kh*kw`` masks in DCNv2.

    Example:
        >>> offset_channels(3), offset_channels(3, modulated=True), offset_channels((3, 2), offset_groups=2)
        (18, 27, 24)
    """
    kh, kw = check_pair("kernel_size", kernel_size, minimum=1)
    taps = check_int("offset_groups", offset_groups, minimum=1) * kh * kw
    return 3 * taps if modulated else 2 * taps


def split_offset_head(predicted: Tensor, kernel_size: int | Pair, *, offset_groups: int = 1,
                      modulated: bool = False) -> tuple[Tensor, Tensor | None]:
    """Split an offset head's output into the offsets and (DCNv2) the sigmoid mask.

    Args:
        predicted: ``(B, offset_channels(kernel_size, G, modulated), H_out, W_out)``, e.g. the output
            of an ``nn.Conv2d`` over the layer's input with the layer's stride, padding and dilation.
        kernel_size, offset_groups, modulated: the deformable layer's.

    Returns:
        ``offset (B, 2*G*kh*kw, H_out, W_out)`` as :func:`deform_conv2d` takes it, and
        ``mask = sigmoid(logits) (B, G*kh*kw, H_out, W_out)`` in (0, 1), or None when not ``modulated``.

    Example:
        >>> head = nn.Conv2d(3, offset_channels(3, modulated=True), 3, padding=1)  # 27 channels
        >>> offset, mask = split_offset_head(head(torch.randn(1, 3, 5, 6)), 3, modulated=True)
        >>> offset.shape, mask.shape
        (torch.Size([1, 18, 5, 6]), torch.Size([1, 9, 5, 6]))
    """
    kh, kw = check_pair("kernel_size", kernel_size, minimum=1)
    channels = offset_channels((kh, kw), offset_groups, modulated)
    check_tensor("predicted", predicted, ndim=4)
    if predicted.shape[1] != channels:
        raise ValueError(f"predicted must have {channels} channels (2*G*kh*kw offsets"
                         f"{' + G*kh*kw mask logits' if modulated else ''}, G={offset_groups}, kernel {(kh, kw)}), "
                         f"got shape {tuple(predicted.shape)}")
    n = 2 * offset_groups * kh * kw
    return predicted[:, :n], (torch.sigmoid(predicted[:, n:]) if modulated else None)


def _check_read(image: Tensor, y: Tensor, x: Tensor) -> Tensor:
    image = check_tensor("image", image, ndim=2)
    if not image.dtype.is_floating_point:
        raise TypeError(f"image must be a floating tensor, got {image.dtype}")
    y, x = check_tensor("y", y), check_tensor("x", x)
    if y.shape != x.shape:
        raise ValueError(f"y and x must have the same shape, got {tuple(y.shape)} and {tuple(x.shape)}")
    return image


def bilinear_read(image: Tensor, y: Tensor, x: Tensor) -> Tensor:
    """Read a ``(H, W)`` image at fractional positions ``(y, x)`` (any equal shapes) by bilinear
    interpolation, zero outside the image: the read of :func:`deform_conv2d`, differentiable in ``y, x``.

    Example:
        >>> img = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
        >>> bilinear_read(img, torch.tensor([0.5]), torch.tensor([0.25])).tolist()  # 0.5*0.25 + 2*0.5 + 3*0.125
        [1.25]
    """
    image = _check_read(image, y, x)
    h, w = image.shape
    flat_y, flat_x = y.to(image.dtype).reshape(1, 1, -1), x.to(image.dtype).reshape(1, 1, -1)  # (1, 1, N)
    return _bilinear(image.reshape(1, 1, 1, h, w), flat_y, flat_x).reshape(y.shape)


def bilinear_slope(image: Tensor, y: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """The derivatives of :func:`bilinear_read` in ``y`` and in ``x``, in closed form.

    Between pixels the read is ``v = (1-a)(1-b) v00 + (1-a) b v01 + a (1-b) v10 + a b v11`` with
    ``a, b`` the fractional parts of ``y, x``, so ``dv/dy = (1-b)(v10 - v00) + b (v11 - v01)``: the
    difference between the rows below and above, mixed by ``b`` (and likewise in ``x``). This is what
    lets a loss move a tap. On a whole pixel the read has a kink; the slope given there is the
    one-sided difference towards the next pixel. Autograd through :func:`deform_conv2d` takes one
    of the two one-sided differences there (which one depends on rounding in the coordinate
    mapping); either way zero offsets, all taps on whole pixels, still receive a gradient.

    Returns:
        ``(dv/dy, dv/dx)``, each shaped like ``y``.

    Example:
        >>> img = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
        >>> [t.tolist() for t in bilinear_slope(img, torch.tensor([0.5]), torch.tensor([0.25]))]
        [[2.0], [1.0]]
    """
    image = _check_read(image, y, x)
    h, w = image.shape
    y, x = y.to(image.dtype), x.to(image.dtype)
    y0, x0 = torch.floor(y), torch.floor(x)
    a, b = y - y0, x - x0

    def at(dy: int, dx: int) -> Tensor:
        yy, xx = (y0 + dy).long(), (x0 + dx).long()
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        return image[yy.clamp(0, h - 1), xx.clamp(0, w - 1)] * inside

    v00, v01, v10, v11 = at(0, 0), at(0, 1), at(1, 0), at(1, 1)
    return (1 - b) * (v10 - v00) + b * (v11 - v01), (1 - a) * (v01 - v00) + a * (v11 - v10)


@dataclass(frozen=True)
class OffsetFit:
    """What :func:`fit_offsets` learned.

    Attributes:
        offsets: ``(kh*kw, 2)`` learned ``(dy, dx)`` per tap (row-major), shared by every output position.
        losses: ``(steps,)`` mean squared error before each step.
    """

    offsets: Tensor
    losses: Tensor


def fit_offsets(input: Tensor, target: Tensor, weight: Tensor, *, stride: int | Pair = 1, padding: int | Pair = 0,
                dilation: int | Pair = 1, steps: int = 100, lr: float = 0.05) -> OffsetFit:
    """Learn one offset per tap so that ``deform_conv2d(input, offset, weight, ...)`` matches ``target``.

    The offsets start at zero (an ordinary convolution) and follow Adam on the mean squared error;
    the weights stay fixed, so the loss reaches the offsets only through the bilinear read. The
    offsets are shared by every output position (``2*kh*kw`` numbers) to keep the picture small; an
    offset head predicts them per position instead. Nothing random: the same call gives the same fit.

    Args:
        input: ``(B, C_in, H, W)``.
        target: ``(B, C_out, H_out, W_out)``, the output shape of the deformable convolution.
        weight: ``(C_out, C_in/groups, kh, kw)``, fixed.
        stride, padding, dilation: of the deformable convolution.
        steps: optimiser steps, at least 1.
        lr: Adam's learning rate, > 0.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(1, 1, 10, 10, dtype=torch.float64, generator=g)
        >>> w = torch.randn(1, 1, 3, 3, dtype=torch.float64, generator=g)
        >>> wanted = deform_conv2d(x, scale_offsets(3, 8, 1.2, dtype=torch.float64), w)  # taps 20% further out
        >>> fit = fit_offsets(x, wanted, w, steps=50)
        >>> fit.offsets.shape, bool(fit.losses[-1] < fit.losses[0] / 10)
        (torch.Size([9, 2]), True)
    """
    steps = check_int("steps", steps, minimum=1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    s, p, d = (check_pair(n, v, minimum=m) for n, v, m in (("stride", stride, 1), ("padding", padding, 0),
                                                            ("dilation", dilation, 1)))
    input, target, weight = (check_tensor(n, t, ndim=4).detach() for n, t in
                             (("input", input), ("target", target), ("weight", weight)))
    kh, kw = weight.shape[-2:]
    out = tuple((n + 2 * pp - dd * (k - 1) - 1) // ss + 1 for n, k, ss, pp, dd in
                zip(input.shape[-2:], (kh, kw), s, p, d))
    expected = (input.shape[0], weight.shape[0], *out)
    if tuple(target.shape) != expected:
        raise ValueError(f"target must have the output's shape {expected}, got {tuple(target.shape)}")
    per_tap = torch.zeros(2 * kh * kw, dtype=input.dtype, device=input.device, requires_grad=True)
    optimiser = torch.optim.Adam([per_tap], lr=float(lr))
    losses = []
    with torch.enable_grad():
        for _ in range(steps):
            offset = per_tap[None, :, None, None].expand(input.shape[0], -1, *out)  # (B, 2K, H_out, W_out)
            loss = (deform_conv2d(input, offset, weight, None, s, p, d) - target).square().mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.detach())
    return OffsetFit(offsets=per_tap.detach().reshape(kh * kw, 2), losses=torch.stack(losses))


# --------------------------------------------------------------------------- offset builders
def _relative_taps(kernel_size: Pair, dilation: Pair, dtype: torch.dtype, device: torch.device | str | None
                   ) -> Tensor:
    """``(K, 2)`` tap coordinates ``(y, x)`` relative to the kernel centre, in pixels."""
    (kh, kw), (dh, dw) = kernel_size, dilation
    ky = (torch.arange(kh, dtype=dtype, device=device) - (kh - 1) / 2) * dh  # (kh,)
    kx = (torch.arange(kw, dtype=dtype, device=device) - (kw - 1) / 2) * dw  # (kw,)
    return torch.stack(torch.meshgrid(ky, kx, indexing="ij"), dim=-1).reshape(kh * kw, 2)  # (K, 2) row-major


def _spread(per_tap: Tensor, out_size: Pair, batch: int) -> Tensor:
    """``(K, 2)`` offsets, the same at every output unit -> ``(B, 2K, H_out, W_out)``."""
    flat = per_tap.reshape(-1)  # (2K,) as (dy0, dx0, dy1, dx1, ...)
    return flat[None, :, None, None].expand(batch, -1, *out_size).contiguous()  # (B, 2K, H_out, W_out)


def _builder_args(kernel_size: int | Pair, out_size: int | Pair, dilation: int | Pair, batch: int
                  ) -> tuple[Pair, Pair, Pair, int]:
    return (check_pair("kernel_size", kernel_size, minimum=1), check_pair("out_size", out_size, minimum=1),
            check_pair("dilation", dilation, minimum=1), check_int("batch", batch, minimum=1))


def affine_offsets(kernel_size: int | Pair, out_size: int | Pair, matrix: Tensor | list, *,
                   dilation: int | Pair = 1, batch: int = 1, dtype: torch.dtype = torch.float32,
                   device: torch.device | str | None = None) -> Tensor:
    """Offsets that move every tap ``r`` (relative to the kernel centre) to ``A r``.

    Args:
        kernel_size: ``k`` or ``(kh, kw)``.
        out_size: ``(H_out, W_out)`` of the deformable convolution the offsets feed.
        matrix: ``A``, a 2x2 map acting on ``(y, x)`` column vectors.
        dilation: the deformable convolution's dilation (the regular grid the offsets start from).
        batch: ``B``.

    Returns:
        ``(B, 2*kh*kw, H_out, W_out)``, ``(A - I) r`` for every tap, equal at every output unit.

    Example:
        >>> off = affine_offsets(3, 4, [[2.0, 0.0], [0.0, 2.0]])  # scale 2 = dilation 2
        >>> off.shape, off[0, :2, 0, 0].tolist()  # tap (0, 0) sits at (-1, -1), moves to (-2, -2)
        (torch.Size([1, 18, 4, 4]), [-1.0, -1.0])
    """
    k, out, d, batch = _builder_args(kernel_size, out_size, dilation, batch)
    a = torch.as_tensor(matrix, dtype=dtype, device=device)
    if a.shape != (2, 2):
        raise ValueError(f"matrix must have shape (2, 2), got {tuple(a.shape)}")
    rel = _relative_taps(k, d, dtype, device)  # (K, 2)
    moved = rel @ (a - torch.eye(2, dtype=dtype, device=device)).T  # (K, 2)
    return _spread(moved, out, batch)


def scale_offsets(kernel_size: int | Pair, out_size: int | Pair, scale: float | tuple[float, float], *,
                  dilation: int | Pair = 1, batch: int = 1, dtype: torch.dtype = torch.float32,
                  device: torch.device | str | None = None) -> Tensor:
    """Offsets that scale the kernel grid about its centre by ``scale`` or ``(s_y, s_x)`` (anisotropic).

    Example:
        >>> scale_offsets(3, 2, (1.0, 3.0))[0, :2, 0, 0].tolist()  # tap (-1, -1) -> (-1, -3)
        [0.0, -2.0]
    """
    sy, sx = (scale, scale) if isinstance(scale, (int, float)) else scale
    return affine_offsets(kernel_size, out_size, [[float(sy), 0.0], [0.0, float(sx)]], dilation=dilation,
                          batch=batch, dtype=dtype, device=device)


def random_offsets(kernel_size: int | Pair, out_size: int | Pair, std: float = 1.0, *, offset_groups: int = 1,
                   batch: int = 1, seed: int | None = None, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    """Independent Gaussian offsets ``N(0, std^2)`` per tap, output unit and offset group.

    Give ``seed`` or a ``generator`` (never the global RNG; with neither, seed 0 is used). A seed
    draws on the CPU, so a seed gives the same offsets on every device; a generator draws on its
    own device. The offsets are then moved to ``device``.

    Example:
        >>> a, b = random_offsets(3, 4, 0.5, seed=1), random_offsets(3, 4, 0.5, seed=1)
        >>> a.shape, torch.equal(a, b)
        (torch.Size([1, 18, 4, 4]), True)
    """
    k, out, _, batch = _builder_args(kernel_size, out_size, 1, batch)
    groups = check_int("offset_groups", offset_groups, minimum=1)
    if not isinstance(std, (int, float)) or std < 0:
        raise ValueError(f"std must be a number >= 0, got {std!r}")
    shape = (batch, 2 * groups * k[0] * k[1], *out)
    if generator is None:  # drawn on the CPU and moved: the same offsets for a seed on every device
        generator = torch.Generator().manual_seed(check_int("seed", 0 if seed is None else seed))
        return torch.randn(shape, generator=generator, dtype=dtype).to(device) * std
    return torch.randn(shape, generator=generator, dtype=dtype, device=generator.device).to(device) * std


def dilation_as_offsets(kernel_size: int | Pair, dilation: int | Pair, out_size: int | Pair, *, batch: int = 1,
                        dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    """Offsets that turn a dilation-1 deformable convolution into a dilated one.

    Dilation ``d`` spreads the taps about the kernel centre by ``d``, so the offsets are
    ``(d-1)(k_i - (k-1)/2)`` per axis (the same as :func:`scale_offsets` with ``scale=d``). The
    deformable convolution's padding must be ``p - (d-1)(k-1)/2`` where ``p`` is the dilated
    convolution's padding (e.g. "same" padding ``d(k-1)/2`` becomes ``(k-1)/2``); then
    ``deform_conv2d(x, offsets, w, stride=s, padding=p - (d-1)(k-1)/2)`` equals
    ``F.conv2d(x, w, stride=s, padding=p, dilation=d)`` exactly (integer offsets: no interpolation).

    Args:
        kernel_size: ``k`` or ``(kh, kw)``.
        dilation: ``d`` or ``(d_h, d_w)``.
        out_size: ``(H_out, W_out)``, the dilated convolution's output size.

    Raises:
        ValueError: ``(d-1)(k-1)`` odd in some axis (the shift would be half a pixel).

    Example:
        >>> x, w = torch.randn(1, 1, 9, 9), torch.randn(1, 1, 3, 3)
        >>> off = dilation_as_offsets(3, 2, 9)
        >>> torch.allclose(deform_conv2d(x, off, w, padding=1), F.conv2d(x, w, padding=2, dilation=2), atol=1e-5)
        True
    """
    k = check_pair("kernel_size", kernel_size, minimum=1)
    d = check_pair("dilation", dilation, minimum=1)
    if any((di - 1) * (ki - 1) % 2 for ki, di in zip(k, d)):
        raise ValueError(f"(dilation-1)*(kernel_size-1) must be even in both axes for an exact integer shift, "
                         f"got kernel_size={k}, dilation={d}")
    return scale_offsets(k, out_size, (float(d[0]), float(d[1])), batch=batch, dtype=dtype, device=device)
