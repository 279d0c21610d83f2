"""Dilation / deformation views on the Agg backend: artists returned and updated in place, where the
compute says, no pyplot figure left open."""

from __future__ import annotations

import matplotlib
import matplotlib.colors

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (only to check that no pyplot figure is left open)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402

from explainer.data import synthetic_image  # noqa: E402
from explainer.paint import Painter, new_figure  # noqa: E402
from _oracles import rotation  # noqa: E402
from explainer.deformable import affine_offsets, random_offsets  # noqa: E402
from explainer.sampling import sampling_positions, stacked_coverage  # noqa: E402
from explainer.views.dilation import (  # noqa: E402
    HOLE_COLOUR,
    coverage_rgba,
    draw_coverage,
    draw_coverage_scale,
    draw_feature_scale,
    draw_zoom,
    update_zoom,
    draw_feature_map,
    OffsetArrows,
    draw_offset_field,
    draw_spread_map,
    draw_spread_scale,
    draw_taps,
    draw_unit_markers,
    update_coverage,
    update_feature_map,
    update_offset_field,
    update_spread_map,
    update_taps,
    update_unit_markers,
)


@pytest.fixture(autouse=True)
def no_open_figures():
    yield
    assert plt.get_fignums() == []


def test_taps_follow_positions_mesh_alpha_and_boxes():
    fig = new_figure(3, 3)
    ax = fig.add_subplot()
    image = synthetic_image(16)
    regular = sampling_positions(16, 3, padding=1)[5, 7]  # (9, 2)
    art = draw_taps(ax, image, regular, (3, 3), regular=regular)
    assert all(isinstance(a, Artist) for a in art.animated)
    np.testing.assert_allclose(art.taps.get_offsets(), regular.numpy()[:, ::-1])  # (x, y)
    assert len(art.mesh.get_segments()) == 12  # 3 rows x 2 + 3 columns x 2
    deformed = sampling_positions(16, 3, padding=1, offset=affine_offsets(3, 16, rotation(45.0))[0])[5, 7]
    alpha = torch.linspace(0, 1, 9)
    update_taps(art, deformed, (3, 3), regular=regular, alpha=alpha, selected=4, footprint=(4, 6, 6, 8))
    np.testing.assert_allclose(art.taps.get_offsets(), deformed.numpy()[:, ::-1], atol=1e-6)
    np.testing.assert_allclose(art.taps.get_facecolor()[:, 3], alpha.clamp(0.05, 1).numpy(), atol=1e-6)
    np.testing.assert_allclose(art.selected.get_offsets(), [[7.0, 5.0]], atol=1e-6)  # the centre tap stays
    grid = deformed.double().numpy()[:, ::-1].reshape(3, 3, 2)  # (row, col, (x, y))
    joined = [(grid[i, j], grid[i, j + 1]) for i in range(3) for j in range(2)]  # along kernel rows, then columns
    joined += [(grid[i, j], grid[i + 1, j]) for i in range(2) for j in range(3)]
    np.testing.assert_allclose(np.array(art.mesh.get_segments()), np.array(joined))
    assert art.footprint.get_visible() and not art.field.get_visible()
    assert art.footprint.get_bbox().bounds == pytest.approx((5.5, 3.5, 3, 3))
    assert ax.get_xlim() == (-0.5, 15.5) and ax.get_xticks().size == 0
    Painter(fig).frame()
    update_taps(art, regular, (3, 3))
    assert art.regular.get_segments() == [] and len(art.selected.get_offsets()) == 0


def test_coverage_marks_holes_and_fills_a_fixed_square():
    cov = stacked_coverage(3, [2, 2])  # 9x9 with holes on odd rows / columns
    rgba = coverage_rgba(cov, 13, "viridis", hole="#ff0000")
    assert rgba.shape == (13, 13, 4) and rgba.dtype == np.uint8
    assert (rgba[:2, :, 3] == 0).all() and (rgba[:, -2:, 3] == 0).all()  # centred: a 2-cell transparent margin
    inner = rgba[2:11, 2:11]
    holes = (cov == 0).numpy()
    assert (inner[holes] == [255, 0, 0, 255]).all() and not (inner[~holes] == [255, 0, 0, 255]).all(-1).any()
    fig = new_figure(3, 3)
    ax = fig.add_subplot()
    image, title = draw_coverage(ax, cov, 13)
    assert ax.get_xlim() == (0, 1) and image.get_extent() == [0, 1, 1, 0]
    update_coverage(image, stacked_coverage(3, [1, 2]), 13)
    assert image.get_array().shape == (13, 13, 4)
    with pytest.raises(ValueError, match="fit"):
        coverage_rgba(cov, 5, "viridis")
    Painter(fig).frame()


def test_offset_field_arrows_have_true_pixel_lengths():
    fig = new_figure(3, 3)
    ax = fig.add_subplot()
    tails = sampling_positions(12, 3, padding=1)[::3, ::3, 0].reshape(-1, 2)  # (16, 2)
    off = random_offsets(3, 12, 1.0, seed=0)[0].reshape(9, 2, 12, 12)[0, :, ::3, ::3].reshape(2, -1).T  # (16, 2)
    arrows = draw_offset_field(ax, synthetic_image(12), tails, off)
    np.testing.assert_allclose(arrows.U, off[:, 1].numpy())
    np.testing.assert_allclose(arrows.V, off[:, 0].numpy())
    update_offset_field(arrows, off * 2)
    np.testing.assert_allclose(arrows.U, 2 * off[:, 1].numpy())
    # Each arrow is 8 vertices; vertex 3 is the tip, which lies where the tap moved to (data units),
    # for every arrow longer than its head.
    verts = arrows.get_path().vertices.reshape(-1, 8, 2)
    long = np.hypot(arrows.U, arrows.V) > arrows.headlength * arrows.width
    assert long.sum() >= 8
    expected = tails.numpy()[:, ::-1] + 2 * off.numpy()[:, ::-1]
    np.testing.assert_allclose(verts[long, 3], expected[long], atol=1e-9)
    assert arrows.get_transform() == ax.transData
    Painter(fig).frame()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_offset_arrows_draw_what_matplotlib_quiver_draws(seed):
    """Oracle: ax.quiver with the same arrow shape, in xy units, on a twin figure; odd sizes, arrows of
    every length (shorter than the head, shorter than the dot size, zero) and overlaps."""
    rng = np.random.default_rng(seed)
    xy, uv = rng.uniform(0, 22, (41, 2)), rng.normal(0, 2.0, (41, 2))
    uv[:5] *= 0.05
    uv[5] = 0
    shape = dict(headwidth=3.5, headlength=3.5, headaxislength=3)

    def picture(use_quiver: bool) -> np.ndarray:
        fig = new_figure(3.7, 3.1, dpi=100)
        ax = fig.add_axes((0.05, 0.05, 0.6, 0.9))
        ax.set_xlim(-0.5, 22.5)
        ax.set_ylim(16.5, -0.5)
        ax.set_aspect("equal")
        if use_quiver:  # quiver's width is a fraction of the axes width, which spans 23 data units
            ax.quiver(xy[:, 0], xy[:, 1], uv[:, 0], uv[:, 1], angles="xy", scale_units="xy", scale=1.0,
                      color="k", width=0.03, **shape)
        else:
            ax.add_patch(OffsetArrows(xy, uv[:, 0], uv[:, 1], width=0.03 * 23, facecolor="k", edgecolor="none",
                                      linewidth=0, **shape))
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)

    ours, oracle = picture(False), picture(True)
    differ = np.abs(ours - oracle).max(axis=-1)
    assert (oracle < 128).all(axis=-1).sum() > 2000  # the arrows cover something
    assert differ.max() <= 96  # antialiasing where arrows overlap
    assert (differ > 16).mean() < 5e-4


def test_offset_arrows_refuse_mismatched_lengths():
    with pytest.raises(ValueError, match="one row per arrow"):
        OffsetArrows(np.zeros((3, 2)), np.zeros(3), np.zeros(2), width=1.0)


def test_feature_map_fixed_limits_and_update():
    fig = new_figure(3, 3)
    ax = fig.add_subplot()
    fmap = torch.linspace(-1, 1, 20).reshape(4, 5)
    image = draw_feature_map(ax, fmap, 2.0)
    assert image.get_clim() == (-2.0, 2.0) and ax.get_ylim() == (3.5, -0.5)
    update_feature_map(image, -fmap)
    np.testing.assert_allclose(image.get_array(), -fmap.numpy())
    with pytest.raises(ValueError, match="image"):
        draw_taps(ax, torch.zeros(2, 4, 4), torch.zeros(1, 2), (1, 1))


@pytest.mark.parametrize("dpi", [100, 173])
def test_unit_markers_box_the_unit_on_every_map_at_any_dpi(dpi):
    """One collection for both maps: each square is centred on the unit's pixel, also in an export at
    another dpi, and a frame shows the black outline there and nowhere else on the map."""
    fig = new_figure(6.0, 3.0, dpi=dpi)
    axes = [fig.add_axes((0.05 + 0.5 * i, 0.1, 0.4, 0.8)) for i in range(2)]
    maps = [draw_feature_map(ax, torch.zeros(11, 13), 1.0) for ax in axes]
    markers = draw_unit_markers(axes)
    assert markers.axes is None and markers.figure is fig
    update_unit_markers(markers, axes, (3, 9))
    centres = markers.get_offset_transform().transform(markers.get_offsets())
    expected = [ax.transData.transform((9, 3)) for ax in axes]
    np.testing.assert_allclose(centres, expected, atol=1e-9)
    painter = Painter(fig)
    painter.animate(*maps, markers)
    painter.frame()
    rgb = np.asarray(painter.canvas.buffer_rgba())[..., :3].astype(int)
    height = rgb.shape[0]
    half = 3 * dpi / 72  # the square's half side, 6 points
    for x, y in expected:
        row, col = int(round(height - y)), int(round(x))
        ring = rgb[row - int(half) - 2:row + int(half) + 3, col - int(half) - 2:col + int(half) + 3]
        assert (ring.sum(axis=-1) < 60).any(), "no black outline around the unit"
        assert not (rgb[row, col].sum() < 60), "the square is hollow"


def test_coverage_scale_is_the_key_of_coverage_rgba():
    """The colourbar's colours are the heatmap's: a share v of the panel's most paths is coloured like a
    cell with v * max paths; below 0 (a hole) the triangle shows the hole colour."""
    fig = new_figure(3, 3)
    bar = draw_coverage_scale(fig.add_axes((0.8, 0.2, 0.05, 0.6)))
    counts = torch.tensor([[1.0, 4.0, 16.0, 0.0]])  # shares 1/16, 1/4, 1 and a hole
    rgba = coverage_rgba(counts, 4, "viridis")[1]  # the row sits centred in the 4 x 4 square
    for share, cell in ((1 / 16, rgba[0]), (0.25, rgba[1]), (1.0, rgba[2])):
        np.testing.assert_allclose(np.array(bar.cmap(bar.norm(share))) * 255, cell, atol=3)
    assert bar.cmap(bar.norm(-0.5)) == matplotlib.colors.to_rgba(HOLE_COLOUR) and tuple(rgba[3][:3]) == (240, 128, 128)
    assert bar.extend == "min" and [t.get_text() for t in bar.ax.get_yticklabels()] == ["5%", "25%", "50%", "100%"]
    Painter(fig).frame()


def test_feature_scale_uses_the_maps_fixed_limits():
    fig = new_figure(3, 3)
    image = draw_feature_map(fig.add_axes((0.1, 0.1, 0.6, 0.8)), torch.randn(5, 6), 3.0)
    bar = draw_feature_scale(fig.add_axes((0.8, 0.1, 0.05, 0.8)), image, label="y")
    assert (bar.norm.vmin, bar.norm.vmax) == (-3.0, 3.0) and bar.cmap.name == image.get_cmap().name
    assert bar.extend == "both" and bar.ax.get_title() == "y"
    assert all(float(t).is_integer() for t in bar.ax.get_yticks())
    Painter(fig).frame()


def test_zoom_crops_around_the_unit_with_zero_padding_and_shifts_the_taps():
    fig = new_figure(3, 3)
    ax = fig.add_subplot()
    image = synthetic_image(16, grayscale=True)  # (1, 16, 16)
    zoom = draw_zoom(ax, image, 3, (3, 3))
    assert ax.get_xlim() == (-0.5, 6.5) and all(a.get_visible() for a in zoom.animated[:4])
    taps = sampling_positions(16, 3, padding=1, offset=random_offsets(3, 16, 0.7, seed=0)[0])[1, 14]  # (9, 2)
    regular = sampling_positions(16, 3, padding=1)[1, 14]
    update_zoom(zoom, (1, 14), taps, (3, 3), regular=regular, selected=2)
    crop = zoom.taps.photo.get_array()  # (7, 7, 3): rows -2..4, columns 11..17 of the image
    np.testing.assert_allclose(crop[2:, :5, 0], image[0, 0:5, 11:16].numpy(), atol=1e-6)
    assert (crop[:2] == 0).all() and (crop[:, 5:] == 0).all()  # beyond the image: the zero padding
    np.testing.assert_allclose(zoom.taps.taps.get_offsets(), (taps - torch.tensor([-2.0, 11.0])).numpy()[:, ::-1],
                               atol=1e-6)
    np.testing.assert_allclose(zoom.taps.selected.get_offsets(), zoom.taps.taps.get_offsets()[2:3])
    assert len(zoom.taps.regular.get_segments()) == 12
    Painter(fig).frame()


def test_spread_map_covers_the_image_and_outlines_the_mask_edge():
    """A (h, w) map stretched over an (H, W) image, fixed limits [0, vmax]; the outline is white exactly on the
    mask pixels with a neighbour off the mask, clear elsewhere, and cleared by mask=None."""
    fig = new_figure(3, 3)
    ax = fig.add_axes((0.1, 0.1, 0.6, 0.8))
    spread = torch.linspace(0, 5, 8 * 6).reshape(8, 6)
    image, outline = draw_spread_map(ax, spread, (16, 12), 4.0)
    assert image.get_clim() == (0.0, 4.0) and image.get_extent() == outline.get_extent() == [-0.5, 11.5, 15.5, -0.5]
    mask = torch.zeros(16, 12, dtype=torch.bool)
    mask[3:8, 2:9] = True  # a 5 x 7 block: its 1-pixel rim is the edge
    mask[0, 0] = True  # a lone pixel at the corner is all edge
    update_spread_map(image, outline, 2 * spread, mask)
    np.testing.assert_allclose(image.get_array(), (2 * spread).numpy())
    alpha = np.asarray(outline.get_array())[..., 3]
    expected = np.zeros((16, 12))
    expected[3:8, 2:9] = 1
    expected[4:7, 3:8] = 0
    expected[0, 0] = 1
    np.testing.assert_array_equal(alpha, expected)
    update_spread_map(image, outline, spread, None)
    assert np.asarray(outline.get_array())[..., 3].max() == 0
    bar = draw_spread_scale(fig.add_axes((0.8, 0.1, 0.05, 0.8)), image)
    assert (bar.norm.vmin, bar.norm.vmax) == (0.0, 4.0) and bar.extend == "max" and bar.ax.get_title() == "px"
    Painter(fig).frame()
