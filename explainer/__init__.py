"""explainer: interactive, verified visual explainers of the building blocks of vision networks.

The compute functions below are re-exported lazily, so ``import explainer`` stays cheap: it imports
neither torch, matplotlib, ipywidgets nor the explorers until a name is first used.

Example:
    >>> import explainer
    >>> explainer.conv_output_size(7, kernel_size=3, stride=2, padding=1)
    4
"""

from __future__ import annotations

from explainer._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "conv_output_size": "explainer.sizes",
    "transposed_output_size": "explainer.sizes",
    "effective_kernel_size": "explainer.sizes",
    "conv_params": "explainer.conv",
    "conv_flops": "explainer.conv",
    "conv_arithmetic": "explainer.conv",
    "erfnet_block": "explainer.erfnet",
    "erfnet_block_params": "explainer.erfnet",
    "layer_costs": "explainer.costs",
    "transposed_geometry": "explainer.sampling",
    "deform_conv2d": "explainer.deformable",
    "DeformConv2d": "explainer.deformable",
    "dilation_as_offsets": "explainer.deformable",
    "sampling_positions": "explainer.sampling",
    "LayerRF": "explainer.receptive_fields",
    "receptive_field": "explainer.receptive_fields",
    "empirical_receptive_field": "explainer.receptive_fields",
    "effective_receptive_field": "explainer.receptive_fields",
    "reference_network": "explainer.receptive_fields",
    "conv_stack": "explainer.receptive_fields",
    "unit_field": "explainer.receptive_fields",
    "vgg_comparison": "explainer.receptive_fields",
    "Attention": "explainer.attention",
    "scaled_dot_product_attention": "explainer.attention",
    "MultiHeadAttention": "explainer.attention",
    "causal_mask": "explainer.attention",
    "local_mask": "explainer.attention",
    "strided_mask": "explainer.attention",
    "block_mask": "explainer.attention",
    "bucket_mask": "explainer.attention",
    "attention_cost": "explainer.attention",
    "linear_attention": "explainer.attention",
    "sinusoidal_positional_encoding": "explainer.attention",
    "conv_as_attention": "explainer.attention",
    "capture_attention": "explainer.attention",
    "attention_rollout": "explainer.attention",
    "mean_attention_distance": "explainer.attention",
    "importance_map": "explainer.attention",
    "SqueezeExcitation": "explainer.gating",
    "CBAM": "explainer.gating",
    "ECA": "explainer.gating",
    "eca_kernel_size": "explainer.gating",
    "Gates": "explainer.gating",
    "GatedCNN": "explainer.models",
    "load_pretrained": "explainer.models",
    "scenes": "explainer.data",
    "sample_image": "explainer.data",
    "synthetic_image": "explainer.data",
    "get_theme": "explainer.theme",
    "set_presentation": "explainer.theme",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
