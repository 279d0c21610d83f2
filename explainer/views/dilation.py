"""Views for dilated and deformable convolution: kernel taps over a photo, coverage heatmaps of
stacked dilations, an offset field as arrows, feature maps and a map of how far learned taps spread.

Drawn for blitting: each ``draw_*`` fixes its axes once (limits, no ticks) and returns the artists
that its ``update_*`` changes with ``set_data`` / ``set_offsets`` / ``set_UVC``; nothing here
rebuilds axes on a move. The offset field's arrows are one compound path (:class:`OffsetArrows`),
the shape ``ax.quiver`` draws, built in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colorbar import Colorbar
from matplotlib.colors import FuncNorm, ListedColormap, Normalize, to_rgba
from matplotlib.markers import MarkerStyle
from matplotlib.image import AxesImage
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import IdentityTransform

from explainer.theme import Theme, get_theme
from explainer.views._common import image_array, pixel_axes, unit_square

__all__ = [
    "TapArtists",
    "draw_taps",
    "update_taps",
    "coverage_rgba",
    "draw_coverage",
    "update_coverage",
    "draw_coverage_scale",
    "ZoomArtists",
    "draw_zoom",
    "update_zoom",
    "OffsetArrows",
    "draw_offset_field",
    "update_offset_field",
    "draw_feature_map",
    "update_feature_map",
    "draw_feature_scale",
    "draw_unit_markers",
    "update_unit_markers",
    "draw_spread_map",
    "update_spread_map",
    "draw_spread_scale",
]


@dataclass
class TapArtists:
    """Artists of :func:`draw_taps`: the photo, the regular grid, the (deformed) mesh and taps, boxes, a label."""

    photo: AxesImage
    regular: LineCollection
    mesh: LineCollection
    taps: PathCollection
    selected: PathCollection
    footprint: Rectangle
    field: Rectangle
    label: Text

    @property
    def animated(self) -> list:
        return [self.regular, self.mesh, self.taps, self.selected, self.footprint, self.field, self.label]


def _mesh(points: np.ndarray, kernel_size: tuple[int, int]) -> np.ndarray:
    """Segments joining neighbouring taps along kernel rows and columns; points (K, 2) as (y, x)."""
    kh, kw = kernel_size
    grid = points[:, ::-1].reshape(kh, kw, 2)  # (kh, kw, 2) as (x, y) for matplotlib
    rows = np.stack([grid[:, :-1], grid[:, 1:]], axis=2).reshape(-1, 2, 2)  # (kh*(kw-1), 2, 2): (i, j) -> (i, j+1)
    cols = np.stack([grid[:-1], grid[1:]], axis=2).reshape(-1, 2, 2)  # ((kh-1)*kw, 2, 2): (i, j) -> (i+1, j)
    return np.concatenate([rows, cols])


def draw_taps(ax: Axes, image: torch.Tensor, positions: torch.Tensor, kernel_size: tuple[int, int], *,
              regular: torch.Tensor | None = None, theme: Theme | None = None) -> TapArtists:
    """The photo with the taps of one output unit: dots joined by the kernel's mesh.

    Args:
        image: ``(C, H, W)`` photo in [0, 1].
        positions: ``(K, 2)`` tap coordinates ``(y, x)`` (fractional for deformed taps).
        kernel_size: ``(kh, kw)``, to join the taps into a mesh.
        regular: optional ``(K, 2)`` undeformed taps, drawn as a faint mesh.
    """
    theme = theme or get_theme()
    height, width = image.shape[-2:]
    photo = ax.imshow(image_array(image), extent=(-0.5, width - 0.5, height - 0.5, -0.5), interpolation="nearest")
    pixel_axes(ax, height, width)
    lw = theme.line_scale
    artists = TapArtists(
        photo=photo,
        regular=ax.add_collection(LineCollection([], colors="white", linewidths=0.8 * lw, linestyles="--",
                                                 alpha=0.8), autolim=False),
        mesh=ax.add_collection(LineCollection([], colors=theme.accent, linewidths=1.2 * lw), autolim=False),
        taps=ax.scatter([], [], s=28 * lw, c=theme.accent, edgecolors="black", linewidths=0.6 * lw, zorder=5),
        selected=ax.scatter([], [], s=80 * lw, facecolors="none", edgecolors="white", linewidths=1.6 * lw, zorder=6),
        footprint=ax.add_patch(Rectangle((0, 0), 0, 0, fill=False, ec=theme.accent, lw=1.5 * lw, ls="--")),
        field=ax.add_patch(Rectangle((0, 0), 0, 0, fill=False, ec=theme.accent2, lw=1.5 * lw, ls=":")),
        label=ax.text(0.02, 0.02, "", transform=ax.transAxes, fontsize=theme.font_size - 1, color="white",
                      bbox=dict(fc="black", alpha=0.55, lw=0, pad=2)),
    )
    update_taps(artists, positions, kernel_size, regular=regular)
    return artists


def update_taps(artists: TapArtists, positions: torch.Tensor, kernel_size: tuple[int, int], *,
                regular: torch.Tensor | None = None, alpha: torch.Tensor | None = None, selected: int | None = None,
                footprint: tuple[float, float, float, float] | None = None,
                field: tuple[float, float, float, float] | None = None, label: str = "") -> None:
    """Move the taps.

    Args:
        positions: ``(K, 2)`` taps ``(y, x)``.
        regular: ``(K, 2)`` undeformed taps (faint mesh) or None to hide it.
        alpha: ``(K,)`` per-tap opacity in [0, 1] (the DCNv2 mask) or None for opaque taps.
        selected: index of a tap to ring, or None.
        footprint, field: ``(y0, x0, y1, x1)`` inclusive pixel boxes (dashed, dotted) or None to hide.
        label: short text in the lower-left corner.
    """
    points = positions.detach().double().cpu().numpy()  # (K, 2)
    artists.taps.set_offsets(points[:, ::-1])
    colors = np.tile(np.array(to_rgba(artists.taps.get_facecolor()[0] if len(artists.taps.get_facecolor())
                                      else "orange")), (len(points), 1))
    colors[:, 3] = 1.0 if alpha is None else np.clip(alpha.detach().double().cpu().numpy(), 0.05, 1.0)
    artists.taps.set_facecolor(colors)
    artists.mesh.set_segments(_mesh(points, kernel_size))
    artists.regular.set_segments([] if regular is None else _mesh(regular.detach().double().cpu().numpy(),
                                                                  kernel_size))
    artists.selected.set_offsets(np.zeros((0, 2)) if selected is None else points[selected:selected + 1, ::-1])
    for rect, box in ((artists.footprint, footprint), (artists.field, field)):
        rect.set_visible(box is not None)
        if box is not None:
            y0, x0, y1, x1 = box
            rect.set_bounds(x0 - 0.5, y0 - 0.5, x1 - x0 + 1, y1 - y0 + 1)
    artists.label.set_text(label)
    artists.label.set_visible(bool(label))


HOLE_COLOUR = "#f08080"
# Coverage colours: the share of the panel's largest path count, on a square-root scale, drawn from
# the colormap above its darkest 15% (so a single path still shows against the background).
_COVERAGE_FLOOR = 0.15


def coverage_rgba(coverage: torch.Tensor, size: int, cmap: str, hole: str = HOLE_COLOUR) -> np.ndarray:
    """``(R_h, R_w)`` path counts centred in a ``size x size`` uint8 RGBA array: zeros inside the field
    in ``hole``, counts on a square-root colour scale, outside the field transparent."""
    counts = coverage.detach().double().cpu().numpy()
    h, w = counts.shape
    if h > size or w > size:
        raise ValueError(f"coverage {counts.shape} does not fit in size {size}")
    level = np.sqrt(counts / counts.max()) if counts.max() > 0 else counts
    rgba = colormaps[cmap](_COVERAGE_FLOOR + (1 - _COVERAGE_FLOOR) * level, bytes=True)  # (h, w, 4) uint8: cheaper to resample
    rgba[counts == 0] = np.round(np.array(to_rgba(hole)) * 255).astype(np.uint8)
    out = np.zeros((size, size, 4), dtype=np.uint8)
    top, left = (size - h) // 2, (size - w) // 2
    out[top:top + h, left:left + w] = rgba
    return out


def draw_coverage(ax: Axes, coverage: torch.Tensor, size: int, *, theme: Theme | None = None
                  ) -> tuple[AxesImage, Text]:
    """A coverage heatmap (:func:`~explainer.sampling.stacked_coverage`) in a fixed unit-square frame.

    The array may change size between updates; it always fills the same square, so two panels
    drawn with the same ``size`` compare cell for cell. Returns the image and a title text.
    """
    theme = theme or get_theme()
    unit_square(ax)
    image = ax.imshow(coverage_rgba(coverage, size, theme.cmap), extent=(0, 1, 1, 0), interpolation="nearest")
    title = ax.text(0.5, 1.01, "", transform=ax.transAxes, ha="center", va="bottom", fontsize=theme.font_size)
    return image, title


def update_coverage(image: AxesImage, coverage: torch.Tensor, size: int, cmap: str | None = None) -> None:
    """Show new counts in an image drawn by :func:`draw_coverage`."""
    image.set_data(coverage_rgba(coverage, size, cmap or get_theme().cmap))


def draw_coverage_scale(cax: Axes, *, theme: Theme | None = None, hole: str = HOLE_COLOUR) -> Colorbar:
    """The key of :func:`coverage_rgba`: a colourbar of paths as a share of the panel's most (square-root
    scale), with the hole colour (0 paths) in the triangle below it. Static: draw it once."""
    theme = theme or get_theme()
    base = colormaps[theme.cmap]
    cmap = ListedColormap(base(np.linspace(_COVERAGE_FLOOR, 1, 256))).with_extremes(under=hole)
    norm = FuncNorm((lambda v: np.sign(v) * np.sqrt(np.abs(v)), lambda u: np.sign(u) * np.square(u)), vmin=0.0,
                    vmax=1.0)  # odd, so that values below 0 map below 0: the hole colour
    bar = cax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, extend="min", extendfrac=0.12,
                              ticks=[0.05, 0.25, 0.5, 1.0])
    bar.ax.set_yticklabels(["5%", "25%", "50%", "100%"])
    bar.ax.tick_params(labelsize=theme.font_size, length=2, pad=1)
    bar.set_label("paths (% of panel's most)", fontsize=theme.font_size, labelpad=2)
    bar.ax.text(0.0, -0.15, "0: hole", transform=bar.ax.transAxes, ha="left", va="top", fontsize=theme.font_size)
    return bar


@dataclass
class ZoomArtists:
    """Artists of :func:`draw_zoom`: the magnified crop of the photo and the taps over it.

    Attributes:
        taps: the crop (``taps.photo``) and the taps, in crop coordinates.
        half: the crop is ``2 half + 1`` pixels square.
        padded: ``(H + 2 half, W + 2 half, 3)`` photo with ``half`` black pixels around it, cut once.
    """

    taps: TapArtists
    half: int
    padded: np.ndarray

    @property
    def animated(self) -> list:
        return [self.taps.photo, *self.taps.animated]


def draw_zoom(ax: Axes, image: torch.Tensor, half: int, kernel_size: tuple[int, int], *,
              theme: Theme | None = None) -> ZoomArtists:
    """A magnified ``(2 half + 1)``-pixel square of ``image (C, H, W)`` around one unit, for taps that
    overlap at full size.

    The axes keep fixed limits; :func:`update_zoom` swaps the crop and moves the taps, so a new unit
    repaints only these artists. Pixels beyond the image show the zero padding (black).
    """
    theme = theme or get_theme()
    side = 2 * half + 1
    padded = np.pad(image_array(image), ((half, half), (half, half), (0, 0)))  # (H + 2 half, W + 2 half, 3)
    taps = draw_taps(ax, image.new_zeros(image.shape[0], side, side), image.new_zeros(kernel_size[0] * kernel_size[1], 2),
                     kernel_size, theme=theme)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_edgecolor(theme.accent)
        spine.set_linestyle("--")
        spine.set_linewidth(1.5 * theme.line_scale)
    return ZoomArtists(taps=taps, half=half, padded=padded)


def update_zoom(zoom: ZoomArtists, unit: tuple[int, int], positions: torch.Tensor, kernel_size: tuple[int, int], *,
                regular: torch.Tensor | None = None, alpha: torch.Tensor | None = None,
                selected: int | None = None) -> None:
    """Show the square centred on ``unit (y, x)`` with the taps ``positions (K, 2)`` (photo coordinates)
    over it; ``regular``, ``alpha`` and ``selected`` as for :func:`update_taps`."""
    (uy, ux), side = unit, 2 * zoom.half + 1
    zoom.taps.photo.set_data(zoom.padded[uy:uy + side, ux:ux + side])  # rows uy - half .. uy + half of the photo
    origin = positions.new_tensor([uy - zoom.half, ux - zoom.half])
    update_taps(zoom.taps, positions - origin, kernel_size, alpha=alpha, selected=selected,
                regular=None if regular is None else regular - origin)


class OffsetArrows(PathPatch):
    """Arrows from tails ``XY (N, 2)`` by ``(U, V)`` in data units, as a single compound path.

    The shape is ``ax.quiver(x, y, u, v, angles="xy", scale_units="xy", scale=1)``'s (matplotlib's
    ``Quiver._h_arrows``: shaft, head, arrows shorter than the head shrunk whole, arrows shorter than
    ``minlength`` widths drawn as a dot), with sizes in data units instead of axes widths. A quiver
    builds one ``Path`` object per arrow on every draw; here the numpy vertices of all arrows go into
    one path.

    Attributes:
        XY: ``(N, 2)`` arrow tails ``(x, y)``.
        U, V: ``(N,)`` arrow components along x and y (data units).
        width: shaft width in data units; ``headwidth``, ``headlength``, ``headaxislength`` and
            ``minlength`` are multiples of it, as for a quiver.
    """

    _CODES = np.array([Path.MOVETO] + [Path.LINETO] * 6 + [Path.CLOSEPOLY], dtype=Path.code_type)

    def __init__(self, xy: np.ndarray, u: np.ndarray, v: np.ndarray, *, width: float, headwidth: float = 3.0,
                 headlength: float = 5.0, headaxislength: float = 4.5, minlength: float = 1.0, **kwargs) -> None:
        self.width, self.headwidth, self.headlength = float(width), float(headwidth), float(headlength)
        self.headaxislength, self.minlength = float(headaxislength), float(minlength)
        self.XY = np.asarray(xy, float).reshape(-1, 2)
        self.U, self.V = np.asarray(u, float).ravel(), np.asarray(v, float).ravel()
        super().__init__(self._arrow_path(), **kwargs)
        self._outdated = False

    def set_offsets(self, xy: np.ndarray) -> None:
        """Move the tails to ``xy (N, 2)``."""
        self.XY = np.asarray(xy, float).reshape(-1, 2)
        self._outdated = self.stale = True

    def set_UVC(self, u: np.ndarray, v: np.ndarray) -> None:  # noqa: N802 - Quiver's name
        """New arrow components (one per tail)."""
        self.U, self.V = np.asarray(u, float).ravel(), np.asarray(v, float).ravel()
        self._outdated = self.stale = True

    def get_path(self) -> Path:
        """The arrows' compound path, rebuilt once after any number of ``set_offsets`` / ``set_UVC``."""
        if self._outdated:
            self.set_path(self._arrow_path())
            self._outdated = False
        return super().get_path()

    def _arrow_path(self) -> Path:
        if not len(self.XY) == len(self.U) == len(self.V):
            raise ValueError(f"XY, U and V must have one row per arrow, got {len(self.XY)}, {len(self.U)}, "
                             f"{len(self.V)}")
        x, y = self._outlines(np.hypot(self.U, self.V) / self.width)  # (N, 8) in widths, arrow along +x
        angle = np.arctan2(self.V, self.U)[:, None]
        cos, sin = np.cos(angle), np.sin(angle)
        verts = np.empty((len(self.XY), 8, 2))
        verts[..., 0] = self.XY[:, :1] + self.width * (x * cos - y * sin)
        verts[..., 1] = self.XY[:, 1:] + self.width * (x * sin + y * cos)
        return Path(verts.reshape(-1, 2), np.tile(self._CODES, len(self.XY)))

    def _outlines(self, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matplotlib's quiver outlines, pivot at the tail: ``(N, 8)`` x and y, in shaft widths."""
        length = np.clip(length, 0, 2 ** 16)[:, None]
        order = [0, 1, 2, 3, 2, 1, 0, 0]
        side = np.array([1, 1, 1, 0, -1, -1, -1, -1], float)  # upper half, tip, lower half mirrored
        half = 0.5 * np.array([1, 1, self.headwidth, 0])[order] * side  # (8,)
        x = np.array([0, -self.headaxislength, -self.headlength, 0])[order] + np.array([0, 1, 1, 1])[order] * length
        y = np.broadcast_to(half, x.shape).copy()
        shaftless = self.headlength  # quiver's minshaft (1) x headlength: shorter arrows shrink whole
        short = np.broadcast_to(length < shaftless, x.shape)
        x0 = (np.array([0, shaftless - self.headaxislength, shaftless - self.headlength, shaftless])[order]
              * length / shaftless)
        np.copyto(x, x0, where=short)
        np.copyto(y, half * length / shaftless, where=short)
        dot = np.broadcast_to(length < self.minlength, x.shape)  # a hexagonal dot of minlength widths
        theta = -np.arange(8) * np.pi / 3  # clockwise like the arrows: overlaps fill, never cancel
        np.copyto(x, np.broadcast_to(0.5 * self.minlength * np.cos(theta), x.shape), where=dot)
        np.copyto(y, np.broadcast_to(0.5 * self.minlength * np.sin(theta), x.shape), where=dot)
        return x, y


def draw_offset_field(ax: Axes, image: torch.Tensor, points: torch.Tensor, offsets: torch.Tensor, *,
                      theme: Theme | None = None) -> OffsetArrows:
    """Arrows from regular tap positions ``points (N, 2)`` by ``offsets (N, 2)`` (both ``(y, x)``, pixels),
    over a faded photo, on a true pixel scale (an arrow ends where the tap moved to)."""
    theme = theme or get_theme()
    height, width = image.shape[-2:]
    ax.imshow(image_array(image, fade=0.6), extent=(-0.5, width - 0.5, height - 0.5, -0.5), interpolation="nearest")
    pixel_axes(ax, height, width)
    p = points.detach().double().cpu().numpy()
    o = offsets.detach().double().cpu().numpy()
    arrows = OffsetArrows(p[:, ::-1], o[:, 1], o[:, 0], width=0.009 * width, headwidth=3.5, headlength=3.5,
                          headaxislength=3, facecolor=theme.accent, edgecolor="none", linewidth=0)
    ax.add_patch(arrows)
    return arrows


def update_offset_field(arrows: OffsetArrows, offsets: torch.Tensor) -> None:
    """New ``(N, 2)`` offsets ``(dy, dx)`` for the arrows drawn by :func:`draw_offset_field`."""
    o = offsets.detach().double().cpu().numpy()
    arrows.set_UVC(o[:, 1], o[:, 0])


def draw_feature_map(ax: Axes, fmap: torch.Tensor, vmax: float, *, theme: Theme | None = None) -> AxesImage:
    """A ``(H, W)`` signed feature map on the diverging colormap with fixed limits ``[-vmax, vmax]``."""
    theme = theme or get_theme()
    height, width = fmap.shape
    image = ax.imshow(fmap.detach().cpu().numpy(), cmap=theme.diverging_cmap, vmin=-vmax, vmax=vmax,
                      extent=(-0.5, width - 0.5, height - 0.5, -0.5), interpolation="nearest")
    pixel_axes(ax, height, width)
    return image


def update_feature_map(image: AxesImage, fmap: torch.Tensor, vmax: float | None = None) -> None:
    """Show a new ``(H, W)`` map (same size) in an image drawn by :func:`draw_feature_map`, with the
    colour limits ``[-vmax, vmax]`` when ``vmax`` is given (else they stay).
    """
    if vmax is not None:
        image.set_clim(-vmax, vmax)
    image.set_data(fmap.detach().cpu().numpy())


def draw_feature_scale(cax: Axes, image: AxesImage, *, theme: Theme | None = None, label: str = "y") -> Colorbar:
    """A colourbar for feature maps drawn by :func:`draw_feature_map` (their shared, fixed limits), with
    ``label`` above it; arrows at both ends say that values beyond the limits saturate. Static: draw it once."""
    theme = theme or get_theme()
    norm = Normalize(*image.get_clim())
    bar = cax.figure.colorbar(ScalarMappable(norm=norm, cmap=image.get_cmap()), cax=cax, extend="both",
                              extendfrac=0.06)
    bar.ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))  # short labels: the bar sits at the edge
    bar.ax.tick_params(labelsize=theme.font_size, length=2, pad=1)
    bar.ax.set_title(label, fontsize=theme.font_size, pad=4)
    return bar


def draw_unit_markers(axes: list[Axes], *, theme: Theme | None = None) -> PathCollection:
    """Hollow squares marking one unit on each of ``axes`` (maps of the same size), as one artist.

    One collection placed in figure coordinates draws in one call what a ``Line2D`` marker per axes
    draws in several, and stays in place in exports at another dpi.
    The markers are not clipped to their axes. Place them with :func:`update_unit_markers`.
    """
    theme = theme or get_theme()
    if not axes:
        raise ValueError("axes must name at least one Axes, got none")
    fig = axes[0].figure
    square = MarkerStyle("s")
    markers = PathCollection([square.get_path().transformed(square.get_transform())],
                             sizes=[(6 * theme.line_scale) ** 2], facecolors="none", edgecolors="black",
                             linewidths=1.5 * theme.line_scale, offsets=np.zeros((len(axes), 2)),
                             offset_transform=fig.transFigure)
    markers.set_transform(IdentityTransform())  # sizes in points, as scatter's (add_artist would set transFigure)
    return fig.add_artist(markers)


def update_unit_markers(markers: PathCollection, axes: list[Axes], unit: tuple[int, int]) -> None:
    """Centre the markers on unit ``(row, col)`` (data ``x = col, y = row``) of each of ``axes``."""
    to_figure = markers.get_offset_transform().inverted()
    display = np.array([ax.transData.transform((unit[1], unit[0])) for ax in axes])  # (len(axes), 2)
    markers.set_offsets(to_figure.transform(display))


def draw_spread_map(ax: Axes, spread: torch.Tensor, image_size: tuple[int, int], vmax: float, *,
                    theme: Theme | None = None) -> tuple[AxesImage, AxesImage]:
    """A ``(h, w)`` map of tap spreads (pixels, sequential colours over ``[0, vmax]``) stretched over an image of
    ``image_size`` (so that image coordinates place markers and clicks), and an empty outline layer above it
    for :func:`update_spread_map`. Returns ``(map, outline)``."""
    theme = theme or get_theme()
    height, width = image_size
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    image = ax.imshow(spread.detach().cpu().numpy(), cmap=theme.cmap, vmin=0.0, vmax=vmax, extent=extent,
                      interpolation="nearest")
    outline = ax.imshow(np.zeros((height, width, 4)), extent=extent, interpolation="nearest")
    pixel_axes(ax, height, width)
    return image, outline


def update_spread_map(image: AxesImage, outline: AxesImage, spread: torch.Tensor, mask: torch.Tensor | None = None
                      ) -> None:
    """Show a new ``(h, w)`` spread map and the edge of the ``(H, W)`` boolean ``mask`` in white (none if None)."""
    image.set_data(spread.detach().cpu().numpy())
    rgba = np.zeros((*outline.get_array().shape[:2], 4))
    if mask is not None:
        m = mask.detach().cpu().numpy().astype(bool)
        inner = m.copy()  # pixels whose four neighbours are all on the object
        inner[1:, :] &= m[:-1, :]
        inner[:-1, :] &= m[1:, :]
        inner[:, 1:] &= m[:, :-1]
        inner[:, :-1] &= m[:, 1:]
        rgba[m & ~inner] = (1.0, 1.0, 1.0, 1.0)
    outline.set_data(rgba)


def draw_spread_scale(cax: Axes, image: AxesImage, *, theme: Theme | None = None, label: str = "px") -> Colorbar:
    """A colourbar for :func:`draw_spread_map` (fixed limits; values above saturate). Static: draw it once."""
    theme = theme or get_theme()
    bar = cax.figure.colorbar(ScalarMappable(norm=Normalize(*image.get_clim()), cmap=image.get_cmap()), cax=cax,
                              extend="max", extendfrac=0.06)
    bar.ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    bar.ax.tick_params(labelsize=theme.font_size, length=2, pad=1)
    bar.ax.set_title(label, fontsize=theme.font_size, pad=4)
    return bar
