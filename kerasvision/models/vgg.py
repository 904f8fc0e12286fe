"""VGG (Simonyan & Zisserman 2014): stacks of 3x3 convolutions and 2x2 pools."""

from __future__ import annotations

from keras import layers

from kerasvision.models._common import (
    HeadOptions,
    check_multiplier,
    check_positive_ints,
    image_input,
    scale,
)
from kerasvision.models.blocks import apply_conv_block
from kerasvision.models.heads import check_input_shape
from kerasvision.models.normalization import resolve_norm

__all__ = [
    "VGG_DEPTHS",
    "build_vgg",
]


VGG_DEPTHS = {
    "vgg11": (1, 1, 2, 2, 2),
    "vgg13": (2, 2, 2, 2, 2),
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}


def build_vgg(
    input_shape,
    num_classes: int,
    *,
    depths=(2, 2, 3, 3, 3),
    filters=(64, 128, 256, 512, 512),
    width_multiplier: float = 1.0,
    batch_norm: bool = False,
    norm: str | None = None,
    dense_units=(4096, 4096),
    pooling: str = "flatten",
    dropout_rate: float = 0.5,
    dense_dropout: bool = True,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """VGG (Simonyan & Zisserman 2014): stacks of 3x3 convolutions and 2x2 pools.

    Block `b` has `depths[b]` "same" 3x3 convolutions with `filters[b]` filters
    (scaled by `width_multiplier`), each followed by optional batch norm and ReLU,
    then a 2x2 max pooling; the head is `flatten`, `fc1`, `fc1_dropout`, `fc2`,
    `dropout`, `predictions`. Layers: `block{b}_conv{c}` (+ `_bn`, `_relu`),
    `block{b}_pool`; the feature layer is the last block's last `_relu`, e.g.
    `block5_conv3_relu` for VGG-16.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            `2 ** len(depths)` (32 for 5 blocks) in height and width.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depths: Convolutions per block, or a preset name: "vgg11", "vgg13",
            "vgg16" or "vgg19". Defaults to (2, 2, 3, 3, 3) (VGG-16).
        filters: Filters per block before scaling. Defaults to
            (64, 128, 256, 512, 512).
        width_multiplier: Scales the convolution and dense widths. Defaults to
            1.0.
        batch_norm: Batch normalization after every convolution (VGG-BN).
            Defaults to False.
        norm: "batch", "layer", "group" or "none" after every convolution;
            None follows `batch_norm`. Defaults to None.
        dense_units: Hidden dense widths before scaling. Defaults to (4096, 4096).
        pooling: The head: "flatten" (paper), "avg" or "max" (global pooling).
            Defaults to "flatten".
        dropout_rate: Dropout before the output layer. Defaults to 0.5.
        dense_dropout: The same dropout after every dense layer (`fc1_dropout`,
            ...; the paper's "dropout regularisation for the first two fully
            connected layers"), not only the last. Defaults to True.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives the preset name ("vgg16", ...) or "vgg".
            Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an unknown preset, mismatched `depths`/`filters` or a too
            small input.

    Example:
        >>> model = build_vgg((32, 32, 3), 10, depths="vgg11", width_multiplier=0.125)
        >>> model.name
        'vgg11'
    """
    if isinstance(depths, str):
        if depths not in VGG_DEPTHS:
            raise ValueError(
                f"unknown VGG preset {depths!r}; choose one of {sorted(VGG_DEPTHS)} "
                "or give a tuple of convolutions per block"
            )
        depths = VGG_DEPTHS[depths]
    depths = check_positive_ints("depths", depths)
    filters = check_positive_ints("filters", filters)
    if len(depths) != len(filters):
        raise ValueError(
            f"depths and filters need one value per block, got {len(depths)} and "
            f"{len(filters)}"
        )
    width = check_multiplier("width_multiplier", width_multiplier)
    dense_units = check_positive_ints("dense_units", dense_units, allow_empty=True)
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    norm = resolve_norm(norm, batch_norm)
    if name is None:
        preset = [key for key, value in VGG_DEPTHS.items() if value == depths]
        name = preset[0] if preset and len(filters) == 5 else "vgg"
    num_blocks = len(depths)
    shape = check_input_shape(input_shape, min_size=2**num_blocks, model_name=name)

    inputs, x = image_input(shape)
    # === Features ===
    for block, (num_convs, block_filters) in enumerate(
        zip(depths, filters, strict=True), start=1
    ):
        for conv in range(1, num_convs + 1):
            x = apply_conv_block(
                x,
                scale(block_filters, width),
                norm=norm,
                name=f"block{block}_conv{conv}",
            )
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    # === Head ===
    return head.model(
        inputs,
        x,
        name=name,
        pooling=pooling,
        dense_units=tuple(scale(units, width) for units in dense_units),
        dense_dropout=dense_dropout,
    )
