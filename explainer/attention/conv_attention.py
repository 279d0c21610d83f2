"""Convolution as multi-head self-attention: the construction of Cordonnier, Loukas & Jaggi.

Cordonnier, Loukas & Jaggi, "On the Relationship between Self-Attention and Convolutional Layers",
ICLR 2020 (https://arxiv.org/abs/1911.03584), Lemma 1 and Theorem 1: a multi-head self-attention
layer with ``K = k*k`` heads and a relative positional encoding can express any ``k x k``
convolution. Head ``h`` owns one kernel offset ``Delta_h = (dy, dx)``; its attention score between a
query pixel ``q`` and a key pixel ``p`` depends only on the relative position ``delta = p - q``
(the content terms are switched off, ``W_query = W_key = 0``), through the *quadratic encoding*

    r_delta = (||delta||^2, delta_y, delta_x),    v_h = -alpha * (1, -2 dy, -2 dx),
    score_h(q, p) = v_h . r_delta = -alpha ||delta - Delta_h||^2 + alpha ||Delta_h||^2.

The last term is the same for every key, so softmax ignores it: head ``h`` puts a Gaussian bump of
width ``~1/sqrt(alpha)`` on pixel ``q + Delta_h``. Its value/output projection is the kernel tap
``W[:, :, Delta_h]`` (a ``C_out x C_in`` matrix), so summing the heads gives
``sum_h W[:, :, Delta_h] x[q + Delta_h]``: the convolution, exactly in the limit ``alpha -> oo``.

Letters: ``B`` batch, ``C_in``/``C_out`` channels, ``k`` kernel size (odd), ``r = k // 2``,
``K = k*k`` heads, ``H x W`` image, ``Hp x Wp`` the key grid (``(H+2r) x (W+2r)`` with zero-padded
keys), ``alpha`` the sharpness.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
from torch import Tensor

from explainer._validate import check_int, check_pair, check_tensor

__all__ = [
    "DEFAULT_SHARPNESS",
    "ConvAttention",
    "ConvAttentionComparison",
    "conv_as_attention",
    "compare_conv_attention",
    "conv_attention_error",
    "kernel_offsets",
]

# 8 * exp(-10) = 3.6e-4 bounds the interior relative error for every kernel and image (see ConvAttention).
DEFAULT_SHARPNESS = 10.0


def kernel_offsets(kernel_size: int, device: torch.device | None = None) -> Tensor:
    """The centre shifts ``Delta_h = (dy, dx)`` of the ``k*k`` heads, in the kernel's row-major order.

    Head ``h = i*k + j`` owns kernel tap ``weight[:, :, i, j]``, at offset ``(i - k//2, j - k//2)``,
    exactly where ``F.conv2d(x, weight, padding=k//2)`` reads it.

    Returns:
        (k*k, 2) int64 tensor.

    Example:
        >>> kernel_offsets(3)[[0, 4, 5]].tolist()  # top-left tap, centre tap, right of centre
        [[-1, -1], [0, 0], [0, 1]]
    """
    k = check_int("kernel_size", kernel_size, minimum=1)
    r = k // 2
    taps = torch.arange(k, device=device) - r  # (k,)
    dy, dx = torch.meshgrid(taps, taps, indexing="ij")  # (k, k) each
    return torch.stack([dy.reshape(-1), dx.reshape(-1)], dim=1)  # (K, 2)


@dataclass(frozen=True)
class ConvAttention:
    """A ``k*k``-head self-attention layer that computes a ``k x k`` convolution (Cordonnier et al.).

    Built by :func:`conv_as_attention`. The attention is content-independent, so its maps depend only
    on the image size; they are computed when asked for, never stored.

    Borders: ``F.conv2d(x, weight, padding=r)`` reads zeros outside the image. With ``pad_keys=True``
    (the default) the layer attends over a token grid zero-padded by ``r`` on every side, so the target
    ``q + Delta_h`` of every head always exists: at a border it is a zero token, the peak still takes
    weight ``-> 1`` as alpha grows, and the output converges to zero-padded convolution. With
    ``pad_keys=False`` the softmax runs over the real pixels only; a head whose target lies outside
    then peaks on the nearest border pixel, and the limit is convolution with *replicate* padding.

    Accuracy: in the interior every head applies the same normalised discrete Gaussian ``g`` before the
    shift, so the attention output is ``g * conv(x)``; the relative error is at most
    ``max_w |1 - g_hat(w)| ~ 8 exp(-alpha)``, whatever the kernel and image (the checkerboard is the
    worst case). At :data:`DEFAULT_SHARPNESS` ``= 10`` that bound is 3.6e-4; measured in float64 on
    the 32x32 grayscale sample photo with a Sobel kernel: 9.1e-5; random kernels and images (k = 3, 5):
    4e-5 to 1.4e-4; the worst case, a +-1 checkerboard through the identity kernel: 3.5e-4
    (``tests/test_conv_attention.py`` checks < 1e-3). Sobel on the photo: 0.42 at alpha = 1, 1.3e-2 at 5,
    6e-7 at 15, 4e-9 at 20. The error falls monotonically with alpha >= 1 on images of at least 4 x 4
    pixels (a property test); below alpha = 1 the heads' maps are nearly uniform and the error, about
    0.99, can wobble by 1e-4; on thinner images the softmax truncated at the borders can make it rise
    at small alpha (on a 1 x 1 image the heads' errors on the single pixel have both signs and can cancel).

    Attributes:
        weight: (C_out, C_in, k, k) the convolution kernel.
        bias: (C_out,) or None, added once (the attention layer's output bias).
        sharpness: alpha > 0.
        pad_keys: attend over the zero-padded token grid (zero-padding limit) or the image only.
        offsets: (K, 2) int64 head centre shifts ``Delta_h = (dy, dx)``.
        head_vectors: (K, 3) the paper's ``v_h = -alpha (1, -2 dy, -2 dx)``.
        value_weight: (K, C_out, C_in) ``W_val^(h) W_out^(h)`` per head, = ``weight[:, :, i, j]``.

    Example:
        >>> import torch, torch.nn.functional as F
        >>> w, x = torch.randn(2, 1, 3, 3, dtype=torch.float64), torch.rand(1, 1, 7, 9, dtype=torch.float64)
        >>> layer = conv_as_attention(w, sharpness=30.0)
        >>> bool(torch.allclose(layer.forward(x), F.conv2d(x, w, padding=1), atol=1e-10))
        True
    """

    weight: Tensor
    bias: Tensor | None
    sharpness: float
    pad_keys: bool
    offsets: Tensor
    head_vectors: Tensor
    value_weight: Tensor

    @property
    def kernel_size(self) -> int:
        return int(self.weight.shape[-1])

    @property
    def num_heads(self) -> int:
        return int(self.offsets.shape[0])

    @property
    def padding(self) -> int:
        """Zero tokens added on each side of the key grid (``k // 2``, or 0 with ``pad_keys=False``)."""
        return self.kernel_size // 2 if self.pad_keys else 0

    def key_grid(self, size: int | tuple[int, int]) -> tuple[int, int]:
        """``(Hp, Wp)``: the key token grid for an ``H x W`` image."""
        h, w = check_pair("size", size, minimum=1)
        return h + 2 * self.padding, w + 2 * self.padding

    def axis_weights(self, size: int | tuple[int, int]) -> tuple[Tensor, Tensor]:
        """Per-axis softmax factors: ``(Ay (K, H, Hp), Ax (K, W, Wp))``.

        The score ``-alpha ((py-qy-dy)^2 + (px-qx-dx)^2)`` is a sum over the two axes and the keys
        fill a rectangle, so each head's softmax factorises: ``weights[h, (qy,qx), (py,px)] =
        Ay[h, qy, py] * Ax[h, qx, px]``.
        """
        h, w = check_pair("size", size, minimum=1)
        pad = self.padding
        return self._axis(h, pad, 0), self._axis(w, pad, 1)

    def _axis(self, n: int, pad: int, axis: int) -> Tensor:
        dev, dt = self.weight.device, self.weight.dtype
        q = torch.arange(n, device=dev, dtype=dt).view(1, n, 1)  # (1, n, 1) query coordinate
        p = torch.arange(n + 2 * pad, device=dev, dtype=dt).view(1, 1, -1) - pad  # (1, 1, n+2p) key coordinate
        shift = self.offsets[:, axis].to(dt).view(-1, 1, 1)  # (K, 1, 1)
        return torch.softmax(-self.sharpness * (p - q - shift) ** 2, dim=-1)  # (K, n, n+2p)

    def attention_weights(self, size: int | tuple[int, int]) -> Tensor:
        """Dense per-head attention maps, ``(K, H*W, Hp*Wp)``; rows sum to 1.

        Query ``(qy, qx)`` is row ``qy*W + qx``; key ``(py, px)`` of the key grid is column
        ``py*Wp + px`` (with ``pad_keys`` the key grid starts ``r`` pixels above/left of the image).
        Quadratic in the number of pixels: meant for small images and for checking.
        """
        ay, ax = self.axis_weights(size)
        k, h, hp = ay.shape
        w, wp = ax.shape[1:]
        dense = ay.view(k, h, 1, hp, 1) * ax.view(k, 1, w, 1, wp)  # (K, H, W, Hp, Wp)
        return dense.reshape(k, h * w, hp * wp)  # (K, H*W, Hp*Wp)

    def query_maps(self, size: int | tuple[int, int], query: tuple[int, int],
                   axis_weights: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """What each head attends to from one query pixel ``(row, col)``: ``(K, Hp, Wp)``, each summing to 1.

        ``axis_weights``: this layer's :meth:`axis_weights` for ``size``, when the caller keeps them
        (they do not depend on the query); computed here when None.
        """
        h, w = check_pair("size", size, minimum=1)
        qy = check_int("query row", query[0], 0, h - 1)
        qx = check_int("query col", query[1], 0, w - 1)
        if axis_weights is None:
            axis_weights = self.axis_weights((h, w))
        ay, ax = axis_weights
        k, hp, wp = self.num_heads, h + 2 * self.padding, w + 2 * self.padding
        if tuple(ay.shape) != (k, h, hp) or tuple(ax.shape) != (k, w, wp):
            raise ValueError(f"axis_weights must be this layer's axis_weights({(h, w)}), shapes {(k, h, hp)} and "
                             f"{(k, w, wp)}; got {tuple(ay.shape)} and {tuple(ax.shape)}")
        return ay[:, qy, :, None] * ax[:, qx, None, :]  # (K, Hp, Wp)

    def forward(self, x: Tensor) -> Tensor:
        """Multi-head self-attention output, ``(B, C_out, H, W)`` for ``x (B, C_in, H, W)``.

        Computes ``sum_h A_h X W_val^(h) W_out^(h) + b`` with the factorised maps of
        :meth:`axis_weights` (same numbers as :meth:`attention_weights`, without the
        ``(H*W) x (Hp*Wp)`` matrices).
        """
        x = self._check_input(x)
        ay, ax = self.axis_weights(x.shape[-2:])
        pad = self.padding
        tokens = torch.nn.functional.pad(x, (pad, pad, pad, pad))  # (B, C_in, Hp, Wp), zero tokens
        rows = torch.einsum("khp,bcpq->bkchq", ay, tokens)  # (B, K, C_in, H, Wp)
        heads = torch.einsum("bkchq,kwq->bkchw", rows, ax)  # (B, K, C_in, H, W) per-head attention output
        out = torch.einsum("bkchw,koc->bohw", heads, self.value_weight)  # (B, C_out, H, W)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)

    __call__ = forward

    def _check_input(self, x: Tensor) -> Tensor:
        check_tensor("x", x, ndim=4)
        c_in = self.weight.shape[1]
        if x.shape[1] != c_in:
            raise ValueError(f"x must have C_in = {c_in} channels (dim 1), got shape {tuple(x.shape)}")
        if x.dtype != self.weight.dtype or x.device != self.weight.device:
            raise TypeError(f"x must match the weight's dtype and device ({self.weight.dtype}, {self.weight.device}), "
                            f"got {x.dtype} on {x.device}")
        return x


def _check_weight(weight: Tensor, bias: Tensor | None, sharpness: float) -> float:
    check_tensor("weight", weight, ndim=4)
    if not weight.is_floating_point():
        raise TypeError(f"weight must be a floating-point tensor, got dtype {weight.dtype}")
    k_h, k_w = weight.shape[-2:]
    if k_h != k_w or k_h % 2 == 0:
        raise ValueError(f"weight must be (C_out, C_in, k, k) with an odd square kernel (a centre tap for "
                         f"padding=k//2), got shape {tuple(weight.shape)}")
    if bias is not None:
        check_tensor("bias", bias, ndim=1)
        if bias.shape[0] != weight.shape[0] or bias.dtype != weight.dtype:
            raise ValueError(f"bias must be ({weight.shape[0]},) of dtype {weight.dtype} (C_out), got "
                             f"shape {tuple(bias.shape)} of dtype {bias.dtype}")
    if isinstance(sharpness, bool) or not isinstance(sharpness, numbers.Real):
        raise TypeError(f"sharpness must be a real number, got {sharpness!r} ({type(sharpness).__name__})")
    if not (math.isfinite(sharpness) and sharpness > 0):
        raise ValueError(f"sharpness must be a finite number > 0, got {sharpness}")
    return float(sharpness)


def conv_as_attention(weight: Tensor, bias: Tensor | None = None, sharpness: float = DEFAULT_SHARPNESS,
                      pad_keys: bool = True) -> ConvAttention:
    """Build the multi-head self-attention layer that computes ``F.conv2d(x, weight, bias, padding=k//2)``.

    Args:
        weight: (C_out, C_in, k, k) kernel, k odd.
        bias: optional (C_out,) bias.
        sharpness: alpha > 0; each head's map is a Gaussian bump of width ~1/sqrt(alpha) around its
            offset. Default 10: relative error below 3.6e-4 (see :class:`ConvAttention`).
        pad_keys: attend over a zero-padded key grid (limit: zero padding) or over the image only
            (limit: replicate padding).

    Returns:
        A frozen :class:`ConvAttention`; ``.forward(x)`` gives ``(B, C_out, H, W)``.

    Raises:
        TypeError: weight/bias not tensors, integer weights, sharpness not a number.
        ValueError: weight not 4-D, an even or non-square kernel, a bias of the wrong shape,
            sharpness <= 0 or not finite.

    Example:
        >>> layer = conv_as_attention(torch.ones(4, 3, 5, 5))
        >>> layer.num_heads, tuple(layer.value_weight.shape), layer.head_vectors[0].tolist()
        (25, (25, 4, 3), [-10.0, -40.0, -40.0])
    """
    alpha = _check_weight(weight, bias, sharpness)
    if not isinstance(pad_keys, bool):
        raise TypeError(f"pad_keys must be a bool, got {pad_keys!r}")
    c_out, c_in, k, _ = weight.shape
    offsets = kernel_offsets(k, device=weight.device)  # (K, 2)
    ones = torch.ones(k * k, 1, device=weight.device, dtype=weight.dtype)  # (K, 1)
    head_vectors = -alpha * torch.cat([ones, -2 * offsets.to(weight.dtype)], dim=1)  # (K, 3)
    value_weight = weight.permute(2, 3, 0, 1).reshape(k * k, c_out, c_in)  # (K, C_out, C_in)
    return ConvAttention(weight=weight, bias=bias, sharpness=alpha, pad_keys=pad_keys, offsets=offsets,
                         head_vectors=head_vectors, value_weight=value_weight)


@dataclass(frozen=True)
class ConvAttentionComparison:
    """A convolution and its attention layer applied to the same image.

    Attributes:
        layer: the :class:`ConvAttention` layer.
        conv: (B, C_out, H, W) ``F.conv2d(x, weight, bias, padding=k//2)`` (zero padding).
        attention: (B, C_out, H, W) ``layer.forward(x)``.
        relative_error: ``||attention - conv|| / ||conv||`` (0 when both are 0).
    """

    layer: ConvAttention
    conv: Tensor
    attention: Tensor
    relative_error: float


def compare_conv_attention(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                           sharpness: float = DEFAULT_SHARPNESS, pad_keys: bool = True) -> ConvAttentionComparison:
    """Run ``F.conv2d(x, weight, bias, padding=k//2)`` and its attention layer on ``x (B, C_in, H, W)``.

    Example:
        >>> w, x = torch.randn(1, 1, 3, 3, dtype=torch.float64), torch.rand(1, 1, 9, 9, dtype=torch.float64)
        >>> compare_conv_attention(x, w, sharpness=20.0).relative_error < 1e-7
        True
    """
    layer = conv_as_attention(weight, bias, sharpness=sharpness, pad_keys=pad_keys)
    conv = torch.nn.functional.conv2d(layer._check_input(x), weight, bias, padding=layer.kernel_size // 2)
    attention = layer.forward(x)  # (B, C_out, H, W)
    scale = torch.linalg.vector_norm(conv)
    error = torch.linalg.vector_norm(attention - conv) / scale if scale > 0 else torch.linalg.vector_norm(attention)
    return ConvAttentionComparison(layer=layer, conv=conv, attention=attention, relative_error=float(error))


def conv_attention_error(x: Tensor, weight: Tensor, sharpness: float = DEFAULT_SHARPNESS) -> float:
    """Relative error ``||attention(x) - conv(x)|| / ||conv(x)||`` with zero padding (``padding=k//2``).

    Example:
        >>> w, x = torch.randn(1, 1, 3, 3, dtype=torch.float64), torch.rand(1, 1, 9, 9, dtype=torch.float64)
        >>> conv_attention_error(x, w, sharpness=1.0) > conv_attention_error(x, w) > 0
        True
    """
    return compare_conv_attention(x, weight, sharpness=sharpness).relative_error
