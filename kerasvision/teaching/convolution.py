"""Numpy reference convolution and pooling, and the lectures' named 3x3 kernels.

These spell out the sliding window that the Keras layers hide; each gives
exactly what `Conv2D`, `MaxPooling2D` or `AveragePooling2D` computes.

Example:
    >>> conv2d(np.eye(3, dtype=int), np.ones((2, 2), dtype=int)).tolist()
    [[2, 1], [1, 2]]
    >>> max_pool2d(np.array([[1, 2], [3, 4]])).tolist()
    [[4]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kerasvision.teaching._checks import (
    _check_matrix,
    _check_positive_int,
    _pair,
)
from kerasvision.teaching.shapes import (
    _axis_arguments,
    conv_output_size,
    effective_kernel_size,
)

__all__ = [
    "KERNELS",
    "NamedKernel",
    "apply_kernel",
    "avg_pool2d",
    "conv2d",
    "max_pool2d",
]


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
    # Checks that the kernel fits before numpy raises a vaguer error.
    rows, cols = _axis_arguments(
        image.shape[:2], kernel.shape[:2], strides, padding, dilation_rate
    )
    bias = np.asarray(bias)
    filters = kernel.shape[3] if kernel.ndim == 4 else None
    if bias.shape not in ((), (filters,)):
        raise ValueError(
            f"bias must be a scalar{' or ' + str((filters,)) if filters else ''}, "
            f"got shape {bias.shape}."
        )
    spans = tuple(effective_kernel_size(a.kernel, a.dilation) for a in (rows, cols))
    padded = np.pad(image, [rows.pads, cols.pads] + [(0, 0)] * (image.ndim - 2))
    windows = np.lib.stride_tricks.sliding_window_view(padded, spans, axis=(0, 1))
    windows = windows[
        :: rows.stride, :: cols.stride, ..., :: rows.dilation, :: cols.dilation
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


#: name -> kernel. `edge` and `strong_edge` are the lectures' kernel table's "Edge
#: Detect" and "Strong Edge Detect"; the others keep their usual names.
KERNELS: dict[str, NamedKernel] = {
    "identity": NamedKernel(
        ((0, 0, 0), (0, 1, 0), (0, 0, 0)), "returns the image unchanged"
    ),
    "sharpen": NamedKernel(
        ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
        "the image minus its 4-neighbour Laplacian (identity - edge): crisper "
        "detail (weights sum to 1)",
    ),
    "edge": NamedKernel(
        ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
        "the lectures' Edge Detect, the 4-neighbour Laplacian: responds to edges, "
        "0 on flat areas",
    ),
    "strong_edge": NamedKernel(
        ((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
        "the lectures' Strong Edge Detect: horizontal edges, positive where "
        "brightness grows downwards (the weights of sobel_y)",
    ),
    "laplacian_8": NamedKernel(
        ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)),
        "8-neighbour Laplacian: edges in every direction",
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
