"""Normalisation and pooling: what batch norm and layer norm compute their statistics over, batch
norm's training versus evaluation mode, and global average pooling versus flatten + linear.

Batch norm (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167) normalises each **channel**
with the mean and variance over the batch and the positions; layer norm (Ba et al. 2016,
https://arxiv.org/abs/1607.06450) normalises each **token** (each position of each example) over its
channels. In training mode batch norm uses the batch's statistics and updates running averages
``r <- (1 − m) r + m · s`` (the variance unbiased); in evaluation mode it uses those running
averages. Global average pooling (Lin et al. 2013, https://arxiv.org/abs/1312.4400) replaces the
flatten + linear head: ``C · K + K`` parameters instead of ``C · H · W · K + K``, and the same output
for a circularly shifted input.

Shapes: ``x`` is ``(B, C, H, W)``; a "token" is one position ``(b, h, w)`` with its ``C`` values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from explainer._validate import check_int, check_tensor

__all__ = [
    "EPS",
    "NormStatistics",
    "norm_statistics",
    "RunningBatchNorm",
    "running_batch_norm",
    "head_parameters",
    "PoolingHeads",
    "pooling_heads",
    "shift",
]

EPS = 1e-5  # PyTorch's default for both norms


def _check_maps(name: str, x: torch.Tensor) -> torch.Tensor:
    x = check_tensor(name, x, ndim=4)
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor, got dtype {x.dtype}")
    return x


@dataclass(frozen=True)
class NormStatistics:
    """Batch norm and layer norm (no affine, eps :data:`EPS`) of one ``(B, C, H, W)`` tensor.

    Attributes:
        batch_norm: (B, C, H, W) each channel normalised over (B, H, W).
        layer_norm: (B, C, H, W) each token normalised over C.
        channel_mean, channel_var: (C,) the statistics batch norm uses (biased variance).
        token_mean, token_var: (B, H, W) the statistics layer norm uses (biased variance).
    """

    batch_norm: torch.Tensor
    layer_norm: torch.Tensor
    channel_mean: torch.Tensor
    channel_var: torch.Tensor
    token_mean: torch.Tensor
    token_var: torch.Tensor


def norm_statistics(x: torch.Tensor) -> NormStatistics:
    """Normalise ``x`` (B, C, H, W) per channel (batch norm) and per token (layer norm).

    Example:
        >>> x = torch.arange(24.0).reshape(2, 3, 2, 2)
        >>> s = norm_statistics(x)
        >>> s.channel_mean.tolist(), s.token_mean.shape
        ([7.5, 11.5, 15.5], torch.Size([2, 2, 2]))
    """
    x = _check_maps("x", x)
    channel_mean = x.mean(dim=(0, 2, 3))  # (C,)
    channel_var = x.var(dim=(0, 2, 3), unbiased=False)  # (C,)
    token_mean = x.mean(dim=1)  # (B, H, W)
    token_var = x.var(dim=1, unbiased=False)  # (B, H, W)
    bn = (x - channel_mean[None, :, None, None]) / torch.sqrt(channel_var[None, :, None, None] + EPS)
    ln = (x - token_mean[:, None]) / torch.sqrt(token_var[:, None] + EPS)
    return NormStatistics(bn, ln, channel_mean, channel_var, token_mean, token_var)


@dataclass(frozen=True)
class RunningBatchNorm:
    """Batch norm of a batch in training and in evaluation mode, after ``K`` earlier batches were seen.

    Attributes:
        train: (B, C, H, W) the batch normalised with its own statistics.
        eval: (B, C, H, W) the batch normalised with the running statistics.
        running_mean, running_var: (K + 1, C) the running averages before any batch (0 and 1) and
            after each batch seen.
    """

    train: torch.Tensor
    eval: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor


def running_batch_norm(seen: torch.Tensor, x: torch.Tensor, momentum: float = 0.1) -> RunningBatchNorm:
    """Batch norm of ``x`` (B, C, H, W) after training-mode passes over ``seen`` (K, B', C, H', W').

    Running statistics start at mean 0, variance 1 and follow ``r <- (1 − momentum) r + momentum · s``
    with the batch's mean and its *unbiased* variance, as ``nn.BatchNorm2d`` does.

    Example:
        >>> seen = torch.ones(3, 2, 1, 1, 1) * 4.0
        >>> running_batch_norm(seen, torch.zeros(1, 1, 1, 1), momentum=0.5).running_mean[:, 0].tolist()
        [0.0, 2.0, 3.0, 3.5]
    """
    x = _check_maps("x", x)
    seen = check_tensor("seen", seen, ndim=5)
    if seen.shape[2] != x.shape[1]:
        raise ValueError(f"seen must have x's {x.shape[1]} channels in dimension 2, got shape {tuple(seen.shape)}")
    if seen.shape[1] * seen.shape[3] * seen.shape[4] < 2:
        raise ValueError(f"each seen batch needs at least 2 values per channel, got shape {tuple(seen.shape)}")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 < momentum <= 1:
        raise ValueError(f"momentum must be a number in (0, 1], got {momentum!r}")
    c = x.shape[1]
    mean, var = torch.zeros(c, dtype=x.dtype), torch.ones(c, dtype=x.dtype)
    means, variances = [mean], [var]
    for batch in seen:  # (B', C, H', W')
        mean = (1 - momentum) * mean + momentum * batch.mean(dim=(0, 2, 3))
        var = (1 - momentum) * var + momentum * batch.var(dim=(0, 2, 3), unbiased=True)
        means.append(mean)
        variances.append(var)
    stats = norm_statistics(x)
    evaluated = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + EPS)
    return RunningBatchNorm(stats.batch_norm, evaluated, torch.stack(means), torch.stack(variances))


def head_parameters(channels: int, height: int, width: int, classes: int) -> dict[str, int]:
    """Parameters of the two classifier heads over a ``(C, H, W)`` feature map.

    Example:
        >>> head_parameters(512, 7, 7, 1000)
        {'gap': 513000, 'flatten': 25089000}
    """
    c, h = check_int("channels", channels, minimum=1), check_int("height", height, minimum=1)
    w, k = check_int("width", width, minimum=1), check_int("classes", classes, minimum=1)
    return {"gap": c * k + k, "flatten": c * h * w * k + k}


@dataclass(frozen=True)
class PoolingHeads:
    """Both heads applied to one feature map.

    Attributes:
        pooled: (B, C) the global average of each channel.
        gap: (B, K) logits of GAP + linear.
        flatten: (B, K) logits of flatten + linear.
    """

    pooled: torch.Tensor
    gap: torch.Tensor
    flatten: torch.Tensor


def pooling_heads(x: torch.Tensor, gap_weight: torch.Tensor, gap_bias: torch.Tensor, flat_weight: torch.Tensor,
                  flat_bias: torch.Tensor) -> PoolingHeads:
    """Logits of GAP + linear (weights (K, C), (K,)) and flatten + linear ((K, C·H·W), (K,)) for ``x`` (B, C, H, W).

    Example:
        >>> x = torch.ones(1, 2, 3, 3)
        >>> heads = pooling_heads(x, torch.ones(1, 2), torch.zeros(1), torch.ones(1, 18), torch.zeros(1))
        >>> heads.gap.item(), heads.flatten.item()
        (2.0, 18.0)
    """
    x = _check_maps("x", x)
    b, c, h, w = x.shape
    k = gap_weight.shape[0]
    for name, t, shape in (("gap_weight", gap_weight, (k, c)), ("gap_bias", gap_bias, (k,)),
                           ("flat_weight", flat_weight, (k, c * h * w)), ("flat_bias", flat_bias, (k,))):
        if tuple(check_tensor(name, t).shape) != shape:
            raise ValueError(f"{name} must have shape {shape} for x of shape {tuple(x.shape)}, got {tuple(t.shape)}")
    pooled = x.mean(dim=(2, 3))  # (B, C)
    return PoolingHeads(pooled, F.linear(pooled, gap_weight, gap_bias), F.linear(x.flatten(1), flat_weight, flat_bias))


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``x`` (..., H, W) moved ``dy`` rows down and ``dx`` columns right, wrapping around (``torch.roll``).

    Example:
        >>> shift(torch.arange(3.0).reshape(1, 3), 0, 1).tolist()
        [[2.0, 0.0, 1.0]]
    """
    x = check_tensor("x", x)
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions (H, W), got shape {tuple(x.shape)}")
    return torch.roll(x, shifts=(check_int("dy", dy), check_int("dx", dx)), dims=(-2, -1))
