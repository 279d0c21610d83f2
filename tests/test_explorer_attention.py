"""The self-attention and positional-encoding explorers in plain pytest: every control moves the picture,
clicks select, the results are the real computation."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")


import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import math  # noqa: E402

import numpy as np  # noqa: E402

from explainer.attention import (  # noqa: E402
    causal_mask,
    sinusoidal_positional_encoding,
    sinusoidal_positional_encoding_2d,
)
from explainer.attention.core import random_self_attention  # noqa: E402
from explainer.attention.positional import positional_similarity  # noqa: E402
from explainer.explorers.attention import (  # noqa: E402
    HEAD_DIMS,
    SENTENCE,
    positional_encoding_explorer,
    self_attention_explorer,
)
from _controls import assert_walk_matches_fresh  # noqa: E402

from explainer.paint import new_figure  # noqa: E402

OTHER_VALUES = {  # one other allowed value per control
    "tokens": 11, "head_dim": 32, "num_heads": 4, "scaling": "none", "temperature": 2.0, "mask": "causal",
    "query": 5, "seed": 3,
}


@pytest.fixture
def ex():
    explorer = self_attention_explorer()
    yield explorer
    assert plt.get_fignums() == []


def test_builds_with_a_picture_and_the_real_attention(ex):
    assert ex.png()[:4] == b"\x89PNG" and ex.frames == 1 and ex.last_error is None
    s = ex.result
    assert s.x.shape == (8, 16) and s.q.shape == (2, 8, 8) and s.attention.weights.shape == (2, 8, 8)
    assert all(f">{word}</span>" in ex.info.value for word in SENTENCE[:8]) and f">{SENTENCE[8]}</span>" not in ex.info.value
    expected = F.scaled_dot_product_attention(s.q, s.k, s.v)  # default scale 1/sqrt(d)
    torch.testing.assert_close(s.attention.output, expected)
    torch.testing.assert_close(s.attention.weights.sum(-1), torch.ones(2, 8))
    assert "“sat”" in ex.info.value  # query 2
    assert ex.image.layout.width == f"{ex.painter.size[0]}px"


@pytest.mark.parametrize("name", list(OTHER_VALUES))
def test_every_control_changes_the_picture(ex, name):
    before = ex.png()
    ex.set(**{name: OTHER_VALUES[name]})
    assert ex.last_error is None, ex.last_error
    assert ex.png() != before, name


def test_scale_temperature_and_mask_reach_the_computation(ex):
    ex.set(scaling="none", temperature=2.0, mask="causal", tokens=6, head_dim=16)
    s = ex.result
    assert s.scale == pytest.approx(0.5)
    expected = F.scaled_dot_product_attention(s.q, s.k, s.v, attn_mask=causal_mask(6), scale=0.5)
    torch.testing.assert_close(s.attention.output, expected)
    assert (s.attention.weights.triu(1) == 0).all()
    entropy = -(s.attention.weights * s.attention.weights.clamp_min(1e-30).log()).sum(-1)
    torch.testing.assert_close(s.entropy, entropy)
    # The picture's entropy curves: flat with 1/sqrt(d), collapsing without.
    scaled, unscaled = ex.entropy.scaled.get_ydata(), ex.entropy.unscaled.get_ydata()
    assert list(ex.entropy.scaled.get_xdata()) == list(HEAD_DIMS)
    assert max(scaled) - min(scaled) < 0.2 and unscaled[-1] < 0.3 * unscaled[0]


def test_the_entropy_curves_follow_tokens_seed_and_temperature_through_a_walk(ex):
    """Curves are kept per (tokens, seed, temperature): after any walk they are those of an explorer
    built at the same values, with nothing kept."""
    walk = [dict(temperature=2.0), dict(head_dim=32), dict(tokens=5), dict(seed=3), dict(temperature=0.5),
            dict(mask="causal", num_heads=4), dict(tokens=12, seed=0), dict(temperature=2.0), dict(tokens=5)]
    for move in walk:
        ex.set(**move)
        fresh = self_attention_explorer(**ex.values)
        for curve in ("scaled", "unscaled"):
            np.testing.assert_array_equal(getattr(ex.entropy, curve).get_ydata(),
                                          getattr(fresh.entropy, curve).get_ydata(), err_msg=f"{move} {curve}")


def test_a_self_attention_walk_gives_a_fresh_explorers_picture(ex):
    """Results are kept per setting: after any walk, result, picture and info are those of an explorer built at the
    same values."""
    walk = [dict(query=5), dict(query=0), dict(temperature=2.0), dict(query=3), dict(head_dim=32), dict(query=6),
            dict(temperature=1.0), dict(tokens=5, query=4), dict(seed=3), dict(mask="causal"), dict(query=1),
            dict(num_heads=4), dict(scaling="none"), dict(query=2), dict(tokens=8, seed=0), dict(head_dim=8)]

    def same_weights(ex, fresh, move):
        torch.testing.assert_close(ex.result.attention.weights, fresh.result.attention.weights, rtol=0, atol=0,
                                   msg=str(move))

    assert_walk_matches_fresh(ex, self_attention_explorer, walk, same_weights)


def test_the_query_is_limited_to_the_tokens(ex):
    ex.set(query=7)
    ex.set(tokens=4)
    assert ex.values["query"] == 3 and ex.controls["query"].max == 3 and ex.last_error is None
    with pytest.raises(ValueError, match="query=5 is not allowed here"):
        ex.set(query=5)


def test_clicking_a_row_of_a_matrix_selects_that_query_and_the_entropy_plot_picks_d(ex):
    view = ex.mats["weights"]
    px, py = ex.painter.data_to_pixel(view.ax, 0.3, (6 + 0.5) / 16)  # rows on the 16-token grid
    before = ex.png()
    ex.click(px, py)
    assert ex.values["query"] == 6 and ex.png() != before
    px, py = ex.painter.data_to_pixel(ex.heads[1].ax, 0.3, (1 + 0.5) / 8)
    ex.click(px, py)
    assert ex.values["query"] == 1
    px, py = ex.painter.data_to_pixel(ex.entropy.ax, 32, 1.0)
    ex.click(px, py)
    assert ex.values["head_dim"] == 32 and ex.last_error is None
    px, py = ex.painter.data_to_pixel(view.ax, 0.3, 12.5 / 16)  # below the last of the 8 tokens: nothing to pick
    ex.click(px, py)
    assert ex.values["query"] == 1 and ex.last_error is None
    frames = ex.frames
    ex.click(2, 2)  # the top-left corner: outside every panel, nothing changes but nothing fails
    assert ex.last_error is None and ex.frames == frames + 1


def test_the_state_is_random_self_attention_with_the_controls_settings(ex):
    ex.set(tokens=5, head_dim=4, num_heads=4, seed=7, mask="causal", temperature=0.5)
    expected = random_self_attention(5, 4, 4, scale=2 / math.sqrt(4), mask=causal_mask(5), seed=7)
    torch.testing.assert_close(ex.result.attention.weights, expected.attention.weights)
    torch.testing.assert_close(ex.result.x, expected.x)


@pytest.mark.parametrize("kwargs, words", [
    (dict(tokens=1), "tokens must be an integer in [2, 16], got 1"),
    (dict(head_dim=3), "head_dim must be one of"),
    (dict(num_heads=3), "num_heads must be one of"),
    (dict(mask="local"), "mask must be one of"),
    (dict(query=8), "query must be an integer in [0, 7], got 8"),
    (dict(temperature=0.0), "temperature must be a number in [0.25, 4]"),
])
def test_factory_refuses_bad_settings(kwargs, words):
    with pytest.raises(ValueError) as info:
        self_attention_explorer(**kwargs)
    assert words in str(info.value)


@pytest.mark.parametrize("name", list(OTHER_VALUES))
def test_moves_only_blit_the_static_background_is_never_redrawn(ex, name):
    # The latency rests on this (timed by benchmarks/explorer_updates.py): no move redraws the axes.
    background = ex.painter._background
    assert background is not None
    ex.set(**{name: OTHER_VALUES[name]})
    assert ex.painter._background is background and ex.last_error is None


def test_the_tokens_are_named_on_the_attention_axes_and_the_unused_words_are_faded(ex):
    def names(ax, axis):
        return [t.get_text() for t in (ax.get_yticklabels() if axis == "y" else ax.get_xticklabels())]

    weights = ex.mats["weights"].ax
    assert names(weights, "y") == SENTENCE == names(weights, "x")  # rows: queries, columns: keys, all 16 words
    assert names(ex.mats["q"].ax, "y") == SENTENCE
    assert weights.get_ylabel() == "queries i" and weights.get_xlabel() == "keys j"
    # Token i keeps its place: the weights fill the top-left N x N cells of the 16 x 16 grid, the rest is faded.
    for tokens in (8, 13, 16):
        ex.set(tokens=tokens)
        assert ex.mats["weights"].image.get_extent() == [0, tokens / 16, tokens / 16, 0]
        assert ex.mats["q"].image.get_extent() == [0, 1, tokens / 16, 0]
        assert all(f.get_visible() == (tokens < 16) for f in ex.fades)
        rows, cols = ex.fades[1], ex.fades[2]
        assert rows.get_y() == pytest.approx(tokens / 16) and cols.get_x() == pytest.approx(tokens / 16)
        px, py = ex.painter.data_to_pixel(weights, 0.5, (tokens - 0.5) / 16)  # the last token's row
        ex.click(px, py)
        assert ex.values["query"] == tokens - 1 and ex.last_error is None


def test_colour_bars_have_fixed_ranges_and_unused_heads_leave_no_panel(ex):
    assert ex.mats["q"].limits == (-3.0, 3.0) and ex.mats["scores"].limits == (-3.0, 3.0)
    assert ex.mats["weights"].limits == (0.0, 1.0)
    ex.set(scaling="none", head_dim=64)  # the scores grow, the colour range stays (the bar's arrows)
    assert ex.mats["scores"].limits == (-3.0, 3.0)
    fig = ex.painter.fig
    for heads in (1, 2, 4):
        ex.set(num_heads=heads)
        rgba = np.asarray(fig.canvas.buffer_rgba())
        for h, view in enumerate(ex.heads):
            assert view.image.get_visible() == (h < heads)
            x, y = view.ax.transAxes.transform((0.5, 1.08))  # the title's place, then the panel's middle
            for px, py in ((x, y), view.ax.transAxes.transform((0.5, 0.5))):
                pixel = rgba[rgba.shape[0] - 1 - int(py), int(px), :3]
                if h >= heads:  # covered: nothing but background, no grey box, no title
                    assert (pixel == 255).all(), (heads, h)
        assert ex.last_error is None


@pytest.mark.parametrize("factory", [self_attention_explorer, positional_encoding_explorer])
def test_presentation_pictures_fit_a_1280_pixel_page(factory):
    assert factory(presentation=True).painter.size[0] <= 1200


def test_the_scaling_reads_1_over_root_d_k_and_the_former_name_still_works():
    ex = self_attention_explorer(scaling="1/√d")
    assert ex.values["scaling"] == "1/√d_k" and "1/√d<sub>k</sub>" in ex.info.value
    assert ex.controls["head_dim"].description == "head width d_k" and ex.controls["tokens"].description == "tokens N"


# --------------------------------------------------------------------------- positional
@pytest.fixture
def pe():
    explorer = positional_encoding_explorer()
    yield explorer
    assert plt.get_fignums() == []


@pytest.mark.parametrize("name, value", [("length", 100), ("dim", 16), ("base", 100.0), ("kind", "2d"),
                                         ("position", 20)])
def test_every_positional_control_changes_the_picture(pe, name, value):
    before = pe.png()
    pe.set(**{name: value})
    assert pe.last_error is None and pe.png() != before, name


def test_positional_result_is_the_encoding_and_its_gram_matrix(pe):
    s = pe.result
    torch.testing.assert_close(s.encoding, sinusoidal_positional_encoding(64, 64))
    torch.testing.assert_close(s.similarity, s.encoding @ s.encoding.T)
    torch.testing.assert_close(s.similarity.diagonal(), torch.full((64,), 32.0))
    pe.set(kind="2d", length=30, position=29)  # 6 wide: 5 rows of 6 patches
    assert pe.result.grid == (5, 6) and pe.result.encoding.shape == (30, 64)
    assert pe.controls["position"].max == 29
    assert pe.row.data.shape == (5, 6) and pe.row.image.get_visible() and not pe.curve.get_visible()
    assert pe.row.data[4, 5] == pytest.approx(32.0)  # the selected patch itself: dim / 2
    before = pe.png()
    pe.set(length=31)  # one more patch (a new, partial row): the picture changes in 2d too
    assert pe.result.grid == (6, 6) and np.isnan(pe.row.data[5, 1:]).all() and pe.png() != before
    twod = sinusoidal_positional_encoding_2d(6, 6, 64).reshape(36, 64)[:31]
    torch.testing.assert_close(pe.result.encoding, twod)
    assert positional_similarity(9, 8, kind="2d").grid == (3, 3)


def test_positional_walk_gives_a_fresh_explorers_picture(pe):
    """Encodings are kept per (length, dim, base, kind): after any walk, picture and info are those of an explorer
    built at the same values."""
    walk = [dict(position=11), dict(position=40), dict(length=100), dict(position=90), dict(kind="2d"),
            dict(position=3), dict(dim=16), dict(kind="1d"), dict(base=100.0), dict(position=12), dict(length=64),
            dict(dim=64, base=10000.0)]
    assert_walk_matches_fresh(pe, positional_encoding_explorer, walk)


def test_positional_click_selects_a_position(pe):
    px, py = pe.painter.data_to_pixel(pe.sim.ax, 0.2, (40 + 0.5) / 64)
    pe.click(px, py)
    assert pe.values["position"] == 40 and pe.last_error is None
    height = pe.here.get_ydata()[0]
    assert height == pytest.approx(0.5 - 0.45 * 32 / 32, abs=1e-5)  # self-similarity dim/2: the top of the curve


def test_positional_factory_refuses_bad_settings():
    with pytest.raises(ValueError, match="dim must be one of"):
        positional_encoding_explorer(dim=12)
    with pytest.raises(ValueError, match=r"position must be an integer in \[0, 16\], got 20"):
        positional_encoding_explorer(length=17, kind="2d", position=20)


@pytest.mark.parametrize("walk", [[dict(length=20, dim=16), dict(kind="2d"), dict(length=256, dim=128, position=200)]])
def test_positional_axes_have_integer_ticks_that_follow_n_and_d_model_without_a_redraw(pe, walk):
    def check(ex):
        n, d = ex.values["length"], ex.values["dim"]
        for name, count in (("pe_y", n), ("pe_x", d), ("sim_y", n), ("sim_x", n)):
            strip = ex.ticks[name]
            assert strip.values[0] == 0 and strip.values[-1] <= count - 1 and len(strip.values) >= 3, (name, count)
            assert all(isinstance(v, int) for v in strip.values)
            assert all(a.get_animated() for a in strip.artists)  # painted on every move

    check(pe)
    assert pe.ticks["pe_y"].ax.get_ylabel() == "position p" and pe.ticks["pe_x"].ax.get_xlabel() == "dimension"
    background = pe.painter._background
    for move in walk:
        pe.set(**move)
        check(pe)
        assert pe.painter._background is background and pe.last_error is None, move


def test_a_tick_strip_puts_each_label_beside_its_row():
    from matplotlib.path import Path

    from explainer.views.attention import draw_tick_strip

    fig = new_figure(3, 3)
    strip = draw_tick_strip(fig.add_axes((0.1, 0.1, 0.2, 0.8)), "y", "position", span=(0.1, 0.9))
    strip.update(10)
    assert strip.values == [0, 2, 4, 6, 9]  # every 2nd row (13.8 pt apart) and the last; 8 would crowd 9
    # One closed tick mark and one glyph outline per label; each pair centred on its row (y up in axes units).
    polygons = [p for p in strip.patch.get_path().to_polygons(closed_only=False)]
    marks = [p for p in polygons if len(p) == 5 and p[:, 0].max() == pytest.approx(1.0)]
    assert len(marks) == 5
    for mark, v in zip(sorted(marks, key=lambda m: -m[:, 1].mean()), strip.values):
        assert mark[:4, 1].mean() == pytest.approx(1 - (0.1 + (v + 0.5) / 10 * 0.8), abs=1e-9)
    assert strip.patch.get_path().get_extents().x1 == pytest.approx(1.0)  # labels left of the marks
    strip.update(3)  # fewer rows: fewer labels
    assert strip.values == [0, 1, 2] and isinstance(strip.patch.get_path(), Path)
    for count in (1, 2, 7, 37, 64, 200):  # the first and the last position are always named, the rest a step apart
        strip.update(count)
        values = strip.values
        assert values[0] == 0 and values[-1] == count - 1
        steps = np.diff(values[:-1])
        assert len(set(steps)) <= 1 and all(s & (s - 1) == 0 for s in steps)  # one power-of-two step
        if len(values) > 1:
            assert values[-1] - values[-2] >= (steps[0] if len(steps) else 1)
