"""The ViT attention explorer in plain pytest: what it shows is the model's own attention (read through
TinyViT.inspect, independent of the recording hooks, and recomputed by a slow loop from one layer's
weights), its rollout and distances; the CNN field is the one autograd measures; every control, click
and bad setting behaves."""

from __future__ import annotations

import copy
import functools
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from _controls import assert_every_control_repaints, assert_walk_matches_fresh  # noqa: E402

from explainer.attention import attention_rollout, mean_attention_distance  # noqa: E402
from explainer.explorers.vit_attention import (  # noqa: E402
    GRID,
    cnn_fields,
    cnn_trunk,
    default_vit,
    field_distance,
    lesson_scenes,
    vit_attention_explorer,
)
from explainer.receptive_fields import empirical_receptive_field  # noqa: E402


@functools.lru_cache(maxsize=1)
def model():
    return default_vit()


@functools.lru_cache(maxsize=4)
def inspected(image):
    with torch.no_grad():
        return model().inspect(lesson_scenes().images[image][None])


@pytest.fixture
def ex():
    explorer = vit_attention_explorer(model=model())
    yield explorer
    assert plt.get_fignums() == []


def test_builds_and_shows_the_models_own_weights(ex):
    assert ex.png()[:4] == b"\x89PNG" and ex.frames == 1 and ex.last_error is None
    w = inspected(0).weights  # the model's own per-head weights, not the recording
    for layer, head, query in ((1, 0, 0), (3, 2, 28), (2, 3, 64)):
        ex.set(layer=layer, head=head + 1, query=query)  # heads are numbered from 1, like the layers
        torch.testing.assert_close(ex.result.row, w[layer - 1][0, head, query].double())
        assert ex.result.head == head and f"head {head + 1}" in ex.info.value
        torch.testing.assert_close(ex.result.patch_map.flatten(), w[layer - 1][0, head, query, 1:].double())
    ex.set(heads="mean of heads", layer=2, query=10)
    torch.testing.assert_close(ex.result.row, w[1][0, :, 10].double().mean(0))
    assert ex.controls["head"].disabled and "mean of all heads" in ex.hints.value


def test_one_head_recomputed_by_a_slow_loop_from_the_layers_weights():
    vit = copy.deepcopy(model()).double()
    x = lesson_scenes().images[2][None].double()
    layer, head, query = 1, 1, 37  # the second layer: its input comes from the first
    with torch.no_grad():
        tokens = vit.embed(x)
        for block in vit.layers[:layer]:
            tokens, _ = block(tokens)
        h = vit.layers[layer].norm1(tokens)[0]  # (T, D)
        attn = vit.layers[layer].attn
        d = attn.head_dim
        sl = slice(head * d, (head + 1) * d)
        wq, bq = attn.q_proj.weight[sl], attn.q_proj.bias[sl]
        wk, bk = attn.k_proj.weight[sl], attn.k_proj.bias[sl]
        q = [sum(float(wq[c, e]) * float(h[query, e]) for e in range(h.shape[1])) + float(bq[c]) for c in range(d)]
        scores = []
        for j in range(h.shape[0]):
            k = wk @ h[j] + bk
            scores.append(sum(q[c] * float(k[c]) for c in range(d)) / math.sqrt(d))
        top = max(scores)
        e = [math.exp(s - top) for s in scores]
        slow = torch.tensor([v / sum(e) for v in e], dtype=torch.float64)
    ex = vit_attention_explorer(model=model(), image=2, layer=layer + 1, head=head + 1, query=query)
    torch.testing.assert_close(ex.result.row, slow, atol=2e-6, rtol=1e-4)  # the model runs in float32


def test_rollout_and_target_share_follow_the_weights_and_the_mask(ex):
    ex.set(image=4, layer=3)
    w = [x.double() for x in inspected(4).weights]
    rollout = attention_rollout(w)[0, 0, 1:]  # (P,)
    torch.testing.assert_close(ex.result.rollout.flatten(), rollout)
    mask = lesson_scenes().masks[4, 0].double()
    per_pixel = rollout.reshape(GRID, GRID).repeat_interleave(4, 0).repeat_interleave(4, 1) / 16  # (32, 32)
    assert ex.result.on_target == pytest.approx(float((per_pixel * mask).sum() / per_pixel.sum()))
    assert ex.result.mask_share == pytest.approx(float(mask.mean()))
    ex.set(layer=1)
    torch.testing.assert_close(ex.result.rollout.flatten(), attention_rollout(w[:1])[0, 0, 1:])


def test_distances_are_the_mean_attention_distance_of_every_layer_and_head(ex):
    w = torch.stack([x[0].double() for x in inspected(0).weights])  # (L, H, T, T)
    expected = mean_attention_distance(w, GRID, 4, num_prefix_tokens=1)  # (L, H)
    torch.testing.assert_close(ex.result.distances, expected)
    lines = ex.view.distances.heads
    assert np.allclose(lines[1].get_ydata(), expected[:, 1].numpy())


@pytest.mark.parametrize("stage, query", [(1, 28), (2, 1), (3, 64)])
def test_the_cnn_field_is_the_one_autograd_measures(stage, query):
    trunk = cnn_trunk()[: 2 * stage - 1]
    r, c = divmod(query - 1, GRID)
    point = (r * 4 + 1.5, c * 4 + 1.5)
    field = cnn_fields()[stage - 1]
    unit = field.unit_at(point)
    reach = empirical_receptive_field(trunk, 32, unit)  # (32, 32) bool: pixels that can move the unit
    rows, cols = reach.any(1).nonzero(), reach.any(0).nonzero()
    box, distance = field_distance(field, point)
    assert box == (int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max()))
    ys, xs = reach.nonzero(as_tuple=True)
    assert distance == pytest.approx(float(torch.hypot(ys - point[0], xs - point[1]).mean()))
    ex = vit_attention_explorer(model=model(), stage=stage, query=query)
    assert ex.result.cnn_box == box and ex.result.cnn_distance[stage - 1] == pytest.approx(distance)


def test_every_control_changes_the_picture(ex):
    assert_every_control_repaints(ex)


def test_clicking_a_patch_makes_it_the_query(ex):
    for view, (row, col) in ((ex.view.scene, (2, 5)), (ex.view.attention, (7, 0)), (ex.view.rollout, (4, 4))):
        px, py = ex.painter.data_to_pixel(view.ax, col * 4 + 1.5, row * 4 + 1.5)
        ex.click(px, py)
        assert ex.values["query"] == 1 + row * GRID + col and ex.last_error is None
    frames = ex.frames
    ex.click(2, 2)  # outside every picture: nothing changes, nothing fails
    assert ex.values["query"] == 1 + 4 * GRID + 4 and ex.frames == frames + 1 and ex.last_error is None


@pytest.mark.parametrize("name, value", [("head", 3), ("query", 9), ("layer", 2), ("image", 5), ("stage", 2),
                                         ("heads", "mean of heads")])
def test_moves_only_blit_the_static_background_is_never_redrawn(ex, name, value):
    background = ex.painter._background
    ex.set(**{name: value})
    assert ex.painter._background is background and ex.last_error is None


def test_a_walk_gives_a_fresh_explorers_picture():
    factory = functools.partial(vit_attention_explorer, model())
    walk = [dict(query=30), dict(layer=3), dict(image=1), dict(heads="mean of heads"), dict(stage=3),
            dict(heads="one head", head=2), dict(image=0, query=0)]
    assert_walk_matches_fresh(factory(), factory, walk)


def test_a_failing_update_shows_in_the_error_area_and_the_explorer_recovers(ex, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(ex.view.rollout, "update", broken)
    ex.set(layer=2)
    assert ex.last_error == "RuntimeError: broken on purpose" and ex.errors.layout.display == "block"
    monkeypatch.undo()
    ex.set(layer=3)
    assert ex.last_error is None and ex.errors.layout.display == "none"


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(image=12), ValueError, "image must be an integer in [0, 11], got 12"),
    (dict(layer=4), ValueError, "layer must be an integer in [1, 3], got 4"),
    (dict(head=5), ValueError, "head must be an integer in [1, 4], got 5"),
    (dict(head=0), ValueError, "head must be an integer >= 1, got 0"),
    (dict(query=65), ValueError, "query must be an integer in [0, 64], got 65"),
    (dict(stage=0), ValueError, "stage must be an integer in [1, 3], got 0"),
    (dict(heads="all"), ValueError, "heads must be one of"),
    (dict(model="vit"), TypeError, "model must be a torch.nn.Module"),
])
def test_factory_refuses_bad_settings(kwargs, error, words):
    with pytest.raises(error) as info:
        vit_attention_explorer(**kwargs)
    assert words in str(info.value)


def test_the_default_model_leaves_the_global_random_state_alone():
    state = torch.get_rng_state()
    vit_attention_explorer()
    assert torch.equal(torch.get_rng_state(), state)


def test_fits_a_projector_page():
    assert vit_attention_explorer(model=model(), presentation=True).painter.size[0] <= 1200
