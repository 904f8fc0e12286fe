"""Tests for `kerasvision.teaching.shapes`: output sizes, receptive fields vs Keras."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasvision.teaching.parameters import (
    conv2d_params,
)
from kerasvision.teaching.shapes import (
    conv_output_shape,
    conv_output_size,
    effective_kernel_size,
    pool_output_shape,
    receptive_field,
    same_padding,
    stacked_receptive_field,
)


def _keras_output_shape(layers, input_shape) -> tuple[int, ...]:
    x = keras.Input(shape=input_shape)
    for layer in layers:
        x = layer(x)
    return tuple(x.shape[1:])


# === 224x224x3 with 32 3x3 filters ===


def test_lecture_rgb_conv_output_shape_and_params():
    conv = keras.layers.Conv2D(32, 3)
    bias_free_conv = keras.layers.Conv2D(32, 3, use_bias=False)

    keras_shape = _keras_output_shape([conv], (224, 224, 3))
    _keras_output_shape([bias_free_conv], (224, 224, 3))

    assert conv_output_shape((224, 224, 3), 32, 3) == (222, 222, 32) == keras_shape
    assert conv2d_params(3, 3, 32) == 896 == conv.count_params()
    assert conv2d_params(3, 3, 32, use_bias=False) == 864
    assert bias_free_conv.count_params() == 864


@pytest.mark.parametrize(
    ("size", "kernel_size", "strides", "padding", "dilation_rate", "expected"),
    [
        (224, 3, 1, "valid", 1, 222),
        (224, 7, 2, "same", 1, 112),
        (224, 7, 2, "valid", 1, 109),
        (28, 5, 1, "same", 1, 28),
        (13, 3, 2, "valid", 1, 6),
        (10, 3, 1, "valid", 2, 6),
        (9, 4, 3, "same", 1, 3),
    ],
)
def test_conv_output_size_matches_keras(
    size, kernel_size, strides, padding, dilation_rate, expected
):
    conv = keras.layers.Conv2D(
        1, kernel_size, strides=strides, padding=padding, dilation_rate=dilation_rate
    )

    keras_height, keras_width, _ = _keras_output_shape([conv], (size, size, 1))
    computed = conv_output_size(
        size,
        kernel_size,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
    )

    assert computed == expected == keras_height == keras_width


@pytest.mark.parametrize(
    ("size", "kernel_size", "strides", "padding"),
    [(5, 3, 1, 1), (32, 5, 1, 2), (7, 3, 2, 1), (28, 7, 2, 3)],
)
def test_explicit_padding_matches_zero_padding_then_valid_conv(
    size, kernel_size, strides, padding
):
    layers = [
        keras.layers.ZeroPadding2D(padding),
        keras.layers.Conv2D(1, kernel_size, strides=strides),
    ]

    keras_height, _, _ = _keras_output_shape(layers, (size, size, 1))

    assert (
        conv_output_size(size, kernel_size, strides=strides, padding=padding)
        == keras_height
    )


def test_conv_output_shape_accepts_rectangular_kernels_and_strides():
    conv = keras.layers.Conv2D(4, (3, 5), strides=(1, 2))

    keras_shape = _keras_output_shape([conv], (10, 20, 3))

    assert conv_output_shape((10, 20, 3), 4, (3, 5), strides=(1, 2)) == keras_shape


@pytest.mark.parametrize(
    ("input_shape", "pool_size", "strides", "padding"),
    [
        ((222, 222, 32), 2, None, "valid"),
        ((7, 7, 3), 2, None, "valid"),
        ((7, 7, 3), 2, None, "same"),
        ((7, 9, 3), 3, 2, "valid"),
        ((224, 224, 1), 3, 2, "same"),
    ],
)
def test_pool_output_shape_matches_keras(input_shape, pool_size, strides, padding):
    pool = keras.layers.MaxPooling2D(pool_size, strides=strides, padding=padding)

    keras_shape = _keras_output_shape([pool], input_shape)

    assert (
        pool_output_shape(input_shape, pool_size, strides=strides, padding=padding)
        == keras_shape
    )


# === Asymmetric padding and dilation ===


@pytest.mark.parametrize(
    ("input_shape", "padding"),
    [((7, 9, 2), (0, 2, 1, 0)), ((6, 6, 1), (3, 0, 0, 3)), ((5, 8, 3), (1, 1, 2, 2))],
)
def test_asymmetric_padding_output_shape_matches_keras(input_shape, padding):
    top, bottom, left, right = padding
    layers = [
        keras.layers.ZeroPadding2D(((top, bottom), (left, right))),
        keras.layers.Conv2D(4, (3, 2), strides=(2, 1)),
    ]

    keras_shape = _keras_output_shape(layers, input_shape)

    computed = conv_output_shape(
        input_shape, 4, (3, 2), strides=(2, 1), padding=padding
    )
    assert computed == keras_shape
    assert (
        conv_output_size(input_shape[0], 3, strides=2, padding=(top, bottom))
        == (keras_shape[0])
    )


def test_dilation_widens_the_kernel_to_d_k_minus_1_plus_1():
    assert [effective_kernel_size(3, d) for d in (1, 2, 3)] == [3, 5, 7]
    assert effective_kernel_size(1, 5) == 1
    conv = keras.layers.Conv2D(1, 3, dilation_rate=2)
    # A dilated 3x3 kernel shrinks a 12-pixel input like a 5x5 one ...
    assert _keras_output_shape([conv], (12, 12, 1))[0] == 8
    assert conv_output_size(12, 3, dilation_rate=2) == conv_output_size(12, 5) == 8
    # ... and explicit padding combines with dilation the same way.
    padded = [
        keras.layers.ZeroPadding2D((1, 2)),
        keras.layers.Conv2D(1, 3, dilation_rate=3),
    ]
    height, width, _ = _keras_output_shape(padded, (10, 10, 1))
    assert conv_output_size(10, 3, padding=1, dilation_rate=3) == height
    assert conv_output_size(10, 3, padding=(2, 2), dilation_rate=3) == width


# === Receptive field of stacked convolutions ===


def test_stacked_3x3_convolutions_see_5x5_and_7x7():
    assert receptive_field([(3, 1), (3, 1)]) == stacked_receptive_field(2) == 5
    assert receptive_field([(3, 1)] * 3) == stacked_receptive_field(3) == 7
    assert stacked_receptive_field(1, kernel_size=5) == 5


def _input_gradient(model, input_size, output_index) -> np.ndarray:
    """Gradient of one output unit of a single-channel model w.r.t. its input."""
    x = tf.ones((1, input_size, input_size, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        unit = model(x)[0, output_index[0], output_index[1], 0]
    return tape.gradient(unit, x).numpy()[0, :, :, 0]


def _ones_conv_stack(layers, input_size, padding) -> keras.Model:
    """Bias-free single-channel conv stack with all-ones kernels."""
    model = keras.Sequential([keras.Input(shape=(input_size, input_size, 1))])
    for kernel_size, stride, *dilation in layers:
        model.add(
            keras.layers.Conv2D(
                1,
                kernel_size,
                strides=stride,
                dilation_rate=dilation[0] if dilation else 1,
                padding=padding,
                use_bias=False,
                kernel_initializer="ones",
            )
        )
    return model


@pytest.mark.parametrize("num_layers", [2, 3])
def test_keras_receptive_field_of_stacked_3x3_convolutions(num_layers):
    input_size = 11
    centre = input_size // 2
    model = _ones_conv_stack([(3, 1)] * num_layers, input_size, padding="same")

    gradient = _input_gradient(model, input_size, (centre, centre))

    size = stacked_receptive_field(num_layers)
    half = size // 2
    expected_window = np.zeros((input_size, input_size), dtype=bool)
    window = slice(centre - half, centre + half + 1)
    expected_window[window, window] = True
    np.testing.assert_array_equal(gradient != 0, expected_window)


@pytest.mark.parametrize(
    ("layers", "expected_size"),
    [
        ([(3, 1), (2, 2), (3, 1)], 8),
        ([(3, 2), (3, 2)], 7),
        ([(5, 1), (3, 2), (3, 1)], 11),
        ([(3, 1, 2)], 5),
        ([(3, 1, 2), (3, 1, 4)], 13),
    ],
)
def test_receptive_field_matches_keras_gradient_extent(layers, expected_size):
    input_size = 16
    model = _ones_conv_stack(layers, input_size, padding="valid")

    gradient = _input_gradient(model, input_size, (0, 0))

    rows, cols = np.nonzero(gradient)
    assert receptive_field(layers) == expected_size
    # Dilation leaves holes in the window, so compare its extent, not its area.
    assert rows.max() - rows.min() + 1 == expected_size
    assert cols.max() - cols.min() + 1 == expected_size


def test_receptive_field_of_no_layers_is_one_pixel():
    assert receptive_field([]) == 1


@pytest.mark.parametrize(("num_layers", "dilation_rate"), [(2, 2), (3, 2), (2, 3)])
def test_stacked_dilated_receptive_field_matches_keras_gradient(
    num_layers, dilation_rate
):
    model = _ones_conv_stack([(3, 1, dilation_rate)] * num_layers, 16, padding="valid")

    gradient = _input_gradient(model, 16, (0, 0))

    rows, cols = np.nonzero(gradient)
    size = stacked_receptive_field(num_layers, dilation_rate=dilation_rate)
    assert size == 1 + num_layers * 2 * dilation_rate
    assert rows.max() - rows.min() + 1 == size == cols.max() - cols.min() + 1


# === Argument validation ===


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 2, "kernel_size": 3},
        {"size": 5, "kernel_size": 3, "padding": "full"},
        {"size": 5, "kernel_size": 3, "padding": -1},
        {"size": 5, "kernel_size": 3, "strides": 0},
        {"size": 5, "kernel_size": 3, "strides": True},
        {"size": 5, "kernel_size": 3, "dilation_rate": 3},
        {"size": 5.0, "kernel_size": 3},
    ],
)
def test_conv_output_size_rejects_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        conv_output_size(**kwargs)


@pytest.mark.parametrize(
    ("function", "args", "kwargs"),
    [
        (conv_output_shape, ((28, 28), 8, 3), {}),
        (conv_output_shape, ((28, 28, 1), 8, (3, 3, 3)), {}),
        (pool_output_shape, ((28, 28, 1),), {"padding": 1}),
        (receptive_field, ([(3,)],), {}),
        (receptive_field, ([(3, 1, 1, 1)],), {}),
        (conv_output_shape, ((8, 8, 1), 2, 3), {"padding": (1, -1, 0, 0)}),
        (conv_output_size, (5, 3), {"padding": (1, 2, 3)}),
        (same_padding, (5, 0), {}),
        (effective_kernel_size, (3, 0), {}),
    ],
)
def test_functions_reject_invalid_arguments(function, args, kwargs):
    with pytest.raises(ValueError):
        function(*args, **kwargs)
