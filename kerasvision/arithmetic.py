"""The lecture arithmetic of convolutional networks, as small pure functions.

Output sizes, parameter counts and receptive fields follow Keras's conventions, so
every number here can be checked against a real `keras.layers` layer. The numpy
reference operations (`conv2d`, `max_pool2d`, `avg_pool2d`) exist for teaching:
they spell out the sliding window that the Keras layers hide.

This module imports numpy only, so the CLI can use it without loading TensorFlow.

Example:
    >>> conv_output_shape((224, 224, 3), 32, 3)
    (222, 222, 32)
    >>> conv2d_params(3, 3, 32)
    896
    >>> receptive_field([(3, 1), (3, 1)])
    5
    >>> weight_sharing_counts(5, 3, 5)  # the 25^2 -> 13^2 -> 3^2 slide
    WeightSharingCounts(fully_connected=625, locally_connected=169, shared=9)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = [
    "KERNELS",
    "NamedKernel",
    "WeightSharingCounts",
    "apply_kernel",
    "avg_pool2d",
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "cnn_weights",
    "conv2d",
    "conv2d_params",
    "conv_output_shape",
    "conv_output_size",
    "coverage_map",
    "dense_params",
    "depthwise_separable_params",
    "effective_kernel_size",
    "max_pool2d",
    "mlp_weights",
    "pool_output_shape",
    "receptive_field",
    "same_padding",
    "softmax",
    "stacked_receptive_field",
    "weight_sharing_counts",
]

PADDING_MODES = ("valid", "same")


# === Validation helpers ===


def _check_positive_int(value, name: str) -> int:
    # bool is an int subclass; `strides=True` is a bug, not a stride of 1.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _check_non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)


def _pair(value, name: str) -> tuple[int, int]:
    """An int or a (height, width) pair as a validated (height, width) tuple."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(
            f"{name} must be an integer or a (height, width) pair, got {value!r}."
        )
    return (
        _check_positive_int(value[0], name),
        _check_positive_int(value[1], name),
    )


def _check_padding(padding) -> str | int | tuple[int, int]:
    """One axis: "valid", "same", an int per side, or a `(before, after)` pair."""
    if isinstance(padding, str):
        if padding not in PADDING_MODES:
            raise ValueError(
                f"padding must be one of {PADDING_MODES}, a non-negative integer or "
                f"a (before, after) pair, got {padding!r}."
            )
        return padding
    if isinstance(padding, Sequence):
        if len(padding) != 2:
            raise ValueError(
                f"padding of one axis must be (before, after), got {padding!r}."
            )
        return (
            _check_non_negative_int(padding[0], "padding"),
            _check_non_negative_int(padding[1], "padding"),
        )
    return _check_non_negative_int(padding, "padding")


def _check_padding_2d(padding):
    """2-D padding -> a mode string or `((top, bottom), (left, right))`."""
    if isinstance(padding, str):
        return _check_padding(padding)
    if isinstance(padding, Sequence):
        if len(padding) != 4:
            raise ValueError(
                "padding must be 'valid', 'same', an integer or (top, bottom, "
                f"left, right), got {padding!r}."
            )
        top, bottom, left, right = (
            _check_non_negative_int(value, "padding") for value in padding
        )
        return ((top, bottom), (left, right))
    padding = _check_non_negative_int(padding, "padding")
    return ((padding, padding), (padding, padding))


def _axis_pads(
    padding, size: int, kernel_size: int, strides: int, dilation_rate: int
) -> tuple[int, int]:
    """Zero pixels `(before, after)` that a checked one-axis padding adds."""
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        return same_padding(
            size, kernel_size, strides=strides, dilation_rate=dilation_rate
        )
    if isinstance(padding, tuple):
        return padding
    return (padding, padding)


def _check_image_shape(input_shape) -> tuple[int, int, int]:
    if not isinstance(input_shape, Sequence) or len(input_shape) != 3:
        raise ValueError(
            f"input_shape must be (height, width, channels), got {input_shape!r}."
        )
    height, width, channels = input_shape
    return (
        _check_positive_int(height, "input height"),
        _check_positive_int(width, "input width"),
        _check_positive_int(channels, "input channels"),
    )


def _check_matrix(array, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {array.shape}.")
    return array


# === Output sizes ===


def effective_kernel_size(kernel_size: int, dilation_rate: int = 1) -> int:
    """Span of a dilated kernel: `d * (k - 1) + 1` pixels.

    A dilation rate `d` leaves `d - 1` pixels between neighbouring taps, so a
    3-tap kernel with `d = 2` spans 5 pixels while keeping 3 weights.

    Args:
        kernel_size: Number of taps `k` along the axis.
        dilation_rate: Spacing `d` between taps. Defaults to 1.

    Returns:
        The span in input pixels.

    Raises:
        ValueError: If an argument is not a positive integer.

    Example:
        >>> effective_kernel_size(3, 2)
        5
    """
    kernel_size = _check_positive_int(kernel_size, "kernel_size")
    dilation_rate = _check_positive_int(dilation_rate, "dilation_rate")
    return dilation_rate * (kernel_size - 1) + 1


def same_padding(
    size: int, kernel_size: int, *, strides: int = 1, dilation_rate: int = 1
) -> tuple[int, int]:
    """Zero pixels `(before, after)` that Keras's `padding="same"` adds on one axis.

    The total makes the last window end at the input's end:
    `max((ceil(n / s) - 1) * s + k' - n, 0)` with `k'` the effective kernel size.
    An odd total puts the extra pixel after (bottom/right), as TensorFlow does,
    so an even kernel is padded asymmetrically.

    Args:
        size: Input length `n`.
        kernel_size: Kernel length `k`.
        strides: Step `s` between windows. Defaults to 1.
        dilation_rate: Spacing `d` between kernel taps. Defaults to 1.

    Returns:
        `(before, after)`.

    Raises:
        ValueError: If an argument is not a positive integer.

    Example:
        >>> same_padding(5, 3)
        (1, 1)
        >>> same_padding(6, 4)
        (1, 2)
    """
    size = _check_positive_int(size, "size")
    strides = _check_positive_int(strides, "strides")
    span = effective_kernel_size(kernel_size, dilation_rate)
    total = max((-(-size // strides) - 1) * strides + span - size, 0)
    return (total // 2, total - total // 2)


def conv_output_size(
    size: int,
    kernel_size: int,
    *,
    strides: int = 1,
    padding: str | int | Sequence[int] = "valid",
    dilation_rate: int = 1,
) -> int:
    """Length of a convolution's output along one spatial axis.

    With effective kernel `k' = (k - 1) * d + 1`:

    - `"valid"` (no padding): `floor((n - k') / s) + 1`, as Keras computes it.
    - `"same"`: `ceil(n / s)`; Keras pads so the kernel fits, whatever its size.
    - integer `p` (p zero pixels on each side, as in the lectures and PyTorch):
      `floor((n + 2p - k') / s) + 1`.
    - `(before, after)` (asymmetric padding): `floor((n + before + after - k') / s)
      + 1`.

    Pooling windows follow the same formula, so this serves pooling too.

    Args:
        size: Input length `n` (height or width).
        kernel_size: Kernel (or pooling window) length `k`.
        strides: Step `s` between windows. Defaults to 1.
        padding: `"valid"`, `"same"`, a non-negative integer number of zero
            pixels added on each side, or a `(before, after)` pair. Defaults to
            `"valid"`.
        dilation_rate: Spacing `d` between kernel taps. Defaults to 1.

    Returns:
        The output length, at least 1.

    Raises:
        ValueError: If an argument is not a positive integer, `padding` is unknown,
            or the (dilated) kernel does not fit in the (padded) input.

    Example:
        >>> conv_output_size(224, 3)
        222
        >>> conv_output_size(224, 7, strides=2, padding="same")
        112
        >>> conv_output_size(5, 3, padding=1)
        5
        >>> conv_output_size(10, 3, dilation_rate=2)  # spans 5 pixels
        6
    """
    size = _check_positive_int(size, "size")
    strides = _check_positive_int(strides, "strides")
    effective_kernel = effective_kernel_size(kernel_size, dilation_rate)
    padding = _check_padding(padding)
    if padding == "same":
        return -(-size // strides)
    before, after = _axis_pads(padding, size, kernel_size, strides, dilation_rate)
    padded_size = size + before + after
    if effective_kernel > padded_size:
        raise ValueError(
            f"A kernel of effective size {effective_kernel} does not fit in an input "
            f"of size {padded_size} (size {size}, padding {padding!r})."
        )
    return (padded_size - effective_kernel) // strides + 1


def conv_output_shape(
    input_shape: Sequence[int],
    filters: int,
    kernel_size: int | Sequence[int],
    *,
    strides: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = "valid",
    dilation_rate: int | Sequence[int] = 1,
) -> tuple[int, int, int]:
    """Output shape of a `Conv2D` layer on one `(height, width, channels)` image.

    Args:
        input_shape: `(height, width, channels)` of the input, without batch axis.
        filters: Number of output channels.
        kernel_size: An integer or a `(height, width)` pair.
        strides: An integer or a `(height, width)` pair. Defaults to 1.
        padding: `"valid"`, `"same"`, pixels of zero padding on each side, or
            `(top, bottom, left, right)` (as `ZeroPadding2D(((top, bottom),
            (left, right)))` before a "valid" convolution). Defaults to `"valid"`.
        dilation_rate: An integer or a `(height, width)` pair. Defaults to 1.

    Returns:
        `(output_height, output_width, filters)`.

    Raises:
        ValueError: If an argument is invalid or the kernel does not fit.

    Example:
        >>> conv_output_shape((224, 224, 3), 32, 3)
        (222, 222, 32)
    """
    height, width, _ = _check_image_shape(input_shape)
    filters = _check_positive_int(filters, "filters")
    kernel_height, kernel_width = _pair(kernel_size, "kernel_size")
    stride_height, stride_width = _pair(strides, "strides")
    dilation_height, dilation_width = _pair(dilation_rate, "dilation_rate")
    padding = _check_padding_2d(padding)
    rows, cols = (padding, padding) if isinstance(padding, str) else padding
    output_height = conv_output_size(
        height,
        kernel_height,
        strides=stride_height,
        padding=rows,
        dilation_rate=dilation_height,
    )
    output_width = conv_output_size(
        width,
        kernel_width,
        strides=stride_width,
        padding=cols,
        dilation_rate=dilation_width,
    )
    return (output_height, output_width, filters)


def pool_output_shape(
    input_shape: Sequence[int],
    pool_size: int | Sequence[int] = 2,
    *,
    strides: int | Sequence[int] | None = None,
    padding: str = "valid",
) -> tuple[int, int, int]:
    """Output shape of a `MaxPooling2D`/`AveragePooling2D` layer on one image.

    Pooling keeps the channel count; only height and width shrink.

    Args:
        input_shape: `(height, width, channels)` of the input, without batch axis.
        pool_size: An integer or a `(height, width)` pair. Defaults to 2.
        strides: An integer, a `(height, width)` pair, or None for `pool_size`
            (non-overlapping windows, as in Keras). Defaults to None.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.

    Returns:
        `(output_height, output_width, channels)`.

    Raises:
        ValueError: If an argument is invalid or the window does not fit.

    Example:
        >>> pool_output_shape((222, 222, 32))
        (111, 111, 32)
    """
    height, width, channels = _check_image_shape(input_shape)
    pool_height, pool_width = _pair(pool_size, "pool_size")
    if strides is None:
        strides = (pool_height, pool_width)
    stride_height, stride_width = _pair(strides, "strides")
    if padding not in PADDING_MODES:
        raise ValueError(f"padding must be one of {PADDING_MODES}, got {padding!r}.")
    output_height = conv_output_size(
        height, pool_height, strides=stride_height, padding=padding
    )
    output_width = conv_output_size(
        width, pool_width, strides=stride_width, padding=padding
    )
    return (output_height, output_width, channels)


# === Parameter counts ===


def conv2d_params(
    kernel_size: int | Sequence[int],
    in_channels: int,
    filters: int,
    *,
    use_bias: bool = True,
) -> int:
    """Number of trainable parameters of a `Conv2D` layer.

    Each of the `filters` kernels spans all input channels:
    `k_h * k_w * C_in * C_out` weights, plus one bias per filter.

    Args:
        kernel_size: An integer or a `(height, width)` pair.
        in_channels: Number of input channels `C_in`.
        filters: Number of output channels `C_out`.
        use_bias: Whether to count one bias per filter. Defaults to True.

    Returns:
        The parameter count, as `Conv2D(...).count_params()` reports it.

    Raises:
        ValueError: If a size is not a positive integer.

    Example:
        >>> conv2d_params(3, 3, 32)
        896
        >>> conv2d_params(3, 3, 32, use_bias=False)
        864
    """
    kernel_height, kernel_width = _pair(kernel_size, "kernel_size")
    in_channels = _check_positive_int(in_channels, "in_channels")
    filters = _check_positive_int(filters, "filters")
    weights = kernel_height * kernel_width * in_channels * filters
    return weights + (filters if use_bias else 0)


def depthwise_separable_params(
    kernel_size: int | Sequence[int],
    in_channels: int,
    filters: int,
    *,
    depth_multiplier: int = 1,
    use_bias: bool = True,
) -> int:
    """Number of trainable parameters of a `SeparableConv2D` layer.

    A depthwise `k x k` convolution per input channel (`k^2 * C_in * m` weights)
    followed by a pointwise `1 x 1` convolution (`C_in * m * C_out` weights), plus
    one bias per output filter, as Keras counts it.

    Args:
        kernel_size: An integer or a `(height, width)` pair for the depthwise step.
        in_channels: Number of input channels `C_in`.
        filters: Number of output channels `C_out` of the pointwise step.
        depth_multiplier: Depthwise output channels per input channel `m`.
            Defaults to 1.
        use_bias: Whether to count one bias per output filter. Defaults to True.

    Returns:
        The parameter count, as `SeparableConv2D(...).count_params()` reports it.

    Raises:
        ValueError: If a size is not a positive integer.

    Example:
        >>> depthwise_separable_params(3, 32, 64, use_bias=False)  # 288 + 2048
        2336
    """
    kernel_height, kernel_width = _pair(kernel_size, "kernel_size")
    in_channels = _check_positive_int(in_channels, "in_channels")
    filters = _check_positive_int(filters, "filters")
    depth_multiplier = _check_positive_int(depth_multiplier, "depth_multiplier")
    depthwise_weights = kernel_height * kernel_width * in_channels * depth_multiplier
    pointwise_weights = in_channels * depth_multiplier * filters
    biases = filters if use_bias else 0
    return depthwise_weights + pointwise_weights + biases


def dense_params(in_features: int, units: int, *, use_bias: bool = True) -> int:
    """Number of trainable parameters of a `Dense` layer.

    Args:
        in_features: Size of the input vector.
        units: Number of output units.
        use_bias: Whether to count one bias per unit. Defaults to True.

    Returns:
        `in_features * units (+ units)`.

    Raises:
        ValueError: If a size is not a positive integer.

    Example:
        >>> dense_params(784, 256, use_bias=False)
        200704
    """
    in_features = _check_positive_int(in_features, "in_features")
    units = _check_positive_int(units, "units")
    return in_features * units + (units if use_bias else 0)


def mlp_weights(layer_sizes: Sequence[int], *, use_bias: bool = False) -> int:
    """Number of parameters of a fully connected network (multilayer perceptron).

    Args:
        layer_sizes: Sizes from input to output, e.g. `(784, 256, 32, 32, 10)`.
        use_bias: Whether to count biases. Defaults to False, because the lecture
            comparisons count connection weights only.

    Returns:
        The sum of `dense_params` over consecutive pairs of sizes.

    Raises:
        ValueError: If fewer than two sizes are given or a size is not positive.

    Example:
        >>> mlp_weights((784, 256, 32, 32, 10))
        210240
    """
    layer_sizes = list(layer_sizes)
    if len(layer_sizes) < 2:
        raise ValueError(
            f"layer_sizes needs an input and an output size, got {layer_sizes!r}."
        )
    return sum(
        dense_params(in_features, units, use_bias=use_bias)
        for in_features, units in itertools.pairwise(layer_sizes)
    )


def cnn_weights(
    input_shape: Sequence[int],
    conv_filters: Sequence[int],
    *,
    kernel_size: int | Sequence[int] = 3,
    padding: str | int = "same",
    pool_size: int | None = 2,
    dense_units: Sequence[int] = (),
    num_classes: int = 10,
    use_bias: bool = False,
) -> int:
    """Number of parameters of a classic `[conv -> pool] x N -> dense` classifier.

    The architecture is: for each stage, `Conv2D(filters, kernel_size)` followed
    by `MaxPooling2D(pool_size)`; then `Flatten`, the hidden `Dense` layers of
    `dense_units`, and a `Dense(num_classes)` output. Activations and pooling
    add no parameters.

    Args:
        input_shape: `(height, width, channels)` of the input image.
        conv_filters: Filters of each convolution stage, e.g. `(9, 16)`.
        kernel_size: One square kernel size for every stage, or one per stage.
            Defaults to 3.
        padding: Convolution padding, `"valid"`, `"same"` or pixels per side.
            Defaults to `"same"`.
        pool_size: Square max-pooling window (and stride) after each convolution,
            or None for no pooling. Defaults to 2.
        dense_units: Hidden dense layer sizes after flattening. Defaults to ().
        num_classes: Units of the output layer. Defaults to 10.
        use_bias: Whether to count biases. Defaults to False, because the lecture
            comparisons count connection weights only.

    Returns:
        The total parameter count of the network.

    Raises:
        ValueError: If an argument is invalid or a feature map shrinks below
            the kernel or pooling window.

    Example:
        >>> cnn_weights((28, 28, 1), (9, 16), kernel_size=5)  # 225 + 3600 + 7840
        11665
    """
    height, width, channels = _check_image_shape(input_shape)
    conv_filters = list(conv_filters)
    if isinstance(kernel_size, Sequence):
        kernel_sizes = list(kernel_size)
        if len(kernel_sizes) != len(conv_filters):
            raise ValueError(
                f"kernel_size has {len(kernel_sizes)} entries for "
                f"{len(conv_filters)} convolution stages."
            )
    else:
        kernel_sizes = [kernel_size] * len(conv_filters)

    total = 0
    for filters, stage_kernel_size in zip(conv_filters, kernel_sizes, strict=True):
        total += conv2d_params(stage_kernel_size, channels, filters, use_bias=use_bias)
        height, width, channels = conv_output_shape(
            (height, width, channels), filters, stage_kernel_size, padding=padding
        )
        if pool_size is not None:
            height, width, channels = pool_output_shape(
                (height, width, channels), pool_size
            )
    flat_features = height * width * channels
    return total + mlp_weights(
        (flat_features, *dense_units, num_classes), use_bias=use_bias
    )


# === Receptive field ===


def receptive_field(layers: Sequence[Sequence[int]]) -> int:
    """Receptive field size of one output unit of a stack of conv/pool layers.

    Uses the standard recurrence, starting from `r = 1` and `jump = 1` (the
    distance, in input pixels, between neighbouring units of the current layer):
    `r += (k - 1) * d * jump; jump *= s`. Padding shifts the window but does not
    change its size.

    Args:
        layers: One `(kernel_size, stride)` or `(kernel_size, stride, dilation)`
            item per layer, from input to output. Pooling layers count as layers
            with `kernel_size = pool_size`.

    Returns:
        Side length, in input pixels, of the window one output unit depends on.

    Raises:
        ValueError: If an item does not have 2 or 3 positive integers.

    Example:
        >>> receptive_field([(3, 1), (3, 1), (3, 1)])
        7
        >>> receptive_field([(3, 1), (2, 2), (3, 1)])
        8
    """
    size = 1
    jump = 1
    for layer in layers:
        if not isinstance(layer, Sequence) or len(layer) not in (2, 3):
            raise ValueError(
                "Each layer must be (kernel_size, stride) or "
                f"(kernel_size, stride, dilation), got {layer!r}."
            )
        kernel_size = _check_positive_int(layer[0], "kernel_size")
        stride = _check_positive_int(layer[1], "stride")
        dilation = _check_positive_int(layer[2], "dilation") if len(layer) == 3 else 1
        size += (kernel_size - 1) * dilation * jump
        jump *= stride
    return size


def stacked_receptive_field(
    num_layers: int, kernel_size: int = 3, *, dilation_rate: int = 1
) -> int:
    """Receptive field of `num_layers` stacked stride-1 `k x k` convolutions.

    Equals `1 + num_layers * (k' - 1)` with `k' = d * (k - 1) + 1`: two 3x3
    convolutions see 5x5, three see 7x7, with fewer weights than one 5x5 or 7x7
    convolution; with dilation 2, two 3x3 convolutions see 9x9.

    Args:
        num_layers: Number of stacked convolutions.
        kernel_size: Side of each square kernel. Defaults to 3.
        dilation_rate: Dilation `d` of every convolution. Defaults to 1.

    Returns:
        Side length of the receptive field in input pixels.

    Raises:
        ValueError: If an argument is not a positive integer.

    Example:
        >>> stacked_receptive_field(2)
        5
        >>> stacked_receptive_field(2, dilation_rate=2)
        9
    """
    num_layers = _check_positive_int(num_layers, "num_layers")
    return receptive_field([(kernel_size, 1, dilation_rate)] * num_layers)


# === Coverage and weight sharing ===


def _axis_coverage(
    size: int, kernel_size: int, strides: int, pads: tuple[int, int], dilation: int
) -> np.ndarray:
    """How many windows' taps land on each of `size` input pixels along one axis."""
    outputs = conv_output_size(
        size, kernel_size, strides=strides, padding=pads, dilation_rate=dilation
    )
    taps = (
        np.arange(outputs)[:, None] * strides
        + np.arange(kernel_size)[None, :] * dilation
        - pads[0]
    )
    taps = taps[(taps >= 0) & (taps < size)]
    return np.bincount(taps, minlength=size).astype(np.int64)


def _axis_arguments(input_size, kernel_size, strides, padding, dilation_rate):
    """Validated per-axis (size, kernel, stride, (before, after), dilation)."""
    sizes = _pair(input_size, "input_size")
    kernels = _pair(kernel_size, "kernel_size")
    stride_pair = _pair(strides, "strides")
    dilations = _pair(dilation_rate, "dilation_rate")
    padding = _check_padding_2d(padding)
    axes = []
    for axis in (0, 1):
        axis_padding = padding if isinstance(padding, str) else padding[axis]
        pads = _axis_pads(
            axis_padding,
            sizes[axis],
            kernels[axis],
            stride_pair[axis],
            dilations[axis],
        )
        axes.append(
            (sizes[axis], kernels[axis], stride_pair[axis], pads, dilations[axis])
        )
    return axes


def coverage_map(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    *,
    strides: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation_rate: int | Sequence[int] = 1,
) -> np.ndarray:
    """How many times the sliding window covers each input pixel.

    Without padding a corner pixel is seen by one window and a central one by up
    to `k * k`: the border takes part in fewer outputs, which is one reason to
    pad. With dilation only the taps count, not the holes between them. The
    count of a pixel is also the number of weights that read it in a locally
    connected layer, and the sum of the map is that layer's weight count.

    Args:
        input_size: An integer or an `(height, width)` pair.
        kernel_size: An integer or a `(height, width)` pair.
        strides: An integer or a `(height, width)` pair. Defaults to 1.
        padding: An integer (each side), `(top, bottom, left, right)`, `"valid"`
            or `"same"` (Keras's). Padded pixels are not part of the map.
            Defaults to 0.
        dilation_rate: An integer or a `(height, width)` pair. Defaults to 1.

    Returns:
        int64 array `(height, width)` of counts.

    Raises:
        ValueError: If an argument is invalid or the kernel does not fit.

    Example:
        >>> coverage_map(5, 3)[0].tolist()
        [1, 2, 3, 2, 1]
        >>> coverage_map(5, 3, padding=1)[0].tolist()
        [4, 6, 6, 6, 4]
    """
    rows, cols = (
        _axis_coverage(*axis)
        for axis in _axis_arguments(
            input_size, kernel_size, strides, padding, dilation_rate
        )
    )
    # Windows are products of a row range and a column range, so are the counts.
    return np.outer(rows, cols)


class WeightSharingCounts(NamedTuple):
    """Weights of one layer mapping an input grid to an output grid, three ways.

    Attributes:
        fully_connected: Every input pixel to every output unit (a `Dense`
            layer on the flattened grids).
        locally_connected: Every output unit to the real input pixels under its
            own window, each connection with its own weight (zero padding
            carries no weights).
        shared: One kernel slid over the grid (a `Conv2D` kernel).
    """

    fully_connected: int
    locally_connected: int
    shared: int


def weight_sharing_counts(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    output_size: int | Sequence[int],
    *,
    strides: int | Sequence[int] = 1,
    dilation_rate: int | Sequence[int] = 1,
    in_channels: int = 1,
    filters: int = 1,
) -> WeightSharingCounts:
    """Weight counts of full connectivity, local connectivity and weight sharing.

    The lectures' 5x5 -> 5x5 example with a 3x3 window: fully connected
    `25 * 25 = 625` weights; locally connected `13 * 13 = 169` (per axis the five
    windows see 2 + 3 + 3 + 3 + 2 = 13 real pixels, the border windows hang over
    the padding); shared `3 * 3 = 9`. The padding is the least that gives
    `output_size`, split as Keras's `"same"` does (extra pixel after); biases are
    not counted.

    Args:
        input_size: An integer or an `(height, width)` pair.
        kernel_size: An integer or a `(height, width)` pair.
        output_size: An integer or an `(height, width)` pair.
        strides: An integer or a `(height, width)` pair. Defaults to 1.
        dilation_rate: An integer or a `(height, width)` pair. Defaults to 1.
        in_channels: Input channels (every count scales with them). Defaults
            to 1.
        filters: Output channels (every count scales with them). Defaults to 1.

    Returns:
        `WeightSharingCounts(fully_connected, locally_connected, shared)`.

    Raises:
        ValueError: If an argument is invalid, or no padding between none and
            `k' - 1` pixels per side gives `output_size`.

    Example:
        >>> weight_sharing_counts(5, 3, 5)
        WeightSharingCounts(fully_connected=625, locally_connected=169, shared=9)
        >>> weight_sharing_counts(5, 3, 3)  # no padding
        WeightSharingCounts(fully_connected=225, locally_connected=81, shared=9)
    """
    sizes = _pair(input_size, "input_size")
    outputs = _pair(output_size, "output_size")
    kernels = _pair(kernel_size, "kernel_size")
    stride_pair = _pair(strides, "strides")
    dilations = _pair(dilation_rate, "dilation_rate")
    in_channels = _check_positive_int(in_channels, "in_channels")
    filters = _check_positive_int(filters, "filters")
    coverage = []
    for axis in range(2):
        size, kernel, stride, dilation = (
            sizes[axis],
            kernels[axis],
            stride_pair[axis],
            dilations[axis],
        )
        span = effective_kernel_size(kernel, dilation)
        total = max((outputs[axis] - 1) * stride + span - size, 0)
        pads = (total // 2, total - total // 2)
        if total > 2 * (span - 1) or (
            conv_output_size(
                size, kernel, strides=stride, padding=pads, dilation_rate=dilation
            )
            != outputs[axis]
        ):
            raise ValueError(
                f"no padding gives an output of {outputs[axis]} from an input of "
                f"{size} with kernel {kernel}, stride {stride}, dilation {dilation}."
            )
        coverage.append(_axis_coverage(size, kernel, stride, pads, dilation))
    channels = in_channels * filters
    return WeightSharingCounts(
        fully_connected=math.prod(sizes) * math.prod(outputs) * channels,
        locally_connected=int(coverage[0].sum() * coverage[1].sum()) * channels,
        shared=math.prod(kernels) * channels,
    )


# === Numpy reference operations ===


def conv2d(
    image,
    kernel,
    *,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    bias=0,
    dilation_rate: int | Sequence[int] = 1,
) -> np.ndarray:
    """2-D convolution as deep learning defines it, on one or several channels.

    Deep learning's "convolution" is cross-correlation: the kernel slides over the
    image unflipped, and each output is the sum of the elementwise product of the
    kernel and the window under it. This is what `keras.layers.Conv2D` computes.

    Shapes (Keras's channels-last layout):

    - image `(H, W)`, kernel `(kh, kw)`: one map `(H', W')`.
    - image `(H, W, C)`, kernel `(kh, kw, C)`: one kernel slice per input channel,
      the C channel results summed, plus `bias`: one map `(H', W')` (the
      lectures' RGB example, one filter).
    - image `(H, W, C)`, kernel `(kh, kw, C, F)` (a `Conv2D` kernel): F maps
      `(H', W', F)`, `bias` a scalar or one value per filter.

    Args:
        image: `(height, width)` or `(height, width, channels)` array.
        kernel: `(kh, kw)`, `(kh, kw, channels)` or `(kh, kw, channels, filters)`.
        stride: Step between windows: an integer or a `(height, width)` pair.
            Defaults to 1.
        padding: Zero pixels added before sliding: an integer (each side),
            `(top, bottom, left, right)`, `"valid"` (none) or `"same"` (Keras's
            padding, see `same_padding`). Defaults to 0.
        bias: Added to every output: a scalar, or `(filters,)` for a 4-D kernel.
            Defaults to 0.
        dilation_rate: Spacing between kernel taps: an integer or a
            `(height, width)` pair. Defaults to 1.

    Returns:
        Array of spatial shape given by `conv_output_size`, in the inputs' common
        dtype (integer inputs give exact integer outputs).

    Raises:
        ValueError: If the shapes do not match as listed, an argument is invalid,
            or the kernel does not fit in the padded image.

    Example:
        >>> conv2d(np.eye(3, dtype=int), np.ones((2, 2), dtype=int)).tolist()
        [[2, 1], [1, 2]]
        >>> rgb = np.ones((3, 3, 3), dtype=int)
        >>> conv2d(rgb, np.ones((2, 2, 3), dtype=int), bias=1).tolist()
        [[13, 13], [13, 13]]
    """
    image = np.asarray(image)
    kernel = np.asarray(kernel)
    if image.ndim == 2 and kernel.ndim == 2:
        subscripts = "ijkl,kl->ij"
    elif (
        image.ndim == 3 and kernel.ndim in (3, 4) and kernel.shape[2] == image.shape[2]
    ):
        subscripts = "ijckl,klc->ij" if kernel.ndim == 3 else "ijckl,klcf->ijf"
    else:
        raise ValueError(
            "conv2d takes an (H, W) image with a (kh, kw) kernel, or an (H, W, C) "
            "image with a (kh, kw, C) or (kh, kw, C, filters) kernel; got image "
            f"{image.shape} and kernel {kernel.shape}."
        )
    strides = _pair(stride, "stride")
    dilations = _pair(dilation_rate, "dilation_rate")
    padding = _check_padding_2d(padding)
    pads = []
    for axis in (0, 1):
        axis_padding = padding if isinstance(padding, str) else padding[axis]
        pads.append(
            _axis_pads(
                axis_padding,
                image.shape[axis],
                kernel.shape[axis],
                strides[axis],
                dilations[axis],
            )
        )
        # Validates that the kernel fits before numpy raises a vaguer error.
        conv_output_size(
            image.shape[axis],
            kernel.shape[axis],
            strides=strides[axis],
            padding=pads[axis],
            dilation_rate=dilations[axis],
        )
    bias = np.asarray(bias)
    filters = kernel.shape[3] if kernel.ndim == 4 else None
    if bias.shape not in ((), (filters,)):
        raise ValueError(
            f"bias must be a scalar{' or ' + str((filters,)) if filters else ''}, "
            f"got shape {bias.shape}."
        )
    spans = tuple(
        effective_kernel_size(kernel.shape[axis], dilations[axis]) for axis in (0, 1)
    )
    padded = np.pad(image, pads + [(0, 0)] * (image.ndim - 2))
    windows = np.lib.stride_tricks.sliding_window_view(padded, spans, axis=(0, 1))
    windows = windows[
        :: strides[0], :: strides[1], ..., :: dilations[0], :: dilations[1]
    ]
    return np.einsum(subscripts, windows, kernel) + bias


def _pool2d(x, pool_size: int, stride: int | None, reduce) -> np.ndarray:
    x = _check_matrix(x, "x")
    pool_size = _check_positive_int(pool_size, "pool_size")
    stride = pool_size if stride is None else _check_positive_int(stride, "stride")
    for axis in (0, 1):
        conv_output_size(x.shape[axis], pool_size, strides=stride)
    windows = np.lib.stride_tricks.sliding_window_view(x, (pool_size, pool_size))
    return reduce(windows[::stride, ::stride], axis=(2, 3))


def max_pool2d(x, pool_size: int = 2, *, stride: int | None = None) -> np.ndarray:
    """Single-channel 2-D max pooling without padding (Keras `"valid"`).

    Args:
        x: 2-D array `(height, width)`.
        pool_size: Side of the square window. Defaults to 2.
        stride: Step between windows, or None for `pool_size` (non-overlapping).
            Defaults to None.

    Returns:
        2-D array of window maxima; rows/columns that do not fill a window are
        dropped, as in Keras.

    Raises:
        ValueError: If `x` is not 2-D or the window does not fit.

    Example:
        >>> max_pool2d(np.array([[1, 2], [3, 4]])).tolist()
        [[4]]
    """
    return _pool2d(x, pool_size, stride, np.max)


def avg_pool2d(x, pool_size: int = 2, *, stride: int | None = None) -> np.ndarray:
    """Single-channel 2-D average pooling without padding (Keras `"valid"`).

    Args:
        x: 2-D array `(height, width)`.
        pool_size: Side of the square averaging window. Defaults to 2.
        stride: Step between windows; None means `pool_size`, windows that do
            not overlap. Defaults to None.

    Returns:
        2-D float array of window means (incomplete windows dropped).

    Raises:
        ValueError: If `x` is not 2-D or the window is larger than `x`.

    Example:
        >>> avg_pool2d(np.array([[1, 2], [3, 4]])).tolist()
        [[2.5]]
    """
    return _pool2d(x, pool_size, stride, np.mean)


# === Named kernels ===


@dataclass(frozen=True)
class NamedKernel:
    """A classic 3x3 image-processing kernel.

    Attributes:
        weights: Rows of the kernel, applied unflipped (cross-correlation).
        description: One line for help texts.
    """

    weights: tuple[tuple[int, ...], ...]
    description: str

    @property
    def array(self) -> np.ndarray:
        """The weights as a new int64 array."""
        return np.array(self.weights, dtype=np.int64)


#: name -> kernel, as in the lectures' kernel table.
KERNELS: dict[str, NamedKernel] = {
    "identity": NamedKernel(
        ((0, 0, 0), (0, 1, 0), (0, 0, 0)), "returns the image unchanged"
    ),
    "sharpen": NamedKernel(
        ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
        "image plus its 4-neighbour edges: crisper detail (weights sum to 1)",
    ),
    "edge": NamedKernel(
        ((0, -1, 0), (-1, 4, -1), (0, -1, 0)),
        "4-neighbour Laplacian: responds to edges, 0 on flat areas",
    ),
    "strong_edge": NamedKernel(
        ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)),
        "8-neighbour Laplacian: stronger edges in every direction",
    ),
    "sobel_x": NamedKernel(
        ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),
        "Sobel horizontal gradient: positive where brightness grows to the right",
    ),
    "sobel_y": NamedKernel(
        ((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
        "Sobel vertical gradient: positive where brightness grows downwards",
    ),
}


def apply_kernel(
    image, kernel, *, padding: str | int | Sequence[int] = "same"
) -> np.ndarray:
    """Filter an image with a named (or given) 2-D kernel, channel by channel.

    Each channel is filtered on its own with the same kernel (as an image editor
    does; a `DepthwiseConv2D`), unlike `conv2d`'s sum over channels. Values are
    not clipped: edge kernels give negative responses.

    Args:
        image: `(height, width)` or `(height, width, channels)` array.
        kernel: A key of `KERNELS` or a 2-D array.
        padding: As for `conv2d`. Defaults to `"same"` (zero padding that keeps
            the size).

    Returns:
        The filtered array, the image's shape with "same" padding, in the inputs'
        common dtype (an integer image gives exact integers).

    Raises:
        ValueError: On an unknown kernel name (the message lists the valid
            ones), a kernel that is not 2-D, or an image that is not 2-D or 3-D.

    Example:
        >>> ramp = np.tile(np.arange(5), (5, 1))
        >>> apply_kernel(ramp, "sobel_x", padding="valid").tolist()
        [[8, 8, 8], [8, 8, 8], [8, 8, 8]]
    """
    if isinstance(kernel, str):
        named = KERNELS.get(kernel)
        if named is None:
            raise ValueError(f"unknown kernel {kernel!r}; valid: {', '.join(KERNELS)}")
        kernel = named.array
    kernel = _check_matrix(kernel, "kernel")
    image = np.asarray(image)
    if image.ndim == 2:
        return conv2d(image, kernel, padding=padding)
    if image.ndim != 3:
        raise ValueError(
            f"image must be (height, width) or (height, width, channels), got shape "
            f"{image.shape}."
        )
    return np.stack(
        [
            conv2d(image[:, :, channel], kernel, padding=padding)
            for channel in range(image.shape[2])
        ],
        axis=-1,
    )


# === Loss ===


def binary_cross_entropy(p, y, *, base: float = math.e):
    """Binary cross-entropy `-(y log p + (1 - y) log(1 - p))` in a chosen log base.

    The natural log (the default) matches `keras.losses.binary_crossentropy`;
    `base=10` reproduces lecture slides that compute BCE(0.73, 1) = 0.137.
    Unlike Keras, probabilities are not clipped, so `p = 0` with `y = 1` is `inf`
    and a confident correct prediction costs exactly 0.

    Args:
        p: Predicted probability of the positive class, scalar or array in [0, 1].
        y: Target, scalar or array in [0, 1] (soft labels allowed).
        base: Base of the logarithm, positive and not 1. Defaults to `math.e`.

    Returns:
        A float for scalar inputs, else an array of elementwise losses (no mean).

    Raises:
        ValueError: If `p` or `y` lies outside [0, 1] or `base` is invalid.

    Example:
        >>> round(binary_cross_entropy(0.73, 1, base=10), 3)
        0.137
    """
    if not base > 0 or base == 1:
        raise ValueError(f"base must be positive and not 1, got {base!r}.")
    probability = np.asarray(p, dtype="float64")
    target = np.asarray(y, dtype="float64")
    for name, value in (("p", probability), ("y", target)):
        if np.any((value < 0) | (value > 1)) or np.any(np.isnan(value)):
            raise ValueError(f"{name} must lie in [0, 1], got {value!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        # A zero-weight term contributes 0 even where its log is -inf (0 log 0 = 0).
        positive = np.where(target > 0, target * np.log(probability), 0.0)
        negative = np.where(target < 1, (1 - target) * np.log1p(-probability), 0.0)
    # + 0.0 turns the -0.0 of a zero loss into 0.0.
    loss = -(positive + negative) / math.log(base) + 0.0
    return float(loss) if loss.ndim == 0 else loss


def softmax(logits, *, axis: int = -1) -> np.ndarray:
    """Softmax `exp(z_i) / sum_j exp(z_j)`: logits to class probabilities.

    Computed as `exp(z - max z)`, so large logits do not overflow; the result is
    the same because softmax ignores a constant added to every logit.

    Args:
        logits: Array of real scores, classes along `axis`.
        axis: Class axis. Defaults to -1.

    Returns:
        float64 array of the logits' shape; every slice along `axis` sums to 1.

    Raises:
        ValueError: If a logit is NaN or infinite, or the array is empty.

    Example:
        >>> softmax([2.0, 1.0, 0.1]).round(3).tolist()
        [0.659, 0.242, 0.099]
    """
    logits = np.asarray(logits, dtype="float64")
    if logits.size == 0 or not np.all(np.isfinite(logits)):
        raise ValueError(f"logits must be finite and non-empty, got {logits!r}.")
    shifted = np.exp(logits - np.max(logits, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def categorical_cross_entropy(p, y, *, base: float = math.e):
    """Categorical cross-entropy `-sum_k y_k log p_k` in a chosen log base.

    The natural log (the default) matches `keras.losses.categorical_crossentropy`
    (and `sparse_categorical_crossentropy` for integer labels). For a one-hot
    target it is `-log p` of the true class. As in `binary_cross_entropy`,
    probabilities are not clipped: a zero probability for the true class is
    `inf`, a certain correct prediction costs exactly 0, and `0 log 0 = 0`.

    Args:
        p: Class probabilities, classes on the last axis, each row summing to 1
            (e.g. from `softmax`).
        y: Targets of `p`'s shape (one-hot or soft, in [0, 1]), or integer class
            indices of shape `p.shape[:-1]`.
        base: Base of the logarithm, positive and not 1. Defaults to `math.e`.

    Returns:
        A float for one distribution, else an array of per-row losses (no mean).

    Raises:
        ValueError: If `p` is outside [0, 1] or a row does not sum to 1, `y` has
            neither form, a class index is out of range, or `base` is invalid.

    Example:
        >>> round(categorical_cross_entropy([0.7, 0.2, 0.1], [1, 0, 0]), 4)
        0.3567
        >>> round(categorical_cross_entropy([0.7, 0.2, 0.1], 0, base=2), 4)
        0.5146
    """
    if not base > 0 or base == 1:
        raise ValueError(f"base must be positive and not 1, got {base!r}.")
    probability = np.asarray(p, dtype="float64")
    if probability.ndim == 0 or probability.shape[-1] == 0:
        raise ValueError(f"p needs a class axis, got shape {probability.shape}.")
    if np.any((probability < 0) | (probability > 1)) or np.any(np.isnan(probability)):
        raise ValueError(f"p must lie in [0, 1], got {probability!r}.")
    if not np.allclose(probability.sum(axis=-1), 1.0, rtol=0, atol=1e-6):
        raise ValueError(
            f"every row of p must sum to 1, got sums {probability.sum(axis=-1)!r}."
        )
    classes = probability.shape[-1]
    target = np.asarray(y)
    if target.shape == probability.shape[:-1] and (
        np.issubdtype(target.dtype, np.integer) or target.dtype == bool
    ):
        if np.any((target < 0) | (target >= classes)):
            raise ValueError(
                f"class indices must be in [0, {classes}), got {target!r}."
            )
        target = np.eye(classes)[target]
    elif target.shape != probability.shape:
        raise ValueError(
            f"y must have p's shape {probability.shape} or be integer class indices "
            f"of shape {probability.shape[:-1]}, got shape {target.shape}."
        )
    target = target.astype("float64")
    if np.any((target < 0) | (target > 1)) or np.any(np.isnan(target)):
        raise ValueError(f"y must lie in [0, 1], got {target!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(target > 0, target * np.log(probability), 0.0)
    # + 0.0 turns the -0.0 of a zero loss into 0.0.
    loss = -np.sum(terms, axis=-1) / math.log(base) + 0.0
    return float(loss) if loss.ndim == 0 else loss
