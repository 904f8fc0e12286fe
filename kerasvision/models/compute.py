"""Compute of a built model: multiply-accumulate operations per image."""

from __future__ import annotations

import math

import keras
from keras import layers

__all__ = [
    "count_multiply_adds",
]


def _iter_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and isinstance(layer, keras.Model):
            yield from _iter_layers(layer)
        else:
            yield layer


def count_multiply_adds(model) -> int:
    """Multiply-accumulate operations of one forward pass for one image.

    Counts `Conv2D`, `DepthwiseConv2D`, `SeparableConv2D`, `Conv2DTranspose` and
    `Dense` layers (nested models included) from their kernel shapes and output
    shapes: a convolution costs `out_h * out_w * k_h * k_w * C_in / groups *
    C_out`, a depthwise one `out_h * out_w * k_h * k_w * C_in * multiplier`, a
    dense layer `inputs * units` per position. Biases, batch normalization,
    activations and pooling are ignored, as in the papers' tables. Each layer is
    counted once, at its output shape (shared layers are not multiplied).

    Args:
        model: A built Keras model with known spatial dimensions.

    Returns:
        The number of multiply-adds per image.

    Raises:
        ValueError: If a counted layer has an unknown spatial dimension.

    Example:
        >>> inputs = keras.Input((8, 8, 3))
        >>> outputs = keras.layers.Conv2D(4, 3, padding="same")(inputs)
        >>> count_multiply_adds(keras.Model(inputs, outputs))  # 8*8 * 3*3*3 * 4
        6912
    """
    total = 0
    for layer in _iter_layers(model):
        if not isinstance(
            layer,
            (
                layers.Conv2D,
                layers.DepthwiseConv2D,
                layers.SeparableConv2D,
                layers.Conv2DTranspose,
                layers.Dense,
            ),
        ):
            continue
        output_shape = tuple(layer.output.shape[1:])
        if any(dim is None for dim in output_shape):
            raise ValueError(
                f"layer {layer.name!r} has an unknown output shape {output_shape}; "
                "build the model with a fixed input size"
            )
        positions = math.prod(output_shape[:-1])
        if isinstance(layer, layers.SeparableConv2D):
            depthwise = math.prod(layer.depthwise_kernel.shape)
            pointwise = math.prod(layer.pointwise_kernel.shape)
            total += positions * (depthwise + pointwise)
        elif isinstance(layer, layers.Conv2DTranspose):
            # Every input pixel scatters a full kernel onto the output.
            input_positions = math.prod(tuple(layer.input.shape[1:-1]))
            total += input_positions * math.prod(layer.kernel.shape)
        else:
            # Conv2D kernel (k_h, k_w, C_in / groups, C_out); depthwise
            # (k_h, k_w, C_in, multiplier); dense (inputs, units).
            total += positions * math.prod(layer.kernel.shape)
    return int(total)
