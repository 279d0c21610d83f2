"""Explorer: a convolution computed by a multi-head self-attention layer (Cordonnier et al., ICLR 2020).

A grayscale photo goes through ``F.conv2d`` and through the ``k*k``-head attention layer of
:func:`~explainer.attention.conv_attention.conv_as_attention`. The picture shows, for the query
pixel chosen by the sliders or by a click, what every head attends to (tile ``(i, j)`` is the head
of kernel tap ``(i, j)``), the kernel the heads add up to at that query, both outputs side by side
and their difference on a log scale, while the sharpness ``alpha`` moves on a log slider.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import torch

from explainer._validate import check_choice, check_int, check_pair
from explainer.attention.conv_attention import (
    DEFAULT_SHARPNESS,
    ConvAttentionComparison,
    compare_conv_attention,
)
from explainer.explorers._kit import Explorer, Kept, checkbox, dropdown, int_slider, one_torch_thread
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.conv_attention import WEIGHT_FLOOR, draw_colorbar, draw_head_maps, draw_pixels, head_windows

__all__ = ["KERNELS", "ConvAttentionExplorer", "conv_attention_explorer", "make_kernel"]

KERNELS = ("sobel x", "sobel y", "laplacian", "blur 5x5", "random 3x3", "random 5x5")
RADIUS = 4  # half-width of the window shown around the query: a 5x5 kernel's reach (2) plus 2 of context
MAX_SEED = 99
SHARPNESS_RANGE = (0.1, 100.0)
KEPT_COMPARISONS = 64  # layer outputs and axis weights kept by the explorer (about 0.3 MB each at 40x40)
_FLOOR = -10.0  # log10 of the smallest difference shown (relative to max |conv|)


def make_kernel(name: str, seed: int = 0) -> torch.Tensor:
    """The ``(1, 1, k, k)`` float64 kernel called ``name`` (one of :data:`KERNELS`).

    Random kernels are standard normal, drawn from a private generator seeded with ``seed``.

    Example:
        >>> make_kernel("sobel x")[0, 0].tolist()
        [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
    """
    check_choice("kernel", name, KERNELS)
    seed = check_int("seed", seed, 0)
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)
    if name == "sobel x":
        kernel = sobel
    elif name == "sobel y":
        kernel = sobel.T
    elif name == "laplacian":
        kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    elif name == "blur 5x5":
        binomial = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64)
        kernel = torch.outer(binomial, binomial) / 256
    else:
        k = int(name[-1])
        kernel = torch.randn(k, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return kernel.view(1, 1, *kernel.shape)  # (1, 1, k, k)


def _photo(size: tuple[int, int]) -> torch.Tensor:
    from explainer.data import sample_image, synthetic_image

    try:
        image = sample_image(size, grayscale=True)
    except FileNotFoundError:  # no matplotlib sample data: a synthetic picture with sharp edges
        image = synthetic_image(size, grayscale=True)
    return image.to(torch.float64)[None]  # (1, 1, H, W)


def _window(kernel: np.ndarray) -> np.ndarray:
    """The kernel in a ``(2R+1, 2R+1)`` window, NaN where it has no tap."""
    out = np.full((2 * RADIUS + 1,) * 2, np.nan)
    r = kernel.shape[0] // 2
    out[RADIUS - r:RADIUS + r + 1, RADIUS - r:RADIUS + r + 1] = kernel
    return out


class ConvAttentionExplorer(Explorer):
    """Per-head attention maps of one query, the kernel they add up to, conv vs attention outputs.

    ``result`` is the current :class:`~explainer.attention.conv_attention.ConvAttentionComparison`;
    ``query_maps`` the ``(K, Hp, Wp)`` maps of the selected query. Clicking a pixel of one of the
    image panels selects it as the query.
    """

    def __init__(self, image: torch.Tensor, values: dict[str, Any], theme: Theme) -> None:
        self.theme = theme
        self.photo = image  # (1, 1, H, W), fixed: only the kernel and the layer change
        self._kernels: dict[tuple[str, int], torch.Tensor] = {}
        # (the controls it depends on, the comparison, and the arrays drawn from it)
        # The layer's outputs per (kernel, seed, sharpness, padding), least recently used first: moving
        # the query, or dragging a slider back over positions it passed, reuses them (and their pixels).
        self._comparisons = Kept(KEPT_COMPARISONS)  # (comparison, conv, attention, top, difference, kernel window, axis weights)
        self._photo_pixels = image[0, 0].numpy()
        h, w = image.shape[-2:]
        # Small panels keep a move cheap: Agg pays per painted pixel. Every colour range is fixed
        # (outputs divided by max |conv|, kernels by max |W|), so the colour bars are drawn once.
        fig = new_figure(8.6, 4.4, theme=theme)
        ax_heads = fig.add_axes((0.065, 0.2, 0.25, 0.68))
        ax = [fig.add_axes((0.345 + 0.18 * c, 0.53 - 0.47 * r, 0.17, 0.35)) for r in range(2) for c in range(3)]
        empty = np.zeros((h, w))
        window = np.full((2 * RADIUS + 1,) * 2, np.nan)
        div = theme.diverging_cmap
        # The keys of each tile are pixels: the window round the query, which the square marks.
        side = 2 * RADIUS + 1
        heads_title = f"each head m's attention\nkeys: the {side}×{side} pixels round\n□ query   • query + Δ_m"
        self.heads_view = draw_head_maps(ax_heads, np.zeros((9, 2 * RADIUS + 1, 2 * RADIUS + 1)), np.zeros((9, 2)),
                                         heads_title, theme)
        floor = int(np.log10(WEIGHT_FLOOR))  # the head maps hold log10 weights from floor to 0
        draw_colorbar(fig.add_axes((0.08, 0.08, 0.22, 0.025)), self.heads_view.image.get_cmap(), (floor, 0),
                      "attention weight (log scale)", theme, extend="min", orientation="horizontal",
                      ticks=list(range(floor, 1)), tick_labels=[f"1e{e}" if e else "1" for e in range(floor, 1)])
        self.input_view = draw_pixels(ax[0], image[0, 0].numpy(), "input (click a pixel)", "gray", (0, 1),
                                      theme=theme)
        self.conv_view = draw_pixels(ax[1], empty, "F.conv2d", div, (-1, 1), theme=theme)
        self.attention_view = draw_pixels(ax[2], empty, "attention, k·k heads", div, (-1, 1), theme=theme)
        self.kernel_view = draw_pixels(ax[3], window, "kernel W", div, (-1, 1), theme=theme)
        self.effective_view = draw_pixels(ax[4], window, "heads' sum Σ W_m A_m", div, (-1, 1), theme=theme)
        self.difference_view = draw_pixels(ax[5], empty, "log10 error", "magma", (_FLOOR, 0),
                                           theme=theme)
        draw_colorbar(fig.add_axes((0.895, 0.53, 0.012, 0.35)), div, (-1, 1), "÷ max |conv|\n(kernels: ÷ max |W|)",
                      theme, ticks=[-1, -0.5, 0, 0.5, 1])
        draw_colorbar(fig.add_axes((0.895, 0.06, 0.012, 0.35)), "magma", (_FLOOR, 0), "log10 (|attn − conv|\n÷ max |conv|)",
                      theme, ticks=list(range(int(_FLOOR), 1, 2)), extend="min")
        self.query_maps: torch.Tensor | None = None
        painter = Painter(fig)
        # The input picture is static: only its markers move.
        painter.animate(self.heads_view.artists,
                        (a for view in self._pixel_views for a in view.artists if a is not self.input_view.image))
        super().__init__(_controls(values, (h, w), theme), painter, title="Convolution as self-attention",
                         theme=theme)
        self.enable_clicks()

    @property
    def _pixel_views(self) -> list:
        return [self.input_view, self.conv_view, self.attention_view, self.kernel_view, self.effective_view,
                self.difference_view]

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        if values["kernel"].startswith("random"):
            return {"seed": (0, MAX_SEED, None)}
        return {"seed": (values["seed"], values["seed"], "only for the random kernels")}

    def kernel(self, name: str, seed: int) -> torch.Tensor:
        """The (1, 1, k, k) kernel, cached: it changes only with the kernel controls."""
        key = (name, seed if name.startswith("random") else 0)
        if key not in self._kernels:
            self._kernels[key] = make_kernel(*key)
        return self._kernels[key]

    def render(self, values: dict[str, Any]) -> None:
        with one_torch_thread():  # Explorer.update does too; this covers direct calls
            self._render(values)

    def _render(self, values: dict[str, Any]) -> None:
        weight = self.kernel(values["kernel"], values["seed"])
        query = (values["row"], values["col"])
        key = (values["kernel"], values["seed"], values["sharpness"], values["zero_padded_keys"])

        def compare() -> tuple:
            result = compare_conv_attention(self.photo, weight, sharpness=values["sharpness"],
                                            pad_keys=values["zero_padded_keys"])
            conv, attention = result.conv[0, 0].numpy(), result.attention[0, 0].numpy()
            top = max(float(np.abs(conv).max()), 1e-12)
            difference = np.log10(np.maximum(np.abs(attention - conv) / top, 1e-300))
            conv, attention = conv / top, attention / top  # drawn on the fixed range [-1, 1]
            axes = result.layer.axis_weights(self.photo.shape[-2:])  # the same for every query
            return result, conv, attention, top, difference, _window(weight[0, 0].numpy()), axes

        result, conv, attention, top, difference, kernel_window, axes = self._comparisons.fetch(key, compare)
        maps = result.layer.query_maps(self.photo.shape[-2:], query, axes)  # (K, Hp, Wp)
        layer, k = result.layer, result.layer.kernel_size
        windows = head_windows(maps.numpy(), query, layer.padding, RADIUS)  # (K, 2R+1, 2R+1)
        taps = weight[0, 0].numpy()
        effective = np.einsum("k,kij->ij", taps.reshape(-1), windows)  # NaN outside the key grid
        reach = float(np.abs(taps).max())
        self.heads_view.update(windows, layer.offsets.numpy())
        self.conv_view.update(conv, query, k)  # conv, attention: already divided by max |conv|
        self.attention_view.update(attention, query, k)
        self.input_view.update(self._photo_pixels, query, k)  # the photo itself is static
        self.kernel_view.update(kernel_window / reach, (RADIUS, RADIUS), 1)
        self.effective_view.update(effective / reach, (RADIUS, RADIUS), 1)
        self.difference_view.update(difference, query, k)
        self.result, self.query_maps = result, maps
        self.info.value = _info_html(result, query, maps)

    def on_click(self, px: float, py: float) -> None:
        h, w = self.photo.shape[-2:]
        for view in (self.input_view, self.conv_view, self.attention_view, self.difference_view):
            point = self.painter.pixel_to_data(view.ax, px, py)
            if point is not None:
                col, row = (int(np.clip(round(c), 0, n - 1)) for c, n in zip(point, (w, h)))
                self.set(row=row, col=col)
                return


def _controls(v: dict[str, Any], size: tuple[int, int], theme: Theme) -> dict[str, Any]:
    # The kit has no log slider: built here with the kit's style (label width, theme's control width).
    style, layout = {"description_width": "initial"}, widgets.Layout(width=theme.control_width)
    sharpness = widgets.FloatLogSlider(value=v["sharpness"], base=10, min=np.log10(SHARPNESS_RANGE[0]),
                                       max=np.log10(SHARPNESS_RANGE[1]), step=0.05, description="sharpness α",
                                       tooltip="α: head m's map is exp(−α‖δ − Δ_m‖²), normalised",
                                       readout_format=".3g", continuous_update=True, style=style, layout=layout)
    return {
        "kernel": dropdown("kernel", list(KERNELS), v["kernel"], theme=theme),
        "seed": int_slider("seed", v["seed"], 0, MAX_SEED, tooltip="seed of the random kernel", theme=theme),
        "sharpness": sharpness,
        "zero_padded_keys": checkbox("zero-padded keys", v["zero_padded_keys"], theme=theme),
        "row": int_slider("query row", v["row"], 0, size[0] - 1, tooltip="row of the query pixel", theme=theme),
        "col": int_slider("query col", v["col"], 0, size[1] - 1, tooltip="column of the query pixel", theme=theme),
    }


def _info_html(result: ConvAttentionComparison, query: tuple[int, int], maps: torch.Tensor) -> str:
    layer = result.layer
    k, alpha = layer.kernel_size, layer.sharpness
    peaks = maps.flatten(1).max(1).values  # (K,)
    best = [divmod(int(i), maps.shape[-1]) for i in maps.flatten(1).argmax(1)]  # (row, col) in the key grid
    targets = [(query[0] + dy + layer.padding, query[1] + dx + layer.padding) for dy, dx in layer.offsets.tolist()]
    picks = sum(b == t for b, t in zip(best, targets))
    border = ("keys: the image zero-padded by k//2 tokens, so at the border a head peaks on a zero (the limit is "
              "zero padding)" if layer.pad_keys else
              "keys: the image only; a head whose target is outside peaks on the nearest border pixel "
              "(the limit is replicate padding, so the border differs from F.conv2d)")
    lines = [
        ("score of head m", f"v_m·r_δ = −α‖δ − Δ_m‖² + const, with r_δ = (‖δ‖², δ_y, δ_x), "
                            f"v_m = −α(1, −2Δ_y, −2Δ_x), α = {alpha:.3g}, δ = key − query"),
        ("layer", f"{k}×{k} kernel → h = {k * k} heads; head m = i·{k} + j has "
                  f"Δ_m = (i − {k // 2}, j − {k // 2}) and value·output projection W[:, :, i, j]; "
                  f"W_query = W_key = 0"),
        ("query", f"{query}: {picks} of {k * k} heads peak on query + Δ_m; peak weights "
                  f"{float(peaks.min()):.4f} … {float(peaks.max()):.4f} (→ 1 as α grows)"),
        ("error", f"‖attn − conv‖ / ‖conv‖ = <b>{result.relative_error:.2e}</b> (interior bound 8·e^−α = "
                  f"{8 * np.exp(-alpha):.1e})"),
        ("border", border),
    ]
    return "<br>".join(f"<b>{name}</b>: {text}" for name, text in lines)


def conv_attention_explorer(kernel: str = "sobel x", seed: int = 0, sharpness: float = DEFAULT_SHARPNESS,
                            zero_padded_keys: bool = True, size: int | tuple[int, int] = 40,
                            query: tuple[int, int] | None = None,
                            presentation: bool | None = None) -> ConvAttentionExplorer:
    """Build (not display) the convolution-as-attention explorer.

    Args:
        kernel: one of :data:`KERNELS`.
        seed: seed of the random kernels (0 to 99).
        sharpness: alpha, within :data:`SHARPNESS_RANGE` (the slider is logarithmic).
        zero_padded_keys: attend over the zero-padded token grid (else the image only).
        size: (H, W) of the grayscale photo (8 to 64 per side); small keeps moves fast.
        query: (row, col) of the query pixel; the centre when None.
        presentation: True for the lecture-hall theme, None for the global setting.

    Raises:
        ValueError, TypeError: a setting outside the controls' ranges.

    Example:
        >>> ex = conv_attention_explorer()
        >>> ex.result.relative_error < 1e-3, ex.result.layer.num_heads
        (True, 9)
    """
    check_choice("kernel", kernel, KERNELS)
    check_int("seed", seed, 0, MAX_SEED)
    if isinstance(sharpness, bool) or not isinstance(sharpness, (int, float)):
        raise TypeError(f"sharpness must be a number, got {sharpness!r}")
    if not SHARPNESS_RANGE[0] <= sharpness <= SHARPNESS_RANGE[1]:
        raise ValueError(f"sharpness must be in [{SHARPNESS_RANGE[0]}, {SHARPNESS_RANGE[1]}], got {sharpness}")
    if not isinstance(zero_padded_keys, bool):
        raise TypeError(f"zero_padded_keys must be a bool, got {zero_padded_keys!r}")
    h, w = check_pair("size", size, minimum=8)
    for name, n in (("size", h), ("size", w)):
        check_int(name, n, 8, 64)
    row, col = query if query is not None else (h // 2, w // 2)
    values = dict(kernel=kernel, seed=seed, sharpness=float(sharpness), zero_padded_keys=zero_padded_keys,
                  row=check_int("query row", row, 0, h - 1), col=check_int("query col", col, 0, w - 1))
    return ConvAttentionExplorer(_photo((h, w)), values, get_theme(presentation))
