"""kerasvision.models.normalization: `--norm instance` beside batch/layer/group."""

import keras
import numpy as np
import pytest
from helpers import assert_keras_round_trip

from kerasvision._choices import NORMALIZATIONS
from kerasvision.models import build_model
from kerasvision.models.cnn import build_bipyramidal_cnn, build_lenet5
from kerasvision.models.normalization import NORM_SUFFIXES, normalization_layer


def test_instance_norm_standardizes_each_channel_of_each_image():
    assert "instance" in NORMALIZATIONS and set(NORM_SUFFIXES) == set(
        NORMALIZATIONS[:-1]
    )
    layer = normalization_layer("instance", 3, name="conv1_in")
    rng = np.random.default_rng(0)
    # Channels and images on very different scales and offsets.
    images = rng.normal(size=(4, 6, 6, 3)) * [1.0, 10.0, 100.0] + [0.0, 5.0, -50.0]
    images[1] *= 7.0
    outputs = np.asarray(layer(images.astype("float32")))
    np.testing.assert_allclose(outputs.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(outputs.std(axis=(1, 2)), 1.0, atol=1e-3)
    # Per image: the same output alone as in a batch, in training and inference.
    alone = np.asarray(layer(images[1:2].astype("float32"), training=True))
    np.testing.assert_allclose(alone, outputs[1:2], atol=1e-5)
    assert layer.groups == 3 and layer.weights[0].shape == (3,)


def test_instance_norm_in_the_builders(tmp_path):
    model = build_bipyramidal_cnn((8, 8, 1), 3, filters=(4, 8), norm="instance")
    layer = model.get_layer("block2_in1")
    assert isinstance(layer, keras.layers.GroupNormalization)
    assert layer.groups == 8
    assert not model.get_layer("block1_conv1").use_bias
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 1)).astype("float32")
    assert_keras_round_trip(model, str(tmp_path / "m.keras"), images)
    # Plain Keras loads it (a built-in layer, no kerasvision import needed).
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.get_layer("block2_in1").groups == 8
    assert build_lenet5((32, 32, 1), 3, norm="instance").get_layer("c1_in")
    resnet = build_model("resnet20", (8, 8, 1), 3, norm="instance")
    assert resnet.get_layer("conv2_block1_conv1_in").groups == 16
    assert resnet.get_layer("conv3_block1_shortcut_in")


def test_unknown_norm_names_the_choices():
    with pytest.raises(ValueError, match="instance"):
        normalization_layer("weight", 4, name="x")
