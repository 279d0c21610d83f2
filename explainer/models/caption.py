"""A tiny caption-to-image model: the words of a question cross-attend to image patches to locate an object.

Our notes (001) describe cross-attention as the way to add one kind of information to another: the
words are the queries, the image positions (an 8x8 grid of 4x4 patches) the keys and values, and
the weights ``(words x patches)`` show which region each word relates to. Here the question is a
:func:`explainer.data.hard_scenes` question (``target="word"``), e.g. ``"where is the red one"``:
every object in the scene has its own colour, so only the colour word says which is meant.

Architecture (``D = d_model``, ``L`` words, ``P = 64`` patches, ``H`` heads):

1. words: a learned embedding of each :data:`explainer.data.VOCAB` id plus a learned position per
   slot -> ``(B, L, D)``; image: a 3x3 convolution, then a 4x4 stride-4 patch projection, plus a
   learned 2D position (row + column embedding) -> ``(B, P, D)``, then one pre-norm MLP;
2. ``words_self`` (:class:`~explainer.attention.MultiHeadAttention`): self-attention among the
   (non-padding) words, so that every word can know the colour that was named;
3. ``cross``: cross-attention, the words are the queries, the patches the keys and values: the
   weights ``(B, H, L, P)`` say where in the picture each word looks; then a pre-norm MLP on the words;
4. the mean of the non-padding words -> ``cell`` logits (which of the ``P`` patches holds the
   target's centre) and ``shape`` logits (:data:`explainer.data.SHAPES`).

Nothing tells the attention where to look: the model is trained on the answer (and, while
training only, the patch tokens on the colour and shape under them; see
:mod:`explainer.train.caption`). Every attention layer is an
:class:`~explainer.attention.MultiHeadAttention`, so :func:`explainer.attention.capture_attention`
records ``words_self`` and ``cross``, and :meth:`CaptionLocator.inspect` returns their weights.
Trained by ``python -m explainer.train caption``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explainer._validate import check_tensor
from explainer.attention import MultiHeadAttention, SelfAttentionSteps, layer_self_attention
from explainer.data import SHAPES, VOCAB, tokenize

__all__ = ["WEIGHTS", "IMAGE_SIZE", "PATCH_SIZE", "MAX_WORDS", "CaptionLocator", "CaptionOutputs", "target_cell",
           "question_self_attention", "build"]

WEIGHTS = "caption.pt"
IMAGE_SIZE, PATCH_SIZE, MAX_WORDS = 32, 4, 8


@dataclass(frozen=True)
class CaptionOutputs:
    """What one forward pass of :class:`CaptionLocator` computed.

    Attributes:
        cell: ``(B, P)`` logits of the patch that holds the target's centre (patch ``r * 8 + c``).
        shape: ``(B, len(SHAPES))`` logits of the target's shape.
        words_self: ``(B, H, L, L)`` the word self-attention's weights (padding keys get 0).
        cross: ``(B, H, L, P)`` the cross-attention's per-head weights (words x patches, rows sum to 1).
        keep: ``(B, L)`` bool, the non-padding words (the ones averaged for the answer).
    """

    cell: Tensor
    shape: Tensor
    words_self: Tensor
    cross: Tensor
    keep: Tensor


def _mlp(d_model: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, 2 * d_model), nn.GELU(),
                         nn.Linear(2 * d_model, d_model))


class CaptionLocator(nn.Module):
    """``forward(images (B, 3, 32, 32), tokens (B, L)) -> (cell (B, 64), shape (B, 4))`` logits.

    ``tokens`` are :data:`explainer.data.VOCAB` ids (``explainer.data.tokenize``), 0 = padding, at
    most :data:`MAX_WORDS` of them, at least one word per question.

    Example:
        >>> from explainer.data import tokenize
        >>> model = CaptionLocator()
        >>> out = model.inspect(torch.zeros(1, 3, 32, 32), tokenize("where is the red one")[None])
        >>> tuple(out.cell.shape), tuple(out.cross.shape), out.keep.sum().item()
        ((1, 64), (1, 4, 6, 64), 5)
    """

    def __init__(self, d_model: int = 64, num_heads: int = 4) -> None:
        super().__init__()
        self.grid = IMAGE_SIZE // PATCH_SIZE
        self.word_embedding = nn.Embedding(len(VOCAB), d_model)
        self.word_pos = nn.Parameter(torch.zeros(MAX_WORDS, d_model))
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.GELU())
        self.patch = nn.Conv2d(32, d_model, PATCH_SIZE, stride=PATCH_SIZE)
        self.row_pos = nn.Parameter(torch.zeros(self.grid, d_model))
        self.col_pos = nn.Parameter(torch.zeros(self.grid, d_model))
        self.patch_mlp = _mlp(d_model)
        self.patch_norm = nn.LayerNorm(d_model)
        self.norm_self = nn.LayerNorm(d_model)
        self.words_self = MultiHeadAttention(d_model, num_heads)
        self.norm_cross = nn.LayerNorm(d_model)
        self.cross = MultiHeadAttention(d_model, num_heads)
        self.word_mlp = _mlp(d_model)
        self.norm = nn.LayerNorm(d_model)
        self.cell_head = nn.Linear(d_model, self.grid * self.grid)
        self.shape_head = nn.Linear(d_model, len(SHAPES))

    def patches(self, images: Tensor) -> Tensor:
        """Pictures ``(B, 3, 32, 32)`` -> normalised patch tokens ``(B, P, D)`` (the keys and values)."""
        check_tensor("images", images, ndim=4)
        if tuple(images.shape[1:]) != (3, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images must have shape (B, 3, {IMAGE_SIZE}, {IMAGE_SIZE}), got {tuple(images.shape)}")
        x = self.patch(self.stem((images - 0.5) / 0.25)).flatten(2).transpose(1, 2)  # (B, P, D), row-major
        pos = (self.row_pos[:, None, :] + self.col_pos[None, :, :]).reshape(-1, x.shape[-1])  # (P, D)
        x = x + pos
        return self.patch_norm(x + self.patch_mlp(x))  # (B, P, D)

    def _check_tokens(self, tokens: Tensor, batch: int) -> Tensor:
        check_tensor("tokens", tokens, ndim=2)
        if tokens.dtype != torch.int64 or tokens.shape[0] != batch or not 1 <= tokens.shape[1] <= MAX_WORDS:
            raise ValueError(f"tokens must be int64 of shape (B={batch}, L) with 1 <= L <= {MAX_WORDS}, got "
                             f"{tokens.dtype} {tuple(tokens.shape)}")
        if int(tokens.min()) < 0 or int(tokens.max()) >= len(VOCAB) or not (tokens != 0).any(1).all():
            raise ValueError(f"tokens must be VOCAB ids in [0, {len(VOCAB)}) with at least one non-padding word per "
                             f"row, got {tokens.tolist()}")
        return tokens

    def inspect(self, images: Tensor, tokens: Tensor) -> CaptionOutputs:
        """The answer and every attention layer's per-head weights (see :class:`CaptionOutputs`)."""
        keys = self.patches(images)  # (B, P, D)
        tokens = self._check_tokens(tokens, images.shape[0])
        keep = tokens != 0  # (B, L)
        words = self.word_embedding(tokens) + self.word_pos[: tokens.shape[1]]  # (B, L, D)
        h = self.norm_self(words)
        s = self.words_self(h, h, h, mask=keep[:, None, None, :])  # padding words are never attended to
        words = words + s.output
        a = self.cross(self.norm_cross(words), keys, keys)  # queries: words; keys and values: patches
        words = words + a.output
        words = words + self.word_mlp(words)  # (B, L, D)
        pooled = (words * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)  # (B, D): mean of the real words
        pooled = self.norm(pooled)
        return CaptionOutputs(cell=self.cell_head(pooled), shape=self.shape_head(pooled), words_self=s.weights,
                              cross=a.weights, keep=keep)

    def forward(self, images: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:
        out = self.inspect(images, tokens)
        return out.cell, out.shape


def target_cell(masks: Tensor) -> Tensor:
    """The patch (``r * 8 + c``) holding the centre of mass of each target mask ``(B, 32, 32)`` -> ``(B,)`` int64."""
    masks = check_tensor("masks", masks, ndim=3).float()
    ys = torch.arange(masks.shape[1], dtype=torch.float32).view(1, -1, 1)
    xs = torch.arange(masks.shape[2], dtype=torch.float32).view(1, 1, -1)
    area = masks.sum((1, 2)).clamp_min(1)
    cy, cx = (masks * ys).sum((1, 2)) / area, (masks * xs).sum((1, 2)) / area  # (B,), (B,)
    row = (cy // PATCH_SIZE).long().clamp(0, IMAGE_SIZE // PATCH_SIZE - 1)
    col = (cx // PATCH_SIZE).long().clamp(0, IMAGE_SIZE // PATCH_SIZE - 1)
    return row * (IMAGE_SIZE // PATCH_SIZE) + col


def question_self_attention(model: CaptionLocator, question: str, scale: float | None = None) -> SelfAttentionSteps:
    """The words' self-attention (layer ``words_self``) of ``model`` on ``question``, step by step.

    ``x (L, D)`` are the question's ``L`` words as the layer receives them: word embedding plus
    position, through ``norm_self``; no padding. With the default ``scale`` the weights ``(H, L, L)``
    are those of :meth:`CaptionLocator.inspect` (whose padding keys get 0), for any image.

    Example:
        >>> s = question_self_attention(CaptionLocator(), "where is the red one")
        >>> tuple(s.x.shape), tuple(s.attention.weights.shape)
        ((5, 64), (4, 5, 5))
    """
    if not isinstance(model, CaptionLocator):
        raise TypeError(f"model must be a CaptionLocator, got {type(model).__name__}")
    if not isinstance(question, str) or not 1 <= len(question.split()) <= MAX_WORDS:
        raise ValueError(f"question must be a str of 1 to {MAX_WORDS} VOCAB words, got {question!r}")
    ids = tokenize(question, length=len(question.split()))  # (L,)
    with torch.no_grad():
        x = model.norm_self(model.word_embedding(ids) + model.word_pos[: len(ids)])  # (L, D)
    return layer_self_attention(model.words_self, x, scale=scale)


def build() -> CaptionLocator:
    """The untrained architecture of the shipped ``caption.pt`` (default arguments)."""
    return CaptionLocator()
