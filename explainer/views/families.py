"""Views for the CNN families (lesson 13): a network's growth layer by layer, and one design comparison.

* :func:`draw_family_growth`: after every row of a :class:`~explainer.families.NetworkTable`, the
  receptive field (log2 axis, left) beside the running share of the parameters and of the
  multiply-adds (0-100 %, right): where a network sees far, where its weights live, where its work is.
* :func:`draw_design_bars`: the designs of a :class:`~explainer.families.Comparison`, weights and
  multiply-adds as a percentage of the plain design, each bar labelled with its count; a legend of
  texts names each design with its field and its nonlinearities.

Drawn for blitting: axes, ticks, axis labels and the legend of the growth lines are static; a move
changes the lines' data, the bars' heights and the texts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, MaxNLocator

from explainer.families import Comparison, NetworkTable
from explainer.theme import Theme, get_theme

__all__ = ["MAX_ROWS", "GrowthView", "draw_family_growth", "DesignBarsView", "draw_design_bars", "format_count",
           "table_html"]

MAX_ROWS = 21  # VGG-16 has the most rows: 13 convolutions, 5 pools, 3 linear layers
MAX_DESIGNS = 3


def format_count(n: int) -> str:
    """``1234567 -> '1.23 M'``: counts in k / M / G with three significant digits.

    Example:
        >>> format_count(138357544), format_count(950), format_count(15470264320)
        ('138 M', '950', '15.5 G')
    """
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return str(n)


@dataclass
class GrowthView:
    """The growth panel: ``field``, ``params`` and ``macs`` lines and a title text."""

    field: Line2D
    params: Line2D
    macs: Line2D
    title: Text

    @property
    def artists(self) -> list:
        return [self.field, self.params, self.macs, self.title]

    def update(self, table: NetworkTable) -> None:
        """Show ``table``'s rows (at most :data:`MAX_ROWS`)."""
        if len(table.rows) > MAX_ROWS:
            raise ValueError(f"table must have at most {MAX_ROWS} rows, got {len(table.rows)}")
        xs = list(range(1, len(table.rows) + 1))
        self.field.set_data(xs, [r.field for r in table.rows])
        self.params.set_data(xs, [100 * c / max(table.params, 1) for c in table.cumulative("params")])
        self.macs.set_data(xs, [100 * c / max(table.multiply_adds, 1) for c in table.cumulative("multiply_adds")])
        self.title.set_text(f"{table.network}: {format_count(table.params)} weights, "
                            f"{format_count(table.multiply_adds)} multiply-adds (field in {table.field_unit})")


def draw_family_growth(ax: Axes, theme: Theme | None = None) -> GrowthView:
    """Set up the growth panel on ``ax`` (and a twin axis for the percentages); call ``update`` to fill it."""
    theme = theme or get_theme()
    lw, fs = theme.line_scale, theme.font_size
    ax.set_xlim(0.5, MAX_ROWS + 0.5)
    ax.set_yscale("log", base=2)
    ax.set_ylim(1, 512)
    ax.yaxis.set_major_locator(FixedLocator([1, 4, 16, 64, 256]))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0f}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_xlabel("layer (row of the table)", fontsize=fs)
    ax.set_ylabel("receptive field", fontsize=fs, color=theme.accent)
    ax.tick_params(labelsize=fs - 1)
    ax.grid(True, color=theme.grid_color, alpha=0.3, linewidth=0.5 * lw)
    share = ax.twinx()
    share.set_ylim(0, 105)
    share.set_ylabel("share so far (%)", fontsize=fs)
    share.tick_params(labelsize=fs - 1)
    (field,) = ax.plot([], [], marker="o", markersize=4 * lw, linewidth=2 * lw, color=theme.accent, label="field")
    (params,) = share.plot([], [], marker="s", markersize=3 * lw, linewidth=1.5 * lw, color=theme.accent2,
                           label="weights so far")
    (macs,) = share.plot([], [], marker="^", markersize=3 * lw, linewidth=1.5 * lw, linestyle="--",
                         color=theme.accent3, label="multiply-adds so far")
    share.legend(handles=[field, params, macs], labels=["field", "weights %", "multiply-adds %"], loc="lower left",
                 bbox_to_anchor=(0.0, 1.0), ncol=3, fontsize=fs - 2, frameon=False, borderaxespad=0.2,
                 handlelength=1.6, columnspacing=0.8)
    title = ax.text(0.0, 1.13, "", transform=ax.transAxes, ha="left", va="bottom", fontsize=fs - 1)
    return GrowthView(field, params, macs, title)


@dataclass
class DesignBarsView:
    """The comparison panel: ``bars[d][g]`` (design d, group g = weights / multiply-adds), value
    texts of the same shape, one legend text per design, and a title."""

    bars: list[list[Rectangle]]
    values: list[list[Text]]
    legend: list[Text]
    title: Text

    @property
    def artists(self) -> list:
        return [*(b for row in self.bars for b in row), *(t for row in self.values for t in row), *self.legend,
                self.title]

    def update(self, comparison: Comparison) -> None:
        """Show ``comparison``'s designs as a percentage of the first."""
        plain = comparison.designs[0]
        for d in range(MAX_DESIGNS):
            shown = d < len(comparison.designs)
            design = comparison.designs[d] if shown else plain
            for g, (count, base) in enumerate(((design.params, plain.params),
                                               (design.multiply_adds, plain.multiply_adds))):
                pct = 100 * count / max(base, 1)
                bar, text = self.bars[d][g], self.values[d][g]
                bar.set_height(min(pct, 125))
                bar.set_visible(shown)
                text.set_visible(shown)
                text.set_position((bar.get_x() + bar.get_width() / 2, min(pct, 125) + 2))
                text.set_text(f"{pct:.0f}%\n{format_count(count)}")
            self.legend[d].set_visible(shown)
            self.legend[d].set_text(f"\u25a0 {design.label}\n    field {design.field}, {design.nonlinearities} ReLU")
        self.title.set_text(f"% of design 1; input {comparison.channels}x{comparison.size}x{comparison.size}")


def draw_design_bars(ax: Axes, theme: Theme | None = None) -> DesignBarsView:
    """Set up the comparison panel on ``ax``: two groups (weights, multiply-adds) of up to three bars."""
    theme = theme or get_theme()
    fs = theme.font_size
    colors = (theme.grid_color, theme.accent2, theme.accent)
    width = 0.26
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(0, 235)
    ax.set_xticks([0, 1], ["weights", "multiply-adds"], fontsize=fs - 1)
    ax.set_yticks([0, 25, 50, 75, 100, 125])
    ax.tick_params(labelsize=fs - 1)
    ax.axhline(100, color=theme.grid_color, linewidth=0.8 * theme.line_scale, linestyle=":")
    bars, values, legend = [], [], []
    for d in range(MAX_DESIGNS):
        row_b, row_t = [], []
        for g in range(2):
            x = g + (d - 1) * width - width / 2
            bar = Rectangle((x, 0), width * 0.92, 0, color=colors[d])
            ax.add_patch(bar)
            row_b.append(bar)
            row_t.append(ax.text(x + width / 2, 0, "", ha="center", va="bottom", fontsize=fs - 3))
        bars.append(row_b)
        values.append(row_t)
        legend.append(ax.text(0.02, 0.98 - 0.13 * d, "", transform=ax.transAxes, ha="left", va="top",
                              fontsize=fs - 3, color=colors[d], linespacing=1.0))
    title = ax.text(0.0, 1.02, "", transform=ax.transAxes, ha="left", va="bottom", fontsize=fs - 1)
    return DesignBarsView(bars, values, legend, title)


def table_html(table: NetworkTable) -> str:
    """The rows of ``table`` as an HTML table (name, kind, output shape, weights, multiply-adds, field)."""
    rows = "".join(
        f"<tr><td><code>{html.escape(r.name)}</code></td><td>{html.escape(r.kind)}</td>"
        f"<td>{' x '.join(map(str, r.output_shape))}</td><td align='right'>{r.params:,}</td>"
        f"<td align='right'>{r.multiply_adds:,}</td><td align='right'>{r.field}</td></tr>" for r in table.rows)
    return (f"<table><tr><th>layer</th><th>kind</th><th>output</th><th>weights</th><th>multiply-adds</th>"
            f"<th>field ({table.field_unit})</th></tr>{rows}<tr><td><b>total</b></td><td></td><td></td>"
            f"<td align='right'><b>{table.params:,}</b></td><td align='right'><b>{table.multiply_adds:,}</b></td>"
            f"<td></td></tr></table>")
