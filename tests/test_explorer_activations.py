"""The lesson 12 explorers in plain pytest: every control repaints, and what they show is the compute's."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import explainer.explorers.activations as module  # noqa: E402
from explainer.activations import ACTIVATIONS, dead_and_saturated  # noqa: E402
from explainer.explorers.activations import (  # noqa: E402
    activation_explorer,
    normalisation_explorer,
    pooling_explorer,
)
from _controls import assert_every_control_repaints, assert_walk_matches_fresh  # noqa: E402

FACTORIES = [activation_explorer, normalisation_explorer, pooling_explorer]


@pytest.fixture(autouse=True)
def no_open_figures():
    yield
    assert plt.get_fignums() == []


@pytest.mark.parametrize("factory", FACTORIES)
def test_every_control_changes_the_picture(factory):
    ex = factory()
    assert ex.png()[:4] == b"\x89PNG" and ex.last_error is None
    assert_every_control_repaints(ex)


def test_activation_explorer_shows_the_sigmoid_peak_and_the_shares():
    ex = activation_explorer(activation="sigmoid", mean=1.0, std=3.0)
    x, y = ex.curves.peak.get_data()
    assert float(x[0]) == pytest.approx(0.0, abs=1e-12) and float(y[0]) == pytest.approx(0.25)
    assert "in fact</b> it is largest there, σ′(0) = σ(0)(1 − σ(0)) = ¼" in ex.info.value
    for k, name in enumerate(ACTIVATIONS):
        expected = dead_and_saturated(name, 1.0, 3.0)
        assert ex.result[name].dead == pytest.approx(expected.dead, abs=2e-3)
        assert ex.shares.heights("saturated")[k] == pytest.approx(expected.saturated, abs=2e-3)
    assert tuple(ex.shares.bars["dead"].get_edgecolor()[ACTIVATIONS.index("sigmoid")][:3]) == (0, 0, 0)


def test_relu_dead_band_covers_the_negative_inputs():
    ex = activation_explorer(activation="relu")
    x, band = ex.curves.dead.get_data()
    assert np.isfinite(band[x < 0]).all() and np.isnan(band[x > 0]).all()


def test_normalisation_explorer_matches_the_modules_and_eval_mode_converges():
    ex = normalisation_explorer(batches_seen=0, momentum=0.1, channel_shift=2.0)
    shown = ex.maps[0].image.get_array()
    before = float(np.abs(ex.maps[2].image.get_array() - shown).max())
    assert before < 1e-4  # nothing seen: running mean 0, var 1, evaluation mode leaves x
    ex.set(batches_seen=60, momentum=0.5)
    bn = torch.nn.BatchNorm2d(6, momentum=0.5, affine=False, dtype=torch.float64).train()
    for k in range(60):  # the explorer's stream of batches, fed to PyTorch's own batch norm
        bn(module._tokens(0, 2.0, 0.6, k))
    torch.testing.assert_close(ex.result["running"].running_mean[-1], bn.running_mean)
    torch.testing.assert_close(ex.result["running"].eval, bn.eval()(module._tokens(0, 2.0, 0.6, 60)))
    columns = ex.maps[2].image.get_array().mean(0)
    assert np.abs(columns).max() < 1.0  # the running statistics now centre the columns roughly
    lnorm = ex.maps[3].image.get_array()
    assert np.abs(lnorm.mean(1)).max() < 1e-6  # layer norm: every row (token) has mean 0


def test_pooling_explorer_gap_ignores_the_shift_and_flatten_does_not():
    ex = pooling_explorer(dx=3, dy=-2)
    torch.testing.assert_close(ex.result["after"].gap, ex.result["before"].gap)
    assert not torch.allclose(ex.result["after"].flatten, ex.result["before"].flatten)
    fc_change = float((ex.result["after"].flatten - ex.result["before"].flatten).abs().max())
    assert ex.fc.label.get_text() == f"max |Δ logit| = {fc_change:.2g}" and fc_change > 0.1  # the picture says it
    gap_change = float((ex.result["after"].gap - ex.result["before"].gap).abs().max())
    assert ex.gap.label.get_text() == f"max |Δ logit| = {gap_change:.2g}" and gap_change < 1e-12
    assert "GAP + linear <b>16</b>, flatten + linear <b>3,076</b>" in ex.info.value
    assert "<b>2,049,000</b> versus <b>100,353,000</b>" in ex.info.value


@pytest.mark.parametrize("factory,walk", [
    (activation_explorer, [{"mean": 1.5}, {"activation": "gelu"}, {"std": 2.0}]),
    (normalisation_explorer, [{"batches_seen": 7}, {"seed": 2}, {"token_scale": 1.0}]),
    (pooling_explorer, [{"dx": -3}, {"image": 4}]),
])
def test_walks_match_fresh_explorers(factory, walk):
    assert_walk_matches_fresh(factory(), factory, walk)


def test_factories_refuse_bad_settings():
    with pytest.raises(ValueError, match="std"):
        activation_explorer(std=0.0)
    with pytest.raises(ValueError, match="momentum"):
        normalisation_explorer(momentum=0.0)
    with pytest.raises(ValueError, match="dx"):
        pooling_explorer(dx=9)
