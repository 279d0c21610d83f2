"""The widget kit's promises: errors are shown, limits hold, one set() is one update, clicks map to pixels."""

from __future__ import annotations

import numpy as np
import pytest

from explainer.explorers._kit import Explorer, int_slider, selection_slider
from explainer.paint import Painter, new_figure


class Boxes(Explorer):
    """A tiny explorer: an n x m block of ones; m may not exceed n; n == 7 fails on purpose."""

    def __init__(self, fail_on: int | None = None):
        fig = new_figure(3, 3, dpi=50)
        self.ax = fig.add_axes((0, 0, 1, 1))
        self.ax.set_axis_off()
        self.picture = self.ax.imshow(np.zeros((8, 8)), extent=(0, 8, 8, 0), vmin=0, vmax=1)
        self.fail_on = fail_on
        self.renders = 0
        self.clicked = None
        painter = Painter(fig)
        painter.animate(self.picture)
        controls = {
            "n": int_slider("n", 3, 1, 8),
            "m": int_slider("m", 2, 1, 8),
            "g": selection_slider("g", [1, 2, 4, 8], 1),
        }
        super().__init__(controls, painter, title="boxes")

    def limits(self, values):
        return {
            "m": (1, values["n"], "m cannot exceed n"),
            "g": ([d for d in (1, 2, 4, 8) if values["n"] % d == 0], "g divides n"),
        }

    def render(self, values):
        self.renders += 1
        if values["n"] == self.fail_on:
            raise RuntimeError(f"n={values['n']} fails on purpose")
        block = np.zeros((8, 8))
        block[: values["n"], : values["m"]] = 1
        self.picture.set_data(block)
        self.result = block

    def on_click(self, px, py):
        self.clicked = self.painter.pixel_to_data(self.ax, px, py)


def test_first_frame_is_painted_on_construction():
    ex = Boxes()
    assert ex.frames == 1 and ex.png()[:4] == b"\x89PNG" and ex.last_error is None
    width, height = ex.painter.size
    assert (ex.image.layout.width, ex.image.layout.height) == (f"{width}px", f"{height}px")


def test_the_widget_carries_the_frame_as_a_png_data_url():
    import base64

    ex = Boxes()
    ex.controls["m"].value = 3
    assert ex.image.format == "url"
    prefix, payload = bytes(ex.image.value).split(b",", 1)
    assert prefix == b"data:image/png;base64"
    # The payload is the painter's own frame of the current state, byte for byte.
    assert base64.b64decode(payload) == ex.png() == ex.painter.frame()


def test_moving_a_control_repaints():
    ex = Boxes()
    before = ex.png()
    ex.controls["m"].value = 3
    assert ex.png() != before and ex.result[:3, :3].sum() == 9


def test_limits_clamp_dependent_controls_and_explain_why():
    ex = Boxes()
    ex.set(n=6, m=6)
    ex.controls["n"].value = 4
    assert ex.controls["m"].value == 4 and ex.controls["m"].max == 4
    assert "m cannot exceed n" in ex.hints.value
    assert list(ex.controls["g"].options) == [1, 2, 4]


def test_set_is_a_single_update():
    ex = Boxes()
    renders = ex.renders
    ex.set(n=8, m=7, g=8)
    assert ex.renders == renders + 1 and ex.values == {"n": 8, "m": 7, "g": 8}


def test_set_refuses_values_outside_limits_with_the_reason():
    ex = Boxes()
    with pytest.raises(ValueError, match="m=5 is not allowed here .m cannot exceed n"):
        ex.set(n=3, m=5)
    with pytest.raises(ValueError, match="unknown control"):
        ex.set(k=1)


def test_callback_error_is_shown_in_the_widget_and_it_recovers():
    ex = Boxes(fail_on=7)
    good = ex.png()
    ex.controls["n"].value = 7
    assert ex.last_error == "RuntimeError: n=7 fails on purpose"
    assert ex.errors.layout.display == "block" and "fails on purpose" in ex.errors.value
    assert "traceback" in ex.errors.value and ex.png() == good
    ex.controls["n"].value = 5
    assert ex.last_error is None and ex.errors.layout.display == "none" and ex.png() != good


def test_click_maps_png_pixels_to_data():
    ex = Boxes()
    width, height = ex.painter.size
    ex.click(width * 0.25, height * 0.75)
    assert ex.clicked == pytest.approx((2.0, 6.0))


def test_dom_event_from_ipyevents_is_forwarded():
    ex = Boxes()
    width, height = ex.painter.size
    ex.enable_clicks()
    ex._on_dom_event({"type": "click", "dataX": width / 2, "dataY": height / 8})
    assert ex.clicked == pytest.approx((4.0, 1.0))


def test_error_in_click_is_shown():
    ex = Boxes()
    ex.on_click = lambda px, py: 1 / 0
    ex.click(1, 1)
    assert ex.last_error.startswith("ZeroDivisionError")


def test_set_order_does_not_matter_when_one_value_frees_another():
    ex = Boxes()
    ex.set(n=2, m=2)
    ex.set(m=6, n=6)  # m=6 is only reachable after n grows
    assert ex.values["m"] == 6 and ex.values["n"] == 6


def test_set_order_does_not_matter_when_one_value_makes_a_choice_available():
    ex = Boxes()
    ex.set(n=3)
    assert ex.controls["g"].options == (1,)
    ex.set(g=8, n=8)  # 8 is not among the choices until n = 8
    assert ex.values["g"] == 8 and ex.values["n"] == 8
    with pytest.raises(ValueError, match="g=4 is not allowed here .g divides n"):
        ex.set(g=4, n=7)


def test_click_that_sets_controls_renders_once():
    ex = Boxes()
    ex.on_click = lambda px, py: ex.set(n=5)
    renders = ex.renders
    ex.click(1, 1)
    assert ex.renders == renders + 1 and ex.values["n"] == 5


def test_updates_run_on_one_torch_thread_and_restore_the_setting():
    import torch

    seen = []
    ex = Boxes()
    ex.render = lambda values: seen.append(torch.get_num_threads())
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        ex.controls["n"].value = 4
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


class _Recorder:
    """A stand-in comm that records which widget sent which state keys, in order."""

    def __init__(self, log, name):
        self.log, self.name, self.comm_id = log, name, name
        self.kernel = True

    def send(self, data=None, metadata=None, buffers=None):
        if data and data.get("method") == "update":  # the image's bytes travel as a buffer, named in buffer_paths
            keys = [*data["state"], *(path[0] for path in data.get("buffer_paths", []))]
            self.log.append((self.name, tuple(sorted(keys))))

    def on_msg(self, callback):
        pass

    def on_close(self, callback):
        pass

    def close(self, *args, **kwargs):
        pass


def _recorded(ex):
    log = []
    for name, widget in [("image", ex.image), ("info", ex.info), ("hints", ex.hints), *ex.controls.items()]:
        widget.comm = _Recorder(log, name)
    return log


def test_in_a_kernel_the_picture_leaves_first_and_ranges_hints_info_one_frame_later(monkeypatch):
    import asyncio
    import threading

    from explainer.explorers import _kit

    # A kernel runs comm handlers on its asyncio loop: stand in for it with a loop of our own.
    monkeypatch.setattr(_kit, "_kernel_loop", asyncio.get_running_loop)

    async def move():
        ex = Boxes()
        await asyncio.sleep(_kit.SYNC_DELAY_S * 2)  # the first frame's held messages are gone
        log = _recorded(ex)
        ex.controls["n"].value = 2  # m's range shrinks to 1..2, g's options change, the hints and info too
        assert ex.controls["m"].max == 2 and ex.values["n"] == 2  # Python sees everything at once
        # (n's own value is sent because Python set it; from a browser it would come from there)
        assert log == [("n", ("value",)), ("image", ("value",))]  # the picture first ...
        await asyncio.sleep(_kit.SYNC_DELAY_S / 3)
        assert log == [("n", ("value",)), ("image", ("value",))]
        await asyncio.sleep(_kit.SYNC_DELAY_S * 2)
        sent = {name for name, _ in log[2:]}  # ... and the rest after SYNC_DELAY_S
        assert {"m", "g"} <= sent and ("m", ("max",)) in log[2:]
        ex.controls["n"].value = 4
        ex.controls["n"].value = 8  # two moves within one delay: one flush, with the latest ranges
        await asyncio.sleep(_kit.SYNC_DELAY_S * 2)
        return ex, log

    out = {}  # in a thread of its own: another loop (Playwright's) may be marked running in this one
    thread = threading.Thread(target=lambda: out.update(result=asyncio.run(move())))
    thread.start()
    thread.join()
    ex, log = out["result"]
    assert [name for name, _ in log].count("image") == 3
    assert ex.controls["m"].max == 8 and ex._held is None


def test_outside_a_kernel_nothing_waits():
    import asyncio
    import threading

    from explainer.explorers import _kit

    assert _kit._kernel_loop() is None

    async def in_a_loop():  # a running loop that is not a kernel's does not make anything wait either
        return _kit._kernel_loop()

    found = {}  # in a thread of its own: another loop (Playwright's) may be marked running in this one
    thread = threading.Thread(target=lambda: found.update(loop=asyncio.run(in_a_loop())))
    thread.start()
    thread.join()
    assert found == {"loop": None}
    ex = Boxes()
    log = _recorded(ex)
    ex.controls["n"].value = 2
    assert log[:2] == [("n", ("value",)), ("image", ("value",))] and ("m", ("max",)) in log[2:]
