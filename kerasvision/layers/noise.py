"""Training-only corruption layers for denoising autoencoders (identity at inference).

The layers work on images in a value range, by default 0-1 (autoencoders rescale
raw pixels before corrupting them): additive Gaussian noise, salt-and-pepper noise
and random masking of pixels or square patches. Each one is seeded, draws new
noise at every training step, and returns its input unchanged when
`training=False`, so an exported or evaluated model never sees noise.

`parse_noise("gaussian=0.3")` turns the command-line mini-syntax into a layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import ops

from kerasvision.layers._config import ConfigFields

__all__ = [
    "NOISE_KINDS",
    "AdditiveGaussianNoise",
    "NoiseSpec",
    "RandomMasking",
    "SaltAndPepperNoise",
    "make_noise_layer",
    "parse_noise",
]

VALUE_RANGE = (0.0, 1.0)


def check_value_range(value_range) -> tuple[float, float]:
    """`(low, high)` as floats with low < high, else `ValueError`."""
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"value_range must be (low, high), got {value_range!r}"
        ) from None
    if not low < high:
        raise ValueError(f"value_range must have low < high, got {value_range!r}")
    return low, high


def check_stddev(stddev) -> float:
    """A noise standard deviation as a float >= 0, else `ValueError`."""
    if not stddev >= 0:
        raise ValueError(f"stddev must be >= 0, got {stddev}")
    return float(stddev)


def _check_rate(rate, name: str = "rate") -> float:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {rate}")
    return float(rate)


class _ImageNoise(ConfigFields, keras.layers.Layer):
    """What the value-range noise layers share: range, seed, shape and config."""

    config_fields = ("value_range", "seed")

    def __init__(self, value_range=VALUE_RANGE, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.value_range = check_value_range(value_range)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="kerasvision")
class AdditiveGaussianNoise(_ImageNoise):
    """Additive Gaussian noise, clipped to the value range; identity at inference.

    Unlike `keras.layers.GaussianNoise`, the output stays a valid image (clipped to
    `value_range`) and `stddev` is a fraction of that range: 0.3 on 0-1 images is
    the classic "sigma = 0.3" denoising set-up.

    Args:
        stddev: Noise standard deviation as a fraction of the value range (for
            0-1 images, in image units), or in the images' own units with
            `relative=False`. Defaults to 0.1.
        value_range: `(low, high)` of the images; the output is clipped to it.
            Defaults to (0.0, 1.0).
        seed: Integer seed of the noise. Defaults to None.
        relative: `stddev` is a fraction of the value range (True) or in pixel
            units (False: the augmentation's `noise=STD` on 0-255 images).
            Defaults to True.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Raises:
        ValueError: If `stddev` is negative or the value range is empty.

    Example:
        >>> layer = AdditiveGaussianNoise(0.3, seed=0)
        >>> noisy = layer(np.full((1, 8, 8, 1), 0.5), training=True)
    """

    config_fields = ("stddev", "relative")

    def __init__(
        self,
        stddev: float = 0.1,
        value_range=VALUE_RANGE,
        seed=None,
        relative: bool = True,
        **kwargs,
    ):
        super().__init__(value_range, seed, **kwargs)
        self.stddev = check_stddev(stddev)
        self.relative = bool(relative)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        low, high = self.value_range
        noise = keras.random.normal(
            ops.shape(inputs),
            stddev=self.stddev * (high - low) if self.relative else self.stddev,
            dtype=inputs.dtype,
            seed=self.generator,
        )
        return ops.clip(inputs + noise, low, high)


@keras.saving.register_keras_serializable(package="kerasvision")
class SaltAndPepperNoise(_ImageNoise):
    """Set a random fraction of pixels to the minimum or maximum; identity at inference.

    A corrupted pixel is set to `low` (pepper) or `high` (salt) with equal chance,
    in all channels at once (a pixel, not a sub-pixel, is hit).

    Args:
        rate: Fraction of pixels corrupted, in [0, 1]. Defaults to 0.1.
        value_range: `(low, high)` of the images. Defaults to (0.0, 1.0).
        seed: Integer seed of the noise. Defaults to None.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Raises:
        ValueError: If `rate` is outside [0, 1] or the value range is empty.

    Example:
        >>> noisy = SaltAndPepperNoise(0.1, seed=0)(images, training=True)
    """

    config_fields = ("rate",)

    def __init__(self, rate: float = 0.1, value_range=VALUE_RANGE, seed=None, **kwargs):
        super().__init__(value_range, seed, **kwargs)
        self.rate = _check_rate(rate)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = ops.shape(inputs)
        pixel_shape = (shape[0], shape[1], shape[2], 1)
        hit = keras.random.uniform(pixel_shape, seed=self.generator) < self.rate
        salt = keras.random.uniform(pixel_shape, seed=self.generator) < 0.5
        low, high = self.value_range
        value = ops.where(salt, high, low)
        return ops.where(hit, ops.cast(value, inputs.dtype), inputs)


@keras.saving.register_keras_serializable(package="kerasvision")
class RandomMasking(ConfigFields, keras.layers.Layer):
    """Blank random pixels or square patches (to `fill_value`); identity at inference.

    The image is cut into a grid of `patch_size` x `patch_size` cells (the last
    row/column of cells may be partial) and each cell is masked with probability
    `rate`, in all channels.

    Args:
        rate: Probability that a cell is masked, in [0, 1]. Defaults to 0.25.
        patch_size: Side of the masked cells in pixels (1: single pixels).
            Defaults to 1.
        fill_value: Value written into masked cells. Defaults to 0.0.
        seed: Integer seed of the masks. Defaults to None.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Raises:
        ValueError: If `rate` is outside [0, 1] or `patch_size` < 1.

    Example:
        >>> masked = RandomMasking(0.25, patch_size=4, seed=0)(images, training=True)
    """

    config_fields = ("rate", "patch_size", "fill_value", "seed")

    def __init__(
        self,
        rate: float = 0.25,
        patch_size: int = 1,
        fill_value: float = 0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(f"patch_size must be an integer >= 1, got {patch_size!r}")
        self.patch_size = patch_size
        self.fill_value = float(fill_value)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = ops.shape(inputs)
        height, width = shape[1], shape[2]
        size = self.patch_size
        grid = (shape[0], (height + size - 1) // size, (width + size - 1) // size, 1)
        masked = keras.random.uniform(grid, seed=self.generator) < self.rate
        if size > 1:
            masked = ops.repeat(ops.repeat(masked, size, axis=1), size, axis=2)
            masked = masked[:, :height, :width, :]
        return ops.where(masked, ops.cast(self.fill_value, inputs.dtype), inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


# === Mini-syntax ===

# kind -> (layer class, name of its strength argument, allowed range, example)
NOISE_KINDS = {
    "gaussian": (AdditiveGaussianNoise, "stddev", (0.0, None), "gaussian=0.3"),
    "salt_pepper": (SaltAndPepperNoise, "rate", (0.0, 1.0), "salt_pepper=0.1"),
    "mask": (RandomMasking, "rate", (0.0, 1.0), "mask=0.25"),
}
_ALIASES = {"salt-pepper": "salt_pepper", "saltpepper": "salt_pepper"}


@dataclass(frozen=True)
class NoiseSpec:
    """A parsed noise option: `kind` ("gaussian", "salt_pepper", "mask") and `amount`.

    Attributes:
        kind: Key of `NOISE_KINDS`.
        amount: Standard deviation (gaussian, 0-1 image units) or rate.
        patch_size: Patch side for "mask" (`mask=0.25@4`). Defaults to 1.
    """

    kind: str
    amount: float
    patch_size: int = 1

    def __str__(self) -> str:
        text = f"{self.kind}={self.amount:g}"
        return text + (f"@{self.patch_size}" if self.patch_size != 1 else "")

    def layer(self, *, seed=None, name: str = "noise"):
        """The Keras layer for this spec (on 0-1 images)."""
        cls, argument, _, _ = NOISE_KINDS[self.kind]
        kwargs = {argument: self.amount, "seed": seed, "name": name}
        if self.kind == "mask":
            kwargs["patch_size"] = self.patch_size
        return cls(**kwargs)


def parse_noise(text) -> NoiseSpec:
    """Parse a noise option: "gaussian=0.3", "salt_pepper=0.1", "mask=0.25[@PATCH]".

    Args:
        text: The option text (or a `NoiseSpec`, returned as is).

    Returns:
        A `NoiseSpec`.

    Raises:
        ValueError: With a one-line message on an unknown kind or a bad amount.

    Example:
        >>> parse_noise("gaussian=0.3")
        NoiseSpec(kind='gaussian', amount=0.3, patch_size=1)
    """
    if isinstance(text, NoiseSpec):
        return text
    examples = ", ".join(entry[3] for entry in NOISE_KINDS.values())
    if not isinstance(text, str) or "=" not in text:
        raise ValueError(f"noise must look like KIND=AMOUNT ({examples}), got {text!r}")
    kind, _, value = text.strip().partition("=")
    kind = kind.strip().lower()
    kind = _ALIASES.get(kind, kind)
    if kind not in NOISE_KINDS:
        raise ValueError(
            f"unknown noise {kind!r}; choose one of {', '.join(NOISE_KINDS)} "
            f"(e.g. {examples})"
        )
    value, _, patch = value.partition("@")
    if patch and kind != "mask":
        raise ValueError(f"only mask noise takes a @PATCH size, got {text!r}")
    try:
        amount = float(value)
        patch_size = int(patch) if patch else 1
    except ValueError:
        raise ValueError(f"noise amount must be a number, got {text!r}") from None
    _, argument, (low, high), _ = NOISE_KINDS[kind]
    if not amount >= low or (high is not None and amount > high):
        bound = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
        raise ValueError(f"{kind} {argument} must be {bound}, got {amount:g}")
    if patch_size < 1:
        raise ValueError(f"mask patch size must be >= 1, got {patch_size}")
    return NoiseSpec(kind, amount, patch_size)


def make_noise_layer(noise, *, seed=None, name: str = "noise"):
    """A noise layer from a spec string, a `NoiseSpec` or a layer (returned as is).

    Args:
        noise: "gaussian=0.3", a `NoiseSpec`, or a Keras layer.
        seed: Seed of the layer built from a spec. Defaults to None.
        name: Name of the layer built from a spec. Defaults to "noise".

    Returns:
        A Keras layer (identity at inference).

    Raises:
        ValueError: If the spec does not parse.

    Example:
        >>> make_noise_layer("mask=0.25@2", seed=0).patch_size
        2
    """
    if isinstance(noise, keras.layers.Layer):
        return noise
    return parse_noise(noise).layer(seed=seed, name=name)
