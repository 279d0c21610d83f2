"""Record the attention weights of any model, and read them: rollout, attention distance, importance.

:func:`capture_attention` records, during forward passes, the per-head weights of every attention
layer of an ``nn.Module`` built from ``nn.MultiheadAttention`` (``nn.TransformerEncoder``,
``nn.TransformerDecoder``, a ViT, ...) or from :class:`~explainer.attention.core.MultiHeadAttention`.
The three readers below work on what it records (or on any ``(B, H, Tq, Tk)`` weights):

* :func:`attention_rollout` (Abnar & Zuidema, "Quantifying Attention Flow in Transformers", ACL
  2020, https://arxiv.org/abs/2005.00928): how much of each input token reaches each output token
  through all layers, heads averaged and the residual path counted;
* :func:`mean_attention_distance` (Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021,
  https://arxiv.org/abs/2010.11929, Fig. 7 and appendix D.7): per head, how far in pixels a patch
  looks, on average; the transformer's counterpart of a CNN unit's receptive field;
* :func:`importance_map`: our notes' (001) average of the weights over one axis, e.g. a caption's
  cross-attention averaged over its words gives one importance per image position, read as a map.

Letters: ``B`` batch, ``H`` heads, ``Tq`` / ``Tk`` query / key tokens (``T`` when equal), ``L``
layers, ``P = gh * gw`` image patches on a ``gh x gw`` grid.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from explainer._validate import check_choice, check_int, check_pair, check_tensor
from explainer.attention.core import Attention, MultiHeadAttention

__all__ = [
    "AttentionRecorder",
    "capture_attention",
    "attention_modules",
    "attention_rollout",
    "mean_attention_distance",
    "importance_map",
]

_HEAD_FUSIONS = ("mean", "max", "min")


# --------------------------------------------------------------------------- recording
def attention_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The attention layers :func:`capture_attention` records: ``(name, module)`` in ``named_modules`` order.

    These are the ``nn.MultiheadAttention`` (and subclasses) and
    :class:`~explainer.attention.core.MultiHeadAttention` modules of ``model`` (``model`` itself
    included, under the name ``""``).

    Example:
        >>> layer = nn.TransformerEncoderLayer(8, 2)
        >>> [name for name, _ in attention_modules(nn.TransformerEncoder(layer, 2, enable_nested_tensor=False))]
        ['layers.0.self_attn', 'layers.1.self_attn']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, (nn.MultiheadAttention, MultiHeadAttention))]


class AttentionRecorder:
    """What :func:`capture_attention` records; read it inside or after the ``with`` block.

    Attributes:
        model: the recorded model.
        names: the names (as in ``model.named_modules()``) of the attention layers watched.
        maps: ``OrderedDict {name: weights (B, H, Tq, Tk)}`` of the **last** forward call of
            ``model``, in the order the layers ran. A call of ``model`` starts a new, empty
            ``maps``; calls of its submodules made outside a call of ``model`` add to the current
            one. A layer that runs ``k > 1`` times in one call is recorded once per run, as
            ``name``, ``name#2``, ..., ``name#k``. An unbatched input (``(T, E)``) is recorded
            with ``B = 1``. Weights are detached unless ``detach=False`` was asked.
        history: with ``history=True``, the ``maps`` of every call of ``model`` made in the block,
            oldest first (the last one is ``maps``); otherwise empty.
    """

    def __init__(self, model: nn.Module, names: list[str], keep_history: bool, detach: bool) -> None:
        self.model = model
        self.names = names
        self.maps: OrderedDict[str, Tensor] = OrderedDict()
        self.history: list[OrderedDict[str, Tensor]] = []
        self._keep_history = keep_history
        self._detach = detach
        self._depth = 0  # > 0 while a call of ``model`` runs

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self.maps = OrderedDict()
        self.history = []

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k!r}: {tuple(v.shape)}" for k, v in self.maps.items())
        return f"AttentionRecorder({len(self.names)} attention layers; maps {{{shapes}}})"

    # hooks on ``model``
    def _model_starts(self, module: nn.Module, args: Any) -> None:
        if self._depth == 0:
            self.maps = OrderedDict()
            if self._keep_history:
                self.history.append(self.maps)
        self._depth += 1

    def _model_ends(self, module: nn.Module, args: Any, output: Any) -> None:
        self._depth = max(self._depth - 1, 0)

    def _record(self, name: str, weights: Tensor) -> None:
        if weights.ndim == 3:  # unbatched input: (H, Tq, Tk)
            weights = weights.unsqueeze(0)  # (1, H, Tq, Tk)
        key, run = name, 1
        while key in self.maps:
            run += 1
            key = f"{name}#{run}"
        self.maps[key] = weights.detach() if self._detach else weights


_MHA_SIGNATURE = inspect.signature(nn.MultiheadAttention.forward)


def _torch_mha_hooks(recorder: AttentionRecorder, name: str, module: nn.MultiheadAttention) -> list[Any]:
    """Hooks: an ``nn.MultiheadAttention`` computes per-head weights, records them, returns what its caller asked.

    The pre-hook turns the call into ``need_weights=True, average_attn_weights=False`` (keeping
    the caller's wishes on a stack); the hook records the ``(B, H, Tq, Tk)`` weights and hands the
    caller ``None`` (``need_weights=False``), the head average (``average_attn_weights=True``, what
    PyTorch returns) or the per-head weights, as it asked.
    """
    signature = inspect.signature(module.forward)
    if not {"need_weights", "average_attn_weights"} <= set(signature.parameters):
        raise TypeError(f"cannot record {name!r} ({type(module).__name__}): its forward has no need_weights / "
                        f"average_attn_weights arguments (signature {signature})")
    asked: list[tuple[bool, bool]] = []

    def before(m: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        call = dict(bound.arguments)
        asked.append((bool(call["need_weights"]), bool(call["average_attn_weights"])))
        call["need_weights"], call["average_attn_weights"] = True, False
        return (), call

    def after(m: nn.Module, args: tuple, kwargs: dict, output: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor | None]:
        need, average = asked.pop()
        out, weights = output
        recorder._record(name, weights)  # (B, H, Tq, Tk), or (H, Tq, Tk) unbatched
        if not need:
            return out, None
        return out, (weights.mean(dim=-3) if average else weights)

    return [module.register_forward_pre_hook(before, with_kwargs=True),
            module.register_forward_hook(after, with_kwargs=True)]


def _our_mha_hook(recorder: AttentionRecorder, name: str, module: MultiHeadAttention) -> list[Any]:
    def after(m: nn.Module, args: tuple, output: Attention) -> None:
        recorder._record(name, output.weights)  # (B, H, Nq, Nk)

    return [module.register_forward_hook(after)]


@contextmanager
def capture_attention(model: nn.Module, history: bool = False, detach: bool = True) -> Iterator[AttentionRecorder]:
    """Record the per-head attention weights of every attention layer of ``model`` while in the block.

    Works on any ``nn.Module`` built from ``nn.MultiheadAttention`` (also when the model asks for
    ``need_weights=False``, as ``nn.TransformerEncoderLayer`` / ``DecoderLayer`` do) or from
    :class:`~explainer.attention.core.MultiHeadAttention`. Inside the block:

    * PyTorch's fused attention fast path (``torch.backends.mha.set_fastpath_enabled``, which
      lets an eval-mode ``nn.TransformerEncoderLayer`` skip its attention module altogether) is
      switched off, for every model, and the previous setting is restored on exit;
    * each ``nn.MultiheadAttention`` computes its weights explicitly (``need_weights=True``). The
      outputs are the same numbers up to floating-point rounding (the fused kernel adds in another
      order): about ``1e-16`` relative in float64. One exception: an eval-mode
      ``nn.TransformerEncoder`` with ``enable_nested_tensor=True`` given a ``src_key_padding_mask``
      returns zeros at the padded positions on the fast path; recorded, it computes them (the
      outputs at unpadded positions agree);
    * in training mode with dropout, the recorded weights are those after dropout (what the layer
      used): record in ``model.eval()`` to see the attention itself.

    Attention computed without one of these modules (a model whose own attention class calls
    ``F.scaled_dot_product_attention``, as timm's ViT does) is not seen: such a model raises the
    ValueError below, or, if it also has recordable layers, is recorded only in those.

    Everything is restored on exit, also after an exception: hooks removed, fast path setting back.

    Args:
        model: the module to watch; its ``nn.MultiheadAttention`` and ``MultiHeadAttention``
            submodules (see :func:`attention_modules`) are recorded.
        history: also keep the maps of every call of ``model`` in :attr:`AttentionRecorder.history`
            (memory grows with the calls); by default only the last call is kept.
        detach: record ``weights.detach()`` (default); False keeps them in the autograd graph.

    Yields:
        An :class:`AttentionRecorder`; ``rec.maps`` is ``{module name: (B, H, Tq, Tk)}``.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or a non-bool flag.
        ValueError: ``model`` has no attention layer to record.

    Example:
        >>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
        >>> model = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False).eval()
        >>> with capture_attention(model) as rec:
        ...     y = model(torch.randn(3, 5, 8))
        >>> {name: tuple(w.shape) for name, w in rec.maps.items()}
        {'layers.0.self_attn': (3, 2, 5, 5), 'layers.1.self_attn': (3, 2, 5, 5)}
        >>> bool(torch.allclose(rec.maps['layers.0.self_attn'].sum(-1), torch.ones(3, 2, 5)))
        True
    """
    modules = attention_modules(model)
    for flag, value in (("history", history), ("detach", detach)):
        if not isinstance(value, bool):
            raise TypeError(f"{flag} must be a bool, got {value!r} ({type(value).__name__})")
    if not modules:
        raise ValueError(f"model ({type(model).__name__}) has no nn.MultiheadAttention or explainer "
                         "MultiHeadAttention submodule to record (attention computed by calling "
                         "F.scaled_dot_product_attention directly is not seen)")
    recorder = AttentionRecorder(model, [name for name, _ in modules], history, detach)
    handles: list[Any] = []
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        torch.backends.mha.set_fastpath_enabled(False)
        for name, module in modules:
            attach = _our_mha_hook if isinstance(module, MultiHeadAttention) else _torch_mha_hooks
            handles += attach(recorder, name, module)
        # ``prepend``: a new ``maps`` is started before anything else runs, even when ``model`` is itself
        # an attention layer; the model's forward hook, registered last, runs after the layers recorded.
        handles.append(model.register_forward_pre_hook(recorder._model_starts, prepend=True))
        handles.append(model.register_forward_hook(recorder._model_ends, always_call=True))
        yield recorder
    finally:
        for handle in handles:
            handle.remove()
        torch.backends.mha.set_fastpath_enabled(fastpath)


# --------------------------------------------------------------------------- reading
def _check_probabilities(name: str, value: object, ndim: tuple[int, ...]) -> Tensor:
    """A floating-point tensor of one of the ranks ``ndim`` with finite, non-negative entries."""
    w = check_tensor(name, value)
    if w.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions, got shape {tuple(w.shape)}")
    if not w.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {w.dtype}")
    if w.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()):
        raise ValueError(f"{name} must be finite (a row masked out entirely gives NaN in PyTorch: drop such rows "
                         f"or zero them), got {int((~torch.isfinite(w)).sum())} non-finite entries")
    if bool((w < 0).any()):
        raise ValueError(f"{name} must be non-negative attention weights, got a minimum of {float(w.min()):.3g}")
    return w


def _layers(maps: Mapping[str, Tensor] | Sequence[Tensor] | Tensor) -> list[Tensor]:
    if isinstance(maps, Tensor):
        if maps.ndim != 5:
            raise ValueError(f"maps as one tensor must be (L, B, H, T, T), got shape {tuple(maps.shape)}")
        layers = list(maps)
    elif isinstance(maps, Mapping):
        layers = list(maps.values())
    elif isinstance(maps, Sequence) and not isinstance(maps, (str, bytes)):
        layers = list(maps)
    else:
        raise TypeError(f"maps must be a mapping {{name: (B, H, T, T)}}, a sequence of (B, H, T, T) tensors or "
                        f"an (L, B, H, T, T) tensor, got {type(maps).__name__}")
    if not layers:
        raise ValueError("maps must hold at least one layer, got none")
    checked = [_check_probabilities(f"maps[{i}]", w, (4,)) for i, w in enumerate(layers)]
    first = checked[0].shape
    for i, w in enumerate(checked):
        if w.shape[-1] != w.shape[-2] or w.shape[0] != first[0] or w.shape[-1] != first[-1]:
            raise ValueError(f"every layer of maps must be self-attention (B, H, T, T) with the same B and T, got "
                             f"maps[0] {tuple(first)} and maps[{i}] {tuple(w.shape)}")
        if w.dtype != checked[0].dtype:
            raise TypeError(f"every layer of maps must share one dtype, got {checked[0].dtype} and {w.dtype}")
    return checked


def attention_rollout(maps: Mapping[str, Tensor] | Sequence[Tensor] | Tensor, head_fusion: str = "mean",
                      residual: bool = True) -> Tensor:
    """Attention rollout: how much each input token reaches each output token through all layers.

    Abnar & Zuidema (2020), https://arxiv.org/abs/2005.00928. For layers ``l = 1..L`` in order,
    with weights ``W_l (B, H, T, T)``::

        A_l = fuse_h W_l                      (B, T, T)   mean (or max, min) over the heads
        Â_l = (A_l + I) / 2   if residual     (half the signal takes the skip connection)
        Â_l = Â_l / Â_l.sum(-1, keepdim)      rows renormalised to sum to 1 (needed after max / min)
        R   = Â_L @ ... @ Â_2 @ Â_1           (B, T, T)   row i: input tokens feeding output token i

    A row of ``A_l`` that is all zeros (a query masked out entirely) becomes, with the residual,
    an identity row (the token only keeps itself); without the residual it stays zero.

    Args:
        maps: the layers in the order they ran: ``rec.maps`` of :func:`capture_attention` (an
            ordered mapping), a sequence of ``(B, H, T, T)`` tensors, or one ``(L, B, H, T, T)``
            tensor. Self-attention only: every layer has the same ``B`` and ``T``.
        head_fusion: ``"mean"`` (the paper), ``"max"`` or ``"min"`` over the heads.
        residual: add the identity for the skip connection (the paper); False multiplies the raw
            (fused, renormalised) weights.

    Returns:
        ``(B, T, T)``, non-negative, every row summing to 1 (or 0 for a zero row without residual).

    Raises:
        TypeError / ValueError: maps of the wrong kind, rank, shape, dtype, negative or
            non-finite weights; an unknown ``head_fusion``; a non-bool ``residual``.

    A vision transformer's class token: ``R[:, 0, 1:]`` is how much of each patch reached it, and
    ``R[:, 0, 1:].reshape(B, gh, gw)`` lays that out over the image's ``gh x gw`` patch grid.

    Example:
        >>> w = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])  # one layer, one head: both tokens look at token 1
        >>> attention_rollout([w])
        tensor([[[0.5000, 0.5000],
                 [0.0000, 1.0000]]])
    """
    layers = _layers(maps)
    head_fusion = check_choice("head_fusion", head_fusion, _HEAD_FUSIONS)
    if not isinstance(residual, bool):
        raise TypeError(f"residual must be a bool, got {residual!r} ({type(residual).__name__})")
    B, _, T, _ = layers[0].shape
    eye = torch.eye(T, dtype=layers[0].dtype, device=layers[0].device)  # (T, T)
    rollout = eye.expand(B, T, T)  # (B, T, T)
    for w in layers:
        fused = w.mean(dim=1) if head_fusion == "mean" else getattr(w, head_fusion)(dim=1).values  # (B, T, T)
        a = (fused + eye) / 2 if residual else fused  # (B, T, T)
        a = a / a.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(a.dtype).tiny)  # (B, T, T)
        rollout = a @ rollout  # (B, T, T)
    return rollout


def _patch_centres(grid: tuple[int, int], patch_size: tuple[int, int], like: Tensor) -> Tensor:
    """``(P, 2)`` pixel centres ``(y, x)`` of the patches of a ``gh x gw`` grid, row-major (as the tokens)."""
    gh, gw = grid
    ys = torch.arange(gh, dtype=like.dtype, device=like.device) * patch_size[0]  # (gh,)
    xs = torch.arange(gw, dtype=like.dtype, device=like.device) * patch_size[1]  # (gw,)
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).reshape(gh * gw, 2)  # (P, 2)


def mean_attention_distance(weights: Tensor, grid: int | tuple[int, int], patch_size: int | tuple[int, int] = 1,
                            num_prefix_tokens: int = 0, normalize_keys: bool = True,
                            per_query: bool = False) -> Tensor:
    """Per head, the attention-weighted mean distance in pixels between a patch and the patches it attends to.

    The ViT paper's "attention distance" (Dosovitskiy et al. 2021, Fig. 7, appendix D.7), the
    transformer's counterpart of a CNN unit's receptive-field size. For query patch ``i`` and key
    patches ``j`` with pixel centres ``p_i, p_j`` (patch ``(r, c)`` of the grid sits at
    ``(r * ph, c * pw)``)::

        d_i = sum_j w_ij * |p_i - p_j|         (Euclidean, pixels)
        D   = mean_i d_i                       per head

    The first ``num_prefix_tokens`` tokens (a class token, register tokens) have no place in the
    image: their rows and columns are dropped. With ``normalize_keys`` (default) the remaining
    weights of each query are renormalised to sum to 1, so ``d_i`` is the mean distance *given*
    that the query looks at a patch; ``False`` sums the raw weights, as the public ViT analysis
    code does (attention to the class token then counts as distance 0).

    Args:
        weights: ``(B, H, T, T)`` or ``(H, T, T)`` self-attention weights, ``T = num_prefix_tokens + gh*gw``.
        grid: ``gh x gw`` patches (an int for a square grid), tokens in row-major order.
        patch_size: pixels per patch ``(ph, pw)`` (int: square); 1 measures in patches.
        num_prefix_tokens: leading non-patch tokens to drop (0 without a class token, 1 with one).
        normalize_keys: renormalise each query's weights over the patch keys (see above).
        per_query: return every query's ``d_i`` instead of their mean.

    Returns:
        ``(B, H)`` for 4-D weights, ``(H,)`` for 3-D; with ``per_query`` ``(B, H, P)`` / ``(H, P)``,
        ``P = gh*gw`` in the grid's row-major order.

    Raises:
        TypeError / ValueError: weights not a 3-D / 4-D finite non-negative float tensor, not
            square, ``T`` not ``num_prefix_tokens + gh*gw``; a bad grid, patch size or flag.

    Example:
        >>> w = torch.zeros(1, 2, 2); w[0, 0, 1] = w[0, 1, 0] = 1.0  # 1 head, 2 patches side by side: each looks
        >>> mean_attention_distance(w, grid=(1, 2), patch_size=16)  # at the other
        tensor([16.])
    """
    w = _check_probabilities("weights", weights, (3, 4))
    gh, gw = check_pair("grid", grid, minimum=1)
    ph, pw = check_pair("patch_size", patch_size, minimum=1)
    prefix = check_int("num_prefix_tokens", num_prefix_tokens, minimum=0)
    for flag, value in (("normalize_keys", normalize_keys), ("per_query", per_query)):
        if not isinstance(value, bool):
            raise TypeError(f"{flag} must be a bool, got {value!r} ({type(value).__name__})")
    T = w.shape[-1]
    if w.shape[-2] != T or T != prefix + gh * gw:
        raise ValueError(f"weights must be (..., T, T) with T = num_prefix_tokens + gh*gw = {prefix} + {gh}*{gw} = "
                         f"{prefix + gh * gw}, got shape {tuple(w.shape)}")
    w = w[..., prefix:, prefix:]  # (..., H, P, P)
    if normalize_keys:
        w = w / w.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(w.dtype).tiny)  # (..., H, P, P)
    centres = _patch_centres((gh, gw), (ph, pw), w)  # (P, 2)
    distance = torch.cdist(centres, centres)  # (P, P) pixels
    per_patch = (w * distance).sum(dim=-1)  # (..., H, P)
    return per_patch if per_query else per_patch.mean(dim=-1)  # (..., H, P) or (..., H)


def importance_map(weights: Tensor, dim: int = -2, grid: int | tuple[int, int] | None = None,
                   num_prefix_tokens: int = 0) -> Tensor:
    """Average attention weights over one axis: one importance per token of the other axis (our notes, 001).

    For cross-attention from the words of a caption (queries) to image patches (keys), weights
    ``(B, H, words, P)`` averaged over the words (``dim=-2``) give ``(B, H, P)``: how much the
    caption as a whole draws on each image position, which ``grid=(gh, gw)`` lays out as an
    ``(B, H, gh, gw)`` map, the same use as a spatial gate. Averaging over the keys (``dim=-1``)
    instead gives each query's mean weight, which is ``1/Tk`` for every softmax row (weights
    sum to 1 over the keys), so the informative axis is the queries'.

    Args:
        weights: attention weights ``(..., Tq, Tk)``, at least 2-D, floating point.
        dim: the axis averaged over (any valid axis; default ``-2``, the queries).
        grid: ``(gh, gw)`` (int: square): reshape the last remaining axis into an image. None: leave it flat.
        num_prefix_tokens: leading tokens of the last remaining axis dropped before the reshape
            (a class token among the keys); only with ``grid``.

    Returns:
        ``weights.mean(dim)`` with ``dim`` removed; with ``grid``, its last axis (after the prefix is
        dropped) is reshaped to ``(gh, gw)``.

    Raises:
        TypeError / ValueError: a non-float or non-finite tensor, ``dim`` out of range, a last
            axis that does not hold ``num_prefix_tokens + gh*gw`` tokens.

    Example:
        >>> w = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.3, 0.2, 0.1, 0.4]])  # 2 words, 4 patches of a 2 x 2 grid
        >>> importance_map(w, dim=-2, grid=2)
        tensor([[0.2000, 0.2000],
                [0.2000, 0.4000]])
    """
    w = check_tensor("weights", weights)
    if w.ndim < 2 or not w.is_floating_point():
        raise TypeError(f"weights must be a floating-point tensor with >= 2 dimensions, got {w.dtype} "
                        f"{tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()):
        raise ValueError(f"weights must be finite, got {int((~torch.isfinite(w)).sum())} non-finite entries")
    dim = check_int("dim", dim, minimum=-w.ndim, maximum=w.ndim - 1)
    prefix = check_int("num_prefix_tokens", num_prefix_tokens, minimum=0)
    if grid is None:
        if prefix:
            raise ValueError(f"num_prefix_tokens is only used with a grid, got {prefix} without one")
        return w.mean(dim=dim)
    gh, gw = check_pair("grid", grid, minimum=1)
    rest = [size for axis, size in enumerate(w.shape) if axis != dim % w.ndim]
    if rest[-1] != prefix + gh * gw:
        raise ValueError(f"after averaging over dim {dim}, the last axis must hold num_prefix_tokens + gh*gw = "
                         f"{prefix} + {gh}*{gw} = {prefix + gh * gw} tokens, got {rest[-1]} (weights "
                         f"{tuple(w.shape)})")
    mean = w.mean(dim=dim)[..., prefix:]  # (..., P)
    return mean.reshape(*mean.shape[:-1], gh, gw)  # (..., gh, gw)
