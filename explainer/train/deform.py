"""The deformable CNN: ``python -m explainer.train deform [--out DIR] [--epochs N] [--train-size N]``.

Trains :class:`explainer.models.deform.DeformCNN` to name the shape of the one object in
:func:`explainer.data.hard_scenes` whose size varies threefold (``scale=(0.5, 1.6)``) and whose
angle is random (``rotate=True``), and writes ``deform.pt`` (a float16 state dict, loaded back as
float32). The offset head starts at zero, so training starts from an ordinary CNN, and learns with
the rest, at the same rate and without weight decay. All randomness comes from ``torch.Generator`` objects made here;
the global RNG is never seeded (nor consumed). The last line reports the test accuracy and the time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from explainer.data import Scenes, hard_scenes
from explainer.models import WEIGHTS_DIR, init_weights
from explainer.models._weights import save_state
from explainer.models.deform import WEIGHTS, DeformCNN
from explainer.train._progress import Progress

__all__ = ["EPOCHS", "MODEL_SEED", "SCENES", "TEST_SEED", "TRAIN_SEED", "TRAIN_SIZE", "accuracy", "main",
           "test_scenes", "train_deform"]

TRAIN_SEED, TEST_SEED = 1, 2  # the scenes: training set and the fresh test set
MODEL_SEED = 0  # initial weights and batch order
# One object per scene, fully opaque, on the clutter; its size r (the radius of the disc of equal area)
# runs from about 2.3 to 9.7 pixels on a 32 x 32 scene, and it is turned by a random angle.
SCENES = {"objects": (1, 1), "scale": (0.5, 1.6), "rotate": True, "contrast": 1.0}
IMAGE_SIZE = 32
TRAIN_SIZE, EPOCHS, BATCH = 4000, 8, 64
LR, OFFSET_LR = 3e-3, 3e-3


def test_scenes(n: int = 500, seed: int = TEST_SEED) -> Scenes:
    """``n`` fresh scenes of the kind the model is trained on, drawn with ``seed``."""
    return hard_scenes(n, IMAGE_SIZE, seed=seed, **SCENES)


def _fresh_model(seed: int) -> DeformCNN:
    with torch.random.fork_rng(devices=[]):  # the default init would draw from the global RNG; we redraw anyway
        model = init_weights(DeformCNN(), torch.Generator().manual_seed(seed))
    nn.init.zeros_(model.deform.offset_conv.weight)  # as in the paper: start as an ordinary convolution
    nn.init.zeros_(model.deform.offset_conv.bias)
    return model


def train_deform(train_size: int = TRAIN_SIZE, epochs: int = EPOCHS, seed: int = MODEL_SEED,
                 log: bool = False) -> DeformCNN:
    """Train a :class:`DeformCNN` on ``train_size`` scenes; identical inputs give identical weights."""
    data = hard_scenes(train_size, IMAGE_SIZE, seed=TRAIN_SEED, **SCENES)
    model = _fresh_model(seed)
    order = torch.Generator().manual_seed(seed + 1)
    offsets = [p for name, p in model.named_parameters() if name.startswith("deform.offset_conv")]
    rest = [p for name, p in model.named_parameters() if not name.startswith("deform.offset_conv")]
    opt = torch.optim.AdamW([{"params": rest}, {"params": offsets, "weight_decay": 0.0}], lr=LR, weight_decay=1e-4)
    steps = epochs * (train_size // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[LR, OFFSET_LR], total_steps=steps)
    model.train()
    progress = Progress(steps, "deform") if log else None
    for _ in range(epochs):
        perm = torch.randperm(train_size, generator=order)
        for start in range(0, train_size - BATCH + 1, BATCH):
            idx = perm[start:start + BATCH]
            loss = nn.functional.cross_entropy(model(data.images[idx]), data.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if progress is not None:
                progress.step(loss=float(loss.detach()))
    if progress is not None:
        progress.close()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, scenes: Scenes | None = None) -> float:
    """Top-1 accuracy on ``scenes`` (by default :func:`test_scenes`)."""
    scenes = test_scenes() if scenes is None else scenes
    return float((model(scenes.images).argmax(1) == scenes.labels).float().mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m explainer.train deform", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder for deform.pt")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--train-size", type=int, default=TRAIN_SIZE)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model = train_deform(args.train_size, args.epochs, log=True)
    save_state(model, args.out / WEIGHTS)
    print(f"deform: test accuracy {accuracy(model):.3f} in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
