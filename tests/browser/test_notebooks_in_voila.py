"""The lecture mode, as `make demo` serves it (project config, presentation preset): Voila opens on a
course page that presents every lesson, serves each lesson as an app (code and check cells hidden,
check cells not even run), its explorers repaint under the keyboard and the mouse exactly as in
JupyterLab, and each explorer's picture fits a 1280x720 projector page (screenshots kept in
artifacts/screenshots, or $EXPLAINER_ARTIFACTS/screenshots)."""

from __future__ import annotations

import json
import re
import time

import pytest
from conftest import CHECK_PROBE, DESKTOP, NOTEBOOKS, PROJECTOR, SCREENSHOTS
from pages import (
    EXPLORER,
    PICTURE,
    change_every_choice,
    click_every_picture,
    move_every_slider,
    page_problems,
    wait_for_pictures,
)


def _first_heading(path) -> str:
    """The lesson's title as the course page shows it: its first markdown cell's heading, as text."""
    nb = json.loads(path.read_text())
    first = next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    heading = next(re.sub(r"^\s*#+\s+", "", ln) for ln in first.splitlines() if ln.lstrip().startswith("#"))
    return re.sub(r"[*`$]", "", heading).strip()


def test_landing_page_presents_every_lesson(projector_page, voila):
    """`make demo` opens on / : the course title, one entry per lesson in order (title from the
    notebook, one line, a decoded thumbnail), each linking to its app."""
    page = projector_page
    page.goto(voila.url(""))
    page.locator(".course-lesson").first.wait_for(timeout=30_000)
    assert page.locator(".course-title").inner_text().strip()
    lessons = page.locator(".course-lesson")
    assert lessons.evaluate_all("els => els.map(e => e.dataset.notebook)") == [p.name for p in NOTEBOOKS]
    titles = [re.sub(r"[*`$]", "", t).strip() for t in page.locator(".course-lesson-title").all_inner_texts()]
    assert titles == [_first_heading(p) for p in NOTEBOOKS]
    summaries = page.locator(".course-lesson").evaluate_all(
        "els => els.map(e => (e.querySelector('.course-lesson-summary') || {innerText: ''}).innerText)")
    assert all(s.strip() for s in summaries), summaries
    thumbnails = page.locator(".course-lesson img.course-thumbnail").evaluate_all(
        "els => els.map(e => e.complete && e.naturalWidth > 0)")
    assert thumbnails == [True] * len(NOTEBOOKS), "a thumbnail is missing or did not decode"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "course-page.png"), full_page=True)
    hrefs = page.locator(".course-lesson > a").evaluate_all("els => els.map(e => new URL(e.href).pathname)")
    assert hrefs == [f"/voila/render/{p.name}" for p in NOTEBOOKS]
    with page.expect_navigation(timeout=120_000):
        page.locator(".course-lesson > a").first.click()
    assert page.url.split("?")[0].endswith(f"/voila/render/{NOTEBOOKS[0].name}")
    page.get_by_text(_first_heading(NOTEBOOKS[0])).first.wait_for(timeout=120_000)
    # Let the lesson finish, then leave it: Voila shuts its kernel down on unload, so it does not
    # compete for the CPU with the next test's kernel of the same lesson.
    wait_for_pictures(page, timeout=120)
    page.goto("about:blank")


def _untagged_code_cells(path) -> int:
    nb = json.loads(path.read_text())
    return sum(c["cell_type"] == "code" and "check" not in c.get("metadata", {}).get("tags", []) for c in nb["cells"])


def _wait_for_cells(page, expected: int, timeout: float = 120) -> int:
    """Wait until Voila has rendered ``expected`` code cells (or more: then the test fails) and the
    notebook has finished executing; return how many there are."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = page.locator(".jp-CodeCell").count()
        if count > expected:
            return count
        if count == expected and not page.locator("#loading").is_visible():
            return count
        time.sleep(0.25)
    return page.locator(".jp-CodeCell").count()


_FIT = """e => {
  const page = document.documentElement.clientWidth;
  return [...e.querySelectorAll('%s')].map(img => {
    const r = img.getBoundingClientRect();
    return {left: Math.round(r.left), right: Math.round(r.right), shown: Math.round(r.width),
            natural: img.naturalWidth, page: page};
  });
}""" % PICTURE


def _projector_screenshots(page, stem: str, count: int) -> list[str]:
    """One screenshot per explorer, as laid out on the 1280x720 page (the whole explorer, however
    tall); returns the pictures that do not fit the page width or are shrunk to fit it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    overflow = []
    explorers = page.locator(EXPLORER)
    for i in range(count):
        explorer = explorers.nth(i)
        explorer.screenshot(path=str(SCREENSHOTS / f"{stem}-explorer{i}.png"))
        height = round(explorer.bounding_box()["height"])
        if height > PROJECTOR["height"]:
            print(f"{stem} explorer {i} is {height} px tall: taller than the 720 px projector page")
        for picture in explorer.evaluate(_FIT):
            # naturalWidth is in device pixels = CSS pixels here (device scale factor 1).
            if picture["left"] < 0 or picture["right"] > picture["page"] or picture["shown"] < picture["natural"] - 1:
                overflow.append(f"{stem} explorer {i}: picture {picture['natural']} px wide, shown at "
                                f"{picture['left']}..{picture['right']} of a {picture['page']} px page")
    wide = page.evaluate("() => document.scrollingElement.scrollWidth - document.documentElement.clientWidth")
    if wide > 0:
        overflow.append(f"{stem}: the page scrolls sideways by {wide} px")
    return overflow


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lesson_app_hides_code_and_every_control_repaints(page, voila, notebook):
    """Rendered and checked on the 1280x720 projector page (screenshots, widths); the controls are
    then driven on the usual 1500x1100 page, as in JupyterLab (the same kernel and widgets, reflowed)."""
    page.set_viewport_size(PROJECTOR)
    page.goto(voila.url(f"voila/render/{notebook.name}"), timeout=120_000)
    # Voila renders cell by cell; once every cell is there, so is every explorer. Check cells are
    # left out (the served copy has a probe check cell besides the lesson's own).
    expected = _untagged_code_cells(voila.root / notebook.name)  # the served copy, probe included
    cells = _wait_for_cells(page, expected)
    assert cells <= expected, f"{cells} code cells rendered, {expected} untagged: check cells are shown"
    assert cells == expected, f"only {cells} of {expected} code cells rendered: {page_problems(page)}"
    count = wait_for_pictures(page, expected=page.locator(EXPLORER).count(), timeout=120)
    assert page.locator(".jp-InputArea-editor, .CodeMirror, .cm-editor").count() == 0, "code is shown"
    assert CHECK_PROBE not in page.inner_text("body"), "a check cell's output is shown"
    assert not (voila.probe / notebook.stem).exists(), "a check cell was run in lecture mode"
    assert page_problems(page) == []
    overflow = _projector_screenshots(page, notebook.stem, count)
    for line in overflow:
        print(f"does not fit a 1280 px projector page: {line}")
    page.set_viewport_size(DESKTOP)
    explorers = page.locator(EXPLORER)
    for i in range(count):
        explorer = explorers.nth(i)
        explorer.scroll_into_view_if_needed()
        click_every_picture(page, explorer, f"voila {notebook.stem} explorer {i}")
        move_every_slider(page, explorer, f"voila {notebook.stem} explorer {i}")
        change_every_choice(page, explorer, f"voila {notebook.stem} explorer {i}")
    assert page_problems(page) == [], voila.log_tail()
    assert overflow == [], f"pictures wider than a 1280 px page (screenshots in {SCREENSHOTS})"

