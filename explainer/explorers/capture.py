"""Explorer 10: look at the attention recorded from any model.

:func:`recorded_attention_explorer` takes what :func:`~explainer.attention.capture_attention`
recorded (``rec`` or ``rec.maps``: ``{layer name: (B, H, Tq, Tk)}``) and shows, for the chosen
layer, batch item and head, the weights with the tokens named on both axes (as bertviz does); beside
them the mean over the heads or the attention rollout up to that layer (Abnar & Zuidema 2020); and
the weights of one query as bars. Clicking a row of either matrix selects that query.

Without maps it shows a small seeded ``nn.TransformerEncoder`` (random weights, 3 layers of 4
heads) reading a 10-word sentence: what any reader can record from a model of their own.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import skip_init

from explainer._validate import check_choice, check_int
from explainer.attention.capture import AttentionRecorder, attention_rollout, capture_attention
from explainer.attention.positional import sinusoidal_positional_encoding
from explainer.explorers._kit import Explorer, dropdown, int_slider, toggle_buttons
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.attention import clicked_row
from explainer.views.capture import draw_recorded_attention

__all__ = ["SENTENCE", "SUMMARIES", "ShownAttention", "RecordedAttentionExplorer", "default_maps",
           "recorded_attention_explorer"]

SENTENCE = "the cat sat on the mat because it was tired".split()  # 10 tokens; "the" twice
SUMMARIES = ("mean of heads", "rollout")
_TITLE_CHARS = 30  # a layer name longer than this is cut at its start in the panel's title (the info has it all)


@lru_cache(maxsize=1)
def _default_recording() -> tuple[tuple[str, Tensor], ...]:
    """The maps of a seeded encoder (see :func:`default_maps`), made once."""
    generator = torch.Generator().manual_seed(0)
    d_model, heads = 16, 4
    # skip_init: built without PyTorch's default initialisation, which would draw from the global RNG.
    layer = skip_init(nn.TransformerEncoderLayer, d_model, heads, dim_feedforward=32, dropout=0.0, batch_first=True)
    model = nn.TransformerEncoder(layer, num_layers=3, enable_nested_tensor=False).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:  # LayerNorm: the identity
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:  # seeded weights, twice the usual spread: sharper, easier to read maps
                p.copy_(torch.randn(p.shape, generator=generator) * 2 / math.sqrt(p.shape[-1]))
        vocabulary = {word: i for i, word in enumerate(dict.fromkeys(SENTENCE))}
        table = torch.randn(len(vocabulary), d_model, generator=generator)  # one embedding per distinct word
        x = table[[vocabulary[w] for w in SENTENCE]] + sinusoidal_positional_encoding(len(SENTENCE), d_model)
        with capture_attention(model) as rec:
            model(x[None])  # (1, 10, 16)
    return tuple(rec.maps.items())


def default_maps() -> dict[str, Tensor]:
    """``{name: (1, 4, 10, 10)}`` of a seeded 3-layer ``nn.TransformerEncoder`` reading :data:`SENTENCE`.

    Its weights are random (seeded), so the maps show what recording gives, not what a model learned.

    Example:
        >>> {name: tuple(w.shape) for name, w in default_maps().items()}["layers.2.self_attn"]
        (1, 4, 10, 10)
    """
    return dict(_default_recording())


@dataclass(frozen=True)
class ShownAttention:
    """What the explorer shows now.

    Attributes:
        layer: the layer's name; ``head``, ``item``, ``query`` indices into its weights (0-based; the
            slider and the pictures number heads from 1, as in every lesson).
        weights: ``(Tq, Tk)`` that head's weights for that batch item.
        summary: ``(Tq, Tk)`` the mean over the heads, or the rollout up to this layer.
        summary_kind: one of :data:`SUMMARIES`.
    """

    layer: str
    head: int
    item: int
    query: int
    weights: Tensor
    summary: Tensor
    summary_kind: str


class RecordedAttentionExplorer(Explorer):
    """Recorded weights of one layer / item / head, a summary (head mean or rollout) and one query's bars.

    ``result`` is a :class:`ShownAttention`. The axes carry the token names; they change (and the
    background is redrawn, once) only when a layer with other query / key tokens is chosen.
    """

    def __init__(self, maps: dict[str, Tensor], tokens: list[str] | None, key_tokens: list[str] | None,
                 values: dict[str, Any], theme: Theme) -> None:
        self.maps = maps
        self.names = list(maps)
        self.tokens, self.key_tokens = tokens, key_tokens
        self.rollouts = _rollouts(maps)  # {name: (B, T, T)}, or None where rollout has no meaning
        fig = new_figure(8.6, 4.0, theme=theme)
        self.view = draw_recorded_attention(fig, theme)
        painter = Painter(fig)
        painter.animate(self.view.artists)
        self.images = {name: w.detach().to("cpu", torch.float64) for name, w in maps.items()}  # (B, H, Tq, Tk)
        super().__init__(_controls(values, maps, self.rollouts is not None, theme), painter,
                         title="Recorded attention", theme=theme)
        self.enable_clicks()

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        B, H, Tq, _ = self.maps[values["layer"]].shape
        limits: dict[str, Any] = {
            "head": (1, H, "this layer has one head" if H == 1 else None),
            "query": (0, Tq - 1, None),
            "item": (0, B - 1, "one input in the batch" if B == 1 else None),
        }
        if self.rollouts is None:
            limits["summary"] = ([SUMMARIES[0]], "rollout needs self-attention layers of one length")
        return limits

    def render(self, values: dict[str, Any]) -> None:
        name, h, b, i = values["layer"], values["head"] - 1, values["item"], values["query"]  # h: an index
        w = self.images[name]  # (B, H, Tq, Tk)
        weights = w[b, h]  # (Tq, Tk)
        if values["summary"] == SUMMARIES[1] and self.rollouts is not None:
            summary, title = self.rollouts[name][b], f"rollout to layer {self.names.index(name) + 1}"
        else:
            summary, title = w[b].mean(dim=0), f"mean of the {w.shape[1]} heads"  # (Tq, Tk)
        if self.view.label(*_labels(weights.shape, self.tokens, self.key_tokens)):
            self.painter.invalidate()  # other tokens on the axes: the static text changed
        shown = name if len(name) <= _TITLE_CHARS else "…" + name[-(_TITLE_CHARS - 1):]  # long names: their end
        self.view.update(weights.numpy(), summary.numpy(), i, (f"{shown}, head {h + 1}", title))
        self.result = ShownAttention(layer=name, head=h, item=b, query=i, weights=weights, summary=summary,
                                     summary_kind=values["summary"] if self.rollouts is not None else SUMMARIES[0])
        self.info.value = _info(self.result, self.view.labels, len(self.names), self.names.index(name))

    def on_click(self, px: float, py: float) -> None:
        row = clicked_row(self.painter, (self.view.weights, self.view.summary), px, py)
        if row is not None:
            self.set(query=row)


def _rollouts(maps: dict[str, Tensor]) -> dict[str, Tensor] | None:
    """Rollout up to each layer (``{name: (B, T, T)}``), if every layer is self-attention over one ``T``.

    Non-finite weights (PyTorch's NaN rows for queries masked out entirely) count as zeros.
    """
    if not _rollout_possible(maps):
        return None
    layers = [torch.nan_to_num(w.detach().to("cpu", torch.float64), nan=0.0).clamp_min(0) for w in maps.values()]
    return {name: attention_rollout(layers[: k + 1]) for k, name in enumerate(maps)}


def _rollout_possible(maps: dict[str, Tensor]) -> bool:
    """Whether every layer is self-attention (``Tq == Tk``) over one token count."""
    return len({w.shape[2] for w in maps.values()} | {w.shape[3] for w in maps.values()}) == 1


def _labels(shape: torch.Size, tokens: list[str] | None, key_tokens: list[str] | None) -> tuple[list, list]:
    """Query and key names for a ``(Tq, Tk)`` matrix: the given tokens where their count fits, else indices."""
    Tq, Tk = shape
    queries = tokens if tokens is not None and len(tokens) == Tq else [str(i) for i in range(Tq)]
    if key_tokens is not None and len(key_tokens) == Tk:
        keys = key_tokens
    else:
        keys = tokens if tokens is not None and len(tokens) == Tk else [str(j) for j in range(Tk)]
    return list(queries), list(keys)


def _controls(v: dict[str, Any], maps: dict[str, Tensor], rollout: bool, theme: Theme) -> dict[str, Any]:
    B = max(w.shape[0] for w in maps.values())
    H = max(w.shape[1] for w in maps.values())
    T = max(w.shape[2] for w in maps.values())
    return {
        "layer": dropdown("layer", list(maps), v["layer"], theme=theme),
        "head": int_slider("head h", v["head"], 1, max(H, 2), tooltip="one head of the layer", theme=theme),
        "query": int_slider("query i", v["query"], 0, max(T - 1, 1), tooltip="or click a row", theme=theme),
        "item": int_slider("batch item", v["item"], 0, max(B - 1, 1), tooltip="which input of the batch",
                           theme=theme),
        "summary": toggle_buttons("beside it", list(SUMMARIES) if rollout else [SUMMARIES[0]], v["summary"],
                                  theme=theme),
    }


def _info(s: ShownAttention, labels: tuple[tuple[str, ...], tuple[str, ...]], layers: int, index: int) -> str:
    queries, keys = labels
    row = s.weights[s.query]  # (Tk,)
    finite = torch.nan_to_num(row, nan=-1.0)
    top = int(finite.argmax())
    words = " ".join(
        f"<span style='background:rgba(0,114,178,{max(float(x), 0.0):.2f});padding:0 2px'>{html.escape(word)}</span>"
        for word, x in zip(keys, torch.nan_to_num(row, nan=0.0).tolist(), strict=True))
    if not bool(torch.isfinite(row).all()):
        return (f"Layer <b>{html.escape(s.layer)}</b> ({index + 1} of {layers}), head {s.head + 1}: query {s.query} "
                f"“{html.escape(queries[s.query])}” was masked out entirely (PyTorch gives NaN weights: grey).")
    return (f"Layer <b>{html.escape(s.layer)}</b> ({index + 1} of {layers}), head {s.head + 1}, batch item {s.item}: "
            f"query <b>{s.query}</b> “{html.escape(queries[s.query])}” attends most to key {top} "
            f"“{html.escape(keys[top])}” (weight {float(row[top]):.2f}; uniform would be {1 / len(keys):.2f}). "
            f"Each row of a matrix sums to 1.<br>{words}")


def _check_maps(maps: Any) -> dict[str, Tensor]:
    if isinstance(maps, AttentionRecorder):
        maps = maps.maps
    if isinstance(maps, Mapping):
        items = [(str(k), v) for k, v in maps.items()]
    elif isinstance(maps, Sequence) and not isinstance(maps, (str, bytes)):
        items = [(str(k), v) for k, v in enumerate(maps)]
    else:
        raise TypeError(f"maps must be a capture_attention recorder, its maps {{name: (B, H, Tq, Tk)}} or a list of "
                        f"(B, H, Tq, Tk) tensors, got {type(maps).__name__}")
    if not items:
        raise ValueError("maps must hold at least one layer (was the model called inside capture_attention?)")
    for name, w in items:
        if not isinstance(w, Tensor) or w.ndim != 4 or not w.is_floating_point() or min(w.shape) < 1:
            raise ValueError(f"maps[{name!r}] must be a non-empty floating-point (B, H, Tq, Tk) tensor, got "
                             f"{tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__}")
    batches = {w.shape[0] for _, w in items}
    if len(batches) != 1:
        raise ValueError(f"every layer of maps must have the same batch size B, got {sorted(batches)}")
    return dict(items)


def _check_tokens(name: str, tokens: Any, lengths: set[int]) -> list[str] | None:
    if tokens is None:
        return None
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise TypeError(f"{name} must be a list of strings, got {type(tokens).__name__}")
    if len(tokens) not in lengths:
        raise ValueError(f"{name} must name the tokens of at least one layer: {len(tokens)} given, the layers have "
                         f"{sorted(lengths)}")
    return [str(t) for t in tokens]


def recorded_attention_explorer(maps: Any = None, tokens: Sequence[str] | None = None,
                                key_tokens: Sequence[str] | None = None, layer: str | int = 0, head: int = 1,
                                query: int = 0, item: int = 0, summary: str = "mean of heads",
                                presentation: bool | None = None) -> RecordedAttentionExplorer:
    """Build (not display) an explorer of recorded attention maps.

    Args:
        maps: what :func:`~explainer.attention.capture_attention` recorded: the recorder, its
            ``maps`` ``{name: (B, H, Tq, Tk)}``, or a list of such tensors; None for a seeded
            ``nn.TransformerEncoder`` reading :data:`SENTENCE` (:func:`default_maps`).
        tokens: names of the query tokens (and of the keys where a layer has as many); None: indices
            (or :data:`SENTENCE` for the default maps).
        key_tokens: names of the keys of layers whose keys are other tokens (a decoder's memory, image
            patches); None: ``tokens`` where they fit, else indices.
        layer: the layer shown, by name or index.
        head: the head ``h``, 1 to the layer's ``H`` (numbered from 1, as in every lesson; the index
            into the weights is ``h - 1``).
        query: the outlined query row ``i`` (or click a row).
        item: the batch item ``b``.
        summary: the matrix beside the head's: ``"mean of heads"`` or ``"rollout"`` (the product
            over layers 1..l of the head-averaged weights with the residual, offered when every
            layer is self-attention over one token count).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = recorded_attention_explorer(layer=2, summary="rollout")
        >>> ex.result.layer, tuple(ex.result.summary.shape)
        ('layers.2.self_attn', (10, 10))
    """
    if maps is None:
        maps, tokens = default_maps(), SENTENCE if tokens is None else tokens
    maps = _check_maps(maps)
    names = list(maps)
    if isinstance(layer, int) and not isinstance(layer, bool):
        layer = names[check_int("layer", layer, 0, len(names) - 1)]
    layer = check_choice("layer", layer, names)
    B, H, Tq, _ = maps[layer].shape
    tokens = _check_tokens("tokens", tokens, {w.shape[2] for w in maps.values()})
    key_tokens = _check_tokens("key_tokens", key_tokens, {w.shape[3] for w in maps.values()})
    values = dict(layer=layer, head=check_int("head", head, 1, H), query=check_int("query", query, 0, Tq - 1),
                  item=check_int("item", item, 0, B - 1), summary=check_choice("summary", summary, SUMMARIES))
    if summary == SUMMARIES[1] and not _rollout_possible(maps):
        raise ValueError("summary='rollout' needs self-attention layers over one token count; these maps have "
                         f"{sorted({tuple(w.shape[2:]) for w in maps.values()})}")
    return RecordedAttentionExplorer(maps, tokens, key_tokens, values, get_theme(presentation))

