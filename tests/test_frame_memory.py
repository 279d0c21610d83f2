"""Kept pictures (Explorer.frame_memory): a setting seen lately shows the picture painted for it before.

That is only right if an explorer's picture is a function of its control values and of what its
``frame_state`` names. Every explorer is walked here twice in lock step, once keeping pictures and
once painting every frame, through control moves that come back to earlier settings and clicks on
the picture: after every step both must show the same PNG bytes and the same info text.
"""

from __future__ import annotations

import random
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

import explainer.explorers as explorers  # noqa: E402
from explainer.explorers._kit import Explorer  # noqa: E402

STEPS = 24
# Buttons whose state the picture shows, pressed during the walk too (training buttons are left out:
# they train for seconds; test_trained_settings_separate_pictures covers what they change).
BUTTONS = {"decoding_explorer": ("next_button", "reset_button")}


def _choices(control: Any) -> list[Any]:
    """Up to five allowed values of ``control`` around its current one (revisits are likely)."""
    options = getattr(control, "options", None)
    if options:
        return [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in options][:5]
    if isinstance(control.value, bool):
        return [False, True]
    step = getattr(control, "step", 1) or 1
    values = [control.value + k * step for k in (-2, -1, 1, 2)]
    return [v for v in values if control.min <= v <= control.max] or [control.value]


def _move(rng: random.Random, ex: Explorer, buttons: tuple[str, ...] = (),
          history: list[dict[str, Any]] = ()) -> tuple[str, Any]:
    """A random step: ('set', {name: value}) for an enabled control, ('click', (px, py)) on the picture,
    ('press', attribute name) of one of ``buttons``, or ('set', an earlier setting) from ``history``."""
    if buttons and rng.random() < 0.3:
        return "press", rng.choice(buttons)
    if history and rng.random() < 0.3:  # back to where it was: a kept picture, if the state allows
        return "set", rng.choice(history[-4:])
    enabled = [name for name, c in ex.controls.items() if not c.disabled]
    if enabled and rng.random() < 0.75:
        name = rng.choice(enabled)
        return "set", {name: rng.choice(_choices(ex.controls[name]))}
    width, height = ex.painter.size
    return "click", (rng.uniform(0, width), rng.uniform(0, height))


def _apply(ex: Explorer, move: tuple[str, Any]) -> None:
    kind, arg = move
    if kind == "click":
        ex.click(*arg)
    elif kind == "press":
        getattr(ex, arg).click()
    else:
        try:
            ex.set(**arg)
        except ValueError:  # a value the other controls do not allow here: refused in both
            pass


@pytest.mark.parametrize("name", explorers.__all__)
def test_kept_pictures_equal_painted_ones(name):
    factory = getattr(explorers, name)
    kept, painted = factory(), factory()
    painted.frame_memory = 0  # an instance attribute: this one paints every frame
    rng = random.Random(name)
    reused, history = 0, [kept.values]
    for i in range(STEPS):
        move = _move(rng, kept, BUTTONS.get(name, ()), history)
        _apply(kept, move)
        _apply(painted, move)
        assert kept.values == painted.values, (i, move)
        assert kept.last_error is None and painted.last_error is None, (i, move, kept.last_error)
        assert not painted.last_update_reused
        reused += kept.last_update_reused
        assert kept.png() == painted.png(), (i, move)
        assert kept.info.value == painted.info.value, (i, move)
        history.append(kept.values)
    # Coming back to the first setting must reuse its picture (and still show the same one).
    first = painted.values
    kept.set(**_some_other(kept))
    kept.set(**first)
    assert kept.last_update_reused or kept.values != first
    assert reused + kept.last_update_reused > 0, "the walk never reused a picture: the test proves nothing"


def _some_other(ex: Explorer) -> dict[str, Any]:
    for name, control in ex.controls.items():
        if not control.disabled:
            for value in _choices(control):
                if value != control.value:
                    return {name: value}
    return {}


def test_frame_state_separates_pictures():
    """Clicking another unit (state outside the controls) must not show the previous unit's picture."""
    ex = explorers.dilation_explorer()
    before = ex.png()
    width, height = ex.painter.size
    x, y = ex.painter.data_to_pixel(ex.ax_photo, 3, 3)
    ex.click(x, y)
    assert not ex.last_update_reused and ex.png() != before
    ex.update()  # the same setting, the same centre: kept
    assert ex.last_update_reused


def test_frame_memory_is_bounded_and_forgettable():
    ex = explorers.self_attention_explorer()
    ex.frame_memory = 3
    for query in range(6):
        ex.set(query=query)
    assert len(ex._pictures) == 3
    ex.set(query=5)
    assert ex.last_update_reused
    ex.set(query=0)  # dropped: the oldest went first
    assert not ex.last_update_reused
    ex.forget_pictures()
    ex.set(query=5)
    assert not ex.last_update_reused


def test_trained_settings_separate_pictures():
    """A setting trained after its picture was kept shows its curves, not the kept "not trained yet"."""
    from explainer.explorers import depth

    ex = explorers.degradation_explorer()
    norm = ex.values["norm"]
    untrained = next(d for d in depth.DEGRADATION_DEPTHS if depth._known(d, norm) is None)
    ex.set(depth=untrained)
    assert ex.result is None
    waiting = ex.png()
    trained = depth._known(depth.REFERENCE_DEPTH, norm)
    assert trained is not None
    try:
        depth._trained[(untrained, norm)] = trained  # as ex.train() would, without the minutes
        ex.update()
        assert not ex.last_update_reused and ex.png() != waiting and ex.result is trained
    finally:
        depth._trained.pop((untrained, norm), None)
    ex.update()
    assert ex.result is None and ex.png() == waiting and ex.last_update_reused
