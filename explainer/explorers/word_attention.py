"""Explorer 05 (second part): the same self-attention layer with random and with trained weights.

:func:`word_attention_explorer` runs the word self-attention layer (``words_self``) of the caption
model of :mod:`explainer.models.caption` on a question of the dataset's form ("where is the red one"),
step by step (:func:`~explainer.models.caption.question_self_attention`), with a switch between the
shipped trained weights and the same architecture with seeded random weights. Trained, most words
attend to the colour word, the one word the model needs to find the object (lesson 09 shows where that
word then looks in the picture); random, the weights are spread with no such preference.
"""

from __future__ import annotations

import functools
import html
import math
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from explainer._validate import check_choice, check_int
from explainer.attention.core import SelfAttentionSteps
from explainer.data import COLOURS
from explainer.explorers._kit import Explorer, Kept, dropdown, float_slider, int_slider, toggle_buttons
from explainer.explorers.cross_attention import NOUNS, STARTS, compose, default_caption_model, split_question
from explainer.explorers.vit_attention import untrained
from explainer.models.caption import CaptionLocator, question_self_attention
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.attention import clicked_row
from explainer.views.word_attention import draw_word_attention

__all__ = ["WEIGHTS", "RANDOM_SEED", "colour_share", "word_models", "ShownWordAttention", "WordAttentionExplorer",
           "word_attention_explorer"]

WEIGHTS = ("trained", "random")
RANDOM_SEED = 0  # the random weights: the caption architecture redrawn from this seed (see ``untrained``)


@functools.lru_cache(maxsize=1)
def word_models() -> dict[str, CaptionLocator]:
    """``{"trained": the shipped caption model, "random": the same architecture with seeded random weights}``."""
    from explainer.models.caption import build

    return {"trained": default_caption_model().eval(), "random": untrained(build, RANDOM_SEED)}


def colour_share(weights: Tensor, colour_word: int) -> float:
    """The mean weight on key ``colour_word`` of ``weights (h, L, L)``, over heads and queries (uniform: ``1/L``).

    Example:
        >>> import torch
        >>> colour_share(torch.full((2, 4, 4), 0.25), 1)
        0.25
    """
    if not isinstance(weights, Tensor) or weights.ndim != 3 or weights.shape[1] != weights.shape[2]:
        raise ValueError(f"weights must be a tensor of shape (h, L, L), got {getattr(weights, 'shape', weights)!r}")
    check_int("colour_word", colour_word, 0, weights.shape[-1] - 1)
    return float(weights[..., colour_word].mean())


@dataclass(frozen=True)
class ShownWordAttention:
    """What the explorer shows.

    Attributes:
        weights: ``"trained"`` or ``"random"``.
        question: the question; ``words`` its ``L`` words.
        steps: the layer's :class:`~explainer.attention.core.SelfAttentionSteps` (``weights (h, L, L)``).
        query: the outlined query row.
        colour_word: the position of the colour word in ``words``.
        share: :func:`colour_share` of the weights on the colour word (uniform: ``1/L``).
    """

    weights: str
    question: str
    words: tuple[str, ...]
    steps: SelfAttentionSteps
    query: int
    colour_word: int
    share: float


class WordAttentionExplorer(Explorer):
    """The mean of the heads, each head, and the chosen query's weights, for trained or random weights.

    ``result`` is a :class:`ShownWordAttention`. Click a row of a matrix to pick that query.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self.models = word_models()
        heads = self.models["trained"].words_self.num_heads
        fig = new_figure(8.6, 3.9, theme=theme)
        self.view = draw_word_attention(fig, heads, theme)
        painter = Painter(fig)
        painter.animate(self.view.artists)
        self.kept = Kept(32)  # per (weights, question, temperature)
        controls = {
            "weights": toggle_buttons("weights", list(WEIGHTS), values["weights"], theme=theme),
            "start": dropdown("question", list(STARTS), values["start"], theme=theme),
            "colour": dropdown("colour", list(COLOURS), values["colour"], theme=theme),
            "noun": dropdown("noun", list(NOUNS), values["noun"], theme=theme),
            "query": int_slider("query i", values["query"], 0, 5, tooltip="or click a row", theme=theme),
            "temperature": float_slider("temperature τ", values["temperature"], 0.25, 4.0, 0.25,
                                        tooltip="the scores are divided by τ", theme=theme),
        }
        super().__init__(controls, painter, title="The same layer, random or trained", theme=theme)
        self.enable_clicks()

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        words = len(compose(values["start"], values["colour"], values["noun"]).split())
        return {"query": (0, words - 1, None)}

    def render(self, values: dict[str, Any]) -> None:
        question = compose(values["start"], values["colour"], values["noun"])
        model = self.models[values["weights"]]
        d_k = model.words_self.head_dim
        key = (values["weights"], question, values["temperature"])
        steps = self.kept.fetch(key, lambda: question_self_attention(
            model, question, scale=1 / math.sqrt(d_k) / values["temperature"]))
        words = tuple(question.split())
        colour = words.index(values["colour"])
        share = colour_share(steps.attention.weights, colour)
        self.result = ShownWordAttention(weights=values["weights"], question=question, words=words, steps=steps,
                                         query=values["query"], colour_word=colour, share=share)
        i = values["query"]
        mean = steps.attention.weights.mean(0)  # (L, L)
        title = (f"{values['weights']} weights: {100 * share:.0f} % of the attention on “{values['colour']}” "
                 f"(uniform {100 / len(words):.0f} %)")
        self.view.label(words)
        self.view.update(steps.attention.weights.numpy(), i, colour, title,
                         f"query “{words[i]}”")
        top = int(mean[i].argmax())
        self.info.value = (
            f"Layer <code>words_self</code> of the caption model (lesson 09), {values['weights']} weights: "
            f"{steps.q.shape[0]} heads of d<sub>k</sub> = {d_k}, scale 1/√{d_k} ÷ τ({values['temperature']:g}). "
            f"Query {i} “{html.escape(words[i])}” attends most to “{html.escape(words[top])}” "
            f"({float(mean[i, top]):.2f}); over all words and heads, {100 * share:.0f} % of the weight goes to the "
            f"colour word “{html.escape(values['colour'])}” (a uniform row gives {100 / len(words):.0f} %).")

    def on_click(self, px: float, py: float) -> None:
        row = clicked_row(self.painter, (self.view.mean, *self.view.heads), px, py)
        if row is not None:
            self.set(query=row)


def word_attention_explorer(weights: str = "trained", question: str = "where is the red one", query: int | None = None,
                            temperature: float = 1.0, presentation: bool | None = None) -> WordAttentionExplorer:
    """Build (not display) the explorer of one self-attention layer with trained or random weights.

    Args:
        weights: ``"trained"`` (the shipped caption model) or ``"random"`` (its architecture, seeded random weights).
        question: ``"<start> <colour> <noun>"`` of the dataset's form (see
            :func:`~explainer.explorers.cross_attention.split_question`).
        query: the outlined query row; None: the last word.
        temperature: divides the scores (0.25-4, steps of 0.25).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = word_attention_explorer()
        >>> ex.result.words[ex.result.colour_word], tuple(ex.result.steps.attention.weights.shape)
        ('red', (4, 5, 5))
    """
    weights = check_choice("weights", weights, WEIGHTS)
    start, colour, noun = split_question(question)
    words = len(compose(start, colour, noun).split())
    query = words - 1 if query is None else check_int("query", query, 0, words - 1)
    if (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
            or not 0.25 <= temperature <= 4 or abs(temperature * 4 - round(temperature * 4)) > 1e-9):
        raise ValueError(f"temperature must be a multiple of 0.25 in [0.25, 4], got {temperature!r}")
    values = dict(weights=weights, start=start, colour=colour, noun=noun, query=query,
                  temperature=float(temperature))
    return WordAttentionExplorer(values, get_theme(presentation))
