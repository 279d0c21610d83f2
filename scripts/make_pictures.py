"""Generate the README pictures: per explorer, a PNG and a GIF sweep (docs/images by default).

Each explorer gets one PNG of an instructive state and one GIF sweeping its most telling control.

    .venv/bin/python scripts/make_pictures.py [--out docs/images] [--presentation] [--only NAME ...]

Deterministic: the explorers take their randomness from ``seed=`` (fixed here), torch runs on one
thread, and PNG / GIF encoding carries no timestamps, so running it twice gives identical files.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

import explainer.explorers as explorers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAX_GIF_BYTES = 1_500_000  # README-sized


@dataclass(frozen=True)
class Picture:
    """What to draw for one explorer.

    Attributes:
        name: file stem: ``<name>.png`` and ``<name>.gif``.
        factory: an explorer factory in :mod:`explainer.explorers`.
        options: factory arguments for the PNG (and the starting point of the sweep).
        sweep: ``(control, values)`` for the GIF, from ``options`` with ``sweep_from`` applied.
        sweep_from: other controls set before the sweep (the GIF's own instructive state).
        fps: GIF frames per second.
    """

    name: str
    factory: str
    options: dict[str, Any]
    sweep: tuple[str, list[Any]]
    sweep_from: dict[str, Any] = field(default_factory=dict)
    fps: float = 3


PICTURES = (
    # A transposed convolution: the zero-inserted input, the implicit padding, the taps that read zeros.
    # The sweep is the classic sliding-window animation (Dumoulin & Visin): a stride-2 conv with padding 1.
    Picture("conv_arithmetic", "conv_arithmetic_explorer",
            dict(input_size=4, kernel_size=3, stride=2, padding=1, transposed=True, output_padding=1, row=2, col=3,
                 in_channels=4, out_channels=8, groups=2),
            sweep=("col", [0, 1, 2, 3, 4, 3, 2, 1]),
            sweep_from=dict(transposed=False, output_padding=0, input_size=9, row=1, col=0)),
    # A stride-2 transposed convolution with k = 3 overlaps unevenly (the checkerboard); k = 4 does not.
    Picture("checkerboard", "checkerboard_explorer", dict(kernel_size=3, stride=2, input_size=4),
            sweep=("kernel_size", [2, 3, 4, 5, 6, 5, 4]), fps=1),
    # Dilation 2: the box grows by 4 per layer, and the measured field shows the holes dilation leaves.
    Picture("receptive_field", "receptive_field_explorer",
            dict(depth=2, kernel_size=3, dilation=2, seed=0),
            sweep=("depth", [1, 2, 3, 4, 5, 6, 7, 8]), sweep_from=dict(dilation=1, pool_every=2)),
    Picture("reference_networks", "reference_networks_explorer",
            dict(network="ResNet-50, TF-slim v1 (3x3 of last block strides)"),
            sweep=("network", ["AlexNet", "VGG-16", "ResNet-50, torchvision (3x3 of first block strides)",
                               "ResNet-50, TF-slim v1 (3x3 of last block strides)",
                               "ResNet-50, Caffe v1 (first 1x1 strides)"]), fps=1),
    Picture("stacked_convs", "stacked_convs_explorer",
            dict(depth=3, kernel_size=3, channels=64),
            sweep=("depth", [1, 2, 3, 4, 5, 4, 3, 2]), fps=2),
    # Dilation spreads the taps over the photo; the coverage heatmaps show the gridding of equal dilations.
    Picture("dilation", "dilation_explorer", dict(dilation=2),
            sweep=("dilation", [1, 2, 3, 4, 5, 6]), fps=2),
    # Rotating every tap's offset: the deformed grid, the offset field and the edge map it produces.
    Picture("deformation", "deformation_explorer", dict(angle=30.0),
            sweep=("angle", [0.0, 15.0, 30.0, 45.0, 60.0, 75.0, 90.0]), fps=2),
    # A trained deformable layer: its taps spread over the clutter and gather on the object as it grows.
    Picture("learned_offsets", "learned_offsets_explorer", dict(),
            sweep=("scale", [0.6, 0.8, 1.0, 1.2, 1.4, 1.6]), fps=2),
    # SE step by step: pooled descriptor, bottleneck, gates; then the trained SE / CBAM / ECA gates.
    Picture("squeeze_excitation", "se_explorer", dict(), sweep=("image", [0, 1, 2, 3, 4, 5]), fps=2),
    Picture("trained_gates", "trained_gates_explorer", dict(), sweep=("image", [0, 1, 2, 3, 4, 5]), fps=1),
    Picture("gate_profiles", "gate_profiles_explorer", dict(), sweep=("stage", [0, 1, 2]), fps=1),
    Picture("eca", "eca_explorer", dict(), sweep=("channels", [8, 16, 32, 64, 128, 256]), fps=2),
    Picture("gate_cost", "gate_cost_explorer", dict(), sweep=("channels", [16, 32, 64, 128, 256]), fps=2),
    # Without 1/sqrt(d) the softmax collapses onto one key as the head dimension grows.
    Picture("self_attention", "self_attention_explorer", dict(),
            sweep=("head_dim", [2, 4, 8, 16, 32, 64]), sweep_from=dict(scaling="none"), fps=2),
    # One trained layer against the same layer with random weights: trained, the words attend to the colour word.
    Picture("word_attention", "word_attention_explorer", dict(), sweep=("weights", ["trained", "random"]), fps=1),
    Picture("positional_encoding", "positional_encoding_explorer", dict(),
            sweep=("position", [0, 8, 16, 24, 32, 40, 48, 56]), fps=3),
    Picture("attention_patterns", "attention_patterns_explorer", dict(),
            sweep=("pattern", ["local", "strided", "block", "bucket"]), fps=1),
    Picture("attention_cost", "attention_cost_explorer", dict(),
            sweep=("n", [256, 1024, 4096, 16384, 65536]), fps=2),
    Picture("linear_attention", "linear_attention_explorer", dict(),
            sweep=("row", [0, 3, 6, 9, 12, 15]), fps=2),
    # As the sharpness grows, every head locks onto one kernel offset and the difference vanishes.
    Picture("conv_attention", "conv_attention_explorer", dict(),
            sweep=("sharpness", [0.3, 1.0, 3.0, 10.0, 30.0]), fps=1),
    # Any model's recorded attention (a seeded nn.TransformerEncoder here): one head, the rollout, one query.
    Picture("recorded_attention", "recorded_attention_explorer", dict(summary="rollout", layer=2, query=5),
            sweep=("head", [1, 2, 3, 4]), fps=1),
    # A ViT on a hard scene: one patch's attention, the class token's rollout, distances beside a CNN's field.
    Picture("vit_attention", "vit_attention_explorer", dict(query=28, layer=3),
            sweep=("image", [0, 1, 2, 3, 4, 5]), fps=1),
    # Words attending to the scene: the colour word's map, the importance map, self / cross / swapped weights.
    Picture("cross_attention", "cross_attention_explorer", dict(), sweep=("image", [0, 1, 2, 3, 4, 5]), fps=1),
    # Lesson 11: gradient norms per layer, plain vs residual (ReLU), as the stack deepens; the degradation curves.
    Picture("gradient_flow", "gradient_flow_explorer", dict(activation="relu"),
            sweep=("depth", [4, 8, 12, 16, 20, 24, 32, 40, 50]), fps=2),
    Picture("degradation", "degradation_explorer", dict(), sweep=("depth", [4, 20]), fps=1),
    # Lesson 12: the sigmoid saturating as its inputs widen; batch norm's running statistics; GAP vs flatten.
    Picture("activations", "activation_explorer", dict(), sweep=("std", [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), fps=2),
    Picture("normalisation", "normalisation_explorer", dict(),
            sweep=("batches_seen", [0, 1, 2, 4, 8, 16, 32, 60]), fps=2),
    Picture("pooling", "pooling_explorer", dict(dx=4), sweep=("dx", [0, 2, 4, 6, 8]), fps=2),
    # Lesson 13: where each family sees far, holds its weights and does its work; the bottleneck at 256 channels.
    Picture("cnn_families", "cnn_families_explorer", dict(network="vgg16", comparison="bottleneck", channels=256),
            sweep=("network", ["alexnet", "vgg16", "inception", "bottleneck", "transformer"]), fps=1),
    # Lesson 14: one block's costs as the tokens grow; the reverser's attention at its last step, head by head.
    Picture("transformer_block", "transformer_block_explorer", dict(seq_len=1024),
            sweep=("seq_len", [8, 32, 128, 512, 2048, 4096]), fps=2),
    Picture("decoding", "decoding_explorer", dict(digits="3 1 4 1 5 9", steps=6), sweep=("head", ["mean", "1", "2"]),
            fps=1),
)


def make(picture: Picture, out: Path, presentation: bool) -> list[Path]:
    """Write ``<out>/<name>.png`` and ``<out>/<name>.gif``; return their paths."""
    ex = getattr(explorers, picture.factory)(presentation=presentation, **picture.options)
    if ex.last_error:
        raise RuntimeError(f"{picture.factory}: {ex.last_error}")
    png = ex.save_png(out / f"{picture.name}.png")
    if picture.sweep_from:
        ex.set(**picture.sweep_from)
    control, values = picture.sweep
    gif = ex.save_gif(out / f"{picture.name}.gif", control, values, fps=picture.fps)
    size = gif.stat().st_size
    if size > MAX_GIF_BYTES:
        raise RuntimeError(f"{gif} is {size:,} bytes, over the README budget of {MAX_GIF_BYTES:,}")
    return [png, gif]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="folder for the pictures")
    parser.add_argument("--presentation", action="store_true", help="draw with the lecture-hall theme")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[p.name for p in PICTURES],
                        help="only these pictures")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # float reductions in a fixed order: the same bytes on every run
    args.out.mkdir(parents=True, exist_ok=True)
    for picture in PICTURES:
        if args.only and picture.name not in args.only:
            continue
        start = time.perf_counter()
        for path in make(picture, args.out, args.presentation):
            print(f"{path}  {path.stat().st_size / 1024:7.1f} KiB")
        print(f"  ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
