"""The painter: draw a figure's static parts once, then per frame only the artists that move, as PNG.

Tick labels and text layout are most of a full Agg draw (see ../shared/ARCHITECTURE.md), so a
slider move never redraws the axes: a :class:`Painter` keeps a copy of the rendered background
(every artist not marked animated), and for each frame restores it, draws the animated artists on
top with matplotlib's blitting API (``copy_from_bbox``, ``restore_region``, ``Artist.draw``) and
encodes the canvas as PNG. Where a fast path is on (:mod:`explainer.paint._switch`), heatmaps,
text and the PNG encoding take it, for the same picture (see :mod:`explainer.paint._images` for how
close the heatmaps come).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from explainer.paint import _images, _text
from explainer.paint._images import ImageDrawer
from explainer.paint._png import PngWriter
from explainer.paint._switch import enabled_fast_paths
from explainer.theme import Theme, get_theme

__all__ = ["new_figure", "Painter"]


def new_figure(width: float, height: float, dpi: int | None = None, theme: Theme | None = None) -> Figure:
    """Return a pyplot-free figure with an Agg canvas (nothing to close, nothing left open).

    Args:
        width: width in inches.
        height: height in inches.
        dpi: dots per inch; ``theme.dpi`` when None.
        theme: background, dpi and ``figure_scale`` (which multiplies width and height); the global
            theme (:func:`~explainer.theme.get_theme`) when None.

    Example:
        >>> new_figure(2, 1, dpi=50).canvas.get_width_height()
        (100, 50)
    """
    theme = theme or get_theme()
    size = (width * theme.figure_scale, height * theme.figure_scale)
    fig = Figure(figsize=size, dpi=dpi or theme.dpi, facecolor=theme.background)
    FigureCanvasAgg(fig)
    return fig


class Painter:
    """Blit animated artists over a kept background and return PNG frames.

    Animated artists are painted above every static artist, whatever their zorder (among
    themselves, in zorder), so views keep static frames and spines off the areas their animated
    artists cover. Everything an artist's public setters change shows in the next frame.

    Args:
        fig: the figure; its canvas is replaced by an Agg canvas of the painter's choice.
        compress_level: PNG deflate level (low: frames are encoded on every move).
        fast_paths: the fast paths to use (names from :data:`~explainer.paint.FAST_PATHS`); None for
            all but those the ``EXPLAINER_STOCK_PAINT`` environment variable turns off.

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

    def __init__(self, fig: Figure, compress_level: int = 1, *, fast_paths: Iterable[str] | None = None) -> None:
        self.fast_paths = enabled_fast_paths(fast_paths)
        text = "text" in self.fast_paths and _text.AVAILABLE
        (_text.TextCachingCanvas if text else FigureCanvasAgg)(fig)  # the figure's new canvas
        self.fig = fig
        self.canvas: FigureCanvasAgg = fig.canvas
        self._png = PngWriter("png" in self.fast_paths, compress_level)
        self._images = ImageDrawer() if "heatmap" in self.fast_paths and _images.AVAILABLE else None
        self._animated: list[Artist] = []
        self._background = None
        self.last_draw_ms = 0.0

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the PNG frames in pixels."""
        width, height = self.canvas.get_width_height()
        return int(width), int(height)

    def animate(self, *artists: Artist | Iterable[Artist]) -> None:
        """Mark artists as redrawn on every frame; everything else is static background.

        Each argument is an artist or an iterable of artists.
        """
        for item in artists:
            for artist in [item] if isinstance(item, Artist) else list(item):
                artist.set_animated(True)
                if artist not in self._animated:
                    self._animated.append(artist)
        self.invalidate()

    def invalidate(self) -> None:
        """Redraw the static background on the next frame (after changing limits, ticks, static text)."""
        self._background = None

    def frame(self) -> bytes:
        """Return the current picture as PNG bytes (``last_draw_ms``: the time :meth:`render` took)."""
        start = time.perf_counter()
        self.render()
        self.last_draw_ms = (time.perf_counter() - start) * 1e3
        return self.encode()

    def render(self) -> None:
        """Bring the canvas up to date: restore (or redraw) the background, then draw the animated artists."""
        if self._background is None:
            self._draw_background()
        else:
            self.canvas.restore_region(self._background)
        renderer = self.canvas.get_renderer()  # once per frame (Figure.draw_artist asks per artist)
        for artist in sorted(self._animated, key=lambda a: a.get_zorder()):
            if not artist.get_visible() or artist.figure is None:
                continue
            if self._images is not None and type(artist) is AxesImage and self._images.draw(artist, renderer):
                continue
            artist.draw(renderer)

    def _draw_background(self) -> None:
        """Draw everything but the animated artists and keep a copy.

        matplotlib before 3.11 draws animated images in a full draw too; hiding the animated artists
        for it keeps them out of the background on every version.
        """
        shown = [a for a in self._animated if a.get_visible()]
        for artist in shown:
            artist.set_visible(False)
        try:
            self.canvas.draw()
        finally:
            for artist in shown:
                artist.set_visible(True)
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)

    def encode(self) -> bytes:
        """The canvas as an RGBA PNG."""
        return self._png.encode(np.asarray(self.canvas.buffer_rgba()))

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
