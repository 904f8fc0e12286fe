"""Argument checks shared by the teaching modules (ints, pairs, paddings, arrays)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PADDING_MODES = ("valid", "same")


def _check_int(value, name: str, minimum: int, kind: str) -> int:
    # bool is an int subclass; `strides=True` is a bug, not a stride of 1.
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < minimum
    ):
        raise ValueError(f"{name} must be a {kind} integer, got {value!r}.")
    return int(value)


def _check_positive_int(value, name: str) -> int:
    return _check_int(value, name, 1, "positive")


def _check_non_negative_int(value, name: str) -> int:
    return _check_int(value, name, 0, "non-negative")


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


def _per_axis(value, name: str, rank: int) -> tuple[int, ...]:
    """An int (the same on every axis) or `rank` ints as a validated tuple."""
    if rank == 2:
        return _pair(value, name)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * rank
    if not isinstance(value, Sequence) or len(value) != rank:
        axes = "one axis" if rank == 1 else f"{rank} axes"
        raise ValueError(
            f"{name} must be an integer or one integer per axis ({axes}), got "
            f"{value!r}."
        )
    return tuple(_check_positive_int(item, name) for item in value)


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
