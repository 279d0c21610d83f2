"""Lecture mode as `make demo` serves it, with its preheated kernels (Voila's pool, DEMO_FLAGS in the
Makefile): a lesson served from the pool was run in the presentation preset, with the project's
server config (its check cells neither shown nor run); the first fill runs the lessons in order and
the server says when each, and all, have run; the pool's refill runs at the lowest CPU priority
(jupyter_config/voila.py). Plain HTTP, no browser: Voila sends the executed cells' outputs in the
page itself."""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from harness import start_voila  # noqa: E402

LESSON = ROOT / "notebooks" / "01_convolution.ipynb"
CHECK_PROBE = "EXPLAINER-CHECK-CELL-RUN"
THEME_PROBE = "EXPLAINER-LECTURE-PROBE"


def demo_flags() -> list[str]:
    """The Voila options `make demo` adds (the Makefile's DEMO_FLAGS line)."""
    line = next(ln for ln in (ROOT / "Makefile").read_text().splitlines() if ln.startswith("DEMO_FLAGS"))
    return line.split(":=", 1)[1].split()


def _served_copy(root: Path, probe: Path) -> str:
    """Lesson 01 with a check cell that would print CHECK_PROBE and create ``probe``, and a last
    (untagged) cell that prints the theme and the pool marker the kernel was started with."""
    nb = json.loads(LESSON.read_text())
    nb["cells"].insert(1, {
        "cell_type": "code", "execution_count": None, "metadata": {"tags": ["check"]}, "outputs": [],
        "source": f"print({CHECK_PROBE!r})\nopen({str(probe)!r}, 'w').close()",
    })
    nb["cells"].append({
        "cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
        "source": "import os\nfrom explainer.theme import get_theme\n"
                  f"print({THEME_PROBE!r}, 'presentation=%s' % get_theme().presentation,"
                  " 'preheat=%s' % os.environ.get('VOILA_PREHEAT'))",
    })
    (root / LESSON.name).write_text(json.dumps(nb))
    return LESSON.name


def _wait_for_log(server, pattern: str, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, server.log.read_text(errors="replace"))
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"the server log never said {pattern!r} within {timeout:.0f} s:\n{server.log_tail()}")


def test_demo_preheats_every_lesson():
    flags = demo_flags()
    assert "--preheat_kernel=True" in flags and "--pool_size=1" in flags, flags


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the kernel's niceness from /proc")
def test_preheated_lesson_is_presented_without_check_cells(tmp_path):
    root, probe = tmp_path / "notebooks", tmp_path / "check-cell-ran"
    root.mkdir()
    name = _served_copy(root, probe)
    server = start_voila(root, tmp_path / "server", env={"EXPLAINER_PRESENTATION": "1"}, args=demo_flags())
    with server:
        # voila.py says when the first fill is done: the lesson has run in its pool kernel.
        _wait_for_log(server, r"Lecture mode is ready: all 1 lessons have run", timeout=120)
        with urllib.request.urlopen(server.url(f"voila/render/{name}"), timeout=180) as reply:
            page = reply.read().decode()
        assert "Using pre-heated kernel" in server.log_tail(20_000), "the lesson did not come from the pool"
        assert f"{THEME_PROBE} presentation=True preheat=True" in page, "the pool kernel ran without the preset"
        assert CHECK_PROBE not in page, "a check cell is shown in lecture mode"
        assert not probe.exists(), "a check cell was run in lecture mode"
        assert page.count("jp-CodeCell") >= 2, "the lesson's cells are not in the page"
        # Taking the pool's kernel starts its refill (Voila's fill_delay later), at the lowest priority.
        pid = int(_wait_for_log(server, r"refill kernel \(pid (\d+)\) runs at niceness 19", timeout=60).group(1))
        niceness = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
        assert niceness == 19, niceness


def test_first_fill_runs_the_lessons_in_order(tmp_path):
    """One lesson at a time (first_fill_parallel=1): each lesson has run before the next one's kernel
    starts, so the log names them in the course's order, and the last one ends the fill."""
    root = tmp_path / "notebooks"
    root.mkdir()
    names = ["c_first.ipynb", "a_second.ipynb", "b_third.ipynb"]  # written out of order
    for name in names:
        (root / name).write_text(json.dumps({
            "nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                                                            "display_name": "Python 3"}},
            "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                       "source": "import time\ntime.sleep(1.5)"}],
        }))
    args = [*demo_flags(), "--LectureKernelManager.first_fill_parallel=1"]
    with start_voila(root, tmp_path / "server", args=args) as server:
        _wait_for_log(server, r"Lecture mode is ready: all 3 lessons have run", timeout=120)
        log = server.log.read_text(errors="replace")
    ran = re.findall(r"\] (\S+) has run in its preheated kernel, (\d+) s after", log)
    assert [name for name, _ in ran] == sorted(names), ran
    seconds = [int(s) for _, s in ran]
    assert seconds == sorted(seconds) and seconds[-1] - seconds[0] >= 2, ran  # one after the other
