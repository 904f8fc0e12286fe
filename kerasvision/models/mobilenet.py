"""MobileNet v1 (Howard et al. 2017): depthwise-separable convolutions.

`apply_depthwise_separable_block` layers: `{name}_depthwise` (+ `_bn`, `_relu`),
`{name}_pointwise` (+ `_bn`, `_relu`).
"""

from __future__ import annotations

from keras import layers

from kerasvision.models._common import (
    HeadOptions,
    check_multiplier,
    image_input,
    resolve_stem,
    scale,
)
from kerasvision.models.blocks import (
    activation_layer,
    apply_conv_block,
    check_positive_int,
)
from kerasvision.models.normalization import batch_normalization

__all__ = [
    "MOBILENET_V1_BLOCKS",
    "apply_depthwise_separable_block",
    "build_mobilenet_v1",
]


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


def apply_depthwise_separable_block(
    x,
    filters: int,
    *,
    kernel_size=3,
    strides=1,
    depth_multiplier: int = 1,
    batch_norm: bool = True,
    activation: str = "relu6",
    kernel_initializer="he_normal",
    name: str,
):
    """A MobileNet block: depthwise conv (+BN+act), then pointwise 1x1 (+BN+act).

    A depthwise-separable convolution costs `k*k*C_in*m + C_in*m*C_out` weights
    (m = depth multiplier) instead of the `k*k*C_in*C_out` of a standard
    convolution.

    Args:
        x: Input Keras tensor.
        filters: Output channels of the pointwise convolution.
        kernel_size: Kernel size of the depthwise convolution. Defaults to 3.
        strides: Strides of the depthwise convolution. Defaults to 1.
        depth_multiplier: Depthwise channels per input channel. Defaults to 1.
        batch_norm: Batch normalization after each convolution. Defaults to True.
        activation: Activation after each convolution ("relu6" as in MobileNet).
            Defaults to "relu6".
        kernel_initializer: Initializer of the pointwise kernel. Defaults to
            "he_normal".
        name: Prefix of the layer names, e.g. "dw3"; required.

    Returns:
        The output tensor.

    Raises:
        ValueError: If `filters` or `depth_multiplier` is not a positive integer.

    Example:
        >>> x = keras.Input((32, 32, 32))
        >>> apply_depthwise_separable_block(x, 64, strides=2, name="dw1").shape
        (None, 16, 16, 64)
    """
    check_positive_int("filters", filters)
    check_positive_int("depth_multiplier", depth_multiplier)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding="same",
        depth_multiplier=depth_multiplier,
        use_bias=not batch_norm,
        name=f"{name}_depthwise",
    )(x)
    if batch_norm:
        x = batch_normalization(name=f"{name}_depthwise_bn")(x)
    suffix = "relu" if activation in ("relu", "relu6") else activation
    x = activation_layer(activation, f"{name}_depthwise_{suffix}")(x)
    return apply_conv_block(
        x,
        filters,
        kernel_size=1,
        batch_norm=batch_norm,
        activation=activation,
        kernel_initializer=kernel_initializer,
        name=f"{name}_pointwise",
    )


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
        ValueError: If `alpha` or `depth_multiplier` is not positive,
            `dropout_rate` not in [0, 1), or the input smaller than 32x32 (64x64
            with the ImageNet stem).

    Example:
        >>> model = build_mobilenet_v1((32, 32, 3), 10, alpha=0.25)
        >>> model.get_layer("dw13_pointwise_relu").output.shape
        (None, 2, 2, 256)
    """
    width = check_multiplier("alpha", alpha)
    check_positive_int("depth_multiplier", depth_multiplier)
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    # Twice the total stride (32 with the ImageNet stem, 16 with the small one).
    shape, stem = resolve_stem(stem, input_shape, name, min_sizes=(64, 32))

    inputs, x = image_input(shape)
    x = apply_conv_block(
        x,
        scale(32, width),
        strides=2 if stem == "imagenet" else 1,
        activation="relu6",
        name="conv1",
    )
    for index, (filters, strides) in enumerate(MOBILENET_V1_BLOCKS, start=1):
        x = apply_depthwise_separable_block(
            x,
            scale(filters, width),
            strides=strides,
            depth_multiplier=depth_multiplier,
            name=f"dw{index}",
        )
    return head.model(inputs, x, name=name)
