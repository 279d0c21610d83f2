"""Autoregressive decoding, one token at a time until END, with the attention of every step recorded.

An encoder-decoder transformer (Vaswani et al. 2017, https://arxiv.org/abs/1706.03762) writes its
output one token per step: the encoder reads the source once; at step ``t`` the decoder gets the
``t + 1`` tokens written so far (START first), its causal self-attention lets token ``i`` see
tokens ``0..i`` only, its cross-attention lets every written token look at the whole source, and
the last position's logits pick the next token (greedily: the most likely one). Decoding stops
when END is written, or after ``max_steps``.

:func:`greedy_decode` records, with :func:`explainer.attention.capture_attention`, the per-head
weights of every decoder attention layer at every step; :func:`greedy_decode_batch` decodes many
sources at once without recording (for accuracy figures). Both work on any model with
``encode(src) -> memory`` and ``decode(tgt, memory, src) -> logits (B, T, V)`` methods, such as
:class:`explainer.models.seq2seq.Seq2Seq`.

Letters: ``S`` source tokens, ``t`` the step (``t + 1`` tokens in), ``L`` decoder layers, ``H`` heads,
``V`` vocabulary size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_int, check_tensor
from explainer.attention import capture_attention

__all__ = ["DecodeStep", "Decoding", "greedy_decode", "greedy_decode_batch"]


@dataclass(frozen=True)
class DecodeStep:
    """What the decoder did at one step.

    Attributes:
        inputs: ``(t + 1,)`` the tokens the decoder read (START, then the tokens written so far).
        token: the token written at this step (the argmax of ``probabilities``).
        probabilities: ``(V,)`` softmax of the last position's logits.
        self_attention: ``(L, H, t + 1, t + 1)`` causal self-attention of each decoder layer over
            ``inputs`` (upper triangle exactly 0); row ``t`` is this step's query.
        cross_attention: ``(L, H, t + 1, S)`` each input token's attention over the source tokens.
    """

    inputs: Tensor
    token: int
    probabilities: Tensor
    self_attention: Tensor
    cross_attention: Tensor


@dataclass(frozen=True)
class Decoding:
    """A whole greedy decoding: ``source (S,)``, the ``steps`` in order, and the tokens written.

    ``written`` lists the tokens of every step, END included when decoding reached it
    (``finished``); ``self_layers`` / ``cross_layers`` name the recorded modules, one per ``L``.
    """

    source: Tensor
    steps: tuple[DecodeStep, ...]
    written: tuple[int, ...]
    finished: bool
    self_layers: tuple[str, ...]
    cross_layers: tuple[str, ...]


def _check_model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module) or not all(callable(getattr(model, m, None)) for m in ("encode", "decode")):
        raise TypeError(f"model must be an nn.Module with encode(src) and decode(tgt, memory, src) methods, "
                        f"got {type(model).__name__}")
    return model


@torch.no_grad()
def greedy_decode(model: nn.Module, source: Tensor, start: int, end: int, max_steps: int = 16) -> Decoding:
    """Decode one source greedily until ``end``, recording both attentions of every step.

    Every step reruns the decoder on all tokens written so far (no key/value cache), so the
    recorded self-attention is the full ``(t + 1) x (t + 1)`` causal matrix of that step.

    Args:
        model: in eval mode, with ``encode`` / ``decode`` (see the module docstring).
        source: ``(S,)`` source token ids.
        start, end: the START and END token ids.
        max_steps: stop after this many steps if END never comes (>= 1).

    Returns:
        A :class:`Decoding`.

    Example:
        >>> from explainer.models import load_pretrained
        >>> from explainer.models.seq2seq import START, END, encode_digits, token_names
        >>> d = greedy_decode(load_pretrained("seq2seq"), encode_digits([[3, 1, 4]])[0], START, END)
        >>> token_names(list(d.written)), d.finished, tuple(d.steps[-1].cross_attention.shape)
        (['4', '1', '3', 'END'], True, (2, 2, 4, 4))
    """
    model = _check_model(model)
    source = check_tensor("source", source, ndim=1)
    max_steps = check_int("max_steps", max_steps, minimum=1)
    src = source.unsqueeze(0)  # (1, S)
    memory = model.encode(src)  # (1, S, D)
    tokens, steps = [check_int("start", start)], []
    check_int("end", end)
    with capture_attention(model.decoder if hasattr(model, "decoder") else model) as rec:
        for _ in range(max_steps):
            inputs = torch.tensor(tokens, device=source.device)  # (t+1,)
            logits = model.decode(inputs.unsqueeze(0), memory, src)[0, -1]  # (V,)
            probabilities = logits.softmax(-1)
            token = int(probabilities.argmax())
            self_names = [n for n in rec.maps if n.endswith("self_attn")]
            cross_names = [n for n in rec.maps if not n.endswith("self_attn")]
            steps.append(DecodeStep(inputs, token, probabilities,
                                    torch.stack([rec.maps[n][0] for n in self_names]),  # (L, H, t+1, t+1)
                                    torch.stack([rec.maps[n][0] for n in cross_names])))  # (L, H, t+1, S)
            tokens.append(token)
            if token == end:
                break
    return Decoding(source, tuple(steps), tuple(tokens[1:]), tokens[-1] == end, tuple(self_names),
                    tuple(cross_names))


@torch.no_grad()
def greedy_decode_batch(model: nn.Module, sources: Tensor, start: int = 1, end: int = 2,
                        max_steps: int = 16) -> list[list[int]]:
    """Greedy decoding of a batch ``sources (B, S)``; per source, the tokens written before END.

    A source that never writes END within ``max_steps`` keeps all it wrote. ``start`` / ``end``
    default to :mod:`explainer.models.seq2seq`'s ids. Digits come back as ids minus 3 (``DIGIT0``)
    when the model is the digit reverser; other token ids are returned as they are.
    """
    from explainer.models.seq2seq import DIGIT0

    model = _check_model(model)
    sources = check_tensor("sources", sources, ndim=2)
    memory = model.encode(sources)  # (B, S, D)
    tgt = torch.full((sources.shape[0], 1), start, dtype=torch.long, device=sources.device)  # (B, 1)
    done = torch.zeros(sources.shape[0], dtype=torch.bool, device=sources.device)
    for _ in range(check_int("max_steps", max_steps, minimum=1)):
        nxt = model.decode(tgt, memory, sources)[:, -1].argmax(-1)  # (B,)
        tgt = torch.cat([tgt, nxt.unsqueeze(1)], 1)  # (B, t+2)
        done |= nxt == end
        if bool(done.all()):
            break
    out = []
    for row in tgt[:, 1:].tolist():
        row = row[: row.index(end)] if end in row else row
        out.append([i - DIGIT0 if i >= DIGIT0 else i for i in row])
    return out
