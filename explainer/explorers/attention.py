"""Explorers 5: self-attention step by step, and positional encodings.

:func:`self_attention_explorer` shows, for a short sentence with seeded random embeddings and
projections, the matrices ``Q = XW_q``, ``K = XW_k``, ``V = XW_v`` of one head, the scaled scores
``QK^T * scale``, the softmax weights and the output ``AV``; the weight maps of every head; what the
selected query attends to; and the softmax entropy against the head width with and without the
``1/sqrt(d)`` (Vaswani et al. 2017). Clicking a row of a matrix selects that query; clicking the
entropy plot picks the head width.

:func:`positional_encoding_explorer` shows the sinusoidal encoding (1D, or 2D for a grid of image
patches), its dot-product similarity matrix, and the similarity of one position to all others.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from explainer._validate import check_choice, check_int
from explainer.attention.core import SelfAttentionSteps, causal_mask, random_self_attention
from explainer.attention.positional import positional_similarity
from explainer.explorers._kit import (
    Explorer, Kept, float_slider, int_slider, one_torch_thread, selection_slider, toggle_buttons,
)
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.attention import draw_entropy, draw_matrix, draw_weight_bars, row_of

__all__ = [
    "SENTENCE",
    "HEAD_DIMS",
    "SelfAttentionExplorer",
    "self_attention_explorer",
    "PositionalEncodingExplorer",
    "positional_encoding_explorer",
]

SENTENCE = "the cat sat on the mat because it was tired and then it fell fast asleep".split()  # 16 tokens
HEAD_DIMS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_PANEL_DIMS = (1, 2, 4, 8, 16, 32, 64)  # head widths the sliders offer
_MAX_TOKENS = len(SENTENCE)
_MAX_HEADS = 4


def _dot_products(tokens: int, seed: int, samples: int = 16) -> Tensor:
    """Logits ``q.k`` of random unit-variance queries and keys for every width in :data:`HEAD_DIMS`: ``(D, S, T, T)``.

    Queries and keys of width ``d`` are the first ``d`` channels of one ``(S, T, 256)`` draw.
    """
    generator = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, samples, tokens, HEAD_DIMS[-1], generator=generator)  # each (S, T, 256)
    return torch.stack([q[..., :d] @ k[..., :d].transpose(-2, -1) for d in HEAD_DIMS])  # (D, S, T, T)


def _entropy_curves(logits: Tensor, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean softmax entropy over :data:`HEAD_DIMS` of ``logits (D, S, T, T)`` with and without ``1/sqrt(d)``."""
    root = torch.tensor(HEAD_DIMS, dtype=logits.dtype).sqrt()[:, None, None, None]  # (D, 1, 1, 1)
    out = []
    for z in (logits / root / temperature, logits / temperature):
        w = torch.softmax(z, dim=-1)  # (D, S, T, T)
        out.append((-torch.xlogy(w, w).sum(-1)).mean(dim=(1, 2)).numpy())  # (D,)
    return out[0], out[1]


_HEAD_DIMS = np.array(HEAD_DIMS)  # one array: the entropy view keeps curves drawn over the very same


class SelfAttentionExplorer(Explorer):
    """Q, K, V, scores, weights and output of one head; every head's weights; entropy against ``d``.

    ``result`` is the current :class:`~explainer.attention.core.SelfAttentionSteps` (``x`` are seeded
    random embeddings of the words of :data:`SENTENCE`, the first ``tokens`` of them).
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(9.2, 4.8, theme=theme)
        top, height, width = 0.53, 0.38, 0.145
        names = [("q", "Q (head 1)", True), ("k", "K", True), ("v", "V", True), ("scores", "scores QKᵀ·s", True),
                 ("weights", "weights softmax", False), ("output", "output AV", True)]
        self.mats = {}
        for i, (name, title, signed) in enumerate(names):
            ax = fig.add_axes((0.01 + i * (width + 0.02), top, width, height))
            self.mats[name] = draw_matrix(ax, title, signed=signed, theme=theme)
        self.heads = []
        for h in range(_MAX_HEADS):
            ax = fig.add_axes((0.01 + h * 0.105, 0.06, 0.095, 0.33))
            self.heads.append(draw_matrix(ax, f"head {h + 1}", signed=False, theme=theme))
        self.bars = draw_weight_bars(fig.add_axes((0.47, 0.08, 0.2, 0.33)), "weights of query i (head 1)", theme)
        self.entropy = draw_entropy(fig.add_axes((0.74, 0.1, 0.24, 0.31)), (HEAD_DIMS[0], HEAD_DIMS[-1]),
                                    math.log(_MAX_TOKENS) * 1.25, theme)
        painter = Painter(fig)
        views = [*self.mats.values(), *self.heads]
        painter.animate(*(view.artists for view in views), self.bars.artists, self.entropy.artists)
        self._logits = Kept(16)  # per (tokens, seed); <= 150 KB each
        # Entropy curves per (tokens, seed, temperature): the head width, heads, scale and mask do not change them.
        self._curves = Kept(64)
        # (attention steps, weights with masked entries NaN, entropy curves) per setting; <= 60 KB each.
        self._results = Kept(16)
        super().__init__(_controls(values, theme), painter, title="Self-attention step by step", theme=theme)
        self.enable_clicks()

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        return {"query": (0, values["tokens"] - 1, None)}

    def render(self, values: dict[str, Any]) -> None:
        v = values
        with one_torch_thread():  # also done by Explorer.update; kept for direct calls
            d, causal = v["head_dim"], v["mask"] == "causal"
            scale = (1 / math.sqrt(d) if v["scaling"] == "1/√d" else 1.0) / v["temperature"]
            setting = (v["tokens"], d, v["num_heads"], scale, causal, v["seed"], v["temperature"])

            def make() -> tuple[SelfAttentionSteps, np.ndarray, tuple[np.ndarray, np.ndarray]]:
                s = random_self_attention(v["tokens"], d, v["num_heads"], scale=scale,
                                          mask=causal_mask(v["tokens"]) if causal else None, seed=v["seed"])
                a = s.attention
                shown = torch.where(torch.isinf(a.scores), float("nan"), a.weights).numpy()  # (H, T, T), masked: grey
                return s, shown, self._entropy_curves(v["tokens"], v["seed"], v["temperature"])

            # The query alone changes only the highlights; a setting seen lately is not computed again.
            s, shown, (scaled, unscaled) = self._results.fetch(setting, make)
        i, a = v["query"], s.attention
        for name, matrix in (("q", s.q[0]), ("k", s.k[0]), ("v", s.v[0]), ("output", a.output[0])):
            self.mats[name].update(matrix.numpy(), row=i if name in ("q", "output") else None)
        self.mats["scores"].update(a.scores[0].numpy(), row=i)
        self.mats["weights"].update(shown[0], row=i)
        for h, view in enumerate(self.heads):
            if h < v["num_heads"]:
                view.update(shown[h], row=i)
            else:  # an unused head: a grey square
                view.update(np.full((1, 1), np.nan), limit=1.0)
        self.bars.update(a.weights[0, i].numpy())
        current = (scaled if v["scaling"] == "1/√d" else unscaled)[HEAD_DIMS.index(v["head_dim"])]
        self.entropy.update(_HEAD_DIMS, scaled, unscaled, v["tokens"], v["head_dim"], float(current))
        self.result = s
        self.info.value = _attention_info(s, v)

    def _entropy_curves(self, tokens: int, seed: int, temperature: float) -> tuple[np.ndarray, np.ndarray]:
        """:func:`_entropy_curves` of the logits for (tokens, seed), both kept (a few hold at most)."""
        def curves() -> tuple[np.ndarray, np.ndarray]:
            logits = self._logits.fetch((tokens, seed), lambda: _dot_products(tokens, seed))
            return _entropy_curves(logits, temperature)

        return self._curves.fetch((tokens, seed, temperature), curves)

    def on_click(self, px: float, py: float) -> None:
        t = self.values["tokens"]
        for view in [*self.mats.values(), *self.heads]:
            point = self.painter.pixel_to_data(view.ax, px, py)
            if point is not None:
                self.set(query=row_of(point[1], t))
                return
        point = self.painter.pixel_to_data(self.entropy.ax, px, py)
        if point is not None:
            nearest = min(_PANEL_DIMS, key=lambda d: abs(math.log2(d) - math.log2(max(point[0], 1e-3))))
            self.set(head_dim=nearest)


def _controls(v: dict[str, Any], theme: Theme) -> dict[str, Any]:
    return {
        "tokens": int_slider("tokens T", v["tokens"], 2, _MAX_TOKENS, tooltip="words of the sentence", theme=theme),
        "head_dim": selection_slider("head width d", _PANEL_DIMS, v["head_dim"], tooltip="query/key width per head",
                                     theme=theme),
        "num_heads": toggle_buttons("heads", [1, 2, 4], v["num_heads"], theme=theme),
        "scaling": toggle_buttons("scale", ["1/√d", "none"], v["scaling"], theme=theme),
        "temperature": float_slider("temperature τ", v["temperature"], 0.25, 4.0, 0.25,
                                    tooltip="logits are divided by τ", theme=theme),
        "mask": toggle_buttons("mask", ["none", "causal"], v["mask"], theme=theme),
        "query": int_slider("query i", v["query"], 0, _MAX_TOKENS - 1, tooltip="or click a row", theme=theme),
        "seed": int_slider("seed", v["seed"], 0, 9, tooltip="random embeddings and projections", theme=theme),
    }


def _attention_info(s: SelfAttentionSteps, v: dict[str, Any]) -> str:
    i, w = v["query"], s.attention.weights[0, v["query"]]
    T, d = s.x.shape[0], s.q.shape[-1]
    tokens = SENTENCE[:T]
    top = int(w.argmax())
    words = " ".join(
        f"<span style='background:rgba(0,114,178,{float(x):.2f});padding:0 2px'>{html.escape(word)}</span>"
        for word, x in zip(tokens, w.tolist()))
    scale = f"1/√{d} = {1 / math.sqrt(d):.3f}" if v["scaling"] == "1/√d" else "1"
    return (f"<b>softmax(QKᵀ·s)V</b>, s = {scale} / τ({v['temperature']:g}) = {s.scale:.3f}; "
            f"mask: {v['mask']}. Query <b>{i}</b> “{html.escape(tokens[i])}” attends most to key {top} "
            f"“{html.escape(tokens[top])}” (weight {float(w[top]):.2f}); its entropy is "
            f"{float(s.entropy[0, i]):.2f} nats (uniform: log {T} = {math.log(T):.2f}).<br>{words}")


def self_attention_explorer(tokens: int = 8, head_dim: int = 8, num_heads: int = 2, scaling: str = "1/√d",
                            temperature: float = 1.0, mask: str = "none", query: int = 2, seed: int = 0,
                            presentation: bool | None = None) -> SelfAttentionExplorer:
    """Build (not display) the self-attention explorer.

    Args:
        tokens: words of :data:`SENTENCE` used (2-16).
        head_dim: width ``d`` of one head, one of 1, 2, 4, ..., 64.
        num_heads: 1, 2 or 4.
        scaling: ``"1/√d"`` or ``"none"``.
        temperature: divides the logits (0.25-4).
        mask: ``"none"`` or ``"causal"``.
        query: the highlighted query row.
        seed: seeds embeddings and projections (0-9).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = self_attention_explorer(tokens=6, mask="causal")
        >>> bool((ex.result.attention.weights[0].triu(1) == 0).all())
        True
    """
    values = dict(tokens=check_int("tokens", tokens, 2, _MAX_TOKENS), head_dim=head_dim,
                  num_heads=check_choice("num_heads", num_heads, (1, 2, 4)),
                  scaling=check_choice("scaling", scaling, ("1/√d", "none")),
                  mask=check_choice("mask", mask, ("none", "causal")),
                  query=check_int("query", query, 0, tokens - 1), seed=check_int("seed", seed, 0, 9))
    if head_dim not in _PANEL_DIMS:
        raise ValueError(f"head_dim must be one of {_PANEL_DIMS}, got {head_dim!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0.25 <= temperature <= 4:
        raise ValueError(f"temperature must be a number in [0.25, 4], got {temperature!r}")
    values["temperature"] = float(temperature)
    return SelfAttentionExplorer(values, get_theme(presentation))


# --------------------------------------------------------------------------- positional encodings
class PositionalEncodingExplorer(Explorer):
    """Heatmaps of ``PE (T, dim)`` and ``PE PE^T``, and the similarity row of one position.

    ``result`` is the current :class:`~explainer.attention.positional.PositionalSimilarity`. Clicking a matrix row selects a position.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(10.0, 4.0, theme=theme)
        self.pe = draw_matrix(fig.add_axes((0.01, 0.05, 0.3, 0.84)), "encoding PE (positions × channels)",
                              signed=True, theme=theme)
        self.sim = draw_matrix(fig.add_axes((0.34, 0.05, 0.3, 0.84)), "similarity PE·PEᵀ", signed=True, theme=theme)
        self.row = draw_matrix(fig.add_axes((0.70, 0.05, 0.28, 0.84)), "similarity of position p to all", signed=True,
                               theme=theme)
        (self.curve,) = self.row.ax.plot([], [], color=theme.accent2, lw=1.5 * theme.line_scale)
        (self.zero,) = self.row.ax.plot([0, 1], [0.5, 0.5], color=theme.grid_color, lw=0.8, ls="--")
        (self.here,) = self.row.ax.plot([], [], "o", color=theme.accent, ms=6 * theme.line_scale)
        self._similarities = Kept(16)  # per (length, dim, base, kind); <= 0.8 MB each (256 positions)
        painter = Painter(fig)
        painter.animate(self.pe.artists, self.sim.artists, self.row.artists, self.curve, self.zero, self.here)
        super().__init__(_pe_controls(values, theme), painter, title="Sinusoidal positional encoding", theme=theme)
        self.enable_clicks()

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        return {"position": (0, values["length"] - 1, None)}

    def render(self, values: dict[str, Any]) -> None:
        def similarity() -> Any:
            with one_torch_thread():  # also done by Explorer.update; kept for direct calls
                return positional_similarity(values["length"], values["dim"], values["base"], values["kind"])

        # Moving p, or coming back to an encoding, reuses it.
        s = self._similarities.fetch((values["length"], values["dim"], values["base"], values["kind"]), similarity)
        p = values["position"]
        half = values["dim"] / 2  # |PE . PE| <= dim / 2 (1d) or dim / 2 (2d: two halves of dim / 4 pairs)
        self.pe.update(s.encoding.numpy(), row=p, limit=1.0)
        self.sim.update(s.similarity.numpy(), row=p, limit=half)
        cells = np.full(s.grid[0] * s.grid[1], np.nan)  # cells after the last patch stay grey
        cells[: len(s.similarity)] = s.similarity[p].numpy()
        row = cells.reshape(s.grid)  # (rows, cols)
        flat = values["kind"] == "1d"
        self.row.image.set_visible(not flat)
        for artist in (self.curve, self.zero, self.here):
            artist.set_visible(flat)
        if flat:  # a curve over the positions, +dim/2 at the top, -dim/2 at the bottom; a dot at p itself
            T = row.shape[1]
            height = 0.5 - 0.45 * row[0] / half
            self.curve.set_data((np.arange(T) + 0.5) / T, height)
            self.here.set_data([(p + 0.5) / T], [height[p]])
        else:  # the grid of patches, coloured by similarity
            self.row.update(row, limit=half)
        self.result = s
        offsets = s.similarity[p]
        self.info.value = (
            f"PE[p, 2i] = sin(p / {values['base']:g}^(2i/{values['dim']})), PE[p, 2i+1] = cos(…); "
            f"PE(p)·PE(q) = Σᵢ cos(ωᵢ (q − p)) depends only on q − p. Position {p}: self-similarity "
            f"{float(offsets[p]):.1f} (= dim/2), neighbour {float(offsets[min(p + 1, len(offsets) - 1)]):.1f}."
            + (f" 2D: patches on a grid {s.grid[1]} wide, filled row by row; half the channels encode the row, "
               "half the column; the right panel shows the similarity on that grid." if values["kind"] == "2d"
               else ""))

    def on_click(self, px: float, py: float) -> None:
        for view in (self.pe, self.sim):
            point = self.painter.pixel_to_data(view.ax, px, py)
            if point is not None:
                self.set(position=row_of(point[1], self.result.encoding.shape[0]))


def _pe_controls(v: dict[str, Any], theme: Theme) -> dict[str, Any]:
    return {
        "length": int_slider("positions T", v["length"], 4, 256, tooltip="sequence length", theme=theme),
        "dim": selection_slider("channels", [8, 16, 32, 64, 128], v["dim"], tooltip="encoding width", theme=theme),
        "base": selection_slider("base", [10.0, 100.0, 1000.0, 10000.0], v["base"], tooltip="longest wavelength "
                                 "≈ 2π·base", theme=theme),
        "kind": toggle_buttons("kind", ["1d", "2d"], v["kind"], theme=theme),
        "position": int_slider("position p", v["position"], 0, 255, tooltip="or click a row", theme=theme),
    }


def positional_encoding_explorer(length: int = 64, dim: int = 64, base: float = 10000.0, kind: str = "1d",
                                 position: int = 10, presentation: bool | None = None) -> PositionalEncodingExplorer:
    """Build (not display) the positional-encoding explorer.

    Args:
        length: positions (4-256); for ``kind="2d"`` patches on a grid ``ceil(sqrt(length))`` wide.
        dim: channels, one of 8, 16, 32, 64, 128.
        base: 10, 100, 1000 or 10000.
        kind: ``"1d"`` or ``"2d"``.
        position: the highlighted position.
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = positional_encoding_explorer(length=32)
        >>> tuple(ex.result.similarity.shape)
        (32, 32)
    """
    values = dict(length=check_int("length", length, 4, 256), kind=check_choice("kind", kind, ("1d", "2d")))
    if dim not in (8, 16, 32, 64, 128):
        raise ValueError(f"dim must be one of 8, 16, 32, 64, 128, got {dim!r}")
    if base not in (10.0, 100.0, 1000.0, 10000.0):
        raise ValueError(f"base must be one of 10, 100, 1000, 10000, got {base!r}")
    values.update(dim=dim, base=float(base), position=check_int("position", position, 0, length - 1))
    return PositionalEncodingExplorer(values, get_theme(presentation))
