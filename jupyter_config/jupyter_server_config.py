# Loaded by `make lab`, `make demo` and the browser tests through JUPYTER_CONFIG_PATH.
# Widget updates reach the browser without Nagle's ~40 ms delay (see explainer/paint/websocket.py).
from explainer.paint.websocket import enable_websocket_nodelay

enable_websocket_nodelay()
