"""Gate views on the Agg backend: artists returned, fixed axes, updates move the artists, no figure left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from explainer.paint import Painter, new_figure  # noqa: E402
from explainer.views.gating import (  # noqa: E402
    band_matrix,
    draw_band,
    draw_bars,
    draw_costs,
    draw_map,
    draw_overlay,
    draw_profiles,
)


@pytest.fixture
def fig():
    figure = new_figure(4, 3)
    yield figure
    assert plt.get_fignums() == []


def test_bars_follow_values_and_highlight(fig):
    ax = fig.add_subplot()
    view = draw_bars(ax, "gates")
    assert view.artists and all(a.axes is ax for a in view.artists)
    limits = ax.get_xlim(), ax.get_ylim()
    view.update(np.array([0.2, 0.9, 1.5]), highlight=1, text="x")
    paths = view.bars.get_paths()
    assert len(paths) == 3
    tops = [p.vertices[:, 1].max() for p in paths]
    assert np.allclose(tops, [0.2, 0.9, 1.0])  # clipped to the axis
    faces = view.bars.get_facecolor()
    assert not np.allclose(faces[1], faces[0]) and np.allclose(faces[0], faces[2])
    view.update(np.full(7, 0.5))
    assert len(view.bars.get_paths()) == 7 and (ax.get_xlim(), ax.get_ylim()) == limits
    Painter(fig).frame()


def test_maps_of_any_size_share_one_extent(fig):
    ax = fig.add_subplot()
    view = draw_map(ax, "map")
    for shape in ((5, 3), (16, 16)):
        view.update(np.random.default_rng(0).random(shape), "t", vmin=0, vmax=2)
        assert view.image.get_extent() == [0, 1, 1, 0] and view.image.get_array().shape == shape
    assert view.image.get_clim() == (0, 2)


def test_overlay_box_is_placed_in_picture_fractions(fig):
    view = draw_overlay(fig.add_subplot(), "scene")
    view.update(np.zeros((32, 40, 3)), np.ones((8, 8)) * 0.5, (4.0, 8.0, 24.0, 16.0))
    assert view.box.get_bbox().bounds == pytest.approx((0.1, 0.25, 0.5, 0.25))
    view.update(np.zeros((32, 40, 3)), np.ones((8, 8)), None, show_gate=False)
    assert not view.box.get_visible() and not view.overlay.get_visible()


def test_band_matrix_marks_each_gates_neighbours():
    m = band_matrix(9, 5)
    assert m.shape == (9, 9) and (m == m.T).all()
    assert m.sum(1).tolist() == [3, 4, 5, 5, 5, 5, 5, 4, 3]


def test_band_view_shows_a_window(fig):
    view = draw_band(fig.add_subplot(), "band")
    view.update(2048, 7, window=24, text="k=7")
    assert view.image.get_array().shape == (24, 24) and view.label.get_text() == "k=7"
    view.update(8, 3)
    assert view.image.get_array().shape == (8, 8)


def test_cost_bars_on_a_log_axis(fig):
    ax = fig.add_subplot()
    view = draw_costs(ax, ["SE params", "SE mult-adds"])
    view.update([0.01, 1e-7])
    assert view.bars[0].get_x() + view.bars[0].get_width() == pytest.approx(0.01)
    assert view.bars[1].get_width() == 0  # below the floor: an empty bar, the label still tells
    assert [t.get_text() for t in view.labels] == ["1%", "1e-05%"]
    assert ax.get_xscale() == "log"
    Painter(fig).frame()


def test_band_window_is_the_top_left_block_of_the_full_band():
    from explainer.views.gating import band_matrix

    for channels, k in [(30, 3), (64, 5), (25, 7)]:
        assert np.array_equal(band_matrix(channels, k)[:24, :24], band_matrix(24, k))



def test_index_ticks_are_integers_inside_the_range():
    from explainer.views.gating import index_ticks

    for count in (1, 2, 7, 16, 32, 64, 100):
        ticks = index_ticks(count)
        assert ticks[0] == 0 and all(isinstance(t, int) and 0 <= t < count for t in ticks)
        assert len(ticks) <= 9 and len(set(ticks)) == len(ticks)
    assert index_ticks(64) == list(range(0, 64, 8))


def test_bar_indices_follow_the_number_of_bars_under_the_axis(fig):
    ax = fig.add_subplot()
    view = draw_bars(ax, "gates", xlabel="channel", ylabel="g", reference=0.5)
    view.update(np.full(16, 0.5))
    assert view.indices == (0, 2, 4, 6, 8, 10, 12, 14)
    box = view.index_labels.get_path().get_extents()
    assert box.y1 == 0 and box.y0 < 0 and 0 < box.x0 < box.x1 < 1  # in axes fractions: under the axis, inside it
    first = view.index_labels.get_path()
    vertices = first.vertices[:4]  # the first tick mark, under the first labelled bar's centre
    assert np.isclose(vertices[:, 0].mean(), 0.5 / 16)
    view.update(np.full(64, 0.5))
    assert view.indices == tuple(range(0, 64, 8)) and view.index_labels.get_path() is not first
    view.update(np.full(16, 0.2))
    assert view.index_labels.get_path() is first  # one outline per count, made once
    assert view.index_labels in view.artists
    assert ax.get_xlabel() == "channel" and list(ax.get_yticks()) == [0, 0.5, 1]
    Painter(fig).frame()


def test_colour_bars_are_drawn_once_from_a_fixed_scale(fig):
    from explainer.views.gating import draw_colorbar

    image = draw_map(fig.add_axes((0.1, 0.1, 0.6, 0.8)), "gate").image
    fixed = draw_colorbar(fig.add_axes((0.75, 0.1, 0.03, 0.8)), "gate", ticks=[0, 0.5, 1])
    assert list(fixed.get_ticks()) == [0, 0.5, 1] and not fixed.ax.get_animated()
    assert fixed.mappable is not image and fixed.mappable.get_clim() == (0, 1)
    named = draw_colorbar(fig.add_axes((0.85, 0.1, 0.03, 0.8)), "this map", ticks=[0, 1], tick_labels=["min", "max"])
    assert [t.get_text() for t in named.ax.get_yticklabels()] == ["min", "max"]
    Painter(fig).frame()


def test_band_is_drawn_in_channel_units_with_integer_ticks_and_a_legend(fig):
    ax = fig.add_subplot()
    view = draw_band(ax, "band", window=24)
    view.update(8, 3)
    assert view.image.get_extent() == [-0.5, 7.5, 7.5, -0.5] and ax.get_xlim() == (-0.5, 23.5)
    assert all(float(t).is_integer() for t in ax.get_xticks()) and ax.get_legend() is not None
    view.update(2048, 7)
    assert view.image.get_extent() == [-0.5, 23.5, 23.5, -0.5]
    Painter(fig).frame()


def test_profiles_draw_one_line_per_class_and_follow_the_channel_count(fig):
    ax = fig.add_subplot()
    view = draw_profiles(ax, "profiles", ["a", "b", "c"])
    assert view.artists and all(a.axes is ax for a in view.artists)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    limits = ax.get_xlim(), ax.get_ylim()
    values = np.random.default_rng(1).random((3, 5))
    view.update(values, "x")
    for line, row in zip(view.lines, values, strict=True):
        np.testing.assert_allclose(line.get_ydata(), row)
        np.testing.assert_allclose(line.get_xdata(), (np.arange(5) + 0.5) / 5)
    assert view.indices == (0, 1, 2, 3, 4) and view.label.get_text() == "x"
    view.update(np.full((3, 64), 0.5))
    assert view.indices == tuple(range(0, 64, 8)) and (ax.get_xlim(), ax.get_ylim()) == limits
    assert len({tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
                for line in view.lines}) == 3
    with pytest.raises(ValueError, match="profiles must be \\(3, C\\)"):
        view.update(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="classes must name 1 to 4 classes, got 5"):
        draw_profiles(fig.add_subplot(), "t", list("abcde"))
    Painter(fig).frame()
