"""Explorers: ipywidgets front-ends that wire controls to compute, views and the painter.

Each lesson has its own module; factories are imported lazily so that ``import explainer``
and ``import explainer.explorers`` stay cheap.
"""

from __future__ import annotations

from explainer._lazy import lazy_exports

_FACTORIES = {
    "conv_arithmetic_explorer": "explainer.explorers.convolution",
    "checkerboard_explorer": "explainer.explorers.convolution",
    "receptive_field_explorer": "explainer.explorers.receptive_field",
    "reference_networks_explorer": "explainer.explorers.receptive_field",
    "stacked_convs_explorer": "explainer.explorers.receptive_field",
    "dilation_explorer": "explainer.explorers.dilation",
    "deformation_explorer": "explainer.explorers.dilation",
    "learned_offsets_explorer": "explainer.explorers.dilation",
    "se_explorer": "explainer.explorers.gating",
    "trained_gates_explorer": "explainer.explorers.gating",
    "gate_profiles_explorer": "explainer.explorers.gating",
    "eca_explorer": "explainer.explorers.gating",
    "gate_cost_explorer": "explainer.explorers.gating",
    "self_attention_explorer": "explainer.explorers.attention",
    "positional_encoding_explorer": "explainer.explorers.attention",
    "word_attention_explorer": "explainer.explorers.word_attention",
    "attention_patterns_explorer": "explainer.explorers.efficient_attention",
    "attention_cost_explorer": "explainer.explorers.efficient_attention",
    "linear_attention_explorer": "explainer.explorers.efficient_attention",
    "conv_attention_explorer": "explainer.explorers.conv_attention",
    "recorded_attention_explorer": "explainer.explorers.capture",
    "vit_attention_explorer": "explainer.explorers.vit_attention",
    "cross_attention_explorer": "explainer.explorers.cross_attention",
    "gradient_flow_explorer": "explainer.explorers.depth",
    "degradation_explorer": "explainer.explorers.depth",
    "activation_explorer": "explainer.explorers.activations",
    "normalisation_explorer": "explainer.explorers.activations",
    "pooling_explorer": "explainer.explorers.activations",
    "cnn_families_explorer": "explainer.explorers.families",
    "transformer_block_explorer": "explainer.explorers.transformer",
    "decoding_explorer": "explainer.explorers.transformer",
}

__all__ = list(_FACTORIES)
__getattr__, __dir__ = lazy_exports(__name__, _FACTORIES, globals())
