"""A tiny CNN with a swappable gate per stage, trained on :func:`explainer.data.hard_scenes`, and its shipped weights.

``GatedCNN(gate)`` has three stages ``conv3x3 -> BN -> ReLU -> conv3x3 -> BN -> ReLU -> gate -> pool``
(widths 16, 32, 64) and a linear classifier over the globally pooled last stage; ``gate`` is one of
:data:`explainer.gating.GATES`, the same for every stage so that variants compare. Weights made by
``python -m explainer.train gates`` (the label: the shape of the largest of 3 to 5 objects, see
:func:`explainer.train.gates.training_scenes`) ship in ``explainer/weights/gates_<gate>.pt`` and load with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from explainer._validate import check_choice, check_int, check_tensor
from explainer.data import SHAPES
from explainer.gating import GATES, Gates, make_gate
from explainer.models._weights import WEIGHTS_DIR, load_state

__all__ = [
    "IMAGE_SIZE",
    "REDUCTION",
    "WEIGHTS_DIR",
    "WIDTHS",
    "GatedCNN",
    "StageOutputs",
    "init_weights",
    "load_gated",
    "weights_path",
]

WIDTHS = (16, 32, 64)
REDUCTION = 4  # 16 would leave the 16-channel stage a 1-unit bottleneck
IMAGE_SIZE = 32


def _stage(c_in: int, c_out: int, gate: str) -> nn.ModuleDict:
    convs = nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                          nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())
    block = make_gate(gate, c_out, REDUCTION)
    return nn.ModuleDict({"convs": convs, "gate": block if block is not None else nn.Identity()})


@dataclass(frozen=True)
class StageOutputs:
    """What one forward pass saw.

    Attributes:
        logits: (B, num_classes).
        features: per stage, the (B, C, H, W) map entering the gate.
        gates: per stage, the :class:`~explainer.gating.Gates` (None for ``gate="none"``).
    """

    logits: Tensor
    features: tuple[Tensor, ...]
    gates: tuple[Gates | None, ...]


class GatedCNN(nn.Module):
    """Three conv stages, each followed by the same kind of gate, then global pooling and a classifier.

    Args:
        gate: ``"none"``, ``"se"``, ``"cbam"`` or ``"eca"``.
        num_classes: outputs (the scene shapes by default).

    Shapes: ``x (B, 3, H, W)`` in [0, 1] ``-> logits (B, num_classes)``; stage maps are H, H/2, H/4.

    Example:
        >>> GatedCNN("cbam")(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 4])
    """

    def __init__(self, gate: str = "none", num_classes: int = len(SHAPES)) -> None:
        super().__init__()
        self.gate = check_choice("gate", gate, GATES)
        num_classes = check_int("num_classes", num_classes, minimum=2)
        widths = (3, *WIDTHS)
        self.stages = nn.ModuleList(_stage(a, b, gate) for a, b in zip(widths[:-1], widths[1:]))
        self.head = nn.Linear(WIDTHS[-1], num_classes)

    def inspect(self, x: Tensor) -> StageOutputs:
        """Forward pass that keeps each stage's pre-gate map and its gates."""
        x = check_tensor("x", x, ndim=4)
        if x.shape[1] != 3:
            raise ValueError(f"x must be RGB images (B, 3, H, W), got shape {tuple(x.shape)}")
        h = x - 0.5
        features, gates = [], []
        for i, stage in enumerate(self.stages):
            h = stage["convs"](h)  # (B, C_i, H_i, W_i)
            features.append(h)
            gates.append(stage["gate"].gates(h) if self.gate != "none" else None)
            h = stage["gate"](h)
            if i < len(self.stages) - 1:
                h = nn.functional.max_pool2d(h, 2)  # (B, C_i, H_i/2, W_i/2)
        return StageOutputs(self.head(h.mean(dim=(2, 3))), tuple(features), tuple(gates))

    def forward(self, x: Tensor) -> Tensor:
        h = x - 0.5
        for i, stage in enumerate(self.stages):
            h = stage["gate"](stage["convs"](h))
            if i < len(self.stages) - 1:
                h = nn.functional.max_pool2d(h, 2)
        return self.head(h.mean(dim=(2, 3)))  # (B, num_classes)


def init_weights(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-initialise every conv / linear weight from ``generator`` (Kaiming uniform), biases to zero."""
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(module.weight, a=5**0.5, generator=generator)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def weights_path(gate: str) -> Path:
    """Where the shipped weights of ``GatedCNN(gate)`` live."""
    return WEIGHTS_DIR / f"gates_{check_choice('gate', gate, GATES)}.pt"


def load_gated(gate: str) -> GatedCNN:
    """A fresh ``GatedCNN(gate)`` in eval mode with the shipped weights (float32, CPU).

    Example:
        >>> load_gated("cbam").training
        False
    """
    with torch.random.fork_rng(devices=[]):  # the default initialisation, overwritten at once, draws from it
        model = GatedCNN(gate)
    model.load_state_dict(load_state(weights_path(gate), "gates"))
    return model.eval()
