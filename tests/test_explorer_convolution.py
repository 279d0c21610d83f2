"""The convolution-arithmetic explorer in plain pytest: controls move the picture, errors are shown, limits hold."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import dataclasses  # noqa: E402
import random  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import explainer.explorers.convolution as module  # noqa: E402
from explainer.conv import conv_output_size, conv_params, transposed_output_size  # noqa: E402
from explainer.explorers.convolution import RANGES, conv_arithmetic_explorer  # noqa: E402

GEOMETRY = ("input_size", "kernel_size", "stride", "padding", "dilation", "output_padding")


def torch_output_size(v):
    """The output height from a real forward pass with the explorer's current settings."""
    x = torch.zeros(1, 1, v["input_size"], v["input_size"])
    w = torch.zeros(1, 1, v["kernel_size"], v["kernel_size"])
    if v["transposed"]:
        y = F.conv_transpose2d(x, w, stride=v["stride"], padding=v["padding"], output_padding=v["output_padding"],
                               dilation=v["dilation"])
    else:
        y = F.conv2d(x, w, stride=v["stride"], padding=v["padding"], dilation=v["dilation"])
    return y.shape[-1]


def assert_consistent(ex):
    v = ex.values
    assert ex.last_error is None, ex.last_error
    assert ex.result.output_size == (torch_output_size(v),) * 2
    assert 0 <= v["row"] < ex.result.output_size[0] and 0 <= v["col"] < ex.result.output_size[1]
    assert v["in_channels"] % v["groups"] == 0 and v["out_channels"] % v["groups"] == 0


@pytest.fixture
def ex():
    explorer = conv_arithmetic_explorer()
    yield explorer
    assert plt.get_fignums() == []


def test_builds_with_a_picture_and_the_formula(ex):
    assert ex.png()[:4] == b"\x89PNG" and ex.frames == 1
    assert ex.result.output_size == (5, 5)
    assert "⌊(7 + 2·0 − 1·2 − 1) / 1⌋ + 1 = <b>5</b>" in ex.info.value
    assert ex.image.layout.width == f"{ex.painter.size[0]}px"


def test_a_control_changes_the_picture_and_the_result(ex):
    before = ex.png()
    ex.controls["stride"].value = 2
    assert ex.png() != before
    assert ex.result.output_size == (conv_output_size(7, 3, 2),) * 2 == (3, 3)
    assert "/ 2⌋ + 1 = <b>3</b>" in ex.info.value
    before = ex.png()
    ex.set(row=1, col=2)
    assert ex.png() != before
    assert ex.result.positions[1, 2, 0].tolist() == [2.0, 4.0]  # s*o - p + d*k with k = 0


def test_transposed_mode_follows_pytorch(ex):
    ex.set(transposed=True, stride=2, padding=1, output_padding=1)
    assert ex.result.geometry is not None
    assert ex.result.output_size == (transposed_output_size(7, 3, 2, 1, 1),) * 2 == (14, 14)
    assert "6·2 − 2·1 + 1·2 + 1 + 1 = <b>14</b>" in ex.info.value
    assert not ex.controls["output_padding"].disabled
    ex.set(transposed=False)
    assert ex.controls["output_padding"].disabled and ex.values["output_padding"] == 0
    assert_consistent(ex)


def test_parameters_and_groups(ex):
    ex.set(in_channels=12, out_channels=18)
    assert list(ex.controls["groups"].options) == [1, 2, 3, 6]
    ex.set(groups=6)
    assert ex.result.params == conv_params(12, 18, 3, groups=6) == 18 * 2 * 9 + 18
    assert f"<b>{ex.result.params:,}</b>" in ex.info.value
    ex.set(out_channels=20)  # gcd 4: groups 6 is no longer allowed and moves to a divisor
    assert ex.values["groups"] in (1, 2, 4) and list(ex.controls["groups"].options) == [1, 2, 4]
    assert_consistent(ex)


def test_a_forced_error_is_shown_and_the_explorer_recovers(ex, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("compute exploded")

    monkeypatch.setattr(module, "conv_arithmetic", broken)
    frames, picture = ex.frames, ex.png()
    ex.controls["stride"].value = 2
    assert ex.last_error == "RuntimeError: compute exploded"
    assert "compute exploded" in ex.errors.value and "traceback" in ex.errors.value
    assert ex.errors.layout.display == "block"
    assert ex.frames == frames and ex.png() == picture
    monkeypatch.undo()
    ex.controls["padding"].value = 1
    assert ex.last_error is None and ex.errors.layout.display == "none"
    assert ex.result.output_size == (conv_output_size(7, 3, 2, 1),) * 2


@pytest.mark.parametrize("start", [
    dict(),
    dict(input_size=2, kernel_size=2, padding=0),
    dict(input_size=1, kernel_size=5, padding=2, dilation=1),
    dict(transposed=True, stride=2, output_padding=1),
    dict(transposed=True, input_size=1, kernel_size=3, padding=1),
    dict(transposed=True, input_size=2, stride=1, dilation=3, kernel_size=2, padding=3, output_padding=2),
])
def test_every_reachable_slider_value_gives_a_nonempty_output(start):
    ex = conv_arithmetic_explorer(**start)
    assert_consistent(ex)
    for name in GEOMETRY + ("row", "col"):
        control = ex.controls[name]
        original = control.value
        for value in range(control.min, control.max + 1):
            control.value = value
            assert_consistent(ex)
        low, high = RANGES.get(name, (0, 60))
        for beyond in (max(low - 1, 0), high + 1):  # past the narrowed range: the slider clamps
            control.value = beyond
            assert_consistent(ex)
        control.value = original  # the other controls did not move, so this is allowed again
        assert control.value == original


def test_a_random_walk_never_reaches_an_invalid_state():
    ex = conv_arithmetic_explorer()
    rng = random.Random(0)
    names = [n for n in ex.controls if n != "groups"]
    for _ in range(80):
        name = rng.choice(names)
        if name == "transposed":
            ex.controls[name].value = not ex.controls[name].value
        else:
            low, high = RANGES.get(name, (0, 40))
            ex.controls[name].value = rng.randint(low, high)  # out-of-range values are clamped by the slider
        assert_consistent(ex)


def test_kept_results_and_ranges_equal_a_fresh_explorers():
    """Results and ranges are kept per setting and the grids stay while only the unit moves: after
    any walk, the result, every control's range, the picture and the info are those of an explorer
    built at the same values, with nothing kept."""
    ex = conv_arithmetic_explorer()
    walk = [dict(row=1), dict(input_size=5, padding=1), dict(input_size=7, padding=0), dict(col=2), dict(stride=2),
            dict(row=0), dict(kernel_size=4), dict(stride=1),
            dict(transposed=True), dict(col=1), dict(in_channels=8), dict(groups=2), dict(transposed=False),
            dict(stride=2), dict(row=1, col=0), dict(input_size=9), dict(row=2)]
    for move in walk:
        ex.set(**move)
        fresh = conv_arithmetic_explorer(**ex.values)
        _assert_same(ex.result, fresh.result, move)
        for name, control in ex.controls.items():
            other = fresh.controls[name]
            assert (getattr(control, "min", None), getattr(control, "max", None), getattr(control, "options", None),
                    control.disabled) == (getattr(other, "min", None), getattr(other, "max", None),
                                          getattr(other, "options", None), other.disabled), (move, name)
        assert ex.hints.value == fresh.hints.value, move
        assert ex.png() == fresh.png(), move
        assert ex.info.value == fresh.info.value, move


def _assert_same(a, b, where) -> None:
    """Equal dataclasses, their tensors compared element by element."""
    assert type(a) is type(b), where
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), (where, f.name))
    elif isinstance(a, torch.Tensor):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=str(where))
    else:
        assert a == b, where


def test_toggling_transposed_repairs_the_padding():
    ex = conv_arithmetic_explorer(input_size=1, kernel_size=1, padding=4)  # direct output 9
    assert ex.result.output_size == (9, 9)
    ex.set(transposed=True)  # (1-1)s - 2p + 0 + 1 >= 1 needs p = 0
    assert ex.values["padding"] == 0 and ex.result.output_size == (1, 1)
    assert_consistent(ex)
    assert "padding" in ex.hints.value.lower()


def test_set_refuses_a_limited_value_with_the_reason():
    ex = conv_arithmetic_explorer(input_size=3)
    with pytest.raises(ValueError, match="kernel_size=7 is not allowed here.*padded input"):
        ex.set(kernel_size=7)
    assert_consistent(ex)


def test_clicking_an_output_unit_selects_it(ex):
    ex.set(stride=2, padding=1)  # output 4x4
    view = ex.output_view
    left, top = view.layout.origin(*ex.result.output_size)
    x, y = left + 3.5 * view.layout.cell, top + 1.5 * view.layout.cell
    ex.click(*ex.painter.data_to_pixel(view.ax, x, y))
    assert (ex.values["row"], ex.values["col"]) == (1, 3)
    ex.click(2, 2)  # the top-left corner of the PNG, over the input panel: no change
    assert (ex.values["row"], ex.values["col"]) == (1, 3) and ex.last_error is None
    right, bottom = ex.painter.data_to_pixel(view.ax, 0.99, 0.99)  # beside the grid: the nearest unit
    ex.click(right - 1, bottom - 1)
    assert (ex.values["row"], ex.values["col"]) == (3, 3) and ex.last_error is None


@pytest.mark.parametrize("kwargs,words", [
    (dict(kernel_size=9), ["kernel_size", "9"]),
    (dict(input_size=2, kernel_size=5), ["kernel_size=5", "empty"]),
    (dict(row=5), ["row", "5"]),
    (dict(in_channels=6, groups=4), ["in_channels", "groups=4"]),
    (dict(output_padding=1), ["output_padding", "transposed"]),
])
def test_factory_rejects_bad_settings(kwargs, words):
    with pytest.raises(ValueError) as info:
        conv_arithmetic_explorer(**kwargs)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("presentation", [False, True])
def test_the_picture_carries_its_legend_and_fits_a_projector_page(presentation):
    ex = conv_arithmetic_explorer(presentation=presentation)
    fig = ex.painter.fig
    assert len(fig.legends) == 1 and "tap reading a zero" in [t.get_text() for t in fig.legends[0].get_texts()]
    assert "tap on a" not in ex.info.value  # no legend in HTML under the picture any more
    width, height = ex.painter.size
    assert width <= 1200 and height <= 720
    box = fig.legends[0].get_window_extent(fig.canvas.get_renderer())
    assert 0 <= box.x0 and box.x1 <= width  # the legend is not cut off
    assert ex.controls["groups"].description == "groups g" and "C_in" in ex.controls["in_channels"].description
