"""Tests for `kerasvision.teaching.convolution`: numpy conv/pool vs Keras, kernels."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasvision.teaching.convolution import (
    KERNELS,
    apply_kernel,
    avg_pool2d,
    conv2d,
    max_pool2d,
)
from kerasvision.teaching.shapes import (
    conv_output_shape,
    conv_output_size,
    same_padding,
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


# === The lecture's 5x5 * 3x3 example ===


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


# === The lecture's 2x2 max-pool ===


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


# === Translation equivariance of conv, local invariance of max-pool ===


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


# === Multi-channel convolution, asymmetric padding, dilation ===


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


# === Named kernels ===

# The lectures' kernel table, as the slide prints it.
SLIDE_KERNELS = {
    "edge": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],  # "Edge Detect"
    "strong_edge": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],  # "Strong Edge Detect"
}


@pytest.mark.parametrize("name", list(SLIDE_KERNELS), ids=list(SLIDE_KERNELS))
def test_slide_kernels_are_the_lectures_matrices(name):
    np.testing.assert_array_equal(KERNELS[name].array, SLIDE_KERNELS[name])
    assert KERNELS[name].array.dtype == np.int64


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
    for name in ("edge", "strong_edge", "laplacian_8", "sobel_x", "sobel_y"):
        np.testing.assert_array_equal(apply_kernel(flat, name, padding=0), 0)
    np.testing.assert_array_equal(apply_kernel(flat, "sharpen", padding=0), 7)
    np.testing.assert_array_equal(apply_kernel(ramp, "sobel_x", padding=0), 8 * 3)
    # Only brightness that changes downwards (a horizontal edge) answers.
    for name in ("sobel_y", "strong_edge"):
        np.testing.assert_array_equal(apply_kernel(ramp, name, padding=0), 0)
        np.testing.assert_array_equal(apply_kernel(ramp.T, name, padding=0), 8 * 3)
    # A lone bright pixel: edge answers in 4 directions, laplacian_8 in all 8.
    dot = np.zeros((5, 5), dtype=int)
    dot[2, 2] = 1
    np.testing.assert_array_equal(
        apply_kernel(dot, "edge")[1:4, 1:4], [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    )
    np.testing.assert_array_equal(
        apply_kernel(dot, "laplacian_8")[1:4, 1:4],
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    )
    np.testing.assert_array_equal(
        apply_kernel(image, "sharpen"), image - apply_kernel(image, "edge")
    )
    with pytest.raises(ValueError, match="unknown kernel 'blur'; valid: identity"):
        apply_kernel(image, "blur")


# === Argument validation ===


@pytest.mark.parametrize(
    ("function", "args", "kwargs"),
    [
        (conv2d, (np.ones((3, 3)), np.ones((4, 4))), {}),
        (conv2d, (np.ones((3, 3, 1)), np.ones((2, 2))), {}),
        (conv2d, (np.ones((3, 3, 2)), np.ones((2, 2, 3))), {}),
        (conv2d, (np.ones((3, 3, 2)), np.ones((2, 2, 2, 4))), {"bias": [1, 2]}),
        (conv2d, (np.ones((3, 3)), np.ones((2, 2))), {"padding": (1, 1)}),
        (conv2d, (np.ones((5, 5)), np.ones((3, 3))), {"dilation_rate": 3}),
        (apply_kernel, (np.ones((3, 3)), np.ones((3, 3, 1))), {}),
        (apply_kernel, (np.ones((3, 3, 1, 1)), "edge"), {}),
        (max_pool2d, (np.ones((3, 3)),), {"pool_size": 4}),
    ],
)
def test_functions_reject_invalid_arguments(function, args, kwargs):
    with pytest.raises(ValueError):
        function(*args, **kwargs)
