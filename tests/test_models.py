"""The tiny gated CNN, its deterministic training and the shipped weights: accuracy and where CBAM looks.

Measured with the shipped weights (seed 1, see ``explainer.train.MODEL_SEED``) on fresh scenes (seed 2,
never used for training): accuracy on 1000 scenes 99.9% (none, ECA), 99.8% (SE), 99.6% (CBAM).
On 500 scenes the objects cover 15.5% of each map, so a gate that ignored them would put 15.5% of its
k most gated cells on objects (k = object area). CBAM's trained spatial gates put 44.3% (stage 0, 2.9x
chance) and 74.3% (stage 1, 4.8x) of their k highest cells on objects, and 4.5% / 0.2% of their k lowest.
Objects sit away from the border, so the image-independent control (the dataset's mean gate map)
reaches 5.8% and 42.0%: the per-image gate beats position alone. At stage 2 (8x8) the gate is open
(> 0.9 on 99.9% of cells) and its 45.5% top-k share barely beats the mean map's 42.3%.
The same network untrained (seeded init) puts 19.8% of its highest stage-0 gates on objects: chance.
The stage-1 sign depends on the training seed (seeds 1 and 2 as above, 0, 3 and 4 turn the objects down);
stage 0 lit the objects up for every seed tried (37-46%).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from explainer.data import SHAPES, scenes
from explainer.gating import GATES, CBAM, ECA, SqueezeExcitation, gate_params
from explainer.models import REDUCTION, WEIGHTS_DIR, WIDTHS, GatedCNN, init_weights, load_pretrained, weights_path
from explainer.train import TEST_SEED, accuracy, train_gated_cnn

ACCURACY_BAR = 0.95


@pytest.fixture(scope="module")
def test_set():
    return scenes(500, 32, seed=TEST_SEED)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("gate", GATES)
def test_shipped_weights_load_safely_and_are_small(gate):
    path = weights_path(gate)
    assert path.parent == WEIGHTS_DIR and path.is_file()
    state = torch.load(path, weights_only=True)
    assert set(state) == set(GatedCNN(gate).state_dict())
    assert path.stat().st_size < 250_000
    model = load_pretrained(gate)
    assert not model.training and next(model.parameters()).dtype == torch.float32


def test_all_weights_together_stay_under_a_megabyte():
    assert sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.pt")) < 1_000_000


@pytest.mark.parametrize("gate", GATES)
def test_shipped_model_is_accurate_on_fresh_scenes(gate, test_set):
    model = load_pretrained(gate)
    with torch.no_grad():
        predicted = model(test_set.images).argmax(1)
    assert float((predicted == test_set.labels).float().mean()) >= ACCURACY_BAR


def _object_cover(test_set, size):
    return F.adaptive_avg_pool2d(test_set.masks.any(1).float()[:, None], size)[:, 0]  # (N, h, w) in [0, 1]


def _precision(gates, cover, largest):
    """Mean share of object cover in the k cells with the highest (or lowest) gate, k = object area."""
    shares = []
    for g, c in zip(gates, cover):
        k = max(1, int(round(float(c.sum()))))
        idx = (g if largest else -g).flatten().topk(k).indices
        shares.append(float(c.flatten()[idx].mean()))
    return sum(shares) / len(shares)


def test_cbam_spatial_gates_pick_out_the_objects_far_beyond_chance(test_set):
    with torch.no_grad():
        out = load_pretrained("cbam").inspect(test_set.images)
    chance = float(test_set.masks.any(1).float().mean())
    assert 0.1 < chance < 0.25
    for stage in (0, 1):  # the highest gates lie on the objects, the lowest almost never do
        g = out.gates[stage].spatial
        cover = _object_cover(test_set, g.shape[-1])
        prior = g.mean(0, keepdim=True).expand_as(g)  # the same map for every image: position alone
        top = _precision(g, cover, largest=True)
        assert top > 2.5 * chance and top > 1.5 * _precision(prior, cover, largest=True)
        assert _precision(g, cover, largest=False) < chance / 3
    assert float((out.gates[2].spatial > 0.9).float().mean()) > 0.95  # the last stage keeps almost everything


def test_untrained_gates_do_not_pick_out_the_objects(test_set):
    model = init_weights(GatedCNN("cbam"), torch.Generator().manual_seed(5)).eval()
    with torch.no_grad():
        out = model.inspect(test_set.images)
    chance = float(test_set.masks.any(1).float().mean())
    g = out.gates[0].spatial
    cover = _object_cover(test_set, g.shape[-1])
    assert _precision(g, cover, largest=True) < 1.5 * chance  # the trained network's 2.9x is learned


@pytest.mark.parametrize("gate,kind", [("se", SqueezeExcitation), ("cbam", CBAM), ("eca", ECA)])
def test_every_stage_has_the_gate_and_inspect_agrees_with_forward(gate, kind):
    model = init_weights(GatedCNN(gate), torch.Generator().manual_seed(0)).eval().double()
    assert all(isinstance(stage["gate"], kind) for stage in model.stages)
    x = torch.rand(3, 3, 32, 24, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out = model.inspect(x)
    torch.testing.assert_close(out.logits, model(x))
    assert [f.shape[1:] for f in out.features] == [(16, 32, 24), (32, 16, 12), (64, 8, 6)]
    for stage, g in enumerate(out.gates):
        assert g.channel.shape == (3, WIDTHS[stage])
        assert (g.spatial is not None) == (gate == "cbam")


def test_gate_parameters_add_exactly_what_the_formulas_say():
    base = n_params(GatedCNN("none"))
    for gate in GATES:
        extra = sum(gate_params(gate, width, REDUCTION) for width in WIDTHS)
        assert n_params(GatedCNN(gate)) == base + extra


def test_training_is_deterministic_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a = train_gated_cnn("eca", train_size=128, epochs=1)
    b = train_gated_cnn("eca", train_size=128, epochs=1)
    assert torch.equal(state, torch.random.get_rng_state())
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    assert 0 <= accuracy(a, n=50) <= 1


def test_clear_errors():
    with pytest.raises(ValueError, match="gate must be one of"):
        GatedCNN("bam")
    with pytest.raises(ValueError, match="x must be RGB images"):
        GatedCNN("se").inspect(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        GatedCNN("se").inspect(torch.zeros(3, 32, 32))
    assert len(SHAPES) == GatedCNN().head.out_features
