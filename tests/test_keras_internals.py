"""The private Keras/TF internals kerasvision relies on (kerasvision._keras_internals).

Each test fails when an upgrade removes the internal (the workaround must be
rewritten) and the "still needed" tests fail when upstream fixes the problem
(the workaround can go).
"""

import keras
import numpy as np
import tensorflow as tf

from kerasvision._keras_internals import (
    build_for_strategy,
    op_determinism,
    op_determinism_enabled,
)


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _dataset():
    x = np.arange(24, dtype="float32").reshape(8, 3)
    return tf.data.Dataset.from_tensor_slices((x, x[:, :2])).batch(4)


def test_the_private_model_hooks_still_exist():
    model = _model()
    assert callable(getattr(model, "_symbolic_build", None))
    assert hasattr(model, "_distribute_strategy")
    strategy = tf.distribute.get_strategy()
    build_for_strategy(model, _dataset(), strategy)
    assert model.optimizer.built and model._distribute_strategy is None


def test_keras_20585_fit_still_pulls_an_extra_batch_under_a_strategy():
    """keras-team/keras#20585: a model created under a strategy scope pulls one
    batch through a new iterator before training (what build_for_strategy
    avoids). When this stops being true, drop the workaround."""
    pulled = []

    def count(x, y):
        tf.py_function(lambda: pulled.append(1) or 0, [], tf.int32)
        return x, y

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = _model()
    dataset = _dataset().map(count)
    model.fit(dataset, epochs=1, verbose=0)
    assert len(pulled) > 2  # 2 batches per epoch, plus the extra pull


def test_op_determinism_is_restored_and_has_no_public_inverse():
    assert not hasattr(tf.config.experimental, "disable_op_determinism")
    before = op_determinism_enabled()
    with op_determinism(True):
        assert op_determinism_enabled()
        with op_determinism(False):
            assert not op_determinism_enabled()
        assert op_determinism_enabled()
    assert op_determinism_enabled() == before
