"""Fixtures for the real-browser tests: Debian's Chromium through the Python playwright package.

Outside CI a machine without Chromium or playwright skips these tests, with the reason; in CI
(``CI=true``) a missing browser is a failure, so a broken install step cannot hide.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import chromium_problem, launch_chromium, start_lab, start_voila  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Screenshots the Voila tests keep (CI keeps this folder as artifacts; .ci/run prints where it is).
ARTIFACTS = Path(os.environ.get("EXPLAINER_ARTIFACTS") or ROOT / "artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"
PROJECTOR = {"width": 1280, "height": 720}  # a lecture-hall projector
DESKTOP = {"width": 1500, "height": 1100}  # the page the interaction tests were written for
# What the served copies' probe check cell prints; lecture mode must neither show nor run it.
CHECK_PROBE = "EXPLAINER-CHECK-CELL-SHOWN"


@pytest.fixture(scope="session")
def browser():
    problem = chromium_problem()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run in CI: {problem}")
        pytest.skip(f"browser tests need Chromium and playwright: {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


def _page(browser, tmp_path, request, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
    context.close()


@pytest.fixture
def page(browser, tmp_path, request):
    yield from _page(browser, tmp_path, request, DESKTOP)


@pytest.fixture
def projector_page(browser, tmp_path, request):
    """A 1280x720 page: what a lecture-hall projector shows."""
    yield from _page(browser, tmp_path, request, PROJECTOR)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def _serve(tmp_path_factory, start, probe: Path | None = None, **kwargs):
    """A server of one kind over a copy of the notebooks (the committed ones stay stripped). With
    ``probe``, each copy gets a check cell (tag ``check``) after its first cell that prints
    CHECK_PROBE and creates ``probe/<lesson>``: lecture mode must neither show nor run it."""
    root = tmp_path_factory.mktemp("notebooks")
    for path in NOTEBOOKS:
        if probe is None:
            shutil.copy(path, root / path.name)
            continue
        nb = json.loads(path.read_text())
        nb["cells"].insert(1, {
            "cell_type": "code", "execution_count": None, "metadata": {"tags": ["check"]}, "outputs": [],
            "source": f"print({CHECK_PROBE!r})\nopen({str(probe / path.stem)!r}, 'w').close()",
        })
        (root / path.name).write_text(json.dumps(nb))
    server = start(root, tmp_path_factory.mktemp("server"), **kwargs)
    server.root = root  # the served copies
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab per test module, on 127.0.0.1 with a random token."""
    yield from _serve(tmp_path_factory, start_lab)


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """One Voila per test module, on 127.0.0.1 with a random token, in lecture mode as `make demo`
    serves it: the project config and the presentation preset (EXPLAINER_PRESENTATION=1). Each
    served notebook carries a probe check cell (see _serve); ``voila.probe`` is its folder."""
    probe = tmp_path_factory.mktemp("check-probe")
    for server in _serve(tmp_path_factory, start_voila, probe=probe, env={"EXPLAINER_PRESENTATION": "1"}):
        server.probe = probe
        yield server
