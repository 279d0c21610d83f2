"""Activation curves against finite differences and PyTorch's functional ops in float64; dead and
saturated shares against the normal CDF and a seeded Monte Carlo loop; the sigmoid's derivative peak."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.activations import (
    ACTIVATIONS,
    SATURATION,
    activation_curve,
    activation_module,
    dead_and_saturated,
)

FUNCTIONAL = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu, "leaky_relu": F.leaky_relu,
              "prelu": lambda x: torch.where(x >= 0, x, 0.25 * x), "elu": F.elu, "silu": F.silu, "gelu": F.gelu}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_values_match_functional_ops_and_derivatives_match_central_differences(name):
    # Points off the kinks at 0 (where ReLU-likes have no derivative to approximate).
    x = torch.linspace(-6.03, 5.97, 397, dtype=torch.float64)
    curve = activation_curve(name, x)
    assert curve.value.dtype == torch.float64 and curve.value.shape == x.shape
    torch.testing.assert_close(curve.value, FUNCTIONAL[name](x))
    h = 1e-6
    slope = (FUNCTIONAL[name](x + h) - FUNCTIONAL[name](x - h)) / (2 * h)
    torch.testing.assert_close(curve.derivative, slope, atol=1e-7, rtol=1e-6)


def test_the_sigmoid_derivative_peaks_at_a_quarter_at_zero_and_vanishes_far_away():
    """Our notes say σ'(x) -> 0 as x -> 0; in fact σ'(0) = 1/4 is its maximum."""
    x = torch.linspace(-12, 12, 2401, dtype=torch.float64)  # 0 is a grid point
    d = activation_curve("sigmoid", x).derivative
    assert int(d.argmax()) == 1200 and float(d.max()) == pytest.approx(0.25, abs=1e-15)
    assert float(d[0]) < 1e-5 and float(d[-1]) < 1e-5


@settings(max_examples=40, deadline=None)
@given(mean=st.floats(-4, 4), std=st.floats(0.1, 5))
def test_relu_dead_share_is_the_normal_cdf_below_zero(mean, std):
    expected = float(torch.special.ndtr(torch.tensor(-mean / std, dtype=torch.float64)))
    result = dead_and_saturated("relu", mean, std)
    assert result.dead == pytest.approx(expected, abs=2e-4)
    assert result.saturated == 0.0


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(ACTIVATIONS), mean=st.floats(-4, 4), std=st.floats(0.1, 5))
def test_shares_are_probabilities_and_only_relu_kills(name, mean, std):
    r = dead_and_saturated(name, mean, std)
    assert 0 <= r.dead and 0 <= r.saturated and r.dead + r.saturated <= 1 + 1e-12
    if name not in ("relu", "gelu"):
        assert r.dead == 0.0  # they never output exactly 0 where their derivative is 0


@pytest.mark.parametrize("name,mean,std", [("sigmoid", 0.0, 4.0), ("tanh", 1.0, 2.0), ("elu", -3.0, 2.0),
                                           ("gelu", -1.0, 1.5), ("relu", 0.7, 0.9)])
def test_shares_match_a_seeded_monte_carlo_loop(name, mean, std):
    g = torch.Generator().manual_seed(3)
    z = mean + std * torch.randn(200_000, generator=g, dtype=torch.float64)
    module = activation_module(name).double()
    dead = saturated = 0
    for chunk in z.split(50_000):  # slow reference: autograd per chunk, counting by hand
        chunk = chunk.clone().requires_grad_(True)
        (d,) = torch.autograd.grad(module(chunk).sum(), chunk)
        flat = (module(chunk) == 0) & (d == 0)
        dead += int(flat.sum())
        saturated += int((~flat & (d.abs() < SATURATION)).sum())
    r = dead_and_saturated(name, mean, std)
    assert r.dead == pytest.approx(dead / len(z), abs=4e-3)
    assert r.saturated == pytest.approx(saturated / len(z), abs=4e-3)


def test_wider_inputs_saturate_the_sigmoid_more():
    shares = [dead_and_saturated("sigmoid", 0.0, s).saturated for s in (1.0, 3.0, 6.0, 12.0)]
    assert shares == sorted(shares) and shares[0] < 1e-3 < shares[-1]


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="activation"):
        activation_module("swish2")
    with pytest.raises(ValueError, match="std must be > 0"):
        dead_and_saturated("relu", 0.0, 0.0)
    with pytest.raises(ValueError, match="mean"):
        dead_and_saturated("relu", math.nan, 1.0)
    with pytest.raises(ValueError, match="threshold"):
        dead_and_saturated("relu", 0.0, 1.0, threshold=2.0)
    with pytest.raises(TypeError, match="floating"):
        activation_curve("relu", torch.arange(3))
    with pytest.raises(ValueError, match="1 dimensions"):
        activation_curve("relu", torch.zeros(2, 2))
