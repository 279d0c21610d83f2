"""Gate analysis against slow references in float64: class profiles, the linear probe, gates on vs off a region."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.gate_analysis import class_gate_profiles, gate_contrast, linear_probe


def _data(n, c, k, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, generator=g, dtype=torch.float64), torch.randint(k, (n,), generator=g)


def test_class_profiles_match_a_loop():
    gates, labels = _data(37, 11, 5, 0)
    labels[labels == 3] = 4  # class 3 left empty
    p = class_gate_profiles(gates, labels, 5)
    assert p.mean.shape == (5, 11) and p.mean.dtype == torch.float64
    for k in range(5):
        rows = [gates[i] for i in range(37) if int(labels[i]) == k]
        assert int(p.counts[k]) == len(rows)
        for ch in range(11):
            if rows:
                assert float(p.mean[k, ch]) == pytest.approx(sum(float(r[ch]) for r in rows) / len(rows), rel=1e-12)
            else:
                assert p.mean[k, ch].isnan()
    for ch in range(11):
        values = [float(p.mean[k, ch]) for k in range(5) if k != 3]
        assert float(p.spread[ch]) == pytest.approx(max(values) - min(values), rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 7), st.integers(1, 5), st.integers(0, 1000))
def test_class_means_weighted_by_counts_give_the_overall_mean(n, c, k, seed):
    gates, labels = _data(n, c, k, seed)
    p = class_gate_profiles(gates, labels, k)
    present = p.counts > 0
    overall = (p.mean[present] * p.counts[present, None]).sum(0) / n
    torch.testing.assert_close(overall, gates.mean(0))
    assert int(p.counts.sum()) == n


def test_probe_solves_the_ridge_problem_like_lstsq_and_autograd():
    x, y = _data(53, 9, 4, 1)
    x[:, 2] = 0.5  # a constant channel: the ridge keeps the solve well posed
    x_test, y_test = _data(31, 9, 4, 2)
    ridge = 0.01
    probe = linear_probe(x, y, x_test, y_test, 4, ridge=ridge)
    # oracle 1: the same minimum from lstsq on the augmented system [X 1; sqrt(ridge N) I 0] [W; b] = [Y; 0]
    onehot = torch.nn.functional.one_hot(y, 4).double()
    a = torch.cat([torch.cat([x, torch.ones(53, 1, dtype=x.dtype)], 1),
                   torch.cat([(ridge * 53) ** 0.5 * torch.eye(9, dtype=x.dtype), torch.zeros(9, 1, dtype=x.dtype)], 1)])
    b = torch.cat([onehot, torch.zeros(9, 4, dtype=x.dtype)])
    solution = torch.linalg.lstsq(a, b).solution  # (10, 4)
    torch.testing.assert_close(probe.weight, solution[:9])
    torch.testing.assert_close(probe.bias, solution[9])
    # oracle 2: autograd finds the loss flat at the probe's weights
    w, bias = probe.weight.clone().requires_grad_(), probe.bias.clone().requires_grad_()
    loss = ((x @ w + bias - onehot) ** 2).sum() + ridge * 53 * (w**2).sum()
    grads = torch.autograd.grad(loss, (w, bias))
    assert all(float(gr.abs().max()) < 1e-9 for gr in grads)
    # oracle 3: accuracies counted one image at a time
    def count(xs, ys):
        return sum(int(torch.argmax(xs[i] @ probe.weight + probe.bias)) == int(ys[i]) for i in range(len(ys))) / len(ys)

    assert probe.train_accuracy == pytest.approx(count(x, y))
    assert probe.test_accuracy == pytest.approx(count(x_test, y_test))
    assert probe.predicted.tolist() == [int(torch.argmax(r @ probe.weight + probe.bias)) for r in x_test]


def test_probe_reads_classes_that_live_in_the_gates_and_not_noise():
    g = torch.Generator().manual_seed(3)
    labels = torch.randint(4, (400,), generator=g)
    centres = torch.rand(4, 12, generator=g, dtype=torch.float64)
    gates = centres[labels] + 0.05 * torch.randn(400, 12, generator=g, dtype=torch.float64)
    assert linear_probe(gates[:200], labels[:200], gates[200:], labels[200:], 4).test_accuracy > 0.95
    noise = torch.rand(400, 12, generator=g, dtype=torch.float64)
    assert linear_probe(noise[:200], labels[:200], noise[200:], labels[200:], 4).test_accuracy < 0.4


def test_gate_contrast_matches_a_pixel_loop():
    g = torch.Generator().manual_seed(4)
    gates = torch.rand(3, 5, 3, generator=g, dtype=torch.float64)  # h=5, w=3 on a 20x9 image: cells 4x3 pixels
    inside = torch.rand(3, 20, 9, generator=g) < 0.3
    outside = ~inside & (torch.rand(3, 20, 9, generator=g) < 0.8)
    c = gate_contrast(gates, inside, outside)
    for name, mask in (("inside", inside), ("outside", outside)):
        for i in range(3):
            total = weight = 0.0
            for y in range(20):
                for x in range(9):
                    if mask[i, y, x]:
                        total += float(gates[i, y // 4, x // 3])
                        weight += 1
            assert float(getattr(c, name)[i]) == pytest.approx(total / weight, rel=1e-12)
    assert c.ratio == pytest.approx(float(c.inside.mean() / c.outside.mean()))


def test_gate_contrast_of_an_empty_region_is_nan_and_left_out_of_the_ratio():
    gates = torch.tensor([[[0.8, 0.2]], [[0.6, 0.3]]], dtype=torch.float64)
    inside = torch.tensor([[[True, False]], [[False, False]]])
    c = gate_contrast(gates, inside, ~inside)
    assert c.inside[1].isnan() and c.ratio == pytest.approx(0.8 / 0.2)


def test_clear_errors():
    x, y = _data(10, 4, 3, 5)
    with pytest.raises(ValueError, match="labels must lie in \\[0, 1\\]"):
        class_gate_profiles(x, y, 2)
    with pytest.raises(ValueError, match="labels must have one entry per row of gates \\(10\\), got 9"):
        class_gate_profiles(x, y[:9], 3)
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        class_gate_profiles(x, y.double(), 3)
    with pytest.raises(ValueError, match="test_gates must have as many channels as train_gates \\(4\\), got 3"):
        linear_probe(x, y, x[:, :3], y, 3)
    with pytest.raises(ValueError, match="ridge must be a number >= 0, got -1"):
        linear_probe(x, y, x, y, 3, ridge=-1)
    with pytest.raises(ValueError, match="H a multiple of h=3"):
        gate_contrast(torch.rand(1, 3, 3), torch.ones(1, 8, 9, dtype=torch.bool), torch.ones(1, 8, 9, dtype=torch.bool))
    with pytest.raises(TypeError, match="inside must be a bool mask"):
        gate_contrast(torch.rand(1, 3, 3), torch.ones(1, 9, 9), torch.ones(1, 9, 9, dtype=torch.bool))
