"""Which of the paint package's fast paths are on: the stock switch.

Every fast path that reaches into matplotlib's (or tornado's) private API, or that replaces one of
matplotlib's drawing steps by our own, has a name in :data:`FAST_PATHS`. The environment variable
``EXPLAINER_STOCK_PAINT`` turns them off:

* unset, empty or ``0``: all on (the default);
* ``1`` (or ``all``, ``true``, ``yes``, ``on``): all off, so that only public matplotlib API runs;
* a comma-separated list of names (``EXPLAINER_STOCK_PAINT=text,png``): those off, for measuring
  what one of them saves (``benchmarks/fast_paths.py``).

A :class:`~explainer.paint.Painter` reads the variable when it is made; the websocket patch when it
is enabled.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["FAST_PATHS", "ENV_VAR", "stock_paint", "enabled_fast_paths"]

ENV_VAR = "EXPLAINER_STOCK_PAINT"

FAST_PATHS: dict[str, str] = {
    "png": "PNG frames written by hand from the canvas rows and deflated by ISA-L (stock: Pillow's PNG writer)",
    "heatmap": "nearest-neighbour images resampled by a numpy lookup, their colours kept while unchanged "
               "(stock: AxesImage.draw)",
    "text": "text laid out once per string and style and its glyph bitmaps kept (stock: RendererAgg.draw_text); "
            "matplotlib 3.11 only",
    "nodelay": "TCP_NODELAY on the Jupyter server's websockets (stock: tornado's default, Nagle's algorithm on)",
}

_ALL = {"1", "all", "true", "yes", "on"}
_NONE = {"", "0", "false", "no", "off"}


def _disabled(value: str) -> frozenset[str]:
    value = value.strip().lower()
    if value in _NONE:
        return frozenset()
    if value in _ALL:
        return frozenset(FAST_PATHS)
    names = {name.strip() for name in value.split(",") if name.strip()}
    unknown = sorted(names - set(FAST_PATHS))
    if unknown:
        raise ValueError(f"{ENV_VAR} must be 0, 1 or a comma-separated list of fast paths from "
                         f"{sorted(FAST_PATHS)}; got {value!r} (unknown: {unknown})")
    return frozenset(names)


def enabled_fast_paths(only: Iterable[str] | None = None) -> frozenset[str]:
    """The fast paths to use: ``only`` (checked) when given, else all but those ``EXPLAINER_STOCK_PAINT`` turns off.

    Example:
        >>> sorted(enabled_fast_paths(["png"]))
        ['png']
    """
    if only is not None:
        names = frozenset(only)
        unknown = sorted(names - set(FAST_PATHS))
        if unknown:
            raise ValueError(f"fast_paths must name fast paths from {sorted(FAST_PATHS)}; got unknown {unknown}")
        return names
    return frozenset(FAST_PATHS) - _disabled(os.environ.get(ENV_VAR, ""))


def stock_paint() -> bool:
    """True when ``EXPLAINER_STOCK_PAINT`` turns every fast path off."""
    return not enabled_fast_paths()
