"""The synthetic scenes: seeded, labelled, with masks, boxes and captions that agree with the pixels."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.data import COLOURS, SHAPES, scenes


def test_shapes_dtypes_and_ranges():
    s = scenes(5, size=(33, 41), seed=3)
    assert s.images.shape == (5, 3, 33, 41) and s.images.dtype == torch.float32
    assert s.masks.shape == (5, 3, 33, 41) and s.masks.dtype == torch.bool
    assert s.boxes.shape == (5, 3, 4) and s.shapes.shape == (5, 3) and len(s.captions) == len(s) == 5
    assert 0 <= float(s.images.min()) and float(s.images.max()) <= 1
    assert torch.equal(s.labels, s.shapes[:, 0])


def test_seeded_and_independent_of_the_global_rng():
    torch.manual_seed(0)
    a = scenes(4, seed=11)
    torch.manual_seed(1)
    b = scenes(4, seed=11)
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    assert not torch.equal(a.images, scenes(4, seed=12).images)
    state = torch.random.get_rng_state()
    scenes(2, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())


@given(seed=st.integers(0, 10_000), h=st.integers(16, 40), w=st.integers(16, 40))
@settings(max_examples=30, deadline=None)
def test_masks_boxes_and_colours_agree_with_the_pixels(seed, h, w):
    s = scenes(3, size=(h, w), seed=seed)
    for i in range(3):
        present = s.shapes[i] >= 0
        assert present[0] and 1 <= int(present.sum()) <= 3
        assert not (s.masks[i, 0] & s.masks[i, 1:]).any()  # the target is drawn on top, fully visible
        target = s.masks[i, 0]
        assert target.sum() > 0.04 * min(h, w) ** 2  # large for its picture: radius >= 0.2 of the short side
        for j in range(3):
            mask = s.masks[i, j]
            if not present[j]:
                assert not mask.any() and not s.boxes[i, j].any()
                continue
            x0, y0, x1, y1 = s.boxes[i, j].int().tolist()
            if mask.any():
                rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
                assert y0 <= rows.min() and rows.max() < y1 and x0 <= cols.min() and cols.max() < x1
        colour = s.images[i][:, target]  # (3, n): one flat colour from the palette
        assert torch.allclose(colour, colour[:, :1].expand_as(colour))
        palette = torch.tensor(list(COLOURS.values()))
        assert torch.isclose(palette, colour[:, 0]).all(1).any()
        if int(present.sum()) > 1:  # distractors are smaller than the target
            assert all(s.masks[i, j].sum() < target.sum() for j in range(1, 3))


def test_captions_name_the_target_and_its_relation():
    s = scenes(30, seed=5)
    for caption, label, shapes, boxes in zip(s.captions, s.labels, s.shapes, s.boxes):
        assert caption.startswith("a ") and SHAPES[int(label)] in caption.split(" left of ")[0].split(" right of ")[0]
        if shapes[1] >= 0:
            assert (" left of " in caption) or (" right of " in caption)
            assert SHAPES[int(shapes[1])] in caption.split(" of ")[1]
            # box centres (x0 + x1) / 2 differing by more than a pixel decide left / right
            gap = float(boxes[0, 0] + boxes[0, 2] - boxes[1, 0] - boxes[1, 2]) / 2
            if abs(gap) > 1.5:
                assert (" left of " in caption) == (gap < 0)
        else:
            assert " of " not in caption


def test_every_class_appears():
    assert set(scenes(200, seed=0).labels.tolist()) == set(range(len(SHAPES)))


def test_clear_errors():
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        scenes(0)
    with pytest.raises(ValueError, match="size must be >= 16"):
        scenes(2, size=8)
    with pytest.raises(ValueError, match="max_objects must be an integer in \\[1, 3\\], got 4"):
        scenes(2, max_objects=4)
    with pytest.raises(TypeError, match="seed must be an integer"):
        scenes(2, seed=1.5)


def test_background_clutter_uses_the_object_colours_at_a_density_independent_of_size():
    palette = torch.tensor(list(COLOURS.values()))  # (6, 3)
    shares = []
    for size in ((16, 16), (32, 32), (48, 64)):
        s = scenes(20, size=size, seed=7)
        pixels = s.images.permute(0, 2, 3, 1)[~s.masks.any(1)]  # (n, 3) pixels outside every object
        shares.append(float(torch.isclose(pixels[:, None], palette[None]).all(-1).any(-1).float().mean()))
    # about a quarter of the background is strokes in the objects' own colours, whatever the size
    assert all(0.15 < share < 0.35 for share in shares) and max(shares) - min(shares) < 0.08, shares
