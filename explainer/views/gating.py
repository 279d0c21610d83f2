"""Views for gate attention: bar charts of gates, heat maps of feature maps and spatial gates, the ECA band.

Every panel is drawn for blitting: axes get fixed limits and no ticks once, and a move only changes
artists (a ``PolyCollection`` of bars, an image's data, a short text). Images are placed on the
unit square with a fixed extent, so maps of any size reuse the same artist. Colour bars are drawn
once, from their own fixed scale (:func:`draw_colorbar`), never tied to a moving image. The bar
panels' channel indices change with the number of bars, so they are artists too (texts and tick
marks under the axis), not axis ticks: the kept background never needs a redraw.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Normalize, to_rgba
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D

from explainer.theme import Theme, get_theme
from explainer.views._common import fixed_axes, label_outline

__all__ = [
    "index_ticks",
    "index_outlines",
    "BarsView",
    "draw_bars",
    "draw_colorbar",
    "MapView",
    "draw_map",
    "OverlayView",
    "draw_overlay",
    "band_matrix",
    "BandView",
    "draw_band",
    "CostView",
    "draw_costs",
    "CLASS_COLOURS",
    "ProfilesView",
    "draw_profiles",
]


def _label(ax: Axes, theme: Theme, x: float = 0.0, y: float = 1.02, ha: str = "left") -> Text:
    return ax.text(x, y, "", transform=ax.transAxes, ha=ha, va="bottom", fontsize=theme.font_size - 1)


def index_ticks(count: int, bins: int = 8) -> list[int]:
    """Integer positions to label among ``count`` items indexed ``0 .. count - 1`` (at most ``bins + 1``).

    Example:
        >>> index_ticks(16), index_ticks(64), index_ticks(1)
        ([0, 2, 4, 6, 8, 10, 12, 14], [0, 8, 16, 24, 32, 40, 48, 56], [0])
    """
    if count <= 1:
        return [0]
    values = MaxNLocator(nbins=bins, integer=True).tick_values(0, count - 1)
    return [int(v) for v in values if 0 <= v <= count - 1]


def _glyphs(label: str, size: float) -> Path:
    """``label``'s outline in points, centred on x = 0 with the top of its digits (about) at y = 0."""
    return label_outline(label, size).transformed(Affine2D().translate(0, -0.365 * size))  # 0.73 size: digit height


@functools.lru_cache(maxsize=64)
def index_outlines(labels: tuple[str, ...], centres: tuple[float, ...], size: float, width: float, height: float,
                   gap: float = 4.0, mark: float = 3.0) -> Path:
    """One path with a tick mark (``mark`` points long) and a label's outline under each of ``centres``
    (fractions of the axes width), the labels ``gap`` points under the axis, in the axes coordinates of
    an axes ``width`` x ``height`` points large.

    One path is one draw; nine texts are nine layouts (text layout dominates an update's cost).

    Example:
        >>> path = index_outlines(("0", "8"), (0.25, 0.75), size=10, width=100, height=50)
        >>> box = path.get_extents()
        >>> bool(0.2 < box.x0 < 0.3 < 0.7 < box.x1 < 0.8 and box.y1 == 0)  # the marks start at the axis
        True
    """
    to_axes = Affine2D().scale(1 / width, 1 / height)
    parts = []
    for label, centre in zip(labels, centres):
        x = centre * width
        parts.append(Path([(x - 0.4, 0), (x + 0.4, 0), (x + 0.4, -mark), (x - 0.4, -mark), (x - 0.4, 0)],
                          closed=True).transformed(to_axes))
        parts.append(_glyphs(label, size).transformed(Affine2D().translate(x, -gap) + to_axes))
    return Path.make_compound_path(*parts) if parts else Path(np.zeros((1, 2)))


@dataclass
class BarsView:
    """``n`` bars spread over the unit width (one PolyCollection), a highlighted bar, a short label, and
    the bars' integer indices under the axis (one path of tick marks and label outlines that follows ``n``)."""

    ax: Axes
    theme: Theme
    bars: PolyCollection
    label: Text
    ymax: float
    index_labels: PathPatch
    count: int = -1
    indices: tuple[int, ...] = ()

    @property
    def artists(self) -> list:
        return [self.bars, self.label, self.index_labels]

    def update(self, values: np.ndarray, highlight: int | None = None, text: str = "") -> None:
        """Draw ``values`` (1D, clipped to the axis range) with bar ``highlight`` in the accent colour."""
        values = np.clip(np.asarray(values, dtype=float), 0, self.ymax)
        self.label.set_text(text)
        n = len(values)
        width = 1.0 / max(n, 1)
        x0 = np.arange(n) * width + 0.1 * width
        x1 = x0 + 0.8 * width
        verts = np.stack([np.stack([x0, np.zeros(n)], -1), np.stack([x1, np.zeros(n)], -1),
                          np.stack([x1, values], -1), np.stack([x0, values], -1)], 1)  # (n, 4, 2)
        self.bars.set_verts(verts)
        colors = np.tile(to_rgba(self.theme.accent2), (n, 1))
        if highlight is not None and 0 <= highlight < n:
            colors[highlight] = to_rgba(self.theme.accent)
        self.bars.set_facecolor(colors)
        if n != self.count:
            self._place_indices(n)

    def _place_indices(self, n: int) -> None:
        """Label the bars' indices (centred under their bars) for ``n`` bars."""
        self.count = n
        self.indices = tuple(index_ticks(n))
        box, fig = self.ax.get_position(), self.ax.figure
        width, height = 72 * box.width * fig.get_figwidth(), 72 * box.height * fig.get_figheight()  # points
        self.index_labels.set_path(index_outlines(tuple(str(i) for i in self.indices),
                                                  tuple((i + 0.5) / max(n, 1) for i in self.indices),
                                                  self.theme.font_size - 3, width, height))


def draw_bars(ax: Axes, title: str, ymax: float = 1.0, theme: Theme | None = None, *, xlabel: str = "channel",
              ylabel: str = "", reference: float | None = None) -> BarsView:
    """A bar panel with y from 0 to ``ymax``, title above, the bars' indices and ``xlabel`` below.

    Args:
        ax: the axes to draw in.
        title: the panel's title (left-aligned).
        ymax: top of the y axis (ticks at 0 and ``ymax``, and at ``reference``).
        theme: sizes and colours; the global theme when None.
        xlabel: what the bars' integer indices count (``"channel"``, ``"unit"``).
        ylabel: what the bar heights measure.
        reference: a dashed horizontal line at this height (e.g. 0.5, a sigmoid gate at input 0).

    Example:
        >>> from matplotlib.figure import Figure
        >>> view = draw_bars(Figure().add_subplot(), "channel gates")
        >>> view.update(np.array([0.2, 0.9]), highlight=1)
        >>> len(view.bars.get_paths()), view.indices
        (2, (0, 1))
    """
    theme = theme or get_theme()
    fixed_axes(ax, (0, 1), (0, ymax))
    ax.set_yticks(sorted({0, ymax} | ({reference} if reference is not None else set())))
    ax.tick_params(labelsize=theme.font_size - 3, length=2, pad=1)
    ax.set_title(title, fontsize=theme.font_size - 1, pad=2, loc="left")
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=theme.font_size - 3, labelpad=1)
    small = theme.font_size - 3
    if xlabel:
        # Below the index labels, which are artists (they follow the number of bars): 4 pt, then a line.
        ax.set_xlabel(xlabel, fontsize=small, labelpad=4 + 1.2 * small)
    if reference is not None:
        ax.axhline(reference, color=theme.grid_color, lw=0.8 * theme.line_scale, ls="--")
    bars = PolyCollection([], facecolors=theme.accent2, edgecolors="none")
    ax.add_collection(bars, autolim=False)
    label = _label(ax, theme, x=1.0, ha="right")
    index_labels = PathPatch(Path(np.zeros((1, 2))), facecolor="black", edgecolor="none", transform=ax.transAxes,
                             clip_on=False)
    ax.add_patch(index_labels)
    return BarsView(ax, theme, bars, label, ymax, index_labels)


def draw_colorbar(cax: Axes, label: str, cmap: str | None = None, vmin: float = 0.0, vmax: float = 1.0,
                  ticks: list[float] | None = None, tick_labels: list[str] | None = None,
                  theme: Theme | None = None) -> Colorbar:
    """A vertical colour bar in ``cax`` for the scale ``vmin .. vmax`` of ``cmap`` (the theme's when None).

    The bar reads its own fixed :class:`~matplotlib.cm.ScalarMappable`, not a moving image, so it is
    drawn once into the kept background and never needs a redraw. ``tick_labels`` name the ticks
    (e.g. ``["min", "max"]`` for a map coloured from its own minimum to its maximum).

    Example:
        >>> from matplotlib.figure import Figure
        >>> bar = draw_colorbar(Figure().add_axes((0.9, 0.1, 0.03, 0.8)), "gate", ticks=[0, 0.5, 1])
        >>> [float(t) for t in bar.get_ticks()]
        [0.0, 0.5, 1.0]
    """
    theme = theme or get_theme()
    colorbar = Colorbar(cax, ScalarMappable(Normalize(vmin, vmax), cmap or theme.cmap), orientation="vertical")
    cax.tick_params(labelsize=theme.font_size - 3, length=2, pad=1)
    colorbar.set_label(label, fontsize=theme.font_size - 3, labelpad=2)
    colorbar.set_ticks(ticks if ticks is not None else [vmin, vmax], labels=tick_labels)
    return colorbar


@dataclass
class MapView:
    """A heat map on the unit square (any size, fixed extent) with a short label."""

    ax: Axes
    image: AxesImage
    label: Text

    @property
    def artists(self) -> list:
        return [self.image, self.label]

    def update(self, values: np.ndarray, text: str = "", vmin: float | None = None, vmax: float | None = None) -> None:
        """Show the 2D (or RGB) array ``values``; colour limits stay unless given."""
        self.image.set_data(values)
        if vmin is not None or vmax is not None:
            self.image.set_clim(vmin, vmax)
        self.label.set_text(text)


def draw_map(ax: Axes, title: str, cmap: str | None = None, vmin: float = 0.0, vmax: float = 1.0,
             theme: Theme | None = None) -> MapView:
    """A heat-map panel (or an RGB picture when ``cmap`` is None and the data has 3 channels)."""
    theme = theme or get_theme()
    fixed_axes(ax, (0, 1), (1, 0), equal=True)
    ax.set_title(title, fontsize=theme.font_size - 1, pad=2)
    image = ax.imshow(np.zeros((2, 2)), extent=(0, 1, 1, 0), cmap=cmap or theme.cmap, vmin=vmin, vmax=vmax,
                      interpolation="nearest")
    label = ax.text(0.5, -0.02, "", transform=ax.transAxes, ha="center", va="top", fontsize=theme.font_size - 1)
    return MapView(ax, image, label)


@dataclass
class OverlayView:
    """An RGB picture with a semi-transparent gate map and the target's box on top."""

    ax: Axes
    picture: AxesImage
    overlay: AxesImage
    box: Rectangle
    label: Text

    @property
    def artists(self) -> list:
        return [self.picture, self.overlay, self.box, self.label]

    def update(self, rgb: np.ndarray, gate: np.ndarray, box: tuple[float, float, float, float] | None,
               text: str = "", show_gate: bool = True, vmin: float = 0.0, vmax: float = 1.0) -> None:
        """``rgb (H, W, 3)`` in [0, 1], ``gate (h, w)`` coloured from ``vmin`` to ``vmax`` (stretched over the
        picture), box in pixels."""
        self.picture.set_data(rgb)
        self.overlay.set_data(gate)  # cell for cell, as the network computed it
        self.overlay.set_clim(vmin, vmax)
        self.overlay.set_visible(show_gate)
        h, w = rgb.shape[:2]
        if box is None:
            self.box.set_visible(False)
        else:
            x0, y0, x1, y1 = box
            self.box.set_visible(True)
            self.box.set_bounds(x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h)
        self.label.set_text(text)


def draw_overlay(ax: Axes, title: str, theme: Theme | None = None) -> OverlayView:
    """A picture panel with a gate overlay (the theme's colormap, alpha 0.6)."""
    theme = theme or get_theme()
    view = draw_map(ax, title, theme=theme)
    overlay = ax.imshow(np.zeros((2, 2)), extent=(0, 1, 1, 0), cmap=theme.cmap, vmin=0, vmax=1, alpha=0.6,
                        interpolation="nearest")
    box = Rectangle((0, 0), 0.1, 0.1, fill=False, edgecolor=theme.accent, linewidth=1.5 * theme.line_scale)
    ax.add_patch(box)
    return OverlayView(ax, view.image, overlay, box, view.label)


def band_matrix(channels: int, kernel_size: int) -> np.ndarray:
    """``(C, C)`` 0/1 array: row ``i`` marks the pooled channels gate ``i`` reads (``|i - j| <= k // 2``).

    Example:
        >>> band_matrix(4, 3).astype(int).tolist()
        [[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]]
    """
    i = np.arange(channels)
    return (np.abs(i[:, None] - i[None, :]) <= kernel_size // 2).astype(float)


@dataclass
class BandView:
    """ECA's 1D convolution as a band: which pooled channels (columns) each gate (row) reads."""

    ax: Axes
    image: AxesImage
    label: Text
    window: int

    @property
    def artists(self) -> list:
        return [self.image, self.label]

    def update(self, channels: int, kernel_size: int, window: int | None = None, text: str = "") -> None:
        """Show the first ``min(channels, window)`` gates x channels of the band (``window``: the drawn one)."""
        shown = min(channels, window or self.window, self.window)
        # The top-left block of the C x C band is the band of that size: never build C x C (4096^2 floats).
        self.image.set_data(band_matrix(shown, kernel_size))
        extent = (-0.5, shown - 0.5, shown - 0.5, -0.5)  # one cell per channel, in index units
        if tuple(self.image.get_extent()) != extent:
            self.image.set_extent(extent)
        self.label.set_text(text)


def draw_band(ax: Axes, title: str, window: int = 24, theme: Theme | None = None) -> BandView:
    """The band panel: rows are gates, columns pooled channels (integer indices), lit where the kernel
    reaches, for the first ``window`` channels; a legend under it says what a lit cell means."""
    theme = theme or get_theme()
    fixed_axes(ax, (-0.5, window - 0.5), (window - 0.5, -0.5), equal=True)
    ax.set_title(title, fontsize=theme.font_size - 1, pad=2)
    ticks = MaxNLocator(nbins=5, integer=True)
    ax.xaxis.set_major_locator(ticks)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.tick_params(labelsize=theme.font_size - 3, length=2, pad=1)
    ax.set_ylabel("gate i", fontsize=theme.font_size - 2, labelpad=1)
    ax.set_xlabel("pooled channel j", fontsize=theme.font_size - 2, labelpad=1)
    lit = 1 / 1.4  # the colour of a 1 on the scale 0 .. 1.4 below: dark grey, not black
    image = ax.imshow(np.zeros((2, 2)), extent=(-0.5, 1.5, 1.5, -0.5), cmap="Greys", vmin=0, vmax=1.4,
                      interpolation="nearest")
    label = ax.text(0.5, 1.09, "", transform=ax.transAxes, ha="center", va="bottom", fontsize=theme.font_size - 1)
    beyond = "#d9d9d9"  # the axes' own colour shows where C < window: no such channel
    ax.set_facecolor(beyond)
    handles = [Patch(facecolor=colormaps["Greys"](lit), label="gate i reads j"),
               Patch(facecolor="white", edgecolor=theme.grid_color, label="does not"),
               Patch(facecolor=beyond, label="beyond C")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3, frameon=False,
              fontsize=theme.font_size - 3, handlelength=1.0, handletextpad=0.4, columnspacing=0.8,
              borderaxespad=0)
    return BandView(ax, image, label, window)


@dataclass
class CostView:
    """Horizontal bars on a log axis: each gate's share of its stage, one row per (gate, measure)."""

    ax: Axes
    bars: list[Rectangle]
    labels: list[Text]
    floor: float

    @property
    def artists(self) -> list:
        return [*self.bars, *self.labels]

    def update(self, fractions: list[float]) -> None:
        """``fractions`` in row order (top first), each a share of the stage (1 = as large as the stage)."""
        for bar, text, value in zip(self.bars, self.labels, fractions):
            shown = max(value, self.floor)
            bar.set_width(shown - self.floor)
            text.set_position((shown * 1.15, bar.get_y() + bar.get_height() / 2))
            text.set_text(f"{100 * value:.3g}%")


def draw_costs(ax: Axes, rows: list[str], floor: float = 1e-5, theme: Theme | None = None) -> CostView:
    """A log-scale bar panel from ``floor`` to 1 with one labelled row per entry of ``rows``."""
    theme = theme or get_theme()
    ax.set_xscale("log")
    ax.set_xlim(floor, 30)
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set_autoscale_on(False)
    ax.set_yticks(range(len(rows)), rows, fontsize=theme.font_size - 1)
    ticks = [1e-4, 1e-3, 1e-2, 1e-1, 1]
    ax.set_xticks(ticks, ["0.01%", "0.1%", "1%", "10%", "100%"], fontsize=theme.font_size - 2)
    ax.axvline(1, color=theme.grid_color, lw=0.8 * theme.line_scale, ls="--")
    ax.set_title("cost of the gate as a share of its stage (log scale)", fontsize=theme.font_size - 1, pad=3)
    colors = [theme.accent2 if "param" in name else theme.accent3 for name in rows]
    bars = [Rectangle((floor, i - 0.35), 0, 0.7, color=c) for i, c in enumerate(colors)]
    for bar in bars:
        ax.add_patch(bar)
    labels = [ax.text(floor, i, "", va="center", fontsize=theme.font_size - 2) for i in range(len(rows))]
    return CostView(ax, bars, labels, floor)


# Okabe-Ito: orange, blue, bluish green, reddish purple (colour-blind safe, one per class).
CLASS_COLOURS = ("#E69F00", "#0072B2", "#009E73", "#CC79A7")


@dataclass
class ProfilesView:
    """One line per class over the channel index (the class-averaged gates of the SE paper's Fig. 6), a
    short label and the channel indices under the axis (one path that follows the channel count)."""

    ax: Axes
    theme: Theme
    lines: list[Line2D]
    label: Text
    index_labels: PathPatch
    count: int = -1
    indices: tuple[int, ...] = ()

    @property
    def artists(self) -> list:
        return [*self.lines, self.label, self.index_labels]

    def update(self, profiles: np.ndarray, text: str = "") -> None:
        """``profiles (K, C)``: row ``k`` is class ``k``'s mean gate per channel, drawn over channels ``0 .. C-1``."""
        profiles = np.asarray(profiles, dtype=float)
        if profiles.ndim != 2 or profiles.shape[0] != len(self.lines):
            raise ValueError(f"profiles must be ({len(self.lines)}, C), one row per class line, "
                             f"got shape {profiles.shape}")
        n = profiles.shape[1]
        x = (np.arange(n) + 0.5) / n
        for line, row in zip(self.lines, profiles, strict=True):
            line.set_data(x, row)
        self.label.set_text(text)
        if n != self.count:
            self.count, self.indices = n, tuple(index_ticks(n))
            box, fig = self.ax.get_position(), self.ax.figure
            width, height = 72 * box.width * fig.get_figwidth(), 72 * box.height * fig.get_figheight()  # points
            self.index_labels.set_path(index_outlines(tuple(str(i) for i in self.indices),
                                                      tuple((i + 0.5) / n for i in self.indices),
                                                      self.theme.font_size - 3, width, height))


def draw_profiles(ax: Axes, title: str, classes: list[str] | tuple[str, ...], theme: Theme | None = None, *,
                  ylabel: str = "mean gate", ymin: float = 0.0, ymax: float = 1.0,
                  legend_y: float = -0.3) -> ProfilesView:
    """A panel for class-averaged gate profiles: y from ``ymin`` to ``ymax``, a dashed line at 1/2 when
    it is in range, one coloured line per entry of ``classes`` (at most four), and their legend under
    the channel axis (``legend_y``: its top, in axes fractions).

    Example:
        >>> from matplotlib.figure import Figure
        >>> view = draw_profiles(Figure().add_subplot(), "profiles", ["circle", "square"])
        >>> view.update(np.array([[0.2, 0.4, 0.9], [0.5, 0.5, 0.1]]))
        >>> [line.get_ydata().tolist() for line in view.lines], view.indices
        ([[0.2, 0.4, 0.9], [0.5, 0.5, 0.1]], (0, 1, 2))
    """
    theme = theme or get_theme()
    if not 1 <= len(classes) <= len(CLASS_COLOURS):
        raise ValueError(f"classes must name 1 to {len(CLASS_COLOURS)} classes, got {len(classes)}")
    fixed_axes(ax, (0, 1), (ymin, ymax + 0.03 * (ymax - ymin)))  # headroom: gates at 1 stay off the frame
    ticks = [ymin, ymax] + ([0.5] if ymin < 0.5 < ymax else [])
    ax.set_yticks(sorted(ticks))
    ax.tick_params(labelsize=theme.font_size - 3, length=2, pad=1)
    ax.set_title(title, fontsize=theme.font_size - 1, pad=2, loc="left")
    ax.set_ylabel(ylabel, fontsize=theme.font_size - 3, labelpad=1)
    small = theme.font_size - 3
    ax.set_xlabel("channel", fontsize=small, labelpad=4 + 1.2 * small)
    if ymin < 0.5 < ymax:
        ax.axhline(0.5, color=theme.grid_color, lw=0.8 * theme.line_scale, ls="--")
    lw = 1.3 * theme.line_scale
    lines = [ax.plot([], [], color=c, lw=lw, marker="o", ms=2.2 * theme.line_scale, label=name)[0]
             for name, c in zip(classes, CLASS_COLOURS[:len(classes)], strict=True)]
    # Proxies: the legend is drawn once into the background while the lines move.
    ax.legend(handles=[Line2D([], [], color=c, lw=lw, marker="o", ms=2.2 * theme.line_scale, label=name)
                       for name, c in zip(classes, CLASS_COLOURS[:len(classes)], strict=True)],
              loc="upper center", bbox_to_anchor=(0.5, legend_y), ncol=len(classes), frameon=False,
              fontsize=theme.font_size - 2, handlelength=1.4, columnspacing=1.0, borderaxespad=0)
    label = _label(ax, theme, x=1.0, ha="right")
    index_labels = PathPatch(Path(np.zeros((1, 2))), facecolor="black", edgecolor="none", transform=ax.transAxes,
                             clip_on=False)
    ax.add_patch(index_labels)
    return ProfilesView(ax, theme, lines, label, index_labels)
