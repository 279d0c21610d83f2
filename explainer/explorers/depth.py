"""Explorers for lesson 11, residual connections and gradient flow.

- :func:`gradient_flow_explorer`: depth, activation, initialisation, normalisation and the shortcut ->
  per-layer gradient norms and output spreads of a plain and a residual stack (log scale), the chosen
  stack's activation histograms and its dead / saturated shares, all from one real backward pass.
- :func:`degradation_explorer`: training-loss curves of a plain and a residual network of the same
  depth on the scenes; the default setting's curves ship with the package, any other setting trains
  on a button (never a slider) with a progress bar, and is kept for the session.

The computation lives in :mod:`explainer.depth`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import ipywidgets as widgets
import numpy as np

from explainer._validate import check_choice, check_int
from explainer.activations import ACTIVATIONS, SATURATION
from explainer.depth import (
    DEGRADATION_DEFAULTS,
    INITS,
    NORMS,
    Degradation,
    GradientFlow,
    degradation_curves,
    gradient_flow,
    shipped_degradation,
)
from explainer.explorers._kit import Explorer, Kept, checkbox, dropdown, int_slider, selection_slider
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.depth import draw_histograms, draw_layer_curves, draw_loss_curves, histogram_rows

__all__ = [
    "DEPTHS",
    "WIDTH",
    "BATCH",
    "GradientFlowExplorer",
    "gradient_flow_explorer",
    "DEGRADATION_DEPTHS",
    "DegradationExplorer",
    "degradation_explorer",
]

DEPTHS = (2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 50)
WIDTH, BATCH = 32, 48  # one small batch through 32 units per layer: a move costs one short backward pass
KEPT_FLOWS = 64  # gradient-flow results kept per explorer (a result at depth 50 holds about 0.3 MB)
_EDGES = np.linspace(-3.0, 3.0, 41)
_GRAD_LIM, _STD_LIM = (1e-14, 1e6), (1e-6, 1e6)


@functools.lru_cache(maxsize=1)
def _styles() -> dict[str, dict[str, dict]]:
    theme = get_theme()
    return {"plain": dict(color=theme.accent2, lw=2.2, label="plain: y = f(Wx)"),
            "residual": dict(color=theme.accent, lw=2.2, ls="-.", label="residual: y = f(Wx + x)")}


class GradientFlowExplorer(Explorer):
    """Gradient norms and output spreads per layer, plain and residual; histograms and shares of the chosen one.

    ``result`` is ``{"plain": GradientFlow, "residual": GradientFlow}`` for the current setting.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self._kept = Kept(KEPT_FLOWS)
        styles = _styles()
        fig = new_figure(8.6, 5.6, theme=theme)
        top = DEPTHS[-1]
        self.grads = draw_layer_curves(fig.add_axes((0.08, 0.58, 0.38, 0.34)), top, styles,
                                       "gradient norm ‖∂loss/∂W‖ per layer", "‖∂L/∂W‖ (log)", _GRAD_LIM,
                                       theme=theme)
        self.spread = draw_layer_curves(fig.add_axes((0.58, 0.58, 0.38, 0.34)), top, styles,
                                        "spread of each layer's output", "std of outputs (log)", _STD_LIM,
                                        theme=theme)
        self.hist = draw_histograms(fig.add_axes((0.08, 0.08, 0.34, 0.36)), fig.add_axes((0.43, 0.08, 0.012, 0.36)),
                                    top, _EDGES, "", theme=theme)
        shares = {"dead": dict(color="#444444", lw=2, label="dead: f = 0 and f′ = 0"),
                  "saturated": dict(color=theme.accent3, lw=2, ls="--",
                                    label=f"saturated: |f′| < {SATURATION:g}")}
        self.shares = draw_layer_curves(fig.add_axes((0.58, 0.08, 0.38, 0.36)), top, shares,
                                        "units passing (almost) no gradient", "share of units", (-0.02, 1.02),
                                        log=False, theme=theme)
        painter = Painter(fig)
        painter.animate(self.grads.artists, self.spread.artists, self.hist.artists, self.shares.artists)
        controls = {
            "depth": selection_slider("depth", DEPTHS, values["depth"], tooltip="blocks in the stack", theme=theme),
            "activation": dropdown("activation f", list(ACTIVATIONS), values["activation"], theme=theme),
            "init": dropdown("initialisation", list(INITS), values["init"], theme=theme),
            "norm": dropdown("normalisation", list(NORMS), values["norm"], theme=theme),
            "shortcut": checkbox("histograms of the residual stack", values["shortcut"], theme=theme),
            "seed": int_slider("seed", values["seed"], 0, 9, tooltip="weights, inputs and labels", theme=theme),
        }
        super().__init__(controls, painter, title="Gradient flow: plain versus residual", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        drawn = {name: self._flow(values, name == "residual") for name in ("plain", "residual")}
        self.result = {name: d["flow"] for name, d in drawn.items()}
        chosen = "residual" if values["shortcut"] else "plain"
        self.grads.update({n: d["grad_norms"] for n, d in drawn.items()})
        self.spread.update({n: d["std"] for n, d in drawn.items()})
        shown = drawn[chosen]
        if "rows" not in shown:  # only the stack whose histograms are shown needs them
            shown["rows"] = histogram_rows(shown["flow"].outputs.numpy(), _EDGES)
        self.hist.update_rows(shown["rows"], f"outputs per layer, {chosen} stack")
        self.shares.update({"dead": drawn[chosen]["dead"], "saturated": drawn[chosen]["saturated"]}, f"{chosen} stack")
        self.info.value = _flow_html(values, self.result, chosen)

    def _flow(self, v: dict[str, Any], residual: bool) -> dict[str, Any]:
        """The result and what the views draw of it (numpy; histogram rows added by render), kept per setting."""
        key = (v["depth"], v["activation"], v["init"], v["norm"], v["seed"], residual)

        def make() -> dict[str, Any]:
            flow = gradient_flow(v["depth"], WIDTH, v["activation"], v["init"], v["norm"], residual, BATCH, v["seed"])
            return dict(flow=flow, grad_norms=flow.grad_norms.numpy(), std=flow.std.numpy(), dead=flow.dead.numpy(),
                        saturated=flow.saturated.numpy())  # + "rows" (histograms) once shown

        return self._kept.fetch(key, make)


def _sci(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    exponent = math.floor(math.log10(abs(x)))
    return f"{x:.2g}" if -2 <= exponent <= 3 else f"{x / 10**exponent:.1f}·10<sup>{exponent}</sup>"


def _flow_html(v: dict[str, Any], flows: dict[str, GradientFlow], chosen: str) -> str:
    cell = "<td style='padding:0 8px'>{}</td>"
    rows = "".join(
        "<tr>" + "".join(cell.format(c) for c in (
            f"<b>{name}</b>", _sci(float(f.grad_norms[0])), _sci(float(f.grad_norms[-1])), _sci(float(f.std[-1])),
            f"{float(f.dead.mean()):.0%}", f"{float(f.saturated.mean()):.0%}", f"{f.loss:.3f}")) + "</tr>"
        for name, f in flows.items())
    return (f"{v['depth']} blocks of {WIDTH} units, f = {v['activation']}, {v['init']} initialisation, "
            f"norm: {v['norm']}; one batch of {BATCH} seeded inputs, cross-entropy on random labels, one backward pass."
            "<table><tr><th></th><th>‖∂L/∂W‖ layer 1</th><th>‖∂L/∂W‖ last</th><th>output std, last</th>"
            f"<th>dead</th><th>saturated</th><th>loss</th></tr>{rows}</table>"
            "By the chain rule ∂L/∂x<sub>l</sub> = ∂L/∂x<sub>l+1</sub> · f′(z) · (W (+ I with the shortcut)): "
            "a product over the layers above. Plain, each factor can shrink it (f′ ≤ ¼ for the sigmoid); "
            "the shortcut adds the identity, so the product cannot vanish as long as f′ stays near 1 "
            f"(ReLU on its positive side). Histograms and shares: the <b>{chosen}</b> stack.")


def gradient_flow_explorer(depth: int = 20, activation: str = "sigmoid", init: str = "default", norm: str = "none",
                           shortcut: bool = False, seed: int = 0,
                           presentation: bool | None = None) -> GradientFlowExplorer:
    """Build (not display) the gradient-flow explorer.

    Args:
        depth: blocks in each stack, one of :data:`DEPTHS`.
        activation: one of :data:`explainer.activations.ACTIVATIONS`.
        init: ``"default"`` (PyTorch's), ``"xavier"`` or ``"kaiming"``.
        norm: ``"none"``, ``"batch"`` or ``"layer"``.
        shortcut: show the residual stack's histograms and shares (else the plain stack's).
        seed: seeds the weights, the inputs and the labels (0 to 9).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = gradient_flow_explorer(depth=8, activation="relu")
        >>> ex.result["plain"].grad_norms.shape
        torch.Size([8])
    """
    values = dict(depth=check_choice("depth", depth, DEPTHS),
                  activation=check_choice("activation", activation, ACTIVATIONS),
                  init=check_choice("init", init, INITS), norm=check_choice("norm", norm, NORMS),
                  shortcut=_check_bool("shortcut", shortcut), seed=check_int("seed", seed, 0, 9))
    return GradientFlowExplorer(values, get_theme(presentation))


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


# --------------------------------------------------------------------------- degradation
DEGRADATION_DEPTHS = (2, 4, 8, 12, 20, 32)
REFERENCE_DEPTH = 4  # the shallow plain network drawn beside every setting, where it is known
_STEPS = DEGRADATION_DEFAULTS["steps"]
_trained: dict[tuple[int, str], Degradation] = {}  # settings trained in this session, shared by all explorers


def _known(depth: int, norm: str) -> Degradation | None:
    """The curves of a setting: shipped, or trained in this session; None if neither."""
    if not _trained:
        _trained.update(shipped_degradation())
    return _trained.get((depth, norm))


class DegradationExplorer(Explorer):
    """Loss curves of the plain and the residual network for one (depth, norm); ``result`` is the
    :class:`~explainer.depth.Degradation` shown, or None for a setting not trained yet.

    Press **train** (:meth:`train`) to train the current setting (both networks, with a progress bar).
    """

    paint_ahead = False  # render() sets the train button and the progress bar: nothing is painted ahead

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(7.6, 4.0, theme=theme)
        ax = fig.add_axes((0.09, 0.13, 0.88, 0.78))
        colors = {"plain": theme.accent2, "residual": theme.accent, f"plain, {REFERENCE_DEPTH} blocks": "#7f7f7f"}
        self.curves = draw_loss_curves(ax, _STEPS, colors, ylim=(0.0, 2.0), chance=math.log(4), theme=theme)
        self.title = ax.text(0.0, 1.02, "", transform=ax.transAxes, ha="left", va="bottom", fontsize=theme.font_size)
        painter = Painter(fig)
        painter.animate(self.curves.artists, self.title)
        controls = {
            "depth": selection_slider("depth", DEGRADATION_DEPTHS, values["depth"], tooltip="blocks per network",
                                      theme=theme),
            "norm": dropdown("normalisation", ["none", "batch"], values["norm"], theme=theme),
        }
        self.button = widgets.Button(description="train this setting", icon="play", button_style="primary")
        self.progress = widgets.IntProgress(value=0, min=0, max=2 * _STEPS, description="training",
                                            layout=widgets.Layout(width="320px"))
        self.button.on_click(lambda _: self.train())
        super().__init__(controls, painter, title="The degradation problem: deeper plain networks train worse",
                         extra=[widgets.HBox([self.button, self.progress])], theme=theme)

    def frame_state(self) -> Any:
        """The settings trained so far decide which curves are drawn: kept pictures are per set."""
        return frozenset(_trained)

    def render(self, values: dict[str, Any]) -> None:
        depth, norm = values["depth"], values["norm"]
        result = _known(depth, norm)
        self.result = result
        self.button.disabled = result is not None
        self.title.set_text(f"{depth} blocks, norm: {norm}, {_STEPS} Adam steps each on 16×16 scenes")
        if result is None:
            self.progress.value = 0
            self.curves.update(None, "not trained yet: press “train this setting”\n(both networks, about "
                                     f"{_seconds(depth)} s)")
            self.info.value = "This setting has not been trained in this session yet."
            return
        self.progress.value = self.progress.max
        curves = {"plain": result.plain.numpy(), "residual": result.residual.numpy()}
        shallow = _known(REFERENCE_DEPTH, norm)
        if shallow is not None and depth != REFERENCE_DEPTH:
            curves[f"plain, {REFERENCE_DEPTH} blocks"] = shallow.plain.numpy()
        self.curves.update(curves)
        self.info.value = _degradation_html(result, shallow)

    def _advance(self, done: int, total: int) -> None:
        if done % 5 == 0 or done == total:  # one widget message per 5 steps is smooth enough
            self.progress.value = done

    def train(self) -> Degradation:
        """Train the current setting (if not yet kept), keep it for the session, and show it."""
        depth, norm = self.values["depth"], self.values["norm"]
        result = _known(depth, norm)
        if result is None:
            self.button.disabled = True
            try:
                result = degradation_curves(depth, norm, _STEPS, DEGRADATION_DEFAULTS["seed"], progress=self._advance)
            except Exception as exc:  # noqa: BLE001 - shown in the explorer's error area
                self.button.disabled = False
                self._show_error(exc)
                raise
            _trained[(depth, norm)] = result
        self.update()
        return result


def _seconds(depth: int) -> int:
    """Both networks' training time, roughly, as measured on a busy 2-core machine (10 s at depth 4, 33 s at 20)."""
    return round(1.45 * depth + 4)


def _degradation_html(d: Degradation, shallow: Degradation | None) -> str:
    tail = _STEPS // 10
    plain, residual = float(d.plain[-tail:].mean()), float(d.residual[-tail:].mean())
    reference = "" if shallow is None or shallow is d else (
        f", plain with {REFERENCE_DEPTH} blocks <b>{float(shallow.plain[-tail:].mean()):.3f}</b> (grey)")
    return (f"Mean training loss over the last {tail} steps: plain <b>{plain:.3f}</b>, residual <b>{residual:.3f}</b>"
            f"{reference} (chance ln 4 = {math.log(4):.3f}). Same initial weights, same batches; the only "
            "difference is the “+ x” of every block. A deeper plain network could copy a shallower one and set its "
            "extra layers to the identity, but training does not find that; the residual block is the identity when "
            "its weights are 0.")


def degradation_explorer(depth: int = DEGRADATION_DEFAULTS["depth"], norm: str = DEGRADATION_DEFAULTS["norm"],
                         presentation: bool | None = None) -> DegradationExplorer:
    """Build (not display) the degradation explorer; the default setting's curves are shown at once.

    Args:
        depth: blocks per network, one of :data:`DEGRADATION_DEPTHS`.
        norm: ``"none"`` or ``"batch"`` (batch norm after every convolution).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = degradation_explorer()
        >>> ex.result.plain.shape == ex.result.residual.shape
        True
    """
    values = dict(depth=check_choice("depth", depth, DEGRADATION_DEPTHS),
                  norm=check_choice("norm", norm, ("none", "batch")))
    return DegradationExplorer(values, get_theme(presentation))
