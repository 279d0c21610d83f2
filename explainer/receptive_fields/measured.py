"""Measured receptive fields: which input pixels can move one output unit, and how much they do.

The *empirical* field asks autograd which input pixels can move one output unit (through a
*connectivity twin* of the model whose gradients cannot cancel); the *effective* field (Luo, Li,
Urtasun and Zemel, "Understanding the Effective Receptive Field in Deep Convolutional Neural
Networks", NeurIPS 2016, https://arxiv.org/abs/1701.04128) is the gradient magnitude
``|d y_unit / d x|`` for the model's actual weights, averaged over random inputs.

The analytic box of :mod:`explainer.receptive_fields.analytic` is the bounding box of the empirical
field. The two are equal (after clipping to the image) when the stack leaves no holes and the unit
is not cut by an intermediate border; dilations or strides larger than the field below leave holes
(the "gridding" of dilated convolutions), and a unit that reads only an intermediate layer's zero
padding, or pixels an earlier strided layer dropped at the right/bottom border, sees fewer pixels
than its box.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from explainer._validate import check_int, check_pair
from explainer.receptive_fields.analytic import _POINTWISE_MODULES, LayerRF, clip_box, receptive_field

__all__ = [
    "ERFSummary",
    "UnitField",
    "empirical_receptive_field",
    "effective_receptive_field",
    "erf_summary",
    "unit_field",
]

Pair = tuple[int, int]
Box = tuple[int, int, int, int]


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

    ``n_samples`` inputs are drawn from a standard normal (a CPU ``torch.Generator`` seeded with
    ``seed``, so the field is the same on every device; global RNG untouched); for each, the gradient of the unit's output (summed over
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
    # Drawn on the CPU and moved: the same inputs, so the same field, on every device.
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n_samples, _in_channels(model, in_channels), height, width, generator=generator,
                    dtype=dtype).to(device)  # (N, C, H, W)
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
    core = int(torch.searchsorted(ranked, torch.tensor(mass * float(ranked[-1]) - 1e-12, dtype=p.dtype,
                                                       device=p.device))) + 1
    return ERFSummary((my, mx), (sy, sx), int((p > 0).sum()), min(core, int((p > 0).sum())), float(mass))


def unit_field(model: nn.Module, input_size: int | Sequence[int], position: Sequence[int] | None = None, *,
               seed: int = 0, n_samples: int = 16) -> UnitField:
    """Analytic box, empirical mask and effective field of one output unit, together.

    Example:
        >>> from explainer.receptive_fields import conv_stack
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
