"""The tiny ViT and the caption locator (#18): shipped weights, accuracy, and where their attention falls.

Everything here uses the shipped weights on fresh scenes (seeds 7001-7003, never used in training:
the commands train on seeds 101 / 201 and report on 102 / 202). The attention figures are computed
with slow loops written here, not with the package's own ``attention_rollout`` / ``importance_map``.

Measured with the shipped weights on these 300 + 300 scenes (the training commands' own reports, on
1000 scenes of seeds 102 / 202, in brackets): ViT accuracy 0.980 (0.962), chance 0.25; the class
token's rollout puts 6.3x (6.0x) the target mask's share of the picture (8.6%) on the mask, the last
layer's class-token row alone 7.9x; the caption model's colour word points at the named object in
97.0% (96.6%) of scenes (heads averaged; single heads 96.7 / 97.3 / 96.0 / 87.3%), and its
importance map puts 14.9x (15.1x) the named object's share (5.8%) on it; it names the object's patch
in 89.7% (85.9%), within one patch in 99.7% (99.9%), its shape in 66.3% (62.0%), and naming another
object's colour moves the answer to that object (within one patch) in 99.3%. Untrained (seeded
initial weights), the rollout ratio and the pointing game stay near chance (see the control test).
"""

from __future__ import annotations

import pytest
import torch

from explainer.attention import MultiHeadAttention, attention_rollout, capture_attention
from explainer.data import COLOURS, SHAPES, VOCAB, hard_scenes, tokenize
from explainer.models import WEIGHTS_DIR, load_pretrained
from explainer.models import caption as caption_module
from explainer.models import vit as vit_module
from explainer.models.caption import CaptionLocator, target_cell
from explainer.models.vit import TinyViT

N = 300
VIT_ACCURACY_BAR = 0.85  # 4 shapes: chance 0.25
ROLLOUT_BAR = 3.0  # rollout mass on the target / the target's share of the picture, mean over scenes
POINTING_BAR = 0.80
IMPORTANCE_BAR = 3.0


@pytest.fixture(scope="module")
def image_scenes():
    return hard_scenes(N, 32, seed=7001, target="image")


@pytest.fixture(scope="module")
def word_scenes():
    return hard_scenes(N, 32, seed=7002, target="word")


@pytest.fixture(scope="module")
def vit_out(image_scenes):
    with torch.no_grad():
        return load_pretrained("vit").inspect(image_scenes.images)


@pytest.fixture(scope="module")
def caption_out(word_scenes):
    with torch.no_grad():
        return load_pretrained("caption").inspect(word_scenes.images, word_scenes.tokens)


def _patch_cover(masks, patch=4):
    """(N, P): the share of each 4x4 patch (row-major) that the mask covers, by counting pixels in a loop."""
    n, h, w = masks.shape
    grid_h, grid_w = h // patch, w // patch
    cover = torch.zeros(n, grid_h * grid_w, dtype=torch.float64)
    for r in range(grid_h):
        for c in range(grid_w):
            cover[:, r * grid_w + c] = masks[:, r * patch:(r + 1) * patch, c * patch:(c + 1) * patch].flatten(1).sum(1)
    return cover / (patch * patch)


@pytest.mark.parametrize("module", [vit_module, caption_module])
def test_shipped_weights_load_safely_and_are_small(module):
    name = module.__name__.rsplit(".", 1)[1]
    path = WEIGHTS_DIR / module.WEIGHTS
    state = torch.load(path, weights_only=True)
    assert set(state) == set(module.build().state_dict())
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert path.stat().st_size < 400_000
    model = load_pretrained(name)
    assert not model.training and next(model.parameters()).dtype == torch.float32
    assert any(isinstance(m, MultiHeadAttention) for m in model.modules())


def test_vit_is_accurate_on_fresh_scenes(vit_out, image_scenes):
    accuracy = float((vit_out.logits.argmax(1) == image_scenes.labels).float().mean())
    assert accuracy >= VIT_ACCURACY_BAR, accuracy


def test_vit_inspect_agrees_with_forward_and_with_capture_attention(image_scenes):
    model = load_pretrained("vit")
    x = image_scenes.images[:5]
    with torch.no_grad(), capture_attention(model) as rec:
        out = model.inspect(x)
    with torch.no_grad():
        torch.testing.assert_close(out.logits, model(x))
    assert list(rec.maps) == [f"layers.{i}.attn" for i in range(len(model.layers))]
    for recorded, weights in zip(rec.maps.values(), out.weights, strict=True):
        assert weights.shape == (5, 4, 65, 65)
        torch.testing.assert_close(recorded, weights)
        torch.testing.assert_close(weights.sum(-1), torch.ones(5, 4, 65))


def test_vit_class_token_rollout_falls_on_the_target(vit_out, image_scenes):
    """Abnar & Zuidema's rollout, written out: head mean, + identity, rows renormalised, product over layers."""
    ratios = []
    cover = _patch_cover(image_scenes.masks[:, 0])  # (N, P)
    share = image_scenes.masks[:, 0].flatten(1).double().mean(1)  # (N,)
    for i in range(N):
        rollout = torch.eye(65, dtype=torch.float64)
        for weights in vit_out.weights:
            a = weights[i].double().mean(0) + torch.eye(65, dtype=torch.float64)  # (T, T)
            a = a / a.sum(1, keepdim=True)
            rollout = a @ rollout
        cls = rollout[0, 1:] / rollout[0, 1:].sum()  # (P,): the class token's share from each patch
        on_target = float((cls * cover[i]).sum())  # each patch's share spread evenly over its 16 pixels
        ratios.append(on_target / float(share[i]))
    mean_ratio = sum(ratios) / len(ratios)
    assert mean_ratio >= ROLLOUT_BAR, mean_ratio


def test_caption_word_that_names_the_object_points_at_it(caption_out, word_scenes):
    """The pointing game: the argmax over patches of the colour word's cross-attention (heads averaged)."""
    cover = _patch_cover(word_scenes.masks[:, 0])  # (N, P)
    hits = 0
    for i in range(N):
        weights = caption_out.cross[i, :, int(word_scenes.word[i])].mean(0)  # (P,)
        hits += bool(cover[i, int(weights.argmax())] > 0)
    assert hits / N >= POINTING_BAR, hits / N


def test_caption_importance_map_lies_on_the_named_object(caption_out, word_scenes):
    """The notes' importance map: the cross-attention averaged over the question's words (and heads)."""
    cover = _patch_cover(word_scenes.masks[:, 0])
    ratios = []
    for i in range(N):
        words = [j for j in range(word_scenes.tokens.shape[1]) if int(word_scenes.tokens[i, j]) != 0]
        importance = sum(caption_out.cross[i, :, j].double().mean(0) for j in words) / len(words)  # (P,)
        share = float(word_scenes.masks[i, 0].double().mean())
        ratios.append(float((importance * cover[i]).sum()) / share)
    assert sum(ratios) / N >= IMPORTANCE_BAR, sum(ratios) / N


def test_caption_answers_and_follows_the_named_colour(word_scenes):
    """Naming another object's colour moves the answer to that object (the model reads the word)."""
    model = load_pretrained("caption")
    with torch.no_grad():
        cell, shape = model(word_scenes.images, word_scenes.tokens)
    truth = target_cell(word_scenes.masks[:, 0])
    near = ((cell.argmax(1) // 8 - truth // 8).abs() <= 1) & ((cell.argmax(1) % 8 - truth % 8).abs() <= 1)
    assert float(near.float().mean()) >= 0.95
    assert float((shape.argmax(1) == word_scenes.labels).float().mean()) >= 0.55  # chance 0.25
    names = list(COLOURS)
    other = torch.stack([tokenize(f"where is the {names[int(c)]} one") for c in word_scenes.colours[:, 1]])
    with torch.no_grad():
        moved, _ = model(word_scenes.images, other)
    truth1 = target_cell(word_scenes.masks[:, 1])
    near1 = ((moved.argmax(1) // 8 - truth1 // 8).abs() <= 1) & ((moved.argmax(1) % 8 - truth1 % 8).abs() <= 1)
    assert float(near1.float().mean()) >= 0.9


def test_untrained_models_do_not_look_at_the_target(image_scenes, word_scenes):
    """The control: the same architectures with their seeded initial weights (no training)."""
    from explainer.train.vit import init_weights

    gen = torch.Generator().manual_seed(0)
    vit, caption = init_weights(TinyViT(), gen).eval(), init_weights(CaptionLocator(), gen).eval()
    with torch.no_grad():
        rollout = attention_rollout(list(vit.inspect(image_scenes.images[:100]).weights))[:, 0, 1:]  # (100, P)
        cross = caption.inspect(word_scenes.images[:100], word_scenes.tokens[:100]).cross.mean(1)  # (100, L, P)
    cover = _patch_cover(image_scenes.masks[:100, 0]).float()
    share = image_scenes.masks[:100, 0].flatten(1).float().mean(1)
    ratio = float(((rollout / rollout.sum(1, keepdim=True) * cover).sum(1) / share).mean())
    assert 0.5 < ratio < 1.5, ratio
    named = cross[torch.arange(100), word_scenes.word[:100]]  # (100, P)
    hits = _patch_cover(word_scenes.masks[:100, 0])[torch.arange(100), named.argmax(1)] > 0
    assert float(hits.float().mean()) < 0.3


def test_caption_capture_attention_records_both_layers(word_scenes):
    model = load_pretrained("caption")
    with torch.no_grad(), capture_attention(model) as rec:
        out = model.inspect(word_scenes.images[:3], word_scenes.tokens[:3])
    assert list(rec.maps) == ["words_self", "cross"]
    torch.testing.assert_close(rec.maps["cross"], out.cross)
    torch.testing.assert_close(rec.maps["words_self"], out.words_self)
    assert out.cross.shape == (3, 4, 6, 64)
    assert (out.words_self[~out.keep[:, None, None, :].expand_as(out.words_self)] == 0).all()  # padding unseen


def test_cross_attention_equals_a_slow_recomputation_from_the_layer_weights():
    """float64, odd shapes: the cross weights are softmax over patches of (W_q word) . (W_k patch) / sqrt(d_k)."""
    model = CaptionLocator().double().eval()
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.3)
    images = torch.rand(2, 3, 32, 32, generator=gen, dtype=torch.float64)
    tokens = torch.stack([tokenize("find the cyan thing", length=7), tokenize("what shape is the red one", length=7)])
    out = model.inspect(images, tokens)
    keys = model.patches(images)  # (B, P, D)
    words = model.word_embedding(tokens) + model.word_pos[:7]
    h = model.norm_self(words)
    words = words + model.words_self(h, h, h, mask=(tokens != 0)[:, None, None, :]).output
    q_in = model.norm_cross(words)
    d_k = model.cross.head_dim
    for b in range(2):
        for head in range(model.cross.num_heads):
            sl = slice(head * d_k, (head + 1) * d_k)
            for j in range(7):
                q = q_in[b, j] @ model.cross.q_proj.weight[sl].T + model.cross.q_proj.bias[sl]
                scores = torch.stack([(q * (keys[b, p] @ model.cross.k_proj.weight[sl].T
                                            + model.cross.k_proj.bias[sl])).sum() for p in range(64)]) / d_k**0.5
                torch.testing.assert_close(out.cross[b, head, j], torch.softmax(scores, 0))


def test_training_is_deterministic_and_leaves_the_global_rng_alone():
    from explainer.train.caption import train_caption
    from explainer.train.vit import train_vit

    state = torch.random.get_rng_state()
    data = hard_scenes(64, seed=5)
    a, b = train_vit(data=data, epochs=1), train_vit(data=data, epochs=1)  # one step each
    words = hard_scenes(64, seed=5, target="word")
    c, d = train_caption(data=words, epochs=1), train_caption(data=words, epochs=1)
    assert torch.equal(state, torch.random.get_rng_state())
    for first, second in ((a, b), (c, d)):
        for (name, p), q in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
            assert torch.equal(p, q), name
    assert isinstance(a, TinyViT) and isinstance(c, CaptionLocator)


def test_clear_errors():
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3, 32, 32\)"):
        TinyViT()(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        TinyViT()(torch.zeros(3, 32, 32))
    model = CaptionLocator()
    with pytest.raises(ValueError, match="tokens must be int64 of shape"):
        model(torch.zeros(2, 3, 32, 32), torch.zeros(3, 6, dtype=torch.int64))
    with pytest.raises(ValueError, match="at least one non-padding word"):
        model(torch.zeros(1, 3, 32, 32), torch.zeros(1, 6, dtype=torch.int64))
    with pytest.raises(ValueError, match="VOCAB ids"):
        model(torch.zeros(1, 3, 32, 32), torch.full((1, 6), len(VOCAB)))
    with pytest.raises(ValueError, match=r"images must have shape \(B, 3, 32, 32\)"):
        model(torch.zeros(1, 1, 32, 32), tokenize("find the red one")[None])
    assert len(SHAPES) == TinyViT().head.out_features == CaptionLocator().shape_head.out_features
