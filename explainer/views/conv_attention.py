"""Views for "convolution is a special case of self-attention" (Cordonnier et al., ICLR 2020).

* :func:`draw_pixels`: an image-sized heatmap (input, conv output, attention output, their
  difference) with the query pixel and the kernel's footprint around it;
* :func:`draw_head_maps`: the ``k x k`` per-head attention maps of one query, each cropped to a
  window around the query and laid out where its kernel tap sits, as one mosaic image;
* :func:`head_windows`: the cropping, as plain arrays;
* :func:`draw_colorbar`: a colour bar for a fixed colour range, drawn once (static).

Every view takes an Axes, fixes its limits once, draws nothing but images and a few patches, and
returns a dataclass whose ``artists`` are updated in place by ``update``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap, LogNorm, Normalize
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from explainer.theme import Theme, get_theme
from explainer.views._common import fixed_axes

__all__ = ["PixelView", "HeadMapsView", "draw_pixels", "draw_head_maps", "draw_colorbar", "head_windows", "mosaic",
           "WEIGHT_FLOOR"]

WEIGHT_FLOOR = 1e-3  # the head maps' logarithmic colour scale runs from this weight to 1


def _colormap(name: str | Colormap, bad: str) -> Colormap:
    from matplotlib import colormaps

    cmap = colormaps[name] if isinstance(name, str) else name
    return cmap.with_extremes(bad=bad)


@dataclass
class PixelView:
    """An ``H x W`` heatmap with a query marker; data coordinates are pixel indices (x = col, y = row)."""

    ax: Axes
    image: AxesImage
    query: Rectangle
    footprint: Rectangle

    @property
    def artists(self) -> list:
        return [self.image, self.footprint, self.query]

    def update(self, values: np.ndarray, query: tuple[int, int] | None = None, kernel_size: int = 1,
               limits: tuple[float, float] | None = None) -> None:
        """Show ``values (H, W)``; mark pixel ``query = (row, col)`` and its ``k x k`` footprint (None: hide)."""
        self.image.set_data(values)
        if limits is not None:
            self.image.set_clim(*limits)
        visible = query is not None
        self.query.set_visible(visible)
        self.footprint.set_visible(visible and kernel_size > 1)
        if visible:
            row, col = query
            r = kernel_size // 2
            self.query.set_xy((col - 0.5, row - 0.5))
            self.footprint.set_bounds(col - r - 0.5, row - r - 0.5, kernel_size, kernel_size)


def draw_pixels(ax: Axes, values: np.ndarray, title: str = "", cmap: str | Colormap | None = None,
                limits: tuple[float, float] | None = None, query: tuple[int, int] | None = None,
                kernel_size: int = 1, theme: Theme | None = None) -> PixelView:
    """Draw ``values (H, W)`` as pixels, with the query pixel boxed and the kernel footprint dashed.

    The axis limits are fixed to the image (plus one pixel of margin so that the footprint of a
    border query stays visible, clipped where it leaves the margin).
    """
    theme = theme or get_theme()
    h, w = values.shape
    fixed_axes(ax, (-1.5, w + 0.5), (h + 0.5, -1.5), frame=False)
    ax.set_title(title, fontsize=theme.font_size - 1, pad=3)
    ax.set_facecolor("#d9d9d9")  # the margin reads as "outside the image"
    image = ax.imshow(values, cmap=_colormap(cmap or theme.cmap, "#d9d9d9"), interpolation="nearest",
                      extent=(-0.5, w - 0.5, h - 0.5, -0.5), vmin=limits[0] if limits else None,
                      vmax=limits[1] if limits else None)
    lw = theme.line_scale
    footprint = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec=theme.accent, lw=1.2 * lw, ls="--"))
    marker = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec=theme.accent, lw=1.8 * lw))
    view = PixelView(ax=ax, image=image, query=marker, footprint=footprint)
    view.update(values, query, kernel_size, limits)
    return view


def head_windows(maps: np.ndarray, query: tuple[int, int], padding: int, radius: int) -> np.ndarray:
    """Crop each head's map to the ``(2R+1) x (2R+1)`` window centred on the query.

    Args:
        maps: (K, Hp, Wp) attention maps over the key grid of one query.
        query: (row, col) of the query pixel in the image.
        padding: rows/columns of zero tokens in front of the image in the key grid.
        radius: ``R``; cells outside the key grid are NaN.

    Returns:
        (K, 2R+1, 2R+1) array; the query sits at ``[:, R, R]``.

    Example:
        >>> w = head_windows(np.ones((1, 3, 3)), (0, 0), padding=0, radius=1)
        >>> int(np.isnan(w[0]).sum())  # the row above and the column left of (0, 0) do not exist
        5
    """
    k, hp, wp = maps.shape
    size = 2 * radius + 1
    rows = np.arange(size) + query[0] + padding - radius  # (2R+1,) rows of the key grid
    cols = np.arange(size) + query[1] + padding - radius
    inside_r, inside_c = (rows >= 0) & (rows < hp), (cols >= 0) & (cols < wp)
    out = np.full((k, size, size), np.nan)
    out[:, inside_r[:, None] & inside_c[None, :]] = maps[:, rows[inside_r]][:, :, cols[inside_c]].reshape(k, -1)
    return out


def mosaic(windows: np.ndarray, gap: int = 1) -> np.ndarray:
    """Lay ``k*k`` windows ``(k*k, n, n)`` out as a ``k x k`` grid with NaN gaps: ``(k*n + (k-1)*gap,) * 2``."""
    kk, n, _ = windows.shape
    k = int(round(kk**0.5))
    size = k * n + (k - 1) * gap
    out = np.full((size, size), np.nan)
    for h in range(kk):
        i, j = divmod(h, k)
        out[i * (n + gap):i * (n + gap) + n, j * (n + gap):j * (n + gap) + n] = windows[h]
    return out


@dataclass
class HeadMapsView:
    """The per-head maps of one query as one mosaic in the unit square (y down).

    Tile ``(i, j)`` is head ``h = i*k + j`` (kernel tap ``(i, j)``, offset
    ``Delta_h = (i - k//2, j - k//2)``); a hollow square marks the query in each tile, a dot the head's
    centre shift ``query + Delta_h``. Static marks along the edges (``-⌊k/2⌋``, ``0``, ``+⌊k/2⌋`` for
    ``Delta_x`` under the columns and ``Delta_y`` left of the rows) read for every ``k`` and cost
    nothing per move. The image holds ``log10`` of the weights, clipped below at
    :data:`WEIGHT_FLOOR`, on the fixed range ``[log10(WEIGHT_FLOOR), 0]`` (a plain linear colour
    scale over decades, so a colour bar drawn once stays true).
    """

    ax: Axes
    image: AxesImage
    queries: Line2D
    targets: Line2D
    marks: list[Text]

    @property
    def artists(self) -> list:
        return [self.image, self.queries, self.targets]

    def update(self, windows: np.ndarray, offsets: np.ndarray) -> None:
        """Show ``windows (K, 2R+1, 2R+1)`` (from :func:`head_windows`) for heads at ``offsets (K, 2)``."""
        picture = mosaic(windows)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.image.set_data(np.log10(np.maximum(picture, WEIGHT_FLOOR)))  # NaN gaps stay NaN
        kk, n, _ = windows.shape
        k = int(round(kk**0.5))
        cell = 1.0 / picture.shape[0]
        i, j = np.divmod(np.arange(kk), k)
        centre_x = (j * (n + 1) + n // 2 + 0.5) * cell  # (K,) query cell centre in each tile
        centre_y = (i * (n + 1) + n // 2 + 0.5) * cell
        self.queries.set_data(centre_x, centre_y)
        self.targets.set_data(centre_x + offsets[:, 1] * cell, centre_y + offsets[:, 0] * cell)
        self.queries.set_markersize(max(2.0, min(12.0, 0.75 * cell * self._points_per_unit())))

    def _points_per_unit(self) -> float:
        return self.ax.bbox.width * 72 / self.ax.figure.dpi


def draw_head_maps(ax: Axes, windows: np.ndarray, offsets: np.ndarray, title: str = "",
                   theme: Theme | None = None) -> HeadMapsView:
    """Draw the per-head attention windows ``(K, n, n)`` of one query, tile ``(i, j)`` = kernel tap ``(i, j)``."""
    theme = theme or get_theme()
    fixed_axes(ax, (0, 1), (1, 0), equal=True, frame=False)
    ax.set_title(title, fontsize=theme.font_size - 1, pad=3)
    image = ax.imshow(mosaic(windows), cmap=_colormap(theme.cmap, "white"), interpolation="nearest",
                      extent=(0, 1, 1, 0), vmin=np.log10(WEIGHT_FLOOR), vmax=0.0)
    lw = theme.line_scale
    (queries,) = ax.plot([], [], ls="none", marker="s", mfc="none", mec="white", mew=1.0 * lw)
    (targets,) = ax.plot([], [], ls="none", marker="o", ms=2.5 * lw, mfc=theme.accent, mec="none")
    size = theme.font_size - 2
    ends = ("−⌊k/2⌋", "0", "+⌊k/2⌋")
    marks = [ax.text(x, 1.01, label, ha=ha, va="top", fontsize=size)
             for x, label, ha in zip((0.0, 0.5, 1.0), ends, ("left", "center", "right"))]
    marks += [ax.text(-0.01, y, label, ha="right", va=va, fontsize=size, rotation=90)
              for y, label, va in zip((0.0, 0.5, 1.0), ends, ("top", "center", "bottom"))]
    marks += [ax.text(0.5, 1.07, "Δx (tile column)", ha="center", va="top", fontsize=size, color="#555555"),
              ax.text(-0.09, 0.5, "Δy (tile row)", ha="right", va="center", rotation=90, fontsize=size,
                      color="#555555")]
    view = HeadMapsView(ax=ax, image=image, queries=queries, targets=targets, marks=marks)
    view.update(windows, offsets)
    return view


def draw_colorbar(cax: Axes, cmap: str | Colormap, limits: tuple[float, float], label: str = "",
                  theme: Theme | None = None, log: bool = False, ticks: list[float] | None = None,
                  extend: str = "neither", orientation: str = "vertical",
                  tick_labels: list[str] | None = None) -> Colorbar:
    """A colour bar for the fixed range ``limits`` of ``cmap``, on its own axes ``cax``.

    It belongs to no image (a stand-alone ``ScalarMappable``), so moving an image's data never
    touches it: it is drawn once, with the static parts of the figure.

    Args:
        cax: the axes that hold the bar.
        cmap: colormap (name or object), as used by the images it explains.
        limits: ``(low, high)`` of the colour range.
        label: what the colour means, with its unit or scale.
        log: a logarithmic scale (``LogNorm``).
        ticks: tick positions, or None for matplotlib's choice.
        extend: ``"min"``, ``"max"``, ``"both"`` or ``"neither"``: values beyond the range.
        tick_labels: texts for ``ticks`` (e.g. ``"10⁻³"`` for data that are already ``log10`` values).
    """
    theme = theme or get_theme()
    norm = LogNorm(*limits) if log else Normalize(*limits)
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    bar = cax.figure.colorbar(mappable, cax=cax, ticks=ticks, extend=extend, orientation=orientation)
    if tick_labels is not None:
        bar.set_ticks(ticks, labels=tick_labels)
    bar.ax.tick_params(labelsize=theme.font_size - 2, length=2, pad=1)
    if label:
        bar.set_label(label, fontsize=theme.font_size - 2, labelpad=2)
    return bar
