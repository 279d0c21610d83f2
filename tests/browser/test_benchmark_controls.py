"""The latency benchmark's control stepping, in Chromium on a static page shaped like ipywidgets'
DOM: every kind of control is found, named, read as positions and moved one position per step."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import browser_latency as bench  # noqa: E402

PAGE = """
<div class="explorer">
  <div class="widget-slider"><label class="widget-label">kernel k</label>
    <div class="noUi-target"><div class="noUi-handle" tabindex="0" aria-valuenow="3" aria-valuemin="1"
         aria-valuemax="7"></div></div></div>
  <div class="widget-dropdown"><label class="widget-label">network</label>
    <select><option>AlexNet</option><option selected>VGG-16</option><option>ResNet-50</option></select></div>
  <div class="widget-toggle-buttons"><label class="widget-label">mask</label>
    <div><button class="mod-active">none</button><button>causal</button><button>local</button></div></div>
  <div class="widget-checkbox"><label class="widget-label"></label>
    <label class="widget-label-basic"><input type="checkbox"><span>zero-padded keys</span></label></div>
</div>
<script>
  // What ipywidgets' ToggleButtons view does on a click: the clicked button becomes the active one.
  for (const b of document.querySelectorAll('.widget-toggle-buttons button'))
    b.addEventListener('click', () => {
      for (const o of b.parentNode.children) o.classList.toggle('mod-active', o === b);
    });
  // noUiSlider's step, as the benchmark reads it from the slider's own options.
  document.querySelector('.noUi-target').noUiSlider = {options: {step: 2}};
</script>
"""


@pytest.fixture
def controls(page):
    page.set_content(PAGE)
    return bench.controls_of(page.locator(".explorer"))


def test_every_kind_of_control_is_found_and_named(controls):
    assert [(c.kind, c.name) for c in controls] == [
        ("slider", "kernel k"), ("drop-down", "network"), ("toggle buttons", "mask"),
        ("checkbox", "zero-padded keys")]


def test_choices_read_as_positions(controls):
    states = {c.kind: c.state() for c in controls}
    assert states["slider"] == {"disabled": False, "now": 3, "low": 1, "high": 7, "step": 2}
    assert states["drop-down"] == {"disabled": False, "now": 1, "low": 0, "high": 2, "step": 1}
    assert states["toggle buttons"] == {"disabled": False, "now": 0, "low": 0, "high": 2, "step": 1}
    assert states["checkbox"] == {"disabled": False, "now": 0, "low": 0, "high": 1, "step": 1}


@pytest.mark.parametrize("kind", ["drop-down", "toggle buttons", "checkbox"])
def test_each_step_moves_a_choice_by_one_position_and_is_stamped(page, controls, kind):
    page.evaluate(bench.PROBE_JS)
    control = next(c for c in controls if c.kind == kind)
    start = control.state()["now"]
    control.press(page, "ArrowRight")
    assert control.state()["now"] == start + 1
    control.press(page, "ArrowLeft")
    assert control.state()["now"] == start
    assert page.evaluate("__bench.keys.length") == 2  # one stamp per step, keyboard or mouse


def test_a_step_needs_a_direction(page, controls):
    with pytest.raises(ValueError, match="key must be 'ArrowRight' or 'ArrowLeft', got 'Enter'"):
        controls[1].press(page, "Enter")


def _pair_page(gap: int) -> str:
    """An explorer (controls, picture, an output ``gap`` px tall) with a floor under it, in a scrolling
    panel under a 100 px bar, as JupyterLab shows a notebook."""
    picture = '<img class="explainer-picture" style="display:block;width:800px;height:450px;background:#888">'
    return f"""
<body style="margin:0;overflow:hidden">
<div style="position:fixed;top:0;height:100px;width:100%;background:#eee"></div>
<div id="panel" style="position:fixed;top:100px;bottom:0;width:100%;overflow-y:auto">
  <div style="height:300px"></div>
  <div class="explainer-explorer"><div style="height:120px"></div>{picture}<div style="height:{gap}px"></div></div>
  <div class="explainer-explorer">{picture}</div>
  <div style="height:300px"></div>
</div></body>"""


def _shown(page, picture) -> bool:
    """Whether ``picture`` lies inside the scrolling panel's visible part."""
    box, panel = picture.bounding_box(), page.locator("#panel").bounding_box()
    return box["y"] >= panel["y"] and box["y"] + box["height"] <= panel["y"] + panel["height"]


def test_a_pair_that_fits_leaves_the_viewport_as_it_is(page):
    page.set_content(_pair_page(gap=100))
    explorer, floor = page.locator(".explainer-explorer").nth(0), page.locator(".explainer-explorer").nth(1)
    size = dict(page.viewport_size)
    assert bench.show_pair(page, explorer, floor) is None
    assert page.viewport_size == size
    assert _shown(page, explorer.locator("img")) and _shown(page, floor.locator("img"))


def test_a_pair_with_a_tall_output_between_gets_a_viewport_that_shows_both(page):
    page.set_content(_pair_page(gap=900))  # 120 + 450 + 900 + 450 px: more than the 1000 px panel
    explorer, floor = page.locator(".explainer-explorer").nth(0), page.locator(".explainer-explorer").nth(1)
    grown = bench.show_pair(page, explorer, floor)
    assert grown == 120 + 450 + 900 + 450 + 100 + bench.GROWN_MARGIN
    assert page.viewport_size["height"] == grown
    assert _shown(page, explorer.locator("img")) and _shown(page, floor.locator("img"))
