"""Every notebook, run in JupyterLab in a real browser: every explorer renders, every slider and
clickable picture repaints, and nothing on the page shows an error."""

from __future__ import annotations

import pytest
from conftest import NOTEBOOKS, ROOT
from pages import (
    EXPLORER,
    change_every_choice,
    click_every_picture,
    move_every_slider,
    open_lab_notebook,
    page_problems,
    run_all_cells,
    wait_for_pictures,
)


def _shutdown_kernels(page, lab) -> None:
    for kernel in page.request.get(lab.url("api/kernels")).json():
        page.request.delete(lab.url(f"api/kernels/{kernel['id']}"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_every_control_repaints(page, lab, notebook):
    try:
        open_lab_notebook(page, lab, notebook.name)
        run_all_cells(page)
        count = wait_for_pictures(page)
        assert page_problems(page) == []
        explorers = page.locator(EXPLORER)
        assert explorers.count() == count >= 1
        moved = clicked = changed = 0
        for i in range(count):
            explorer = explorers.nth(i)
            explorer.scroll_into_view_if_needed()
            # Clicks first, in the state the lesson left: after every slider has moved one step the
            # stack may have a single output unit, where no click can change anything.
            clicked += click_every_picture(page, explorer, f"{notebook.stem} explorer {i}")
            moved += move_every_slider(page, explorer, f"{notebook.stem} explorer {i}")
            changed += change_every_choice(page, explorer, f"{notebook.stem} explorer {i}")
        assert moved + changed >= count, "every explorer has at least one control"
        assert page_problems(page) == [], lab.log_tail()
        print(f"{notebook.name}: {count} explorers, {moved} sliders moved, {changed} choices changed, "
              f"{clicked} pictures clicked")
    finally:
        _shutdown_kernels(page, lab)


def test_project_root_is_not_modified():
    """The browser run works on copies: committed notebooks stay stripped of outputs."""
    import json

    for path in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code"), path.name
