"""The lecture mode: Voila serves every lesson as an app (code hidden) from a landing page, and
its explorers repaint under the keyboard and the mouse exactly as in JupyterLab."""

from __future__ import annotations

import pytest
from conftest import NOTEBOOKS
from pages import EXPLORER, change_every_choice, click_every_picture, move_every_slider, page_problems, wait_for_pictures


def test_landing_page_lists_every_lesson(page, voila):
    page.goto(voila.url("voila/tree"))
    for path in NOTEBOOKS:
        page.get_by_text(path.name).first.wait_for(timeout=30_000)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lesson_app_hides_code_and_every_control_repaints(page, voila, notebook):
    page.goto(voila.url(f"voila/render/{notebook.name}"), timeout=120_000)
    count = wait_for_pictures(page, timeout=120)
    assert page.locator(".jp-InputArea-editor, .CodeMirror, .cm-editor").count() == 0, "code is shown"
    assert page_problems(page) == []
    explorers = page.locator(EXPLORER)
    for i in range(count):
        explorer = explorers.nth(i)
        explorer.scroll_into_view_if_needed()
        click_every_picture(page, explorer, f"voila {notebook.stem} explorer {i}")
        move_every_slider(page, explorer, f"voila {notebook.stem} explorer {i}")
        change_every_choice(page, explorer, f"voila {notebook.stem} explorer {i}")
    assert page_problems(page) == [], voila.log_tail()
