"""Output sizes and receptive fields of convolution and pooling layers.

Every formula follows Keras's conventions, so each number can be checked
against a real `keras.layers` layer.

Example:
    >>> conv_output_shape((224, 224, 3), 32, 3)
    (222, 222, 32)
    >>> receptive_field([(3, 1), (3, 1)])
    5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from kerasvision.teaching._checks import (
    PADDING_MODES,
    _check_image_shape,
    _check_padding,
    _check_padding_2d,
    _check_positive_int,
    _pair,
)

__all__ = [
    "conv_output_shape",
    "conv_output_size",
    "effective_kernel_size",
    "pool_output_shape",
    "receptive_field",
    "same_padding",
    "stacked_receptive_field",
]


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


class _WindowAxis(NamedTuple):
    """One axis of a 2-D sliding window, checked: the kernel fits."""

    size: int
    kernel: int
    stride: int
    pads: tuple[int, int]
    dilation: int


def _axis_arguments(
    input_size, kernel_size, strides, padding, dilation_rate
) -> list[_WindowAxis]:
    """The rows and columns `_WindowAxis` of a 2-D sliding window.

    Raises:
        ValueError: On an invalid argument, or if the kernel does not fit.
    """
    sizes = _pair(input_size, "input_size")
    kernels = _pair(kernel_size, "kernel_size")
    stride_pair = _pair(strides, "strides")
    dilations = _pair(dilation_rate, "dilation_rate")
    padding = _check_padding_2d(padding)
    paddings = (padding, padding) if isinstance(padding, str) else padding
    axes = []
    for size, kernel, stride, dilation, axis_padding in zip(
        sizes, kernels, stride_pair, dilations, paddings, strict=True
    ):
        pads = _axis_pads(axis_padding, size, kernel, stride, dilation)
        conv_output_size(
            size, kernel, strides=stride, padding=pads, dilation_rate=dilation
        )
        axes.append(_WindowAxis(size, kernel, stride, pads, dilation))
    return axes


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
