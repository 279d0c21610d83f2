"""Attention views on the Agg backend: every matrix cell painted in its colour, fixed axes, artists returned."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (only to check that no pyplot figure is left open)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from explainer.paint import Painter, new_figure  # noqa: E402
from explainer.theme import PRESENTATION, get_theme  # noqa: E402
from explainer.views.attention import draw_entropy, draw_matrix, draw_weight_bars, row_of  # noqa: E402


def canvas_color(fig, ax, x, y):
    """RGBA in [0, 1] of the canvas pixel under data point (x, y) of ``ax``."""
    px, py = ax.transData.transform((x, y))
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return rgba[rgba.shape[0] - 1 - int(py), int(px)] / 255.0


@pytest.mark.parametrize("shape, signed, theme", [((3, 5), True, None), ((7, 2), False, None),
                                                  ((16, 64), True, None), ((5, 4), False, PRESENTATION)])
def test_every_cell_is_painted_in_its_colour_with_row_0_at_the_top(shape, signed, theme):
    theme = theme or get_theme()
    fig = new_figure(4, 3, theme=theme)
    ax = fig.add_axes((0.1, 0.1, 0.5, 0.7))
    view = draw_matrix(ax, "M", signed=signed, theme=theme)
    data = np.random.default_rng(0).normal(size=shape)
    data = data if signed else np.abs(data)
    data[0, -1] = np.nan  # drawn in the 'bad' grey
    view.update(data, row=1)
    painter = Painter(fig)
    painter.animate(view.artists)
    painter.render()
    limit = np.nanmax(np.abs(data))
    assert view.limits == ((-limit if signed else 0.0), limit)
    cmap = colormaps[theme.diverging_cmap if signed else theme.cmap]
    rows, cols = shape
    for r in range(rows):
        for c in range(cols):
            x, y = (c + 0.5) / cols, (r + 0.5) / rows
            if r == 1 and c in (0, cols - 1):  # the outline's sides may cover narrow edge cells of row 1
                continue
            expected = to_rgba("#d9d9d9") if np.isnan(data[r, c]) else cmap((data[r, c] - view.limits[0]) /
                                                                             (2 * limit if signed else limit))
            assert canvas_color(fig, ax, x, y)[:3] == pytest.approx(expected[:3], abs=2 / 255), (r, c)
    assert view.ax.get_xlim() == (0, 1) and view.ax.get_ylim() == (1, 0)
    assert not view.ax.get_xticks().size and not view.ax.get_yticks().size
    assert plt.get_fignums() == []


def test_the_row_outline_moves_and_hides_and_a_fixed_limit_is_kept():
    fig = new_figure(3, 3)
    view = draw_matrix(fig.add_axes((0, 0, 1, 1)), signed=False)
    view.update(np.full((4, 4), 0.25), row=2, limit=1.0)
    assert view.limits == (0.0, 1.0)
    assert view.marker.get_visible() and view.marker.get_y() == pytest.approx(0.5)
    assert view.marker.get_height() == pytest.approx(0.25)
    view.update(np.full((8, 3), 0.25))
    assert not view.marker.get_visible()
    assert all(isinstance(a, Artist) for a in view.artists)
    with pytest.raises(ValueError, match="2-D"):
        view.update(np.zeros(3))


def test_row_of_maps_the_unit_square_to_rows_and_clips():
    assert [row_of(y, 4) for y in (0.0, 0.24, 0.25, 0.99, 1.0, -0.3, 1.7)] == [0, 0, 1, 3, 3, 0, 3]


def test_weight_bars_have_the_weights_as_heights():
    fig = new_figure(3, 3)
    view = draw_weight_bars(fig.add_axes((0.1, 0.1, 0.8, 0.8)), "w")
    weights = np.array([0.1, 0.6, 0.3])
    view.update(weights)
    paths = view.bars.get_paths()
    assert len(paths) == 3
    for j, path in enumerate(paths):
        ys, xs = path.vertices[:, 1], path.vertices[:, 0]
        assert ys.max() == pytest.approx(weights[j]) and ys.min() == 0
        assert j / 3 < xs.min() < xs.max() < (j + 1) / 3
    assert view.ax.get_ylim() == (0, 1.05)


def test_entropy_view_draws_both_curves_the_uniform_level_and_the_current_point():
    fig = new_figure(3, 3)
    view = draw_entropy(fig.add_axes((0.15, 0.15, 0.8, 0.75)), (1, 256), 3.0)
    dims = np.array([1, 4, 16, 64, 256])
    view.update(dims, np.full(5, 1.7), np.linspace(1.7, 0.2, 5), tokens=8, d=16, d_entropy=1.7)
    assert list(view.unscaled.get_xdata()) == list(dims)
    assert view.uniform.get_ydata()[0] == pytest.approx(np.log(8))
    assert list(view.current.get_xdata()) == [16] and list(view.current.get_ydata()) == [1.7]
    assert view.ax.get_xscale() == "log" and view.ax.get_ylim() == (0, 3.0)
    painter = Painter(fig)
    painter.animate(view.artists)
    assert painter.frame()[:4] == b"\x89PNG"


def test_a_full_draw_paints_the_same_picture_as_the_blit():
    # save_png / save_gif go through savefig (a full draw): the heatmap and its outline must be in it.
    fig = new_figure(4, 3)
    view = draw_matrix(fig.add_axes((0.1, 0.1, 0.6, 0.7)), "M")
    view.update(np.arange(12.0).reshape(3, 4) - 5, row=2)
    fig.canvas.draw()
    full = np.asarray(fig.canvas.buffer_rgba()).copy()
    painter = Painter(fig)
    painter.animate(view.artists)
    painter.render()
    blit = np.asarray(fig.canvas.buffer_rgba())
    assert np.abs(full.astype(int) - blit.astype(int)).max() <= 1
    outline = to_rgba(get_theme().accent)
    x, y = view.ax.transData.transform((0.5, 2 / 3))  # the top edge of the outline around row 2
    assert full[full.shape[0] - 1 - int(round(y)), int(x), :3] / 255 == pytest.approx(outline[:3], abs=0.1)
