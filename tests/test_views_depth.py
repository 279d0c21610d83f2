"""The lesson 11 views on Agg: artists returned, values drawn as given, no figure left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from explainer.paint import new_figure  # noqa: E402
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
