"""Views for lesson 12: an activation with its derivative over an input distribution, named bar groups
(shares per activation, logits per class, statistics per channel or token).

Drawn for blitting: axes, ticks, legends and names are static; a move changes line data, polygon
vertices, bar heights and short texts only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from matplotlib.text import Text

from explainer.theme import Theme, get_theme

__all__ = ["CurvesView", "draw_activation_curves", "GroupedBarsView", "draw_grouped_bars"]


@dataclass
class CurvesView:
    """f, f′, the input density (filled, scaled to peak 1) and where inputs die or saturate (bands on the x axis)."""

    ax: Axes
    value: Line2D
    derivative: Line2D
    density: Polygon
    dead: Line2D
    saturated: Line2D
    peak: Line2D
    label: Text
    ylim: tuple[float, float]

    @property
    def artists(self) -> list:
        return [self.density, self.value, self.derivative, self.dead, self.saturated, self.peak, self.label]

    def update(self, x: np.ndarray, value: np.ndarray, derivative: np.ndarray, density: np.ndarray,
               dead: np.ndarray, saturated: np.ndarray, text: str = "") -> None:
        """All arrays 1D over ``x``; ``dead``/``saturated`` are boolean masks of x."""
        low = self.ylim[0]
        self.value.set_data(x, value)
        self.derivative.set_data(x, derivative)
        self.density.set_xy(np.concatenate([np.stack([x, low + density], 1), [[x[-1], low], [x[0], low]]]))
        band = low + 0.04 * (self.ylim[1] - low)
        self.dead.set_data(x, np.where(dead, band, np.nan))
        self.saturated.set_data(x, np.where(saturated, band, np.nan))
        top = int(np.argmax(derivative))
        self.peak.set_data([x[top]], [derivative[top]])
        self.label.set_text(text)


def draw_activation_curves(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float],
                           theme: Theme | None = None) -> CurvesView:
    """Static axes with a legend naming f, f′, the density, the dead and saturated bands and f′'s peak."""
    theme = theme or get_theme()
    density = Polygon(np.zeros((3, 2)), closed=True, facecolor=theme.accent3, alpha=0.18, edgecolor="none",
                      label="input density (peak scaled to 1)")
    ax.add_patch(density)
    value = ax.plot([], [], color=theme.accent2, lw=2.4, label="f(x)")[0]
    derivative = ax.plot([], [], color=theme.accent, lw=2.4, ls="--", label="f′(x) (autograd)")[0]
    dead = ax.plot([], [], color="#222222", lw=7, solid_capstyle="butt", label="dead: f = f′ = 0")[0]
    saturated = ax.plot([], [], color="#d62728", lw=7, solid_capstyle="butt", alpha=0.7,
                        label="saturated: |f′| < 0.005")[0]
    peak = ax.plot([], [], "o", color=theme.accent, ms=7, mec="black", label="largest f′")[0]
    ax.axhline(0, color=theme.grid_color, lw=0.8)
    ax.axvline(0, color=theme.grid_color, lw=0.8)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_autoscale_on(False)
    ax.set_xlabel("input x", labelpad=1)
    ax.grid(True, color=theme.grid_color, alpha=0.25, lw=0.5)
    ax.legend(loc="upper left", fontsize=theme.font_size - 2, framealpha=0.85)
    label = ax.text(0.98, 0.04 + 0.06, "", transform=ax.transAxes, ha="right", va="bottom",
                    fontsize=theme.font_size - 1)
    return CurvesView(ax, value, derivative, density, dead, saturated, peak, label, ylim)


@dataclass
class GroupedBarsView:
    """Named groups of bars (one bar per series in each group), heights set per move, one group highlighted.

    Each series is one ``PolyCollection`` of rectangles (one artist per series, not one per bar).
    """

    ax: Axes
    bars: dict[str, PolyCollection]
    handles: list[Rectangle]  # one legend handle per series (not drawn)
    left: dict[str, np.ndarray]  # per series, each bar's left edge
    width: float
    label: Text
    ylim: tuple[float, float]
    highlight_color: str

    @property
    def artists(self) -> list:
        return [*self.bars.values(), self.label]

    def heights(self, name: str) -> np.ndarray:
        """The drawn heights of series ``name``'s bars (from the rectangles themselves)."""
        return np.array([np.ptp(path.vertices[:, 1]) for path in self.bars[name].get_paths()])

    def update(self, heights: dict[str, np.ndarray], highlight: int | None = None, text: str = "") -> None:
        """``heights``: per series, one height per group (clipped to the y range); ``highlight``: a group index."""
        low, high = self.ylim
        base = min(max(0.0, low), high)
        for name, bars in self.bars.items():
            values = np.clip(np.asarray(heights[name], float), low, high)
            x0 = self.left[name]
            if values.shape != x0.shape:
                raise ValueError(f"heights[{name!r}] must hold {len(x0)} values, got shape {values.shape}")
            x1 = x0 + self.width
            y = np.full_like(values, base)
            bars.set_verts(np.stack([np.stack([x0, y], 1), np.stack([x1, y], 1), np.stack([x1, values], 1),
                                     np.stack([x0, values], 1)], 1))  # (groups, 4, 2)
            edges = ["none"] * len(x0)
            if highlight is not None:
                edges[highlight] = self.highlight_color
            bars.set_edgecolor(edges)
        self.label.set_text(text)


def draw_grouped_bars(ax: Axes, groups: list[str], series: dict[str, dict], ylim: tuple[float, float],
                      title: str = "", ylabel: str = "", theme: Theme | None = None,
                      rotation: float = 0, legend: bool = True) -> GroupedBarsView:
    """Static axes: group names under the x axis, a legend of the series (``Rectangle`` styles with ``label``).

    With ``legend=False`` the caller draws one (``view.handles``: one undrawn rectangle per series, in its style).
    """
    theme = theme or get_theme()
    n = len(series)
    width = 0.8 / n
    bars, handles, left = {}, [], {}
    for s, (name, style) in enumerate(series.items()):
        left[name] = np.arange(len(groups)) - 0.4 + s * width
        style = dict(style)
        handles.append(Rectangle((0, 0), 1, 1, linewidth=2.2, **{**style, "label": style.get("label", name)}))
        style.pop("label", None)
        alpha = style.pop("alpha", None)
        bars[name] = PolyCollection([], linewidths=2.2, edgecolors="none", alpha=alpha, **style)
        ax.add_collection(bars[name], autolim=False)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(*ylim)
    ax.set_autoscale_on(False)
    ax.set_xticks(range(len(groups)), groups, rotation=rotation, fontsize=theme.font_size - 2)
    if ylim[0] < 0:
        ax.axhline(0, color=theme.grid_color, lw=0.8)
    ax.grid(True, axis="y", color=theme.grid_color, alpha=0.25, lw=0.5)
    if title:
        ax.set_title(title, fontsize=theme.font_size, pad=3)
    if ylabel:
        ax.set_ylabel(ylabel, labelpad=1)
    if legend:
        ax.legend(handles=handles, loc="upper right", fontsize=theme.font_size - 2, framealpha=0.85)
    label = ax.text(0.02, 0.96, "", transform=ax.transAxes, ha="left", va="top", fontsize=theme.font_size - 1)
    view = GroupedBarsView(ax, bars, handles, left, width * 0.92, label, ylim, "black")
    view.update({name: np.zeros(len(groups)) for name in series})
    return view
