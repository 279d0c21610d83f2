"""The lesson 11 explorers in plain pytest: every control repaints, the results are the compute's, the
degradation curves open from the shipped file and other settings train on the button (stubbed only
where the test is about the button's wiring, never in the check of what the curves are)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import explainer.explorers.depth as module  # noqa: E402
from explainer.depth import DEGRADATION_DEFAULTS, Degradation, gradient_flow, shipped_degradation  # noqa: E402
from explainer.explorers.depth import degradation_explorer, gradient_flow_explorer  # noqa: E402
from _controls import assert_every_control_repaints, assert_walk_matches_fresh  # noqa: E402


@pytest.fixture(autouse=True)
def no_open_figures():
    yield
    assert plt.get_fignums() == []


def test_every_gradient_flow_control_changes_the_picture():
    ex = gradient_flow_explorer(depth=8)
    assert ex.png()[:4] == b"\x89PNG" and ex.last_error is None
    assert_every_control_repaints(ex)


def test_gradient_flow_shows_the_compute_results():
    ex = gradient_flow_explorer(depth=12, activation="tanh", init="xavier", norm="layer", seed=3)
    for name, residual in (("plain", False), ("residual", True)):
        expected = gradient_flow(12, module.WIDTH, "tanh", "xavier", "layer", residual, module.BATCH, 3)
        torch.testing.assert_close(ex.result[name].grad_norms, expected.grad_norms, rtol=0, atol=0)
        x, y = ex.grads.lines[name].get_data()
        assert list(x) == list(range(1, 13))
        torch.testing.assert_close(torch.as_tensor(y, dtype=torch.float32), expected.grad_norms)
    assert "12 blocks of 32 units, f = tanh, xavier initialisation, norm: layer" in ex.info.value
    rows = np.ma.filled(ex.hist.image.get_array(), np.nan)
    assert rows[:12].sum(axis=1).tolist() == pytest.approx([1.0] * 12) and np.isnan(rows[12:]).all()


def test_the_sigmoid_vanishes_and_the_picture_says_which_stack_it_shows():
    ex = gradient_flow_explorer(depth=32, activation="sigmoid")
    plain = ex.result["plain"].grad_norms
    assert float(plain[0]) < 1e-10 * float(plain[-1])
    assert ex.hist.note.get_text() == "outputs per layer, plain stack"
    ex.set(shortcut=True)
    assert ex.hist.note.get_text() == "outputs per layer, residual stack"


def test_gradient_flow_walk_matches_fresh_explorers():
    assert_walk_matches_fresh(gradient_flow_explorer(depth=4), gradient_flow_explorer,
                              [{"activation": "relu"}, {"norm": "batch"}, {"shortcut": True}, {"depth": 6}])


def test_degradation_opens_with_the_shipped_curves_drawn():
    ex = degradation_explorer()
    shipped = shipped_degradation()[(DEGRADATION_DEFAULTS["depth"], DEGRADATION_DEFAULTS["norm"])]
    assert ex.last_error is None and ex.button.disabled
    torch.testing.assert_close(ex.result.plain, shipped.plain, rtol=0, atol=0)
    _, y = ex.curves.raw["residual"].get_data()
    assert list(y) == pytest.approx(shipped.residual.clamp(0, 2).tolist())
    assert ex.curves.raw["plain, 4 blocks"].get_visible()
    assert "Mean training loss over the last 30 steps" in ex.info.value


def test_an_untrained_setting_asks_for_the_button_and_the_button_trains_it(monkeypatch):
    ex = degradation_explorer()
    ex.set(depth=12, norm="none")
    assert ex.result is None and not ex.button.disabled and "press" in ex.curves.message.get_text()
    calls = []

    def fake(depth, norm, steps, seed, progress):  # the wiring only: what the curves are is tested in test_depth
        for done in range(1, 2 * steps + 1):
            progress(done, 2 * steps)
        calls.append((depth, norm, steps, seed))
        return Degradation(depth, norm, seed, torch.full((steps,), 1.2), torch.full((steps,), 0.9))

    monkeypatch.setattr(module, "degradation_curves", fake)
    monkeypatch.setattr(module, "_trained", dict(module._trained))  # this session's results stay in this test
    before = ex.png()
    ex.button.click()
    assert calls == [(12, "none", 300, 0)] and ex.progress.value == ex.progress.max
    assert ex.result is not None and ex.button.disabled and ex.png() != before and ex.last_error is None
    ex.set(depth=2)
    ex.set(depth=12)  # kept: no second training
    assert len(calls) == 1 and float(ex.result.residual[0]) == pytest.approx(0.9)


def test_a_failing_training_shows_in_the_error_area(monkeypatch):
    ex = degradation_explorer(depth=2, norm="none")

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(module, "degradation_curves", broken)
    with pytest.raises(RuntimeError):
        ex.train()
    assert "out of memory" in ex.last_error and not ex.button.disabled


def test_factories_refuse_bad_settings():
    with pytest.raises(ValueError, match="depth"):
        gradient_flow_explorer(depth=7)
    with pytest.raises(ValueError, match="norm"):
        degradation_explorer(norm="layer")
    with pytest.raises(TypeError, match="shortcut"):
        gradient_flow_explorer(shortcut=1)
