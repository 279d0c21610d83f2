"""Recorded-attention views on the Agg backend: cells painted in their colour, tokens on both axes
(every k-th when there are many), artists returned, bad input refused, no figure left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (only to check that no pyplot figure is left open)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402

from explainer.paint import Painter, new_figure  # noqa: E402
from explainer.theme import PRESENTATION, get_theme  # noqa: E402
from explainer.views.capture import MAX_LABELS, draw_recorded_attention, shown_labels  # noqa: E402


def canvas_color(fig, ax, x, y):
    px, py = ax.transData.transform((x, y))
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return rgba[rgba.shape[0] - 1 - int(py), int(px)] / 255.0


def tick_names(ax, axis):
    return [t.get_text() for t in (ax.get_yticklabels() if axis == "y" else ax.get_xticklabels())]


def rows(shape, seed):
    w = np.random.default_rng(seed).random(shape)
    return w / w.sum(-1, keepdims=True)


@pytest.mark.parametrize("shape, theme", [((3, 5), None), ((7, 7), PRESENTATION)])
def test_both_matrices_are_painted_in_their_colours_and_the_bars_are_the_query_row(shape, theme):
    theme = theme or get_theme()
    fig = new_figure(8.6, 4.0, theme=theme)
    view = draw_recorded_attention(fig, theme)
    weights, summary = rows(shape, 0), rows(shape, 1)
    weights[2, 1] = np.nan  # PyTorch NaN (a query masked out entirely): grey
    summary[0, 1] = 0.0  # a masked key (weight exactly 0): grey
    view.label([f"q{i}" for i in range(shape[0])], [f"k{j}" for j in range(shape[1])])
    view.update(weights, summary, row=1, titles=("head 0", "mean"))
    painter = Painter(fig)
    painter.animate(view.artists)
    painter.render()
    cmap = colormaps[theme.cmap]
    for matrix, data in ((view.weights, weights), (view.summary, summary)):
        assert matrix.limits == (0.0, 1.0)
        for r in range(shape[0]):
            for c in range(1, shape[1] - 1):  # the outline may cover the edge cells of row 1
                x, y = (c + 0.5) / shape[1], (r + 0.5) / shape[0]
                grey = np.isnan(data[r, c]) or data[r, c] == 0
                expected = (0.851, 0.851, 0.851) if grey else cmap(data[r, c])[:3]
                assert canvas_color(fig, matrix.ax, x, y)[:3] == pytest.approx(expected, abs=2 / 255), (r, c)
    heights = [path.vertices[:, 1].max() for path in view.bars.bars.get_paths()]
    np.testing.assert_allclose(heights, weights[1])
    assert [t.get_text() for t in view.titles] == ["head 0", "mean"]
    assert all(isinstance(a, Artist) for a in view.artists)
    assert plt.get_fignums() == []


def test_tokens_are_named_on_both_axes_and_relabelling_says_whether_anything_changed():
    fig = new_figure(8.6, 4.0)
    view = draw_recorded_attention(fig)
    assert view.label(["the", "cat"], ["a", "b", "c"]) is True
    assert tick_names(view.weights.ax, "y") == ["the", "cat"] == tick_names(view.summary.ax, "y")
    assert tick_names(view.weights.ax, "x") == ["a", "b", "c"] == tick_names(view.bars.ax, "x")
    assert view.weights.ax.get_ylabel() == "queries i" and view.weights.ax.get_xlabel() == "keys j"
    assert list(view.weights.ax.get_yticks()) == pytest.approx([0.25, 0.75])  # row i at (i + 0.5) / Tq
    assert view.label(["the", "cat"], ["a", "b", "c"]) is False
    assert view.label(["the", "cat"], ["a", "b"]) is True and tick_names(view.summary.ax, "x") == ["a", "b"]


def test_many_tokens_are_thinned_to_every_kth():
    assert shown_labels(list("abc")) == [(0, "a"), (1, "b"), (2, "c")]
    labels = [f"t{i}" for i in range(65)]  # a ViT's class token and 8 x 8 patches
    shown = shown_labels(labels)
    assert len(shown) <= MAX_LABELS and shown[0] == (0, "t0") and all(word == labels[i] for i, word in shown)
    steps = {b[0] - a[0] for a, b in zip(shown, shown[1:], strict=False)}
    assert steps == {3}
    fig = new_figure(8.6, 4.0)
    view = draw_recorded_attention(fig)
    view.label(labels, labels)
    assert tick_names(view.weights.ax, "y") == [w for _, w in shown]


def test_update_refuses_mismatched_matrices_and_rows():
    view = draw_recorded_attention(new_figure(8.6, 4.0))
    with pytest.raises(ValueError, match=r"2-D of one shape, got \(3, 4\) and \(4, 3\)"):
        view.update(np.zeros((3, 4)), np.zeros((4, 3)), row=0, titles=("", ""))
    with pytest.raises(ValueError, match=r"row must be in \[0, 3\), got 3"):
        view.update(np.zeros((3, 4)), np.zeros((3, 4)), row=3, titles=("", ""))


def test_positions_are_named_every_few_and_the_last_upright_and_apart():
    """A model recorded without token names: integer positions, the last one named, labels that do not touch."""
    fig = new_figure(8.6, 4.0)
    view = draw_recorded_attention(fig)
    view.label([str(i) for i in range(12)], [str(j) for j in range(197)])  # a ViT: class token + 14 x 14 patches
    for ax in (view.weights.ax, view.bars.ax):
        keys = [int(t) for t in tick_names(ax, "x")]
        assert keys[0] == 0 and keys[-1] == 196 and keys == sorted(keys)
        assert all(t.get_rotation() == 0 for t in ax.get_xticklabels())
        fig.canvas.draw()
        boxes = [t.get_window_extent() for t in ax.get_xticklabels()]
        assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))  # none overlaps the next
    assert [int(t) for t in tick_names(view.weights.ax, "y")][-1] == 11
    assert list(view.weights.ax.get_xticks())[-1] == pytest.approx(196.5 / 197)  # key j at (j + 0.5) / Tk


def test_many_words_on_a_narrow_axis_are_thinned_until_they_do_not_touch():
    fig = new_figure(8.6, 4.0)
    view = draw_recorded_attention(fig)
    words = [f"w{i}" for i in range(60)]
    view.label(words[:5], words)
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in view.bars.ax.get_xticklabels()]  # the narrow bars panel
    assert len(boxes) > 5 and all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:], strict=False))
    assert tick_names(view.bars.ax, "x")[0] == "w0"
