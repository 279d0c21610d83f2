"""The cross-attention explorer in plain pytest: the maps are the caption model's own weights (read through
CaptionLocator.inspect, independent of the recording hooks, and recomputed by slow loops), the importance
is importance_map, the swapped matrix is a softmax over the words; the composer only makes questions of
the dataset; every control, click and bad setting behaves."""

from __future__ import annotations

import copy
import functools
import itertools
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from _controls import assert_every_control_repaints, assert_walk_matches_fresh  # noqa: E402

from explainer.attention import MultiHeadAttention, capture_attention, importance_map  # noqa: E402
from explainer.data import COLOURS, hard_scenes, tokenize  # noqa: E402
from explainer.explorers.cross_attention import (  # noqa: E402
    GRID,
    NOUNS,
    STARTS,
    compose,
    cross_attention_explorer,
    default_caption_model,
    lesson_scenes,
    split_question,
)

QUESTION = "what shape is the blue thing"  # 6 words, "blue" at 4


@functools.lru_cache(maxsize=1)
def cross_layers():
    """The caption model's cross-attention layers (keys: the 64 patches), in the order they run."""
    with torch.no_grad(), capture_attention(model()) as rec:
        model()(lesson_scenes().images[:1], tokenize(QUESTION)[None])
    return [name for name, w in rec.maps.items() if w.shape[-1] == 64]


@functools.lru_cache(maxsize=1)
def model():
    return default_caption_model()


@functools.lru_cache(maxsize=4)
def inspected(image, question):
    with torch.no_grad():
        return model().inspect(lesson_scenes().images[image][None], tokenize(question)[None])


@pytest.fixture
def ex():
    explorer = cross_attention_explorer(model=model(), question=QUESTION)
    yield explorer
    assert plt.get_fignums() == []


def slow_scores(model, image, question, layer, head):
    """(words, patches) scaled dot products of one head, by loops over the layer's float64 weights and inputs."""
    m = copy.deepcopy(model).double()
    attn = m.get_submodule(layer)
    seen = {}
    handle = attn.register_forward_pre_hook(lambda module, args: seen.update(q=args[0][0], k=args[1][0]))
    with torch.no_grad():
        m(image[None].double(), tokenize(question)[None])
    handle.remove()
    d = attn.head_dim
    sl = slice(head * d, (head + 1) * d)
    with torch.no_grad():
        q = seen["q"] @ attn.q_proj.weight[sl].T + attn.q_proj.bias[sl]  # (L_max, d)
        k = seen["k"] @ attn.k_proj.weight[sl].T + attn.k_proj.bias[sl]  # (P, d)
    words = len(question.split())
    return [[sum(float(q[i, c]) * float(k[j, c]) for c in range(d)) / math.sqrt(d) for j in range(k.shape[0])]
            for i in range(words)]


def softmax(values):
    top = max(values)
    e = [math.exp(v - top) for v in values]
    return [v / sum(e) for v in e]


def test_builds_and_shows_the_models_own_weights(ex):
    assert ex.png()[:4] == b"\x89PNG" and ex.frames == 1 and ex.last_error is None
    r = ex.result
    assert r.words == tuple(QUESTION.split()) and r.words[r.word] == "blue" and r.layer == cross_layers()[0]
    out = inspected(0, QUESTION)  # the model's own weights (its inspect), not the recording
    torch.testing.assert_close(r.weights, getattr(out, r.layer)[0].double().mean(0))  # heads' mean by default
    for layer, head in itertools.product(cross_layers(), (0, 3)):
        ex.set(layer=layer, heads="one head", head=head + 1, word=2)  # heads are numbered from 1
        torch.testing.assert_close(ex.result.weights, getattr(out, layer)[0, head].double())
        assert ex.result.head == head and f"head {head + 1}" in ex.info.value
        torch.testing.assert_close(ex.result.word_map.flatten(), getattr(out, layer)[0, head, 2].double())
        torch.testing.assert_close(ex.result.self_weights, out.words_self[0, head].double())
    torch.testing.assert_close(ex.result.weights.sum(-1), torch.ones(6, dtype=torch.float64))


def test_the_shown_maps_are_capture_attentions_record():
    with torch.no_grad(), capture_attention(model()) as rec:
        model()(lesson_scenes().images[5][None], tokenize(QUESTION)[None])
    ex = cross_attention_explorer(model=model(), image=5, question=QUESTION, heads="one head")
    for name in cross_layers():
        for head in range(4):
            ex.set(layer=name, head=head + 1)
            assert torch.equal(ex.result.weights, rec.maps[name][0, head].double())
    assert isinstance(model().get_submodule(cross_layers()[0]), MultiHeadAttention)


def test_one_head_and_the_swap_recomputed_by_slow_loops():
    image, head = 3, 2
    scores = slow_scores(model(), lesson_scenes().images[image], QUESTION, cross_layers()[0], head)  # (L, P)
    ex = cross_attention_explorer(model=model(), image=image, question=QUESTION, heads="one head", head=head + 1)
    rows = torch.tensor([softmax(row) for row in scores], dtype=torch.float64)  # softmax over the patches
    columns = torch.tensor([softmax(list(col)) for col in zip(*scores, strict=True)], dtype=torch.float64).T
    torch.testing.assert_close(ex.result.weights, rows, atol=2e-6, rtol=1e-4)
    torch.testing.assert_close(ex.result.swapped, columns, atol=2e-6, rtol=1e-4)  # float32 layer inputs
    torch.testing.assert_close(ex.result.swapped.sum(0), torch.ones(64, dtype=torch.float64))
    assert not torch.allclose(ex.result.swapped.sum(1), torch.ones(6, dtype=torch.float64), atol=0.1)
    assert not torch.allclose(ex.result.swapped, ex.result.weights, atol=0.01)  # swapping Q and K changes W


def test_padding_words_are_neither_shown_nor_attended_to_in_the_swap():
    ex = cross_attention_explorer(model=model(), question="find the red one", heads="one head", head=1)
    assert ex.result.words == ("find", "the", "red", "one") and ex.result.weights.shape == (4, 64)
    torch.testing.assert_close(ex.result.swapped.sum(0), torch.ones(64, dtype=torch.float64))


def test_importance_is_importance_map_over_the_words(ex):
    for layer, heads in itertools.product(cross_layers(), ("one head", "mean of heads")):
        ex.set(layer=layer, heads=heads)
        w = ex.result.weights  # (L, P)
        torch.testing.assert_close(ex.result.importance, importance_map(w, dim=-2, grid=GRID))
        slow = torch.tensor([[sum(float(w[i, r * GRID + c]) for i in range(w.shape[0])) / w.shape[0]
                              for c in range(GRID)] for r in range(GRID)], dtype=torch.float64)
        torch.testing.assert_close(ex.result.importance, slow)


def test_pointing_and_the_named_object_follow_the_scene(ex):
    scenes = lesson_scenes()
    for image, colour in itertools.product((0, 5), COLOURS):
        ex.set(image=image, colour=colour)
        colours = scenes.colours[image].tolist()
        index = list(COLOURS).index(colour)
        if index not in colours:
            assert ex.result.named is None and ex.result.pointing is None and "no " + colour in ex.info.value
            continue
        slot = colours.index(index)
        assert ex.result.named == slot
        top = int(ex.result.weights[ex.result.word].argmax())
        r, c = divmod(top, GRID)
        assert ex.result.pointing == bool(scenes.masks[image, slot, 4 * r:4 * r + 4, 4 * c:4 * c + 4].any())


def test_the_composer_makes_exactly_the_datasets_questions():
    for start, colour, noun in itertools.product(STARTS, COLOURS, NOUNS):
        question = compose(start, colour, noun)
        assert split_question(question) == (start, colour, noun)
        tokenize(question)  # every word is in VOCAB, no more words than a question holds
    for caption in lesson_scenes().captions + hard_scenes(30, seed=11, target="word").captions:
        assert compose(*split_question(caption)) == caption


def test_the_word_slider_follows_the_questions_length(ex):
    ex.set(word=5)
    ex.set(start="find the")
    assert ex.values["word"] == 3 and ex.controls["word"].max == 3 and ex.last_error is None
    assert ex.result.words == ("find", "the", "blue", "thing")


def test_every_control_changes_the_picture(ex):
    assert_every_control_repaints(ex)


def test_clicking_a_row_of_a_matrix_picks_that_word(ex):
    for view, row in ((ex.view.self_matrix, 1), (ex.view.cross_matrix, 5), (ex.view.swapped_matrix, 0)):
        px, py = ex.painter.data_to_pixel(view.ax, 0.5, (row + 0.5) / 6)
        ex.click(px, py)
        assert ex.values["word"] == row and ex.result.word == row and ex.last_error is None
    ex.click(2, 2)
    assert ex.values["word"] == 0 and ex.last_error is None


@pytest.mark.parametrize("name, value", [("head", 3), ("word", 1), ("image", 5), ("heads", "mean of heads"),
                                         ("noun", "one"), ("colour", "red"), ("start", "find the")])
def test_moves_only_blit_the_static_background_is_never_redrawn(ex, name, value):
    ex.set(heads="one head")
    background = ex.painter._background
    ex.set(**{name: value})
    assert ex.painter._background is background and ex.last_error is None


def test_a_walk_gives_a_fresh_explorers_picture():
    factory = functools.partial(cross_attention_explorer, model())

    def make(**values):
        question = compose(values.pop("start"), values.pop("colour"), values.pop("noun"))
        return factory(question=question, **values)

    walk = [dict(word=1), dict(layer=cross_layers()[-1]), dict(colour="green"), dict(image=2),
            dict(heads="one head", head=3),
            dict(start="find the"), dict(noun="object", word=0)]
    assert_walk_matches_fresh(make(**factory().values), make, walk)


def test_a_failing_update_shows_in_the_error_area_and_the_explorer_recovers(ex, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(ex.view.importance, "update", broken)
    ex.set(word=2)
    assert ex.last_error == "RuntimeError: broken on purpose" and ex.errors.layout.display == "block"
    monkeypatch.undo()
    ex.set(word=3)
    assert ex.last_error is None and ex.errors.layout.display == "none"


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(image=12), ValueError, "image must be an integer in [0, 11], got 12"),
    (dict(question="where is the purple one"), ValueError, "question must read '<start> <colour> <noun>'"),
    (dict(question="the red one where"), ValueError, "question must read"),
    (dict(question=3), TypeError, "question must be a str"),
    (dict(question=QUESTION, word=6), ValueError, "word must be an integer in [0, 5], got 6"),
    (dict(layer="words_self"), ValueError, "layer must be one of"),
    (dict(head=5), ValueError, "head must be an integer in [1, 4], got 5"),
    (dict(head=0), ValueError, "head must be an integer in [1, 4], got 0"),
    (dict(heads="all"), ValueError, "heads must be one of"),
    (dict(model="caption"), TypeError, "model must be a torch.nn.Module"),
])
def test_factory_refuses_bad_settings(kwargs, error, words):
    with pytest.raises(error) as info:
        cross_attention_explorer(**kwargs)
    assert words in str(info.value)


def test_the_default_model_leaves_the_global_random_state_alone():
    state = torch.get_rng_state()
    cross_attention_explorer()
    assert torch.equal(torch.get_rng_state(), state)


def test_fits_a_projector_page():
    width, height = cross_attention_explorer(model=model(), presentation=True).painter.size
    assert width <= 1200 and height <= 720
