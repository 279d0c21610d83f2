"""Export: save_png writes the picture shown; save_gif sweeps one control into an animated GIF,
restores the explorer, and refuses bad input before writing anything."""

from __future__ import annotations

import io
import sys

import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")

import explainer.explorers as explorers  # noqa: E402
from explainer.explorers._kit import Explorer, int_slider  # noqa: E402
from explainer.paint import Painter, new_figure  # noqa: E402

FACTORIES = list(explorers.__all__)
# A telling sweep per explorer (values that all change the picture); an explorer not named here is
# swept over the first three positions of its first slider (see _sweep).
SWEEPS = {
    "conv_arithmetic_explorer": ("stride", [1, 2, 3]),
    "checkerboard_explorer": ("kernel_size", [3, 4, 5]),
    "receptive_field_explorer": ("depth", [1, 2, 3, 4]),
    "reference_networks_explorer": ("network", None),  # every option
    "stacked_convs_explorer": ("depth", [1, 2, 3]),
    "dilation_explorer": ("dilation", [1, 2, 3, 4]),
    "deformation_explorer": ("angle", [0.0, 30.0, 60.0]),
    "se_explorer": ("reduction", None),
    "trained_gates_explorer": ("image", [0, 1, 2]),
    "eca_explorer": ("channels", None),
    "gate_cost_explorer": ("channels", None),
    "self_attention_explorer": ("head_dim", [2, 8, 32]),
    "positional_encoding_explorer": ("dim", [16, 32, 64]),
    "word_attention_explorer": ("weights", None),
    "attention_patterns_explorer": ("n", [16, 24, 32]),
    "attention_cost_explorer": ("n", [256, 1024, 4096]),
    "linear_attention_explorer": ("n", [8, 12, 16]),
    "conv_attention_explorer": ("sharpness", [1.0, 3.0, 10.0]),
    "cnn_families_explorer": ("network", None),
    "transformer_block_explorer": ("seq_len", [8, 64, 512]),
    "decoding_explorer": ("digits", ["3 1 4 1 5 9", "2 7 1 8", "5"]),
    "degradation_explorer": ("depth", [4, 20]),  # the two shipped settings: no training in tests
}


def _sweep(ex, factory: str) -> tuple[str, list]:
    """The control and values to sweep: SWEEPS', or the first slider's first three positions."""
    if factory in SWEEPS:
        control, values = SWEEPS[factory]
        return control, values or [o[1] if isinstance(o, tuple) else o for o in ex.controls[control].options]
    name, slider = next((n, c) for n, c in ex.controls.items() if hasattr(c, "min") and not c.disabled)
    step = slider.step or 1
    return name, [type(slider.value)(slider.min + i * step) for i in range(3)]


def _pixels(image: bytes | Image.Image) -> np.ndarray:
    if isinstance(image, bytes):
        image = Image.open(io.BytesIO(image))
    return np.asarray(image.convert("RGB")).astype(int)


def _gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        frames = []
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append(_pixels(gif))
        return frames


class Squares(Explorer):
    """A tiny explorer: an n x n block; n == fail_on raises in render."""

    def __init__(self, fail_on: int | None = None):
        fig = new_figure(2, 2, dpi=40)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        self.picture = ax.imshow(np.zeros((6, 6)), vmin=0, vmax=1)
        self.fail_on = fail_on
        painter = Painter(fig)
        painter.animate(self.picture)
        super().__init__({"n": int_slider("n", 2, 1, 6)}, painter)

    def render(self, values):
        if values["n"] == self.fail_on:
            raise RuntimeError("fails on purpose")
        block = np.zeros((6, 6))
        block[: values["n"], : values["n"]] = 1
        self.picture.set_data(block)


@pytest.mark.parametrize("factory", FACTORIES)
def test_save_png_writes_the_pixels_shown(factory, tmp_path):
    ex = getattr(explorers, factory)()
    path = ex.save_png(tmp_path / "picture.png")
    assert path == tmp_path / "picture.png"
    with Image.open(path) as saved:
        assert saved.format == "PNG"
        assert np.array_equal(_pixels(saved), _pixels(ex.png()))


@pytest.mark.parametrize("factory", FACTORIES)
def test_save_gif_has_one_frame_per_value_and_restores_the_explorer(factory, tmp_path):
    ex = getattr(explorers, factory)()
    control, values = _sweep(ex, factory)
    before_values, before_png = ex.values, ex.png()
    path = ex.save_gif(tmp_path / "sweep.gif", control, values, fps=5)
    assert ex.values == before_values and ex.png() == before_png and ex.last_error is None
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == len(values)
        assert gif.size == ex.painter.size
        assert gif.info["duration"] == 200 and gif.info["loop"] == 0
    frames = _gif_frames(path)
    assert all(not np.array_equal(a, b) for a, b in zip(frames, frames[1:]))
    # Each frame is the explorer's picture for that value (up to GIF's 256-colour palette, which
    # Pillow 10 picks less closely than Pillow 13): the animated artists are in it, not only the
    # static background.
    for value, frame in zip(values, frames):
        ex.set(**{control: value})
        shown = _pixels(ex.png())
        assert np.mean(np.abs(frame - shown).max(axis=-1) > 40) < 0.005, value


def test_save_gif_writes_nothing_for_bad_input(tmp_path):
    ex = explorers.conv_arithmetic_explorer()
    path = tmp_path / "bad.gif"
    before_values, before_png = ex.values, ex.png()
    with pytest.raises(ValueError, match="unknown control 'strides'"):
        ex.save_gif(path, "strides", [1, 2])
    with pytest.raises(ValueError, match="non-empty sequence"):
        ex.save_gif(path, "stride", [])
    with pytest.raises(ValueError, match="non-empty sequence"):
        ex.save_gif(path, "stride", 2)
    with pytest.raises(ValueError, match="fps must be a positive number"):
        ex.save_gif(path, "stride", [1, 2], fps=0)
    # 9 is beyond the slider: refused after frames for 1 and 2 were grabbed, still nothing written.
    with pytest.raises(ValueError, match=r"cannot sweep 'stride' over \[1, 2, 9\]: stride=9 is not allowed"):
        ex.save_gif(path, "stride", [1, 2, 9])
    assert not path.exists()
    assert ex.values == before_values and ex.png() == before_png and ex.last_error is None


def test_save_gif_reports_a_failing_update_and_recovers(tmp_path):
    ex = Squares(fail_on=4)
    path = tmp_path / "fails.gif"
    with pytest.raises(ValueError, match=r"save_gif: n=4 \(of \[1, 4, 5\]\) failed: RuntimeError: fails on purpose"):
        ex.save_gif(path, "n", [1, 4, 5])
    assert not path.exists()
    assert ex.values == {"n": 2} and ex.last_error is None


def test_save_gif_frame_size_ignores_tight_bbox_setting(tmp_path):
    ex = Squares()
    with matplotlib.rc_context({"savefig.bbox": "tight"}):
        path = ex.save_gif(tmp_path / "tight.gif", "n", [1, 3, 6])
    with Image.open(path) as gif:
        assert gif.size == ex.painter.size and gif.n_frames == 3


def test_save_gif_needs_an_existing_folder(tmp_path):
    ex = Squares()
    with pytest.raises(FileNotFoundError):
        ex.save_gif(tmp_path / "missing" / "x.gif", "n", [1, 2])
    assert ex.values == {"n": 2}


def test_make_pictures_script_writes_readme_sized_pictures(tmp_path, monkeypatch):
    import importlib.util
    from pathlib import Path

    import torch

    script = Path(__file__).resolve().parents[1] / "scripts" / "make_pictures.py"
    spec = importlib.util.spec_from_file_location("make_pictures", script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_pictures", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    try:
        assert module.main(["--out", str(tmp_path), "--only", "stacked_convs"]) == 0
    finally:
        torch.set_num_threads(threads)
    (picture,) = [p for p in module.PICTURES if p.name == "stacked_convs"]
    assert {p.name for p in module.PICTURES} >= {"conv_arithmetic", "receptive_field"}
    assert {p.factory for p in module.PICTURES} == set(FACTORIES)  # every explorer is pictured
    with Image.open(tmp_path / "stacked_convs.gif") as gif:
        assert gif.n_frames == len(picture.sweep[1])
    assert (tmp_path / "stacked_convs.gif").stat().st_size < module.MAX_GIF_BYTES
    with Image.open(tmp_path / "stacked_convs.png") as png:
        assert png.format == "PNG"
