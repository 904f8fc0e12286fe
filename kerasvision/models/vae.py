"""The variational autoencoder (Kingma & Welling 2013): `build_vae` and its model."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from kerasvision.layers.sampling import Sampling
from kerasvision.models._autoencoder_parts import (
    RECONSTRUCTION_LOSSES,
    conv_unit,
    decoder_model,
    optional_positive_int,
    pad_and_crop,
    positive_ints,
)
from kerasvision.models.blocks import check_choice
from kerasvision.models.heads import check_input_shape

__all__ = ["VariationalAutoencoder", "build_vae"]


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
        check_choice("reconstruction_loss", reconstruction_loss, RECONSTRUCTION_LOSSES)
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
    filters = positive_ints(filters, "filters")
    latent_dim = optional_positive_int(latent_dim, "latent_dim") or 2
    dense_units = optional_positive_int(dense_units, "dense_units")
    pads = pad_and_crop(height, width, len(filters))
    unit = {"batch_norm": batch_norm, "activation": "relu"}

    encoder_input = keras.Input(shape=(height, width, channels), name="encoder_input")
    x = encoder_input
    if pads is not None:
        x = layers.ZeroPadding2D(pads, name="enc_pad")(x)
    for index, width_ in enumerate(filters, start=1):
        x = conv_unit(
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
        x = conv_unit(
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
    decoder = decoder_model(decoder_input, x, channels, kernel_size, pads)
    return VariationalAutoencoder(
        encoder,
        decoder,
        beta=beta,
        reconstruction_loss=reconstruction_loss,
        seed=seed,
        name=name,
    )
