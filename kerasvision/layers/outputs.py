"""Layers on classifier outputs."""

from __future__ import annotations

import keras

__all__ = ["BinaryToCategorical"]


@keras.saving.register_keras_serializable(package="kerasvision")
class BinaryToCategorical(keras.layers.Layer):
    """One sigmoid probability `[N, 1]` -> two class probabilities `[N, 2]`.

    Args:
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> BinaryToCategorical()(np.array([[0.8]]))  # [[0.2, 0.8]]
    """

    def call(self, inputs):
        return keras.ops.concatenate([1.0 - inputs, inputs], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2)

    def get_config(self):
        return super().get_config()
