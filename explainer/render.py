"""The paint layer: draw a figure's static parts once, then blit only what changed into PNG bytes.

Why (measured, see ../shared/ARCHITECTURE.md): tick labels and text layout are two thirds of a full
Agg draw, so a slider move must never rebuild the figure or redraw its axes. A :class:`Painter`
keeps a copy of the rendered background (everything not marked animated) and, per frame, restores
it, draws the animated artists on top and encodes the canvas with Pillow at low compression.
Nothing here touches pyplot, so no figure is ever left open.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from explainer.theme import Theme, get_theme

__all__ = ["new_figure", "Painter"]


def new_figure(width: float, height: float, dpi: int | None = None, theme: Theme | None = None) -> Figure:
    """Return a pyplot-free figure with an Agg canvas.

    Args:
        width: width in inches.
        height: height in inches.
        dpi: dots per inch; ``theme.dpi`` when None.
        theme: background, dpi and ``figure_scale`` (which multiplies width and height); the global
            theme (:func:`~explainer.theme.get_theme`) when None.
    """
    theme = theme or get_theme()
    size = (width * theme.figure_scale, height * theme.figure_scale)
    fig = Figure(figsize=size, dpi=dpi or theme.dpi, facecolor=theme.background)
    FigureCanvasAgg(fig)
    return fig


class Painter:
    """Blit animated artists over a cached background and return PNG frames.

    Animated artists are painted above every static artist, whatever their zorder, so views keep
    static frames and spines off the areas their animated artists cover.

    Example:
        >>> fig = new_figure(2, 2)
        >>> ax = fig.add_subplot()
        >>> (line,) = ax.plot([0, 1], [0, 1])
        >>> painter = Painter(fig)
        >>> painter.animate(line)
        >>> png = painter.frame()
        >>> png[:4] == b"\\x89PNG"
        True
    """

    def __init__(self, fig: Figure, compress_level: int = 1) -> None:
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        self.fig = fig
        self.canvas: FigureCanvasAgg = fig.canvas
        self.compress_level = compress_level
        self._animated: list[Artist] = []
        self._background = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the PNG frames in pixels."""
        width, height = self.canvas.get_width_height()
        return int(width), int(height)

    def animate(self, *artists: Artist | Iterable[Artist]) -> None:
        """Mark artists as redrawn on every frame; everything else is static background."""
        for item in artists:
            group = [item] if isinstance(item, Artist) else list(item)
            for artist in group:
                artist.set_animated(True)
                if artist not in self._animated:
                    self._animated.append(artist)
        self.invalidate()

    def invalidate(self) -> None:
        """Redraw the static background on the next frame (after changing limits, ticks, static text)."""
        self._background = None

    def frame(self) -> bytes:
        """Return the current picture as PNG bytes."""
        self.render()
        return self.encode()

    def render(self) -> None:
        """Bring the canvas up to date: restore (or redraw) the background, then draw animated artists."""
        if self._background is None:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in sorted(self._animated, key=lambda a: a.get_zorder()):
            if artist.get_visible() and artist.figure is not None:
                self.fig.draw_artist(artist)

    def encode(self) -> bytes:
        """Encode the canvas as RGB PNG (no alpha: smaller and faster to decode)."""
        # frombuffer wraps Agg's buffer without a copy; dropping alpha in Pillow is cheaper than
        # handing it a non-contiguous numpy view (measured: 5.4 vs 6.9 ms at 800x420).
        image = Image.frombuffer("RGBA", self.size, self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        image.convert("RGB").save(out, format="png", compress_level=self.compress_level)
        return out.getvalue()

    def pixel_to_data(self, ax: Axes, px: float, py: float) -> tuple[float, float] | None:
        """Map PNG pixel coordinates (origin top-left) to ``ax``'s data coordinates.

        Returns None when the point lies outside ``ax``. ipyevents reports clicks on an
        ``ipywidgets.Image`` as ``dataX``/``dataY`` in exactly these PNG pixel coordinates.
        """
        _, height = self.size
        display = (float(px), float(height) - float(py))
        if not ax.bbox.contains(*display):
            return None
        x, y = ax.transData.inverted().transform(display)
        return float(x), float(y)

    def data_to_pixel(self, ax: Axes, x: float, y: float) -> tuple[float, float]:
        """Inverse of :meth:`pixel_to_data`: where data point (x, y) of ``ax`` lands in the PNG."""
        _, height = self.size
        dx, dy = ax.transData.transform((float(x), float(y)))
        return float(dx), float(height) - float(dy)
