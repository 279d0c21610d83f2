"""One transformer block measured: shapes, parameters and multiply-adds, Add & Norm, LayerNorm on tokens.

* :func:`block_table`: every layer of one encoder or decoder block (``nn.TransformerEncoderLayer``
  / ``nn.TransformerDecoderLayer``, Vaswani et al. 2017, https://arxiv.org/abs/1706.03762) for a
  given width ``D`` (``d_model``), heads ``H``, feed-forward width ``F`` and ``N`` tokens, read with
  forward hooks as :func:`explainer.families.layer_table` reads a CNN. Per encoder block::

      parameters     4 D^2 + 4 D  (attention)  +  2 D F + F + D  (feed-forward)  +  4 D  (two LayerNorms)
      multiply-adds  4 N D^2 (projections) + 2 N^2 D (Q K^T and A V) + 2 N D F (feed-forward)

  The heads split ``D`` and change neither count; the ``N^2`` term overtakes ``4 N D^2`` once
  ``N > 2 D``.
* :func:`residual_stream`: Add & Norm in a stack of blocks, post-norm (``x = LN(x + f(x))``, the
  paper and our notes) against pre-norm (``x = x + f(LN(x))``, GPT-2 and ViT): the scale of the
  residual stream after every block.
* :func:`token_norms`: LayerNorm against BatchNorm on a batch of token sequences: which
  statistics each uses and what each does to one token when the others change.

Letters: ``B`` batch, ``N`` tokens (``M`` memory tokens for a decoder's cross-attention), ``D``
width, ``H`` heads, ``F`` feed-forward width, ``L`` blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_choice, check_int, check_tensor
from explainer.families import LayerRow, NetworkTable, layer_table

__all__ = ["BLOCK_KINDS", "block_table", "cost_split", "ResidualStream", "residual_stream", "TokenNorms", "token_norms"]

BLOCK_KINDS: tuple[str, ...] = ("encoder", "decoder")


def _check_width(d_model: int, num_heads: int) -> tuple[int, int]:
    d_model, num_heads = check_int("d_model", d_model, minimum=1), check_int("num_heads", num_heads, minimum=1)
    if d_model % num_heads:
        raise ValueError(f"d_model must be divisible by num_heads={num_heads}, got d_model={d_model}")
    return d_model, num_heads


def block_table(d_model: int = 512, num_heads: int = 8, dim_feedforward: int = 2048, seq_len: int = 64,
                kind: str = "encoder", memory_len: int | None = None, norm_first: bool = False) -> NetworkTable:
    """Every layer of one transformer block on ``seq_len`` tokens: output shape, parameters, multiply-adds.

    Built on the meta device (instant at any size). A row's ``field`` is the number of tokens its
    output has seen: 1 before the first attention, then ``N`` (self-attention), or ``M`` more after a
    decoder's cross-attention reads the memory (``N + M`` in all, counted as ``M`` from there on for
    the source).

    Args:
        d_model, num_heads, dim_feedforward: the block (``d_model % num_heads == 0``).
        seq_len: ``N`` tokens in.
        kind: "encoder" or "decoder" (causal self-attention, then cross-attention on the memory).
        memory_len: ``M`` encoder tokens a decoder reads (default ``seq_len``); encoder: must be None.
        norm_first: pre-norm (True) or post-norm (False, the paper).

    Example (the base model's 3.15 million parameters per encoder block):
        >>> t = block_table()
        >>> t.params, [r.name for r in t.rows]
        (3152384, ['self_attn', 'norm1', 'linear1', 'linear2', 'norm2'])
    """
    d_model, num_heads = _check_width(d_model, num_heads)
    dim_feedforward = check_int("dim_feedforward", dim_feedforward, minimum=1)
    seq_len = check_int("seq_len", seq_len, minimum=1)
    kind = check_choice("kind", kind, BLOCK_KINDS)
    if kind == "encoder" and memory_len is not None:
        raise ValueError(f"memory_len only applies to kind='decoder', got memory_len={memory_len!r}")
    memory_len = seq_len if memory_len is None else check_int("memory_len", memory_len, minimum=1)
    if not isinstance(norm_first, bool):
        raise TypeError(f"norm_first must be a bool, got {norm_first!r}")
    layer_type = nn.TransformerEncoderLayer if kind == "encoder" else nn.TransformerDecoderLayer
    block = layer_type(d_model, num_heads, dim_feedforward, dropout=0.0, batch_first=True, norm_first=norm_first,
                       device="meta")
    x = torch.zeros(1, seq_len, d_model, device="meta")  # (1, N, D)
    if kind == "encoder":
        records = layer_table(block, x)
    else:
        causal = torch.zeros(seq_len, seq_len, device="meta")
        records = layer_table(block, x, torch.zeros(1, memory_len, d_model, device="meta"), causal)
    field, rows = 1, []
    for name, _, row in records:
        field = {"self_attn": seq_len, "multihead_attn": memory_len}.get(name, field)
        rows.append(LayerRow(row.name, row.kind, row.output_shape, row.params, row.multiply_adds, field))
    return NetworkTable(kind, (seq_len, d_model), "tokens", tuple(rows), sum(p.numel() for p in block.parameters()),
                        sum(r.multiply_adds for r in rows))


@dataclass(frozen=True)
class ResidualStream:
    """The residual stream through ``L`` seeded random blocks.

    Attributes:
        norm_first: pre-norm (True) or post-norm (False).
        scale: ``(L + 1,)`` root-mean-square of the stream: the input, then after each block.
        update: ``(L,)`` root-mean-square of what each block's sublayers added (attention + FFN
            outputs, before any norm).
    """

    norm_first: bool
    scale: Tensor
    update: Tensor


def residual_stream(depth: int = 12, d_model: int = 64, num_heads: int = 4, seq_len: int = 16,
                    norm_first: bool = False, seed: int = 0) -> ResidualStream:
    """Run ``depth`` freshly initialised encoder blocks (float64, eval) and measure the stream's scale.

    Post-norm ends every block with a LayerNorm, so the stream stays at scale 1; pre-norm only
    normalises what enters each sublayer and adds its output to an un-normalised stream, whose
    scale grows with depth (one reason pre-norm trains deep stacks without warm-up, Xiong et al.
    2020, https://arxiv.org/abs/2002.04745). Weights and tokens come from ``torch.Generator(seed)``.

    Example:
        >>> post = residual_stream(depth=4, d_model=16, num_heads=2, norm_first=False)
        >>> pre = residual_stream(depth=4, d_model=16, num_heads=2, norm_first=True)
        >>> round(float(post.scale[-1]), 3), bool(pre.scale[-1] > pre.scale[1])
        (1.0, True)
    """
    depth = check_int("depth", depth, minimum=1)
    d_model, num_heads = _check_width(d_model, num_heads)
    seq_len = check_int("seq_len", seq_len, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed))
    blocks = [_seeded_block(d_model, num_heads, norm_first, generator) for _ in range(depth)]
    x = torch.randn(1, seq_len, d_model, generator=generator, dtype=torch.float64)  # (1, N, D)
    scale, update = [_rms(x)], []
    with torch.no_grad():
        for block in blocks:
            y = block(x)
            attn_in = block.norm1(x) if norm_first else x
            attn = block.self_attn(attn_in, attn_in, attn_in, need_weights=False)[0]
            mid = x + attn if norm_first else block.norm1(x + attn)
            ff = block.linear2(block.activation(block.linear1(block.norm2(mid) if norm_first else mid)))
            update.append(_rms(attn + ff))
            scale.append(_rms(y))
            x = y
    return ResidualStream(norm_first, torch.stack(scale), torch.stack(update))


def _seeded_block(d_model: int, num_heads: int, norm_first: bool, generator: torch.Generator) -> nn.Module:
    block = nn.TransformerEncoderLayer(d_model, num_heads, 4 * d_model, dropout=0.0, batch_first=True,
                                       norm_first=norm_first, device="meta").to_empty(device="cpu").double()
    with torch.no_grad():
        for name, p in block.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif p.ndim == 1:
                p.fill_(1.0)
            else:
                nn.init.xavier_uniform_(p, generator=generator)
    return block.eval()


def _rms(x: Tensor) -> Tensor:
    return x.pow(2).mean().sqrt()


@dataclass(frozen=True)
class TokenNorms:
    """LayerNorm and BatchNorm (training mode, no affine) of the same tokens ``x (B, N, D)``.

    Attributes:
        layer: ``(B, N, D)`` each token normalised over its own ``D`` features.
        batch: ``(B, N, D)`` each feature normalised over all ``B N`` tokens of the batch.
        token_mean, token_std: ``(B, N)`` every token's own statistics (what LayerNorm uses).
        feature_mean, feature_std: ``(D,)`` every feature's statistics over the batch (BatchNorm's).
    """

    layer: Tensor
    batch: Tensor
    token_mean: Tensor
    token_std: Tensor
    feature_mean: Tensor
    feature_std: Tensor


def token_norms(x: Tensor, eps: float = 1e-5) -> TokenNorms:
    """LayerNorm against BatchNorm on tokens (biased variances, as both layers use).

    A token's LayerNorm output depends on that token only; its BatchNorm output on every token of
    the batch (other sentences, padding), one reason transformers use LayerNorm (our notes, 003).

    Example:
        >>> x = torch.tensor([[[1.0, 3.0], [0.0, 0.0]]])
        >>> token_norms(x).layer[0, 0], token_norms(x).token_mean
        (tensor([-1.0000,  1.0000]), tensor([[2., 0.]]))
    """
    x = check_tensor("x", x, ndim=3)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    token_mean = x.mean(-1)  # (B, N)
    token_var = x.var(-1, unbiased=False)  # (B, N)
    flat = x.reshape(-1, x.shape[-1])  # (B*N, D)
    feature_mean, feature_var = flat.mean(0), flat.var(0, unbiased=False)  # (D,)
    layer = (x - token_mean.unsqueeze(-1)) / (token_var.unsqueeze(-1) + eps).sqrt()
    batch = (x - feature_mean) / (feature_var + eps).sqrt()
    return TokenNorms(layer, batch, token_mean, token_var.sqrt(), feature_mean, feature_var.sqrt())


def cost_split(table: NetworkTable) -> dict[str, int]:
    """Where a block's multiply-adds go: ``{"projections", "scores", "feed-forward"}``.

    ``scores`` is ``Q K^T`` plus ``A V`` of every attention row (``2 Tq Tk D``, with ``Tk`` the
    row's field), ``projections`` the rest of the attention rows (Q, K, V and output projections),
    ``feed-forward`` the linear layers.

    Example (``4 N D^2``, ``2 N^2 D`` and ``2 N D F`` for the base model on 64 tokens):
        >>> cost_split(block_table())
        {'projections': 67108864, 'scores': 4194304, 'feed-forward': 134217728}
    """
    split = {"projections": 0, "scores": 0, "feed-forward": 0}
    for row in table.rows:
        if row.kind == "MultiheadAttention":
            tq, d = row.output_shape
            scores = 2 * tq * row.field * d
            split["scores"] += scores
            split["projections"] += row.multiply_adds - scores
        elif row.kind == "Linear":
            split["feed-forward"] += row.multiply_adds
    return split
