"""Every explorer paints the same pictures with the paint package's fast paths as with stock matplotlib.

Each fast path is held to its own standard: text and PNG encoding give exactly stock matplotlib's
pixels, and the heatmap lookup the same picture up to a cell border rounded the other way
(``_pictures.assert_same_picture``). And a picture never goes stale:
after a move it equals the picture of an explorer built there.
"""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

import explainer.explorers as explorers  # noqa: E402
from _controls import step  # noqa: E402
import numpy as np  # noqa: E402

from _pictures import assert_same_picture, rgba  # noqa: E402
from explainer.paint import ENV_VAR  # noqa: E402

# What EXPLAINER_STOCK_PAINT turns off, for each painter compared.
MODES = {"fast": "0", "no heatmap lookup": "heatmap", "stock": "1"}


def _walk(factory_name: str, off: str, monkeypatch) -> list[bytes]:
    """The first picture, then one after each enabled control moves one step and back."""
    monkeypatch.setenv(ENV_VAR, off)
    ex = getattr(explorers, factory_name)()
    frames = [ex.png()]
    for name, control in ex.controls.items():
        if not control.disabled:
            start = control.value
            for value in (step(control), start):
                control.value = value
                assert ex.last_error is None, (name, ex.last_error)
                frames.append(ex.png())
    return frames


@pytest.mark.parametrize("factory", explorers.__all__)
def test_fast_paths_paint_what_stock_matplotlib_paints(factory, monkeypatch):
    walks = {mode: _walk(factory, off, monkeypatch) for mode, off in MODES.items()}
    for i, frames in enumerate(zip(*walks.values())):
        fast, no_lookup, stock = frames
        assert_same_picture(fast, no_lookup, label=(factory, i, "heatmap lookup"))
        assert np.array_equal(rgba(no_lookup), rgba(stock)), (factory, i, "text and PNG")


@pytest.mark.parametrize("off", ["0", "1"])
def test_a_moved_explorer_shows_what_a_fresh_one_shows(off, monkeypatch):
    """The stale picture once seen with matplotlib 3.10: after dilation 2 -> 3 the hybrid panel
    kept the first frame's picture under its new transparent border (about 13,000 pixels)."""
    monkeypatch.setenv(ENV_VAR, off)
    ex = explorers.dilation_explorer()
    for dilation in (3, 1, 6, 2):
        ex.set(dilation=dilation)
        assert ex.png() == explorers.dilation_explorer(dilation=dilation).png(), dilation
