"""The training command's dispatch, its progress bar, and ``load_pretrained``'s names."""

from __future__ import annotations

import io

import pytest

from explainer.models import PRETRAINED, load_pretrained
from explainer.train import COMMANDS, main
from explainer.train._progress import Progress


def test_unknown_or_missing_name_names_the_choices():
    for argv in ([], ["vgg"]):
        with pytest.raises(SystemExit) as raised:
            main(argv)
        assert "gates" in str(raised.value) and (repr("vgg") in str(raised.value) or "nothing" in str(raised.value))


def test_every_command_is_a_module_with_main():
    import importlib

    for name in COMMANDS:
        assert callable(importlib.import_module(f"explainer.train.{name}").main)


def test_progress_bar_in_a_log_writes_about_ten_lines_and_the_last_is_full():
    out = io.StringIO()
    bar = Progress(250, "model", stream=out, width=10)
    for i in range(250):
        bar.step(loss=1.0 / (i + 1))
    bar.close()
    lines = out.getvalue().splitlines()
    assert 10 <= len(lines) <= 12
    assert lines[-1].startswith("model [##########] 100%  step 250/250  loss 0.004")


def test_load_pretrained_rejects_unknown_names_listing_them():
    with pytest.raises(ValueError, match="name") as raised:
        load_pretrained("resnet")
    assert all(name in str(raised.value) for name in PRETRAINED)


def test_loading_shipped_weights_leaves_the_global_random_state_alone():
    import torch

    from explainer.models import PRETRAINED

    before = torch.random.get_rng_state()
    for name in PRETRAINED:
        load_pretrained(name)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_save_state_writes_float16_floats_that_load_back_with_weights_only(tmp_path):
    import torch
    from torch import nn

    from explainer.models._weights import save_state

    model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5))  # BatchNorm keeps an int64 counter
    returned = save_state(model, tmp_path / "m.pt")
    stored = torch.load(tmp_path / "m.pt", weights_only=True)
    assert stored.keys() == model.state_dict().keys() == returned.keys()
    for name, value in model.state_dict().items():
        expected = value.half() if value.is_floating_point() else value
        assert stored[name].dtype == expected.dtype and torch.equal(stored[name], expected), name


def test_train_and_save_writes_float16_weights_and_reports_with_them(tmp_path):
    import torch

    from explainer.models._weights import load_state
    from explainer.train._cli import command_parser, train_and_save

    args = command_parser("demo", "A demo.\nMore.", "demo.pt").parse_args(["--out", str(tmp_path / "w")])
    assert args.threads is None
    model = torch.nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.1, 0.2, 0.3], [1 / 3, 2 / 3, 1.0]]))
    trained, took = train_and_save(args, "demo.pt", lambda: model)
    assert trained is model and took >= 0
    saved = load_state(tmp_path / "w" / "demo.pt", "demo")
    assert saved["weight"].dtype == torch.float16
    # The model now holds exactly the shipped (float16-rounded) numbers, in its own dtype.
    assert torch.equal(model.weight, saved["weight"].float()) and model.weight.dtype == torch.float32
