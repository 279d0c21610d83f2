"""The convolution-as-attention explorer in plain pytest: every control repaints, clicks pick the query, errors show."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import explainer.explorers.conv_attention as module  # noqa: E402
from explainer.attention.conv_attention import DEFAULT_SHARPNESS  # noqa: E402
from explainer.explorers.conv_attention import KERNELS, conv_attention_explorer, make_kernel  # noqa: E402


@pytest.fixture
def ex():
    explorer = conv_attention_explorer()
    yield explorer
    assert plt.get_fignums() == []


def test_builds_with_the_default_error_below_1e_3(ex):
    assert ex.png()[:4] == b"\x89PNG" and ex.frames == 1 and ex.last_error is None
    result = ex.result
    assert result.layer.sharpness == 10.0 and result.layer.num_heads == 9
    assert result.relative_error < 1e-3
    conv = F.conv2d(ex.photo, make_kernel("sobel x"), padding=1)
    torch.testing.assert_close(result.conv, conv)
    assert ex.photo.shape == (1, 1, 40, 40) and (ex.values["row"], ex.values["col"]) == (20, 20)
    assert "9 of 9 heads peak on query + Δ_m" in ex.info.value
    assert f"{result.relative_error:.2e}" in ex.info.value


@pytest.mark.parametrize("name, value", [("sharpness", 1.0), ("zero_padded_keys", False), ("row", 0), ("col", 39),
                                         ("kernel", "laplacian"), ("kernel", "random 5x5")])
def test_every_control_changes_the_picture(ex, name, value):
    before = ex.png()
    ex.set(**{name: value})
    assert ex.last_error is None and ex.png() != before, name


def test_seed_is_only_free_for_random_kernels(ex):
    assert ex.controls["seed"].disabled and "only for the random kernels" in ex.hints.value
    with pytest.raises(ValueError, match="only for the random kernels"):
        ex.set(seed=5)
    ex.set(kernel="random 3x3")
    assert not ex.controls["seed"].disabled and ex.controls["seed"].max == module.MAX_SEED
    before, weight = ex.png(), ex.result.layer.weight
    ex.set(seed=7)
    assert ex.png() != before and not torch.equal(ex.result.layer.weight, weight)
    torch.testing.assert_close(ex.result.layer.weight, make_kernel("random 3x3", 7))


def test_sharpness_moves_the_error_and_the_peaks(ex):
    errors, peaks = [], []
    for alpha in (0.1, 1.0, 10.0, 100.0):
        ex.set(sharpness=alpha)
        errors.append(ex.result.relative_error)
        peaks.append(float(ex.query_maps.flatten(1).max(1).values.min()))
    assert errors == sorted(errors, reverse=True) and errors[0] > 0.5 and errors[-1] < 1e-12
    assert peaks == sorted(peaks) and peaks[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("kernel", KERNELS)
def test_heads_pick_their_offsets_for_every_kernel(ex, kernel):
    ex.set(kernel=kernel, row=11, col=27)
    layer, maps = ex.result.layer, ex.query_maps
    wp = maps.shape[-1]
    for head, (dy, dx) in enumerate(layer.offsets.tolist()):
        assert divmod(int(maps[head].argmax()), wp) == (11 + dy + layer.padding, 27 + dx + layer.padding)
    assert ex.result.relative_error < 1e-3


def test_unpadded_keys_break_the_border_only(ex):
    ex.set(zero_padded_keys=False)
    result = ex.result
    diff = (result.attention - result.conv).abs()[0, 0]  # (H, W)
    assert diff[1:-1, 1:-1].max() < 1e-3 * result.conv.abs().max()
    assert diff.max() > 0.1 * result.conv.abs().max()
    assert "replicate padding" in ex.info.value


def test_clicking_a_pixel_selects_the_query(ex):
    ex.click(*ex.painter.data_to_pixel(ex.attention_view.ax, 7, 3))  # data x = column, y = row
    assert (ex.values["row"], ex.values["col"]) == (3, 7) and ex.last_error is None
    ex.click(*ex.painter.data_to_pixel(ex.input_view.ax, 30.2, 12.8))
    assert (ex.values["row"], ex.values["col"]) == (13, 30)
    ex.click(*ex.painter.data_to_pixel(ex.difference_view.ax, -1.2, 40.2))  # the margin: nearest pixel
    assert (ex.values["row"], ex.values["col"]) == (39, 0)
    before = ex.values
    ex.click(*ex.painter.data_to_pixel(ex.kernel_view.ax, 4, 4))  # not an image panel: nothing happens
    assert ex.values == before and ex.last_error is None


def test_updates_leave_torch_threads_alone(ex):
    threads = torch.get_num_threads()
    ex.set(sharpness=3.0)
    assert torch.get_num_threads() == threads


def test_a_forced_error_is_shown_and_the_explorer_recovers(ex, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("attention exploded")

    monkeypatch.setattr(module, "compare_conv_attention", broken)
    ex.set(sharpness=2.0)
    assert ex.last_error == "RuntimeError: attention exploded" and ex.errors.layout.display == "block"
    monkeypatch.undo()
    ex.set(sharpness=3.0)
    assert ex.last_error is None and ex.errors.layout.display == "none"


@pytest.mark.parametrize("kwargs, words", [
    (dict(kernel="sobel"), "kernel must be one of"),
    (dict(sharpness=0.01), "sharpness must be in \\[0.1, 100.0\\], got 0.01"),
    (dict(sharpness="high"), "sharpness must be a number"),
    (dict(seed=100), "seed must be an integer in \\[0, 99\\], got 100"),
    (dict(size=4), "size must be >= 8"),
    (dict(size=(16, 80)), "size must be an integer in \\[8, 64\\], got 80"),
    (dict(size=16, query=(16, 0)), "query row must be an integer in \\[0, 15\\], got 16"),
    (dict(zero_padded_keys=1), "zero_padded_keys must be a bool"),
])
def test_factory_rejects_bad_settings(kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        conv_attention_explorer(**kwargs)


def test_other_sizes_and_queries():
    ex = conv_attention_explorer(kernel="blur 5x5", size=(24, 31), query=(0, 30), sharpness=20.0)
    assert ex.result.conv.shape == (1, 1, 24, 31) and ex.result.relative_error < 1e-7
    assert ex.controls["row"].max == 23 and ex.controls["col"].max == 30
    assert make_kernel("blur 5x5").sum().item() == pytest.approx(1.0)


def test_kept_layer_outputs_are_bounded_and_reused_only_for_the_same_setting(monkeypatch):
    monkeypatch.setattr(module, "KEPT_COMPARISONS", 3)
    ex = conv_attention_explorer(kernel="sobel x", size=(17, 23), sharpness=1.0)
    first = ex.result
    for sharpness in (2.0, 5.0, 10.0, 20.0):
        ex.set(sharpness=sharpness)
        assert len(ex._comparisons) <= 3
    ex.set(sharpness=10.0)  # still kept: the very same output
    kept = ex.result
    ex.set(sharpness=20.0)
    ex.set(sharpness=10.0)
    assert ex.result is kept
    ex.set(sharpness=1.0)  # evicted long ago: computed again, equal to a fresh one
    assert ex.result is not first
    fresh = conv_attention_explorer(kernel="sobel x", size=(17, 23), sharpness=1.0)
    torch.testing.assert_close(ex.result.attention, fresh.result.attention, rtol=0, atol=0)


def test_after_any_walk_the_picture_is_a_fresh_explorers():
    """Outputs are kept per setting and their heatmaps are steady while the query moves (the painter
    redraws them only when one changed): after any walk, picture and info are those of an explorer
    built at the same values."""
    ex = conv_attention_explorer(size=(17, 23))
    walk = [dict(row=3), dict(col=20), dict(sharpness=2.0), dict(row=16), dict(kernel="blur 5x5"), dict(col=0),
            dict(zero_padded_keys=False), dict(row=8), dict(kernel="random 3x3", seed=4), dict(seed=5),
            dict(sharpness=DEFAULT_SHARPNESS), dict(col=11)]
    for move in walk:
        ex.set(**move)
        values = ex.values
        fresh = conv_attention_explorer(kernel=values["kernel"], seed=values["seed"], sharpness=values["sharpness"],
                                        zero_padded_keys=values["zero_padded_keys"], size=(17, 23),
                                        query=(values["row"], values["col"]))
        assert ex.png() == fresh.png(), move
        assert ex.info.value == fresh.info.value, move


def test_colour_ranges_are_fixed_so_the_colour_bars_stay_true():
    """Outputs are drawn divided by max |conv| on [-1, 1], kernels divided by max |W|, the error on fixed decades:
    whatever the kernel or sharpness, the static colour bars read right."""
    ex = conv_attention_explorer(size=(17, 23))
    for move in (dict(), dict(kernel="blur 5x5"), dict(sharpness=1.0), dict(kernel="random 3x3", seed=3)):
        ex.set(**move)
        conv = ex.result.conv[0, 0].numpy()
        top = abs(conv).max()
        assert ex.conv_view.image.get_clim() == ex.attention_view.image.get_clim() == (-1, 1)
        assert ex.kernel_view.image.get_clim() == ex.effective_view.image.get_clim() == (-1, 1)
        assert ex.difference_view.image.get_clim() == (module._FLOOR, 0)
        np.testing.assert_allclose(ex.conv_view.image.get_array(), conv / top)
        np.testing.assert_allclose(ex.attention_view.image.get_array(), ex.result.attention[0, 0].numpy() / top)
        kernel = ex.result.layer.weight[0, 0].numpy()
        assert np.nanmax(np.abs(ex.kernel_view.image.get_array())) == 1.0
        assert np.nanmin(ex.kernel_view.image.get_array()) == kernel.min() / abs(kernel).max()
    assert ex.last_error is None


def test_fits_a_projector_page():
    assert conv_attention_explorer(presentation=True).painter.size[0] <= 1200
