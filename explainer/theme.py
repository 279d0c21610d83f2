"""Colours and sizes shared by views, the paint layer and explorers.

Pure data (no matplotlib import), so that every drawing layer can read it. The default
palette is colour-blind safe (Okabe-Ito accents, viridis-family colormaps); the presentation
preset enlarges fonts and figures and uses a high-contrast colormap for projectors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Theme", "DEFAULT", "PRESENTATION", "get_theme", "set_presentation"]


@dataclass(frozen=True)
class Theme:
    """Visual settings read by views and explorers.

    Attributes:
        font_size: base font size in points.
        cmap: sequential colormap name (colour-blind safe).
        diverging_cmap: colormap for signed quantities.
        accent: the main highlight colour (sampled taps, selected unit, boxes).
        accent2: a second highlight colour, distinct from ``accent`` for colour-blind viewers.
        accent3: a third highlight colour.
        grid_color: colour of cell borders and grid lines.
        background: figure background colour.
        dpi: dots per inch of painted figures (scales the PNG).
        control_width: CSS width of one control.
    """

    font_size: float = 10.0
    cmap: str = "viridis"
    diverging_cmap: str = "RdBu_r"
    accent: str = "#E69F00"  # Okabe-Ito orange
    accent2: str = "#0072B2"  # Okabe-Ito blue
    accent3: str = "#009E73"  # Okabe-Ito bluish green
    grid_color: str = "#8c8c8c"
    background: str = "white"
    dpi: int = 100
    control_width: str = "280px"


DEFAULT = Theme()
PRESENTATION = replace(DEFAULT, font_size=15.0, cmap="cividis", dpi=130, control_width="360px")

_current: list[Theme] = [DEFAULT]


def get_theme(presentation: bool | None = None) -> Theme:
    """Return the theme to draw with.

    Args:
        presentation: True for the lecture-hall preset, False for the default, None for the
            global setting chosen with :func:`set_presentation`.
    """
    if presentation is None:
        return _current[0]
    return PRESENTATION if presentation else DEFAULT


def set_presentation(on: bool = True) -> None:
    """Switch every explorer built afterwards to the presentation preset (or back)."""
    _current[0] = PRESENTATION if on else DEFAULT
