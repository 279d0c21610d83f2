"""Lesson 14 explorers: one transformer block measured, and a trained decoder's walk to END.

* :func:`transformer_block_explorer`: one encoder or decoder block's weights and multiply-adds
  (split into projections, ``Q K^T`` / ``A V`` and feed-forward) as the width ``D``, the heads,
  the feed-forward width and the tokens ``N`` move; the growth of each part with ``N``; Add & Norm
  after (post-norm) or before (pre-norm) each sublayer, with the residual stream's scale through
  12 random blocks of each kind.
* :func:`decoding_explorer`: the shipped digit reverser (:mod:`explainer.models.seq2seq`) decodes
  a chosen input one token per press of "next token", showing that step's causal self-attention and
  cross-attention (tokens on both axes) and its next-token probabilities, until END; "reset"
  starts again. Decoding is a button's action, never a slider's.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from explainer._validate import check_choice, check_int
from explainer.explorers._kit import Explorer, Kept, dropdown, one_torch_thread, selection_slider, toggle_buttons
from explainer.paint import Painter, new_figure
from explainer.theme import Theme, get_theme
from explainer.transformer import block_table, cost_split, residual_stream
from explainer.views.families import table_html
from explainer.views.transformer import draw_block_costs, draw_decoding, draw_residual_streams, draw_scaling

__all__ = ["WIDTHS", "HEADS", "TOKENS", "FFN_RATIOS", "INPUTS", "TransformerBlockExplorer",
           "transformer_block_explorer", "DecodingExplorer", "decoding_explorer"]

WIDTHS = (64, 128, 256, 512, 768, 1024)
HEADS = (1, 2, 4, 8, 16)
TOKENS = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
FFN_RATIOS = (1, 2, 4, 8)
INPUTS = ("3 1 4 1 5 9", "2 7 1 8", "9 8 7 6 5 4 3 2", "5", "1 2 3 4 5 6 7", "0 0 7", "6 0 2 2")


def _theme(presentation: bool | None, theme: Theme | None) -> Theme:
    if presentation is not None and theme is not None:
        raise ValueError("give either presentation= or theme=, not both")
    return theme or get_theme(presentation)


class TransformerBlockExplorer(Explorer):
    """One block's costs as its sizes move, and Add & Norm's placement.

    ``result`` is the block's :class:`~explainer.families.NetworkTable`; ``streams`` the post-norm
    and pre-norm :class:`~explainer.transformer.ResidualStream`. Arguments as in
    :func:`transformer_block_explorer`.
    """

    def __init__(self, *, d_model: int = 512, num_heads: int = 8, ffn_ratio: int = 4, seq_len: int = 64,
                 kind: str = "encoder", norm: str = "post", theme: Theme | None = None) -> None:
        theme = theme or get_theme()
        for name, value, options in (("d_model", d_model, WIDTHS), ("num_heads", num_heads, HEADS),
                                     ("ffn_ratio", ffn_ratio, FFN_RATIOS), ("seq_len", seq_len, TOKENS),
                                     ("kind", kind, ("encoder", "decoder")), ("norm", norm, ("post", "pre"))):
            check_choice(name, value, options)
        self.kept = Kept(256)
        with one_torch_thread():
            self.streams = (residual_stream(norm_first=False), residual_stream(norm_first=True))
        controls = {
            "d_model": selection_slider("width D", WIDTHS, d_model, theme=theme),
            "num_heads": selection_slider("heads H", HEADS, num_heads, theme=theme),
            "ffn_ratio": toggle_buttons("F / D", list(FFN_RATIOS), ffn_ratio, theme=theme),
            "seq_len": selection_slider("tokens N", TOKENS, seq_len, theme=theme),
            "kind": toggle_buttons("block", ["encoder", "decoder"], kind, theme=theme),
            "norm": toggle_buttons("Add & Norm", [("post-norm", "post"), ("pre-norm", "pre")], norm, theme=theme),
        }
        fig = new_figure(7.2, 3.0, theme=theme)
        self.costs = draw_block_costs(fig.add_axes((0.11, 0.17, 0.23, 0.63)), theme=theme)
        self.scaling = draw_scaling(fig.add_axes((0.43, 0.17, 0.25, 0.66)), theme=theme)
        self.stream_view = draw_residual_streams(fig.add_axes((0.77, 0.17, 0.21, 0.66)), *self.streams, theme=theme)
        self.heads = fig.text(0.01, 0.96, "", ha="left", va="top", fontsize=theme.font_size - 1)
        painter = Painter(fig)
        painter.animate(self.costs.artists, self.scaling.artists, self.stream_view.artists, self.heads)
        super().__init__(controls, painter, title="One transformer block", theme=theme)

    def render(self, values: dict[str, Any]) -> None:
        d, h, n = values["d_model"], values["num_heads"], values["seq_len"]
        key = (d, values["ffn_ratio"], n, values["kind"], values["norm"])  # the heads change no count
        table = self.kept.fetch(key, lambda: block_table(d, h, d * key[1], n, kind=key[3], norm_first=key[4] == "pre"))
        self.costs.update(table)
        self.scaling.update(table)
        self.stream_view.update(values["norm"] == "pre")
        self.heads.set_text(f"{values['kind']} block: D = {d} = {h} heads \u00d7 {d // h} (d_k), F = {d * key[1]}, "
                            f"N = {n}")
        self.result = table
        split = cost_split(table)
        order = " \u2192 ".join(r.name for r in table.rows)
        self.info.value = (
            f"<b>{table.params:,}</b> weights and <b>{table.multiply_adds:,}</b> multiply-adds for {n} tokens: "
            f"projections {split['projections']:,} (4ND\u00b2), QK\u1d40 + AV {split['scores']:,} (2N\u00b2D), "
            f"feed-forward {split['feed-forward']:,} (2NDF). {h} heads of width {d // h} change neither.<br>"
            f"Layers in call order ({html.escape(values['norm'])}-norm): <code>{html.escape(order)}</code>"
            f"{table_html(table)}")


def transformer_block_explorer(*, d_model: int = 512, num_heads: int = 8, ffn_ratio: int = 4, seq_len: int = 64,
                               kind: str = "encoder", norm: str = "post", presentation: bool | None = None,
                               theme: Theme | None = None) -> TransformerBlockExplorer:
    """Build (and return, not display) the transformer-block explorer of lesson 14.

    Args:
        d_model: width ``D``, one of :data:`WIDTHS`.
        num_heads: heads ``H``, one of :data:`HEADS` (all divide every width).
        ffn_ratio: feed-forward width over ``D`` (``F = ffn_ratio * D``; 4 in the paper), one of :data:`FFN_RATIOS`.
        seq_len: tokens ``N``, one of :data:`TOKENS` (a decoder reads as many memory tokens).
        kind: "encoder" or "decoder".
        norm: "post" (``LN(x + f(x))``, the paper) or "pre" (``x + f(LN(x))``).
        presentation: True for the lecture-hall theme, False for the default, None for the global
            setting (:func:`explainer.set_presentation`).
        theme: a :class:`~explainer.theme.Theme` to use instead of ``presentation``'s.

    Raises:
        ValueError: a setting outside its choices, or both ``presentation`` and ``theme``.

    Example:
        >>> transformer_block_explorer().result.params
        3152384
    """
    return TransformerBlockExplorer(d_model=d_model, num_heads=num_heads, ffn_ratio=ffn_ratio, seq_len=seq_len,
                                    kind=kind, norm=norm, theme=_theme(presentation, theme))


class DecodingExplorer(Explorer):
    """The digit reverser decoding step by step; "next token" and "reset" are buttons.

    ``decoding`` is the whole :class:`~explainer.decoding.Decoding` of the current input (computed
    once per input), ``step`` the index of the step shown, ``result`` that
    :class:`~explainer.decoding.DecodeStep`. Arguments as in :func:`decoding_explorer`.
    """

    paint_ahead = False  # render() sets the next-token button: nothing is painted ahead

    def __init__(self, *, digits: str = INPUTS[0], layer: int = 2, head: str = "mean", steps: int = 0,
                 theme: Theme | None = None) -> None:
        from explainer.models import load_pretrained
        from explainer.models.seq2seq import MAX_DIGITS, VOCAB

        theme = theme or get_theme()
        check_choice("digits", digits, INPUTS)
        check_choice("layer", layer, (1, 2))
        check_choice("head", head, ("mean", "1", "2"))
        with one_torch_thread():
            self.model = load_pretrained("seq2seq")
        self.decodings = Kept(len(INPUTS))
        self.step = check_int("steps", steps, minimum=0, maximum=len(digits.split()))
        controls = {
            "digits": dropdown("input", list(INPUTS), digits, theme=theme),
            "layer": toggle_buttons("decoder layer", [1, 2], layer, theme=theme),
            "head": toggle_buttons("head", ["mean", "1", "2"], head, theme=theme),
        }
        self.next_button = widgets.Button(description="next token", icon="step-forward", button_style="primary")
        self.reset_button = widgets.Button(description="reset", icon="undo")
        self.next_button.on_click(lambda _: self.next_token())
        self.reset_button.on_click(lambda _: self.reset())
        fig = new_figure(7.2, 3.4, theme=theme)
        self.view = draw_decoding(fig, VOCAB[1:], MAX_DIGITS + 1, theme=theme)  # PAD is never written
        painter = Painter(fig)
        painter.animate(self.view.artists)
        self._shown_digits = digits  # the step belongs to this input; another one starts again at 0
        super().__init__(controls, painter, title="Decoding until END", theme=theme,
                         extra=[widgets.HBox([self.next_button, self.reset_button])])

    @property
    def decoding(self) -> Any:
        from explainer.decoding import greedy_decode
        from explainer.models.seq2seq import END, START, encode_digits

        digits = self.controls["digits"].value
        return self.decodings.fetch(digits, lambda: greedy_decode(
            self.model, encode_digits([[int(c) for c in digits.split()]])[0], START, END))

    def next_token(self) -> None:
        """Show the next decoding step (nothing more after END)."""
        if self.step + 1 < len(self.decoding.steps):
            self.step += 1
            self.update()

    def reset(self) -> None:
        """Back to the first step (the decoder has read START only)."""
        self.step = 0
        self.update()

    def frame_state(self) -> Any:
        """The decoding step is shown too: kept pictures are per step."""
        return (self.step,)

    def render(self, values: dict[str, Any]) -> None:
        from explainer.models.seq2seq import VOCAB, token_names

        if values["digits"] != self._shown_digits:  # another input: start again
            self._shown_digits, self.step = values["digits"], 0
        decoding = self.decoding
        step = decoding.steps[self.step]
        layer = values["layer"] - 1
        pick = (lambda w: w.mean(0)) if values["head"] == "mean" else (lambda w: w[int(values["head"]) - 1])
        inputs, source = token_names(step.inputs), token_names(decoding.source)
        self.view.label(inputs, source)  # animated paths: no background to redraw
        which = "mean of 2 heads" if values["head"] == "mean" else f"head {values['head']}"
        written = token_names(list(decoding.written[: self.step + 1]))
        self.view.update(pick(step.self_attention[layer]).numpy(), pick(step.cross_attention[layer]).numpy(),
                         step.probabilities[1:].numpy(),
                         (f"causal self-attention, layer {values['layer']}", f"cross-attention, {which}",
                          f"writes {VOCAB[step.token]}"))
        done = self.step + 1 == len(decoding.steps)
        self.next_button.disabled = done
        self.result = step
        self.info.value = (
            f"step {self.step + 1}: the decoder read <code>{html.escape(' '.join(inputs))}</code> and wrote "
            f"<b>{html.escape(VOCAB[step.token])}</b> (p = {float(step.probabilities.max()):.3f}). Written so far: "
            f"<code>{html.escape(' '.join(written))}</code>"
            + (" &mdash; END: decoding stops." if done and decoding.finished else ""))


def decoding_explorer(*, digits: str = INPUTS[0], layer: int = 2, head: str = "mean", steps: int = 0,
                      presentation: bool | None = None, theme: Theme | None = None) -> DecodingExplorer:
    """Build (and return, not display) the decoding walk of lesson 14.

    Args:
        digits: the input to reverse, one of :data:`INPUTS` (digits separated by spaces).
        layer: the decoder layer whose attention is shown, 1 or 2.
        head: "mean" (of the two heads), "1" or "2".
        steps: tokens already written when the explorer opens, 0 (only START read) up to the number of
            digits (the step that writes END).
        presentation: True for the lecture-hall theme, False for the default, None for the global
            setting (:func:`explainer.set_presentation`).
        theme: a :class:`~explainer.theme.Theme` to use instead of ``presentation``'s.

    Raises:
        ValueError: a setting outside its choices, or both ``presentation`` and ``theme``.

    Example:
        >>> ex = decoding_explorer(digits="2 7 1 8")
        >>> for _ in range(4):
        ...     ex.next_token()
        >>> " ".join(ex.info.value.split("Written so far: <code>")[1].split("</code>")[0].split())
        '8 1 7 2 END'
    """
    return DecodingExplorer(digits=digits, layer=layer, head=head, steps=steps, theme=_theme(presentation, theme))
