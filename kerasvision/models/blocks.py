"""Generic building blocks: the convolution block and the residual block.

Every function takes a Keras tensor, adds layers with stable hierarchical names
derived from its required `name` argument and returns the output tensor. The
names (the part after the block prefix) are:

- `apply_conv_block`: `{name}` (the convolution), `{name}_bn` (`_ln`, `_gn`,
  `_in` for layer / group / instance normalization), `{name}_relu`.
- `apply_residual_block`: `{name}_conv1`..`{name}_conv3` (each a conv block),
  `{name}_shortcut_pool` / `{name}_shortcut` / `{name}_shortcut_bn` (projection),
  `{name}_add`, `{name}_out` (the block output); pre-activation blocks start
  with `{name}_preact_bn` / `{name}_preact_relu`.

The normalization helpers (`resolve_norm`, `normalization_layer`, ...) live in
`models/normalization.py` and are re-exported here. The family blocks live with
their architectures: `apply_inception_module` in `models/inception.py`,
`apply_dense_block` / `apply_transition` in `models/densenet.py`,
`apply_depthwise_separable_block` in `models/mobilenet.py`.
"""

from __future__ import annotations

from keras import layers

from kerasvision.models.normalization import (
    BN_EPSILON,
    BN_MOMENTUM,
    GROUP_NORM_GROUPS,
    NORM_SUFFIXES,
    batch_normalization,
    normalization_layer,
    resolve_norm,
)

__all__ = [
    "BN_EPSILON",
    "BN_MOMENTUM",
    "GROUP_NORM_GROUPS",
    "NORM_SUFFIXES",
    "RESIDUAL_BLOCKS",
    "activation_layer",
    "apply_conv_block",
    "apply_residual_block",
    "batch_normalization",
    "check_choice",
    "check_positive_int",
    "normalization_layer",
    "resolve_norm",
]

RESIDUAL_BLOCKS = ("basic", "bottleneck")


def check_positive_int(name: str, value) -> int:
    """`value` if it is a positive int (not a bool), else `ValueError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_choice(name: str, value, choices: tuple):
    """`value` if it is one of `choices`, else `ValueError` naming them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
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
    gamma_initializer="ones",
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
        norm: "batch", "layer", "group", "instance" or "none"; overrides
            `batch_norm`. Defaults to None.
        activation: Activation name ("relu6" gives a capped `ReLU`), or None for
            no activation layer. Defaults to "relu".
        kernel_initializer: Kernel initializer. Defaults to "he_normal".
        kernel_regularizer: Kernel regularizer. Defaults to None.
        gamma_initializer: Initializer of the normalization's scale ("zeros":
            the block outputs 0 before its activation at initialization).
            Defaults to "ones".
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
    check_positive_int("filters", filters)
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
        x = normalization_layer(
            norm,
            filters,
            name=f"{name}_{NORM_SUFFIXES[norm]}",
            gamma_initializer=gamma_initializer,
        )(x)
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
    zero_init_residual: bool = False,
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

    With `zero_init_residual` the residual branch starts at 0, so each block
    starts as its shortcut ("initially f(h) = 0", Goyal et al. 2017): the scale
    (gamma) of the branch's last normalization is initialized to 0, or, without
    one (v2, `norm="none"`), the kernel of its last convolution.

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
        norm: Normalization of the block, "batch", "layer", "group",
            "instance" or "none" (layers `_bn` / `_ln` / `_gn` / `_in`).
            Defaults to "batch".
        dropout_rate: Dropout between the two 3x3 convolutions of a basic block
            (`{name}_dropout`, Wide ResNet). Defaults to 0.0.
        zero_init_residual: Start the residual branch at 0 (see above); not
            with `residual=False`. Defaults to False.
        kernel_initializer: Kernel initializer. Defaults to "he_normal".
        kernel_regularizer: Kernel regularizer. Defaults to None.
        name: Prefix of the block's layer names, e.g. "conv2_block1"; required.

    Returns:
        The output tensor.

    Raises:
        ValueError: If `block` or `norm` is unknown, `filters`/`expansion` is
            not a positive integer, or `zero_init_residual` has no residual.

    Example:
        >>> x = keras.Input((32, 32, 16))
        >>> apply_residual_block(x, 32, strides=2, name="conv3_block1").shape
        (None, 16, 16, 32)
    """
    check_choice("block", block, RESIDUAL_BLOCKS)
    check_positive_int("filters", filters)
    check_positive_int("expansion", expansion)
    if zero_init_residual and not residual:
        raise ValueError(
            "zero_init_residual needs residual=True: a plain block whose "
            "convolutions output 0 passes nothing on"
        )
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
        zero_init=zero_init_residual,
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
    x,
    filters,
    out_channels,
    *,
    block,
    strides,
    preact,
    dropout_rate,
    zero_init,
    conv_kwargs,
    name,
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
    last_normalized = not preact and conv_kwargs["norm"] != "none"
    if zero_init and not last_normalized:
        conv_kwargs = {**conv_kwargs, "kernel_initializer": "zeros"}
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
        gamma_initializer="zeros" if zero_init and last_normalized else "ones",
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
