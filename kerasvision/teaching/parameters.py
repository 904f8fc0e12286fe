"""Parameter counts of `Conv2D`, `SeparableConv2D`, `Dense` layers and networks.

Each count is what `count_params()` reports for the Keras layer.

Example:
    >>> conv2d_params(3, 3, 32)
    896
    >>> mlp_weights((784, 256, 32, 32, 10))
    210240
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from kerasvision.teaching._checks import _check_image_shape, _check_positive_int, _pair
from kerasvision.teaching.shapes import conv_output_shape, pool_output_shape

__all__ = [
    "cnn_weights",
    "conv2d_params",
    "dense_params",
    "depthwise_separable_params",
    "mlp_weights",
]


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
