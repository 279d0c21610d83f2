"""Start JupyterLab / Voila on 127.0.0.1 with a random token, drive them with Debian's Chromium.

Shared by the browser tests (tests/browser/) and the latency benchmark (benchmarks/). Every server
gets private config, runtime, settings and workspace directories, runs in its own process group,
and is stopped by that PID / group id, never by name.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path(os.environ.get("EXPLAINER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
BIN = Path(sys.executable).parent
PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "jupyter_config"

__all__ = ["Server", "start_lab", "start_voila", "launch_chromium", "CHROMIUM", "chromium_problem"]


def chromium_problem() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the Python package 'playwright' is not installed (it is in the test extra)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
    return None


@dataclass
class Server:
    """A running Jupyter server; ``url(path)`` adds the token."""

    process: subprocess.Popen
    port: int
    token: str
    base: Path
    log: Path

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}{sep}token={self.token}"

    def stop(self) -> None:
        """Terminate the server's whole process group (it and its kernels) by its PID."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        try:  # kernels the server failed to shut down share its process group
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _private_env(base: Path, project_config: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
    settings = base / "lab-settings"
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    # No news or update pop-ups over the notebook (they would also try to reach the network).
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        IPYTHONDIR=str(base / "ipython"),
        MPLBACKEND="Agg",
        PYTHONUNBUFFERED="1",
    )
    env.pop("JUPYTER_CONFIG_PATH", None)
    if project_config:  # what make lab / make demo load: TCP_NODELAY websockets
        env["JUPYTER_CONFIG_PATH"] = str(PROJECT_CONFIG)
    env.update(extra or {})
    return env


def _start(argv: list[str], base: Path, port: int, token: str, timeout: float, project_config: bool,
           env: dict[str, str] | None = None) -> Server:
    base.mkdir(parents=True, exist_ok=True)
    log = base / "server.log"
    process = subprocess.Popen(
        argv, env=_private_env(base, project_config, env), stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(process, port, token, base, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not listen on 127.0.0.1:{port} within {timeout:.0f} s:\n{server.log_tail()}")


def _root_flag() -> list[str]:
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def start_lab(root: Path, base: Path, timeout: float = 90, project_config: bool = True,
              env: dict[str, str] | None = None) -> Server:
    """JupyterLab serving ``root`` on a free 127.0.0.1 port with a random token."""
    port, token = _free_port(), secrets.token_hex(24)
    argv = [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", *_root_flag()]
    return _start(argv, base, port, token, timeout, project_config, env)


def start_voila(root: Path, base: Path, timeout: float = 90, project_config: bool = True,
                env: dict[str, str] | None = None, args: list[str] = ()) -> Server:
    """Voila serving the notebooks in ``root`` (tree page + one app per notebook); ``env`` adds
    environment variables, e.g. EXPLAINER_PRESENTATION=1 as `make demo` sets, ``args`` options
    (e.g. the Makefile's DEMO_FLAGS: preheated kernels)."""
    port, token = _free_port(), secrets.token_hex(24)
    argv = [str(BIN / "voila"), str(root), "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
            f"--token={token}", *args]
    return _start(argv, base, port, token, timeout, project_config, env)


def launch_chromium(playwright, **kwargs):
    """Debian's Chromium, headless, through the Python playwright package (no downloaded browser)."""
    profile = kwargs.pop("user_data_dir", None)
    if profile:
        shutil.rmtree(profile, ignore_errors=True)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, **kwargs)
