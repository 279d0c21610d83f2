"""Explorer 09: words attending to image regions (cross-attention), and why Q and K cannot be swapped.

:func:`cross_attention_explorer` shows the caption model of :mod:`explainer.models.caption` on one of a
few seeded word-conditioned :func:`~explainer.data.hard_scenes`: every object has its own colour, and
the question names one by its colour ("where is the red one"). The student composes the question
from the dataset's vocabulary (three drop-downs that only make valid questions), picks a word, and sees

* that word's cross-attention over the ``8 x 8`` patches (one head or the heads' mean) of the chosen
  cross-attention layer, as :func:`~explainer.attention.capture_attention` recorded it;
* the importance map: the weights averaged over the question's words
  (:func:`~explainer.attention.importance_map`, our notes' use of cross-attention);
* side by side, the layer ``words_self`` (self-attention: Q, K and V all from the words), the cross-
  attention ``W = softmax(Q K^T / sqrt(d_k))`` (Q from the words, K and V from the patches; each row,
  a softmax over the patches, sums to 1), and the same scores with Q and K swapped,
  ``softmax(K Q^T / sqrt(d_k))``, whose softmax runs over the words: it is another matrix, not the
  transpose of ``W``; its columns sum to 1, its rows do not.
"""

from __future__ import annotations

import functools
import html
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from explainer._validate import check_choice, check_int
from explainer.attention.capture import capture_attention, importance_map
from explainer.attention.core import MultiHeadAttention, split_heads
from explainer.data import COLOURS, SHAPES, VOCAB, Scenes, hard_scenes, tokenize
from explainer.explorers._kit import Explorer, Kept, dropdown, int_slider, toggle_buttons
from explainer.explorers.vit_attention import HEAD_MODES, IMAGE_SIZE, PATCH_SIZE, shipped, untrained
from explainer.models import load_pretrained
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.attention import clicked_row
from explainer.views.cross_attention import draw_cross_attention
from explainer.views.vit_attention import mask_outline

__all__ = ["SCENE_SEED", "NUM_IMAGES", "STARTS", "NOUNS", "compose", "split_question", "lesson_scenes",
           "default_caption_model", "swapped_weights", "QuestionAttention", "question_attention",
           "ShownCrossAttention", "CrossAttentionExplorer", "cross_attention_explorer"]

SCENE_SEED = 909  # the explorer's scenes: a seed the training and test sets do not use
NUM_IMAGES = 12
GRID = IMAGE_SIZE // PATCH_SIZE
STARTS = ("where is the", "find the", "point at the", "what shape is the")  # the dataset's question templates
NOUNS = ("one", "thing", "object")
_KEPT = 24  # (scene, question) recordings kept


def compose(start: str, colour: str, noun: str) -> str:
    """A question of the dataset's form: ``"<start> <colour> <noun>"``.

    Example:
        >>> compose("where is the", "red", "one")
        'where is the red one'
    """
    start = check_choice("start", start, STARTS)
    colour = check_choice("colour", colour, tuple(COLOURS))
    noun = check_choice("noun", noun, NOUNS)
    return f"{start} {colour} {noun}"


def split_question(question: str) -> tuple[str, str, str]:
    """``(start, colour, noun)`` of a question :func:`compose` can make.

    Raises:
        ValueError: the question is not of that form.

    Example:
        >>> split_question("what shape is the cyan thing")
        ('what shape is the', 'cyan', 'thing')
    """
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, got {type(question).__name__}")
    words = question.split()
    start = " ".join(words[:-2])
    if len(words) < 3 or start not in STARTS or words[-2] not in COLOURS or words[-1] not in NOUNS:
        raise ValueError(f"question must read '<start> <colour> <noun>' with start in {STARTS}, a colour of "
                         f"{tuple(COLOURS)} and a noun of {NOUNS}, got {question!r}")
    return start, words[-2], words[-1]


@functools.lru_cache(maxsize=1)
def lesson_scenes() -> Scenes:
    """The explorer's :data:`NUM_IMAGES` word-conditioned hard scenes (seed :data:`SCENE_SEED`), made once."""
    return hard_scenes(NUM_IMAGES, IMAGE_SIZE, seed=SCENE_SEED, target="word")


def default_caption_model() -> nn.Module:
    """The shipped caption model (``load_pretrained("caption")``), or, before it ships, the untrained seeded one."""
    if shipped("caption"):
        with torch.random.fork_rng(devices=[]):  # building the module initialises it from the global RNG
            return load_pretrained("caption")
    from explainer.models.caption import build

    return untrained(build)


def swapped_weights(query: Tensor, key: Tensor, layer: MultiHeadAttention, keep: Tensor | None = None) -> Tensor:
    """The weights of ``layer`` with the roles of Q and K swapped: ``softmax(K Q^T / sqrt(d_k))`` over the queries.

    Args:
        query: ``(B, Nq, D)`` the layer's query input (e.g. the words), ``key`` ``(B, Nk, D)`` its key input.
        layer: the attention layer whose projections make ``Q = query W_q^T + b_q`` and ``K``.
        keep: ``(B, Nq)`` bool, the queries that may be attended to (padding words: False).

    Returns:
        ``(B, H, Nk, Nq)``: row ``j`` (a key token) is a softmax over the query tokens; it sums to 1.
        The layer's own weights ``(B, H, Nq, Nk)`` are a softmax over the keys instead.
    """
    def project(linear: nn.Linear, x: Tensor) -> Tensor:  # in x's dtype (float64 for the explorer)
        bias = None if linear.bias is None else linear.bias.to(x.dtype)
        return nn.functional.linear(x, linear.weight.to(x.dtype), bias)

    q = split_heads(project(layer.q_proj, query), layer.num_heads)  # (B, H, Nq, d_k)
    k = split_heads(project(layer.k_proj, key), layer.num_heads)  # (B, H, Nk, d_k)
    scores = k @ q.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, Nk, Nq)
    if keep is not None:
        scores = scores.masked_fill(~keep[:, None, None, :], float("-inf"))
    return torch.softmax(scores, dim=-1)


@dataclass(frozen=True)
class QuestionAttention:
    """One forward pass of the caption model on one scene and question.

    Attributes:
        words: the question's words (padding dropped), ``L`` of them.
        cross: ``{layer name: (H, L, P)}`` float64 cross-attention weights (words x patches), as recorded.
        self_weights: ``(H, L, L)`` the words' self-attention weights, as recorded (None without one).
        self_name: that layer's name.
        swapped: ``{layer name: (H, L, P)}`` the weights with Q and K swapped, transposed to words x patches
            (each column, a softmax over the words, sums to 1).
        cell: ``(P,)`` the answer's logits (which patch holds the object); ``shape`` ``(classes,)``.
    """

    words: tuple[str, ...]
    cross: dict[str, Tensor]
    self_weights: Tensor | None
    self_name: str | None
    swapped: dict[str, Tensor]
    cell: Tensor
    shape: Tensor


def question_attention(model: nn.Module, image: Tensor, question: str) -> QuestionAttention:
    """Record ``model(image[None], tokenize(question)[None])`` and read it (see :class:`QuestionAttention`)."""
    tokens = tokenize(question)[None]  # (1, L_max)
    keep = tokens != 0  # (1, L_max)
    inputs: dict[str, tuple[Tensor, Tensor]] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, MultiHeadAttention):
            def grab(m: nn.Module, args: tuple, name: str = name) -> None:
                inputs[name] = (args[0], args[1])
            handles.append(module.register_forward_pre_hook(grab))
    try:
        with torch.no_grad(), capture_attention(model) as rec:
            out = model(image[None], tokens)
    finally:
        for handle in handles:
            handle.remove()
    cell, shape = out if isinstance(out, tuple) else (out, None)
    n = int(keep.sum())
    cross, swapped, self_weights, self_name = {}, {}, None, None
    with torch.no_grad():
        for name, w in rec.maps.items():
            w = w[0, :, :n].double()  # (H, L, Tk): the real words' rows
            if w.shape[-1] == GRID * GRID:
                cross[name] = w
                layer = model.get_submodule(name)
                q, k = inputs[name]
                swapped[name] = swapped_weights(q.double(), k.double(), layer, keep)[0, :, :, :n] \
                    .transpose(-2, -1).contiguous()  # (H, L, P)
            elif self_weights is None:
                self_weights, self_name = w[..., :n], name  # (H, L, L)
    words = tuple(VOCAB[int(t)] for t in tokens[0, :n])
    return QuestionAttention(words, cross, self_weights, self_name, swapped, cell[0].double(),
                             shape[0].double() if shape is not None else torch.zeros(len(SHAPES)))


@dataclass(frozen=True)
class ShownCrossAttention:
    """What the explorer shows now.

    Attributes:
        image, question, layer: the scene index, the question and the cross-attention layer's name.
        word: the index of the chosen word in ``words``; ``head`` the head's index (0-based; the pictures
            and the slider number heads from 1), None for the heads' mean.
        weights: ``(L, P)`` the layer's weights (that head or the mean), words x patches; rows sum to 1.
        word_map: ``(g, g)`` the chosen word's row over the patch grid.
        importance: ``(g, g)`` :func:`importance_map` of ``weights`` over the words.
        swapped: ``(L, P)`` the same layer with Q and K swapped (transposed); columns sum to 1.
        self_weights: ``(L, L)`` the words' self-attention (that head or the mean).
        named: the slot of the object of the question's colour in the scene, None if there is none.
        pointing: whether the chosen word's largest weight falls on the named object.
        answer: the patch the model answers.
    """

    image: int
    question: str
    words: tuple[str, ...]
    layer: str
    word: int
    head: int | None
    weights: Tensor
    word_map: Tensor
    importance: Tensor
    swapped: Tensor
    self_weights: Tensor | None
    named: int | None
    pointing: bool | None
    answer: int
    shape: str


class CrossAttentionExplorer(Explorer):
    """A word's attention over the scene, the importance map, and self / cross / swapped weight matrices.

    ``result`` is a :class:`ShownCrossAttention`. Click a row of a matrix to pick that word.
    """

    def __init__(self, model: nn.Module, values: dict[str, Any], theme: Theme, first: QuestionAttention) -> None:
        self.model = model.eval()
        self.scenes = lesson_scenes()
        self.kept = Kept(_KEPT)
        question = compose(values["start"], values["colour"], values["noun"])
        self.kept[(values["image"], question)] = first
        self.layers = list(first.cross)
        self.heads = next(iter(first.cross.values())).shape[0]
        self.outlines: dict[tuple[int, int], Any] = {}
        fig = new_figure(8.6, 5.2, theme=theme)
        self.view = draw_cross_attention(fig, IMAGE_SIZE, GRID, theme)
        painter = Painter(fig)
        painter.animate(self.view.artists)
        controls = {
            "image": int_slider("scene", values["image"], 0, NUM_IMAGES - 1, tooltip="a seeded scene", theme=theme),
            "start": dropdown("question", list(STARTS), values["start"], theme=theme),
            "colour": dropdown("colour", list(COLOURS), values["colour"], theme=theme),
            "noun": dropdown("noun", list(NOUNS), values["noun"], theme=theme),
            "word": int_slider("word", values["word"], 0, 5, tooltip="which word's attention; or click a row",
                               theme=theme),
            "layer": toggle_buttons("layer", self.layers, values["layer"], theme=theme),
            "heads": toggle_buttons("heads", list(HEAD_MODES), values["heads"], theme=theme),
            "head": int_slider("head h", values["head"], 1, self.heads, theme=theme),
        }
        super().__init__(controls, painter, title="Words attending to image regions", theme=theme)
        self.enable_clicks()

    def _record(self, image: int, question: str) -> QuestionAttention:
        return self.kept.fetch((image, question),
                               lambda: question_attention(self.model, self.scenes.images[image], question))

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        words = len(compose(values["start"], values["colour"], values["noun"]).split())
        limits: dict[str, Any] = {"word": (0, words - 1, None)}
        if len(self.layers) == 1:
            limits["layer"] = (self.layers, "the model has one cross-attention layer")
        if values["heads"] == HEAD_MODES[1]:
            limits["head"] = (values["head"], values["head"], "the mean of all heads is shown")
        else:
            limits["head"] = (1, self.heads, None)
        return limits

    def _named(self, image: int, colour: str) -> int | None:
        colours = self.scenes.colours[image].tolist()
        index = list(COLOURS).index(colour)
        return colours.index(index) if index in colours else None

    def _outline(self, image: int, slot: int | None) -> Any:
        if slot is None:
            return None
        if (image, slot) not in self.outlines:
            self.outlines[(image, slot)] = mask_outline(self.scenes.masks[image, slot].numpy())
        return self.outlines[(image, slot)]

    def render(self, values: dict[str, Any]) -> None:
        i, layer, word = values["image"], values["layer"], values["word"]
        question = compose(values["start"], values["colour"], values["noun"])
        head = values["head"] - 1 if values["heads"] == HEAD_MODES[0] else None  # an index
        q = self._record(i, question)
        pick = (lambda w: w[head]) if head is not None else (lambda w: w.mean(0))  # noqa: E731
        weights, swapped = pick(q.cross[layer]), pick(q.swapped[layer])  # (L, P) each
        self_weights = pick(q.self_weights) if q.self_weights is not None else None
        named = self._named(i, values["colour"])
        row = weights[word]  # (P,)
        pointing = None if named is None else bool(self.scenes.masks[i, named].reshape(GRID, PATCH_SIZE, GRID,
                                                                                       PATCH_SIZE)
                                                   .any(3).any(1).flatten()[int(row.argmax())])
        answer = int(q.cell.argmax())
        self.result = ShownCrossAttention(
            image=i, question=question, words=q.words, layer=layer, word=word, head=head, weights=weights,
            word_map=row.reshape(GRID, GRID), importance=importance_map(weights, dim=-2, grid=GRID),
            swapped=swapped, self_weights=self_weights, named=named, pointing=pointing, answer=answer,
            shape=SHAPES[int(q.shape.argmax())])
        self._paint(q)

    def _paint(self, q: QuestionAttention) -> None:
        r = self.result
        outline = self._outline(r.image, r.named)
        row, col = divmod(r.answer, GRID)
        square = (col * PATCH_SIZE - 0.5, row * PATCH_SIZE - 0.5, PATCH_SIZE, PATCH_SIZE)
        v = self.view
        present = f"the {r.words[-2]} object: outlined" if r.named is not None else f"no {r.words[-2]} object here"
        v.scene.update(self.scenes.images[r.image].permute(1, 2, 0).numpy(), outline, square,
                       f"“{r.question}”\n{present}")
        heads = f"head {r.head + 1}" if r.head is not None else "mean of heads"
        top = float(r.word_map.max())
        v.word_map.update((r.word_map / top).numpy(), outline, None,
                          f"“{r.words[r.word]}” → patches\n{r.layer} · {heads} · max {top:.2f}")
        imp = r.importance / r.importance.max()
        v.importance.update(imp.numpy(), outline, None, "")  # its title is static
        v.label(r.words)
        self_w = r.self_weights.numpy() if r.self_weights is not None else np.full((len(r.words),) * 2, np.nan)
        rows, cols = r.swapped.sum(-1), r.swapped.sum(-2)
        titles = (f"({q.self_name or 'no self-attention'})",
                  f"softmax over patches: rows sum to {float(r.weights.sum(-1).min()):.2f}",
                  f"rows sum to {float(rows.min()):.1f}–{float(rows.max()):.1f}, columns to {float(cols.min()):.2f}")
        v.update_matrices(self_w, r.weights.numpy(), r.swapped.numpy(), r.word, titles)
        self.info.value = _info(r)

    def on_click(self, px: float, py: float) -> None:
        row = clicked_row(self.painter, (self.view.self_matrix, self.view.cross_matrix, self.view.swapped_matrix),
                          px, py)
        if row is not None:
            self.set(word=row)


def _info(r: ShownCrossAttention) -> str:
    word = html.escape(r.words[r.word])
    heads = f"head {r.head + 1}" if r.head is not None else "the mean of the heads"
    if r.named is None:
        where = f"There is no {html.escape(r.words[-2])} object in this scene: the question names nothing here."
    else:
        where = (f"The largest weight of “{word}” {'falls on' if r.pointing else 'misses'} the named object "
                 "(the pointing game).")
    row, col = divmod(r.answer, GRID)
    return (f"Question “{html.escape(r.question)}”, word “{word}”, layer {html.escape(r.layer)}, {heads}. {where} "
            f"The model answers: patch row {row}, column {col}, shape {html.escape(r.shape)}. Each row of W sums to 1 "
            f"over the {GRID * GRID} patches; with Q and K swapped each patch's weights sum to 1 over the "
            f"{len(r.words)} words instead: a different matrix, not W transposed.")


def cross_attention_explorer(model: nn.Module | None = None, image: int = 0, question: str | None = None,
                             word: int | None = None, layer: str | None = None, heads: str = "mean of heads",
                             head: int = 1, presentation: bool | None = None) -> CrossAttentionExplorer:
    """Build (not display) the explorer of words attending to image patches.

    Args:
        model: a caption model taking ``(images (B, 3, 32, 32), tokens (B, L))`` whose attention layers
            are :class:`~explainer.attention.MultiHeadAttention` over ``8 x 8`` patch keys (and one word
            self-attention); None for :func:`default_caption_model`.
        image: the scene, 0 to ``NUM_IMAGES - 1``.
        question: ``"<start> <colour> <noun>"`` (see :func:`split_question`); None: the scene's own question.
        word: the word whose attention is shown; None: the colour word.
        layer: the cross-attention layer's name; None: the first.
        heads: ``"one head"`` or ``"mean of heads"``.
        head: the head shown with ``"one head"``, 1 to ``H`` (numbered from 1, as in every lesson).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = cross_attention_explorer(question="where is the red one")
        >>> ex.result.words[ex.result.word], tuple(ex.result.weights.shape)
        ('red', (5, 64))
    """
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    model = default_caption_model() if model is None else model
    image = check_int("image", image, 0, NUM_IMAGES - 1)
    scenes = lesson_scenes()
    start, colour, noun = split_question(scenes.captions[image] if question is None else question)
    words = len(compose(start, colour, noun).split())
    word = words - 2 if word is None else check_int("word", word, 0, words - 1)
    first = question_attention(model, scenes.images[image], compose(start, colour, noun))
    if not first.cross:
        raise ValueError(f"model must have a cross-attention layer over {GRID}x{GRID} patches, got layers "
                         f"{list(first.cross)}")
    layer = next(iter(first.cross)) if layer is None else check_choice("layer", layer, tuple(first.cross))
    H = next(iter(first.cross.values())).shape[0]
    values = dict(image=image, start=start, colour=colour, noun=noun, word=word, layer=layer,
                  heads=check_choice("heads", heads, HEAD_MODES), head=check_int("head", head, 1, H))
    return CrossAttentionExplorer(model, values, get_theme(presentation), first)
