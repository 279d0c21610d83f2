"""The recorded-attention explorer in plain pytest: it shows exactly the recorded weights, their head mean
and rollout, names the tokens on the axes, follows clicks, and refuses maps it cannot show."""

from __future__ import annotations

import functools
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from _controls import assert_every_control_repaints, assert_walk_matches_fresh  # noqa: E402
from torch import nn  # noqa: E402

from explainer.attention import attention_rollout, capture_attention  # noqa: E402
from explainer.explorers.capture import SENTENCE, default_maps, recorded_attention_explorer  # noqa: E402


def names(ax, axis):
    return [t.get_text() for t in (ax.get_yticklabels() if axis == "y" else ax.get_xticklabels())]


@pytest.fixture
def ex():
    explorer = recorded_attention_explorer()
    yield explorer
    assert plt.get_fignums() == []


@functools.lru_cache(maxsize=1)
def decoder_maps():
    """A seeded decoder (2 layers, 3 heads, batch 2): self-attention over 4 words, cross-attention to 6 patches."""
    g = torch.Generator().manual_seed(3)
    layer = nn.TransformerDecoderLayer(12, 3, dim_feedforward=8, dropout=0.0, batch_first=True)
    model = nn.TransformerDecoder(layer, 2).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
        tgt, memory = torch.randn(2, 4, 12, generator=g), torch.randn(2, 6, 12, generator=g)
        pad = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
        with capture_attention(model) as rec:
            model(tgt, memory, memory_key_padding_mask=pad)
    return rec.maps


WORDS, PATCHES = ["a", "red", "ball", "here"], [f"p{i}" for i in range(6)]


def test_builds_with_the_recorded_weights_and_their_head_mean(ex):
    assert ex.png()[:4] == b"\x89PNG" and ex.frames == 1 and ex.last_error is None
    maps = default_maps()
    r = ex.result
    assert r.layer == "layers.0.self_attn" and (r.head, r.item, r.query) == (0, 0, 0)
    assert torch.equal(r.weights, maps["layers.0.self_attn"][0, 0].double())
    torch.testing.assert_close(r.summary, maps["layers.0.self_attn"][0].double().mean(0))
    assert names(ex.view.weights.ax, "y") == SENTENCE == names(ex.view.weights.ax, "x")
    assert names(ex.view.summary.ax, "y") == SENTENCE == names(ex.view.bars.ax, "x")
    assert "“the”" in ex.info.value and ex.image.layout.width == f"{ex.painter.size[0]}px"


def test_the_rollout_is_attention_rollout_up_to_the_layer(ex):
    maps = list(default_maps().values())
    for layer in range(3):
        ex.set(layer=f"layers.{layer}.self_attn", summary="rollout")
        torch.testing.assert_close(ex.result.summary, attention_rollout(maps[: layer + 1])[0].double())
        assert ex.view.titles[1].get_text() == f"rollout to layer {layer + 1}"
    torch.testing.assert_close(ex.result.summary.sum(-1), torch.ones(10, dtype=torch.float64))


def test_every_control_changes_the_picture():
    ex = recorded_attention_explorer(decoder_maps(), tokens=WORDS, key_tokens=PATCHES)
    assert_every_control_repaints(ex)
    ex = recorded_attention_explorer()
    assert_every_control_repaints(ex)


def test_the_shown_matrix_is_the_recorded_one_for_every_setting():
    maps = decoder_maps()
    ex = recorded_attention_explorer(maps, tokens=WORDS, key_tokens=PATCHES)
    for name in maps:
        for b in range(2):
            for h in range(3):
                ex.set(layer=name, item=b, head=h + 1, query=3)  # heads are numbered from 1
                assert torch.equal(ex.result.weights, maps[name][b, h].double()), (name, b, h)
                assert ex.result.head == h and f"head {h + 1}" in ex.info.value
                torch.testing.assert_close(ex.result.summary, maps[name][b].double().mean(0))
                assert ex.view.bars.bars.get_paths()[2].vertices[:, 1].max() == pytest.approx(
                    float(maps[name][b, h, 3, 2]))
    assert ex.last_error is None


def test_cross_attention_names_its_keys_and_offers_no_rollout():
    ex = recorded_attention_explorer(decoder_maps(), tokens=WORDS, key_tokens=PATCHES)
    assert list(ex.controls["summary"].options) == ["mean of heads"] and ex.controls["summary"].disabled
    assert "rollout needs self-attention layers" in ex.hints.value
    assert names(ex.view.weights.ax, "x") == WORDS  # layers.0.self_attn: words attend to words
    background = ex.painter._background
    ex.set(layer="layers.0.multihead_attn")
    assert names(ex.view.weights.ax, "y") == WORDS and names(ex.view.weights.ax, "x") == PATCHES
    assert names(ex.view.bars.ax, "x") == PATCHES
    assert ex.painter._background is not background  # other labels: the background was redrawn, once
    background = ex.painter._background
    ex.set(layer="layers.1.multihead_attn", head=2, query=1)
    assert ex.painter._background is background  # same tokens: only the artists moved
    ex.set(item=1)  # the padded patches 4 and 5 get no weight
    assert bool((ex.result.weights[:, 4:] == 0).all()) and ex.last_error is None
    with pytest.raises(ValueError, match="summary='rollout' needs self-attention layers"):
        recorded_attention_explorer(decoder_maps(), summary="rollout")


@pytest.mark.parametrize("name, value", [("head", 3), ("query", 7), ("summary", "rollout"),
                                         ("layer", "layers.1.self_attn")])
def test_moves_only_blit_the_static_background_is_never_redrawn(ex, name, value):
    background = ex.painter._background
    assert background is not None
    ex.set(**{name: value})
    assert ex.painter._background is background and ex.last_error is None


def test_clicking_a_row_of_either_matrix_selects_that_query(ex):
    for view, row in ((ex.view.weights, 6), (ex.view.summary, 2)):
        px, py = ex.painter.data_to_pixel(view.ax, 0.4, (row + 0.5) / 10)
        ex.click(px, py)
        assert ex.values["query"] == row and ex.result.query == row
    frames = ex.frames
    ex.click(2, 2)  # outside every matrix: nothing changes, nothing fails
    assert ex.values["query"] == 2 and ex.last_error is None and ex.frames == frames + 1


def test_heads_and_queries_follow_the_layer():
    maps = {"wide": torch.softmax(torch.randn(1, 4, 6, 6, generator=torch.Generator().manual_seed(1)), -1),
            "narrow": torch.softmax(torch.randn(1, 2, 3, 6, generator=torch.Generator().manual_seed(2)), -1)}
    ex = recorded_attention_explorer(maps, head=4, query=5)
    ex.set(layer="narrow")
    assert ex.values["head"] == 2 and ex.values["query"] == 2 and ex.last_error is None
    assert ex.controls["item"].disabled and "one input in the batch" in ex.hints.value
    assert names(ex.view.weights.ax, "y") == ["0", "1", "2"]  # no tokens given: indices


def test_a_walk_gives_a_fresh_explorers_picture():
    factory = functools.partial(recorded_attention_explorer, decoder_maps(), WORDS, PATCHES)
    ex = factory()
    walk = [dict(head=3), dict(layer="layers.0.multihead_attn"), dict(query=3), dict(item=1),
            dict(layer="layers.1.self_attn", head=1), dict(query=0), dict(layer="layers.1.multihead_attn")]
    assert_walk_matches_fresh(ex, factory, walk)


def test_masked_out_queries_are_grey_and_said_so():
    w = torch.softmax(torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(5)), -1)
    w[0, :, 1] = math.nan  # PyTorch's weights for a query whose keys are all masked
    ex = recorded_attention_explorer({"attn": w}, tokens=["w", "x", "y", "z"], query=1, summary="rollout")
    assert ex.last_error is None and "masked out entirely" in ex.info.value
    torch.testing.assert_close(ex.result.summary[1], torch.tensor([0, 1.0, 0, 0], dtype=torch.float64))


def test_the_recorder_itself_can_be_shown():
    model = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
                                  enable_nested_tensor=False).eval()
    with torch.no_grad(), capture_attention(model) as rec:
        model(torch.randn(3, 5, 8, generator=torch.Generator().manual_seed(0)))
    ex = recorded_attention_explorer(rec, item=2)
    assert torch.equal(ex.result.weights, rec.maps["layers.0.self_attn"][2, 0].double())


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(maps={}), ValueError, "maps must hold at least one layer"),
    (dict(maps=torch.zeros(2, 2)), TypeError, "maps must be a capture_attention recorder"),
    (dict(maps={"a": torch.zeros(2, 3, 3)}), ValueError, "maps['a'] must be a non-empty floating-point"),
    (dict(maps={"a": torch.zeros(1, 1, 3, 3), "b": torch.zeros(2, 1, 3, 3)}), ValueError, "same batch size"),
    (dict(tokens=["a", "b"]), ValueError, "tokens must name the tokens of at least one layer: 2 given"),
    (dict(tokens="the cat"), TypeError, "tokens must be a list of strings"),
    (dict(layer="encoder"), ValueError, "layer must be one of"),
    (dict(layer=3), ValueError, "layer must be an integer in [0, 2], got 3"),
    (dict(head=5), ValueError, "head must be an integer in [1, 4], got 5"),
    (dict(head=0), ValueError, "head must be an integer in [1, 4], got 0"),
    (dict(query=10), ValueError, "query must be an integer in [0, 9], got 10"),
    (dict(summary="max"), ValueError, "summary must be one of"),
])
def test_factory_refuses_bad_settings(kwargs, error, words):
    with pytest.raises(error) as info:
        recorded_attention_explorer(**kwargs)
    assert words in str(info.value)


def test_a_failing_update_shows_in_the_error_area_and_the_explorer_recovers(ex, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(ex.view, "update", broken)
    ex.set(head=2)
    assert ex.last_error == "RuntimeError: broken on purpose" and ex.errors.layout.display == "block"
    monkeypatch.undo()
    ex.set(head=3)
    assert ex.last_error is None and ex.errors.layout.display == "none"


def test_fits_a_projector_page():
    assert recorded_attention_explorer(presentation=True).painter.size[0] <= 1200


def test_the_default_model_leaves_the_global_random_state_alone():
    from explainer.explorers import capture

    capture._default_recording.cache_clear()
    state = torch.get_rng_state()
    recorded_attention_explorer()
    assert torch.equal(torch.get_rng_state(), state)


def test_a_long_layer_name_is_cut_at_its_start_in_the_title():
    w = torch.softmax(torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(6)), -1)
    name = "transformer.encoder.layers.11.self_attention"
    ex = recorded_attention_explorer({name: w})
    title = ex.view.titles[0].get_text()
    assert title.startswith("…") and title.endswith("layers.11.self_attention, head 1") and len(title) < len(name)
    assert name in ex.info.value
