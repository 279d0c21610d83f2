"""The efficient-attention explorers in plain pytest: every control repaints, clicks select, numbers match compute."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import explainer.explorers.efficient_attention as module  # noqa: E402
from explainer.attention.patterns import (  # noqa: E402
    attention_cost,
    block_mask,
    bucket_mask,
    local_mask,
    reachability,
    stacked_reach,
    strided_mask,
    window_mask,
)
from explainer.explorers.efficient_attention import (  # noqa: E402
    attention_cost_explorer,
    attention_patterns_explorer,
    linear_attention_explorer,
)
from explainer.views.efficient_attention import reach_colors  # noqa: E402
from _controls import assert_every_control_repaints, assert_walk_matches_fresh  # noqa: E402

FACTORIES = [attention_patterns_explorer, attention_cost_explorer, linear_attention_explorer]


@pytest.fixture(autouse=True)
def no_open_figures():
    yield
    assert plt.get_fignums() == []


@pytest.mark.parametrize("factory", FACTORIES)
def test_every_control_changes_the_picture(factory):
    ex = factory()
    assert ex.png()[:4] == b"\x89PNG" and ex.last_error is None
    assert_every_control_repaints(ex)


def test_patterns_explorer_shows_the_compute_results():
    ex = attention_patterns_explorer(n=20, window=2, stride=4, block_size=5, n_buckets=4, seed=3, causal=False,
                                     pattern="local", row=7)
    masks = ex.result["masks"]
    assert torch.equal(masks["local"], local_mask(20, 2))
    assert torch.equal(masks["strided"], strided_mask(20, 4, causal=False))
    assert torch.equal(masks["block"], block_mask(20, 5))
    assert torch.equal(masks["bucket"], bucket_mask(20, 4, seed=3))
    assert torch.equal(ex.result["reach"], local_mask(20, 4))  # two local layers: window 2 + 2
    assert "query 7 sees <b>5</b> keys in 1 layer and <b>9</b> after 2 layers" in ex.info.value
    ex.set(pattern="strided", causal=True)
    assert torch.equal(ex.result["reach"], torch.ones(20, 20, dtype=torch.bool).tril())  # Child et al.: 2 layers
    assert torch.equal(ex.result["reach"], reachability(strided_mask(20, 4), 2))
    assert ex.top["strided"].frame.get_visible() and not ex.top["local"].frame.get_visible()


def test_patterns_explorer_shows_swin_windows_and_the_shifted_second_layer():
    ex = attention_patterns_explorer(pattern="window", n=24, window_size=2, grid_width=6, row=7)
    plain = window_mask((4, 6), 2)
    assert torch.equal(ex.result["masks"]["window"], plain)
    assert torch.equal(ex.result["reach"], plain)  # the same windows twice: nothing new
    assert "never leaves a window" in ex.info.value
    ex.set(shift=True)
    assert torch.equal(ex.result["reach"], stacked_reach([plain, window_mask((4, 6), 2, shift_size=1)]))
    assert (ex.result["reach"] & ~plain).any() and "crosses them" in ex.info.value
    shifted = window_mask((4, 6), 2, shift_size=1)  # the top panel adds the shifted windows' pairs, "reached"
    top = ex.top["window"].image.get_array()[..., :3]
    colours = {k: np.round(np.array(v[:3]) * 255) for k, v in reach_colors(ex.theme).items()}
    extra = (shifted & ~plain).nonzero()[0].tolist()
    assert np.allclose(top[extra[0], extra[1]], colours["reached"], atol=1)
    assert ex.top["window"].frame.get_visible() and ex.last_error is None
    for view in (ex.one, ex.two):  # both large panels name the 24 positions on both axes
        assert view.tokens.rows[::len(view.tokens.rows) - 1] == [0, 23] and view.tokens.cols[-1] == 23
    ex.set(n=40)
    assert ex.two.tokens.rows[-1] == 39 and ex.two.tokens.cols[-1] == 39 and ex.last_error is None


def test_patterns_explorer_fits_a_projector_page():
    ex = attention_patterns_explorer(presentation=True)
    assert ex.painter.size[0] <= 1200


def test_patterns_explorer_limits_follow_n():
    ex = attention_patterns_explorer(n=32, window=20, row=30)
    ex.set(n=10)
    assert ex.values["window"] == 9 and ex.values["row"] == 9 and ex.values["stride"] <= 9
    assert ex.controls["block_size"].max == 10 and ex.last_error is None


def test_patterns_explorer_clicks_choose_pattern_and_row():
    ex = attention_patterns_explorer(n=16, pattern="strided", row=0)
    x, y = ex.painter.data_to_pixel(ex.top["block"].ax, 0.5, 0.5)
    ex.click(x, y)
    assert ex.values["pattern"] == "block"
    x, y = ex.painter.data_to_pixel(ex.two.ax, 0.3, (11 + 0.5) / 16)
    ex.click(x, y)
    assert ex.values["row"] == 11 and ex.values["pattern"] == "block" and ex.last_error is None
    ex.click(1, 1)  # a corner outside every panel: nothing changes
    assert (ex.values["row"], ex.values["pattern"]) == (11, "block")


def test_cost_explorer_numbers_are_attention_cost():
    ex = attention_cost_explorer(n=2048, dim=32, window=16, stride=64, block_size=128)
    assert ex.result["full"] == attention_cost(2048, 32)
    assert ex.result["local"] == attention_cost(2048, 32, "local", window=16)
    assert ex.result["strided"] == attention_cost(2048, 32, "strided", stride=64)
    assert ex.result["block"] == attention_cost(2048, 32, "block", block_size=128)
    assert ex.result["linear"].flops == 2 * 2048 * 32**2 + 2048 * 32
    assert f"<b>{ex.result['full'].flops:,}</b>" in ex.info.value
    assert list(ex.view.marks[0].get_xdata()) == [2048, 2048]
    ex.set(n=65536)
    assert ex.result["full"].memory == 65536**2 and list(ex.view.marks[0].get_xdata()) == [65536, 65536]


@pytest.mark.parametrize("causal", [False, True])
def test_linear_explorer_linear_equals_quadratic(causal):
    ex = linear_attention_explorer(n=23, dim=5, seed=4, causal=causal, row=9)
    r = ex.result
    assert r["max_abs_diff"] < 1e-13
    assert r["max_abs_diff"] == float((r["linear"].output - r["quadratic"].output).abs().max())
    assert torch.allclose(r["quadratic"].weights.sum(-1), torch.ones(23, dtype=torch.float64))
    assert (r["quadratic"].weights.triu(1) == 0).all() == causal
    assert "max |Δ|" in ex.outputs.label.get_text()
    x, y = ex.painter.data_to_pixel(ex.softmax.ax, 0.5, (3 + 0.5) / 23)
    ex.click(x, y)
    assert ex.values["row"] == 3 and ex.last_error is None


def test_linear_explorer_names_the_positions_of_both_matrices_as_n_moves():
    ex = linear_attention_explorer(n=23)
    for view in (ex.kernel, ex.softmax):
        assert view.tokens.rows[0] == 0 and view.tokens.rows[-1] == 22 and view.tokens.cols[-1] == 22
        assert set(view.tokens.artists) <= set(view.artists)  # one animated path each, not a text per label
    before = ex.kernel.tokens.patch.get_path()
    ex.set(n=64)
    assert ex.kernel.tokens.rows[-1] == 63 and ex.softmax.tokens.cols[-1] == 63
    assert ex.kernel.tokens.patch.get_path() is not before and ex.last_error is None


def test_linear_explorer_walk_gives_a_fresh_explorers_picture():
    """Results are kept per (n, dim, seed, causal): after any walk, picture and info are those of an explorer built
    at the same values."""
    ex = linear_attention_explorer()
    walk = [dict(row=6), dict(row=0), dict(seed=3), dict(row=12), dict(causal=True), dict(row=2), dict(n=30),
            dict(row=29), dict(dim=9), dict(seed=0, causal=False), dict(row=5), dict(n=16, dim=4)]
    assert_walk_matches_fresh(ex, linear_attention_explorer, walk)


def test_patterns_walk_gives_a_fresh_explorers_picture():
    """Masks are kept per setting and reaches per pattern: after any walk, result, picture and info are
    those of an explorer built at the same values, also on returning to a kept setting with another
    pattern chosen."""
    ex = attention_patterns_explorer()
    walk = [dict(row=3), dict(row=30), dict(pattern="local"), dict(window=5), dict(row=7), dict(window=2),
            dict(pattern="bucket"), dict(seed=4), dict(row=0), dict(causal=True), dict(pattern="strided"),
            dict(n=40, row=39), dict(causal=False), dict(n=32, row=20), dict(pattern="block"), dict(block_size=4)]

    def same_masks(ex, fresh, move):
        for name, mask in fresh.result["masks"].items():
            assert torch.equal(ex.result["masks"][name], mask), (move, name)
        assert torch.equal(ex.result["reach"], fresh.result["reach"]), move

    assert_walk_matches_fresh(ex, attention_patterns_explorer, walk, same_masks)


def test_a_forced_error_is_shown_and_the_explorer_recovers(monkeypatch):
    ex = linear_attention_explorer()
    monkeypatch.setattr(module, "linear_attention", lambda *a, **k: 1 / 0)
    picture = ex.png()
    ex.controls["seed"].value = 5
    assert ex.last_error.startswith("ZeroDivisionError") and ex.png() == picture
    monkeypatch.undo()
    ex.controls["seed"].value = 6
    assert ex.last_error is None and ex.png() != picture


@pytest.mark.parametrize("factory,kwargs,words", [
    (attention_patterns_explorer, dict(n=4), "n must be an integer in [8, 96], got 4"),
    (attention_patterns_explorer, dict(pattern="dense"), "pattern must be one of"),
    (attention_patterns_explorer, dict(n=10, window=10), "window must be an integer in [0, 9], got 10"),
    (attention_patterns_explorer, dict(n_buckets=5), "n_buckets must be one of"),
    (attention_cost_explorer, dict(n=1000), "n must be one of"),
    (linear_attention_explorer, dict(n=8, row=8), "row must be an integer in [0, 7], got 8"),
])
def test_factories_reject_bad_settings(factory, kwargs, words):
    with pytest.raises(ValueError) as info:
        factory(**kwargs)
    assert words in str(info.value)


def test_factories_reject_a_non_bool_causal():
    with pytest.raises(TypeError, match="causal must be True or False"):
        linear_attention_explorer(causal=1)
