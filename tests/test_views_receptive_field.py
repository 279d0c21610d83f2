"""Receptive-field views on the Agg backend: artists returned and updated in place, pixels where the
compute says, no pyplot figure left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (only to check that no pyplot figure is left open)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from torch import nn  # noqa: E402

from explainer.data import synthetic_image  # noqa: E402
from explainer.receptive_fields import (  # noqa: E402
    conv_stack,
    receptive_field,
    reference_network,
    unit_field,
    vgg_comparison,
)
from explainer.paint import Painter, new_figure  # noqa: E402
from explainer.theme import get_theme  # noqa: E402
from explainer.views.receptive_field import (  # noqa: E402
    draw_box,
    draw_erf,
    draw_erf_colorbar,
    draw_growth,
    draw_network_legend,
    draw_mask,
    draw_photo,
    draw_published,
    draw_stack_comparison,
    draw_unit_field,
    format_layer_table,
    growth_points,
    update_box,
    update_erf,
    update_growth,
    update_mask,
    update_stack_comparison,
    update_unit_field,
)


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    yield
    assert plt.get_fignums() == []


def rgb_at(painter: Painter, ax, x: float, y: float) -> np.ndarray:
    """RGB (0-1) of the rendered canvas at data point (x, y) of ``ax``."""
    painter.render()
    px, py = painter.data_to_pixel(ax, x, y)
    return np.asarray(painter.canvas.buffer_rgba())[int(py), int(px), :3] / 255


def image_axes(size=(4, 4)):
    fig = new_figure(*size, dpi=50)
    return fig, fig.add_axes((0, 0, 1, 1))


def test_photo_and_box_sit_on_pixel_centres():
    fig, ax = image_axes()
    image = torch.zeros(3, 10, 10)
    image[:, 2, 7] = 1.0
    photo = draw_photo(ax, image)
    assert isinstance(photo, Artist) and ax.get_xlim() == (-0.5, 9.5) and ax.get_ylim() == (9.5, -0.5)
    painter = Painter(fig)
    assert rgb_at(painter, ax, 7, 2).min() > 0.9 and rgb_at(painter, ax, 6, 2).max() < 0.1
    rect = draw_box(ax, (1, 2, 3, 5))
    assert rect.get_bbox().bounds == (1.5, 0.5, 4, 3)  # x0 - 0.5, y0 - 0.5, width, height
    update_box(rect, (0, 0, 9, 9))
    assert rect.get_bbox().bounds == (-0.5, -0.5, 10, 10)


def test_mask_darkens_outside_only():
    fig, ax = image_axes()
    draw_photo(ax, torch.ones(3, 8, 8))
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[2:5, 3:6] = True
    artist = draw_mask(ax, mask)
    painter = Painter(fig)
    painter.animate(artist)
    assert rgb_at(painter, ax, 4, 3).min() > 0.95 and rgb_at(painter, ax, 0, 0).max() < 0.5
    update_mask(artist, ~mask)
    assert rgb_at(painter, ax, 4, 3).max() < 0.5 and rgb_at(painter, ax, 0, 0).min() > 0.95


def test_erf_heatmap_is_transparent_where_zero():
    fig, ax = image_axes()
    draw_photo(ax, torch.ones(3, 6, 6))
    erf = torch.zeros(6, 6)
    erf[3, 3], erf[3, 4] = 0.75, 0.25
    artist = draw_erf(ax, erf)
    painter = Painter(fig)
    painter.animate(artist)
    assert np.allclose(rgb_at(painter, ax, 0, 0), 1.0, atol=0.01)  # untouched white photo
    peak = np.array(matplotlib.colormaps[get_theme().cmap](1.0)[:3])
    assert np.allclose(rgb_at(painter, ax, 3, 3), peak, atol=0.03)
    update_erf(artist, erf.flip(0))
    assert np.allclose(rgb_at(painter, ax, 3, 3), 1.0, atol=0.01)
    assert np.allclose(rgb_at(painter, ax, 3, 2), peak, atol=0.03)


def test_unit_field_panels_follow_the_unit():
    model = conv_stack(2, channels=2)
    first, second = unit_field(model, 16, (3, 3), n_samples=2), unit_field(model, 16, (12, 10), n_samples=2)
    fig = new_figure(6, 3, dpi=50)
    ax1, ax2 = fig.add_axes((0, 0, 0.5, 1)), fig.add_axes((0.5, 0, 0.5, 1))
    artists = draw_unit_field(ax1, ax2, synthetic_image(16), first)
    assert all(isinstance(a, Artist) for a in artists.animated) and len(artists.animated) == 5
    update_unit_field(artists, second)
    assert artists.box.get_bbox().bounds == (7.5, 9.5, 5, 5)
    assert tuple(artists.unit.get_xydata()[0]) == (10.0, 12.0)
    assert not artists.mask.get_array()[12, 10, 3] and artists.mask.get_array()[3, 3, 3] > 0


def test_growth_points_follow_the_main_path():
    layers = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3)))
    assert growth_points(layers) == ([0.0, 1.0, 1.5, 2.0], [1, 3, 4, 8], [1, 1, 2, 2])
    resnet = receptive_field(reference_network("resnet50", device="meta"))
    xs, sizes, jumps = growth_points(resnet)
    assert sizes == sorted(sizes) and sizes[-1] == 427 and jumps[-1] == 32  # shortcut 1x1s never dip
    assert xs[-1] == 53.0 or xs[-1] == 53.5


def test_growth_plot_updates_in_place():
    fig, ax = image_axes((5, 3))
    small = receptive_field(conv_stack(2), 32)
    artists = draw_growth(ax, small, input_size=32, x_max=8)
    assert all(isinstance(a, Artist) for a in artists.animated)
    limits = (ax.get_xlim(), ax.get_ylim())
    big = receptive_field(conv_stack(5, stride=2), 32)
    update_growth(artists, big)
    assert list(artists.size.get_ydata()) == growth_points(big)[1] and artists.label.get_text() == " r=63"
    assert (ax.get_xlim(), ax.get_ylim()) == limits  # fixed limits: no background redraw needed
    Painter(fig).frame()


def test_layer_table_text():
    text = format_layer_table(receptive_field(reference_network("alexnet", device="meta"), 224))
    lines = text.splitlines()
    assert len(lines) == 1 + 8 and lines[0].split() == ["layer", "kind", "r", "j", "start", "out"]
    assert lines[-1].split()[:4] == ["features.12", "MaxPool2d", "195x195", "32x32"]
    assert lines[-1].split()[-1] == "6x6"


def test_published_marker_and_stack_comparison():
    fig = new_figure(6, 3, dpi=50)
    ax_bars, ax_diagram = fig.add_axes((0.6, 0.1, 0.35, 0.8)), fig.add_axes((0, 0, 0.5, 1))
    star, label = draw_published(ax_bars, 1.0, 2, "pool5")
    assert tuple(star.get_xydata()[0]) == (1.0, 2.0) and label.get_text().startswith("pool5")
    comparison = vgg_comparison(64)
    artists = draw_stack_comparison(ax_bars, comparison, ax_diagram=ax_diagram, relative=True)
    assert [bar.get_height() for bar in artists.bars] == pytest.approx([27 / 49, 1.0])
    assert "27 C$^2$ = 110,592" in artists.texts[0].get_text()
    pyramid = artists.pyramid.get_array()
    accent = np.array(to_rgb(get_theme().accent))
    assert [int(np.all(np.isclose(row[:, :3], accent), axis=1).sum()) for row in pyramid[:4]] == [1, 3, 5, 7]
    update_stack_comparison(artists, vgg_comparison(64, depth=2, kernel_size=5))
    assert [bar.get_height() for bar in artists.bars] == pytest.approx([50 / 81, 1.0])
    plain = draw_stack_comparison(fig.add_axes((0.6, 0.1, 0.1, 0.1)), comparison)
    assert [bar.get_height() for bar in plain.bars] == [27, 49]
    Painter(fig).frame()


def test_erf_colorbar_is_a_fixed_square_root_scale():
    fig = new_figure(3, 2)
    ax, cax = fig.add_axes((0.05, 0.1, 0.6, 0.8)), fig.add_axes((0.75, 0.1, 0.05, 0.8))
    bar = draw_erf_colorbar(ax, cax, cmap="viridis")
    assert bar.ax is cax and (bar.norm.vmin, bar.norm.vmax) == (0.0, 1.0)
    # The heatmap's colour of a pixel at a quarter of the peak is the bar's colour at 0.25.
    erf = torch.tensor([[0.25, 1.0]])
    heatmap = draw_erf(ax, erf, cmap="viridis").get_array()  # (1, 2, 4) RGBA
    assert np.allclose(bar.cmap(bar.norm(0.25))[:3], heatmap[0, 0, :3], atol=1e-6)
    assert "peak" in cax.get_ylabel()


def test_network_legend_names_each_curve_inside_the_axes():
    fig = new_figure(4, 3)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    legend = draw_network_legend(ax, [("A", "#CC79A7"), ("B", "#56B4E9")], jump_color="grey", star_color="green")
    assert [t.get_text() for t in legend.get_texts()][:2] == ["A", "B"] and len(legend.get_texts()) == 4
    assert ax.get_legend() is legend and isinstance(legend, Artist)


def test_growth_axis_has_integer_layer_ticks():
    fig = new_figure(4, 3)
    ax = fig.add_axes((0.1, 0.15, 0.8, 0.8))
    draw_growth(ax, receptive_field(conv_stack(3, pool_every=1)), x_max=8)
    fig.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_xticks())
