"""Input pictures: matplotlib's bundled photo (found without importing matplotlib) and a seeded synthetic one."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import explainer.data as data
from explainer.data import sample_image, sample_image_path, synthetic_image


def test_photo_path_is_matplotlibs_sample_data():
    import matplotlib

    assert sample_image_path() == data.Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def test_finding_and_loading_the_photo_does_not_import_matplotlib():
    code = ("import sys, explainer.data as d; x = d.sample_image(8); "
            "assert 'matplotlib' not in sys.modules, 'imported'; print(tuple(x.shape))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(3, 8, 8)"


def test_full_size_photo_equals_the_decoded_jpeg():
    with Image.open(sample_image_path()) as photo:
        expected = torch.tensor(np.asarray(photo.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
        size = (photo.height, photo.width)
    assert size == (600, 512)
    assert torch.equal(sample_image(size), expected)


@pytest.mark.parametrize("size, shape", [(64, (3, 64, 64)), ((48, 20), (3, 48, 20)), ((7, 90), (3, 7, 90))])
def test_sample_image_shape_range_and_fresh_copies(size, shape):
    image = sample_image(size)
    assert image.shape == shape and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0 and float(image.std()) > 0.05
    image.zero_()
    assert float(sample_image(size).max()) > 0  # the cache hands out copies


def test_grayscale_is_the_luma_of_the_colour_picture():
    colour, gray = sample_image(32), sample_image(32, grayscale=True)
    assert gray.shape == (1, 32, 32)
    luma = (colour * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0, keepdim=True)
    assert float((gray - luma).abs().max()) <= 1.5 / 255


def test_missing_photo_gives_a_clear_error(monkeypatch):
    data._decoded_photo.cache_clear()
    data._resized.cache_clear()
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="synthetic_image"):
        sample_image(16)
    monkeypatch.undo()
    data._resized.cache_clear()
    assert sample_image(16).shape == (3, 16, 16)


def test_bad_arguments():
    with pytest.raises(ValueError, match="size must be >= 1 in every dimension, got \\(0, 4\\)"):
        sample_image((0, 4))
    with pytest.raises(TypeError, match="size must be an int or a pair"):
        sample_image("big")
    with pytest.raises(TypeError, match="grayscale must be a bool"):
        sample_image(8, grayscale="yes")
    with pytest.raises(TypeError, match="seed must be an integer"):
        synthetic_image(8, seed=1.5)


def test_synthetic_image_is_seeded_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b, c = synthetic_image((30, 40), seed=3), synthetic_image((30, 40), seed=3), synthetic_image((30, 40), seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert a.shape == (3, 30, 40) and torch.equal(a, b) and not torch.equal(a, c)
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0
    edges = (a[:, 1:, :] - a[:, :-1, :]).abs().amax()
    assert float(edges) > 0.1  # sharp shapes, not only a ramp
    gray = synthetic_image((30, 40), seed=3, grayscale=True)
    torch.testing.assert_close(gray[0], (a * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0))
