"""Views for convolution arithmetic: the (padded, maybe zero-inserted) input grid with the taps of one
output unit, the output grid with that unit highlighted, the legend of both (inside the figure),
and the overlap counts of a transposed convolution (its checkerboard) as a heatmap with a colour bar.

Drawn for blitting: the axes are fixed to the unit square (no ticks, no autoscaling) once; a grid of any size is then placed inside it with a shared :class:`GridLayout`,
so a move only changes artists (rectangles, polygon and line collections, an image, glyphs)
and never the axes. Every artist the views create is returned, so a painter can animate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D, IdentityTransform

from explainer.conv import ConvArithmetic, TransposedOverlap
from explainer.theme import Theme, get_theme
from explainer.views._common import label_outline, mix, unit_square

__all__ = [
    "PADDING",
    "PIXEL",
    "INSERTED",
    "CROPPED",
    "GridLayout",
    "grid_layout",
    "input_extent",
    "cell_kinds",
    "cell_colors",
    "InputGridView",
    "OutputGridView",
    "draw_input_grid",
    "draw_output_grid",
    "GROUP_COLORS",
    "ChannelGroupsView",
    "draw_channel_groups",
    "legend_handles",
    "draw_legend",
    "OverlapView",
    "draw_overlap",
]

# Kinds of input-grid cells (values of cell_kinds).
PADDING, PIXEL, INSERTED, CROPPED = 0, 1, 2, 3


def cell_colors(theme: Theme | None = None) -> dict[int, tuple[float, float, float, float]]:
    """RGBA colour of each cell kind (also used by the explorer's legend)."""
    theme = theme or get_theme()
    return {PADDING: mix(theme.grid_color, 0.25), PIXEL: mix(theme.accent2, 0.45), INSERTED: to_rgba("white"),
            CROPPED: mix(theme.grid_color, 0.7)}


@dataclass(frozen=True)
class GridLayout:
    """Where grids sit inside axes whose data limits are the unit square (y pointing down).

    Attributes:
        cell: side of one cell in data units, shared by the input and output panels so that
            their sizes compare.
    """

    cell: float

    def origin(self, rows: int, cols: int) -> tuple[float, float]:
        """Top-left corner ``(x, y)`` of a centred ``rows x cols`` grid."""
        return (1 - cols * self.cell) / 2, (1 - rows * self.cell) / 2


def input_extent(result: ConvArithmetic) -> tuple[tuple[int, int], tuple[int, int]]:
    """Half-open row and column ranges ``((y0, y1), (x0, x1))`` of the drawn input grid, in tap coordinates.

    Direct: the padded input ``[-p, n+p)``. Transposed: the zero-inserted grid together with its
    implicit padding (or the cropped border when the padding is negative).
    """
    if result.geometry is None:
        return tuple((-p, n + p) for n, p in zip(result.input_size, result.padding))  # type: ignore[return-value]
    g = result.geometry
    return tuple((min(0, -b), max(m, m + a)) for m, b, a in zip(g.inserted_size, g.pad_before, g.pad_after))  # type: ignore[return-value]


def cell_kinds(result: ConvArithmetic) -> np.ndarray:
    """``(rows, cols)`` int array of the input grid's cell kinds (PADDING, PIXEL, INSERTED, CROPPED)."""
    (y0, y1), (x0, x1) = input_extent(result)
    y = np.arange(y0, y1)[:, None]  # (rows, 1)
    x = np.arange(x0, x1)[None, :]  # (1, cols)
    if result.geometry is None:
        (n_h, n_w) = result.input_size
        inside = (y >= 0) & (y < n_h) & (x >= 0) & (x < n_w)
        return np.where(inside, PIXEL, PADDING)
    g = result.geometry
    (m_h, m_w), (s_h, s_w) = g.inserted_size, g.stride
    inside = (y >= 0) & (y < m_h) & (x >= 0) & (x < m_w)
    kinds = np.where(inside, np.where((y % s_h == 0) & (x % s_w == 0), PIXEL, INSERTED), PADDING)
    kept = (y >= -g.pad_before[0]) & (y < m_h + g.pad_after[0]) & (x >= -g.pad_before[1]) & (x < m_w + g.pad_after[1])
    return np.where(kept, kinds, CROPPED)


def grid_layout(result: ConvArithmetic, margin: float = 0.04, max_cells: int = 6) -> GridLayout:
    """One cell size that fits both the input grid and the output grid (never larger than 1/max_cells)."""
    (y0, y1), (x0, x1) = input_extent(result)
    longest = max(y1 - y0, x1 - x0, *result.output_size, max_cells)
    return GridLayout(cell=(1 - 2 * margin) / longest)


def _grid_segments(x0: float, y0: float, rows: int, cols: int, cell: float) -> np.ndarray:
    """``(rows+cols+2, 2, 2)`` line segments of a grid's cell borders."""
    ys = y0 + cell * np.arange(rows + 1)
    xs = x0 + cell * np.arange(cols + 1)
    horizontal = np.stack([np.stack([np.full_like(ys, xs[0]), ys], -1), np.stack([np.full_like(ys, xs[-1]), ys], -1)], 1)
    vertical = np.stack([np.stack([xs, np.full_like(xs, ys[0])], -1), np.stack([xs, np.full_like(xs, ys[-1])], -1)], 1)
    return np.concatenate([horizontal, vertical])


def _grid_lines(ax: Axes, theme: Theme) -> LineCollection:
    lines = LineCollection([], colors=theme.grid_color, linewidths=0.6 * theme.line_scale, zorder=2)
    ax.add_collection(lines, autolim=False)
    return lines


@dataclass
class InputGridView:
    """Artists of the input panel; :meth:`update` moves them to a new result and output unit.

    Cells are drawn as a few rectangles (padding background, the input or zero-inserted grid,
    the real pixels of a zero-inserted grid, cropped bands) rather than an image: at teaching
    sizes that is several times cheaper to blit.
    """

    ax: Axes
    theme: Theme
    background: Rectangle
    inner: Rectangle
    pixels: PolyCollection
    cropped: PolyCollection
    lines: LineCollection
    border: Rectangle
    padded: Rectangle
    footprint: Rectangle
    taps: PolyCollection
    title: Text
    layout: GridLayout = field(default=GridLayout(1 / 6))

    @property
    def artists(self) -> list:
        """The artists :meth:`update` changes (the title changes only with the geometry)."""
        return [self.background, self.inner, self.pixels, self.cropped, self.lines, self.border, self.padded,
                self.footprint, self.taps]

    def update(self, result: ConvArithmetic, unit: tuple[int, int], layout: GridLayout | None = None) -> bool:
        """Show ``result``'s input grid and the taps of output unit ``unit = (row, col)``.

        Returns:
            True when the title text changed (static text: a painter must redraw its background).
        """
        self.layout = layout or grid_layout(result)
        cell = self.layout.cell
        (gy0, gy1), (gx0, gx1) = input_extent(result)
        left, top = self.layout.origin(gy1 - gy0, gx1 - gx0)

        def box(y0: float, x0: float, rows: float, cols: float) -> np.ndarray:
            """Corners of the cells [y0, y0+rows) x [x0, x0+cols) in data coordinates, (4, 2)."""
            x, y = left + (x0 - gx0) * cell, top + (y0 - gy0) * cell
            return np.array([[x, y], [x + cols * cell, y], [x + cols * cell, y + rows * cell], [x, y + rows * cell]])

        self.background.set_bounds(left, top, (gx1 - gx0) * cell, (gy1 - gy0) * cell)
        self.lines.set_segments(_grid_segments(left, top, gy1 - gy0, gx1 - gx0, cell))
        geo = result.geometry
        real = geo.inserted_size if geo else result.input_size
        self.inner.set_bounds(*box(0, 0, *real)[0], real[1] * cell, real[0] * cell)
        self.border.set_bounds(*box(0, 0, *real)[0], real[1] * cell, real[0] * cell)
        colors = cell_colors(self.theme)
        self.inner.set_facecolor(colors[INSERTED] if geo else colors[PIXEL])
        if geo is None:
            self.pixels.set_verts([])
            self.cropped.set_verts([])
            self.padded.set_bounds(left, top, (gx1 - gx0) * cell, (gy1 - gy0) * cell)
        else:
            landed = geo.input_positions.reshape(-1, 2).tolist()  # (H_in*W_in, 2)
            self.pixels.set_verts([box(y, x, 1, 1) for y, x in landed])
            (b_h, b_w), (a_h, a_w) = geo.pad_before, geo.pad_after
            (m_h, m_w), (p_h, p_w) = geo.inserted_size, geo.padded_size
            self.padded.set_bounds(*box(-b_h, -b_w, 1, 1)[0], p_w * cell, p_h * cell)
            bands = [box(gy0, gx0, -b_h - gy0, gx1 - gx0), box(m_h + a_h, gx0, gy1 - m_h - a_h, gx1 - gx0),
                     box(gy0, gx0, gy1 - gy0, -b_w - gx0), box(gy0, m_w + a_w, gy1 - gy0, gx1 - m_w - a_w)]
            self.cropped.set_verts([b for b in bands if np.ptp(b[:, 0]) > 0 and np.ptp(b[:, 1]) > 0])
        self._update_taps(result, unit, box, cell)
        caption = _grid_caption(result)
        changed = caption != self.title.get_text()
        self.title.set_text(caption)
        return changed

    def _update_taps(self, result: ConvArithmetic, unit: tuple[int, int], box, cell: float) -> None:
        taps = result.positions[unit[0], unit[1]].tolist()  # (K, 2) tap coordinates (y, x)
        inset = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * 0.18 * cell
        self.taps.set_verts([box(y, x, 1, 1) + inset for y, x in taps])
        if result.geometry is None:
            (n_h, n_w) = result.input_size
            reads = [0 <= y < n_h and 0 <= x < n_w for y, x in taps]
        else:
            reads = result.geometry.reads_input()[unit[0], unit[1]].tolist()
        accent = to_rgba(self.theme.accent)
        self.taps.set_facecolor([accent if r else (1, 1, 1, 0) for r in reads])
        cell_points = cell * self.ax.bbox.width * 72 / self.ax.figure.dpi
        width = max(0.8, min(1.8, 0.15 * cell_points))  # thinner outlines on tiny cells
        self.taps.set_linewidth(width * self.theme.line_scale)
        (y0, x0), (y1, x1) = min(taps), max(taps)  # row-major order: first and last tap span the footprint
        corner = box(y0, x0, 1, 1)[0]
        self.footprint.set_bounds(corner[0], corner[1], (x1 - x0 + 1) * cell, (y1 - y0 + 1) * cell)


def _grid_caption(result: ConvArithmetic) -> str:
    # Sizes live in the explorer's info panel: a caption that changed with the settings would force a
    # background redraw (text is the costliest thing to paint), so this one never changes.
    return "padded input (transposed: zero-inserted)"


@dataclass
class OutputGridView:
    """Artists of the output panel; :meth:`update` moves them, :meth:`cell_at` maps a point to a unit."""

    ax: Axes
    theme: Theme
    background: Rectangle
    lines: LineCollection
    selected: Rectangle
    title: Text
    layout: GridLayout = field(default=GridLayout(1 / 6))
    shape: tuple[int, int] = (1, 1)

    @property
    def artists(self) -> list:
        """The artists :meth:`update` changes (the title changes only with the size)."""
        return [self.background, self.lines, self.selected]

    def update(self, result: ConvArithmetic, unit: tuple[int, int], layout: GridLayout | None = None) -> bool:
        """Show ``result``'s output grid with ``unit = (row, col)`` highlighted.

        Returns:
            True when the title text changed (static text: a painter must redraw its background).
        """
        self.layout = layout or grid_layout(result)
        self.shape = rows, cols = result.output_size
        cell = self.layout.cell
        left, top = self.layout.origin(rows, cols)
        self.background.set_bounds(left, top, cols * cell, rows * cell)
        self.lines.set_segments(_grid_segments(left, top, rows, cols, cell))
        self.selected.set_bounds(left + unit[1] * cell, top + unit[0] * cell, cell, cell)
        caption = "output"
        changed = caption != self.title.get_text()
        self.title.set_text(caption)
        return changed

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The output unit ``(row, col)`` under data point ``(x, y)``, or None outside the grid."""
        rows, cols = self.shape
        left, top = self.layout.origin(rows, cols)
        row, col = int(np.floor((y - top) / self.layout.cell)), int(np.floor((x - left) / self.layout.cell))
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None

    def nearest_cell(self, x: float, y: float) -> tuple[int, int]:
        """The output unit closest to data point ``(x, y)``: a click beside a small grid still selects."""
        rows, cols = self.shape
        left, top = self.layout.origin(rows, cols)
        row = int(np.clip(np.floor((y - top) / self.layout.cell), 0, rows - 1))
        col = int(np.clip(np.floor((x - left) / self.layout.cell), 0, cols - 1))
        return row, col


def _title(ax: Axes, theme: Theme) -> Text:
    return ax.text(0.5, 1.0, "", ha="center", va="bottom", fontsize=theme.font_size, transform=ax.transAxes,
                   clip_on=False)


def draw_input_grid(ax: Axes, result: ConvArithmetic, unit: tuple[int, int] = (0, 0),
                    layout: GridLayout | None = None, theme: Theme | None = None) -> InputGridView:
    """Draw the input grid (padding grey, zero-inserted cells white) with the taps of output unit ``unit``.

    Filled squares are taps that read a real input pixel, hollow ones read a zero (padding or
    an inserted zero); the dashed box is the dilated kernel's footprint, the thick box the input
    itself and the thin dashed box the padded grid the kernel slides over.
    """
    theme = theme or get_theme()
    unit_square(ax, frame=False)
    colors = cell_colors(theme)
    lw = theme.line_scale
    view = InputGridView(
        ax=ax, theme=theme,
        background=ax.add_patch(Rectangle((0, 0), 1, 1, fc=colors[PADDING], ec="none", zorder=1)),
        inner=ax.add_patch(Rectangle((0, 0), 1, 1, fc=colors[PIXEL], ec="none", zorder=1.1)),
        pixels=ax.add_collection(PolyCollection([], facecolors=[colors[PIXEL]], edgecolors="none", zorder=1.2),
                                 autolim=False),
        cropped=ax.add_collection(PolyCollection([], facecolors=[colors[CROPPED]], edgecolors="none", zorder=1.3),
                                  autolim=False),
        lines=_grid_lines(ax, theme),
        border=ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2.0 * lw, ec="#333333", zorder=3)),
        padded=ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=1.0 * lw, ls="--", ec="#555555", zorder=3)),
        footprint=ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2.0 * lw, ls="--", ec=theme.accent,
                                         zorder=4)),
        taps=ax.add_collection(PolyCollection([], edgecolors=theme.accent, linewidths=1.8 * lw, zorder=5),
                               autolim=False),
        title=_title(ax, theme),
    )
    view.update(result, unit, layout)
    return view


def draw_output_grid(ax: Axes, result: ConvArithmetic, unit: tuple[int, int] = (0, 0),
                     layout: GridLayout | None = None, theme: Theme | None = None) -> OutputGridView:
    """Draw the output grid with output unit ``unit = (row, col)`` filled in the accent colour."""
    theme = theme or get_theme()
    unit_square(ax, frame=False)
    view = OutputGridView(
        ax=ax, theme=theme,
        background=ax.add_patch(Rectangle((0, 0), 1, 1, fc=mix(theme.accent3, 0.35), ec="none", zorder=1)),
        lines=_grid_lines(ax, theme),
        selected=ax.add_patch(Rectangle((0, 0), 1, 1, fc=mix(theme.accent, 0.8), ec=theme.accent,
                                        lw=2 * theme.line_scale, zorder=3)),
        title=_title(ax, theme),
    )
    view.update(result, unit, layout)
    return view


# Okabe-Ito, colour-blind safe; groups beyond eight reuse the cycle (neighbours still differ).
GROUP_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")


@dataclass
class ChannelGroupsView:
    """Input channels (top row) and filters (bottom row) coloured by group, each group's filters
    joined to the only input channels they read."""

    ax: Axes
    channels: PolyCollection
    links: PolyCollection

    @property
    def artists(self) -> list:
        return [self.links, self.channels]

    def update(self, result: ConvArithmetic) -> None:
        cin, cout, g = result.in_channels, result.out_channels, result.groups
        widest = max(cin, cout)
        boxes, colors, links = [], [], []
        for count, y0 in ((cin, 0.05), (cout, 0.7)):
            width = 0.98 / widest
            left = 0.5 - count * width / 2
            for c in range(count):
                x = left + c * width
                boxes.append([(x, y0), (x + width * 0.85, y0), (x + width * 0.85, y0 + 0.25), (x, y0 + 0.25)])
                colors.append(GROUP_COLORS[(c * g // count) % len(GROUP_COLORS)])
        w_in, w_out = 0.98 / widest, 0.98 / widest
        in_left, out_left = 0.5 - cin * w_in / 2, 0.5 - cout * w_out / 2
        for j in range(g):
            a0, a1 = in_left + j * cin / g * w_in, in_left + (j + 1) * cin / g * w_in
            b0, b1 = out_left + j * cout / g * w_out, out_left + (j + 1) * cout / g * w_out
            links.append([(a0, 0.3), (a1, 0.3), (b1, 0.7), (b0, 0.7)])
        self.channels.set_verts(boxes)
        self.channels.set_facecolor(colors)
        self.links.set_verts(links)
        self.links.set_facecolor([to_rgba(GROUP_COLORS[j % len(GROUP_COLORS)], 0.3) for j in range(g)])


def draw_channel_groups(ax: Axes, result: ConvArithmetic, theme: Theme | None = None) -> ChannelGroupsView:
    """Draw how ``groups`` splits the channels: C_in boxes above, C_out filters below, one band per group.

    With ``groups=1`` every filter reads every input channel (one band); with ``groups=C_in`` each
    filter reads one channel (depthwise).
    """
    ax.set_xlim(0, 1)
    ax.set_ylim(1, 0)
    ax.set_axis_off()
    ax.set_autoscale_on(False)
    links = PolyCollection([], edgecolors="none")
    channels = PolyCollection([], edgecolors="none")
    ax.add_collection(links)
    ax.add_collection(channels)
    view = ChannelGroupsView(ax, channels, links)
    view.update(result)
    return view



# --------------------------------------------------------------------------- the legend, inside the picture
def legend_handles(theme: Theme | None = None) -> list:
    """Proxy artists for every mark the input and output grids use, in the order of :func:`draw_legend`."""
    theme = theme or get_theme()
    colors = cell_colors(theme)
    lw = theme.line_scale

    def cell(kind: int, label: str) -> Patch:
        return Patch(facecolor=colors[kind], edgecolor=theme.grid_color, linewidth=0.6 * lw, label=label)

    def tap(filled: bool, label: str) -> Line2D:
        return Line2D([], [], ls="none", marker="s", ms=8 * lw ** 0.5, mew=1.8 * lw, mec=theme.accent,
                      mfc=theme.accent if filled else "none", label=label)

    return [
        cell(PIXEL, "input pixel"), cell(PADDING, "padding (zero)"), cell(INSERTED, "inserted zero"),
        cell(CROPPED, "cropped (p > d(k−1))"),
        Patch(facecolor="none", edgecolor="#333333", linewidth=2.0 * lw, label="input border"),
        Patch(facecolor="none", edgecolor="#555555", linestyle="--", linewidth=1.0 * lw, label="padded grid"),
        tap(True, "tap reading a pixel"), tap(False, "tap reading a zero"),
        Patch(facecolor="none", edgecolor=theme.accent, linestyle="--", linewidth=2.0 * lw, label="kernel footprint"),
        Patch(facecolor=mix(theme.accent, 0.8), edgecolor=theme.accent, linewidth=2 * lw, label="selected output"),
    ]


def draw_legend(fig: Figure, bbox: tuple[float, float, float, float], theme: Theme | None = None,
                ncol: int = 5) -> Legend:
    """The grids' legend drawn into ``fig`` (a static artist: a slide exported from the figure keeps it).

    Args:
        fig: the figure.
        bbox: ``(left, bottom, width, height)`` in figure coordinates of the legend's box.
        theme: sizes and colours; the global theme when None.
        ncol: columns of entries.
    """
    theme = theme or get_theme()
    return fig.legend(handles=legend_handles(theme), loc="center", bbox_to_anchor=bbox, ncol=ncol, frameon=False,
                      fontsize=theme.font_size - 2, handlelength=1.4, handletextpad=0.4, columnspacing=1.0,
                      borderaxespad=0.0, borderpad=0.1, labelspacing=0.3)


# --------------------------------------------------------------------------- transposed overlap (checkerboard)
def _overlap_scale(vmax: int, theme: Theme) -> tuple:
    """A discrete colormap with one colour per count 0..vmax, and its norm.

    A linear norm over ``[-0.5, vmax + 0.5]`` puts integer ``v`` in the middle of bin ``v``: the same
    picture as a ``BoundaryNorm`` at the integers, and a colour bar several times cheaper to draw.
    """
    return matplotlib.colormaps[theme.cmap].resampled(vmax + 1), Normalize(-0.5, vmax + 0.5)


@dataclass
class OverlapView:
    """A transposed convolution's overlap counts: heatmap, value labels, interior box, integer colour bar.

    The heatmap fills the unit square whatever the output size; the colour bar shows one colour per
    count from 0 to the largest count and changes only when that largest count changes. Every
    cell carries its count while the output is at most ``max_labels`` pixels on a side.

    Attributes:
        labels: the counts' glyphs, one path per cell, as one collection.
        shown: the label texts drawn, row by row (empty when the grid is too large for labels).
    """

    ax: Axes
    theme: Theme
    image: AxesImage
    labels: PathCollection
    interior: Rectangle
    colorbar: Colorbar
    max_labels: int
    label_size: float
    vmax: int = -1
    shown: list[str] = field(default_factory=list)

    @property
    def artists(self) -> list:
        """The artists :meth:`update` changes (the colour bar is static: see the return of update)."""
        return [self.image, self.interior, self.labels]

    def update(self, result: TransposedOverlap) -> bool:
        """Show ``result``'s counts.

        Returns:
            True when the colour range changed (the colour bar is static: a painter must redraw its background).
        """
        counts = result.counts.numpy()
        rows, cols = counts.shape
        cell = 1.0 / max(rows, cols)
        left, top = (1 - cols * cell) / 2, (1 - rows * cell) / 2
        self.image.set_data(counts)
        self.image.set_extent((left, left + cols * cell, top + rows * cell, top))
        vmax = max(1, int(counts.max()))
        changed = vmax != self.vmax
        if changed:  # the colour bar follows the image through its callbacks
            self.vmax = vmax
            cmap, norm = _overlap_scale(vmax, self.theme)
            self.image.set_cmap(cmap)
            self.image.set_norm(norm)
            ticks = MaxNLocator(integer=True, nbins=min(vmax + 1, 8)).tick_values(0, vmax)
            self.colorbar.set_ticks([int(t) for t in ticks if 0 <= t <= vmax])
        (y0, y1), (x0, x1) = result.interior
        self.interior.set_bounds(left + x0 * cell, top + y0 * cell, (x1 - x0) * cell, (y1 - y0) * cell)
        self.interior.set_visible(y1 > y0 and x1 > x0)
        self._update_labels(counts, left, top, cell)
        return changed

    def _update_labels(self, counts: np.ndarray, left: float, top: float, cell: float) -> None:
        rows, cols = counts.shape
        if max(rows, cols) > self.max_labels:
            self.shown = []
            self.labels.set_paths([])
            return
        self.shown = [str(int(v)) for v in counts.flatten()]
        scale = Affine2D().scale(self.ax.figure.dpi / 72)  # glyphs in points -> pixels
        self.labels.set_paths([scale.transform_path(label_outline(t, self.label_size)) for t in self.shown])
        r, c = np.divmod(np.arange(rows * cols), cols)
        self.labels.set_offsets(np.stack([left + (c + 0.5) * cell, top + (r + 0.5) * cell], -1))  # (rows*cols, 2)
        rgba = self.image.get_cmap()(self.image.norm(counts.flatten()))  # (rows*cols, 4)
        light = rgba[:, :3] @ np.array([0.299, 0.587, 0.114]) > 0.5
        self.labels.set_facecolor(np.where(light[:, None], to_rgba("black"), to_rgba("white")))


def draw_overlap(ax: Axes, cax: Axes, result: TransposedOverlap, theme: Theme | None = None,
                 max_labels: int = 13) -> OverlapView:
    """Draw the overlap counts of ``result`` in ``ax`` with an integer colour bar in ``cax``.

    Every cell is labelled with its count while the output is at most ``max_labels`` pixels on a
    side (larger grids keep the colour bar only: the labels would not fit). The dashed box is the
    interior, free of border effects (see :class:`~explainer.conv.TransposedOverlap`).
    """
    theme = theme or get_theme()
    unit_square(ax, frame=False)
    ax.set_axis_off()  # no ticks, no frame: nothing of the axes to draw on a redraw of the background
    cmap, norm = _overlap_scale(1, theme)
    image = ax.imshow(np.zeros((1, 1)), cmap=cmap, norm=norm, interpolation="nearest", extent=(0, 1, 1, 0),
                      zorder=1)
    ax.set_xlim(0, 1)  # imshow may have touched the limits
    ax.set_ylim(1, 0)
    interior = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, ls="--", lw=2.0 * theme.line_scale,
                                      ec=theme.accent, zorder=3))
    labels = PathCollection([], offsets=np.zeros((0, 2)), offset_transform=ax.transData, edgecolors="none",
                            transform=IdentityTransform(), zorder=4)  # glyphs in pixels, placed at data points
    ax.add_collection(labels, autolim=False)
    colorbar = Colorbar(cax, image, orientation="vertical")
    colorbar.minorticks_off()
    cax.tick_params(labelsize=theme.font_size - 2, length=3, pad=2)
    colorbar.set_label("taps landing on the pixel", fontsize=theme.font_size - 2, labelpad=4)
    view = OverlapView(ax=ax, theme=theme, image=image, labels=labels, interior=interior, colorbar=colorbar,
                       max_labels=max_labels, label_size=theme.font_size - 2)
    view.update(result)
    return view
