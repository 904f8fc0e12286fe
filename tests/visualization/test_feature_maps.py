"""Feature maps of any named layer: top level, nested backbones, name lookup."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
from keras import layers

from kerasvision.models.cnn import build_bipyramidal_cnn
from kerasvision.visualization import feature_maps, list_layer_names, plot_feature_maps


def test_top_level_layer_matches_a_keras_submodel():
    model = build_bipyramidal_cnn(
        (16, 16, 3), 3, filters=(4, 8), dense_units=(), dropout_rate=0.5
    )
    images = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 3))
    expected = keras.Model(model.inputs, model.get_layer("block1_act2").output)
    maps = feature_maps(model, images, "block1_act2")
    assert maps.shape == (3, 16, 16, 4) and maps.dtype == np.float32
    np.testing.assert_allclose(maps, expected.predict(images, verbose=0), atol=1e-5)
    # Inference mode: dropout is off, so the pooled features are deterministic.
    pooled = feature_maps(model, images, "dropout")
    np.testing.assert_allclose(pooled, feature_maps(model, images, "avg_pool"))


def test_layers_inside_a_nested_backbone(transfer_model, transfer_images):
    backbone = transfer_model.get_layer("mobilenetv2_1.00_64")
    preprocessed = transfer_model.get_layer("preprocess")(transfer_images)
    output = feature_maps(transfer_model, transfer_images, "out_relu")
    np.testing.assert_allclose(
        output, backbone(preprocessed, training=False).numpy(), atol=1e-4
    )
    qualified = feature_maps(
        transfer_model, transfer_images, "mobilenetv2_1.00_64/out_relu"
    )
    np.testing.assert_array_equal(output, qualified)
    inner = keras.Model(
        backbone.inputs, backbone.get_layer("block_3_expand_relu").output
    )
    np.testing.assert_allclose(
        feature_maps(transfer_model, transfer_images, "block_3_expand_relu"),
        inner(preprocessed, training=False).numpy(),
        atol=1e-4,
    )
    names = list_layer_names(transfer_model)
    assert "mobilenetv2_1.00_64/out_relu" in names and "avg_pool" in names


def test_nested_lookup_leaves_the_model_unchanged(
    transfer_model, transfer_images, assert_unchanged
):
    with assert_unchanged(transfer_model):
        feature_maps(transfer_model, transfer_images, "Conv1")
        feature_maps(transfer_model, transfer_images, "predictions")


def _two_branch_model():
    def branch(name):
        inputs = keras.Input((8, 8, 3))
        x = layers.Conv2D(2, 3, padding="same", name="conv")(inputs)
        return keras.Model(inputs, x, name=name)

    inputs = keras.Input((8, 8, 3))
    merged = layers.Add(name="add")([branch("left")(inputs), branch("right")(inputs)])
    x = layers.GlobalAveragePooling2D(name="avg_pool")(merged)
    outputs = layers.Dense(2, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="two_branches")


def test_ambiguous_names_need_the_qualified_form():
    model = _two_branch_model()
    images = np.ones((1, 8, 8, 3), dtype="float32")
    with pytest.raises(ValueError, match="ambiguous.*left/conv, right/conv"):
        feature_maps(model, images, "conv")
    left = feature_maps(model, images, "left/conv")
    right = feature_maps(model, images, "right/conv")
    assert left.shape == right.shape == (1, 8, 8, 2)
    assert not np.allclose(left, right)
    # One more level of nesting: the qualified name may skip the outer wrapper.
    inputs = keras.Input((8, 8, 3))
    wrapper = keras.Model(inputs, model(inputs), name="wrapper")
    np.testing.assert_allclose(feature_maps(wrapper, images, "left/conv"), left)
    np.testing.assert_allclose(
        feature_maps(wrapper, images, "two_branches/right/conv"), right
    )


def test_unknown_and_shared_layers():
    model = build_bipyramidal_cnn((16, 16, 3), 3, filters=(4,))
    images = np.zeros((1, 16, 16, 3))
    with pytest.raises(ValueError, match="no layer 'block1_conv'.*block1_conv1"):
        feature_maps(model, images, "block1_conv")
    shared = layers.Conv2D(3, 1, name="shared")
    inputs = keras.Input((4, 4, 3))
    twice = keras.Model(inputs, shared(shared(inputs)), name="twice")
    with pytest.raises(ValueError, match="ran 2 times"):
        feature_maps(twice, np.zeros((1, 4, 4, 3)), "shared")


def test_sequential_models():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(2, 3, activation="relu", name="conv"),
            layers.Flatten(name="flatten"),
            layers.Dense(2, activation="softmax", name="predictions"),
        ],
        name="plain",
    )
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 1))
    expected = keras.Model(model.inputs, model.get_layer("conv").output)
    np.testing.assert_allclose(
        feature_maps(model, images, "conv"),
        expected.predict(images, verbose=0),
        atol=1e-5,
    )


def test_plot_feature_maps(tmp_path):
    maps = np.random.default_rng(0).uniform(size=(1, 6, 6, 5)).astype("float32")
    image = np.zeros((12, 12, 3))
    path = plot_feature_maps(maps, str(tmp_path / "maps.png"), image=image, columns=3)
    assert os.path.getsize(path) > 1000
    plot_feature_maps(maps[0], str(tmp_path / "index.png"), order="index")
    with pytest.raises(ValueError, match="feature maps must be"):
        plot_feature_maps(maps[0, 0], str(tmp_path / "bad.png"))
    with pytest.raises(ValueError, match="order"):
        plot_feature_maps(maps, str(tmp_path / "bad.png"), order="random")
