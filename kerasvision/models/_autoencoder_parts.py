"""Pieces shared by the autoencoder builders: argument checks, padding to a
multiple of the downsampling, the conv unit, the code layers and the assembly."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from kerasvision.layers.noise import make_noise_layer
from kerasvision.layers.sampling import KSparse
from kerasvision.models.blocks import activation_layer

DOWNSAMPLE_MODES = ("pool", "strided")
UPSAMPLE_MODES = ("transpose", "upsample")
RECONSTRUCTION_LOSSES = ("bce", "mse")

__all__ = [
    "DOWNSAMPLE_MODES",
    "RECONSTRUCTION_LOSSES",
    "UPSAMPLE_MODES",
    "assemble",
    "check_sparsity",
    "code_layers",
    "conv_unit",
    "decoder_model",
    "optional_positive_int",
    "pad_and_crop",
    "positive_ints",
]


# === Argument checks ===


def positive_ints(value, name: str) -> tuple[int, ...]:
    values = (value,) if isinstance(value, int) else tuple(value or ())
    if not values or any(
        not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1
        for v in values
    ):
        raise ValueError(f"{name} must be one or more positive integers, got {value!r}")
    return tuple(int(v) for v in values)


def optional_positive_int(value, name: str):
    if value is None:
        return None
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be None or a positive integer, got {value!r}")
    return int(value)


def check_sparsity(sparsity):
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


def pad_and_crop(height: int, width: int, stages: int):
    """Padding for the encoder and cropping for the decoder, or None if not needed."""
    multiple = 2**stages
    pads = (_padding(height, multiple), _padding(width, multiple))
    return None if pads == ((0, 0), (0, 0)) else pads


def conv_unit(x, filters, kernel_size, *, prefix, index, batch_norm, activation, **kw):
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


def code_layers(code, *, k_sparse, sparsity):
    if k_sparse is not None:
        code = KSparse(k_sparse, name="k_sparse")(code)
    if sparsity:
        # Keras divides activity penalties by the batch size: a per-sample L1.
        code = layers.ActivityRegularization(l1=sparsity, name="code_sparsity")(code)
    return code


def decoder_model(decoder_input, x, channels, kernel_size, pads):
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


def assemble(input_shape, encoder, decoder, *, noise, seed, name):
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(inputs)
    if noise is not None:
        x = make_noise_layer(noise, seed=seed, name="noise")(x)
    outputs = decoder(encoder(x))
    return keras.Model(inputs, outputs, name=name)
