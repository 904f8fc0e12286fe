"""Classic CNN architectures built from scratch: AlexNet to MobileNet.

Every builder takes raw 0-255 pixels (a `Rescaling(1/255)` layer comes first),
returns an uncompiled functional `keras.Model`, validates its arguments before
building and uses stable hierarchical layer names. Each has a width knob
(`width_multiplier`, `alpha`, `growth_rate` or `filters`) so that it trains on a
CPU, and a stem that adapts to small inputs: `stem="auto"` uses the paper's
ImageNet stem (large strided kernels, early pooling) for images of at least
`IMAGENET_STEM_MIN_SIZE` pixels and a stride-1 3x3 (or 5x5) stem for smaller
ones such as 32x32 digits. The head is `avg_pool`/`flatten`, `dropout`,
`predictions` (see `apply_classifier_head`).

`count_multiply_adds` measures the compute of any built model and
`kerasvision.models.heads.strip_auxiliary_heads` turns a multi-output Inception v1
into its serving model.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from kerasvision.layers.normalization import LocalResponseNormalization
from kerasvision.models.blocks import (
    NORM_SUFFIXES,
    RESIDUAL_BLOCKS,
    apply_conv_block,
    apply_dense_block,
    apply_depthwise_separable_block,
    apply_inception_module,
    apply_residual_block,
    apply_transition,
    batch_normalization,
    normalization_layer,
    resolve_norm,
)
from kerasvision.models.heads import (
    apply_classifier_head,
    check_input_shape,
    classifier_units,
)

__all__ = [
    "IMAGENET_STEM_MIN_SIZE",
    "INCEPTION_V1_MODULES",
    "MOBILENET_V1_BLOCKS",
    "RESNET_DEPTHS",
    "STEMS",
    "VGG_DEPTHS",
    "build_alexnet",
    "build_cifar_resnet",
    "build_densenet",
    "build_inception_v1",
    "build_mobilenet_v1",
    "build_plain_cnn",
    "build_resnet",
    "build_vgg",
    "build_wide_resnet",
    "build_zfnet",
    "count_multiply_adds",
]

STEMS = ("auto", "imagenet", "small")
# `stem="auto"` keeps the paper's downsampling stem from this input size up; below
# it the stem would shrink the image to a few pixels before the first stage.
IMAGENET_STEM_MIN_SIZE = 112

VGG_DEPTHS = {
    "vgg11": (1, 1, 2, 2, 2),
    "vgg13": (2, 2, 2, 2, 2),
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}

RESNET_DEPTHS = {
    18: ((2, 2, 2, 2), "basic"),
    34: ((3, 4, 6, 3), "basic"),
    50: ((3, 4, 6, 3), "bottleneck"),
    101: ((3, 4, 23, 3), "bottleneck"),
    152: ((3, 8, 36, 3), "bottleneck"),
}

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

# MobileNet v1 (Howard et al. 2017, table 1): (pointwise filters, strides) of the
# 13 depthwise-separable blocks after the 32-filter stem convolution.
MOBILENET_V1_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


# === Argument checks ===


def _check_multiplier(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _check_dropout(dropout_rate) -> float:
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    return float(dropout_rate)


def _check_positive_ints(name: str, values, *, allow_empty: bool = False) -> tuple:
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


def _scale(filters: int, multiplier: float) -> int:
    return max(1, int(round(filters * multiplier)))


def _resolve_stem(stem: str, input_shape, model_name: str):
    """Parse `input_shape` and turn `stem="auto"` into "imagenet" or "small"."""
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
    shape = check_input_shape(input_shape, model_name=model_name)
    if stem == "auto":
        stem = "imagenet" if min(shape[:2]) >= IMAGENET_STEM_MIN_SIZE else "small"
    return shape, stem


def _image_input(input_shape):
    inputs = keras.Input(shape=input_shape, name="image")
    return inputs, layers.Rescaling(1.0 / 255, name="rescaling")(inputs)


# === AlexNet ===

# build_alexnet's keyword defaults (ZFNet takes the same options).
_ALEXNET_OPTIONS = {
    "width_multiplier": 1.0,
    "local_response_norm": False,
    "norm": "none",
    "dropout_rate": 0.5,
    "dense_units": (4096, 4096),
    "stem": "auto",
    "classifier_activation": None,
}


def build_alexnet(
    input_shape,
    num_classes: int,
    *,
    width_multiplier: float = 1.0,
    local_response_norm: bool = False,
    norm: str = "none",
    dropout_rate: float = 0.5,
    dense_units=(4096, 4096),
    stem: str = "auto",
    classifier_activation: str | None = None,
    name: str = "alexnet",
):
    """AlexNet (Krizhevsky et al. 2012) as a single-tower network.

    conv1 (96) -> [LRN] -> 3x3/2 max pool -> conv2 5x5 (256) -> [LRN] -> pool ->
    conv3 (384) -> conv4 (384) -> conv5 (256) -> pool -> two dense layers (4096)
    -> dropout -> predictions, all with ReLU. The "imagenet" stem is the paper's
    11x11 stride-4 convolution; the "small" stem is 5x5 stride 1 so that a 32x32
    image keeps enough resolution for the three overlapping poolings. Layers:
    `conv{i}`, `conv{i}_relu`, `conv{i}_lrn`, `pool{1,2,5}`, `flatten`, `fc1`,
    `fc2`, `dropout`, `predictions`; the feature layer is `conv5_relu`.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            15x15 with the small stem (57x57 with the ImageNet stem).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        width_multiplier: Scales every convolution and dense width. Defaults to
            1.0.
        local_response_norm: Add `LocalResponseNormalization` after conv1 and
            conv2. Defaults to False.
        norm: A modern normalization after every convolution, "batch",
            "layer", "group" or "none" (paper). Defaults to "none".
        dropout_rate: Dropout before the output layer. Defaults to 0.5.
        dense_units: Hidden dense widths before scaling. Defaults to (4096, 4096).
        stem: "auto", "imagenet" or "small". Defaults to "auto".
        classifier_activation: None, "softmax" or "sigmoid" (see
            `classifier_units`). Defaults to None.
        name: Name of the returned model. Defaults to "alexnet".

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an invalid argument or a too small input.

    Example:
        >>> model = build_alexnet((32, 32, 1), 10, width_multiplier=0.25)
        >>> model.get_layer("conv5_relu").output.shape
        (None, 7, 7, 64)
    """
    return _build_alexnet_family(
        input_shape,
        num_classes,
        (11, 4, 1),
        width_multiplier=width_multiplier,
        local_response_norm=local_response_norm,
        norm=norm,
        dropout_rate=dropout_rate,
        dense_units=dense_units,
        stem=stem,
        classifier_activation=classifier_activation,
        name=name,
    )


def build_zfnet(input_shape, num_classes: int, *, name: str = "zfnet", **kwargs):
    """ZFNet (Zeiler & Fergus 2013): AlexNet with a finer first layer.

    The network that visualizing AlexNet's filters led to: conv1 is 7x7 stride 2
    (not 11x11 stride 4, whose filters showed aliasing and dead filters) and
    conv2 strides 2, so the "imagenet" stem keeps AlexNet's total stride with
    less aliasing; the rest (widths, LRN, poolings, dense head) is AlexNet's,
    with the same layer names. The "small" stem is 7x7 stride 1 and a stride-1
    conv2, for 32x32 images.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            15x15 with the small stem (57x57 with the ImageNet stem).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        name: Model name. Defaults to "zfnet".
        **kwargs: `build_alexnet`'s other keyword arguments, with its defaults
            (`width_multiplier`, `local_response_norm` for the paper's contrast
            normalization, `norm`, `dropout_rate`, `dense_units`, `stem`,
            `classifier_activation`).

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an invalid argument or a too small input.

    Example:
        >>> model = build_zfnet((224, 224, 3), 10, width_multiplier=0.25)
        >>> model.get_layer("conv1").kernel.shape
        (7, 7, 3, 24)
    """
    unknown = sorted(set(kwargs) - set(_ALEXNET_OPTIONS))
    if unknown:
        raise ValueError(f"build_zfnet has no option {', '.join(unknown)}")
    options = {**_ALEXNET_OPTIONS, **kwargs, "name": name}
    return _build_alexnet_family(input_shape, num_classes, (7, 2, 2), **options)


def _build_alexnet_family(input_shape, num_classes, imagenet_stem, **options):
    """AlexNet's layers with `imagenet_stem` = (conv1 kernel, conv1 and conv2
    strides); the small stem keeps the kernel (5 for AlexNet) at stride 1."""
    width = _check_multiplier("width_multiplier", options["width_multiplier"])
    dropout_rate = _check_dropout(options["dropout_rate"])
    dense_units = _check_positive_ints(
        "dense_units", options["dense_units"], allow_empty=True
    )
    norm = resolve_norm(options["norm"])
    classifier_units(num_classes, options["classifier_activation"])
    name = options["name"]
    shape, stem = _resolve_stem(options["stem"], input_shape, name)
    kernel, strides, conv2_strides = imagenet_stem
    if stem == "small":  # AlexNet 5x5, ZFNet 7x7, both at stride 1
        kernel, strides, conv2_strides = 5 if kernel == 11 else kernel, 1, 1
    # The three valid 3x3/2 poolings need conv2's input to be at least 15x15.
    check_input_shape(shape, min_size=14 * strides * conv2_strides + 1, model_name=name)

    def lrn(x, layer_name):
        if options["local_response_norm"]:
            return LocalResponseNormalization(name=layer_name)(x)
        return x

    inputs, x = _image_input(shape)
    # === Features ===
    conv = {"norm": norm, "kernel_initializer": "he_normal"}
    x = apply_conv_block(
        x, _scale(96, width), kernel_size=kernel, strides=strides, name="conv1", **conv
    )
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(lrn(x, "conv1_lrn"))
    x = apply_conv_block(
        x,
        _scale(256, width),
        kernel_size=5,
        strides=conv2_strides,
        name="conv2",
        **conv,
    )
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(lrn(x, "conv2_lrn"))
    x = apply_conv_block(x, _scale(384, width), name="conv3", **conv)
    x = apply_conv_block(x, _scale(384, width), name="conv4", **conv)
    x = apply_conv_block(x, _scale(256, width), name="conv5", **conv)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    # === Head ===
    outputs = apply_classifier_head(
        x,
        num_classes,
        pooling="flatten",
        dense_units=tuple(_scale(units, width) for units in dense_units),
        dropout_rate=dropout_rate,
        kernel_initializer="he_normal",
        classifier_activation=options["classifier_activation"],
    )
    return keras.Model(inputs, outputs, name=name)


# === VGG ===


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
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """VGG (Simonyan & Zisserman 2014): stacks of 3x3 convolutions and 2x2 pools.

    Block `b` has `depths[b]` "same" 3x3 convolutions with `filters[b]` filters
    (scaled by `width_multiplier`), each followed by optional batch norm and ReLU,
    then a 2x2 max pooling. Layers: `block{b}_conv{c}` (+ `_bn`, `_relu`),
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
    depths = _check_positive_ints("depths", depths)
    filters = _check_positive_ints("filters", filters)
    if len(depths) != len(filters):
        raise ValueError(
            f"depths and filters need one value per block, got {len(depths)} and "
            f"{len(filters)}"
        )
    width = _check_multiplier("width_multiplier", width_multiplier)
    dense_units = _check_positive_ints("dense_units", dense_units, allow_empty=True)
    dropout_rate = _check_dropout(dropout_rate)
    norm = resolve_norm(norm, batch_norm)
    classifier_units(num_classes, classifier_activation)
    if name is None:
        preset = [key for key, value in VGG_DEPTHS.items() if value == depths]
        name = preset[0] if preset and len(filters) == 5 else "vgg"
    num_blocks = len(depths)
    shape = check_input_shape(input_shape, min_size=2**num_blocks, model_name=name)

    inputs, x = _image_input(shape)
    # === Features ===
    for block, (num_convs, block_filters) in enumerate(
        zip(depths, filters, strict=True), start=1
    ):
        for conv in range(1, num_convs + 1):
            x = apply_conv_block(
                x,
                _scale(block_filters, width),
                norm=norm,
                name=f"block{block}_conv{conv}",
            )
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    # === Head ===
    outputs = apply_classifier_head(
        x,
        num_classes,
        pooling=pooling,
        dense_units=tuple(_scale(units, width) for units in dense_units),
        dropout_rate=dropout_rate,
        kernel_initializer="he_normal",
        classifier_activation=classifier_activation,
    )
    return keras.Model(inputs, outputs, name=name)


# === Inception v1 (GoogLeNet) ===


def _apply_auxiliary_classifier(
    x, num_classes, *, width, batch_norm, classifier_activation, name
):
    """GoogLeNet's side classifier: avg pool, 1x1 conv, dense, dropout, softmax."""
    pool_size = min(5, int(x.shape[1]), int(x.shape[2]))
    x = layers.AveragePooling2D(pool_size, strides=3, name=f"{name}_pool")(x)
    x = apply_conv_block(
        x, _scale(128, width), kernel_size=1, batch_norm=batch_norm, name=f"{name}_conv"
    )
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(
        _scale(1024, width),
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
    width = _check_multiplier("width_multiplier", width_multiplier)
    dropout_rate = _check_dropout(dropout_rate)
    classifier_units(num_classes, classifier_activation)
    shape, stem = _resolve_stem(stem, input_shape, name)
    total_strides = 32 if stem == "imagenet" else 8
    check_input_shape(shape, min_size=2 * total_strides, model_name=name)

    def module(x, module_id):
        filters = [_scale(f, width) for f in INCEPTION_V1_MODULES[module_id]]
        return apply_inception_module(
            x, *filters, batch_norm=batch_norm, name=f"inception{module_id}"
        )

    def max_pool(x, pool_name):
        return layers.MaxPooling2D(3, strides=2, padding="same", name=pool_name)(x)

    inputs, x = _image_input(shape)
    # === Stem ===
    if stem == "imagenet":
        x = apply_conv_block(
            x,
            _scale(64, width),
            kernel_size=7,
            strides=2,
            batch_norm=batch_norm,
            name="conv1",
        )
        x = max_pool(x, "pool1")
    else:
        x = apply_conv_block(x, _scale(64, width), batch_norm=batch_norm, name="conv1")
    x = apply_conv_block(
        x, _scale(64, width), kernel_size=1, batch_norm=batch_norm, name="conv2_reduce"
    )
    x = apply_conv_block(x, _scale(192, width), batch_norm=batch_norm, name="conv2")
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
    outputs = apply_classifier_head(
        x,
        num_classes,
        dropout_rate=dropout_rate,
        kernel_initializer="he_normal",
        classifier_activation=classifier_activation,
    )
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


# === ResNet ===


_RESNET_OPTIONS = {
    "stem": "small",
    "stem_filters": None,
    "block": "basic",
    "preact": False,
    "residual": True,
    "norm": "batch",
    "block_dropout": 0.0,
}


def _resnet_stem(x, filters, *, stem, preact, norm):
    """conv1 (7x7/2 + 3x3/2 max pool, or 3x3/1); v2 leaves norm-ReLU to block 1."""
    kwargs = {
        "norm": "none" if preact else norm,
        "activation": None if preact else "relu",
        "name": "conv1",
    }
    if stem == "imagenet":
        x = apply_conv_block(x, filters, kernel_size=7, strides=2, **kwargs)
        return layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    return apply_conv_block(x, filters, **kwargs)


def _resnet_network(shape, num_classes, filters, blocks, **options):
    """Input, stem, stages `conv2`.., (v2: `post_` norm-ReLU), head: the model.

    `options` (defaults in `_RESNET_OPTIONS`): `stem`, `stem_filters` (None:
    `filters[0]`), `block`, `preact`, `residual`, `norm`, `block_dropout`,
    `dropout_rate`, `classifier_activation`, `name`.
    """
    options = {**_RESNET_OPTIONS, **options}
    preact, norm = options["preact"], options["norm"]
    inputs, x = _image_input(shape)
    stem_filters = options["stem_filters"] or filters[0]
    x = _resnet_stem(x, stem_filters, stem=options["stem"], preact=preact, norm=norm)
    for index, (stage_filters, num_blocks) in enumerate(
        zip(filters, blocks, strict=True)
    ):
        for block_index in range(1, num_blocks + 1):
            x = apply_residual_block(
                x,
                stage_filters,
                block=options["block"],
                strides=2 if index > 0 and block_index == 1 else 1,
                preact=preact,
                residual=options["residual"],
                norm=norm,
                dropout_rate=options["block_dropout"],
                name=f"conv{index + 2}_block{block_index}",
            )
    if preact:
        if norm != "none":
            suffix = NORM_SUFFIXES[norm]
            x = normalization_layer(norm, int(x.shape[-1]), name=f"post_{suffix}")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    outputs = apply_classifier_head(
        x,
        num_classes,
        dropout_rate=options["dropout_rate"],
        kernel_initializer="he_normal",
        classifier_activation=options["classifier_activation"],
    )
    return keras.Model(inputs, outputs, name=options["name"])


def build_resnet(
    input_shape,
    num_classes: int,
    *,
    depth=18,
    block: str | None = None,
    preact: bool = False,
    width_multiplier: float = 1.0,
    stem: str = "auto",
    norm: str = "batch",
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """ResNet (He et al. 2015), v1 or pre-activation v2, ImageNet layout.

    conv1 stem -> stages conv2..conv5 (64, 128, 256, 512 filters, scaled by
    `width_multiplier`; stride 2 at the first block of conv3..conv5) -> global
    average pooling -> predictions. Blocks are named `conv{s}_block{b}` (see
    `apply_residual_block`); the feature layer is the last block's `_out`, e.g.
    `conv5_block2_out` for ResNet-18, or `post_relu` with `preact`. The "small"
    stem (CIFAR style) is a stride-1 3x3 convolution without max pooling.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            `2 * total stride` (16 with the small stem and four stages, 64 with
            the ImageNet stem).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: 18, 34, 50, 101 or 152, or a tuple of blocks per stage. Defaults
            to 18.
        block: "basic" or "bottleneck"; None takes the depth's block ("basic"
            for a tuple). Defaults to None.
        preact: Pre-activation blocks (ResNet v2). Defaults to False.
        width_multiplier: Scales the stage filters. Defaults to 1.0.
        stem: "auto", "imagenet" or "small". Defaults to "auto".
        norm: "batch", "layer", "group" or "none" after every convolution.
            Defaults to "batch".
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "resnet{layers}" (+ "_v2"). Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an unknown depth or block, or a too small input.

    Example:
        >>> model = build_resnet((32, 32, 3), 10, depth=18, width_multiplier=0.25)
        >>> model.get_layer("conv5_block2_out").output.shape
        (None, 4, 4, 128)
    """
    if isinstance(depth, int) and not isinstance(depth, bool):
        if depth not in RESNET_DEPTHS:
            raise ValueError(
                f"depth must be one of {sorted(RESNET_DEPTHS)} or a tuple of blocks "
                f"per stage, got {depth!r}"
            )
        blocks, default_block = RESNET_DEPTHS[depth]
    else:
        blocks, default_block = _check_positive_ints("depth", depth), "basic"
    block = default_block if block is None else block
    if block not in RESIDUAL_BLOCKS:
        raise ValueError(f"block must be one of {RESIDUAL_BLOCKS}, got {block!r}")
    width = _check_multiplier("width_multiplier", width_multiplier)
    dropout_rate = _check_dropout(dropout_rate)
    norm = resolve_norm(norm)
    classifier_units(num_classes, classifier_activation)
    if name is None:
        num_layers = (2 if block == "basic" else 3) * sum(blocks) + 2
        name = f"resnet{num_layers}" + ("_v2" if preact else "")
    shape, stem = _resolve_stem(stem, input_shape, name)
    total_strides = (4 if stem == "imagenet" else 1) * 2 ** (len(blocks) - 1)
    check_input_shape(shape, min_size=2 * total_strides, model_name=name)
    filters = [_scale(64 * 2**index, width) for index in range(len(blocks))]
    return _resnet_network(
        shape,
        num_classes,
        filters,
        blocks,
        stem=stem,
        block=block,
        preact=preact,
        norm=norm,
        dropout_rate=dropout_rate,
        classifier_activation=classifier_activation,
        name=name,
    )


def build_cifar_resnet(
    input_shape,
    num_classes: int,
    *,
    depth: int = 20,
    filters=(16, 32, 64),
    residual: bool = True,
    preact: bool = False,
    norm: str = "batch",
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """The CIFAR ResNet of He et al. 2015 (section 4.2): ResNet-20/32/44/56/110.

    A 3x3 stem convolution, then one stage per entry of `filters` (16, 32, 64)
    of `n` basic blocks each, stride 2 at the start of every stage but the first,
    global average pooling and predictions: `depth = 2 * n * len(filters) + 2`
    weighted layers. With `residual=False` the skip connections are dropped: the
    "plain" network of the same depth and width that the paper shows degrading
    as it gets deeper. Blocks are named `conv{s}_block{b}` (stages conv2..); the
    feature layer is the last block's `_out`, e.g. `conv4_block3_out` for
    ResNet-20, or `post_relu` with `preact`.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            `2 ** len(filters)` (8 for three stages).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: Weighted layers, `2 * len(filters) * n + 2` (20, 32, 44, 56, 110
            for three stages). Defaults to 20.
        filters: Filters per stage; their number is the number of stages.
            Defaults to (16, 32, 64).
        residual: Keep the skip connections (projection shortcuts where the
            shape changes). Defaults to True.
        preact: Pre-activation blocks (ResNet v2). Defaults to False.
        norm: "batch", "layer", "group" or "none" after every convolution.
            Defaults to "batch".
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "resnet{depth}" or "plain{depth}" (+ "_v2").
            Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: If `depth` does not fit `2 * len(filters) * n + 2`, or on
            another invalid argument or a too small input.

    Example:
        >>> build_cifar_resnet((32, 32, 3), 10, depth=20).count_params()
        274042
    """
    filters = _check_positive_ints("filters", filters)
    per_block = 2 * len(filters)
    if (
        isinstance(depth, bool)
        or not isinstance(depth, int)
        or depth < per_block + 2
        or (depth - 2) % per_block
    ):
        raise ValueError(
            f"depth must be {per_block} * n + 2 for {len(filters)} stages "
            f"(e.g. {per_block + 2}, {2 * per_block + 2}, {3 * per_block + 2}), "
            f"got {depth!r}"
        )
    dropout_rate = _check_dropout(dropout_rate)
    norm = resolve_norm(norm)
    classifier_units(num_classes, classifier_activation)
    if name is None:
        name = ("resnet" if residual else "plain") + str(depth)
        name += "_v2" if preact else ""
    shape = check_input_shape(input_shape, min_size=2 ** len(filters), model_name=name)
    blocks = ((depth - 2) // per_block,) * len(filters)
    return _resnet_network(
        shape,
        num_classes,
        filters,
        blocks,
        preact=preact,
        residual=residual,
        norm=norm,
        dropout_rate=dropout_rate,
        classifier_activation=classifier_activation,
        name=name,
    )


def build_plain_cnn(
    input_shape,
    num_classes: int,
    *,
    depth: int = 20,
    filters=(16, 32, 64),
    **kwargs,
):
    """A deep plain CNN: `build_cifar_resnet` without the skip connections.

    Same layers, names, depth and widths as the residual twin
    `build_cifar_resnet(..., residual=True)`, except the residual network's 1x1
    projection shortcuts where a stage changes shape. Used for the "going deeper"
    experiment: at equal depth the plain network trains worse (degradation).

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            `2 ** len(filters)`.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: Weighted layers, `2 * len(filters) * n + 2`. Defaults to 20.
        filters: Filters per stage. Defaults to (16, 32, 64).
        **kwargs: The other keyword arguments of `build_cifar_resnet` (`preact`,
            `norm`, `dropout_rate`, `classifier_activation`, `name`; a None
            name gives "plain{depth}").

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an invalid argument or a too small input.

    Example:
        >>> build_plain_cnn((32, 32, 1), 10, depth=56, filters=(8, 16, 32)).name
        'plain56'
    """
    if "residual" in kwargs:
        raise ValueError("build_plain_cnn has no residual option (it is False)")
    return build_cifar_resnet(
        input_shape, num_classes, depth=depth, filters=filters, residual=False, **kwargs
    )


def build_wide_resnet(
    input_shape,
    num_classes: int,
    *,
    depth: int = 16,
    width: int = 4,
    block_dropout: float = 0.0,
    norm: str = "batch",
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """Wide ResNet WRN-`depth`-`width` (Zagoruyko & Komodakis 2016), CIFAR layout.

    A 16-filter 3x3 stem, three stages of `n = (depth - 4) / 6` pre-activation
    basic blocks with `16 * width`, `32 * width`, `64 * width` filters (stride 2
    at stages 2 and 3), BN-ReLU, global average pooling, predictions. Wider and
    shallower than the CIFAR ResNets: WRN-28-10 (36.5M parameters) beats
    ResNet-1001 on CIFAR. Blocks are `conv{s}_block{b}` (stages conv2..conv4,
    see `apply_residual_block`); the feature layer is `post_relu`.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            8x8.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: Weighted layers, `6 * n + 4` (10, 16, 22, 28, 40...). Defaults to
            16.
        width: Widening factor k. Defaults to 4.
        block_dropout: Dropout between the two convolutions of every block (the
            paper's 0.3 on CIFAR). Defaults to 0.0.
        norm: "batch", "layer", "group" or "none". Defaults to "batch".
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "wrn{depth}_{width}". Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: If `depth` is not `6 * n + 4`, or on another invalid argument.

    Example:
        >>> build_wide_resnet((32, 32, 3), 10, depth=16, width=4).count_params()
        2752522
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or (depth - 4) % 6:
        raise ValueError(f"depth must be 6 * n + 4 (10, 16, 22, 28, 40), got {depth!r}")
    if depth < 10:
        raise ValueError(f"depth must be 6 * n + 4 with n >= 1, got {depth}")
    (width,) = _check_positive_ints("width", width)
    block_dropout = _check_dropout(block_dropout)
    dropout_rate = _check_dropout(dropout_rate)
    norm = resolve_norm(norm)
    classifier_units(num_classes, classifier_activation)
    name = name or f"wrn{depth}_{width}"
    shape = check_input_shape(input_shape, min_size=8, model_name=name)
    filters = (16 * width, 32 * width, 64 * width)
    return _resnet_network(
        shape,
        num_classes,
        filters,
        ((depth - 4) // 6,) * 3,
        stem_filters=16,
        preact=True,
        norm=norm,
        block_dropout=block_dropout,
        dropout_rate=dropout_rate,
        classifier_activation=classifier_activation,
        name=name,
    )


# === DenseNet ===


def build_densenet(
    input_shape,
    num_classes: int,
    *,
    blocks=(6, 12, 24, 16),
    growth_rate: int = 32,
    compression: float = 0.5,
    bottleneck: bool = True,
    initial_filters: int | None = None,
    stem: str = "auto",
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """DenseNet-BC (Huang et al. 2016): dense blocks joined by transitions.

    Stem -> dense1 -> transition1 -> dense2 -> ... -> BN-ReLU -> global average
    pooling -> predictions. Each dense layer adds `growth_rate` channels (see
    `apply_dense_block`); each transition keeps `compression` of the channels and
    halves the spatial size. The "imagenet" stem is a 7x7/2 convolution with
    `2 * growth_rate` filters and a 3x3/2 max pooling; the "small" stem a single
    3x3 convolution. Layers: `dense{i}_block{j}_...`, `transition{i}_...`,
    `final_bn`, `final_relu` (the feature layer).

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            `2 ** len(blocks)` (times 4 with the ImageNet stem).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        blocks: Layers per dense block. Defaults to (6, 12, 24, 16)
            (DenseNet-121).
        growth_rate: Channels added by each dense layer (the width knob).
            Defaults to 32.
        compression: Fraction of channels kept by each transition, in (0, 1].
            Defaults to 0.5.
        bottleneck: 1x1 bottleneck before each 3x3 convolution. Defaults to True.
        initial_filters: Stem filters; None gives `2 * growth_rate`. Defaults to
            None.
        stem: "auto", "imagenet" or "small". Defaults to "auto".
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "densenet{layers}" (e.g. "densenet121").
            Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an invalid argument or a too small input.

    Example:
        >>> build_densenet((32, 32, 3), 10, blocks=(6, 6, 6), growth_rate=12).name
        'densenet40'
    """
    blocks = _check_positive_ints("blocks", blocks)
    if (
        isinstance(growth_rate, bool)
        or not isinstance(growth_rate, int)
        or (growth_rate < 1)
    ):
        raise ValueError(f"growth_rate must be a positive integer, got {growth_rate!r}")
    if not 0.0 < compression <= 1.0:
        raise ValueError(f"compression must be in (0, 1], got {compression}")
    if initial_filters is None:
        initial_filters = 2 * growth_rate
    _check_positive_ints("initial_filters", initial_filters)
    dropout_rate = _check_dropout(dropout_rate)
    classifier_units(num_classes, classifier_activation)
    if name is None:
        num_layers = (2 if bottleneck else 1) * sum(blocks) + len(blocks) + 1
        name = f"densenet{num_layers}"
    shape, stem = _resolve_stem(stem, input_shape, name)
    total_strides = (4 if stem == "imagenet" else 1) * 2 ** (len(blocks) - 1)
    check_input_shape(shape, min_size=2 * total_strides, model_name=name)

    inputs, x = _image_input(shape)
    # === Stem ===
    if stem == "imagenet":
        x = apply_conv_block(x, initial_filters, kernel_size=7, strides=2, name="conv1")
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    else:
        # The first dense layer starts with BN-ReLU, so the stem is a bare conv.
        x = layers.Conv2D(
            initial_filters,
            3,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            name="conv1",
        )(x)
    # === Dense blocks ===
    for index, num_layers in enumerate(blocks, start=1):
        x = apply_dense_block(
            x, num_layers, growth_rate, bottleneck=bottleneck, name=f"dense{index}"
        )
        if index < len(blocks):
            x = apply_transition(x, compression=compression, name=f"transition{index}")
    x = batch_normalization(name="final_bn")(x)
    x = layers.Activation("relu", name="final_relu")(x)
    # === Head ===
    outputs = apply_classifier_head(
        x,
        num_classes,
        dropout_rate=dropout_rate,
        classifier_activation=classifier_activation,
    )
    return keras.Model(inputs, outputs, name=name)


# === MobileNet v1 ===


def build_mobilenet_v1(
    input_shape,
    num_classes: int,
    *,
    alpha: float = 1.0,
    depth_multiplier: int = 1,
    dropout_rate: float = 0.0,
    stem: str = "auto",
    classifier_activation: str | None = None,
    name: str = "mobilenet_v1",
):
    """MobileNet v1 (Howard et al. 2017): depthwise-separable convolutions.

    conv1 (3x3, 32 filters, BN, ReLU6) -> 13 depthwise-separable blocks
    `dw1`..`dw13` (see `apply_depthwise_separable_block`) -> global average
    pooling -> dropout -> predictions. The "imagenet" stem has stride 2 (total
    stride 32); the "small" stem stride 1 (total stride 16). The feature layer is
    `dw13_pointwise_relu`.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            32x32 with the small stem (64x64 with the ImageNet stem).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        alpha: Width multiplier of every layer. Defaults to 1.0.
        depth_multiplier: Depthwise channels per input channel (the paper's
            resolution multiplier is the input size instead). Defaults to 1.
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        stem: "auto", "imagenet" or "small". Defaults to "auto".
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name. Defaults to "mobilenet_v1".

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an invalid argument or a too small input.

    Example:
        >>> model = build_mobilenet_v1((32, 32, 3), 10, alpha=0.25)
        >>> model.get_layer("dw13_pointwise_relu").output.shape
        (None, 2, 2, 256)
    """
    width = _check_multiplier("alpha", alpha)
    _check_positive_ints("depth_multiplier", depth_multiplier)
    dropout_rate = _check_dropout(dropout_rate)
    classifier_units(num_classes, classifier_activation)
    shape, stem = _resolve_stem(stem, input_shape, name)
    total_strides = 32 if stem == "imagenet" else 16
    check_input_shape(shape, min_size=2 * total_strides, model_name=name)

    inputs, x = _image_input(shape)
    x = apply_conv_block(
        x,
        _scale(32, width),
        strides=2 if stem == "imagenet" else 1,
        activation="relu6",
        name="conv1",
    )
    for index, (filters, strides) in enumerate(MOBILENET_V1_BLOCKS, start=1):
        x = apply_depthwise_separable_block(
            x,
            _scale(filters, width),
            strides=strides,
            depth_multiplier=depth_multiplier,
            name=f"dw{index}",
        )
    outputs = apply_classifier_head(
        x,
        num_classes,
        dropout_rate=dropout_rate,
        kernel_initializer="he_normal",
        classifier_activation=classifier_activation,
    )
    return keras.Model(inputs, outputs, name=name)


# === Compute ===


def _iter_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and isinstance(layer, keras.Model):
            yield from _iter_layers(layer)
        else:
            yield layer


def count_multiply_adds(model) -> int:
    """Multiply-accumulate operations of one forward pass for one image.

    Counts `Conv2D`, `DepthwiseConv2D`, `SeparableConv2D`, `Conv2DTranspose` and
    `Dense` layers (nested models included) from their kernel shapes and output
    shapes: a convolution costs `out_h * out_w * k_h * k_w * C_in / groups *
    C_out`, a depthwise one `out_h * out_w * k_h * k_w * C_in * multiplier`, a
    dense layer `inputs * units` per position. Biases, batch normalization,
    activations and pooling are ignored, as in the papers' tables. Each layer is
    counted once, at its output shape (shared layers are not multiplied).

    Args:
        model: A built Keras model with known spatial dimensions.

    Returns:
        The number of multiply-adds per image.

    Raises:
        ValueError: If a counted layer has an unknown spatial dimension.

    Example:
        >>> inputs = keras.Input((8, 8, 3))
        >>> outputs = keras.layers.Conv2D(4, 3, padding="same")(inputs)
        >>> count_multiply_adds(keras.Model(inputs, outputs))  # 8*8 * 3*3*3 * 4
        6912
    """
    total = 0
    for layer in _iter_layers(model):
        if not isinstance(
            layer,
            (
                layers.Conv2D,
                layers.DepthwiseConv2D,
                layers.SeparableConv2D,
                layers.Conv2DTranspose,
                layers.Dense,
            ),
        ):
            continue
        output_shape = tuple(layer.output.shape[1:])
        if any(dim is None for dim in output_shape):
            raise ValueError(
                f"layer {layer.name!r} has an unknown output shape {output_shape}; "
                "build the model with a fixed input size"
            )
        positions = math.prod(output_shape[:-1])
        if isinstance(layer, layers.SeparableConv2D):
            depthwise = math.prod(layer.depthwise_kernel.shape)
            pointwise = math.prod(layer.pointwise_kernel.shape)
            total += positions * (depthwise + pointwise)
        elif isinstance(layer, layers.Conv2DTranspose):
            # Every input pixel scatters a full kernel onto the output.
            input_positions = math.prod(tuple(layer.input.shape[1:-1]))
            total += input_positions * math.prod(layer.kernel.shape)
        else:
            # Conv2D kernel (k_h, k_w, C_in / groups, C_out); depthwise
            # (k_h, k_w, C_in, multiplier); dense (inputs, units).
            total += positions * math.prod(layer.kernel.shape)
    return int(total)
