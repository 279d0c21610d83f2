"""Kept pictures (Explorer.frame_memory): a setting seen lately shows the picture painted for it before,
and the picture of a slider's next step is painted ahead (Explorer.paint_ahead_of).

That is only right if an explorer's picture is a function of its control values and of what its
``frame_state`` names, and if painting ahead leaves nothing behind. Every explorer is walked here
twice in lock step, once keeping pictures (and painting a random slider's next step ahead after
each move) and once painting every frame, through control moves that come back to earlier
settings and clicks on the picture: after every step both must show the same PNG bytes and the
same info text.
"""

from __future__ import annotations

import math
import random
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402

import explainer.explorers as explorers  # noqa: E402
from explainer.explorers import _kit  # noqa: E402
from explainer.explorers._kit import Explorer, _following, option_values  # noqa: E402

STEPS = 24
# Buttons whose state the picture shows, pressed during the walk too (training buttons are left out:
# they train for seconds; test_trained_settings_separate_pictures covers what they change).
BUTTONS = {"decoding_explorer": ("next_button", "reset_button")}


def _choices(control: Any) -> list[Any]:
    """Up to five allowed values of ``control`` around its current one (revisits are likely)."""
    if getattr(control, "options", None):
        return option_values(control)[:5]
    if isinstance(control.value, bool):
        return [False, True]
    if isinstance(control, widgets.FloatLogSlider):
        exponent = math.log(control.value, control.base)
        exponents = [exponent + k * control.step for k in (-2, -1, 1, 2)]
        return [control.base ** e for e in exponents if control.min <= e <= control.max] or [control.value]
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
        _paint_ahead(rng, kept)
        assert kept.values == painted.values, (i, move)
        assert kept.last_error is None and painted.last_error is None, (i, move, kept.last_error)
        assert not painted.last_update_reused
        reused += kept.last_update_reused
        assert kept.png() == painted.png(), (i, move)
        assert kept.info.value == painted.info.value, (i, move)
        history.append(kept.values)
    # Leaving the last setting and coming back to it must reuse its picture.
    here = painted.values
    kept.set(**_some_other(kept))
    kept.set(**here)
    assert kept.last_update_reused or kept.values != here
    assert reused + kept.last_update_reused > 0, "the walk never reused a picture: the test proves nothing"


def _paint_ahead(rng: random.Random, ex: Explorer) -> None:
    """Paint a random slider's neighbouring setting ahead, as the kernel would after a move; the
    page must not change."""
    kinds = (widgets.IntSlider, widgets.FloatSlider, widgets.FloatLogSlider, widgets.SelectionSlider)
    sliders = [n for n, c in ex.controls.items() if isinstance(c, kinds) and not c.disabled]
    if not sliders or not ex.paint_ahead:
        return
    name = rng.choice(sliders)
    neighbours = [v for v in _choices(ex.controls[name]) if v != ex.values[name]]
    if not neighbours:
        return
    shown = (ex.values, ex.info.value, ex.result, ex.image.value, ex.hints.value, ex.frame_state())
    ex.paint_ahead_of(dict(ex.values, **{name: rng.choice(neighbours)}))
    after = (ex.values, ex.info.value, ex.result, ex.image.value, ex.hints.value, ex.frame_state())
    assert all(a is b or a == b for a, b in zip(after, shown, strict=True))


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


def test_painting_ahead_keeps_the_next_picture_and_shows_nothing():
    ex, twin = explorers.self_attention_explorer(), explorers.self_attention_explorer()
    twin.frame_memory = 0
    query = ex.values["query"]
    assert ex.paint_ahead_of(dict(ex.values, query=query + 1))
    assert not ex.paint_ahead_of(dict(ex.values, query=query + 1))  # kept already
    assert not ex.paint_ahead_of(dict(ex.values, query=10**6))  # outside the limits: nothing
    assert not ex.paint_ahead_of({"query": query + 2})  # not a whole setting
    ex.set(query=query + 1)
    twin.set(query=query + 1)
    assert ex.last_update_reused and ex.png() == twin.png() and ex.info.value == twin.info.value


@pytest.mark.parametrize(("control", "before", "now", "expected"), [
    (widgets.IntSlider(value=3, min=0, max=5), 2, 3, 4),
    (widgets.IntSlider(value=3, min=0, max=5), 4, 3, 2),
    (widgets.IntSlider(value=5, min=0, max=5), 4, 5, None),  # the end: the way back is kept already
    (widgets.IntSlider(value=4, min=0, max=9), 2, 4, None),  # a jump, not a step: no direction to guess
    (widgets.IntSlider(value=4, min=0, max=9, step=2), 2, 4, 6),
    (widgets.FloatSlider(value=0.3, min=0.1, max=1.0, step=0.1), 0.2, 0.3, 0.4),
    (widgets.SelectionSlider(options=[8, 16, 32, 64], value=16), 8, 16, 32),
    (widgets.SelectionSlider(options=[("a", 1), ("b", 2), ("c", 3)], value=2), 3, 2, 1),
    (widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.5), 10 ** -0.5, 1.0, 10 ** 0.5),
    (widgets.FloatLogSlider(value=10.0, base=10, min=-1, max=1, step=0.5), 10 ** 0.5, 10.0, None),  # the end
    (widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.5), 0.1, 1.0, None),  # a jump
    (widgets.Dropdown(options=["x", "y", "z"], value="y"), "x", "y", None),  # not a slider
    (widgets.Checkbox(value=True), False, True, None),
])
def test_following_continues_a_one_step_slider_move(control, before, now, expected):
    following = _following(control, before, now)
    assert following == pytest.approx(expected) if isinstance(expected, float) else following == expected


class _Loop:
    def __init__(self):
        self.calls = []

    def call_later(self, delay, callback, *args):
        self.calls.append((delay, callback, args))
        return _Handle()


class _Handle:
    def cancel(self):
        pass


def test_a_one_step_slider_move_schedules_the_next_step_in_a_kernel(monkeypatch):
    loop = _Loop()
    monkeypatch.setattr(_kit, "_kernel_loop", lambda: loop)
    monkeypatch.setattr(_kit, "SYNC_DELAY_S", 0)  # the held messages leave at once
    ex = explorers.self_attention_explorer()
    query = ex.values["query"]
    loop.calls.clear()
    ex.set(query=query + 1)
    [(delay, callback, (values,))] = loop.calls
    assert delay == _kit.PAINT_AHEAD_DELAY_S and values == dict(ex.values, query=query + 2)
    callback(values)
    ex.set(query=query + 2)
    assert ex.last_update_reused
    loop.calls.clear()
    ex.set(query=query)  # a jump of two
    ex.set(tokens=ex.values["tokens"] + 1, seed=ex.values["seed"] + 1)  # two controls at once
    assert loop.calls == []
    ex.paint_ahead = False
    ex.set(query=query + 1)
    assert loop.calls == []
