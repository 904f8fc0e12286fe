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
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "avg_pool2d",
    "binary_cross_entropy",
    "cnn_weights",
    "conv2d",
    "conv2d_params",
    "conv_output_shape",
    "conv_output_size",
    "dense_params",
    "depthwise_separable_params",
    "max_pool2d",
    "mlp_weights",
    "pool_output_shape",
    "receptive_field",
    "stacked_receptive_field",
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


def _check_padding(padding) -> str | int:
    if isinstance(padding, str):
        if padding not in PADDING_MODES:
            raise ValueError(
                f"padding must be one of {PADDING_MODES} or a non-negative integer, "
                f"got {padding!r}."
            )
        return padding
    return _check_non_negative_int(padding, "padding")


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


def conv_output_size(
    size: int,
    kernel_size: int,
    *,
    strides: int = 1,
    padding: str | int = "valid",
    dilation_rate: int = 1,
) -> int:
    """Length of a convolution's output along one spatial axis.

    With effective kernel `k' = (k - 1) * d + 1`:

    - `"valid"` (no padding): `floor((n - k') / s) + 1`, as Keras computes it.
    - `"same"`: `ceil(n / s)`; Keras pads so the kernel fits, whatever its size.
    - integer `p` (p zero pixels on each side, as in the lectures and PyTorch):
      `floor((n + 2p - k') / s) + 1`.

    Pooling windows follow the same formula, so this serves pooling too.

    Args:
        size: Input length `n` (height or width).
        kernel_size: Kernel (or pooling window) length `k`.
        strides: Step `s` between windows. Defaults to 1.
        padding: `"valid"`, `"same"`, or a non-negative integer number of zero
            pixels added on each side. Defaults to `"valid"`.
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
    """
    size = _check_positive_int(size, "size")
    kernel_size = _check_positive_int(kernel_size, "kernel_size")
    strides = _check_positive_int(strides, "strides")
    dilation_rate = _check_positive_int(dilation_rate, "dilation_rate")
    padding = _check_padding(padding)
    if padding == "same":
        return -(-size // strides)
    effective_kernel = (kernel_size - 1) * dilation_rate + 1
    padded_size = size if padding == "valid" else size + 2 * padding
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
    padding: str | int = "valid",
    dilation_rate: int | Sequence[int] = 1,
) -> tuple[int, int, int]:
    """Output shape of a `Conv2D` layer on one `(height, width, channels)` image.

    Args:
        input_shape: `(height, width, channels)` of the input, without batch axis.
        filters: Number of output channels.
        kernel_size: An integer or a `(height, width)` pair.
        strides: An integer or a `(height, width)` pair. Defaults to 1.
        padding: `"valid"`, `"same"`, or pixels of zero padding on each side.
            Defaults to `"valid"`.
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
    output_height = conv_output_size(
        height,
        kernel_height,
        strides=stride_height,
        padding=padding,
        dilation_rate=dilation_height,
    )
    output_width = conv_output_size(
        width,
        kernel_width,
        strides=stride_width,
        padding=padding,
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


def stacked_receptive_field(num_layers: int, kernel_size: int = 3) -> int:
    """Receptive field of `num_layers` stacked stride-1 `k x k` convolutions.

    Equals `1 + num_layers * (k - 1)`: two 3x3 convolutions see 5x5, three see
    7x7, with fewer weights than one 5x5 or 7x7 convolution.

    Args:
        num_layers: Number of stacked convolutions.
        kernel_size: Side of each square kernel. Defaults to 3.

    Returns:
        Side length of the receptive field in input pixels.

    Raises:
        ValueError: If an argument is not a positive integer.

    Example:
        >>> stacked_receptive_field(2)
        5
    """
    num_layers = _check_positive_int(num_layers, "num_layers")
    return receptive_field([(kernel_size, 1)] * num_layers)


# === Numpy reference operations ===


def conv2d(image, kernel, *, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Single-channel 2-D convolution as deep learning defines it.

    Deep learning's "convolution" is cross-correlation: the kernel slides over the
    image unflipped, and each output is the sum of the elementwise product of the
    kernel and the window under it. This is what `keras.layers.Conv2D` computes.

    Args:
        image: 2-D array `(height, width)`.
        kernel: 2-D array `(kernel_height, kernel_width)`.
        stride: Step between windows, both axes. Defaults to 1.
        padding: Zero pixels added on each side before sliding. Defaults to 0.

    Returns:
        2-D array of shape given by `conv_output_size`, in the inputs' common
        dtype (integer inputs give exact integer outputs).

    Raises:
        ValueError: If an input is not 2-D, an argument is invalid, or the kernel
            does not fit in the padded image.

    Example:
        >>> conv2d(np.eye(3, dtype=int), np.ones((2, 2), dtype=int)).tolist()
        [[2, 1], [1, 2]]
    """
    image = _check_matrix(image, "image")
    kernel = _check_matrix(kernel, "kernel")
    stride = _check_positive_int(stride, "stride")
    padding = _check_non_negative_int(padding, "padding")
    for axis in (0, 1):
        # Validates that the kernel fits before numpy raises a vaguer error.
        conv_output_size(
            image.shape[axis], kernel.shape[axis], strides=stride, padding=padding
        )
    padded = np.pad(image, padding)
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape)
    windows = windows[::stride, ::stride]
    return np.einsum("ijkl,kl->ij", windows, kernel)


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
        pool_size: Side of the square window. Defaults to 2.
        stride: Step between windows, or None for `pool_size` (non-overlapping).
            Defaults to None.

    Returns:
        2-D float array of window means.

    Raises:
        ValueError: If `x` is not 2-D or the window does not fit.

    Example:
        >>> avg_pool2d(np.array([[1, 2], [3, 4]])).tolist()
        [[2.5]]
    """
    return _pool2d(x, pool_size, stride, np.mean)


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
    loss = -(positive + negative) / math.log(base)
    return float(loss) if loss.ndim == 0 else loss
