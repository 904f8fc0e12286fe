"""Autoencoders: convolutional, dense, denoising, sparse, variational, and U-Net.

Every model takes raw 0-255 pixels and rescales inside (`rescaling`), like the
classifiers, so an exported model needs no preprocessing. Reconstructions are
sigmoid images in 0-1.

Layout of the (functional) autoencoders::

    image (raw 0-255) -> rescaling -> [noise, training only] -> encoder -> decoder

`encoder` and `decoder` are nested functional models with those names, so the
encoder can be cut out and reused (`extract_encoder`). Odd image sizes work: the
encoder zero-pads (`enc_pad`) to a multiple of 2 ** stages and the decoder crops
(`dec_crop`) back, so the output shape always equals the input shape.

Layer names: `enc{i}_conv1`, `enc{i}_bn1`, `enc{i}_act1`, `enc{i}_pool`,
`enc_flatten`, `latent`, `k_sparse`, `code_sparsity`; the decoder mirrors the
encoder levels from the deepest up: `dec_dense`, `dec_reshape`, `dec{i}_transpose`
or `dec{i}_upsample` + `dec{i}_conv1`, `dec{i}_bn1`, `dec{i}_act1`, `dec_crop`,
`reconstruction`.

`VariationalAutoencoder` is a `keras.Model` subclass with its own `train_step` and
`test_step` (reconstruction + beta * KL); `build_unet` is the skip-connection
encoder-decoder for per-pixel classification.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from kerasvision.models._autoencoder_parts import (
    DOWNSAMPLE_MODES,
    RECONSTRUCTION_LOSSES,
    UPSAMPLE_MODES,
    assemble,
    check_sparsity,
    code_layers,
    conv_unit,
    decoder_model,
    optional_positive_int,
    pad_and_crop,
    positive_ints,
)
from kerasvision.models.blocks import activation_layer, check_choice
from kerasvision.models.heads import check_input_shape
from kerasvision.models.vae import VariationalAutoencoder, build_vae

__all__ = [
    "DOWNSAMPLE_MODES",
    "RECONSTRUCTION_LOSSES",
    "UPSAMPLE_MODES",
    "VariationalAutoencoder",
    "build_conv_autoencoder",
    "build_dense_autoencoder",
    "build_unet",
    "build_vae",
    "extract_encoder",
    "get_encoder",
]
# === Convolutional autoencoder ===


def build_conv_autoencoder(
    input_shape,
    *,
    filters=(32, 64),
    kernel_size=3,
    latent_dim: int | None = None,
    downsample: str = "pool",
    upsample: str = "transpose",
    batch_norm: bool = False,
    activation: str = "relu",
    latent_activation: str | None = None,
    noise=None,
    sparsity: float | None = None,
    k_sparse: int | None = None,
    seed: int | None = None,
    name: str = "conv_autoencoder",
):
    """A convolutional autoencoder (denoising with `noise`, sparse with `sparsity`).

    One encoder stage per entry of `filters`: a "same" convolution, optional
    batch norm, the activation, and a 2x downsampling (2x2 max pooling, or the
    convolution itself with stride 2). The code is the last stage's feature map
    (`latent_dim=None`, a spatial bottleneck) or a dense vector of `latent_dim`
    units (`enc_flatten` -> `latent`). The decoder mirrors the stages with
    transposed convolutions (or nearest upsampling + convolution) and ends with a
    sigmoid convolution `reconstruction` in 0-1.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels; any size
            (padded and cropped to fit the stages).
        filters: Filters of the encoder stages (decoder in reverse). Defaults to
            (32, 64).
        kernel_size: Convolution kernel size. Defaults to 3.
        latent_dim: Dense code size, or None for the spatial code. Defaults to
            None.
        downsample: "pool" (2x2 max pooling) or "strided" (stride-2 convolution).
            Defaults to "pool".
        upsample: "transpose" (stride-2 transposed convolution) or "upsample"
            (nearest upsampling + convolution). Defaults to "transpose".
        batch_norm: Batch normalization after every convolution. Defaults to
            False.
        activation: Activation of the hidden layers. Defaults to "relu".
        latent_activation: Activation of the dense code (`latent_dim` set).
            Defaults to None (linear).
        noise: Denoising: a training-only corruption before the encoder, as
            "gaussian=0.3", "salt_pepper=0.1", "mask=0.25[@PATCH]" (0-1 image
            units) or a layer. Defaults to None.
        sparsity: Sparse autoencoder: L1 activity penalty factor on the code.
            Defaults to None.
        k_sparse: Keep only the k largest code units per sample (`KSparse`).
            Defaults to None.
        seed: Seed of the noise layer. Defaults to None.
        name: Model name. Defaults to "conv_autoencoder".

    Returns:
        An uncompiled functional `keras.Model`, raw pixels -> 0-1 reconstruction
        of the same shape, with nested `encoder` and `decoder` models.

    Raises:
        ValueError: On an invalid argument (or `k_sparse` larger than the code).

    Example:
        >>> model = build_conv_autoencoder((28, 28, 1), filters=(8, 16, 32))
        >>> model.output_shape
        (None, 28, 28, 1)
    """
    height, width, channels = check_input_shape(input_shape, model_name=name)
    filters = positive_ints(filters, "filters")
    latent_dim = optional_positive_int(latent_dim, "latent_dim")
    k_sparse = optional_positive_int(k_sparse, "k_sparse")
    check_choice("downsample", downsample, DOWNSAMPLE_MODES)
    check_choice("upsample", upsample, UPSAMPLE_MODES)
    sparsity = check_sparsity(sparsity)
    stages = len(filters)
    pads = pad_and_crop(height, width, stages)
    unit = {"batch_norm": batch_norm, "activation": activation}

    # === Encoder ===
    encoder_input = keras.Input(shape=(height, width, channels), name="encoder_input")
    x = encoder_input
    if pads is not None:
        x = layers.ZeroPadding2D(pads, name="enc_pad")(x)
    for index, width_ in enumerate(filters, start=1):
        prefix = f"enc{index}"
        if downsample == "pool":
            x = conv_unit(x, width_, kernel_size, prefix=prefix, index=1, **unit)
            x = layers.MaxPooling2D(2, name=f"{prefix}_pool")(x)
        else:
            x = conv_unit(
                x, width_, kernel_size, prefix=prefix, index=1, strides=2, **unit
            )
    spatial_shape = tuple(int(v) for v in x.shape[1:])
    if latent_dim is not None:
        x = layers.Flatten(name="enc_flatten")(x)
        x = layers.Dense(latent_dim, activation=latent_activation, name="latent")(x)
    code = code_layers(x, k_sparse=k_sparse, sparsity=sparsity)
    encoder = keras.Model(encoder_input, code, name="encoder")

    # === Decoder ===
    decoder_input = keras.Input(shape=code.shape[1:], name="decoder_input")
    x = decoder_input
    if latent_dim is not None:
        x = layers.Dense(math.prod(spatial_shape), name="dec_dense")(x)
        x = activation_layer(activation, "dec_dense_act")(x)
        x = layers.Reshape(spatial_shape, name="dec_reshape")(x)
    for index in range(stages, 0, -1):
        prefix = f"dec{index}"
        width_ = filters[index - 1]
        if upsample == "transpose":
            x = conv_unit(
                x,
                width_,
                kernel_size,
                prefix=prefix,
                index=1,
                layer=layers.Conv2DTranspose,
                suffix="transpose",
                strides=2,
                **unit,
            )
        else:
            x = layers.UpSampling2D(2, name=f"{prefix}_upsample")(x)
            x = conv_unit(x, width_, kernel_size, prefix=prefix, index=1, **unit)
    decoder = decoder_model(decoder_input, x, channels, kernel_size, pads)
    return assemble(
        (height, width, channels), encoder, decoder, noise=noise, seed=seed, name=name
    )


# === Dense autoencoder ===


def build_dense_autoencoder(
    input_shape,
    *,
    units=(256, 64),
    activation: str = "relu",
    latent_activation: str | None = None,
    noise=None,
    sparsity: float | None = None,
    k_sparse: int | None = None,
    seed: int | None = None,
    name: str = "dense_autoencoder",
):
    """A fully connected autoencoder: flatten -> dense layers -> code -> mirror.

    Layer names: encoder `enc_flatten`, `enc{i}_dense`, `latent` (the last entry
    of `units`); decoder `dec{i}_dense` (mirrored), `dec_output` (sigmoid),
    `reconstruction` (reshape to the image).

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels.
        units: Units of the hidden layers; the last one is the code size.
            Defaults to (256, 64).
        activation: Activation of the hidden layers. Defaults to "relu".
        latent_activation: Activation of the code. Defaults to None (linear).
        noise: Training-only corruption before the encoder ("gaussian=0.3"...,
            see `build_conv_autoencoder`). Defaults to None.
        sparsity: L1 activity penalty factor on the code. Defaults to None.
        k_sparse: Keep only the k largest code units per sample. Defaults to None.
        seed: Seed of the noise layer. Defaults to None.
        name: Model name. Defaults to "dense_autoencoder".

    Returns:
        An uncompiled functional `keras.Model` with nested `encoder`/`decoder`.

    Raises:
        ValueError: On an invalid argument.

    Example:
        >>> model = build_dense_autoencoder((8, 8, 1), units=(32, 8))
        >>> model.get_layer("encoder").output_shape
        (None, 8)
    """
    shape = check_input_shape(input_shape, model_name=name)
    units = positive_ints(units, "units")
    k_sparse = optional_positive_int(k_sparse, "k_sparse")
    sparsity = check_sparsity(sparsity)
    hidden, code_size = units[:-1], units[-1]

    encoder_input = keras.Input(shape=shape, name="encoder_input")
    x = layers.Flatten(name="enc_flatten")(encoder_input)
    for index, width in enumerate(hidden, start=1):
        x = layers.Dense(width, activation=activation, name=f"enc{index}_dense")(x)
    x = layers.Dense(code_size, activation=latent_activation, name="latent")(x)
    code = code_layers(x, k_sparse=k_sparse, sparsity=sparsity)
    encoder = keras.Model(encoder_input, code, name="encoder")

    decoder_input = keras.Input(shape=(code_size,), name="decoder_input")
    x = decoder_input
    for index in range(len(hidden), 0, -1):
        x = layers.Dense(
            hidden[index - 1], activation=activation, name=f"dec{index}_dense"
        )(x)
    x = layers.Dense(
        math.prod(shape), activation="sigmoid", dtype="float32", name="dec_output"
    )(x)
    outputs = layers.Reshape(shape, name="reconstruction")(x)
    decoder = keras.Model(decoder_input, outputs, name="decoder")
    return assemble(shape, encoder, decoder, noise=noise, seed=seed, name=name)


# === U-Net ===


def build_unet(
    input_shape,
    num_classes: int,
    *,
    filters=(16, 32, 64),
    kernel_size=3,
    batch_norm: bool = False,
    activation: str = "relu",
    dropout_rate: float = 0.0,
    name: str = "unet",
):
    """U-Net (Ronneberger et al. 2015) for per-pixel classification.

    Levels `enc1`.. use two "same" convolutions each (`enc{i}_conv1/2`, optional
    `enc{i}_bn1/2`, `enc{i}_act1/2`) and 2x2 max pooling (`enc{i}_pool`); the last
    entry of `filters` is the `bottleneck` (optional `bottleneck_dropout`). The
    decoder goes back up level by level: a stride-2 transposed convolution
    (`dec{i}_upsample`), concatenation with the encoder level's output
    (`dec{i}_concat`, the skip connection) and two convolutions. Odd sizes are
    padded (`enc_pad`) and cropped (`dec_crop`); `predictions` is a 1x1
    convolution with a softmax over classes per pixel.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels.
        num_classes: Number of classes per pixel, >= 2.
        filters: Filters per level, the last one the bottleneck (at least 2
            entries). Defaults to (16, 32, 64).
        kernel_size: Convolution kernel size. Defaults to 3.
        batch_norm: Batch normalization after every convolution. Defaults to
            False.
        activation: Activation of the convolutions. Defaults to "relu".
        dropout_rate: Dropout in the bottleneck; 0 disables. Defaults to 0.0.
        name: Model name. Defaults to "unet".

    Returns:
        An uncompiled functional `keras.Model`, raw pixels `[B, H, W, C]` ->
        class probabilities `[B, H, W, num_classes]`.

    Raises:
        ValueError: On an invalid argument.

    Example:
        >>> model = build_unet((17, 23, 3), 3, filters=(8, 16))
        >>> model.output_shape
        (None, 17, 23, 3)
    """
    height, width, channels = check_input_shape(input_shape, model_name=name)
    filters = positive_ints(filters, "filters")
    if len(filters) < 2:
        raise ValueError(
            f"filters needs at least 2 levels (the last is the bottleneck), got "
            f"{filters!r}"
        )
    if not isinstance(num_classes, int) or isinstance(num_classes, bool):
        raise ValueError(f"num_classes must be an integer, got {num_classes!r}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    levels = len(filters) - 1
    pads = pad_and_crop(height, width, levels)
    unit = {"batch_norm": batch_norm, "activation": activation}

    def double_conv(x, width_, prefix):
        x = conv_unit(x, width_, kernel_size, prefix=prefix, index=1, **unit)
        return conv_unit(x, width_, kernel_size, prefix=prefix, index=2, **unit)

    inputs = keras.Input(shape=(height, width, channels), name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(inputs)
    if pads is not None:
        x = layers.ZeroPadding2D(pads, name="enc_pad")(x)
    # === Contracting path ===
    skips = []
    for index, width_ in enumerate(filters[:-1], start=1):
        x = double_conv(x, width_, f"enc{index}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{index}_pool")(x)
    x = double_conv(x, filters[-1], "bottleneck")
    if dropout_rate:
        x = layers.Dropout(dropout_rate, name="bottleneck_dropout")(x)
    # === Expanding path ===
    for index in range(levels, 0, -1):
        width_ = filters[index - 1]
        x = layers.Conv2DTranspose(
            width_, 2, strides=2, padding="same", name=f"dec{index}_upsample"
        )(x)
        x = layers.Concatenate(name=f"dec{index}_concat")([x, skips[index - 1]])
        x = double_conv(x, width_, f"dec{index}")
    if pads is not None:
        x = layers.Cropping2D(pads, name="dec_crop")(x)
    outputs = layers.Conv2D(
        num_classes, 1, activation="softmax", dtype="float32", name="predictions"
    )(x)
    return keras.Model(inputs, outputs, name=name)


# === Encoder reuse ===


def get_encoder(model):
    """The nested encoder of an autoencoder (functional or VAE), or None (U-Net)."""
    if isinstance(model, VariationalAutoencoder):
        return model.encoder
    try:
        return model.get_layer("encoder")
    except ValueError:
        return None


def _last_spatial_layer(model):
    for layer in reversed(model.layers):
        shape = getattr(layer, "output", None)
        if shape is not None and len(shape.shape) == 4 and layer is not model:
            if not isinstance(layer, keras.layers.InputLayer):
                return layer
    return None


def extract_encoder(model, *, spatial: bool = False, name: str | None = None):
    """The encoder of an autoencoder as a model taking raw 0-255 pixels.

    Args:
        model: A model from `build_conv_autoencoder`, `build_dense_autoencoder`,
            `build_vae` or `build_unet` (trained or not; layers are shared).
        spatial: Return the last spatial feature map `[B, h, w, c]` instead of the
            code: for a spatial code they are the same; for a dense code (and the
            VAE) it is the last encoder layer before `enc_flatten`; for a U-Net it
            is the bottleneck. Defaults to False (the code; the VAE's `z_mean`).
        name: Name of the returned model. Defaults to None (`<model>_encoder`).

    Returns:
        `(encoder, feature_layer)`: a flat functional model `image (raw 0-255)
        -> rescaling -> the encoder's layers` (shared with `model`; no noise
        layer) whose last layer is `feature_layer`, and that layer's name.

    Raises:
        ValueError: If the model has no encoder, or no spatial layer when
            `spatial=True` (a dense autoencoder).

    Example:
        >>> encoder, layer = extract_encoder(model, spatial=True)
        >>> encoder.output_shape
        (None, 7, 7, 16)
    """
    name = name or f"{model.name}_encoder"
    nested = get_encoder(model)
    if nested is None:
        # U-Net: already raw input; the bottleneck is the deepest feature map.
        names = [layer.name for layer in model.layers]
        bottleneck = [n for n in names if n.startswith("bottleneck_act")]
        if not bottleneck:
            raise ValueError(f"model {model.name!r} has no encoder to extract")
        layer = model.get_layer(bottleneck[-1])
        encoder = keras.Model(model.inputs[0], layer.output, name=name)
        return encoder, layer.name
    code = nested.outputs[0]
    # The code layer (VAE: z_mean): the layer whose output is the code.
    feature = next(layer for layer in nested.layers if layer.output is code)
    if spatial and len(code.shape) != 4:
        feature = _last_spatial_layer(nested)
        if feature is None:
            raise ValueError(
                f"the encoder of {model.name!r} has no spatial feature map (dense "
                f"autoencoder); use spatial=False for its code"
            )
    inputs = keras.Input(shape=nested.inputs[0].shape[1:], name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(inputs)
    # Replay the encoder's layers (shared, not copied) on the rescaled input, so
    # the result is one flat model whose last layer is the feature layer (what
    # transfer learning expects of a backbone). The builders' encoders are
    # chains up to the code; anything else is called as a nested model.
    chain = nested.layers[1 : nested.layers.index(feature) + 1]
    try:
        y = x
        for layer in chain:
            y = layer(y)
    except (TypeError, ValueError):
        y = keras.Model(nested.inputs[0], feature.output, name="encoder")(x)
    return keras.Model(inputs, y, name=name), feature.name
