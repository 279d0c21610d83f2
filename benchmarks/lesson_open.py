"""Click to pictures: how long a lesson takes to open, in Voila's lecture mode and in JupyterLab.

Three ways of opening the lessons, each in Debian's Chromium (1280x720, a projector's page) against
a server on 127.0.0.1 with a token, as the project config and the presentation preset serve them:

``preheat``  Voila as `make demo` runs it (the Makefile's DEMO_FLAGS: a preheated kernel per lesson).
             The server starts, every lesson's pool kernel is started and has run its lesson (the
             server's processes are idle), then the lecturer walks through the lessons in order:
             on the course page, click the lesson; wait until every explorer's picture is on
             screen; stay ``--dwell`` seconds; back to the course page (Voila shuts the lesson's
             kernel down), next lesson. Voila refills each used pool after its fill_delay, during
             the walk, as in a lecture. Before each further walk the server is left to go idle again.
``preheat-plain``  The same walk with Voila's pool as it comes: refills at normal priority
             (``refill_niceness=0``) and the first fill all at once (``first_fill_parallel=0``), to
             see what jupyter_config/voila.py's changes earn.
``cold``     The same walk with a kernel started per click (`make demo` before preheating).
``lab``      JupyterLab: open the lesson, wait for its kernel, then time Run All; the kernel is shut
             down after each try, so each Run All imports torch afresh, as a student's first one does.

Times are stamped in the page: an init script samples, at every animation frame, how many
``img.explainer-picture`` of the explorers are decoded; the click's time is taken in the same
clock (epoch ms). Per lesson it reports click to first picture and click to all pictures (p50 and
max over the tries).

    .venv/bin/python benchmarks/lesson_open.py [--modes preheat,cold,lab] [--reps 3] [--dwell 5]
        [--lessons 01,02] [--out FILE.json]
    .venv/bin/python benchmarks/lesson_open.py --table A.json [B.json ...] [--docs]

``--table`` prints the table of saved runs (each JSON holds some modes); ``--docs`` also writes it into
docs/performance.md between its ``lesson-open-table`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from harness import chromium_problem, launch_chromium, start_lab, start_voila  # noqa: E402
from pages import EXPLORER, PICTURE, PageProblem, open_lab_notebook  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PROJECTOR = {"width": 1280, "height": 720}
MODES = ("preheat", "preheat-plain", "cold", "lab")
PLAIN_POOL = ["--LectureKernelManager.refill_niceness=0", "--LectureKernelManager.first_fill_parallel=0"]

# Sampled at every animation frame from the page's start: (epoch ms, decoded pictures, pictures,
# explorers), one entry per change.
STAMPS = """
(() => {
  window.__stamps = [];
  let last = '';
  const sample = () => {
    const pics = [...document.querySelectorAll('%s %s')];
    const decoded = pics.filter(p => p.complete && p.naturalWidth > 0).length;
    const explorers = document.querySelectorAll('%s').length;
    const key = decoded + '/' + pics.length + '/' + explorers;
    if (key !== last) { window.__stamps.push([Date.now(), decoded, pics.length, explorers]); last = key; }
    requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
})();
""" % (EXPLORER, PICTURE, EXPLORER)  # noqa: UP031 (braces of JavaScript)


def demo_flags() -> list[str]:
    line = next(ln for ln in (ROOT / "Makefile").read_text().splitlines() if ln.startswith("DEMO_FLAGS"))
    return line.split(":=", 1)[1].split()


# --- the server's processes -------------------------------------------------------------------------

def _tree_stats(root: int) -> tuple[float, float]:
    """CPU seconds (user + system, live processes) and resident MiB of process ``root`` and all its
    descendants: the server and its kernels (which jupyter_client starts in sessions of their own)."""
    stats, parents = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields[1])
        stats[pid] = (int(fields[11]) + int(fields[12]), int(fields[21]))
    cpu = rss = 0
    for pid, (ticks, pages) in stats.items():
        up = pid
        while up not in (root, 0, 1) and up in parents:
            up = parents[up]
        if up == root:
            cpu += ticks
            rss += pages
    return cpu / os.sysconf("SC_CLK_TCK"), rss * os.sysconf("SC_PAGE_SIZE") / 2**20


def wait_until_idle(server, quiet: float = 0.05, window: float = 3.0, timeout: float = 600) -> float:
    """Wait until the server and its kernels use under ``quiet`` of a core over ``window`` seconds;
    return the seconds waited."""
    start = time.monotonic()
    before = _tree_stats(server.process.pid)[0]
    while time.monotonic() - start < timeout:
        time.sleep(window)
        now = _tree_stats(server.process.pid)[0]
        if now - before < quiet * window:
            return time.monotonic() - start
        before = now
    raise RuntimeError(f"the server was still busy after {timeout:.0f} s")


def wait_until_ready(server, timeout: float = 600) -> float:
    """Wait for lecture mode's "ready" line (jupyter_config/voila.py: every lesson has run in its pool
    kernel); return the seconds it reports."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Lecture mode is ready: .*?, (\d+) s after", server.log.read_text(errors="replace"))
        if found:
            return float(found.group(1))
        time.sleep(0.5)
    raise RuntimeError(f"lecture mode did not say it was ready within {timeout:.0f} s:\n{server.log_tail()}")


def lesson_ready_s(server) -> dict[str, float]:
    """When each lesson had run in its pool kernel during the first fill (seconds after the first
    pool kernel was started, as the server logs it)."""
    found = re.findall(r"\] (\S+?)\.ipynb has run in its preheated kernel, (\d+) s after",
                       server.log.read_text(errors="replace"))
    ready: dict[str, float] = {}
    for name, seconds in found:
        ready.setdefault(name, float(seconds))
    return ready


# --- one opening --------------------------------------------------------------------------------------

def _loading(page) -> bool:
    return page.evaluate("() => { const l = document.querySelector('#loading');"
                         " return !!l && l.offsetParent !== null && getComputedStyle(l).display !== 'none'; }")


def wait_for_all(page, done, timeout: float = 180, settle: float = 0.5) -> list:
    """Wait until ``done()`` and every explorer's pictures are decoded (and stay so ``settle`` s);
    return the page's stamps."""
    deadline = time.monotonic() + timeout
    since = None
    while time.monotonic() < deadline:
        stamps = page.evaluate("() => window.__stamps || []")
        ready = bool(stamps) and stamps[-1][1] == stamps[-1][2] > 0 and stamps[-1][2] >= stamps[-1][3] and done()
        if ready:
            since = since or time.monotonic()
            if time.monotonic() - since >= settle:
                return page.evaluate("() => window.__stamps")
        else:
            since = None
        time.sleep(0.1)
    raise PageProblem(f"pictures not all on screen within {timeout:.0f} s (last stamps {stamps[-3:]})")


def timing(stamps: list, clicked_ms: float) -> dict:
    """Seconds from the click to the first decoded picture and to the final state's pictures."""
    final = stamps[-1]
    first = next(s[0] for s in stamps if s[1] >= 1)
    all_on = next(s[0] for s in stamps if s[1] >= final[2] and s[2] == final[2])
    return {"first": (first - clicked_ms) / 1e3, "all": (all_on - clicked_ms) / 1e3, "pictures": final[2]}


# --- the three ways ---------------------------------------------------------------------------------

# Key press to the painted picture of the first explorer: keydown stamped in the page, then the
# picture's new src, its decode and one animation frame (as benchmarks/browser_latency.py does).
SLIDER_WATCH = """(explorer, selector) => {
  window.__lat = []; window.__key = null;
  document.addEventListener('keydown', () => { window.__key = performance.now(); }, true);
  for (const img of explorer.querySelectorAll(selector)) {
    new MutationObserver(() => {
      if (window.__key === null) return;
      const k = window.__key; window.__key = null;
      img.decode().then(() => requestAnimationFrame(() => window.__lat.push(performance.now() - k)));
    }).observe(img, {attributes: true, attributeFilter: ['src']});
  }
}"""


def slider_moves(page, moves: int, pause: float = 0.15) -> list[float]:
    """Time ``moves`` arrow-key steps on the first enabled slider of the lesson's explorers, back and
    forth inside its range; [] when no explorer has one. Returns milliseconds per move."""
    handles = page.locator(f"{EXPLORER} .widget-slider .noUi-handle")
    handle = None
    for i in range(handles.count()):
        if not handles.nth(i).evaluate("h => h.closest('.noUi-target').hasAttribute('disabled')"):
            handle = handles.nth(i)
            break
    if handle is None:
        return []
    explorer = handle.locator(f"xpath=ancestor::*[contains(@class, '{EXPLORER[1:]}')][1]")
    explorer.scroll_into_view_if_needed()
    explorer.evaluate(SLIDER_WATCH, PICTURE)
    handle.focus()
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    key = "ArrowLeft" if at_max else "ArrowRight"
    for _ in range(moves):
        before = page.evaluate("() => window.__lat.length")
        page.keyboard.press(key)
        deadline = time.monotonic() + 5
        while page.evaluate("() => window.__lat.length") == before and time.monotonic() < deadline:
            time.sleep(0.01)
        if handle.get_attribute("aria-valuenow") in (handle.get_attribute("aria-valuemax"),
                                                      handle.get_attribute("aria-valuemin")):
            key = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
        time.sleep(pause)
    return page.evaluate("() => window.__lat")


def walk_voila(browser, server, lessons: list[Path], reps: int, dwell: float, mode: str, log,
               moves: int = 0) -> dict:
    context = browser.new_context(viewport=PROJECTOR)
    context.add_init_script(STAMPS)
    page = context.new_page()
    results: dict[str, list] = {p.stem: [] for p in lessons}
    for rep in range(reps):
        waited = wait_until_idle(server)
        log(f"{mode} walk {rep + 1}/{reps}: server idle after {waited:.0f} s "
            f"(it and its kernels hold {_tree_stats(server.process.pid)[1] / 1024:.1f} GiB)")
        for lesson in lessons:
            page.goto(server.url(""))
            link = page.locator(f".course-lesson > a[href*='{lesson.name}']").first
            link.wait_for(timeout=60_000)
            page.wait_for_timeout(300)
            clicked = page.evaluate("() => Date.now()")
            link.click()
            page.wait_for_url(re.compile(re.escape(f"/voila/render/{lesson.name}")), timeout=60_000)
            stamps = wait_for_all(page, lambda: not _loading(page))
            result = timing(stamps, clicked)
            results[lesson.stem].append(result)
            if moves:  # right after the click, while Voila refills this lesson's pool (after fill_delay)
                result["slider_ms"] = slider_moves(page, moves)
            log(f"  {lesson.stem}: first {result['first']:.2f} s, all {result['all']:.2f} s "
                f"({result['pictures']} pictures)" + (
                    f", slider p50 {statistics.median(result['slider_ms']):.0f} ms over {len(result['slider_ms'])}"
                    if result.get("slider_ms") else ""))
            page.wait_for_timeout(dwell * 1e3)
    context.close()
    return results


def _shutdown_sessions(server) -> None:
    with urllib.request.urlopen(server.url("api/sessions"), timeout=30) as reply:
        sessions = json.load(reply)
    for session in sessions:
        request = urllib.request.Request(server.url(f"api/sessions/{session['id']}"), method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def _run_all_done(page) -> bool:
    prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputArea-prompt",
                                        "els => els.map(e => e.textContent.trim())")
    return bool(prompts) and all(p.startswith("[") and p[1:-2].isdigit() for p in prompts)


def open_lab(browser, server, lessons: list[Path], reps: int, log) -> dict:
    results: dict[str, list] = {p.stem: [] for p in lessons}
    for rep in range(reps):
        for lesson in lessons:
            wait_until_idle(server)
            context = browser.new_context(viewport=PROJECTOR)
            context.add_init_script(STAMPS)
            page = context.new_page()
            open_lab_notebook(page, server, lesson.name)
            page.wait_for_timeout(500)
            clicked = page.evaluate("() => Date.now()")
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            stamps = wait_for_all(page, lambda page=page: _run_all_done(page))
            result = timing(stamps, clicked)
            results[lesson.stem].append(result)
            log(f"  lab {rep + 1}/{reps} {lesson.stem}: first {result['first']:.2f} s, all {result['all']:.2f} s "
                f"({result['pictures']} pictures)")
            context.close()
            _shutdown_sessions(server)
    return results


def run(modes: list[str], lessons: list[Path], reps: int, dwell: float, log=print, moves: int = 0) -> dict:
    from playwright.sync_api import sync_playwright

    env = {"EXPLAINER_PRESENTATION": "1"}
    out: dict = {"modes": {}, "reps": reps, "dwell_s": dwell, "cores": os.cpu_count(),
                 "machine": platform.processor() or platform.machine(), "demo_flags": demo_flags(),
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="lesson-open-") as tmp, sync_playwright() as playwright:
        tmp = Path(tmp)
        root = tmp / "notebooks"  # copies: JupyterLab's autosave must not write outputs into the lessons
        root.mkdir()
        for path in lessons:
            shutil.copy(path, root / path.name)
        browser = launch_chromium(playwright)
        try:
            for mode in modes:
                started = time.monotonic()
                if mode == "lab":
                    server = start_lab(root, tmp / f"server-{mode}", env=env)
                    with server:
                        out["modes"][mode] = open_lab(browser, server, lessons, reps, log)
                else:
                    args = {"preheat": demo_flags(), "cold": [],
                            "preheat-plain": [*demo_flags(), *PLAIN_POOL]}[mode]
                    server = start_voila(root, tmp / f"server-{mode}", env=env, args=args)
                    with server:
                        if mode.startswith("preheat"):
                            # The first fill: every lesson's kernel started and run, all at once.
                            fill = out.setdefault("first_fill_s", {})[mode] = wait_until_ready(server)
                            out.setdefault("lesson_ready_s", {})[mode] = lesson_ready_s(server)
                            log(f"{mode}: every lesson run in its pool kernel {fill:.0f} s "
                                f"after the first kernel started ({time.monotonic() - started:.0f} s after the "
                                "server was started)")
                        out["modes"][mode] = walk_voila(browser, server, lessons, reps, dwell, mode, log, moves)
                        if mode.startswith("preheat"):
                            used = server.log.read_text(errors="replace").count("Using pre-heated kernel")
                            out["preheated_opens"] = used
                            log(f"preheat: {used} of {reps * len(lessons)} opens used a pool kernel")
                log(f"{mode}: {time.monotonic() - started:.0f} s")
        finally:
            browser.close()
    return out


# --- the table ------------------------------------------------------------------------------------------

def _p50_max(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} / {max(values):.2f}" if values else "-"


def table(runs: list[dict]) -> str:
    modes: dict[str, dict] = {}
    for r in runs:  # the tries of several runs of one mode are pooled
        for mode, lessons in r["modes"].items():
            for name, tries in lessons.items():
                modes.setdefault(mode, {}).setdefault(name, []).extend(tries)
    heads = {"preheat": "Voila, lecture mode (preheated)", "preheat-plain": "Voila, preheated, refills not niced",
             "cold": "Voila, no preheating", "lab": "JupyterLab, Run All"}
    shown = [m for m in MODES if m in modes]
    lessons = sorted({name for m in shown for name in modes[m]})
    columns = (f"{heads[m]}: first, p50 / max (s) | all pictures, p50 / max (s)" for m in shown)
    lines = ["| lesson | " + " | ".join(columns) + " |", "|---" * (1 + 2 * len(shown)) + "|"]
    for name in lessons:
        cells = []
        for m in shown:
            tries = modes[m].get(name, [])
            cells += [_p50_max([t["first"] for t in tries]), _p50_max([t["all"] for t in tries])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cells = []
    for m in shown:
        tries = [t for name in modes[m] for t in modes[m][name]]
        cells += [_p50_max([t["first"] for t in tries]), _p50_max([t["all"] for t in tries])]
    lines.append("| all lessons | " + " | ".join(cells) + " |")
    slider_notes = []
    for m in shown:
        # The first walk meets each lesson in a kernel of the first fill; later walks in its refill
        # (in lecture mode started at refill_niceness), while that lesson's next refill runs.
        for visits, label in ((slice(0, 1), "first visits"), (slice(1, None), "later visits (refill kernels)")):
            ms = sorted(v for name in modes[m] for t in modes[m][name][visits] for v in t.get("slider_ms", []))
            if ms:
                slider_notes.append(
                    f"{heads[m]}, {label}: slider moves right after the lesson is on screen (its pool refilling): "
                    f"p50 {statistics.median(ms):.0f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.0f} ms, "
                    f"max {ms[-1]:.0f} ms over {len(ms)} moves")
    notes = []
    for r in runs:
        what = ", ".join(f"{m} {r['reps']} tries per lesson" for m in r["modes"])
        fills = r.get("first_fill_s", {})
        fills = fills if isinstance(fills, dict) else {"preheat": fills}  # older runs: one number
        extra = "".join(f"; {mode}: first fill of the pools {s:.0f} s" for mode, s in fills.items())
        for mode, ready in r.get("lesson_ready_s", {}).items():
            if ready:
                order = ", ".join(f"{name[:2]} {s:.0f}" for name, s in sorted(ready.items()))
                extra += f"; {mode}: each lesson run in its pool kernel after (s) {order}"
        dwell = f", dwell {r['dwell_s']:g} s" if set(r["modes"]) - {"lab"} else ""
        notes.append(f"{r['date']}: {what}{dwell}, {r['cores']} cores{extra}")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in slider_notes + notes) + "\n"


def write_docs(text: str) -> None:
    doc = ROOT / "docs" / "performance.md"
    content = doc.read_text()
    start, end = "<!-- lesson-open-table -->", "<!-- /lesson-open-table -->"
    if start not in content:
        raise SystemExit(f"{doc} has no {start} marker")
    head, rest = content.split(start, 1)
    doc.write_text(head + start + "\n" + text + end + rest.split(end, 1)[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: preheat, cold, lab")
    parser.add_argument("--reps", type=int, default=3, help="tries per lesson and mode")
    parser.add_argument("--dwell", type=float, default=5.0, help="seconds a lesson stays on screen in a walk")
    parser.add_argument("--lessons", default="", help="comma-separated prefixes (default: every lesson)")
    parser.add_argument("--slider", type=int, default=0, metavar="MOVES",
                        help="in Voila, time MOVES slider steps right after each lesson is on screen")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    parser.add_argument("--table", type=Path, nargs="+", help="print the table of saved runs instead")
    parser.add_argument("--docs", action="store_true", help="with --table: write it into docs/performance.md")
    args = parser.parse_args(argv)
    if args.table:
        text = table([json.loads(p.read_text()) for p in args.table])
        print(text)
        if args.docs:
            write_docs(text)
        return
    problem = chromium_problem()
    if problem:
        raise SystemExit(problem)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise SystemExit(f"--modes: unknown {unknown}; choose from {list(MODES)}")
    prefixes = [s.strip() for s in args.lessons.split(",") if s.strip()]
    lessons = [p for p in NOTEBOOKS if not prefixes or any(p.name.startswith(x) for x in prefixes)]
    result = run(modes, lessons, args.reps, args.dwell, log=lambda s: print(s, flush=True), moves=args.slider)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    print(table([result]))


if __name__ == "__main__":
    main()
