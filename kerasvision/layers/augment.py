"""Random augmentation layers of kerasvision (training only; identity at inference).

Each layer follows Keras's own random image layers (`keras.layers.RandomFlip`,
`RandomZoom`): `get_random_transformation(data, training, seed)` draws the
random parameters of a batch, `transform_images(images, transformation)` applies
them. Called as a layer, the draw comes from the layer's `SeedGenerator`; a
tf.data pipeline passes its own stateless seed instead
(`kerasvision.augmentation.apply_augmentation`).

The layers work on channels-last images with a static height and width, in any
value range (the registry uses raw 0-255 pixels).
"""

from __future__ import annotations

import math

import keras

from kerasvision._keras_internals import BaseImagePreprocessingLayer
from kerasvision.layers._config import ConfigFields
from kerasvision.layers.noise import check_stddev, check_value_range

__all__ = ["PixelGaussianNoise", "RandomBlur", "RandomPadCrop", "RandomResolution"]

VALUE_RANGE = (0, 255)


def _images_of(data):
    return data["images"] if isinstance(data, dict) else data


def _static_size(images, layer: str) -> tuple[int, int]:
    height, width = images.shape[-3], images.shape[-2]
    if height is None or width is None:
        raise ValueError(f"{layer} needs a static image height and width")
    return int(height), int(width)


def _sample_range(value, name: str, *, upper: float | None = None):
    """A number `v` -> `(0, v)` (or `(v, upper)`), a pair -> itself, checked."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = (0.0, float(value)) if upper is None else (float(value), upper)
    elif isinstance(value, list | tuple) and len(value) == 2:
        low, high = (float(v) for v in value)
    else:
        raise ValueError(
            f"{name} must be a number or a (low, high) pair, got {value!r}"
        )
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low <= high):
        raise ValueError(f"{name} must give 0 <= low <= high, got {value!r}")
    return low, high


class _RandomImageLayer(ConfigFields, BaseImagePreprocessingLayer):
    """What the layers share: seed and generator, channels-last images, labels
    unchanged, the output shape of the input, identity unless training.

    A subclass draws its random parameters in `_draw(images, seed)` (a dict, or
    None for the identity) and applies them in `_transform(images,
    transformation)` to images cast to the compute dtype.
    """

    config_fields = ("seed",)

    _USE_BASE_FACTOR = False

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if self.data_format != "channels_last":
            raise ValueError(
                f"{type(self).__name__} supports data_format='channels_last' only, "
                f"got {self.data_format!r}"
            )
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, data, training=False):
        # Keras's random layers default to training=True; these layers kept
        # their original default: a bare call is the identity.
        return super().call(data, training=training)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        return self._draw(_images_of(data), self.generator if seed is None else seed)

    def transform_images(self, images, transformation, training=True):
        images = self.backend.cast(images, self.compute_dtype)
        if not training or transformation is None:
            return images
        return self._transform(images, transformation)

    def _batch_size(self, images):
        shape = self.backend.core.shape(images)
        return 1 if len(shape) == 3 else shape[0]

    def _uniform(self, images, low: float, high: float, seed):
        """One value per image, uniform in [low, high), from `seed`."""
        return self.backend.random.uniform(
            (self._batch_size(images),), low, high, dtype=self.compute_dtype, seed=seed
        )

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="kerasvision")
class RandomPadCrop(_RandomImageLayer):
    """Reflect-pad, then crop a random window of the input size (per image).

    The CIFAR-style "pad 4, random crop 32" augmentation, with the padding given
    as a fraction of the size. Unlike `keras.layers.RandomCrop`, every image of a
    batch gets its own offset, and the output always has the input's size (at
    inference too, where the layer is the identity).

    Args:
        padding: Padding on each side as a fraction of the height/width (rounded
            to whole pixels, at least 1, at most size - 1). Defaults to 0.125.
        seed: Integer seed. Defaults to None.
        **kwargs: Base layer arguments (e.g. `name`).

    Raises:
        ValueError: If `padding` is outside (0, 0.5].

    Example:
        >>> layer = RandomPadCrop(0.125, seed=0)
        >>> layer(np.zeros((2, 32, 32, 3)), training=True).shape
        TensorShape([2, 32, 32, 3])
    """

    config_fields = ("padding",)

    def __init__(self, padding: float = 0.125, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0.0 < padding <= 0.5:
            raise ValueError(f"padding must be in (0, 0.5], got {padding}")
        self.padding = padding

    def _pads(self, height: int, width: int) -> tuple[int, int]:
        pad_h = min(max(1, round(self.padding * height)), height - 1)
        pad_w = min(max(1, round(self.padding * width)), width - 1)
        return pad_h, pad_w

    def _draw(self, images, seed):
        pad_h, pad_w = self._pads(*_static_size(images, "RandomPadCrop"))
        batch = self._batch_size(images)
        random = self.backend.random
        top = random.randint((batch,), 0, 2 * pad_h + 1, seed=seed)
        left = random.randint((batch,), 0, 2 * pad_w + 1, seed=seed)
        return {"top": top, "left": left}

    def _transform(self, images, transformation):
        height, width = _static_size(images, "RandomPadCrop")
        pad_h, pad_w = self._pads(height, width)
        if pad_h < 1 or pad_w < 1:
            return images
        ops = self.backend.numpy
        padded = ops.pad(
            images, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]], mode="reflect"
        )
        batch = self.backend.core.shape(images)[0]
        channels = self.backend.core.shape(images)[3]
        rows = transformation["top"][:, None] + ops.arange(height, dtype="int32")
        rows = ops.broadcast_to(
            rows[:, :, None, None], (batch, height, width + 2 * pad_w, channels)
        )
        padded = ops.take_along_axis(padded, rows, axis=1)
        cols = transformation["left"][:, None] + ops.arange(width, dtype="int32")
        cols = ops.broadcast_to(
            cols[:, None, :, None], (batch, height, width, channels)
        )
        return ops.take_along_axis(padded, cols, axis=2)


@keras.saving.register_keras_serializable(package="kerasvision")
class PixelGaussianNoise(_RandomImageLayer):
    """Additive Gaussian noise in pixel units, clipped to the value range.

    The registry's `noise=STD` step. It draws the same noise as
    `kerasvision.layers.AdditiveGaussianNoise(stddev, value_range,
    relative=False)` with the same seed, and takes an explicit seed per batch.

    Args:
        stddev: Noise standard deviation in pixel units. Defaults to 10.0.
        value_range: `(low, high)` the output is clipped to. Defaults to (0, 255).
        seed: Integer seed. Defaults to None.
        **kwargs: Base layer arguments (e.g. `name`). `relative=False`, which
            configurations saved by earlier versions carry, is accepted (the
            standard deviation is always in pixel units).

    Raises:
        ValueError: If `stddev` is negative, the value range is empty or
            `relative` is True.

    Example:
        >>> noisy = PixelGaussianNoise(8.0, seed=0)(images, training=True)
    """

    config_fields = ("stddev", "value_range")
    #: The standard deviation is in pixel units (see `AdditiveGaussianNoise`).
    relative = False

    def __init__(
        self, stddev: float = 10.0, value_range=VALUE_RANGE, seed=None, **kwargs
    ):
        if kwargs.pop("relative", False):
            raise ValueError(
                "PixelGaussianNoise works in pixel units (relative=False); use "
                "AdditiveGaussianNoise for a standard deviation relative to the range"
            )
        super().__init__(seed=seed, **kwargs)
        self.value_range = check_value_range(value_range)
        self.stddev = check_stddev(stddev)

    def _draw(self, images, seed):
        if self.stddev == 0:
            return None
        noise = self.backend.random.normal(
            self.backend.core.shape(images),
            stddev=self.stddev,
            dtype=self.compute_dtype,
            seed=seed,
        )
        return {"noise": noise}

    def _transform(self, images, transformation):
        low, high = self.value_range
        return self.backend.numpy.clip(images + transformation["noise"], low, high)


@keras.saving.register_keras_serializable(package="kerasvision")
class RandomBlur(_RandomImageLayer):
    """Gaussian blur with a random sigma per image (separable, reflect padding).

    `keras.layers.RandomGaussianBlur` caps sigma at 1 pixel, uses a fixed 3x3
    kernel unless told otherwise and draws one sigma per batch (and per axis);
    here every image gets its own isotropic sigma, and the kernel radius is
    `ceil(3 * max sigma)` (capped at the image size - 1). The output is a
    weighted mean of input pixels, so it stays in the input's value range.

    Args:
        sigma: Standard deviation in pixels: a number `s` draws sigma uniformly
            in [0, s] per image; a `(low, high)` pair draws it in [low, high]
            (equal values: a fixed blur). Defaults to 1.0.
        seed: Integer seed. Defaults to None.
        **kwargs: Base layer arguments (e.g. `name`).

    Raises:
        ValueError: If `sigma` is not a number or pair with 0 <= low <= high
            and high > 0.

    Example:
        >>> blurred = RandomBlur(2.0, seed=0)(images, training=True)
    """

    config_fields = ("sigma",)

    def __init__(self, sigma=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        low, high = _sample_range(sigma, "sigma")
        if high <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma!r}")
        self.sigma = list(sigma) if isinstance(sigma, list | tuple) else sigma
        self._range = (low, high)

    def _draw(self, images, seed):
        return {"sigma": self._uniform(images, *self._range, seed)}

    def _transform(self, x, transformation):
        height, width = _static_size(x, "RandomBlur")
        radius = min(math.ceil(3 * self._range[1]), height - 1, width - 1)
        if radius < 1:
            return x
        ops = self.backend.numpy
        # A sigma of (almost) 0 gives the one-tap kernel [0, .., 1, .., 0].
        sigma = ops.maximum(transformation["sigma"], 1e-3)
        offsets = ops.arange(-radius, radius + 1, dtype=self.compute_dtype)
        weights = ops.exp(-0.5 * ops.square(offsets[None, :] / sigma[:, None]))
        weights = weights / ops.sum(weights, axis=1, keepdims=True)
        for axis, size in ((1, height), (2, width)):
            pads = [[0, 0]] * 4
            pads[axis] = [radius, radius]
            padded = ops.pad(x, pads, mode="reflect")
            total = 0.0
            for tap in range(2 * radius + 1):
                window = (
                    padded[:, tap : tap + size]
                    if axis == 1
                    else padded[:, :, tap : tap + size]
                )
                total = total + weights[:, tap, None, None, None] * window
            x = total
        return x


@keras.saving.register_keras_serializable(package="kerasvision")
class RandomResolution(_RandomImageLayer):
    """Lower the resolution: shrink each image, then enlarge it back (blocky).

    Per image a scale `s` is drawn and the image is resized to
    `round(s * height) x round(s * width)` by area averaging (as
    `tf.image.resize(method="area")`), then back to its size by nearest
    neighbour (as `method="nearest"`): the detail of a low-resolution camera at
    the original size. Both resizes are linear, so each is one `[size, size]`
    matrix per image, applied to rows and columns.

    Args:
        factor: Smallest scale: a number `f` in (0, 1] draws `s` in [f, 1]; a
            `(low, high)` pair draws it in [low, high] (equal values: a fixed
            scale). Defaults to 0.5.
        seed: Integer seed. Defaults to None.
        **kwargs: Base layer arguments (e.g. `name`).

    Raises:
        ValueError: If the scales are not in (0, 1].

    Example:
        >>> blocky = RandomResolution((0.5, 0.5))(images, training=True)  # 2x2 px
    """

    config_fields = ("factor",)

    def __init__(self, factor=0.5, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        low, high = _sample_range(factor, "factor", upper=1.0)
        if not 0 < low <= high <= 1:
            raise ValueError(f"factor must lie in (0, 1], got {factor!r}")
        self.factor = list(factor) if isinstance(factor, list | tuple) else factor
        self._range = (low, high)

    def _resample_matrices(self, scale, size: int):
        """`[B, size, size]`: area-shrink to `round(scale * size)`, nearest back."""
        ops = self.backend.numpy
        small = ops.clip(ops.floor(scale * size + 0.5), 1.0, float(size))
        index = ops.arange(size, dtype=scale.dtype)
        step = float(size) / small  # input pixels per small pixel
        start = index[None, :] * step[:, None]  # small pixel j covers [start, end)
        end = (index[None, :] + 1.0) * step[:, None]
        overlap = ops.minimum(
            index[None, None, :] + 1.0, end[:, :, None]
        ) - ops.maximum(index[None, None, :], start[:, :, None])
        shrink = ops.maximum(overlap, 0.0) / step[:, None, None]  # [B, small, size]
        source = ops.minimum(
            ops.floor((index[None, :] + 0.5) * (small / float(size))[:, None]),
            small[:, None] - 1.0,
        )
        enlarge = self.backend.nn.one_hot(
            self.backend.cast(source, "int32"), size, dtype=scale.dtype
        )
        return ops.einsum("bij,bjk->bik", enlarge, shrink)

    def _draw(self, images, seed):
        return {"scale": self._uniform(images, *self._range, seed)}

    def _transform(self, x, transformation):
        height, width = _static_size(x, "RandomResolution")
        scale = transformation["scale"]
        rows = self._resample_matrices(scale, height)
        cols = self._resample_matrices(scale, width)
        x = self.backend.numpy.einsum("bij,bjwc->biwc", rows, x)
        return self.backend.numpy.einsum("bkw,biwc->bikc", cols, x)
