"""Lesson 01's explorers: convolution arithmetic, and the checkerboard of a transposed convolution.

Explorer 1, convolution arithmetic, is the live version of the conv_arithmetic animations.

Sliders set the input size, kernel, stride, padding, dilation, direct/transposed (with output
padding), the output unit and the channels/groups; the picture shows where every tap of the chosen
output unit lands on the padded (or zero-inserted) input, and the info panel gives the output-size
formula with the current numbers, the parameter count and the multiply-adds. Animations after
Dumoulin & Visin, https://github.com/vdumoulin/conv_arithmetic.

The checkerboard explorer shows how many kernel taps of a transposed convolution land on each
output pixel (a real ``nn.ConvTranspose2d`` of ones on ones): uneven when the kernel size is not
divisible by the stride (Odena et al. 2016, https://distill.pub/2016/deconv-checkerboard/).
"""

from __future__ import annotations

import math
from typing import Any

from explainer._validate import check_int
from explainer.conv import (
    ConvArithmetic,
    TransposedOverlap,
    conv_arithmetic,
    conv_flops,
    conv_output_size,
    transposed_output_size,
    transposed_overlap,
)
from explainer.explorers._kit import Explorer, Kept, checkbox, int_slider, selection_slider
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.convolution import (
    draw_channel_groups,
    draw_input_grid,
    draw_legend,
    draw_output_grid,
    draw_overlap,
    grid_layout,
)

__all__ = [
    "RANGES",
    "ConvArithmeticExplorer",
    "conv_arithmetic_explorer",
    "CHECKERBOARD_RANGES",
    "CheckerboardExplorer",
    "checkerboard_explorer",
]

# Full slider ranges; limits() narrows them so that the output is never empty.
RANGES: dict[str, tuple[int, int]] = {
    "input_size": (1, 10),
    "kernel_size": (1, 7),
    "stride": (1, 3),
    "padding": (0, 4),
    "dilation": (1, 3),
    "output_padding": (0, 2),
    "in_channels": (1, 64),
    "out_channels": (1, 64),
}
_GEOMETRY = ("input_size", "kernel_size", "stride", "padding", "dilation", "output_padding")
# Everything but the highlighted unit (row, col): what a ConvArithmetic and the ranges depend on.
_SETTINGS = (*_GEOMETRY, "transposed", "in_channels", "out_channels", "groups")
# Settings whose ConvArithmetic and ranges the explorer keeps: tens of KB each, up to ~2 MB for the
# largest transposed outputs (48x48 units x 49 taps), so a few sliders' worth of positions.
KEPT_RESULTS = 16
# When a move leaves the geometry invalid (only toggling "transposed" can), these yield first.
_REPAIR_ORDER = ("output_padding", "padding", "dilation", "kernel_size", "stride", "input_size")
_MAX_OUT = (RANGES["input_size"][1] - 1) * RANGES["stride"][1] + RANGES["dilation"][1] * (
    RANGES["kernel_size"][1] - 1) + RANGES["output_padding"][1] + 1


def _fits(v: dict[str, Any]) -> bool:
    """Whether the geometry in ``v`` gives a non-empty output that PyTorch accepts."""
    n, k, s, p, d, op = (v[name] for name in _GEOMETRY)
    if v["transposed"]:
        return op < max(s, d) and (n - 1) * s - 2 * p + d * (k - 1) + op >= 0
    return op == 0 and d * (k - 1) + 1 <= n + 2 * p


def _allowed(name: str, v: dict[str, Any]) -> list[int]:
    low, high = RANGES[name]
    return [x for x in range(low, high + 1) if _fits({**v, name: x})]


def _reason(name: str, transposed: bool) -> str:
    if name == "output_padding":
        return "PyTorch needs output_padding < max(stride, dilation)" if transposed else "only for transposed convs"
    if transposed:
        return "keeps the output (n−1)s − 2p + d(k−1) + op + 1 ≥ 1 and op < max(s, d)"
    return "keeps the dilated kernel d(k−1)+1 inside the padded input n + 2p"


def _divisors(n: int) -> list[int]:
    return [g for g in range(1, n + 1) if n % g == 0]


class ConvArithmeticExplorer(Explorer):
    """Input grid with the taps of one output unit, output grid, formulas and counts.

    ``result`` is the current :class:`~explainer.conv.ConvArithmetic`. Clicking an output unit
    selects it.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self.theme = theme
        self._results = Kept(KEPT_RESULTS)  # ConvArithmetic per setting (see _SETTINGS)
        self._limits = Kept(KEPT_RESULTS)  # the controls' ranges per setting
        first = _compute(values)
        fig = new_figure(8.0, 5.2, theme=theme)
        ax_in = fig.add_axes((0.01, 0.115, 0.48, 0.71))
        ax_out = fig.add_axes((0.51, 0.115, 0.48, 0.71))
        ax_groups = fig.add_axes((0.2, 0.01, 0.6, 0.07))
        for y, label in ((0.063, "input channels"), (0.02, "filters, by group")):
            fig.text(0.19, y, label, ha="right", va="center", fontsize=theme.font_size - 1, color="#555")
        draw_legend(fig, (0.0, 0.88, 1.0, 0.115), theme)  # static: an exported picture explains itself
        unit = (values["row"], values["col"])
        layout = grid_layout(first)
        self.input_view = draw_input_grid(ax_in, first, unit, layout, theme)
        self.output_view = draw_output_grid(ax_out, first, unit, layout, theme)
        painter = Painter(fig)
        self.groups_view = draw_channel_groups(ax_groups, first, theme)
        painter.animate(self.input_view.artists, self.output_view.artists, self.groups_view.artists)
        super().__init__(_controls(values, theme), painter, title="Convolution arithmetic", theme=theme)
        self.enable_clicks()

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        # Every range follows from the settings alone (the unit's from the output size): moving the
        # unit, or coming back to a setting, reuses them.
        settings = tuple(values[name] for name in _SETTINGS)
        return dict(self._limits.fetch(settings, lambda: _setting_limits(values)))

    def render(self, values: dict[str, Any]) -> None:
        # The same result object for the same settings: the views then move only the unit's marks.
        result = self._results.fetch(tuple(values[name] for name in _SETTINGS), lambda: _compute(values))
        unit = (values["row"], values["col"])
        layout = grid_layout(result)
        titles_changed = self.input_view.update(result, unit, layout)
        titles_changed |= self.output_view.update(result, unit, layout)
        if titles_changed:  # static text changed (the views keep captions fixed, so only on the first frame)
            self.painter.invalidate()
        self.controls["output_padding"].disabled = not values["transposed"]
        self.result = result
        self.groups_view.update(result)
        self.info.value = _info_html(result, unit)

    def on_click(self, px: float, py: float) -> None:
        point = self.painter.pixel_to_data(self.output_view.ax, px, py)
        if point is not None:  # anywhere over the output panel: the nearest unit
            unit = self.output_view.nearest_cell(*point)
            self.set(row=unit[0], col=unit[1])


def _setting_limits(values: dict[str, Any]) -> dict[str, Any]:
    """The controls' ranges for ``values`` (see ConvArithmeticExplorer.limits)."""
    v = dict(values)
    for name in _REPAIR_ORDER:  # repair first (e.g. after toggling "transposed"), nearest valid value
        if _fits(v):
            break
        allowed = _allowed(name, v)
        if allowed:
            v[name] = min(allowed, key=lambda x: abs(x - v[name]))
    out: dict[str, Any] = {}
    for name in _GEOMETRY:
        if v[name] != values[name]:  # pin the repaired value for this pass; the next pass widens it
            out[name] = (v[name], v[name], _reason(name, v["transposed"]))
            continue
        allowed = _allowed(name, v)
        narrowed = (allowed[0], allowed[-1]) != RANGES[name]
        out[name] = (allowed[0], allowed[-1], _reason(name, v["transposed"]) if narrowed else None)
    rows, cols = _output_size(v)
    out["row"] = (0, rows - 1, f"the output has {rows} rows")
    out["col"] = (0, cols - 1, f"the output has {cols} columns")
    common = math.gcd(v["in_channels"], v["out_channels"])
    out["groups"] = (_divisors(common), f"divisors of gcd(in, out) = {common}" if common > 1 else None)
    return out


def _compute(v: dict[str, Any]) -> ConvArithmetic:
    return conv_arithmetic(v["input_size"], v["kernel_size"], v["stride"], v["padding"], v["dilation"],
                           v["transposed"], v["output_padding"], v["in_channels"], v["out_channels"], v["groups"])


def _output_size(v: dict[str, Any]) -> tuple[int, int]:
    n, k, s, p, d, op = (v[name] for name in _GEOMETRY)
    size = transposed_output_size(n, k, s, p, op, d) if v["transposed"] else conv_output_size(n, k, s, p, d)
    return size, size


def _controls(v: dict[str, Any], theme: Theme) -> dict[str, Any]:
    def slider(name: str, label: str, tooltip: str, high: int | None = None) -> Any:
        low, top = RANGES.get(name, (0, high))
        return int_slider(label, v[name], low, top if high is None else high, tooltip=tooltip, theme=theme)

    return {
        "input_size": slider("input_size", "input size n", "input height = width"),
        "kernel_size": slider("kernel_size", "kernel k", "kernel height = width"),
        "stride": slider("stride", "stride s", "step between output units (transposed: zeros inserted + 1)"),
        "padding": slider("padding", "padding p", "zeros added on each side"),
        "dilation": slider("dilation", "dilation d", "spacing between kernel taps"),
        "transposed": checkbox("transposed", v["transposed"], theme=theme),
        "output_padding": slider("output_padding", "output padding op", "extra row/column at the bottom/right"),
        "row": slider("row", "output row", "row of the highlighted output unit", _MAX_OUT - 1),
        "col": slider("col", "output col", "column of the highlighted output unit", _MAX_OUT - 1),
        "in_channels": slider("in_channels", "in channels C_in", "input channels"),
        "out_channels": slider("out_channels", "out channels C_out", "output channels (filters)"),
        "groups": selection_slider("groups g", _divisors(math.gcd(v["in_channels"], v["out_channels"])), v["groups"],
                                   tooltip="each filter sees C_in/g channels", theme=theme),
    }


def _info_html(a: ConvArithmetic, unit: tuple[int, int]) -> str:
    (n, _), (k, _), (s, _), (p, _), (d, _), (op, _) = (a.input_size, a.kernel_size, a.stride, a.padding,
                                                       a.dilation, a.output_padding)
    o = a.output_size[0]
    cin, cout, g = a.in_channels, a.out_channels, a.groups
    taps = a.positions[unit[0], unit[1]]  # (K, 2)
    rows = sorted({int(y) for y in taps[:, 0].tolist()})
    cols = sorted({int(x) for x in taps[:, 1].tolist()})
    params = f"(C_in/g·k·k + 1)·C_out = ({cin}/{g}·{k}·{k} + 1)·{cout} = <b>{a.params:,}</b>"
    if a.geometry is None:
        size = (f"o = ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1 = ⌊({n} + 2·{p} − {d}·{k - 1} − 1) / {s}⌋ + 1 = <b>{o}</b>")
        grid = (f"input {n}×{n} → padded n + 2p = {a.padded_size[0]} → output {o}×{o}; "
                f"effective kernel d(k−1)+1 = {a.effective_kernel[0]}")
        reads = f"unit {unit} reads rows s·r − p + d·i = {rows}, columns {cols} (outside 0…{n - 1}: padding)"
        macs = (f"H_out·W_out·C_out·(C_in/g)·k·k = {o}·{o}·{cout}·{cin // g}·{k}·{k} = <b>{a.multiply_adds:,}</b>")
    else:
        geo = a.geometry
        size = (f"o = (n−1)s − 2p + d(k−1) + op + 1 = {n - 1}·{s} − 2·{p} + {d}·{k - 1} + {op} + 1 = <b>{o}</b>")
        grid = (f"input {n}×{n} → zero-inserted (n−1)s + 1 = {geo.inserted_size[0]} → implicit padding "
                f"d(k−1) − p = {geo.pad_before[0]} (+{op} bottom/right) gives {a.padded_size[0]} → stride-1 "
                f"convolution with the flipped kernel (effective size {a.effective_kernel[0]}) → output {o}×{o}")
        real = int(geo.reads_input()[unit[0], unit[1]].sum())
        reads = f"unit {unit} reads {real} real pixel(s) out of {k * k} taps; the rest are zeros"
        dense = conv_flops(cin, cout, k, a.output_size, g)
        macs = (f"H_in·W_in·C_in·(C_out/g)·k·k = {n}·{n}·{cin}·{cout // g}·{k}·{k} = <b>{a.multiply_adds:,}</b> "
                f"(the zero-inserted picture would spend {dense:,})")
    lines = [("output size", size), ("sizes", grid), ("taps", reads), ("parameters", params),
             ("multiply-adds", macs)]
    return "<br>".join(f"<b>{name}</b>: {text}" for name, text in lines)


def conv_arithmetic_explorer(input_size: int = 7, kernel_size: int = 3, stride: int = 1, padding: int = 0,
                             dilation: int = 1, transposed: bool = False, output_padding: int = 0,
                             in_channels: int = 4, out_channels: int = 8, groups: int = 1, row: int = 0,
                             col: int = 0, presentation: bool | None = None) -> ConvArithmeticExplorer:
    """Build (not display) the convolution-arithmetic explorer.

    Args:
        input_size: side of the (square) input, 1 to 10.
        kernel_size: side of the kernel, 1 to 7.
        stride: 1 to 3.
        padding: 0 to 4 (direct) or the padding PyTorch's transposed convolution removes.
        dilation: 1 to 3.
        transposed: start with a transposed convolution.
        output_padding: 0 to 2, transposed only (less than the stride or the dilation).
        in_channels: input channels, 1 to 64, for the parameter count and multiply-adds.
        out_channels: output channels, 1 to 64.
        groups: a common divisor of the channel counts.
        row: row of the highlighted output unit.
        col: column of the highlighted output unit.
        presentation: True for the lecture-hall theme, None for the global setting.

    Raises:
        ValueError: a setting outside the sliders' ranges or one PyTorch would refuse.

    Example:
        >>> ex = conv_arithmetic_explorer(stride=2, padding=1)
        >>> ex.result.output_size  # floor((7 + 2 - 2 - 1) / 2) + 1
        (4, 4)
    """
    values = dict(input_size=input_size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                  output_padding=output_padding, in_channels=in_channels, out_channels=out_channels)
    for name, value in values.items():
        check_int(name, value, *RANGES[name])
    values.update(transposed=transposed, groups=groups, row=row, col=col)
    result = _compute(values)  # raises on settings PyTorch refuses
    for name, size in (("row", result.output_size[0]), ("col", result.output_size[1])):
        check_int(name, values[name], 0, size - 1)
    return ConvArithmeticExplorer(values, get_theme(presentation))



# --------------------------------------------------------------------------- the checkerboard of a transposed conv
CHECKERBOARD_RANGES: dict[str, tuple[int, int]] = {
    "kernel_size": (1, 7),
    "stride": (1, 4),
    "input_size": (2, 6),
    "padding": (0, 3),
}


class CheckerboardExplorer(Explorer):
    """Overlap counts of a transposed convolution as a heatmap with an integer colour bar.

    ``result`` is the current :class:`~explainer.conv.TransposedOverlap`.
    """

    def __init__(self, values: dict[str, Any], theme: Theme) -> None:
        self.theme = theme
        fig = new_figure(6.2, 4.6, theme=theme)
        ax = fig.add_axes((0.03, 0.03, 0.72, 0.86))
        cax = fig.add_axes((0.8, 0.08, 0.035, 0.76))
        fig.text(0.4, 0.985, "nn.ConvTranspose2d, all-ones kernel on an all-ones input", ha="center", va="top",
                 fontsize=theme.font_size)
        fig.text(0.4, 0.925, "dashed: interior, free of border effects", ha="center", va="top",
                 fontsize=theme.font_size - 2, color=theme.accent)
        self._results = Kept(KEPT_RESULTS)
        self.view = draw_overlap(ax, cax, _overlap(values), theme)
        painter = Painter(fig)
        painter.animate(self.view.artists)
        super().__init__(_checkerboard_controls(values, theme), painter, title="Checkerboard of a transposed convolution",
                         theme=theme)

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        n, k, s = values["input_size"], values["kernel_size"], values["stride"]
        top = min(CHECKERBOARD_RANGES["padding"][1], ((n - 1) * s + k - 1) // 2)  # output (n-1)s + k - 2p >= 1
        return {"padding": (0, top, "keeps the output (n−1)s + k − 2p ≥ 1" if top < CHECKERBOARD_RANGES["padding"][1]
                            else None)}

    def render(self, values: dict[str, Any]) -> None:
        key = tuple(values[name] for name in CHECKERBOARD_RANGES)
        result = self._results.fetch(key, lambda: _overlap(values))
        if self.view.update(result):  # the colour bar (static) shows a new range
            self.painter.invalidate()
        self.result = result
        self.info.value = _overlap_html(result)


def _overlap(v: dict[str, Any]) -> TransposedOverlap:
    return transposed_overlap(v["input_size"], v["kernel_size"], v["stride"], v["padding"])


def _checkerboard_controls(v: dict[str, Any], theme: Theme) -> dict[str, Any]:
    def slider(name: str, label: str, tooltip: str) -> Any:
        low, high = CHECKERBOARD_RANGES[name]
        return int_slider(label, v[name], low, high, tooltip=tooltip, theme=theme)

    return {
        "kernel_size": slider("kernel_size", "kernel k", "kernel height = width"),
        "stride": slider("stride", "stride s", "upsampling factor: input pixels land s apart"),
        "input_size": slider("input_size", "input size n", "input height = width"),
        "padding": slider("padding", "padding p", "rows/columns cropped from each side of the output"),
    }


def _overlap_html(r: TransposedOverlap) -> str:
    (n, _), (k, _), (s, _), (p, _) = r.input_size, r.kernel_size, r.stride, r.padding
    o = r.counts.shape[0]
    low, high = k // s, -(-k // s)
    size = f"o = (n−1)s − 2p + k = {n - 1}·{s} − 2·{p} + {k} = <b>{o}</b>"
    axis = (f"along each axis an interior pixel is covered by ⌊k/s⌋ = {low} or ⌈k/s⌉ = {high} of the k×k patches "
            f"(input pixels land s = {s} apart); in 2-D the count is the product of the two")
    if not r.levels:
        verdict = "no interior at this size: every pixel is near the border"
    elif r.even:
        verdict = f"every interior pixel gets <b>{r.levels[0]}</b> taps: k divisible by s, no checkerboard"
    else:
        gap = " (0: pixels no patch reaches, since k < s)" if r.levels[0] == 0 else ""
        verdict = (f"interior counts {', '.join(map(str, r.levels))}{gap}: "
                   f"<b>uneven</b>, k = {k} is not divisible by s = {s}: a checkerboard")
    lines = [("output size", size), ("overlap", axis), ("here", verdict)]
    return "<br>".join(f"<b>{name}</b>: {text}" for name, text in lines)


def checkerboard_explorer(kernel_size: int = 3, stride: int = 2, input_size: int = 4, padding: int = 0,
                          presentation: bool | None = None) -> CheckerboardExplorer:
    """Build (not display) the checkerboard explorer: overlap counts of a transposed convolution.

    Args:
        kernel_size: side of the kernel ``k``, 1 to 7.
        stride: stride ``s`` (the upsampling factor), 1 to 4.
        input_size: side of the input ``n``, 2 to 6.
        padding: ``p``, 0 to 3, rows and columns PyTorch crops from each side of the output.
        presentation: True for the lecture-hall theme, None for the global setting.

    Raises:
        TypeError: a non-integer setting.
        ValueError: a setting outside its range, or a padding that leaves no output.

    Example:
        >>> ex = checkerboard_explorer(kernel_size=3, stride=2)
        >>> ex.result.levels  # interior counts 1, 2 and 4: a checkerboard
        (1, 2, 4)
    """
    values = dict(kernel_size=kernel_size, stride=stride, input_size=input_size, padding=padding)
    for name, value in values.items():
        check_int(name, value, *CHECKERBOARD_RANGES[name])
    transposed_overlap(input_size, kernel_size, stride, padding)  # raises on a padding that leaves no output
    return CheckerboardExplorer(values, get_theme(presentation))
