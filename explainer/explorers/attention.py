"""Explorers 5: self-attention step by step, and positional encodings.

:func:`self_attention_explorer` shows, for a short sentence with seeded random embeddings and
projections, the matrices ``Q = XW_q``, ``K = XW_k``, ``V = XW_v`` of one head, the scaled scores
``QK^T * scale``, the softmax weights and the output ``AV``; the weight maps of every head; what the
selected query attends to; and the softmax entropy against the head width with and without the
``1/sqrt(d_k)`` (Vaswani et al. 2017). Clicking a row of a matrix selects that query; clicking the
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
from matplotlib.patches import Rectangle
from torch import Tensor

from explainer._validate import check_choice, check_int
from explainer.attention.core import SelfAttentionSteps, causal_mask, random_self_attention
from explainer.attention.positional import positional_similarity
from explainer.explorers._kit import (
    Explorer, Kept, float_slider, int_slider, one_torch_thread, selection_slider, toggle_buttons,
)
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.attention import (
    TickStripView,
    draw_colorbar, draw_entropy, draw_matrix, draw_tick_strip, draw_weight_bars, label_tokens, row_of,
)

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


_VALUE_LIMIT = 3.0  # Q, K, V, scores and output share one fixed colour range: unit-variance entries, +-3 sigma
_SCALINGS = ("1/√d_k", "none")


class SelfAttentionExplorer(Explorer):
    """Q, K, V, scores, output and named weights of head 1; every head's weights; entropy against ``d_k``.

    ``result`` is the current :class:`~explainer.attention.core.SelfAttentionSteps` (``x`` are seeded
    random embeddings of the words of :data:`SENTENCE`, the first ``tokens`` of them).

    Q, K, V, the scores and the output share one colour bar with a fixed range (values beyond it
    take the end colours); the weights and the heads share a 0..1 colour bar. Token ``i`` keeps its
    row (and the weights its column) whatever ``N`` is: the matrices grow from the top-left corner of
    a 16-token grid, all 16 words are static tick labels, and the words past ``N`` are faded by a
    cover that moves, so no move redraws the background.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(8.6, 5.6, theme=theme)
        top, height, width, gap = 0.60, 0.30, 0.105, 0.018
        names = [("q", "Q (head 1)"), ("k", "K"), ("v", "V"), ("scores", "scores QKᵀ·s"), ("output", "output AV")]
        self.mats = {}
        for i, (name, title) in enumerate(names):
            ax = fig.add_axes((0.085 + i * (width + gap), top, width, height))
            self.mats[name] = draw_matrix(ax, title, signed=True, theme=theme, grid=(_MAX_TOKENS, None))
        bar = draw_colorbar(fig.add_axes((0.70, top, 0.011, height)), self.mats["q"].cmap,
                            (-_VALUE_LIMIT, _VALUE_LIMIT), "value", extend="both", theme=theme)
        bar.ax.set_title("", fontsize=theme.font_size - 3)
        weights_ax = fig.add_axes((0.085, 0.16, 0.26, 0.34))
        self.mats["weights"] = draw_matrix(weights_ax, "weights softmax (head 1)", signed=False, theme=theme,
                                           grid=(_MAX_TOKENS, _MAX_TOKENS))
        draw_colorbar(fig.add_axes((0.355, 0.16, 0.011, 0.34)), self.mats["weights"].cmap, (0.0, 1.0),
                      "weight (grey: masked)", theme=theme)
        self.heads = []
        for h in range(_MAX_HEADS):
            x, y = 0.445 + (h % 2) * 0.105, 0.35 - (h // 2) * 0.19
            self.heads.append(draw_matrix(fig.add_axes((x, y, 0.09, 0.15)), f"head {h + 1}", signed=False, theme=theme))
        # Unused heads are covered, titles included: no empty panels, and the background stays as it is.
        self.covers = [Rectangle((0.54, 0.34), 0.115, 0.195, transform=fig.transFigure, facecolor=theme.background,
                                 edgecolor="none", zorder=5),
                       Rectangle((0.435, 0.145), 0.22, 0.20, transform=fig.transFigure, facecolor=theme.background,
                                 edgecolor="none", zorder=5)]
        for cover in self.covers:
            fig.add_artist(cover)
        self.bars = draw_weight_bars(fig.add_axes((0.835, top, 0.15, height)), "weights of query i", theme)
        self.entropy = draw_entropy(fig.add_axes((0.74, 0.16, 0.24, 0.30)), (HEAD_DIMS[0], HEAD_DIMS[-1]),
                                    math.log(_MAX_TOKENS) * 1.25, theme)
        self.fades = self._label_tokens(fig, theme)
        painter = Painter(fig)
        views = [*self.mats.values(), *self.heads]
        painter.animate(*(view.artists for view in views), self.bars.artists, self.entropy.artists, self.covers,
                        self.fades)
        self._logits = Kept(16)  # per (tokens, seed); <= 150 KB each
        # Entropy curves per (tokens, seed, temperature): the head width, heads, scale and mask do not change them.
        self._curves = Kept(64)
        # (attention steps, weights with masked entries NaN, entropy curves) per setting; <= 60 KB each.
        self._results = Kept(16)
        super().__init__(_controls(values, theme), painter, title="Self-attention step by step", theme=theme)
        self.enable_clicks()

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        return {"query": (0, values["tokens"] - 1, None)}

    def _label_tokens(self, fig: Any, theme: Theme) -> list[Rectangle]:
        """Name the rows (queries) and the key columns by all 16 words, once; return the covers that fade the
        words past ``N`` (rows of Q, rows and columns of the weights)."""
        q, weights = self.mats["q"].ax, self.mats["weights"].ax
        label_tokens(q, SENTENCE, "y", theme, label="tokens", slots=_MAX_TOKENS)
        label_tokens(weights, SENTENCE, "y", theme, label="queries i", slots=_MAX_TOKENS)
        label_tokens(weights, SENTENCE, "x", theme, label="keys j", slots=_MAX_TOKENS)
        renderer = fig.canvas.get_renderer()
        fades = []
        for ax, axis in ((q, "y"), (weights, "y"), (weights, "x")):
            labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
            size = max(getattr(t.get_window_extent(renderer), "width" if axis == "y" else "height") for t in labels)
            depth = (size + 6) / (ax.bbox.width if axis == "y" else ax.bbox.height)  # in the axes' unit square
            box = (-depth, 0, depth, 1) if axis == "y" else (0, 1, 1, depth)
            fade = Rectangle(box[:2], box[2], box[3], facecolor=theme.background, alpha=0.8, edgecolor="none",
                             clip_on=False, zorder=5)
            ax.add_patch(fade)
            fades.append(fade)
        return fades

    def render(self, values: dict[str, Any]) -> None:
        v = values
        with one_torch_thread():  # also done by Explorer.update; kept for direct calls
            d, causal = v["head_dim"], v["mask"] == "causal"
            scale = (1 / math.sqrt(d) if v["scaling"] == _SCALINGS[0] else 1.0) / v["temperature"]
            setting = (v["tokens"], d, v["num_heads"], scale, causal, v["seed"], v["temperature"])

            def make() -> tuple[SelfAttentionSteps, np.ndarray, tuple[np.ndarray, np.ndarray]]:
                s = random_self_attention(v["tokens"], d, v["num_heads"], scale=scale,
                                          mask=causal_mask(v["tokens"]) if causal else None, seed=v["seed"])
                a = s.attention
                shown = torch.where(torch.isinf(a.scores), float("nan"), a.weights).numpy()  # (H, N, N), masked: grey
                return s, shown, self._entropy_curves(v["tokens"], v["seed"], v["temperature"])

            # The query alone changes only the highlights; a setting seen lately is not computed again.
            s, shown, (scaled, unscaled) = self._results.fetch(setting, make)
        used = v["tokens"] / _MAX_TOKENS  # the words past N are faded
        for fade, axis in zip(self.fades, ("y", "y", "x")):  # as _label_tokens made them
            if axis == "y":  # a little past the square's edge: the last word's descenders
                fade.set_y(used)
                fade.set_height(1.04 - used)
            else:
                fade.set_x(used)
                fade.set_width(1.04 - used)
            fade.set_visible(used < 1)
        i, a = v["query"], s.attention
        for name, matrix in (("q", s.q[0]), ("k", s.k[0]), ("v", s.v[0]), ("output", a.output[0]),
                             ("scores", a.scores[0])):
            self.mats[name].update(matrix.numpy(), row=i if name in ("q", "output", "scores") else None,
                                   limit=_VALUE_LIMIT)
        self.mats["weights"].update(shown[0], row=i, limit=1.0)
        h = v["num_heads"]
        for head, view in enumerate(self.heads):
            view.image.set_visible(head < h)
            if head < h:
                view.update(shown[head], row=i, limit=1.0)
            else:
                view.marker.set_visible(False)
        self.covers[0].set_visible(h < 2)
        self.covers[1].set_visible(h < 3)
        self.bars.update(a.weights[0, i].numpy())
        current = (scaled if v["scaling"] == _SCALINGS[0] else unscaled)[HEAD_DIMS.index(v["head_dim"])]
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
        for view in self.mats.values():
            point = self.painter.pixel_to_data(view.ax, px, py)
            if point is not None:
                row = view.row_at(point[1])
                if row is not None:  # below the last token: nothing to select
                    self.set(query=row)
                return
        for view in self.heads[: self.values["num_heads"]]:
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
        "tokens": int_slider("tokens N", v["tokens"], 2, _MAX_TOKENS, tooltip="words of the sentence", theme=theme),
        "head_dim": selection_slider("head width d_k", _PANEL_DIMS, v["head_dim"],
                                     tooltip="query/key width per head; d_model = h·d_k", theme=theme),
        "num_heads": toggle_buttons("heads h", [1, 2, 4], v["num_heads"], theme=theme),
        "scaling": toggle_buttons("scale", list(_SCALINGS), v["scaling"], theme=theme),
        "temperature": float_slider("temperature τ", v["temperature"], 0.25, 4.0, 0.25,
                                    tooltip="logits are divided by τ", theme=theme),
        "mask": toggle_buttons("mask", ["none", "causal"], v["mask"], theme=theme),
        "query": int_slider("query i", v["query"], 0, _MAX_TOKENS - 1, tooltip="or click a row", theme=theme),
        "seed": int_slider("seed", v["seed"], 0, 9, tooltip="random embeddings and projections", theme=theme),
    }


def _attention_info(s: SelfAttentionSteps, v: dict[str, Any]) -> str:
    i, w = v["query"], s.attention.weights[0, v["query"]]
    N, h, d_k = s.x.shape[0], s.q.shape[0], s.q.shape[-1]
    tokens = SENTENCE[:N]
    top = int(w.argmax())
    words = " ".join(
        f"<span style='background:rgba(0,114,178,{float(x):.2f});padding:0 2px'>{html.escape(word)}</span>"
        for word, x in zip(tokens, w.tolist()))
    scale = f"1/√d<sub>k</sub> = 1/√{d_k} = {1 / math.sqrt(d_k):.3f}" if v["scaling"] == _SCALINGS[0] else "1"
    return (f"<b>softmax(QKᵀ·s)V</b>, s = {scale} / τ({v['temperature']:g}) = {s.scale:.3f}; N = {N} tokens, "
            f"h = {h} heads of d<sub>k</sub> = {d_k} (d<sub>model</sub> = {h * d_k}); mask: {v['mask']}. "
            f"Query <b>{i}</b> "
            f"“{html.escape(tokens[i])}” attends most to key {top} “{html.escape(tokens[top])}” (weight "
            f"{float(w[top]):.2f}); its entropy is {float(s.entropy[0, i]):.2f} nats (uniform: log {N} = "
            f"{math.log(N):.2f}).<br>{words}")


def self_attention_explorer(tokens: int = 8, head_dim: int = 8, num_heads: int = 2, scaling: str = "1/√d_k",
                            temperature: float = 1.0, mask: str = "none", query: int = 2, seed: int = 0,
                            presentation: bool | None = None) -> SelfAttentionExplorer:
    """Build (not display) the self-attention explorer.

    Args:
        tokens: ``N``, words of :data:`SENTENCE` used (2-16).
        head_dim: query/key width ``d_k`` of one head, one of 1, 2, 4, ..., 64.
        num_heads: ``h``: 1, 2 or 4 (``d_model = h * d_k``).
        scaling: ``"1/√d_k"`` or ``"none"`` (``"1/√d"``, the former name, is read as ``"1/√d_k"``).
        temperature: divides the logits (0.25-4).
        mask: ``"none"`` or ``"causal"``.
        query: the highlighted query row ``i``.
        seed: seeds embeddings and projections (0-9).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = self_attention_explorer(tokens=6, mask="causal")
        >>> bool((ex.result.attention.weights[0].triu(1) == 0).all())
        True
    """
    scaling = _SCALINGS[0] if scaling == "1/√d" else scaling
    values = dict(tokens=check_int("tokens", tokens, 2, _MAX_TOKENS), head_dim=head_dim,
                  num_heads=check_choice("num_heads", num_heads, (1, 2, 4)),
                  scaling=check_choice("scaling", scaling, _SCALINGS),
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
    """Heatmaps of ``PE (N, d_model)`` and ``PE PE^T``, and the similarity row of one position.

    ``result`` is the current :class:`~explainer.attention.positional.PositionalSimilarity`. Clicking a
    matrix row selects a position. The heatmaps carry integer ticks (positions, channels) that follow
    ``N`` and ``d_model`` (:class:`~explainer.views.attention.TickStripView`), and fixed colour bars: the similarity
    is shown divided by its largest value ``d_model/2``.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(8.6, 3.9, theme=theme)
        bottom, height, end = 0.19, 0.68, 0.04  # ``end``: room beyond the matrix for the first and last tick labels
        self.pe = draw_matrix(fig.add_axes((0.085, bottom, 0.22, height)), "encoding PE", signed=True, theme=theme)
        draw_colorbar(fig.add_axes((0.315, bottom, 0.01, height)), self.pe.cmap, (-1.0, 1.0), theme=theme)
        self.sim = draw_matrix(fig.add_axes((0.455, bottom, 0.21, height)), "PE·PEᵀ ÷ (d_model/2)",
                               signed=True, theme=theme)
        draw_colorbar(fig.add_axes((0.675, bottom, 0.01, height)), self.sim.cmap, (-1.0, 1.0), theme=theme)

        def strip(x: float, width: float, axis: str, label: str) -> TickStripView:
            """Integer ticks that follow N and d_model, beside one side of a matrix."""
            if axis == "y":
                rect, span = (x - 0.05, bottom - end, 0.05, height + 2 * end), end / (height + 2 * end)
            else:
                rect, span = (x - end, bottom - 0.09, width + 2 * end, 0.09), end / (width + 2 * end)
            return draw_tick_strip(fig.add_axes(rect), axis, label, theme, span=(span, 1 - span))

        self.ticks = {"pe_y": strip(0.085, 0.22, "y", "position p"), "pe_x": strip(0.085, 0.22, "x", "dimension"),
                      "sim_y": strip(0.455, 0.21, "y", "position p"), "sim_x": strip(0.455, 0.21, "x", "position q")}
        self.row = draw_matrix(fig.add_axes((0.805, bottom, 0.17, height)), "similarity of p to q",
                               signed=True, theme=theme)
        self.row.ax.set_yticks([0.05, 0.5, 0.95], ["1", "0", "−1"], fontsize=theme.font_size - 3)
        self.row.ax.tick_params(axis="y", length=2, pad=1)
        self.row.ax.set_ylabel("÷ (d_model/2)", fontsize=theme.font_size - 2, labelpad=1)
        self.row.ax.set_xlabel("q (2d: patch grid)", fontsize=theme.font_size - 2, labelpad=2)
        # In 2d the panel is a grid of patches: its curve's value ticks are covered (a cover moves, no redraw).
        self.value_ticks_cover = Rectangle((-0.45, -0.02), 0.45, 1.04, facecolor=theme.background, edgecolor="none",
                                           clip_on=False, zorder=5)
        self.row.ax.add_patch(self.value_ticks_cover)
        (self.curve,) = self.row.ax.plot([], [], color=theme.accent2, lw=1.5 * theme.line_scale)
        (self.zero,) = self.row.ax.plot([0, 1], [0.5, 0.5], color=theme.grid_color, lw=0.8, ls="--")
        (self.here,) = self.row.ax.plot([], [], "o", color=theme.accent, ms=6 * theme.line_scale)
        self._similarities = Kept(16)  # per (length, dim, base, kind); <= 0.8 MB each (256 positions)
        painter = Painter(fig)
        painter.animate(self.pe.artists, self.sim.artists, self.row.artists, self.curve, self.zero, self.here,
                        self.value_ticks_cover,
                        *(strip.artists for strip in self.ticks.values()))
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
        for name, count in (("pe_y", values["length"]), ("pe_x", values["dim"]), ("sim_y", values["length"]),
                            ("sim_x", values["length"])):
            self.ticks[name].update(count)
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
        self.value_ticks_cover.set_visible(not flat)
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
            f"PE[p, 2i] = sin(p / {values['base']:g}<sup>2i/d<sub>model</sub></sup>), PE[p, 2i+1] = cos(…), "
            f"d<sub>model</sub> = {values['dim']}; PE(p)·PE(q) = Σᵢ cos(ωᵢ (q − p)) depends only on q − p. "
            f"Position {p}: self-similarity {float(offsets[p]):.1f} (= d<sub>model</sub>/2), neighbour "
            f"{float(offsets[min(p + 1, len(offsets) - 1)]):.1f}."
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
        "length": int_slider("positions N", v["length"], 4, 256, tooltip="sequence length", theme=theme),
        "dim": selection_slider("width d_model", [8, 16, 32, 64, 128], v["dim"], tooltip="encoding width (channels)",
                                theme=theme),
        "base": selection_slider("base", [10.0, 100.0, 1000.0, 10000.0], v["base"], tooltip="longest wavelength "
                                 "≈ 2π·base", theme=theme),
        "kind": toggle_buttons("kind", ["1d", "2d"], v["kind"], theme=theme),
        "position": int_slider("position p", v["position"], 0, 255, tooltip="or click a row", theme=theme),
    }


def positional_encoding_explorer(length: int = 64, dim: int = 64, base: float = 10000.0, kind: str = "1d",
                                 position: int = 10, presentation: bool | None = None) -> PositionalEncodingExplorer:
    """Build (not display) the positional-encoding explorer.

    Args:
        length: positions ``N`` (4-256); for ``kind="2d"`` patches on a grid ``ceil(sqrt(length))`` wide.
        dim: channels ``d_model``, one of 8, 16, 32, 64, 128.
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
