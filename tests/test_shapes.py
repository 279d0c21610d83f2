"""FastRectangle and the fast collections draw what matplotlib draws (the oracle is matplotlib itself)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.patches import Rectangle

from explainer.render import Painter, new_figure
from explainer.views._shapes import FastLineCollection, FastPolyCollection, FastRectangle


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


# ----------------------------------------------------------------------------- collections
def _collection_frame(cls, shapes, style, flip_y, clip_on) -> tuple[np.ndarray, object]:
    fig = new_figure(2.9, 2.1, dpi=89)
    ax = fig.add_axes((0.12, 0.1, 0.77, 0.81))
    ax.set_xlim(-1.5, 10.3)
    ax.set_ylim(*((9.7, -0.5) if flip_y else (-0.5, 9.7)))
    collection = ax.add_collection(cls(shapes, clip_on=clip_on, **style), autolim=False)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy(), collection


POINTS = st.lists(st.tuples(st.floats(-3, 13), st.floats(-3, 13)), min_size=2, max_size=5)
COLLECTION_STYLES = st.fixed_dictionaries({
    "linewidths": st.sampled_from([0.0, 0.8, [1.5, 3.2], 2.4]),
    "linestyles": st.sampled_from(["-", "--", ":", ["-", "-."]]),
    "edgecolors": st.sampled_from(["black", "none", ["#d62728", (0.1, 0.5, 0.9, 0.6)]]),
    "facecolors": st.sampled_from(["orange", "none", [(0.2, 0.2, 0.2, 0.3), "teal", "gold"]]),
    "alpha": st.sampled_from([None, 0.5]),
    "antialiaseds": st.sampled_from([True, False, [True, False]]),
    "zorder": st.sampled_from([1, 4]),
    "joinstyle": st.sampled_from([None, "miter", "bevel"]),
    "capstyle": st.sampled_from([None, "butt", "round"]),
})


@settings(max_examples=120, deadline=None)
@given(shapes=st.lists(POINTS, min_size=0, max_size=6), style=COLLECTION_STYLES, flip_y=st.booleans(),
       clip_on=st.booleans(), lines=st.booleans())
def test_fast_collections_draw_what_matplotlib_draws(shapes, style, flip_y, clip_on, lines):
    plain, fast = (LineCollection, FastLineCollection) if lines else (PolyCollection, FastPolyCollection)
    if lines:
        style = {**style, "colors": style.pop("edgecolors")}
        style.pop("facecolors")
    expected, reference = _collection_frame(plain, shapes, style, flip_y, clip_on)
    got, quick = _collection_frame(fast, shapes, style, flip_y, clip_on)
    assert np.array_equal(got, expected)
    drawn = _drawn_collection(reference)
    assert _drawn_collection(quick) == drawn  # what Agg is handed
    if len(shapes) > 1:  # (one path may be drawn as markers, which the fast draw leaves to matplotlib)
        assert len(drawn) == 1  # the spy saw the call: the comparison above is not empty


def _drawn_collection(collection) -> list:
    """The calls ``collection.draw`` makes to Agg's ``draw_path_collection`` that carry paths (matrix,
    paths, colours, widths, dashes, clip box, snapping), as comparable values."""
    renderer = collection.figure.canvas.get_renderer()
    seen = []
    original = renderer.draw_path_collection  # Agg binds its C++ methods to each renderer instance

    def spy(gc, master, paths, transforms, offsets, offset_trf, faces, edges, widths, dashes, aa, urls,
            offset_position, **kwargs):
        if len(paths):
            seen.append((master.get_matrix().tobytes(), [(p.vertices.tobytes(), None if p.codes is None else
                                                          p.codes.tobytes()) for p in paths],
                         np.asarray(transforms).tobytes(), np.asarray(offsets).tobytes(),
                         offset_trf.get_matrix().tobytes(), np.asarray(faces).tobytes(), np.asarray(edges).tobytes(),
                         list(widths), [(o, None if d is None else list(d)) for o, d in dashes], list(aa),
                         gc.get_clip_rectangle() and gc.get_clip_rectangle().bounds, gc.get_snap(),
                         gc.get_joinstyle(), gc.get_capstyle(), np.asarray(kwargs.get("hatchcolors")).tobytes()))
        return original(gc, master, paths, transforms, offsets, offset_trf, faces, edges, widths, dashes, aa,
                        urls, offset_position, **kwargs)

    with mock.patch.object(renderer, "draw_path_collection", spy):
        collection.draw(renderer)
    return seen


def test_one_path_collections_take_matplotlibs_draw():
    # matplotlib draws a lone path as markers (draw_markers): the fast draw leaves that case to it.
    _, quick = _collection_frame(FastPolyCollection, [[(1, 1), (4, 1), (4, 5)]],
                                 {"facecolors": "orange", "edgecolors": "black"},
                                 False, True)
    renderer = quick.figure.canvas.get_renderer()
    with mock.patch.object(renderer, "draw_markers", wraps=renderer.draw_markers) as markers:
        quick.draw(renderer)
    assert markers.call_count == 1


def test_the_painter_gives_animated_collections_their_fast_twins():
    fig = new_figure(2, 2)
    ax = fig.add_subplot()
    polys = ax.add_collection(PolyCollection([[(0, 0), (1, 0), (1, 1)]] * 2))
    segments = ax.add_collection(LineCollection([[(0, 0), (1, 1)]] * 2))
    still = ax.add_collection(LineCollection([[(0, 1), (1, 0)]]))
    Painter(fig).animate(polys, segments)
    assert (type(polys), type(segments), type(still)) == (FastPolyCollection, FastLineCollection, LineCollection)
