"""Tests for `kerasvision.teaching.parameters`: lecture parameter counts vs Keras."""

from __future__ import annotations

import keras
import pytest

from kerasvision.teaching.parameters import (
    cnn_weights,
    conv2d_params,
    dense_params,
    depthwise_separable_params,
    mlp_weights,
)

# The DTU 02456 MNIST comparison gives only the totals (biases ignored): a CNN with
# 11,665 weights against an MLP with 210,240. The course's public lab notebooks do
# not contain these architectures, so these are standard shapes solved to hit both
# totals exactly:
# - MLP 784 -> 256 -> 32 -> 32 -> 10: 200,704 + 8,192 + 1,024 + 320 = 210,240.
# - CNN in the layout of TensorFlow's classic "Deep MNIST" tutorial (5x5 "same"
#   convs, each followed by a 2x2 max-pool), narrowed to 9 and 16 filters and
#   without its hidden dense layer, so Dense(10) reads the 7*7*16 = 784 features:
#   225 + 3,600 + 7,840 = 11,665. (In this layout the total 25*c1*(1 + c2) +
#   490*c2 is odd, as 11,665 is, only for an odd first-layer filter count c1.)
DTU_MLP_SIZES = (784, 256, 32, 32, 10)

DTU_CNN_FILTERS = (9, 16)

DTU_CNN_KERNEL_SIZE = 5

# === The DTU MNIST comparison: CNN vs MLP weights ===


def test_dtu_mnist_weight_counts_from_formulas():
    cnn_total = cnn_weights(
        (28, 28, 1), DTU_CNN_FILTERS, kernel_size=DTU_CNN_KERNEL_SIZE, padding="same"
    )

    assert mlp_weights(DTU_MLP_SIZES) == 210_240
    assert cnn_total == 11_665
    assert cnn_total == (
        conv2d_params(5, 1, 9, use_bias=False)
        + conv2d_params(5, 9, 16, use_bias=False)
        + dense_params(7 * 7 * 16, 10, use_bias=False)
    )


def test_dtu_mnist_weight_counts_match_keras_models():
    cnn = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(
                9, 5, padding="same", activation="relu", use_bias=False
            ),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(
                16, 5, padding="same", activation="relu", use_bias=False
            ),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax", use_bias=False),
        ]
    )
    mlp = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(256, activation="relu", use_bias=False),
            keras.layers.Dense(32, activation="relu", use_bias=False),
            keras.layers.Dense(32, activation="relu", use_bias=False),
            keras.layers.Dense(10, activation="softmax", use_bias=False),
        ]
    )

    assert cnn.count_params() == 11_665
    assert mlp.count_params() == 210_240
    assert cnn.output_shape == mlp.output_shape == (None, 10)


@pytest.mark.parametrize(
    ("conv_filters", "kernel_size", "padding", "pool_size", "dense_units", "use_bias"),
    [
        ((8,), 3, "valid", 2, (), True),
        ((4, 8), (5, 3), "valid", 2, (16,), False),
        ((4, 8, 8), 3, "same", 2, (32, 16), True),
        ((2, 4), 3, "same", None, (), False),
    ],
)
def test_cnn_weights_matches_keras(
    conv_filters, kernel_size, padding, pool_size, dense_units, use_bias
):
    kernel_sizes = (
        kernel_size
        if isinstance(kernel_size, tuple)
        else (kernel_size,) * len(conv_filters)
    )
    layers = [keras.Input(shape=(28, 28, 1))]
    for filters, stage_kernel_size in zip(conv_filters, kernel_sizes, strict=True):
        layers.append(
            keras.layers.Conv2D(
                filters, stage_kernel_size, padding=padding, use_bias=use_bias
            )
        )
        if pool_size is not None:
            layers.append(keras.layers.MaxPooling2D(pool_size))
    layers.append(keras.layers.Flatten())
    layers.extend(keras.layers.Dense(units, use_bias=use_bias) for units in dense_units)
    layers.append(keras.layers.Dense(3, use_bias=use_bias))
    model = keras.Sequential(layers)

    computed = cnn_weights(
        (28, 28, 1),
        conv_filters,
        kernel_size=kernel_size,
        padding=padding,
        pool_size=pool_size,
        dense_units=dense_units,
        num_classes=3,
        use_bias=use_bias,
    )

    assert computed == model.count_params()


def test_mlp_weights_with_bias_matches_keras():
    mlp = keras.Sequential(
        [keras.Input(shape=(12,)), keras.layers.Dense(5), keras.layers.Dense(3)]
    )

    assert mlp_weights((12, 5, 3), use_bias=True) == mlp.count_params() == 83


# === Stacked 3x3 convolutions vs one larger kernel ===


@pytest.mark.parametrize("channels", [1, 8, 64])
def test_stacked_3x3_convolutions_need_fewer_weights(channels):
    two_3x3 = 2 * conv2d_params(3, channels, channels, use_bias=False)
    three_3x3 = 3 * conv2d_params(3, channels, channels, use_bias=False)

    assert two_3x3 == 2 * 9 * channels**2 < 25 * channels**2
    assert conv2d_params(5, channels, channels, use_bias=False) == 25 * channels**2
    assert three_3x3 == 3 * 9 * channels**2 < 49 * channels**2
    assert conv2d_params(7, channels, channels, use_bias=False) == 49 * channels**2


# === Depthwise-separable vs standard convolution ===


def test_lecture_depthwise_separable_params_match_keras():
    separable = keras.layers.SeparableConv2D(64, 3, use_bias=False)
    separable_with_bias = keras.layers.SeparableConv2D(64, 3)
    standard = keras.layers.Conv2D(64, 3, use_bias=False)
    for layer in (separable, separable_with_bias, standard):
        layer.build((None, 8, 8, 32))

    assert depthwise_separable_params(3, 32, 64, use_bias=False) == 288 + 2048
    assert separable.count_params() == 2336
    assert depthwise_separable_params(3, 32, 64) == separable_with_bias.count_params()
    assert separable_with_bias.count_params() == 2336 + 64
    assert conv2d_params(3, 32, 64, use_bias=False) == standard.count_params()
    assert standard.count_params() == 18_432


@pytest.mark.parametrize(
    ("kernel_size", "in_channels", "filters", "depth_multiplier"),
    [(3, 32, 64, 2), (5, 3, 8, 1), ((3, 5), 4, 6, 3)],
)
def test_depthwise_separable_params_with_multiplier_match_keras(
    kernel_size, in_channels, filters, depth_multiplier
):
    layer = keras.layers.SeparableConv2D(
        filters, kernel_size, depth_multiplier=depth_multiplier
    )
    layer.build((None, 8, 8, in_channels))

    computed = depthwise_separable_params(
        kernel_size, in_channels, filters, depth_multiplier=depth_multiplier
    )

    assert computed == layer.count_params()


# === Argument validation ===


@pytest.mark.parametrize(
    ("function", "args", "kwargs"),
    [
        (conv2d_params, (3, 0, 8), {}),
        (mlp_weights, ((784,),), {}),
        (cnn_weights, ((28, 28, 1), (8, 16)), {"kernel_size": (3, 3, 3)}),
    ],
)
def test_functions_reject_invalid_arguments(function, args, kwargs):
    with pytest.raises(ValueError):
        function(*args, **kwargs)
