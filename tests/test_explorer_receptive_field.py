"""Receptive-field explorers in plain pytest: controls and clicks move the picture, results match the
compute functions, limits keep the stack valid, errors are shown and the explorer recovers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")


import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import explainer.explorers.receptive_field as module  # noqa: E402
from explainer.explorers.receptive_field import (  # noqa: E402
    REFERENCE_CHOICES,
    WEIGHTS,
    receptive_field_explorer,
    reference_networks_explorer,
    stacked_convs_explorer,
)
from explainer.receptive_fields import (  # noqa: E402
    PUBLISHED_FIELDS,
    empirical_receptive_field,
    receptive_field,
    reference_network,
    vgg_comparison,
)


@pytest.fixture
def ex():
    explorer = receptive_field_explorer(input_size=32, n_samples=2)
    yield explorer
    assert plt.get_fignums() == []


def assert_consistent(ex):
    assert ex.last_error is None, ex.last_error
    layers = receptive_field(ex.model, ex.input_size)
    assert list(ex.result.layers) == layers
    assert ex.result.position == layers[-1].unit_at(ex.focus)
    assert torch.equal(ex.result.mask, empirical_receptive_field(ex.model, ex.input_size, ex.result.position))


def test_builds_with_a_picture_and_the_formula(ex):
    assert ex.png()[:4] == b"\x89PNG" and ex.frames == 1
    assert ex.result.layers[-1].size == (7, 7) and ex.result.position == (16, 16)  # 3 convs, 3x3, centre
    assert "1 + 2&middot;1&middot;1 + 2&middot;1&middot;1 + 2&middot;1&middot;1 = <b>7</b>" in ex.info.value
    assert ex.image.layout.width == f"{ex.painter.size[0]}px"
    assert ex._events is not None  # clicks on the image are forwarded


@pytest.mark.parametrize("change", [{"depth": 5}, {"kernel_size": 5}, {"stride": 2}, {"dilation": 3},
                                    {"pool_every": 1}, {"weights": WEIGHTS[1]}])
def test_each_control_changes_the_picture_and_matches_the_compute(ex, change):
    before, frames = ex.png(), ex.frames
    ex.set(**change)
    assert ex.png() != before and ex.frames == frames + 1
    assert_consistent(ex)


def test_field_size_follows_the_recursion(ex):
    ex.set(depth=4, kernel_size=5, stride=2, dilation=1, pool_every=0)
    assert ex.result.layers[-1].size == (1 + 4 * (1 + 2 + 4 + 8),) * 2 and ex.result.layers[-1].jump == (16, 16)
    assert "<b>61</b>" in ex.info.value and "2&middot;2&middot;2&middot;2 = <b>16</b>" in ex.info.value


def test_click_selects_the_nearest_unit(ex):
    ex.set(stride=2, depth=2)
    before = ex.png()
    px, py = ex.painter.data_to_pixel(ex.ax_mask, 3.2, 25.7)  # data (x, y): column 3.2, row 25.7
    ex.click(px, py)
    assert ex.focus == pytest.approx((25.7, 3.2), abs=0.05)
    layer = ex.result.layers[-1]
    assert ex.result.position == layer.unit_at((25.7, 3.2)) == (6, 1)
    assert ex.png() != before
    assert_consistent(ex)
    px, py = ex.painter.data_to_pixel(ex.ax_erf, 30, 5)  # the right panel works too
    ex.click(px, py)
    assert ex.result.position == layer.unit_at((5, 30)) == (1, 7)
    ex.click(ex.painter.size[0] - 2, 2)  # outside both pictures: nothing moves
    assert ex.result.position == (1, 7) and ex.last_error is None


def test_limits_keep_the_output_non_empty(ex):
    ex.set(pool_every=1)
    assert ex.controls["depth"].max == 5  # 32 -> 16 -> 8 -> 4 -> 2 -> 1
    assert "below a 1x1 output" in ex.hints.value
    with pytest.raises(ValueError, match="depth=6 is not allowed"):
        ex.set(depth=6)
    ex.set(depth=5)
    assert ex.result.layers[-1].output_size == (1, 1)
    assert_consistent(ex)
    ex.set(pool_every=0)
    assert ex.controls["depth"].max == 8 and ex.hints.value == ""


def test_dilation_holes_are_reported(ex):
    ex.set(depth=2, dilation=2)
    assert int(ex.result.mask.sum()) == 25 and "56 pixels of the box cannot reach the unit" in ex.info.value


def test_a_compute_error_is_shown_and_the_explorer_recovers(ex, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("forced failure")

    monkeypatch.setattr(module, "unit_field", broken)
    ex.set(depth=4)
    assert ex.last_error == "RuntimeError: forced failure"
    assert "forced failure" in ex.errors.value and ex.errors.layout.display == "block"
    monkeypatch.undo()
    ex.set(depth=2)
    assert ex.last_error is None and ex.errors.layout.display == "none"
    assert_consistent(ex)


def test_synthetic_picture_and_validation():
    explorer = receptive_field_explorer(image="synthetic", input_size=24, n_samples=1)
    assert explorer.picture.shape == (3, 24, 24) and explorer.last_error is None
    with pytest.raises(ValueError, match="image must be one of 'photo', 'synthetic'"):
        receptive_field_explorer(image="webcam")
    with pytest.raises(ValueError, match="input_size must be an integer in \\[8, 256\\], got 4"):
        receptive_field_explorer(input_size=4)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        receptive_field_explorer(kernel_size=4)
    with pytest.raises(ValueError, match="depth must be at most 5 with pool_every=1"):
        receptive_field_explorer(input_size=32, depth=6, pool_every=1)
    with pytest.raises(ValueError, match="pool_every must be one of 0, 1, 2, 3"):
        receptive_field_explorer(pool_every=5)
    with pytest.raises(ValueError, match="weights must be one of"):
        receptive_field_explorer(weights="pretrained")
    with pytest.raises(ValueError, match="stride must be an integer in \\[1, 3\\]"):
        receptive_field_explorer(stride=4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'kernel'"):
        receptive_field_explorer(kernel=3)


def test_other_factories_name_a_bad_option():
    with pytest.raises(ValueError, match="network must be one of 'AlexNet'"):
        reference_networks_explorer(network="ResNet")
    with pytest.raises(ValueError, match="kernel_size must be one of 3, 5; got 7"):
        stacked_convs_explorer(kernel_size=7)
    with pytest.raises(ValueError, match="channels must be one of 16, 32"):
        stacked_convs_explorer(channels=100)
    with pytest.raises(ValueError, match="depth must be an integer in \\[1, 5\\], got 9"):
        stacked_convs_explorer(depth=9)


def test_reference_explorer_shows_published_values():
    explorer = reference_networks_explorer()
    assert plt.get_fignums() == []
    pictures = {explorer.png()}
    for label, (name, stride_on, stride_block) in REFERENCE_CHOICES:
        explorer.set(network=label)
        assert explorer.last_error is None
        pictures.add(explorer.png())
        expected = receptive_field(reference_network(name, stride_on=stride_on, stride_block=stride_block,
                                                     device="meta"), 224)
        assert explorer.result == expected
        published = [p for p in PUBLISHED_FIELDS if (p.network, p.stride_on, p.stride_block) == (name, stride_on,
                                                                                                 stride_block)]
        assert published and [p for p, _ in explorer.published] == published
        for p, layer in explorer.published:
            assert layer.size == (p.size, p.size) and f"<td><b>{p.size}</b></td>" in explorer.info.value
    assert len(pictures) == len(REFERENCE_CHOICES)


def test_reference_chart_names_every_curve_in_a_legend():
    """Five curves, one legend inside the picture naming each network (and the jump line, the stars)."""
    explorer = reference_networks_explorer()
    legend = explorer.ax.get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:len(REFERENCE_CHOICES)] == [label.split(" (")[0] for label, _ in REFERENCE_CHOICES]
    assert any("jump" in t for t in labels) and any("published" in t for t in labels)
    colours = [h.get_color() for h in legend.legend_handles[:len(REFERENCE_CHOICES)]]
    assert len(set(colours)) == len(REFERENCE_CHOICES)


@pytest.mark.parametrize("presentation", [False, True])
def test_receptive_field_pictures_fit_a_projector_page(presentation):
    for factory in (receptive_field_explorer, reference_networks_explorer, stacked_convs_explorer):
        width, _ = factory(presentation=presentation).painter.size
        assert width <= 1200, factory.__name__


def test_field_explorer_has_an_erf_colourbar_and_integer_layer_ticks():
    explorer = receptive_field_explorer(input_size=32, n_samples=1)
    assert explorer.colorbar.ax is explorer.ax_colorbar and "peak" in explorer.ax_colorbar.get_ylabel()
    explorer.painter.frame()
    ticks = explorer.ax_growth.get_xticks()
    assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks)


def test_stacked_convs_explorer():
    explorer = stacked_convs_explorer()
    assert explorer.result == vgg_comparison(64) and "<b>110,592</b>" in explorer.info.value
    before = explorer.png()
    explorer.set(depth=2, kernel_size=5, channels=16)
    assert explorer.result == vgg_comparison(16, 2, 5) and explorer.png() != before
    assert explorer.result.stack_field == explorer.result.single_field == 9
    assert plt.get_fignums() == []
