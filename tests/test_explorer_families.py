"""Lesson 13's explorer and views in plain pytest: every control repaints, the picture shows the
compute's numbers, the views return their artists and leave no figure open, errors are shown."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from _controls import assert_every_control_repaints  # noqa: E402

from explainer.explorers.families import cnn_families_explorer  # noqa: E402
from explainer.families import compare, network_table  # noqa: E402
from explainer.paint import new_figure  # noqa: E402
from explainer.views.families import (  # noqa: E402
    MAX_ROWS,
    draw_design_bars,
    draw_family_growth,
    format_count,
    table_html,
)


@pytest.fixture(scope="module")
def ex():
    return cnn_families_explorer()


def test_builds_with_the_table_and_the_comparison(ex):
    assert ex.png()[:4] == b"\x89PNG" and ex.last_error is None
    table, comparison = ex.result
    assert table == network_table("vgg16") and comparison == compare("stack", 64, 28, 3)
    assert "138,357,544" in ex.info.value and ex.info.value.count("<tr>") == len(table.rows) + 2
    assert plt.get_fignums() == []


def test_every_control_repaints(ex):
    assert_every_control_repaints(ex)


@pytest.mark.parametrize("network", ["alexnet", "inception", "bottleneck", "transformer"])
def test_each_network_is_drawn_from_its_table(ex, network):
    ex.set(network=network)
    table = network_table(network)
    assert ex.result[0] == table
    xs, fields = ex.growth.field.get_data()
    assert list(fields) == [r.field for r in table.rows] and list(xs) == list(range(1, len(table.rows) + 1))
    assert ex.growth.params.get_ydata()[-1] == pytest.approx(100)
    assert format_count(table.params) in ex.growth.title.get_text()


def test_bars_show_each_design_relative_to_the_first(ex):
    ex.set(comparison="bottleneck", channels=256, kernel_size=3)
    plain, bottle, small = ex.result[1].designs
    assert ex.bars.bars[1][0].get_height() == pytest.approx(100 * bottle.params / plain.params)
    assert ex.bars.bars[2][1].get_height() == pytest.approx(100 * small.multiply_adds / plain.multiply_adds)
    assert all(t.get_visible() for t in ex.bars.legend)
    ex.set(comparison="separable")
    assert not ex.bars.bars[2][0].get_visible() and not ex.bars.legend[2].get_visible()
    assert "depthwise" in ex.bars.legend[1].get_text()


def test_views_return_artists_and_refuse_long_tables():
    fig = new_figure(6, 3)
    growth = draw_family_growth(fig.add_axes((0.1, 0.1, 0.35, 0.7)))
    bars = draw_design_bars(fig.add_axes((0.6, 0.1, 0.35, 0.7)))
    assert len(growth.artists) == 4 and len(bars.artists) == 6 + 6 + 3 + 1
    growth.update(network_table("inception"))
    bars.update(compare("factorised", channels=16, size=5, kernel_size=5))
    assert "5x1 then 1x5" in bars.legend[1].get_text()
    from dataclasses import replace

    long = replace(network_table("vgg16"), rows=network_table("vgg16").rows * 2)
    assert len(long.rows) > MAX_ROWS
    with pytest.raises(ValueError, match="at most"):
        growth.update(long)
    assert plt.get_fignums() == []


def test_table_html_lists_every_row_and_the_totals():
    table = network_table("bottleneck")
    text = table_html(table)
    assert all(f"<code>{r.name}</code>" in text for r in table.rows) and f"{table.params:,}" in text


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="network"):
        cnn_families_explorer(network="resnet")
    with pytest.raises(ValueError, match="channels"):
        cnn_families_explorer(channels=48)
    with pytest.raises(ValueError, match="presentation"):
        cnn_families_explorer(presentation=True, theme=object())
