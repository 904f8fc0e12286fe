"""Scratch CNN classifiers: the lectures' bipyramidal CNN and LeNet-5.

Every builder takes raw pixels (0-255) and rescales inside the model, returns an
uncompiled functional `keras.Model` and uses stable, hierarchical layer names.
"""

from __future__ import annotations

import keras
from keras import layers

__all__ = [
    "apply_classifier_head",
    "build_bipyramidal_cnn",
    "build_lenet5",
    "check_input_shape",
    "classifier_units",
    "make_regularizer",
]

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "swish")
POOLINGS = ("max", "avg")
HEADS = ("flatten", "gap", "gmp")


def check_input_shape(input_shape, *, min_size: int = 1, model_name: str = "model"):
    """Validate `(height, width, channels)`; returns it as a tuple of ints.

    Raises:
        ValueError: If the shape is not 3 positive integers or smaller than
            `min_size` in height or width.
    """
    try:
        shape = tuple(int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"input_shape must be (height, width, channels), got {input_shape!r}"
        ) from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"input_shape must be 3 positive integers (height, width, channels), "
            f"got {input_shape!r}"
        )
    if shape[0] < min_size or shape[1] < min_size:
        raise ValueError(
            f"image size {shape[0]}x{shape[1]} is too small for {model_name}: "
            f"it needs at least {min_size}x{min_size}"
        )
    return shape


def classifier_units(num_classes: int, classifier_activation: str | None):
    """Output units and activation for `num_classes` (2 -> one sigmoid unit).

    Args:
        num_classes: Number of classes, >= 2.
        classifier_activation: `None` (sigmoid for 2 classes, softmax otherwise),
            `"softmax"` (one unit per class, also for 2) or `"sigmoid"` (binary
            only). Defaults to `None` at every caller.

    Returns:
        `(units, activation)`.
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool):
        raise ValueError(f"num_classes must be an integer, got {num_classes!r}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if classifier_activation is None:
        classifier_activation = "sigmoid" if num_classes == 2 else "softmax"
    if classifier_activation == "sigmoid":
        if num_classes != 2:
            raise ValueError(
                "classifier_activation='sigmoid' is only for 2 classes "
                f"(got num_classes={num_classes})"
            )
        return 1, "sigmoid"
    if classifier_activation == "softmax":
        return num_classes, "softmax"
    raise ValueError(
        "classifier_activation must be None, 'softmax' or 'sigmoid', "
        f"got {classifier_activation!r}"
    )


def make_regularizer(l1: float = 0.0, l2: float = 0.0):
    """A Keras L1/L2 kernel regularizer, or `None` when both are 0."""
    for name, value in (("l1", l1), ("l2", l2)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if not l1 and not l2:
        return None
    return keras.regularizers.L1L2(l1=float(l1), l2=float(l2))


def apply_classifier_head(
    x,
    num_classes: int,
    *,
    head: str = "gap",
    dense_units=(),
    activation: str = "relu",
    dropout_rate: float = 0.0,
    kernel_initializer="glorot_uniform",
    kernel_regularizer=None,
    classifier_activation: str | None = None,
):
    """Pooling/flatten, optional dense layers, dropout and the `predictions` layer.

    Layer names: `flatten` or `avg_pool`, `fc1`..`fcN`, `dropout`, `predictions`.

    Args:
        x: The last spatial feature map (a Keras tensor).
        num_classes: Number of classes.
        head: `"flatten"`, `"gap"` (global average pooling) or `"gmp"` (global
            max pooling). Defaults to "gap".
        dense_units: Units of hidden dense layers. Defaults to ().
        activation: Activation of the hidden dense layers. Defaults to "relu".
        dropout_rate: Dropout before `predictions`; 0 disables. Defaults to 0.0.
        kernel_initializer: Initializer of the dense kernels. Defaults to
            "glorot_uniform".
        kernel_regularizer: Regularizer of the dense kernels. Defaults to None.
        classifier_activation: See `classifier_units`. Defaults to None.

    Returns:
        The output tensor.
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    units, output_activation = classifier_units(num_classes, classifier_activation)
    if head == "flatten":
        x = layers.Flatten(name="flatten")(x)
    elif head == "gmp":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    else:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    for index, width in enumerate(_as_tuple(dense_units), start=1):
        x = layers.Dense(
            int(width),
            activation=activation,
            kernel_initializer=kernel_initializer,
            kernel_regularizer=kernel_regularizer,
            name=f"fc{index}",
        )(x)
    if dropout_rate:
        x = layers.Dropout(dropout_rate, name="dropout")(x)
    # float32 output keeps the softmax numerically safe under mixed precision.
    return layers.Dense(
        units,
        activation=output_activation,
        kernel_initializer=kernel_initializer,
        dtype="float32",
        name="predictions",
    )(x)


def _as_tuple(value):
    if value is None:
        return ()
    if isinstance(value, int):
        return (value,)
    return tuple(value)


def _activation_layer(activation: str, name: str):
    if activation == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.1, name=name)
    return layers.Activation(activation, name=name)


def build_bipyramidal_cnn(
    input_shape,
    num_classes: int,
    *,
    filters=(32, 64, 128),
    convs_per_block=2,
    kernel_size=3,
    activation: str = "relu",
    pooling: str = "max",
    batch_norm: bool = False,
    dropout_rate: float = 0.3,
    l1: float = 0.0,
    l2: float = 0.0,
    kernel_initializer="he_uniform",
    dense_units=(128,),
    head: str = "gap",
    classifier_activation: str | None = None,
    name: str = "bipyramidal_cnn",
):
    """The lectures' bipyramidal CNN: spatial size halves while filters grow.

    Each block is `convs_per_block` "same" convolutions (each followed by optional
    batch norm and the activation) and a 2x2 pooling. Layer names are
    `block{i}_conv{j}`, `block{i}_bn{j}`, `block{i}_act{j}`, `block{i}_pool`; the
    last activation before the last pooling is the feature layer.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        filters: Filters per block; its length is the number of blocks. Defaults
            to (32, 64, 128).
        convs_per_block: Convolutions per block, an int or one per block.
            Defaults to 2.
        kernel_size: Convolution kernel size. Defaults to 3.
        activation: "relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid" or
            "swish". Defaults to "relu".
        pooling: "max" or "avg". Defaults to "max".
        batch_norm: Batch normalization after every convolution. Defaults to False.
        dropout_rate: Dropout before the output layer. Defaults to 0.3.
        l1: L1 kernel regularization factor. Defaults to 0.0.
        l2: L2 kernel regularization factor. Defaults to 0.0.
        kernel_initializer: Keras initializer name or instance. Defaults to
            "he_uniform".
        dense_units: Hidden dense layer widths of the head. Defaults to (128,).
        head: "flatten" or "gap". Defaults to "gap".
        classifier_activation: None, "softmax" or "sigmoid"; see
            `classifier_units`. Defaults to None.
        name: Model name. Defaults to "bipyramidal_cnn".

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an invalid argument or an input too small for the number of
            pooling stages.

    Example:
        >>> model = build_bipyramidal_cnn((32, 32, 3), 5, filters=(8, 16))
        >>> model.output_shape
        (None, 5)
    """
    filters = _as_tuple(filters)
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
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    input_shape = check_input_shape(
        input_shape, min_size=2**num_blocks, model_name=f"{name} ({num_blocks} pools)"
    )
    regularizer = make_regularizer(l1, l2)
    pool_layer = layers.MaxPooling2D if pooling == "max" else layers.AveragePooling2D

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    # === Feature pyramid ===
    for block, (width, num_convs) in enumerate(
        zip(filters, convs_per_block, strict=True), start=1
    ):
        for conv in range(1, num_convs + 1):
            x = layers.Conv2D(
                int(width),
                kernel_size,
                padding="same",
                use_bias=not batch_norm,
                kernel_initializer=kernel_initializer,
                kernel_regularizer=regularizer,
                name=f"block{block}_conv{conv}",
            )(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"block{block}_bn{conv}")(x)
            x = _activation_layer(activation, f"block{block}_act{conv}")(x)
        x = pool_layer(2, name=f"block{block}_pool")(x)
    # === Head ===
    outputs = apply_classifier_head(
        x,
        num_classes,
        head=head,
        dense_units=dense_units,
        activation=activation if activation != "leaky_relu" else "relu",
        dropout_rate=dropout_rate,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer,
        classifier_activation=classifier_activation,
    )
    return keras.Model(inputs, outputs, name=name)


def build_lenet5(
    input_shape=(32, 32, 1),
    num_classes: int = 10,
    *,
    activation: str = "tanh",
    pooling: str = "avg",
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
        pooling: "avg" (paper) or "max". Defaults to "avg".
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
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    pool_layer = layers.MaxPooling2D if pooling == "max" else layers.AveragePooling2D
    units, output_activation = classifier_units(num_classes, classifier_activation)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    x = layers.Conv2D(6, 5, activation=activation, name="c1_conv")(x)
    x = pool_layer(2, name="s2_pool")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="c3_conv")(x)
    x = pool_layer(2, name="s4_pool")(x)
    x = layers.Conv2D(120, 5, activation=activation, name="c5_conv")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation=activation, name="f6_dense")(x)
    if dropout_rate:
        x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = layers.Dense(
        units, activation=output_activation, dtype="float32", name="predictions"
    )(x)
    return keras.Model(inputs, outputs, name=name)
