"""GoogLeNet / Inception v1 (Szegedy et al. 2014) and its inception module.

`apply_inception_module` layers: `{name}_1x1`, `{name}_3x3_reduce`, `{name}_3x3`,
`{name}_5x5_reduce`, `{name}_5x5`, `{name}_pool`, `{name}_pool_proj`,
`{name}_concat` (the module output).
"""

from __future__ import annotations

import keras
from keras import layers

from kerasvision.models._common import (
    HeadOptions,
    check_multiplier,
    image_input,
    resolve_stem,
    scale,
)
from kerasvision.models.blocks import apply_conv_block, check_positive_int
from kerasvision.models.heads import classifier_units

__all__ = [
    "INCEPTION_V1_MODULES",
    "apply_inception_module",
    "build_inception_v1",
]


# GoogLeNet (Szegedy et al. 2014, table 1): name -> (1x1, 3x3 reduce, 3x3,
# 5x5 reduce, 5x5, pool proj). A 3x3/2 max pooling precedes 4a and 5a.
INCEPTION_V1_MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def apply_inception_module(
    x,
    f1: int,
    f3_reduce: int,
    f3: int,
    f5_reduce: int,
    f5: int,
    pool_proj: int,
    *,
    batch_norm: bool = True,
    kernel_initializer="he_normal",
    name: str,
):
    """A GoogLeNet inception module: four parallel branches, concatenated.

    Branches: 1x1; 1x1 reduce then 3x3; 1x1 reduce then 5x5; 3x3 max pooling
    (stride 1) then 1x1 projection. Every convolution is followed by ReLU (and
    batch normalization when `batch_norm`). Output channels:
    `f1 + f3 + f5 + pool_proj`.

    Args:
        x: Input Keras tensor.
        f1: Filters of the 1x1 branch.
        f3_reduce: Filters of the 1x1 reduction before the 3x3 convolution.
        f3: Filters of the 3x3 convolution.
        f5_reduce: Filters of the 1x1 reduction before the 5x5 convolution.
        f5: Filters of the 5x5 convolution.
        pool_proj: Filters of the 1x1 projection after the max pooling.
        batch_norm: Batch normalization after every convolution (not in the 2014
            paper; it makes training from scratch far more reliable). Defaults to
            True.
        kernel_initializer: Kernel initializer. Defaults to "he_normal".
        name: Prefix of the module's layer names, e.g. "inception3a"; required.

    Returns:
        The concatenated output tensor (`{name}_concat`).

    Raises:
        ValueError: If a filter count is not a positive integer.

    Example:
        >>> x = keras.Input((16, 16, 192))
        >>> apply_inception_module(x, 64, 96, 128, 16, 32, 32, name="inception3a").shape
        (None, 16, 16, 256)
    """
    for arg_name, value in (
        ("f1", f1),
        ("f3_reduce", f3_reduce),
        ("f3", f3),
        ("f5_reduce", f5_reduce),
        ("f5", f5),
        ("pool_proj", pool_proj),
    ):
        check_positive_int(arg_name, value)
    kwargs = {"batch_norm": batch_norm, "kernel_initializer": kernel_initializer}
    branch1 = apply_conv_block(x, f1, kernel_size=1, name=f"{name}_1x1", **kwargs)
    branch3 = apply_conv_block(
        x, f3_reduce, kernel_size=1, name=f"{name}_3x3_reduce", **kwargs
    )
    branch3 = apply_conv_block(branch3, f3, kernel_size=3, name=f"{name}_3x3", **kwargs)
    branch5 = apply_conv_block(
        x, f5_reduce, kernel_size=1, name=f"{name}_5x5_reduce", **kwargs
    )
    branch5 = apply_conv_block(branch5, f5, kernel_size=5, name=f"{name}_5x5", **kwargs)
    branch_pool = layers.MaxPooling2D(
        3, strides=1, padding="same", name=f"{name}_pool"
    )(x)
    branch_pool = apply_conv_block(
        branch_pool, pool_proj, kernel_size=1, name=f"{name}_pool_proj", **kwargs
    )
    return layers.Concatenate(name=f"{name}_concat")(
        [branch1, branch3, branch5, branch_pool]
    )


def _apply_auxiliary_classifier(
    x, num_classes, *, width, batch_norm, classifier_activation, name
):
    """GoogLeNet's side classifier: avg pool, 1x1 conv, dense, dropout, softmax."""
    pool_size = min(5, int(x.shape[1]), int(x.shape[2]))
    x = layers.AveragePooling2D(pool_size, strides=3, name=f"{name}_pool")(x)
    x = apply_conv_block(
        x, scale(128, width), kernel_size=1, batch_norm=batch_norm, name=f"{name}_conv"
    )
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(
        scale(1024, width),
        activation="relu",
        kernel_initializer="he_normal",
        name=f"{name}_fc",
    )(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    units, activation = classifier_units(num_classes, classifier_activation)
    return layers.Dense(
        units, activation=activation, dtype="float32", name=f"{name}_predictions"
    )(x)


def build_inception_v1(
    input_shape,
    num_classes: int,
    *,
    width_multiplier: float = 1.0,
    aux_classifiers: bool = True,
    batch_norm: bool = True,
    dropout_rate: float = 0.4,
    stem: str = "auto",
    classifier_activation: str | None = None,
    name: str = "inception_v1",
):
    """GoogLeNet / Inception v1 (Szegedy et al. 2014), optionally with aux heads.

    Stem -> inception 3a, 3b -> pool3 -> 4a..4e -> pool4 -> 5a, 5b -> global
    average pooling -> dropout -> predictions. The "imagenet" stem is conv1 7x7/2,
    pool1, conv2_reduce 1x1, conv2 3x3, pool2 (total stride 8); the "small" stem
    drops the stride and pool1 (total stride 2). Module layers are named
    `inception{id}_1x1`, ..., `inception{id}_concat`; the feature layer is
    `inception5b_concat`.

    With `aux_classifiers` the model has three outputs,
    `[predictions, aux1_predictions, aux2_predictions]`: the paper's side
    classifiers on 4a and 4d (avg pool, 1x1 conv, dense, 70% dropout), trained
    with loss weight 0.3 each (the registry's `aux_loss_weight`). Serve, export
    and evaluate `strip_auxiliary_heads(model)`.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            16x16 with the small stem (64x64 with the ImageNet stem).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        width_multiplier: Scales every filter count and the aux dense widths.
            Defaults to 1.0.
        aux_classifiers: Add the two auxiliary classifier outputs. Defaults to
            True.
        batch_norm: Batch normalization after every convolution (not in the
            paper; from-scratch training is much more reliable with it).
            Defaults to True.
        dropout_rate: Dropout before the main output layer. Defaults to 0.4.
        stem: "auto", "imagenet" or "small". Defaults to "auto".
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name. Defaults to "inception_v1".

    Returns:
        An uncompiled functional `keras.Model` (three outputs with
        `aux_classifiers`, one otherwise).

    Raises:
        ValueError: On an invalid argument or a too small input.

    Example:
        >>> model = build_inception_v1((32, 32, 1), 10, width_multiplier=0.25)
        >>> [output.name for output in model.outputs] # doctest: +SKIP
        ['predictions', 'aux1_predictions', 'aux2_predictions']
    """
    width = check_multiplier("width_multiplier", width_multiplier)
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    # Twice the total stride (32 with the ImageNet stem, 8 with the small one).
    shape, stem = resolve_stem(stem, input_shape, name, min_sizes=(64, 16))

    def module(x, module_id):
        filters = [scale(f, width) for f in INCEPTION_V1_MODULES[module_id]]
        return apply_inception_module(
            x, *filters, batch_norm=batch_norm, name=f"inception{module_id}"
        )

    def max_pool(x, pool_name):
        return layers.MaxPooling2D(3, strides=2, padding="same", name=pool_name)(x)

    inputs, x = image_input(shape)
    # === Stem ===
    if stem == "imagenet":
        x = apply_conv_block(
            x,
            scale(64, width),
            kernel_size=7,
            strides=2,
            batch_norm=batch_norm,
            name="conv1",
        )
        x = max_pool(x, "pool1")
    else:
        x = apply_conv_block(x, scale(64, width), batch_norm=batch_norm, name="conv1")
    x = apply_conv_block(
        x, scale(64, width), kernel_size=1, batch_norm=batch_norm, name="conv2_reduce"
    )
    x = apply_conv_block(x, scale(192, width), batch_norm=batch_norm, name="conv2")
    x = max_pool(x, "pool2")
    # === Inception modules ===
    x = module(x, "3a")
    x = module(x, "3b")
    x = max_pool(x, "pool3")
    aux_inputs = []
    for module_id in ("4a", "4b", "4c", "4d", "4e"):
        x = module(x, module_id)
        if module_id in ("4a", "4d"):
            aux_inputs.append(x)
    x = max_pool(x, "pool4")
    x = module(x, "5a")
    x = module(x, "5b")
    # === Heads ===
    outputs = head.apply(x)
    if aux_classifiers:
        outputs = [outputs] + [
            _apply_auxiliary_classifier(
                aux_input,
                num_classes,
                width=width,
                batch_norm=batch_norm,
                classifier_activation=classifier_activation,
                name=f"aux{index}",
            )
            for index, aux_input in enumerate(aux_inputs, start=1)
        ]
    return keras.Model(inputs, outputs, name=name)
