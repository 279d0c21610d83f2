"""SE, CBAM and ECA against hand-written tensor formulas in float64, parameter counts, kernel sizes, errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.gating import (
    CBAM,
    ECA,
    GATES,
    SqueezeExcitation,
    eca_kernel_size,
    gate_multiply_adds,
    gate_params,
    make_gate,
    se_steps,
)


def _random(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    for p in module.parameters():
        p.data = torch.randn(p.shape, generator=g, dtype=torch.float64)
    return module.double()


def _x(b, c, h, w, seed=1):
    return torch.randn(b, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def se_reference(x, w1, w2):
    z = x.mean(dim=(2, 3))  # (B, C)
    g = 1 / (1 + torch.exp(-(torch.clamp(z @ w1.T, min=0) @ w2.T)))
    return x * g[:, :, None, None], g


def cbam_reference(x, w1, w2, ws):
    mlp = lambda v: torch.clamp(v @ w1.T, min=0) @ w2.T  # noqa: E731
    avg = x.mean(dim=(2, 3))
    mx = x.flatten(2).max(dim=2).values
    gc = torch.sigmoid(mlp(avg) + mlp(mx))
    y = x * gc[:, :, None, None]
    maps = torch.stack([y.mean(1), y.max(1).values], 1)  # (B, 2, H, W)
    k = ws.shape[-1]
    padded = F.pad(maps, (k // 2,) * 4)
    b, _, h, w = maps.shape
    logits = torch.zeros(b, h, w, dtype=x.dtype)
    for i in range(h):  # slow loop: correlation of the 2-channel map with the kernel
        for j in range(w):
            logits[:, i, j] = (padded[:, :, i:i + k, j:j + k] * ws[0]).sum(dim=(1, 2, 3))
    gs = torch.sigmoid(logits)
    return y * gs[:, None], gc, gs


def eca_reference(x, kernel):
    z = x.mean(dim=(2, 3))  # (B, C)
    k = kernel.numel()
    padded = F.pad(z, (k // 2, k // 2))
    c = z.shape[1]
    logits = torch.stack([(padded[:, i:i + k] * kernel).sum(1) for i in range(c)], 1)
    g = torch.sigmoid(logits)
    return x * g[:, :, None, None], g


@pytest.mark.parametrize("b,c,h,w,r", [(1, 8, 5, 3, 4), (3, 12, 7, 4, 3), (2, 6, 1, 9, 6)])
def test_se_matches_the_formula(b, c, h, w, r):
    se = _random(SqueezeExcitation(c, r))
    x = _x(b, c, h, w)
    expected, g = se_reference(x, se.fc1.weight, se.fc2.weight)
    torch.testing.assert_close(se(x), expected)
    torch.testing.assert_close(se.gates(x).channel, g)
    assert se.gates(x).spatial is None
    steps = se_steps(se, x)
    torch.testing.assert_close(steps.output, expected)
    assert steps.hidden.shape == (b, c // r) and (steps.hidden >= 0).all()


@pytest.mark.parametrize("b,c,h,w,r,k", [(1, 8, 5, 3, 4, 3), (2, 12, 7, 4, 3, 7), (3, 5, 9, 6, 5, 5)])
def test_cbam_matches_the_formula_channel_first(b, c, h, w, r, k):
    cbam = _random(CBAM(c, r, k))
    x = _x(b, c, h, w)
    w1, w2 = cbam.mlp[0].weight[:, :, 0, 0], cbam.mlp[2].weight[:, :, 0, 0]
    expected, gc, gs = cbam_reference(x, w1, w2, cbam.spatial.weight)
    torch.testing.assert_close(cbam(x), expected)
    gates = cbam.gates(x)
    torch.testing.assert_close(gates.channel, gc)
    torch.testing.assert_close(gates.spatial, gs)
    assert gates.spatial.shape == (b, h, w)
    torch.testing.assert_close(cbam(x), x * gates.channel[..., None, None] * gates.spatial[:, None])


@pytest.mark.parametrize("b,c,h,w", [(1, 7, 5, 3), (2, 64, 3, 4), (3, 200, 2, 5)])
def test_eca_matches_the_formula(b, c, h, w):
    eca = _random(ECA(c))
    x = _x(b, c, h, w)
    expected, g = eca_reference(x, eca.conv.weight.flatten())
    torch.testing.assert_close(eca(x), expected)
    torch.testing.assert_close(eca.gates(x).channel, g)


def test_eca_kernel_sizes_of_the_paper():
    # ResNet stage widths 64..2048 with gamma=2, b=1: k = 3, 5, 5, 5, 5, 7 (the ECA paper's ResNet widths)
    assert [eca_kernel_size(c) for c in (64, 128, 256, 512, 1024, 2048)] == [3, 5, 5, 5, 5, 7]
    assert eca_kernel_size(64, gamma=1, b=0) == 7  # 6 -> made odd
    assert eca_kernel_size(1) == 1


@given(c=st.integers(1, 4096), gamma=st.integers(1, 4), b=st.integers(0, 4))
@settings(max_examples=50, deadline=None)
def test_eca_kernel_size_is_odd_and_follows_the_formula(c, gamma, b):
    k = eca_kernel_size(c, gamma, b)
    t = int(abs(math.log2(c) / gamma + b / gamma))
    assert k % 2 == 1 and k in (t, t + 1)


@pytest.mark.parametrize("c,r", [(16, 16), (64, 16), (33, 4), (8, 1)])
def test_parameter_counts(c, r):
    assert n_params(SqueezeExcitation(c, r)) == 2 * c * (c // r) == gate_params("se", c, r)
    for k in (3, 7):
        assert n_params(CBAM(c, r, k)) == 2 * c * (c // r) + 2 * k * k == gate_params("cbam", c, r, k)
    assert n_params(ECA(c)) == eca_kernel_size(c) == gate_params("eca", c, r)
    assert gate_params("none", c, r) == 0


def test_multiply_adds_count_the_layers():
    c, r, h, w = 32, 4, 5, 7
    assert gate_multiply_adds("se", c, (h, w), r) == 2 * c * 8 + c * h * w
    assert gate_multiply_adds("cbam", c, (h, w), r, 7) == 4 * c * 8 + 2 * 49 * h * w + 2 * c * h * w
    assert gate_multiply_adds("eca", c, (h, w), r) == 3 * c + c * h * w


def _inside(g, open_interval):
    return ((g > 0) & (g < 1)).all() if open_interval else ((g >= 0) & (g <= 1)).all()


@given(b=st.integers(1, 3), c=st.integers(4, 20), h=st.integers(1, 7), w=st.integers(1, 7),
       kind=st.sampled_from(["se", "cbam", "eca"]), seed=st.integers(0, 1000), unit_weights=st.booleans())
@settings(max_examples=60, deadline=None)
def test_gates_lie_in_the_unit_interval_and_forward_is_their_product(b, c, h, w, kind, seed, unit_weights):
    # A sigmoid gate lies in the open interval (0, 1) in exact arithmetic, but float64 rounds
    # sigmoid(z) to exactly 1.0 for z above ~36.7, and standard-normal weights can reach such logits
    # (b=2, c=14, h=w=1, cbam, seed=0 did: two channel gates were 1.0). So with unit weights the law
    # is the closed interval; with weights at PyTorch's initialisation scale (std 1/sqrt(fan_in)),
    # where logits stay far below 36, it is the open one.
    gate = _random(make_gate(kind, c, reduction=4, spatial_kernel_size=3), seed)
    if not unit_weights:
        for p in gate.parameters():
            p.data /= math.sqrt(p[0].numel())
    x = _x(b, c, h, w, seed) * 0.5
    g = gate.gates(x)
    assert g.channel.shape == (b, c)
    assert _inside(g.channel, open_interval=not unit_weights)
    expected = x * g.channel[..., None, None]
    if g.spatial is not None:
        assert g.spatial.shape == (b, h, w) and _inside(g.spatial, open_interval=not unit_weights)
        expected = expected * g.spatial[:, None]
    y = gate(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    torch.testing.assert_close(y, expected)


def test_gates_are_differentiable():
    for kind in ("se", "cbam", "eca"):
        gate = _random(make_gate(kind, 6, reduction=3, spatial_kernel_size=3))
        x = _x(2, 6, 3, 5).requires_grad_()
        assert torch.autograd.gradcheck(gate, (x,))


def test_make_gate_swaps_with_one_vocabulary():
    assert make_gate("none", 8) is None
    assert [type(make_gate(k, 32, 8)).__name__ for k in GATES[1:]] == ["SqueezeExcitation", "CBAM", "ECA"]


def test_clear_errors():
    with pytest.raises(ValueError, match="channels must be >= reduction.*channels=8, reduction=16"):
        SqueezeExcitation(8)
    with pytest.raises(ValueError, match="channels must be >= reduction"):
        CBAM(4, 16)
    with pytest.raises(ValueError, match="spatial_kernel_size must be odd.*got 4"):
        CBAM(32, 4, 4)
    with pytest.raises(ValueError, match="spatial_kernel_size must be an integer >= 1, got 0"):
        CBAM(32, 4, 0)
    with pytest.raises(ValueError, match="gamma must be an integer >= 1, got 0"):
        eca_kernel_size(64, gamma=0)
    with pytest.raises(TypeError, match="channels must be an integer"):
        ECA(64.0)
    with pytest.raises(ValueError, match="x must have 4 dimensions, got shape \\(8, 5, 5\\)"):
        SqueezeExcitation(8, 4)(torch.zeros(8, 5, 5))
    with pytest.raises(ValueError, match="x must have 8 channels"):
        ECA(8)(torch.zeros(1, 7, 5, 5))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        CBAM(8, 4).gates([[1.0]])
    with pytest.raises(ValueError, match="kind must be one of"):
        make_gate("sk", 8)
    with pytest.raises(TypeError, match="block must be a SqueezeExcitation"):
        se_steps(ECA(8), torch.zeros(1, 8, 2, 2))


def test_we_drop_the_biases_that_the_reference_se_keeps():
    """The lesson says "we drop the biases": the reference SE (Hu et al.'s code, timm's ``SEModule``) has a
    bias in both layers, C//r + C more parameters; ours has exactly 2 C (C//r), and a zero map gets
    every gate sigmoid(0) = 1/2 (with biases it would get sigmoid(b2 + W2 relu(b1)))."""
    c, r = 256, 16
    reference = torch.nn.Sequential(torch.nn.Linear(c, c // r), torch.nn.ReLU(), torch.nn.Linear(c // r, c))
    assert n_params(SqueezeExcitation(c, r)) == 2 * c * (c // r) == 8192
    assert n_params(reference) == 2 * c * (c // r) + c // r + c == 8464
    zeros = torch.zeros(2, c, 3, 5)
    for kind in ("se", "cbam", "eca"):
        gates = _random(make_gate(kind, c, r)).float().gates(zeros)
        assert torch.equal(gates.channel, torch.full((2, c), 0.5)), kind


def test_the_sigmoids_slope_peaks_at_zero_and_vanishes_far_from_it():
    """Our notes say the slope goes to 0 as x -> 0; in fact sigma'(0) = 1/4 is its maximum, and it
    vanishes only for large |x| (a saturated gate passes almost no gradient)."""
    x = (torch.arange(-2400, 2401, dtype=torch.float64) / 200).requires_grad_()  # -12 .. 12, with 0
    (slope,) = torch.autograd.grad(torch.sigmoid(x).sum(), x)
    s = torch.sigmoid(x.detach())
    torch.testing.assert_close(slope, s * (1 - s), rtol=1e-12, atol=0)
    assert x[slope.argmax()] == 0 and slope.max() == 0.25
    assert slope[x.detach().abs() >= 10].max() < 5e-5
    assert (slope[x.detach() > 0].diff() < 0).all()  # falls all the way out, and symmetrically
    torch.testing.assert_close(slope, slope.flip(0), rtol=0, atol=1e-15)
