"""Scratch CNN classifiers: the lectures' bipyramidal CNN and LeNet-5.

Every builder takes raw pixels (0-255) and rescales inside the model, returns an
uncompiled functional `keras.Model` and uses stable, hierarchical layer names.
"""

from __future__ import annotations

import keras
from keras import layers

from kerasvision._choices import ACTIVATIONS, BLOCK_POOLINGS
from kerasvision.models.blocks import (
    NORM_SUFFIXES,
    activation_layer,
    normalization_layer,
    resolve_norm,
)
from kerasvision.models.heads import (
    apply_classifier_head,
    as_tuple,
    check_input_shape,
    classifier_units,
    make_regularizer,
)

__all__ = ["build_bipyramidal_cnn", "build_lenet5"]


def build_bipyramidal_cnn(
    input_shape,
    num_classes: int,
    *,
    filters=(32, 64, 128),
    convs_per_block=2,
    kernel_size=3,
    dilation_rate=1,
    padding="same",
    activation: str = "relu",
    block_pooling: str = "max",
    batch_norm: bool = False,
    norm: str | None = None,
    dropout_rate: float = 0.3,
    dense_dropout: bool = False,
    l1: float = 0.0,
    l2: float = 0.0,
    kernel_initializer="he_uniform",
    dense_units=(128,),
    pooling: str = "avg",
    classifier_activation: str | None = None,
    name: str = "bipyramidal_cnn",
):
    """The lectures' bipyramidal CNN: spatial size halves while filters grow.

    Each block is `convs_per_block` "same" convolutions (each followed by an
    optional normalization and the activation) and a 2x2 pooling. Layer names are
    `block{i}_conv{j}`, `block{i}_bn{j}` (`_ln{j}`, `_gn{j}`, `_in{j}`),
    `block{i}_act{j}`, `block{i}_pool` (and `block{i}_pad{j}` for an integer
    `padding`); the last activation before the last pooling is the feature
    layer.

    A dilated convolution (`dilation_rate` d) spreads its k taps over
    `d * (k - 1) + 1` pixels (`effective_kernel_size` in
    `kerasvision.teaching.arithmetic`): the same weights see a wider window.
    With "same" padding the size is kept; with "valid" or `p` pixels each
    convolution outputs `n + 2p - d * (k - 1)` pixels per side
    (`conv_output_size`).

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        filters: Filters per block; its length is the number of blocks. Defaults
            to (32, 64, 128).
        convs_per_block: Convolutions per block, an int or one per block.
            Defaults to 2.
        kernel_size: Convolution kernel size. Defaults to 3.
        dilation_rate: Dilation of the convolutions, an int or one per block
            (e.g. `(2, 1, 1)`). Defaults to 1.
        padding: "same" (keep the size), "valid" (none) or an int p of zero
            pixels on each side (as in the lectures). Defaults to "same".
        activation: "relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid" or
            "swish". Defaults to "relu".
        block_pooling: The 2x2 pooling closing each block, "max" or "avg".
            Defaults to "max".
        batch_norm: Batch normalization after every convolution (the same as
            `norm="batch"`). Defaults to False.
        norm: Normalization after every convolution: "batch", "layer",
            "group", "instance" or "none"; None follows `batch_norm`. Defaults
            to None.
        dropout_rate: Dropout before the output layer. Defaults to 0.3.
        dense_dropout: The same dropout after every hidden dense layer too
            ("a dropout layer after each fully connected layer"). Defaults to
            False.
        l1: L1 kernel regularization factor. Defaults to 0.0.
        l2: L2 kernel regularization factor. Defaults to 0.0.
        kernel_initializer: Keras initializer name or instance. Defaults to
            "he_uniform".
        dense_units: Hidden dense layer widths of the head. Defaults to (128,).
        pooling: The head's pooling: "avg" (global average), "max" (global max)
            or "flatten". Defaults to "avg".
        classifier_activation: The output activation, None (sigmoid for two
            classes, else softmax), "softmax" or "sigmoid". Defaults to None.
        name: Model name. Defaults to "bipyramidal_cnn".

    Returns:
        The uncompiled functional `keras.Model`, raw pixels in, class scores out.

    Raises:
        ValueError: On an invalid argument or an input too small for the number of
            pooling stages.

    Example:
        >>> model = build_bipyramidal_cnn((32, 32, 3), 5, filters=(8, 16))
        >>> model.output_shape
        (None, 5)
    """
    filters = as_tuple(filters, "filters")
    if not filters or any(int(f) < 1 for f in filters):
        raise ValueError(f"filters must be positive integers, got {filters!r}")
    num_blocks = len(filters)
    if isinstance(convs_per_block, int):
        convs_per_block = (convs_per_block,) * num_blocks
    convs_per_block = tuple(int(c) for c in convs_per_block)
    if len(convs_per_block) != num_blocks or min(convs_per_block) < 1:
        raise ValueError(
            f"convs_per_block must be a positive int or {num_blocks} positive ints, "
            f"got {convs_per_block!r}"
        )
    dilation_rate = _per_block("dilation_rate", dilation_rate, num_blocks)
    _check_padding(padding)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if block_pooling not in BLOCK_POOLINGS:
        raise ValueError(
            f"block_pooling must be one of {BLOCK_POOLINGS}, got {block_pooling!r}"
        )
    input_shape = check_input_shape(
        input_shape, min_size=2**num_blocks, model_name=f"{name} ({num_blocks} pools)"
    )
    _check_fits(input_shape, kernel_size, padding, dilation_rate, convs_per_block)
    norm = resolve_norm(norm, batch_norm)
    regularizer = make_regularizer(l1, l2)
    pool_layer = (
        layers.MaxPooling2D if block_pooling == "max" else layers.AveragePooling2D
    )

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    # === Feature pyramid ===
    for block, (width, num_convs, dilation) in enumerate(
        zip(filters, convs_per_block, dilation_rate, strict=True), start=1
    ):
        for conv in range(1, num_convs + 1):
            if isinstance(padding, int):
                x = layers.ZeroPadding2D(padding, name=f"block{block}_pad{conv}")(x)
            x = layers.Conv2D(
                int(width),
                kernel_size,
                padding="same" if padding == "same" else "valid",
                dilation_rate=dilation,
                use_bias=norm == "none",
                kernel_initializer=kernel_initializer,
                kernel_regularizer=regularizer,
                name=f"block{block}_conv{conv}",
            )(x)
            norm_name = f"block{block}_{NORM_SUFFIXES.get(norm)}{conv}"
            if norm == "batch":
                # Keras's default momentum, as in earlier runs (`rerun` repeats).
                x = layers.BatchNormalization(name=norm_name)(x)
            elif norm != "none":
                x = normalization_layer(norm, int(width), name=norm_name)(x)
            x = activation_layer(activation, f"block{block}_act{conv}")(x)
        x = pool_layer(2, name=f"block{block}_pool")(x)
    # === Head ===
    outputs = apply_classifier_head(
        x,
        num_classes,
        pooling=pooling,
        dense_units=dense_units,
        activation=activation if activation != "leaky_relu" else "relu",
        dropout_rate=dropout_rate,
        dense_dropout=bool(dense_dropout),
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer,
        classifier_activation=classifier_activation,
    )
    return keras.Model(inputs, outputs, name=name)


def _per_block(name: str, value, num_blocks: int) -> tuple:
    """An int or one positive int per block, as a tuple of `num_blocks` ints."""
    values = (value,) * num_blocks if isinstance(value, int) else tuple(value)
    if len(values) != num_blocks or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values
    ):
        raise ValueError(
            f"{name} must be a positive int or {num_blocks} positive ints (one "
            f"per block), got {value!r}"
        )
    return values


def _check_padding(padding) -> None:
    if padding in ("same", "valid"):
        return
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(
            f'padding must be "same", "valid" or a number of pixels >= 0, got '
            f"{padding!r}"
        )


def _check_fits(input_shape, kernel_size, padding, dilation_rate, convs_per_block):
    """Every convolution's (dilated) kernel fits its input, and every 2x2 pool
    has at least 2 pixels: else one `ValueError` naming the block."""
    if padding == "same":
        return
    pad = 0 if padding == "valid" else int(padding)
    kernels = kernel_size
    if not isinstance(kernel_size, tuple | list):
        kernels = (kernel_size, kernel_size)
    size = list(input_shape[:2])
    for block, (dilation, num_convs) in enumerate(
        zip(dilation_rate, convs_per_block, strict=True), start=1
    ):
        for axis in (0, 1):
            span = dilation * (int(kernels[axis]) - 1) + 1
            size[axis] += num_convs * (2 * pad - (span - 1))
            if size[axis] < 2:
                raise ValueError(
                    f"image size {input_shape[0]}x{input_shape[1]} is too small for "
                    f"block {block}: its {span}-pixel (dilated) kernels with "
                    f"padding={padding!r} leave less than 2 pixels to pool"
                )
            size[axis] //= 2


def build_lenet5(
    input_shape=(32, 32, 1),
    num_classes: int = 10,
    *,
    activation: str = "tanh",
    block_pooling: str = "avg",
    norm: str = "none",
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str = "lenet5",
):
    """LeNet-5 as in LeCun et al. 1998, with the usual modern simplifications.

    C1: 6 5x5 convs -> S2: 2x2 subsampling -> C3: 16 5x5 convs -> S4: 2x2
    subsampling -> C5: 120 5x5 convs -> F6: 84 units -> output. The paper's
    trainable subsampling, partial C3 connectivity and RBF output are replaced by
    pooling, full connectivity and softmax. Inputs larger than 32x32 give C5 a
    spatial output, which is flattened.

    Args:
        input_shape: `(height, width, channels)`, at least 32x32. Defaults to
            (32, 32, 1).
        num_classes: Number of classes. Defaults to 10.
        activation: Hidden activation. Defaults to "tanh" (as in the paper).
        block_pooling: The subsampling layers S2 and S4, "avg" (paper) or "max".
            Defaults to "avg".
        norm: Normalization after C1, C3 and C5 (`c1_bn`, `c1_ln`, `c1_gn`...),
            "batch", "layer", "group" or "none" (paper). Defaults to "none".
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name. Defaults to "lenet5".

    Returns:
        An uncompiled functional `keras.Model`.

    Example:
        >>> build_lenet5((32, 32, 1), 10).count_params()
        61706
    """
    input_shape = check_input_shape(input_shape, min_size=32, model_name="lenet5")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if block_pooling not in BLOCK_POOLINGS:
        raise ValueError(
            f"block_pooling must be one of {BLOCK_POOLINGS}, got {block_pooling!r}"
        )
    norm = resolve_norm(norm)
    pool_layer = (
        layers.MaxPooling2D if block_pooling == "max" else layers.AveragePooling2D
    )
    units, output_activation = classifier_units(num_classes, classifier_activation)

    def conv(x, filters, layer):
        if norm == "none":
            return layers.Conv2D(filters, 5, activation=activation, name=layer)(x)
        x = layers.Conv2D(filters, 5, use_bias=False, name=layer)(x)
        suffix = NORM_SUFFIXES[norm]
        x = normalization_layer(norm, filters, name=f"{layer[:2]}_{suffix}")(x)
        return activation_layer(activation, f"{layer[:2]}_act")(x)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    x = conv(x, 6, "c1_conv")
    x = pool_layer(2, name="s2_pool")(x)
    x = conv(x, 16, "c3_conv")
    x = pool_layer(2, name="s4_pool")(x)
    x = conv(x, 120, "c5_conv")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation=activation, name="f6_dense")(x)
    if dropout_rate:
        x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = layers.Dense(
        units, activation=output_activation, dtype="float32", name="predictions"
    )(x)
    return keras.Model(inputs, outputs, name=name)
