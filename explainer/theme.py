"""Colours and sizes shared by views, the paint layer and explorers.

Pure data (no matplotlib import), so that every drawing layer can read it. The default
palette is colour-blind safe (Okabe-Ito accents, the viridis colormap); the presentation preset
enlarges fonts, figures, lines and controls and uses cividis, a colormap designed to read the
same for colour-blind viewers and with a steady lightness ramp that survives a washed-out
projector (Nuñez et al. 2018, https://doi.org/10.1371/journal.pone.0199239).

Nothing changes at import time: the global choice starts as :data:`DEFAULT` and only
:func:`set_presentation` changes it, for explorers built afterwards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

__all__ = ["Theme", "DEFAULT", "PRESENTATION", "get_theme", "set_presentation"]


@dataclass(frozen=True)
class Theme:
    """Visual settings read by views and explorers.

    Attributes:
        font_size: base font size in points (figure text; titles and ticks derive from it).
        cmap: sequential colormap name for heatmaps (colour-blind safe).
        diverging_cmap: colormap for signed quantities.
        accent: the main highlight colour (sampled taps, selected unit, boxes).
        accent2: a second highlight colour, distinct from ``accent`` for colour-blind viewers.
        accent3: a third highlight colour.
        grid_color: colour of cell borders and grid lines.
        background: figure background colour.
        dpi: dots per inch of painted figures (scales the PNG, text and lines alike).
        figure_scale: factor on every figure's size in inches. Views lay text out for 10-point
            fonts at scale 1; keep ``font_size / (10 * figure_scale)`` near 1 so text still fits.
        line_scale: factor on every line width and marker size views draw (1 = as designed).
        control_width: CSS width of one control.
        control_font_px: font size of control labels, readouts, buttons and info text in CSS
            pixels (JupyterLab's widgets default is 13).
        control_height_px: height of one row of controls in CSS pixels (JupyterLab's default 28).
        presentation: whether explorers add the ``explainer-presentation`` CSS class and the
            stylesheet that applies the two sizes above (ipywidgets styles expose no font sizes).
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
    figure_scale: float = 1.0
    line_scale: float = 1.0
    control_width: str = "280px"
    control_font_px: int = 13
    control_height_px: int = 28
    presentation: bool = False


DEFAULT = Theme()
PRESENTATION = replace(
    DEFAULT,
    # Pictures 1.38x wider and text 1.56x taller on screen than the default (dpi 120 x scale 1.15;
    # 13 pt x 120 dpi): text grows more than the layout, as much as the layouts leave room for.
    font_size=13.0,
    cmap="cividis",
    grid_color="#6e6e6e",  # darker cell borders: projectors wash out light greys
    dpi=120,
    figure_scale=1.15,
    line_scale=1.6,
    control_width="380px",
    control_font_px=19,
    control_height_px=40,
    presentation=True,
)

# None until set_presentation() is called; until then the EXPLAINER_PRESENTATION environment variable
# decides, read when an explorer is built (never at import), so `make demo` can ask for the preset.
_current: list[Theme | None] = [None]
ENV_VAR = "EXPLAINER_PRESENTATION"


def get_theme(presentation: bool | None = None) -> Theme:
    """Return the theme to draw with.

    Args:
        presentation: True for the lecture-hall preset, False for the default, None for the
            global setting chosen with :func:`set_presentation` (if it was never called: the
            preset when the environment variable ``EXPLAINER_PRESENTATION`` is 1/true/yes).

    Example:
        >>> get_theme(True).cmap, get_theme(False).cmap
        ('cividis', 'viridis')
    """
    if presentation is None:
        if _current[0] is not None:
            return _current[0]
        return PRESENTATION if os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes") else DEFAULT
    if not isinstance(presentation, bool):
        raise TypeError(f"presentation must be True, False or None, got {presentation!r}")
    return PRESENTATION if presentation else DEFAULT


def set_presentation(on: bool = True) -> None:
    """Switch every explorer built afterwards to the presentation preset (or back with ``False``).

    Explorers already on screen keep their theme; pass ``presentation=`` to a factory to choose
    for one explorer only.
    """
    if not isinstance(on, bool):
        raise TypeError(f"set_presentation expects True or False, got {on!r}")
    _current[0] = PRESENTATION if on else DEFAULT
