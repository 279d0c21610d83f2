"""Explorers for efficient attention (lesson 06): sparse patterns and their reach over layers, cost
curves, and linear attention against its quadratic form.

Patterns after Child et al. 2019 (https://arxiv.org/abs/1904.10509), Kitaev et al. 2020
(https://arxiv.org/abs/2001.04451) and Liu et al. 2021 (Swin, https://arxiv.org/abs/2103.14030); linear attention after Katharopoulos et al. 2020
(https://arxiv.org/abs/2006.16236). The computation lives in :mod:`explainer.attention.patterns`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainer._validate import check_choice, check_int
from explainer.attention.core import causal_mask, scaled_dot_product_attention
from explainer.attention.patterns import (
    PATTERNS,
    attention_cost,
    kernel_attention_quadratic,
    linear_attention,
    pattern_mask,
    reachability,
    stacked_reach,
)
from explainer.explorers._kit import (
    Explorer, Kept, checkbox, dropdown, int_slider, one_torch_thread, selection_slider,
)
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.efficient_attention import (
    CURVE_PATTERNS,
    draw_comparison,
    draw_cost_curves,
    draw_mask,
    draw_reach_legend,
    draw_weights,
)

__all__ = [
    "AttentionPatternsExplorer",
    "attention_patterns_explorer",
    "AttentionCostExplorer",
    "attention_cost_explorer",
    "LinearAttentionExplorer",
    "linear_attention_explorer",
]

_TITLES = {"local": "local\n|i−j| ≤ w", "strided": "strided\n(Child+ 2019)", "block": "block\ndiagonal",
           "bucket": "LSH buckets\n(Reformer)", "window": "windows M×M\n(Swin)"}
_BUCKETS = [2, 4, 6, 8, 12, 16]
KEPT_PATTERNS = 16  # settings whose masks an explorer keeps (N <= 96: five masks of at most 9 KB each)
_SETTINGS = ("n", "window", "stride", "block_size", "n_buckets", "seed", "causal", "window_size", "grid_width",
             "shift")


# =========================================================================== patterns + reach
class AttentionPatternsExplorer(Explorer):
    """All five patterns side by side (top) and the chosen one's reach after 1 and 2 layers (bottom).

    ``result`` is a dict ``{"masks": {pattern: (N, N) bool}, "reach": (N, N) bool (2 layers)}``.
    For ``window`` with ``shift`` ticked the second layer uses Swin's shifted windows (by ``M // 2``),
    so the reach is ``stacked_reach([plain, shifted])``, and the top window panel shows the shifted
    windows' extra pairs in the "reached" colour; otherwise both layers use the same mask.
    Click a top panel to choose its pattern, a bottom panel to choose the query row.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self.theme = theme
        # Masks (and their allowed-pair counts) per setting, reaches per pattern within it: moving the
        # query row, or returning to a setting, computes nothing and shows the very same tensors.
        self._kept = Kept(KEPT_PATTERNS)
        fig = new_figure(8.4, 5.6, theme=theme)
        self.top = {}
        self._top_shown: dict[str, tuple] = {}  # what each top panel shows: skip panels that did not change
        masks, reach, _, _ = self._patterns(values)
        for k, name in enumerate(PATTERNS):
            ax = fig.add_axes((0.02 + 0.198 * k, 0.67, 0.165, 0.23))
            self.top[name] = draw_mask(ax, masks[name], title=_TITLES[name], theme=theme, labels=k == 0)
        row = values["row"]
        chosen = masks[values["pattern"]]
        ax1 = fig.add_axes((0.1, 0.085, 0.36, 0.44))  # room under it for the key positions and the axis label
        ax2 = fig.add_axes((0.58, 0.085, 0.36, 0.44))
        self.one = draw_mask(ax1, chosen, row, title="what each query sees: 1 layer", theme=theme, tokens=True)
        self.two = draw_mask(ax2, reach, row, base=chosen, title="after 2 layers", theme=theme, tokens=True)
        draw_reach_legend(fig, (0.5, 0.605), theme)
        painter = Painter(fig)
        # The four patterns change with the settings and the chosen pattern, not with the query row.
        painter.animate(*(v.artists for v in self.top.values()), self.one.artists, self.two.artists)
        super().__init__(_pattern_controls(values, theme), painter, title="Sparse attention patterns", theme=theme)
        self.enable_clicks()

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        n = values["n"]
        return {"window": (0, n - 1, None), "stride": (1, n - 1, None), "block_size": (1, n, None),
                "row": (0, n - 1, None)}

    def render(self, values: dict[str, Any]) -> None:
        masks, reach, counts, shifted = self._patterns(values)  # counts: allowed pairs per mask, the reach's
        pattern, row = values["pattern"], values["row"]
        for name, view in self.top.items():
            shown = (masks[name], name == pattern, shifted if name == "window" else None)
            old = self._top_shown.get(name)
            if old is not None and all(a is b for a, b in zip(old, shown)):
                continue  # the very same tensors: the panel's pixels are already right
            self._top_shown[name] = shown
            if shown[2] is None:
                view.update(masks[name], selected=shown[1])
            else:  # plain windows, and in the "reached" colour the pairs the shifted layer adds
                view.update(masks[name] | shifted, base=masks[name], selected=shown[1])
        self.one.update(masks[pattern], row)
        self.two.update(reach, row, base=masks[pattern])
        self.result = {"masks": masks, "reach": reach}
        self.info.value = _patterns_html(values, masks, reach, counts)

    def _patterns(self, v: dict[str, Any]) -> tuple[dict[str, torch.Tensor], torch.Tensor, tuple[dict[str, int], int],
                                                    torch.Tensor | None]:
        """``(masks, the chosen pattern's 2-layer reach, (allowed pairs per mask, pairs reached), shifted
        windows or None)``, kept per setting; the reach is made the first time its pattern is chosen there."""
        key = tuple(v[name] for name in _SETTINGS)

        def make() -> tuple:
            masks = _pattern_masks(v)
            return masks, {name: int(m.sum()) for name, m in masks.items()}, {}, _shifted_windows(v)

        masks, counts, reaches, shifted = self._kept.fetch(key, make)
        pattern = v["pattern"]
        if pattern not in reaches:
            with one_torch_thread():
                reach = reachability(masks[pattern], 2) if shifted is None or pattern != "window" else \
                    stacked_reach([masks[pattern], shifted])
            reaches[pattern] = reach, int(reach.sum())
        reach, reached = reaches[pattern]
        return masks, reach, (counts, reached), shifted

    def on_click(self, px: float, py: float) -> None:
        for name, view in self.top.items():
            if self.painter.pixel_to_data(view.ax, px, py) is not None:
                self.set(pattern=name)
                return
        for view in (self.one, self.two):
            point = self.painter.pixel_to_data(view.ax, px, py)
            if point is not None:
                n = self.values["n"]
                self.set(row=int(np.clip(np.floor(point[1] * n), 0, n - 1)))
                return


def _sizes(v: dict[str, Any]) -> dict[str, Any]:
    return dict(window=v["window"], stride=v["stride"], block_size=v["block_size"], n_buckets=v["n_buckets"],
                seed=v["seed"], causal=v["causal"], window_size=v["window_size"], grid_width=v["grid_width"])


def _pattern_masks(v: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The five masks ``{pattern: (N, N) bool}`` for the settings in ``v`` (windows unshifted)."""
    with one_torch_thread():  # Explorer.update does too; this covers direct calls
        return {name: pattern_mask(name, v["n"], **_sizes(v)) for name in PATTERNS}


def _shifted_windows(v: dict[str, Any]) -> torch.Tensor | None:
    """Swin's second-layer windows (shifted by ``M // 2``), or None when the second layer is not shifted."""
    if not (v["shift"] and v["window_size"] > 1):
        return None
    with one_torch_thread():
        return pattern_mask("window", v["n"], **_sizes(v), shift_size=v["window_size"] // 2)


def _pattern_controls(v: dict[str, Any], theme: Theme) -> dict[str, Any]:
    return {
        "pattern": dropdown("pattern", list(PATTERNS), v["pattern"], theme=theme),
        "n": int_slider("tokens N", v["n"], 8, 96, tooltip="sequence length N", theme=theme),
        "window": int_slider("window w", v["window"], 0, 95, tooltip="local: |i − j| ≤ w", theme=theme),
        "stride": int_slider("stride l", v["stride"], 1, 95, tooltip="strided: i − j ≤ l or l | (i − j)",
                             theme=theme),
        "block_size": int_slider("block size", v["block_size"], 1, 96, theme=theme),
        "n_buckets": selection_slider("buckets", _BUCKETS, v["n_buckets"], theme=theme),
        "seed": int_slider("hash seed", v["seed"], 0, 99, tooltip="seeds the LSH rotation", theme=theme),
        "window_size": int_slider("window M", v["window_size"], 1, 8, tooltip="Swin: M × M windows", theme=theme),
        "grid_width": int_slider("grid width W", v["grid_width"], 2, 16,
                                 tooltip="Swin: the N tokens fill rows of W (row-major)", theme=theme),
        "shift": checkbox("shift layer 2 by M/2 (Swin)", v["shift"], theme=theme),
        "causal": checkbox("causal (j ≤ i)", v["causal"], theme=theme),
        "row": int_slider("query i", v["row"], 0, 95, tooltip="highlighted query row", theme=theme),
    }


def _patterns_html(v: dict[str, Any], masks: dict[str, torch.Tensor], reach: torch.Tensor,
                   counts: tuple[dict[str, int], int]) -> str:
    """The info text; ``counts`` is (allowed pairs per mask, pairs the reach covers), as kept."""
    (allowed, reached), n, pattern, row = counts, v["n"], v["pattern"], v["row"]
    total = n * (n + 1) // 2 if v["causal"] else n * n
    cells = "".join(f"<td style='padding:0 10px'>{name}: <b>{allowed[name]}</b> ({allowed[name] / total:.0%})</td>"
                    for name in masks)
    one, two = int(masks[pattern][row].sum()), int(reach[row].sum())
    return (f"<b>allowed pairs</b> (of {total} {'causal' if v['causal'] else 'full'}): <table><tr>{cells}</tr></table>"
            f"<b>{pattern}</b>: query {row} sees <b>{one}</b> keys in 1 layer and <b>{two}</b> after 2 layers "
            f"(2-layer reach covers {reached / total:.0%} of all pairs).{_window_note(v)}")


def _window_note(v: dict[str, Any]) -> str:
    if v["pattern"] != "window":
        return ""
    m, w, n = v["window_size"], v["grid_width"], v["n"]
    grid = f"{-(-n // w)}×{w} grid (row-major), {m}×{m} windows"
    if v["shift"] and m > 1:
        return (f"<br><b>window</b>: {grid}; layer 2 shifts them by {m // 2} (Swin): windows of the two layers "
                "straddle each other's borders, so information crosses them.")
    return f"<br><b>window</b>: {grid}, the same in both layers: like blocks, information never leaves a window."


def attention_patterns_explorer(pattern: str = "strided", n: int = 32, window: int = 2, stride: int = 4,
                                block_size: int = 8, n_buckets: int = 4, seed: int = 0, causal: bool = False,
                                row: int = 20, window_size: int = 2, grid_width: int = 8, shift: bool = False,
                                presentation: bool | None = None) -> AttentionPatternsExplorer:
    """Build (not display) the sparse-pattern explorer.

    Args:
        pattern: the pattern shown large, one of :data:`~explainer.attention.patterns.PATTERNS`.
        n: sequence length N (8..96).
        window: the local pattern's half-width (within ``n``).
        stride: the strided pattern's stride (within ``n``).
        block_size: the block pattern's block size (within ``n``).
        n_buckets: LSH buckets (2, 4, 6, 8, 12 or 16).
        seed: the hash seed (0..99).
        causal: restrict every pattern to ``j <= i``.
        row: the highlighted query.
        window_size: Swin's window side M (1..8).
        grid_width: the width W of the grid the tokens fill, row by row (2..16).
        shift: the second layer uses windows shifted by ``M // 2`` (Swin); else the same windows.
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = attention_patterns_explorer(pattern="local", window=1)
        >>> int(ex.result["masks"]["local"][5].sum())  # keys 4, 5, 6
        3
    """
    check_choice("pattern", pattern, PATTERNS)
    n = check_int("n", n, 8, 96)
    values = dict(pattern=pattern, n=n, window=check_int("window", window, 0, n - 1),
                  stride=check_int("stride", stride, 1, n - 1), block_size=check_int("block_size", block_size, 1, n),
                  n_buckets=check_choice("n_buckets", n_buckets, _BUCKETS), seed=check_int("seed", seed, 0, 99),
                  causal=causal, row=check_int("row", row, 0, n - 1),
                  window_size=check_int("window_size", window_size, 1, 8),
                  grid_width=check_int("grid_width", grid_width, 2, 16), shift=shift)
    for name in ("causal", "shift"):
        if not isinstance(values[name], bool):
            raise TypeError(f"{name} must be True or False, got {values[name]!r}")
    return AttentionPatternsExplorer(values, get_theme(presentation))


# =========================================================================== cost curves
_NS = [2 ** k for k in range(6, 17)]
_DIMS = [16, 32, 64, 128, 256]
_SIZES = [4, 8, 16, 32, 64, 128, 256, 512]


def _costs(n: int, v: dict[str, Any]) -> dict[str, Any]:
    sizes = dict(window=v["window"], stride=v["stride"], block_size=v["block_size"])
    out = {}
    with one_torch_thread():  # Explorer.update does too; this covers direct calls
        for name in CURVE_PATTERNS:
            kw = {} if name in ("full", "linear") else sizes
            out[name] = attention_cost(n, v["dim"], name, **kw)
    return out


class AttentionCostExplorer(Explorer):
    """FLOPs and score-matrix memory against N for full, local, strided, block and linear attention.

    ``result`` is ``{pattern: AttentionCost}`` at the current N.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self.theme = theme
        fig = new_figure(8.4, 3.6, theme=theme)
        ax_f = fig.add_axes((0.08, 0.15, 0.4, 0.76))
        ax_m = fig.add_axes((0.58, 0.15, 0.4, 0.76))
        ns, curves, at_n = self._series(values)
        self.view = draw_cost_curves(ax_f, ax_m, ns, curves, values["n"], at_n, (1e3, 1e13), (1e1, 1e10), theme)
        painter = Painter(fig)
        painter.animate(self.view.artists)
        super().__init__(_cost_controls(values, theme), painter, title="Cost of attention as N grows", theme=theme)

    @staticmethod
    def _series(v: dict[str, Any]) -> tuple[np.ndarray, dict, dict]:
        table = [_costs(n, v) for n in _NS]
        curves = {name: (np.array([t[name].flops for t in table], float),
                         np.array([t[name].memory for t in table], float)) for name in CURVE_PATTERNS}
        now = _costs(v["n"], v)
        return np.array(_NS, float), curves, {name: (c.flops, c.memory) for name, c in now.items()}

    def render(self, values: dict[str, Any]) -> None:
        ns, curves, at_n = self._series(values)
        self.view.update(ns, curves, values["n"], at_n)
        self.result = _costs(values["n"], values)
        self.info.value = _cost_html(values, self.result)


def _cost_controls(v: dict[str, Any], theme: Theme) -> dict[str, Any]:
    return {
        "n": selection_slider("N (marked)", _NS, v["n"], theme=theme),
        "dim": selection_slider("head width d_k", _DIMS, v["dim"], theme=theme),
        "window": selection_slider("local window w", _SIZES, v["window"], theme=theme),
        "stride": selection_slider("stride l", _SIZES, v["stride"], theme=theme),
        "block_size": selection_slider("block size", _SIZES, v["block_size"], theme=theme),
    }


def _cost_html(v: dict[str, Any], costs: dict[str, Any]) -> str:
    n, d = v["n"], v["dim"]
    forms = {"full": f"2N²d_k = 2·{n}²·{d}", "local": "2·nnz·d_k, nnz ≈ N(2w+1)",
             "strided": "2·nnz·d_k, nnz ≈ N(2l + N/l) (both directions)",
             "block": "2·nnz·d_k, nnz ≈ N·b", "linear": f"2Nd_k² + Nd_k = 2·{n}·{d}² + {n}·{d}"}
    rows = "".join(f"<tr><td>{name}</td><td>{forms[name]}</td><td align='right'><b>{c.flops:,}</b></td>"
                   f"<td align='right'>{c.memory:,}</td><td align='right'>{c.flops / costs['full'].flops:.2%}</td></tr>"
                   for name, c in costs.items())
    return ("<table><tr><th>pattern</th><th>multiply-adds</th><th></th><th>memory, naive (elements)</th>"
            f"<th>of full</th></tr>{rows}</table>Linear attention beats full attention once N &gt; d_k "
            f"(here {d}): its cost is N·d_k², not N²·d_k. Memory is what a naive implementation stores; "
            "FlashAttention computes full attention tile by tile and never stores the N×N scores "
            "(O(N) extra memory) but does the same 2N²d_k multiply-adds.")


def attention_cost_explorer(n: int = 4096, dim: int = 64, window: int = 64, stride: int = 64, block_size: int = 64,
                            presentation: bool | None = None) -> AttentionCostExplorer:
    """Build (not display) the cost-curve explorer.

    Args:
        n: the marked length, a power of two from 64 to 65536.
        dim: head width d_k (16..256, powers of two).
        window: the local pattern's half-width (powers of two, 4..512).
        stride: the strided pattern's stride (powers of two, 4..512).
        block_size: the block pattern's block size (powers of two, 4..512).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = attention_cost_explorer(n=1024, dim=64)
        >>> ex.result["full"].flops == 2 * 1024**2 * 64
        True
    """
    values = dict(n=check_choice("n", n, _NS), dim=check_choice("dim", dim, _DIMS),
                  window=check_choice("window", window, _SIZES), stride=check_choice("stride", stride, _SIZES),
                  block_size=check_choice("block_size", block_size, _SIZES))
    return AttentionCostExplorer(values, get_theme(presentation))


# =========================================================================== linear vs quadratic
def _linear(v: dict[str, Any]) -> dict[str, Any]:
    g = torch.Generator().manual_seed(v["seed"])
    n, d = v["n"], v["dim"]
    with one_torch_thread():  # Explorer.update does too; this covers direct calls
        q, k, val = (torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(3))  # (N, d) each
        quadratic = kernel_attention_quadratic(q, k, val, v["causal"])
        fast = linear_attention(q, k, val, v["causal"])
        softmax = scaled_dot_product_attention(q, k, val, mask=causal_mask(n) if v["causal"] else None)
        diff = float((fast.output - quadratic.output).abs().max())
    return {"quadratic": quadratic, "linear": fast, "softmax": softmax, "max_abs_diff": diff}


class LinearAttentionExplorer(Explorer):
    """Kernel weights ``normalise(phi(Q)phi(K)^T)`` next to softmax weights, one query row of both, and
    the outputs of the quadratic and the O(N) linear computation with their largest difference.

    ``result`` is ``{"quadratic": KernelAttention, "linear": LinearAttention, "softmax": Attention,
    "max_abs_diff": float}``. Click a weight matrix to choose the query row.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self.theme = theme
        fig = new_figure(9.0, 4.0, theme=theme)
        r = _linear(values)
        row = values["row"]
        # Room left of each matrix for its query positions and axis label.
        self.kernel = draw_weights(fig.add_axes((0.065, 0.1, 0.25, 0.8)), r["quadratic"].weights, row,
                                   "elu+1 kernel weights", theme, tokens=True)
        self.softmax = draw_weights(fig.add_axes((0.375, 0.1, 0.25, 0.8)), r["softmax"].weights, row,
                                    "softmax weights", theme, tokens=True)
        n = values["n"]
        self.row_plot = draw_comparison(fig.add_axes((0.68, 0.6, 0.3, 0.32)), n * r["quadratic"].weights[row],
                                        n * r["softmax"].weights[row], ylim=(0, 6), labels=("kernel", "softmax", ""),
                                        title="query i: N × weight (1 = uniform)", xlabel="key j", theme=theme)
        self.outputs = draw_comparison(fig.add_axes((0.68, 0.1, 0.3, 0.32)), r["quadratic"].output[:, 0],
                                       r["linear"].output[:, 0], ylim=(-1.2, 1.2),
                                       labels=("quadratic", "linear O(N)", ""), title="output, channel 0",
                                       xlabel="query i", theme=theme)
        self._results = Kept(16)  # _linear's results per (n, dim, seed, causal); <= 0.2 MB each (N = 64)
        painter = Painter(fig)
        painter.animate(self.kernel.artists, self.softmax.artists, self.outputs.artists, self.row_plot.artists)
        super().__init__(_linear_controls(values, theme), painter, title="Linear attention", theme=theme)
        self.enable_clicks()

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        return {"row": (0, values["n"] - 1, None)}

    def render(self, values: dict[str, Any]) -> None:
        # The same results for the same Q, K, V: moving the query row computes nothing.
        r = self._results.fetch((values["n"], values["dim"], values["seed"], values["causal"]), lambda: _linear(values))
        row = values["row"]
        self.kernel.update(r["quadratic"].weights, row)
        self.softmax.update(r["softmax"].weights, row)
        n = values["n"]
        self.row_plot.update(n * r["quadratic"].weights[row], n * r["softmax"].weights[row])
        self.outputs.update(r["quadratic"].output[:, 0], r["linear"].output[:, 0],
                            text=f"max |Δ| = {r['max_abs_diff']:.0e}")
        self.result = r
        self.info.value = _linear_html(values, r)

    def on_click(self, px: float, py: float) -> None:
        for view in (self.kernel, self.softmax):
            point = self.painter.pixel_to_data(view.ax, px, py)
            if point is not None:
                n = self.values["n"]
                self.set(row=int(np.clip(np.floor(point[1] * n), 0, n - 1)))
                return


def _linear_controls(v: dict[str, Any], theme: Theme) -> dict[str, Any]:
    return {
        "n": int_slider("tokens N", v["n"], 4, 64, theme=theme),
        "dim": int_slider("head width d_k", v["dim"], 1, 16, tooltip="query/key/value size d_k (= d_v here)",
                          theme=theme),
        "seed": int_slider("seed", v["seed"], 0, 99, tooltip="seeds Q, K, V", theme=theme),
        "causal": checkbox("causal (cumulative sums)", v["causal"], theme=theme),
        "row": int_slider("query i", v["row"], 0, 63, theme=theme),
    }


def _linear_html(v: dict[str, Any], r: dict[str, Any]) -> str:
    n, d = v["n"], v["dim"]
    s = r["linear"].summary
    return (f"φ(x) = elu(x) + 1; quadratic: W = normalise(φ(Q)φ(K)ᵀ) is {n}×{n}; linear: "
            f"S = φ(K)ᵀV is {'a running ' if v['causal'] else ''}{'×'.join(map(str, s.shape[-2:]))} summary, "
            f"out_i = φ(q_i)ᵀS / φ(q_i)ᵀz. Largest |linear − quadratic| over all outputs: "
            f"<b>{r['max_abs_diff']:.1e}</b> (float64 rounding). Cost: quadratic 2N²d_k = {2 * n * n * d:,}, "
            f"linear 2Nd_k² + Nd_k = {2 * n * d * d + n * d:,} multiply-adds.")


def linear_attention_explorer(n: int = 16, dim: int = 4, seed: int = 0, causal: bool = False, row: int = 5,
                              presentation: bool | None = None) -> LinearAttentionExplorer:
    """Build (not display) the linear-vs-quadratic attention explorer (random float64 Q, K, V).

    Args:
        n: tokens (4..64).
        dim: head width d_k (1..16), also the value size.
        seed: seeds Q, K, V (0..99).
        causal: each query sums keys ``j <= i`` only.
        row: the highlighted query.
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = linear_attention_explorer()
        >>> ex.result["max_abs_diff"] < 1e-12
        True
    """
    n = check_int("n", n, 4, 64)
    values = dict(n=n, dim=check_int("dim", dim, 1, 16), seed=check_int("seed", seed, 0, 99), causal=causal,
                  row=check_int("row", row, 0, n - 1))
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be True or False, got {causal!r}")
    return LinearAttentionExplorer(values, get_theme(presentation))
