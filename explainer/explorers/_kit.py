"""The small widget kit every explorer is built on.

An :class:`Explorer` wires ipywidgets controls to a ``render`` method that computes and updates
matplotlib artists, paints them with a :class:`~explainer.paint.Painter` and shows the PNG in an
``ipywidgets.Image``. It owns three promises made to students and lecturers:

* a callback never dies silently: any exception is shown in the explorer's own error area
  (and kept in ``last_error``) while the widget keeps working;
* controls cannot reach invalid states: ``limits`` narrows slider ranges before rendering and
  the reason is shown under the controls;
* one move costs one render: ``set`` changes several controls with a single update;
* a setting seen lately is not painted again: the PNG of each recent setting is kept
  (:attr:`Explorer.frame_memory`), so dragging a slider back over positions it passed, or
  flipping between two heads, costs the compute only.

It also carries the lecture-hall features every explorer shares: a theme (``presentation=``
on every factory, or :func:`explainer.set_presentation`) whose larger fonts and controls are
applied by a scoped stylesheet, and export of the current picture (:meth:`Explorer.save_png`)
and of a slider sweep (:meth:`Explorer.save_gif`).
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import logging
import math
import os
import sys
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from matplotlib.animation import PillowWriter
from PIL import Image
from traitlets import TraitError

from explainer.paint import Painter
from explainer.theme import Theme, get_theme

__all__ = [
    "Explorer",
    "Kept",
    "option_values",
    "one_torch_thread",
    "Theme",
    "get_theme",
    "presentation_css",
    "int_slider",
    "float_slider",
    "selection_slider",
    "dropdown",
    "checkbox",
    "toggle_buttons",
]

log = logging.getLogger("explainer")
# Seconds between a new picture and the messages with the controls' ranges, hints and info text
# (in a running kernel; see Explorer._release_text_and_ranges). By then the picture is on screen.
SYNC_DELAY_S = 0.06
# Seconds after a picture before the next step's picture is painted ahead (Explorer._plan_next), so
# that the browser decodes and paints the one just sent first: painting ahead at once, or after
# 20 ms, slowed the picture on screen in some explorers (docs/performance.md, "Painting ahead").
PAINT_AHEAD_DELAY_S = 0.035

# The picture is sent as a ``data:`` URL (an ``Image`` widget of format "url"), not as PNG bytes
# that the widget wraps in a blob: URL. Chromium reads a blob: URL through its browser process,
# which delays the painted frame in JupyterLab (docs/performance.md); a data: URL is decoded in the
# page itself, and base64 costs little next to the PNG encoding.
DATA_URL_PREFIX = b"data:image/png;base64,"

Limit = tuple[Any, Any, str | None] | tuple[Sequence[Any], str | None]


class Explorer(widgets.VBox):
    """Controls + picture + info + error area, updated on every control change.

    Subclasses create their figure, artists and any state they need, then call
    ``super().__init__(controls, painter, ...)``, which renders the first frame. They override
    :meth:`render`, and optionally :meth:`limits` and :meth:`on_click`.

    Attributes:
        controls: the value widgets by name (the names ``render`` receives as keys).
        image: the ``ipywidgets.Image`` showing the painted PNG (as a ``data:`` URL), sized to it.
        info: HTML panel for formulas with current numbers.
        hints: HTML line explaining why a control is limited.
        errors: HTML error area, shown only while the last update failed.
        theme: the :class:`~explainer.theme.Theme` the explorer was drawn with.
        result: the last compute result (set by ``render``).
        last_error: ``"Type: message"`` of the last failure, or None after a good update.
        frames: number of frames painted so far.
        last_update_ms: Python-side time of the last update (limits + render + paint).
        last_update_parts: that time split into ``{"compute": limits and render, "draw": the painter's
            artists, "encode": the PNG and its data URL}`` in ms (benchmarks/browser_latency.py prints them).
        last_update_reused: whether the last update showed a kept picture (draw and encode were 0).
        frame_memory: how many recent pictures are kept (class attribute; 0 keeps none).
        paint_ahead: whether a one-step slider move paints the next step ahead in a kernel
            (class attribute; see :meth:`paint_ahead_of`).
    """

    # Pictures of recent settings, kept as data URLs of about 40-110 KB each. A setting is the control
    # values after the limits plus frame_state(); its picture is reused only if render() drew the
    # same pixels for it every time (tests/test_frame_memory.py walks every explorer to check it).
    frame_memory = 32
    # After a one-step slider move, paint the next step in the same direction while the browser
    # shows this one (in a running kernel only; see _plan_next). False where render() changes
    # widgets or state beyond result and info (buttons, decoding steps).
    paint_ahead = True

    def __init__(
        self,
        controls: Mapping[str, widgets.ValueWidget],
        painter: Painter,
        *,
        title: str = "",
        extra: Sequence[widgets.Widget] = (),
        theme: Theme | None = None,
    ) -> None:
        self.theme = theme or get_theme()
        self.controls = dict(controls)
        self.painter = painter
        self.result: Any = None
        self.last_error: str | None = None
        self.frames = 0
        self.last_update_ms = 0.0
        self.last_update_parts: dict[str, float] = {}
        self.last_update_reused = False
        self._pictures: OrderedDict[Hashable, bytes] = OrderedDict()
        self._shown_values: dict[str, Any] | None = None
        self._ahead: asyncio.TimerHandle | None = None
        self._hold_depth = 0
        self._held: ExitStack | None = None  # hold_sync contexts of the controls, hints and info
        self._release_scheduled = False
        self._events = None
        self._reasons: dict[str, str] = {}
        width, height = painter.size
        # The PNG travels as a data: URL (see DATA_URL_PREFIX), which the widget shows as it is.
        self.image = widgets.Image(
            format="url", layout=widgets.Layout(width=f"{width}px", height=f"{height}px", object_fit="contain")
        )
        self.info = widgets.HTML(layout=widgets.Layout(margin="0 0 0 6px"))
        self.hints = widgets.HTML(layout=widgets.Layout(margin="0 0 0 6px"))
        self.errors = widgets.HTML(layout=widgets.Layout(display="none", border="2px solid #d62728", padding="4px"))
        box = widgets.Box(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        heading = [widgets.HTML(f"<b style='font-size:{self.theme.control_font_px + 3}px'>{html.escape(title)}</b>")]
        children = heading * bool(title) + [box, self.hints, self.errors, self.image, self.info, *extra]
        if self.theme.presentation:  # ipywidgets styles have no font sizes: a stylesheet scoped by class
            style = widgets.HTML(presentation_css(self.theme), layout=widgets.Layout(display="none"))
            style.add_class("explainer-style")
            children.insert(0, style)
        super().__init__(children=children)
        # Stable hooks for the browser tests and for CSS (presentation mode).
        self.add_class("explainer-explorer")
        if self.theme.presentation:
            self.add_class("explainer-presentation")
        self.image.add_class("explainer-picture")
        self.info.add_class("explainer-info")
        self.hints.add_class("explainer-hints")
        self.errors.add_class("explainer-error")
        for control in self.controls.values():
            control.observe(self._on_control, names="value")
        self.update()

    # ----------------------------------------------------------------- to override
    def render(self, values: dict[str, Any]) -> None:
        """Compute from ``values`` and update the artists (and ``result``/``info``)."""
        raise NotImplementedError

    def limits(self, values: dict[str, Any]) -> dict[str, Limit]:
        """Ranges that keep ``values`` valid: ``{name: (min, max, reason)}`` or ``{name: (options, reason)}``."""
        return {}

    def on_click(self, px: float, py: float) -> None:
        """React to a click at PNG pixel (px, py); the explorer re-renders afterwards."""

    def frame_state(self) -> Hashable:
        """What the picture depends on besides the control values, asked after :meth:`render`.

        The default, ``()``, says nothing else: explorers that keep other state the picture shows
        (a clicked unit, a decoding step, a trained result) return it, so that a kept picture is
        only reused for the same state. None keeps no picture of the current state.
        """
        return ()

    # ----------------------------------------------------------------- public
    @property
    def values(self) -> dict[str, Any]:
        """Current control values by name."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values: Any) -> None:
        """Set several controls, then update once.

        Raises:
            ValueError: an unknown control name, or a value the current limits do not allow
                (the message gives the reason shown under the controls).
        """
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this explorer has {sorted(self.controls)}")
        with self._hold():
            # A value may only become reachable once another one has changed (lowering the padding
            # frees a larger stride, ...), so retry until nothing more can be applied.
            pending = dict(values)
            for _ in range(len(values) + 1):
                for name, value in list(pending.items()):
                    self._apply_limits()
                    try:
                        self.controls[name].value = value
                    except TraitError:  # a choice another pending value has not made available yet
                        pass
                self._apply_limits()
                pending = {n: v for n, v in pending.items() if self.controls[n].value != v}
                if not pending:
                    break
        refused = {n: v for n, v in values.items() if self.controls[n].value != v}
        if refused:
            name, wanted = next(iter(refused.items()))
            reason = self._reasons.get(name) or "outside the control's range"
            raise ValueError(
                f"{name}={wanted!r} is not allowed here ({reason}); it was set to {self.controls[name].value!r}"
            )

    def update(self) -> None:
        """Recompute and repaint; failures go to the error area, never only to the log."""
        if self._hold_depth:
            return
        start = time.perf_counter()
        self._hold_text_and_ranges()
        try:
            try:
                with one_torch_thread():
                    values = self._apply_limits()
                    self.render(values)  # also for a kept picture: artists, result and info follow the controls
                    key = self._setting(values)
                computed = time.perf_counter()
                url = self._pictures.get(key) if key is not None else None
                if url is None:
                    png = self.painter.frame()
            except Exception as exc:  # noqa: BLE001 - shown to the user, by design
                self._show_error(exc)
                return
            self.last_update_reused = url is not None
            if url is None:
                url = DATA_URL_PREFIX + base64.b64encode(png)
                self._keep(key, url)
            else:
                self._pictures.move_to_end(key)
                self.painter.last_draw_ms = 0.0
            encoded = time.perf_counter()
            self.image.value = url  # leaves now; the held messages follow
        finally:
            self._release_text_and_ranges()
        self.frames += 1
        self._clear_error()
        self._plan_next(values)
        self.last_update_ms = (time.perf_counter() - start) * 1e3
        draw = min(self.painter.last_draw_ms, (encoded - computed) * 1e3)  # a frame() override may not set it
        self.last_update_parts = {"compute": (computed - start) * 1e3, "draw": draw,
                                  "encode": (encoded - computed) * 1e3 - draw}

    def _setting(self, values: dict[str, Any]) -> Hashable | None:
        """The key of the current picture: control values and :meth:`frame_state` (None: not kept)."""
        if self.frame_memory <= 0:
            return None
        state = self.frame_state()
        if state is None:
            return None
        # Floats to 12 digits: a slider's step computed here and the browser's may differ in the last bit.
        key = (tuple((n, round(v, 12) if isinstance(v, float) else v) for n, v in values.items()), state)
        try:
            hash(key)
        except TypeError:  # an unhashable control value: nothing to key the picture by
            return None
        return key

    def _keep(self, key: Hashable | None, url: bytes) -> None:
        if key is None:
            return
        self._pictures[key] = url
        while len(self._pictures) > self.frame_memory:
            self._pictures.popitem(last=False)

    def _plan_next(self, values: dict[str, Any]) -> None:
        """After a move of one slider by one step, schedule :meth:`paint_ahead_of` for its next step."""
        before, self._shown_values = self._shown_values, dict(values)
        if self._ahead is not None:
            self._ahead.cancel()
            self._ahead = None
        if not self.paint_ahead or self.frame_memory <= 0 or before is None:
            return
        changed = [name for name in values if values[name] != before.get(name)]
        if len(changed) != 1:
            return
        name = changed[0]
        following = _following(self.controls[name], before[name], values[name])
        loop = _kernel_loop()
        if following is None or loop is None:
            return
        self._ahead = loop.call_later(PAINT_AHEAD_DELAY_S, self._paint_ahead_now, dict(values, **{name: following}))

    def _paint_ahead_now(self, values: dict[str, Any]) -> None:
        self._ahead = None
        self.paint_ahead_of(values)

    def paint_ahead_of(self, values: dict[str, Any]) -> bool:
        """Paint and keep the picture of ``values`` without showing it; True if one was kept.

        Nothing the browser sees changes: the controls stay, and every attribute ``render`` rebinds
        (``result``, a clicked unit it resets, ...) is put back; its info text goes nowhere. The
        figure's artists do hold the painted setting until the next update: read the picture shown
        with :meth:`png` or :meth:`save_png`, not from the figure. Only settings the current limits
        allow as they are qualify. Failures are left for the real update to show.
        """
        if self.frame_memory <= 0 or set(values) != set(self.controls) or not self._allowed(values):
            return False
        saved = dict(self.__dict__)
        self.info = _Scratch()  # render() writes its text here, not to the page
        try:
            with one_torch_thread():
                self.render(values)
            key = self._setting(values)
            if key is None or key in self._pictures:
                return False
            self._keep(key, DATA_URL_PREFIX + base64.b64encode(self.painter.frame()))
            return True
        except Exception:  # noqa: BLE001 - the real update shows it, if the student goes there
            return False
        finally:
            attributes = self.__dict__
            for name in [name for name in attributes if name not in saved]:
                del attributes[name]
            for name, value in saved.items():
                if attributes.get(name) is not value:
                    attributes[name] = value

    def _allowed(self, values: dict[str, Any]) -> bool:
        """Whether the limits for ``values`` leave every value as it is."""
        try:
            limits = self.limits(values)
        except Exception:  # noqa: BLE001
            return False
        for name, limit in limits.items():
            value = values[name]
            if len(limit) == 2:
                if value not in list(limit[0]):
                    return False
            elif not limit[0] <= value <= limit[1]:
                return False
        return True

    def forget_pictures(self) -> None:
        """Drop the kept pictures (after changing state that :meth:`frame_state` does not name)."""
        self._pictures.clear()

    def _hold_text_and_ranges(self) -> None:
        """Hold the browser updates of the controls, hints and info until :meth:`_release_text_and_ranges`.

        The Python values change at once; only the messages to the browser wait.
        """
        if self._held is None:
            self._held = ExitStack()
            for widget in (*self.controls.values(), self.hints, self.info):
                self._held.enter_context(widget.hold_sync())

    def _release_text_and_ranges(self) -> None:
        """Send the held updates after the picture has been painted (at once outside an event loop).

        Re-rendering a slider's new range, the hints and the info text while the new picture was
        being decoded was seen to push its paint one display frame later (benchmarks/
        browser_latency.py); the picture is what a lecturer watches. In a kernel (its asyncio loop
        is running) the held messages leave SYNC_DELAY_S later, when the picture is on screen,
        carrying the latest state if more moves came meanwhile; in plain Python they leave at once.
        """
        if self._held is None or self._release_scheduled:
            return
        loop = _kernel_loop()
        if loop is None or SYNC_DELAY_S <= 0:
            self._flush_held()
        else:
            self._release_scheduled = True
            loop.call_later(SYNC_DELAY_S, self._flush_held)

    def _flush_held(self) -> None:
        held, self._held, self._release_scheduled = self._held, None, False
        if held is not None:
            held.close()

    def click(self, px: float, py: float) -> None:
        """Do what a click at PNG pixel (px, py) does, then update."""
        self._hold_depth += 1  # on_click may set controls: still one update
        try:
            self.on_click(px, py)
        except Exception as exc:  # noqa: BLE001
            self._show_error(exc)
            return
        finally:
            self._hold_depth -= 1
        self.update()

    def enable_clicks(self) -> None:
        """Forward clicks on the image (ipyevents) to :meth:`click`."""
        from ipyevents import Event

        self._events = Event(source=self.image, watched_events=["click"], prevent_default_action=True)
        self._events.on_dom_event(self._on_dom_event)
        self.image.add_class("explainer-clickable")

    def png(self) -> bytes:
        """The PNG bytes currently shown."""
        return base64.b64decode(bytes(self.image.value).removeprefix(DATA_URL_PREFIX))

    def save_png(self, path: str | os.PathLike) -> Path:
        """Write the picture currently shown to ``path`` as PNG (same pixels as :meth:`png`).

        The bytes are re-encoded at full compression: the live widget favours encoding speed,
        a file for slides or a README favours size.

        Example:
            >>> import tempfile
            >>> from explainer.explorers import conv_arithmetic_explorer
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     Image.open(conv_arithmetic_explorer(stride=2).save_png(Path(folder) / "stride2.png")).format
            'PNG'
        """
        path = Path(path)
        Image.open(io.BytesIO(self.png())).save(path, format="png", optimize=True)
        return path

    def save_gif(self, path: str | os.PathLike, control: str, values: Iterable[Any], fps: float = 4) -> Path:
        """Sweep ``control`` over ``values`` and write the pictures to ``path`` as a looping GIF.

        Each value is applied as :meth:`set` would (other controls follow the limits), and every
        frame is the picture the explorer shows for it, written by matplotlib's ``PillowWriter``.
        All control values are restored afterwards, also after a failure. Nothing is written
        unless every value gave a picture. Pillow merges consecutive identical frames.

        Args:
            path: the GIF file to write (its folder must exist).
            control: the name of one of :attr:`controls`.
            values: the control values, one frame each, in order.
            fps: frames per second.

        Raises:
            ValueError: an unknown control, no values, ``fps`` not positive, or a value the
                control does not allow here or whose update fails (nothing is written then).

        Example:
            >>> import tempfile
            >>> from explainer.explorers import conv_arithmetic_explorer
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     Image.open(conv_arithmetic_explorer().save_gif(Path(folder) / "s.gif", "stride", [1, 2, 3])).n_frames
            3
        """
        values = self._check_sweep(control, values, fps)
        writer = _PaintedFrames(self.painter, fps=fps)
        # setup / grab_frame / finish by hand rather than ``writer.saving``: saving() calls finish()
        # even on an error, which would write a partial GIF.
        writer.setup(self.painter.fig, Path(path), dpi=self.painter.fig.dpi)
        original = self.values
        try:
            for value in values:
                self._sweep_to(control, value, values)
                writer.grab_frame()
        finally:
            self.set(**original)
        writer.finish()
        return Path(path)

    # ----------------------------------------------------------------- internals
    def _check_sweep(self, control: str, values: Iterable[Any], fps: float) -> list[Any]:
        if control not in self.controls:
            raise ValueError(f"save_gif: unknown control {control!r}; this explorer has {sorted(self.controls)}")
        sweep = [] if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) else list(values)
        if not sweep:
            raise ValueError(f"save_gif: values for {control!r} must be a non-empty sequence, got {values!r}")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
            raise ValueError(f"save_gif: fps must be a positive number, got {fps!r}")
        return sweep

    def _sweep_to(self, control: str, value: Any, values: Sequence[Any]) -> None:
        try:
            self.set(**{control: value})
        except ValueError as exc:
            raise ValueError(f"save_gif: cannot sweep {control!r} over {list(values)!r}: {exc}") from None
        if self.last_error:
            raise ValueError(f"save_gif: {control}={value!r} (of {list(values)!r}) failed: {self.last_error}")

    @contextmanager
    def _hold(self) -> Iterator[None]:
        self._hold_depth += 1
        try:
            yield
        finally:
            self._hold_depth -= 1
        self.update()

    def _on_control(self, change: dict) -> None:
        self.update()

    def _on_dom_event(self, event: dict) -> None:
        px, py = event.get("dataX"), event.get("dataY")
        if px is None or py is None:  # not an Image view: scale the element coordinates
            width, height = self.painter.size
            px = event["relativeX"] * width / max(event["boundingRectWidth"], 1)
            py = event["relativeY"] * height / max(event["boundingRectHeight"], 1)
        self.click(px, py)

    def _apply_limits(self) -> dict[str, Any]:
        """Narrow control ranges until the values are stable; return the values."""
        self._reasons: dict[str, str] = {}
        self._hold_depth += 1
        try:
            for _ in range(4):
                values = self.values
                for name, limit in self.limits(values).items():
                    self._set_limit(self.controls[name], limit)
                    if limit[-1]:
                        self._reasons[name] = limit[-1]
                if self.values == values:
                    break
        finally:
            self._hold_depth -= 1
        text = "; ".join(f"<b>{html.escape(self.controls[n].description or n)}</b> {html.escape(r)}"
                         for n, r in self._reasons.items())
        self.hints.value = f"<span style='color:#555'>{text}</span>" if text else ""
        return self.values

    @staticmethod
    def _set_limit(control: widgets.ValueWidget, limit: Limit) -> None:
        if len(limit) == 2:
            options = list(limit[0])
            control.disabled = len(options) < 2
            if list(control.options) != options:
                value = control.value if control.value in options else _nearest(options, control.value)
                control.options = options
                control.value = value
            return
        low, high = limit[0], limit[1]
        if high < low:
            raise ValueError(f"{control.description}: empty range [{low}, {high}]")
        control.disabled = high == low  # nothing to choose: grey it out (the reason says why)
        # Widen first so that min <= max holds at every step (ipywidgets refuses otherwise).
        if low > control.max:
            control.max, control.min = high, low
        else:
            control.min, control.max = low, high

    def _show_error(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("explorer update failed: %s", self.last_error)
        trace = html.escape("".join(traceback.format_exception(exc)))
        self.errors.value = (
            f"<b style='color:#d62728'>{html.escape(self.last_error)}</b>"
            f"<details><summary>traceback</summary><pre style='font-size:11px'>{trace}</pre></details>"
        )
        self.errors.layout.display = "block"

    def _clear_error(self) -> None:
        self.last_error = None
        if self.errors.layout.display != "none":
            self.errors.value = ""
            self.errors.layout.display = "none"


class _Scratch:
    """Stands in for the info panel while a picture is painted ahead: takes the text, shows nothing."""

    value = ""


def _following(control: widgets.ValueWidget, before: Any, now: Any) -> Any:
    """The value one more step from ``before`` past ``now`` on a slider, or None (not a one-step
    slider move, or the end of the range)."""
    if isinstance(control, widgets.SelectionSlider):
        options = option_values(control)
        if before not in options or now not in options:
            return None
        i, j = options.index(before), options.index(now)
        k = 2 * j - i
        return options[k] if abs(j - i) == 1 and 0 <= k < len(options) else None
    if isinstance(control, widgets.FloatLogSlider):  # steps of the exponent
        if before <= 0 or now <= 0:
            return None
        e_before, e_now = (math.log(v, control.base) for v in (before, now))
        if abs(abs(e_now - e_before) - control.step) > 1e-6 * max(1.0, control.step):
            return None
        exponent = control.min + round((2 * e_now - e_before - control.min) / control.step) * control.step
        return control.base ** exponent if control.min - 1e-9 <= exponent <= control.max + 1e-9 else None
    if isinstance(control, (widgets.IntSlider, widgets.FloatSlider)):
        step = control.step
        if not step or abs(abs(now - before) - step) > 1e-9 * max(1.0, abs(step)):
            return None
        following = now + (now - before)
        if isinstance(control, widgets.FloatSlider):
            following = control.min + round((following - control.min) / step) * step  # as the slider snaps
        return following if control.min <= following <= control.max else None
    return None


def option_values(control: widgets.ValueWidget) -> list[Any]:
    """The values a choice control (drop-down, selection slider, toggle buttons) can take, in order:
    the second item of each ``(label, value)`` option, the option itself otherwise."""
    return [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in control.options]


class Kept(OrderedDict):
    """Results an explorer keeps per key: at most ``size``, the least recently used dropped first.

    Moving a control the result does not depend on, or dragging a slider back over positions it
    passed, computes nothing.

    Example:
        >>> kept = Kept(2)
        >>> kept.fetch("a", lambda: [1]) is kept.fetch("a", lambda: [2])
        True
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def fetch(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The result kept under ``key``, made by ``make()`` (and kept) when there is none."""
        if key not in self:
            self[key] = make()
            if len(self) > self.size:
                self.popitem(last=False)
        self.move_to_end(key)
        return self[key]


class _PaintedFrames(PillowWriter):
    """matplotlib's Pillow GIF writer fed with the painter's own frames.

    ``PillowWriter.grab_frame`` redraws the whole figure with ``savefig``, whose image resampling
    can put a heatmap's cell edges one pixel away from the blitted picture; taking the painter's
    canvas makes every frame exactly what the explorer showed.
    """

    def __init__(self, painter: Painter, fps: float) -> None:
        super().__init__(fps=fps)
        self.painter = painter

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        self.painter.render()
        rgba = Image.frombuffer("RGBA", self.painter.size, self.painter.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        self._frames.append(rgba.convert("RGB"))  # the list PillowWriter.setup made


def _kernel_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop of the IPython kernel this code runs in; None anywhere else.

    Only a kernel's loop is sure to run the deferred sends: in plain Python (tests, scripts) a loop
    that merely exists in the thread (Playwright's, say) may never run them, so nothing waits there.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipywidgets depends on IPython
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one intra-op thread for the duration of an update (restored afterwards).

    An explorer's tensors are tiny: a second thread only adds synchronisation, and on a busy
    2-core machine its spin-waits were seen to cost far more than the update itself.
    Does nothing when torch has not been imported.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _nearest(options: list[Any], value: Any) -> Any:
    """The allowed option closest to ``value`` (the first option for non-numeric choices)."""
    try:
        return min(options, key=lambda option: abs(option - value))
    except TypeError:
        return options[0]


def presentation_css(theme: Theme) -> str:
    """A ``<style>`` block enlarging controls and text inside ``.explainer-presentation`` only.

    ipywidgets (JupyterLab and Voila alike) size labels, readouts, buttons, drop-downs and slider
    handles from ``--jp-widgets-*`` CSS variables; custom properties inherit, so redefining them
    on the explorer's box rescales its controls and nothing else on the page. Explicit rules
    follow for the parts that do not read those variables (check boxes, info text, tables).
    """
    f, h = theme.control_font_px, theme.control_height_px
    handle, track = round(0.6 * h), max(4, round(0.16 * h))
    grow = f / 13  # JupyterLab's widget sizes are laid out for 13px text
    scope = ".explainer-presentation"
    labels = ", ".join(f"{scope} {c}" for c in (
        ".widget-label", ".jupyter-widget-label", ".widget-readout", ".jupyter-widget-readout",
        ".widget-dropdown > select", ".jupyter-widget-dropdown > select", ".jupyter-button",
        ".widget-toggle-button", ".jupyter-widget-toggle-button"))
    panels = ("explainer-info", "explainer-hints", "explainer-error")
    text = ", ".join(f"{scope} .{panel} .{content}" for panel in panels
                     for content in ("widget-html-content", "jupyter-widget-html-content"))
    return f"""<style>
{scope} {{
  --jp-widgets-font-size: {f}px;
  --jp-widgets-inline-height: {h}px;
  --jp-widgets-slider-handle-size: {handle}px;
  --jp-widgets-slider-track-thickness: {track}px;
  --jp-widgets-inline-margin: 6px;
  --jp-widgets-inline-width: {round(300 * grow)}px;
  --jp-widgets-inline-width-short: {round(148 * grow)}px;
  font-size: {f}px;
}}
{labels} {{ font-size: {f}px; }}
{scope} .widget-hslider, {scope} .jupyter-widget-hslider {{ height: {h}px; line-height: {h}px; margin-right: 14px; }}
{scope} .widget-dropdown, {scope} .jupyter-widget-dropdown {{ height: {h}px; }}
{scope} .noUi-horizontal {{ height: {track}px; }}
{scope} .noUi-horizontal .noUi-handle {{ width: {handle}px; height: {handle}px; top: {(track - handle) // 2}px;
  right: -{handle // 2}px; }}
{scope} input[type='checkbox'] {{ transform: scale({f / 13:.2f}); margin-right: 10px; }}
{scope} .jupyter-button {{ height: {h}px; padding: 0 {f // 2}px; }}
{text} {{ font-size: {f}px; line-height: 1.45; }}
{scope} .explainer-info pre, {scope} .explainer-info table {{ font-size: {f - 2}px; }}
</style>"""


def _style(theme: Theme | None) -> tuple[dict, widgets.Layout]:
    theme = theme or get_theme()
    return {"description_width": "initial"}, widgets.Layout(width=theme.control_width)


def int_slider(description: str, value: int, min: int, max: int, step: int = 1, tooltip: str = "",
               theme: Theme | None = None) -> widgets.IntSlider:
    """An integer slider that updates while dragging."""
    style, layout = _style(theme)
    return widgets.IntSlider(value=value, min=min, max=max, step=step, description=description,
                             tooltip=tooltip, continuous_update=True, style=style, layout=layout)


def float_slider(description: str, value: float, min: float, max: float, step: float, tooltip: str = "",
                 readout_format: str = ".2f", theme: Theme | None = None) -> widgets.FloatSlider:
    """A float slider that updates while dragging."""
    style, layout = _style(theme)
    return widgets.FloatSlider(value=value, min=min, max=max, step=step, description=description, tooltip=tooltip,
                               readout_format=readout_format, continuous_update=True, style=style, layout=layout)


def selection_slider(description: str, options: Sequence[Any], value: Any, tooltip: str = "",
                     theme: Theme | None = None) -> widgets.SelectionSlider:
    """A slider over a list of allowed values (e.g. the divisors of a channel count)."""
    style, layout = _style(theme)
    return widgets.SelectionSlider(options=list(options), value=value, description=description, tooltip=tooltip,
                                   continuous_update=True, style=style, layout=layout)


def dropdown(description: str, options: Sequence[Any], value: Any, theme: Theme | None = None) -> widgets.Dropdown:
    """A drop-down list."""
    style, layout = _style(theme)
    return widgets.Dropdown(options=options, value=value, description=description, style=style, layout=layout)


def checkbox(description: str, value: bool, theme: Theme | None = None) -> widgets.Checkbox:
    """A checkbox."""
    style, layout = _style(theme)
    return widgets.Checkbox(value=value, description=description, indent=False, style=style, layout=layout)


def toggle_buttons(description: str, options: Sequence[Any], value: Any,
                   theme: Theme | None = None) -> widgets.ToggleButtons:
    """A row of toggle buttons for a few named choices."""
    style, _ = _style(theme)
    return widgets.ToggleButtons(options=options, value=value, description=description, style=style)
