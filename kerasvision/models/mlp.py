"""The multilayer perceptron baseline: no convolution, no weight sharing."""

from __future__ import annotations

import keras
from keras import layers

from kerasvision._choices import ACTIVATIONS
from kerasvision.models.heads import (
    apply_classifier_head,
    as_tuple,
    check_input_shape,
    make_regularizer,
)

__all__ = ["build_mlp"]


def build_mlp(
    input_shape,
    num_classes: int,
    *,
    dense_units=(256, 128),
    activation: str = "relu",
    dropout_rate: float = 0.3,
    l1: float = 0.0,
    l2: float = 0.0,
    kernel_initializer="he_uniform",
    classifier_activation: str | None = None,
    name: str = "mlp",
):
    """A multilayer perceptron on the flattened pixels.

    `rescaling` -> `flatten` -> dense layers `fc1..fcN` -> `dropout` ->
    `predictions`: the head of every kerasvision classifier with `pooling=
    "flatten"` and no convolutional part. Every pixel has its own weights, so
    the parameters grow with the image size and a shifted digit looks like a
    different input (compare with a CNN in `apps/first_cnn_digits.py`).

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        dense_units: Hidden layer widths, at least one. Defaults to (256, 128).
        activation: Hidden activation, one of `ACTIVATIONS`. Defaults to "relu".
        dropout_rate: Dropout before the output layer. Defaults to 0.3.
        l1: L1 kernel regularization factor. Defaults to 0.0.
        l2: L2 kernel regularization factor. Defaults to 0.0.
        kernel_initializer: Keras initializer name or instance. Defaults to
            "he_uniform".
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name. Defaults to "mlp".

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an invalid argument.

    Example:
        >>> build_mlp((8, 8, 1), 10).count_params()  # 64*256+256 + 256*128+128 + 1290
        50826
    """
    shape = check_input_shape(input_shape, model_name=name)
    units = as_tuple(dense_units, "dense_units")
    if not units or any(int(u) < 1 for u in units):
        raise ValueError(f"dense_units must be positive integers, got {dense_units!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    outputs = apply_classifier_head(
        x,
        num_classes,
        pooling="flatten",
        dense_units=units,
        activation=activation,
        dropout_rate=dropout_rate,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=make_regularizer(l1, l2),
        classifier_activation=classifier_activation,
    )
    return keras.Model(inputs, outputs, name=name)
