"""The tiny models trained here on :mod:`explainer.data` scenes, and their shipped weights.

Every model has a name for :func:`load_pretrained` and for ``python -m explainer.train NAME``:

* ``"none"``, ``"se"``, ``"cbam"``, ``"eca"``: :class:`~explainer.models.gated.GatedCNN` with that gate
  in every stage (trained together by ``python -m explainer.train gates``);
* every further name of :data:`MODELS`: the module ``explainer.models.<name>``, which provides
  ``build() -> nn.Module`` (the untrained architecture) and ``WEIGHTS`` (its file name in
  ``explainer/weights/``); ``python -m explainer.train <name>`` makes the file.

Weights load with ``torch.load(weights_only=True)`` into a fresh model, in eval mode, on the CPU.
"""

from __future__ import annotations

import importlib

import torch
from torch import nn

from explainer._validate import check_choice
from explainer.gating import GATES
from explainer.models._weights import WEIGHTS_DIR, load_state
from explainer.models.gated import (
    IMAGE_SIZE,
    REDUCTION,
    WIDTHS,
    GatedCNN,
    StageOutputs,
    init_weights,
    load_gated,
    weights_path,
)

__all__ = [
    "IMAGE_SIZE",
    "MODELS",
    "PRETRAINED",
    "REDUCTION",
    "WEIGHTS_DIR",
    "WIDTHS",
    "GatedCNN",
    "StageOutputs",
    "init_weights",
    "load_pretrained",
    "weights_path",
]

# Models beyond the gated CNNs: name -> module explainer.models.<name> (build(), WEIGHTS).
MODELS: tuple[str, ...] = ("seq2seq", "vit", "caption", "deform")
PRETRAINED: tuple[str, ...] = (*GATES, *MODELS)


def load_pretrained(name: str) -> nn.Module:
    """A fresh model ``name`` (see :data:`PRETRAINED`) with its shipped weights, in eval mode, float32, CPU.

    Example:
        >>> load_pretrained("cbam").training
        False
    """
    name = check_choice("name", name, PRETRAINED)
    if name in GATES:
        return load_gated(name)
    module = importlib.import_module(f"explainer.models.{name}")
    with torch.random.fork_rng(devices=[]):  # the default initialisation, overwritten at once, draws from it
        model = module.build()
    model.load_state_dict(load_state(WEIGHTS_DIR / module.WEIGHTS, name))
    return model.eval()
