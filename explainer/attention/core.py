"""Scaled dot-product attention and multi-head attention, computed step by step with torch.

Self-attention (Vaswani et al., "Attention Is All You Need", https://arxiv.org/abs/1706.03762)
compares every query with every key, turns the similarities into a probability distribution with
a softmax, and returns the matching weighted average of the values::

    scores  = Q K^T * scale            (..., Nq, Nk)   scale = 1/sqrt(d_k) by default
    weights = softmax(scores, dim=-1)  (..., Nq, Nk)   every row sums to 1 (softmax over the keys)
    output  = weights V                (..., Nq, d_v)

Everything here is checked in ``tests/test_attention_core.py`` against
``torch.nn.functional.scaled_dot_product_attention`` and ``torch.nn.MultiheadAttention``
(``average_attn_weights=False``).

Letters (one notation across the lessons): ``B`` batch, ``N`` tokens (``Nq``/``Nk`` query/key
lengths), ``d_model`` token width (``embed_dim``), ``h`` heads (``H`` in shapes, ``num_heads``),
``d_k = d_model / h`` query/key width per head, ``d_v`` value width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_int, check_tensor

__all__ = [
    "Attention",
    "scaled_dot_product_attention",
    "causal_mask",
    "split_heads",
    "merge_heads",
    "per_head_projections",
    "softmax_entropy",
    "random_attention_entropy",
    "SelfAttentionSteps",
    "random_self_attention",
    "layer_self_attention",
    "MultiHeadAttention",
]


@dataclass(frozen=True)
class Attention:
    """What one attention call computed.

    Attributes:
        output: ``(..., Nq, d_v)`` the weighted averages of the values (for
            :class:`MultiHeadAttention`: ``(B, Nq, d_model)`` after the output projection).
        weights: ``(..., Nq, Nk)`` softmax of ``scores`` along the last axis; each row sums to 1,
            except fully masked rows, which are all zeros. Per head: ``(B, H, Nq, Nk)``.
        scores: ``(..., Nq, Nk)`` the scaled logits ``q.k * scale`` before the softmax; masked
            entries are ``-inf``.
    """

    output: Tensor
    weights: Tensor
    scores: Tensor


def _check_float(name: str, value: object) -> Tensor:
    tensor = check_tensor(name, value)
    if not tensor.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {tensor.dtype}")
    if tensor.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (..., N, d_k), got shape {tuple(tensor.shape)}")
    return tensor


def _check_qkv(query: object, key: object, value: object) -> tuple[Tensor, Tensor, Tensor]:
    """Validate the (query, key, value) triple of :func:`scaled_dot_product_attention`."""
    q, k, v = _check_float("query", query), _check_float("key", key), _check_float("value", value)
    if not q.dtype == k.dtype == v.dtype:
        raise TypeError(f"query, key and value must share one dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"query and key must have the same last dimension d_k, got query {tuple(q.shape)} and key {tuple(k.shape)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"key and value must have the same length Nk (dim -2), got key {tuple(k.shape)} and value {tuple(v.shape)}"
        )
    try:
        torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError:
        raise ValueError(
            f"the leading (batch) dimensions of query {tuple(q.shape)}, key {tuple(k.shape)} and value "
            f"{tuple(v.shape)} must broadcast"
        ) from None
    return q, k, v


def _check_mask(mask: object, score_shape: torch.Size) -> Tensor:
    mask = check_tensor("mask", mask)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a boolean tensor (True = may attend), got dtype {mask.dtype}")
    try:
        shape = torch.broadcast_shapes(mask.shape, score_shape)
    except RuntimeError:
        shape = None
    if shape != score_shape:
        raise ValueError(
            f"mask must broadcast to the score shape (..., Nq, Nk) = {tuple(score_shape)}, got {tuple(mask.shape)}"
        )
    return mask


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None, scale: float | None = None
) -> Attention:
    """Attention ``softmax(Q K^T * scale) V`` keeping the scores and weights for inspection.

    Args:
        query: ``(..., Nq, d_k)`` floating point.
        key: ``(..., Nk, d_k)`` same dtype.
        value: ``(..., Nk, d_v)`` same dtype.
        mask: optional boolean, ``True`` = may attend, broadcastable to ``(..., Nq, Nk)``. A query
            whose row is fully masked gets zero weights and a zero output (never NaN).
        scale: multiplies ``q.k``; default ``1/sqrt(d_k)``. Must be finite.

    Returns:
        :class:`Attention` with ``output (..., Nq, d_v)``, ``weights (..., Nq, Nk)``,
        ``scores (..., Nq, Nk)``; equal to ``F.scaled_dot_product_attention(q, k, v, attn_mask=mask)``
        wherever that is defined.

    Raises:
        TypeError: non-tensor, non-float, mixed dtypes, non-bool mask or non-number scale.
        ValueError: mismatched shapes or a non-finite scale.

    Example:
        >>> q = torch.tensor([[1.0, 0.0]]); k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> a = scaled_dot_product_attention(q, k, torch.tensor([[1.0], [0.0]]), scale=0.0)
        >>> a.weights  # scale 0: uniform
        tensor([[0.5000, 0.5000]])
    """
    q, k, v = _check_qkv(query, key, value)
    score_shape = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])
    if mask is not None:
        mask = _check_mask(mask, torch.Size(score_shape))
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    elif isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(f"scale must be a real number or None, got {scale!r} ({type(scale).__name__})")
    elif not math.isfinite(scale):
        raise ValueError(f"scale must be finite, got {scale}")

    scores = (q @ k.transpose(-2, -1)) * scale  # (..., Nq, Nk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (..., Nq, Nk)
    if mask is not None:  # a fully masked row would be 0/0 = NaN: give it zero weights instead
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    output = weights @ v  # (..., Nq, d_v)
    return Attention(output=output, weights=weights, scores=scores)


def causal_mask(N: int, device: torch.device | str | None = None) -> Tensor:
    """Boolean ``(N, N)`` mask letting position ``i`` attend to positions ``j <= i``.

    Example:
        >>> causal_mask(3).int()
        tensor([[1, 0, 0],
                [1, 1, 0],
                [1, 1, 1]], dtype=torch.int32)
    """
    N = check_int("N", N, minimum=1)
    return torch.ones(N, N, dtype=torch.bool, device=device).tril()  # (N, N)


def softmax_entropy(weights: Tensor) -> Tensor:
    """Entropy ``-sum_j w_ij log w_ij`` (nats) of every row of ``weights (..., Nq, Nk)`` -> ``(..., Nq)``.

    ``0`` for a one-hot row, ``log Nk`` for a uniform row; zero weights contribute 0.

    Example:
        >>> softmax_entropy(torch.tensor([[0.5, 0.5], [1.0, 0.0]]))
        tensor([0.6931, 0.0000])
    """
    w = check_tensor("weights", weights)
    if not w.is_floating_point() or w.ndim < 1:
        raise TypeError(f"weights must be a floating-point tensor with >= 1 dimension, got {w.dtype} {tuple(w.shape)}")
    return 0.0 - torch.xlogy(w, w).sum(dim=-1)  # (..., Nq); "0 -" avoids printing -0.


def random_attention_entropy(
    head_dim: int,
    tokens: int,
    scaled: bool = True,
    temperature: float = 1.0,
    samples: int = 32,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> float:
    """Mean softmax entropy of attention between random unit-variance queries and keys of width ``head_dim``.

    ``q, k ~ normal(0, 1)^d_k`` give ``q.k`` a variance of ``d_k``: without scaling the logits spread
    as ``sqrt(d_k)`` and the softmax collapses towards one-hot (entropy -> 0) as ``d_k`` grows; with
    ``scale = 1/sqrt(d_k)`` their variance stays 1 and the entropy stays put. This is the reason
    for the ``sqrt(d_k)`` in ``softmax(QK^T / sqrt(d_k))``.

    Args:
        head_dim: query/key width ``d_k`` (>= 1).
        tokens: number of keys ``N`` (= queries) (>= 1); the entropy lies in ``[0, log N]``.
        scaled: multiply the logits by ``1/sqrt(d_k)``.
        temperature: further divides the logits (> 0).
        samples: independent ``(N, d_k)`` draws averaged over (>= 1).
        seed: seeds the generator (same seed, same number).

    Example:
        >>> random_attention_entropy(64, 8, scaled=False) < random_attention_entropy(64, 8) < math.log(8)
        True
    """
    head_dim = check_int("head_dim", head_dim, minimum=1)
    tokens = check_int("tokens", tokens, minimum=1)
    samples = check_int("samples", samples, minimum=1)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
    generator = torch.Generator().manual_seed(check_int("seed", seed))
    q = torch.randn(samples, tokens, head_dim, generator=generator, dtype=dtype)  # (S, N, d_k)
    k = torch.randn(samples, tokens, head_dim, generator=generator, dtype=dtype)  # (S, N, d_k)
    scale = (1.0 / math.sqrt(head_dim) if scaled else 1.0) / temperature
    weights = torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)  # (S, N, N)
    return float(softmax_entropy(weights).mean())


# --------------------------------------------------------------------------- heads
def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """Split the last axis of ``x (B, N, d_model)`` into heads: ``(B, H, N, d_model/H)``.

    Head ``h`` owns channels ``h*d_k .. (h+1)*d_k - 1`` (``d_k = d_model/H``), exactly as ``nn.MultiheadAttention``.

    Example:
        >>> split_heads(torch.arange(4.0).view(1, 1, 4), 2).tolist()
        [[[[0.0, 1.0]], [[2.0, 3.0]]]]
    """
    x = check_tensor("x", x, ndim=3)
    num_heads = check_int("num_heads", num_heads, minimum=1)
    B, N, d_model = x.shape
    if d_model % num_heads:
        raise ValueError(
            f"the last dimension d_model={d_model} of x must be divisible by num_heads, got num_heads={num_heads}"
        )
    return x.reshape(B, N, num_heads, d_model // num_heads).transpose(1, 2)  # (B, H, N, d_k)


def merge_heads(x: Tensor) -> Tensor:
    """Inverse of :func:`split_heads`: ``(B, H, N, d_k)`` -> ``(B, N, H*d_k)``.

    Example:
        >>> merge_heads(split_heads(torch.arange(4.0).view(1, 1, 4), 2)).tolist()
        [[[0.0, 1.0, 2.0, 3.0]]]
    """
    x = check_tensor("x", x, ndim=4)
    B, H, N, d_k = x.shape
    return x.transpose(1, 2).reshape(B, N, H * d_k)  # (B, N, H*d_k)


def per_head_projections(x: Tensor, weight: Tensor, bias: Tensor | None, num_heads: int) -> Tensor:
    """Project ``x (B, N, Din)`` with each head's own slice of ``weight (d_model, Din)``: ``(B, H, N, d_model/H)``.

    This is the "H separate small projections" view; it equals the fused
    ``split_heads(x @ weight.T + bias, num_heads)`` (tested), which is why one big matrix
    multiplication can serve all heads at once.

    Example:
        >>> x = torch.randn(1, 3, 4); w = torch.randn(6, 4)
        >>> torch.allclose(per_head_projections(x, w, None, 2), split_heads(x @ w.T, 2), atol=1e-6)
        True
    """
    x = check_tensor("x", x, ndim=3)
    weight = check_tensor("weight", weight, ndim=2)
    num_heads = check_int("num_heads", num_heads, minimum=1)
    d_model, Din = weight.shape
    if x.shape[-1] != Din:
        raise ValueError(f"x's last dimension must equal weight's in-features {Din}, got x {tuple(x.shape)}")
    if d_model % num_heads:
        raise ValueError(
            f"weight's out-features d_model={d_model} must be divisible by num_heads, got num_heads={num_heads}"
        )
    if bias is not None and tuple(check_tensor("bias", bias, ndim=1).shape) != (d_model,):
        raise ValueError(f"bias must have shape ({d_model},), got {tuple(bias.shape)}")
    d_k = d_model // num_heads
    heads = []
    for h in range(num_heads):
        w_h = weight[h * d_k : (h + 1) * d_k]  # (d_k, Din)
        y = x @ w_h.T  # (B, N, d_k)
        heads.append(y if bias is None else y + bias[h * d_k : (h + 1) * d_k])
    return torch.stack(heads, dim=1)  # (B, H, N, d_k)


@dataclass(frozen=True)
class SelfAttentionSteps:
    """Every intermediate of one multi-head self-attention layer (without output projection).

    Attributes:
        x: ``(N, d_model)`` token embeddings, ``d_model = H * d_k``.
        q, k, v: ``(H, N, d_k)`` per-head queries, keys and values.
        attention: per head: ``output (H, N, d_k)``, ``weights`` and ``scores (H, N, N)``.
        scale: the factor that multiplied ``q.k``.
        entropy: ``(H, N)`` softmax entropy of every query row, nats.
    """

    x: Tensor
    q: Tensor
    k: Tensor
    v: Tensor
    attention: Attention
    scale: float
    entropy: Tensor


def random_self_attention(
    length: int, head_dim: int, num_heads: int = 1, scale: float | None = None, mask: Tensor | None = None,
    seed: int = 0,
) -> SelfAttentionSteps:
    """Self-attention of ``length`` seeded random tokens through seeded random projections, step by step.

    ``X ~ normal(0, 1)^(N x d_model)`` and ``W_q, W_k, W_v ~ normal(0, 1/d_model)^(d_model x d_model)``, so
    queries, keys and values have unit variance and ``q.k`` has variance ``d_k``: the setting in which
    ``1/sqrt(d_k)`` matters.

    Args:
        length: tokens ``N`` (>= 1).
        head_dim: ``d_k`` (>= 1).
        num_heads: ``h`` (>= 1); ``d_model = h * d_k``.
        scale: factor on ``q.k`` (default ``1/sqrt(d_k)``).
        mask: boolean, True = may attend, broadcastable to ``(H, N, N)``.
        seed: seeds embeddings and projections.

    Example:
        >>> s = random_self_attention(5, head_dim=4, num_heads=2, mask=causal_mask(5))
        >>> tuple(s.attention.weights.shape), bool((s.attention.weights.triu(1) == 0).all())
        ((2, 5, 5), True)
    """
    N = check_int("length", length, minimum=1)
    d_k = check_int("head_dim", head_dim, minimum=1)
    H = check_int("num_heads", num_heads, minimum=1)
    d_model = H * d_k
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    x = torch.randn(N, d_model, generator=generator)  # (N, d_model)
    w_q, w_k, w_v = torch.randn(3, d_model, d_model, generator=generator) / math.sqrt(d_model)  # 3 x (d_model, d_model)
    q = split_heads((x @ w_q.T)[None], H)[0]  # (H, N, d_k)
    k = split_heads((x @ w_k.T)[None], H)[0]  # (H, N, d_k)
    v = split_heads((x @ w_v.T)[None], H)[0]  # (H, N, d_k)
    attention = scaled_dot_product_attention(q, k, v, mask=mask, scale=scale)
    scale = 1 / math.sqrt(d_k) if scale is None else float(scale)
    return SelfAttentionSteps(x=x, q=q, k=k, v=v, attention=attention, scale=scale,
                              entropy=softmax_entropy(attention.weights))


def layer_self_attention(
    layer: MultiHeadAttention, x: Tensor, scale: float | None = None, mask: Tensor | None = None
) -> SelfAttentionSteps:
    """Self-attention of the tokens ``x`` through a :class:`MultiHeadAttention` layer's own projections, step by step.

    The trained counterpart of :func:`random_self_attention`: ``Q = x W_q^T + b_q`` (and ``K``, ``V``
    alike) with the layer's weights and biases, split into its heads. With the default ``scale`` and
    ``mask`` the weights equal those of ``layer(x[None], x[None], x[None])``.

    Args:
        layer: the attention layer (``kdim = vdim = embed_dim``).
        x: ``(N, d_model)`` token embeddings, as the layer receives them (after any norm).
        scale: factor on ``q.k`` (default ``1/sqrt(d_k)``).
        mask: boolean, True = may attend, broadcastable to ``(H, N, N)``.

    Example:
        >>> layer = MultiHeadAttention(8, 2)
        >>> s = layer_self_attention(layer, torch.randn(5, 8))
        >>> tuple(s.q.shape), tuple(s.attention.weights.shape)
        ((2, 5, 4), (2, 5, 5))
    """
    if not isinstance(layer, MultiHeadAttention):
        raise TypeError(f"layer must be an explainer MultiHeadAttention, got {type(layer).__name__}")
    if layer.kdim != layer.embed_dim or layer.vdim != layer.embed_dim:
        raise ValueError(f"layer must have kdim = vdim = embed_dim for self-attention, got kdim={layer.kdim}, "
                         f"vdim={layer.vdim}, embed_dim={layer.embed_dim}")
    x = _check_float("x", x)
    if x.ndim != 2 or x.shape[-1] != layer.embed_dim or x.shape[0] < 1:
        raise ValueError(f"x must have shape (N, {layer.embed_dim}) with N >= 1, got {tuple(x.shape)}")
    if x.dtype != layer.q_proj.weight.dtype:
        raise TypeError(f"x must have the layer's dtype {layer.q_proj.weight.dtype}, got {x.dtype}")
    H = layer.num_heads
    with torch.no_grad():
        projections = (layer.q_proj, layer.k_proj, layer.v_proj)
        q, k, v = (split_heads(proj(x)[None], H)[0] for proj in projections)  # each (H, N, d_k)
        attention = scaled_dot_product_attention(q, k, v, mask=mask, scale=scale)
    scale = 1 / math.sqrt(layer.head_dim) if scale is None else float(scale)
    return SelfAttentionSteps(x=x, q=q, k=k, v=v, attention=attention, scale=scale,
                              entropy=softmax_entropy(attention.weights))


class MultiHeadAttention(nn.Module):
    """Batch-first multi-head attention that returns per-head weights.

    ``forward(q, k, v)`` projects ``q (B, Nq, d_model)``, ``k (B, Nk, kdim)``, ``v (B, Nk, vdim)`` to
    width ``d_model``, splits them into ``H`` heads of width ``d_k = d_model/H``, runs
    :func:`scaled_dot_product_attention` in every head, concatenates and applies ``out_proj``.
    Same parameters and same numbers as ``nn.MultiheadAttention(d_model, H, batch_first=True)``
    (see :meth:`from_torch`).

    Example:
        >>> m = MultiHeadAttention(8, 2)
        >>> a = m(torch.randn(1, 5, 8), torch.randn(1, 3, 8), torch.randn(1, 3, 8))
        >>> tuple(a.output.shape), tuple(a.weights.shape)
        ((1, 5, 8), (1, 2, 5, 3))
    """

    def __init__(
        self, embed_dim: int, num_heads: int, bias: bool = True, kdim: int | None = None, vdim: int | None = None
    ) -> None:
        super().__init__()
        self.embed_dim = check_int("embed_dim", embed_dim, minimum=1)
        self.num_heads = check_int("num_heads", num_heads, minimum=1)
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim={embed_dim} must be divisible by num_heads, got num_heads={num_heads}")
        self.kdim = embed_dim if kdim is None else check_int("kdim", kdim, minimum=1)
        self.vdim = embed_dim if vdim is None else check_int("vdim", vdim, minimum=1)
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(self.kdim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(self.vdim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None) -> Attention:
        """Attend; ``mask`` boolean (True = may attend) broadcastable to ``(B, H, Nq, Nk)``.

        Returns:
            :class:`Attention` with ``output (B, Nq, d_model)``, per-head ``weights`` and ``scores``
            ``(B, H, Nq, Nk)``.
        """
        for name, t, width in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            check_tensor(name, t, ndim=3)
            if t.shape[-1] != width:
                raise ValueError(f"{name} must have shape (B, N, {width}), got {tuple(t.shape)}")
        if key.shape[:2] != value.shape[:2] or query.shape[0] != key.shape[0]:
            raise ValueError(
                f"query (B, Nq, .), key and value (B, Nk, .) must agree, got {tuple(query.shape)}, "
                f"{tuple(key.shape)}, {tuple(value.shape)}"
            )
        q = split_heads(self.q_proj(query), self.num_heads)  # (B, H, Nq, d_k)
        k = split_heads(self.k_proj(key), self.num_heads)  # (B, H, Nk, d_k)
        v = split_heads(self.v_proj(value), self.num_heads)  # (B, H, Nk, d_k)
        heads = scaled_dot_product_attention(q, k, v, mask=mask)
        output = self.out_proj(merge_heads(heads.output))  # (B, Nq, d_model)
        return Attention(output=output, weights=heads.weights, scores=heads.scores)

    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy an ``nn.MultiheadAttention`` (packed ``in_proj_weight`` or separate q/k/v weights).

        The copy has the same dtype/device; its outputs and per-head weights equal
        ``m(q, k, v, average_attn_weights=False)`` (with ``batch_first`` inputs).

        Raises:
            TypeError: ``m`` is not an ``nn.MultiheadAttention``.
            ValueError: ``m`` uses ``add_bias_kv`` or ``dropout > 0`` (not modelled here).
        """
        if not isinstance(m, nn.MultiheadAttention):
            raise TypeError(f"m must be an nn.MultiheadAttention, got {type(m).__name__}")
        if m.bias_k is not None or m.add_zero_attn or m.dropout:
            raise ValueError("m must not use add_bias_kv, add_zero_attn or dropout > 0 (not modelled here)")
        bias = m.in_proj_bias is not None
        ours = cls(m.embed_dim, m.num_heads, bias=bias, kdim=m.kdim, vdim=m.vdim)
        ours = ours.to(device=m.out_proj.weight.device, dtype=m.out_proj.weight.dtype)
        d_model = m.embed_dim
        with torch.no_grad():
            if m.in_proj_weight is not None:
                weights = m.in_proj_weight.split(d_model, dim=0)  # 3 x (d_model, d_model)
            else:
                weights = (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight)
            for proj, w, i in zip((ours.q_proj, ours.k_proj, ours.v_proj), weights, range(3)):
                proj.weight.copy_(w)
                if bias:
                    proj.bias.copy_(m.in_proj_bias[i * d_model : (i + 1) * d_model])
            ours.out_proj.weight.copy_(m.out_proj.weight)
            if bias:
                ours.out_proj.bias.copy_(m.out_proj.bias)
        return ours
