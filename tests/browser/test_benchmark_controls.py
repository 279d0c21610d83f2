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
