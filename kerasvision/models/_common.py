"""Shared argument checks, stems and input of the classic architectures."""

from __future__ import annotations

import keras
from keras import layers

from kerasvision.models.heads import check_input_shape

__all__ = [
    "IMAGENET_STEM_MIN_SIZE",
    "STEMS",
    "check_dropout",
    "check_multiplier",
    "check_positive_ints",
    "image_input",
    "resolve_stem",
    "scale",
]

STEMS = ("auto", "imagenet", "small")
# `stem="auto"` keeps the paper's downsampling stem from this input size up; below
# it the stem would shrink the image to a few pixels before the first stage.
IMAGENET_STEM_MIN_SIZE = 112


def check_multiplier(name: str, value) -> float:
    """A positive width multiplier as a float, else `ValueError` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_dropout(dropout_rate) -> float:
    """`dropout_rate` as a float in [0, 1), else `ValueError`."""
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    return float(dropout_rate)


def check_positive_ints(name: str, values, *, allow_empty: bool = False) -> tuple:
    """An int or a sequence of positive ints as a tuple, else `ValueError`."""
    if isinstance(values, int) and not isinstance(values, bool):
        values = (values,)
    try:
        values = tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be a tuple of positive integers") from None
    if (not values and not allow_empty) or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values
    ):
        raise ValueError(f"{name} must be a tuple of positive integers, got {values!r}")
    return values


def scale(filters: int, multiplier: float) -> int:
    """`filters * multiplier`, rounded, at least 1."""
    return max(1, int(round(filters * multiplier)))


def resolve_stem(stem: str, input_shape, model_name: str):
    """Parse `input_shape` and turn `stem="auto"` into "imagenet" or "small"."""
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
    shape = check_input_shape(input_shape, model_name=model_name)
    if stem == "auto":
        stem = "imagenet" if min(shape[:2]) >= IMAGENET_STEM_MIN_SIZE else "small"
    return shape, stem


def image_input(input_shape):
    """The `image` input (raw 0-255 pixels) and its `rescaling` to 0-1."""
    inputs = keras.Input(shape=input_shape, name="image")
    return inputs, layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
