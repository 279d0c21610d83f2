"""Efficient-attention views on the Agg backend: artists returned, pixels where the masks say, no figure left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (only to check that no pyplot figure is left open)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402

from explainer.attention.patterns import (  # noqa: E402
    attention_cost,
    kernel_attention_quadratic,
    local_mask,
    reachability,
    strided_mask,
)
from explainer.paint import Painter, new_figure  # noqa: E402
from explainer.theme import get_theme  # noqa: E402
from explainer.views.efficient_attention import (  # noqa: E402
    CURVE_PATTERNS,
    draw_comparison,
    draw_cost_curves,
    draw_mask,
    draw_weights,
    reach_colors,
)


def rgb_at(fig, ax, x, y):
    """Canvas colour (RGB in 0..1) at data point (x, y) of ``ax``."""
    px, py = ax.transData.transform((x, y))
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return rgba[rgba.shape[0] - 1 - int(py), int(px), :3] / 255.0


@pytest.fixture(autouse=True)
def no_open_figures():
    yield
    assert plt.get_fignums() == []


@pytest.mark.parametrize("T", [5, 12, 31])
def test_mask_view_colours_every_cell_as_the_mask_says(T):
    fig = new_figure(4, 4)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    one = strided_mask(T, 3)
    two = reachability(one, 2)
    row = T // 2
    view = draw_mask(ax, two, row=row, base=one, title="reach")
    assert view.artists and all(isinstance(a, Artist) for a in view.artists)
    painter = Painter(fig)
    painter.animate(view.artists)
    painter.render()
    colors = {k: np.round(v[:3], 2) for k, v in reach_colors().items()}
    for i in range(T):
        for j in range(T):
            got = np.round(rgb_at(fig, ax, (j + 0.5) / T, (i + 0.5) / T), 2)
            if i == row:
                want = colors["blocked"] if not two[i, j] else colors["row_allowed" if one[i, j] else "row_reached"]
            else:
                want = colors["blocked"] if not two[i, j] else colors["allowed" if one[i, j] else "reached"]
            assert np.allclose(got, want, atol=0.02), (i, j, got, want)


def test_mask_view_updates_to_another_size_and_hides_the_row():
    fig = new_figure(3, 3)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    view = draw_mask(ax, local_mask(8, 1), row=2)
    assert view.row.get_visible() and not view.frame.get_visible()
    view.update(local_mask(20, 0), selected=True)
    assert not view.row.get_visible() and view.frame.get_visible()
    assert view.image.get_array().shape == (20, 20, 4)
    fig.canvas.draw()
    blocked, allowed = reach_colors()["blocked"][:3], reach_colors()["allowed"][:3]
    assert np.allclose(rgb_at(fig, ax, 0.5 / 20, 0.5 / 20), allowed, atol=0.02)  # (0, 0) on the diagonal
    assert np.allclose(rgb_at(fig, ax, 1.5 / 20, 0.5 / 20), blocked, atol=0.02)  # (0, 1): window 0


def test_cost_curves_draw_each_pattern_at_its_numbers():
    ns = np.array([64.0, 256.0, 1024.0])
    costs = {p: [attention_cost(int(n), 32, p) for n in ns] for p in CURVE_PATTERNS}
    curves = {p: (np.array([c.flops for c in cs], float), np.array([c.memory for c in cs], float))
              for p, cs in costs.items()}
    at_n = {p: (cs[1].flops, cs[1].memory) for p, cs in costs.items()}
    fig = new_figure(8, 3)
    ax_f, ax_m = fig.add_axes((0.1, 0.2, 0.35, 0.7)), fig.add_axes((0.6, 0.2, 0.35, 0.7))
    view = draw_cost_curves(ax_f, ax_m, ns, curves, 256, at_n, (1e3, 1e10), (1, 1e7))
    assert set(view.lines) == set(CURVE_PATTERNS) and all(isinstance(a, Artist) for a in view.artists)
    assert np.array_equal(view.lines["full"][0].get_ydata(), 2 * ns**2 * 32)
    assert np.array_equal(view.lines["full"][1].get_ydata(), ns**2)
    assert list(view.marks[0].get_xdata()) == [256, 256]
    assert sorted(view.dots[0].get_ydata()) == sorted(v[0] for v in at_n.values())
    assert ax_f.get_xscale() == "log" and ax_f.get_ylim() == (1e3, 1e10)
    view.update(ns, curves, 1024, at_n)
    assert list(view.marks[1].get_xdata()) == [1024, 1024]


def test_weights_and_comparison_views():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(7, 3, generator=g, dtype=torch.float64) for _ in range(3))
    att = kernel_attention_quadratic(q, k, v)
    fig = new_figure(6, 3)
    ax_w, ax_c = fig.add_axes((0.05, 0.1, 0.4, 0.8)), fig.add_axes((0.55, 0.1, 0.4, 0.8))
    weights = draw_weights(ax_w, att.weights, row=3)
    assert weights.row.get_y() == pytest.approx(3 / 7) and weights.row.get_height() == pytest.approx(1 / 7)
    comparison = draw_comparison(ax_c, att.output[:, 0], att.output[:, 0] + 1e-3, ylim=(-2, 2))
    comparison.update(att.output[:, 0], att.output[:, 0], text="max |Δ| = 0")
    assert comparison.label.get_text() == "max |Δ| = 0"
    assert np.allclose(comparison.line.get_xdata(), (np.arange(7) + 0.5) / 7)
    assert len(comparison.extra.get_xdata()) == 0
    fig.canvas.draw()
    # the brightest weight in the colormap's top colour
    i, j = np.unravel_index(int(att.weights.argmax()), att.weights.shape)
    top = np.array(matplotlib.colormaps[get_theme().cmap](1.0)[:3])
    assert np.allclose(rgb_at(fig, ax_w, (j + 0.5) / 7, (i + 0.5) / 7), top, atol=0.02)


def test_mask_view_names_token_positions_that_follow_n_and_a_static_legend():
    """Positions on both axes, every few and the last: one animated path that follows N. A legend names the colours."""
    from explainer.views.efficient_attention import draw_reach_legend

    fig = new_figure(4, 4)
    ax = fig.add_axes((0.2, 0.2, 0.6, 0.6))
    view = draw_mask(ax, local_mask(9, 1), row=3, tokens=True)
    assert view.tokens.rows[0] == 0 and view.tokens.rows[-1] == 8 and view.tokens.cols[-1] == 8
    assert set(view.tokens.artists) <= set(view.artists)  # animated: the labels move with N
    view.update(local_mask(40, 1), row=3)
    assert view.tokens.rows[-1] == 39 and view.tokens.cols[-1] == 39 and len(view.tokens.rows) > 2
    legend = draw_reach_legend(fig, (0.5, 0.95))
    assert [t.get_text() for t in legend.get_texts()] == ["allowed in 1 layer", "reached only through 2 layers",
                                                          "selected query i (row)"]
    assert draw_mask(fig.add_axes((0.0, 0.0, 0.1, 0.1)), local_mask(4, 0)).tokens is None
    assert plt.get_fignums() == []
