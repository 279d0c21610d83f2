"""Views of lesson 09 on the Agg backend: the question's words in fixed slots, each matrix coloured up to its own
maximum, and no figure left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from explainer.paint import new_figure  # noqa: E402
from explainer.theme import get_theme  # noqa: E402
from explainer.views.cross_attention import MAX_WORDS, draw_cross_attention, patch_labels, word_path  # noqa: E402


def test_cross_view_writes_words_in_fixed_slots_and_normalises_each_matrix():
    fig = new_figure(8.6, 5.2)
    view = draw_cross_attention(fig, 32, 8, get_theme(False))
    view.label(["find", "the", "red", "one"])
    assert view.labels == ("find", "the", "red", "one")
    short = [p.get_path() for p in view.word_labels]
    view.label(["find", "the", "red", "one", "at", "the"])
    for before, patch in zip(short, view.word_labels, strict=True):  # fixed slots: the first words stay put
        after = patch.get_path()
        assert len(after.vertices) > len(before.vertices)
        assert np.array_equal(after.vertices[: len(before.vertices)], before.vertices)
    rows = word_path(("a", "b"), "y", (100.0, 60.0), 8.0).vertices
    assert rows[:, 0].max() < 0  # left of the axes
    column = word_path(("a",), "x", (100.0, 60.0), 8.0).vertices
    assert column[:, 1].max() < 0 and abs(column[:, 0].mean() - 0.5 / MAX_WORDS) < 0.05  # below, under slot 0
    with pytest.raises(ValueError, match="at most 6 words"):
        view.label(["a"] * 7)
    rng = np.random.default_rng(0)
    cross = rng.random((4, 64))
    view.update_matrices(rng.random((4, 4)), cross, rng.random((4, 64)) * 3, 2, ("a", "b", "c"))
    assert np.nanmax(view.cross_matrix.data) == pytest.approx(1.0)
    assert np.allclose(view.cross_matrix.data, cross / cross.max())
    assert view.cross_matrix.row_at((2 + 0.5) / MAX_WORDS) == 2 and view.cross_matrix.row_at(0.9) is None
    assert [t.get_text() for t in view.titles] == ["a", "b", "c"] and plt.get_fignums() == []
    assert patch_labels(8)[-2:] == [(56, "r7c0"), (63, "r7c7")]  # the axis's last patch is named
    assert patch_labels(3, every=2)[-2:] == [(6, "r2c0"), (8, "r2c2")]  # the last patch is already a step: once
    assert patch_labels(2, every=3) == [(0, "r0c0"), (3, "r1c1")]
    assert patch_labels(8, every=10)[-1] == (60, "r7c4")  # 63 would crowd 60: left out


@pytest.mark.parametrize("presentation", [False, True])
def test_patch_labels_under_the_matrices_do_not_touch(presentation):
    """Lesson 09's patch names (r0c0 ... r7c0 and the last, r7c7) stay apart in both presets."""
    theme = get_theme(presentation)
    fig = new_figure(8.6, 5.2, theme=theme)
    view = draw_cross_attention(fig, 32, 8, theme)
    renderer = fig.canvas.get_renderer()
    for matrix in (view.cross_matrix, view.swapped_matrix):
        labels = matrix.ax.get_xticklabels()
        assert [t.get_text() for t in labels][-2:] == ["r7c0", "r7c7"]
        boxes = [t.get_window_extent(renderer) for t in labels]
        for left, right in zip(boxes, boxes[1:]):
            assert right.x0 > left.x1, (left, right)
