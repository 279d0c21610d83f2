"""Helpers shared by the explorer tests (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

from typing import Any

from explainer.explorers._kit import option_values


def step(control: Any) -> Any:
    """A different allowed value one step away, as the browser test's arrow key or click gives."""
    if getattr(control, "options", None):
        values = option_values(control)
        i = values.index(control.value)
        return values[i + 1] if i + 1 < len(values) else values[i - 1]
    if isinstance(control.value, bool):
        return not control.value
    delta = getattr(control, "step", 1) or 1
    return control.value + delta if control.value + delta <= control.max else control.value - delta


def assert_every_control_repaints(ex: Any) -> None:
    """Step every enabled control once: no error, and the picture changes each time."""
    for name, control in ex.controls.items():
        if control.disabled:
            continue
        before = ex.png()
        control.value = step(control)
        assert ex.last_error is None, (name, ex.last_error)
        assert ex.png() != before, name


def assert_walk_matches_fresh(ex: Any, factory: Any, walk: list[dict[str, Any]], same_result: Any = None) -> None:
    """Make each move of ``walk`` with ``ex.set``; after each, the picture and the info text must equal
    those of ``factory(**ex.values)``, an explorer built there with nothing kept. ``same_result(ex,
    fresh, move)``, when given, compares the results too."""
    for move in walk:
        ex.set(**move)
        fresh = factory(**ex.values)
        if same_result is not None:
            same_result(ex, fresh, move)
        assert ex.png() == fresh.png(), move
        assert ex.info.value == fresh.info.value, move
