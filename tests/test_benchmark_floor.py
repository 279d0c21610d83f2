"""The latency benchmark's pieces that need no browser: the floor explorer and the pure helpers."""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import browser_latency as bench  # noqa: E402
from floor import FloorExplorer, PrerenderedPainter  # noqa: E402


@pytest.fixture(scope="module")
def floor():
    return FloorExplorer(pictures=4)


def test_floor_pictures_are_distinct_pngs_of_a_typical_explorer_size(floor):
    pngs = floor.painter.pngs
    assert len(set(pngs)) == 4
    assert {Image.open(io.BytesIO(png)).size for png in pngs} == {(800, 450)}


def test_floor_slider_swaps_pre_encoded_pngs_without_encoding(floor, monkeypatch):
    def no_drawing(*_):
        raise AssertionError("the floor must not draw or encode on a move")

    monkeypatch.setattr(PrerenderedPainter, "render", no_drawing)
    monkeypatch.setattr(PrerenderedPainter, "encode", no_drawing)
    for value in (1, 3, 2, 0):
        floor.controls["picture"].value = value
        assert floor.last_error is None
        assert floor.png() == floor.painter.pngs[value]


def test_floor_needs_two_pictures():
    with pytest.raises(ValueError, match="pictures must be >= 2, got 1"):
        FloorExplorer(pictures=1)


def test_summarize_gives_p50_p95_max():
    times = [float(t) for t in range(1, 101)]
    p50, p95, top = bench.summarize(times)
    assert p50 == pytest.approx(50.5)
    assert p95 == pytest.approx(95.05)
    assert top == 100.0
    assert all(math.isnan(x) for x in bench.summarize([]))


def test_phase_delays_spread_keys_evenly_over_one_frame():
    waits = bench.phase_delays(4000, seed=3)
    assert bench.FRAME_S == pytest.approx(1 / 60)
    assert all(0 <= w < bench.FRAME_S for w in waits)
    eighths = [0] * 8
    for w in waits:
        eighths[int(w / bench.FRAME_S * 8)] += 1
    assert min(eighths) > 400 and max(eighths) < 600, eighths  # 500 each if uniform
    assert bench.phase_delays(5, seed=3) == waits[:5]  # repeatable
    assert bench.phase_delays(5, seed=4) != waits[:5]  # another block of moves, other waits


@pytest.mark.parametrize(
    ("now", "direction", "expected"),
    [(0, +1, ("ArrowRight", +1)), (5, +1, ("ArrowLeft", -1)), (0, -1, ("ArrowRight", +1)), (3, -1, ("ArrowLeft", -1))],
)
def test_next_key_bounces_at_the_ends(now, direction, expected):
    assert bench.next_key(now, 0, 5, direction) == expected


def test_next_key_skips_a_slider_that_cannot_move():
    assert bench.next_key(2, 2, 2, +1) == (None, +1)


@given(st.integers(2, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))), st.integers(0, 30))
def test_drag_keys_move_on_every_press_and_stay_in_range(count_position, presses):
    count, position = count_position
    keys = bench.drag_keys(position, count, presses)
    assert len(keys) == presses
    for key in keys:
        position += 1 if key == "ArrowRight" else -1
        assert 0 <= position < count


def test_drag_keys_on_a_slider_with_one_position_is_empty():
    assert bench.drag_keys(0, 1, 20) == []


def test_drag_summary_times_the_last_key_to_the_final_picture():
    keys = [100.0, 103.0, 106.0]
    paints = [{"t": 150.0, "src": "a"}, {"t": 190.0, "src": "b"}]
    assert bench.drag_summary(keys, paints) == (6.0, 84.0, 2)
    # A last picture older than the last key is not the final one: no time is claimed.
    assert bench.drag_summary(keys, [{"t": 104.0, "src": "a"}])[1] is None


REPORT = """machine: 2 cores (x86_64, load 0.10, 0.20, 0.30), Chromium 1; the project's jupyter_config

### lab: key press -> first painted frame with new pixels (ms)

| explorer | control | moves | p50 | p95 | max | p50 / floor | floor p50 | key -> new src p50 | target |
|---|---|---:|---:|---:|---:|---:|---:|---:|---|
| conv | kernel | 30 | 40.0 | 50.0 | 60.0 | 1.25 | 32.0 | 20.0 | |
| conv | mask (toggle buttons) | 30 | 50.0 | 60.0 | 70.0 | 1.56 | 32.0 | 22.0 | |
| **conv** | **all sliders** | 30 | **40.0** | **50.0** | 60.0 | **1.25** | 32.0 | 20.0 | met |
| **conv** | **all controls** | 60 | **45.0** | **55.0** | 70.0 | **1.41** | 32.0 | 21.0 | (not targeted) |
| refs | network (drop-down) | 30 | 33.0 | 40.0 | 41.0 | 1.03 | 32.0 | 16.0 | |
| **refs** | (no enabled slider) | 0 | - | - | - | - | - | - | - |
| **refs** | **all controls** | 30 | **33.0** | **40.0** | 41.0 | **1.03** | 32.0 | 16.0 | (not targeted) |
| **floor** | **all sliders** | 60 | **32.0** | **46.0** | 51.9 | **1.00** | 32.0 | 15.6 | met |

### lab: Python update inside the kernel during the run (ms; the moves above, the restoring steps and the drags)

| explorer | updates | p50 | p95 | max | compute p50 | draw p50 | encode p50 | cpu p50 |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
| conv | 52 | 7.5 | 9.0 | 11.0 | 2.0 | 4.0 | 1.0 | 5.5 |
| refs | 0 | - | - | - | - | - | - | - |
| floor | 70 | 0.3 | 0.9 | 1.2 | 0.1 | 0.0 | 0.0 | 0.3 |

### lab: slider moves to a new picture and back to one shown before (ms)

| explorer | new: moves | new: p50 | new: p50 / floor | shown before: moves | shown before: p50 | shown before: p50 / floor |
|---|---:|---:|---:|---:|---:|---:|
| conv | 12 | 44.8 | 1.40 | 18 | 36.8 | 1.15 |

### voila: key press -> first painted frame with new pixels (ms)

| explorer | control | moves | p50 | p95 | max | p50 / floor | floor p50 | key -> new src p50 | target |
|---|---|---:|---:|---:|---:|---:|---:|---:|---|
| **conv** | **all sliders** | 30 | **30.0** | **40.0** | 45.0 | **1.50** | 20.0 | 20.0 | MISSED |

### 20-press drag (keys sent without waiting)

| front-end | explorer | slider | presses | keys span ms | last key -> final picture ms | pictures drawn | target |
|---|---|---|---:|---:|---:|---:|---|
| lab | conv | kernel | 20 | 90.1 | 70.2 | 3 | met |
| voila | conv | kernel | 20 | 80.0 | 40.5 | 2 | met |
"""


def test_summary_table_summarises_each_front_end_and_explorer(tmp_path):
    table = bench.summary_table(REPORT)
    lines = table.splitlines()
    assert lines[0] == ("Measured on 2 cores (x86_64, load 0.10, 0.20, 0.30), Chromium 1; "
                        "the project's jupyter_config.")
    assert lines[4:] == [
        "| JupyterLab | conv | 30 | 40.0 | 50.0 | 60.0 | 1.25 | 32.0 | 12, 1.40 | 60, 45.0, 1.41 | 70.2 (3) | 7.5 |",
        "| JupyterLab | refs | 0 | - | - | - | - | - | - | 30, 33.0, 1.03 | - | - |",
        "| JupyterLab | floor | 60 | 32.0 | 46.0 | 51.9 | 1.00 | 32.0 | - | sliders only | - | 0.3 |",
        "| Voila | conv | 30 | 30.0 | 40.0 | 45.0 | 1.50 | 20.0 | - | sliders only | 40.5 (2) | - |"]
    page = tmp_path / "performance.md"
    page.write_text("intro\n<!-- latency-table -->\nold table\n<!-- /latency-table -->\nafter\n")
    bench.write_summary_table(REPORT, page)
    assert page.read_text() == f"intro\n<!-- latency-table -->\n{table}\n<!-- /latency-table -->\nafter\n"


def _moves(explorer: str, control: str, kind: str, ms: float, count: int = 30,
           floor: float | None = None) -> bench.ControlResult:
    return bench.ControlResult(explorer, control, kind, times=[ms] * count, arrivals=[ms / 2] * count,
                               floor=[] if floor is None else [floor] * count,
                               floor_arrivals=[] if floor is None else [floor / 4] * count)


def test_latency_table_divides_by_the_floor_beside_and_targets_the_sliders():
    results = [_moves("conv", "kernel", "slider", 40.0, floor=25.0),
               _moves("conv", "mask (toggle buttons)", "toggle buttons", 50.0, floor=35.0),
               bench.ControlResult("conv", "groups", "slider", note="disabled, skipped"),
               _moves("refs", "network (drop-down)", "drop-down", 33.0, floor=30.0),
               _moves("floor", "picture (beside conv)", "slider", 30.0, 60),
               _moves("floor", "picture", "slider", 32.0, 61)]
    table = bench.latency_table("lab", results, ["conv", "refs", "floor"]).splitlines()
    assert table[4:] == [
        "| conv | kernel | 30 | 40.0 | 40.0 | 40.0 | 1.60 | 25.0 | 20.0 | 6.2 | |",
        "| conv | mask (toggle buttons) | 30 | 50.0 | 50.0 | 50.0 | 1.43 | 35.0 | 25.0 | 8.8 | |",
        "| conv | groups | 0 (disabled, skipped) | - | - | - | - | - | - | - | |",
        "| **conv** | **all sliders** | 30 | **40.0** | **40.0** | 40.0 | **1.60** | 25.0 | 20.0 | 6.2 | MISSED |",
        "| **conv** | **all controls** | 60 | **45.0** | **50.0** | 50.0 | **1.50** | 30.0 | 22.5 | 7.5 | "
        "(not targeted) |",
        "| refs | network (drop-down) | 30 | 33.0 | 33.0 | 33.0 | 1.10 | 30.0 | 16.5 | 7.5 | |",
        "| **refs** | (no enabled slider) | 0 | - | - | - | - | - | - | - | - |",
        "| **refs** | **all controls** | 30 | **33.0** | **33.0** | 33.0 | **1.10** | 30.0 | 16.5 | 7.5 | "
        "(not targeted) |",
        "| floor | picture (beside conv) | 60 | 30.0 | 30.0 | 30.0 | 0.94 | 32.0 | 15.0 | - | |",
        "| floor | picture | 61 | 32.0 | 32.0 | 32.0 | 1.00 | 32.0 | 16.0 | - | |",
        "| **floor** | **all sliders** | 121 | **32.0** | **32.0** | 32.0 | **1.00** | 32.0 | 16.0 | - | met |"]
    # The table a run prints is the table the summary in docs/performance.md reads.
    report = "\n\n".join(["machine: m", "\n".join(table), bench.drag_table([])])
    assert bench.summary_table(report).splitlines()[4:] == [
        "| JupyterLab | conv | 30 | 40.0 | 40.0 | 40.0 | 1.60 | 25.0 | - | 60, 45.0, 1.50 | - | - |",
        "| JupyterLab | refs | 0 | - | - | - | - | - | - | 30, 33.0, 1.10 | - | - |",
        "| JupyterLab | floor | 121 | 32.0 | 32.0 | 32.0 | 1.00 | 32.0 | - | sliders only | - | - |"]


def test_repeat_table_splits_slider_moves_into_new_pictures_and_pictures_shown_before():
    conv = bench.ControlResult("conv", "kernel", "slider", times=[40.0, 50.0, 30.0, 20.0],
                               repeats=[False, False, True, True], floor=[25.0] * 4)
    refs = _moves("refs", "network (drop-down)", "drop-down", 33.0, floor=30.0)  # not a slider: not split
    floor = _moves("floor", "picture", "slider", 32.0, 10)
    table = bench.repeat_table("lab", [conv, refs, floor], ["conv", "refs", "floor"]).splitlines()
    assert table[0] == "### lab: slider moves to a new picture and back to one shown before (ms)"
    assert table[4:] == ["| conv | 2 | 45.0 | 1.80 | 2 | 25.0 | 1.00 |"]
    only_new = bench.ControlResult("conv", "kernel", "slider", times=[40.0], repeats=[False], floor=[20.0])
    table = bench.repeat_table("lab", [only_new], ["conv"]).splitlines()
    assert table[4:] == ["| conv | 1 | 40.0 | 2.00 | 0 | - | - |"]


def test_kernel_times_drop_each_explorers_first_update_and_tabulate(tmp_path):
    log = tmp_path / bench.KERNEL_LOG
    parts = '{"compute": 1.0, "draw": 0.5, "encode": 0.25, "cpu": 1.5}'
    log.write_text(f'["conv", 30.0, {parts}]\n["floor", 5.0]\n["conv", 2.0, {parts}]\n'
                   '["conv", 4.0, {"compute": 3.0, "draw": 0.5, "encode": 0.75, "cpu": 2.5, "reused": 1.0}]\n'
                   '["floor", 0.5]\n')
    times = bench.kernel_times(log)  # lines without parts (older logs) still count
    assert times == {"conv": [2.0, 4.0], "floor": [0.5]}
    assert bench.kernel_times(tmp_path / "missing.jsonl") == {}
    table = bench.kernel_table("lab", bench.kernel_updates(log), ["conv", "refs", "floor"]).splitlines()
    assert table[2].endswith("| compute p50 | draw p50 | encode p50 | cpu p50 | kept pictures |")
    assert table[4:] == ["| conv | 2 | 3.0 | 3.9 | 4.0 | 2.0 | 0.5 | 0.5 | 2.0 | 100 % |",  # of those that say
                         "| refs | 0 | - | - | - | - | - | - | - | - |",
                         "| floor | 1 | 0.5 | 0.5 | 0.5 | - | - | - | - | - |"]


def test_the_notebooks_hook_logs_each_painted_update_of_a_named_explorer(tmp_path, monkeypatch):
    """The hook the benchmark notebook installs, run here on the floor explorer: one line per frame."""
    import json

    from explainer.explorers._kit import Explorer

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Explorer, "update", Explorer.update)  # restored after the test
    exec(bench.KERNEL_HOOK, {})
    ex = FloorExplorer(pictures=3)
    ex.bench_name = "floor"
    for value in (1, 2, 2, 0):  # the repeated 2 changes nothing: no update, no line
        ex.controls["picture"].value = value
    lines = [json.loads(line) for line in (tmp_path / bench.KERNEL_LOG).read_text().splitlines()]
    assert [name for name, _, _ in lines] == ["?", "floor", "floor", "floor"]  # construction, then 3 moves
    assert all(ms >= 0 for _, ms, _ in lines) and len(lines) == ex.frames
    for _, ms, parts in lines[1:]:  # the floor draws nothing: its PNGs were encoded up front
        assert set(parts) == {"compute", "draw", "encode", "cpu", "reused"} and parts["draw"] == 0.0
        assert parts["reused"] == 0.0  # the floor keeps no pictures: every move takes frame()
        assert 0 <= parts["compute"] + parts["encode"] <= ms
        assert 0 < parts["cpu"] <= ms + 1  # the CPU time of the whole update (thread_time's coarser clock)
