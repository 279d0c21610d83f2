"""Attention (issue 4): scaled dot-product and multi-head attention, positional encodings, mask
patterns and efficient variants, and convolution as a special case of attention.

Submodules:

* :mod:`explainer.attention.core`: ``scaled_dot_product_attention``, ``causal_mask``,
  ``MultiHeadAttention``, head splitting, softmax entropy;
* :mod:`explainer.attention.positional`: sinusoidal (1D/2D), learned and relative position encodings;
* :mod:`explainer.attention.patterns`: local/strided/block/bucketed/(shifted) window masks, reach, costs, linear and
  blockwise (FlashAttention-style) attention;
* :mod:`explainer.attention.conv_attention`: a convolution as multi-head self-attention (Cordonnier et al.);
* :mod:`explainer.attention.capture`: ``capture_attention`` records the weights of any model's attention
  layers; ``attention_rollout``, ``mean_attention_distance`` and ``importance_map`` read them.

Every public name of the five is re-exported here.
"""

from explainer.attention import capture, conv_attention, core, patterns, positional
from explainer.attention.capture import *  # noqa: F401,F403
from explainer.attention.conv_attention import *  # noqa: F401,F403
from explainer.attention.core import *  # noqa: F401,F403
from explainer.attention.patterns import *  # noqa: F401,F403
from explainer.attention.positional import *  # noqa: F401,F403

__all__ = [*core.__all__, *positional.__all__, *patterns.__all__, *conv_attention.__all__, *capture.__all__]
