"""The gated CNNs: ``python -m explainer.train gates [--out DIR] [--gates se cbam ...] [--epochs N]``.

Trains :class:`explainer.models.GatedCNN` with each gate (none, SE, CBAM, ECA) on the same seeded
hard scenes (:func:`training_scenes`: :func:`explainer.data.hard_scenes`, the label is the shape of the
largest of 3 to 5 objects), drawn once, and writes ``gates_<gate>.pt`` (float16 state dicts, loaded back
as float32). All randomness comes from ``torch.Generator`` objects created here; the global RNG is
never seeded (nor consumed), and the command runs on one thread, so the weights do not depend on the
machine's core count. The models are small enough to train on a CPU; the line that closes each
variant reports its test accuracy and how long it took.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from explainer.data import Scenes, hard_scenes
from explainer.gating import GATES
from explainer.models import IMAGE_SIZE, WEIGHTS_DIR, GatedCNN, init_weights
from explainer.models._weights import save_state
from explainer.train._progress import Progress

__all__ = ["CBAM_SEED", "MODEL_SEED", "MODEL_SEEDS", "TEST_SEED", "TRAIN_SEED", "accuracy", "main", "train_gated_cnn",
           "training_scenes"]

TRAIN_SEED, TEST_SEED = 1, 2  # the scenes: training set and the fresh test set
# The initialisation / batch-order seeds of the shipped weights. On these scenes the outcome of a run depends a great
# deal on its seed: the loss sits near log 4 (chance) for a long time, and some runs leave that plateau late or not
# at all; CBAM's stage-1 spatial gate turned the target up in some runs and down in others. We ship seed MODEL_SEED
# for the other three and CBAM_SEED for CBAM (the figures of every seed tried are in tests/test_models.py).
MODEL_SEED = 5
CBAM_SEED = 4
MODEL_SEEDS = {**{gate: MODEL_SEED for gate in GATES}, "cbam": CBAM_SEED}
TRAIN_SIZE, EPOCHS, BATCH = 6000, 4, 64


def train_gated_cnn(gate: str, train_size: int = TRAIN_SIZE, epochs: int = EPOCHS, seed: int | None = None,
                    log: bool = False, data: Scenes | None = None) -> GatedCNN:
    """Train ``GatedCNN(gate)`` on ``train_size`` scenes; identical inputs give identical weights.

    ``seed``: initialisation and batch order, ``MODEL_SEEDS[gate]`` when None. ``data``: the training
    scenes, if already drawn (``training_scenes(train_size)``); drawn here otherwise.
    """
    seed = MODEL_SEEDS[gate] if seed is None else seed
    if data is None:
        data = training_scenes(train_size)
    train_size = len(data)
    init = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the default init would draw from the global RNG; we redraw anyway
        model = init_weights(GatedCNN(gate), init)
    order = torch.Generator().manual_seed(seed + 1)
    steps = epochs * (train_size // BATCH)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    model.train()
    progress = Progress(steps, f"gates {gate}") if log else None
    for _ in range(epochs):
        perm = torch.randperm(train_size, generator=order)
        for start in range(0, train_size - BATCH + 1, BATCH):
            idx = perm[start:start + BATCH]
            x = data.images[idx]
            if torch.rand(1, generator=order) < 0.5:  # horizontal flip keeps every shape's class
                x = x.flip(-1)
            loss = nn.functional.cross_entropy(model(x), data.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if progress is not None:
                progress.step(loss=float(loss.detach()))
    if progress is not None:
        progress.close()
    return model.eval()


def training_scenes(n: int, seed: int = TRAIN_SEED) -> Scenes:
    """The scenes the gated CNNs learn from and are tested on: :func:`explainer.data.hard_scenes` with the
    image-only target (the label is the shape of the largest of 3 to 5 objects)."""
    return hard_scenes(n, IMAGE_SIZE, seed=seed, target="image")


@torch.no_grad()
def accuracy(model: nn.Module, n: int = 1000, seed: int = TEST_SEED, data: Scenes | None = None) -> float:
    """Top-1 accuracy on ``n`` fresh scenes drawn with ``seed`` (or on ``data``)."""
    data = training_scenes(n, seed) if data is None else data
    return float((model(data.images).argmax(1) == data.labels).float().mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m explainer.train gates", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder for the .pt files")
    parser.add_argument("--gates", nargs="+", default=list(GATES), choices=GATES)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=None,
                        help="initialisation and batch-order seed (default: each gate's shipped seed, MODEL_SEEDS)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # One thread: the weights then do not depend on the machine's core count (the convolutions' sums are
    # split per thread), and on a small shared machine competing threads only slow each other down.
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = training_scenes(TRAIN_SIZE)  # drawn once for every variant
    print(f"{TRAIN_SIZE} training scenes drawn in {time.perf_counter() - start:.0f} s", flush=True)
    for gate in args.gates:
        start = time.perf_counter()
        model = train_gated_cnn(gate, epochs=args.epochs, seed=args.seed, log=True, data=data)
        save_state(model, args.out / f"gates_{gate}.pt")
        print(f"{gate}: test accuracy {accuracy(model):.3f} in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
