"""Views for lesson 11: per-layer curves on a log scale, activation histograms per layer, shares per
layer, and training-loss curves.

Drawn for blitting: axes, ticks, labels, legends and colour bars are static and drawn once; a move
only changes line data, image data and short texts. Values outside a panel's fixed range are drawn
on its edge, so nothing silently disappears.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.text import Text

from explainer.theme import Theme, get_theme

__all__ = [
    "LayerCurvesView",
    "draw_layer_curves",
    "HistogramsView",
    "draw_histograms",
    "histogram_rows",
    "LossCurvesView",
    "draw_loss_curves",
]


def _note(ax: Axes, theme: Theme, x: float = 0.98, y: float = 0.95, ha: str = "right") -> Text:
    return ax.text(x, y, "", transform=ax.transAxes, ha=ha, va="top", fontsize=theme.font_size - 1)


@dataclass
class LayerCurvesView:
    """One line per named series over layers 1 .. L, on fixed axes (log or linear y)."""

    ax: Axes
    lines: dict[str, Line2D]
    note: Text
    ylim: tuple[float, float]

    @property
    def artists(self) -> list:
        return [*self.lines.values(), self.note]

    def update(self, series: dict[str, np.ndarray], note: str = "") -> None:
        """Set each named series (1D, one value per layer; missing names are hidden), clipped to the y range."""
        low, high = self.ylim
        for name, line in self.lines.items():
            values = series.get(name)
            line.set_visible(values is not None)
            if values is not None:
                values = np.clip(np.nan_to_num(np.asarray(values, float), nan=low, posinf=high, neginf=low), low, high)
                line.set_data(np.arange(1, len(values) + 1), values)
        self.note.set_text(note)


def draw_layer_curves(ax: Axes, max_layers: int, series: dict[str, dict], title: str, ylabel: str,
                      ylim: tuple[float, float], log: bool = True, theme: Theme | None = None) -> LayerCurvesView:
    """Static axes for per-layer curves; ``series`` maps a name to ``Line2D`` styles (with ``label``).

    The legend (drawn once) names every series; the x axis is the layer, 1 .. ``max_layers``.
    """
    theme = theme or get_theme()
    lines = {name: ax.plot([], [], **style)[0] for name, style in series.items()}
    if log:
        ax.set_yscale("log")
    ax.set_xlim(0.5, max_layers + 0.5)
    ax.set_ylim(*ylim)
    ax.set_autoscale_on(False)
    ax.set_title(title, fontsize=theme.font_size, pad=3)
    ax.set_xlabel("layer (1 = nearest the input)", labelpad=1)
    ax.set_ylabel(ylabel, labelpad=1)
    ax.grid(True, which="major", color=theme.grid_color, alpha=0.25, lw=0.5)
    ax.legend(loc="lower left", fontsize=theme.font_size - 2, frameon=True, framealpha=0.85)
    return LayerCurvesView(ax, lines, _note(ax, theme), ylim)


def histogram_rows(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``(L, bins)`` share of each layer's values per bin; values beyond the edges count in the end bins.

    Example:
        >>> histogram_rows(np.array([[[-9.0, 0.2, 0.4, 9.0]]]).reshape(1, 4), np.array([-1.0, 0.0, 1.0])).tolist()
        [[0.25, 0.75]]
    """
    values = np.asarray(values, float).reshape(len(values), -1)  # (L, N)
    layers, bins = len(values), len(edges) - 1
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)  # (L, N)
    index += bins * np.arange(layers)[:, None]  # one bincount for all layers
    rows = np.bincount(index.ravel(), minlength=layers * bins).reshape(layers, bins)
    return rows / max(values.shape[1], 1)


@dataclass
class HistogramsView:
    """A layer x value heat map: each row is one layer's histogram (share of its units per bin)."""

    ax: Axes
    image: AxesImage
    edges: np.ndarray
    max_layers: int
    note: Text

    @property
    def artists(self) -> list:
        return [self.image, self.note]

    def update(self, outputs: np.ndarray, note: str = "") -> None:
        """``outputs``: (L, ...) each layer's values; rows beyond L stay blank."""
        self.update_rows(histogram_rows(outputs, self.edges), note)

    def update_rows(self, rows: np.ndarray, note: str = "") -> None:
        """Show histogram ``rows`` (L, bins) as :func:`histogram_rows` makes them."""
        full = np.full((self.max_layers, len(self.edges) - 1), np.nan)
        full[: len(rows)] = rows
        self.image.set_data(full)
        self.note.set_text(note)


def draw_histograms(ax: Axes, cax: Axes, max_layers: int, edges: np.ndarray, title: str, vmax: float = 0.5,
                    theme: Theme | None = None) -> HistogramsView:
    """Static axes (value across, layer down) and a colour bar of the share per bin, 0 .. ``vmax``.

    ``title`` is static; the view's note (set on every update) sits where a title would, so pass
    ``title=""`` when the note names the panel.
    """
    theme = theme or get_theme()
    norm = Normalize(0, vmax)
    image = ax.imshow(np.full((max_layers, len(edges) - 1), np.nan), cmap=theme.cmap, norm=norm, aspect="auto",
                      interpolation="nearest", extent=(edges[0], edges[-1], max_layers + 0.5, 0.5))
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(max_layers + 0.5, 0.5)
    ax.set_autoscale_on(False)
    ax.set_title(title, fontsize=theme.font_size, pad=3)
    ax.set_xlabel(f"block output (end bins also hold values beyond ±{edges[-1]:g})", labelpad=1)
    ax.set_ylabel("layer", labelpad=1)
    bar = ax.figure.colorbar(ScalarMappable(norm, theme.cmap), cax=cax)
    bar.set_label(f"share of units (≥ {vmax:g} clipped)", fontsize=theme.font_size - 2)
    bar.ax.tick_params(labelsize=theme.font_size - 2)
    note = ax.text(0.5, 1.02, "", transform=ax.transAxes, ha="center", va="bottom", fontsize=theme.font_size)
    return HistogramsView(ax, image, np.asarray(edges, float), max_layers, note)


@dataclass
class LossCurvesView:
    """Training-loss curves against steps (raw, faint, and a moving average, bold) with a message line."""

    ax: Axes
    raw: dict[str, Line2D]
    smooth: dict[str, Line2D]
    message: Text
    window: int
    ylim: tuple[float, float]

    @property
    def artists(self) -> list:
        return [*self.raw.values(), *self.smooth.values(), self.message]

    def update(self, curves: dict[str, np.ndarray] | None, message: str = "") -> None:
        """Show ``curves`` ({name: (steps,) losses}) or, with None, nothing but ``message``."""
        for name in self.raw:
            values = None if curves is None else curves.get(name)
            for line in (self.raw[name], self.smooth[name]):
                line.set_visible(values is not None)
            if values is None:
                continue
            values = np.clip(np.asarray(values, float), *self.ylim)
            steps = np.arange(1, len(values) + 1)
            self.raw[name].set_data(steps, values)
            k = min(self.window, len(values))
            mean = np.convolve(values, np.ones(k) / k, mode="valid")  # the mean of the last k steps
            self.smooth[name].set_data(steps[k - 1:], mean)
        self.message.set_text(message)


def draw_loss_curves(ax: Axes, steps: int, series: dict[str, str], ylim: tuple[float, float] = (0.0, 2.0),
                     chance: float | None = None, window: int = 20, theme: Theme | None = None) -> LossCurvesView:
    """Static axes for loss against step; ``series`` maps names to colours (the legend's labels)."""
    theme = theme or get_theme()
    raw = {name: ax.plot([], [], color=color, lw=0.6, alpha=0.35)[0] for name, color in series.items()}
    smooth = {name: ax.plot([], [], color=color, lw=2.2, label=f"{name} (mean of {window} steps)")[0]
              for name, color in series.items()}
    if chance is not None:
        ax.axhline(chance, color=theme.grid_color, ls="--", lw=1, label=f"chance (ln 4 = {chance:.2f})")
    ax.set_xlim(0, steps)
    ax.set_ylim(*ylim)
    ax.set_autoscale_on(False)
    ax.set_xlabel("training step", labelpad=1)
    ax.set_ylabel("training loss (cross-entropy)", labelpad=1)
    ax.grid(True, color=theme.grid_color, alpha=0.25, lw=0.5)
    ax.legend(loc="lower left", fontsize=theme.font_size - 1, frameon=True, framealpha=0.85)
    message = ax.text(0.5, 0.55, "", transform=ax.transAxes, ha="center", va="center", fontsize=theme.font_size + 1)
    return LossCurvesView(ax, raw, smooth, message, window, ylim)
