"""Explorers for gate attention (SE, CBAM, ECA) on the tiny trained networks of :mod:`explainer.models`.

- :func:`se_explorer`: step through SE on a real feature map: pooled descriptor, bottleneck, gates,
  a channel before and after rescaling; the reduction ratio with its parameter count.
- :func:`trained_gates_explorer`: one scene (seed control) and one stage: CBAM's spatial gate over the
  image, and the channel gates of the SE, CBAM and ECA networks side by side.
- :func:`gate_profiles_explorer`: the channel gates averaged per class over many scenes (SE paper, Fig. 6)
  and a linear probe's accuracy at reading the class from the gates alone, per stage.
- :func:`eca_explorer`: channel count -> ECA kernel size, the 1D convolution drawn as a band.
- :func:`gate_cost_explorer`: parameters and multiply-adds of each gate as a share of its stage.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from matplotlib.lines import Line2D

from explainer._validate import check_choice, check_int
from explainer.data import SHAPES, Scenes, hard_scenes
from explainer.explorers._kit import Explorer, Kept, checkbox, int_slider, selection_slider, toggle_buttons
from explainer.gate_analysis import ClassProfiles, LinearProbe, class_gate_profiles, linear_probe
from explainer.gating import GATES, SqueezeExcitation, eca_kernel_size, gate_multiply_adds, gate_params, se_steps
from explainer.models import IMAGE_SIZE, REDUCTION, WIDTHS, load_pretrained
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.gating import (
    draw_band,
    draw_bars,
    draw_colorbar,
    draw_costs,
    draw_map,
    draw_overlay,
    draw_profiles,
)

__all__ = [
    "SCENE_SEED",
    "NUM_IMAGES",
    "PROBE_SEEDS",
    "NUM_PROBE_IMAGES",
    "REDUCTIONS",
    "ECA_CHANNELS",
    "COST_CHANNELS",
    "se_explorer",
    "trained_gates_explorer",
    "gate_profiles_explorer",
    "eca_explorer",
    "gate_cost_explorer",
]

SCENE_SEED = 7  # the explorers' scenes: a seed the training and test sets do not use
NUM_IMAGES = 40
PROBE_SEEDS = (3, 4)  # the probe's fitting scenes and the scenes it is scored on (and the profiles drawn from)
NUM_PROBE_IMAGES = 300
KEPT_STEPS = 8  # SE results kept by the explorer, per (stage, reduction, image)
REDUCTIONS = (1, 2, 4, 8, 16)
ECA_CHANNELS = (8, 16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 4096)
COST_CHANNELS = (16, 32, 64, 128, 256, 512)


@functools.lru_cache(maxsize=1)
def _scenes() -> Scenes:
    return _hard(NUM_IMAGES, SCENE_SEED)


def _hard(n: int, seed: int) -> Scenes:
    """The scenes the networks were trained on (:func:`explainer.data.hard_scenes`, the largest object's shape)."""
    return hard_scenes(n, IMAGE_SIZE, seed=seed, target="image")


@functools.lru_cache(maxsize=1)
def _inspected() -> dict[str, Any]:
    """Every trained variant run once on the explorers' scenes: moves only index into these."""
    data = _scenes()
    with torch.no_grad():
        return {gate: load_pretrained(gate).inspect(data.images) for gate in GATES}


@functools.lru_cache(maxsize=None)
def _rgb(index: int) -> np.ndarray:
    """Scene ``index`` as ``(H, W, 3)``, made once per scene."""
    return _scenes().images[index].permute(1, 2, 0).numpy()  # (H, W, 3)


def _check_image(image: int) -> int:
    return check_int("image", image, 0, NUM_IMAGES - 1)


def _check_stage(stage: int) -> int:
    return check_int("stage", stage, 0, len(WIDTHS) - 1)


# --------------------------------------------------------------------------- SE step-through
class SEExplorer(Explorer):
    """SE step by step on the trained SE network's own pre-gate map; ``result`` is the :class:`SESteps`."""

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self._kept = Kept(KEPT_STEPS)  # (x, steps, trained, maps per channel) per (stage, reduction, image)
        fig = new_figure(8.0, 4.4, theme=theme)
        self.picture = draw_map(fig.add_axes((0.01, 0.52, 0.2, 0.38)), "scene", theme=theme)
        self.before = draw_map(fig.add_axes((0.23, 0.52, 0.2, 0.38)), "channel, before", cmap=theme.cmap, theme=theme)
        self.after = draw_map(fig.add_axes((0.45, 0.52, 0.2, 0.38)), "after × gate", cmap=theme.cmap, theme=theme)
        # Both maps are divided by the channel's maximum before gating: one fixed scale, drawn once.
        draw_colorbar(fig.add_axes((0.665, 0.56, 0.012, 0.3)), "x / max x", ticks=[0, 0.5, 1], theme=theme)
        self.hidden = draw_bars(fig.add_axes((0.8, 0.57, 0.18, 0.3)), "bottleneck", ymax=1.0, xlabel="unit",
                                theme=theme)
        self.pooled = draw_bars(fig.add_axes((0.06, 0.13, 0.42, 0.25)), "squeeze: z = mean of each channel",
                                ymax=1.0, ylabel="z / max z", theme=theme)
        self.gates = draw_bars(fig.add_axes((0.56, 0.13, 0.42, 0.25)), "excite: gates g = σ(W₂ relu(W₁ z))",
                               ylabel="g", reference=0.5, theme=theme)
        painter = Painter(fig)
        # The scene and the bottleneck change with the image, stage and reduction, not with the channel.
        painter.animate(*(v.artists for v in (self.picture, self.hidden, self.before, self.after, self.pooled, self.gates)))
        controls = {
            "image": int_slider("image", values["image"], 0, NUM_IMAGES - 1, tooltip="which scene", theme=theme),
            "stage": int_slider("stage", values["stage"], 0, len(WIDTHS) - 1, tooltip="which stage", theme=theme),
            "reduction": selection_slider("reduction r", REDUCTIONS, values["reduction"], theme=theme),
            "channel": int_slider("channel", values["channel"], 0, WIDTHS[-1] - 1, theme=theme),
        }
        super().__init__(controls, painter, title="Squeeze-and-excitation, step by step", theme=theme)

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        c = WIDTHS[values["stage"]]
        return {"channel": (0, c - 1, f"stage {values['stage']} has {c} channels"),
                "reduction": ([r for r in REDUCTIONS if r <= c], None)}

    def render(self, values: dict[str, Any]) -> None:
        stage, r, ch, index = values["stage"], values["reduction"], values["channel"], values["image"]
        x, steps, trained, channels = self._steps(stage, r, index)
        self.result = steps
        if ch not in channels:
            before = x[0, ch].numpy()
            top = float(before.max()) or 1.0
            channels[ch] = (before / top, steps.output[0, ch].numpy() / top, top)  # on the colour bar's 0 .. 1
        before, after, top = channels[ch]
        self.picture.update(_rgb(index))
        self.before.update(before, f"max x = {top:.2f}")
        self.after.update(after, f"gate g = {float(steps.gates[0, ch]):.2f}")
        pooled = steps.pooled[0].numpy()
        self.pooled.update(pooled / max(float(pooled.max()), 1e-6), ch)
        hidden = steps.hidden[0].numpy()
        self.hidden.update(hidden / max(float(hidden.max()), 1e-6), None, f"{len(hidden)} units")
        self.gates.update(steps.gates[0].numpy(), ch)
        c = len(pooled)
        self.info.value = (
            f"<b>squeeze</b> z = mean<sub>h,w</sub> x: {c} numbers; <b>excite</b> g = "
            f"σ(W<sub>2</sub> relu(W<sub>1</sub> z)) with W<sub>1</sub>: {c}→{c // r}, W<sub>2</sub>: {c // r}→{c}; <b>scale</b> y = x · g.<br>"
            f"parameters (we drop the biases) 2·C·(C/r) = 2·{c}·{c // r} = <b>{gate_params('se', c, r):,}</b> "
            f"(the stage's convolutions have {_stage_conv_params(stage):,}). "
            + ("Gates of the <b>trained</b> SE network (r = 4)." if trained else
               f"r = {r} differs from the trained r = {REDUCTION}: an <b>untrained</b> SE block (seeded weights),"
               " so its gates carry no meaning yet.")
            + " Bars of z and the bottleneck are scaled to their maximum; both maps are divided by the channel's"
            " maximum before gating, so the colour bar holds for both.")

    def _steps(self, stage: int, r: int, index: int) -> tuple[torch.Tensor, Any, bool, dict]:
        """``(x (1, C, H, W), se_steps(block, x), trained, {channel: (before, after)})`` for the controls
        that decide them; the last few are kept, so moving the channel computes nothing."""

        def run() -> tuple[torch.Tensor, Any, bool, dict]:
            x = _inspected()["se"].features[stage][index:index + 1]  # (1, C, H, W)
            block, trained = _se_block(stage, r)
            with torch.no_grad():
                return x, se_steps(block, x), trained, {}

        return self._kept.fetch((stage, r, index), run)


@functools.lru_cache(maxsize=32)
def _se_block(stage: int, reduction: int) -> tuple[SqueezeExcitation, bool]:
    if reduction == REDUCTION:
        return load_pretrained("se").stages[stage]["gate"], True
    block = SqueezeExcitation(WIDTHS[stage], reduction)
    g = torch.Generator().manual_seed(stage * 100 + reduction)
    for p in block.parameters():
        torch.nn.init.kaiming_uniform_(p, a=5**0.5, generator=g)
    return block.eval(), False


def _stage_conv_params(stage: int) -> int:
    c_in = (3, *WIDTHS)[stage]
    c = WIDTHS[stage]
    return 9 * c_in * c + 9 * c * c + 4 * c


def se_explorer(image: int = 0, stage: int = 1, reduction: int = REDUCTION, channel: int = 0,
                presentation: bool | None = None) -> SEExplorer:
    """Build (not display) the SE step-through on the trained SE network's feature maps.

    Args:
        image: scene index (0 to ``NUM_IMAGES - 1``).
        stage: 0, 1 or 2 (16, 32, 64 channels).
        reduction: one of :data:`REDUCTIONS` (all fit the narrowest stage); 4 shows the trained gates.
        channel: the channel shown before and after rescaling.
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = se_explorer(stage=1, reduction=8)
        >>> ex.result.hidden.shape  # 32 // 8 bottleneck units
        torch.Size([1, 4])
    """
    stage = _check_stage(stage)
    values = dict(image=_check_image(image), stage=stage, reduction=check_choice("reduction", reduction, REDUCTIONS),
                  channel=check_int("channel", channel, 0, WIDTHS[stage] - 1))
    return SEExplorer(values, get_theme(presentation))


# --------------------------------------------------------------------------- trained gates, side by side
class TrainedGatesExplorer(Explorer):
    """CBAM's spatial gate over a scene and the SE / CBAM / ECA channel gates of the trained networks.

    ``result`` is a dict ``{gate: Gates}`` for the chosen image and stage, plus ``"predictions"``.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(8.0, 4.6, theme=theme)
        self.overlay = draw_overlay(fig.add_axes((0.01, 0.5, 0.24, 0.4)), "CBAM spatial gate $g_s$", theme=theme)
        draw_colorbar(fig.add_axes((0.26, 0.53, 0.012, 0.34)), "$g_s$", ticks=[0, 0.5, 1], theme=theme)
        # The same gate alone, coloured from its own minimum to its maximum (both written under it).
        self.spatial = draw_map(fig.add_axes((0.03, 0.07, 0.2, 0.31)), "$g_s$, stretched", theme=theme)
        draw_colorbar(fig.add_axes((0.26, 0.1, 0.012, 0.25)), "", ticks=[0, 1],
                      tick_labels=["min", "max"], theme=theme)
        self.bars = {gate: draw_bars(fig.add_axes((0.38, 0.72 - 0.31 * i, 0.6, 0.18)), title, ylabel="$g_c$",
                                     reference=0.5, theme=theme)
                     for i, (gate, title) in enumerate((("se", "SE channel gates $g_c$"),
                                                        ("cbam", "CBAM channel gates $g_c$ (applied first)"),
                                                        ("eca", "ECA channel gates $g_c$")))}
        painter = Painter(fig)
        painter.animate(self.overlay.artists, self.spatial.artists, *(b.artists for b in self.bars.values()))
        controls = {
            "image": int_slider("image", values["image"], 0, NUM_IMAGES - 1, tooltip="which scene", theme=theme),
            "stage": int_slider("stage", values["stage"], 0, len(WIDTHS) - 1, tooltip="which stage", theme=theme),
            "overlay": checkbox("gate over the scene", values["overlay"], theme=theme),
        }
        super().__init__(controls, painter, title="Trained gates: SE, CBAM, ECA on one scene", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        index, stage = values["image"], values["stage"]
        runs = _inspected()
        data = _scenes()
        gates = {gate: runs[gate].gates[stage] for gate in ("se", "cbam", "eca")}
        chosen = {gate: type(g)(g.channel[index], None if g.spatial is None else g.spatial[index])
                  for gate, g in gates.items()}
        predictions = {gate: SHAPES[int(runs[gate].logits[index].argmax())] for gate in GATES}
        self.result = {**chosen, "predictions": predictions}
        spatial = chosen["cbam"].spatial.numpy()
        h, w = spatial.shape
        box = tuple(data.boxes[index, 0].tolist())
        lo, hi = float(spatial.min()), float(spatial.max())
        self.overlay.update(_rgb(index), spatial, box, show_gate=values["overlay"])  # the gate's own 0 .. 1
        # Stretched: small differences stay visible where the gate is almost flat (stage 2).
        self.spatial.update(spatial, f"min {lo:.2f}, max {hi:.2f}", vmin=lo, vmax=max(hi, lo + 1e-3))
        for gate, view in self.bars.items():
            view.update(chosen[gate].channel.numpy())
        truth = SHAPES[int(data.labels[index])]
        self.info.value = (
            f"scene {index}: {int((data.shapes[index] >= 0).sum())} objects; the label is the shape of the largest, "
            f"a <b>{truth}</b> (box in orange). Stage {stage} has "
            f"{WIDTHS[stage]} channels on a {h}×{w} map. CBAM first rescales channels, g<sub>c</sub> = σ(MLP(avg) + "
            "MLP(max)), then computes its spatial gate g<sub>s</sub> = σ(conv<sub>7×7</sub>[mean<sub>c</sub>, "
            "max<sub>c</sub>]) on the channel-gated map. Over the scene it is coloured on the fixed scale 0 … 1; "
            f"below, alone, from its own minimum {lo:.2f} to its maximum {hi:.2f}. Dashed lines: ½ = σ(0). "
            "Predictions: "
            + ", ".join(f"{g}: {'✓' if p == truth else '✗'} {p}" for g, p in predictions.items()))


def trained_gates_explorer(image: int = 0, stage: int = 0, overlay: bool = True,
                           presentation: bool | None = None) -> TrainedGatesExplorer:
    """Build (not display) the side-by-side view of the trained networks' gates on one scene.

    Args:
        image: scene index (0 to ``NUM_IMAGES - 1``).
        stage: 0, 1 or 2.
        overlay: draw CBAM's spatial gate over the scene.
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = trained_gates_explorer(stage=1)
        >>> ex.result["cbam"].spatial.shape
        torch.Size([16, 16])
    """
    if not isinstance(overlay, bool):
        raise TypeError(f"overlay must be a bool, got {overlay!r}")
    values = dict(image=_check_image(image), stage=_check_stage(stage), overlay=overlay)
    return TrainedGatesExplorer(values, get_theme(presentation))


# --------------------------------------------------------------------------- class-averaged gates
@functools.lru_cache(maxsize=1)
def _probe_scenes() -> tuple[Any, Any]:
    """The probe's two scene sets: fit and held out (made once)."""
    fit, held = (_hard(NUM_PROBE_IMAGES, seed) for seed in PROBE_SEEDS)
    return fit, held


@functools.lru_cache(maxsize=3)
def _probe_runs(gate: str) -> tuple[Any, Any]:
    """One gated network's stage outputs on the fit and held-out scenes (computed when first asked for:
    the explorer opens on one network, and lesson 04's Run All should not wait for the other two)."""
    fit, held = _probe_scenes()
    model = load_pretrained(gate)
    with torch.no_grad():
        return model.inspect(fit.images), model.inspect(held.images)


@functools.lru_cache(maxsize=16)
def _profiles_and_probe(gate: str, stage: int) -> tuple[ClassProfiles, LinearProbe]:
    fit, held = _probe_scenes()
    on_fit, on_held = (run.gates[stage].channel for run in _probe_runs(gate))  # (N, C) each
    profiles = class_gate_profiles(on_held, held.labels, len(SHAPES))
    return profiles, linear_probe(on_fit, fit.labels, on_held, held.labels, len(SHAPES))


_GATE_NAMES = {"se": "SE", "cbam": "CBAM", "eca": "ECA"}


class GateProfilesExplorer(Explorer):
    """The channel gates of one trained network averaged per class, and how well a linear probe reads the
    class from them, per stage. ``result`` is ``{"profiles": ClassProfiles, "probe": LinearProbe,
    "probe_accuracy": (per stage test accuracy)}``."""

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(8.0, 3.4, theme=theme)
        self.profiles = draw_profiles(fig.add_axes((0.07, 0.3, 0.62, 0.6)), "mean channel gate per class",
                                      SHAPES, theme=theme, legend_y=-0.25)
        self.probe = draw_bars(fig.add_axes((0.79, 0.3, 0.18, 0.6)), "linear probe", xlabel="stage",
                               ylabel="test accuracy", reference=0.25, theme=theme)
        painter = Painter(fig)
        painter.animate(self.profiles.artists, self.probe.artists)
        controls = {
            "stage": int_slider("stage", values["stage"], 0, len(WIDTHS) - 1, tooltip="which stage", theme=theme),
            "gate": toggle_buttons("network", [(name, gate) for gate, name in _GATE_NAMES.items()], values["gate"],
                                   theme=theme),
        }
        super().__init__(controls, painter, title="What the gates know: class-averaged gates", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        gate, stage = values["gate"], values["stage"]
        profiles, probe = _profiles_and_probe(gate, stage)
        accuracies = tuple(_profiles_and_probe(gate, s)[1].test_accuracy for s in range(len(WIDTHS)))
        self.result = {"profiles": profiles, "probe": probe, "probe_accuracy": accuracies}
        spread = profiles.spread
        self.profiles.update(profiles.mean.numpy(), f"{_GATE_NAMES[gate]}, stage {stage}")
        self.probe.update(np.array(accuracies), highlight=stage, text=f"{100 * probe.test_accuracy:.0f}%")
        name = _GATE_NAMES[gate]
        self.info.value = (
            f"{name} network, stage {stage} ({WIDTHS[stage]} channels): each line is one class's channel gates "
            f"g<sub>c</sub> averaged over its {', '.join(str(int(c)) for c in profiles.counts)} scenes "
            f"({', '.join(SHAPES)}) of {NUM_PROBE_IMAGES} fresh ones. Where the lines part, the gate depends on "
            f"the class: between classes a channel's mean gate differs by {float(spread.mean()):.2f} on average "
            f"(at most {float(spread.max()):.2f}). Right: a linear probe fitted on {NUM_PROBE_IMAGES} other scenes "
            f"reads the class from the {WIDTHS[stage]} gates alone for <b>{100 * probe.test_accuracy:.1f}%</b> of "
            f"these (chance 25%, dashed), at each stage; the current one in orange.")


def gate_profiles_explorer(stage: int = len(WIDTHS) - 1, gate: str = "se",
                           presentation: bool | None = None) -> GateProfilesExplorer:
    """Build (not display) the class-averaged gate profiles of a trained network (SE paper, Fig. 6).

    Args:
        stage: 0, 1 or 2.
        gate: ``"se"``, ``"cbam"`` or ``"eca"``, the network whose channel gates are shown.
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> gate_profiles_explorer(stage=1).result["profiles"].mean.shape  # 4 classes x 32 channels
        torch.Size([4, 32])
    """
    values = dict(stage=_check_stage(stage), gate=check_choice("gate", gate, tuple(_GATE_NAMES)))
    return GateProfilesExplorer(values, get_theme(presentation))


# --------------------------------------------------------------------------- ECA kernel size
class ECAExplorer(Explorer):
    """The ECA kernel-size rule as a curve over C and the 1D convolution as a band; ``result`` is ``k``."""

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(8.0, 3.8, theme=theme)
        ax = fig.add_axes((0.08, 0.16, 0.48, 0.7))
        ax.set_xscale("log", base=2)
        ax.set_xlim(ECA_CHANNELS[0] / 1.2, ECA_CHANNELS[-1] * 1.2)
        ax.set_ylim(0, 15)
        ax.set_yticks(range(1, 16, 2))  # k is odd
        ax.set_autoscale_on(False)
        ax.set_xlabel("channels C (log scale)", fontsize=theme.font_size - 1)
        ax.set_ylabel("kernel size k", fontsize=theme.font_size - 1)
        ax.tick_params(labelsize=theme.font_size - 2)
        ax.set_title("k = |log₂C / γ + b / γ|, made odd", fontsize=theme.font_size, pad=3)
        lw = 1.6 * theme.line_scale
        (self.curve,) = ax.step([], [], where="post", color=theme.accent2, lw=lw)
        (self.marker,) = ax.plot([], [], "o", color=theme.accent, ms=7 * theme.line_scale)
        self.label = ax.text(0.03, 0.95, "", transform=ax.transAxes, va="top", fontsize=theme.font_size)
        # Proxies: the legend is static, the curve and the marker move.
        ax.legend(handles=[Line2D([], [], color=theme.accent2, lw=lw, label="the rule, k(C)"),
                           Line2D([], [], ls="none", marker="o", color=theme.accent, ms=7 * theme.line_scale,
                                  label="your C")],
                  loc="lower right", fontsize=theme.font_size - 2)
        self.band = draw_band(fig.add_axes((0.66, 0.22, 0.3, 0.56)), "", theme=theme)
        painter = Painter(fig)
        painter.animate(self.curve, self.marker, self.label, self.band.artists)
        controls = {
            "channels": selection_slider("channels C", ECA_CHANNELS, values["channels"], theme=theme),
            "gamma": int_slider("γ", values["gamma"], 1, 4, theme=theme),
            "b": int_slider("b", values["b"], 0, 4, theme=theme),
        }
        super().__init__(controls, painter, title="ECA: the kernel size follows the channel count", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        c, gamma, b = values["channels"], values["gamma"], values["b"]
        k = eca_kernel_size(c, gamma, b)
        self.result = k
        self.curve.set_data(*_eca_curve(gamma, b))
        self.marker.set_data([c], [k])
        raw = np.log2(c) / gamma + b / gamma
        self.label.set_text(f"C={c}: {raw:.2f} → k={k}")
        self.band.update(c, k, text=f"first {min(c, 24)} of {c} gates, k={k}")
        self.info.value = (
            f"ECA replaces SE's two layers by one 1D convolution over the pooled channels: gate i reads channels "
            f"i−{k // 2} … i+{k // 2} (zero-padded at the ends) with the same {k} weights. Parameters: <b>{k}</b> "
            f"(SE with r = 16 would need 2·C·(C/16) = {2 * c * max(c // 16, 1):,}). "
            f"k = int(|log₂{c}/{gamma} + {b}/{gamma}|) = int({raw:.3f}) = {int(raw)} → odd: <b>{k}</b>.")


@functools.lru_cache(maxsize=32)
def _eca_curve(gamma: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    grid = np.geomspace(ECA_CHANNELS[0], ECA_CHANNELS[-1], 200).round().astype(int)
    return grid, np.array([eca_kernel_size(int(n), gamma, b) for n in grid])


def eca_explorer(channels: int = 64, gamma: int = 2, b: int = 1, presentation: bool | None = None) -> ECAExplorer:
    """Build (not display) the ECA kernel-size explorer.

    Args:
        channels: the channel count ``C``, one of :data:`ECA_CHANNELS`.
        gamma: ``γ`` of ``k = |log2(C) / γ + b / γ|_odd``, 1 to 4.
        b: ``b`` of the same formula, 0 to 4.
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> eca_explorer(channels=2048).result
        7
    """
    values = dict(channels=check_choice("channels", channels, ECA_CHANNELS), gamma=check_int("gamma", gamma, 1, 4),
                  b=check_int("b", b, 0, 4))
    return ECAExplorer(values, get_theme(presentation))


# --------------------------------------------------------------------------- cost
_COST_ROWS = [f"{g} {m}" for g in ("SE", "CBAM", "ECA") for m in ("params", "mult-adds")]


class GateCostExplorer(Explorer):
    """Each gate's parameters and multiply-adds over those of its stage (two 3×3 convs C→C on H×W).

    ``result`` maps each row name (``"SE params"``, ...) to its fraction.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        fig = new_figure(8.0, 3.4, theme=theme)
        self.view = draw_costs(fig.add_axes((0.2, 0.14, 0.77, 0.74)), _COST_ROWS, theme=theme)
        painter = Painter(fig)
        painter.animate(self.view.artists)
        controls = {
            "channels": selection_slider("channels C", COST_CHANNELS, values["channels"], theme=theme),
            "size": int_slider("map size H=W", values["size"], 4, 64, theme=theme),
            "reduction": selection_slider("reduction r", REDUCTIONS, values["reduction"], theme=theme),
        }
        super().__init__(controls, painter, title="What a gate costs", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        c, s, r = values["channels"], values["size"], values["reduction"]
        stage_p, stage_m = 2 * 9 * c * c, 2 * 9 * c * c * s * s
        fractions = {}
        for gate, name in (("se", "SE"), ("cbam", "CBAM"), ("eca", "ECA")):
            fractions[f"{name} params"] = gate_params(gate, c, r) / stage_p
            fractions[f"{name} mult-adds"] = gate_multiply_adds(gate, c, (s, s), r) / stage_m
        self.result = fractions
        self.view.update([fractions[row] for row in _COST_ROWS])
        self.info.value = (
            f"stage = two 3×3 convolutions {c}→{c} on {s}×{s}: 18·C² = {stage_p:,} parameters, 18·C²·H·W = "
            f"{stage_m:,} multiply-adds. SE 2C(C/r) = {gate_params('se', c, r):,}; CBAM adds 2·7² = 98 "
            f"(spatial conv) = {gate_params('cbam', c, r):,}; ECA k = {eca_kernel_size(c)}. Multiply-adds include "
            "the rescaling (C·H·W per gate map); CBAM's spatial 7×7 conv costs 2·49·H·W. "
            "The parameter shares do not depend on the map size; the multiply-add shares barely do.")


def gate_cost_explorer(channels: int = 64, size: int = 16, reduction: int = 16,
                       presentation: bool | None = None) -> GateCostExplorer:
    """Build (not display) the gate-cost explorer.

    Args:
        channels: the stage's channels ``C``, one of :data:`COST_CHANNELS`.
        size: its feature map's side ``H = W``, 4 to 64.
        reduction: SE's and CBAM's reduction ratio ``r``, one of :data:`REDUCTIONS`.
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> round(gate_cost_explorer(channels=64, reduction=16).result["SE params"], 4)  # 512 / 73728
        0.0069
    """
    values = dict(channels=check_choice("channels", channels, COST_CHANNELS), size=check_int("size", size, 4, 64),
                  reduction=check_choice("reduction", reduction, REDUCTIONS))
    return GateCostExplorer(values, get_theme(presentation))
