"""The digit-reversal transformer: ``python -m explainer.train seq2seq [--out DIR] [--steps N] [--threads N]``.

Trains :class:`explainer.models.seq2seq.Seq2Seq` to reverse 1 to 8 random digits (teacher forcing,
cross-entropy on every target token) and writes ``seq2seq.pt`` (a float16 state dict). Every batch
of sequences, the initial weights and nothing else are drawn from ``torch.Generator`` objects made
here; the global RNG is neither seeded nor consumed. Ends with the exact-sequence accuracy of
greedy decoding on fresh sequences (the figure the tests check).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from explainer.models.seq2seq import PAD, WEIGHTS, Seq2Seq, build, encode_digits, random_sources, reverse_targets
from explainer.train._cli import command_parser, train_and_save
from explainer.train._progress import Progress

__all__ = ["TRAIN_SEED", "TEST_SEED", "MODEL_SEED", "STEPS", "BATCH", "init_weights", "train_seq2seq",
           "exact_accuracy", "main"]

TRAIN_SEED, TEST_SEED, MODEL_SEED = 201, 202, 0  # the tests draw their sequences with yet other seeds
STEPS, BATCH, LR = 3000, 128, 2e-3


def init_weights(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Redraw every parameter from ``generator``: matrices Xavier-uniform, embeddings N(0, 1/D),
    biases 0, layer norms 1; returns ``model``."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif p.ndim == 1:
                p.fill_(1.0)
            elif "embed" in name or "position" in name:
                p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(p.shape[1]))
            else:
                bound = math.sqrt(6.0 / (p.shape[0] + p.shape[1]))
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)
    return model


def train_seq2seq(steps: int = STEPS, seed: int = MODEL_SEED, log: bool = False) -> Seq2Seq:
    """Train a fresh :class:`Seq2Seq`; identical arguments give identical weights."""
    model = init_weights(build(), torch.Generator().manual_seed(seed))
    data = torch.Generator().manual_seed(TRAIN_SEED + seed)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.1)
    model.train()
    progress = Progress(steps, "seq2seq") if log else None
    for _ in range(steps):
        sources = random_sources(BATCH, data)
        src, tgt = encode_digits(sources), reverse_targets(sources)  # (B, S), (B, T)
        logits = model(src, tgt[:, :-1])  # (B, T-1, V): predict each next token
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if progress is not None:
            progress.step(loss=float(loss.detach()))
    if progress is not None:
        progress.close()
    return model.eval()


def exact_accuracy(model: Seq2Seq, sources: list[list[int]]) -> float:
    """Share of ``sources`` whose greedy decoding (until END) is exactly the reversed digits, then END."""
    from explainer.decoding import greedy_decode_batch

    written = greedy_decode_batch(model, encode_digits(sources))
    expected = [[*reversed(s)] for s in sources]
    return sum(w == e for w, e in zip(written, expected, strict=True)) / len(sources)


def main(argv: list[str] | None = None) -> None:
    parser = command_parser("seq2seq", __doc__, WEIGHTS)
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv)
    model, took = train_and_save(args, WEIGHTS, lambda: train_seq2seq(args.steps, log=True))
    test = random_sources(2000, torch.Generator().manual_seed(TEST_SEED))
    print(f"seq2seq: exact-sequence accuracy {exact_accuracy(model, test):.4f} on 2000 fresh sequences of 1-8 "
          f"digits; trained in {took:.0f} s", flush=True)


if __name__ == "__main__":
    main()
