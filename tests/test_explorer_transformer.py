"""Lesson 14's explorers and views in plain pytest: every control repaints, the buttons step the decoder
to END and back, the pictures hold the compute's numbers, errors are shown, no figure is left open."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from _controls import assert_every_control_repaints  # noqa: E402

from explainer.decoding import greedy_decode  # noqa: E402
from explainer.explorers.transformer import decoding_explorer, transformer_block_explorer  # noqa: E402
from explainer.models import load_pretrained  # noqa: E402
from explainer.models.seq2seq import END, START, VOCAB, encode_digits  # noqa: E402
from explainer.paint import new_figure  # noqa: E402
from explainer.transformer import block_table, cost_split  # noqa: E402
from explainer.views.transformer import draw_decoding  # noqa: E402


@pytest.fixture(scope="module")
def block():
    return transformer_block_explorer(seq_len=128)


@pytest.fixture
def walk():
    return decoding_explorer(digits="2 7 1 8")


def test_block_explorer_shows_the_table(block):
    assert block.last_error is None and block.png()[:4] == b"\x89PNG"
    assert block.result == block_table(512, 8, 2048, 128)
    split = cost_split(block.result)
    widths = [seg.get_width() for seg in block.costs.segments[1]]
    assert widths == pytest.approx([split[k] / block.result.multiply_adds
                                    for k in ("projections", "scores", "feed-forward")])
    assert block.scaling.marker.get_xdata()[0] == 128
    assert plt.get_fignums() == []


def test_every_block_control_repaints(block):
    assert_every_control_repaints(block)


def test_block_explorer_heads_and_norms(block):
    block.set(d_model=256, num_heads=4, kind="decoder", norm="pre", seq_len=32, ffn_ratio=2)
    assert block.result == block_table(256, 4, 512, 32, kind="decoder", norm_first=True)
    assert "4 heads \u00d7 64" in block.heads.get_text()
    pre_line = block.stream_view.lines[1]
    assert pre_line.get_linewidth() > block.stream_view.lines[0].get_linewidth()
    assert "norm1 \u2192 self_attn" in block.info.value


def test_decoding_walk_steps_to_end_and_resets(walk):
    assert walk.step == 0 and walk.result.inputs.tolist() == [START]
    expected = greedy_decode(load_pretrained("seq2seq"), encode_digits([[2, 7, 1, 8]])[0], START, END)
    for t in range(1, 5):
        before = walk.png()
        walk.next_button.click()
        assert walk.step == t and walk.png() != before and walk.last_error is None
        torch.testing.assert_close(walk.result.cross_attention, expected.steps[t].cross_attention)
    assert walk.result.token == END and walk.next_button.disabled and "decoding stops" in walk.info.value
    walk.next_token()  # nothing after END
    assert walk.step == 4
    rows, cols = walk.view.cross_attn.data.shape
    assert (rows, cols) == (5, 5) and walk.view.labels == (("START", "8", "1", "7", "2"), ("2", "7", "1", "8", "END"))
    walk.reset_button.click()
    assert walk.step == 0 and not walk.next_button.disabled


def test_decoding_picture_is_the_chosen_layer_and_head(walk):
    walk.next_token()
    walk.next_token()
    step = walk.result
    walk.set(layer=1, head="2")
    np.testing.assert_allclose(walk.view.self_attn.data[np.isfinite(walk.view.self_attn.data)],
                               step.self_attention[0, 1].numpy()[step.self_attention[0, 1].numpy() != 0])
    np.testing.assert_allclose(walk.view.cross_attn.data, step.cross_attention[0, 1].numpy())
    walk.set(head="mean", layer=2)
    np.testing.assert_allclose(walk.view.cross_attn.data, step.cross_attention[1].mean(0).numpy(), rtol=1e-6)
    assert walk.step == 2  # changing the view keeps the step
    walk.set(digits="5")
    assert walk.step == 0 and walk.view.labels[1] == ("5", "END")


def test_every_decoding_control_repaints(walk):
    walk.next_token()
    assert_every_control_repaints(walk)


def test_decoding_view_refuses_bad_shapes():
    fig = new_figure(6, 3)
    view = draw_decoding(fig, VOCAB[1:], 4)
    assert len(view.artists) == 2 + 2 + len(VOCAB) - 1 + 3 + 2  # ..., titles, the two matrices' names
    with pytest.raises(ValueError, match="self_weights must be"):
        view.update(np.ones((2, 3)), np.ones((2, 3)), np.ones(12), ("a", "b", "c"))
    with pytest.raises(ValueError, match="at most 4 tokens"):
        view.update(np.eye(5), np.ones((5, 2)), np.ones(12), ("a", "b", "c"))
    assert view.label(["START"], ["1", "END"]) and not view.label(["START"], ["1", "END"])
    with pytest.raises(ValueError, match="at most 4 tokens per axis, got 1 and 5"):
        view.label(["START"], list("12345"))


def _contours(path):
    return int((path.codes == path.MOVETO).sum())


def test_decoding_names_tokens_beside_rows_and_under_columns_as_animated_paths(walk):
    """Each matrix's names are one animated path (a step repaints it, never the background) holding exactly
    the names of its rows and columns, left of and under the matrix."""
    from explainer.views._common import label_outline

    size = walk.theme.font_size - 2
    for _ in range(2):
        walk.next_token()
    inputs, source = walk.view.labels
    assert inputs == ("START", "8", "1") and source == ("2", "7", "1", "8", "END")
    for patch, columns in zip(walk.view.names, (inputs, source), strict=True):
        assert patch in walk.view.artists and patch.get_animated()
        path = patch.get_path()
        assert _contours(path) == sum(_contours(label_outline(w, size)) for w in (*inputs, *columns))
        v = path.vertices
        assert ((v[:, 0] < 0) | (v[:, 1] < 0)).all()  # every name outside the matrix: left of it or under it
    background = walk.painter._background
    walk.next_token()  # new names on the axes, the same background
    assert walk.painter._background is background and walk.view.labels[0][-1] == "7"


def test_decoding_can_open_at_a_later_step():
    ex = decoding_explorer(digits="2 7 1 8", steps=4)
    assert ex.step == 4 and ex.result.token == END and ex.next_button.disabled
    with pytest.raises(ValueError, match="steps"):
        decoding_explorer(digits="5", steps=2)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="d_model"):
        transformer_block_explorer(d_model=100)
    with pytest.raises(ValueError, match="digits"):
        decoding_explorer(digits="1 2 3 4 5 6 7 8 9")
    with pytest.raises(ValueError, match="presentation"):
        decoding_explorer(presentation=False, theme=object())
