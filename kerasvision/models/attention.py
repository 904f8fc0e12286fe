"""Residual Attention Network (Wang et al. 2017): trunk and soft-mask branches.

Each attention module has a trunk branch T (residual units) and a soft mask
branch M: a bottom-up top-down hourglass (max pooling down, residual units,
bilinear upsampling back, with skip connections) ending in a sigmoid. Its output
is `(1 + M(x)) * T(x)` (attention residual learning), so a mask near 0 keeps
the trunk's features instead of erasing them. The residual units are
pre-activation bottleneck units (`apply_residual_block(preact=True)`).
"""

from __future__ import annotations

from keras import layers

from kerasvision.models._common import (
    HeadOptions,
    check_multiplier,
    check_preset_depth,
    image_input,
    resolve_stem,
    scale,
)
from kerasvision.models.blocks import apply_conv_block, apply_residual_block
from kerasvision.models.normalization import batch_normalization

__all__ = [
    "ATTENTION_DEPTHS",
    "apply_attention_module",
    "build_residual_attention_network",
]

#: Attention modules per stage: Attention-56 and Attention-92 (the paper's names
#: count weighted layers of the ImageNet network).
ATTENTION_DEPTHS = {56: (1, 1, 1), 92: (1, 2, 3)}
#: Stage filters before the bottleneck's 4x expansion (the ImageNet network's).
ATTENTION_FILTERS = (64, 128, 256, 512)


def _unit(x, filters, *, strides=1, name):
    return apply_residual_block(
        x, filters, block="bottleneck", strides=strides, preact=True, name=name
    )


def _soft_mask(x, filters, skips, *, name):
    """The mask branch: `skips + 1` poolings down, as many upsamplings back."""
    sizes, shortcuts = [], []
    for level in range(1, skips + 2):
        sizes.append(tuple(int(v) for v in x.shape[1:3]))
        x = layers.MaxPooling2D(
            3, strides=2, padding="same", name=f"{name}_mask_pool{level}"
        )(x)
        x = _unit(x, filters, name=f"{name}_mask_down{level}")
        if level <= skips:
            shortcuts.append(_unit(x, filters, name=f"{name}_mask_skip{level}"))
    x = _unit(x, filters, name=f"{name}_mask_bottom")
    for level in range(skips + 1, 0, -1):
        x = layers.UpSampling2D(
            2, interpolation="bilinear", name=f"{name}_mask_up{level}"
        )(x)
        # Odd sizes were pooled up (padding "same"): crop the extra pixel.
        extra = [int(x.shape[axis]) - sizes[level - 1][axis - 1] for axis in (1, 2)]
        if any(extra):
            crop = ((0, extra[0]), (0, extra[1]))
            x = layers.Cropping2D(crop, name=f"{name}_mask_crop{level}")(x)
        if level > 1:
            skip = shortcuts[level - 2]
            x = layers.Add(name=f"{name}_mask_add{level - 1}")([x, skip])
            x = _unit(x, filters, name=f"{name}_mask_up{level - 1}_unit")
    channels = int(x.shape[-1])
    for index in (1, 2):
        x = batch_normalization(name=f"{name}_mask_bn{index}")(x)
        x = layers.Activation("relu", name=f"{name}_mask_relu{index}")(x)
        x = layers.Conv2D(
            channels, 1, use_bias=index == 2, name=f"{name}_mask_conv{index}"
        )(x)
    return layers.Activation("sigmoid", name=f"{name}_mask")(x)


def apply_attention_module(x, filters: int, *, skips: int, name: str):
    """One attention module: `(1 + M) * T` between one unit before and after.

    Layers: `{name}_pre` (a residual unit), the trunk `{name}_trunk1`,
    `{name}_trunk2`, the mask `{name}_mask_pool{i}`, `_mask_down{i}`,
    `_mask_skip{i}`, `_mask_bottom`, `_mask_up{i}` (bilinear upsampling, then
    `_mask_crop{i}` for odd sizes), `_mask_add{i}`, `_mask_bn{1,2}` /
    `_relu{1,2}` / `_conv{1,2}` and the sigmoid `{name}_mask`; then
    `{name}_masked` (M * T), `{name}_attended` (T + M * T) and `{name}_post` (a
    residual unit; its `_out` is the module output).

    Args:
        x: Input Keras tensor with `4 * filters` channels.
        filters: Bottleneck filters of every unit (outputs `4 * filters`).
        skips: Skip connections of the mask's hourglass (it pools `skips + 1`
            times): the paper's 2, 1, 0 for stages 1, 2, 3.
        name: Prefix of the layer names, e.g. "attention1_1"; required.

    Returns:
        The output tensor, same shape as `x`.

    Example:
        >>> x = keras.Input((16, 16, 32))
        >>> apply_attention_module(x, 8, skips=1, name="attention2_1").shape
        (None, 16, 16, 32)
    """
    x = _unit(x, filters, name=f"{name}_pre")
    trunk = _unit(x, filters, name=f"{name}_trunk1")
    trunk = _unit(trunk, filters, name=f"{name}_trunk2")
    mask = _soft_mask(x, filters, skips, name=name)
    masked = layers.Multiply(name=f"{name}_masked")([mask, trunk])
    x = layers.Add(name=f"{name}_attended")([trunk, masked])
    return _unit(x, filters, name=f"{name}_post")


def build_residual_attention_network(
    input_shape,
    num_classes: int,
    *,
    depth=56,
    width_multiplier: float = 1.0,
    stem: str = "auto",
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """Residual Attention Network (Wang et al. 2017): Attention-56 or -92.

    Stem -> [residual unit, attention modules] x 3 stages (64, 128, 256
    bottleneck filters; the units of stages 2 and 3 stride 2; mask skips 2,
    1, 0) -> 3 residual units of 512 filters (the first strides 2) ->
    BN-ReLU (`post_bn`, `post_relu`: the feature layer) -> global average
    pooling -> predictions. The "imagenet" stem is a 7x7/2 convolution and a
    3x3/2 max pooling; the "small" stem (CIFAR) a 3x3 convolution. Stage units
    are `stage{s}_unit`, modules `attention{s}_{m}` (`apply_attention_module`),
    the last units `stage4_unit{i}`.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            16x16 with the small stem (64x64 with the ImageNet stem).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: 56 or 92 (attention modules per stage (1, 1, 1) or (1, 2, 3)),
            or a tuple of modules per stage. Defaults to 56.
        width_multiplier: Scales every filter count. Defaults to 1.0.
        stem: "auto", "imagenet" or "small". Defaults to "auto".
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "attention{depth}" ("attention" for a
            tuple). Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an unknown `depth` or one without 3 stages, another
            invalid argument, or an input smaller than 16x16 (64x64 with the
            ImageNet stem).

    Example:
        >>> model = build_residual_attention_network(
        ...     (32, 32, 3), 10, width_multiplier=0.125)
        >>> model.get_layer("post_relu").output.shape
        (None, 4, 4, 256)
    """
    modules, preset = check_preset_depth(
        depth, ATTENTION_DEPTHS, "3 attention modules per stage"
    )
    if len(modules) != 3:
        raise ValueError(f"depth needs 3 modules per stage, got {modules!r}")
    default_name = f"attention{depth}" if preset else "attention"
    width = check_multiplier("width_multiplier", width_multiplier)
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    name = name or default_name
    shape, stem = resolve_stem(stem, input_shape, name, min_sizes=(64, 16))
    filters = [scale(f, width) for f in ATTENTION_FILTERS]

    inputs, x = image_input(shape)
    # === Stem ===
    if stem == "imagenet":
        x = apply_conv_block(x, filters[0], kernel_size=7, strides=2, name="conv1")
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    else:
        x = apply_conv_block(x, filters[0], name="conv1")
    # === Attention stages ===
    for stage, (count, skips) in enumerate(zip(modules, (2, 1, 0), strict=True), 1):
        strides = 1 if stage == 1 else 2
        x = _unit(x, filters[stage - 1], strides=strides, name=f"stage{stage}_unit")
        for module in range(1, count + 1):
            x = apply_attention_module(
                x, filters[stage - 1], skips=skips, name=f"attention{stage}_{module}"
            )
    for index in (1, 2, 3):
        strides = 2 if index == 1 else 1
        x = _unit(x, filters[3], strides=strides, name=f"stage4_unit{index}")
    x = batch_normalization(name="post_bn")(x)
    x = layers.Activation("relu", name="post_relu")(x)
    # === Head ===
    return head.model(inputs, x, name=name)
