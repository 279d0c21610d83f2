"""Send widget updates to the browser without Nagle's delay.

tornado leaves Nagle's algorithm on for websockets, so a kernel message written right after another
small one (the kernel's "busy" status, then the new picture) can wait for the browser's delayed ACK:
about 40 ms on Linux, on roughly every other slider move. Measured with
``benchmarks/browser_latency.py`` on the 2-core machine: the floor case (a pre-encoded PNG swapped
by a slider) fell from 66 to 32 ms p50 in JupyterLab once TCP_NODELAY was set on the websockets.

``make lab``, ``make demo`` and the browser tests load ``jupyter_config/`` (through
``JUPYTER_CONFIG_PATH``), whose server and Voila config files call :func:`enable_websocket_nodelay`.
"""

from __future__ import annotations

__all__ = ["enable_websocket_nodelay"]


def enable_websocket_nodelay() -> None:
    """Make every tornado websocket set TCP_NODELAY before its first message (idempotent)."""
    import tornado.websocket

    handler = tornado.websocket.WebSocketHandler
    if getattr(handler, "_explainer_nodelay", False):
        return
    original = handler.write_message

    def write_message(self, *args, **kwargs):
        if self.ws_connection is not None and not getattr(self, "_explainer_nodelay_set", False):
            self.set_nodelay(True)
            self._explainer_nodelay_set = True
        return original(self, *args, **kwargs)

    handler.write_message = write_message
    handler._explainer_nodelay = True
