"""Key press to painted pixels, per explorer and per control, in JupyterLab and in Voila.

A temporary notebook builds every explorer factory of ``explainer.explorers`` (default arguments)
plus the "floor" explorer of ``benchmarks/floor.py`` (a slider swapping PNGs encoded up front, so
a move costs transport + decode + paint and no Python work). The notebook is served by
JupyterLab and by Voila on 127.0.0.1 with a token and driven by Debian's Chromium.

Latency is measured in the page: a capturing ``keydown`` listener on ``document`` stamps
``performance.now()``; a MutationObserver on the watched ``img.explainer-picture`` sees the new
``src``, waits for ``img.decode()`` and one ``requestAnimationFrame`` callback, and stamps the
paint there. Each move waits for its frame before the next key, so moves are independent, and
then for a random part of a frame (:func:`phase_delays`), so that keys fall anywhere in the
display's frame. Keys walk each control back and forth inside its range: arrow keys on a
slider's handle, Enter on the neighbouring button of a toggle-button row, Space on a checkbox. A
drop-down is picked as with the mouse (Playwright's ``select_option``; its ``change`` event is the
stamp), because JupyterLab takes the arrow keys of a focused, closed ``<select>`` for its own cell
navigation (ipywidgets issue 3912). A 20-press drag per explorer, on its slider with the most
positions (keys sent without waiting), reports the time from the last key to the final picture
and how many pictures were drawn on the way. Clicks on pictures are not timed (the browser tests check that they repaint).

The floor is every ratio's denominator, and it is measured beside each explorer: each notebook
cell shows an explorer with a floor explorer under it (one output, both in view), and every 5
timed moves of a control are followed by 5 timed floor moves. Each explorer's ratio divides its
p50 by the p50 of the floor moves made between its own. The page was seen to switch, for tens of
seconds at a time, between two speeds of getting a decoded picture on screen (new src to painted
frame ~11 ms or ~19 ms p50, the floor's included), so a floor measured elsewhere in the run could
sit in the other state. (Alternating every single move made both slower by ~10 ms.) The last floor
also gets a turn of its own (twice an explorer slider's moves) and its drag; the floor's rows pool
every floor move.

    .venv/bin/python benchmarks/browser_latency.py [--moves 30] [--only lab|voila] [--out PATH] [--stock-sockets]
                                                   [--docs]

``--docs`` also replaces the summary table in docs/performance.md (between its ``latency-table`` markers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from harness import Server, chromium_problem, launch_chromium, start_lab, start_voila  # noqa: E402
from pages import (  # noqa: E402
    EXPLORER, PICTURE, PageProblem, open_lab_notebook, page_problems, wait_for_pictures,
)

NOTEBOOK = "latency.ipynb"
KERNEL_LOG = "kernel_updates.jsonl"  # written by the kernel, next to the notebook
# Installed by the notebook's first cell: every explorer update (a move or a click) appends
# [explorer name, Explorer.last_update_ms, Explorer.last_update_parts + {"cpu": the update's CPU
# time in ms, "reused": 1 if it showed a kept picture}] to KERNEL_LOG, after the picture has left. CPU time below the update's time is time
# the kernel waited for a core (the browser, its server and the kernel share two).
KERNEL_HOOK = f"""
import json, time
from explainer.explorers._kit import Explorer

def _logged(update, log=open({KERNEL_LOG!r}, "a")):
    def logged(self):
        frames = self.frames
        c0 = time.thread_time()
        update(self)
        cpu = (time.thread_time() - c0) * 1e3
        if self.frames > frames:
            parts = {{**getattr(self, "last_update_parts", {{}}), "cpu": cpu,
                      "reused": float(getattr(self, "last_update_reused", False))}}
            log.write(json.dumps([getattr(self, "bench_name", "?"), self.last_update_ms, parts]) + "\\n")
            log.flush()
    return logged

Explorer.update = _logged(Explorer.update)
"""
FLOOR = "floor"
DRAG_PRESSES = 20
MOVE_TIMEOUT_MS = 5000
FLOOR_MOVES_FACTOR = 2  # the floor's own turn, at the end: twice an explorer slider's moves
FLOOR_BLOCK = 5  # explorer moves, then as many floor moves beside it, then the next explorer moves
MAX_MISSES = 3  # consecutive moves without a new picture before a control is given up
VIEWPORT_HEIGHT = 1700  # px: an explorer and the floor under it must both be in view (else: show_pair)
FRAME_S = 1 / 60  # the page's frame period; each timed key waits a random part of it (phase_delays)
TARGET_RATIO, TARGET_P95_MS, TARGET_DRAG_MS = 1.3, 100.0, 150.0

# Installed once per page. Keys and paints are performance.now() stamps on the page's own clock.
PROBE_JS = """
() => {
  const b = window.__bench = {keys: [], paints: [], mutated: 0, observer: null, onpaint: null, shown: new WeakMap()};
  // Capturing: runs before the control's own keydown handler sees the key. A drop-down picked
  // with the mouse (select_option) is stamped at its change event instead.
  document.addEventListener('keydown', () => b.keys.push(performance.now()), true);
  document.addEventListener('change', e => { if (e.target.tagName === 'SELECT') b.keys.push(performance.now()); }, true);
  b.watch = (img) => {
    if (b.observer) b.observer.disconnect();
    b.paints = [];
    if (!b.shown.has(img)) b.shown.set(img, new Set());
    const shown = b.shown.get(img);  // every src this picture has had: a repeat is a setting seen before
    b.observer = new MutationObserver(() => {
      const src = img.src, arrived = b.mutated = performance.now(), repeat = shown.has(src);
      shown.add(src);
      // New pixels reach the screen in the first frame after the new image has decoded; a src
      // replaced before it decoded is never shown (decode() rejects) and is not counted.
      img.decode().then(() => requestAnimationFrame(() => {
        b.paints.push({t: performance.now(), src, arrived, repeat});
        if (b.onpaint) b.onpaint();
      }), () => {});
    });
    b.observer.observe(img, {attributes: true, attributeFilter: ['src']});
  };
  // The first paint later than `after` (ms), or null after `timeout` ms.
  b.paintAfter = (after, timeout) => new Promise(resolve => {
    const timer = setTimeout(() => { b.onpaint = null; resolve(null); }, timeout);
    b.onpaint = () => {
      const p = b.paints.find(p => p.t > after);
      if (p) {
        clearTimeout(timer);
        b.onpaint = null;
        resolve({key: after, paint: p.t, arrived: p.arrived, repeat: p.repeat});
      }
    };
    b.onpaint();
  });
  // After a drag: wait until a picture came after the last key and src stayed put for `quiet` ms.
  b.settle = (presses, quiet, timeout) => new Promise(resolve => {
    const start = performance.now(), keys = b.keys.slice(-presses), last = keys[keys.length - 1];
    const check = () => {
      const now = performance.now(), paints = b.paints.filter(p => p.t >= keys[0]);
      const done = paints.length && paints[paints.length - 1].t > last && now - b.mutated >= quiet;
      if (done || now - start > timeout) resolve({keys, paints});
      else setTimeout(check, 20);
    };
    check();
  });
}
"""

# Where a noUiSlider handle stands: value, range and step as the slider itself holds them.
SLIDER_STATE_JS = """
h => {
  const target = h.closest('.noUi-target');
  return {
    disabled: target.hasAttribute('disabled'),
    now: parseFloat(h.getAttribute('aria-valuenow')),
    low: parseFloat(h.getAttribute('aria-valuemin')),
    high: parseFloat(h.getAttribute('aria-valuemax')),
    step: target.noUiSlider.options.step || 1,
  };
}
"""


# The other controls as positions 0..high: a drop-down's selected option, the active button of a
# toggle-button row, a checkbox's state (0 or 1).
CHOICE_STATE_JS = """
el => {
  if (el.tagName === 'SELECT')
    return {disabled: el.disabled, now: el.selectedIndex, low: 0, high: el.options.length - 1, step: 1};
  if (el.type === 'checkbox') return {disabled: el.disabled, now: el.checked ? 1 : 0, low: 0, high: 1, step: 1};
  const buttons = [...el.querySelectorAll('button')];
  return {disabled: buttons.every(b => b.disabled), now: buttons.findIndex(b => b.classList.contains('mod-active')),
          low: 0, high: buttons.length - 1, step: 1};
}
"""
CHOICE_NAME_JS = """
el => {
  const box = el.closest('.widget-dropdown, .widget-toggle-buttons, .widget-checkbox');
  return (box.querySelector('.widget-label-basic') || box.querySelector('.widget-label') || box).textContent.trim();
}
"""
# Selector of each kind of control inside an explorer: the element that is stepped (see Control).
CONTROL_KINDS = {
    "slider": ".widget-slider .noUi-handle",
    "drop-down": ".widget-dropdown select",
    "toggle buttons": ".widget-toggle-buttons",
    "checkbox": ".widget-checkbox input[type=checkbox]",
}


@dataclass
class Control:
    """One control in the page, stepped one position at a time as a student would: a slider's handle,
    a ``<select>``, a toggle-button row or a checkbox ``<input>`` (``element``), of ``kind`` (a key of
    CONTROL_KINDS)."""

    kind: str
    name: str
    element: Any

    def state(self) -> dict:
        """``{disabled, now, low, high, step}``: where the control stands, as positions."""
        return self.element.evaluate(SLIDER_STATE_JS if self.kind == "slider" else CHOICE_STATE_JS)

    def press(self, page, key: str) -> None:
        """One step up (``key`` "ArrowRight") or down ("ArrowLeft"), as :func:`next_key` says."""
        if key not in ("ArrowRight", "ArrowLeft"):
            raise ValueError(f"key must be 'ArrowRight' or 'ArrowLeft', got {key!r}")
        if self.kind == "slider":
            self.element.focus()
            page.keyboard.press(key)
            return
        target = self.state()["now"] + (1 if key == "ArrowRight" else -1)
        if self.kind == "drop-down":
            self.element.select_option(index=target)
        elif self.kind == "toggle buttons":
            self.element.locator("button").nth(target).focus()
            page.keyboard.press("Enter")
        else:  # a checkbox: Space flips it either way
            self.element.focus()
            page.keyboard.press(" ")


@dataclass
class ControlResult:
    """Latencies (ms) of one control's moves, and how many moves painted nothing new."""

    explorer: str
    control: str
    kind: str = "slider"  # a key of CONTROL_KINDS
    times: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # key press -> new src set (transport + kernel)
    missed: int = 0
    floor: list[float] = field(default_factory=list)  # the floor moves interleaved with these (key -> paint)
    floor_arrivals: list[float] = field(default_factory=list)  # those floor moves' key -> new src
    repeats: list[bool] = field(default_factory=list)  # per move of ``times``: a picture shown before
    note: str = ""


@dataclass
class DragResult:
    """One fast drag (keys sent without waiting): last key to final picture (ms), pictures drawn."""

    explorer: str
    slider: str
    presses: int
    keys_span_ms: float
    final_ms: float | None
    pictures: int


# ----------------------------------------------------------------------------- pure helpers
def summarize(times: list[float]) -> tuple[float, float, float]:
    """(p50, p95, max) of ``times``, NaN when empty."""
    if not times:
        return float("nan"), float("nan"), float("nan")
    p50, p95 = np.percentile(times, [50, 95])
    return float(p50), float(p95), float(max(times))


def next_key(now: float, low: float, high: float, direction: int) -> tuple[str | None, int]:
    """The arrow key that keeps a back-and-forth walk inside [low, high], and the new direction.

    Returns ``(None, direction)`` when the slider cannot move at all.

    >>> next_key(5, 0, 5, +1)
    ('ArrowLeft', -1)
    """
    if high <= low:
        return None, direction
    if direction > 0 and now >= high:
        direction = -1
    elif direction < 0 and now <= low:
        direction = +1
    return ("ArrowRight" if direction > 0 else "ArrowLeft"), direction


def drag_keys(position: int, count: int, presses: int) -> list[str]:
    """``presses`` keys bouncing between 0 and ``count - 1`` from ``position``, every key a move.

    Starts towards the farther end, so short ranges bounce as late as possible.

    >>> drag_keys(1, 3, 4)
    ['ArrowRight', 'ArrowLeft', 'ArrowLeft', 'ArrowRight']
    """
    if count < 2:
        return []
    direction = +1 if count - 1 - position >= position else -1
    keys = []
    for _ in range(presses):
        key, direction = next_key(position, 0, count - 1, direction)
        keys.append(key)
        position += direction
    return keys


def drag_summary(keys: list[float], paints: list[dict]) -> tuple[float, float | None, int]:
    """(keys span, last key -> final paint or None, distinct pictures) from page stamps in ms."""
    span = keys[-1] - keys[0] if keys else 0.0
    final = paints[-1]["t"] - keys[-1] if paints and paints[-1]["t"] > keys[-1] else None
    return span, final, len({p["src"] for p in paints})


# ----------------------------------------------------------------------------- notebook + servers
def write_notebook(root: Path, factories: list[str]) -> Path:
    """A notebook with one cell per explorer, showing it with a floor explorer under it."""
    import nbformat.v4 as nbf

    shutil.copy(HERE / "floor.py", root / "floor.py")  # the kernel runs next to the notebook
    cells = [nbf.new_code_cell(f"from explainer.explorers import {', '.join(factories)}\n"
                               f"from floor import floor_explorer\nimport ipywidgets as widgets\n{KERNEL_HOOK}")]
    for name in factories:  # one cell, one output: focus moving between the two does not change the active cell
        cells.append(nbf.new_code_cell(
            f"ex = {name}(); ex.bench_name = {name.removesuffix('_explorer')!r}\n"
            f"floor = floor_explorer(); floor.bench_name = {FLOOR!r}\nwidgets.VBox([ex, floor])"))
    notebook = nbf.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    path = root / NOTEBOOK
    path.write_text(json.dumps(notebook, indent=1))
    return path


def open_explorers(front_end: str, page, server: Server, expected: int) -> None:
    """Load the notebook in ``front_end`` until every explorer shows its picture."""
    if front_end == "lab":
        open_lab_notebook(page, server, NOTEBOOK)
        run_all(page)
    else:  # Voila runs the cells itself
        page.goto(server.url(f"voila/render/{NOTEBOOK}"), timeout=180_000)
    wait_for_pictures(page, expected=expected, timeout=180)
    page.evaluate(PROBE_JS)


def run_all(page, attempts: int = 3, start_within: float = 20, timeout: float = 180) -> None:
    """Run All in JupyterLab, clicking again when no cell starts; wait until every cell ran.

    On a busy machine a Run All sent just after the kernel turned idle was seen to run nothing
    (every prompt still ``[ ]:`` minutes later); a second Run All then works.
    """
    for attempt in range(1, attempts + 1):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        if _wait_prompts(page, lambda prompts: any(p != "[ ]:" for p in prompts), start_within):
            break
        print(f"  lab: Run All started no cell, trying again ({attempt}/{attempts})", file=sys.stderr)
    else:
        raise PageProblem(f"Run All started no cell in {attempts} attempts")
    if not _wait_prompts(page, lambda prompts: all(p[1:-2].isdigit() for p in prompts), timeout):
        raise PageProblem(f"cells still running after {timeout:.0f} s")


def _wait_prompts(page, done, timeout: float) -> bool:
    """Poll the code cells' prompts (``[ ]:``, ``[*]:``, ``[3]:``) until ``done(prompts)``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent)")
        if prompts and done([p.strip() for p in prompts]):
            return True
        time.sleep(0.25)
    return False


# ----------------------------------------------------------------------------- measurements
def controls_of(explorer) -> list[Control]:
    """Every control of one explorer in the page: its sliders first, then the other kinds."""
    controls = []
    for kind, selector in CONTROL_KINDS.items():
        elements = explorer.locator(selector)
        if kind == "slider":
            names = explorer.locator(".widget-slider").evaluate_all(
                "els => els.map(e => (e.querySelector('.widget-label') || {}).textContent || '?')")
        else:
            names = elements.evaluate_all(f"els => els.map({CHOICE_NAME_JS.strip()})")
        controls += [Control(kind, name or "?", elements.nth(i)) for i, name in enumerate(names)]
    return controls


def watch(explorer, scroll: bool = True) -> None:
    """Watch ``explorer``'s picture for new paints (scrolled into view first, unless ``scroll`` is False)."""
    picture = explorer.locator(PICTURE)
    if scroll:
        explorer.scroll_into_view_if_needed()
        picture.scroll_into_view_if_needed()
    picture.evaluate("img => __bench.watch(img)")


@dataclass
class Beside:
    """The floor explorer shown under the one measured, stepped in blocks between its moves."""

    explorer: Any  # its locator
    slider: Control
    owner: Any  # the locator of the explorer measured, watched again after each block
    direction: int = +1

    def moves(self, page, waits: list[float]) -> list[tuple[float, float, bool]]:
        """Timed floor moves, one per wait (:func:`press_and_wait`'s figures of those that painted),
        then watch the owner's picture again."""
        watch(self.explorer, scroll=False)
        times = []
        for wait in waits:
            state = self.slider.state()
            key, self.direction = next_key(state["now"], state["low"], state["high"], self.direction)
            hit = None if key is None else press_and_wait(page, self.slider, key, wait)
            if hit is not None:
                times.append(hit)
        watch(self.owner, scroll=False)
        return times


# Where the page shows the explorer: its nearest scrolling ancestor (JupyterLab's notebook panel, under the
# menu and tool bars) or, in Voila, the window; (top, bottom) of the part of the viewport that it shows.
SHOWN_AREA_JS = """
e => {
  let s = e.parentElement;
  while (s && s !== document.body && s !== document.documentElement) {
    const style = getComputedStyle(s);
    if (/(auto|scroll)/.test(style.overflowY) && s.scrollHeight > s.clientHeight) break;
    s = s.parentElement;
  }
  const r = (s && s !== document.body && s !== document.documentElement) ? s.getBoundingClientRect()
                                                                       : {top: 0, bottom: innerHeight};
  return [Math.max(r.top, 0), Math.min(r.bottom, innerHeight)];
}
"""
GROWN_MARGIN = 16  # px of slack when a viewport is grown to hold a pair (see show_pair)


def _scroll_pair(explorer, floor) -> list[dict | None]:
    """Scroll the explorer's top to the top of its view, then the floor's picture into view; both pictures' boxes."""
    explorer.evaluate("e => e.scrollIntoView({block: 'start'})")
    floor.locator(PICTURE).scroll_into_view_if_needed()
    return [x.locator(PICTURE).bounding_box() for x in (explorer, floor)]


def _in_view(boxes: list[dict | None], height: float) -> bool:
    return all(b is not None and b["y"] >= 0 and b["y"] + b["height"] <= height for b in boxes)


def show_pair(page, explorer, floor) -> int | None:
    """Scroll so that both pictures are in view: the explorer's and its floor's, under it.

    An explorer with a tall output between its picture and the floor (lesson 13's layer table)
    may not fit with it in the ``VIEWPORT_HEIGHT`` viewport: then, for that explorer only, the
    viewport is made as tall as the explorer (from its top), the floor's picture and the bars
    around the notebook need (:func:`needed_height`), and the caller puts it back afterwards. The
    floor it is divided by is measured in the same viewport; explorers that fit never see a change.

    Returns:
        The height the viewport was grown to, or None where it was left as it was.

    Raises:
        PageProblem: the pair does not fit, even in a grown viewport.
    """
    boxes = _scroll_pair(explorer, floor)
    size = page.viewport_size
    if _in_view(boxes, size["height"]):
        return None
    top = explorer.bounding_box()
    shown = explorer.evaluate(SHOWN_AREA_JS)
    grown = None
    if top is not None and boxes[1] is not None:
        grown = needed_height(top["y"], boxes[1]["y"] + boxes[1]["height"], shown, size["height"])
        page.set_viewport_size({"width": size["width"], "height": grown})
        page.wait_for_timeout(500)  # the notebook lays itself out again
        boxes = _scroll_pair(explorer, floor)
        if _in_view(boxes, grown):
            return grown
    raise PageProblem(f"an explorer's picture and its floor's do not fit in a {grown or size['height']}px viewport: "
                      f"{boxes}")


def needed_height(explorer_top: float, floor_bottom: float, shown: tuple[float, float], height: float,
                  margin: float = GROWN_MARGIN) -> int:
    """The viewport height (px) that shows an explorer from its top down to its floor's picture.

    Args:
        explorer_top, floor_bottom: page coordinates of the explorer's top and of the bottom of the
            floor's picture (any one scroll position).
        shown: ``(top, bottom)`` of the part of the viewport the notebook's scrolling area shows;
            the rest (menu, tool and status bars) stays covered in a taller viewport too.
        height: the viewport's height now.
        margin: px of slack.

    Example:
        >>> needed_height(-500.0, 1650.0, (100.0, 1675.0), 1700.0)  # 2150 px of pair and 125 px of bars
        2291
    """
    return int(round(floor_bottom - explorer_top + (height - (shown[1] - shown[0])) + margin))


def phase_delays(count: int, seed: int = 0) -> list[float]:
    """``count`` waits in seconds, uniform over one 60 Hz frame, drawn from a seeded generator.

    The page paints once per frame, so a picture that is ready shows at the next frame boundary:
    where a key falls within the frame decides part of its latency. Pressed as soon as the previous
    picture is painted (plus the driver's own round trips), keys keep a preferred phase: without
    this wait, the key's position within the frame was far from uniform (in 922 moves, the busiest
    eighth of the frame held 199 keys and the quietest 59), so a p50 could move by part of a frame
    with the load. A student's or a lecturer's key is not tied to the display's clock.

    Example:
        >>> waits = phase_delays(3)
        >>> len(waits), all(0 <= w < FRAME_S for w in waits)
        (3, True)
    """
    return [float(w) for w in np.random.default_rng(seed).uniform(0, FRAME_S, count)]


def press_and_wait(page, control: Control, key: str, wait: float = 0.0) -> tuple[float, float, bool] | None:
    """Step ``control`` by ``key`` after ``wait`` seconds (see :func:`phase_delays`); (key -> paint,
    key -> new src) in ms and whether that picture was shown before, None if no picture came."""
    if wait:
        time.sleep(wait)
    control.press(page, key)
    hit = page.evaluate("t => __bench.paintAfter(__bench.keys[__bench.keys.length - 1], t)", MOVE_TIMEOUT_MS)
    return None if hit is None else (hit["paint"] - hit["key"], hit["arrived"] - hit["key"], hit["repeat"])


def measure_control(page, control: Control, result: ControlResult, moves: int,
                    beside: Beside | None = None) -> ControlResult:
    """Walk one control back and forth for ``moves`` independent moves, then put it back.

    With ``beside``, every ``FLOOR_BLOCK`` timed moves (and the last few) are followed by as many
    timed moves of that floor (into ``result.floor``).
    """
    start = control.state()["now"]
    direction, misses, pending = +1, 0, 0  # pending: explorer moves not yet followed by floor moves
    waits = iter(phase_delays(2 * moves, seed=len(result.times)))  # at most 2 * `moves` keys
    while len(result.times) + result.missed < moves and misses < MAX_MISSES:
        state = control.state()
        key, direction = next_key(state["now"], state["low"], state["high"], direction)
        if key is None or state["disabled"]:
            break
        hit = press_and_wait(page, control, key, next(waits))
        if hit is None:
            result.missed, misses = result.missed + 1, misses + 1
            time.sleep(0.5)  # let a late picture land before the next move
        else:
            result.times.append(hit[0])
            result.arrivals.append(hit[1])
            result.repeats.append(hit[2])
            misses = 0
        pending += 1
        if beside is not None and pending == FLOOR_BLOCK:
            _add_floor(result, beside.moves(page, [next(waits) for _ in range(pending)]))
            pending = 0
    if beside is not None and pending:
        _add_floor(result, beside.moves(page, [next(waits) for _ in range(pending)]))
    restore(page, control, start)
    return result


def _add_floor(result: ControlResult, hits: list[tuple[float, float]]) -> None:
    result.floor += [hit[0] for hit in hits]
    result.floor_arrivals += [hit[1] for hit in hits]


def restore(page, control: Control, value: float) -> None:
    """Step a control back to ``value`` (unmeasured), so the next control starts from the defaults.

    Other controls' ranges depend on this one (a larger kernel needs a larger input, ...), so a
    walk left anywhere could disable controls that are enabled in the explorer as built.
    """
    for _ in range(200):
        now = control.state()["now"]
        if now == value:
            return
        if press_and_wait(page, control, "ArrowRight" if now < value else "ArrowLeft") is None:
            return  # the control no longer reaches ``value``: leave it where it is


def measure_drag(page, control: Control, explorer: str) -> DragResult | None:
    """Send ``DRAG_PRESSES`` keys to a slider without waiting, then time the final picture."""
    state = control.state()
    count = int(round((state["high"] - state["low"]) / state["step"])) + 1
    position = int(round((state["now"] - state["low"]) / state["step"]))
    keys = drag_keys(position, count, DRAG_PRESSES)
    if state["disabled"] or not keys:
        return None
    time.sleep(0.3)  # nothing from earlier moves still in flight
    control.element.focus()
    for key in keys:
        page.keyboard.press(key)
    stamps = page.evaluate("n => __bench.settle(n, 300, 15000)", len(keys))
    span, final, pictures = drag_summary(stamps["keys"], stamps["paints"])
    return DragResult(explorer, control.name, len(keys), span, final, pictures)


def measure_explorer(page, explorer, name: str, moves: int,
                     beside: Beside | None = None) -> tuple[list[ControlResult], DragResult | None, int | None]:
    """Every enabled control of one explorer (its moves in blocks with those of the floor
    ``beside`` it, if given: see :func:`measure_control`), then a drag on its slider with the most
    positions. The third value is the viewport height :func:`show_pair` grew the page to for this
    explorer (None: the usual one), put back afterwards."""
    grown = None if beside is None else show_pair(page, explorer, beside.explorer)
    try:
        results, drag = _measure_controls(page, explorer, name, moves, beside)
    finally:
        if grown is not None:
            page.set_viewport_size({"width": page.viewport_size["width"], "height": VIEWPORT_HEIGHT})
    return results, drag, grown


def _measure_controls(page, explorer, name: str, moves: int,
                      beside: Beside | None) -> tuple[list[ControlResult], DragResult | None]:
    watch(explorer)
    results, widest = [], None
    for control in controls_of(explorer):
        label = control.name if control.kind == "slider" else f"{control.name} ({control.kind})"
        state = control.state()
        if state["disabled"] or state["high"] <= state["low"]:
            results.append(ControlResult(name, label, control.kind, note="disabled, skipped"))
            continue
        count = moves * FLOOR_MOVES_FACTOR if name == FLOOR else moves
        results.append(measure_control(page, control, ControlResult(name, label, control.kind), count, beside))
        positions = (state["high"] - state["low"]) / state["step"]
        if control.kind == "slider" and (widest is None or positions > widest[0]):
            widest = (positions, control)
    drag = None if widest is None else measure_drag(page, widest[1], name)
    return results, drag


def measure_front_end(front_end: str, browser, root: Path, names: list[str], moves: int, stock: bool):
    """Serve the notebook, measure every explorer; returns (control results, drags, problems, kernel times)."""
    base = Path(tempfile.mkdtemp(prefix=f"latency-{front_end}-"))
    (root / KERNEL_LOG).unlink(missing_ok=True)
    try:
        # The project's jupyter_config/ (TCP_NODELAY on the websockets, as make lab / make demo use it)
        # unless --stock-sockets asks for the servers' own settings, for comparison.
        server = (start_lab if front_end == "lab" else start_voila)(root, base, project_config=not stock)
        try:
            results, drags, problems = measure_page(front_end, browser, server, names, moves)
        finally:
            server.stop()
        return results, drags, problems, kernel_updates(root / KERNEL_LOG)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def measure_page(front_end: str, browser, server: Server, names: list[str], moves: int):
    """Open the served notebook in a fresh browser context and measure each explorer in turn."""
    context = browser.new_context(viewport={"width": 1500, "height": VIEWPORT_HEIGHT})
    page = context.new_page()
    try:
        explorers = [n for n in names if n != FLOOR]
        open_explorers(front_end, page, server, expected=2 * len(explorers))
        measured, drags, pictures = [], [], page.locator(EXPLORER)
        for index, name in enumerate(explorers):  # cells: explorer 0, floor, explorer 1, floor, ...
            explorer, floor = pictures.nth(2 * index), pictures.nth(2 * index + 1)
            beside = Beside(floor, controls_of(floor)[0], owner=explorer)
            results, drag, grown = measure_explorer(page, explorer, name, moves, beside)
            floor_times = [t for r in results for t in r.floor]
            where = "" if grown is None else f", both in a {grown}px-high viewport"
            measured += results + [ControlResult(FLOOR, f"picture (beside {name}{where})", times=floor_times)]
            drags += [drag] if drag else []
            print(f"  {front_end}: {name} done ({sum(len(r.times) for r in results)} moves, {len(floor_times)} "
                  f"floor moves beside{where})", file=sys.stderr)
        results, drag, _ = measure_explorer(page, pictures.nth(2 * len(explorers) - 1), FLOOR, moves)
        measured += results
        drags += [drag] if drag else []
        return measured, drags, page_problems(page)
    except Exception:
        shot = Path(tempfile.gettempdir()) / f"latency-{front_end}-failure.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"{front_end} failed; screenshot {shot}; server log:\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        context.close()


# ----------------------------------------------------------------------------- report
def _ms(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.1f}"


def latency_table(front_end: str, results: list[ControlResult], names: list[str]) -> str:
    """Markdown: one row per control; per explorer, a bold row over its sliders with the target (the
    issue's figure) and, where it has other controls, a bold row over all of them (reported, not
    targeted). Ratios divide by the p50 of the floor moves interleaved with the same moves (the
    'floor p50' column); the floor's own rows, which have none, divide by all floor moves."""
    pooled = [t for r in results if r.explorer == FLOOR for t in r.times]
    lines = [f"### {front_end}: key press -> first painted frame with new pixels (ms)", "",
             "| explorer | control | moves | p50 | p95 | max | p50 / floor | floor p50 | key -> new src p50 | "
             "floor: key -> new src p50 | target |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name in names:
        rows = [r for r in results if r.explorer == name]
        lines += [_control_row(r, pooled) for r in rows]
        lines.append(_explorer_row(name, [r for r in rows if r.kind == "slider"], pooled, "sliders"))
        if any(r.kind != "slider" for r in rows):
            lines.append(_explorer_row(name, rows, pooled, "controls"))
    return "\n".join(lines)


def repeat_table(front_end: str, results: list[ControlResult], names: list[str]) -> str:
    """Markdown: each explorer's slider moves split into those to a picture not shown before in the
    page and those back to one it had shown (a setting seen before, whose picture the explorer keeps),
    with each part's p50 over the floor moves interleaved with the same controls."""
    pooled = [t for r in results if r.explorer == FLOOR for t in r.times]
    lines = [f"### {front_end}: slider moves to a new picture and back to one shown before (ms)", "",
             "| explorer | new: moves | new: p50 | new: p50 / floor | shown before: moves | shown before: p50 | "
             "shown before: p50 / floor |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        rows = [r for r in results if r.explorer == name and r.kind == "slider" and r.times]
        if name == FLOOR or not rows:
            continue
        floor = _floor_p50(rows, pooled)
        cells = []
        for repeat in (False, True):
            times = [t for r in rows for t, seen in zip(r.times, r.repeats, strict=True) if seen == repeat]
            p50 = summarize(times)[0] if times else float("nan")
            cells += [str(len(times)), _ms(p50), "-" if not times else f"{p50 / floor:.2f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _floor_p50(rows: list[ControlResult], pooled: list[float]) -> float:
    """p50 of the floor moves interleaved with ``rows``; of ``pooled`` where they have none."""
    beside = [t for r in rows for t in r.floor]
    return summarize(beside or pooled)[0]


def _control_row(r: ControlResult, pooled: list[float]) -> str:
    if r.note:
        return f"| {r.explorer} | {r.control} | 0 ({r.note}) | - | - | - | - | - | - | - | |"
    missed = f" ({r.missed} without a new picture)" if r.missed else ""
    p50, p95, top = summarize(r.times)
    floor = _floor_p50([r], pooled)
    arrival, floor_arrival = summarize(r.arrivals)[0], summarize(r.floor_arrivals)[0]  # NaN ("-") where none
    return (f"| {r.explorer} | {r.control} | {len(r.times)}{missed} | {_ms(p50)} | {_ms(p95)} | {_ms(top)} | "
            f"{p50 / floor:.2f} | {_ms(floor)} | {_ms(arrival)} | {_ms(floor_arrival)} | |")


def _explorer_row(name: str, rows: list[ControlResult], pooled: list[float], over: str) -> str:
    """The bold row of one explorer over ``rows``: ``over`` is "sliders" (targeted) or "controls"."""
    times = [t for r in rows for t in r.times]
    if not times:
        return f"| **{name}** | (no enabled {over[:-1]}) | 0 | - | - | - | - | - | - | - | - |"
    p50, p95, top = summarize(times)
    floor = _floor_p50(rows, pooled)
    ratio = p50 / floor
    met = ratio <= TARGET_RATIO and p95 < TARGET_P95_MS
    verdict = ("met" if met else "MISSED") if over == "sliders" else "(not targeted)"
    arrival = summarize([a for r in rows for a in r.arrivals])[0]
    floor_arrival = summarize([a for r in rows for a in r.floor_arrivals])[0]  # NaN ("-") for the floor's own rows
    return (f"| **{name}** | **all {over}** | {len(times)} | **{_ms(p50)}** | **{_ms(p95)}** | {_ms(top)} | "
            f"**{ratio:.2f}** | {_ms(floor)} | {_ms(arrival)} | {_ms(floor_arrival)} | {verdict} |")



def kernel_times(path: Path) -> dict[str, list[float]]:
    """Python update times (ms) the kernel logged per explorer, building updates excluded."""
    return {name: [ms for ms, _ in rows] for name, rows in kernel_updates(path).items()}


def kernel_updates(path: Path) -> dict[str, list[tuple[float, dict]]]:
    """(update ms, its parts in ms) the kernel logged per explorer, building updates excluded."""
    updates: dict[str, list[tuple[float, dict]]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, ms, *parts = json.loads(line)
            updates.setdefault(name, []).append((ms, parts[0] if parts else {}))
    return {name: values[1:] for name, values in updates.items()}  # the first is the explorer's construction


PARTS = ("compute", "draw", "encode", "cpu")  # Explorer.last_update_parts, and the update's CPU time


def kernel_table(front_end: str, updates: dict[str, list[tuple[float, dict]]], names: list[str]) -> str:
    """Markdown: the Python update inside the kernel, per explorer, during this front-end's run, the
    p50 of its parts (limits + render, the painter's artists, PNG + data URL) and of its CPU time, and
    the share of updates that showed a kept picture (Explorer.frame_memory: no draw, no encode)."""
    lines = [f"### {front_end}: Python update inside the kernel during the run (ms; the moves above, the "
             "restoring steps and the drags)", "",
             "| explorer | updates | p50 | p95 | max | " + " | ".join(f"{p} p50" for p in PARTS) + " | kept pictures |",
             "|---|---:|---:|---:|---:|" + "---:|" * len(PARTS) + "---:|"]
    for name in names:
        rows = updates.get(name, [])
        p50, p95, top = summarize([ms for ms, _ in rows])
        parts = [_ms(summarize([d[p] for _, d in rows if p in d])[0]) if any(p in d for _, d in rows) else "-"
                 for p in PARTS]
        reused = [d["reused"] for _, d in rows if "reused" in d]
        kept = f"{100 * sum(reused) / len(reused):.0f} %" if reused else "-"
        lines.append(f"| {name} | {len(rows)} | {_ms(p50)} | {_ms(p95)} | {_ms(top)} | " + " | ".join(parts)
                     + f" | {kept} |")
    return "\n".join(lines)


def drag_table(drags: list[tuple[str, DragResult]]) -> str:
    """Markdown: one row per front-end and explorer drag."""
    lines = [f"### {DRAG_PRESSES}-press drag (keys sent without waiting)", "",
             "| front-end | explorer | slider | presses | keys span ms | last key -> final picture ms "
             "| pictures drawn | target |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for front_end, d in drags:
        met = d.final_ms is not None and d.final_ms <= TARGET_DRAG_MS
        lines.append(f"| {front_end} | {d.explorer} | {d.slider} | {d.presses} | {d.keys_span_ms:.1f} | "
                     f"{_ms(d.final_ms)} | {d.pictures} | {'met' if met else 'MISSED'} |")
    return "\n".join(lines)


def machine_line(browser, stock: bool) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    sockets = "stock server sockets (--stock-sockets)" if stock else "the project's jupyter_config (TCP_NODELAY websockets)"
    return (f"machine: {os.cpu_count()} cores ({platform.machine()}, load {load}), Chromium {browser.version}, "
            f"Python {platform.python_version()}, torch {version('torch')}, ipywidgets {version('ipywidgets')}, "
            f"jupyterlab {version('jupyterlab')}, voila {version('voila')}; {sockets}")


def targets_line() -> str:
    return (f"targets (JupyterLab): every explorer's p50 over its sliders <= {TARGET_RATIO}x the floor's and p95 < "
            f"{TARGET_P95_MS:.0f} ms; after a drag the final picture <= {TARGET_DRAG_MS:.0f} ms after the last key "
            "(the 'target' column applies the same bars to Voila, for comparison). The 'all controls' rows add the "
            f"drop-downs, toggle buttons and checkboxes; they are reported, not targeted. 'floor p50' is the floor "
            f"measured beside each explorer ({FLOOR_BLOCK} floor moves after every {FLOOR_BLOCK} of its moves); the "
            "ratio divides by it.")


PERFORMANCE = ROOT / "docs" / "performance.md"
TABLE_MARKERS = ("<!-- latency-table -->", "<!-- /latency-table -->")
FRONT_END_NAMES = {"lab": "JupyterLab", "voila": "Voila"}


def summary_table(report: str) -> str:
    """The summary of a report in docs/performance.md: the machine, then one row per front-end and explorer."""
    machine = report.splitlines()[0].removeprefix("machine: ")
    drags = {}
    for line in report.split("-press drag")[1].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[0] in FRONT_END_NAMES:
            drags[(cells[0], cells[1])] = f"{cells[5]} ({cells[6]})"
    rows = [f"Measured on {machine}.", "",
            "| front-end | explorer | slider moves | p50 ms | p95 ms | max ms | p50 / floor | floor p50 ms | "
            "new pictures only: moves, p50 / floor | all controls: moves, p50 ms, p50 / floor | "
            "drag: last key to final picture ms (pictures drawn) | Python update in the kernel p50 ms |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|"]
    for front_end, label in FRONT_END_NAMES.items():
        if f"### {front_end}:" not in report:
            continue
        kernel = {}
        if f"### {front_end}: Python update" in report:
            for line in report.split(f"### {front_end}: Python update")[1].split("###")[0].splitlines():
                cells = [c.strip() for c in line.strip("|").split("|")]
                if len(cells) >= 5 and cells[1].isdigit():  # 5 cells in reports without the parts
                    kernel[cells[0]] = cells[2]
        new = {}  # explorer -> "moves, p50 / floor" of its slider moves to pictures not shown before
        if f"### {front_end}: slider moves to a new picture" in report:
            for line in report.split(f"### {front_end}: slider moves to a new picture")[1].split("###")[0].splitlines():
                cells = [c.strip() for c in line.strip("|").split("|")]
                if len(cells) == 7 and cells[1].isdigit():
                    new[cells[0]] = f"{cells[1]}, {cells[3]}"
        sliders, controls = {}, {}  # explorer -> the cells of its bold rows
        for line in report.split(f"### {front_end}:")[1].split("###")[0].splitlines():
            cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
            if len(cells) in (10, 11) and line.startswith("| **"):  # 10: reports before the floor's new-src column
                (sliders if "slider" in cells[1] else controls)[cells[0]] = cells
        for name, cells in sliders.items():
            moves, p50, p95, top, ratio, floor = cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]
            every = controls.get(name)
            every = "sliders only" if every is None else f"{every[2]}, {every[3]}, {every[6]}"
            rows.append(f"| {label} | {name} | {moves} | {p50} | {p95} | {top} | {ratio} | {floor} | "
                        f"{new.get(name, '-')} | {every} | "
                        f"{drags.get((front_end, name), '-')} | {kernel.get(name, '-')} |")
    return "\n".join(rows)


def write_summary_table(report: str, path: Path = PERFORMANCE) -> None:
    """Replace the text between the latency-table markers of ``path`` by :func:`summary_table`."""
    text = path.read_text()
    start, end = TABLE_MARKERS
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{summary_table(report)}\n{end}{after}")


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=30, help="moves per control (default 30)")
    parser.add_argument("--only", choices=["lab", "voila"], help="measure one front-end only")
    parser.add_argument("--out", type=Path, help="also write the tables to this file")
    parser.add_argument("--docs", action="store_true", help="also replace the summary table in docs/performance.md")
    parser.add_argument("--explorers", nargs="+", metavar="FACTORY",
                        help="measure only these explorer factories (and the floor); default: all")
    parser.add_argument("--stock-sockets", action="store_true",
                        help="without the project's jupyter_config (Nagle's algorithm left on), for comparison")
    args = parser.parse_args()
    problem = chromium_problem()
    if problem:
        sys.exit(f"cannot run the browser benchmark: {problem}")
    from playwright.sync_api import sync_playwright

    import explainer.explorers as explorers

    factories = list(args.explorers or explorers.__all__)
    unknown = sorted(set(factories) - set(explorers.__all__))
    if unknown:
        sys.exit(f"unknown explorer factories {unknown}; choose from {explorers.__all__}")
    names = [f.removesuffix("_explorer") for f in factories] + [FLOOR]
    front_ends = [args.only] if args.only else ["lab", "voila"]
    root = Path(tempfile.mkdtemp(prefix="latency-notebook-"))
    start = time.monotonic()
    try:
        write_notebook(root, factories)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                report = report_all(browser, root, names, front_ends, args.moves, args.stock_sockets)
            finally:
                browser.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report += f"\n\ntotal run time {time.monotonic() - start:.0f} s\n"
    print(report)
    if args.out:
        args.out.write_text(report)
    if args.docs:
        write_summary_table(report)


def report_all(browser, root: Path, names: list[str], front_ends: list[str], moves: int, stock: bool) -> str:
    """Measure each front-end and format the tables."""
    parts, drags = [machine_line(browser, stock), targets_line()], []
    for front_end in front_ends:
        results, front_drags, problems, kernel = measure_front_end(front_end, browser, root, names, moves, stock)
        parts.append(latency_table(front_end, results, names))
        parts.append(repeat_table(front_end, results, names))
        parts.append(kernel_table(front_end, kernel, names))
        drags += [(front_end, d) for d in front_drags]
        if problems:
            parts.append(f"{front_end}: the page showed problems: {problems}")
    parts.append(drag_table(drags))
    return "\n\n".join(parts)


if __name__ == "__main__":
    main()
