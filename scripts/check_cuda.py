"""Check that the compute functions follow a CUDA device: ``device=`` arguments and CUDA inputs.

Nothing in the project needs a GPU, and the test suite runs on the CPU; this script is for a machine
that has one (the ``device`` tool lends one to some sessions). Each case computes the same thing on
the CPU and on ``cuda``, in float64 where the function takes a dtype, and checks that every tensor
of the CUDA result lives on the GPU and equals the CPU result. Prints one line per case and exits
with 1 if any failed. Needs only torch and numpy (the compute modules import nothing else):

    PYTHONPATH=. python3 scripts/check_cuda.py
"""

from __future__ import annotations

import dataclasses
import sys
import traceback
from collections.abc import Callable
from typing import Any

import torch

from explainer.attention.conv_attention import conv_as_attention
from explainer.attention.core import MultiHeadAttention, causal_mask, scaled_dot_product_attention
from explainer.attention.patterns import (
    block_mask,
    bucket_mask,
    kernel_attention_quadratic,
    linear_attention,
    local_mask,
    reachability,
    strided_mask,
)
from explainer.attention.positional import (
    RelativePositionBias,
    relative_position_index,
    sinusoidal_positional_encoding,
    sinusoidal_positional_encoding_2d,
)
from explainer.deformable import (
    DeformConv2d,
    affine_offsets,
    deform_conv2d,
    dilation_as_offsets,
    random_offsets,
    scale_offsets,
)
from explainer.gating import CBAM, ECA, SqueezeExcitation, se_steps
from explainer.models import load_pretrained
from explainer.receptive_fields import conv_stack, effective_receptive_field, empirical_receptive_field, unit_field
from explainer.sampling import sampling_positions

F64 = torch.float64


def _tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor inside a result (tensors, tuples, lists, dicts, dataclasses)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [t for field in dataclasses.fields(value) for t in _tensors(getattr(value, field.name))]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []


def _random(*shape: int, device: str, seed: int = 0) -> torch.Tensor:
    """The same float64 values on every device (drawn on the CPU)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64).to(device)


def _module(make: Callable[[], torch.nn.Module], device: str) -> torch.nn.Module:
    torch.manual_seed(0)  # the same initial weights for both devices (the check's own RNG use)
    return make().to(device=device, dtype=F64)


def _deform_module(device: str) -> DeformConv2d:
    """A modulated DeformConv2d made with ``device=``, holding the weights of a seeded CPU twin
    (random offsets and masks, so that the deformable path is taken)."""
    torch.manual_seed(0)
    twin = DeformConv2d(3, 5, 3, padding=1, modulated=True, dtype=F64)
    torch.nn.init.normal_(twin.offset_conv.weight, std=0.3)
    module = DeformConv2d(3, 5, 3, padding=1, modulated=True, device=device, dtype=F64)
    module.load_state_dict(twin.state_dict())
    return module


CASES: dict[str, Callable[[str], Any]] = {
    "sampling_positions(device=)": lambda d: sampling_positions(9, 3, stride=2, padding=1, dilation=2, dtype=F64,
                                                                device=d),
    "affine_offsets(device=)": lambda d: affine_offsets(3, 5, [[1.0, 0.3], [-0.2, 0.8]], dtype=F64, device=d),
    "scale_offsets(device=)": lambda d: scale_offsets(3, 5, (0.5, 2.0), dtype=F64, device=d),
    "random_offsets(device=)": lambda d: random_offsets(3, 5, 0.7, seed=3, dtype=F64, device=d),
    "dilation_as_offsets(device=)": lambda d: dilation_as_offsets(3, 2, 9, dtype=F64, device=d),
    "deform_conv2d(cuda inputs)": lambda d: deform_conv2d(
        _random(2, 4, 9, 11, device=d), _random(2, 2 * 2 * 9, 9, 11, device=d, seed=1),
        _random(6, 2, 3, 3, device=d, seed=2), _random(6, device=d, seed=3), padding=1,
        mask=torch.sigmoid(_random(2, 2 * 9, 9, 11, device=d, seed=4))),
    "DeformConv2d(device=)": lambda d: _deform_module(d)(_random(1, 3, 7, 8, device=d)),
    "causal/local/strided/block masks(device=)": lambda d: (
        causal_mask(7, device=d), local_mask(9, 2, device=d), strided_mask(9, 3, device=d), block_mask(9, 3, device=d)),
    "bucket_mask, reachability(cuda inputs)": lambda d: (
        bucket_mask(_random(12, 8, device=d), 4, seed=1), reachability(strided_mask(12, 3, device=d), 2)),
    "positional encodings(device=)": lambda d: (
        sinusoidal_positional_encoding(17, 16, device=d), sinusoidal_positional_encoding_2d(3, 5, 16, device=d),
        relative_position_index(6, device=d)),
    "RelativePositionBias(cuda)": lambda d: _module(lambda: RelativePositionBias(2, 5), d)(6),
    "scaled_dot_product_attention(cuda inputs)": lambda d: scaled_dot_product_attention(
        _random(2, 5, 8, device=d), _random(2, 7, 8, device=d, seed=1), _random(2, 7, 3, device=d, seed=2),
        mask=torch.ones(5, 7, dtype=torch.bool, device=d).tril()),
    "MultiHeadAttention(cuda)": lambda d: _module(lambda: MultiHeadAttention(8, 2), d)(
        _random(1, 5, 8, device=d), _random(1, 4, 8, device=d, seed=1), _random(1, 4, 8, device=d, seed=2)),
    "linear and kernel attention(cuda inputs)": lambda d: (
        linear_attention(_random(1, 9, 4, device=d), _random(1, 9, 4, device=d, seed=1),
                         _random(1, 9, 3, device=d, seed=2), causal=True),
        kernel_attention_quadratic(_random(1, 9, 4, device=d), _random(1, 9, 4, device=d, seed=1),
                                   _random(1, 9, 3, device=d, seed=2), causal=True)),
    "conv_as_attention(cuda weight and input)": lambda d: conv_as_attention(
        _random(2, 3, 3, 3, device=d), sharpness=20.0)(_random(1, 3, 6, 7, device=d, seed=1)),
    "SE, CBAM, ECA gates(cuda)": lambda d: tuple(
        _module(make, d).gates(_random(2, 16, 5, 6, device=d)) for make in
        (lambda: SqueezeExcitation(16, 4), lambda: CBAM(16, 4), lambda: ECA(16))),
    "se_steps(cuda)": lambda d: se_steps(_module(lambda: SqueezeExcitation(16, 4), d), _random(1, 16, 5, 5, device=d)),
    "load_pretrained(...).inspect(cuda)": lambda d: load_pretrained("cbam").to(device=d, dtype=F64).inspect(
        torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0), dtype=F64).to(d)),
    "empirical/effective receptive field(cuda model)": lambda d: (
        empirical_receptive_field(conv_stack(2, 3, dilation=2).to(device=d, dtype=F64), 15),
        effective_receptive_field(conv_stack(2, 3).to(device=d, dtype=F64), 15, seed=1, n_samples=4)),
    "unit_field(cuda model)": lambda d: unit_field(conv_stack(2, 3, stride=2).to(device=d, dtype=F64), 15,
                                                   seed=2, n_samples=4),
}


def check(name: str, case: Callable[[str], Any]) -> str | None:
    """None when the CUDA result lives on the GPU and equals the CPU's; else what went wrong."""
    expected, got = _tensors(case("cpu")), _tensors(case("cuda"))
    if not got or len(got) != len(expected):
        return f"{len(got)} tensors on cuda, {len(expected)} on the cpu"
    for i, (e, g) in enumerate(zip(expected, got)):
        if g.device.type != "cuda":
            return f"tensor {i} {tuple(g.shape)} is on {g.device}"
        if g.shape != e.shape or g.dtype != e.dtype:
            return f"tensor {i}: {tuple(g.shape)} {g.dtype} on cuda, {tuple(e.shape)} {e.dtype} on the cpu"
        if g.dtype.is_floating_point:
            if not torch.allclose(g.cpu(), e, rtol=1e-9, atol=1e-9):
                return f"tensor {i} differs by up to {float((g.cpu() - e).abs().max()):.3g}"
        elif not torch.equal(g.cpu(), e):
            return f"tensor {i} differs"
    return None


def main() -> None:
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: nothing to check")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    failed = 0
    for name, case in CASES.items():
        try:
            problem = check(name, case)
        except Exception:  # noqa: BLE001 - reported, then the next case
            problem = "raised:\n" + traceback.format_exc(limit=4)
        failed += problem is not None
        print(f"{'ok  ' if problem is None else 'FAIL'} {name}" + ("" if problem is None else f": {problem}"))
    print(f"{len(CASES) - failed} of {len(CASES)} cases follow the GPU")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
