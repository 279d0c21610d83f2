"""A tiny encoder-decoder transformer trained here to reverse a short sequence of digits.

Vaswani et al., "Attention Is All You Need" (https://arxiv.org/abs/1706.03762), at toy size and with
the paper's post-norm layers (``LayerNorm(x + sublayer(x))``): the source ``3 1 4 END`` is read by
the encoder; the decoder starts from ``START`` and writes ``4 1 3 END`` one token at a time, each
step seeing the tokens it wrote so far (causal self-attention) and the encoded source
(cross-attention). Reversal is chosen because its cross-attention has a shape to recognise: output
``t`` must look at source position ``n - 1 - t``, an anti-diagonal.

Built from ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer`` (``batch_first=True``),
so :func:`explainer.attention.capture_attention` records ``encoder.layers.<i>.self_attn``,
``decoder.layers.<i>.self_attn`` (causal) and ``decoder.layers.<i>.multihead_attn`` (cross).
Trained by ``python -m explainer.train seq2seq``; :func:`explainer.decoding.greedy_decode` walks
the decoder step by step and records both attentions of every step.

Letters: ``B`` batch, ``S`` source tokens (digits then END), ``T`` target tokens (START, then what
was written), ``D`` = ``d_model``, ``V`` = ``len(VOCAB)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from explainer._validate import check_int, check_tensor

__all__ = ["WEIGHTS", "VOCAB", "PAD", "START", "END", "DIGIT0", "MAX_DIGITS", "Seq2Seq", "build",
           "random_sources", "encode_digits", "reverse_targets", "token_names"]

WEIGHTS = "seq2seq.pt"
VOCAB: tuple[str, ...] = ("PAD", "START", "END", *"0123456789")
PAD, START, END, DIGIT0 = 0, 1, 2, 3
MAX_DIGITS = 8
MAX_LEN = MAX_DIGITS + 2  # START + digits + END on the target side


class Seq2Seq(nn.Module):
    """Token + learned position embeddings, a post-norm encoder and decoder, and a linear read-out.

    Args:
        d_model: token width ``D``; num_heads: heads per attention layer; num_layers: encoder and
            decoder layers each; dim_feedforward: the hidden width of each feed-forward layer.
    """

    def __init__(self, d_model: int = 32, num_heads: int = 2, num_layers: int = 2, dim_feedforward: int = 64) -> None:
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(len(VOCAB), d_model, padding_idx=PAD)
        self.position = nn.Embedding(MAX_LEN, d_model)
        enc = nn.TransformerEncoderLayer(d_model, num_heads, dim_feedforward, dropout=0.0, batch_first=True)
        dec = nn.TransformerDecoderLayer(d_model, num_heads, dim_feedforward, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(enc, num_layers, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec, num_layers)
        self.readout = nn.Linear(d_model, len(VOCAB))

    def _embed(self, tokens: Tensor) -> Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)  # (T,)
        return self.embed(tokens) * self.d_model ** 0.5 + self.position(positions)  # (B, T, D)

    def encode(self, src: Tensor) -> Tensor:
        """``src (B, S)`` token ids -> memory ``(B, S, D)`` (PAD keys are masked)."""
        return self.encoder(self._embed(src), src_key_padding_mask=src == PAD)

    def decode(self, tgt: Tensor, memory: Tensor, src: Tensor) -> Tensor:
        """``tgt (B, T)`` tokens written so far, ``memory (B, S, D)`` -> next-token logits ``(B, T, V)``."""
        T = tgt.shape[1]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool, device=tgt.device), 1)  # (T, T) True = hidden
        h = self.decoder(self._embed(tgt), memory, tgt_mask=causal, tgt_key_padding_mask=tgt == PAD,
                         memory_key_padding_mask=src == PAD)  # (B, T, D)
        return self.readout(h)  # (B, T, V)

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        """Teacher-forced logits ``(B, T, V)`` for ``src (B, S)`` and ``tgt (B, T)``."""
        return self.decode(tgt, self.encode(src), src)


def build() -> Seq2Seq:
    """The untrained architecture whose weights ship as :data:`WEIGHTS` (built without touching the global RNG)."""
    with torch.random.fork_rng(devices=[]):
        return Seq2Seq()


def random_sources(n: int, generator: torch.Generator, min_digits: int = 1,
                   max_digits: int = MAX_DIGITS) -> list[list[int]]:
    """``n`` random digit lists (each digit 0-9), lengths uniform in ``[min_digits, max_digits]``."""
    n = check_int("n", n, minimum=1)
    max_digits = check_int("max_digits", max_digits, minimum=1, maximum=MAX_DIGITS)
    min_digits = check_int("min_digits", min_digits, minimum=1, maximum=max_digits)
    lengths = torch.randint(min_digits, max_digits + 1, (n,), generator=generator)
    digits = torch.randint(0, 10, (n, max_digits), generator=generator)
    return [digits[i, : int(lengths[i])].tolist() for i in range(n)]


def encode_digits(sources: list[list[int]]) -> Tensor:
    """Source token ids ``(B, S)``: each digit list, then END, right-padded with PAD.

    Example:
        >>> encode_digits([[3, 1], [5]])
        tensor([[6, 4, 2],
                [8, 2, 0]])
    """
    if not sources or any(not 1 <= len(s) <= MAX_DIGITS for s in sources):
        raise ValueError(f"sources must be non-empty lists of 1 to {MAX_DIGITS} digits, got {sources!r}")
    if any(not (isinstance(d, int) and 0 <= d <= 9) for s in sources for d in s):
        raise ValueError(f"sources must hold digits 0-9, got {sources!r}")
    S = max(len(s) for s in sources) + 1
    out = torch.full((len(sources), S), PAD, dtype=torch.long)
    for i, s in enumerate(sources):
        out[i, : len(s) + 1] = torch.tensor([d + DIGIT0 for d in s] + [END])
    return out


def reverse_targets(sources: list[list[int]]) -> Tensor:
    """Target token ids ``(B, T)``: START, the digits reversed, END, right-padded with PAD."""
    T = max(len(s) for s in sources) + 2
    out = torch.full((len(sources), T), PAD, dtype=torch.long)
    for i, s in enumerate(sources):
        out[i, : len(s) + 2] = torch.tensor([START] + [d + DIGIT0 for d in reversed(s)] + [END])
    return out


def token_names(tokens: Tensor | list[int]) -> list[str]:
    """Readable names of token ids: ``[6, 2] -> ['3', 'END']``."""
    ids = check_tensor("tokens", tokens, ndim=1).tolist() if isinstance(tokens, Tensor) else list(tokens)
    return [VOCAB[i] for i in ids]
