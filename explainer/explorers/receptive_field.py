"""Explorer 2: receptive fields of a stack you build, of three classic networks, and VGG's 3x3 trick.

* :func:`receptive_field_explorer`: depth, kernel, stride, dilation, pooling and weights of a plain
  conv stack; click the photo to pick an output unit and see its analytic box, the pixels autograd
  says can reach it, and its effective field (Luo et al. 2016) over a real photo, with the growth
  of the field layer by layer.
* :func:`reference_networks_explorer`: per-layer field growth of AlexNet, VGG-16 and three
  ResNet-50s that downsample in different places (torchvision, TF-slim v1, Caffe v1) against the
  published values.
* :func:`stacked_convs_explorer`: n stacked k x k convolutions against the one big kernel with the
  same field (Simonyan & Zisserman 2015, https://arxiv.org/abs/1409.1556).
"""

from __future__ import annotations

import html
from typing import Any

from torch import nn

from explainer._validate import check_choice, check_int
from explainer.explorers._kit import (
    Explorer,
    Kept,
    dropdown,
    int_slider,
    one_torch_thread,
    selection_slider,
    toggle_buttons,
)
from explainer.receptive_fields import (
    PUBLISHED_FIELDS,
    LayerRF,
    UnitField,
    conv_stack,
    field_at,
    receptive_field,
    reference_network,
    stack_output_sizes,
    unit_field,
    vgg_comparison,
)
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.views.receptive_field import (
    WINDOW_KINDS,
    draw_erf_colorbar,
    draw_growth,
    draw_network_legend,
    draw_published,
    draw_stack_comparison,
    draw_unit_field,
    format_layer_table,
    update_growth,
    update_stack_comparison,
    update_unit_field,
)

__all__ = [
    "RANGES",
    "POOLS",
    "WEIGHTS",
    "STACK_KERNELS",
    "STACK_CHANNELS",
    "REFERENCE_CHOICES",
    "REFERENCE_COLORS",
    "ReceptiveFieldExplorer",
    "ReferenceNetworksExplorer",
    "StackedConvsExplorer",
    "receptive_field_explorer",
    "reference_networks_explorer",
    "stacked_convs_explorer",
]

RANGES: dict[str, tuple[int, int]] = {"depth": (1, 8), "kernel_size": (1, 7), "stride": (1, 3), "dilation": (1, 4)}
POOLS = (("none", 0), ("after every conv", 1), ("every 2 convs", 2), ("every 3 convs", 3))
WEIGHTS = ("random + ReLU", "uniform, linear")
STACK_KERNELS = (3, 5)  # the stacked-convs explorer's kernel sizes
STACK_CHANNELS = (16, 32, 64, 128, 256, 512)  # and its channel counts


def _deepest(input_size: int, kernel_size: int, stride: int, dilation: int, pool_every: int) -> int:
    """The deepest stack (at most ``RANGES["depth"][1]`` convs) whose output is still at least 1x1."""
    sizes = stack_output_sizes(input_size, RANGES["depth"][1], kernel_size, stride, dilation, pool_every=pool_every)
    return max([d for d, n in enumerate(sizes, 1) if n >= 1] or [1])


def _check_stack(input_size: int, depth: int, kernel_size: int, stride: int, dilation: int, pool_every: int,
                 weights: str) -> dict[str, Any]:
    """The initial controls of the receptive-field explorer, checked against the sliders' ranges."""
    kernel_size = check_int("kernel_size", kernel_size, *RANGES["kernel_size"])
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the slider steps 1, 3, 5, 7), got {kernel_size}")
    values = dict(kernel_size=kernel_size, stride=check_int("stride", stride, *RANGES["stride"]),
                  dilation=check_int("dilation", dilation, *RANGES["dilation"]),
                  pool_every=check_choice("pool_every", pool_every, [every for _, every in POOLS]),
                  weights=check_choice("weights", weights, WEIGHTS))
    depth = check_int("depth", depth, *RANGES["depth"])
    deepest = _deepest(input_size, **{name: values[name] for name in ("kernel_size", "stride", "dilation",
                                                                       "pool_every")})
    if depth > deepest:
        raise ValueError(f"depth must be at most {deepest} with pool_every={values['pool_every']}, stride={stride} "
                         f"on a {input_size}x{input_size} input (a deeper stack has an empty output), got {depth}")
    return {"depth": depth, **values}


class ReceptiveFieldExplorer(Explorer):
    """A conv stack's field over a photo: analytic box, gradient-measured pixels, effective field.

    ``result`` is the current :class:`~explainer.receptive_fields.UnitField`; ``model`` the current
    stack; ``focus`` the input pixel (y, x) whose nearest output unit is shown (a click moves it).
    The arguments are those of :func:`receptive_field_explorer`.
    """

    def __init__(self, *, input_size: int = 64, image: str = "photo", depth: int = 3, kernel_size: int = 3,
                 stride: int = 1, dilation: int = 1, pool_every: int = 0, weights: str = WEIGHTS[0],
                 channels: int = 4, n_samples: int = 8, seed: int = 0, theme: Theme | None = None) -> None:
        from explainer.data import sample_image, synthetic_image

        theme = theme or get_theme()
        self.input_size = check_int("input_size", input_size, minimum=8, maximum=256)
        check_choice("image", image, ("photo", "synthetic"))
        v = _check_stack(self.input_size, depth, kernel_size, stride, dilation, pool_every, weights)
        self.channels, self.n_samples = check_int("channels", channels, minimum=1), check_int("n_samples", n_samples, minimum=1)
        self.seed = check_int("seed", seed)
        self.picture = sample_image(self.input_size) if image == "photo" else synthetic_image(self.input_size, seed)
        self.focus = ((self.input_size - 1) / 2, (self.input_size - 1) / 2)
        self.model: nn.Module | None = None
        self._models, self._fields = Kept(32), Kept(128)  # stacks per setting; unit fields per (setting, unit)
        controls = {
            "depth": int_slider("depth", v["depth"], *RANGES["depth"], tooltip="number of convolutions", theme=theme),
            "kernel_size": int_slider("kernel k", v["kernel_size"], *RANGES["kernel_size"], step=2, theme=theme),
            "stride": int_slider("stride s", v["stride"], *RANGES["stride"], tooltip="of every conv", theme=theme),
            "dilation": int_slider("dilation d", v["dilation"], *RANGES["dilation"], theme=theme),
            "pool_every": dropdown("2x2 max pool", POOLS, v["pool_every"], theme=theme),
            "weights": toggle_buttons("weights", WEIGHTS, v["weights"], theme=theme),
        }
        values = {name: control.value for name, control in controls.items()}
        fig = new_figure(7.5, 2.45, theme=theme)  # every pixel costs (blit, PNG, browser decode): keep it small
        self.ax_mask = fig.add_axes((0.005, 0.02, 0.28, 0.8))
        self.ax_erf = fig.add_axes((0.29, 0.02, 0.28, 0.8))
        self.ax_colorbar = fig.add_axes((0.578, 0.08, 0.012, 0.68))
        self.ax_growth = fig.add_axes((0.76, 0.2, 0.225, 0.7))
        # Two-line titles say what each mark means, so an exported frame reads without the lesson.
        self.ax_mask.set_title("lit: can reach the unit (+)\norange: analytic box", fontsize=theme.font_size,
                               linespacing=1.1)
        self.ax_erf.set_title("effective field |dy/dx|\nblue: analytic box", fontsize=theme.font_size,
                              linespacing=1.1)
        first = self._compute(values)
        self.field_artists = draw_unit_field(self.ax_mask, self.ax_erf, self.picture, first, theme=theme)
        self.colorbar = draw_erf_colorbar(self.ax_erf, self.ax_colorbar, theme=theme)
        self.growth = draw_growth(self.ax_growth, first.layers, input_size=self.input_size, x_max=RANGES["depth"][1],
                                  y_max=2048, theme=theme)
        self.ax_growth.legend(loc="upper left", fontsize=theme.font_size - 1, frameon=False)
        self.ax_growth.set_xlabel("convs (pools at +0.5)", fontsize=theme.font_size)
        painter = Painter(fig)
        painter.animate(self.field_artists.animated, self.growth.animated)
        super().__init__(controls, painter, title="Receptive field of a conv stack", theme=theme)
        self.enable_clicks()

    # ----------------------------------------------------------------- explorer hooks
    def frame_state(self) -> Any:
        """The clicked focus is shown too: kept pictures are per focus."""
        return (self.focus,)

    def limits(self, values: dict[str, Any]) -> dict[str, tuple[int, int, str | None]]:
        deepest = _deepest(self.input_size, values["kernel_size"], values["stride"], values["dilation"],
                           values["pool_every"])
        reason = None
        if deepest < RANGES["depth"][1]:
            reason = (f"at most {deepest}: one more 2x2 pool would shrink the {self.input_size}x{self.input_size} "
                      "input below a 1x1 output")
        return {"depth": (RANGES["depth"][0], deepest, reason)}

    def render(self, values: dict[str, Any]) -> None:
        field = self._compute(values)
        update_unit_field(self.field_artists, field)
        update_growth(self.growth, field.layers)
        self.result = field
        self.info.value = self._info(values, field)

    def on_click(self, px: float, py: float) -> None:
        for ax in (self.ax_mask, self.ax_erf):
            point = self.painter.pixel_to_data(ax, px, py)
            if point is not None:
                x, y = point
                self.focus = (min(max(y, 0.0), self.input_size - 1.0), min(max(x, 0.0), self.input_size - 1.0))
                return

    # ----------------------------------------------------------------- internals
    def _stack(self, values: dict[str, Any]) -> tuple[tuple, nn.Module]:
        key = tuple(values[name] for name in ("depth", "kernel_size", "stride", "dilation", "pool_every", "weights"))
        uniform = values["weights"] == WEIGHTS[1]
        model = self._models.fetch(key, lambda: conv_stack(
            values["depth"], values["kernel_size"], values["stride"], values["dilation"],
            pool_every=values["pool_every"], channels=self.channels, in_channels=self.picture.shape[0],
            activation="none" if uniform else "relu", init="uniform" if uniform else "kaiming", seed=self.seed))
        return key, model

    def _compute(self, values: dict[str, Any]) -> UnitField:
        with one_torch_thread():  # Explorer.update does too; this covers direct calls
            key, self.model = self._stack(values)
            layers = receptive_field(self.model, self.input_size)
            position = layers[-1].unit_at(self.focus)
            return self._fields.fetch((key, position), lambda: unit_field(
                self.model, self.input_size, position, seed=self.seed, n_samples=self.n_samples))

    def _info(self, values: dict[str, Any], field: UnitField) -> str:
        windows = [layer for layer in field.layers if layer.kind in WINDOW_KINDS]
        terms, previous_jump = [], 1
        for layer in windows:
            k, d = (values["kernel_size"], values["dilation"]) if layer.kind == "Conv2d" else (2, 1)
            terms.append(f"{k - 1}&middot;{d}&middot;{previous_jump}")
            previous_jump = layer.jump[0]
        last = field.layers[-1]
        strides = "&middot;".join(str(values["stride"]) if w.kind == "Conv2d" else "2" for w in windows)
        clipped_area = 0 if field.clipped is None else (
            (field.clipped[2] - field.clipped[0] + 1) * (field.clipped[3] - field.clipped[1] + 1))
        measured = int(field.mask.sum())
        holes = "" if measured == clipped_area else (
            f" &mdash; <b>{clipped_area - measured} pixels of the box cannot reach the unit</b> "
            "(holes from dilation or stride &gt; field, or an intermediate border)")
        s = field.summary
        core = "" if s.pixels == 0 else (
            f"ERF: std {s.std[0]:.1f} x {s.std[1]:.1f} px; 95% of |dy/dx| lies in {s.core} px "
            f"= {100 * s.core / max(clipped_area, 1):.0f}% of the box inside the image")
        return (
            f"<b>r</b> = 1 + &Sigma; (k<sub>l</sub>&minus;1)&middot;d<sub>l</sub>&middot;j<sub>l&minus;1</sub> = 1 + "
            f"{' + '.join(terms)} = <b>{last.size[0]}</b>; &nbsp; <b>j</b> = {strides} = <b>{last.jump[0]}</b>; "
            f"&nbsp; start = {last.start[0]:g}<br>"
            f"output {last.output_size[0]}x{last.output_size[1]}; unit {field.position} sees box "
            f"y {field.box[0]}..{field.box[2]}, x {field.box[1]}..{field.box[3]} ({last.size[0]}x{last.size[1]}); "
            f"measured: {measured} of {clipped_area} box pixels inside the image{holes}<br>{core}"
            f"<details><summary>per-layer table</summary><pre>{html.escape(format_layer_table(field.layers))}</pre>"
            "</details>"
        )


def receptive_field_explorer(*, input_size: int = 64, image: str = "photo", depth: int = 3, kernel_size: int = 3,
                             stride: int = 1, dilation: int = 1, pool_every: int = 0, weights: str = WEIGHTS[0],
                             channels: int = 4, n_samples: int = 8, seed: int = 0, presentation: bool | None = None,
                             theme: Theme | None = None) -> ReceptiveFieldExplorer:
    """Build (and return, not display) the receptive-field explorer of a plain conv stack.

    The controls start at the values given here; a click on either picture picks the output unit.

    Args:
        input_size: side of the square input picture, 8 to 256 pixels.
        image: ``"photo"`` (the sample photo) or ``"synthetic"`` (seeded shapes).
        depth: number of convolutions, 1 to 8 (fewer where the pools would leave no output).
        kernel_size: kernel ``k`` of every convolution: 1, 3, 5 or 7.
        stride: stride ``s`` of every convolution, 1 to 3.
        dilation: dilation ``d`` of every convolution, 1 to 4.
        pool_every: a 2x2 max pool after every this many convolutions: 0 (none), 1, 2 or 3.
        weights: ``"random + ReLU"`` (seeded He-normal weights) or ``"uniform, linear"`` (every
            weight 1 / fan_in and no ReLU: the effective field is an exact repeated box blur).
        channels: channels of every convolution (not a control).
        n_samples: random inputs averaged for the effective field (not a control).
        seed: seed of the weights, of the random inputs and of the synthetic picture.
        presentation: True for the lecture-hall theme, False for the default, None for the global
            setting (:func:`explainer.set_presentation`).
        theme: a :class:`~explainer.theme.Theme` to use instead of ``presentation``'s.

    Raises:
        ValueError: a setting outside its range, or both ``presentation`` and ``theme``.

    Example:
        >>> ex = receptive_field_explorer(depth=2)
        >>> ex.result.layers[-1].size
        (5, 5)
    """
    return ReceptiveFieldExplorer(input_size=input_size, image=image, depth=depth, kernel_size=kernel_size,
                                  stride=stride, dilation=dilation, pool_every=pool_every, weights=weights,
                                  channels=channels, n_samples=n_samples, seed=seed, theme=_theme(presentation, theme))


# --------------------------------------------------------------------------- reference networks
# label -> (network, stride_on, stride_block) of reference_network: where a ResNet-50 downsamples.
REFERENCE_CHOICES: tuple[tuple[str, tuple[str, str | None, str | None]], ...] = (
    ("AlexNet", ("alexnet", None, None)),
    ("VGG-16", ("vgg16", None, None)),
    ("ResNet-50, torchvision (3x3 of first block strides)", ("resnet50", "3x3", "first")),
    ("ResNet-50, TF-slim v1 (3x3 of last block strides)", ("resnet50", "3x3", "last")),
    ("ResNet-50, Caffe v1 (first 1x1 strides)", ("resnet50", "1x1", "first")),
)
# One colour per network (Okabe-Ito, readable by colour-blind viewers); published stars are green.
REFERENCE_COLORS: dict[str, str] = dict(zip([label for label, _ in REFERENCE_CHOICES],
                                            ("#CC79A7", "#56B4E9", "#E69F00", "#D55E00", "#000000")))
# Caffe's field curve is TF-slim's, point for point: dotted, so that the one below shows through.
_STATIC_STYLES = {REFERENCE_CHOICES[4][0]: ":"}


def _growth_x(layers: list[LayerRF], name: str) -> float:
    record = field_at(layers, name)
    convs = 0
    for layer in layers:
        convs += layer.kind == "Conv2d"
        if layer is record:
            return float(convs) + (0.0 if layer.kind == "Conv2d" else 0.5)
    return float(convs)


class ReferenceNetworksExplorer(Explorer):
    """Field growth through AlexNet, VGG-16 and ResNet-50, with the published values marked.

    ``result`` is the selected network's list of :class:`~explainer.receptive_fields.LayerRF`;
    ``published`` the matching :data:`~explainer.receptive_fields.PUBLISHED_FIELDS` with the
    computed size for each (``[(PublishedField, LayerRF), ...]``). The arguments are those of
    :func:`reference_networks_explorer`.
    """

    def __init__(self, *, network: str = REFERENCE_CHOICES[0][0], input_size: int = 224,
                 theme: Theme | None = None) -> None:
        theme = theme or get_theme()
        check_choice("network", network, [label for label, _ in REFERENCE_CHOICES])
        self.input_size = check_int("input_size", input_size, minimum=32)
        self.networks = {label: receptive_field(reference_network(name, stride_on=on, stride_block=block,
                                                                  device="meta"), self.input_size)
                         for label, (name, on, block) in REFERENCE_CHOICES}
        self.published: list = []
        controls = {"network": dropdown("network", [label for label, _ in REFERENCE_CHOICES], network, theme=theme)}
        fig = new_figure(7.2, 3.6, theme=theme)
        self.ax = fig.add_axes((0.09, 0.14, 0.88, 0.78))
        for label, layers in self.networks.items():  # every network, thin and pale, drawn once (static)
            faint = draw_growth(self.ax, layers, color=REFERENCE_COLORS[label], show_jump=False, log=False, y_max=540,
                                x_max=56, theme=theme)
            faint.label.set_visible(False)
            faint.size.set_alpha(0.45)
            if label in _STATIC_STYLES:
                faint.size.set_linestyle(_STATIC_STYLES[label])
                faint.size.set_marker("")
        self.ax.set_xlabel("convolutions so far (pools at +0.5)", fontsize=theme.font_size)
        self.growth = draw_growth(self.ax, self.networks[network], log=False, y_max=540, x_max=56, theme=theme)
        self.growth.label.set_visible(False)  # the published values are labelled instead
        self.growth.size.set_linewidth(2.5 * theme.line_scale)
        self.growth.jump.set_color(theme.grid_color)
        draw_network_legend(self.ax, [(label.split(" (")[0], REFERENCE_COLORS[label], _STATIC_STYLES.get(label, "-"))
                                      for label, _ in REFERENCE_CHOICES],
                            jump_color=theme.grid_color, star_color=theme.accent3, theme=theme)
        self.stars = [draw_published(self.ax, 0, 1, "", theme=theme) for _ in range(2)]
        painter = Painter(fig)
        painter.animate(self.growth.animated, *self.stars)
        super().__init__(controls, painter, title="Receptive fields of classic networks", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        label = values["network"]
        placement = dict(REFERENCE_CHOICES)[label]
        layers = self.networks[label]
        update_growth(self.growth, layers)
        self.growth.size.set_color(REFERENCE_COLORS[label])
        self.published = [(p, field_at(layers, p.layer)) for p in PUBLISHED_FIELDS
                          if (p.network, p.stride_on, p.stride_block) == placement]
        for index, ((star, text), item) in enumerate(zip(self.stars, self.published + [None] * 2)):
            star.set_visible(item is not None)
            text.set_visible(item is not None)
            if item is not None:  # labels stacked upwards so that neighbouring stars stay readable
                x, size = _growth_x(layers, item[0].layer), item[0].size
                star.set_data([x], [size])
                # Captions stacked in the empty lower right (above the jump line), not next to the
                # stars, where the legend and the curves would hide them.
                text.set_horizontalalignment("right")
                text.set_position((56.5, 45 + 45 * (len(self.published) - 1 - index)))
                where = "by hand" if "by hand" in item[0].source else "published"
                text.set_text(f"\u2605 {item[0].label}: {size} {where}, ours {item[1].size[0]}")
        self.result = layers
        rows = "".join(
            f"<tr><td>{html.escape(p.label)}</td><td><code>{html.escape(rf.name)}</code></td>"
            f"<td>{p.size}</td><td><b>{rf.size[0]}</b></td><td>{rf.jump[0]}</td><td>{html.escape(p.source)}</td></tr>"
            for p, rf in self.published)
        convs = sum(layer.kind == "Conv2d" for layer in layers)
        self.info.value = (
            f"{html.escape(label)}: {convs} convolutions; final field <b>{layers[-1].size[0]}</b> px, jump "
            f"{layers[-1].jump[0]} on a {self.input_size}px input (output {layers[-1].output_size[0]}x"
            f"{layers[-1].output_size[1]})<table><tr><th>layer</th><th>module</th><th>published</th>"
            f"<th>computed</th><th>jump</th><th>source</th></tr>{rows}</table>")


def reference_networks_explorer(*, network: str = REFERENCE_CHOICES[0][0], input_size: int = 224,
                                presentation: bool | None = None, theme: Theme | None = None
                                ) -> ReferenceNetworksExplorer:
    """Build (and return, not display) the explorer of AlexNet's, VGG-16's and ResNet-50's fields.

    Args:
        network: the network shown first, a label of :data:`REFERENCE_CHOICES`: ``"AlexNet"``,
            ``"VGG-16"`` or one of three ResNet-50s that downsample in different places:
            torchvision's (the 3x3 of a stage's first block strides: 427 px), TF-slim's v1 (the
            3x3 of a stage's last block: 483 px, the number Araujo et al. 2019 publish) and the
            original Caffe v1 (the first 1x1 of a stage's first block: 483 px too).
        input_size: side of the square input, at least 32 pixels (sets the output sizes shown).
        presentation: True for the lecture-hall theme, False for the default, None for the global
            setting (:func:`explainer.set_presentation`).
        theme: a :class:`~explainer.theme.Theme` to use instead of ``presentation``'s.

    Raises:
        ValueError: an unknown ``network``, ``input_size`` < 32, or both ``presentation`` and ``theme``.

    Example:
        >>> reference_networks_explorer(network="VGG-16").result[-1].size  # pool5
        (212, 212)
    """
    return ReferenceNetworksExplorer(network=network, input_size=input_size, theme=_theme(presentation, theme))


# --------------------------------------------------------------------------- VGG's stacked 3x3
class StackedConvsExplorer(Explorer):
    """n stacked k x k convs against one (n(k-1)+1)^2 kernel: same field, fewer weights.

    ``result`` is the current :class:`~explainer.receptive_fields.StackVsSingle`. The arguments are
    those of :func:`stacked_convs_explorer`.
    """

    def __init__(self, *, depth: int = 3, kernel_size: int = 3, channels: int = 64, theme: Theme | None = None) -> None:
        theme = theme or get_theme()
        depth = check_int("depth", depth, 1, 5)
        kernel_size = check_choice("kernel_size", kernel_size, STACK_KERNELS)
        channels = check_choice("channels", channels, STACK_CHANNELS)
        controls = {
            "depth": int_slider("stacked convs n", depth, 1, 5, theme=theme),
            "kernel_size": toggle_buttons("kernel k", list(STACK_KERNELS), kernel_size, theme=theme),
            "channels": selection_slider("channels C", STACK_CHANNELS, channels, theme=theme),
        }
        fig = new_figure(7.2, 3.2, theme=theme)
        ax_diagram = fig.add_axes((0.03, 0.08, 0.45, 0.8))
        ax_bars = fig.add_axes((0.62, 0.12, 0.35, 0.8))
        self.bars = draw_stack_comparison(ax_bars, vgg_comparison(channels, depth, kernel_size),
                                          ax_diagram=ax_diagram, relative=True, max_cols=23, theme=theme)
        painter = Painter(fig)
        painter.animate(self.bars.animated)
        super().__init__(controls, painter, title="Stacked small kernels vs one big kernel", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        comparison = vgg_comparison(values["channels"], values["depth"], values["kernel_size"])
        update_stack_comparison(self.bars, comparison)
        self.result = comparison
        n, k, big = comparison.depth, comparison.kernel_size, comparison.single_kernel_size
        self.info.value = (
            f"field: {n} &times; {k}x{k} &rarr; 1 + {n}&middot;({k}&minus;1) = <b>{comparison.stack_field}</b> "
            f"= one {big}x{big} (field {comparison.single_field}).<br>weights: {n}&middot;{k}&sup2;&middot;C&sup2; = "
            f"<b>{comparison.stack_weights:,}</b> vs {big}&sup2;&middot;C&sup2; = <b>{comparison.single_weights:,}</b> "
            f"({100 * comparison.stack_weights / comparison.single_weights:.0f}%) with C = {comparison.channels}; "
            f"and {n} nonlinearities instead of 1.")


def stacked_convs_explorer(*, depth: int = 3, kernel_size: int = 3, channels: int = 64,
                           presentation: bool | None = None, theme: Theme | None = None) -> StackedConvsExplorer:
    """Build (and return, not display) the "three 3x3 = one 7x7" explorer.

    Args:
        depth: stacked convolutions ``n``, 1 to 5.
        kernel_size: their kernel ``k``, 3 or 5 (the big kernel is ``n(k-1)+1``).
        channels: channels ``C`` in and out of every layer, one of :data:`STACK_CHANNELS`
            (16 to 512).
        presentation: True for the lecture-hall theme, False for the default, None for the global
            setting (:func:`explainer.set_presentation`).
        theme: a :class:`~explainer.theme.Theme` to use instead of ``presentation``'s.

    Raises:
        ValueError: a setting outside its range, or both ``presentation`` and ``theme``.

    Example:
        >>> ex = stacked_convs_explorer(depth=3, kernel_size=3)
        >>> ex.result.single_kernel_size, ex.result.stack_field  # one 7x7 sees as far
        (7, 7)
    """
    return StackedConvsExplorer(depth=depth, kernel_size=kernel_size, channels=channels,
                                theme=_theme(presentation, theme))


def _theme(presentation: bool | None, theme: Theme | None) -> Theme:
    """The theme given, else the one ``presentation`` selects (None: the global setting)."""
    if presentation is not None and theme is not None:
        raise ValueError("give either presentation= or theme=, not both")
    return theme or get_theme(presentation)
