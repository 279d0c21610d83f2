"""TCP_NODELAY on the servers' websockets: set once per connection, before its first message."""

from __future__ import annotations

import runpy
from pathlib import Path

import tornado.websocket
from traitlets.config import Config

from explainer.paint.websocket import enable_websocket_nodelay

ROOT = Path(__file__).resolve().parents[1]


class _Socket:
    ws_connection = object()

    def __init__(self):
        self.nodelay_calls = []

    def set_nodelay(self, value):
        self.nodelay_calls.append(value)


def _patched(monkeypatch):
    monkeypatch.delenv("EXPLAINER_STOCK_PAINT", raising=False)  # the patch is on unless stock mode says no
    sent = []
    handler = tornado.websocket.WebSocketHandler
    monkeypatch.setattr(handler, "write_message", lambda self, message, binary=False: sent.append(message))
    monkeypatch.setattr(handler, "_explainer_nodelay", False, raising=False)
    return handler, sent


def test_first_message_sets_nodelay_once_and_every_message_is_sent(monkeypatch):
    handler, sent = _patched(monkeypatch)
    enable_websocket_nodelay()
    enable_websocket_nodelay()  # idempotent: no double wrapping
    socket = _Socket()
    for message in ("busy", "picture", "idle"):
        handler.write_message(socket, message)
    assert socket.nodelay_calls == [True] and sent == ["busy", "picture", "idle"]


def test_closed_socket_is_left_alone(monkeypatch):
    handler, sent = _patched(monkeypatch)
    enable_websocket_nodelay()
    socket = _Socket()
    socket.ws_connection = None
    handler.write_message(socket, "late")
    assert socket.nodelay_calls == [] and sent == ["late"]


def test_project_config_files_enable_it(monkeypatch):
    for name in ("jupyter_server_config.py", "voila.py"):
        handler, _ = _patched(monkeypatch)
        runpy.run_path(str(ROOT / "jupyter_config" / name), init_globals={"c": Config()})
        assert handler._explainer_nodelay is True, name


def test_stock_mode_leaves_tornado_alone(monkeypatch):
    handler, sent = _patched(monkeypatch)
    original = handler.write_message
    monkeypatch.setenv("EXPLAINER_STOCK_PAINT", "nodelay")
    assert enable_websocket_nodelay() is False
    assert handler.write_message is original and handler._explainer_nodelay is False
    monkeypatch.setenv("EXPLAINER_STOCK_PAINT", "0")
    assert enable_websocket_nodelay() is True and handler.write_message is not original
