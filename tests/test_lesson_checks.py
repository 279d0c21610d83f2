"""A lesson's checks never fight the student.

Each lesson is run in a real kernel as a student would use it: every cell in order, and where a
"Try this" cell stands, its steps (the cell's ``explainer.try_this`` metadata) are applied to the
student's explorer, one after the other. Then the rest of the lesson runs. It passes when

* every later cell, checks included, still runs without an error,
* every step left its explorer without an error, at the values the step set,
* no cell moved an explorer the student sees: at the end, each explorer built by a lesson cell still
  has the values it had after its construction and its Try-this steps (so after Run All, without
  the steps, every explorer is in the state its prose describes).

nbval runs the lessons as they are (Run All); this test runs them as a student moved them.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Kernel-side bookkeeping, run after every lesson cell: the explorers in the namespace and the
# values each had when last seen by the test (after its construction, or after Try-this steps).
_TRACK = """
from explainer.explorers._kit import Explorer as __Explorer
__explorers = globals().setdefault("__explorers", {})
for __name, __value in list(globals().items()):
    if isinstance(__value, __Explorer) and not __name.startswith("_") and __name not in __explorers:
        __explorers[__name] = (__value, dict(__value.values))
"""

_STEP = """
__ex = __explorers[{name!r}][0]
__ex.set(**{values!r})
assert __ex.last_error is None, f"step {step} of {cell}: {{__ex.last_error}}"
__wanted = {values!r}
assert {{k: __ex.values[k] for k in __wanted}} == __wanted, f"step {step} of {cell}: {{__ex.values}}"
__explorers[{name!r}] = (__ex, dict(__ex.values))
"""

_FINAL = """
__moved = {n: (dict(ex.values), kept) for n, (ex, kept) in __explorers.items() if dict(ex.values) != kept}
assert not __moved, f"a later cell moved the student's explorer(s): {__moved}"
__failed = {n: ex.last_error for n, (ex, _) in __explorers.items() if ex.last_error is not None}
assert not __failed, f"explorers left in an error state: {__failed}"
print(sorted(__explorers))
"""


def try_this_steps(cell: dict) -> list[dict]:
    """The ``explainer.try_this`` steps of a markdown cell (``[]`` when it has none)."""
    return cell.get("metadata", {}).get("explainer", {}).get("try_this", [])


def _code(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source)


class LessonFailed(AssertionError):
    """A lesson run as a student would: a cell, a step or the final check failed."""


def _run(client: NotebookClient, cell, index: int, where: str) -> None:
    try:
        client.execute_cell(cell, index)
    except CellExecutionError as error:
        raise LessonFailed(f"{where} failed:\n{str(error)[-3000:]}") from None


def run_as_student(nb: nbformat.NotebookNode, cwd: Path, name: str) -> tuple[list[str], int]:
    """Run ``nb`` cell by cell, applying its Try-this steps where they stand.

    Returns:
        the names of the explorers the lesson built, and the number of steps applied.

    Raises:
        LessonFailed: a cell or step failed, or an explorer was moved by a later cell.
    """
    lesson = list(nb.cells)
    nb = nbformat.v4.new_notebook(cells=[*lesson, _code("")], metadata=nb.metadata)
    scratch = len(lesson)  # nbclient stores each executed cell at its index: the test's own cells go here
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    applied = 0
    with client.setup_kernel():
        for index, cell in enumerate(lesson):
            where = f"{name} cell {index}"
            if cell.cell_type == "code":
                _run(client, cell, index, where)
                if "check" not in cell.metadata.get("tags", []):
                    _run(client, _code(_TRACK), scratch, f"tracking explorers after {where}")
                continue
            for step, entry in enumerate(try_this_steps(cell), start=1):
                source = _STEP.format(name=entry["explorer"], values=entry["set"], step=step, cell=where)
                _run(client, _code(source), scratch, f"Try-this step {step} of {where} ({json.dumps(entry)})")
                applied += 1
        final = _code(_FINAL)
        _run(client, final, scratch, f"{name}: after the last cell")
    printed = "".join(o.get("text", "") for o in final.outputs).strip()
    return json.loads(printed.replace("'", '"')), applied


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_checks_pass_after_the_students_try_this_steps(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert any(try_this_steps(c) for c in nb.cells), f"{path.name}: no Try-this cell carries explainer.try_this steps"
    explorers, applied = run_as_student(nb, path.parent, path.name)
    assert explorers, f"{path.name}: no explorer was tracked"
    assert applied >= 2, f"{path.name}: only {applied} Try-this step(s)"


def _tiny_lesson(check: str) -> nbformat.NotebookNode:
    try_this = nbformat.v4.new_markdown_cell("**Try this**: padding 1, then stride 2.")
    try_this.metadata["explainer"] = {"try_this": [{"explorer": "ex", "set": {"padding": 1}},
                                                   {"explorer": "ex", "set": {"stride": 2}}]}
    check_cell = _code(check)
    check_cell.metadata["tags"] = ["check"]
    return nbformat.v4.new_notebook(cells=[
        _code("from explainer.explorers.convolution import conv_arithmetic_explorer\nex = conv_arithmetic_explorer()"),
        try_this, check_cell])


def test_the_run_catches_a_check_that_moves_the_students_explorer(tmp_path):
    """The detector itself: a check that resets the student's explorer fails the lesson; one that
    builds its own explorer passes, after the steps were applied."""
    with pytest.raises(LessonFailed, match="moved the student's explorer"):
        run_as_student(_tiny_lesson("ex.set(padding=0, stride=1)\nassert ex.result.output_size == (5, 5)"), tmp_path, "bad")
    with pytest.raises(LessonFailed, match="AssertionError"):
        run_as_student(_tiny_lesson("assert ex.result.output_size == (5, 5)"), tmp_path, "stale")
    good = "probe = conv_arithmetic_explorer()\nassert probe.result.output_size == (5, 5)"
    assert run_as_student(_tiny_lesson(good), tmp_path, "good") == (["ex"], 2)
