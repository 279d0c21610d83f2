"""Gradient flow against the nn.Module stack run by plain autograd and slow per-unit loops (float64);
the residual block's identity fallback; initialisations against PyTorch's own bounds and gains; the
shipped degradation curves against a short seeded re-run."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from explainer.activations import SATURATION
from explainer.depth import (
    CLASSES,
    DEGRADATION_DEFAULTS,
    SHIPPED_DEPTHS,
    Block,
    build_stack,
    degradation_curves,
    degradation_net,
    gradient_flow,
    init_weights,
    shipped_degradation,
    stack_weights,
)

CASES = [("relu", "default", "none", False), ("relu", "kaiming", "batch", True), ("tanh", "xavier", "layer", True),
         ("sigmoid", "default", "batch", False), ("prelu", "kaiming", "none", True),
         ("gelu", "xavier", "none", False), ("leaky_relu", "default", "layer", False),
         ("elu", "kaiming", "none", True), ("silu", "default", "batch", True)]


@pytest.mark.parametrize("activation,init,norm,residual", CASES)
def test_gradient_flow_matches_the_module_stack_and_slow_loops(activation, init, norm, residual):
    depth, width, batch, seed = 5, 7, 9, 3
    flow = gradient_flow(depth, width, activation, init, norm, residual, batch, seed, dtype=torch.float64)
    stack = build_stack(depth, width, activation, init, norm, residual, seed, dtype=torch.float64).train()
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(batch, width, generator=g, dtype=torch.float64)
    labels = torch.randint(0, CLASSES, (batch,), generator=g)
    logits, pre, post = stack.trace(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    assert flow.loss == pytest.approx(float(loss.detach()), rel=1e-12)
    expected = torch.stack([block.layer.weight.grad.norm() for block in stack.blocks])
    torch.testing.assert_close(flow.grad_norms, expected)
    torch.testing.assert_close(flow.outputs, torch.stack(post).detach())
    for layer in range(depth):  # statistics by hand, one unit at a time
        h, z = post[layer].detach(), pre[layer].detach()
        values = [float(h[i, j]) for i in range(batch) for j in range(width)]
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        dead = saturated = 0
        act = stack.blocks[layer].activation
        for i in range(batch):
            for j in range(width):
                zz = z[i, j].clone().requires_grad_(True)
                out = act(zz.view(1)).squeeze()
                (d,) = torch.autograd.grad(out, zz)
                if float(out.detach()) == 0 and float(d) == 0:
                    dead += 1
                elif abs(float(d)) < SATURATION:
                    saturated += 1
        assert float(flow.mean[layer]) == pytest.approx(mean, abs=1e-12)
        assert float(flow.std[layer]) == pytest.approx(std, rel=1e-10)
        assert float(flow.dead[layer]) == pytest.approx(dead / (batch * width))
        assert float(flow.saturated[layer]) == pytest.approx(saturated / (batch * width))


def test_stack_weights_are_the_modules_weights_and_plain_and_residual_share_them():
    head_w, head_b, weights, biases = stack_weights(4, 6, "tanh", "xavier", seed=5)
    plain, residual = (build_stack(4, 6, "tanh", "xavier", "none", r, seed=5) for r in (False, True))
    for stack in (plain, residual):
        torch.testing.assert_close(stack.head.weight, head_w, rtol=0, atol=0)
        torch.testing.assert_close(stack.head.bias, head_b, rtol=0, atol=0)
        blocks = stack.blocks
        torch.testing.assert_close(torch.stack([b.layer.weight for b in blocks]).detach(), weights, rtol=0, atol=0)
        torch.testing.assert_close(torch.stack([b.layer.bias for b in blocks]).detach(), biases, rtol=0, atol=0)


@pytest.mark.parametrize("init", ["default", "xavier", "kaiming"])
def test_stack_weights_kept_between_calls_are_the_modules_weights_in_any_order(init):
    """Draws kept and extended across calls (shallow, deeper, shallower, again) give the modules' numbers,
    and a caller changing the returned tensors in place changes nothing for the next call."""
    for depth in (3, 7, 2, 7, 5):
        head_w, head_b, weights, biases = stack_weights(depth, 6, "relu", init, seed=11)
        stack = build_stack(depth, 6, "relu", init, "none", False, seed=11)
        torch.testing.assert_close(stack.head.weight, head_w, rtol=0, atol=0)
        torch.testing.assert_close(stack.head.bias, head_b, rtol=0, atol=0)
        blocks = stack.blocks
        torch.testing.assert_close(torch.stack([b.layer.weight for b in blocks]).detach(), weights, rtol=0, atol=0)
        torch.testing.assert_close(torch.stack([b.layer.bias for b in blocks]).detach(), biases, rtol=0, atol=0)
        for tensor in (head_w, head_b, weights, biases):
            tensor.add_(1.0)


def test_stack_weights_too_large_to_keep_are_drawn_afresh_with_the_same_numbers(monkeypatch):
    import explainer.depth as depth_module

    kept = stack_weights(5, 6, "relu", "default", seed=4)
    monkeypatch.setattr(depth_module, "_KEPT_NUMBERS", 10)  # now nothing is small enough to keep
    afresh = stack_weights(5, 6, "relu", "default", seed=4)
    for a, b in zip(kept, afresh, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_deeper_stack_starts_with_the_shallower_ones_head_and_blocks():
    short, deep = stack_weights(3, 5, seed=2), stack_weights(8, 5, seed=2)
    for a, b in zip(short, deep, strict=True):
        torch.testing.assert_close(a, b[: len(a)], rtol=0, atol=0)


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 6), width=st.integers(1, 9), seed=st.integers(0, 1000))
def test_a_residual_block_with_zero_weights_is_the_identity_on_relu_outputs(batch, width, seed):
    """Add, then activate: with W = 0 the block gives relu(x), which is x for x >= 0 (a ReLU's output)."""
    layer = nn.Linear(width, width, dtype=torch.float64, device="meta").to_empty(device="cpu")
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    block = Block(layer, nn.Identity(), nn.ReLU(), residual=True)
    x = torch.randn(batch, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).relu()
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)
    plain = Block(layer, nn.Identity(), nn.ReLU(), residual=False)
    assert not plain(x).any()  # the plain block has nothing to fall back to


@pytest.mark.parametrize("init,activation", [("default", "relu"), ("xavier", "tanh"), ("kaiming", "relu"),
                                             ("kaiming", "leaky_relu"), ("kaiming", "tanh")])
def test_initialisations_have_pytorchs_spreads(init, activation):
    fan_out, fan_in = 300, 257
    w, b = init_weights((fan_out, fan_in), init, activation, torch.Generator().manual_seed(0), torch.float64)
    if init == "default":  # nn.Linear's reset_parameters: weight and bias U(±1/sqrt(fan_in))
        ref = nn.Linear(fan_in, fan_out, dtype=torch.float64, device="meta").to_empty(device="cpu")
        nn.init.kaiming_uniform_(ref.weight, a=math.sqrt(5), generator=torch.Generator().manual_seed(1))
        bound = 1 / math.sqrt(fan_in)
        assert float(ref.weight.detach().abs().max()) <= bound and float(w.abs().max()) <= bound
        assert float(w.std()) == pytest.approx(float(ref.weight.detach().std()), rel=0.02)
        assert 0 < float(b.abs().max()) <= bound
        return
    assert not b.any()
    if init == "xavier":
        ref = torch.empty(fan_out, fan_in, dtype=torch.float64)
        nn.init.xavier_uniform_(ref, generator=torch.Generator().manual_seed(1))
        assert float(w.abs().max()) <= math.sqrt(6 / (fan_in + fan_out))
        assert float(w.std()) == pytest.approx(float(ref.std()), rel=0.02)
        return
    slope = 0.01 if activation == "leaky_relu" else 0.0
    ref = torch.empty(fan_out, fan_in, dtype=torch.float64)
    nn.init.kaiming_normal_(ref, a=slope, nonlinearity=activation, generator=torch.Generator().manual_seed(1))
    assert float(w.std()) == pytest.approx(float(ref.std()), rel=0.02)


def test_sigmoid_gradients_vanish_and_a_relu_shortcut_carries_them():
    plain = gradient_flow(depth=24, activation="sigmoid")
    assert (plain.grad_norms[1:] > plain.grad_norms[:-1]).all()  # smaller at every step down
    relu_plain, relu_res = (gradient_flow(depth=24, activation="relu", residual=r) for r in (False, True))
    assert float(relu_res.grad_norms[0]) > 1e4 * float(relu_plain.grad_norms[0])


def test_the_global_random_state_is_left_alone():
    state = torch.random.get_rng_state()
    gradient_flow(depth=3, width=4, norm="batch")
    degradation_net(2, "batch", True)
    assert torch.equal(state, torch.random.get_rng_state())


def test_the_shipped_curves_begin_as_a_short_seeded_rerun_does():
    shipped = shipped_degradation()
    d = DEGRADATION_DEFAULTS
    assert set(shipped) == {(depth, d["norm"]) for depth in SHIPPED_DEPTHS}
    for curves in shipped.values():
        assert curves.seed == d["seed"] and curves.plain.shape == curves.residual.shape == (d["steps"],)
    calls = []
    rerun = degradation_curves(d["depth"], d["norm"], steps=5, seed=d["seed"], progress=lambda *a: calls.append(a))
    default = shipped[(d["depth"], d["norm"])]
    torch.testing.assert_close(rerun.plain, default.plain[:5], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(rerun.residual, default.residual[:5], rtol=1e-5, atol=1e-6)
    assert calls == [(k, 10) for k in range(1, 11)]


def test_the_shipped_curves_show_the_degradation():
    """Deeper plain trains worse than shallow plain; the residual network of the same depth does better."""
    shipped = shipped_degradation()
    norm, tail = DEGRADATION_DEFAULTS["norm"], DEGRADATION_DEFAULTS["steps"] // 10
    shallow, deep = (shipped[(depth, norm)] for depth in SHIPPED_DEPTHS)
    end = {name: float(curve[-tail:].mean()) for name, curve in
           (("shallow plain", shallow.plain), ("deep plain", deep.plain), ("deep residual", deep.residual))}
    assert end["shallow plain"] < end["deep plain"] and end["deep residual"] < end["deep plain"], end


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="norm"):
        gradient_flow(norm="group")
    with pytest.raises(ValueError, match="init"):
        gradient_flow(init="orthogonal")
    with pytest.raises(ValueError, match="depth"):
        gradient_flow(depth=0)
    with pytest.raises(ValueError, match="batch"):
        gradient_flow(batch=1)
    with pytest.raises(ValueError, match="norm"):
        degradation_net(4, "layer")
    with pytest.raises(ValueError, match="steps"):
        degradation_curves(steps=0)
