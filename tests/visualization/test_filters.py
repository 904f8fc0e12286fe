"""Kernels as images, layer kernels, activation maximization, their plots."""

from __future__ import annotations

import os

import numpy as np
import pytest

from kerasvision.models.cnn import build_bipyramidal_cnn
from kerasvision.visualization import (
    activation_maximization,
    feature_maps,
    first_layer_filters,
    layer_kernels,
    plot_activation_maximization,
    plot_filters,
)


@pytest.fixture
def small_cnn():
    return build_bipyramidal_cnn((16, 16, 3), 3, filters=(4, 8), dense_units=())


def test_first_layer_filters_are_rgb_tiles_centered_on_gray(small_cnn):
    tiles = first_layer_filters(small_cnn)
    kernel = np.asarray(small_cnn.get_layer("block1_conv1").kernel)  # [3,3,3,4]
    assert tiles.shape == (4, 3, 3, 3) and tiles.dtype == np.float32
    expected = 0.5 + kernel.transpose(3, 0, 1, 2) / (2 * np.abs(kernel).max())
    np.testing.assert_allclose(tiles, expected, atol=1e-6)
    assert tiles.min() >= 0.0 and tiles.max() <= 1.0
    per_filter = first_layer_filters(small_cnn, normalize="filter")
    np.testing.assert_allclose(
        np.abs(per_filter - 0.5).max(axis=(1, 2, 3)), 0.5, atol=1e-6
    )
    with pytest.raises(ValueError, match="normalize"):
        first_layer_filters(small_cnn, normalize="none")


def test_gray_input_gives_one_channel_tiles():
    model = build_bipyramidal_cnn((8, 8, 1), 2, filters=(3,))
    assert first_layer_filters(model).shape == (3, 3, 3, 1)


def test_layer_kernels_per_input_channel(small_cnn):
    kernels = layer_kernels(small_cnn, "block2_conv1")
    raw = np.asarray(small_cnn.get_layer("block2_conv1").kernel)  # [3,3,4,8]
    assert kernels.shape == (8, 4, 3, 3)
    np.testing.assert_array_equal(kernels[5, 2], raw[:, :, 2, 5])
    with pytest.raises(ValueError, match="1 or 3"):
        first_layer_filters(small_cnn, layer="block2_conv1")
    with pytest.raises(ValueError, match="Dense, not a 2-D convolution"):
        layer_kernels(small_cnn, "predictions")


def test_kernels_inside_a_nested_backbone(transfer_model):
    tiles = first_layer_filters(transfer_model)  # MobileNetV2's Conv1, found inside
    assert tiles.shape == (32, 3, 3, 3)
    depthwise = layer_kernels(transfer_model, "expanded_conv_depthwise")
    assert depthwise.shape == (32, 1, 3, 3)


def test_activation_maximization_raises_the_activation(small_cnn, assert_unchanged):
    channels = list(range(8))
    with assert_unchanged(small_cnn):
        images = activation_maximization(
            small_cnn, "block2_act2", channels, steps=48, seed=1
        )
    assert images.shape == (8, 16, 16, 3) and images.dtype == np.uint8
    after = feature_maps(small_cnn, images.astype("float32"), "block2_act2")
    gray = np.full((1, 16, 16, 3), 127.5, dtype="float32")
    before = feature_maps(small_cnn, gray, "block2_act2")[0].mean(axis=(0, 1))
    achieved = after.mean(axis=(1, 2))[channels, channels]
    # A ReLU channel that is dead everywhere has no gradient to climb; every
    # channel alive at the start must end higher than on a gray image.
    alive = before > 0
    assert alive.sum() >= 4
    assert (achieved[alive] > before[alive]).all(), (achieved, before)
    again = activation_maximization(
        small_cnn, "block2_act2", channels, steps=48, seed=1
    )
    np.testing.assert_array_equal(images, again)


def test_activation_maximization_of_a_class_logit(small_cnn):
    import tensorflow as tf

    from kerasvision.visualization._gradients import split_at_layer

    images = activation_maximization(small_cnn, "predictions", 2, steps=32)
    assert images.shape == (1, 16, 16, 3)
    batch = np.concatenate([images, np.full_like(images, 128)]).astype("float32")
    _, logits = split_at_layer(small_cnn)(tf.constant(batch))
    assert logits[0, 2] > logits[1, 2]  # the class logit, not its softmax share


def test_activation_maximization_inside_a_backbone(transfer_model):
    images = activation_maximization(
        transfer_model, "block_2_expand_relu", [1], steps=2, jitter=0, blur=0
    )
    assert images.shape == (1, 64, 64, 3)


def test_activation_maximization_rejects_bad_arguments(small_cnn):
    with pytest.raises(ValueError, match=r"filters must be in \[0, 7\]"):
        activation_maximization(small_cnn, "block2_act2", [8], steps=1)
    with pytest.raises(ValueError, match="image_size"):
        activation_maximization(small_cnn, "block2_act2", 0, image_size=32)
    with pytest.raises(ValueError, match="steps"):
        activation_maximization(small_cnn, "block2_act2", 0, steps=0)
    with pytest.raises(ValueError, match="no layer"):
        activation_maximization(small_cnn, "block9_act1", 0)


def test_plots(tmp_path, small_cnn):
    tiles = plot_filters(first_layer_filters(small_cnn), str(tmp_path / "tiles.png"))
    kernels = plot_filters(
        layer_kernels(small_cnn, "block2_conv1"),
        str(tmp_path / "kernels.png"),
        per_channel=True,
        title="block2_conv1",
    )
    images = np.random.default_rng(0).integers(0, 255, (3, 16, 16, 3), dtype="uint8")
    grid = plot_activation_maximization(
        images, str(tmp_path / "am.png"), labels=["a", "b", "c"]
    )
    for path in (tiles, kernels, grid):
        assert os.path.getsize(path) > 1000
    with pytest.raises(ValueError, match="per_channel"):
        plot_filters(np.zeros((4, 3, 3, 2)), str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match="4-D"):
        plot_filters(np.zeros((4, 3, 3)), str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match="labels"):
        plot_activation_maximization(images, str(tmp_path / "x.png"), labels=["a"])
