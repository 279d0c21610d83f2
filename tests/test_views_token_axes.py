"""Position labels on attention matrices (explainer.views.token_axes): which positions are named, and that
each name is drawn level with its row (or under its column) of the matrix as the figure shows it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (only to check that no pyplot figure is left open)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.path import Path  # noqa: E402

from explainer.paint import new_figure  # noqa: E402
from explainer.theme import get_theme  # noqa: E402
from explainer.views._common import label_outline, unit_square  # noqa: E402
from explainer.views.token_axes import (  # noqa: E402
    draw_index_labels,
    index_ticks,
    label_room,
    labels_path,
    tick_step,
)


@given(st.integers(1, 400), st.integers(1, 64))
def test_index_ticks_name_the_first_every_step_th_and_the_last(count, step):
    ticks = index_ticks(count, step)
    assert ticks[0] == 0 and ticks[-1] == count - 1
    assert ticks == sorted(set(ticks))
    regular = ticks[:-1] if count > 1 else ticks
    assert regular == list(range(0, step * len(regular), step))  # every step-th from 0, none skipped
    if len(ticks) > 1:
        assert ticks[-1] - ticks[-2] >= step / 2 or ticks[-2] == 0  # the last never runs into the one before
        assert ticks[-1] - ticks[-2] < 1.5 * step  # and no regular tick that fits is left out


def test_index_ticks_check_their_arguments():
    with pytest.raises(ValueError, match="count and step must be >= 1, got count=0, step=8"):
        index_ticks(0, 8)


@given(st.integers(1, 300), st.floats(10, 1000), st.floats(1, 60))
def test_tick_step_is_the_smallest_power_of_two_that_keeps_labels_apart(count, length, gap):
    step = tick_step(count, length, gap)
    cell = length / count
    assert step & (step - 1) == 0  # a power of two
    assert step * cell >= gap or step >= count
    assert step == 1 or (step // 2) * cell < gap  # half of it would not do


def _placements(path: Path, text: str, size: float, points: tuple[float, float]) -> list[np.ndarray]:
    """Centres (in the axes' points) of every copy of ``text``'s outline inside ``path`` (in axes coordinates)."""
    outline = label_outline(text, size).vertices
    vertices = path.vertices * np.asarray(points)
    found = []
    for k in range(len(vertices) - len(outline) + 1):
        shift = vertices[k:k + len(outline)] - outline
        if np.allclose(shift, shift[0], atol=1e-6):
            found.append(shift[0])
    return found


def test_labels_path_puts_each_label_beside_its_row_and_under_its_column():
    size, points = 8.0, (120.0, 90.0)
    path = labels_path(((0.25, "3"), (0.75, "12")), ((0.5, "40"),), points, size)
    (three,) = _placements(path, "3", size, points)
    (twelve,) = _placements(path, "12", size, points)
    (forty,) = _placements(path, "40", size, points)
    assert three[0] < 0 and three[1] == pytest.approx(0.75 * 90)  # y down: a quarter of the way down
    assert twelve[0] < 0 and twelve[1] == pytest.approx(0.25 * 90)
    assert three[0] > twelve[0]  # right-aligned: the longer label reaches further left
    assert forty[0] == pytest.approx(60.0) and forty[1] < 0  # centred under the middle column, below the axes
    assert labels_path((), (), points, size).vertices.shape == (1, 2)  # nothing to draw


def test_label_room_clears_the_longest_label():
    left, below = label_room("95", 7.0)
    assert left > np.ptp(label_outline("95", 7.0).vertices[:, 0]) and below > 5.0


@pytest.mark.parametrize(("rows", "cols"), [(32, 32), (13, 64), (8, 5)])
def test_index_labels_sit_level_with_the_rows_and_under_the_columns_drawn(rows, cols):
    theme = get_theme(False)
    fig = new_figure(4, 3, theme=theme)
    ax = fig.add_axes((0.2, 0.15, 0.7, 0.75))
    unit_square(ax)  # equal aspect: the drawn square is narrower than the axes' box
    ax.imshow(np.zeros((rows, cols)), extent=(0, 1, 1, 0), aspect="auto")
    view = draw_index_labels(ax, rows, cols, theme=theme)
    fig.canvas.draw()
    assert view.rows[-1] == rows - 1 and view.cols[-1] == cols - 1
    box = ax.get_window_extent()
    points = (box.width * 72 / fig.dpi, box.height * 72 / fig.dpi)
    path, size = view.patch.get_path(), theme.font_size - 3
    for i in view.rows:
        where = [p for p in _placements(path, str(i), size, points) if p[0] < 0]
        centre = ax.transAxes.transform(where[0] / points)  # display pixels
        assert centre[1] == pytest.approx(ax.transData.transform((0.5, (i + 0.5) / rows))[1], abs=0.5)
    for j in view.cols:
        where = [p for p in _placements(path, str(j), size, points) if p[1] < 0]
        centre = ax.transAxes.transform(where[0] / points)
        assert centre[0] == pytest.approx(ax.transData.transform(((j + 0.5) / cols, 0.5))[0], abs=0.5)
    # nothing but those labels and one mark each: count the closed outlines
    glyphs = sum(int((label_outline(str(v), size).codes == Path.MOVETO).sum()) for v in [*view.rows, *view.cols])
    assert int((path.codes == Path.MOVETO).sum()) == glyphs + len(view.rows) + len(view.cols)
    # labels do not touch: neighbours at least a label's height (rows) or width (columns) apart, in points
    for values, count, length in ((view.rows, rows, points[1]), (view.cols, cols, points[0])):
        assert min(np.diff(values), default=count) * length / count >= size
    assert plt.get_fignums() == []


def test_index_labels_follow_the_count_and_check_the_axes_argument():
    fig = new_figure(3, 3)
    ax = fig.add_axes((0.2, 0.2, 0.7, 0.7))
    unit_square(ax)
    view = draw_index_labels(ax, 16, axes="y")
    assert view.cols == [] and view.rows[-1] == 15
    before = view.patch.get_path()
    view.update(40)
    assert view.rows[-1] == 39 and view.patch.get_path() is not before
    with pytest.raises(ValueError, match="axes must be 'xy', 'x' or 'y', got 'z'"):
        draw_index_labels(ax, 4, axes="z")
