"""The hard scenes of issue 18: seeded, several objects, a target found by size (image) or by a named colour (word)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.data import COLOURS, SHAPES, VOCAB, Scenes, detokenize, hard_scenes, scenes, tokenize
from explainer.data import _hard_shape_mask as shape_mask

NAMES = list(COLOURS)


def test_old_scenes_are_unchanged_and_leave_the_new_fields_empty():
    s = scenes(3, seed=4)
    assert s.colours is None and s.tokens is None and s.word is None and s.radii is None and s.angles is None
    again = Scenes(s.images, s.labels, s.masks, s.boxes, s.shapes, s.captions)  # positional construction still works
    assert torch.equal(again.images, s.images) and len(again) == 3


@pytest.mark.parametrize("target", ["image", "word"])
def test_shapes_dtypes_and_ranges(target):
    s = hard_scenes(4, size=(33, 41), seed=3, target=target, objects=(2, 4))
    assert s.images.shape == (4, 3, 33, 41) and s.images.dtype == torch.float32
    assert 0 <= float(s.images.min()) and float(s.images.max()) <= 1
    assert s.masks.shape == (4, 4, 33, 41) and s.masks.dtype == torch.bool
    assert s.boxes.shape == (4, 4, 4) and s.boxes.dtype == torch.float32
    for field in (s.shapes, s.colours):
        assert field.shape == (4, 4) and field.dtype == torch.int64
    assert s.radii.shape == s.angles.shape == (4, 4) and s.radii.dtype == s.angles.dtype == torch.float32
    assert s.tokens.shape == (4, 6) and s.tokens.dtype == torch.int64 and s.word.shape == (4,)
    assert len(s.captions) == len(s) == 4 and torch.equal(s.labels, s.shapes[:, 0])
    assert ((s.shapes >= 0) == (s.colours >= 0)).all() and ((s.shapes >= 0) == (s.radii > 0)).all()


def test_seeded_and_independent_of_the_global_rng():
    torch.manual_seed(0)
    a = hard_scenes(3, seed=11, target="word", rotate=True, scale=(0.8, 1.2))
    torch.manual_seed(1)
    b = hard_scenes(3, seed=11, target="word", rotate=True, scale=(0.8, 1.2))
    for field in ("images", "masks", "boxes", "shapes", "colours", "tokens", "word", "radii", "angles"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert a.captions == b.captions
    assert not torch.equal(a.images, hard_scenes(3, seed=12, target="word").images)
    state = torch.random.get_rng_state()
    hard_scenes(2, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())


def _check_objects(s, i, lo, hi):
    present = s.shapes[i] >= 0
    count = int(present.sum())
    assert lo <= count <= hi and present[:count].all()  # objects fill the first slots
    for j in range(s.masks.shape[1]):
        mask = s.masks[i, j]
        if j >= count:
            assert not mask.any() and not s.boxes[i, j].any()
            continue
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert s.boxes[i, j].tolist() == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]  # tight
        # 1 px clear of every other object: no other mask within the 3x3 neighbourhood
        grown = torch.nn.functional.max_pool2d(mask[None, None].float(), 3, 1, 1)[0, 0].bool()
        others = s.masks[i, :count].clone()
        others[j] = False
        assert not (grown & others.any(0)).any()
    return count


@given(seed=st.integers(0, 10_000), h=st.integers(24, 40), w=st.integers(24, 40))
@settings(max_examples=15, deadline=None)
def test_image_target_is_the_largest_and_shares_its_colour_with_a_distractor(seed, h, w):
    s = hard_scenes(3, size=(h, w), seed=seed)
    for i in range(3):
        count = _check_objects(s, i, 3, 5)
        areas = s.masks[i, :count].flatten(1).sum(1).float()
        assert (areas[1:] < 0.8 * areas[0]).all()  # the rule: the target's area beats every distractor's
        assert s.colours[i, 1] == s.colours[i, 0]  # colour alone never singles the target out
        ratios = s.radii[i, 1:count] / s.radii[i, 0]
        assert ((0.55 <= ratios) & (ratios <= 0.75)).all()
        assert s.captions[i] == "what shape is the largest one" and VOCAB[int(s.tokens[i, s.word[i]])] == "largest"


@given(seed=st.integers(0, 10_000), h=st.integers(24, 40), w=st.integers(24, 40))
@settings(max_examples=15, deadline=None)
def test_word_target_is_the_only_object_of_the_named_colour(seed, h, w):
    s = hard_scenes(3, size=(h, w), seed=seed, target="word")
    for i in range(3):
        count = _check_objects(s, i, 3, 5)
        colours = s.colours[i, :count].tolist()
        assert len(set(colours)) == count  # every colour once: the named colour picks exactly one object
        named = VOCAB[int(s.tokens[i, s.word[i]])]
        assert named == NAMES[colours[0]] and s.captions[i].split()[int(s.word[i])] == named
        assert s.shapes[i, 1] == s.shapes[i, 0]  # shape alone never singles the target out
        assert torch.equal(tokenize(s.captions[i]), s.tokens[i]) and detokenize(s.tokens[i]) == s.captions[i]


@given(seed=st.integers(0, 10_000))
@settings(max_examples=10, deadline=None)
def test_objects_wear_their_colour_blended_at_the_contrast(seed):
    opaque = hard_scenes(2, seed=seed, contrast=1.0)
    faint = hard_scenes(2, seed=seed, contrast=0.5)
    assert torch.equal(opaque.masks, faint.masks)  # contrast changes only the paint
    palette = torch.tensor(list(COLOURS.values()))  # (6, 3)
    for i in range(2):
        for j in range(int((opaque.shapes[i] >= 0).sum())):
            mask, colour = opaque.masks[i, j], palette[opaque.colours[i, j]]
            assert torch.allclose(opaque.images[i][:, mask], colour[:, None].expand(3, int(mask.sum())))
            background = 2 * faint.images[i][:, mask] - colour[:, None]  # faint = 0.5 colour + 0.5 background
            assert float(background.min()) > -1e-5 and float(background.max()) < 1 + 1e-5


def test_scale_and_rotation_vary_size_and_angle_but_keep_the_rule():
    plain = hard_scenes(40, seed=5)
    assert (plain.angles == 0).all()
    s = hard_scenes(40, seed=5, scale=(0.6, 1.5), rotate=True)
    present = s.shapes >= 0
    assert float(s.angles[present].min()) >= 0 and float(s.angles[present].max()) < 2 * math.pi
    assert float(s.angles[present].std()) > 1.0
    target = s.radii[:, 0] / min(32, 32)
    assert float(target.min()) < 0.14 * 0.8 and float(target.max()) > 0.19 * 1.3  # sizes spread with the scale
    for i in range(40):
        count = _check_objects(s, i, 3, 5)
        areas = s.masks[i, :count].flatten(1).sum(1).float()
        assert (areas[1:] < 0.8 * areas[0]).all()


@pytest.mark.parametrize("kind", range(len(SHAPES)))
def test_shape_masks_have_the_area_of_the_disc_and_turn_rigidly(kind):
    ys, xs = torch.arange(121.0).view(-1, 1), torch.arange(131.0).view(1, -1)
    r, cy, cx = 25.0, 60.3, 64.6
    flat = shape_mask(kind, cy, cx, r, 0.0, ys, xs)
    assert abs(float(flat.sum()) / (math.pi * r * r) - 1) < 0.04  # every shape has the disc's area
    for angle in (0.4, 1.9, 4.0):
        turned = shape_mask(kind, cy, cx, r, angle, ys, xs)
        assert abs(float(turned.sum()) / float(flat.sum()) - 1) < 0.04
        # oracle: a pixel is in the turned shape iff turning it back by -angle lands in the unturned shape
        for y, x in [(60, 64), (45, 80), (75, 50), (40, 60), (82, 70), (61, 38), (30, 66)]:
            dy, dx = y - cy, x - cx
            back_y = cy + dy * math.cos(angle) + dx * math.sin(angle)
            back_x = cx + dx * math.cos(angle) - dy * math.sin(angle)
            expected = shape_mask(kind, cy, cx, r, 0.0, torch.tensor([[back_y]]), torch.tensor([[back_x]]))
            assert bool(turned[y, x]) == bool(expected[0, 0]), (y, x, angle)
    quarter = shape_mask(kind, 60.0, 60.0, r, math.pi / 2, torch.arange(121.0).view(-1, 1),
                         torch.arange(121.0).view(1, -1))
    upright = shape_mask(kind, 60.0, 60.0, r, 0.0, torch.arange(121.0).view(-1, 1), torch.arange(121.0).view(1, -1))
    differ = float((quarter ^ upright).sum()) / float(upright.sum())
    if SHAPES[kind] == "triangle":  # a quarter-turned triangle points sideways: another mask, still a triangle
        assert differ > 0.2
    else:  # circle, square and cross look the same after a quarter turn (up to pixels on the edge)
        assert differ < 0.02


def test_every_class_and_colour_appears_and_questions_vary():
    s = hard_scenes(200, seed=0, target="word")
    assert set(s.labels.tolist()) == set(range(len(SHAPES)))
    assert set(s.colours[:, 0].tolist()) == set(range(len(COLOURS)))
    assert len({c.split()[0] for c in s.captions}) == 4 and len(set(s.word.tolist())) >= 3


def test_vocabulary_round_trip():
    assert len(set(VOCAB)) == len(VOCAB) and VOCAB[0] == "<pad>"
    text = "what shape is the cyan thing"
    ids = tokenize(text)
    assert ids.dtype == torch.int64 and ids.shape == (6,) and detokenize(ids) == text
    assert tokenize("find the red one", length=8).tolist()[-4:] == [0, 0, 0, 0]
    assert all(detokenize(tokenize(w)) == w for w in VOCAB[1:])


def test_clear_errors():
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        hard_scenes(0)
    with pytest.raises(ValueError, match="size must be >= 24"):
        hard_scenes(2, size=20)
    with pytest.raises(ValueError, match="target must be one of 'image', 'word'; got 'text'"):
        hard_scenes(2, target="text")
    with pytest.raises(ValueError, match=r"objects must be a pair \(lo, hi\) with 2 <= lo <= hi <= 6, got \(1, 3\)"):
        hard_scenes(2, target="word", objects=(1, 3))
    with pytest.raises(ValueError, match=r"objects must be a pair \(lo, hi\) with 1 <= lo <= hi <= 6, got \(4, 3\)"):
        hard_scenes(2, objects=(4, 3))
    with pytest.raises(TypeError, match="objects must be a pair"):
        hard_scenes(2, objects=3)
    with pytest.raises(ValueError, match=r"scale must be a pair \(lo, hi\) with 0.5 <= lo <= hi <= 1.6"):
        hard_scenes(2, scale=(0.2, 1.0))
    with pytest.raises(TypeError, match="rotate must be a bool"):
        hard_scenes(2, rotate=1)
    with pytest.raises(ValueError, match="contrast must be a number in"):
        hard_scenes(2, contrast=0.0)
    with pytest.raises(TypeError, match="seed must be an integer"):
        hard_scenes(2, seed=1.5)
    with pytest.raises(ValueError, match="unknown word 'purple'"):
        tokenize("where is the purple one")
    with pytest.raises(ValueError, match="at most length=3 words"):
        tokenize("where is the red one", length=3)
    with pytest.raises(ValueError, match="ids must be a 1D int64 tensor"):
        detokenize(torch.tensor([1, 99]))
