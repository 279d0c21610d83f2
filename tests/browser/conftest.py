"""Fixtures for the real-browser tests: Debian's Chromium through the Python playwright package.

Outside CI a machine without Chromium or playwright skips these tests, with the reason; in CI
(``CI=true``) a missing browser is a failure, so a broken install step cannot hide.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import chromium_problem, launch_chromium, start_lab, start_voila  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


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


@pytest.fixture
def page(browser, tmp_path, request):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def _serve(tmp_path_factory, start):
    """A server of one kind over a copy of the notebooks (the committed ones stay stripped)."""
    root = tmp_path_factory.mktemp("notebooks")
    for path in NOTEBOOKS:
        shutil.copy(path, root / path.name)
    server = start(root, tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab per test module, on 127.0.0.1 with a random token."""
    yield from _serve(tmp_path_factory, start_lab)


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """One Voila per test module, on 127.0.0.1 with a random token."""
    yield from _serve(tmp_path_factory, start_voila)
