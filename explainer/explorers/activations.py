"""Explorers for lesson 12, activations and normalisation.

- :func:`activation_explorer`: one activation and its autograd derivative over a live input
  distribution N(mean, std²), and the dead and saturated shares of every activation for it.
- :func:`normalisation_explorer`: one small tensor of tokens x channels, normalised by batch norm
  (per channel, in training mode and in evaluation mode after some batches) and by layer norm (per token).
- :func:`pooling_explorer`: a scene's feature map, shifted; the logits of global average pooling +
  linear and of flatten + linear before and after the shift, and their parameter counts.

The computation lives in :mod:`explainer.activations` and :mod:`explainer.normalisation`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from explainer._validate import check_choice, check_int
from explainer.activations import (
    ACTIVATIONS,
    SATURATION,
    DeadSaturated,
    activation_curve,
    activation_module,
    local_derivative,
)
from explainer.explorers._kit import Explorer, Kept, dropdown, float_slider, int_slider
from explainer.normalisation import head_parameters, norm_statistics, pooling_heads, running_batch_norm, shift
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.activations import draw_activation_curves, draw_grouped_bars
from explainer.views.gating import draw_colorbar, draw_map

__all__ = [
    "ActivationExplorer",
    "activation_explorer",
    "NormalisationExplorer",
    "normalisation_explorer",
    "PoolingExplorer",
    "pooling_explorer",
]

_X = torch.linspace(-6.0, 6.0, 481, dtype=torch.float64)
_SHORT = {"sigmoid": "sigm", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky", "prelu": "PReLU",
          "elu": "ELU", "silu": "SiLU", "gelu": "GELU"}


def _check_number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


_GRID = torch.linspace(-64.0, 64.0, 25601, dtype=torch.float64)  # where the shares are read: steps of 0.005


@functools.lru_cache(maxsize=1)
def _masks() -> torch.Tensor:
    """(2 * activations, len(_GRID)): each activation's dead mask, then its saturated mask, by autograd, made once."""
    rows = []
    for name in ACTIVATIONS:
        value, derivative = local_derivative(activation_module(name).double(), _GRID)
        dead = (value == 0) & (derivative == 0)
        rows += [dead, ~dead & (derivative.abs() < SATURATION)]
    return torch.stack(rows).double()


def _shares(mean: float, std: float) -> dict[str, DeadSaturated]:
    """:func:`~explainer.activations.dead_and_saturated` of every activation, read off the masks of ``_GRID``:
    each grid point carries the normal probability of its cell (a CDF difference), so a move costs no autograd."""
    cells = torch.cat([_GRID[:1] - 1e9, (_GRID[1:] + _GRID[:-1]) / 2, _GRID[-1:] + 1e9])  # cell edges
    mass = torch.diff(torch.special.ndtr((cells - mean) / std))  # (len(_GRID),)
    shares = (_masks() @ mass).view(len(ACTIVATIONS), 2).tolist()
    return {a: DeadSaturated(dead, saturated, SATURATION)
            for a, (dead, saturated) in zip(ACTIVATIONS, shares, strict=True)}


@functools.lru_cache(maxsize=len(ACTIVATIONS))
def _curve(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = activation_curve(name, _X)
    return _X.numpy(), c.value.numpy(), c.derivative.numpy()


# =========================================================================== activations
class ActivationExplorer(Explorer):
    """``result`` is ``{activation: DeadSaturated}`` for every activation at the current (mean, std)."""

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self._kept = Kept(256)
        fig = new_figure(8.6, 4.0, theme=theme)
        self.curves = draw_activation_curves(fig.add_axes((0.06, 0.13, 0.5, 0.78)), (-6, 6), (-1.6, 3.2), theme)
        self.title = fig.text(0.06, 0.93, "", fontsize=theme.font_size)
        series = {"dead": dict(facecolor="#222222", label="dead"),
                  "saturated": dict(facecolor="#d62728", alpha=0.7, label="saturated")}
        self.shares = draw_grouped_bars(fig.add_axes((0.64, 0.2, 0.34, 0.71)), [_SHORT[a] for a in ACTIVATIONS],
                                        series, (0, 1), title="share of inputs, every activation",
                                        ylabel="share", theme=theme, rotation=60)
        painter = Painter(fig)
        painter.animate(self.curves.artists, self.title, self.shares.artists)
        controls = {
            "activation": dropdown("activation f", list(ACTIVATIONS), values["activation"], theme=theme),
            "mean": float_slider("input mean", values["mean"], -4.0, 4.0, 0.25, theme=theme),
            "std": float_slider("input std", values["std"], 0.25, 6.0, 0.25, theme=theme),
        }
        super().__init__(controls, painter, title="Activation functions and their derivatives", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        name, mean, std = values["activation"], values["mean"], values["std"]
        shares = self._kept.fetch((mean, std), lambda: _shares(mean, std))
        self.result = shares
        x, value, derivative = _curve(name)
        density = np.exp(-0.5 * ((x - mean) / std) ** 2)
        dead = (value == 0) & (derivative == 0)
        saturated = ~dead & (np.abs(derivative) < SATURATION)
        top = int(np.argmax(derivative))
        at = round(float(x[top]), 6) + 0.0  # the grid's -3.3e-16 reads as 0
        self.curves.update(x, value, derivative, density, dead, saturated,
                           f"largest f′ = {derivative[top]:.3g} at x = {at:.2g}")
        self.title.set_text(f"f = {name}")  # the input distribution is on the sliders (text costs a layout per move)
        self.shares.update({"dead": [shares[a].dead for a in ACTIVATIONS],
                            "saturated": [shares[a].saturated for a in ACTIVATIONS]},
                           ACTIVATIONS.index(name))
        s = shares[name]
        self.info.value = (
            f"For inputs from N({mean:g}, {std:g}²), <b>{name}</b> kills <b>{s.dead:.1%}</b> (f = 0 and f′ = 0: no "
            f"output, no gradient) and saturates <b>{s.saturated:.1%}</b> (|f′| &lt; {SATURATION:g}: less than "
            "1/200 of the gradient passes). The derivative is autograd's, not a formula typed here. "
            "<b>Our notes say</b> the sigmoid's derivative goes to 0 as x → 0; <b>in fact</b> it is largest "
            "there, σ′(0) = σ(0)(1 − σ(0)) = ¼, and it vanishes for large |x|: a chain of sigmoids multiplies "
            "the gradient by at most ¼ per layer.")


def activation_explorer(activation: str = "sigmoid", mean: float = 0.0, std: float = 1.0,
                        presentation: bool | None = None) -> ActivationExplorer:
    """Build (not display) the activation explorer.

    Args:
        activation: one of :data:`explainer.activations.ACTIVATIONS`.
        mean: mean of the input distribution (-4 to 4, steps of 0.25).
        std: its standard deviation (0.25 to 6, steps of 0.25).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> round(activation_explorer(activation="relu").result["relu"].dead, 2)
        0.5
    """
    values = dict(activation=check_choice("activation", activation, ACTIVATIONS),
                  mean=_check_number("mean", mean, -4.0, 4.0), std=_check_number("std", std, 0.25, 6.0))
    return ActivationExplorer(values, get_theme(presentation))


# =========================================================================== normalisation
_B, _C, _T = 4, 6, 5  # examples, channels, tokens per example


@functools.lru_cache(maxsize=512)
def _tokens(seed: int, channel_shift: float, token_scale: float, k: int = 0) -> torch.Tensor:
    """Batch ``k`` of a seeded stream: (B, C, 1, T) with channel c offset by ``channel_shift * (c - 2)``
    and each token scaled by ``exp(token_scale * u)``, u ~ N(0, 1). Kept: moving ``batches seen`` or the
    momentum reuses the stream (never modify the returned tensor)."""
    g = torch.Generator().manual_seed(1000 * seed + k)
    x = torch.randn(_B, _C, 1, _T, generator=g, dtype=torch.float64)
    scale = torch.exp(token_scale * torch.randn(_B, 1, 1, _T, generator=g, dtype=torch.float64))
    offset = channel_shift * (torch.arange(_C, dtype=torch.float64) - 2).view(1, _C, 1, 1)
    return x * scale + offset


def _rows(x: torch.Tensor) -> np.ndarray:
    """(B, C, 1, T) -> (B * T, C): one row per token, one column per channel."""
    return x[:, :, 0, :].permute(0, 2, 1).reshape(-1, x.shape[1]).numpy()


class NormalisationExplorer(Explorer):
    """``result`` is ``{"stats": NormStatistics, "running": RunningBatchNorm}`` of the shown batch."""

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self._kept = Kept(128)
        fig = new_figure(8.6, 4.3, theme=theme)
        titles = ("input x", "batch norm, training\n(this batch's statistics)",
                  "batch norm, evaluation\n(running statistics)", "layer norm\n(each token's statistics)")
        self.maps = [draw_map(fig.add_axes((0.01 + 0.225 * i, 0.1, 0.2, 0.68)), t, cmap=theme.diverging_cmap,
                              vmin=-3, vmax=3, theme=theme) for i, t in enumerate(titles)]
        for view in self.maps:
            view.ax.set_aspect("auto")
        draw_colorbar(fig.add_axes((0.92, 0.14, 0.014, 0.6)), "value (clipped to ±3)", cmap=theme.diverging_cmap,
                      vmin=-3, vmax=3, ticks=[-3, 0, 3], theme=theme)
        fig.text(0.005, 0.93, f"{_B} examples × {_T} tokens = {_B * _T} rows, {_C} channels = columns",
                 fontsize=theme.font_size - 1)
        painter = Painter(fig)
        painter.animate(*(v.artists for v in self.maps))
        controls = {
            "channel_shift": float_slider("channel offsets", values["channel_shift"], 0.0, 3.0, 0.25,
                                          tooltip="channel c is offset by shift·(c − 2)", theme=theme),
            "token_scale": float_slider("token scales", values["token_scale"], 0.0, 1.5, 0.1,
                                        tooltip="each token is scaled by exp(s·u), u ~ N(0, 1)", theme=theme),
            "batches_seen": int_slider("batches seen", values["batches_seen"], 0, 60,
                                       tooltip="training batches before this one (running statistics)", theme=theme),
            "momentum": float_slider("momentum", values["momentum"], 0.05, 1.0, 0.05, theme=theme),
            "seed": int_slider("seed", values["seed"], 0, 9, theme=theme),
        }
        super().__init__(controls, painter, title="Batch norm versus layer norm", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        v = values
        key = tuple(v[n] for n in ("channel_shift", "token_scale", "batches_seen", "momentum", "seed"))
        self.result, rows = self._kept.fetch(key, lambda: self._compute(v))
        for view, (shown, _) in zip(self.maps, rows, strict=True):
            view.update(shown)
        self.info.value = _means_html(rows) + _norm_html(v, self.result["stats"], self.result["running"])

    def _compute(self, v: dict[str, Any]) -> tuple[dict[str, Any], list]:
        stream = [_tokens(v["seed"], v["channel_shift"], v["token_scale"], k) for k in range(v["batches_seen"] + 1)]
        x = stream[-1]
        seen = torch.stack(stream[:-1]) if len(stream) > 1 else torch.zeros(0, *x.shape, dtype=x.dtype)
        stats = norm_statistics(x)
        running = running_batch_norm(seen, x, v["momentum"])
        drawn = []
        for t in (x, running.train, running.eval, stats.layer_norm):
            rows = _rows(t)
            drawn.append((np.clip(rows, -3, 3), (_spread(rows.mean(0)), _spread(rows.mean(1)))))
        return {"stats": stats, "running": running}, drawn


def _means_html(rows: list) -> str:
    """A table of each map's column and row means (in the info panel: text in the picture costs a layout per move)."""
    names = ("input x", "batch norm, training", "batch norm, evaluation", "layer norm")
    cell = "<td style='padding:0 10px'>{}</td>"
    head = "<tr><th></th>" + "".join(f"<th style='padding:0 10px'>{n}</th>" for n in names) + "</tr>"
    body = "".join("<tr>" + cell.format(label) + "".join(cell.format(r[1][k]) for r in rows) + "</tr>"
                   for k, label in enumerate(("column (channel) means", "row (token) means")))
    return f"<table>{head}{body}</table>"


def _spread(values: np.ndarray) -> str:
    low, high = (0.0 if abs(v) < 0.05 else float(v) for v in (values.min(), values.max()))
    return f"{low:.1f} … {high:.1f}"


def _norm_html(v: dict[str, Any], stats: Any, running: Any) -> str:
    rm, rv = running.running_mean[-1], running.running_var[-1]
    return (
        "<b>Batch norm</b> takes one mean and variance <b>per channel</b> (column), over every example and token "
        f"of the batch: here {_C} means, from {float(stats.channel_mean.min()):+.2f} to "
        f"{float(stats.channel_mean.max()):+.2f}. <b>Layer norm</b> takes them <b>per token</b> (row), over its "
        f"{_C} channels: {_B * _T} means, from {float(stats.token_mean.min()):+.2f} to "
        f"{float(stats.token_mean.max()):+.2f}; it needs no batch, so transformers use it. "
        f"In evaluation mode batch norm uses running statistics r ← (1 − m) r + m·s, here after "
        f"{v['batches_seen']} batches with m = {v['momentum']:g}: running means {float(rm.min()):+.2f} … "
        f"{float(rm.max()):+.2f}, variances {float(rv.min()):.2f} … {float(rv.max()):.2f} (they start at 0 and 1, "
        "so with no batch seen evaluation mode barely changes x).")


def normalisation_explorer(channel_shift: float = 1.5, token_scale: float = 0.6, batches_seen: int = 3,
                           momentum: float = 0.1, seed: int = 0,
                           presentation: bool | None = None) -> NormalisationExplorer:
    """Build (not display) the batch norm versus layer norm explorer.

    Args:
        channel_shift: how far apart the channels' means are (0 to 3).
        token_scale: how much the tokens' scales differ (0 to 1.5).
        batches_seen: training batches batch norm has seen before the shown one (0 to 60).
        momentum: batch norm's running-average momentum (0.05 to 1).
        seed: seeds the stream of batches (0 to 9).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = normalisation_explorer(batches_seen=0)
        >>> ex.result["running"].running_mean.shape
        torch.Size([1, 6])
    """
    values = dict(channel_shift=_check_number("channel_shift", channel_shift, 0.0, 3.0),
                  token_scale=_check_number("token_scale", token_scale, 0.0, 1.5),
                  batches_seen=check_int("batches_seen", batches_seen, 0, 60),
                  momentum=_check_number("momentum", momentum, 0.05, 1.0), seed=check_int("seed", seed, 0, 9))
    return NormalisationExplorer(values, get_theme(presentation))


# =========================================================================== GAP versus flatten
_SIZE, _K, _NUM_IMAGES = 16, 4, 20


@functools.lru_cache(maxsize=1)
def _pooling_setup() -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """16x16 scenes (their RGB channels are the feature map) and seeded heads for 4 classes."""
    from explainer.data import scenes

    images = scenes(_NUM_IMAGES, _SIZE, seed=21, max_objects=1).images.double()  # (N, 3, H, W)
    g = torch.Generator().manual_seed(5)
    c = images.shape[1]
    heads = (torch.randn(_K, c, generator=g, dtype=torch.float64), torch.zeros(_K, dtype=torch.float64),
             torch.randn(_K, c * _SIZE * _SIZE, generator=g, dtype=torch.float64) / _SIZE,
             torch.zeros(_K, dtype=torch.float64))
    return images, heads


class PoolingExplorer(Explorer):
    """``result`` is ``{"before": PoolingHeads, "after": PoolingHeads}`` for the scene and its shifted copy."""

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(8.6, 3.9, theme=theme)
        self.before = draw_map(fig.add_axes((0.01, 0.2, 0.19, 0.6)), "feature map\n(3 × 16 × 16)", theme=theme)
        self.after = draw_map(fig.add_axes((0.22, 0.2, 0.19, 0.6)), "shifted\n(wrapping around)", theme=theme)
        series = {"before": dict(facecolor="#bbbbbb", label="before the shift"),
                  "after": dict(facecolor=theme.accent, label="after")}
        classes = [str(k) for k in range(_K)]  # "class" under the axes: wide labels collide on a projector
        self.gap = draw_grouped_bars(fig.add_axes((0.5, 0.14, 0.22, 0.7)), classes, series, (-1.6, 2.0),
                                     title="GAP + linear", ylabel="logit", theme=theme, legend=False)
        self.fc = draw_grouped_bars(fig.add_axes((0.77, 0.14, 0.22, 0.7)), classes, series, (-1.6, 2.0),
                                    title="flatten + linear", theme=theme, legend=False)
        for view in (self.gap, self.fc):
            view.ax.set_xlabel("class", labelpad=1)
        fig.legend(handles=self.gap.handles, loc="upper center", bbox_to_anchor=(0.74, 1.0), ncol=2,
                   fontsize=theme.font_size - 1, frameon=False)
        painter = Painter(fig)
        painter.animate(self.before.artists, self.after.artists, self.gap.artists, self.fc.artists)
        half = _SIZE // 2
        controls = {
            "image": int_slider("scene", values["image"], 0, _NUM_IMAGES - 1, theme=theme),
            "dy": int_slider("shift down", values["dy"], -half, half, theme=theme),
            "dx": int_slider("shift right", values["dx"], -half, half, theme=theme),
        }
        super().__init__(controls, painter, title="Global average pooling versus flatten + linear", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        images, heads = _pooling_setup()
        x = images[values["image"]:values["image"] + 1]  # (1, 3, H, W)
        moved = shift(x, values["dy"], values["dx"])
        before, after = pooling_heads(x, *heads), pooling_heads(moved, *heads)
        self.result = {"before": before, "after": after}
        self.before.update(x[0].permute(1, 2, 0).numpy())
        self.after.update(moved[0].permute(1, 2, 0).numpy(), f"dy = {values['dy']}, dx = {values['dx']}")
        gap_change = float((after.gap - before.gap).abs().max())
        fc_change = float((after.flatten - before.flatten).abs().max())
        self.gap.update({"before": before.gap[0].numpy(), "after": after.gap[0].numpy()},
                        text=f"max |Δ logit| = {gap_change:.2g}")
        self.fc.update({"before": before.flatten[0].numpy(), "after": after.flatten[0].numpy()},
                       text=f"max |Δ logit| = {fc_change:.2g}")
        small, big = head_parameters(3, _SIZE, _SIZE, _K), head_parameters(2048, 7, 7, 1000)
        self.info.value = (
            "GAP averages each channel over all positions, so moving the content around (here wrapping around "
            f"the border) leaves its {_K} logits unchanged; flatten + linear gives every position its own weights, "
            "so the same content elsewhere gives other logits. "
            f"Parameters here: GAP + linear <b>{small['gap']:,}</b>, flatten + linear <b>{small['flatten']:,}</b>; "
            f"on a ResNet-50's 2048 × 7 × 7 map with 1000 classes: <b>{big['gap']:,}</b> versus "
            f"<b>{big['flatten']:,}</b>. The heads' weights are seeded, not trained: the point is what they can "
            "and cannot notice.")


def pooling_explorer(image: int = 0, dy: int = 0, dx: int = 4, presentation: bool | None = None) -> PoolingExplorer:
    """Build (not display) the GAP versus flatten + linear explorer.

    Args:
        image: which scene (0 to 19).
        dy: rows to shift down (-8 to 8; wrapping around).
        dx: columns to shift right (-8 to 8; wrapping around).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = pooling_explorer(dx=5)
        >>> bool(torch.allclose(ex.result["before"].gap, ex.result["after"].gap))
        True
    """
    half = _SIZE // 2
    values = dict(image=check_int("image", image, 0, _NUM_IMAGES - 1), dy=check_int("dy", dy, -half, half),
                  dx=check_int("dx", dx, -half, half))
    return PoolingExplorer(values, get_theme(presentation))


