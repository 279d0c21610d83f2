"""The paint layer: pictures of matplotlib figures, fast enough to follow a slider.

A :class:`Painter` draws a figure's static parts once and, for every move, only the artists that
change (blitting), and returns the picture as PNG bytes. Views never need to know how: they speak
public matplotlib (``imshow``, ``Rectangle``, ``Text``, ``set_data``), and every frame shows what
the artists' public state says.

This package is the only place in the project allowed to touch matplotlib's (or tornado's)
private API. Each such fast path has a name in :data:`FAST_PATHS`, is held by the tests to stock
matplotlib's pixels (exactly, but for a heatmap's cell border rounded one pixel the other way), and can be turned off with the ``EXPLAINER_STOCK_PAINT`` environment
variable (``1``: all off, so that only public API runs; or a comma-separated list of names).

Names are loaded lazily, so that ``explainer.paint.websocket`` (imported by the Jupyter server's
config) does not import matplotlib.
"""

from __future__ import annotations

from explainer._lazy import lazy_exports

_EXPORTS = {
    "Painter": "explainer.paint.painter",
    "new_figure": "explainer.paint.painter",
    "FAST_PATHS": "explainer.paint._switch",
    "ENV_VAR": "explainer.paint._switch",
    "enabled_fast_paths": "explainer.paint._switch",
    "stock_paint": "explainer.paint._switch",
    "enable_websocket_nodelay": "explainer.paint.websocket",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
