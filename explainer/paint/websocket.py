"""Send widget updates to the browser without Nagle's delay (the ``nodelay`` fast path).

tornado leaves Nagle's algorithm on for websockets, so a kernel message written right after another
small one (the kernel's "busy" status, then the new picture) can wait for the browser's delayed ACK
on roughly every other slider move (``benchmarks/browser_latency.py --stock-sockets`` measures that
case; docs/performance.md has the figures). ``make lab``, ``make demo`` and the browser tests load
``jupyter_config/`` (through ``JUPYTER_CONFIG_PATH``), whose server and Voila config files call
:func:`enable_websocket_nodelay`. It wraps tornado's ``WebSocketHandler.write_message`` and reads
its ``ws_connection`` attribute, which tornado does not document: hence the bounded tornado range.
"""

from __future__ import annotations

from explainer.paint._switch import enabled_fast_paths

__all__ = ["enable_websocket_nodelay"]


def enable_websocket_nodelay() -> bool:
    """Make every tornado websocket set TCP_NODELAY before its first message (idempotent).

    Returns:
        Whether the patch is in place: False when ``EXPLAINER_STOCK_PAINT`` turns ``nodelay`` off.
    """
    import tornado.websocket

    handler = tornado.websocket.WebSocketHandler
    if getattr(handler, "_explainer_nodelay", False):
        return True
    if "nodelay" not in enabled_fast_paths():
        return False
    original = handler.write_message

    def write_message(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if self.ws_connection is not None and not getattr(self, "_explainer_nodelay_set", False):
            self.set_nodelay(True)
            self._explainer_nodelay_set = True
        return original(self, *args, **kwargs)

    handler.write_message = write_message
    handler._explainer_nodelay = True
    return True
