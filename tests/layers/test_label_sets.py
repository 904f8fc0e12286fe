"""kerasvision.layers.label_sets: per-label temperatures, decisions and the
positive-weighted loss, each saved and loaded."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import assert_keras_round_trip, assert_layer_config_round_trip

from kerasvision.layers.label_sets import (
    LabelDecisions,
    LabelTemperatureScaling,
    LabelWeightedBinaryCrossentropy,
)
from kerasvision.models.heads import classifier_units, serving_model


def _sigmoid_model(units=3):
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(units, activation="sigmoid", name="predictions")(
        inputs
    )
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    "layer",
    [LabelTemperatureScaling([2.0, 1.0, 0.5]), LabelDecisions([0.5, 0.25, 0.9])],
    ids=["temperatures", "decisions"],
)
def test_layers_round_trip(layer, tmp_path):
    assert_layer_config_round_trip(layer)
    model = _sigmoid_model()
    wrapped = keras.Model(model.input, layer(model.output))
    inputs = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    assert_keras_round_trip(wrapped, str(tmp_path / "m.keras"), inputs)


def test_decisions_compare_in_float32():
    probabilities = np.array([[0.5, 0.2, 0.9]], dtype="float32")
    decided = LabelDecisions([0.5, 0.3, 0.95])(probabilities)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(decided), [[1, 0, 0]])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        LabelDecisions([1.5])


def test_weighted_loss_is_binary_cross_entropy_with_unit_weights():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (6, 3)).astype("float32")
    p = rng.uniform(0.05, 0.95, (6, 3)).astype("float32")
    plain = keras.losses.BinaryCrossentropy(label_smoothing=0.1)(y, p)
    ours = LabelWeightedBinaryCrossentropy([1.0] * 3, label_smoothing=0.1)(y, p)
    assert float(ours) == pytest.approx(float(plain), rel=1e-5)
    heavier = LabelWeightedBinaryCrossentropy([4.0, 1.0, 1.0])(y, p)
    assert float(heavier) > float(LabelWeightedBinaryCrossentropy([1.0] * 3)(y, p))
    config = LabelWeightedBinaryCrossentropy([4.0, 1.0, 1.0]).get_config()
    restored = LabelWeightedBinaryCrossentropy.from_config(config)
    assert float(restored(y, p)) == pytest.approx(float(heavier))


def test_a_multilabel_head_and_its_per_label_temperatures():
    assert classifier_units(4, "multilabel") == (4, "sigmoid")
    model = _sigmoid_model()
    inputs = np.random.default_rng(1).normal(size=(4, 4)).astype("float32")
    served = serving_model(model, temperature=[2.0, 1.0, 1.0])
    assert served.get_layer("temperature").temperatures == [2.0, 1.0, 1.0]
    expected = model.predict(inputs, verbose=0)[:, 1:]
    np.testing.assert_allclose(served.predict(inputs, verbose=0)[:, 1:], expected)
    assert serving_model(model, temperature=[1.0, 1.0, 1.0]) is model
