"""What trained gates carry: class-averaged gate profiles, a linear probe on gate vectors, gates on vs off an object.

- :func:`class_gate_profiles`: the mean excitation per channel for each class, the picture of
  Hu et al., "Squeeze-and-Excitation Networks" (https://arxiv.org/abs/1709.01507), Fig. 6: where the
  curves of different classes part, the gates depend on the class.
- :func:`linear_probe`: ridge least squares from gate vectors to one-hot classes, fitted on one set
  and scored on another (Alain & Bengio, "Understanding intermediate layers using linear classifier
  probes", https://arxiv.org/abs/1610.01644): closed form, so deterministic.
- :func:`gate_contrast`: the mean spatial gate inside a region (the target object) and outside
  another (the background), on the gate's own grid.

Letters: ``N`` images, ``C`` channels, ``K`` classes, ``H, W`` image size, ``h, w`` gate-map size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from explainer._validate import check_int, check_tensor

__all__ = ["ClassProfiles", "class_gate_profiles", "LinearProbe", "linear_probe", "GateContrast", "gate_contrast"]


def _check_labels(labels: Tensor, n: int, num_classes: int) -> Tensor:
    labels = check_tensor("labels", labels, ndim=1)
    if labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape[0] != n:
        raise ValueError(f"labels must have one entry per row of gates ({n}), got {labels.shape[0]}")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes - 1}], got values from {int(labels.min())} "
                         f"to {int(labels.max())}")
    return labels.long()


def _check_gates(name: str, gates: Tensor) -> Tensor:
    gates = check_tensor(name, gates, ndim=2)
    if gates.shape[0] < 1 or gates.shape[1] < 1:
        raise ValueError(f"{name} must be (N, C) with N, C >= 1, got shape {tuple(gates.shape)}")
    if not gates.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {gates.dtype}")
    return gates


@dataclass(frozen=True)
class ClassProfiles:
    """Gates averaged per class.

    Attributes:
        mean: (K, C) mean gate of each channel over the images of each class (NaN for an empty class).
        counts: (K,) images per class.
    """

    mean: Tensor
    counts: Tensor

    @property
    def spread(self) -> Tensor:
        """(C,) per channel, the largest minus the smallest class mean (over classes that have images)."""
        present = self.mean[self.counts > 0]  # (K', C)
        return present.amax(0) - present.amin(0)


def class_gate_profiles(gates: Tensor, labels: Tensor, num_classes: int) -> ClassProfiles:
    """The mean gate per channel for each class (SE paper, Fig. 6).

    Args:
        gates: (N, C) channel gates, one row per image.
        labels: (N,) integer class of each image, in ``[0, num_classes)``.
        num_classes: ``K``.

    Returns:
        :class:`ClassProfiles` with ``mean (K, C)`` and ``counts (K,)``.

    Example:
        >>> p = class_gate_profiles(torch.tensor([[0.25, 1.0], [0.75, 0.0], [1.0, 0.5]]), torch.tensor([0, 0, 1]), 3)
        >>> p.mean[:2].tolist(), p.counts.tolist(), p.spread.tolist()
        ([[0.5, 0.5], [1.0, 0.5]], [2, 1, 0], [0.5, 0.0])
    """
    gates = _check_gates("gates", gates)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    labels = _check_labels(labels, gates.shape[0], num_classes)
    onehot = torch.nn.functional.one_hot(labels, num_classes).to(gates.dtype)  # (N, K)
    counts = onehot.sum(0)  # (K,)
    mean = (onehot.T @ gates) / counts[:, None]  # (K, C): 0/0 = NaN for an empty class
    return ClassProfiles(mean, counts.long())


@dataclass(frozen=True)
class LinearProbe:
    """A linear read-out of classes from gate vectors.

    Attributes:
        weight: (C, K) and ``bias`` (K,): scores ``gates @ weight + bias``, the class is their argmax.
        train_accuracy: share of the fitting set classified correctly.
        test_accuracy: share of the held-out set classified correctly.
        predicted: (N_test,) the probe's class for each held-out image.
    """

    weight: Tensor
    bias: Tensor
    train_accuracy: float
    test_accuracy: float
    predicted: Tensor


def linear_probe(train_gates: Tensor, train_labels: Tensor, test_gates: Tensor, test_labels: Tensor,
                 num_classes: int, ridge: float = 1e-3) -> LinearProbe:
    """Fit ``scores = gates @ W + b`` to one-hot classes by ridge least squares; score it on held-out gates.

    ``W, b`` minimise ``||X W + 1 b - Y||^2 + ridge * N * ||W||^2`` (the bias is not penalised), solved in
    closed form in float64 on the centred data: ``W = (Xc^T Xc + ridge N I)^{-1} Xc^T Yc``,
    ``b = mean(Y) - mean(X) W``. No randomness, no iterations: the same gates give the same probe.

    Args:
        train_gates: (N, C) gate vectors to fit on; ``train_labels`` (N,) their classes.
        test_gates: (M, C) held-out gate vectors; ``test_labels`` (M,) their classes.
        num_classes: ``K``.
        ridge: >= 0, the penalty per image (keeps the solve well posed when channels are constant).

    Example:
        >>> x = torch.tensor([[0.1], [0.2], [0.8], [0.9]])
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> linear_probe(x, y, torch.tensor([[0.15], [0.85]]), torch.tensor([0, 1]), 2).test_accuracy
        1.0
    """
    train_gates, test_gates = _check_gates("train_gates", train_gates), _check_gates("test_gates", test_gates)
    if train_gates.shape[1] != test_gates.shape[1]:
        raise ValueError(f"test_gates must have as many channels as train_gates ({train_gates.shape[1]}), "
                         f"got {test_gates.shape[1]}")
    num_classes = check_int("num_classes", num_classes, minimum=2)
    train_labels = _check_labels(train_labels, train_gates.shape[0], num_classes)
    test_labels = _check_labels(test_labels, test_gates.shape[0], num_classes)
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not ridge >= 0:
        raise ValueError(f"ridge must be a number >= 0, got {ridge!r}")
    x = train_gates.double()  # (N, C)
    y = torch.nn.functional.one_hot(train_labels, num_classes).double()  # (N, K)
    x_mean, y_mean = x.mean(0), y.mean(0)  # (C,), (K,)
    xc, yc = x - x_mean, y - y_mean
    n, c = x.shape
    weight = torch.linalg.solve(xc.T @ xc + ridge * n * torch.eye(c, dtype=x.dtype), xc.T @ yc)  # (C, K)
    bias = y_mean - x_mean @ weight  # (K,)

    def classify(g: Tensor) -> Tensor:
        return (g.double() @ weight + bias).argmax(1)

    predicted = classify(test_gates)
    train_accuracy = float((classify(train_gates) == train_labels).double().mean())
    test_accuracy = float((predicted == test_labels).double().mean())
    return LinearProbe(weight.to(train_gates.dtype), bias.to(train_gates.dtype), train_accuracy, test_accuracy,
                       predicted)


@dataclass(frozen=True)
class GateContrast:
    """Mean spatial gate inside a region and outside it, per image.

    Attributes:
        inside: (N,) mean gate over the region, each cell weighted by the share of it the region covers.
        outside: (N,) the same for the second region (e.g. the background).
    """

    inside: Tensor
    outside: Tensor

    @property
    def ratio(self) -> float:
        """Mean over images of ``inside``, over the mean of ``outside`` (images with an empty region left out)."""
        keep = ~(self.inside.isnan() | self.outside.isnan())
        return float(self.inside[keep].mean() / self.outside[keep].mean())


def gate_contrast(gates: Tensor, inside: Tensor, outside: Tensor) -> GateContrast:
    """The spatial gate's mean over two regions given at image resolution (e.g. target and background).

    Each gate cell covers a ``H/h x W/w`` block of pixels; it counts for a region with the share of
    that block's pixels the region holds (an area-weighted mean, so a cell half on the object counts half).

    Args:
        gates: (N, h, w) spatial gates.
        inside, outside: (N, H, W) bool masks, ``H`` a multiple of ``h`` and ``W`` of ``w``.

    Returns:
        :class:`GateContrast` of (N,) means (NaN where a region is empty).

    Example:
        >>> g = torch.tensor([[[0.75, 0.25]]])  # (1, 1, 2): two cells of 1 x 2 pixels
        >>> m = torch.tensor([[[True, True, True, False]]])  # the left cell and half the right one
        >>> c = gate_contrast(g, m, ~m)
        >>> c.inside.tolist(), c.outside.tolist(), c.ratio  # (0.75 + 0.5 * 0.25) / 1.5, then 0.25
        ([0.5833333134651184], [0.25], 2.3333332538604736)
    """
    gates = check_tensor("gates", gates, ndim=3)
    inside, outside = check_tensor("inside", inside, ndim=3), check_tensor("outside", outside, ndim=3)
    for name, mask in (("inside", inside), ("outside", outside)):
        if mask.dtype != torch.bool:
            raise TypeError(f"{name} must be a bool mask, got dtype {mask.dtype}")
        if mask.shape != inside.shape:
            raise ValueError(f"outside must have the shape of inside {tuple(inside.shape)}, got {tuple(mask.shape)}")
    n, h, w = gates.shape
    if inside.shape[0] != n or inside.shape[1] % h or inside.shape[2] % w:
        raise ValueError(f"inside and outside must be (N={n}, H, W) with H a multiple of h={h} and W of w={w}, "
                         f"got shape {tuple(inside.shape)}")
    fy, fx = inside.shape[1] // h, inside.shape[2] // w

    def mean_over(mask: Tensor) -> Tensor:
        share = mask.to(gates.dtype).view(n, h, fy, w, fx).mean(dim=(2, 4))  # (N, h, w): covered share of each cell
        return (gates * share).sum(dim=(1, 2)) / share.sum(dim=(1, 2))  # (N,)

    return GateContrast(mean_over(inside), mean_over(outside))
