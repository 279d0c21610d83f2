"""The ERFNet-paper blocks: closed-form parameter counts against the real modules and our notes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explainer.erfnet import ERFNET_BLOCKS, erfnet_block, erfnet_block_params


def notes_formula(kind, w):
    """The closed forms written in our (Chinese) notes, file 003, section 卷积核参数计算."""
    return {"non_bottleneck": 18 * w**2 + 2 * w,
            "bottleneck": (17 * w**2) // 16 + (3 * w) // 2,
            "non_bottleneck_1d": 12 * w**2 + 4 * w}[kind]


@pytest.mark.parametrize("kind", ERFNET_BLOCKS)
@pytest.mark.parametrize("batch_norm", [False, True])
def test_erfnet_block_params_match_real_modules(kind, batch_norm):
    for width in range(4, 132, 4):
        module = erfnet_block(kind, width, batch_norm=batch_norm)
        assert erfnet_block_params(kind, width, batch_norm) == sum(p.numel() for p in module.parameters())
        if not batch_norm and (kind != "bottleneck" or width % 16 == 0):
            assert erfnet_block_params(kind, width) == notes_formula(kind, width)


@pytest.mark.parametrize("width", [1, 3, 5, 7, 30])
def test_erfnet_factorised_blocks_accept_any_width(width):
    for kind in ("non_bottleneck", "non_bottleneck_1d"):
        module = erfnet_block(kind, width)
        assert erfnet_block_params(kind, width) == sum(p.numel() for p in module.parameters())


def test_bottleneck_in_terms_of_quarter_width():
    for w0 in range(1, 20):
        assert erfnet_block_params("bottleneck", 4 * w0) == 17 * w0**2 + 6 * w0


def test_erfnet_blocks_keep_shape_and_reference_bn_layout():
    x = torch.randn(2, 16, 9, 7, dtype=torch.float64)
    for kind in ERFNET_BLOCKS:
        block = erfnet_block(kind, 16, batch_norm=True).double().eval()
        assert block(x).shape == x.shape
    bns = [m for m in erfnet_block("non_bottleneck_1d", 8, batch_norm=True).modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 2  # after the 2nd and the 4th convolution, as in the ERFNet code
    dilated = erfnet_block("non_bottleneck_1d", 8, dilation=4)
    assert dilated(torch.randn(1, 8, 10, 10)).shape == (1, 8, 10, 10)
    assert erfnet_block_params("non_bottleneck_1d", 8) == sum(p.numel() for p in dilated.parameters())


def test_erfnet_factorisation_saves_a_third_of_the_weights():
    # 12w^2 + 4w versus 18w^2 + 2w: the 1D factorisation keeps 2/3 of the weights asymptotically.
    w = 1024
    ratio = erfnet_block_params("non_bottleneck_1d", w) / erfnet_block_params("non_bottleneck", w)
    assert abs(ratio - 2 / 3) < 1e-3


@pytest.mark.parametrize("call,exc,words", [
    (lambda: erfnet_block_params("bottleneck", 6), ValueError, ["width", "divisible by 4", "6"]),
    (lambda: erfnet_block("resnet", 8), ValueError, ["kind", "'resnet'"]),
    (lambda: erfnet_block("non_bottleneck_1d", 8, dilation=0), ValueError, ["dilation", "0"]),
])
def test_bad_input_is_named(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
