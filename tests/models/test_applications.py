"""keras.applications families as scratch registry models (`fit --model`)."""

import numpy as np
import pytest

from kerasvision.models import MODELS, build_model, list_models
from kerasvision.models.applications import APPLICATION_PREFIX
from kerasvision.models.backbones import BACKBONES

NAMES = list_models(f"{APPLICATION_PREFIX}*")
# Entries under 10M parameters run by default, one test each; the big ones build
# for seconds each and run together in one --run-slow test.
SMALL = [
    name
    for name in NAMES
    if BACKBONES[name.removeprefix(APPLICATION_PREFIX)].params <= 10_000_000
]
LARGE = [name for name in NAMES if name not in SMALL]


def test_every_backbone_is_a_scratch_model():
    assert {f"{APPLICATION_PREFIX}{name}" for name in BACKBONES} == set(NAMES)
    assert {"keras_xception", "keras_inception_v3", "keras_efficientnet_b0"} <= set(
        NAMES
    )


@pytest.mark.parametrize("name", SMALL)
def test_application_builds_from_scratch_on_grayscale(name):
    _check_builds_from_scratch(name)


@pytest.mark.slow
def test_large_applications_build_from_scratch_on_grayscale():
    for name in LARGE:
        _check_builds_from_scratch(name)


def _check_builds_from_scratch(name):
    import keras

    keras.backend.clear_session(free_memory=False)
    spec = MODELS[name]
    backbone = BACKBONES[spec.defaults["architecture"]]
    size = spec.min_size
    model = build_model(name, (size, size, 1), 3)
    head = model.get_layer("predictions").count_params()
    assert model.count_params() == backbone.params + head
    assert all(layer.trainable for layer in model.layers)  # nothing frozen
    if spec.feature_layer:
        assert len(model.get_layer(spec.feature_layer).output.shape) == 4
    pixels = np.random.default_rng(0).uniform(0, 255, (2, size, size, 1))
    # Eager: a predict graph of a large application costs more than building it.
    assert np.all(np.isfinite(np.asarray(model(pixels.astype("float32")))))


def test_application_refuses_four_channels():
    with pytest.raises(ValueError, match="1 or 3 channels"):
        build_model("keras_mobilenet_v2", (32, 32, 4), 3)
