"""Lecture mode with its preheated kernels, as `make demo` serves it (the Makefile's DEMO_FLAGS): a
lesson clicked on the course page comes from the pool (run before the click) and its explorers still
answer the keyboard and the mouse: the widgets were built before the page connected to the kernel."""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from conftest import NOTEBOOKS, PROJECTOR
from harness import start_voila
from pages import (
    EXPLORER,
    change_every_choice,
    click_every_picture,
    move_every_slider,
    page_problems,
    wait_for_pictures,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_lecture_mode import demo_flags  # noqa: E402

LESSONS = [p for p in NOTEBOOKS if p.name.startswith(("01_", "04_"))]  # one plain, one with trained models


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebooks")
    for path in LESSONS:
        shutil.copy(path, root / path.name)
    server = start_voila(root, tmp_path_factory.mktemp("server"), env={"EXPLAINER_PRESENTATION": "1"},
                         args=demo_flags())
    deadline = time.monotonic() + 180
    while "Lecture mode is ready" not in server.log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"lecture mode never ready:\n{server.log_tail()}"
        time.sleep(0.5)
    yield server
    server.stop()


@pytest.mark.parametrize("notebook", LESSONS, ids=[p.stem for p in LESSONS])
def test_preheated_lesson_answers_every_control(browser, lecture, notebook):
    context = browser.new_context(viewport=PROJECTOR)
    page = context.new_page()
    try:
        page.goto(lecture.url(""))
        with page.expect_navigation(timeout=60_000):
            page.locator(f".course-lesson > a[href*='{notebook.name}']").first.click()
        count = wait_for_pictures(page, timeout=60)
        used = re.findall(r"Using pre-heated kernel: \S+ for (\S+)", lecture.log.read_text(errors="replace"))
        assert notebook.name in used, "the lesson was not served from the pool"
        explorers = page.locator(EXPLORER)
        for i in range(explorers.count()):
            explorer = explorers.nth(i)
            explorer.scroll_into_view_if_needed()
            label = f"preheated {notebook.stem} explorer {i}"
            click_every_picture(page, explorer, label)
            move_every_slider(page, explorer, label)
            change_every_choice(page, explorer, label)
        assert count >= 1 and page_problems(page) == [], lecture.log_tail()
    finally:
        context.close()
