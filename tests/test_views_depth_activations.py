"""The lesson 11 and 12 views on Agg: artists returned, values drawn as given, no figure left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from explainer.paint import new_figure  # noqa: E402
from explainer.views.activations import draw_activation_curves, draw_grouped_bars  # noqa: E402
from explainer.views.depth import draw_histograms, draw_layer_curves, draw_loss_curves, histogram_rows  # noqa: E402


@pytest.fixture(autouse=True)
def no_open_figures():
    yield
    assert plt.get_fignums() == []


def test_histogram_rows_match_a_slow_count():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 7, 5)) * 2
    edges = np.linspace(-2, 2, 6)
    rows = histogram_rows(values, edges)
    for layer in range(3):
        flat = values[layer].ravel()
        for b in range(5):
            low, high = edges[b], edges[b + 1]
            inside = [v for v in flat if (low <= v < high) or (b == 0 and v < low) or (b == 4 and v >= high)]
            assert rows[layer, b] == pytest.approx(len(inside) / len(flat))


def test_layer_curves_clip_to_the_axis_and_hide_missing_series():
    ax = new_figure(4, 3).add_subplot()
    view = draw_layer_curves(ax, 10, {"a": dict(label="a"), "b": dict(label="b")}, "t", "y", (1e-3, 1e3))
    view.update({"a": np.array([1e-9, 1.0, 1e9])})
    x, y = view.lines["a"].get_data()
    assert list(x) == [1, 2, 3] and list(y) == [1e-3, 1.0, 1e3]
    assert not view.lines["b"].get_visible() and len(view.artists) == 3
    assert ax.get_yscale() == "log" and ax.get_legend() is not None


def test_histograms_leave_missing_layers_blank_and_carry_a_colour_bar():
    fig = new_figure(4, 3)
    view = draw_histograms(fig.add_axes((0.1, 0.1, 0.6, 0.8)), fig.add_axes((0.75, 0.1, 0.05, 0.8)), 6,
                           np.linspace(-1, 1, 5), "h")
    view.update(np.zeros((2, 10)), "note")
    rows = np.ma.filled(view.image.get_array(), np.nan)
    assert rows[:2, 2].tolist() == [1.0, 1.0] and np.isnan(rows[2:]).all()
    assert fig.axes[1].get_ylabel().startswith("share of units")  # the colour bar, in the axes given


def test_loss_curves_smooth_with_a_moving_mean_and_show_a_message_without_curves():
    ax = new_figure(4, 3).add_subplot()
    view = draw_loss_curves(ax, 8, {"p": "blue"}, window=3, chance=1.0)
    view.update({"p": np.arange(8.0) / 8})
    x, y = view.smooth["p"].get_data()
    assert list(x) == [3, 4, 5, 6, 7, 8] and y[0] == pytest.approx((0 + 1 + 2) / 24)
    view.update(None, "press train")
    assert not view.raw["p"].get_visible() and view.message.get_text() == "press train"


def test_activation_curves_and_grouped_bars():
    fig = new_figure(6, 3)
    curves = draw_activation_curves(fig.add_axes((0.1, 0.1, 0.4, 0.8)), (-2, 2), (-1, 2))
    x = np.linspace(-2, 2, 5)
    curves.update(x, np.maximum(x, 0), (x > 0).astype(float), np.ones(5), x < 0, np.zeros(5, bool), "t")
    assert curves.peak.get_data()[0][0] == 1.0 and np.isnan(curves.saturated.get_data()[1]).all()
    bars = draw_grouped_bars(fig.add_axes((0.6, 0.1, 0.35, 0.8)), ["a", "b"], {"s": dict(label="s")}, (-1, 1))
    bars.update({"s": np.array([0.5, -3.0])}, highlight=1)
    first, second = bars.bars["s"]
    assert (first.get_y(), first.get_height()) == (0.0, 0.5) and (second.get_y(), second.get_height()) == (-1.0, 1.0)
    assert second.get_edgecolor()[:3] == (0, 0, 0) and len(bars.handles) == 1
