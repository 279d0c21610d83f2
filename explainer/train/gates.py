"""The gated CNNs: ``python -m explainer.train gates [--out DIR] [--gates se cbam ...] [--epochs N]``.

Trains :class:`explainer.models.GatedCNN` with each gate (none, SE, CBAM, ECA) on the same seeded
:func:`explainer.data.scenes`, with the same seeded initial convolutions, and writes
``gates_<gate>.pt`` (float16 state dicts, loaded back as float32). All randomness comes from
``torch.Generator`` objects created here; the global RNG is never seeded (nor consumed). The
models are small enough for all four to train on a CPU; the line that closes each variant reports
how long it took.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from explainer.data import scenes
from explainer.gating import GATES
from explainer.models import IMAGE_SIZE, WEIGHTS_DIR, GatedCNN, init_weights
from explainer.train._progress import Progress

__all__ = ["MODEL_SEED", "TEST_SEED", "TRAIN_SEED", "accuracy", "main", "train_gated_cnn"]

TRAIN_SEED, TEST_SEED = 1, 2  # the scenes: training set and the fresh test set
# The initialisation / batch-order seed of the shipped weights. Every seed 0-4 gives CBAM stage-0 spatial gates
# that light up the objects (37-46% of the top-gated cells on objects, 15.5% by chance); the stage-1 gate's sign
# is a coin flip: seeds 1 and 2 light the objects up (74-76%), seeds 0, 3 and 4 turn them down instead (52-67% of
# the *lowest*-gated cells on objects). We ship seed 1, where every stage points the way the lesson first
# explains, and the lesson says that other seeds flip stage 1.
MODEL_SEED = 1
TRAIN_SIZE, EPOCHS, BATCH = 4000, 4, 64


def train_gated_cnn(gate: str, train_size: int = TRAIN_SIZE, epochs: int = EPOCHS, seed: int = MODEL_SEED,
                    log: bool = False) -> GatedCNN:
    """Train ``GatedCNN(gate)`` on ``train_size`` scenes; identical inputs give identical weights."""
    data = scenes(train_size, IMAGE_SIZE, seed=TRAIN_SEED)
    init = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the default init would draw from the global RNG; we redraw anyway
        model = init_weights(GatedCNN(gate), init)
    order = torch.Generator().manual_seed(seed + 1)
    steps = epochs * (train_size // BATCH)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    model.train()
    progress = Progress(steps, f"gates {gate}") if log else None
    for epoch in range(epochs):
        perm = torch.randperm(train_size, generator=order)
        total = 0.0
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
            total += float(loss.detach())
            if progress is not None:
                progress.step(loss=float(loss.detach()))
    if progress is not None:
        progress.close()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, n: int = 1000, seed: int = TEST_SEED) -> float:
    """Top-1 accuracy on ``n`` fresh scenes drawn with ``seed``."""
    data = scenes(n, IMAGE_SIZE, seed=seed)
    return float((model(data.images).argmax(1) == data.labels).float().mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m explainer.train gates", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder for the .pt files")
    parser.add_argument("--gates", nargs="+", default=list(GATES), choices=GATES)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for gate in args.gates:
        start = time.perf_counter()
        model = train_gated_cnn(gate, epochs=args.epochs, log=True)
        state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
        torch.save(state, args.out / f"gates_{gate}.pt")
        print(f"{gate}: test accuracy {accuracy(model):.3f} in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
