"""The caption locator: ``python -m explainer.train caption [--out DIR] [--epochs N] [--train-size N] [--threads N]``.

Trains :class:`explainer.models.caption.CaptionLocator` on :func:`explainer.data.hard_scenes`
(``target="word"``: the question names one of 3 to 5 objects by its colour) to give the patch that
holds the named object's centre and its shape, and writes ``caption.pt`` (a float16 state dict).
All randomness comes from ``torch.Generator`` objects made here; the global RNG is neither seeded
nor consumed. Ends with the test figures on fresh scenes: answer accuracy, and how often the
colour word's cross-attention points at the named object (the pointing game).

While training, a linear layer (not shipped) also asks every patch token which colour and which
shape lie under it (an object covering at least a quarter of the patch, or none): the keys then
carry colour from the start, which the colour word's query can learn to match. Without it the
answer loss alone had not moved after 800 steps. Nothing supervises the attention weights.
"""

from __future__ import annotations

import torch
from torch import nn

from explainer.data import COLOURS, SHAPES, Scenes, hard_scenes
from explainer.models.caption import IMAGE_SIZE, PATCH_SIZE, WEIGHTS, CaptionLocator, target_cell
from explainer.train._cli import command_parser, train_and_save
from explainer.train._progress import Progress
from explainer.train.vit import init_weights

__all__ = ["TRAIN_SEED", "TEST_SEED", "MODEL_SEED", "TRAIN_SIZE", "EPOCHS", "BATCH", "train_caption", "evaluate",
           "main"]

TRAIN_SEED, TEST_SEED, MODEL_SEED = 201, 202, 0  # the tests draw their scenes with yet other seeds
TRAIN_SIZE, EPOCHS, BATCH, LR = 8000, 20, 64, 2e-3


def training_scenes(n: int = TRAIN_SIZE, seed: int = TRAIN_SEED) -> Scenes:
    """The word-conditioned hard scenes (the question names the target by its colour)."""
    return hard_scenes(n, IMAGE_SIZE, seed=seed, target="word")


def train_caption(train_size: int = TRAIN_SIZE, epochs: int = EPOCHS, seed: int = MODEL_SEED, log: bool = False,
                  data: Scenes | None = None) -> CaptionLocator:
    """Train a fresh :class:`CaptionLocator`; identical arguments give identical weights."""
    data = training_scenes(train_size) if data is None else data
    cells = target_cell(data.masks[:, 0])  # (N,)
    cover = nn.functional.avg_pool2d(data.masks.float(), PATCH_SIZE).flatten(2).max(1)  # (N, P) best object
    under = cover.values >= 0.25  # (N, P)
    patch_colour = torch.where(under, data.colours.gather(1, cover.indices), len(COLOURS))  # (N, P)
    patch_shape = torch.where(under, data.shapes.gather(1, cover.indices), len(SHAPES))  # (N, P)
    init = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the default init draws from the global RNG; we redraw anyway
        model = init_weights(CaptionLocator(), init)
        patch_head = init_weights(nn.Linear(model.cell_head.in_features, len(COLOURS) + len(SHAPES) + 2), init)
        for attention in (model.words_self, model.cross):  # queries and keys ~ N(0, 1/D): the scores start
            for proj in (attention.q_proj, attention.k_proj):  # varied (std about 1), not uniform, so they learn
                proj.weight.data = torch.randn(proj.weight.shape, generator=init) / proj.weight.shape[1] ** 0.5
        for pos in (model.row_pos, model.col_pos):  # positions as loud as the patch features: the answer (which
            pos.data = torch.randn(pos.shape, generator=init) * 0.5  # patch) is read from the attended values
    order = torch.Generator().manual_seed(seed + 1)
    n = len(data)
    steps = epochs * (n // BATCH)
    opt = torch.optim.AdamW([*model.parameters(), *patch_head.parameters()], lr=LR, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.1)
    model.train()
    progress = Progress(steps, "caption") if log else None
    for _ in range(epochs):
        perm = torch.randperm(n, generator=order)
        for start in range(0, n - BATCH + 1, BATCH):
            idx = perm[start:start + BATCH]
            cell, shape = model(data.images[idx], data.tokens[idx])
            loss = nn.functional.cross_entropy(cell, cells[idx]) + nn.functional.cross_entropy(shape, data.labels[idx])
            under = patch_head(model.patches(data.images[idx])).flatten(0, 1)  # (B * P, colours + shapes + 2)
            loss = loss + nn.functional.cross_entropy(under[:, : len(COLOURS) + 1], patch_colour[idx].flatten())
            loss = loss + nn.functional.cross_entropy(under[:, len(COLOURS) + 1 :], patch_shape[idx].flatten())
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
def evaluate(model: CaptionLocator, data: Scenes) -> dict[str, float]:
    """Answer accuracies, the pointing game of the naming word and the importance map (heads averaged)."""
    out = model.inspect(data.images, data.tokens)
    rows = torch.arange(len(data))
    cell_ok = out.cell.argmax(1) == target_cell(data.masks[:, 0])
    near = (out.cell.argmax(1) // 8 - target_cell(data.masks[:, 0]) // 8).abs().le(1) & \
        (out.cell.argmax(1) % 8 - target_cell(data.masks[:, 0]) % 8).abs().le(1)
    cover = nn.functional.avg_pool2d(data.masks[:, :1].float(), PATCH_SIZE).flatten(1)  # (N, P)
    figures = {"cell": float(cell_ok.float().mean()), "cell within 1": float(near.float().mean()),
               "shape": float((out.shape.argmax(1) == data.labels).float().mean())}
    w = out.cross.mean(1)  # (N, L, P) heads averaged
    named = w[rows, data.word]  # (N, P)
    figures["pointing"] = float((cover[rows, named.argmax(1)] > 0).float().mean())
    keep = out.keep.float()[..., None]
    importance = (w * keep).sum(1) / keep.sum(1)  # (N, P) averaged over the real words
    share = data.masks[:, 0].flatten(1).float().mean(1)
    figures["importance x chance"] = float(((importance * cover).sum(1) / share).mean())
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = command_parser("caption", __doc__, WEIGHTS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--train-size", type=int, default=TRAIN_SIZE)
    args = parser.parse_args(argv)
    model, took = train_and_save(args, WEIGHTS, lambda: train_caption(args.train_size, args.epochs, log=True))
    figures = evaluate(model, hard_scenes(1000, IMAGE_SIZE, seed=TEST_SEED, target="word"))
    print("caption: " + "; ".join(f"{k} {v:.3f}" for k, v in figures.items()) + f"; trained in {took:.0f} s",
          flush=True)


if __name__ == "__main__":
    main()
