"""The lesson 12 views on Agg: artists returned, values drawn as given, no figure left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from explainer.paint import new_figure  # noqa: E402
from explainer.views.activations import draw_activation_curves, draw_grouped_bars  # noqa: E402


@pytest.fixture(autouse=True)
def no_open_figures():
    yield
    assert plt.get_fignums() == []


def test_activation_curves_and_grouped_bars():
    fig = new_figure(6, 3)
    curves = draw_activation_curves(fig.add_axes((0.1, 0.1, 0.4, 0.8)), (-2, 2), (-1, 2))
    x = np.linspace(-2, 2, 5)
    curves.update(x, np.maximum(x, 0), (x > 0).astype(float), np.ones(5), x < 0, np.zeros(5, bool), "t")
    assert curves.peak.get_data()[0][0] == 1.0 and np.isnan(curves.saturated.get_data()[1]).all()
    bars = draw_grouped_bars(fig.add_axes((0.6, 0.1, 0.35, 0.8)), ["a", "b"], {"s": dict(label="s")}, (-1, 1))
    bars.update({"s": np.array([0.5, -3.0])}, highlight=1)
    first, second = (path.vertices[:, 1] for path in bars.bars["s"].get_paths())
    assert (first.min(), first.max()) == (0.0, 0.5) and (second.min(), second.max()) == (-1.0, 0.0)
    np.testing.assert_allclose(bars.heights("s"), [0.5, 1.0])
    edges = bars.bars["s"].get_edgecolor()
    assert tuple(edges[1]) == (0, 0, 0, 1) and edges[0][3] == 0 and len(bars.handles) == 1
