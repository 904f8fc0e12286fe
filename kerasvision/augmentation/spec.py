"""The augmentation registry and its mini-syntax: `AUGMENTATIONS`, parse, format.

Plain data and text only (no Keras import), so validating a configuration stays
cheap. The layers live in `kerasvision.layers.augment` (and `keras.layers`), the
tf.data pipeline in `kerasvision.augmentation.pipeline`.

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
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

__all__ = [
    "AUGMENTATIONS",
    "VALUE_RANGE",
    "AugmentSpec",
    "AugmentStep",
    "Param",
    "format_augment_spec",
    "parse_augment_spec",
]

#: Pixel values the augmentation works on: raw floats, as `ImageData.dataset`
#: yields them.
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
        layer: Class name of the layer: in `keras.layers`, or in
            `kerasvision.layers.augment` for the kerasvision layers. None for the
            batch mixers (`kerasvision.augmentation.mixers`).
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
        "PixelGaussianNoise",
        (Param("stddev", 10.0, minimum=0.0, maximum=255.0),),
        "image",
        "add Gaussian noise with this standard deviation in pixel units (0-255)",
        fixed=_RANGE,
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
