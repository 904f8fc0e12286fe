"""kerasvision.layers.drop_path.FractalJoin: FractalNet's local drop-path join."""

import keras
import numpy as np
import pytest
from helpers import assert_layer_config_round_trip

from kerasvision.layers.drop_path import FractalJoin


def test_fractal_join_drops_paths_only_while_training(tmp_path):
    join = FractalJoin(0.5, seed=3, name="join")
    assert_layer_config_round_trip(join)
    ones, zeros = np.ones((64, 2, 2, 1), "float32"), np.zeros((64, 2, 2, 1), "float32")
    np.testing.assert_allclose(join([ones, zeros]), 0.5)  # inference: the mean
    trained = np.asarray(join([ones, zeros], training=True))[:, 0, 0, 0]
    # Each image keeps both paths (0.5), only the ones (1) or only the zeros (0),
    # never none of them.
    assert set(np.round(trained, 4)) <= {0.0, 0.5, 1.0}
    assert len(set(np.round(trained, 4))) == 3
    inputs = [keras.Input((2, 2, 1)), keras.Input((2, 2, 1))]
    model = keras.Model(inputs, FractalJoin(0.2, name="join")(inputs))
    model.save(tmp_path / "join.keras")
    loaded = keras.saving.load_model(tmp_path / "join.keras")
    assert loaded.get_layer("join").drop_rate == 0.2


def test_fractal_join_rejects_a_bad_rate():
    with pytest.raises(ValueError, match="drop_rate"):
        FractalJoin(1.0)
