"""FastRectangle draws what matplotlib's Rectangle draws (the oracle is matplotlib itself)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.patches import Rectangle

from explainer.render import new_figure
from explainer.views._shapes import FastRectangle


def _frame(cls, xy, width, height, limits, style, angle=0.0) -> tuple[np.ndarray, object]:
    fig = new_figure(2.9, 2.1, dpi=89)
    ax = fig.add_axes((0.12, 0.1, 0.77, 0.81))
    ax.set_xlim(*limits[:2])
    ax.set_ylim(*limits[2:])
    rect = ax.add_patch(cls(xy, width, height, angle=angle, **style))
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy(), rect


STYLES = st.fixed_dictionaries({
    "fill": st.booleans(),
    "lw": st.sampled_from([0.0, 0.7, 1.5, 3.2]),  # Agg dashes a hair-thin line forever: no tiny widths
    "ls": st.sampled_from(["-", "--", ":", "-."]),
    "ec": st.sampled_from(["black", "#d62728", (0.1, 0.5, 0.9, 0.6)]),
    "fc": st.sampled_from(["orange", (0.2, 0.2, 0.2, 0.3)]),
    "alpha": st.sampled_from([None, 0.5]),
    "antialiased": st.booleans(),
})


@settings(max_examples=150, deadline=None)
@given(x=st.floats(-3, 12), y=st.floats(-3, 12), width=st.floats(-6, 9), height=st.floats(-6, 9),
       flip_y=st.booleans(), style=STYLES)
def test_same_pixels_and_transform_as_rectangle(x, y, width, height, flip_y, style):
    limits = (-1.5, 10.3, *((9.7, -0.5) if flip_y else (-0.5, 9.7)))
    expected, reference = _frame(Rectangle, (x, y), width, height, limits, style)
    got, fast = _frame(FastRectangle, (x, y), width, height, limits, style)
    assert np.array_equal(got, expected)
    assert np.array_equal(_drawn_matrix(fast), _drawn_matrix(reference))  # what Agg is handed, bit for bit


def _drawn_matrix(rect) -> np.ndarray:
    """The transform matrix ``rect.draw`` hands to the renderer's ``draw_path``."""
    renderer = rect.figure.canvas.get_renderer()
    seen = []
    original = RendererAgg.draw_path

    def spy(self, gc, path, transform, rgbFace=None):  # noqa: N803 - matplotlib's name
        seen.append(transform.get_matrix().copy())
        return original(self, gc, path, transform, rgbFace)

    with mock.patch.object(RendererAgg, "draw_path", spy):
        rect.draw(renderer)
    assert len(seen) == 1
    return seen[0]


def test_rotated_rectangles_take_matplotlibs_draw(monkeypatch):
    calls = []
    monkeypatch.setattr(Rectangle, "draw", lambda self, renderer: calls.append(self) if type(self) is FastRectangle
                        else None)
    _frame(FastRectangle, (1, 2), 3, 4, (0, 10, 0, 10), {"fill": False}, angle=30.0)
    assert len(calls) == 1
    _frame(FastRectangle, (1, 2), 3, 4, (0, 10, 0, 10), {"fill": False})
    assert len(calls) == 1  # unrotated: its own draw


@pytest.mark.parametrize("visible", [True, False])
def test_hidden_rectangles_draw_nothing(visible):
    background, _ = _frame(Rectangle, (0, 0), 0, 0, (0, 10, 0, 10), {"fill": False, "lw": 0})
    fig = new_figure(2.9, 2.1, dpi=89)
    ax = fig.add_axes((0.12, 0.1, 0.77, 0.81))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.add_patch(FastRectangle((2, 2), 5, 5, fc="black", visible=visible))
    fig.canvas.draw()
    drawn = np.asarray(fig.canvas.buffer_rgba())
    assert np.array_equal(drawn, background) is not visible
