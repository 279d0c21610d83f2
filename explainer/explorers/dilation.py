"""Explorers 3: dilated (atrous) convolution and deformable convolution, over a real photo.

* :func:`dilation_explorer`: the taps of a k x k kernel with dilation 1..6 on the photo (click
  to move it), the effective kernel ``k + (k-1)(d-1)`` and the field of three stacked layers,
  and the gridding artefact of three equal dilations against a hybrid schedule such as 1, 2, 5
  (Wang et al. 2018, https://arxiv.org/abs/1702.08502) as coverage heatmaps with their colourbar.
* :func:`deformation_explorer`: scale, rotation, shear and seeded random offsets (Dai et al.
  2017, https://arxiv.org/abs/1703.06211), the deformed grid of a clicked output unit, the offset
  field of one tap as arrows, an edge detector's output with and without deformation (one
  colourbar), a DCNv2 mask as per-tap opacity, and a magnified inset of the clicked unit's
  neighbourhood where taps that overlap at full size separate.
* :func:`learned_offsets_explorer`: the taps that a trained deformable layer
  (:mod:`explainer.models.deform`) reads on a scene whose object the sliders scale and turn, beside the
  hand-made grid turned and scaled by the same amounts, and the spread of the learned taps over the map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from explainer._validate import check_choice, check_int
from explainer.deformable import affine_offsets, deform_conv2d, random_offsets
from explainer.explorers._kit import Explorer, Kept, dropdown, float_slider, int_slider
from explainer.models.deform import STRIDE
from explainer.paint import Painter, new_figure
from explainer.sampling import hdc_max_gap, same_padding, sampling_positions, stacked_coverage
from explainer.sizes import effective_kernel_size
from explainer.theme import Theme, get_theme
from explainer.views._common import image_array
from explainer.views.dilation import (
    draw_coverage,
    draw_coverage_scale,
    draw_feature_map,
    draw_feature_scale,
    draw_offset_field,
    draw_spread_map,
    draw_spread_scale,
    draw_taps,
    draw_unit_markers,
    draw_zoom,
    update_coverage,
    update_feature_map,
    update_offset_field,
    update_spread_map,
    update_taps,
    update_unit_markers,
    update_zoom,
)

__all__ = [
    "HYBRID_SCHEDULES",
    "EDGE_KERNELS",
    "MASKS",
    "OFFSET_RANGES",
    "ZOOM_HALF",
    "DilationState",
    "DeformationState",
    "DilationExplorer",
    "DeformationExplorer",
    "LEARNED_RANGES",
    "LearnedOffsetsState",
    "LearnedOffsetsExplorer",
    "dilation_explorer",
    "deformation_explorer",
    "learned_offsets_explorer",
]

HYBRID_SCHEDULES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("1, 2, 5", (1, 2, 5)),
    ("1, 2, 3", (1, 2, 3)),
    ("1, 3, 9", (1, 3, 9)),
    ("2, 4, 8", (2, 4, 8)),
    ("3, 4, 5", (3, 4, 5)),  # no common factor, and still holes: the gaps are too wide (HDC's M_2 = 4 > 3)
    ("1, 5, 9", (1, 5, 9)),  # likewise, M_2 = 5
)
EDGE_KERNELS: dict[str, tuple[tuple[float, ...], ...]] = {
    "Sobel x (vertical edges)": ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),
    "Sobel y (horizontal edges)": ((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
    "Laplacian": ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
}
MASKS = ("none", "centre-weighted", "random")
# The deformation explorer's float sliders: (min, max, step).
OFFSET_RANGES: dict[str, tuple[float, float, float]] = {
    "scale": (0.5, 3.0, 0.1), "angle": (-90.0, 90.0, 5.0), "shear": (-1.0, 1.0, 0.1), "noise": (0.0, 2.0, 0.1)}
# Offset settings whose (offset, mask, output) the deformation explorer keeps: about 0.25 MB each at
# the default 48 x 48 input, 4 MB at the largest (128 x 128).
KEPT_DEFORMATIONS = 16
# The deformation explorer's inset shows (2 * ZOOM_HALF + 1) pixels square around the selected unit:
# enough for the taps of scale 2 with any rotation and shear, and some noise.
ZOOM_HALF = 5


# --------------------------------------------------------------------------- dilation
@dataclass(frozen=True)
class DilationState:
    """What the dilation explorer shows.

    Attributes:
        kernel_size, dilation: the single layer's settings.
        effective: ``k + (k-1)(d-1)``, the span of the dilated kernel.
        centre: ``(y, x)``, the output unit of a "same"-size convolution whose taps are shown; the
            taps' middle is pixel ``(y, x)``, or half a pixel below and right of it when ``(k-1)d`` is odd.
        padding: ``(before, after)`` "same" padding, :func:`~explainer.sampling.same_padding`
            (unequal when ``(k-1)d`` is odd; the taps use ``before``, as ``padding="same"`` does).
        taps: ``(k*k, 2)`` tap coordinates ``(y, x)`` on the photo.
        equal, hybrid: the two 3-layer dilation schedules compared.
        coverage_equal, coverage_hybrid: their :func:`~explainer.sampling.stacked_coverage` maps.
        field_equal, field_hybrid: receptive fields ``1 + sum d_l (k-1)``.
        holes_equal, holes_hybrid: pixels inside each field that no path reaches.
        hdc_gap: :func:`~explainer.sampling.hdc_max_gap` ``M_2`` of the hybrid schedule (no holes
            when it is at most ``k`` and the schedule starts at 1).
    """

    kernel_size: int
    dilation: int
    effective: int
    centre: tuple[int, int]
    padding: tuple[int, int]
    taps: torch.Tensor
    equal: tuple[int, int, int]
    hybrid: tuple[int, int, int]
    coverage_equal: torch.Tensor
    coverage_hybrid: torch.Tensor
    field_equal: int
    field_hybrid: int
    holes_equal: int
    holes_hybrid: int
    hdc_gap: int


class DilationExplorer(Explorer):
    """Taps of a dilated kernel on a photo, and the coverage of stacked dilations; ``result`` is a :class:`DilationState`.

    The arguments are those of :func:`dilation_explorer`.
    """

    def __init__(self, *, kernel_size: int = 3, dilation: int = 2, hybrid: str = HYBRID_SCHEDULES[0][0],
                 input_size: int = 64, theme: Theme | None = None) -> None:
        from explainer.data import sample_image

        theme = theme or get_theme()
        self.input_size = check_int("input_size", input_size, minimum=32, maximum=256)
        self.photo = sample_image(self.input_size)
        self.centre = (self.input_size // 2, self.input_size // 2)
        self._coverages = Kept(32)  # stacked_coverage per (kernel size, dilation schedule): each <= 31 x 31
        self._states = Kept(32)  # DilationState per (k, d, hybrid, centre): a few KB each
        controls = {
            "kernel_size": int_slider("kernel k", check_int("kernel_size", kernel_size, 2, 5), 2, 5, theme=theme),
            "dilation": int_slider("dilation d", check_int("dilation", dilation, 1, 6), 1, 6, theme=theme),
            "hybrid": dropdown("hybrid schedule", [label for label, _ in HYBRID_SCHEDULES],
                               check_choice("hybrid", hybrid, [label for label, _ in HYBRID_SCHEDULES]), theme=theme),
        }
        first = self._compute({name: c.value for name, c in controls.items()})
        fig = new_figure(8.4, 3.0, theme=theme)
        ax_photo = fig.add_axes((0.005, 0.02, 0.3, 0.86))
        ax_equal = fig.add_axes((0.315, 0.02, 0.28, 0.86))
        ax_hybrid = fig.add_axes((0.605, 0.02, 0.28, 0.86))
        draw_coverage_scale(fig.add_axes((0.893, 0.2, 0.018, 0.68)), theme=theme)
        ax_photo.set_title("taps of one unit\n(click to move)", fontsize=theme.font_size)
        self.taps = draw_taps(ax_photo, self.photo, first.taps, (first.kernel_size,) * 2, theme=theme)
        size = self._coverage_size(first)
        self.equal_image, self.equal_title = draw_coverage(ax_equal, first.coverage_equal, size, theme=theme)
        self.hybrid_image, self.hybrid_title = draw_coverage(ax_hybrid, first.coverage_hybrid, size, theme=theme)
        self.ax_photo = ax_photo
        painter = Painter(fig)
        painter.animate(self.taps.animated, self.equal_image, self.equal_title, self.hybrid_image, self.hybrid_title)
        super().__init__(controls, painter, title="Dilated convolution: taps, field and gridding", theme=theme)
        self.enable_clicks()

    def frame_state(self) -> Any:
        """The clicked centre is shown too: kept pictures are per centre."""
        return (self.centre,)

    def render(self, values: dict[str, Any]) -> None:
        state = self._compute(values)
        k, d, (cy, cx) = state.kernel_size, state.dilation, state.centre
        half = (k - 1) * d // 2
        stack_half = (state.field_equal - 1) // 2
        update_taps(self.taps, state.taps, (k, k),
                    footprint=(cy - half, cx - half, cy - half + state.effective - 1, cx - half + state.effective - 1),
                    field=(cy - stack_half, cx - stack_half, cy - stack_half + state.field_equal - 1,
                           cx - stack_half + state.field_equal - 1))
        size = self._coverage_size(state)
        update_coverage(self.equal_image, state.coverage_equal, size, self.theme.cmap)
        update_coverage(self.hybrid_image, state.coverage_hybrid, size, self.theme.cmap)
        self.equal_title.set_text(_coverage_title(state.equal, state.holes_equal))
        self.hybrid_title.set_text(_coverage_title(state.hybrid, state.holes_hybrid))
        self.result = state
        self.info.value = _dilation_info(state)

    def on_click(self, px: float, py: float) -> None:
        point = self.painter.pixel_to_data(self.ax_photo, px, py)
        if point is not None:
            x, y = point
            n = self.input_size
            self.centre = (min(max(round(y), 0), n - 1), min(max(round(x), 0), n - 1))

    def _compute(self, values: dict[str, Any]) -> DilationState:
        """The state for ``values`` at the current centre, kept: a slider dragged back computes nothing."""
        key = (values["kernel_size"], values["dilation"], values["hybrid"], self.centre)
        return self._states.fetch(key, lambda: self._state(values))

    def _state(self, values: dict[str, Any]) -> DilationState:
        k, d = values["kernel_size"], values["dilation"]
        hybrid = dict(HYBRID_SCHEDULES)[values["hybrid"]]
        pad = same_padding(k, d)  # output unit (y, x) reads around pixel (y, x), as padding="same" pads
        taps = sampling_positions(self.input_size, k, padding=pad[0], dilation=d)[self.centre]  # (k*k, 2)
        equal = (d, d, d)
        cov_e, cov_h = self._coverage(k, equal), self._coverage(k, hybrid)
        return DilationState(
            kernel_size=k, dilation=d, effective=effective_kernel_size(k, d), centre=self.centre, padding=pad,
            taps=taps, hdc_gap=hdc_max_gap(hybrid),
            equal=equal, hybrid=hybrid, coverage_equal=cov_e, coverage_hybrid=cov_h,
            field_equal=cov_e.shape[0], field_hybrid=cov_h.shape[0],
            holes_equal=int((cov_e == 0).sum()), holes_hybrid=int((cov_h == 0).sum()))

    def _coverage(self, k: int, schedule: tuple[int, ...]) -> torch.Tensor:
        """``stacked_coverage(k, schedule)``, computed once per kernel size and schedule."""
        return self._coverages.fetch((k, schedule), lambda: stacked_coverage(k, schedule))

    @staticmethod
    def _coverage_size(state: DilationState) -> int:
        return max(state.field_equal, state.field_hybrid)


def _coverage_title(schedule: tuple[int, ...], holes: int) -> str:
    return f"{','.join(map(str, schedule))}: {holes} holes"  # short: title glyphs are redrawn on every move


def _padding_text(k: int, d: int, pad: tuple[int, int]) -> str:
    """The "same" padding, said correctly for every k and d."""
    if pad[0] == pad[1]:
        return f"same size: padding (k−1)d/2 = {pad[0]} on each side"
    return (f"same size: total padding (k−1)d = {pad[0] + pad[1]} is odd, so no symmetric padding keeps the size; "
            f"PyTorch's padding='same' puts {pad[0]} top/left and {pad[1]} bottom/right")


def _dilation_info(s: DilationState) -> str:
    k, d = s.kernel_size, s.dilation
    growth_e = " → ".join(str(1 + sum(x * (k - 1) for x in s.equal[:i])) for i in range(1, 4))
    growth_h = " → ".join(str(1 + sum(x * (k - 1) for x in s.hybrid[:i])) for i in range(1, 4))
    hybrid = ", ".join(map(str, s.hybrid))
    g = math.gcd(*s.hybrid)
    if g > 1:
        why = f"they share the factor {g}, so only multiples of {g} are read"
    elif k == 2:  # HDC's recursion is written for 3-tap layers
        why = "no common factor; " + ("no gap is wider than the 2-tap layers bridge" if s.holes_hybrid == 0
                                      else "yet a 2-tap kernel cannot bridge its gaps")
    elif s.hdc_gap <= k and s.hybrid[0] == 1:
        why = f"no common factor, first d = 1 and the largest gap M<sub>2</sub> = {s.hdc_gap} ≤ k = {k} (HDC)"
    elif s.holes_hybrid == 0:  # HDC's rule is sufficient, not necessary
        why = "no common factor and no gap left, although HDC's rule (first d = 1, M<sub>2</sub> ≤ k) does not hold"
    elif s.hdc_gap > k:
        why = f"no common factor, yet the largest gap M<sub>2</sub> = {s.hdc_gap} exceeds k = {k} (HDC's bound)"
    else:
        why = (f"no common factor, yet the first layer is dilated (d = {s.hybrid[0]}): HDC starts with d = 1, "
               f"whose {k} dense taps bridge the gaps")
    return (
        f"<b>effective kernel</b> k + (k−1)(d−1) = {k} + {k - 1}·{d - 1} = <b>{s.effective}</b> "
        f"with only {k * k} weights (dashed box); {_padding_text(k, d, s.padding)}<br>"
        f"<b>field of 3 layers</b> r = 1 + Σ d<sub>l</sub>(k−1): equal {d}, {d}, {d}: {growth_e} (dotted box); "
        f"hybrid {hybrid}: {growth_h}<br>"
        f"<b>gridding</b>: with equal dilations only pixels whose offset from the centre is a multiple of "
        f"d = {d} are ever read: <b>{s.holes_equal}</b> of {s.field_equal ** 2} field pixels are "
        f"holes (red); the hybrid schedule leaves <b>{s.holes_hybrid}</b> of {s.field_hybrid ** 2}: {why}. "
        "Colour: paths from the pixel to the output unit, as a share of the panel's most (square-root scale): "
        f"at most {int(s.coverage_equal.max())} paths reach one pixel for {d}, {d}, {d}, "
        f"{int(s.coverage_hybrid.max())} for {hybrid}."
    )


def dilation_explorer(*, kernel_size: int = 3, dilation: int = 2, hybrid: str = HYBRID_SCHEDULES[0][0],
                      input_size: int = 64, presentation: bool | None = None) -> DilationExplorer:
    """Build (not display) the dilation explorer; a click on the photo moves the kernel.

    Args:
        kernel_size: kernel ``k``, 2 to 5.
        dilation: dilation ``d`` of the single layer and of the three equal layers, 1 to 6.
        hybrid: the schedule compared with the equal one, a label of :data:`HYBRID_SCHEDULES`
            (``"1, 2, 5"``, ``"1, 2, 3"``, ``"1, 3, 9"``, ``"2, 4, 8"``, ``"3, 4, 5"``, ``"1, 5, 9"``).
        input_size: side of the square photo, 32 to 256 pixels (not a control).
        presentation: True for the lecture-hall theme, False for the default, None for the global
            setting (:func:`explainer.set_presentation`).

    Raises:
        ValueError: a setting outside its range (the message names it).

    Example:
        >>> ex = dilation_explorer(kernel_size=3, dilation=2)
        >>> ex.result.effective, ex.result.holes_hybrid
        (5, 0)
    """
    return DilationExplorer(kernel_size=kernel_size, dilation=dilation, hybrid=hybrid, input_size=input_size,
                            theme=get_theme(presentation))


# --------------------------------------------------------------------------- deformation
@dataclass(frozen=True)
class DeformationState:
    """What the deformation explorer shows.

    Attributes:
        offset: ``(1, 18, H, W)`` offsets fed to :func:`~explainer.deformable.deform_conv2d`.
        mask: ``(1, 9, H, W)`` DCNv2 mask, or None.
        unit: the selected output unit ``(y, x)``.
        regular, deformed: ``(9, 2)`` taps of that unit without and with the offsets.
        plain, deformed_output: ``(H, W)`` edge-detector outputs, ordinary and deformable.
        tap: the tap whose offsets the arrows show.
    """

    offset: torch.Tensor
    mask: torch.Tensor | None
    unit: tuple[int, int]
    regular: torch.Tensor
    deformed: torch.Tensor
    plain: torch.Tensor
    deformed_output: torch.Tensor
    tap: int


class DeformationExplorer(Explorer):
    """Offsets built from scale, rotation, shear and noise, their grid, field and effect; ``result`` is a
    :class:`DeformationState`. The arguments are those of :func:`deformation_explorer`."""

    def __init__(self, *, scale: float = 2.0, angle: float = 30.0, shear: float = 0.0, noise: float = 0.5,
                 seed: int = 0, mask: str = MASKS[0], kernel: str = next(iter(EDGE_KERNELS)), tap: int = 0,
                 input_size: int = 48, arrow_step: int = 4, theme: Theme | None = None) -> None:
        from explainer.data import sample_image

        theme = theme or get_theme()
        self.input_size = check_int("input_size", input_size, minimum=16, maximum=128)
        self.step = check_int("arrow_step", arrow_step, minimum=1)
        v = {name: _check_number(name, value, *OFFSET_RANGES[name][:2])
             for name, value in (("scale", scale), ("angle", angle), ("shear", shear), ("noise", noise))}
        seed, tap = check_int("seed", seed, 0, 20), check_int("tap", tap, 0, 8)
        mask, kernel = check_choice("mask", mask, MASKS), check_choice("kernel", kernel, list(EDGE_KERNELS))
        self.photo = sample_image(self.input_size, grayscale=True)  # (1, H, W)
        self.unit = (self.input_size // 2, self.input_size // 2)
        controls = {
            "scale": float_slider("scale", v["scale"], *OFFSET_RANGES["scale"], theme=theme),
            "angle": float_slider("rotation °", v["angle"], *OFFSET_RANGES["angle"], readout_format=".0f",
                                  theme=theme),
            "shear": float_slider("shear", v["shear"], *OFFSET_RANGES["shear"], theme=theme),
            "noise": float_slider("random std", v["noise"], *OFFSET_RANGES["noise"], theme=theme),
            "seed": int_slider("seed", seed, 0, 20, theme=theme),
            "mask": dropdown("DCNv2 mask", list(MASKS), mask, theme=theme),
            "kernel": dropdown("edge kernel", list(EDGE_KERNELS), kernel, theme=theme),
            "tap": int_slider("arrows: tap", tap, 0, 8, theme=theme),
        }
        n = self.input_size
        self._regular = sampling_positions(n, 3, padding=1)  # (n, n, 9, 2)
        self._grid = self._regular[::self.step, ::self.step]  # (n', n', 9, 2): arrow tails
        self._weights: dict[str, torch.Tensor] = {}  # (1, 1, 3, 3) per edge kernel
        self._kept = Kept(KEPT_DEFORMATIONS)  # (offset, mask, output) per setting of the offsets
        first = self._compute(self._values(controls))
        # One colour range for every kernel, so that the colourbar never changes.
        self.vmax = max(_colour_limit(self._plain(name, self._weight(name))) for name in EDGE_KERNELS)
        fig = new_figure(8.6, 2.05, theme=theme)
        left, width, gap = 0.004, 0.178, 0.0085
        boxes = [(left + (width + gap) * i, 0.02, width, 0.82) for i in range(5)]
        ax_taps, self.zoom_ax, ax_arrows, ax_plain, ax_deformed = (fig.add_axes(box) for box in boxes)
        self.axes = [ax_taps, ax_arrows, ax_plain, ax_deformed]  # the panels a click picks a unit on
        titles = ("taps (click a unit)", f"zoom: {2 * ZOOM_HALF + 1}×{2 * ZOOM_HALF + 1} px", "offsets of one tap",
                  "ordinary conv", "deformable conv")
        for ax, title in zip((ax_taps, self.zoom_ax, ax_arrows, ax_plain, ax_deformed), titles):
            ax.set_title(title, fontsize=theme.font_size)
        self.taps = draw_taps(ax_taps, self.photo, first.deformed, (3, 3), theme=theme)
        for part in (self.taps.mesh, self.taps.regular, self.taps.selected):  # drawn in the zoom, where taps separate
            part.set_visible(False)
        self.zoom = draw_zoom(self.zoom_ax, self.photo, ZOOM_HALF, (3, 3), theme=theme)
        tails = self._grid[..., first.tap, :].reshape(-1, 2)  # (N, 2)
        self.quiver = draw_offset_field(ax_arrows, self.photo, tails, self._arrows(first), theme=theme)
        self.plain = draw_feature_map(ax_plain, first.plain, self.vmax, theme=theme)
        self.deformed = draw_feature_map(ax_deformed, first.deformed_output, self.vmax, theme=theme)
        draw_feature_scale(fig.add_axes((left + (width + gap) * 5, 0.06, 0.012, 0.66)), self.plain, theme=theme,
                           label="y")
        self.markers = draw_unit_markers(self.axes[2:], theme=theme)
        painter = Painter(fig)
        painter.animate(self.taps.animated, self.zoom.animated, self.quiver, self.plain, self.deformed,
                        self.markers)
        super().__init__(controls, painter, title="Deformable convolution: where the taps go", theme=theme)
        self.enable_clicks()

    def frame_state(self) -> Any:
        """The clicked unit is shown too: kept pictures are per unit."""
        return (self.unit,)

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        if values["noise"] > 0 or values["mask"] == "random":
            return {"seed": (0, 20, None)}
        return {"seed": (values["seed"], values["seed"], "matters only with random offsets or a random mask")}

    def render(self, values: dict[str, Any]) -> None:
        state = self._compute(values)
        alpha = None if state.mask is None else state.mask[0, :, state.unit[0], state.unit[1]]
        (uy, ux), h = state.unit, ZOOM_HALF
        update_taps(self.taps, state.deformed, (3, 3), alpha=alpha,
                    footprint=(uy - h, ux - h, uy + h, ux + h))  # the zoomed square
        update_zoom(self.zoom, state.unit, state.deformed, (3, 3), regular=state.regular, alpha=alpha,
                    selected=state.tap)
        tails = self._grid[..., state.tap, :].reshape(-1, 2)  # (N, 2)
        self.quiver.set_offsets(tails.numpy()[:, ::-1])
        update_offset_field(self.quiver, self._arrows(state))
        update_feature_map(self.plain, state.plain)  # the same tensor until the kernel changes: kept pixels
        update_feature_map(self.deformed, state.deformed_output)
        update_unit_markers(self.markers, self.axes[2:], state.unit)
        self.result = state
        self.info.value = _deformation_info(values, state, self.step)

    def on_click(self, px: float, py: float) -> None:
        for ax in self.axes:
            point = self.painter.pixel_to_data(ax, px, py)
            if point is not None:
                x, y = point
                n = self.input_size
                self.unit = (min(max(round(y), 0), n - 1), min(max(round(x), 0), n - 1))
                return

    def _values(self, controls: dict[str, Any]) -> dict[str, Any]:
        return {name: c.value for name, c in controls.items()}

    def _arrows(self, state: DeformationState) -> torch.Tensor:
        pairs = state.offset[0].reshape(9, 2, self.input_size, self.input_size)  # (K, 2, H, W)
        field = pairs[state.tap, :, ::self.step, ::self.step]  # (2, n', n')
        return field.reshape(2, -1).T  # (N, 2)

    def _compute(self, v: dict[str, Any]) -> DeformationState:
        n = self.input_size
        weight = self._weight(v["kernel"])  # (1, 1, 3, 3)
        offset, mask, output = self._deform(v, weight)
        # The taps of the selected unit: sampling_positions(n, 3, padding=1, offset=offset[0])[unit],
        # computed at that unit only (the regular grid plus the unit's (dy, dx) pairs).
        (uy, ux), regular = self.unit, self._regular[self.unit].clone()  # (9, 2)
        deformed = regular + offset[0].reshape(9, 2, n, n)[:, :, uy, ux]
        return DeformationState(
            offset=offset, mask=mask, unit=self.unit, regular=regular, deformed=deformed,
            plain=self._plain(v["kernel"], weight), deformed_output=output, tap=v["tap"])

    def _deform(self, v: dict[str, Any], weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(offset (1, 18, n, n), mask (1, 9, n, n) or None, deformed output (n, n)) for the controls
        that decide them; the last few are kept, so moving the tap, clicking a unit or dragging a slider
        back over positions it passed reuses them."""
        key = (v["angle"], v["scale"], v["shear"], v["noise"], v["seed"], v["mask"], v["kernel"])

        def make() -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
            n = self.input_size
            t = math.radians(v["angle"])
            c, s, k, h = math.cos(t), math.sin(t), v["scale"], v["shear"]
            # k * [[c, -s], [s, c]] @ [[1, 0], [h, 1]]: shear, then rotate and scale (in floats: a
            # tensor per factor cost more than the rest of this branch)
            matrix = [[k * (c - s * h), -k * s], [k * (s + c * h), k * c]]
            offset = affine_offsets(3, n, matrix)  # (1, 18, n, n)
            if v["noise"] > 0:  # random_offsets(3, n, noise, seed) is noise * (its draw at std 1)
                offset = offset + self._standard_noise(v["seed"]) * v["noise"]
            mask = _mask(v["mask"], n, v["seed"])
            output = deform_conv2d(self.photo[None], offset, weight, padding=1, mask=mask)[0, 0]
            return offset, mask, output

        return self._kept.fetch(key, make)

    def _weight(self, kernel: str) -> torch.Tensor:
        """``EDGE_KERNELS[kernel]`` as a ``(1, 1, 3, 3)`` tensor, made once per kernel."""
        if kernel not in self._weights:
            self._weights[kernel] = torch.tensor(EDGE_KERNELS[kernel], dtype=self.photo.dtype)[None, None]
        return self._weights[kernel]

    def _standard_noise(self, seed: int) -> torch.Tensor:
        """``random_offsets(3, n, 1.0, seed=seed)``, drawn once per seed."""
        if getattr(self, "_noise_seed", None) != seed:
            self._noise, self._noise_seed = random_offsets(3, self.input_size, 1.0, seed=seed), seed
        return self._noise

    def _plain(self, kernel: str, weight: torch.Tensor) -> torch.Tensor:
        """The ordinary convolution of the photo with ``weight``, computed once per kernel."""
        if getattr(self, "_plain_kernel", None) != kernel:
            self._plain_map, self._plain_kernel = F.conv2d(self.photo[None], weight, padding=1)[0, 0], kernel
        return self._plain_map


def _check_number(name: str, value: Any, minimum: float, maximum: float) -> float:
    """``value`` as a float after checking that it is a real number in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be a number in [{minimum:g}, {maximum:g}], got {value!r}")
    return float(value)


def _colour_limit(plain: torch.Tensor) -> float:
    """``max |plain|``: both feature maps are coloured over ``[-v, v]``, ``v`` the largest over the kernels."""
    return float(plain.abs().max()) or 1.0


def _mask(kind: str, n: int, seed: int) -> torch.Tensor | None:
    """``(1, 9, n, n)`` modulation: None, a Gaussian fall-off from the centre tap, or seeded uniform noise."""
    if kind == "none":
        return None
    if kind == "centre-weighted":
        ky, kx = torch.meshgrid(torch.arange(3.0) - 1, torch.arange(3.0) - 1, indexing="ij")
        weights = torch.exp(-(ky ** 2 + kx ** 2)).reshape(9)  # centre 1, edges 0.37, corners 0.14
        return weights[None, :, None, None].expand(1, 9, n, n)
    return torch.rand(1, 9, n, n, generator=torch.Generator().manual_seed(seed))


def _deformation_info(v: dict[str, Any], s: DeformationState, step: int) -> str:
    taps = s.deformed - s.regular  # (9, 2)
    mean = taps.norm(dim=-1).mean()
    change = (s.deformed_output - s.plain).abs().mean() / s.plain.abs().mean().clamp_min(1e-9)
    return (
        "<b>y(o)</b> = Σ<sub>k</sub> w<sub>k</sub> · m<sub>k</sub>(o) · x(p<sub>o</sub> + p<sub>k</sub> + "
        "Δp<sub>k</sub>(o)), read by bilinear interpolation (zero outside the image)<br>"
        f"offsets: Δp<sub>k</sub> = (A − I) p<sub>k</sub> + ε with A = rotate({v['angle']:.0f}°)·scale({v['scale']:.1f})"
        f"·shear({v['shear']:.1f}), ε ~ N(0, {v['noise']:.1f}²) (seed {v['seed']}); mean tap shift at unit "
        f"{s.unit}: <b>{float(mean):.2f} px</b><br>"
        f"mask: {v['mask']} (tap opacity); arrows: tap {s.tap} = (row {s.tap // 3}, col {s.tap % 3}) at every "
        f"{step}th unit; the deformable output differs from the ordinary one by "
        f"<b>{100 * float(change):.0f}%</b> (mean |Δ| / mean |y|)"
    )


def deformation_explorer(*, scale: float = 2.0, angle: float = 30.0, shear: float = 0.0, noise: float = 0.5,
                         seed: int = 0, mask: str = MASKS[0], kernel: str = next(iter(EDGE_KERNELS)), tap: int = 0,
                         input_size: int = 48, arrow_step: int = 4,
                         presentation: bool | None = None) -> DeformationExplorer:
    """Build (not display) the deformable-convolution explorer; a click on a picture picks the output unit.

    The offsets move every tap ``r`` of the 3x3 kernel to ``A r`` with ``A = rotate(angle) scale(scale)
    shear(shear)``, plus seeded Gaussian noise.

    Args:
        scale: scale of the kernel grid, 0.5 to 3.
        angle: rotation in degrees, -90 to 90.
        shear: horizontal shear ``x' = x + shear * y``, -1 to 1.
        noise: standard deviation of the random offsets in pixels, 0 to 2.
        seed: seed of the random offsets and of the random mask, 0 to 20.
        mask: the DCNv2 modulation, one of :data:`MASKS` (``"none"``, ``"centre-weighted"``, ``"random"``).
        kernel: the edge detector, a key of :data:`EDGE_KERNELS`.
        tap: the tap (0 to 8, row-major) whose offsets the arrows show.
        input_size: side of the square photo, 16 to 128 pixels (not a control).
        arrow_step: draw an arrow at every ``arrow_step``-th output unit (not a control).
        presentation: True for the lecture-hall theme, False for the default, None for the global
            setting (:func:`explainer.set_presentation`).

    Raises:
        ValueError: a setting outside its range (the message names it).
        TypeError: a number that is not one.

    Example:
        >>> ex = deformation_explorer(scale=1.0, angle=0.0, noise=0.0)
        >>> bool(ex.result.deformed.equal(ex.result.regular))  # no deformation: the regular grid
        True
    """
    return DeformationExplorer(scale=scale, angle=angle, shear=shear, noise=noise, seed=seed, mask=mask, kernel=kernel,
                               tap=tap, input_size=input_size, arrow_step=arrow_step, theme=get_theme(presentation))


# --------------------------------------------------------------------------- learned offsets
# The learned-offsets explorer's sliders: object size factor (hard_scenes' scale) and the turn of the scene
# about the object's centre, in degrees: (min, max, step).
LEARNED_RANGES: dict[str, tuple[float, float, float]] = {"scale": (0.5, 1.6, 0.1), "angle": (-90.0, 90.0, 15.0)}
# Upper end of the spread map's colour scale, in image pixels (the regular grid's spread is about 2.15).
SPREAD_VMAX = 6.0


@dataclass(frozen=True)
class LearnedOffsetsState:
    """What the learned-offsets explorer shows.

    Attributes:
        scene: ``(3, H, W)`` the scene, turned by ``angle`` about the object's centre.
        mask: ``(H, W)`` bool, the object's pixels.
        shape, predicted: the object's shape and the model's answer (names from :data:`~explainer.data.SHAPES`).
        confidence: the model's probability for ``predicted``.
        radius: the object's size ``r`` in pixels (radius of the disc of equal area).
        unit: the selected output position ``(i, j)`` of the deformable layer (a cell of its ``h x w`` map).
        learned, regular, hand: ``(9, 2)`` image coordinates ``(y, x)`` of that position's taps: learned,
            undeformed, and the hand-made grid ``rotate(angle) scale(scale)`` of the regular one.
        spread: ``(h, w)`` mean distance of the learned taps from their position, in image pixels.
        spread_object, spread_background: the mean of ``spread`` over cells on the object / off it.
    """

    scene: torch.Tensor
    mask: torch.Tensor
    shape: str
    predicted: str
    confidence: float
    radius: float
    unit: tuple[int, int]
    learned: torch.Tensor
    regular: torch.Tensor
    hand: torch.Tensor
    spread: torch.Tensor
    spread_object: float
    spread_background: float


def _turn(image: torch.Tensor, mask: torch.Tensor, degrees: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``image (3, H, W)`` and ``mask (H, W)`` turned by ``degrees`` (counter-clockwise on screen) about the
    mask's centroid, nearest-neighbour (crisp edges, as the model was trained on). Pixels whose source lies
    outside the image keep the unturned scene: they are farther from the centre than the border, hence off
    the object, which lies wholly inside, so the clutter simply continues there."""
    if degrees == 0:
        return image, mask
    h, w = mask.shape
    cy, cx = (c.double().mean() for c in mask.nonzero(as_tuple=True))
    t = math.radians(degrees)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    # output pixel p reads input c + R(t)^-1 (p - c); rows grow downwards, so a screen-CCW turn is R(-t) in (y, x)
    sy = cy + math.cos(t) * (ys - cy) + math.sin(t) * (xs - cx)  # (H, W)
    sx = cx - math.sin(t) * (ys - cy) + math.cos(t) * (xs - cx)  # (H, W)
    inside = (sy > -0.5) & (sy < h - 0.5) & (sx > -0.5) & (sx < w - 0.5)  # (H, W): nearest source in the image
    grid = torch.stack((sx * 2 / (w - 1) - 1, sy * 2 / (h - 1) - 1), dim=-1)[None]  # (1, H, W, 2)
    both = torch.cat((image.double(), mask[None].double()))[None]  # (1, 4, H, W)
    out = F.grid_sample(both, grid, mode="nearest", padding_mode="border", align_corners=True)[0]  # (4, H, W)
    return torch.where(inside, out[:3].to(image.dtype), image), inside & (out[3] > 0.5)


class LearnedOffsetsExplorer(Explorer):
    """The learned taps of the trained deformable CNN on a scene, beside a hand-made rotated and scaled grid;
    ``result`` is a :class:`LearnedOffsetsState`. The arguments are those of :func:`learned_offsets_explorer`."""

    def __init__(self, *, scale: float = 1.2, angle: float = 0.0, seed: int = 0, theme: Theme | None = None) -> None:
        from explainer.models import load_pretrained

        theme = theme or get_theme()
        v = {name: _check_number(name, value, *LEARNED_RANGES[name][:2]) for name, value in
             (("scale", scale), ("angle", angle))}
        seed = check_int("seed", seed, 0, 20)
        self.model = load_pretrained("deform")
        self.unit: tuple[int, int] | None = None  # the clicked cell; None: the cell under the object's centre
        self._seed_shown = seed
        self._scenes = Kept(64)  # (image, mask, radius, shape) per (seed, scale): a few KB each
        self._states = Kept(32)
        controls = {
            "scale": float_slider("object scale", v["scale"], *LEARNED_RANGES["scale"], theme=theme),
            "angle": float_slider("turn °", v["angle"], *LEARNED_RANGES["angle"], readout_format=".0f", theme=theme),
            "seed": int_slider("scene", seed, 0, 20, theme=theme),
        }
        first = self._compute(self._values(controls))
        size = tuple(first.scene.shape[-2:])
        fig = new_figure(7.4, 2.55, theme=theme)
        boxes = [(0.005, 0.02, 0.29, 0.8), (0.31, 0.02, 0.29, 0.8), (0.615, 0.02, 0.29, 0.8)]
        ax_learned, ax_hand, ax_spread = (fig.add_axes(box) for box in boxes)
        self.axes = [ax_learned, ax_hand, ax_spread]
        titles = ("learned taps (click a unit)", "hand-made: turn · scale", "learned spread")
        for ax, title in zip(self.axes, titles, strict=True):
            ax.set_title(title, fontsize=theme.font_size)
        self.learned = draw_taps(ax_learned, first.scene, first.learned, (3, 3), regular=first.regular, theme=theme)
        self.hand = draw_taps(ax_hand, first.scene, first.hand, (3, 3), regular=first.regular, theme=theme)
        self.spread, self.outline = draw_spread_map(ax_spread, first.spread, size, SPREAD_VMAX, theme=theme)
        draw_spread_scale(fig.add_axes((0.915, 0.08, 0.014, 0.62)), self.spread, theme=theme, label="px")
        self.markers = draw_unit_markers([ax_spread], theme=theme)
        painter = Painter(fig)
        painter.animate(self.learned.photo, *self.learned.animated, self.hand.photo, *self.hand.animated, self.spread,
                        self.outline, self.markers)
        super().__init__(controls, painter, title="Learned offsets: where a trained deformable layer reads",
                         theme=theme)
        self.enable_clicks()

    def frame_state(self) -> Any:
        """The clicked unit is shown too: kept pictures are per unit."""
        return (self.unit,)

    def render(self, values: dict[str, Any]) -> None:
        if values["seed"] != self._seed_shown:  # a new scene: back to the cell under its object
            self.unit, self._seed_shown = None, values["seed"]
        s = self._compute(values)
        for taps, positions in ((self.learned, s.learned), (self.hand, s.hand)):
            taps.photo.set_data(image_array(s.scene))
            update_taps(taps, positions, (3, 3), regular=s.regular)
        update_spread_map(self.spread, self.outline, s.spread, s.mask)
        centre = s.regular[4]
        update_unit_markers(self.markers, self.axes[2:], (float(centre[0]), float(centre[1])))
        self.result = s
        self.info.value = _learned_info(values, s)

    def on_click(self, px: float, py: float) -> None:
        for ax in self.axes:
            point = self.painter.pixel_to_data(ax, px, py)
            if point is not None:
                x, y = point
                h, w = self.result.spread.shape
                self.unit = (min(max(int(y // STRIDE), 0), h - 1), min(max(int(x // STRIDE), 0), w - 1))
                return

    def _values(self, controls: dict[str, Any]) -> dict[str, Any]:
        return {name: c.value for name, c in controls.items()}

    def _scene(self, seed: int, scale: float) -> tuple[torch.Tensor, torch.Tensor, float, int]:
        """``(image (3, H, W), mask (H, W), r, shape index)`` of scene ``seed`` drawn at ``scale``, kept."""
        from explainer.train.deform import IMAGE_SIZE, SCENES

        def make() -> tuple[torch.Tensor, torch.Tensor, float, int]:
            from explainer.data import hard_scenes

            s = hard_scenes(1, IMAGE_SIZE, seed=seed, **{**SCENES, "scale": (scale, scale)})
            return s.images[0], s.masks[0, 0], float(s.radii[0, 0]), int(s.labels[0])

        return self._scenes.fetch((seed, round(scale, 3)), make)

    def _compute(self, v: dict[str, Any]) -> LearnedOffsetsState:
        return self._states.fetch((v["seed"], round(v["scale"], 3), v["angle"], self.unit), lambda: self._state(v))

    def _state(self, v: dict[str, Any]) -> LearnedOffsetsState:
        from explainer.data import SHAPES

        image, mask, radius, shape = self._scene(v["seed"], v["scale"])
        scene, mask = _turn(image, mask, v["angle"])
        with torch.no_grad():
            probs = torch.softmax(self.model(scene[None]), dim=1)[0]  # (classes,)
        sampling = self.model.sampling(scene[None])
        spread = sampling.spread[0]  # (h, w)
        on = F.avg_pool2d(mask[None, None].float(), STRIDE)[0, 0] > 0.5  # (h, w) cells mostly on the object
        if self.unit is None:  # the cell under the object's centre
            cy, cx = (c.float().mean() for c in mask.nonzero(as_tuple=True))
            i, j = int(cy // STRIDE), int(cx // STRIDE)
        else:
            i, j = self.unit
        regular = sampling.regular[i, j]  # (9, 2)
        t = math.radians(v["angle"])
        turn = torch.tensor([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])  # on (y, x): screen-CCW
        hand = regular[4] + (regular - regular[4]) @ (v["scale"] * turn).T  # (9, 2)
        return LearnedOffsetsState(
            scene=scene, mask=mask, shape=SHAPES[shape], predicted=SHAPES[int(probs.argmax())],
            confidence=float(probs.max()), radius=radius, unit=(i, j), learned=sampling.positions[0, i, j],
            regular=regular, hand=hand, spread=spread,
            spread_object=float(spread[on].mean()) if on.any() else float("nan"),
            spread_background=float(spread[~on].mean()))


def _learned_info(v: dict[str, Any], s: LearnedOffsetsState) -> str:
    learned = float(s.spread[s.unit])
    hand = float((s.hand - s.regular[4]).norm(dim=-1).mean())
    regular = float((s.regular - s.regular[4]).norm(dim=-1).mean())
    return (
        f"object: <b>{s.shape}</b>, size r = {s.radius:.1f} px, turned {v['angle']:.0f}°; the model says "
        f"<b>{s.predicted}</b> ({100 * s.confidence:.0f}%)<br>"
        f"spread (mean distance of the 9 taps from their unit) at unit {s.unit}: learned <b>{learned:.2f} px</b>, "
        f"regular grid {regular:.2f} px, hand-made (scale {v['scale']:.1f}) {hand:.2f} px<br>"
        f"learned spread averaged over the object's cells <b>{s.spread_object:.2f} px</b>, over the background "
        f"{s.spread_background:.2f} px (white outline: the object)"
    )


def learned_offsets_explorer(*, scale: float = 1.2, angle: float = 0.0, seed: int = 0,
                             presentation: bool | None = None) -> LearnedOffsetsExplorer:
    """Build (not display) the learned-offsets explorer; a click on a picture picks the unit.

    The trained :class:`~explainer.models.deform.DeformCNN` (``load_pretrained("deform")``) reads a scene of
    the kind it was trained on; the left panel shows where its deformable layer's taps land for one unit, the
    middle one the hand-made grid ``rotate(angle) scale(scale)`` of the deformation explorer at the same unit,
    the right one the spread of the learned taps over the whole map.

    Args:
        scale: the object's size factor (``hard_scenes``' ``scale``), 0.5 to 1.6; also the hand-made scale.
        angle: turn of the scene about the object's centre, degrees, -90 to 90; also the hand-made rotation.
        seed: the scene (shape, own angle, place and clutter), 0 to 20.
        presentation: True for the lecture-hall theme, False for the default, None for the global setting.

    Raises:
        ValueError: a setting outside its range (the message names it).
        TypeError: a number that is not one.

    Example:
        >>> ex = learned_offsets_explorer(scale=1.0, angle=0.0, seed=3)
        >>> ex.result.learned.shape, ex.result.spread.shape
        (torch.Size([9, 2]), torch.Size([16, 16]))
    """
    return LearnedOffsetsExplorer(scale=scale, angle=angle, seed=seed, theme=get_theme(presentation))
