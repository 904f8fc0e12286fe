"""Fixtures shared by the visualization tests: a trained "bright patch" CNN, a
transfer model with a nested MobileNetV2, and a model-unchanged check."""

from __future__ import annotations

import numpy as np
import pytest

PATCH = 4  # side of the bright square
SIZE = 16  # image side; the patch box is 1/16 of the image


def make_patch_images(count, rng):
    """Class 1: a bright 4x4 patch somewhere in the top-left quadrant; class 0:
    no patch. Backgrounds are dim uniform noise (0-60).

    Returns `(images [N, 16, 16, 1] float32, labels [N], boxes [N, 2])` where a
    box is the patch's top-left corner (-1 for class 0).
    """
    images = rng.uniform(0, 60, (count, SIZE, SIZE, 1)).astype("float32")
    labels = np.arange(count) % 2
    boxes = np.full((count, 2), -1)
    for index in np.flatnonzero(labels == 1):
        row, col = rng.integers(0, SIZE // 2 - PATCH + 1, 2)
        images[index, row : row + PATCH, col : col + PATCH] = rng.uniform(200, 255)
        boxes[index] = (row, col)
    return images, labels.astype("int64"), boxes


def _box_mask(box, *, dilate=0):
    row, col = box
    mask = np.zeros((SIZE, SIZE), bool)
    mask[
        max(0, row - dilate) : row + PATCH + dilate,
        max(0, col - dilate) : col + PATCH + dilate,
    ] = True
    return mask


@pytest.fixture
def box_mask():
    """`box_mask(box, dilate=0)`: boolean [16, 16] mask of a patch box grown by
    `dilate` pixels."""
    return _box_mask


@pytest.fixture(scope="session")
def patch_task():
    """A tiny CNN trained (about 2 s) until it tells patch from no patch.

    The lectures' bipyramidal CNN with a global-average-pooling head (so the
    class evidence must come from where the patch is, not from a position
    code), 2 classes -> one sigmoid unit (exercises the binary logit path).
    """
    import keras

    from kerasvision.models.cnn import build_bipyramidal_cnn

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x_train, y_train, _ = make_patch_images(400, rng)
    x_test, y_test, boxes = make_patch_images(32, rng)
    model = build_bipyramidal_cnn(
        (SIZE, SIZE, 1),
        2,
        filters=(8, 16),
        convs_per_block=1,
        dense_units=(),
        dropout_rate=0.0,
        name="patch_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=6, batch_size=32, verbose=0)
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    assert accuracy == 1.0, "the patch task must be learned for the sanity checks"
    positive = y_test == 1
    return {
        "model": model,
        "images": x_test[positive],
        "boxes": boxes[positive],
        "all_images": x_test,
    }


def _build_transfer_model(size=64, num_classes=3):
    """Raw pixels -> rescaling -> MobileNetV2 (nested, weights=None) -> head."""
    import keras
    from keras import layers

    backbone = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(size, size, 3)
    )
    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1, name="preprocess")(inputs)
    x = backbone(x, training=False)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mobilenet_v2_transfer")


@pytest.fixture(scope="session")
def transfer_model():
    """64x64 so that MobileNetV2's `out_relu` is 2x2 (>= 2x2: a CAM target)."""
    import keras

    keras.utils.set_random_seed(0)
    model = _build_transfer_model()
    model.get_layer("mobilenetv2_1.00_64").trainable = False  # as when frozen
    return model


@pytest.fixture
def build_transfer_model():
    """`build_transfer_model(size=64, num_classes=3)`: a fresh transfer model."""
    return _build_transfer_model


@pytest.fixture
def transfer_images():
    return np.random.default_rng(1).uniform(0, 255, (2, 64, 64, 3)).astype("float32")


def _walk(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _walk(layer)


def model_state(model):
    """Everything a visualizer must leave alone: layers, weights, flags, graph."""
    layers = list(_walk(model))
    return {
        "layer_count": len(model.layers),
        "all_layers": [layer.name for layer in layers],
        "trainable": [layer.trainable for layer in layers],
        "nodes": [len(layer._inbound_nodes) for layer in layers],
        "weights": [np.array(w) for w in model.weights],
        "trainable_weights": len(model.trainable_weights),
    }


@pytest.fixture
def assert_unchanged():
    """`with assert_unchanged(model): ...` fails if the block modified the model."""
    import contextlib

    @contextlib.contextmanager
    def check(model):
        before = model_state(model)
        yield
        after = model_state(model)
        for key in ("layer_count", "all_layers", "trainable", "nodes"):
            assert after[key] == before[key], key
        assert after["trainable_weights"] == before["trainable_weights"]
        assert len(after["weights"]) == len(before["weights"])
        for old, new in zip(before["weights"], after["weights"], strict=True):
            np.testing.assert_array_equal(old, new)

    return check
