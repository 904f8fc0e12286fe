"""AlexNet (Krizhevsky et al. 2012) and ZFNet (Zeiler & Fergus 2013)."""

from __future__ import annotations

from keras import layers

from kerasvision.layers.normalization import LocalResponseNormalization
from kerasvision.models._common import (
    HeadOptions,
    check_multiplier,
    check_positive_ints,
    image_input,
    resolve_stem,
    scale,
)
from kerasvision.models.blocks import apply_conv_block
from kerasvision.models.normalization import resolve_norm

__all__ = [
    "build_alexnet",
    "build_zfnet",
]


# build_alexnet's keyword defaults (ZFNet takes the same options).
_ALEXNET_OPTIONS = {
    "width_multiplier": 1.0,
    "local_response_norm": False,
    "norm": "none",
    "dropout_rate": 0.5,
    "dense_dropout": True,
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
    dense_dropout: bool = True,
    dense_units=(4096, 4096),
    stem: str = "auto",
    classifier_activation: str | None = None,
    name: str = "alexnet",
):
    """AlexNet (Krizhevsky et al. 2012) as a single-tower network.

    conv1 (96) -> [LRN] -> 3x3/2 max pool -> conv2 5x5 (256) -> [LRN] -> pool ->
    conv3 (384) -> conv4 (384) -> conv5 (256) -> pool -> fc1 (4096) -> dropout
    -> fc2 (4096) -> dropout -> predictions, all with ReLU (the paper's dropout
    after each dense layer). The "imagenet" stem is the paper's
    11x11 stride-4 convolution; the "small" stem is 5x5 stride 1 so that a 32x32
    image keeps enough resolution for the three overlapping poolings. Layers:
    `conv{i}`, `conv{i}_relu`, `conv{i}_lrn`, `pool{1,2,5}`, `flatten`, `fc1`,
    `fc1_dropout`, `fc2`, `dropout`, `predictions`; the feature layer is `conv5_relu`.

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
        dense_dropout: The same dropout after every dense layer (the paper),
            not only the last. Defaults to True.
        dense_units: Hidden dense widths before scaling. Defaults to (4096, 4096).
        stem: "auto", "imagenet" or "small". Defaults to "auto".
        classifier_activation: None, "softmax" or "sigmoid" (see
            `classifier_units`). Defaults to None.
        name: Name of the returned model. Defaults to "alexnet".

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: If `width_multiplier` is not positive, `dropout_rate` not in
            [0, 1), `norm` or `stem` unknown, or the input smaller than 15x15
            (57x57 with the ImageNet stem).

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
        dense_dropout=dense_dropout,
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
            normalization, `norm`, `dropout_rate`, `dense_dropout`,
            `dense_units`, `stem`, `classifier_activation`).

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On a keyword argument that `build_alexnet` does not take, or
            as `build_alexnet` does.

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
    width = check_multiplier("width_multiplier", options["width_multiplier"])
    head = HeadOptions(
        num_classes, options["dropout_rate"], options["classifier_activation"]
    )
    dense_units = check_positive_ints(
        "dense_units", options["dense_units"], allow_empty=True
    )
    norm = resolve_norm(options["norm"])
    name = options["name"]
    kernel, strides, conv2_strides = imagenet_stem
    # The three valid 3x3/2 poolings need conv2's input to be at least 15x15.
    shape, stem = resolve_stem(
        options["stem"],
        input_shape,
        name,
        min_sizes=(14 * strides * conv2_strides + 1, 15),
    )
    if stem == "small":  # AlexNet 5x5, ZFNet 7x7, both at stride 1
        kernel, strides, conv2_strides = 5 if kernel == 11 else kernel, 1, 1

    def lrn(x, layer_name):
        if options["local_response_norm"]:
            return LocalResponseNormalization(name=layer_name)(x)
        return x

    inputs, x = image_input(shape)
    # === Features ===
    conv = {"norm": norm, "kernel_initializer": "he_normal"}
    x = apply_conv_block(
        x, scale(96, width), kernel_size=kernel, strides=strides, name="conv1", **conv
    )
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(lrn(x, "conv1_lrn"))
    x = apply_conv_block(
        x,
        scale(256, width),
        kernel_size=5,
        strides=conv2_strides,
        name="conv2",
        **conv,
    )
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(lrn(x, "conv2_lrn"))
    x = apply_conv_block(x, scale(384, width), name="conv3", **conv)
    x = apply_conv_block(x, scale(384, width), name="conv4", **conv)
    x = apply_conv_block(x, scale(256, width), name="conv5", **conv)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    # === Head ===
    return head.model(
        inputs,
        x,
        name=name,
        pooling="flatten",
        dense_units=tuple(scale(units, width) for units in dense_units),
        dense_dropout=bool(options["dense_dropout"]),
    )
