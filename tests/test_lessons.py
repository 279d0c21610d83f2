"""Every lesson is built for a class (STYLE.md): questions, Try this, glossary, links, hidden checks.

These read the committed notebooks; tests/test_lesson_checks.py runs them as a student would.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]

# "Where this comes back": the pairs of lessons that must link to each other (both ways).
LINKED_PAIRS = [("02", "03"), ("04", "05"), ("03", "06"), ("05", "07"), ("05", "10"), ("02", "08"), ("05", "08"),
                ("04", "09"), ("05", "09")]
LINKED_PAIRS += [("02", "11"), ("04", "12"), ("11", "12")]  # depth, activations and normalisation (#19)
LINKED_PAIRS += [("02", "13"), ("05", "14"), ("13", "14")]  # CNN families and the transformer block (#19)
# Lessons that touch an error in our notes and must correct it out loud.
NOTES_CORRECTIONS = {
    "01": "equivariant",  # a convolution is translation equivariant, not invariant
    "04": "0.25",  # the sigmoid's derivative peaks at 0.25 at x = 0
    "05": "swap",  # swapping Q and K changes the weights
    "11": "exploding",  # ReLU's slope of 1 does not rule out exploding gradients: the weights multiply too
    "12": "0.25",  # the sigmoid's derivative peaks at 0.25 at x = 0 (as lesson 04 says too)
}
CJK = re.compile(r"[\u4e00-\u9fff]")
LESSON_LINK = re.compile(r"\]\((\d\d_[A-Za-z0-9_]+\.ipynb)(#[^)]*)?\)")
# Names a lesson may not use for the sequence length (the notation is N).
SEQUENCE_LENGTH_T = re.compile(r"\b(?:tokens|length|sequence)\s+\$?T\$?\b|\$T\s*\\times\s*T\$")


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def _markdown(path: Path) -> list[str]:
    return [c.source for c in _cells(path) if c.cell_type == "markdown"]


def _is_explorer_cell(cell) -> bool:
    return cell.cell_type == "code" and re.search(r"\w+_explorer\(", cell.source) is not None \
        and "check" not in cell.metadata.get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_questions_come_before_the_explorer_that_answers_them(path):
    cells = _cells(path)
    explorers = [i for i, c in enumerate(cells) if _is_explorer_cell(c)]
    questions = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and "**Question.**" in c.source]
    assert 2 <= len(questions) <= 4, f"{path.name}: {len(questions)} questions"
    for i in questions:
        source = cells[i].source
        assert re.search(r"<details>\s*<summary>Answer</summary>(.|\n)+</details>", source), \
            f"{path.name} cell {i}: the answer must sit in a collapsed <details> block"
        assert " open" not in source.split("<details", 1)[1][:10], f"{path.name} cell {i}: answer shown open"
        assert any(e > i for e in explorers), f"{path.name} cell {i}: no explorer after the question"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_try_this_lists_carry_their_steps(path):
    cells = [c for c in _cells(path) if c.cell_type == "markdown" and "**Try this**" in c.source]
    assert 1 <= len(cells) <= 3, f"{path.name}: {len(cells)} Try-this lists"
    for cell in cells:
        steps = cell.metadata.get("explainer", {}).get("try_this", [])
        assert steps, f"{path.name}: a Try-this list without explainer.try_this steps"
        assert all(set(s) == {"explorer", "set"} and s["set"] for s in steps), steps


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_assert_is_a_check_cell_and_checks_only_check(path):
    for i, cell in enumerate(_cells(path)):
        if cell.cell_type != "code":
            continue
        is_check = "check" in cell.metadata.get("tags", [])
        if re.search(r"^\s*assert\b", cell.source, re.M):
            assert is_check, f"{path.name} cell {i}: asserts belong in a cell tagged 'check' (hidden in lecture mode)"
        if is_check:
            assert not re.search(r"\w+_explorer\(.*\)\s*$", cell.source.strip().splitlines()[-1]), \
                f"{path.name} cell {i}: a check cell must not display an explorer"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_glossary_gives_english_and_chinese_terms(path):
    glossary = [s for s in _markdown(path) if s.lstrip().startswith("## Glossary · 术语表")]
    assert len(glossary) == 1, f"{path.name}: one '## Glossary · 术语表' cell expected, found {len(glossary)}"
    rows = [line for line in glossary[0].splitlines() if line.startswith("|") and not set(line) <= set("|-: ")]
    assert len(rows) >= 6, f"{path.name}: glossary has {len(rows) - 1} terms"
    assert sum(bool(CJK.search(r)) for r in rows[1:]) >= 5, f"{path.name}: glossary terms without Chinese"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_links_point_to_existing_lessons(path):
    targets = {m.group(1) for s in _markdown(path) for m in LESSON_LINK.finditer(s)}
    assert targets - {path.name}, f"{path.name}: no link to another lesson"
    missing = {t for t in targets if not (ROOT / "notebooks" / t).exists()}
    assert not missing, f"{path.name}: links to missing lessons {missing}"
    assert any(s.lstrip().startswith("## Where this comes back") for s in _markdown(path)), path.name


@pytest.mark.parametrize("a, b", LINKED_PAIRS)
def test_related_lessons_link_both_ways(a, b):
    paths = {p.name[:2]: p for p in NOTEBOOKS}
    for src, dst in ((a, b), (b, a)):
        targets = {m.group(1)[:2] for s in _markdown(paths[src]) for m in LESSON_LINK.finditer(s)}
        assert dst in targets, f"lesson {src} does not link to lesson {dst}"


@pytest.mark.parametrize("lesson, word", sorted(NOTES_CORRECTIONS.items()))
def test_lessons_correct_our_notes_out_loud(lesson, word):
    path = next(p for p in NOTEBOOKS if p.name.startswith(lesson))
    boxes = [s for s in _markdown(path) if re.search(r"^> \*\*Our notes say\*\*", s, re.M)]
    assert boxes, f"{path.name}: no '> **Our notes say** ... **In fact** ...' box"
    assert any("**In fact**" in b and word in b.lower() for b in boxes), f"{path.name}: no box about {word!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_sequence_length_is_called_n(path):
    text = "\n".join(_markdown(path))
    assert not SEQUENCE_LENGTH_T.search(text), f"{path.name}: the sequence length is N in every lesson"
