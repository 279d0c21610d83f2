"""The gate explorers in plain pytest: every control moves the picture, the numbers match the compute layer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from explainer.data import SHAPES  # noqa: E402
from explainer.explorers.gating import (  # noqa: E402
    NUM_IMAGES,
    NUM_PROBE_IMAGES,
    PROBE_SEEDS,
    eca_explorer,
    gate_cost_explorer,
    gate_profiles_explorer,
    se_explorer,
    trained_gates_explorer,
)
from explainer.gating import eca_kernel_size, gate_params  # noqa: E402
from explainer.models import load_pretrained  # noqa: E402
from _controls import assert_every_control_repaints, assert_walk_matches_fresh  # noqa: E402

FACTORIES = [se_explorer, trained_gates_explorer, gate_profiles_explorer, eca_explorer, gate_cost_explorer]


@pytest.fixture(autouse=True)
def no_open_figures():
    yield
    assert plt.get_fignums() == []


@pytest.mark.parametrize("factory", FACTORIES)
def test_every_control_changes_the_picture(factory):
    ex = factory()
    assert ex.png()[:4] == b"\x89PNG" and ex.last_error is None
    assert_every_control_repaints(ex)


def test_se_explorer_shows_the_trained_block_at_r4():
    ex = se_explorer(image=3, stage=1, reduction=4, channel=5)
    from explainer.explorers.gating import _scenes

    model = load_pretrained("se")
    with torch.no_grad():
        out = model.inspect(_scenes().images[3:4])
    torch.testing.assert_close(ex.result.gates, out.gates[1].channel)  # the trained network's own gates
    assert ex.result.gates.shape == (1, 32) and ex.result.hidden.shape == (1, 8)
    assert "<b>trained</b>" in ex.info.value and f"<b>{gate_params('se', 32, 4):,}</b>" in ex.info.value
    ex.set(reduction=16)
    assert ex.result.hidden.shape == (1, 2) and "untrained" in ex.info.value


def test_se_explorer_keeps_results_only_while_they_stay_true():
    """Steps are kept per (stage, reduction, image) and maps per channel: after any walk, the result
    and the picture are those of an explorer built at the same values, with nothing kept."""
    ex = se_explorer()
    walk = [dict(channel=3), dict(channel=9), dict(reduction=8), dict(channel=3), dict(image=2), dict(stage=2),
            dict(channel=40), dict(stage=1, channel=3), dict(reduction=4), dict(image=0), dict(channel=9)]

    def same_steps(ex, fresh, move):
        for name in ("pooled", "hidden", "gates", "output"):
            torch.testing.assert_close(getattr(ex.result, name), getattr(fresh.result, name), rtol=0, atol=0,
                                       msg=f"{move} {name}")

    assert_walk_matches_fresh(ex, se_explorer, walk, same_steps)


def test_se_explorer_limits_channel_and_reduction_to_the_stage():
    ex = se_explorer(stage=2, channel=60)
    ex.set(stage=0)
    assert ex.controls["channel"].max == 15 and ex.values["channel"] <= 15
    assert max(ex.controls["reduction"].options) == 16
    with pytest.raises(ValueError, match="channel must be an integer in \\[0, 15\\]"):
        se_explorer(stage=0, channel=20)


def test_trained_gates_match_the_models_and_stages():
    ex = trained_gates_explorer(image=4, stage=1)
    r = ex.result
    assert r["cbam"].spatial.shape == (16, 16) and r["se"].spatial is None
    assert r["se"].channel.shape == (32,) and ((r["cbam"].spatial > 0) & (r["cbam"].spatial < 1)).all()
    assert set(r["predictions"].values()) <= set(SHAPES)
    ex.set(stage=2, image=NUM_IMAGES - 1)
    assert ex.result["cbam"].spatial.shape == (8, 8) and ex.result["eca"].channel.shape == (64,)


def test_a_trained_gates_walk_gives_a_fresh_explorers_picture():
    """Across stage, image and overlay moves: after any walk, picture and info are those
    of an explorer built at the same values."""
    ex = trained_gates_explorer()
    walk = [dict(stage=1), dict(overlay=False), dict(stage=2), dict(image=5), dict(overlay=True), dict(stage=0),
            dict(image=0), dict(stage=1, image=NUM_IMAGES - 1)]
    assert_walk_matches_fresh(ex, trained_gates_explorer, walk)


def test_gate_profiles_are_the_networks_gates_averaged_per_class():
    """The lines are each class's mean gate over the held-out scenes, computed here from the model itself;
    the bars are the probe's test accuracies at every stage, the current one highlighted."""
    from explainer.explorers.gating import _probe_scenes

    ex = gate_profiles_explorer(stage=1, gate="eca")
    _, held = _probe_scenes()
    assert len(held) == NUM_PROBE_IMAGES and PROBE_SEEDS[0] != PROBE_SEEDS[1]
    with torch.no_grad():
        gates = load_pretrained("eca").inspect(held.images).gates[1].channel.double()  # (N, 32)
    for k in range(len(SHAPES)):
        rows = gates[held.labels == k]
        np.testing.assert_allclose(ex.profiles.lines[k].get_ydata(), rows.mean(0).numpy(), rtol=1e-5, atol=1e-6)
    assert ex.profiles.indices == (0, 4, 8, 12, 16, 20, 24, 28)
    accuracies = ex.result["probe_accuracy"]
    assert ex.result["probe"].test_accuracy == accuracies[1] and all(0 <= a <= 1 for a in accuracies)
    tops = [p.vertices[:, 1].max() for p in ex.probe.bars.get_paths()]
    assert np.allclose(tops, accuracies)
    faces = ex.probe.bars.get_facecolor()
    assert not np.allclose(faces[1], faces[0]) and np.allclose(faces[0], faces[2])
    assert f"<b>{100 * accuracies[1]:.1f}%</b>" in ex.info.value
    ex.set(stage=2)
    assert ex.result["profiles"].mean.shape == (4, 64) and len(ex.profiles.lines[0].get_xdata()) == 64


def test_a_gate_profiles_walk_gives_a_fresh_explorers_picture():
    ex = gate_profiles_explorer()
    walk = [dict(stage=0), dict(gate="cbam"), dict(stage=1), dict(gate="se"), dict(stage=2, gate="eca")]
    assert_walk_matches_fresh(ex, gate_profiles_explorer, walk)


def test_eca_explorer_kernel_sizes():
    ex = eca_explorer()
    for c in (64, 256, 2048):
        ex.set(channels=c)
        assert ex.result == eca_kernel_size(c)
    ex.set(gamma=1, b=0, channels=64)
    assert ex.result == 7


def test_gate_cost_fractions():
    ex = gate_cost_explorer(channels=64, size=16, reduction=16)
    assert ex.result["SE params"] == pytest.approx(2 * 64 * 4 / (18 * 64 * 64))
    assert ex.result["ECA params"] < ex.result["SE params"] < ex.result["CBAM params"]
    ex.set(reduction=4)
    assert ex.result["SE params"] == pytest.approx(2 * 64 * 16 / (18 * 64 * 64))


def test_errors_are_clear():
    with pytest.raises(ValueError, match="image must be an integer in"):
        trained_gates_explorer(image=NUM_IMAGES)
    with pytest.raises(ValueError, match="channels must be one of"):
        eca_explorer(channels=100)
    with pytest.raises(ValueError, match="reduction must be one of 1, 2, 4, 8, 16; got 32"):
        se_explorer(stage=0, reduction=32)
    with pytest.raises(ValueError, match="gate must be one of 'se', 'cbam', 'eca'; got 'none'"):
        gate_profiles_explorer(gate="none")


@pytest.mark.parametrize("factory", FACTORIES)
def test_pictures_fit_a_projector_page(factory):
    width, height = factory(presentation=True).painter.size
    assert width <= 1200 and height <= 720


def test_se_maps_share_one_fixed_colour_scale():
    """Before and after are divided by the channel's maximum before gating, so the static colour bar
    (0 .. 1) holds for both, and "after" is "before" times the gate."""
    ex = se_explorer(stage=2, channel=3)
    before, after = ex.before.image.get_array(), ex.after.image.get_array()
    gate = float(ex.result.gates[0, 3])
    assert np.max(before) == pytest.approx(1.0) and np.min(before) >= 0
    np.testing.assert_allclose(after, before * gate, rtol=1e-5, atol=1e-7)
    for move in (dict(channel=9), dict(image=4), dict(stage=0)):
        ex.set(**move)
        assert ex.before.image.get_clim() == (0, 1) and ex.after.image.get_clim() == (0, 1), move
    assert ex.pooled.indices == (0, 2, 4, 6, 8, 10, 12, 14)  # stage 0: 16 channels


def test_trained_gates_colour_the_overlay_on_the_gates_own_scale():
    ex = trained_gates_explorer(stage=0)
    for move in (dict(stage=1), dict(image=7), dict(stage=2)):
        ex.set(**move)
        spatial = ex.result["cbam"].spatial
        assert ex.overlay.overlay.get_clim() == (0, 1), move  # fixed: the static colour bar holds
        low, high = float(spatial.min()), float(spatial.max())
        assert ex.spatial.image.get_clim() == pytest.approx((low, high)), move  # stretched, and says so:
        assert ex.spatial.label.get_text().endswith(f"min {low:.2f}, max {high:.2f}"), move
    assert all(view.indices == tuple(range(0, 64, 8)) for view in ex.bars.values())  # stage 2: 64 channels


def test_eca_curve_ticks_are_the_odd_kernel_sizes():
    ex = eca_explorer()
    ax = ex.curve.axes
    assert list(ax.get_yticks()) == list(range(1, 16, 2)) and ax.get_legend() is not None
