"""Axes whose geometry never changes on a move, shared by the lesson views."""

from __future__ import annotations

from matplotlib.axes import Axes

__all__ = ["unit_square"]


def unit_square(ax: Axes, *, equal: bool = True, frame: bool = True) -> None:
    """Fix ``ax`` to the unit square with y pointing down, no ticks and no autoscaling.

    Grids, matrices and images are then placed inside it in data coordinates, so a control move
    only changes artists and never the axes (the painter's cached background stays valid).

    Args:
        ax: the axes to set up.
        equal: keep square cells (equal aspect).
        frame: keep the spines; without them nothing static lies over the animated area.
    """
    ax.set_xlim(0, 1)
    ax.set_ylim(1, 0)
    if equal:
        ax.set_aspect("equal")
    ax.set_autoscale_on(False)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(frame)
