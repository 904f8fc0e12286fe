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
import numpy as np
from keras import layers, ops

from kerasvision.layers.noise import make_noise_layer
from kerasvision.layers.sampling import KSparse, Sampling
from kerasvision.models.blocks import activation_layer
from kerasvision.models.heads import check_input_shape

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

DOWNSAMPLE_MODES = ("pool", "strided")
UPSAMPLE_MODES = ("transpose", "upsample")
RECONSTRUCTION_LOSSES = ("bce", "mse")


# === Argument checks ===


def _positive_ints(value, name: str) -> tuple[int, ...]:
    values = (value,) if isinstance(value, int) else tuple(value or ())
    if not values or any(
        not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1
        for v in values
    ):
        raise ValueError(f"{name} must be one or more positive integers, got {value!r}")
    return tuple(int(v) for v in values)


def _optional_positive_int(value, name: str):
    if value is None:
        return None
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be None or a positive integer, got {value!r}")
    return int(value)


def _check_choice(value, choices, name: str):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _check_sparsity(sparsity):
    if sparsity is None:
        return None
    if not sparsity >= 0:
        raise ValueError(f"sparsity (L1 activity factor) must be >= 0, got {sparsity}")
    return float(sparsity) or None


# === Shared pieces ===


def _padding(size: int, multiple: int) -> tuple[int, int]:
    """`(before, after)` zero padding that makes `size` a multiple of `multiple`."""
    total = -size % multiple
    return total // 2, total - total // 2


def _pad_and_crop(height: int, width: int, stages: int):
    """Padding for the encoder and cropping for the decoder, or None if not needed."""
    multiple = 2**stages
    pads = (_padding(height, multiple), _padding(width, multiple))
    return None if pads == ((0, 0), (0, 0)) else pads


def _conv_unit(x, filters, kernel_size, *, prefix, index, batch_norm, activation, **kw):
    """Conv (or given layer kwargs) -> optional BatchNorm -> activation."""
    conv = kw.pop("layer", layers.Conv2D)
    suffix = kw.pop("suffix", f"conv{index}")
    x = conv(
        filters,
        kernel_size,
        padding="same",
        use_bias=not batch_norm,
        name=f"{prefix}_{suffix}",
        **kw,
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(name=f"{prefix}_bn{index}")(x)
    return activation_layer(activation, f"{prefix}_act{index}")(x)


def _code_layers(code, *, k_sparse, sparsity):
    if k_sparse is not None:
        code = KSparse(k_sparse, name="k_sparse")(code)
    if sparsity:
        # Keras divides activity penalties by the batch size: a per-sample L1.
        code = layers.ActivityRegularization(l1=sparsity, name="code_sparsity")(code)
    return code


def _decoder(decoder_input, x, channels, kernel_size, pads):
    """Crop the encoder's padding, end in the sigmoid `reconstruction` (0-1)."""
    if pads is not None:
        x = layers.Cropping2D(pads, name="dec_crop")(x)
    outputs = layers.Conv2D(
        channels,
        kernel_size,
        padding="same",
        activation="sigmoid",
        dtype="float32",
        name="reconstruction",
    )(x)
    return keras.Model(decoder_input, outputs, name="decoder")


def _assemble(input_shape, encoder, decoder, *, noise, seed, name):
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(inputs)
    if noise is not None:
        x = make_noise_layer(noise, seed=seed, name="noise")(x)
    outputs = decoder(encoder(x))
    return keras.Model(inputs, outputs, name=name)


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
    filters = _positive_ints(filters, "filters")
    latent_dim = _optional_positive_int(latent_dim, "latent_dim")
    k_sparse = _optional_positive_int(k_sparse, "k_sparse")
    _check_choice(downsample, DOWNSAMPLE_MODES, "downsample")
    _check_choice(upsample, UPSAMPLE_MODES, "upsample")
    sparsity = _check_sparsity(sparsity)
    stages = len(filters)
    pads = _pad_and_crop(height, width, stages)
    unit = {"batch_norm": batch_norm, "activation": activation}

    # === Encoder ===
    encoder_input = keras.Input(shape=(height, width, channels), name="encoder_input")
    x = encoder_input
    if pads is not None:
        x = layers.ZeroPadding2D(pads, name="enc_pad")(x)
    for index, width_ in enumerate(filters, start=1):
        prefix = f"enc{index}"
        if downsample == "pool":
            x = _conv_unit(x, width_, kernel_size, prefix=prefix, index=1, **unit)
            x = layers.MaxPooling2D(2, name=f"{prefix}_pool")(x)
        else:
            x = _conv_unit(
                x, width_, kernel_size, prefix=prefix, index=1, strides=2, **unit
            )
    spatial_shape = tuple(int(v) for v in x.shape[1:])
    if latent_dim is not None:
        x = layers.Flatten(name="enc_flatten")(x)
        x = layers.Dense(latent_dim, activation=latent_activation, name="latent")(x)
    code = _code_layers(x, k_sparse=k_sparse, sparsity=sparsity)
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
            x = _conv_unit(
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
            x = _conv_unit(x, width_, kernel_size, prefix=prefix, index=1, **unit)
    decoder = _decoder(decoder_input, x, channels, kernel_size, pads)
    return _assemble(
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
    units = _positive_ints(units, "units")
    k_sparse = _optional_positive_int(k_sparse, "k_sparse")
    sparsity = _check_sparsity(sparsity)
    hidden, code_size = units[:-1], units[-1]

    encoder_input = keras.Input(shape=shape, name="encoder_input")
    x = layers.Flatten(name="enc_flatten")(encoder_input)
    for index, width in enumerate(hidden, start=1):
        x = layers.Dense(width, activation=activation, name=f"enc{index}_dense")(x)
    x = layers.Dense(code_size, activation=latent_activation, name="latent")(x)
    code = _code_layers(x, k_sparse=k_sparse, sparsity=sparsity)
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
    return _assemble(shape, encoder, decoder, noise=noise, seed=seed, name=name)


# === Variational autoencoder ===


@keras.saving.register_keras_serializable(package="kerasvision")
class VariationalAutoencoder(keras.Model):
    """A VAE: raw pixels -> encoder (mean, log-variance) -> sample -> decoder.

    Trained by its own `train_step`: the loss per image is the reconstruction
    loss (summed over pixels) plus `beta` times the KL divergence to N(0, I)
    (summed over latent units); `loss`, `reconstruction_loss` and `kl_loss` are
    reported. `test_step` computes the same terms with a sampled code (so
    `evaluate` gives the held-out negative ELBO when beta = 1). Calling the model
    at inference decodes the mean code (deterministic); in training it samples.

    Args:
        encoder: Functional model, 0-1 images -> `[z_mean, z_log_var]`.
        decoder: Functional model, code -> 0-1 images of the input shape.
        beta: Weight of the KL term (beta-VAE). Defaults to 1.0.
        reconstruction_loss: "bce" (binary cross-entropy per pixel, Bernoulli
            likelihood) or "mse" (squared error per pixel). Defaults to "bce".
        seed: Seed of the sampling. Defaults to None.
        **kwargs: Base `keras.Model` arguments (e.g. `name`).

    Raises:
        ValueError: If beta is negative, the loss unknown, or the encoder does
            not output `[z_mean, z_log_var]`.

    Example:
        >>> vae = build_vae((28, 28, 1), filters=(8, 16), latent_dim=2)
        >>> vae.compile(optimizer="adam")
        >>> vae.fit(images, epochs=5)
        >>> samples = vae.generate(16, seed=0)
    """

    def __init__(
        self,
        encoder,
        decoder,
        beta: float = 1.0,
        reconstruction_loss: str = "bce",
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        _check_choice(reconstruction_loss, RECONSTRUCTION_LOSSES, "reconstruction_loss")
        if len(encoder.outputs) != 2:
            raise ValueError("the VAE encoder must output [z_mean, z_log_var]")
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.reconstruction_loss = reconstruction_loss
        self.seed = seed
        self.rescaling = layers.Rescaling(1.0 / 255.0, name="rescaling")
        self.sampling = Sampling(seed=seed, name="sampling")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True  # all weights live in the (built) encoder and decoder

    @property
    def latent_dim(self) -> int:
        return int(self.encoder.outputs[0].shape[-1])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.encoder.inputs[0].shape[1:])

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, inputs, training=False):
        mean, log_var = self.encoder(self.rescaling(inputs), training=training)
        code = self.sampling([mean, log_var], training=training)
        return self.decoder(code, training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def loss_terms(self, images, *, training=False, sample=True):
        """Per-image `(reconstruction_loss, kl_loss)` of a batch of raw images.

        Args:
            images: Raw 0-255 pixels `[B, H, W, C]`.
            training: Run the encoder/decoder in training mode. Defaults to False.
            sample: Decode a sampled code (the ELBO estimate) instead of the
                mean. Defaults to True.

        Returns:
            Two `[B]` tensors.
        """
        targets = self.rescaling(images)
        mean, log_var = self.encoder(targets, training=training)
        code = self.sampling([mean, log_var], training=sample)
        reconstruction = self.decoder(code, training=training)
        if self.reconstruction_loss == "bce":
            per_pixel = ops.binary_crossentropy(targets, reconstruction)
        else:
            per_pixel = ops.square(targets - reconstruction)
        rec = ops.sum(per_pixel, axis=(1, 2, 3))
        kl = -0.5 * ops.sum(
            1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1
        )
        return rec, kl

    def _update(self, rec, kl, loss):
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(rec)
        self.kl_tracker.update_state(kl)
        return {metric.name: metric.result() for metric in self.metrics}

    @staticmethod
    def _images(data):
        return data[0] if isinstance(data, tuple | list) else data

    def train_step(self, data):
        import tensorflow as tf

        images = self._images(data)
        with tf.GradientTape() as tape:
            rec, kl = self.loss_terms(images, training=True)
            rec, kl = ops.mean(rec), ops.mean(kl)
            loss = rec + self.beta * kl
            if self.losses:
                loss = loss + ops.sum(self.losses)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self._update(rec, kl, loss)

    def test_step(self, data):
        rec, kl = self.loss_terms(self._images(data), training=False)
        rec, kl = ops.mean(rec), ops.mean(kl)
        return self._update(rec, kl, rec + self.beta * kl)

    @staticmethod
    def _batched(function, values, batch_size):
        # Eager inference in batches: no predict-function retracing per call.
        return np.concatenate(
            [
                np.asarray(function(values[start : start + batch_size]))
                for start in range(0, len(values), batch_size)
            ]
        )

    def encode(self, images, *, batch_size: int = 64) -> np.ndarray:
        """Mean codes `[N, latent_dim]` of raw 0-255 images `[N, H, W, C]`."""
        images = np.asarray(images, dtype="float32")
        if images.ndim == 3:
            images = images[None]
        return self._batched(
            lambda x: self.encoder(self.rescaling(x), training=False)[0],
            images,
            batch_size,
        )

    def decode(self, codes, *, batch_size: int = 64) -> np.ndarray:
        """0-1 images `[N, H, W, C]` decoded from codes `[N, latent_dim]`."""
        codes = np.asarray(codes, dtype="float32").reshape(-1, self.latent_dim)
        return self._batched(
            lambda z: self.decoder(z, training=False), codes, batch_size
        )

    def generate(self, n: int = 16, seed: int | None = None) -> np.ndarray:
        """Sample `n` images from the prior: z ~ N(0, I) -> decoder.

        Args:
            n: Number of images. Defaults to 16.
            seed: Seed of the codes. Defaults to None.

        Returns:
            float32 0-1 images `[n, H, W, C]`.
        """
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        codes = np.random.default_rng(seed).standard_normal((n, self.latent_dim))
        return self.decode(codes)

    def interpolate(self, image_a, image_b, steps: int = 8) -> np.ndarray:
        """Decode `steps` codes on the line between the mean codes of two images.

        Args:
            image_a: Raw 0-255 image `[H, W, C]` (or `[1, H, W, C]`).
            image_b: Raw 0-255 image of the same shape.
            steps: Number of images, ends included, >= 2. Defaults to 8.

        Returns:
            float32 0-1 images `[steps, H, W, C]`, from a to b.
        """
        if not isinstance(steps, int) or steps < 2:
            raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
        codes = self.encode(
            np.concatenate(
                [
                    np.reshape(image, (1, *self.image_shape))
                    for image in (image_a, image_b)
                ]
            )
        )
        weights = np.linspace(0.0, 1.0, steps)[:, None]
        return self.decode((1.0 - weights) * codes[0] + weights * codes[1])

    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            beta=self.beta,
            reconstruction_loss=self.reconstruction_loss,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def build_vae(
    input_shape,
    *,
    filters=(32, 64),
    kernel_size=3,
    latent_dim: int = 2,
    dense_units: int = 16,
    beta: float = 1.0,
    reconstruction_loss: str = "bce",
    batch_norm: bool = False,
    seed: int | None = None,
    name: str = "vae",
):
    """A convolutional VAE (the keras.io example's architecture, any image size).

    Encoder: `enc_pad`, stride-2 convolutions `enc{i}_conv1`, `enc_flatten`,
    `enc_dense`, then `z_mean` and `z_log_var`. Decoder: `dec_dense`,
    `dec_reshape`, stride-2 transposed convolutions `dec{i}_transpose`,
    `dec_crop`, sigmoid `reconstruction`.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels.
        filters: Filters of the stride-2 stages. Defaults to (32, 64).
        kernel_size: Convolution kernel size. Defaults to 3.
        latent_dim: Code size. Defaults to 2.
        dense_units: Units of the dense layer before the code. Defaults to 16.
        beta: KL weight. Defaults to 1.0.
        reconstruction_loss: "bce" or "mse". Defaults to "bce".
        batch_norm: Batch normalization after every convolution. Defaults to
            False.
        seed: Seed of the sampling. Defaults to None.
        name: Model name. Defaults to "vae".

    Returns:
        An uncompiled `VariationalAutoencoder` (compile it with an optimizer
        only).

    Raises:
        ValueError: On an invalid argument.

    Example:
        >>> vae = build_vae((17, 23, 1), filters=(8, 16), latent_dim=2)
        >>> vae.compile(optimizer="adam")
    """
    height, width, channels = check_input_shape(input_shape, model_name=name)
    filters = _positive_ints(filters, "filters")
    latent_dim = _optional_positive_int(latent_dim, "latent_dim") or 2
    dense_units = _optional_positive_int(dense_units, "dense_units")
    pads = _pad_and_crop(height, width, len(filters))
    unit = {"batch_norm": batch_norm, "activation": "relu"}

    encoder_input = keras.Input(shape=(height, width, channels), name="encoder_input")
    x = encoder_input
    if pads is not None:
        x = layers.ZeroPadding2D(pads, name="enc_pad")(x)
    for index, width_ in enumerate(filters, start=1):
        x = _conv_unit(
            x, width_, kernel_size, prefix=f"enc{index}", index=1, strides=2, **unit
        )
    spatial_shape = tuple(int(v) for v in x.shape[1:])
    x = layers.Flatten(name="enc_flatten")(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", name="enc_dense")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    encoder = keras.Model(encoder_input, [z_mean, z_log_var], name="encoder")

    decoder_input = keras.Input(shape=(latent_dim,), name="decoder_input")
    x = layers.Dense(math.prod(spatial_shape), activation="relu", name="dec_dense")(
        decoder_input
    )
    x = layers.Reshape(spatial_shape, name="dec_reshape")(x)
    for index in range(len(filters), 0, -1):
        x = _conv_unit(
            x,
            filters[index - 1],
            kernel_size,
            prefix=f"dec{index}",
            index=1,
            layer=layers.Conv2DTranspose,
            suffix="transpose",
            strides=2,
            **unit,
        )
    decoder = _decoder(decoder_input, x, channels, kernel_size, pads)
    return VariationalAutoencoder(
        encoder,
        decoder,
        beta=beta,
        reconstruction_loss=reconstruction_loss,
        seed=seed,
        name=name,
    )


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
    filters = _positive_ints(filters, "filters")
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
    pads = _pad_and_crop(height, width, levels)
    unit = {"batch_norm": batch_norm, "activation": activation}

    def double_conv(x, width_, prefix):
        x = _conv_unit(x, width_, kernel_size, prefix=prefix, index=1, **unit)
        return _conv_unit(x, width_, kernel_size, prefix=prefix, index=2, **unit)

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
