"""PyramidNet (Han et al. 2017): widths that grow a little at every unit.

Instead of doubling the filters at each downsampling, an additive PyramidNet
widens every residual unit by `alpha / N` channels (N units in all), from 16 to
`16 + alpha`. Its units have no ReLU on the shortcut path: BN-conv-BN-ReLU-conv-
BN (basic) or BN-1x1-BN-ReLU-3x3-BN-ReLU-1x1-BN (bottleneck), added to a
parameter-free shortcut (2x2 average pooling where the unit downsamples, and
the new channels padded with zeros).
"""

from __future__ import annotations

from keras import layers

from kerasvision.models._common import HeadOptions, check_repeats_depth, image_input
from kerasvision.models.blocks import check_choice
from kerasvision.models.heads import check_input_shape
from kerasvision.models.normalization import (
    NORM_SUFFIXES,
    normalization_layer,
    resolve_norm,
)

__all__ = ["PYRAMID_BLOCKS", "apply_pyramidal_unit", "build_pyramidnet"]

#: Unit kinds and the weighted layers each adds to `depth`.
PYRAMID_BLOCKS = {"basic": 2, "bottleneck": 3}


def _norm(x, norm, *, name, gamma_initializer="ones"):
    if norm == "none":
        return x
    return normalization_layer(
        norm, int(x.shape[-1]), name=name, gamma_initializer=gamma_initializer
    )(x)


def _conv(x, filters, kernel_size, *, strides=1, name):
    return layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name=name,
    )(x)


def _zero_padded_shortcut(x, out_channels, strides, *, name):
    """Average-pool (when downsampling), then pad the channels with zeros.

    Only built-in layers: the map is viewed as a 3-D volume (`Reshape`) so that
    `ZeroPadding3D` pads its channel axis, then viewed back.
    """
    if strides > 1:
        x = layers.AveragePooling2D(
            strides, strides=strides, padding="same", name=f"{name}_shortcut_pool"
        )(x)
    height, width, channels = (int(v) for v in x.shape[1:])
    extra = out_channels - channels
    if extra == 0:
        return x
    x = layers.Reshape((height, width, channels, 1), name=f"{name}_shortcut_expand")(x)
    padding = ((0, 0), (0, 0), (0, extra))
    x = layers.ZeroPadding3D(padding, name=f"{name}_shortcut_pad")(x)
    shape = (height, width, out_channels)
    return layers.Reshape(shape, name=f"{name}_shortcut_out")(x)


def apply_pyramidal_unit(
    x,
    filters: int,
    *,
    block: str = "basic",
    strides: int = 1,
    norm: str = "batch",
    zero_init_residual: bool = False,
    name: str,
):
    """One pyramidal residual unit; outputs `filters` (bottleneck: 4x) channels.

    Layers: `{name}_bn1`, `{name}_conv1`, `{name}_bn2`, `{name}_relu2`,
    `{name}_conv2`, `{name}_bn3` (bottleneck: `{name}_relu3`, `{name}_conv3`,
    `{name}_bn4`), the shortcut (`{name}_shortcut_pool`, `_expand`, `_pad`,
    `_out`) and the sum `{name}_out`. The normalization suffix follows `norm`
    (`_ln1`, `_gn1`, `_in1`).

    Args:
        x: Input Keras tensor.
        filters: Width of the unit's convolutions.
        block: "basic" or "bottleneck". Defaults to "basic".
        strides: 2 halves the spatial size (in the 3x3 convolution). Defaults
            to 1.
        norm: "batch", "layer", "group", "instance" or "none". Defaults to
            "batch".
        zero_init_residual: Initialize the last normalization's scale to 0 so
            the unit starts as its shortcut. Defaults to False.
        name: Prefix of the layer names, e.g. "conv2_block1"; required.

    Returns:
        The output tensor.

    Example:
        >>> x = keras.Input((16, 16, 16))
        >>> apply_pyramidal_unit(x, 21, strides=2, name="conv3_block1").shape
        (None, 8, 8, 21)
    """
    check_choice("block", block, tuple(PYRAMID_BLOCKS))
    suffix = NORM_SUFFIXES.get(norm, "bn")
    last = "zeros" if zero_init_residual else "ones"
    out_channels = filters * (4 if block == "bottleneck" else 1)
    y = _norm(x, norm, name=f"{name}_{suffix}1")
    if block == "basic":
        y = _conv(y, filters, 3, strides=strides, name=f"{name}_conv1")
        y = _norm(y, norm, name=f"{name}_{suffix}2")
        y = layers.Activation("relu", name=f"{name}_relu2")(y)
        y = _conv(y, filters, 3, name=f"{name}_conv2")
        y = _norm(y, norm, name=f"{name}_{suffix}3", gamma_initializer=last)
    else:
        y = _conv(y, filters, 1, name=f"{name}_conv1")
        y = _norm(y, norm, name=f"{name}_{suffix}2")
        y = layers.Activation("relu", name=f"{name}_relu2")(y)
        y = _conv(y, filters, 3, strides=strides, name=f"{name}_conv2")
        y = _norm(y, norm, name=f"{name}_{suffix}3")
        y = layers.Activation("relu", name=f"{name}_relu3")(y)
        y = _conv(y, out_channels, 1, name=f"{name}_conv3")
        y = _norm(y, norm, name=f"{name}_{suffix}4", gamma_initializer=last)
    shortcut = _zero_padded_shortcut(x, out_channels, strides, name=name)
    return layers.Add(name=f"{name}_out")([shortcut, y])


def _unit_widths(depth: int, alpha: float, block: str) -> tuple[int, ...]:
    """Width of each unit: `round(16 + alpha * k / N)` for k = 1..N."""
    # Three stages of n units.
    per_stage = check_repeats_depth(
        depth, 3 * PYRAMID_BLOCKS[block], f"{block} units", examples=(1, 2, 12)
    )
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or alpha < 0:
        raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
    total = 3 * per_stage
    return tuple(int(round(16 + alpha * k / total)) for k in range(1, total + 1))


def build_pyramidnet(
    input_shape,
    num_classes: int,
    *,
    depth: int = 110,
    alpha: float = 48,
    block: str = "basic",
    norm: str = "batch",
    zero_init_residual: bool = False,
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """Additive PyramidNet (Han et al. 2017), CIFAR layout.

    conv1 (3x3, 16 filters) + BN, three stages of `n` pyramidal units
    (`apply_pyramidal_unit`, named `conv{s}_block{b}`; stride 2 at the first
    unit of stages 2 and 3) whose widths grow by `alpha / (3n)` per unit, then
    BN-ReLU (`post_bn`, `post_relu`: the feature layer), global average pooling
    and predictions. `depth = 2 * 3n + 2` (basic) or `3 * 3n + 2` (bottleneck);
    the paper's PyramidNet-110 (alpha 48, basic) has 1.7M parameters.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            8x8.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: Weighted layers. Defaults to 110.
        alpha: Channels added over the whole network (the widening factor).
            Defaults to 48.
        block: "basic" or "bottleneck" units. Defaults to "basic".
        norm: "batch", "layer", "group", "instance" or "none". Defaults to
            "batch".
        zero_init_residual: Start every unit as its shortcut (last norm scale
            0). Defaults to False.
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "pyramidnet{depth}". Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: If `depth` is not `2 * 3n + 2` (basic) or `3 * 3n + 2`
            (bottleneck), `alpha` is negative, or on another invalid argument.

    Example:
        >>> model = build_pyramidnet((32, 32, 3), 10, depth=20, alpha=48)
        >>> model.get_layer("post_relu").output.shape
        (None, 8, 8, 64)
    """
    check_choice("block", block, tuple(PYRAMID_BLOCKS))
    widths = _unit_widths(depth, alpha, block)
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    norm = resolve_norm(norm)
    name = name or f"pyramidnet{depth}"
    shape = check_input_shape(input_shape, min_size=8, model_name=name)
    per_stage = len(widths) // 3

    inputs, x = image_input(shape)
    x = _conv(x, 16, 3, name="conv1")
    x = _norm(x, norm, name=f"conv1_{NORM_SUFFIXES.get(norm, 'bn')}")
    # === Pyramidal stages ===
    for index, width in enumerate(widths):
        stage, unit = divmod(index, per_stage)
        x = apply_pyramidal_unit(
            x,
            width,
            block=block,
            strides=2 if stage > 0 and unit == 0 else 1,
            norm=norm,
            zero_init_residual=bool(zero_init_residual),
            name=f"conv{stage + 2}_block{unit + 1}",
        )
    x = _norm(x, norm, name=f"post_{NORM_SUFFIXES.get(norm, 'bn')}")
    x = layers.Activation("relu", name="post_relu")(x)
    # === Head ===
    return head.model(inputs, x, name=name)
