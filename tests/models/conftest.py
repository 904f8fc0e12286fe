"""Fixtures of the model tests: the digits at a model's size, trained briefly."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def digits_images():
    """`images(size)`: 40 real digits (4 per class) as raw pixels at size x size,
    and their labels."""
    import keras
    from helpers import small_digits

    x, y, _ = small_digits(per_class=4)
    cache = {}

    def images(size):
        if size not in cache:
            resized = keras.ops.image.resize(x.astype("float32"), (size, size))
            cache[size] = np.clip(np.asarray(resized), 0, 255), y
        return cache[size]

    return images


@pytest.fixture
def train_one_epoch(digits_images):
    """`train(model)`: one epoch (eager, one batch of 40) on the digits at the
    model's size; returns the loss and checks that the weights moved and that
    the trained model predicts probabilities."""
    import keras

    def train(model):
        size = model.input_shape[1]
        x, y = digits_images(size)
        model.compile(
            optimizer="adam",
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            run_eagerly=True,
        )
        kernel = model.get_layer("predictions").kernel
        before = keras.ops.convert_to_numpy(kernel).copy()
        history = model.fit(x, y, epochs=1, batch_size=40, verbose=0)
        assert not np.allclose(before, keras.ops.convert_to_numpy(kernel))
        loss = history.history["loss"][0]
        assert np.isfinite(loss)
        probabilities = np.asarray(model(x[:4], training=False))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
        return loss

    return train
