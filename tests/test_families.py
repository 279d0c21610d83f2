"""CNN families layer by layer: shapes from real forward passes, parameters from sum(p.numel()),
multiply-adds from torch's own FLOP counter and slow formulas, fields from the published numbers."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from explainer.conv import conv_params, separable_params
from explainer.families import COMPARISONS, FAMILIES, compare, family_network, layer_table, network_table
from explainer.receptive_fields import PUBLISHED_FIELDS, vgg_comparison

INPUTS = {"alexnet": (1, 3, 227, 227), "vgg16": (1, 3, 224, 224), "inception": (1, 192, 28, 28),
          "bottleneck": (1, 256, 56, 56), "transformer": (1, 64, 512)}


def flop_counter_macs(model, *inputs):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(*inputs)
    return counter.get_total_flops() // 2  # two FLOPs per multiply-add


def slow_row_macs(module, out_shape):
    """Each output value of a conv / linear layer is one dot product over its input window."""
    out = 1
    for s in out_shape:
        out *= s
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return out * module.in_features
    return 0


@pytest.mark.parametrize("name", FAMILIES)
def test_totals_against_numel_and_the_flop_counter(name):
    table = network_table(name)
    model = family_network(name)
    assert table.params == sum(p.numel() for p in model.parameters()) == sum(r.params for r in table.rows)
    assert table.multiply_adds == flop_counter_macs(model, torch.zeros(INPUTS[name], device="meta"))
    assert table.cumulative("params")[-1] == table.params
    modules = dict(model.named_modules())
    for row in table.rows:
        assert row.params == sum(p.numel() for p in modules[row.name].parameters())
        if isinstance(modules[row.name], nn.Conv2d):
            m = modules[row.name]
            assert row.params == conv_params(m.in_channels, m.out_channels, m.kernel_size, m.groups, m.bias is not None)
            assert row.multiply_adds == slow_row_macs(m, row.output_shape)
        if isinstance(modules[row.name], nn.Linear):
            assert row.multiply_adds == slow_row_macs(modules[row.name], row.output_shape)


@pytest.mark.parametrize("name", ["inception", "bottleneck", "transformer"])
def test_shapes_from_a_real_forward_pass_with_random_weights(name):
    model = family_network(name, device="cpu").double().eval()
    shapes = {}

    def hook(name):
        def record(module, args, output):
            shapes.setdefault(name, tuple((output[0] if isinstance(output, tuple) else output).shape[1:]))
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if n]
    with torch.no_grad():
        model(torch.randn(INPUTS[name], dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    for h in handles:
        h.remove()
    table = network_table(name, device="cpu")
    assert [r.name for r in table.rows] and all(r.output_shape == shapes[r.name] for r in table.rows)
    assert table == network_table(name)  # meta and real weights give the same table


def test_alexnet_as_in_the_paper():
    table = network_table("alexnet")
    kinds = [r.kind for r in table.rows]
    assert kinds.count("LocalResponseNorm") == 2 and kinds.count("Linear") == 3
    model = family_network("alexnet")
    assert [m.groups for m in model.modules() if isinstance(m, nn.Conv2d)] == [1, 2, 1, 2, 2]
    assert table.rows[-1].output_shape == (1000,)
    # the classifier holds most of the weights, the convolutions most of the work
    fc = sum(r.params for r in table.rows if r.kind == "Linear")
    assert fc > 0.9 * table.params
    assert sum(r.multiply_adds for r in table.rows if r.kind == "Conv2d") > 0.9 * table.multiply_adds


@pytest.mark.parametrize("network,layer,size", [(f.network, f.layer, f.size) for f in PUBLISHED_FIELDS
                                                 if f.network in ("alexnet", "vgg16")])
def test_fields_match_the_published_sizes(network, layer, size):
    rows = {r.name: r for r in network_table(network).rows}
    if network == "alexnet":  # the paper's layout has two LRN layers more than torchvision's: pool5 is features.14
        layer = "features.14"
    assert rows[layer].field == size
    assert all(r.field == INPUTS[network][-1] for r in rows.values() if r.kind == "Linear")


def test_fields_grow_monotonically_and_the_bottleneck_sees_three_pixels():
    for name in ("alexnet", "vgg16"):
        fields = [r.field for r in network_table(name).rows]
        assert fields == sorted(fields)
    assert network_table("bottleneck").rows[-1].field == 3
    rows = {r.name: r.field for r in network_table("inception").rows}
    assert rows["branch1.0"] == 1 and rows["branch2.2"] == 3 and rows["branch3.2"] == 5 and rows["branch4.1"] == 3
    assert {r.field for r in network_table("transformer").rows} == {64}


def test_stack_comparison_agrees_with_vgg_comparison():
    for c, k in ((10, 3), (7, 5)):
        cmp = compare("stack", channels=c, size=11, kernel_size=k)
        single, stack = cmp.designs
        ref = vgg_comparison(channels=c, depth=3, kernel_size=k)
        assert (stack.params, single.params) == (ref.stack_weights + 3 * c, ref.single_weights + c)
        assert stack.field == single.field == ref.stack_field
        assert (stack.nonlinearities, single.nonlinearities) == (3, 1)


@pytest.mark.parametrize("w", [8, 64, 256])
def test_bottleneck_counts_are_our_notes_formulas(w):
    plain, bottle, small = compare("bottleneck", channels=w, size=9).designs
    assert plain.params == 18 * w * w + 2 * w
    assert 16 * bottle.params == 17 * w * w + 24 * w  # 17 w^2 / 16 + 3 w / 2
    assert small.params == 18 * (w // 4) ** 2 + 2 * (w // 4)
    assert plain.output_shape == bottle.output_shape == (w, 9, 9)


@pytest.mark.parametrize("k", [3, 5, 7])
def test_factorised_and_separable(k):
    full, fact = compare("factorised", channels=12, size=10, kernel_size=k).designs
    assert fact.params == 2 * (12 * k * 12 + 12) and full.params == 12 * k * k * 12 + 12
    assert fact.field == full.field == k
    full, sep = compare("separable", channels=12, size=10, kernel_size=k).designs
    assert sep.params == separable_params(12, 12, k)
    assert sep.output_shape == full.output_shape == (12, 10, 10)


@pytest.mark.parametrize("kind", COMPARISONS)
def test_comparison_costs_against_the_flop_counter(kind):
    from explainer.families import _designs

    cmp = compare(kind, channels=16, size=7, kernel_size=5)
    for design, (_, model, cin) in zip(cmp.designs, _designs(kind, 16, 5), strict=True):
        assert design.multiply_adds == flop_counter_macs(model, torch.zeros(1, cin, 7, 7, device="meta"))
        assert design.params == sum(p.numel() for p in model.parameters())


def test_attention_row_against_the_flop_counter_with_unequal_lengths():
    mha = nn.MultiheadAttention(12, 3, batch_first=True, dtype=torch.float64)
    q, kv = torch.randn(2, 5, 12, dtype=torch.float64), torch.randn(2, 9, 12, dtype=torch.float64)
    (_, _, row), = layer_table(mha, q, kv, kv)
    assert 2 * row.multiply_adds == flop_counter_macs(mha, q, kv, kv)  # the row counts one of the two inputs
    assert row.output_shape == (5, 12)


def test_bad_input():
    with pytest.raises(ValueError, match="name"):
        network_table("resnet")
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        compare("stack", kernel_size=4)
    with pytest.raises(ValueError, match="kind"):
        compare("dilated")
    with pytest.raises(TypeError, match="model"):
        layer_table("not a model")
