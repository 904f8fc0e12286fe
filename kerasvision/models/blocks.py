"""Reusable building blocks of the classic CNN architectures.

Every function takes a Keras tensor, adds layers with stable hierarchical names
derived from its required `name` argument and returns the output tensor. The
names (the part after the block prefix) are:

- `apply_conv_block`: `{name}` (the convolution), `{name}_bn` (`_ln`, `_gn` for
  layer / group normalization), `{name}_relu`.
- `apply_residual_block`: `{name}_conv1`..`{name}_conv3` (each a conv block),
  `{name}_shortcut_pool` / `{name}_shortcut` / `{name}_shortcut_bn` (projection),
  `{name}_add`, `{name}_out` (the block output); pre-activation blocks start
  with `{name}_preact_bn` / `{name}_preact_relu`.
- `apply_inception_module`: `{name}_1x1`, `{name}_3x3_reduce`, `{name}_3x3`,
  `{name}_5x5_reduce`, `{name}_5x5`, `{name}_pool`, `{name}_pool_proj`,
  `{name}_concat` (the module output).
- `apply_dense_block`: `{name}_block{i}_bottleneck_{bn,relu,conv}`,
  `{name}_block{i}_{bn,relu,conv}`, `{name}_block{i}_concat`.
- `apply_transition`: `{name}_bn`, `{name}_relu`, `{name}_conv`, `{name}_pool`.
- `apply_depthwise_separable_block`: `{name}_depthwise` (+ `_bn`, `_relu`),
  `{name}_pointwise` (+ `_bn`, `_relu`).
"""

from __future__ import annotations

import math

from keras import layers

from kerasvision._choices import NORMALIZATIONS

__all__ = [
    "BN_MOMENTUM",
    "GROUP_NORM_GROUPS",
    "NORM_SUFFIXES",
    "RESIDUAL_BLOCKS",
    "apply_conv_block",
    "apply_dense_block",
    "apply_depthwise_separable_block",
    "apply_inception_module",
    "apply_residual_block",
    "apply_transition",
    "activation_layer",
    "batch_normalization",
    "normalization_layer",
    "resolve_norm",
]

RESIDUAL_BLOCKS = ("basic", "bottleneck")
# PyTorch's default (0.1 there): Keras' 0.99 leaves the moving statistics far
# from the data after the few hundred steps of a short CPU run, and the
# inference-mode accuracy of every BN network with them.
BN_MOMENTUM = 0.9
BN_EPSILON = 1.001e-5
#: Most groups of a group normalization (Wu & He 2018); fewer when the channels
#: are not a multiple (the greatest common divisor).
GROUP_NORM_GROUPS = 32
#: Layer-name suffix of each normalization: `block1_bn1`, `conv1_ln`, `..._gn`.
NORM_SUFFIXES = {"batch": "bn", "layer": "ln", "group": "gn"}


def batch_normalization(*, name: str):
    """The `BatchNormalization` layer of every block (momentum `BN_MOMENTUM`)."""
    return layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name
    )


def resolve_norm(norm: str | None, batch_norm: bool = False) -> str:
    """A builder's `norm` argument, with the older `batch_norm` flag folded in.

    Args:
        norm: "batch", "layer", "group", "none", or None (take `batch_norm`).
        batch_norm: The boolean flag: True means "batch". Defaults to False.

    Returns:
        One of `NORMALIZATIONS`.

    Raises:
        ValueError: On an unknown name, or `batch_norm=True` with another norm.

    Example:
        >>> resolve_norm(None, batch_norm=True)
        'batch'
    """
    if norm is None:
        return "batch" if batch_norm else "none"
    if norm not in NORMALIZATIONS:
        raise ValueError(f"norm must be one of {NORMALIZATIONS}, got {norm!r}")
    if batch_norm and norm != "batch":
        raise ValueError(f"batch_norm=True contradicts norm={norm!r}; give only norm")
    return norm


def normalization_layer(norm: str, channels: int, *, name: str):
    """The normalization layer after a convolution with `channels` outputs.

    "batch": `batch_normalization` (statistics over the batch); "layer":
    `LayerNormalization` over height, width and channels of each image; "group":
    `GroupNormalization` with `gcd(channels, GROUP_NORM_GROUPS)` groups. The
    last two behave the same in training and inference (no moving statistics),
    so they do not depend on the batch size.

    Args:
        norm: "batch", "layer" or "group" ("none" has no layer).
        channels: Channels of the normalized tensor.
        name: Layer name.

    Returns:
        A Keras layer.

    Raises:
        ValueError: On another `norm`.
    """
    if norm == "batch":
        return batch_normalization(name=name)
    if norm == "layer":
        return layers.LayerNormalization(axis=(-3, -2, -1), epsilon=1e-5, name=name)
    if norm == "group":
        groups = math.gcd(int(channels), GROUP_NORM_GROUPS)
        return layers.GroupNormalization(groups=groups, epsilon=1e-5, name=name)
    raise ValueError(f"norm must be one of {NORMALIZATIONS[:-1]}, got {norm!r}")


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def activation_layer(activation: str, name: str):
    """The activation layer named `name` ("leaky_relu": slope 0.1; "relu6")."""
    if activation == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.1, name=name)
    if activation == "relu6":
        return layers.ReLU(max_value=6.0, name=name)
    return layers.Activation(activation, name=name)


def _activation_layer(activation: str, name: str):
    # Block layers are suffixed by their activation (`conv1_relu`); ReLU6 too.
    suffix = "relu" if activation in ("relu", "relu6") else activation
    return activation_layer(activation, f"{name}_{suffix}")


def _channels(x) -> int:
    return int(x.shape[-1])


def apply_conv_block(
    x,
    filters: int,
    *,
    kernel_size=3,
    strides=1,
    padding: str = "same",
    batch_norm: bool = True,
    norm: str | None = None,
    activation: str | None = "relu",
    kernel_initializer="he_normal",
    kernel_regularizer=None,
    name: str,
):
    """Convolution, optional normalization, optional activation.

    The convolution has no bias when a normalization follows it (its offset
    replaces it). Layers: `{name}`, `{name}_bn` (`_ln`, `_gn`), `{name}_relu` (or
    `{name}_{activation}` for other activations).

    Args:
        x: Input Keras tensor `(batch, height, width, channels)`.
        filters: Number of output channels.
        kernel_size: Convolution kernel size. Defaults to 3.
        strides: Convolution strides. Defaults to 1.
        padding: "same" or "valid". Defaults to "same".
        batch_norm: Batch normalization after the convolution (when `norm` is
            None). Defaults to True.
        norm: "batch", "layer", "group" or "none"; overrides `batch_norm`.
            Defaults to None.
        activation: Activation name ("relu6" gives a capped `ReLU`), or None for
            no activation layer. Defaults to "relu".
        kernel_initializer: Kernel initializer. Defaults to "he_normal".
        kernel_regularizer: Kernel regularizer. Defaults to None.
        name: Name of the convolution and prefix of the other layers; required.

    Returns:
        The output tensor.

    Raises:
        ValueError: If `filters` is not a positive integer or `norm` unknown.

    Example:
        >>> x = keras.Input((32, 32, 3))
        >>> apply_conv_block(x, 16, strides=2, name="conv1").shape
        (None, 16, 16, 16)
    """
    _check_positive_int("filters", filters)
    norm = resolve_norm(norm) if norm is not None else resolve_norm(None, batch_norm)
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=norm == "none",
        kernel_initializer=kernel_initializer,
        kernel_regularizer=kernel_regularizer,
        name=name,
    )(x)
    if norm != "none":
        x = normalization_layer(norm, filters, name=f"{name}_{NORM_SUFFIXES[norm]}")(x)
    if activation is not None:
        x = _activation_layer(activation, name)(x)
    return x


def _norm_act(x, norm: str, *, name: str):
    """Normalization (unless "none") and ReLU: `{name}_bn|ln|gn`, `{name}_relu`."""
    if norm != "none":
        x = normalization_layer(
            norm, _channels(x), name=f"{name}_{NORM_SUFFIXES[norm]}"
        )(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def apply_residual_block(
    x,
    filters: int,
    *,
    block: str = "basic",
    strides=1,
    preact: bool = False,
    residual: bool = True,
    expansion: int = 4,
    norm: str = "batch",
    dropout_rate: float = 0.0,
    kernel_initializer="he_normal",
    kernel_regularizer=None,
    name: str,
):
    """A ResNet block: basic (two 3x3) or bottleneck (1x1-3x3-1x1), v1 or v2.

    The shortcut is the identity when the block keeps the shape and a 1x1
    projection (`{name}_shortcut`, plus `{name}_shortcut_bn` in v1) when the
    strides or the number of channels change (He et al. 2015, option B); a
    strided projection subsamples first (`{name}_shortcut_pool`, a 1x1 max
    pooling), which equals a strided 1x1 convolution. The bottleneck block
    strides in its 3x3 convolution (the "ResNet v1.5" variant).

    - v1 (`preact=False`, He et al. 2015): conv-BN-ReLU ..., conv-BN, add, ReLU
      (`{name}_add`, `{name}_out`).
    - v2 (`preact=True`, He et al. 2016): BN-ReLU first (`{name}_preact_bn`,
      `{name}_preact_relu`), then conv-BN-ReLU ..., a last bare conv, and the add
      is the output (`{name}_out`); the projection reads the pre-activated input.
      The network must end with BN-ReLU after its last block.

    With `residual=False` the skip connection is dropped: the same convolutions
    make a plain block of identical depth and width (for the degradation
    experiment); its output layer is still `{name}_out`.

    Args:
        x: Input Keras tensor.
        filters: Filters of the 3x3 convolutions; a bottleneck block outputs
            `expansion * filters` channels.
        block: "basic" or "bottleneck". Defaults to "basic".
        strides: Strides of the block (2 halves the spatial size). Defaults to 1.
        preact: Pre-activation (ResNet v2) ordering. Defaults to False.
        residual: Keep the skip connection. Defaults to True.
        expansion: Channel expansion of the bottleneck's last 1x1 convolution.
            Defaults to 4.
        norm: Normalization of the block, "batch", "layer", "group" or "none"
            (layers `_bn` / `_ln` / `_gn`). Defaults to "batch".
        dropout_rate: Dropout between the two 3x3 convolutions of a basic block
            (`{name}_dropout`, Wide ResNet). Defaults to 0.0.
        kernel_initializer: Kernel initializer. Defaults to "he_normal".
        kernel_regularizer: Kernel regularizer. Defaults to None.
        name: Prefix of the block's layer names, e.g. "conv2_block1"; required.

    Returns:
        The output tensor.

    Raises:
        ValueError: If `block` or `norm` is unknown or `filters`/`expansion` is
            not a positive integer.

    Example:
        >>> x = keras.Input((32, 32, 16))
        >>> apply_residual_block(x, 32, strides=2, name="conv3_block1").shape
        (None, 16, 16, 32)
    """
    if block not in RESIDUAL_BLOCKS:
        raise ValueError(f"block must be one of {RESIDUAL_BLOCKS}, got {block!r}")
    _check_positive_int("filters", filters)
    _check_positive_int("expansion", expansion)
    norm = resolve_norm(norm)
    out_channels = filters * expansion if block == "bottleneck" else filters
    needs_projection = strides not in (1, (1, 1)) or _channels(x) != out_channels
    conv_kwargs = {
        "norm": norm,
        "kernel_initializer": kernel_initializer,
        "kernel_regularizer": kernel_regularizer,
    }
    shortcut = x
    if preact:
        x = _norm_act(x, norm, name=f"{name}_preact")
        # v2: the projection sees the normalized input, the identity the raw one.
        shortcut = x if needs_projection else shortcut
    x = _residual_branch(
        x,
        filters,
        out_channels,
        block=block,
        strides=strides,
        preact=preact,
        dropout_rate=dropout_rate,
        conv_kwargs=conv_kwargs,
        name=name,
    )
    if not residual:
        if preact:
            return layers.Identity(name=f"{name}_out")(x)
        return layers.Activation("relu", name=f"{name}_out")(x)
    if needs_projection:
        shortcut = _projection_shortcut(
            shortcut, out_channels, strides, preact=preact, name=name, **conv_kwargs
        )
    if preact:
        return layers.Add(name=f"{name}_out")([shortcut, x])
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _residual_branch(
    x, filters, out_channels, *, block, strides, preact, dropout_rate, conv_kwargs, name
):
    """The convolutions of a residual block, up to (not including) the add."""
    if block == "basic":
        x = apply_conv_block(
            x, filters, strides=strides, name=f"{name}_conv1", **conv_kwargs
        )
        if dropout_rate:
            x = layers.Dropout(dropout_rate, name=f"{name}_dropout")(x)
        last_filters, last_kernel, last_name = filters, 3, f"{name}_conv2"
    else:
        x = apply_conv_block(
            x, filters, kernel_size=1, name=f"{name}_conv1", **conv_kwargs
        )
        x = apply_conv_block(
            x, filters, strides=strides, name=f"{name}_conv2", **conv_kwargs
        )
        last_filters, last_kernel, last_name = out_channels, 1, f"{name}_conv3"
    if preact:
        return layers.Conv2D(
            last_filters,
            last_kernel,
            padding="same",
            use_bias=False,
            kernel_initializer=conv_kwargs["kernel_initializer"],
            kernel_regularizer=conv_kwargs["kernel_regularizer"],
            name=last_name,
        )(x)
    # A plain v1 block keeps its last ReLU (as `{name}_out`).
    return apply_conv_block(
        x,
        last_filters,
        kernel_size=last_kernel,
        activation=None,
        name=last_name,
        **conv_kwargs,
    )


def _projection_shortcut(
    x,
    out_channels,
    strides,
    *,
    preact,
    norm,
    kernel_initializer,
    kernel_regularizer,
    name,
):
    """The 1x1 projection shortcut (`{name}_shortcut`, v1: + `_shortcut_bn`)."""
    if strides not in (1, (1, 1)):
        # Subsample, then a stride-1 1x1 conv: the same function and weights as a
        # strided 1x1 conv, whose backward pass corrupts the heap in TF 2.21's
        # oneDNN CPU kernels for < 16 input channels (uxlfoundation/oneDNN#6035).
        x = layers.MaxPooling2D(1, strides=strides, name=f"{name}_shortcut_pool")(x)
    x = layers.Conv2D(
        out_channels,
        1,
        use_bias=False,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=kernel_regularizer,
        name=f"{name}_shortcut",
    )(x)
    if preact or norm == "none":
        return x
    suffix = NORM_SUFFIXES[norm]
    return normalization_layer(norm, out_channels, name=f"{name}_shortcut_{suffix}")(x)


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
        _check_positive_int(arg_name, value)
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
    _check_positive_int("num_layers", num_layers)
    _check_positive_int("growth_rate", growth_rate)
    _check_positive_int("bottleneck_width", bottleneck_width)
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
    filters = max(1, int(_channels(x) * compression))
    x = _bn_relu_conv(x, filters, 1, kernel_initializer=kernel_initializer, name=name)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


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
    _check_positive_int("filters", filters)
    _check_positive_int("depth_multiplier", depth_multiplier)
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
    x = _activation_layer(activation, f"{name}_depthwise")(x)
    return apply_conv_block(
        x,
        filters,
        kernel_size=1,
        batch_norm=batch_norm,
        activation=activation,
        kernel_initializer=kernel_initializer,
        name=f"{name}_pointwise",
    )
