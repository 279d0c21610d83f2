"""Views of lesson 08 on the Agg backend: exact mask outlines, panels and a chart that place what they are
given, and no figure left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from explainer.paint import new_figure  # noqa: E402
from explainer.theme import get_theme  # noqa: E402
from explainer.views.vit_attention import draw_vit_attention, mask_outline  # noqa: E402


def slow_edges(mask):
    """Every unit edge between a pixel inside and one outside (or the border), as sorted endpoint pairs."""
    h, w = mask.shape
    inside = lambda r, c: 0 <= r < h and 0 <= c < w and mask[r, c]  # noqa: E731
    edges = set()
    for r in range(h):
        for c in range(w):
            if not mask[r, c]:
                continue
            top, bottom, left, right = r - .5, r + .5, c - .5, c + .5
            for dr, dc, a, b in ((-1, 0, (left, top), (right, top)), (1, 0, (left, bottom), (right, bottom)),
                                 (0, -1, (left, top), (left, bottom)), (0, 1, (right, top), (right, bottom))):
                if not inside(r + dr, c + dc):
                    edges.add(tuple(sorted((a, b))))
    return edges


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 7), st.integers(1, 9), st.data())
def test_mask_outline_is_every_edge_between_inside_and_outside(h, w, data):
    bits = data.draw(st.lists(st.booleans(), min_size=h * w, max_size=h * w))
    mask = np.array(bits, dtype=bool).reshape(h, w)
    v = mask_outline(mask).vertices
    got = {tuple(sorted((tuple(v[i]), tuple(v[i + 1])))) for i in range(0, len(v), 2)} if mask.any() else set()
    assert got == slow_edges(mask)
    assert (len(v) // 2 if mask.any() else 0) == len(got)  # no edge twice


def test_mask_outline_refuses_other_ranks():
    with pytest.raises(ValueError, match="mask must be 2-D"):
        mask_outline(np.zeros(3, dtype=bool))


def test_vit_view_places_squares_boxes_and_chart_points():
    fig = new_figure(8.6, 3.3)
    view = draw_vit_attention(fig, 32, layers=3, heads=4, ymax=30.0, theme=get_theme(False))
    mask = np.zeros((32, 32), dtype=bool)
    mask[4:9, 10:20] = True
    view.scene.update(np.zeros((32, 32, 3)), mask_outline(mask), (3.5, 7.5, 4, 4), "t", (1.5, 2.5, 5, 6))
    assert view.scene.square.get_bbox().bounds == pytest.approx((3.5, 7.5, 4, 4))
    assert view.scene.box.get_visible() and view.scene.title.get_text() == "t"
    view.attention.update(np.ones((8, 8)), None, None, "a")
    assert not view.attention.square.get_visible() and len(view.attention.outline.get_path().vertices) == 1
    d = np.arange(12.0).reshape(3, 4)
    view.distances.update(d, np.array([2.0, 5.0, 11.0]), (1, 7.5))
    assert np.array_equal(view.distances.heads[2].get_ydata(), d[:, 2])
    assert list(view.distances.chosen.get_xdata()) == [2] and list(view.distances.chosen.get_ydata()) == [7.5]
    assert view.scene.patch_at(5.0, 30.0, 8) == (7, 1) and view.scene.patch_at(40.0, 1.0, 8) is None
    assert len(view.artists) == 3 * 5 + 4 + 2 and plt.get_fignums() == []  # 3 pictures, 4 heads, CNN, ring
