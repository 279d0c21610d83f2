"""The tiny ViT: ``python -m explainer.train vit [--out DIR] [--epochs N] [--train-size N] [--threads N]``.

Trains :class:`explainer.models.vit.TinyViT` on :func:`explainer.data.hard_scenes` (``target="image"``:
name the shape of the largest of 3 to 5 objects) and writes ``vit.pt`` (a float16 state dict). All
randomness (scenes, initial weights, batch order, flips) comes from ``torch.Generator`` objects made
here; the global RNG is neither seeded nor consumed. Ends with the test accuracy on fresh scenes
and the share of the class token's attention rollout on the target (the figures the tests check).

Besides the class token's label, every patch token is asked (by a linear layer used only while
training, not shipped) what lies under it: the target's shape where the target covers at least a
quarter of the patch, "not the target" elsewhere ("token labelling", Jiang et al. 2021,
https://arxiv.org/abs/2104.10858). Without it the class token's loss alone stayed at chance for
800 steps on these scenes (the easy :func:`~explainer.data.scenes` start learning after about 150);
with it the patch tokens learn what the target looks like within a few hundred steps. Nothing
supervises the attention: where the class token looks is learned from the loss alone.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from explainer.data import SHAPES, Scenes, hard_scenes
from explainer.models.vit import IMAGE_SIZE, PATCH_SIZE, WEIGHTS, TinyViT
from explainer.train._cli import command_parser, train_and_save
from explainer.train._progress import Progress

__all__ = ["TRAIN_SEED", "TEST_SEED", "MODEL_SEED", "TRAIN_SIZE", "EPOCHS", "BATCH", "TOKEN_LOSS", "init_weights",
           "train_vit",
           "accuracy", "rollout_on_target", "main"]

TRAIN_SEED, TEST_SEED, MODEL_SEED = 101, 102, 0  # the tests draw their scenes with yet other seeds
TRAIN_SIZE, EPOCHS, BATCH, LR = 10000, 24, 64, 2e-3
TOKEN_LOSS = 1.0  # weight of the patch tokens' loss beside the class token's


def init_weights(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Redraw every parameter from ``generator``: linear layers and tokens ~ N(0, 0.02), convolutions
    He-normal, biases 0, layer norms 1 / 0 (the usual ViT recipe); returns ``model``."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif p.ndim == 1:  # layer-norm gains
                p.fill_(1.0)
            elif p.ndim == 4:  # convolutions
                p.copy_(torch.randn(p.shape, generator=generator) * math.sqrt(2.0 / p[0].numel()))
            else:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.02)
    return model


def training_scenes(n: int = TRAIN_SIZE, seed: int = TRAIN_SEED) -> Scenes:
    """The image-only hard scenes (the label is the shape of the largest object)."""
    return hard_scenes(n, IMAGE_SIZE, seed=seed, target="image")


def train_vit(train_size: int = TRAIN_SIZE, epochs: int = EPOCHS, seed: int = MODEL_SEED, log: bool = False,
              data: Scenes | None = None) -> TinyViT:
    """Train a fresh :class:`TinyViT`; identical arguments give identical weights."""
    data = training_scenes(train_size) if data is None else data
    cover = nn.functional.avg_pool2d(data.masks[:, :1].float(), PATCH_SIZE).flatten(1)  # (N, P) target share
    token_labels = torch.where(cover >= 0.25, data.labels[:, None], len(SHAPES))  # (N, P); len(SHAPES) = "not it"
    init = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the default init draws from the global RNG; we redraw anyway
        model = init_weights(TinyViT(), init)
        token_head = init_weights(nn.Linear(model.head.in_features, len(SHAPES) + 1), init)
    order = torch.Generator().manual_seed(seed + 1)
    n, grid = len(data), IMAGE_SIZE // PATCH_SIZE
    steps = epochs * (n // BATCH)
    decay = [p for name, p in model.named_parameters() if p.ndim >= 2 and "pos" not in name and "cls" not in name]
    rest = [p for name, p in model.named_parameters() if not (p.ndim >= 2 and "pos" not in name and "cls" not in name)]
    decay, rest = decay + [token_head.weight], rest + [token_head.bias]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}], lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.1)
    model.train()
    progress = Progress(steps, "vit") if log else None
    for _ in range(epochs):
        perm = torch.randperm(n, generator=order)
        for start in range(0, n - BATCH + 1, BATCH):
            idx = perm[start:start + BATCH]
            x = data.images[idx]
            flip = torch.rand(BATCH, generator=order) < 0.5  # a mirrored shape keeps its class
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
            labels = token_labels[idx].view(-1, grid, grid)  # (B, grid, grid), flipped with the picture
            labels = torch.where(flip.view(-1, 1, 1), labels.flip(-1), labels).flatten(1)  # (B, P)
            out = model.inspect(x)
            loss = nn.functional.cross_entropy(out.logits, data.labels[idx], label_smoothing=0.05)
            tokens = token_head(model.norm(out.tokens[:, 1:]))  # (B, P, classes + 1)
            loss = loss + TOKEN_LOSS * nn.functional.cross_entropy(tokens.flatten(0, 1), labels.flatten())
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
def accuracy(model: nn.Module, data: Scenes) -> float:
    """Top-1 accuracy on ``data``."""
    return float((model(data.images).argmax(1) == data.labels).float().mean())


@torch.no_grad()
def rollout_on_target(model: TinyViT, data: Scenes) -> tuple[float, float]:
    """Mean share of the class token's attention rollout (over patches, spread evenly over each patch's
    pixels) that lies on the target's mask, and the mean share of the image the mask covers."""
    from explainer.attention import attention_rollout

    out = model.inspect(data.images)
    cls = attention_rollout(list(out.weights))[:, 0, 1:]  # (B, P)
    cls = cls / cls.sum(-1, keepdim=True)
    cover = nn.functional.avg_pool2d(data.masks[:, :1].float(), PATCH_SIZE).flatten(1)  # (B, P) mask share per patch
    on_target = (cls * cover).sum(-1)  # (B,): mass on the mask's pixels
    share = data.masks[:, 0].flatten(1).float().mean(-1)  # (B,)
    return float(on_target.mean()), float(share.mean())


def main(argv: list[str] | None = None) -> None:
    parser = command_parser("vit", __doc__, WEIGHTS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--train-size", type=int, default=TRAIN_SIZE)
    args = parser.parse_args(argv)
    model, took = train_and_save(args, WEIGHTS, lambda: train_vit(args.train_size, args.epochs, log=True))
    test = hard_scenes(1000, IMAGE_SIZE, seed=TEST_SEED, target="image")
    on_target, share = rollout_on_target(model, test)
    print(f"vit: test accuracy {accuracy(model, test):.3f}; class-token rollout on the target {on_target:.3f} of "
          f"its mass, {on_target / share:.1f}x the mask's share of the image ({share:.3f}); trained in {took:.0f} s",
          flush=True)


if __name__ == "__main__":
    main()
