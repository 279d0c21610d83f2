"""Receptive fields: the analytic recursion against PyTorch's own shapes, a slow per-axis path-tracing
reference kept here, and autograd; the published sizes of AlexNet, VGG-16 and ResNet-50."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from explainer.receptive_fields import (
    PUBLISHED_FIELDS,
    LayerRF,
    clip_box,
    conv_stack,
    effective_receptive_field,
    empirical_receptive_field,
    erf_summary,
    field_at,
    receptive_field,
    reference_network,
    stack_output_sizes,
    unit_field,
    vgg_comparison,
)

SETTINGS = settings(max_examples=40, deadline=None)


# --------------------------------------------------------------------------- random stacks
@st.composite
def layer_specs(draw):
    """One sliding-window layer as a plain tuple (kind, kernel, stride, padding, dilation, ceil, extra)."""
    kind = draw(st.sampled_from(["conv", "conv", "max", "avg"]))
    pair = lambda lo, hi: st.tuples(st.integers(lo, hi), st.integers(lo, hi))  # noqa: E731
    kernel, stride = draw(pair(1, 4)), draw(pair(1, 3))
    if kind == "conv":
        return kind, kernel, stride, draw(pair(0, 3)), draw(pair(1, 3)), False, None
    dilation = draw(pair(1, 2)) if kind == "max" else (1, 1)
    # A dilated, padded max-pool window can hold only padding: its output is -inf and PyTorch sends
    # the gradient to an arbitrary pixel, so such pools get no padding here.
    padding = tuple(0 if d > 1 else draw(st.integers(0, k // 2)) for k, d in zip(kernel, dilation))
    return kind, kernel, stride, padding, dilation, draw(st.booleans()), draw(st.booleans())


def build(specs) -> nn.Sequential:
    layers = []
    for kind, kernel, stride, padding, dilation, ceil, extra in specs:
        if kind == "conv":
            layers += [nn.Conv2d(2, 2, kernel, stride, padding, dilation), nn.ReLU()]
        elif kind == "max":
            layers.append(nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=ceil))
        else:
            layers.append(nn.AvgPool2d(kernel, stride, padding, ceil_mode=ceil, count_include_pad=extra))
    return nn.Sequential(*layers)


def forward_sizes(model: nn.Module, input_size) -> list[tuple[int, int]]:
    """PyTorch's own output size after every leaf module (forward hooks)."""
    sizes = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: sizes.append(tuple(out.shape[-2:])))
             for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        model(torch.zeros(1, 2, *input_size))
    for hook in hooks:
        hook.remove()
    return sizes


def reference_sets(specs, extents, axis, unit):
    """Slow per-axis path tracing from output ``unit`` back to the input.

    Returns (reachable input pixels, every input offset ignoring borders, whether an
    intermediate border cut a path). ``extents[l]`` is layer l's length along ``axis`` (0 = input).
    """
    clipped, free, cut = {unit}, {unit}, False
    for layer in range(len(specs), 0, -1):
        _, kernel, stride, padding, dilation, _, _ = specs[layer - 1]
        k, s, p, d = kernel[axis], stride[axis], padding[axis], dilation[axis]
        below = {u * s - p + t * d for u in clipped for t in range(k)}
        free = {u * s - p + t * d for u in free for t in range(k)}
        inside = {v for v in below if 0 <= v < extents[layer - 1]}
        cut |= layer > 1 and inside != below
        clipped = inside
    return clipped, free, cut


@st.composite
def stacks(draw):
    specs = draw(st.lists(layer_specs(), min_size=1, max_size=4))
    size = draw(st.tuples(st.integers(6, 26), st.integers(6, 26)))
    model = build(specs)
    try:
        real = forward_sizes(model, size)
    except RuntimeError:  # PyTorch refuses (output too small)
        assume(False)
    return specs, size, model, real


# --------------------------------------------------------------------------- analytic field
@SETTINGS
@given(stacks())
def test_output_sizes_match_pytorch_forward(case):
    specs, size, model, real = case
    layers = receptive_field(model, size)
    assert [layer.output_size for layer in layers] == real
    assert [layer.name for layer in layers] == [name for name, m in model.named_modules() if not list(m.children())]


@SETTINGS
@given(stacks(), st.data())
def test_box_is_bounding_box_of_all_paths(case, data):
    """r, j and start against tracing every path per axis (borders ignored)."""
    specs, size, model, real = case
    last = receptive_field(model, size)[-1]
    windows = [size] + [real[i] for i, m in enumerate(model) if not isinstance(m, nn.ReLU)]
    unit = (data.draw(st.integers(0, last.output_size[0] - 1)), data.draw(st.integers(0, last.output_size[1] - 1)))
    box = last.box(unit)
    for axis in range(2):
        _, free, _ = reference_sets(specs, [w[axis] for w in windows], axis, unit[axis])
        assert (box[axis], box[axis + 2]) == (min(free), max(free))
    assert last.centre(unit) == ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


@SETTINGS
@given(stacks(), st.data())
def test_empirical_field_matches_path_tracing_and_box(case, data):
    specs, size, model, real = case
    last = receptive_field(model, size)[-1]
    windows = [size] + [real[i] for i, m in enumerate(model) if not isinstance(m, nn.ReLU)]
    unit = (data.draw(st.integers(0, last.output_size[0] - 1)), data.draw(st.integers(0, last.output_size[1] - 1)))
    mask = empirical_receptive_field(model, size, unit)
    assert mask.shape == size and mask.dtype == torch.bool
    ys, free_y, cut_y = reference_sets(specs, [w[0] for w in windows], 0, unit[0])
    xs, free_x, cut_x = reference_sets(specs, [w[1] for w in windows], 1, unit[1])
    expected = torch.zeros(size, dtype=torch.bool)
    for y in ys:
        for x in xs:
            expected[y, x] = True
    assert torch.equal(mask, expected)
    box = clip_box(last.box(unit), size)
    inside = torch.zeros(size, dtype=torch.bool)
    if box is not None:
        inside[box[0] : box[2] + 1, box[1] : box[3] + 1] = True
    assert not (mask & ~inside).any()  # never outside the analytic box
    dense = all(len(f) == max(f) - min(f) + 1 for f in (free_y, free_x))
    if dense and not (cut_y or cut_x):  # no holes, no intermediate border: exactly the clipped box
        assert torch.equal(mask, inside)


def test_dense_interior_stack_gives_exactly_the_box():
    model = nn.Sequential(nn.Conv2d(2, 2, (3, 5), stride=(2, 1), padding=(1, 2)), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                          nn.Conv2d(2, 2, (5, 3), padding=2), nn.AvgPool2d(2))
    size = (29, 23)
    last = receptive_field(model, size)[-1]
    for unit in [(0, 0), (1, 2), (3, 2), (last.output_size[0] - 1, last.output_size[1] - 1)]:
        box = clip_box(last.box(unit), size)
        expected = torch.zeros(size, dtype=torch.bool)
        expected[box[0] : box[2] + 1, box[1] : box[3] + 1] = True
        assert torch.equal(empirical_receptive_field(model, size, unit), expected)


def test_dilation_leaves_holes_that_a_dense_layer_fills():
    """Two 3x3 convs with dilation 2 reach every other pixel (gridding); a plain 3x3 on top fills them."""
    dilated = nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2), nn.Conv2d(1, 1, 3, dilation=2))
    mask = empirical_receptive_field(dilated, 9, (0, 0))
    assert receptive_field(dilated)[-1].size == (9, 9)
    assert mask[0].tolist() == [True, False] * 4 + [True] and int(mask.sum()) == 25
    filled = nn.Sequential(*dilated, nn.Conv2d(1, 1, 3))
    assert bool(empirical_receptive_field(filled, 11, (0, 0)).all())


def test_a_unit_that_reads_only_padding_sees_nothing():
    model = nn.Sequential(nn.Conv2d(1, 1, (2, 1)), nn.Conv2d(1, 1, 1, padding=(1, 0)))
    assert receptive_field(model, 6)[-1].box((0, 0)) == (-1, 0, 0, 0)  # the box still meets the image
    assert not empirical_receptive_field(model, 6, (0, 0)).any()
    assert not effective_receptive_field(model, 6, (0, 0)).any()
    assert effective_receptive_field(model, 6, (1, 0))[0:2, 0].sum() == pytest.approx(1.0)


def test_worked_examples():
    three = nn.Sequential(*[nn.Conv2d(1, 1, 3) for _ in range(3)])
    assert [layer.size for layer in receptive_field(three)] == [(3, 3), (5, 5), (7, 7)]
    strided = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.Conv2d(1, 1, 3, stride=2)))
    assert (strided[-1].size, strided[-1].jump, strided[-1].start) == ((7, 7), (4, 4), (2.0, 2.0))  # 3 + 2*2; left -1
    rect = receptive_field(nn.Conv2d(1, 1, (1, 7), dilation=(1, 2), padding=(0, 6)))[-1]
    assert (rect.size, rect.start) == ((1, 13), (0.0, 0.0))
    even = receptive_field(nn.Conv2d(1, 1, 2), 5)[-1]
    assert even.start == (0.5, 0.5) and even.output_size == (4, 4)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_same_padding_and_zero_pad_layers():
    same = nn.Conv2d(1, 1, (4, 3), padding="same", dilation=(1, 2))  # 3 rows of padding: 1 above, 2 below
    layer = receptive_field(same, (10, 9))[-1]
    assert layer.output_size == (10, 9) and layer.box((0, 0)) == (-1, -2, 2, 2)
    mask = empirical_receptive_field(same, (10, 9), (0, 0))
    assert mask.nonzero().min(0).values.tolist() == [0, 0] and mask.nonzero().max(0).values.tolist() == [2, 2]
    crop = receptive_field(nn.Sequential(nn.ZeroPad2d((1, 0, 2, 3)), nn.Conv2d(1, 1, 3)), (6, 6))[-1]
    assert crop.output_size == (9, 5) and crop.box((0, 0)) == (-2, -1, 0, 1)


class Residual(nn.Module):
    """ResNet-style block: 1x1 -> 3x3 -> 1x1, stride on the 3x3 or the first 1x1, 1x1 projection shortcut."""

    def __init__(self, stride: int, stride_on: str):
        super().__init__()
        s1, s3 = (stride, 1) if stride_on == "1x1" else (1, stride)
        self.conv1, self.conv2 = nn.Conv2d(2, 2, 1, s1), nn.Conv2d(2, 2, 3, s3, 1)
        self.conv3, self.bn = nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2)
        self.shortcut = nn.Conv2d(2, 2, 1, stride)

    def forward(self, x):
        out = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return torch.relu(self.bn(self.conv3(out)) + self.shortcut(x))


class TwoBranches(nn.Module):
    """Inception-like: a 5x1 branch and a shifted 1x3 branch, concatenated along channels."""

    def __init__(self):
        super().__init__()
        self.tall = nn.Conv2d(2, 1, (5, 1), padding=(2, 0))
        self.wide = nn.Sequential(nn.ZeroPad2d((2, 0, 0, 0)), nn.Conv2d(2, 1, (1, 3)))

    def forward(self, x):
        return torch.cat([self.tall(x), self.wide(x)], dim=1)


@pytest.mark.parametrize("stride_on, expected", [("3x3", 9), ("1x1", 11)])  # 3 -> 5 -> 9 and 3 -> 7 -> 11
def test_residual_blocks_take_the_union_of_paths(stride_on, expected):
    model = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), Residual(2, stride_on), Residual(1, stride_on))
    layers = receptive_field(model, (21, 19))
    names = [layer.name for layer in layers]
    assert "1.add" in names and "2.add" in names and names[-1] == "2.relu#3"
    assert layers[-1].size == (expected, expected)
    for unit in [(2, 2), (5, 4), (0, 0)]:
        box = clip_box(layers[-1].box(unit), (21, 19))
        mask = empirical_receptive_field(model, (21, 19), unit)
        expected_mask = torch.zeros(21, 19, dtype=torch.bool)
        expected_mask[box[0] : box[2] + 1, box[1] : box[3] + 1] = True
        assert torch.equal(mask, expected_mask)
        erf = effective_receptive_field(model.double(), (21, 19), unit, n_samples=2)
        torch.testing.assert_close(erf, effective_receptive_field(model, (21, 19), unit, n_samples=2, crop=False))


def test_branches_meeting_in_cat_give_the_bounding_box():
    layer = receptive_field(TwoBranches(), (9, 9))[-1]
    assert layer.kind == "cat" and layer.size == (5, 3) and layer.box((4, 4)) == (2, 2, 6, 4)
    mask = empirical_receptive_field(TwoBranches(), (9, 9), (4, 4))
    expected = torch.zeros(9, 9, dtype=torch.bool)
    expected[2:7, 4] = True  # the tall branch
    expected[4, 2:5] = True  # the wide branch: a cross, whose bounding box is the analytic field
    assert torch.equal(mask, expected)


# --------------------------------------------------------------------------- reference networks
@pytest.mark.parametrize("published", PUBLISHED_FIELDS,
                         ids=lambda p: f"{p.network}-{p.stride_on}-{p.stride_block}-{p.label}")
def test_reference_networks_match_published_fields(published):
    model = reference_network(published.network, stride_on=published.stride_on, stride_block=published.stride_block,
                              device="meta")
    layers = receptive_field(model, 224)
    assert field_at(layers, published.layer).size == (published.size, published.size)


def _resnet50_stages(**placement) -> list[tuple[int, int]]:
    layers = receptive_field(reference_network("resnet50", device="meta", **placement), 224)
    return [(field_at(layers, f"layer{i}").size[0], field_at(layers, f"layer{i}").jump[0]) for i in range(1, 5)]


def test_resnet50_483_comes_from_where_a_stage_strides_not_from_the_1x1():
    """ResNet-50's published 483 (Araujo, Norris & Sim, Distill 2019) is TF-slim's resnet_v1_50:
    its bottleneck strides in the 3x3 (tensorflow/models research/slim/nets/resnet_v1.py), but in the
    *last* block of stages 1-3. The google-research/receptive_field table gives, per block, fields
    35, 99, 291, 483 with jumps 8, 16, 32, 32. torchvision's stride on the 3x3 of the *first* block
    gives 427; the original Caffe model's stride on the first 1x1 gives 483 as well.

    Every 3x3 adds 2 j at the jump j it reads at: 11 after the stem (7x7/2 and 3x3/2 pool), then
    the 16 3x3s run 3, 4, 6, 3 at jumps 4, 8, 16, 32 (TF-slim, Caffe) or 4, 4, 6, 2 (torchvision).
    """
    assert _resnet50_stages(stride_block="last") == [(35, 8), (99, 16), (291, 32), (483, 32)]  # TF-slim
    assert _resnet50_stages(stride_on="1x1") == [(35, 4), (99, 8), (291, 16), (483, 32)]  # Caffe
    assert _resnet50_stages() == [(35, 4), (91, 8), (267, 16), (427, 32)]  # torchvision
    assert 11 + 2 * (3 * 4 + 4 * 8 + 6 * 16 + 3 * 32) == 483 and 11 + 2 * (4 * 4 + 4 * 8 + 6 * 16 + 2 * 32) == 427
    tf_slim = [p for p in PUBLISHED_FIELDS if p.size == 483 and "Araujo" in p.source]
    assert [(p.stride_on, p.stride_block) for p in tf_slim] == [("3x3", "last")]


def test_caffe_and_tf_slim_resnet50_have_the_same_field_after_every_conv():
    """Caffe's strided 1x1 comes right after TF-slim's strided 3x3 with only 1x1 convs in between, and
    a 1x1 adds nothing to the field: the sizes agree conv by conv; only the jumps differ in between."""
    def main_path(**placement):
        layers = receptive_field(reference_network("resnet50", device="meta", **placement), 224)
        convs = ("conv1", "conv2", "conv3")  # the stem's conv1 and every bottleneck's three
        return [(layer.size, layer.jump) for layer in layers if layer.name.split(".")[-1] in convs]

    caffe, tf_slim, torchvision = main_path(stride_on="1x1"), main_path(stride_block="last"), main_path()
    assert len(caffe) == len(tf_slim) == 1 + 16 * 3
    assert [size for size, _ in caffe] == [size for size, _ in tf_slim]
    assert [jump for _, jump in caffe] != [jump for _, jump in tf_slim]
    assert [size for size, _ in torchvision] != [size for size, _ in tf_slim]


@pytest.mark.parametrize("name, stride_on, stride_block", [
    ("alexnet", None, None), ("vgg16", None, None), ("resnet50", "3x3", None), ("resnet50", "1x1", None),
    ("resnet50", "3x3", "last")])
def test_reference_networks_have_torchvision_shapes(name, stride_on, stride_block):
    model = reference_network(name, stride_on=stride_on, stride_block=stride_block, device="meta")
    layers = receptive_field(model, 224)
    with torch.no_grad():
        out = model(torch.empty(1, 3, 224, 224, device="meta"))
    expected = {"alexnet": (256, 6), "vgg16": (512, 7), "resnet50": (2048, 7)}[name]
    assert tuple(out.shape[1:]) == (expected[0], expected[1], expected[1])
    assert layers[-1].output_size == (expected[1], expected[1]) and layers[-1].jump == (32, 32)
    convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert convs == {"alexnet": 5, "vgg16": 13, "resnet50": 53}[name]


def test_resnet_parameter_count_matches_torchvision_trunk():
    """torchvision's resnet50 has 25,557,032 parameters; its fc layer 2048 * 1000 + 1000 of them."""
    model = reference_network("resnet50", device="meta")
    assert sum(p.numel() for p in model.parameters()) == 25_557_032 - (2048 * 1000 + 1000)


def test_vgg_comparison_three_3x3_against_one_7x7():
    """Simonyan & Zisserman 2015, section 2.3: 3 (3^2 C^2) = 27 C^2 against 7^2 C^2 = 49 C^2."""
    for channels in (1, 64, 512):
        v = vgg_comparison(channels)
        assert (v.stack_field, v.single_field, v.single_kernel_size) == (7, 7, 7)
        assert (v.stack_weights, v.single_weights) == (27 * channels**2, 49 * channels**2)
    five = vgg_comparison(8, depth=2, kernel_size=5)
    assert (five.single_kernel_size, five.stack_field, five.stack_weights) == (9, 9, 2 * 25 * 64)


# --------------------------------------------------------------------------- effective field
@SETTINGS
@given(stacks(), st.data())
def test_erf_crop_equals_full_image_and_stays_in_the_empirical_field(case, data):
    specs, size, model, real = case
    model = model.double()
    last = receptive_field(model, size)[-1]
    unit = (data.draw(st.integers(0, last.output_size[0] - 1)), data.draw(st.integers(0, last.output_size[1] - 1)))
    cropped = effective_receptive_field(model, size, unit, n_samples=3, seed=1)
    full = effective_receptive_field(model, size, unit, n_samples=3, seed=1, crop=False)
    has_weights = any(True for _ in model.parameters())  # a pool-only model follows the default dtype
    assert cropped.dtype == (torch.float64 if has_weights else torch.get_default_dtype()) and cropped.shape == size
    torch.testing.assert_close(cropped, full, rtol=1e-9 if has_weights else 1e-5, atol=1e-12)
    assert not (cropped[~empirical_receptive_field(model, size, unit)] != 0).any()
    assert float(cropped.sum()) == pytest.approx(1.0) or float(cropped.sum()) == 0.0


@pytest.mark.parametrize("depth, kernel, dilation", [(4, 3, 1), (3, 5, 1), (3, 3, 2)])
def test_linear_uniform_stack_has_the_variance_of_a_sum_of_uniforms(depth, kernel, dilation):
    """Luo et al. 2016: with uniform weights and no nonlinearity the ERF is the depth-fold box blur,
    of variance depth * d^2 (k^2 - 1) / 12 per axis."""
    model = conv_stack(depth, kernel, dilation=dilation, activation="none", init="uniform", channels=2).double()
    erf = effective_receptive_field(model, 41, (20, 20), n_samples=2)
    summary = erf_summary(erf)
    variance = depth * dilation**2 * (kernel**2 - 1) / 12
    assert summary.mean == pytest.approx((20, 20))
    assert summary.std[0] ** 2 == pytest.approx(variance) and summary.std[1] ** 2 == pytest.approx(variance)


def test_erf_of_a_deep_random_relu_stack_is_peaked_and_far_smaller_than_the_box():
    model = conv_stack(8, channels=8, seed=3)
    uf = unit_field(model, 48, (24, 24), n_samples=16)
    assert uf.layers[-1].size == (17, 17) and uf.summary.pixels == 17 * 17
    assert uf.summary.core < 0.75 * 17 * 17  # 95% of the gradient mass in a fraction of the box
    assert uf.summary.std[0] < 17 / math.sqrt(12)  # narrower than a uniform spread over the box
    centre = uf.erf[20:29, 20:29].sum()
    assert float(centre) > 0.5  # the central 9x9 holds most of the mass


def test_erf_is_seeded_and_leaves_global_state_alone():
    model = conv_stack(3, seed=0)
    model.train()
    rng = torch.random.get_rng_state()
    a = effective_receptive_field(model, 20, seed=5, n_samples=4)
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert all(m.training for m in model.modules())
    assert torch.equal(a, effective_receptive_field(model, 20, seed=5, n_samples=4))
    assert not torch.equal(a, effective_receptive_field(model, 20, seed=6, n_samples=4))
    assert a.dtype == torch.float32


def test_erf_summary_moments():
    erf = torch.zeros(5, 7)
    erf[1, 2], erf[3, 4] = 1.0, 3.0
    s = erf_summary(erf, mass=0.7)
    assert s.mean == pytest.approx((2.5, 3.5)) and s.std == pytest.approx((math.sqrt(0.75), math.sqrt(0.75)))
    assert (s.pixels, s.core) == (2, 1)
    with pytest.raises(ValueError, match="mass"):
        erf_summary(erf, mass=0)
    with pytest.raises(ValueError, match="non-negative"):
        erf_summary(-erf)


# --------------------------------------------------------------------------- builders and helpers
def test_conv_stack_layout_seed_and_global_rng():
    rng = torch.random.get_rng_state()
    a, b = conv_stack(3, 5, pool_every=2, seed=1), conv_stack(3, 5, pool_every=2, seed=1)
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert [n for n, _ in a.named_children()] == ["conv1", "relu1", "conv2", "relu2", "pool2", "conv3", "relu3"]
    assert torch.equal(a.conv2.weight, b.conv2.weight)
    assert not torch.equal(a.conv2.weight, conv_stack(3, 5, pool_every=2, seed=2).conv2.weight)
    assert a.conv1.padding == (2, 2) and a(torch.zeros(1, 3, 16, 16)).shape == (1, 8, 8, 8)
    uniform = conv_stack(2, init="uniform", activation="none", channels=4)
    assert torch.allclose(uniform.conv2.weight, torch.full_like(uniform.conv2.weight, 1 / 36))
    assert not any(isinstance(m, nn.ReLU) for m in uniform.modules())


@SETTINGS
@given(st.integers(1, 70), st.integers(1, 6), st.sampled_from([1, 3, 5, 7]), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 3))
def test_stack_output_sizes_match_receptive_field(size, depth, kernel, stride, dilation, pool_every):
    sizes = stack_output_sizes(size, depth, kernel, stride, dilation, pool_every=pool_every)
    model = conv_stack(depth, kernel, stride, dilation, pool_every=pool_every, channels=1)
    if sizes[-1] == 0:
        with pytest.raises(ValueError, match="too small"):
            receptive_field(model, size)
    else:
        layers, names = receptive_field(model, size), dict(model.named_children())
        block_ends = [f"pool{i}" if f"pool{i}" in names else f"relu{i}" for i in range(1, depth + 1)]
        assert [field_at(layers, name).output_size[0] for name in block_ends] == sizes


def test_field_at_clip_box_and_unit_at():
    layers = receptive_field(reference_network("alexnet", device="meta"), 224)
    assert field_at(layers, "features.12").size == (195, 195)
    assert field_at(layers, "features") is layers[-1]
    with pytest.raises(ValueError, match="nope"):
        field_at(layers, "nope")
    assert clip_box((-3, 2, 4, 30), (10, 20)) == (0, 2, 4, 19) and clip_box((12, 0, 14, 3), (10, 20)) is None
    layer = LayerRF("c", "Conv2d", (5, 5), (4, 2), (2.0, 0.0), (6, 9))
    assert layer.unit_at((9.4, 4.9)) == (2, 2) and layer.unit_at((-50, 500)) == (0, 8)
    assert layer.box((1, 1)) == (4, 0, 8, 4)


# --------------------------------------------------------------------------- bad input
class Branchy(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x


@pytest.mark.parametrize("model, match", [
    (nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(4, 2)), "'1' \\(Flatten\\)"),
    (nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(1)), "AdaptiveAvgPool2d"),
    (nn.Upsample(scale_factor=2), "Upsample"),
    (nn.ConvTranspose2d(1, 1, 3), "ConvTranspose2d"),
    (nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"), "padding_mode='reflect'"),
    (Branchy(), "Branchy"),
    ("conv", "must be a torch.nn.Module"),
])
def test_unreadable_models_raise_type_error_naming_them(model, match):
    with pytest.raises(TypeError, match=match):
        receptive_field(model)


def test_bad_sizes_positions_and_names_raise_value_errors():
    model = nn.Sequential(nn.Conv2d(1, 1, 5), nn.MaxPool2d(2))
    with pytest.raises(ValueError, match="too small for the model: layer '0'.*4x4"):
        receptive_field(model, 4)
    with pytest.raises(ValueError, match="input_size must be >= 1"):
        receptive_field(model, (0, 8))
    with pytest.raises(ValueError, match=r"position must lie inside the output grid 2x2.*got \(2, 0\)"):
        empirical_receptive_field(model, 8, (2, 0))
    with pytest.raises(ValueError, match="position must be >= 0"):
        effective_receptive_field(model, 8, (-1, 0))
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1, got 0"):
        effective_receptive_field(model, 8, n_samples=0)
    with pytest.raises(ValueError, match="name must be one of 'alexnet', 'vgg16', 'resnet50'; got 'vgg19'"):
        reference_network("vgg19")
    with pytest.raises(ValueError, match="stride_on only applies"):
        reference_network("alexnet", stride_on="1x1")
    with pytest.raises(ValueError, match="stride_on must be one of"):
        reference_network("resnet50", stride_on="5x5")
    with pytest.raises(ValueError, match="stride_block only applies to name='resnet50'"):
        reference_network("vgg16", stride_block="last")
    with pytest.raises(ValueError, match="stride_block must be one of 'first', 'last'; got 'middle'"):
        reference_network("resnet50", stride_block="middle")
    with pytest.raises(ValueError, match="depth must be an integer >= 1, got 0"):
        conv_stack(0)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        conv_stack(2, kernel_size=2.5)
