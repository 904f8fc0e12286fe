"""Training-time augmentation: per-image Keras layers and CutMix/MixUp batch mixers.

Everything here works on raw float pixels in [0, 255] (what `ImageData.dataset`
yields) and only ever on the training pipeline: augmentation never lives inside an
exported model.

The mini-syntax (`parse_augment_spec`) is a comma-separated list of steps::

    flip,rotate=0.1,zoom=0.2,randaugment=0.5:2,cutmix=1.0@0.5,mixup=0.2@0.5

- `name` alone uses the registry default (`flip` is `flip=horizontal`).
- `name=value` sets the step's parameter; `randaugment=MAGNITUDE:NUM_OPS` sets
  both of its parameters (`randaugment=0.5` keeps the default 2 ops).
- Only the batch mixers take `@p`: the probability that a batch is mixed that way.
  When both mixers are given, each batch gets CutMix, MixUp or (if the
  probabilities add up to less than 1) neither, drawn once per batch (timm's
  switch). A mixer without `@p` takes what the others leave of 1, shared equally:
  `cutmix` alone mixes every batch, `cutmix,mixup` mixes every batch with one of
  the two at 0.5 each, `cutmix@0.3,mixup` gives MixUp 0.7.
- Steps run in the registry's order (geometry, colour, resolution and blur,
  noise, erasing/cutout, then the mixers), whatever their order in the text, so
  a spec reads as a set.

Reproducibility: `apply_augmentation` draws a stateless seed per batch from
`tf.data.Dataset.random(seed)` and hands it to every layer while the map function
is traced, so the stream is the same for the same seed even with parallel map
calls, and different in every epoch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from dataclasses import dataclass

import keras
import numpy as np

from kerasvision.layers.noise import AdditiveGaussianNoise

__all__ = [
    "AUGMENTATIONS",
    "AugmentSpec",
    "AugmentStep",
    "Param",
    "PixelGaussianNoise",
    "RandomBlur",
    "RandomPadCrop",
    "RandomResolution",
    "apply_augmentation",
    "build_augmentation",
    "format_augment_spec",
    "parse_augment_spec",
    "preview_augmentation",
]

VALUE_RANGE = (0, 255)


# === Registry (plain data) ===


@dataclass(frozen=True)
class Param:
    """One parameter of an augmentation step.

    Attributes:
        name: Name shown to users (and the layer argument unless `arguments`).
        default: Value used when the text leaves it out.
        kind: "float", "int" or "choice".
        minimum: Lower bound of a number.
        maximum: Upper bound of a number (inclusive).
        exclusive_minimum: Whether `minimum` itself is excluded.
        choices: Allowed strings for a "choice".
        arguments: Layer constructor arguments that receive the value; defaults
            to `(name,)`.
        pair: Pass the value as `(value, value)` (a fixed value instead of the
            layer's "sampled from [0, value]" reading).
    """

    name: str
    default: float | int | str
    kind: str = "float"
    minimum: float = 0.0
    maximum: float = 1.0
    exclusive_minimum: bool = True
    choices: tuple[str, ...] = ()
    arguments: tuple[str, ...] = ()
    pair: bool = False

    @property
    def allowed(self) -> str:
        """The allowed values as text, e.g. `(0, 0.5]` or `a|b|c`."""
        if self.kind == "choice":
            return "|".join(self.choices)
        low = "(" if self.exclusive_minimum else "["
        return f"{low}{self.minimum:g}, {self.maximum:g}]"

    def parse(self, text: str, step: str):
        """Text -> value, with a one-line `ValueError` naming the step."""
        text = text.strip()
        if self.kind == "choice":
            value = text.lower()
            if value not in self.choices:
                raise ValueError(
                    f"augmentation {step!r}: {self.name} must be one of "
                    f"{', '.join(self.choices)}; got {text!r}"
                )
            return value
        try:
            number = float(text)
        except ValueError:
            raise ValueError(
                f"augmentation {step!r}: {self.name} must be a number, got {text!r}"
            ) from None
        return self.check(number, step)

    def check(self, number, step: str):
        """Range/type check of a number -> the value (int for "int")."""
        if self.kind == "int":
            if not (math.isfinite(number) and float(number).is_integer()):
                raise ValueError(
                    f"augmentation {step!r}: {self.name} must be a whole number, "
                    f"got {number:g}"
                )
            number = int(number)
        if self.exclusive_minimum:
            below = number <= self.minimum
        else:
            below = number < self.minimum
        if not math.isfinite(number) or below or number > self.maximum:
            raise ValueError(
                f"augmentation {step!r}: {self.name} must be in {self.allowed}, "
                f"got {number:g}"
            )
        return number


@dataclass(frozen=True)
class AugmentSpec:
    """How one registry name becomes a layer (or a batch mixer).

    Attributes:
        layer: Class name of the layer: in `keras.layers`, or in this module for
            the kerasvision layers. None for the batch mixers, which are tf.data
            functions of this module.
        params: Parameters; the first is the value after `=`, the second (only
            RandAugment) after `:`.
        kind: "image" (per-image layer) or "batch" (mixer over a batch).
        description: One line for help texts.
        fixed: Other constructor arguments, e.g. `(("value_range", (0, 255)),)`.
    """

    layer: str | None
    params: tuple[Param, ...]
    kind: str
    description: str
    fixed: tuple[tuple[str, object], ...] = ()

    @property
    def parameter(self) -> str:
        return self.params[0].name

    @property
    def default(self):
        return self.params[0].default

    @property
    def allowed(self) -> str:
        return self.params[0].allowed


_RANGE = (("value_range", VALUE_RANGE),)


def _factor(default: float, maximum: float, *arguments: str) -> tuple[Param, ...]:
    """The single `factor` parameter of a layer, passed on as `arguments`."""
    return (Param("factor", default, maximum=maximum, arguments=arguments),)


def _box_probability(default: float) -> tuple[Param, ...]:
    """RandomErasing's per-image probability (its `factor`, as a fixed pair)."""
    return (Param("probability", default, arguments=("factor",), pair=True),)


#: name -> spec, in the order the steps are applied.
AUGMENTATIONS: dict[str, AugmentSpec] = {
    "flip": AugmentSpec(
        "RandomFlip",
        (
            Param(
                "mode",
                "horizontal",
                kind="choice",
                choices=("horizontal", "vertical", "horizontal_and_vertical"),
            ),
        ),
        "image",
        "random mirror image (horizontal, vertical or both)",
    ),
    "crop": AugmentSpec(
        "RandomPadCrop",
        (Param("padding", 0.125, minimum=0.0, maximum=0.5),),
        "image",
        "reflect-pad each side by this fraction of the size, then crop a random "
        "window of the original size (CIFAR-style; 0.125 = 4 px at 32 px)",
    ),
    "rotate": AugmentSpec(
        "RandomRotation",
        _factor(0.1, 0.5),
        "image",
        "random rotation by up to factor x 360 degrees, either way",
    ),
    "zoom": AugmentSpec(
        "RandomZoom",
        _factor(0.2, 0.9, "height_factor"),
        "image",
        "random zoom in or out by up to this fraction (aspect ratio kept)",
    ),
    "translate": AugmentSpec(
        "RandomTranslation",
        _factor(0.1, 0.5, "height_factor", "width_factor"),
        "image",
        "random shift by up to this fraction of the height and width",
    ),
    "shear": AugmentSpec(
        "RandomShear",
        _factor(0.2, 1.0, "x_factor", "y_factor"),
        "image",
        "random shear (skew) along x and y: a pixel moves sideways by up to "
        "factor x its row and down by up to factor x its column",
    ),
    "brightness": AugmentSpec(
        "RandomBrightness",
        _factor(0.2, 1.0),
        "image",
        "add a random offset of up to factor x 255 to every pixel",
        fixed=_RANGE,
    ),
    "contrast": AugmentSpec(
        "RandomContrast",
        _factor(0.2, 1.0),
        "image",
        "scale the contrast by a random factor in [1 - factor, 1 + factor]",
        fixed=_RANGE,
    ),
    "randaugment": AugmentSpec(
        "RandAugment",
        (
            Param("magnitude", 0.5, minimum=0.0, maximum=1.0, arguments=("factor",)),
            Param(
                "num_ops", 2, kind="int", minimum=1, maximum=11, exclusive_minimum=False
            ),
        ),
        "image",
        "RandAugment (Cubuk et al. 2019): num_ops random ops of this magnitude",
        fixed=_RANGE,
    ),
    "resolution": AugmentSpec(
        "RandomResolution",
        _factor(0.5, 1.0),
        "image",
        "lower the resolution: shrink to a random fraction in [factor, 1] of the "
        "size (area average), enlarge back (nearest): blocky pixels",
    ),
    "blur": AugmentSpec(
        "RandomBlur",
        (Param("sigma", 1.0, minimum=0.0, maximum=5.0),),
        "image",
        "Gaussian blur, sigma drawn per image in [0, sigma] pixels",
    ),
    "noise": AugmentSpec(
        "AdditiveGaussianNoise",
        (Param("stddev", 10.0, minimum=0.0, maximum=255.0),),
        "image",
        "add Gaussian noise with this standard deviation in pixel units (0-255)",
        fixed=(*_RANGE, ("relative", False)),
    ),
    "erasing": AugmentSpec(
        "RandomErasing",
        _box_probability(0.25),
        "image",
        "Random Erasing (Zhong et al. 2017): replace a random box with noise, "
        "with this probability per image",
        fixed=_RANGE,
    ),
    "cutout": AugmentSpec(
        "RandomErasing",
        _box_probability(1.0),
        "image",
        "Cutout (DeVries & Taylor 2017): erasing's random box filled with "
        "mid-grey (127.5) instead of noise, with this probability per image",
        fixed=(("fill_value", 127.5), *_RANGE),
    ),
    "cutmix": AugmentSpec(
        None,
        (Param("alpha", 1.0, minimum=0.0, maximum=10.0),),
        "batch",
        "CutMix (Yun et al. 2019): paste a box from another image of the batch; "
        "labels mixed by the pasted area; box area ~ Beta(alpha, alpha)",
    ),
    "mixup": AugmentSpec(
        None,
        (Param("alpha", 0.2, minimum=0.0, maximum=10.0),),
        "batch",
        "MixUp (Zhang et al. 2018): blend with another image of the batch; "
        "weight ~ Beta(alpha, alpha), labels blended alike",
    ),
}

_PROBABILITY = Param("probability", 1.0, minimum=0.0, maximum=1.0)


@dataclass(frozen=True)
class AugmentStep:
    """One parsed step: a registry name, its parameter values, a mixer probability.

    Attributes:
        name: Key of `AUGMENTATIONS`.
        values: One value per parameter of the spec (defaults filled in).
        probability: Batch mixers only: the probability that a batch gets this
            mixer (resolved by `parse_augment_spec`). None for per-image steps.
    """

    name: str
    values: tuple
    probability: float | None = None

    @property
    def spec(self) -> AugmentSpec:
        return AUGMENTATIONS[self.name]

    @property
    def value(self):
        """The first (main) parameter value."""
        return self.values[0]

    @property
    def is_mixer(self) -> bool:
        return self.spec.kind == "batch"

    def layer_kwargs(self) -> dict:
        """Constructor keyword arguments of the step's layer (without seed/name)."""
        kwargs = dict(self.spec.fixed)
        for param, value in zip(self.spec.params, self.values, strict=True):
            for argument in param.arguments or (param.name,):
                kwargs[argument] = (value, value) if param.pair else value
        return kwargs

    def __str__(self) -> str:
        text = self.name + "=" + ":".join(_format_value(v) for v in self.values)
        if self.probability is not None:
            text += f"@{self.probability:g}"
        return text


def _format_value(value) -> str:
    return value if isinstance(value, str) else f"{value:g}"


# === Parsing ===


def parse_augment_spec(spec) -> list[AugmentStep]:
    """Parse the augmentation mini-syntax into steps (registry order).

    See the module docstring for the syntax. Accepts a string, a list of strings
    (joined with commas, e.g. a repeated CLI option), a list of `AugmentStep`
    (returned re-checked) or None.

    Args:
        spec: E.g. `"flip,rotate=0.1,zoom=0.2,cutmix=1.0@0.5,mixup=0.2"`.

    Returns:
        The steps in application order; `[]` for None or an empty string.

    Raises:
        ValueError: On an unknown name (the message lists the valid ones), a bad
            or out-of-range number, a step given twice, `@p` on a per-image step,
            too many `:` values, or mixer probabilities adding up to more than 1.

    Example:
        >>> [str(s) for s in parse_augment_spec("zoom=0.2,flip,cutmix@0.5")]
        ['flip=horizontal', 'zoom=0.2', 'cutmix=1@0.5']
    """
    if spec is None:
        return []
    if isinstance(spec, AugmentStep):
        spec = [spec]
    if not isinstance(spec, str):
        items = list(spec)
        if all(isinstance(item, AugmentStep) for item in items):
            return _check_steps(items, text=", ".join(str(s) for s in items))
        if not all(isinstance(item, str) for item in items):
            raise ValueError(
                f"augmentation spec must be a string or AugmentSteps, got {spec!r}"
            )
        spec = ",".join(items)
    text = spec
    if not text.strip():
        return []
    steps = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise ValueError(f"empty step in augmentation spec {text!r} (stray comma?)")
        head, at, probability_text = item.partition("@")
        name, equals, value_text = head.partition("=")
        name = name.strip().lower()
        spec_entry = AUGMENTATIONS.get(name)
        if spec_entry is None:
            raise ValueError(
                f"unknown augmentation {name!r}; valid: {', '.join(AUGMENTATIONS)}"
            )
        values = [param.default for param in spec_entry.params]
        if equals:
            parts = value_text.split(":")
            if len(parts) > len(spec_entry.params):
                names = ":".join(p.name for p in spec_entry.params)
                raise ValueError(
                    f"augmentation {name!r} takes {name}={names}, got {item!r}"
                )
            for index, part in enumerate(parts):
                if not part.strip():
                    raise ValueError(
                        f"augmentation {name!r}: missing value in {item!r}"
                    )
                values[index] = spec_entry.params[index].parse(part, name)
        probability = None
        if at:
            if spec_entry.kind != "batch":
                mixers = ", ".join(
                    k for k, s in AUGMENTATIONS.items() if s.kind == "batch"
                )
                raise ValueError(
                    f"augmentation {name!r} takes no '@probability'; only the batch "
                    f"mixers ({mixers}) do"
                )
            probability = _PROBABILITY.parse(probability_text, name)
        steps.append(AugmentStep(name, tuple(values), probability))
    return _check_steps(steps, text=text)


def _check_steps(steps, *, text: str) -> list[AugmentStep]:
    seen = set()
    for step in steps:
        if step.name not in AUGMENTATIONS:
            raise ValueError(
                f"unknown augmentation {step.name!r}; valid: {', '.join(AUGMENTATIONS)}"
            )
        if step.name in seen:
            raise ValueError(f"augmentation {step.name!r} is given twice in {text!r}")
        seen.add(step.name)
        params = step.spec.params
        if len(step.values) != len(params):
            raise ValueError(
                f"augmentation {step.name!r} needs {len(params)} value(s), "
                f"got {step.values!r}"
            )
        for param, value in zip(params, step.values, strict=True):
            if param.kind == "choice":
                param.parse(str(value), step.name)
            else:
                param.check(value, step.name)
        if step.probability is not None:
            if not step.is_mixer:
                raise ValueError(f"augmentation {step.name!r} takes no probability")
            _PROBABILITY.check(step.probability, step.name)
    order = list(AUGMENTATIONS)
    steps = sorted(steps, key=lambda s: order.index(s.name))
    return _resolve_probabilities(steps)


def _resolve_probabilities(steps):
    mixers = [s for s in steps if s.is_mixer]
    given = sum(s.probability for s in mixers if s.probability is not None)
    unset = [s for s in mixers if s.probability is None]
    if given > 1.0 + 1e-9:
        listed = " + ".join(
            f"{s.name}@{s.probability:g}" for s in mixers if s.probability is not None
        )
        raise ValueError(
            f"mixer probabilities add up to {given:g} (> 1): {listed}; a batch gets "
            f"at most one mixer"
        )
    if not unset:
        return steps
    share = (1.0 - given) / len(unset)
    if share <= 1e-9:
        raise ValueError(
            f"no probability left for {', '.join(s.name for s in unset)} (the other "
            f"mixer takes {given:g}); give it one with '@p'"
        )
    return [
        dataclasses.replace(s, probability=share)
        if s.is_mixer and s.probability is None
        else s
        for s in steps
    ]


def format_augment_spec(spec) -> str:
    """Canonical text of a spec (every value explicit), e.g. for run.json.

    Args:
        spec: Anything `parse_augment_spec` accepts.

    Returns:
        E.g. `"flip=horizontal,cutmix=1@0.5"`; `""` for no augmentation.

    Raises:
        ValueError: If the spec is invalid.

    Example:
        >>> format_augment_spec("mixup,flip")
        'flip=horizontal,mixup=0.2@1'
    """
    return ",".join(str(step) for step in parse_augment_spec(spec))


# === kerasvision layers ===


@keras.saving.register_keras_serializable(package="kerasvision")
class RandomPadCrop(keras.layers.Layer):
    """Reflect-pad, then crop a random window of the input size (per image).

    The CIFAR-style "pad 4, random crop 32" augmentation, with the padding given
    as a fraction of the size. Unlike `keras.layers.RandomCrop`, every image of a
    batch gets its own offset, and the output always has the input's size (at
    inference too, where the layer is the identity).

    Args:
        padding: Padding on each side as a fraction of the height/width (rounded
            to whole pixels, at least 1, at most size - 1). Defaults to 0.125.
        seed: Integer seed. Defaults to None.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> layer = RandomPadCrop(0.125, seed=0)
        >>> layer(np.zeros((2, 32, 32, 3)), training=True).shape
        TensorShape([2, 32, 32, 3])
    """

    def __init__(self, padding: float = 0.125, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < padding <= 0.5:
            raise ValueError(f"padding must be in (0, 0.5], got {padding}")
        self.padding = padding
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        height, width = inputs.shape[1], inputs.shape[2]
        if height is None or width is None:
            raise ValueError("RandomPadCrop needs a static image height and width")
        pad_h = min(max(1, round(self.padding * height)), height - 1)
        pad_w = min(max(1, round(self.padding * width)), width - 1)
        if pad_h < 1 or pad_w < 1:
            return inputs
        ops = keras.ops
        padded = ops.pad(
            inputs, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]], mode="reflect"
        )
        batch = ops.shape(inputs)[0]
        top = keras.random.randint((batch,), 0, 2 * pad_h + 1, seed=self.generator)
        left = keras.random.randint((batch,), 0, 2 * pad_w + 1, seed=self.generator)
        channels = inputs.shape[3]
        rows = top[:, None] + ops.arange(height, dtype="int32")[None, :]
        rows = ops.broadcast_to(
            rows[:, :, None, None], (batch, height, width + 2 * pad_w, channels)
        )
        padded = ops.take_along_axis(padded, rows, axis=1)
        cols = left[:, None] + ops.arange(width, dtype="int32")[None, :]
        cols = ops.broadcast_to(
            cols[:, None, :, None], (batch, height, width, channels)
        )
        return ops.take_along_axis(padded, cols, axis=2)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="kerasvision")
class PixelGaussianNoise(AdditiveGaussianNoise):
    """The former pixel-unit noise layer: `AdditiveGaussianNoise(relative=False)`.

    `noise=STD` now builds `AdditiveGaussianNoise` with `relative=False`; this
    registered name stays so that models saved with it load unchanged.

    Args:
        stddev: Noise standard deviation in pixel units. Defaults to 10.0.
        value_range: `(low, high)` the output is clipped to. Defaults to (0, 255).
        seed: Integer seed. Defaults to None.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> noisy = PixelGaussianNoise(8.0, seed=0)(images, training=True)
    """

    def __init__(
        self, stddev: float = 10.0, value_range=VALUE_RANGE, seed=None, **kwargs
    ):
        kwargs.pop("relative", None)
        super().__init__(stddev, value_range, seed, relative=False, **kwargs)


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


@keras.saving.register_keras_serializable(package="kerasvision")
class RandomBlur(keras.layers.Layer):
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
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> blurred = RandomBlur(2.0, seed=0)(images, training=True)
    """

    def __init__(self, sigma=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        low, high = _sample_range(sigma, "sigma")
        if high <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma!r}")
        self.sigma = list(sigma) if isinstance(sigma, list | tuple) else sigma
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self._range = (low, high)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        height, width = inputs.shape[1], inputs.shape[2]
        if height is None or width is None:
            raise ValueError("RandomBlur needs a static image height and width")
        low, high = self._range
        radius = min(math.ceil(3 * high), height - 1, width - 1)
        if radius < 1:
            return inputs
        ops = keras.ops
        x = ops.cast(inputs, self.compute_dtype)
        sigma = keras.random.uniform(
            (ops.shape(x)[0],), low, high, dtype=self.compute_dtype, seed=self.generator
        )
        # A sigma of (almost) 0 gives the one-tap kernel [0, .., 1, .., 0].
        sigma = ops.maximum(sigma, 1e-3)
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

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(sigma=self.sigma, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="kerasvision")
class RandomResolution(keras.layers.Layer):
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
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> blocky = RandomResolution((0.5, 0.5))(images, training=True)  # 2x2 px
    """

    def __init__(self, factor=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        low, high = _sample_range(factor, "factor", upper=1.0)
        if not 0 < low <= high <= 1:
            raise ValueError(f"factor must lie in (0, 1], got {factor!r}")
        self.factor = list(factor) if isinstance(factor, list | tuple) else factor
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self._range = (low, high)

    @staticmethod
    def _resample_matrices(scale, size: int):
        """`[B, size, size]`: area-shrink to `round(scale * size)`, nearest back."""
        ops = keras.ops
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
        enlarge = ops.one_hot(ops.cast(source, "int32"), size, dtype=scale.dtype)
        return ops.einsum("bij,bjk->bik", enlarge, shrink)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        height, width = inputs.shape[1], inputs.shape[2]
        if height is None or width is None:
            raise ValueError("RandomResolution needs a static image height and width")
        ops = keras.ops
        x = ops.cast(inputs, self.compute_dtype)
        low, high = self._range
        scale = keras.random.uniform(
            (ops.shape(x)[0],), low, high, dtype=self.compute_dtype, seed=self.generator
        )
        rows = self._resample_matrices(scale, height)
        cols = self._resample_matrices(scale, width)
        x = ops.einsum("bij,bjwc->biwc", rows, x)
        return ops.einsum("bkw,biwc->bikc", cols, x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, seed=self.seed)
        return config


# === Per-image layers ===


#: Seed slot of every registry entry: the order the entries were added in (new
#: ones go last), so adding an entry never changes the seeds of the others.
_SEED_SLOTS = (
    "flip",
    "crop",
    "rotate",
    "zoom",
    "translate",
    "brightness",
    "contrast",
    "randaugment",
    "noise",
    "erasing",
    "cutmix",
    "mixup",
    "shear",
    "resolution",
    "blur",
    "cutout",
)


def _layer_seeds(seed) -> dict:
    """Registry name -> seed, independent of which steps are present.

    `SeedSequence.generate_state(n)` extends, not reshuffles, when `n` grows, so
    every slot keeps its seed as entries are added.
    """
    if seed is None:
        return dict.fromkeys(AUGMENTATIONS)
    state = np.random.SeedSequence(int(seed)).generate_state(len(_SEED_SLOTS))
    slots = {
        name: int(v) % (2**31 - 1) for name, v in zip(_SEED_SLOTS, state, strict=True)
    }
    return {name: slots[name] for name in AUGMENTATIONS}


def build_augmentation(spec, *, seed: int | None = None):
    """The per-image augmentation layers of a spec, as a `keras.Sequential`.

    The batch mixers (cutmix, mixup) are not layers and are left out: use
    `apply_augmentation` for a tf.data pipeline. Layers are named
    `augment_<name>` and are the identity when called with `training=False`.

    Args:
        spec: Anything `parse_augment_spec` accepts.
        seed: Seed of the layers' random generators. Defaults to None.

    Returns:
        A `keras.Sequential` named "augmentation", or None when the spec has no
        per-image step.

    Raises:
        ValueError: If the spec is invalid.

    Example:
        >>> augment = build_augmentation("flip,rotate=0.1", seed=0)
        >>> augmented = augment(images, training=True)
    """
    steps = parse_augment_spec(spec)
    seeds = _layer_seeds(seed)
    layers = []
    for step in steps:
        if step.is_mixer:
            continue
        cls = getattr(keras.layers, step.spec.layer, None) or globals()[step.spec.layer]
        layers.append(
            cls(
                **step.layer_kwargs(),
                seed=seeds[step.name],
                name=f"augment_{step.name}",
            )
        )
    if not layers:
        return None
    return keras.Sequential(layers, name="augmentation")


class _FoldedSeeds(keras.random.SeedGenerator):
    """A stateless stand-in for a layer's `SeedGenerator`.

    Every `next()` folds a counter into one seed tensor, so the random ops traced
    into a tf.data map function depend only on that (per-batch) tensor: no
    variable, no race between parallel calls.
    """

    def __init__(self, seed):  # no super().__init__(): it would create a variable
        self._seed = seed
        self._count = 0

    def next(self, ordered=True):
        import tensorflow as tf

        self._count += 1
        return tf.random.experimental.stateless_fold_in(self._seed, self._count)


@contextlib.contextmanager
def _stateless_seeds(layers, seed):
    """Point the layers' random generators at `seed` while a graph is traced."""
    import tensorflow as tf

    swapped = []
    try:
        for layer in layers:
            members = [layer] + [
                v for v in vars(layer).values() if isinstance(v, keras.layers.Layer)
            ]
            for member in members:
                for attribute in ("generator", "seed_generator"):
                    original = vars(member).get(attribute)
                    if isinstance(original, keras.random.SeedGenerator):
                        stream = tf.random.experimental.stateless_fold_in(
                            seed, len(swapped) + 1
                        )
                        # object.__setattr__ skips Keras's attribute tracking.
                        object.__setattr__(member, attribute, _FoldedSeeds(stream))
                        swapped.append((member, attribute, original))
        yield
    finally:
        for member, attribute, original in reversed(swapped):
            object.__setattr__(member, attribute, original)


# === Batch mixers (tf.data) ===


def _beta(shape, alpha, seeds):
    import tensorflow as tf

    first = tf.random.stateless_gamma(shape, seed=seeds[0], alpha=alpha)
    second = tf.random.stateless_gamma(shape, seed=seeds[1], alpha=alpha)
    total = first + second
    # Both gammas underflow to 0 for tiny alpha: keep the image as it is.
    return tf.where(total > 0, first / tf.where(total > 0, total, 1.0), 1.0)


def _cutmix(images, labels, partner, alpha, seeds):
    """Yun et al. 2019 per image: box area ~ 1 - Beta, centre uniform, clipped.

    The label weight is recomputed from the clipped box, so it equals the exact
    fraction of pixels that came from the partner image.
    """
    import tensorflow as tf

    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    lam = _beta([batch], alpha, seeds[:2])
    ratio = tf.sqrt(1.0 - lam)
    cut_h = tf.cast(tf.cast(height, tf.float32) * ratio, tf.int32)
    cut_w = tf.cast(tf.cast(width, tf.float32) * ratio, tf.int32)
    centre_y = tf.random.stateless_uniform(
        [batch], seeds[2], minval=0, maxval=height, dtype=tf.int32
    )
    centre_x = tf.random.stateless_uniform(
        [batch], seeds[3], minval=0, maxval=width, dtype=tf.int32
    )
    top = tf.clip_by_value(centre_y - cut_h // 2, 0, height)
    bottom = tf.clip_by_value(centre_y + cut_h // 2, 0, height)
    left = tf.clip_by_value(centre_x - cut_w // 2, 0, width)
    right = tf.clip_by_value(centre_x + cut_w // 2, 0, width)
    rows = tf.range(height)[None, :]
    cols = tf.range(width)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < bottom[:, None])
    in_cols = (cols >= left[:, None]) & (cols < right[:, None])
    mask = in_rows[:, :, None, None] & in_cols[:, None, :, None]
    mixed = tf.where(mask, tf.gather(images, partner), images)
    area = tf.cast((bottom - top) * (right - left), tf.float32)
    kept = 1.0 - area / tf.cast(height * width, tf.float32)
    labels = kept[:, None] * labels + (1.0 - kept[:, None]) * tf.gather(labels, partner)
    return mixed, labels


def _mixup(images, labels, partner, alpha, seeds):
    """Zhang et al. 2018 per image: the same Beta weight for pixels and labels."""
    import tensorflow as tf

    lam = _beta([tf.shape(images)[0]], alpha, seeds[:2])
    mixed = lam[:, None, None, None] * images + (
        1.0 - lam[:, None, None, None]
    ) * tf.gather(images, partner)
    labels = lam[:, None] * labels + (1.0 - lam[:, None]) * tf.gather(labels, partner)
    return mixed, labels


_MIXERS = {"cutmix": _cutmix, "mixup": _mixup}


def _mix_batch(images, labels, seed, mixers):
    """Apply at most one mixer to the batch, chosen by the steps' probabilities."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, 2 + 4 * len(mixers))
    batch = tf.shape(images)[0]
    partner = tf.argsort(tf.random.stateless_uniform([batch], seeds[0]))
    choice = tf.random.stateless_uniform([], seeds[1])

    def chain(index, threshold):
        if index == len(mixers):
            return images, labels
        step = mixers[index]
        mixer_seeds = seeds[2 + 4 * index : 6 + 4 * index]
        upper = threshold + step.probability

        def apply():
            return _MIXERS[step.name](images, labels, partner, step.value, mixer_seeds)

        if index == len(mixers) - 1 and upper >= 1.0 - 1e-9:
            return apply()
        return tf.cond(choice < upper, apply, lambda: chain(index + 1, upper))

    return chain(0, 0.0)


def apply_augmentation(
    dataset,
    spec,
    *,
    num_classes: int,
    seed: int | None = None,
    one_hot: bool = False,
    epoch=None,
):
    """Augment a batched `(images, labels)` training dataset.

    Per batch: the per-image layers with `training=True`, then at most one batch
    mixer. Integer labels become one-hot float `[B, K]` when there is a mixer (or
    `one_hot=True`), and mixed labels are soft; one-hot/soft input labels stay
    float. Only `dataset` is touched: pass the training split only.

    Args:
        dataset: Batched `tf.data.Dataset` of `(float images [B, H, W, C] 0-255,
            labels)`, labels int `[B]` or float `[B, K]`.
        spec: Anything `parse_augment_spec` accepts.
        num_classes: Number of classes K (for one-hot labels).
        seed: Seed of the augmentation stream: the same seed (and TensorFlow
            global seed, which `keras.utils.set_random_seed` sets) gives the same
            stream, parallel map calls included; every epoch differs. Defaults to
            None (not reproducible).
        one_hot: Return one-hot labels even without a mixer (e.g. for label
            smoothing, which needs a categorical loss). Defaults to False.
        epoch: An `epoch_variable()` (`kerasvision.data.epochs`): each epoch's
            stream is then a function of `(seed, epoch)`, as a resumed run needs.
            Defaults to None (tf.data's per-iteration streams).

    Returns:
        `(dataset, labels_one_hot)`: the new dataset and whether its labels are
        float `[B, K]` (compile with categorical cross-entropy then) rather than
        int `[B]`.

    Raises:
        ValueError: If the spec is invalid or the dataset is not batched
            `(images, labels)` with K-class labels.

    Example:
        >>> train = data.dataset("train", batch_size=32, seed=0)
        >>> train, one_hot = apply_augmentation(
        ...     train, "flip,rotate=0.1,cutmix", num_classes=data.num_classes, seed=0
        ... )
    """
    import tensorflow as tf

    steps = parse_augment_spec(spec)
    element = dataset.element_spec
    if not (isinstance(element, tuple) and len(element) == 2):
        raise ValueError(
            "apply_augmentation needs a dataset of (images, labels) pairs, got "
            f"{element}"
        )
    image_spec, label_spec = element
    if image_spec.shape.rank != 4:
        raise ValueError(
            f"apply_augmentation needs batched images [B, H, W, C], got shape "
            f"{image_spec.shape} (batch the dataset first)"
        )
    if not isinstance(num_classes, int | np.integer) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    labels_one_hot = label_spec.shape.rank == 2
    if labels_one_hot and label_spec.shape[-1] not in (None, num_classes):
        raise ValueError(
            f"labels have {label_spec.shape[-1]} columns but num_classes is "
            f"{num_classes}"
        )
    if label_spec.shape.rank not in (1, 2):
        raise ValueError(f"labels must be int [B] or float [B, K], got {label_spec}")
    mixers = [s for s in steps if s.is_mixer]
    to_one_hot = not labels_one_hot and (one_hot or bool(mixers))
    augmenter = build_augmentation(steps, seed=seed)
    layers = augmenter.layers if augmenter is not None else []
    if not layers and not mixers and not to_one_hot:
        return dataset, labels_one_hot
    if "randaugment" in [s.name for s in steps] and image_spec.shape[-1] != 3:
        raise ValueError(
            f"randaugment needs RGB images (3 channels), got {image_spec.shape[-1]}"
        )

    def transform(batch, batch_seed):
        images, labels = batch
        images = tf.cast(images, tf.float32)
        layer_seed, mix_seed = tf.unstack(
            tf.random.experimental.stateless_split(batch_seed, 2)
        )
        if layers:
            with _stateless_seeds(layers, layer_seed):
                for layer in layers:
                    images = layer(images, training=True)
            images = tf.cast(images, tf.float32)
            images.set_shape(image_spec.shape)
        if to_one_hot:
            labels = tf.one_hot(tf.cast(labels, tf.int32), num_classes)
        elif labels_one_hot:
            labels = tf.cast(labels, tf.float32)
        if mixers:
            images, labels = _mix_batch(images, labels, mix_seed, mixers)
        return images, labels

    if epoch is None or seed is None:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    else:
        from kerasvision.data.epochs import epoch_seed, per_epoch

        seeds = per_epoch(
            lambda value: tf.data.Dataset.random(seed=epoch_seed(seed, value)),
            epoch,
            tf.data.INFINITE_CARDINALITY,
        )
    seeds = seeds.batch(2)
    augmented = tf.data.Dataset.zip((dataset, seeds)).map(
        transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return augmented.prefetch(tf.data.AUTOTUNE), labels_one_hot or to_one_hot


# === Preview ===


def _tile_title(label, class_names) -> str:
    label = np.asarray(label, dtype=np.float64)
    order = np.argsort(-label, kind="stable")
    if label[order[0]] >= 0.995:
        return str(class_names[order[0]])
    parts = [f"{label[i]:.2f} {class_names[i]}" for i in order[:3] if label[i] >= 0.005]
    return " + ".join(parts)


def preview_augmentation(
    images,
    labels,
    spec,
    path,
    *,
    class_names,
    count: int = 8,
    rows: int = 3,
    seed: int = 0,
):
    """Write a PNG grid: originals on the first row, augmented versions below.

    The augmented rows come from `apply_augmentation` on the `count` images as one
    batch (so CutMix/MixUp partners are among them); each tile's title is its
    label, e.g. "0.62 cat + 0.38 dog" for a mixed one.

    Args:
        images: `[N, H, W, C]` (or `[N, H, W]`) images, 0-255 values.
        labels: Int labels `[N]` or one-hot/soft `[N, K]`.
        spec: Anything `parse_augment_spec` accepts.
        path: Output PNG path (written atomically; folders created).
        class_names: Class names in label order.
        count: Number of images (columns). Defaults to 8.
        rows: Number of augmented rows. Defaults to 3.
        seed: Augmentation seed. Defaults to 0.

    Returns:
        The path written.

    Raises:
        ValueError: On an invalid or empty spec, or inconsistent images/labels.

    Example:
        >>> x, y = next(iter(data.dataset("train", batch_size=8)))
        >>> preview_augmentation(x, y, "flip,cutmix", "preview.png",
        ...                      class_names=data.class_names)
    """
    import tensorflow as tf
    from matplotlib.figure import Figure

    from kerasvision.visualization.plots import save_figure

    steps = parse_augment_spec(spec)
    if not steps:
        raise ValueError("nothing to preview: the augmentation spec is empty")
    for name, value in (("count", count), ("rows", rows)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be [N, H, W, C] with N >= 1, got {images.shape}")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    class_names = [str(c) for c in class_names]
    images, labels = images[:count], labels[:count]
    if labels.ndim == 1:
        labels = labels.astype(np.int64)
        one_hot = np.eye(len(class_names), dtype=np.float32)[labels]
    else:
        one_hot = labels.astype(np.float32)
    source = tf.data.Dataset.from_tensors((images, labels)).repeat(rows)
    augmented, _ = apply_augmentation(
        source, steps, num_classes=len(class_names), seed=seed, one_hot=True
    )
    batches = [(np.asarray(x), np.asarray(y)) for x, y in augmented]

    columns = len(images)
    # A bare Figure renders with Agg and leaves pyplot's global state alone.
    figure = Figure(figsize=(1.9 * columns, 2.0 * (rows + 1)))
    axes = figure.subplots(rows + 1, columns, squeeze=False)
    grid = [(images, one_hot)] + batches
    for row, (row_images, row_labels) in enumerate(grid):
        for column in range(columns):
            axis = axes[row][column]
            tile = np.clip(np.round(row_images[column]), 0, 255).astype(np.uint8)
            if tile.shape[-1] == 1:
                axis.imshow(tile[..., 0], cmap="gray", vmin=0, vmax=255)
            else:
                axis.imshow(tile[..., :4])
            axis.set_title(_tile_title(row_labels[column], class_names), fontsize=7)
            axis.set_xticks([])
            axis.set_yticks([])
        axes[row][0].set_ylabel("original" if row == 0 else f"augmented {row}")
    figure.suptitle(format_augment_spec(steps), fontsize=8)
    figure.tight_layout()
    return save_figure(figure, os.fspath(path))


def preview_dataset(
    data=None,
    spec="flip,rotate=0.1,zoom=0.2,cutmix,mixup",
    path="augmentation.png",
    *,
    dataset: str | None = None,
    image_size=None,
    count: int = 8,
    seed: int = 0,
) -> str:
    """`preview_augmentation` on `count` training images of a folder or dataset.

    Args:
        data: Folder-per-class directory, `(x, y)` arrays or an `ImageData`.
            Defaults to None (a built-in dataset).
        spec: Augmentation spec. Defaults to "flip,rotate=0.1,zoom=0.2,cutmix,mixup".
        path: Output PNG. Defaults to "augmentation.png".
        dataset: Built-in dataset name when `data` is None. Defaults to None.
        image_size: N or (height, width). Defaults to None.
        count: Images shown per row. Defaults to 8.
        seed: Seed of the sample and of the augmentation. Defaults to 0.

    Returns:
        The path written.
    """
    from kerasvision.data import load_data

    parse_augment_spec(spec)
    image_data = load_data(data, dataset=dataset, image_size=image_size, seed=seed)
    images, labels = next(
        iter(image_data.dataset("train", batch_size=count, seed=seed, cache="none"))
    )
    return preview_augmentation(
        np.asarray(images),
        np.asarray(labels),
        spec,
        path,
        class_names=image_data.class_names,
        count=min(count, len(images)),
        seed=seed,
    )
