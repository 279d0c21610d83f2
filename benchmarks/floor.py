"""The latency benchmark's "floor": an explorer whose slider swaps PNGs encoded once, up front.

Every move runs the kit's normal path (observer, limits, ``render``, ``painter.frame()``, the
``Image`` widget's comm message, the browser's decode and paint), but ``render`` only picks an
index and ``frame`` returns bytes encoded at construction. What a real explorer adds on top of
this floor is its own Python work; the rest (transport + decode + paint) is common to both.

The pictures are drawn with the same kit pieces the explorers use (``new_figure``, ``Painter``)
at a typical explorer size (800x450 px), so they cost the browser about as much to decode.

    >>> explorer = floor_explorer()
    >>> explorer.controls["picture"].value = 3  # shows the fourth pre-encoded PNG
"""

from __future__ import annotations

import numpy as np

from explainer.explorers._kit import Explorer, int_slider
from explainer.paint import Painter, new_figure
from explainer.theme import get_theme

__all__ = ["FloorExplorer", "PrerenderedPainter", "floor_explorer"]


class PrerenderedPainter(Painter):
    """A painter whose ``frame()`` returns one of a fixed list of PNGs, chosen by ``index``."""

    def __init__(self, fig, pngs: list[bytes]) -> None:
        super().__init__(fig)
        self.pngs = list(pngs)
        self.index = 0

    def frame(self) -> bytes:
        """The pre-encoded PNG at ``index`` (no drawing, no encoding)."""
        return self.pngs[self.index]


class FloorExplorer(Explorer):
    """One slider selecting one of ``pictures`` PNGs encoded at construction.

    It keeps no pictures of its own (``frame_memory = 0``): every move takes ``frame()`` and the
    data URL, the path the floor has measured since the benchmark began.

    Args:
        pictures: how many distinct PNGs the slider walks over (at least 2).
        width: figure width in inches (800 px at the default theme's 100 dpi).
        height: figure height in inches (450 px at 100 dpi).
    """

    frame_memory = 0

    def __init__(self, pictures: int = 16, width: float = 8.0, height: float = 4.5) -> None:
        if pictures < 2:
            raise ValueError(f"pictures must be >= 2, got {pictures}")
        fig = new_figure(width, height)
        painter = PrerenderedPainter(fig, _encode_pictures(fig, pictures))
        slider = int_slider("picture", 0, 0, pictures - 1, tooltip="which pre-encoded PNG to show")
        super().__init__({"picture": slider}, painter, title="Floor: pre-encoded PNGs")

    def render(self, values: dict) -> None:
        self.painter.index = values["picture"]
        self.info.value = f"picture {values['picture']} of {len(self.painter.pngs)}"


def floor_explorer(pictures: int = 16) -> FloorExplorer:
    """Build the floor explorer (the factory the benchmark notebook calls)."""
    return FloorExplorer(pictures)


def _encode_pictures(fig, pictures: int) -> list[bytes]:
    """Draw a heatmap + grid panel and a title per picture, blit and encode each once."""
    theme = get_theme()
    rng = np.random.default_rng(0)  # fixed content: the benchmark is repeatable
    fields = rng.standard_normal((pictures, 24, 24)).cumsum(axis=1).cumsum(axis=2)  # smooth, like a heatmap
    heat_ax, line_ax = fig.subplots(1, 2)
    image = heat_ax.imshow(fields[0], cmap=theme.cmap)
    (line,) = line_ax.plot(fields[0].sum(axis=0), color=theme.accent)
    line_ax.set_ylim(float(fields.sum(axis=1).min()), float(fields.sum(axis=1).max()))
    title = fig.suptitle("")
    painter = Painter(fig)
    painter.animate(image, line, title)
    pngs = []
    for index, field in enumerate(fields):
        image.set_data(field)
        image.set_clim(field.min(), field.max())
        line.set_ydata(field.sum(axis=0))
        title.set_text(f"pre-encoded picture {index}")
        pngs.append(painter.frame())
    return pngs
