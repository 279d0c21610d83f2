"""The shipped digit reverser and step-by-step decoding: accuracy on fresh sequences, stopping at END,
and the recorded attention of every step against the full teacher-forced pass and a slow recomputation."""

from __future__ import annotations

import math

import pytest
import torch

from explainer.attention import capture_attention
from explainer.decoding import greedy_decode, greedy_decode_batch
from explainer.models import WEIGHTS_DIR, load_pretrained
from explainer.models.seq2seq import END, START, WEIGHTS, encode_digits, random_sources, reverse_targets, token_names

ACCURACY_BAR = 0.95  # exact sequences, 1 to 8 digits; the shipped weights reach 1.000 on 2000 (training log)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matrices: one thread is faster, and far faster on a busy machine; the setting is restored."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    return load_pretrained("seq2seq")


def test_weights_are_small_float16():
    path = WEIGHTS_DIR / WEIGHTS
    assert path.stat().st_size < 200_000
    state = torch.load(path, weights_only=True)
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}


def test_exact_sequence_accuracy_on_fresh_sequences(model):
    sources = random_sources(300, torch.Generator().manual_seed(909))
    written = greedy_decode_batch(model, encode_digits(sources))
    accuracy = sum(w == s[::-1] for w, s in zip(written, sources, strict=True)) / len(sources)
    assert accuracy >= ACCURACY_BAR
    long = [s for s in sources if len(s) == 8]
    written_long = greedy_decode_batch(model, encode_digits(long))
    assert long and sum(w == s[::-1] for w, s in zip(written_long, long, strict=True)) >= ACCURACY_BAR * len(long)


def test_decoding_stops_at_end(model):
    for digits in ([7], [3, 1, 4, 1, 5], [9, 8, 7, 6, 5, 4, 3, 2]):
        d = greedy_decode(model, encode_digits([digits])[0], START, END)
        assert d.finished and d.written[-1] == END and END not in d.written[:-1]
        assert len(d.steps) == len(digits) + 1
        assert token_names(list(d.written)) == [str(x) for x in digits[::-1]] + ["END"]
        assert greedy_decode_batch(model, encode_digits([digits])) == [digits[::-1]]


def test_max_steps_cuts_decoding_short(model):
    d = greedy_decode(model, encode_digits([[1, 2, 3]])[0], START, END, max_steps=2)
    assert len(d.steps) == 2 and not d.finished


def test_step_attention_is_the_teacher_forced_pass(model):
    """Causality: step t's attention equals rows 0..t of one pass over the whole written sequence."""
    m = load_pretrained("seq2seq").double()
    src = encode_digits([[2, 7, 1, 8, 2]])  # (1, S)
    d = greedy_decode(m, src[0], START, END)
    full = torch.tensor([[START, *d.written[:-1]]])  # (1, T): what the last step read
    with capture_attention(m.decoder) as rec:
        m.decode(full, m.encode(src), src)
    names = list(rec.maps)
    assert tuple(names) == ("layers.0.self_attn", "layers.0.multihead_attn", "layers.1.self_attn",
                            "layers.1.multihead_attn")
    for t, step in enumerate(d.steps):
        assert step.self_attention.shape == (2, 2, t + 1, t + 1)
        assert step.cross_attention.shape == (2, 2, t + 1, src.shape[1])
        for layer in range(2):
            torch.testing.assert_close(step.self_attention[layer],
                                       rec.maps[names[2 * layer]][0, :, : t + 1, : t + 1])
            torch.testing.assert_close(step.cross_attention[layer], rec.maps[names[2 * layer + 1]][0, :, : t + 1])
        upper = torch.triu(torch.ones(t + 1, t + 1, dtype=torch.bool), 1)
        assert bool((step.self_attention[..., upper] == 0).all())
        torch.testing.assert_close(step.self_attention.sum(-1), torch.ones(2, 2, t + 1, dtype=torch.float64))
        assert int(step.probabilities.argmax()) == step.token


def test_cross_attention_against_a_slow_recomputation(model):
    """softmax(q k^T / sqrt(d)) per head from the layer's own projection weights, on the inputs it got."""
    m = load_pretrained("seq2seq").double()
    src = encode_digits([[4, 0, 6]])
    d = greedy_decode(m, src[0], START, END)
    layer = m.decoder.layers[1].multihead_attn
    got = {}
    handle = layer.register_forward_pre_hook(lambda mod, args, kwargs: got.update(q=args[0], k=args[1]),
                                             with_kwargs=True)
    try:
        m.decode(d.steps[-1].inputs.unsqueeze(0), m.encode(src), src)
    finally:
        handle.remove()
    E, H = layer.embed_dim, layer.num_heads
    wq, wk = layer.in_proj_weight[:E], layer.in_proj_weight[E:2 * E]
    bq, bk = layer.in_proj_bias[:E], layer.in_proj_bias[E:2 * E]
    with torch.no_grad():
        q, k = got["q"][0] @ wq.T + bq, got["k"][0] @ wk.T + bk  # (T, E), (S, E)
    dh = E // H
    slow = torch.empty(H, q.shape[0], k.shape[0], dtype=torch.float64)
    for h in range(H):
        for i in range(q.shape[0]):
            scores = [float(q[i, h * dh:(h + 1) * dh] @ k[j, h * dh:(h + 1) * dh]) / math.sqrt(dh)
                      for j in range(k.shape[0])]
            top = max(scores)
            exp = [math.exp(s - top) for s in scores]
            slow[h, i] = torch.tensor([e / sum(exp) for e in exp], dtype=torch.float64)
    torch.testing.assert_close(d.steps[-1].cross_attention[1], slow)


def test_reversal_reads_the_source_backwards(model):
    """The last layer's head-mean cross-attention of output t peaks on source digit n - 1 - t for most steps."""
    digits = [5, 3, 9, 1, 7, 2]
    d = greedy_decode(model, encode_digits([digits])[0], START, END)
    hits = sum(int(step.cross_attention[-1].mean(0)[-1].argmax()) == len(digits) - 1 - t
               for t, step in enumerate(d.steps[:-1]))
    assert hits >= len(digits) // 2


def test_targets_and_sources():
    assert encode_digits([[3, 1], [5]]).tolist() == [[6, 4, 2], [8, 2, 0]]
    assert reverse_targets([[3, 1]]).tolist() == [[1, 4, 6, 2]]
    sources = random_sources(50, torch.Generator().manual_seed(1), max_digits=4)
    assert all(1 <= len(s) <= 4 for s in sources)
    with pytest.raises(ValueError, match="sources must"):
        encode_digits([[]])
    with pytest.raises(ValueError, match="digits 0-9"):
        encode_digits([[10]])


def test_bad_input(model):
    with pytest.raises(TypeError, match="encode"):
        greedy_decode(torch.nn.Linear(2, 2), torch.tensor([3, 2]), START, END)
    with pytest.raises(ValueError, match="source must have 1 dimensions"):
        greedy_decode(model, torch.tensor([[3, 2]]), START, END)
    with pytest.raises(ValueError, match="max_steps"):
        greedy_decode(model, torch.tensor([3, 2]), START, END, max_steps=0)
