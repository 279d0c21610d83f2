"""Explorer 08: where a vision transformer looks, beside where a CNN unit can look.

:func:`vit_attention_explorer` shows, on one of a few seeded :func:`~explainer.data.hard_scenes`
(the label is the shape of the largest object), the tiny ViT of :mod:`explainer.models.vit`:

* the attention of one query token (a patch, chosen by clicking it, or the class token ``[CLS]``)
  over the ``8 x 8`` patches, for one layer and one head (or the heads' mean), as recorded by
  :func:`~explainer.attention.capture_attention` during the model's forward pass;
* the attention rollout of the class token up to that layer (Abnar & Zuidema 2020), with the target's
  outline and the share of the rollout that lands on it;
* the mean attention distance of every head and layer in pixels (the ViT paper's Fig. 7), beside the
  mean distance of the pixels in the theoretical receptive field of a unit of the gated CNN of
  lesson 04 (no gate; lesson 02's :func:`~explainer.receptive_fields.receptive_field`) centred on
  the same patch, stage by stage: a CNN unit sees a bounded local field, a head may look anywhere.

Everything of one scene is computed once per (scene, model) and kept; a move only picks and paints.
"""

from __future__ import annotations

import functools
import html
import importlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from explainer._validate import check_choice, check_int
from explainer.attention.capture import attention_rollout, capture_attention, mean_attention_distance
from explainer.data import SHAPES, Scenes, hard_scenes
from explainer.explorers._kit import Explorer, Kept, int_slider, toggle_buttons
from explainer.models import PRETRAINED, WEIGHTS_DIR, load_pretrained
from explainer.paint import Painter, new_figure
from explainer.receptive_fields import LayerRF, clip_box, field_at, receptive_field
from explainer.theme import Theme, get_theme
from explainer.views.vit_attention import draw_vit_attention, mask_outline

__all__ = ["SCENE_SEED", "NUM_IMAGES", "HEAD_MODES", "lesson_scenes", "shipped", "default_vit", "untrained",
           "cnn_trunk", "cnn_fields", "field_distance", "SceneAttention", "scene_attention", "ShownViTAttention",
           "ViTAttentionExplorer", "vit_attention_explorer"]

SCENE_SEED = 808  # the explorer's scenes: a seed the training and test sets do not use
NUM_IMAGES = 12
HEAD_MODES = ("one head", "mean of heads")
IMAGE_SIZE, PATCH_SIZE = 32, 4  # the scenes and the ViT's patches (explainer.models.vit)
GRID = IMAGE_SIZE // PATCH_SIZE  # 8 patches a side
_KEPT = 12  # scenes whose recordings are kept


@functools.lru_cache(maxsize=1)
def lesson_scenes() -> Scenes:
    """The explorer's :data:`NUM_IMAGES` image-only hard scenes (seed :data:`SCENE_SEED`), made once."""
    return hard_scenes(NUM_IMAGES, IMAGE_SIZE, seed=SCENE_SEED, target="image")


def untrained(build: Any, seed: int = 0) -> nn.Module:
    """``build()`` with every parameter redrawn from a seeded generator (N(0, 0.02), norms 1 / 0), in eval mode.

    PyTorch's default initialisation draws from the global RNG; it runs inside ``fork_rng``, so the
    global random state is left as it was, and everything kept comes from ``seed``.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        model = build()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif p.ndim == 1:
                p.fill_(1.0)
            else:
                fan_in = p[0].numel() if p.ndim > 1 else 1
                p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(fan_in))
    return model.eval()


def shipped(name: str) -> bool:
    """Whether model ``name`` of :data:`explainer.models.MODELS` is registered and its weights file is there.

    Example:
        >>> shipped("no such model")
        False
    """
    if name not in PRETRAINED:
        return False
    return (WEIGHTS_DIR / importlib.import_module(f"explainer.models.{name}").WEIGHTS).is_file()


def default_vit() -> nn.Module:
    """The shipped ViT (``load_pretrained("vit")``), or, before it ships, the untrained seeded architecture."""
    if shipped("vit"):
        with torch.random.fork_rng(devices=[]):  # building the module initialises it from the global RNG
            return load_pretrained("vit")
    from explainer.models.vit import build

    return untrained(build)


@functools.lru_cache(maxsize=1)
def _gated_cnn() -> nn.Module:
    return load_pretrained("none")


def cnn_trunk(model: nn.Module | None = None) -> nn.Sequential:
    """The convolutional trunk of a :class:`~explainer.models.GatedCNN` (default: lesson 04's, no gate).

    Its three stages (two 3x3 convolutions each) with the 2x2 max pools between them, as the
    model runs them: ``[stage 1, pool, stage 2, pool, stage 3]`` (modules ``"0"`` to ``"4"``).
    """
    model = _gated_cnn() if model is None else model
    stages = model.stages
    return nn.Sequential(stages[0]["convs"], nn.MaxPool2d(2), stages[1]["convs"], nn.MaxPool2d(2),
                         stages[2]["convs"])


@functools.lru_cache(maxsize=1)
def cnn_fields() -> tuple[LayerRF, ...]:
    """The theoretical receptive field after each of the trunk's three stages, on a 32 x 32 scene."""
    layers = receptive_field(cnn_trunk(), IMAGE_SIZE)
    return tuple(field_at(layers, name) for name in ("0", "2", "4"))


def field_distance(field: LayerRF, point: tuple[float, float], size: int = IMAGE_SIZE) -> tuple[tuple, float]:
    """The field of the unit nearest ``point = (y, x)``, clipped to the image, and the mean distance of its pixels.

    Returns:
        ``(box, distance)``: ``box = (y0, x0, y1, x1)`` inclusive pixels, ``distance`` the mean Euclidean
        distance in pixels from ``point`` to every pixel of the box (the CNN's "attention distance"
        if it weighed the pixels of its field equally).
    """
    unit = field.unit_at(point)
    box = clip_box(field.box(unit), size)
    y0, x0, y1, x1 = box
    ys, xs = np.meshgrid(np.arange(y0, y1 + 1), np.arange(x0, x1 + 1), indexing="ij")
    return box, float(np.hypot(ys - point[0], xs - point[1]).mean())


@dataclass(frozen=True)
class SceneAttention:
    """One forward pass of the ViT on one scene, and what the explorer reads from it.

    Attributes:
        weights: ``(L, H, T, T)`` float64 per-layer per-head weights, ``T = 1 + g*g`` (``[CLS]`` first).
        names: the recorded layers' names, in order.
        rollouts: ``(L, T, T)`` rollout up to each layer (heads averaged, residual counted).
        distances: ``(L, H, g*g)`` each patch query's mean attention distance in pixels.
        logits: ``(classes,)`` the model's scores for the scene.
    """

    weights: Tensor
    names: tuple[str, ...]
    rollouts: Tensor
    distances: Tensor
    logits: Tensor


def scene_attention(model: nn.Module, image: Tensor) -> SceneAttention:
    """Record ``model`` on ``image (3, S, S)`` with :func:`capture_attention`; read it (see :class:`SceneAttention`)."""
    with torch.no_grad(), capture_attention(model) as rec:
        logits = model(image[None])  # (1, classes)
    names = tuple(rec.maps)
    weights = torch.stack([w[0] for w in rec.maps.values()]).double()  # (L, H, T, T)
    layers = [w[None] for w in weights]
    rollouts = torch.stack([attention_rollout(layers[: k + 1])[0] for k in range(len(layers))])  # (L, T, T)
    distances = mean_attention_distance(weights, GRID, PATCH_SIZE, num_prefix_tokens=1, per_query=True)  # (L, H, P)
    return SceneAttention(weights, names, rollouts, distances, logits[0].double())


@dataclass(frozen=True)
class ShownViTAttention:
    """What the explorer shows now.

    Attributes:
        image, layer, query: the scene, the layer index (0-based) and the query token (0 = ``[CLS]``,
            ``1 + r*g + c`` the patch in row ``r``, column ``c``).
        head: the head's index (0-based; the pictures and the slider number heads from 1), or None for
            the heads' mean.
        row: ``(T,)`` the query's weights over every key (``[CLS]`` first); sums to 1.
        patch_map: ``(g, g)`` the weights on the patches.
        rollout: ``(g, g)`` the class token's rollout up to this layer over the patches.
        on_target: the share of the rollout's patch mass on the target mask (mass spread evenly over
            each patch's pixels); ``mask_share`` the share of the image the mask covers.
        distances: ``(L, H)`` mean attention distance per layer and head, over all patch queries (pixels).
        cnn_distance: ``(3,)`` mean pixel distance within the CNN unit's field at the query patch, per stage.
        cnn_box: the chosen stage's field ``(y0, x0, y1, x1)``; ``stage`` its index (0-based).
        prediction: the model's class index.
    """

    image: int
    layer: int
    head: int | None
    query: int
    row: Tensor
    patch_map: Tensor
    rollout: Tensor
    on_target: float
    mask_share: float
    distances: Tensor
    cnn_distance: tuple[float, ...]
    cnn_box: tuple[int, int, int, int]
    stage: int
    prediction: int


def _query_point(query: int) -> tuple[float, float]:
    """The pixel centre ``(y, x)`` of a query's patch (the image centre for ``[CLS]``)."""
    if query == 0:
        return (IMAGE_SIZE - 1) / 2, (IMAGE_SIZE - 1) / 2
    r, c = divmod(query - 1, GRID)
    return r * PATCH_SIZE + (PATCH_SIZE - 1) / 2, c * PATCH_SIZE + (PATCH_SIZE - 1) / 2


class ViTAttentionExplorer(Explorer):
    """One query's attention per layer and head, the class token's rollout, and distances beside a CNN's field.

    ``result`` is a :class:`ShownViTAttention`. Click a patch on any picture to make it the query.
    """

    def __init__(self, model: nn.Module, values: dict[str, Any], theme: Theme,
                 first: SceneAttention | None = None) -> None:
        self.model = model.eval()
        self.scenes = lesson_scenes()
        self.kept = Kept(_KEPT)
        if first is not None:
            self.kept[values["image"]] = first
        first = self._scene(values["image"])
        self.layers, self.heads = first.weights.shape[:2]
        self.fields = cnn_fields()
        self.outlines = {}
        fig = new_figure(8.6, 3.3, theme=theme)
        self.view = draw_vit_attention(fig, IMAGE_SIZE, self.layers, self.heads, ymax=32.0, theme=theme)
        painter = Painter(fig)
        painter.animate(self.view.artists)
        controls = {
            "image": int_slider("scene", values["image"], 0, NUM_IMAGES - 1, tooltip="a seeded hard scene",
                                theme=theme),
            "layer": int_slider("layer", values["layer"], 1, self.layers, theme=theme),
            "heads": toggle_buttons("heads", list(HEAD_MODES), values["heads"], theme=theme),
            "head": int_slider("head h", values["head"], 1, self.heads, theme=theme),
            "query": int_slider("query token", values["query"], 0, GRID * GRID,
                                tooltip="0 = [CLS]; or click a patch", theme=theme),
            "stage": int_slider("CNN stage", values["stage"], 1, len(self.fields), theme=theme),
        }
        super().__init__(controls, painter, title="Attention on image patches", theme=theme)
        self.enable_clicks()

    def _scene(self, index: int) -> SceneAttention:
        return self.kept.fetch(index, lambda: scene_attention(self.model, self.scenes.images[index]))

    def _outline(self, index: int) -> Any:
        if index not in self.outlines:
            self.outlines[index] = mask_outline(self.scenes.masks[index, 0].numpy())
        return self.outlines[index]

    def limits(self, values: dict[str, Any]) -> dict[str, Any]:
        if values["heads"] == HEAD_MODES[1]:
            return {"head": (values["head"], values["head"], "the mean of all heads is shown")}
        return {"head": (1, self.heads, None)}

    def render(self, values: dict[str, Any]) -> None:
        i, layer, query, stage = values["image"], values["layer"] - 1, values["query"], values["stage"] - 1
        head = values["head"] - 1 if values["heads"] == HEAD_MODES[0] else None  # an index
        s = self._scene(i)
        w = s.weights[layer]  # (H, T, T)
        row = (w[head] if head is not None else w.mean(0))[query]  # (T,)
        patch_map = row[1:].reshape(GRID, GRID)  # (g, g)
        rollout = s.rollouts[layer, 0, 1:]  # (P,)
        mask = self.scenes.masks[i, 0]
        cover = nn.functional.avg_pool2d(mask[None, None].double(), PATCH_SIZE).flatten()  # (P,) mask share per patch
        on_target = float((rollout * cover).sum() / rollout.sum())
        share = float(mask.double().mean())
        distances = s.distances.mean(-1)  # (L, H)
        point = _query_point(query)
        fields = [field_distance(f, point) for f in self.fields]
        box = fields[stage][0]
        self.result = ShownViTAttention(
            image=i, layer=layer, head=head, query=query, row=row, patch_map=patch_map,
            rollout=rollout.reshape(GRID, GRID), on_target=on_target, mask_share=share, distances=distances,
            cnn_distance=tuple(d for _, d in fields), cnn_box=box, stage=stage, prediction=int(s.logits.argmax()))
        self._paint(values, s)

    def _paint(self, values: dict[str, Any], s: SceneAttention) -> None:
        r = self.result
        outline = self._outline(r.image)
        square = None
        if r.query:
            row, col = divmod(r.query - 1, GRID)
            square = (col * PATCH_SIZE - 0.5, row * PATCH_SIZE - 0.5, PATCH_SIZE, PATCH_SIZE)
        y0, x0, y1, x1 = r.cnn_box
        box = (x0 - 0.5, y0 - 0.5, x1 - x0 + 1, y1 - y0 + 1)
        picture = self.scenes.images[r.image].permute(1, 2, 0).numpy()
        label = SHAPES[int(self.scenes.labels[r.image])]
        v = self.view
        v.scene.update(picture, outline, square, f"largest: {label}\nmodel says: {SHAPES[r.prediction]}", box)
        who = "[CLS]" if r.query == 0 else f"patch {r.query}"
        heads = f"head {r.head + 1}" if r.head is not None else "mean"
        top = float(r.patch_map.max())
        v.attention.update((r.patch_map / top).numpy(), outline, square,
                           f"{who} · layer {r.layer + 1} · {heads}\nmax {top:.2f}, [CLS] {float(r.row[0]):.2f}")
        roll = r.rollout / r.rollout.max()
        v.rollout.update(roll.numpy(), outline, None,
                         f"[CLS] rollout, layer {r.layer + 1}\n{r.on_target:.0%} on target "
                         f"({r.on_target / r.mask_share:.1f}× area)")  # short: the panel is narrow on a projector
        chosen_head = r.head if r.head is not None else None
        query_distance = (s.distances[r.layer, :, r.query - 1] if r.query else s.distances[r.layer].mean(-1))
        ring = float(query_distance[chosen_head]) if chosen_head is not None else float(query_distance.mean())
        v.distances.update(r.distances.numpy(), np.array(r.cnn_distance), (r.layer, ring))
        self.info.value = _info(r, ring, values)

    def on_click(self, px: float, py: float) -> None:
        for view in (self.view.scene, self.view.attention, self.view.rollout):
            point = self.painter.pixel_to_data(view.ax, px, py)
            if point is not None:
                cell = view.patch_at(point[0], point[1], GRID)
                if cell is not None:
                    self.set(query=1 + cell[0] * GRID + cell[1])
                return


def _info(r: ShownViTAttention, ring: float, values: dict[str, Any]) -> str:
    who = "the class token [CLS]" if r.query == 0 else f"patch {r.query} (row {(r.query - 1) // GRID}, column " \
        f"{(r.query - 1) % GRID})"
    heads = f"head {r.head + 1}" if r.head is not None else "the mean of the heads"
    d_min, d_max = float(r.distances[r.layer].min()), float(r.distances[r.layer].max())
    y0, x0, y1, x1 = r.cnn_box
    return (f"Query: {html.escape(who)}, layer {r.layer + 1}, {heads}. Its weights over the {len(r.row)} tokens sum to "
            f"{float(r.row.sum()):.2f}; the ringed point: this query looks {ring:.1f} px away on average. "
            f"Layer {r.layer + 1}'s heads look {d_min:.1f}–{d_max:.1f} px away (mean over all patch queries); "
            f"a unit of the CNN's stage {r.stage + 1} at this place sees only pixels {y0}–{y1} × {x0}–{x1} "
            f"({y1 - y0 + 1} × {x1 - x0 + 1}, mean distance {r.cnn_distance[r.stage]:.1f} px). "
            f"The class token's rollout puts {r.on_target:.0%} of its mass on the target, which covers "
            f"{r.mask_share:.0%} of the image.")


def vit_attention_explorer(model: nn.Module | None = None, image: int = 0, layer: int = 1, heads: str = "one head",
                           head: int = 1, query: int = 0, stage: int = 1,
                           presentation: bool | None = None) -> ViTAttentionExplorer:
    """Build (not display) the explorer of a ViT's attention on image patches.

    Args:
        model: a ViT whose attention layers :func:`capture_attention` records, taking ``(B, 3, 32, 32)``
            scenes with ``1 + 64`` tokens (class token first, 8 x 8 patches of 4 pixels); None for
            :func:`default_vit` (the shipped tiny ViT).
        image: the scene, 0 to ``NUM_IMAGES - 1``.
        layer: the layer, 1 to ``L``.
        heads: ``"one head"`` or ``"mean of heads"``.
        head: the head shown with ``"one head"``, 1 to ``H`` (heads are numbered from 1, as head_1 ...
            head_h in Vaswani et al. 2017 and in every lesson).
        query: the query token: 0 for ``[CLS]``, ``1 + r*8 + c`` for the patch in row ``r``, column ``c``.
        stage: the CNN stage whose receptive field is drawn (1 to 3).
        presentation: True for the lecture-hall theme, None for the global setting.

    Example:
        >>> ex = vit_attention_explorer(query=28)
        >>> tuple(ex.result.patch_map.shape), round(float(ex.result.row.sum()), 6)
        ((8, 8), 1.0)
    """
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    model = default_vit() if model is None else model
    values = dict(image=check_int("image", image, 0, NUM_IMAGES - 1), layer=check_int("layer", layer, minimum=1),
                  heads=check_choice("heads", heads, HEAD_MODES), head=check_int("head", head, minimum=1),
                  query=check_int("query", query, 0, GRID * GRID), stage=check_int("stage", stage, 1, 3))
    attention = scene_attention(model, lesson_scenes().images[values["image"]])
    L, H, T, _ = attention.weights.shape
    if T != 1 + GRID * GRID:
        raise ValueError(f"model must attend over 1 + {GRID}*{GRID} tokens (class token and patches), got {T}")
    check_int("layer", layer, 1, L)
    check_int("head", head, 1, H)
    return ViTAttentionExplorer(model, values, get_theme(presentation), attention)
