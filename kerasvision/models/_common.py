"""Shared argument checks, stems, input and head of the classic architectures."""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from kerasvision.models.blocks import check_choice
from kerasvision.models.heads import (
    apply_classifier_head,
    check_input_shape,
    classifier_units,
)

__all__ = [
    "IMAGENET_STEM_MIN_SIZE",
    "STEMS",
    "HeadOptions",
    "check_dropout",
    "check_multiplier",
    "check_positive_ints",
    "check_preset_depth",
    "check_repeats_depth",
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


def check_preset_depth(depth, presets: dict, meaning: str) -> tuple[tuple, bool]:
    """A preset `depth` (an int key of `presets`) or a tuple of positive ints.

    Returns:
        `(presets[depth], True)` for a preset, else `(depth as a tuple, False)`.

    Raises:
        ValueError: On an unknown preset or an invalid tuple; `meaning` says
            what the tuple holds, e.g. "blocks per stage".
    """
    if isinstance(depth, int) and not isinstance(depth, bool):
        if depth not in presets:
            raise ValueError(
                f"depth must be one of {sorted(presets)} or a tuple of {meaning}, "
                f"got {depth!r}"
            )
        return presets[depth], True
    return check_positive_ints("depth", depth), False


def check_repeats_depth(depth, layers: int, context: str, examples=(1, 2, 3)) -> int:
    """`n` of `depth = layers * n + 2` (n >= 1 repeats of `layers` weighted
    layers, plus the stem and the output layer).

    Raises:
        ValueError: Naming the valid depths for `context` (e.g. "3 stages"):
            `layers * n + 2` for each n of `examples`.
    """
    if (
        isinstance(depth, bool)
        or not isinstance(depth, int)
        or depth < layers + 2
        or (depth - 2) % layers
    ):
        valid = ", ".join(str(layers * n + 2) for n in examples)
        raise ValueError(
            f"depth must be {layers} * n + 2 for {context} (e.g. {valid}), "
            f"got {depth!r}"
        )
    return (depth - 2) // layers


def scale(filters: int, multiplier: float) -> int:
    """`filters * multiplier`, rounded, at least 1."""
    return max(1, int(round(filters * multiplier)))


def resolve_stem(stem: str, input_shape, model_name: str, *, min_sizes=(1, 1)):
    """Parse `input_shape`, turn `stem="auto"` into "imagenet" or "small", and
    check the image against `min_sizes` (smallest height/width with the ImageNet
    stem, with the small stem)."""
    check_choice("stem", stem, STEMS)
    shape = check_input_shape(input_shape, model_name=model_name)
    if stem == "auto":
        stem = "imagenet" if min(shape[:2]) >= IMAGENET_STEM_MIN_SIZE else "small"
    min_size = min_sizes[0] if stem == "imagenet" else min_sizes[1]
    check_input_shape(shape, min_size=min_size, model_name=model_name)
    return shape, stem


def image_input(input_shape):
    """The `image` input (raw 0-255 pixels) and its `rescaling` to 0-1."""
    inputs = keras.Input(shape=input_shape, name="image")
    return inputs, layers.Rescaling(1.0 / 255, name="rescaling")(inputs)


@dataclass(frozen=True)
class HeadOptions:
    """A builder's head arguments, checked before anything is built.

    `model` ends the network: `apply_classifier_head` (He-normal dense kernels
    unless told otherwise) on the last feature map, then the functional model.

    Raises:
        ValueError: On an invalid `dropout_rate`, `num_classes` or
            `classifier_activation` (when created).

    Example:
        >>> head = HeadOptions(10, dropout_rate=0.2)  # before building
        >>> inputs, x = image_input((32, 32, 3))
        >>> model = head.model(inputs, x, name="tiny")  # avg_pool, dropout, ...
    """

    num_classes: int
    dropout_rate: float = 0.0
    classifier_activation: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "dropout_rate", check_dropout(self.dropout_rate))
        classifier_units(self.num_classes, self.classifier_activation)

    def apply(self, features, **options):
        """The head's output tensor; `options` go to `apply_classifier_head`."""
        options.setdefault("kernel_initializer", "he_normal")
        return apply_classifier_head(
            features,
            self.num_classes,
            dropout_rate=self.dropout_rate,
            classifier_activation=self.classifier_activation,
            **options,
        )

    def model(self, inputs, features, *, name: str, **options):
        """The uncompiled functional model `inputs` -> head(`features`)."""
        return keras.Model(inputs, self.apply(features, **options), name=name)
