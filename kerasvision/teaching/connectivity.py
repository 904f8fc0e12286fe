"""How a sliding window connects input pixels to outputs: coverage, weight sharing.

Example:
    >>> coverage_map(5, 3)[0].tolist()
    [1, 2, 3, 2, 1]
    >>> weight_sharing_counts(5, 3, 5)  # the lectures' 25 -> 13 -> 3 slide
    WeightSharingCounts(fully_connected=25, locally_connected=13, shared=3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from kerasvision.teaching._checks import _check_positive_int, _per_axis
from kerasvision.teaching.shapes import (
    _axis_arguments,
    conv_output_size,
    effective_kernel_size,
)

__all__ = ["WeightSharingCounts", "coverage_map", "weight_sharing_counts"]


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
    """Weights of one layer mapping an input to an output, three ways.

    Attributes:
        fully_connected: Every input pixel to every output unit (a `Dense`
            layer on the flattened input and output).
        locally_connected: Every output unit to the real input pixels under its
            own window, each connection with its own weight (zero padding
            carries no weights).
        shared: One kernel slid over the input (a `Conv1D`/`Conv2D` kernel).
    """

    fully_connected: int
    locally_connected: int
    shared: int


def _rank(input_size) -> int:
    """1 for an integer (one axis), else the number of sizes (1 or 2)."""
    if isinstance(input_size, (int, np.integer)) and not isinstance(input_size, bool):
        return 1
    if isinstance(input_size, Sequence) and len(input_size) in (1, 2):
        return len(input_size)
    raise ValueError(
        "input_size must be an integer (one axis) or a (height, width) pair, got "
        f"{input_size!r}."
    )


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

    The lectures' slide maps a row of 5 pixels to 5 outputs with a 3-pixel
    window: fully connected `5 * 5 = 25` weights; locally connected 13 (the five
    windows see 2 + 3 + 3 + 3 + 2 real pixels, the border windows hang over the
    padding); shared 3. An integer `input_size` is such a row (one axis, a
    `Conv1D`); an `(height, width)` pair is a grid (a `Conv2D`), whose counts are
    the products of the per-axis ones: the 5x5 grid with a 3x3 window gives
    `25^2`, `13^2` and `3^2`. The padding is the least that gives `output_size`,
    split as Keras's `"same"` does (extra pixel after); biases are not counted.

    Args:
        input_size: An integer (one axis) or an `(height, width)` pair; it sets
            the number of axes.
        kernel_size: An integer (the same on every axis) or one per axis.
        output_size: An integer (the same on every axis) or one per axis.
        strides: An integer or one per axis. Defaults to 1.
        dilation_rate: An integer or one per axis. Defaults to 1.
        in_channels: Input channels (every count scales with them). Defaults
            to 1.
        filters: Output channels (every count scales with them). Defaults to 1.

    Returns:
        `WeightSharingCounts(fully_connected, locally_connected, shared)`.

    Raises:
        ValueError: If an argument is invalid, or no padding between none and
            `k' - 1` pixels per side gives `output_size`.

    Example:
        >>> weight_sharing_counts(5, 3, 5)  # the lectures' slide
        WeightSharingCounts(fully_connected=25, locally_connected=13, shared=3)
        >>> weight_sharing_counts((5, 5), 3, (5, 5))
        WeightSharingCounts(fully_connected=625, locally_connected=169, shared=9)
        >>> weight_sharing_counts(5, 3, 3)  # no padding
        WeightSharingCounts(fully_connected=15, locally_connected=9, shared=3)
    """
    rank = _rank(input_size)
    sizes = _per_axis(input_size, "input_size", rank)
    outputs = _per_axis(output_size, "output_size", rank)
    kernels = _per_axis(kernel_size, "kernel_size", rank)
    stride_sizes = _per_axis(strides, "strides", rank)
    dilations = _per_axis(dilation_rate, "dilation_rate", rank)
    in_channels = _check_positive_int(in_channels, "in_channels")
    filters = _check_positive_int(filters, "filters")
    connections = 1
    for size, kernel, stride, dilation, output in zip(
        sizes, kernels, stride_sizes, dilations, outputs, strict=True
    ):
        span = effective_kernel_size(kernel, dilation)
        total = max((output - 1) * stride + span - size, 0)
        pads = (total // 2, total - total // 2)
        if total > 2 * (span - 1) or (
            conv_output_size(
                size, kernel, strides=stride, padding=pads, dilation_rate=dilation
            )
            != output
        ):
            raise ValueError(
                f"no padding gives an output of {output} from an input of "
                f"{size} with kernel {kernel}, stride {stride}, dilation {dilation}."
            )
        # Windows are products of per-axis ranges, so are their connections.
        connections *= int(_axis_coverage(size, kernel, stride, pads, dilation).sum())
    channels = in_channels * filters
    return WeightSharingCounts(
        fully_connected=math.prod(sizes) * math.prod(outputs) * channels,
        locally_connected=connections * channels,
        shared=math.prod(kernels) * channels,
    )
