"""A tiny vision transformer (ViT) trained here to name the shape of the largest object in a hard scene.

Dosovitskiy et al., "An Image is Worth 16x16 Words" (https://arxiv.org/abs/2010.11929), at toy size:
a 32x32 picture is cut into an 8x8 grid of 4x4 patches; each patch becomes a token of width
``d_model``; a learned class token is put in front; every token gets a learned 2D position (a row
embedding plus a column embedding); ``depth`` pre-norm encoder layers (``x + MHA(LN(x))``, then
``x + MLP(LN(x))``) mix the tokens; the class token's final state is classified into
:data:`explainer.data.SHAPES`. Before the patch projection, one 3x3 convolution (a "convolutional
stem", Xiao et al. 2021, https://arxiv.org/abs/2106.14881) lets a token see its patch's edges,
which makes the network train in minutes on a CPU; it reaches 1 pixel beyond each patch, so a
token still stands for its own 4x4 square.

Every attention layer is an :class:`explainer.attention.MultiHeadAttention` (``layers.<i>.attn``),
so :func:`explainer.attention.capture_attention` records it, and :meth:`TinyViT.inspect` returns the
per-head weights directly. Trained by ``python -m explainer.train vit`` on
:func:`explainer.data.hard_scenes` (``target="image"``: the label is the shape of the largest object).

Letters: ``B`` batch, ``T = 1 + P`` tokens (class token first, then the ``P = 64`` patches in
row-major order), ``H`` heads, ``D`` = ``d_model``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_tensor
from explainer.attention import MultiHeadAttention
from explainer.data import SHAPES

__all__ = ["WEIGHTS", "IMAGE_SIZE", "PATCH_SIZE", "TinyViT", "ViTOutputs", "build"]

WEIGHTS = "vit.pt"
IMAGE_SIZE, PATCH_SIZE = 32, 4


@dataclass(frozen=True)
class ViTOutputs:
    """What one forward pass of :class:`TinyViT` computed.

    Attributes:
        logits: ``(B, len(SHAPES))`` class scores.
        weights: one ``(B, H, T, T)`` tensor per layer, in order; token 0 is the class token, token
            ``1 + r * grid + c`` the patch in row ``r``, column ``c``. Every row sums to 1.
        tokens: ``(B, T, D)`` the token states after the last layer (before the final norm).
    """

    logits: Tensor
    weights: tuple[Tensor, ...]
    tokens: Tensor


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer: ``x + MHA(LN(x))``, then ``x + MLP(LN(x))``."""

    def __init__(self, d_model: int, num_heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, num_heads)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, mlp_ratio * d_model), nn.GELU(),
                                 nn.Linear(mlp_ratio * d_model, d_model))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, T, D)`` -> ``(B, T, D)`` and the attention weights ``(B, H, T, T)``."""
        h = self.norm1(x)
        a = self.attn(h, h, h)
        x = x + a.output  # (B, T, D)
        return x + self.mlp(self.norm2(x)), a.weights


class TinyViT(nn.Module):
    """The tiny ViT: ``forward(x (B, 3, 32, 32)) -> logits (B, 4)``; :meth:`inspect` adds the attention.

    Args:
        d_model: token width ``D``.
        depth: encoder layers.
        num_heads: heads per layer (``D`` must divide by it).
        mlp_ratio: hidden width of each MLP, in units of ``D``.

    Example:
        >>> model = TinyViT()
        >>> out = model.inspect(torch.zeros(2, 3, 32, 32))
        >>> tuple(out.logits.shape), len(out.weights), tuple(out.weights[0].shape)
        ((2, 4), 3, (2, 4, 65, 65))
    """

    def __init__(self, d_model: int = 64, depth: int = 3, num_heads: int = 4, mlp_ratio: int = 2) -> None:
        super().__init__()
        self.grid = IMAGE_SIZE // PATCH_SIZE
        self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, padding=1), nn.GELU(), nn.Conv2d(24, 32, 3, padding=1), nn.GELU())
        self.patch = nn.Conv2d(32, d_model, PATCH_SIZE, stride=PATCH_SIZE)  # one token per 4x4 patch
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
        self.row_pos = nn.Parameter(torch.zeros(self.grid, d_model))
        self.col_pos = nn.Parameter(torch.zeros(self.grid, d_model))
        self.layers = nn.ModuleList(EncoderLayer(d_model, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, len(SHAPES))

    def embed(self, x: Tensor) -> Tensor:
        """Pictures ``(B, 3, 32, 32)`` -> tokens ``(B, 1 + 64, D)`` with positions added (class token first)."""
        check_tensor("x", x, ndim=4)
        if tuple(x.shape[1:]) != (3, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"x must have shape (B, 3, {IMAGE_SIZE}, {IMAGE_SIZE}), got {tuple(x.shape)}")
        x = (x - 0.5) / 0.25  # centred pixels: the tokens start out different from one another
        patches = self.patch(self.stem(x)).flatten(2).transpose(1, 2)  # (B, P, D), row-major
        pos = (self.row_pos[:, None, :] + self.col_pos[None, :, :]).reshape(-1, self.row_pos.shape[1])  # (P, D)
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # (B, 1, D)
        return torch.cat([cls, patches + pos], dim=1)  # (B, T, D)

    def inspect(self, x: Tensor) -> ViTOutputs:
        """Logits, every layer's per-head attention weights and the final tokens (see :class:`ViTOutputs`)."""
        tokens = self.embed(x)
        weights = []
        for layer in self.layers:
            tokens, w = layer(tokens)
            weights.append(w)
        logits = self.head(self.norm(tokens[:, 0]))  # (B, classes)
        return ViTOutputs(logits=logits, weights=tuple(weights), tokens=tokens)

    def forward(self, x: Tensor) -> Tensor:
        return self.inspect(x).logits


def build() -> TinyViT:
    """The untrained architecture of the shipped ``vit.pt`` (default arguments)."""
    return TinyViT()
