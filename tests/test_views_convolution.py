"""Views for convolution arithmetic on the Agg backend: artists returned, pixels where the compute says."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (only to check that no pyplot figure is left open)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from explainer.conv import conv_arithmetic  # noqa: E402
from explainer.paint import Painter, new_figure  # noqa: E402
from _oracles import zero_insert  # noqa: E402
from explainer.theme import get_theme  # noqa: E402
from explainer.views.convolution import (  # noqa: E402
    CROPPED,
    INSERTED,
    PADDING,
    PIXEL,
    cell_colors,
    cell_kinds,
    draw_input_grid,
    draw_output_grid,
    grid_layout,
    input_extent,
)

SETTINGS = [
    dict(input_size=5, kernel_size=3, stride=2, padding=1, dilation=2),
    dict(input_size=(6, 4), kernel_size=(2, 3), stride=(1, 2), padding=(2, 0), dilation=(1, 1)),
    dict(input_size=3, kernel_size=3, stride=2, padding=1, dilation=1, transposed=True, output_padding=1),
    dict(input_size=6, kernel_size=3, stride=1, padding=3, dilation=1, transposed=True),  # crops one ring
    dict(input_size=(2, 4), kernel_size=(3, 2), stride=(3, 2), padding=(0, 2), dilation=(2, 1), transposed=True),
]


def draw(result, unit):
    fig = new_figure(8, 4.2)
    ax_in, ax_out = fig.add_axes((0.01, 0.01, 0.48, 0.9)), fig.add_axes((0.51, 0.01, 0.48, 0.9))
    layout = grid_layout(result)
    return fig, draw_input_grid(ax_in, result, unit, layout), draw_output_grid(ax_out, result, unit, layout)


def pixel_color(fig, ax, x, y):
    px, py = ax.transData.transform((x, y))
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return rgba[rgba.shape[0] - 1 - int(py), int(px)] / 255.0


@pytest.mark.parametrize("kw", SETTINGS)
def test_views_return_their_artists_and_leave_no_pyplot_figure(kw):
    result = conv_arithmetic(**kw)
    fig, inp, out = draw(result, (0, 0))
    for view in (inp, out):
        assert view.artists and all(isinstance(a, Artist) for a in view.artists)
        assert all(a.axes is view.ax for a in view.artists)
        assert view.title.get_text()
    painter = Painter(fig)
    painter.animate(inp.artists, out.artists)
    assert painter.frame()[:4] == b"\x89PNG"
    assert plt.get_fignums() == []


@pytest.mark.parametrize("kw", SETTINGS)
def test_cell_colours_follow_cell_kinds(kw):
    result = conv_arithmetic(**kw)
    unit = (result.output_size[0] - 1, 0)
    fig, inp, _ = draw(result, unit)
    fig.canvas.draw()
    kinds = cell_kinds(result)
    (y0, _), (x0, _) = input_extent(result)
    taps = {tuple(t) for t in result.positions[unit].long().tolist()}
    colours = cell_colors(get_theme())
    cell = inp.layout.cell
    left, top = inp.layout.origin(*kinds.shape)
    checked = 0
    for (r, c), kind in np.ndenumerate(kinds):
        if (r + y0, c + x0) in taps:
            continue  # covered by a tap marker
        got = pixel_color(fig, inp.ax, left + (c + 0.5) * cell, top + (r + 0.5) * cell)
        np.testing.assert_allclose(got[:3], colours[kind][:3], atol=0.02, err_msg=f"cell {(r, c)} kind {kind}")
        checked += 1
    assert checked > kinds.size // 2


def test_cell_kinds_agree_with_zero_insertion_and_padding():
    result = conv_arithmetic((3, 4), (3, 2), stride=(2, 3), padding=(1, 3), transposed=True, output_padding=(1, 0),
                             dilation=(1, 2))
    geo = result.geometry
    kinds = cell_kinds(result)
    (y0, y1), (x0, x1) = input_extent(result)
    grid = zero_insert(torch.ones(1, 1, *result.input_size), geo.stride)  # (1, 1, H', W')
    grid = F.pad(grid, (-x0, x1 - geo.inserted_size[1], -y0, y1 - geo.inserted_size[0]))[0, 0]
    kept = np.zeros_like(kinds, dtype=bool)
    kept[-y0 - geo.pad_before[0]: -y0 + geo.inserted_size[0] + geo.pad_after[0],
         -x0 - geo.pad_before[1]: -x0 + geo.inserted_size[1] + geo.pad_after[1]] = True
    assert kinds.shape == tuple(grid.shape)
    assert np.array_equal(kinds == PIXEL, (grid.numpy() == 1) & kept)
    assert np.array_equal(kinds == CROPPED, ~kept)
    assert (kinds == INSERTED).sum() > 0 and (kinds == PADDING).sum() > 0
    padded = kept.sum(0).max(), kept.sum(1).max()
    assert (int(padded[0]), int(padded[1])) == geo.padded_size


@pytest.mark.parametrize("kw", SETTINGS)
def test_tap_markers_sit_on_the_sampled_cells(kw):
    result = conv_arithmetic(**kw)
    unit = (result.output_size[0] // 2, result.output_size[1] - 1)
    _, inp, out = draw(result, unit)
    (y0, _), (x0, _) = input_extent(result)
    left, top = inp.layout.origin(*cell_kinds(result).shape)
    cell = inp.layout.cell
    centres = np.array([p.vertices[:4].mean(0) for p in inp.taps.get_paths()])  # (K, 2) data (x, y)
    cells = np.floor(np.stack([(centres[:, 1] - top) / cell + y0, (centres[:, 0] - left) / cell + x0], -1))
    assert np.array_equal(cells, result.positions[unit].numpy())
    filled = inp.taps.get_facecolor()[:, 3] > 0
    if result.geometry is None:
        size = np.array(result.input_size)
        expected = ((result.positions[unit].numpy() >= 0) & (result.positions[unit].numpy() < size)).all(-1)
    else:
        expected = result.geometry.reads_input()[unit].numpy()
    assert np.array_equal(filled, expected)
    assert out.selected.get_x() == pytest.approx(out.layout.origin(*result.output_size)[0] + unit[1] * cell)


def test_output_cell_at_round_trips_every_unit():
    result = conv_arithmetic(7, 3, stride=2, padding=1)
    _, _, out = draw(result, (0, 0))
    left, top = out.layout.origin(*result.output_size)
    cell = out.layout.cell
    for r in range(result.output_size[0]):
        for c in range(result.output_size[1]):
            assert out.cell_at(left + (c + 0.5) * cell, top + (r + 0.5) * cell) == (r, c)
    assert out.cell_at(left - cell / 2, top) is None
    assert out.cell_at(0.99, 0.99) is None
    assert out.nearest_cell(0.99, 0.99) == (result.output_size[0] - 1, result.output_size[1] - 1)
    assert out.nearest_cell(0.0, 0.0) == (0, 0)
    assert out.nearest_cell(left + 1.5 * cell, top - cell) == (0, 1)


def test_update_reports_title_changes_and_keeps_axes_fixed():
    direct = conv_arithmetic(5, 3)
    _, inp, out = draw(direct, (0, 0))
    limits = (inp.ax.get_xlim(), inp.ax.get_ylim())
    assert inp.update(conv_arithmetic(5, 3, stride=2), (1, 1)) is False
    assert inp.update(conv_arithmetic(5, 3, stride=2, transposed=True), (4, 4)) is False
    inp.title.set_text("")
    assert inp.update(conv_arithmetic(5, 3, stride=2, transposed=True), (4, 4)) is True
    assert out.update(conv_arithmetic(5, 3, stride=2, transposed=True), (4, 4)) is False
    assert (inp.ax.get_xlim(), inp.ax.get_ylim()) == limits == ((0.0, 1.0), (1.0, 0.0))
    assert inp.ax.get_xticks().size == 0


def test_shared_layout_keeps_cells_the_same_size_in_both_panels():
    result = conv_arithmetic(4, 3, stride=3, transposed=True)  # output (12) larger than the input grid
    layout = grid_layout(result)
    assert layout.cell * max(result.output_size) <= 1
    (y0, y1), _ = input_extent(result)
    assert layout.cell * (y1 - y0) <= 1
    assert to_rgba(cell_colors()[INSERTED]) == to_rgba("white")


@pytest.mark.parametrize("cin,cout,groups", [(4, 8, 1), (12, 16, 4), (8, 8, 8), (9, 3, 3)])
def test_channel_groups_draw_one_band_per_group_over_its_channels(cin, cout, groups):
    from explainer.paint import new_figure
    from explainer.views.convolution import GROUP_COLORS, draw_channel_groups

    result = conv_arithmetic(5, 3, in_channels=cin, out_channels=cout, groups=groups)
    ax = new_figure(4, 1).add_subplot()
    view = draw_channel_groups(ax, result)
    boxes = view.channels.get_paths()
    assert len(boxes) == cin + cout and len(view.links.get_paths()) == groups
    colors = view.channels.get_facecolor()
    inputs = [tuple(c) for c in colors[:cin]]
    filters = [tuple(c) for c in colors[cin:]]
    # channel c of C belongs to group c // (C / g): inputs and filters of a group share its colour
    for j in range(groups):
        group_in = {inputs[c] for c in range(cin) if c * groups // cin == j}
        group_out = {filters[c] for c in range(cout) if c * groups // cout == j}
        assert len(group_in) == 1 and group_in == group_out
    assert view.artists == [view.links, view.channels]
    assert len({tuple(c) for c in colors}) == min(groups, len(GROUP_COLORS))


def test_legend_lives_in_the_figure_and_names_every_mark():
    from explainer.views.convolution import draw_legend, legend_handles

    fig = new_figure(8, 5.2)
    legend = draw_legend(fig, (0.0, 0.88, 1.0, 0.11))
    labels = [t.get_text() for t in legend.get_texts()]
    for words in ("input pixel", "padding", "inserted zero", "cropped", "tap reading a pixel", "tap reading a zero",
                  "kernel footprint", "selected output"):
        assert any(words in label for label in labels), words
    assert len(labels) == len(legend_handles())
    colours = cell_colors(get_theme())
    patches = {h.get_label(): h for h in legend_handles()}
    assert to_rgba(patches["input pixel"].get_facecolor()) == pytest.approx(colours[PIXEL])
    assert to_rgba(patches["inserted zero"].get_facecolor()) == pytest.approx(colours[INSERTED])
    fig.canvas.draw()
    box = legend.get_window_extent(fig.canvas.get_renderer())
    width, height = fig.canvas.get_width_height()
    assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height  # nothing cut off
    assert plt.get_fignums() == []
