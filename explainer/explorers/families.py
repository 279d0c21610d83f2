"""Lesson 13 explorer: the classic CNN families layer by layer, and the design moves that made them cheap.

:func:`cnn_families_explorer` shows one network of :data:`explainer.families.FAMILIES` at a time:
its receptive field after every layer (lesson 02's growth) beside the running share of its weights
and of its multiply-adds, with the full table (output shape, weights, multiply-adds, field) under
the picture; on the right, one comparison of :data:`explainer.families.COMPARISONS` (three 3x3
against one 7x7, a 1x1 bottleneck against plain 3x3s, n x 1 + 1 x n against n x n, depthwise-separable
against a full convolution) at the chosen width and kernel size.

Every table is measured once per network (on the meta device) and kept; a comparison is measured
on each move (a few real modules on the meta device) and kept per setting.
"""

from __future__ import annotations

from typing import Any

from explainer._validate import check_choice
from explainer.explorers._kit import Explorer, Kept, dropdown, one_torch_thread, selection_slider, toggle_buttons
from explainer.families import COMPARISONS, FAMILIES, compare, network_table
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.families import draw_design_bars, draw_family_growth, format_count, table_html

__all__ = ["NETWORK_LABELS", "COMPARISON_LABELS", "CHANNELS", "KERNELS", "CnnFamiliesExplorer",
           "cnn_families_explorer"]

NETWORK_LABELS = {"alexnet": "AlexNet (2012)", "vgg16": "VGG-16 (2014)", "inception": "Inception v1 module (3a)",
                  "bottleneck": "ResNet bottleneck block", "transformer": "Transformer encoder block"}
COMPARISON_LABELS = {"stack": "3 small vs 1 big", "bottleneck": "1x1 bottleneck", "factorised": "n x 1 + 1 x n",
                     "separable": "depthwise-separable"}
CHANNELS = (16, 32, 64, 128, 256, 512)
KERNELS = (3, 5, 7)
SIZE = 28  # side of the comparisons' input


class CnnFamiliesExplorer(Explorer):
    """One network's growth and table, and one design comparison.

    ``result`` is ``(NetworkTable, Comparison)`` of the current settings; the arguments are those
    of :func:`cnn_families_explorer`.
    """

    def __init__(self, *, network: str = "vgg16", comparison: str = "stack", channels: int = 64, kernel_size: int = 3,
                 theme: Theme | None = None) -> None:
        theme = theme or get_theme()
        check_choice("network", network, FAMILIES)
        check_choice("comparison", comparison, COMPARISONS)
        check_choice("channels", channels, CHANNELS)
        check_choice("kernel_size", kernel_size, KERNELS)
        with one_torch_thread():
            self.tables = {name: network_table(name) for name in FAMILIES}
        self.kept = Kept(64)
        controls = {
            "network": dropdown("network", [(label, name) for name, label in NETWORK_LABELS.items()], network,
                                theme=theme),
            "comparison": toggle_buttons("compare", [(label, name) for name, label in COMPARISON_LABELS.items()],
                                         comparison, theme=theme),
            "channels": selection_slider("channels C", CHANNELS, channels, theme=theme),
            "kernel_size": toggle_buttons("kernel k", list(KERNELS), kernel_size, theme=theme),
        }
        fig = new_figure(7.2, 3.6, theme=theme)
        self.growth = draw_family_growth(fig.add_axes((0.085, 0.13, 0.37, 0.68)), theme=theme)
        self.bars = draw_design_bars(fig.add_axes((0.615, 0.13, 0.375, 0.68)), theme=theme)
        painter = Painter(fig)
        painter.animate(self.growth.artists, self.bars.artists)
        super().__init__(controls, painter, title="Classic CNN families, layer by layer", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        table = self.tables[values["network"]]
        key = (values["comparison"], values["channels"], values["kernel_size"])
        comparison = self.kept.fetch(key, lambda: compare(key[0], key[1], SIZE, key[2]))
        self.growth.update(table)
        self.bars.update(comparison)
        self.result = (table, comparison)
        conv_macs = sum(r.multiply_adds for r in table.rows if r.kind == "Conv2d")
        fc = sum(r.params for r in table.rows if r.kind == "Linear")
        designs = "; ".join(f"{d.label}: <b>{format_count(d.params)}</b> weights, {format_count(d.multiply_adds)} "
                            f"multiply-adds, field {d.field}" for d in comparison.designs)
        self.info.value = (
            f"<b>{NETWORK_LABELS[table.network]}</b>: {table.params:,} weights (linear layers "
            f"{100 * fc / max(table.params, 1):.0f}%), {table.multiply_adds:,} multiply-adds per input (convolutions "
            f"{100 * conv_macs / max(table.multiply_adds, 1):.0f}%).<br>Compare: {designs}.{table_html(table)}")


def cnn_families_explorer(*, network: str = "vgg16", comparison: str = "stack", channels: int = 64,
                          kernel_size: int = 3, presentation: bool | None = None,
                          theme: Theme | None = None) -> CnnFamiliesExplorer:
    """Build (and return, not display) the CNN-families explorer of lesson 13.

    Args:
        network: one of :data:`~explainer.families.FAMILIES` ("alexnet", "vgg16", "inception",
            "bottleneck", "transformer").
        comparison: one of :data:`~explainer.families.COMPARISONS` ("stack", "bottleneck",
            "factorised", "separable").
        channels: width ``C`` of the comparison's input, one of :data:`CHANNELS`.
        kernel_size: ``k`` of the comparison, one of :data:`KERNELS`.
        presentation: True for the lecture-hall theme, False for the default, None for the global
            setting (:func:`explainer.set_presentation`).
        theme: a :class:`~explainer.theme.Theme` to use instead of ``presentation``'s.

    Raises:
        ValueError: a setting outside its choices, or both ``presentation`` and ``theme``.

    Example:
        >>> table, comparison = cnn_families_explorer(network="alexnet").result
        >>> table.params, [d.field for d in comparison.designs]
        (60965224, [7, 7])
    """
    if presentation is not None and theme is not None:
        raise ValueError("give either presentation= or theme=, not both")
    return CnnFamiliesExplorer(network=network, comparison=comparison, channels=channels, kernel_size=kernel_size,
                               theme=theme or get_theme(presentation))
