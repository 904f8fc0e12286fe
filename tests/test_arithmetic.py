"""Tests for `kerasvision.arithmetic`: the lecture numbers, checked against Keras."""

from __future__ import annotations

import math
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasvision.arithmetic import (
    KERNELS,
    WeightSharingCounts,
    apply_kernel,
    avg_pool2d,
    binary_cross_entropy,
    categorical_cross_entropy,
    cnn_weights,
    conv2d,
    conv2d_params,
    conv_output_shape,
    conv_output_size,
    coverage_map,
    dense_params,
    depthwise_separable_params,
    effective_kernel_size,
    max_pool2d,
    mlp_weights,
    pool_output_shape,
    receptive_field,
    same_padding,
    softmax,
    stacked_receptive_field,
    weight_sharing_counts,
)

# The lecture gives only the output of its 5x5 * 3x3 example, and searching for
# the example by its output values found no source for the input and kernel. These
# are constructed: the kernel 1..9 is asymmetric, so the test also tells
# cross-correlation (what deep learning calls convolution) from a flipped-kernel
# convolution, and the input was solved as an integer program for digits 0-9
# that give exactly the lecture's output.
LECTURE_IMAGE = np.array(
    [
        [1, 6, 3, 7, 0],
        [2, 3, 0, 0, 2],
        [3, 2, 0, 1, 1],
        [1, 1, 0, 0, 1],
        [2, 3, 1, 3, 1],
    ]
)
LECTURE_KERNEL = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
LECTURE_FEATURE_MAP = np.array([[82, 68, 46], [45, 24, 26], [63, 65, 51]])

LECTURE_POOL_INPUT = np.array([[4, 6, 1, 1], [1, 3, 1, 3], [4, 0, 0, 8], [8, 5, 4, 0]])
LECTURE_POOL_OUTPUT = np.array([[6, 3], [8, 8]])

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


def _image_batch(matrix) -> np.ndarray:
    """A 2-D matrix as a float32 `(1, height, width, 1)` Keras batch."""
    return np.asarray(matrix, dtype="float32")[None, :, :, None]


def _keras_conv(image, kernel, *, strides=1, padding=0) -> np.ndarray:
    """Single-channel cross-correlation computed by a real, bias-free `Conv2D`."""
    image = np.asarray(image)
    kernel = np.asarray(kernel, dtype="float32")
    inputs = keras.Input(shape=(*image.shape, 1))
    x = keras.layers.ZeroPadding2D(padding)(inputs) if padding else inputs
    conv = keras.layers.Conv2D(1, kernel.shape, strides=strides, use_bias=False)
    outputs = conv(x)
    conv.set_weights([kernel[:, :, None, None]])
    model = keras.Model(inputs, outputs)
    return keras.ops.convert_to_numpy(model(_image_batch(image)))[0, :, :, 0]


def _keras_pool(layer, matrix) -> np.ndarray:
    return keras.ops.convert_to_numpy(layer(_image_batch(matrix)))[0, :, :, 0]


def _keras_output_shape(layers, input_shape) -> tuple[int, ...]:
    x = keras.Input(shape=input_shape)
    for layer in layers:
        x = layer(x)
    return tuple(x.shape[1:])


# === (1) The lecture's 5x5 * 3x3 example ===


def test_conv2d_reproduces_lecture_feature_map():
    feature_map = conv2d(LECTURE_IMAGE, LECTURE_KERNEL)

    np.testing.assert_array_equal(feature_map, LECTURE_FEATURE_MAP)


def test_keras_conv2d_reproduces_lecture_feature_map():
    feature_map = _keras_conv(LECTURE_IMAGE, LECTURE_KERNEL)

    # Sums of small integers are exact in float32, so equality is exact here.
    np.testing.assert_array_equal(feature_map, LECTURE_FEATURE_MAP)


def test_deep_learning_convolution_does_not_flip_the_kernel():
    flipped_kernel_result = conv2d(LECTURE_IMAGE, LECTURE_KERNEL[::-1, ::-1])

    assert not np.array_equal(flipped_kernel_result, LECTURE_FEATURE_MAP)


@pytest.mark.parametrize(("stride", "padding"), [(1, 1), (2, 0), (2, 1), (3, 2)])
def test_conv2d_matches_keras_with_stride_and_padding(stride, padding):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 10, size=(7, 8))
    kernel = rng.integers(-3, 4, size=(3, 2))

    expected = _keras_conv(image, kernel, strides=stride, padding=padding)
    feature_map = conv2d(image, kernel, stride=stride, padding=padding)

    np.testing.assert_array_equal(feature_map, expected)
    assert feature_map.shape == (
        conv_output_size(7, 3, strides=stride, padding=padding),
        conv_output_size(8, 2, strides=stride, padding=padding),
    )


# === (2) 224x224x3 with 32 3x3 filters ===


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


# === (3) The DTU MNIST comparison: CNN vs MLP weights ===


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


# === (4) The lecture's 2x2 max-pool ===


def test_max_pool2d_reproduces_lecture_example():
    np.testing.assert_array_equal(max_pool2d(LECTURE_POOL_INPUT), LECTURE_POOL_OUTPUT)


def test_keras_max_pooling_reproduces_lecture_example():
    pooled = _keras_pool(keras.layers.MaxPooling2D(2), LECTURE_POOL_INPUT)

    np.testing.assert_array_equal(pooled, LECTURE_POOL_OUTPUT)


@pytest.mark.parametrize(("pool_size", "stride"), [(2, None), (3, 1), (3, 2), (2, 3)])
def test_numpy_pooling_matches_keras(pool_size, stride):
    x = np.random.default_rng(1).integers(0, 10, size=(7, 8))

    keras_max = _keras_pool(keras.layers.MaxPooling2D(pool_size, strides=stride), x)
    keras_avg = _keras_pool(keras.layers.AveragePooling2D(pool_size, strides=stride), x)

    np.testing.assert_array_equal(max_pool2d(x, pool_size, stride=stride), keras_max)
    np.testing.assert_allclose(
        avg_pool2d(x, pool_size, stride=stride), keras_avg, rtol=1e-6
    )


# === (5) Binary cross-entropy ===


def test_binary_cross_entropy_lecture_value_is_base_10():
    assert binary_cross_entropy(0.73, 1, base=10) == pytest.approx(0.137, abs=5e-4)
    assert binary_cross_entropy(0.73, 1, base=10) == pytest.approx(-math.log10(0.73))


def test_binary_cross_entropy_natural_log_matches_keras():
    keras_loss = keras.losses.binary_crossentropy(
        np.array([[1.0]], dtype="float32"), np.array([[0.73]], dtype="float32")
    )

    natural = binary_cross_entropy(0.73, 1)

    assert natural == pytest.approx(0.3147, abs=1e-4)
    assert natural == pytest.approx(float(keras_loss[0]), rel=1e-5)


def test_binary_cross_entropy_arrays_match_keras_per_sample():
    probabilities = np.array([0.1, 0.5, 0.73, 0.99, 0.3])
    targets = np.array([0.0, 1.0, 1.0, 0.0, 0.25])

    keras_loss = keras.losses.binary_crossentropy(
        targets[:, None].astype("float32"), probabilities[:, None].astype("float32")
    )

    np.testing.assert_allclose(
        binary_cross_entropy(probabilities, targets),
        keras.ops.convert_to_numpy(keras_loss),
        rtol=1e-5,
    )


def test_binary_cross_entropy_edges_are_exact_not_clipped():
    assert binary_cross_entropy(1.0, 1) == 0.0
    assert binary_cross_entropy(0.0, 0) == 0.0
    assert binary_cross_entropy(0.0, 1) == math.inf


def test_zero_losses_are_positive_zero():
    # -0.0 == 0.0, so compare signs: a printed "-0.0" puzzles students.
    for loss in (
        binary_cross_entropy(1, 1),
        binary_cross_entropy(0.0, 0),
        binary_cross_entropy(1.0, 1, base=10),
        categorical_cross_entropy([0.0, 1.0], 1),
        categorical_cross_entropy([0.0, 1.0, 0.0], [0, 1, 0]),
    ):
        assert loss == 0.0
        assert math.copysign(1.0, loss) == 1.0
    array = binary_cross_entropy(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    np.testing.assert_array_equal(np.signbit(array), [False, False])


@pytest.mark.parametrize(
    ("p", "y", "base"),
    [(1.5, 1, math.e), (0.5, -0.1, math.e), (0.5, 1, 1), (0.5, 1, 0)],
)
def test_binary_cross_entropy_rejects_invalid_arguments(p, y, base):
    with pytest.raises(ValueError):
        binary_cross_entropy(p, y, base=base)


# === (6) Translation equivariance of conv, local invariance of max-pool ===


def test_conv_is_translation_equivariant():
    pattern = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    # Two pixels of background on every side, before and after the shift, so no
    # window that sees the pattern is cut off by the border.
    image = np.zeros((9, 9), dtype=int)
    image[2:5, 2:5] = pattern
    shifted_image = np.roll(image, (2, 1), axis=(0, 1))

    for convolve in (conv2d, _keras_conv):
        feature_map = convolve(image, LECTURE_KERNEL)
        shifted_feature_map = convolve(shifted_image, LECTURE_KERNEL)

        np.testing.assert_array_equal(
            shifted_feature_map, np.roll(feature_map, (2, 1), axis=(0, 1))
        )
        assert shifted_feature_map.sum() == feature_map.sum()


def _single_feature_map(row: int, col: int) -> np.ndarray:
    feature_map = np.zeros((4, 4))
    feature_map[row, col] = 9
    return feature_map


def test_max_pool_is_invariant_to_a_shift_inside_its_window():
    feature_map = _single_feature_map(1, 0)
    # One pixel right stays in the same 2x2 window; two pixels right cross into
    # the next one.
    shifted_inside = _single_feature_map(1, 1)
    shifted_across = _single_feature_map(1, 2)
    pool = keras.layers.MaxPooling2D(2)

    for pool2d in (max_pool2d, lambda x: _keras_pool(pool, x)):
        pooled = pool2d(feature_map)

        np.testing.assert_array_equal(pooled, [[9, 0], [0, 0]])
        np.testing.assert_array_equal(pool2d(shifted_inside), pooled)
        # The invariance is only local: across a window boundary the output moves.
        np.testing.assert_array_equal(pool2d(shifted_across), [[0, 9], [0, 0]])


# === (7) Receptive field of stacked convolutions ===


def test_stacked_3x3_convolutions_see_5x5_and_7x7():
    assert receptive_field([(3, 1), (3, 1)]) == stacked_receptive_field(2) == 5
    assert receptive_field([(3, 1)] * 3) == stacked_receptive_field(3) == 7
    assert stacked_receptive_field(1, kernel_size=5) == 5


@pytest.mark.parametrize("channels", [1, 8, 64])
def test_stacked_3x3_convolutions_need_fewer_weights(channels):
    two_3x3 = 2 * conv2d_params(3, channels, channels, use_bias=False)
    three_3x3 = 3 * conv2d_params(3, channels, channels, use_bias=False)

    assert two_3x3 == 2 * 9 * channels**2 < 25 * channels**2
    assert conv2d_params(5, channels, channels, use_bias=False) == 25 * channels**2
    assert three_3x3 == 3 * 9 * channels**2 < 49 * channels**2
    assert conv2d_params(7, channels, channels, use_bias=False) == 49 * channels**2


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


# === (8) Depthwise-separable vs standard convolution ===


def test_lecture_depthwise_separable_params_match_keras():
    separable = keras.layers.SeparableConv2D(64, 3, use_bias=False)
    separable_with_bias = keras.layers.SeparableConv2D(64, 3)
    standard = keras.layers.Conv2D(64, 3, use_bias=False)
    for layer in (separable, separable_with_bias, standard):
        _keras_output_shape([layer], (8, 8, 32))

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
    _keras_output_shape([layer], (8, 8, in_channels))

    computed = depthwise_separable_params(
        kernel_size, in_channels, filters, depth_multiplier=depth_multiplier
    )

    assert computed == layer.count_params()


# === (9) Multi-channel convolution, asymmetric padding, dilation ===


def _tf_conv(image, kernel, *, strides=1, padding="VALID", dilations=1, bias=0.0):
    """`tf.nn.conv2d` on one `(H, W, C)` image with a `(kh, kw, C, F)` kernel."""
    if isinstance(padding, tuple):
        top, bottom, left, right = padding
        padding = [[0, 0], [top, bottom], [left, right], [0, 0]]
    output = tf.nn.conv2d(
        tf.constant(image[None], tf.float32),
        tf.constant(kernel, tf.float32),
        strides=strides,
        padding=padding,
        dilations=dilations,
    )
    return output.numpy()[0] + bias


def test_rgb_conv2d_sums_one_kernel_per_channel_plus_bias():
    # The lectures' RGB example: a 3x3x3 kernel is one 3x3 kernel per channel;
    # the three channel results are summed and the bias added once.
    rng = np.random.default_rng(2)
    image = rng.integers(0, 10, size=(5, 5, 3))
    kernel = rng.integers(-2, 3, size=(3, 3, 3))

    feature_map = conv2d(image, kernel, bias=1)

    per_channel = sum(conv2d(image[:, :, c], kernel[:, :, c]) for c in range(3))
    np.testing.assert_array_equal(feature_map, per_channel + 1)
    expected = _tf_conv(image, kernel[:, :, :, None], bias=1.0)[:, :, 0]
    np.testing.assert_array_equal(feature_map, expected)
    assert feature_map.dtype.kind == "i"  # integers stay exact


@pytest.mark.parametrize(
    ("strides", "padding", "dilation"),
    [
        (1, 0, 1),
        (2, 1, 1),
        ((1, 2), (0, 2, 1, 0), 1),
        (1, (2, 0, 0, 1), 1),
        (2, "same", 1),
        (1, "same", 2),
        (1, 1, (2, 1)),
        (1, "valid", 3),
    ],
)
def test_multi_filter_conv2d_matches_tf_nn_conv2d(strides, padding, dilation):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 10, size=(9, 8, 3))
    kernel = rng.integers(-3, 4, size=(3, 2, 3, 4))
    bias = np.array([1, -2, 0, 5])
    tf_padding = padding
    if isinstance(padding, int):
        tf_padding = (padding,) * 4
    elif isinstance(padding, str):
        tf_padding = padding.upper()

    feature_maps = conv2d(
        image,
        kernel,
        stride=strides,
        padding=padding,
        bias=bias,
        dilation_rate=dilation,
    )

    expected = _tf_conv(
        image,
        kernel,
        strides=strides,
        padding=tf_padding,
        dilations=dilation,
        bias=bias,
    )
    np.testing.assert_array_equal(feature_maps, expected)
    height, width, filters = conv_output_shape(
        image.shape, 4, (3, 2), strides=strides, padding=padding, dilation_rate=dilation
    )
    assert feature_maps.shape == (height, width, filters) == expected.shape


def _brute_force_conv(image, kernel, stride, pads, dilation):
    """Nested loops over output pixels and taps: conv2d's definition, spelled out."""
    (top, bottom), (left, right) = pads
    padded = np.pad(image, ((top, bottom), (left, right)))
    kh, kw = kernel.shape
    out_h = (padded.shape[0] - dilation * (kh - 1) - 1) // stride + 1
    out_w = (padded.shape[1] - dilation * (kw - 1) - 1) // stride + 1
    output = np.zeros((out_h, out_w), dtype=np.int64)
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):
                for b in range(kw):
                    output[i, j] += (
                        padded[i * stride + a * dilation, j * stride + b * dilation]
                        * kernel[a, b]
                    )
    return output


@pytest.mark.parametrize(
    ("stride", "padding", "dilation"),
    [(2, (1, 0, 2, 1), 2), (3, (0, 2, 0, 0), 2), (2, (1, 1, 1, 1), 3)],
)
def test_strided_dilated_asymmetric_conv2d_matches_loops(stride, padding, dilation):
    # TensorFlow refuses strides and dilation above 1 together; loops do not.
    rng = np.random.default_rng(4)
    image = rng.integers(0, 10, size=(11, 12))
    kernel = rng.integers(-3, 4, size=(3, 2))
    top, bottom, left, right = padding

    feature_map = conv2d(
        image, kernel, stride=stride, padding=padding, dilation_rate=dilation
    )

    expected = _brute_force_conv(
        image, kernel, stride, ((top, bottom), (left, right)), dilation
    )
    np.testing.assert_array_equal(feature_map, expected)


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


@pytest.mark.parametrize(
    ("size", "kernel_size", "strides", "dilation_rate"),
    [
        (5, 3, 1, 1),
        (6, 4, 1, 1),
        (7, 2, 2, 1),
        (8, 3, 2, 1),
        (9, 3, 1, 2),
        (6, 1, 3, 1),
    ],
)
def test_same_padding_reproduces_keras_same(size, kernel_size, strides, dilation_rate):
    before, after = same_padding(
        size, kernel_size, strides=strides, dilation_rate=dilation_rate
    )
    image = np.random.default_rng(5).integers(0, 10, size=(size, size, 1))
    kernel = np.random.default_rng(6).integers(-3, 4, size=(kernel_size,) * 2 + (1, 1))

    # Explicit (before, after) padding then a valid conv equals TensorFlow's SAME.
    explicit = conv2d(
        image,
        kernel,
        stride=strides,
        padding=(before, after, before, after),
        dilation_rate=dilation_rate,
    )
    np.testing.assert_array_equal(
        explicit,
        _tf_conv(
            image, kernel, strides=strides, padding="SAME", dilations=dilation_rate
        ),
    )
    assert explicit.shape[0] == conv_output_size(
        size, kernel_size, strides=strides, padding="same", dilation_rate=dilation_rate
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


# === (10) How often the window covers each pixel ===


def _brute_force_coverage(shape, kernel_size, stride, pads, dilation):
    """Slide every window over the padded grid and count real pixels touched."""
    (top, bottom), (left, right) = pads
    height, width = shape
    counts = np.zeros(shape, dtype=np.int64)
    span_h = dilation * (kernel_size[0] - 1) + 1
    span_w = dilation * (kernel_size[1] - 1) + 1
    for row in range(0, height + top + bottom - span_h + 1, stride):
        for col in range(0, width + left + right - span_w + 1, stride):
            for a in range(kernel_size[0]):
                for b in range(kernel_size[1]):
                    y, x = row + a * dilation - top, col + b * dilation - left
                    if 0 <= y < height and 0 <= x < width:
                        counts[y, x] += 1
    return counts


def test_lecture_coverage_without_and_with_padding():
    no_padding = coverage_map(5, 3)
    padded = coverage_map(5, 3, padding=1)

    # Without padding the corners are seen once, the centre by all nine windows.
    np.testing.assert_array_equal(
        no_padding,
        [
            [1, 2, 3, 2, 1],
            [2, 4, 6, 4, 2],
            [3, 6, 9, 6, 3],
            [2, 4, 6, 4, 2],
            [1, 2, 3, 2, 1],
        ],
    )
    # Padding lets border pixels take part in more outputs.
    np.testing.assert_array_equal(padded[0], [4, 6, 6, 6, 4])
    np.testing.assert_array_equal(padded[2], [6, 9, 9, 9, 6])
    assert no_padding.sum() == 9 * 9  # 9 windows of 9 pixels
    assert padded.sum() == 13 * 13


@pytest.mark.parametrize(
    ("shape", "kernel_size", "stride", "padding", "dilation"),
    [
        ((5, 5), (3, 3), 1, (0, 0, 0, 0), 1),
        ((6, 7), (3, 2), 2, (1, 1, 0, 1), 1),
        ((8, 8), (3, 3), 3, (0, 0, 0, 0), 1),
        ((9, 6), (2, 3), 1, (2, 0, 1, 1), 2),
        ((7, 7), (3, 3), 2, (1, 2, 2, 1), 2),
    ],
)
def test_coverage_map_matches_brute_force(
    shape, kernel_size, stride, padding, dilation
):
    top, bottom, left, right = padding

    counts = coverage_map(
        shape, kernel_size, strides=stride, padding=padding, dilation_rate=dilation
    )

    expected = _brute_force_coverage(
        shape, kernel_size, stride, ((top, bottom), (left, right)), dilation
    )
    np.testing.assert_array_equal(counts, expected)
    assert counts.dtype == np.int64


@pytest.mark.parametrize(
    ("size", "kernel_size", "strides", "padding"),
    [(5, 3, 1, "valid"), (5, 3, 1, "same"), (8, 3, 2, "same"), (7, 4, 1, "same")],
)
def test_coverage_map_is_the_input_gradient_of_an_all_ones_conv(
    size, kernel_size, strides, padding
):
    # d(sum of outputs)/d(pixel) of an all-ones kernel counts the windows on it.
    conv = keras.layers.Conv2D(
        1,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,
        kernel_initializer="ones",
    )
    x = tf.ones((1, size, size, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(conv(x))
    gradient = tape.gradient(total, x).numpy()[0, :, :, 0]

    counts = coverage_map(size, kernel_size, strides=strides, padding=padding)

    np.testing.assert_array_equal(counts, gradient)


# === (11) Fully connected vs locally connected vs shared weights ===


def _conv_jacobian(size, kernel_size, *, strides, padding, dilation, channels, filters):
    """Jacobian `[out_h, out_w, F, H, W, C]` of a random-kernel, bias-free Conv2D."""
    conv = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        use_bias=False,
        # Uniform in [1, 2]: no weight is zero, so every connection shows.
        kernel_initializer=keras.initializers.RandomUniform(1.0, 2.0, seed=0),
    )
    x = tf.ones((1, *size, channels))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = conv(x)
    jacobian = tape.jacobian(y, x).numpy()[0, ..., 0, :, :, :]
    return conv, jacobian


def test_lecture_weight_sharing_example_25_13_3():
    # 5x5 input, 3x3 window, 5x5 output: 25^2 -> 13^2 -> 3^2 weights.
    counts = weight_sharing_counts(5, 3, 5)

    assert counts == WeightSharingCounts(625, 169, 9)
    assert counts == (25**2, 13**2, 3**2)
    dense = keras.layers.Dense(25, use_bias=False)
    dense.build((None, 25))
    assert dense.count_params() == counts.fully_connected
    conv, jacobian = _conv_jacobian(
        (5, 5), 3, strides=1, padding="same", dilation=1, channels=1, filters=1
    )
    # The convolution as a 25 x 25 matrix: 169 connections, 9 distinct weights.
    assert np.count_nonzero(jacobian) == counts.locally_connected
    assert len(np.unique(jacobian[jacobian != 0])) == counts.shared
    assert conv.count_params() == counts.shared


@pytest.mark.parametrize(
    ("size", "kernel_size", "output_size", "strides", "dilation", "padding"),
    [
        ((5, 5), 3, (3, 3), 1, 1, "valid"),
        ((6, 6), 3, (3, 3), 2, 1, "same"),
        ((7, 7), 3, (7, 7), 1, 2, "same"),
        ((6, 5), (3, 2), (6, 5), 1, 1, "same"),
        ((8, 8), 4, (4, 4), 2, 1, "same"),
    ],
)
def test_weight_sharing_counts_match_the_conv_jacobian(
    size, kernel_size, output_size, strides, dilation, padding
):
    counts = weight_sharing_counts(
        size,
        kernel_size,
        output_size,
        strides=strides,
        dilation_rate=dilation,
        in_channels=2,
        filters=3,
    )

    conv, jacobian = _conv_jacobian(
        size,
        kernel_size,
        strides=strides,
        padding=padding,
        dilation=dilation,
        channels=2,
        filters=3,
    )
    assert jacobian.shape[:2] == output_size
    assert np.count_nonzero(jacobian) == counts.locally_connected
    assert conv.count_params() == counts.shared
    assert counts.fully_connected == jacobian.size


@pytest.mark.parametrize(
    ("size", "kernel_size", "output_size"), [(5, 3, 2), (5, 3, 8), (3, 3, 6)]
)
def test_weight_sharing_counts_reject_unreachable_output_sizes(
    size, kernel_size, output_size
):
    with pytest.raises(ValueError):
        weight_sharing_counts(size, kernel_size, output_size)


# === (12) Named kernels ===


@pytest.mark.parametrize("name", list(KERNELS), ids=list(KERNELS))
def test_every_named_kernel_matches_tf_depthwise_conv(name):
    kernel = KERNELS[name].array
    image = np.random.default_rng(7).integers(0, 256, size=(6, 7, 3))

    filtered = apply_kernel(image, name)

    depthwise = tf.nn.depthwise_conv2d(
        tf.constant(image[None], tf.float32),
        tf.constant(np.repeat(kernel[:, :, None, None], 3, axis=2), tf.float32),
        strides=[1, 1, 1, 1],
        padding="SAME",
    ).numpy()[0]
    np.testing.assert_array_equal(filtered, depthwise)
    assert filtered.shape == image.shape
    assert kernel.shape == (3, 3)
    # Grayscale images take the same kernel.
    np.testing.assert_array_equal(apply_kernel(image[:, :, 1], name), filtered[:, :, 1])


def test_named_kernels_do_what_their_names_say():
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, size=(6, 6))
    flat = np.full((5, 5), 7)
    ramp = np.tile(np.arange(6) * 3, (6, 1))  # brightness grows to the right

    np.testing.assert_array_equal(apply_kernel(image, "identity"), image)
    for name in ("edge", "strong_edge", "sobel_x", "sobel_y"):
        np.testing.assert_array_equal(apply_kernel(flat, name, padding=0), 0)
    np.testing.assert_array_equal(apply_kernel(flat, "sharpen", padding=0), 7)
    np.testing.assert_array_equal(apply_kernel(ramp, "sobel_x", padding=0), 8 * 3)
    np.testing.assert_array_equal(apply_kernel(ramp, "sobel_y", padding=0), 0)
    np.testing.assert_array_equal(apply_kernel(ramp.T, "sobel_y", padding=0), 8 * 3)
    # A lone bright pixel: the strong edge kernel answers in all 8 directions.
    dot = np.zeros((5, 5), dtype=int)
    dot[2, 2] = 1
    np.testing.assert_array_equal(
        apply_kernel(dot, "strong_edge")[1:4, 1:4],
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    )
    with pytest.raises(ValueError, match="unknown kernel 'blur'; valid: identity"):
        apply_kernel(image, "blur")


# === (13) Softmax and categorical cross-entropy ===


def test_softmax_matches_keras_and_survives_large_logits():
    logits = np.random.default_rng(9).normal(0, 3, size=(4, 5))

    probabilities = softmax(logits)

    np.testing.assert_allclose(
        probabilities,
        keras.ops.convert_to_numpy(keras.activations.softmax(tf.constant(logits))),
        rtol=1e-12,
    )
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0)
    np.testing.assert_allclose(
        softmax([2.0, 1.0, 0.1]), [0.659, 0.242, 0.099], atol=5e-4
    )
    np.testing.assert_allclose(softmax([1000.0, 1000.0]), [0.5, 0.5])
    np.testing.assert_allclose(softmax(logits.T, axis=0), probabilities.T)
    with pytest.raises(ValueError, match="finite"):
        softmax([1.0, np.inf])


def test_categorical_cross_entropy_matches_keras():
    probabilities = softmax(np.random.default_rng(10).normal(size=(5, 4)))
    labels = np.array([0, 3, 1, 1, 2])
    soft = np.full((5, 4), 0.1) + 0.6 * np.eye(4)[labels]

    dense_keras = keras.losses.categorical_crossentropy(
        np.eye(4)[labels].astype("float32"), probabilities.astype("float32")
    )
    sparse_keras = keras.losses.sparse_categorical_crossentropy(
        labels, probabilities.astype("float32")
    )
    soft_keras = keras.losses.categorical_crossentropy(
        soft.astype("float32"), probabilities.astype("float32")
    )

    np.testing.assert_allclose(
        categorical_cross_entropy(probabilities, np.eye(4)[labels]),
        keras.ops.convert_to_numpy(dense_keras),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        categorical_cross_entropy(probabilities, labels),
        keras.ops.convert_to_numpy(sparse_keras),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        categorical_cross_entropy(probabilities, soft),
        keras.ops.convert_to_numpy(soft_keras),
        rtol=1e-5,
    )


def test_categorical_cross_entropy_is_minus_log_of_the_true_class():
    p = [0.7, 0.2, 0.1]
    assert categorical_cross_entropy(p, [1, 0, 0]) == pytest.approx(-math.log(0.7))
    assert categorical_cross_entropy(p, 2, base=10) == pytest.approx(-math.log10(0.1))
    # With two classes it is the binary cross-entropy of the positive class.
    assert categorical_cross_entropy([0.27, 0.73], 1) == pytest.approx(
        binary_cross_entropy(0.73, 1)
    )
    assert categorical_cross_entropy([1.0, 0.0], 1) == math.inf
    assert categorical_cross_entropy([1.0, 0.0], 0) == 0.0


@pytest.mark.parametrize(
    ("p", "y", "base"),
    [
        ([0.5, 0.6], [1, 0], math.e),  # p does not sum to 1
        ([1.5, -0.5], [1, 0], math.e),
        ([0.5, 0.5], 2, math.e),  # class index out of range
        ([0.5, 0.5], [1, 0, 0], math.e),
        ([0.5, 0.5], [1.5, 0.0], math.e),
        ([0.5, 0.5], 1, 1),
        (0.5, 1, math.e),  # no class axis
    ],
)
def test_categorical_cross_entropy_rejects_invalid_arguments(p, y, base):
    with pytest.raises(ValueError):
        categorical_cross_entropy(p, y, base=base)


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
        (conv2d_params, (3, 0, 8), {}),
        (mlp_weights, ((784,),), {}),
        (cnn_weights, ((28, 28, 1), (8, 16)), {"kernel_size": (3, 3, 3)}),
        (receptive_field, ([(3,)],), {}),
        (receptive_field, ([(3, 1, 1, 1)],), {}),
        (conv2d, (np.ones((3, 3)), np.ones((4, 4))), {}),
        (conv2d, (np.ones((3, 3, 1)), np.ones((2, 2))), {}),
        (conv2d, (np.ones((3, 3, 2)), np.ones((2, 2, 3))), {}),
        (conv2d, (np.ones((3, 3, 2)), np.ones((2, 2, 2, 4))), {"bias": [1, 2]}),
        (conv2d, (np.ones((3, 3)), np.ones((2, 2))), {"padding": (1, 1)}),
        (conv2d, (np.ones((5, 5)), np.ones((3, 3))), {"dilation_rate": 3}),
        (conv_output_shape, ((8, 8, 1), 2, 3), {"padding": (1, -1, 0, 0)}),
        (conv_output_size, (5, 3), {"padding": (1, 2, 3)}),
        (coverage_map, (5, 6), {}),
        (coverage_map, ((5, 5, 1), 3), {}),
        (apply_kernel, (np.ones((3, 3)), np.ones((3, 3, 1))), {}),
        (apply_kernel, (np.ones((3, 3, 1, 1)), "edge"), {}),
        (same_padding, (5, 0), {}),
        (effective_kernel_size, (3, 0), {}),
        (max_pool2d, (np.ones((3, 3)),), {"pool_size": 4}),
    ],
)
def test_functions_reject_invalid_arguments(function, args, kwargs):
    with pytest.raises(ValueError):
        function(*args, **kwargs)


def test_module_imports_without_keras_or_tensorflow():
    # The CLI imports this module; a fresh interpreter shows what it really loads.
    check = (
        "import sys, kerasvision.arithmetic; "
        "print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    )

    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
