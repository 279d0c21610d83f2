"""What a student does in the page: open a notebook, run all, move every slider, click every image.

Selectors rely on the classes the kit puts on its widgets: ``explainer-explorer`` on each explorer,
``explainer-picture`` on its image (plus ``explainer-clickable`` when it takes clicks) and
``explainer-error`` on its error area.
"""

from __future__ import annotations

import time

EXPLORER = ".explainer-explorer"
PICTURE = "img.explainer-picture"
ERROR_MARKERS = ("Error displaying widget", "Traceback (most recent call last)")


class PageProblem(AssertionError):
    """Something a student would see as broken."""


def accept_kernel_dialog(page) -> bool:
    """Accept JupyterLab's "Select Kernel" dialog if it is open (its proposal is the notebook's own
    python3 kernel). Only that dialog: accepting others (e.g. a restart prompt) would start kernels."""
    dialog = page.locator(".jp-Dialog").filter(has_text="Select Kernel")
    if dialog.count():
        dialog.locator(".jp-mod-accept").first.click()
        return True
    return False


def open_lab_notebook(page, server, name: str, timeout: float = 90) -> None:
    """Open a notebook and wait for its kernel; on a loaded machine JupyterLab may ask for a kernel
    before it has read the kernelspec, once, even just after the kernel was idle."""
    page.goto(server.url(f"lab/tree/{name}?reset"))  # reset: no tabs restored from an earlier test
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=timeout * 1e3)
    deadline = time.monotonic() + timeout
    accepted = False
    while time.monotonic() < deadline:
        if not accepted:
            accepted = accept_kernel_dialog(page)
        if page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count():
            time.sleep(1.0)
            if accepted or not accept_kernel_dialog(page):
                return
            accepted = True
        time.sleep(0.25)
    raise PageProblem(f"{name}: the kernel did not become idle within {timeout:.0f} s")


def _click_run_all(page) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def run_all_cells(page, timeout: float = 180) -> None:
    """Run All from the menu and wait until every code cell has an execution count.

    On a loaded 2-core machine JupyterLab now and then ignores the first Run All (every prompt
    stays empty); if no cell has started after 20 s, the menu is used once more.
    """
    _click_run_all(page)
    start = time.monotonic()
    retried = False
    while time.monotonic() - start < timeout:
        prompts = page.eval_on_selector_all(
            ".jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent.trim())"
        )
        if prompts and all(p.startswith("[") and p[1:-2].isdigit() for p in prompts):
            return
        if not retried and time.monotonic() - start > 20 and all(p in ("[ ]:", "") for p in prompts):
            _click_run_all(page)
            retried = True
        time.sleep(0.25)
    raise PageProblem(f"cells still running after {timeout:.0f} s: prompts {prompts}")


def wait_for_pictures(page, expected: int | None = None, timeout: float = 60) -> int:
    """Wait until every explorer shows a decoded picture; return how many explorers there are."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.eval_on_selector_all(
            f"{EXPLORER} {PICTURE}", "els => els.map(e => e.complete && e.naturalWidth > 0)"
        )
        if state and all(state) and (expected is None or len(state) >= expected):
            return len(state)
        time.sleep(0.2)
    raise PageProblem(f"explorer pictures not rendered after {timeout:.0f} s (decoded: {state})")


def page_problems(page) -> list[str]:
    """Visible errors: widget render failures, tracebacks, explorer error areas, stderr outputs."""
    text = page.inner_text("body")
    problems = [marker for marker in ERROR_MARKERS if marker in text]
    shown = page.eval_on_selector_all(
        ".explainer-error", "els => els.filter(e => e.offsetParent !== null).map(e => e.innerText)"
    )
    problems += [f"explorer error: {t.strip()[:300]}" for t in shown if t.strip()]
    stderr = page.eval_on_selector_all(
        "[data-mime-type='application/vnd.jupyter.stderr']", "els => els.map(e => e.innerText)"
    )
    problems += [f"stderr: {t.strip()[:300]}" for t in stderr if t.strip()]
    return problems


def picture_src(explorer) -> str:
    return explorer.locator(PICTURE).get_attribute("src") or ""


def wait_for_new_picture(explorer, before: str, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if picture_src(explorer) not in ("", before):
            return
        time.sleep(0.05)
    shown = explorer.locator(".explainer-error").evaluate_all(
        "els => els.filter(e => e.offsetParent !== null).map(e => e.innerText.split('\\n')[0])"
    )
    detail = f"; the explorer shows: {shown}" if shown else ""
    raise PageProblem(f"{what}: the picture did not change within {timeout:.0f} s{detail}")


def _step_key(handle) -> str:
    """The arrow key that moves a slider handle inside its range (left when it sits at its maximum)."""
    now, high = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
    return "ArrowLeft" if now == high else "ArrowRight"


def move_every_slider(page, explorer, label: str) -> int:
    """Press an arrow key on every slider of ``explorer``; each move must repaint the picture."""
    handles = explorer.locator(".widget-slider .noUi-handle")
    moved = 0
    for i in range(handles.count()):
        handle = handles.nth(i)
        if handle.evaluate("h => h.closest('.noUi-target').hasAttribute('disabled')"):
            continue  # a limited control with a single allowed value, greyed out with its reason
        name = explorer.locator(".widget-slider").nth(i).locator(".widget-label").first.inner_text()
        before = picture_src(explorer)
        handle.focus()
        key = _step_key(handle)
        page.keyboard.press(key)
        try:
            wait_for_new_picture(explorer, before, "", timeout=5)
        except PageProblem:
            # The kit sends a slider's new range just after the picture of the move that changed it
            # (SYNC_DELAY_S): a key read from a range still in flight may push against the new end
            # and change nothing. Read the range again and step the other way if it says so.
            retry = _step_key(handle)
            if retry == key:
                retry = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
            page.keyboard.press(retry)
            wait_for_new_picture(explorer, before, f"{label}: slider '{name}' ({key}, then {retry})")
        moved += 1
    return moved


def click_every_picture(page, explorer, label: str) -> int:
    """Click each clickable picture at points of a grid until one click repaints it.

    Only some regions react (e.g. an output grid, a photo panel), so the harness tries a 5x3 grid of
    points, one at a time, and fails only if none of them changes the picture. A repaint takes well
    under 0.5 s, so each point gets that long; a slower repaint still counts, seen while a later point
    waits or in a last wait of 5 s after the grid (each try compares with the picture before the first).
    """
    clickable = explorer.locator(f"{PICTURE}.explainer-clickable")
    points = [(fx / 10, fy / 6) for fy in (1, 3, 5) for fx in (9, 7, 5, 3, 1)]
    for i in range(clickable.count()):
        image = clickable.nth(i)
        box = image.bounding_box()
        before = picture_src(explorer)
        for fx, fy in points:
            image.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
            try:
                wait_for_new_picture(explorer, before, "", timeout=0.5)
                break
            except PageProblem:
                continue
        else:
            wait_for_new_picture(explorer, before, f"{label}: no click on picture {i} changed it "
                                                   f"(tried {len(points)} points)", timeout=5)
    return clickable.count()


def change_every_choice(page, explorer, label: str) -> int:
    """Flip every checkbox, pick another option in every drop-down and toggle-button row."""
    changed = 0
    for box in explorer.locator(".widget-checkbox input[type=checkbox]").all():
        if box.is_disabled():
            continue
        before = picture_src(explorer)
        box.click()
        wait_for_new_picture(explorer, before, f"{label}: checkbox")
        changed += 1
    for select in explorer.locator(".widget-dropdown select").all():
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex].text")
        others = [o for o in options if o != current]
        if select.is_disabled() or not others:
            continue
        before = picture_src(explorer)
        select.select_option(label=others[0])
        wait_for_new_picture(explorer, before, f"{label}: drop-down -> {others[0]}")
        changed += 1
    for row in explorer.locator(".widget-toggle-buttons").all():
        buttons = row.locator("button:not(.mod-active)").all()
        if buttons:
            before = picture_src(explorer)
            buttons[0].click()
            wait_for_new_picture(explorer, before, f"{label}: toggle button")
            changed += 1
    return changed
