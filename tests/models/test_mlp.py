"""kerasvision.models.mlp: the dense baseline and its head."""

import numpy as np
import pytest
from helpers import assert_keras_round_trip

from kerasvision.models import build_model
from kerasvision.models.mlp import build_mlp


def test_mlp_layers_parameters_and_round_trip(tmp_path):
    model = build_model("mlp", (8, 8, 1), 10)
    names = [layer.name for layer in model.layers]
    assert names == [
        "image", "rescaling", "flatten", "fc1", "fc2", "dropout", "predictions"
    ]  # fmt: skip
    assert model.count_params() == (64 * 256 + 256) + (256 * 128 + 128) + 1290
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 1)).astype("float32")
    model.train_on_batch(x, np.array([0, 1, 2, 3]))
    assert_keras_round_trip(model, str(tmp_path / "mlp.keras"), x)


def test_mlp_binary_head_and_errors():
    model = build_mlp((4, 4, 3), 2, dense_units=(8,), dropout_rate=0.0)
    assert model.output_shape == (None, 1)
    assert "dropout" not in [layer.name for layer in model.layers]
    with pytest.raises(ValueError, match="dense_units"):
        build_mlp((4, 4, 3), 3, dense_units=())
    with pytest.raises(ValueError, match="activation"):
        build_mlp((4, 4, 3), 3, activation="nope")
