"""Every keras.applications backbone in the registry: builds, sizes, preprocessing."""

import importlib

import keras
import numpy as np
import pytest

from kerasvision.layers import ImagenetPreprocessing
from kerasvision.models.backbones import BACKBONES, get_backbone_spec, list_backbones
from kerasvision.models.transfer import build_transfer_classifier, get_backbone

NAMES = list_backbones()
# Every entry is tested; the largest (> 40M parameters) take most of the build
# time, so they run with --run-slow to keep the default suite within its budget.
PARAMS = [
    pytest.param(name, marks=pytest.mark.slow)
    if BACKBONES[name].params > 40_000_000
    else name
    for name in NAMES
]


@pytest.mark.parametrize("name", PARAMS, ids=NAMES)
def test_backbone_builds_with_preprocessing_inside(name):
    spec = BACKBONES[name]
    size = spec.min_size
    model = build_transfer_classifier(
        name, 3, weights=None, input_shape=(size, size, 3)
    )
    backbone = get_backbone(model)
    assert backbone.count_params() == spec.params
    assert model.output_shape == (None, 3)
    assert backbone.output.shape[1] >= 1 and len(backbone.output.shape) == 4
    feature = spec.feature_layer or backbone.layers[-1].name
    assert len(backbone.get_layer(feature).output.shape) == 4
    assert all(not w.trainable for w in backbone.weights)  # frozen by default

    # The family's preprocessing is applied exactly once, inside the model.
    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 255, (2, size, size, 3)).astype("float32")
    reference = importlib.import_module(f"keras.applications.{spec.module}")
    expected = np.asarray(reference.preprocess_input(pixels.copy()))
    names = [layer.name for layer in model.layers]
    if spec.preprocessing is None:
        assert "preprocessing" not in names
        np.testing.assert_allclose(expected, pixels)  # the model itself includes it
    else:
        layer = model.get_layer("preprocessing")
        np.testing.assert_allclose(
            np.asarray(layer(pixels)), expected, rtol=1e-5, atol=1e-4
        )
    # Eager: tracing a predict graph of the largest backbones costs more than
    # building them; graph mode is covered by the transfer and export tests.
    predictions = np.asarray(model(pixels, training=False))
    assert predictions.shape == (2, 3) and np.all(np.isfinite(predictions))


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_preprocessing_layer_round_trips(mode, tmp_path):
    from helpers import assert_keras_round_trip, assert_layer_config_round_trip

    layer = ImagenetPreprocessing(mode, name="preprocessing")
    assert_layer_config_round_trip(layer)
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, layer(inputs))
    x = np.random.default_rng(1).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    assert_keras_round_trip(model, str(tmp_path / "p.keras"), x)


def test_registry_lookup_by_keras_name_and_errors():
    assert get_backbone_spec("MobileNetV2")[0] == "mobilenet_v2"
    assert get_backbone_spec("ResNet50V2")[0] == "resnet50_v2"
    with pytest.raises(ValueError, match="unknown backbone 'resnet9'"):
        get_backbone_spec("resnet9")
    with pytest.raises(ValueError, match="mode"):
        ImagenetPreprocessing("bgr")


def test_backbone_size_checks():
    with pytest.raises(ValueError, match="too small for inception_v3"):
        build_transfer_classifier(
            "inception_v3", 3, weights=None, input_shape=(64, 64, 3)
        )
    with pytest.raises(ValueError, match="3-channel"):
        build_transfer_classifier(
            "mobilenet_v2", 3, weights=None, input_shape=(32, 32, 1)
        )
    with pytest.raises(ValueError, match="need 224x224"):
        build_transfer_classifier(
            "nasnet_mobile", 3, weights="imagenet", input_shape=(96, 96, 3)
        )
