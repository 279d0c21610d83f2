"""layer_costs: per-layer parameters and multiply-adds against hand formulas and torch's own FLOP counter."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from explainer.costs import layer_costs


def macs_from_flop_counter(module, x):
    """torch's own FLOP counter counts 2 FLOPs per multiply-add (bias excluded)."""
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // 2


def test_layer_costs_against_hand_formulas_and_the_flop_counter():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, (1, 3), padding=(0, 1), groups=4, bias=False),
        nn.ConvTranspose2d(8, 4, 2, stride=2),
        nn.Flatten(), nn.Linear(4 * 10 * 12, 5),
    )
    costs = layer_costs(model, (2, 3, 10, 12))
    assert [c.name for c in costs] == ["0", "3", "4", "6"]
    assert [c.kind for c in costs] == ["Conv2d", "Conv2d", "ConvTranspose2d", "Linear"]
    assert [c.output_shape for c in costs] == [(2, 8, 5, 6), (2, 8, 5, 6), (2, 4, 10, 12), (2, 5)]
    assert costs[0].multiply_adds == 2 * 5 * 6 * 8 * 3 * 3 * 3
    assert costs[1].multiply_adds == 2 * 5 * 6 * 8 * 2 * 1 * 3
    assert costs[2].multiply_adds == 2 * 5 * 6 * 8 * 4 * 2 * 2
    assert costs[3].multiply_adds == 2 * 480 * 5
    assert [c.params for c in costs] == [8 * 27 + 8, 8 * 2 * 3, 8 * 4 * 4 + 4, 480 * 5 + 5]
    assert sum(c.multiply_adds for c in costs) == macs_from_flop_counter(model, torch.zeros(2, 3, 10, 12))


def test_layer_costs_leave_the_model_untouched():
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5))
    model.train()
    model[2].eval()
    before = model[1].running_mean.clone()
    layer_costs(model, (1, 2, 6, 6))
    assert model.training and model[1].training and not model[2].training
    assert torch.equal(model[1].running_mean, before)
    assert not model[0]._forward_hooks


def test_layer_costs_follow_model_dtype_and_reject_bad_input():
    model = nn.Conv2d(1, 1, 3).double()
    assert layer_costs(model, (1, 1, 5, 5))[0].output_shape == (1, 1, 3, 3)
    with pytest.raises(TypeError, match="model"):
        layer_costs("resnet", (1, 3, 8, 8))
    with pytest.raises(ValueError, match="input_shape"):
        layer_costs(model, (1, 1, 0, 5))


def test_layer_multiply_adds_counts_one_call_and_refuses_other_layers():
    from explainer.costs import layer_multiply_adds

    conv_t = nn.ConvTranspose2d(3, 4, (2, 3), stride=2, groups=1)
    x = torch.zeros(2, 3, 5, 7)
    # Every input value meets every weight of its input channel: C_out * kh * kw of them.
    assert layer_multiply_adds(conv_t, x, conv_t(x)) == x.numel() * 4 * 2 * 3
    linear = nn.Linear(5, 3)
    y = linear(torch.zeros(4, 5))
    assert layer_multiply_adds(linear, torch.zeros(4, 5), y) == 4 * 3 * 5
    with pytest.raises(TypeError, match="module must be a Conv, ConvTranspose or Linear layer, got ReLU"):
        layer_multiply_adds(nn.ReLU(), x, x)
