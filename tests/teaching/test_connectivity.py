"""Tests for `kerasvision.teaching.connectivity`: window coverage and weight sharing."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasvision.teaching.connectivity import (
    WeightSharingCounts,
    coverage_map,
    weight_sharing_counts,
)

# === How often the window covers each pixel ===


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


# === Fully connected vs locally connected vs shared weights ===


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
    # The slide: a row of 5 pixels, a 3-pixel window, 5 outputs.
    counts = weight_sharing_counts(5, 3, 5)

    assert counts == WeightSharingCounts(25, 13, 3)
    dense = keras.layers.Dense(5, use_bias=False)
    dense.build((None, 5))
    assert dense.count_params() == counts.fully_connected
    conv = keras.layers.Conv1D(
        1,
        3,
        padding="same",
        use_bias=False,
        kernel_initializer=keras.initializers.RandomUniform(1.0, 2.0, seed=0),
    )
    x = tf.ones((1, 5, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = conv(x)
    jacobian = tape.jacobian(y, x).numpy()[0, :, 0, 0, :, 0]
    # The convolution as a 5 x 5 matrix: 13 connections, 3 distinct weights.
    assert np.count_nonzero(jacobian) == counts.locally_connected
    assert len(np.unique(jacobian[jacobian != 0])) == counts.shared
    assert conv.count_params() == counts.shared
    assert weight_sharing_counts((5,), (3,), (5,)) == counts


def test_the_5x5_grid_squares_the_weight_sharing_slide():
    # 5x5 input, 3x3 window, 5x5 output: 25^2 -> 13^2 -> 3^2 weights.
    counts = weight_sharing_counts((5, 5), 3, (5, 5))

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
    with pytest.raises(ValueError):
        weight_sharing_counts((size, size), kernel_size, (output_size, output_size))


# === Argument validation ===


@pytest.mark.parametrize(
    ("function", "args", "kwargs"),
    [
        (coverage_map, (5, 6), {}),
        (coverage_map, ((5, 5, 1), 3), {}),
        (weight_sharing_counts, ((5, 5, 1), 3, 5), {}),
        (weight_sharing_counts, (5, (3, 3), 5), {}),
        (weight_sharing_counts, ((5, 5), 3, (5, 5, 5)), {}),
        (weight_sharing_counts, (5, 3, 5), {"filters": 0}),
    ],
)
def test_functions_reject_invalid_arguments(function, args, kwargs):
    with pytest.raises(ValueError):
        function(*args, **kwargs)
