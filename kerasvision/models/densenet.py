"""DenseNet-BC (Huang et al. 2016): dense blocks joined by transitions.

Layers of `apply_dense_block`: `{name}_block{i}_bottleneck_{bn,relu,conv}`,
`{name}_block{i}_{bn,relu,conv}`, `{name}_block{i}_concat`; of
`apply_transition`: `{name}_bn`, `{name}_relu`, `{name}_conv`, `{name}_pool`.
"""

from __future__ import annotations

from keras import layers

from kerasvision.models._common import (
    HeadOptions,
    check_positive_ints,
    image_input,
    resolve_stem,
)
from kerasvision.models.blocks import apply_conv_block, check_positive_int
from kerasvision.models.normalization import batch_normalization

__all__ = [
    "apply_dense_block",
    "apply_transition",
    "build_densenet",
]


def _bn_relu_conv(x, filters, kernel_size, *, kernel_initializer, name):
    x = batch_normalization(name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    return layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        use_bias=False,
        kernel_initializer=kernel_initializer,
        name=f"{name}_conv",
    )(x)


def apply_dense_block(
    x,
    num_layers: int,
    growth_rate: int,
    *,
    bottleneck: bool = True,
    bottleneck_width: int = 4,
    dropout_rate: float = 0.0,
    kernel_initializer="he_normal",
    name: str,
):
    """A DenseNet block: each layer's output is concatenated to its input.

    Each layer is BN-ReLU-Conv3x3 producing `growth_rate` channels, preceded in
    DenseNet-BC by a BN-ReLU-Conv1x1 bottleneck with
    `bottleneck_width * growth_rate` channels. A block with `num_layers` layers
    turns `C` input channels into `C + num_layers * growth_rate`.

    Args:
        x: Input Keras tensor.
        num_layers: Number of layers in the block.
        growth_rate: Channels each layer adds.
        bottleneck: Use the 1x1 bottleneck (DenseNet-B). Defaults to True.
        bottleneck_width: Bottleneck channels as a multiple of the growth rate.
            Defaults to 4.
        dropout_rate: Dropout after each 3x3 convolution; 0 disables. Defaults to
            0.0.
        kernel_initializer: Kernel initializer. Defaults to "he_normal".
        name: Prefix of the block's layer names, e.g. "dense2"; required.

    Returns:
        The output tensor (`{name}_block{num_layers}_concat`).

    Raises:
        ValueError: If `num_layers`/`growth_rate`/`bottleneck_width` is not a
            positive integer or `dropout_rate` is not in [0, 1).

    Example:
        >>> x = keras.Input((16, 16, 24))
        >>> apply_dense_block(x, 6, 12, name="dense1").shape
        (None, 16, 16, 96)
    """
    check_positive_int("num_layers", num_layers)
    check_positive_int("growth_rate", growth_rate)
    check_positive_int("bottleneck_width", bottleneck_width)
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    for index in range(1, num_layers + 1):
        prefix = f"{name}_block{index}"
        y = x
        if bottleneck:
            y = _bn_relu_conv(
                y,
                bottleneck_width * growth_rate,
                1,
                kernel_initializer=kernel_initializer,
                name=f"{prefix}_bottleneck",
            )
        y = _bn_relu_conv(
            y, growth_rate, 3, kernel_initializer=kernel_initializer, name=prefix
        )
        if dropout_rate:
            y = layers.Dropout(dropout_rate, name=f"{prefix}_dropout")(y)
        x = layers.Concatenate(name=f"{prefix}_concat")([x, y])
    return x


def apply_transition(
    x, *, compression: float = 0.5, kernel_initializer="he_normal", name: str
):
    """A DenseNet transition: BN-ReLU-Conv1x1 (compressing) and 2x2 average pool.

    Args:
        x: Input Keras tensor with `C` channels.
        compression: Fraction of channels kept, in (0, 1]: the 1x1 convolution
            outputs `max(1, int(C * compression))` channels. Defaults to 0.5.
        kernel_initializer: Kernel initializer. Defaults to "he_normal".
        name: Prefix of the layer names, e.g. "transition1"; required.

    Returns:
        The output tensor (`{name}_pool`), half the spatial size.

    Raises:
        ValueError: If `compression` is not in (0, 1].

    Example:
        >>> x = keras.Input((16, 16, 96))
        >>> apply_transition(x, name="transition1").shape
        (None, 8, 8, 48)
    """
    if not 0.0 < compression <= 1.0:
        raise ValueError(f"compression must be in (0, 1], got {compression}")
    filters = max(1, int(int(x.shape[-1]) * compression))
    x = _bn_relu_conv(x, filters, 1, kernel_initializer=kernel_initializer, name=name)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


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
    blocks = check_positive_ints("blocks", blocks)
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
    check_positive_ints("initial_filters", initial_filters)
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    if name is None:
        num_layers = (2 if bottleneck else 1) * sum(blocks) + len(blocks) + 1
        name = f"densenet{num_layers}"
    # Twice the total stride: the stages' 2 ** (stages - 1), times 4 with the
    # ImageNet stem.
    small = 2 ** len(blocks)
    shape, stem = resolve_stem(stem, input_shape, name, min_sizes=(4 * small, small))

    inputs, x = image_input(shape)
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
    return head.model(inputs, x, name=name, kernel_initializer="glorot_uniform")
