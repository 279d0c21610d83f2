"""Views for the receptive-field lesson: boxes, masks and ERF heatmaps over a photo, growth plots, tables.

Every ``draw_*`` function takes a matplotlib ``Axes`` (and a compute result) and returns the artists it
created; the matching ``update_*`` function changes those artists in place (``set_data``,
``set_bounds``, ``set_text``), so an explorer can mark them animated and blit them on every move.
Axes limits are fixed when drawn, so updates never need a background redraw. Colours, font sizes,
line widths and the colormap come from the ``theme`` argument (the global theme when None), and
the artists remember what their updates need (the heatmap's colormap), so a presentation-mode
explorer keeps its look whatever the global setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.colors import PowerNorm, to_rgb
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from explainer.receptive_fields import LayerRF, StackVsSingle, UnitField
from explainer.theme import Theme, get_theme
from explainer.views._common import image_array, pixel_axes

__all__ = [
    "FieldArtists",
    "GrowthArtists",
    "BarArtists",
    "WINDOW_KINDS",
    "growth_points",
    "format_layer_table",
    "draw_photo",
    "draw_box",
    "update_box",
    "draw_mask",
    "update_mask",
    "draw_erf",
    "update_erf",
    "draw_erf_colorbar",
    "draw_unit_field",
    "update_unit_field",
    "draw_growth",
    "update_growth",
    "draw_published",
    "draw_network_legend",
    "draw_stack_comparison",
    "update_stack_comparison",
]

WINDOW_KINDS = ("Conv2d", "MaxPool2d", "AvgPool2d")
# Animated artists are blitted above everything static; drawing them above the spines (zorder 2.5)
# in a full draw too keeps exported frames (savefig) identical to the live picture.
_ABOVE_SPINES = 2.6


@dataclass
class FieldArtists:
    """Artists of one unit's field over a photo (two panels: measured mask, effective field)."""

    photo: AxesImage
    mask: AxesImage
    box: Rectangle
    unit: Line2D
    erf_photo: AxesImage
    erf: AxesImage
    erf_box: Rectangle
    cmap: str | None = None  # the heatmap's colormap (None: the global theme's at each update)

    @property
    def animated(self) -> list:
        """The artists that change when the unit or the stack changes."""
        return [self.mask, self.box, self.unit, self.erf, self.erf_box]


@dataclass
class GrowthArtists:
    """Field size and jump per layer: two lines and the final value's label."""

    size: Line2D
    jump: Line2D
    label: Text

    @property
    def animated(self) -> list:
        return [self.size, self.jump, self.label]


@dataclass
class BarArtists:
    """Weight counts of a stack of small kernels against one big kernel."""

    bars: list[Rectangle]
    texts: list[Text]
    pyramid: AxesImage | None
    relative: bool = False
    theme: Theme | None = None

    @property
    def animated(self) -> list:
        return [*self.bars, *self.texts] + ([self.pyramid] if self.pyramid is not None else [])


# --------------------------------------------------------------------------- helpers
def growth_points(layers: Sequence[LayerRF]) -> tuple[list[float], list[int], list[int]]:
    """x positions, field sizes and jumps for a growth plot (input at x = 0).

    Convolutions count 1, 2, 3, ...; a pool or merge sits half a step after the layer before it,
    so a plot's x axis reads "number of convolutions" whatever the pooling. Elementwise layers are
    skipped, and so are side branches (a ResNet shortcut's 1x1 conv, whose field is smaller than
    the main path's so far): the plot follows the largest field.

    Example:
        >>> from torch import nn
        >>> from explainer.receptive_fields import receptive_field
        >>> growth_points(receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2))))
        ([0.0, 1.0, 1.5], [1, 3, 4], [1, 1, 2])
    """
    xs, sizes, jumps = [0.0], [1], [1]
    convs = 0
    for layer in layers:
        convs += layer.kind == "Conv2d"
        changed = (layer.size[0], layer.jump[0]) != (sizes[-1], jumps[-1])
        if layer.size[0] < sizes[-1] or not (changed or layer.kind in WINDOW_KINDS):
            continue
        xs.append(float(convs) + (0.0 if layer.kind == "Conv2d" else 0.5))
        sizes.append(layer.size[0])
        jumps.append(layer.jump[0])
    return xs, sizes, jumps


def format_layer_table(layers: Sequence[LayerRF], *, windows_only: bool = True, max_rows: int = 40) -> str:
    """A fixed-width text table: layer, kind, field r, jump j, start, output size.

    Args:
        windows_only: list only convolutions and pools (elementwise layers repeat the row above).
        max_rows: longer tables keep their first rows and the last one.

    Example:
        >>> from torch import nn
        >>> from explainer.receptive_fields import receptive_field
        >>> print(format_layer_table(receptive_field(nn.Conv2d(1, 1, 3, stride=2), 9)))
        layer    kind      r    j  start   out
        <model>  Conv2d  3x3  2x2  (1, 1)  4x4
    """
    rows = [layer for layer in layers if not windows_only or layer.kind in WINDOW_KINDS] or list(layers)
    if len(rows) > max_rows:
        rows = rows[: max_rows - 1] + rows[-1:]
    cells = [("layer", "kind", "r", "j", "start", "out")]
    for layer in rows:
        cells.append((
            "<model>" if layer.name == layer.kind else layer.name, layer.kind, _pair(layer.size),
            _pair(layer.jump), f"({_num(layer.start[0])}, {_num(layer.start[1])})",
            "" if layer.output_size is None else _pair(layer.output_size)))
    widths = [max(len(row[i]) for row in cells) for i in range(6)]
    align = ("<", "<", ">", ">", "<", ">")
    return "\n".join("  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths)).rstrip()
                     for row in cells)


def _pair(value: Sequence[int]) -> str:
    return f"{value[0]}x{value[1]}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


# --------------------------------------------------------------------------- photo, box, mask, erf
def draw_photo(ax: Axes, image: torch.Tensor, *, dim: float = 0.0) -> AxesImage:
    """Show a (C, H, W) image in [0, 1] with pixel centres at integer coordinates; fixes the limits.

    Args:
        dim: 0 shows the photo as is; up to 1 fades it to a light grey (a backdrop for heatmaps).
    """
    array = image_array(image)
    if dim:
        array = (1 - dim) * array.mean(axis=2, keepdims=True).repeat(3, axis=2) + dim * 0.92
    height, width = array.shape[:2]
    artist = ax.imshow(array, extent=(-0.5, width - 0.5, height - 0.5, -0.5), interpolation="nearest")
    pixel_axes(ax, height, width)
    return artist


def draw_box(ax: Axes, box: Sequence[int], *, color: str | None = None, linewidth: float = 2.0,
             theme: Theme | None = None) -> Rectangle:
    """An inclusive ``(y0, x0, y1, x1)`` pixel box as an outline (clipped by the axes if it leaves them).

    ``linewidth`` is scaled by ``theme.line_scale``; ``color`` defaults to ``theme.accent``.
    """
    theme = theme or get_theme()
    rect = Rectangle((0, 0), 1, 1, fill=False, edgecolor=color or theme.accent, linewidth=linewidth * theme.line_scale)
    ax.add_patch(rect)
    update_box(rect, box)
    return rect


def update_box(rect: Rectangle, box: Sequence[int]) -> None:
    """Move a box drawn by :func:`draw_box`."""
    y0, x0, y1, x1 = box
    rect.set_bounds(x0 - 0.5, y0 - 0.5, x1 - x0 + 1, y1 - y0 + 1)


def _mask_rgba(mask: torch.Tensor, shade: float) -> np.ndarray:
    inside = mask.detach().cpu().numpy().astype(bool)
    rgba = np.zeros(inside.shape + (4,), dtype=np.float32)  # (H, W, 4)
    rgba[..., 3] = np.where(inside, 0.0, shade)
    return rgba


def draw_mask(ax: Axes, mask: torch.Tensor, *, shade: float = 0.7) -> AxesImage:
    """Darken every pixel outside a (H, W) bool mask, spotlighting the pixels inside it."""
    height, width = mask.shape
    return ax.imshow(_mask_rgba(mask, shade), extent=(-0.5, width - 0.5, height - 0.5, -0.5),
                     interpolation="nearest")


def update_mask(artist: AxesImage, mask: torch.Tensor, *, shade: float = 0.7) -> None:
    """Show a new mask in an artist drawn by :func:`draw_mask`."""
    artist.set_data(_mask_rgba(mask, shade))


def _erf_rgba(erf: torch.Tensor, cmap: str) -> np.ndarray:
    values = erf.detach().double().cpu().numpy()
    peak = values.max()
    level = np.sqrt(values / peak) if peak > 0 else values  # sqrt: the Gaussian's tails stay visible
    rgba = colormaps[cmap](level).astype(np.float32)  # (H, W, 4)
    rgba[..., 3] = np.where(values > 0, 0.3 + 0.7 * level, 0.0)
    return rgba


def draw_erf(ax: Axes, erf: torch.Tensor, *, cmap: str | None = None, theme: Theme | None = None) -> AxesImage:
    """A (H, W) effective field as a heatmap; zero pixels are transparent (square-root colour scale).

    ``cmap`` defaults to ``theme.cmap``.
    """
    height, width = erf.shape
    return ax.imshow(_erf_rgba(erf, cmap or (theme or get_theme()).cmap),
                     extent=(-0.5, width - 0.5, height - 0.5, -0.5), interpolation="nearest")


def update_erf(artist: AxesImage, erf: torch.Tensor, *, cmap: str | None = None) -> None:
    """Show a new effective field in an artist drawn by :func:`draw_erf`."""
    artist.set_data(_erf_rgba(erf, cmap or get_theme().cmap))


def draw_erf_colorbar(ax_erf: Axes, cax: Axes, *, cmap: str | None = None, theme: Theme | None = None) -> Colorbar:
    """The effective field's colour scale, drawn once: |dy/dx| relative to its peak, square-root spaced.

    The heatmap is normalised to its own peak on every move, so this scale never changes and can
    live in the painter's static background.
    """
    theme = theme or get_theme()
    mappable = ScalarMappable(norm=PowerNorm(0.5, vmin=0.0, vmax=1.0), cmap=cmap or theme.cmap)
    bar = ax_erf.figure.colorbar(mappable, cax=cax, ticks=[0, 0.1, 0.25, 0.5, 1])
    bar.ax.tick_params(labelsize=theme.font_size - 1, length=2)
    bar.set_label("|dy/dx| / peak", fontsize=theme.font_size - 1, labelpad=2)
    return bar


def draw_unit_field(ax_mask: Axes, ax_erf: Axes, image: torch.Tensor, field: UnitField,
                    theme: Theme | None = None) -> FieldArtists:
    """Left: the photo, darkened outside the measured field, with the analytic box and the unit's centre.
    Right: the effective field over a faded photo, with the same box."""
    theme = theme or get_theme()
    photo = draw_photo(ax_mask, image)
    mask = draw_mask(ax_mask, field.mask)
    box = draw_box(ax_mask, field.box, theme=theme)
    cy, cx = field.layers[-1].centre(field.position)
    (unit,) = ax_mask.plot([cx], [cy], marker="+", markersize=12 * theme.line_scale,
                           markeredgewidth=2 * theme.line_scale, color=theme.accent)
    erf_photo = draw_photo(ax_erf, image, dim=0.6)
    erf = draw_erf(ax_erf, field.erf, theme=theme)
    erf_box = draw_box(ax_erf, field.box, color=theme.accent2, theme=theme)
    return FieldArtists(photo, mask, box, unit, erf_photo, erf, erf_box, cmap=theme.cmap)


def update_unit_field(artists: FieldArtists, field: UnitField) -> None:
    """Show another unit (or another stack's unit) in artists drawn by :func:`draw_unit_field`."""
    update_mask(artists.mask, field.mask)
    update_box(artists.box, field.box)
    update_box(artists.erf_box, field.box)
    cy, cx = field.layers[-1].centre(field.position)
    artists.unit.set_data([cx], [cy])
    update_erf(artists.erf, field.erf, cmap=artists.cmap)


# --------------------------------------------------------------------------- growth, table, references
def draw_growth(ax: Axes, layers: Sequence[LayerRF], *, input_size: int | None = None,
                x_max: float | None = None, y_max: float = 4096.0, color: str | None = None,
                show_jump: bool = True, log: bool = True, theme: Theme | None = None) -> GrowthArtists:
    """Field size r (and jump j) after each convolution/pool, on fixed axes.

    Args:
        layers: records of :func:`~explainer.receptive_fields.receptive_field`.
        input_size: draws a dashed line at the image size (static).
        x_max, y_max: fixed axis limits (x defaults to the number of convolutions).
        log: base-2 log y axis (stride makes growth exponential, i.e. a straight line there).
    """
    theme = theme or get_theme()
    xs, sizes, jumps = growth_points(layers)
    color = color or theme.accent
    lw = theme.line_scale
    (size_line,) = ax.plot(xs, sizes, marker="o", markersize=4 * lw, linewidth=1.5 * lw, color=color,
                           label="field r", zorder=_ABOVE_SPINES)
    (jump_line,) = ax.plot(xs, jumps, marker="s", markersize=3 * lw, linewidth=1.5 * lw, linestyle="--",
                           color=theme.accent2, label="jump j", visible=show_jump, zorder=_ABOVE_SPINES)
    label = ax.text(xs[-1], sizes[-1], f" r={sizes[-1]}", color=color, va="bottom", fontsize=theme.font_size)
    if input_size is not None:
        ax.axhline(input_size, color=theme.grid_color, linestyle=":", linewidth=lw)
        ax.text(0.1, input_size, f"image {input_size}", color=theme.grid_color, va="bottom",
                fontsize=theme.font_size - 1)
    if log:
        ax.set_yscale("log", base=2)
    ax.set_ylim(1 if log else 0, y_max)
    ax.set_xlim(-0.3, (x_max if x_max is not None else max(xs)) + 0.8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # layers are counted: no 2.5
    ax.set_xlabel("convolutions so far (pools at +0.5)", fontsize=theme.font_size)
    ax.set_ylabel("input pixels", fontsize=theme.font_size)
    ax.grid(True, color=theme.grid_color, alpha=0.3, linewidth=0.5 * lw)
    ax.tick_params(labelsize=theme.font_size - 1)
    return GrowthArtists(size_line, jump_line, label)


def update_growth(artists: GrowthArtists, layers: Sequence[LayerRF]) -> None:
    """Show another stack's growth in artists drawn by :func:`draw_growth`."""
    xs, sizes, jumps = growth_points(layers)
    artists.size.set_data(xs, sizes)
    artists.jump.set_data(xs, jumps)
    artists.label.set_position((xs[-1], sizes[-1]))
    artists.label.set_text(f" r={sizes[-1]}")


def draw_published(ax: Axes, x: float, size: int, label: str, *, color: str | None = None,
                   theme: Theme | None = None) -> tuple[Line2D, Text]:
    """A star at (x, size) with a caption, marking a published receptive-field value."""
    theme = theme or get_theme()
    color = color or theme.accent3
    (star,) = ax.plot([x], [size], marker="*", markersize=14 * theme.line_scale, color=color, linestyle="none",
                      zorder=_ABOVE_SPINES)
    text = ax.text(x, size, f"{label}  ", color=color, ha="right", va="bottom", fontsize=theme.font_size)
    return star, text


def draw_network_legend(ax: Axes, lines: Sequence[tuple[str, ...]], *, jump_color: str | None = None,
                        star_color: str | None = None, loc: str = "upper left",
                        theme: Theme | None = None) -> Legend:
    """A legend inside ``ax`` naming each network's curve, drawn once (static).

    Args:
        lines: ``(label, colour)`` or ``(label, colour, linestyle)`` for each network's field curve
            (a curve with a linestyle other than "-" is shown without markers).
        jump_color: adds an entry for the selected network's (dashed) jump line in this colour.
        star_color: adds an entry for the published-value stars in this colour.
    """
    theme = theme or get_theme()
    lw = theme.line_scale
    handles = []
    for label, color, *style in lines:  # a styled (dotted, dashed) curve is drawn without markers
        linestyle = style[0] if style else "-"
        handles.append(Line2D([], [], color=color, linestyle=linestyle, marker="o" if linestyle == "-" else "",
                              markersize=3 * lw, linewidth=1.5 * lw, label=label))
    if jump_color is not None:
        handles.append(Line2D([], [], color=jump_color, marker="s", markersize=3 * lw, linewidth=1.5 * lw,
                              linestyle="--", label="jump j (selected network)"))
    if star_color is not None:
        handles.append(Line2D([], [], color=star_color, marker="*", markersize=10 * lw, linestyle="none",
                              label="published (or hand-summed) field"))
    return ax.legend(handles=handles, loc=loc, fontsize=theme.font_size - 1, frameon=True, framealpha=0.9)


# --------------------------------------------------------------------------- VGG comparison
def _pyramid(comparison: StackVsSingle, rows: int, cols: int, theme: Theme | None = None) -> np.ndarray:
    """Rows of a 1-D field diagram: one unit on top, the pixels it depends on below, per layer."""
    theme = theme or get_theme()
    rgba = np.ones((rows, cols, 4), dtype=np.float32)
    rgba[..., :3] = 0.95
    centre = cols // 2
    stack_rgb, single_rgb = to_rgb(theme.accent), to_rgb(theme.accent2)
    for level in range(min(comparison.depth + 1, rows - 3)):  # top rows: the stack, layer by layer
        half = level * (comparison.kernel_size - 1) // 2
        rgba[level, max(centre - half, 0): centre + half + 1, :3] = stack_rgb
    half = (comparison.single_kernel_size - 1) // 2  # bottom two rows: the one big kernel
    rgba[rows - 2, centre, :3] = single_rgb
    rgba[rows - 1, max(centre - half, 0): centre + half + 1, :3] = single_rgb
    return rgba


def draw_stack_comparison(ax_bars: Axes, comparison: StackVsSingle, *, ax_diagram: Axes | None = None,
                          relative: bool = False, y_max: float | None = None, max_rows: int = 9,
                          max_cols: int = 31, theme: Theme | None = None) -> BarArtists:
    """Bars of weights for the stack and the single kernel with the same field.

    Args:
        relative: bar heights as a fraction of the single kernel's weights (fixed axes whatever
            the sizes) instead of in units of C^2.
        ax_diagram: also draw a field diagram there: the stack's field widening layer by layer
            (top rows) and the single kernel reaching the same width in one step (bottom two rows).
        y_max: fixed upper y limit (1.45 when relative, else 1.3 x the larger bar).
    """
    theme = theme or get_theme()
    bars = list(ax_bars.bar([0, 1], [1.0, 1.0], color=[theme.accent, theme.accent2], width=0.6, zorder=_ABOVE_SPINES))
    texts = [ax_bars.text(i, 0, "", ha="center", va="bottom", fontsize=theme.font_size) for i in range(2)]
    ax_bars.set_xticks([0, 1], ["stack", "single"])
    ax_bars.set_xlim(-0.6, 1.6)
    top = max(comparison.stack_weights, comparison.single_weights) / comparison.channels**2
    ax_bars.set_ylim(0, y_max or (1.45 if relative else 1.3 * top))
    ax_bars.set_ylabel("weights / single kernel" if relative else "weights / C$^2$", fontsize=theme.font_size)
    ax_bars.tick_params(labelsize=theme.font_size - 1)
    pyramid = None
    if ax_diagram is not None:
        pyramid = ax_diagram.imshow(_pyramid(comparison, max_rows, max_cols, theme), interpolation="nearest",
                                    aspect="auto", extent=(-0.5, max_cols - 0.5, max_rows - 0.5, -0.5))
        ax_diagram.set_xticks([])
        ax_diagram.set_yticks([])
        # The diagram is animated: a frame under it would show in a full draw (export) but not in a blit.
        ax_diagram.spines[:].set_visible(False)
        # Left-aligned: the caption is wider than a half-width diagram and may run on to the right.
        ax_diagram.set_title("what one unit sees: stack (top), one kernel (bottom)", fontsize=theme.font_size - 1,
                             loc="left")
    artists = BarArtists(bars, texts, pyramid, relative, theme)
    update_stack_comparison(artists, comparison)
    return artists


def update_stack_comparison(artists: BarArtists, comparison: StackVsSingle) -> None:
    """Show another comparison in artists drawn by :func:`draw_stack_comparison`."""
    c2 = comparison.channels**2
    scale = comparison.single_weights if artists.relative else c2
    values = (comparison.stack_weights, comparison.single_weights)
    names = (f"{comparison.depth} x {comparison.kernel_size}x{comparison.kernel_size}",
             f"1 x {comparison.single_kernel_size}x{comparison.single_kernel_size}")
    fields = (comparison.stack_field, comparison.single_field)
    for bar, text, value, name, field in zip(artists.bars, artists.texts, values, names, fields):
        bar.set_height(value / scale)
        text.set_position((bar.get_x() + bar.get_width() / 2, value / scale))
        text.set_text(f"{name}\n{value // c2} C$^2$ = {value:,}\nfield {field}")
    if artists.pyramid is not None:
        rows, cols = artists.pyramid.get_array().shape[:2]
        artists.pyramid.set_data(_pyramid(comparison, rows, cols, artists.theme))
