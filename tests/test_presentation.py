"""Presentation mode: every explorer takes ``presentation=``, honours the global setting, and draws
bigger pictures, larger text and controls, thicker lines and the theme's colour-blind-safe colormap."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")

import explainer  # noqa: E402
import explainer.explorers as explorers  # noqa: E402
from explainer.explorers._kit import presentation_css  # noqa: E402
from explainer.theme import DEFAULT, PRESENTATION, get_theme, set_presentation  # noqa: E402

FACTORIES = list(explorers.__all__)
# Perceptually uniform maps designed to read the same under the common colour-vision deficiencies.
CVD_SAFE_CMAPS = {"viridis", "cividis", "magma", "inferno", "plasma"}


@pytest.fixture
def global_presentation():
    """Switch the global setting on for one test and put back whatever was there before."""
    import explainer.theme as theme

    before = theme._current[0]  # None: not chosen yet (the environment variable decides)
    set_presentation(True)
    try:
        yield
    finally:
        theme._current[0] = before


def _build(factory: str, presentation: bool | None):
    ex = getattr(explorers, factory)(presentation=presentation)
    assert ex.last_error is None, ex.last_error
    return ex


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _another_value(ex):
    """(name, value) of the first control with another allowed value."""
    for name, control in ex.controls.items():
        if getattr(control, "options", None):
            options = [o[1] if isinstance(o, tuple) else o for o in control.options]
            others = [o for o in options if o != control.value]
        elif hasattr(control, "min"):
            others = [v for v in (control.min, control.max) if v != control.value]
        else:
            others = []
        if others and not control.disabled:
            return name, others[0]
    raise AssertionError("no control can move")


def _style_child(ex):
    return [child for child in ex.children if "explainer-style" in child._dom_classes]


@pytest.mark.parametrize("factory", FACTORIES)
def test_presentation_gives_a_bigger_picture_larger_fonts_and_controls(factory):
    default, big = _build(factory, False), _build(factory, True)
    assert default.theme is DEFAULT and big.theme is PRESENTATION
    assert big.theme.font_size > default.theme.font_size
    small_h, small_w, _ = _pixels(default.png()).shape
    big_h, big_w, _ = _pixels(big.png()).shape
    assert big_w > small_w and big_h > small_h
    assert (big.image.layout.width, big.image.layout.height) == (f"{big_w}px", f"{big_h}px")
    # Controls: wider boxes, and the scoped stylesheet that sets the font sizes ipywidgets cannot.
    assert "explainer-presentation" in big._dom_classes and "explainer-presentation" not in default._dom_classes
    assert _style_child(default) == []
    (style,) = _style_child(big)
    assert style.value == presentation_css(PRESENTATION) and style.layout.display == "none"
    widths = {c.layout.width for c in big.controls.values() if c.layout.width}
    assert widths <= {PRESENTATION.control_width} and widths
    # Still a working explorer.
    name, value = _another_value(big)
    before = big.png()
    big.set(**{name: value})
    assert big.last_error is None and big.png() != before, name


@pytest.mark.parametrize("factory", FACTORIES)
def test_global_setting_is_honoured_and_an_argument_overrides_it(factory, global_presentation):
    assert _build(factory, None).theme is PRESENTATION
    assert _build(factory, False).theme is DEFAULT


def test_global_setting_defaults_to_off_and_is_restored():
    assert get_theme() is DEFAULT  # nothing switched at import time, and earlier tests restored it
    assert _build("stacked_convs_explorer", None).theme is DEFAULT
    assert explainer.set_presentation is set_presentation


def test_set_presentation_affects_only_explorers_built_afterwards(global_presentation):
    set_presentation(False)
    before = _build("stacked_convs_explorer", None)
    set_presentation(True)
    after = _build("stacked_convs_explorer", None)
    assert before.theme is DEFAULT and after.theme is PRESENTATION
    assert "explainer-presentation" not in before._dom_classes


def test_building_changes_no_global_state():
    rc = dict(matplotlib.rcParams)
    _build("conv_arithmetic_explorer", True)
    assert get_theme() is DEFAULT
    assert dict(matplotlib.rcParams) == rc


@pytest.mark.parametrize("presentation", [False, True])
def test_heatmap_uses_the_theme_colormap_also_after_updates(presentation, global_presentation):
    set_presentation(not presentation)  # the global setting must not leak into an explorer's updates
    theme = get_theme(presentation)
    assert theme.cmap in CVD_SAFE_CMAPS
    ex = _build("receptive_field_explorer", presentation)
    ex.controls["depth"].value = 2
    assert ex.last_error is None and ex.field_artists.cmap == theme.cmap
    rgba = np.asarray(ex.field_artists.erf.get_array())  # (H, W, 4), level sqrt(erf / peak)
    peak = np.unravel_index(np.argmax(ex.result.erf.numpy()), ex.result.erf.shape)
    expected = matplotlib.colormaps[theme.cmap](1.0)[:3]
    assert rgba[peak][:3] == pytest.approx(expected, abs=1e-6)


def test_presentation_themes_are_colour_blind_safe_and_distinct():
    assert {DEFAULT.cmap, PRESENTATION.cmap} <= CVD_SAFE_CMAPS
    assert PRESENTATION.cmap != DEFAULT.cmap  # the projector map: a steady lightness ramp
    assert PRESENTATION.line_scale > DEFAULT.line_scale
    assert PRESENTATION.control_font_px > DEFAULT.control_font_px
    assert PRESENTATION.control_height_px > DEFAULT.control_height_px


def test_lines_and_markers_are_thicker_in_presentation():
    default, big = _build("conv_arithmetic_explorer", False), _build("conv_arithmetic_explorer", True)
    assert big.input_view.footprint.get_linewidth() > default.input_view.footprint.get_linewidth()
    assert max(big.input_view.taps.get_linewidths()) > max(default.input_view.taps.get_linewidths())
    default, big = _build("receptive_field_explorer", False), _build("receptive_field_explorer", True)
    assert big.growth.size.get_linewidth() > default.growth.size.get_linewidth()
    assert big.growth.size.get_markersize() > default.growth.size.get_markersize()
    assert big.field_artists.box.get_linewidth() > default.field_artists.box.get_linewidth()


def test_stylesheet_is_scoped_and_covers_every_kind_of_control():
    css = presentation_css(PRESENTATION)
    assert css.startswith("<style>") and css.endswith("</style>")
    rules = [line for line in css.splitlines() if "{" in line]
    assert rules and all(line.lstrip().startswith(".explainer-presentation") for line in rules)
    for hook in ("--jp-widgets-font-size", "--jp-widgets-slider-handle-size", ".widget-label", ".widget-readout",
                 ".noUi-handle", ".widget-dropdown > select", ".jupyter-button", ".explainer-info",
                 "input[type='checkbox']"):
        assert hook in css, hook
    assert f"font-size: {PRESENTATION.control_font_px}px" in css


def test_bad_presentation_values_are_refused():
    with pytest.raises(TypeError, match="presentation must be True, False or None"):
        get_theme("yes")
    with pytest.raises(TypeError, match="set_presentation expects True or False"):
        set_presentation(1)
    with pytest.raises(ValueError, match="either presentation= or theme="):
        explorers.stacked_convs_explorer(presentation=True, theme=DEFAULT)


def test_environment_variable_asks_for_the_preset_until_set_presentation_decides(monkeypatch):
    import explainer.theme as theme

    monkeypatch.setattr(theme, "_current", [None])  # as in a fresh kernel
    monkeypatch.setenv("EXPLAINER_PRESENTATION", "1")  # what `make demo` sets
    assert get_theme() is PRESENTATION
    assert _build("stacked_convs_explorer", None).theme is PRESENTATION
    monkeypatch.setenv("EXPLAINER_PRESENTATION", "0")
    assert get_theme() is DEFAULT
    monkeypatch.setenv("EXPLAINER_PRESENTATION", "yes")
    set_presentation(False)  # an explicit choice wins over the environment
    assert get_theme() is DEFAULT
