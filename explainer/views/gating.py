"""Views for gate attention: bar charts of gates, heat maps of feature maps and spatial gates, the ECA band.

Every panel is drawn for blitting: axes get fixed limits and no ticks once, and a move only changes
artists (a ``PolyCollection`` of bars, an image's data, a short text). Images are placed on the
unit square with a fixed extent, so maps of any size reuse the same artist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from explainer.theme import Theme, get_theme
from explainer.views._common import fixed_axes

__all__ = [
    "BarsView",
    "draw_bars",
    "MapView",
    "draw_map",
    "OverlayView",
    "draw_overlay",
    "band_matrix",
    "BandView",
    "draw_band",
    "CostView",
    "draw_costs",
]


def _label(ax: Axes, theme: Theme, x: float = 0.0, y: float = 1.02, ha: str = "left") -> Text:
    return ax.text(x, y, "", transform=ax.transAxes, ha=ha, va="bottom", fontsize=theme.font_size - 1)


@dataclass
class BarsView:
    """``n`` bars spread over the unit width (one PolyCollection), a highlighted bar and a short label."""

    ax: Axes
    theme: Theme
    bars: PolyCollection
    label: Text
    ymax: float

    @property
    def artists(self) -> list:
        return [self.bars, self.label]

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


def draw_bars(ax: Axes, title: str, ymax: float = 1.0, theme: Theme | None = None) -> BarsView:
    """A bar panel with y from 0 to ``ymax`` (one tick at each end), title above.

    Example:
        >>> from matplotlib.figure import Figure
        >>> view = draw_bars(Figure().add_subplot(), "channel gates")
        >>> view.update(np.array([0.2, 0.9]), highlight=1)
        >>> len(view.bars.get_paths())
        2
    """
    theme = theme or get_theme()
    fixed_axes(ax, (0, 1), (0, ymax))
    ax.set_yticks([0, ymax])
    ax.tick_params(labelsize=theme.font_size - 3, length=2, pad=1)
    ax.set_title(title, fontsize=theme.font_size - 1, pad=2, loc="left")
    bars = PolyCollection([], facecolors=theme.accent2, edgecolors="none")
    ax.add_collection(bars, autolim=False)
    label = _label(ax, theme, x=1.0, ha="right")
    return BarsView(ax, theme, bars, label, ymax)


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

    @property
    def artists(self) -> list:
        return [self.image, self.label]

    def update(self, channels: int, kernel_size: int, window: int = 24, text: str = "") -> None:
        """Show the first ``min(channels, window)`` gates x channels of the band."""
        shown = min(channels, window)
        # The top-left block of the C x C band is the band of that size: never build C x C (4096^2 floats).
        self.image.set_data(band_matrix(shown, kernel_size))
        self.label.set_text(text)


def draw_band(ax: Axes, title: str, theme: Theme | None = None) -> BandView:
    """The band panel: rows are gates, columns pooled channels, lit where the kernel reaches."""
    theme = theme or get_theme()
    view = draw_map(ax, title, cmap="Greys", vmin=0, vmax=1.4, theme=theme)
    ax.set_ylabel("gate i", fontsize=theme.font_size - 2, labelpad=1)
    ax.set_xlabel("pooled channel j", fontsize=theme.font_size - 2, labelpad=1)
    view.label.set_position((0.5, 1.09))
    view.label.set_va("bottom")
    return BandView(ax, view.image, view.label)


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
