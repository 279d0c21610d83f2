"""Views of convolution-as-attention on the Agg backend: artists returned, pixels and markers where the maps say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (only to check that no pyplot figure is left open)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402

from explainer.attention.conv_attention import conv_as_attention  # noqa: E402
from explainer.paint import Painter, new_figure  # noqa: E402
from explainer.views.conv_attention import (  # noqa: E402
    WEIGHT_FLOOR,
    draw_colorbar,
    draw_head_maps,
    draw_pixels,
    head_windows,
    mosaic,
)


def layer_maps(k=3, size=(7, 9), query=(3, 4), sharpness=30.0, pad_keys=True):
    layer = conv_as_attention(torch.randn(1, 1, k, k, dtype=torch.float64), sharpness=sharpness, pad_keys=pad_keys)
    return layer, layer.query_maps(size, query).numpy()


@pytest.mark.parametrize("query", [(0, 0), (3, 4), (6, 8), (6, 0)])
@pytest.mark.parametrize("pad_keys", [True, False])
def test_head_windows_crop_around_the_query(query, pad_keys):
    layer, maps = layer_maps(query=query, pad_keys=pad_keys)
    windows = head_windows(maps, query, layer.padding, radius=2)  # (9, 5, 5)
    assert windows.shape == (9, 5, 5)
    hp, wp = maps.shape[1:]
    for i in range(5):
        for j in range(5):
            y, x = query[0] + layer.padding + i - 2, query[1] + layer.padding + j - 2
            if 0 <= y < hp and 0 <= x < wp:
                np.testing.assert_array_equal(windows[:, i, j], maps[:, y, x])
            else:
                assert np.isnan(windows[:, i, j]).all()
    if pad_keys:  # every head's target exists: the window holds its peak at R + Delta_h
        for h, (dy, dx) in enumerate(layer.offsets.tolist()):
            assert np.unravel_index(np.nanargmax(windows[h]), (5, 5)) == (2 + dy, 2 + dx)


def test_mosaic_lays_tiles_out_in_kernel_order_with_gaps():
    windows = np.arange(9 * 4, dtype=float).reshape(9, 2, 2)
    picture = mosaic(windows)
    assert picture.shape == (8, 8)
    np.testing.assert_array_equal(picture[3:5, 6:8], windows[5])  # head 5 = tap (1, 2)
    assert np.isnan(picture[2]).all() and np.isnan(picture[:, 5]).all()


def test_head_maps_view_markers_sit_on_the_query_and_on_each_peak():
    layer, maps = layer_maps(k=5, size=(9, 11), query=(4, 5))
    windows = head_windows(maps, (4, 5), layer.padding, radius=3)  # (25, 7, 7)
    fig = new_figure(4, 4)
    ax = fig.add_axes((0, 0, 1, 1))
    view = draw_head_maps(ax, windows, layer.offsets.numpy(), "heads")
    assert all(isinstance(a, Artist) for a in view.artists)
    picture = view.image.get_array()
    n = picture.shape[0]
    for (x, y), (tx, ty) in zip(np.column_stack(view.queries.get_data()), np.column_stack(view.targets.get_data())):
        qr, qc, tr, tc = int(y * n), int(x * n), int(ty * n), int(tx * n)  # marker -> mosaic cell
        tile = (qr // 8, qc // 8)
        assert (qr % 8, qc % 8) == (3, 3)  # the query is the centre of its tile
        head = tile[0] * 5 + tile[1]
        assert picture[tr, tc] == np.log10(np.nanmax(windows[head]))  # the dot sits on the head's peak
    assert view.image.get_clim() == (np.log10(WEIGHT_FLOOR), 0.0)  # fixed: the colour bar never changes
    shown = np.log10(np.maximum(mosaic(windows), WEIGHT_FLOOR))  # log10 weights, floored
    np.testing.assert_array_equal(picture, shown)
    # offset marks along the edges read for every k and are static: nothing to redraw per move
    assert [t.get_text() for t in view.marks[:3]] == ["−⌊k/2⌋", "0", "+⌊k/2⌋"]
    assert not set(view.marks) & set(view.artists)
    assert plt.get_fignums() == []


def test_colorbar_shows_the_fixed_range_and_is_not_tied_to_an_image():
    fig = new_figure(3, 3)
    ax = fig.add_axes((0.1, 0.1, 0.6, 0.8))
    image = ax.imshow(np.zeros((3, 3)), cmap="magma", vmin=-10, vmax=0)
    bar = draw_colorbar(fig.add_axes((0.8, 0.1, 0.05, 0.8)), "magma", (-10, 0), "log10 error",
                        ticks=[-10, -5, 0], extend="min")
    assert bar.mappable is not image and bar.norm.vmin == -10 and bar.norm.vmax == 0
    assert [t.get_text() for t in bar.ax.get_yticklabels()] == ["−10", "−5", "0"]
    image.set_data(np.full((3, 3), -3.0))  # moving the data leaves the bar alone
    assert (bar.norm.vmin, bar.norm.vmax) == (-10, 0)
    log = draw_colorbar(fig.add_axes((0.1, 0.02, 0.6, 0.04)), "viridis", (1e-3, 1), log=True, orientation="horizontal")
    assert log.norm.vmin == 1e-3 and type(log.norm).__name__ == "LogNorm"
    decades = draw_colorbar(fig.add_axes((0.1, 0.9, 0.6, 0.04)), "viridis", (-3, 0), ticks=[-3, -2, -1, 0],
                            tick_labels=["1e-3", "1e-2", "1e-1", "1"], orientation="horizontal")
    assert [t.get_text() for t in decades.ax.get_xticklabels()] == ["1e-3", "1e-2", "1e-1", "1"]
    assert plt.get_fignums() == []


def test_pixel_view_draws_values_with_query_and_footprint():
    values = np.arange(35, dtype=float).reshape(5, 7)
    fig = new_figure(3, 3)
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.8))
    view = draw_pixels(ax, values, "x", "gray", (0, 34), query=(1, 2), kernel_size=3)
    assert view.footprint.get_visible() and view.query.get_xy() == (1.5, 0.5)
    assert view.footprint.get_bbox().bounds == (0.5, -0.5, 3, 3)
    assert ax.get_xlim() == (-1.5, 7.5) and ax.get_ylim() == (5.5, -1.5)  # fixed: a margin for border footprints
    painter = Painter(fig)
    painter.animate(view.artists)
    before = painter.frame()
    view.update(values[::-1].copy(), query=(4, 6), kernel_size=5, limits=(0, 10))
    assert painter.frame() != before
    assert view.image.get_clim() == (0, 10) and view.footprint.get_bbox().bounds == (3.5, 1.5, 5, 5)
    view.update(values, query=None)
    assert not view.query.get_visible() and not view.footprint.get_visible()
    assert ax.get_xlim() == (-1.5, 7.5)
    assert plt.get_fignums() == []
