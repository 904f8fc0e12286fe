"""Learning-rate schedules and layer-wise learning rates, as registered Keras objects.

`WarmupSchedule` describes every `--schedule`: a linear warm-up, then cosine,
one-cycle, step or constant (what `run.json` records); `learning_rates` is its
curve in NumPy (for plots, tests and lr-find). `keras_schedule` is what the
optimizer gets: Keras's own `CosineDecay` (with its warm-up) for the default
cosine curve and a plain number for a constant one, so the checkpoints of a
default run load without kerasvision; one-cycle and step stay a
`WarmupSchedule`. `layerwise_optimizer` gives the
earlier layers of a backbone a lower learning rate than the later ones
(discriminative fine-tuning). Both are registered, so a checkpoint with them
reloads (`kerasvision.saving.load_model`) and a resumed run continues the curve.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from kerasvision._choices import OPTIMIZERS, SCHEDULES
from kerasvision._keras_internals import optimizer_variable_index

__all__ = [
    "LayerwiseLearningRates",
    "WarmupSchedule",
    "layer_multipliers",
    "keras_schedule",
    "layerwise_optimizer",
    "learning_rates",
]

#: One-cycle (fastai / PyTorch OneCycleLR): ramp over the first 30% of the steps
#: from peak/25, then anneal to peak/25e4; cosine-shaped both ways.
ONE_CYCLE = {"ramp": 0.3, "start_divisor": 25.0, "final_divisor": 25e4}
#: Step decay: x0.1 at one third and at two thirds of the post-warm-up steps.
STEP_DECAY = {"factor": 0.1, "drops": 3}


@keras.saving.register_keras_serializable(package="kerasvision")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A linear warm-up to `peak_lr`, then the `kind` curve until `total_steps`.

    Args:
        kind: "cosine" (to 0), "onecycle", "step" or "constant".
        peak_lr: The learning rate at the end of the warm-up.
        total_steps: Optimizer steps the curve spans (one training phase).
        warmup_steps: Linear warm-up steps (one-cycle has its own ramp and
            ignores it). Defaults to 0.

    Example:
        >>> schedule = WarmupSchedule("cosine", 1e-3, total_steps=100, warmup_steps=5)
        >>> float(schedule(0)) < float(schedule(5))
        True
    """

    def __init__(self, kind, peak_lr, total_steps, warmup_steps=0, name=None):
        super().__init__()
        if kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")
        if not peak_lr > 0 or not math.isfinite(peak_lr):
            raise ValueError(f"learning rate must be > 0, got {peak_lr}")
        self.kind = kind
        self.peak_lr = float(peak_lr)
        self.total_steps = max(1, int(total_steps))
        self.warmup_steps = max(0, min(int(warmup_steps), self.total_steps - 1))
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        return _curve(
            ops, self.kind, self.peak_lr, self.total_steps, self.warmup_steps, step
        )

    def get_config(self):
        return {
            "kind": self.kind,
            "peak_lr": self.peak_lr,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "name": self.name,
        }

    def to_json(self) -> dict:
        """What `run.json` records of the schedule."""
        return {k: v for k, v in self.get_config().items() if k != "name"}


def keras_schedule(schedule: WarmupSchedule):
    """The optimizer's learning rate for `schedule`: the same curve, with
    Keras's built-ins where they draw it (`CosineDecay` with a linear warm-up
    from peak / (warmup + 1), a float for a constant rate without warm-up)."""
    kind, peak, total = schedule.kind, schedule.peak_lr, schedule.total_steps
    warmup = schedule.warmup_steps
    if kind == "constant" and not warmup:
        return peak
    if kind != "cosine":
        return schedule
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / (warmup + 1) if warmup else peak,
        decay_steps=max(1, total - warmup),
        alpha=0.0,
        warmup_target=peak if warmup else None,
        warmup_steps=warmup,
    )


def learning_rates(schedule: WarmupSchedule, steps=None) -> np.ndarray:
    """The schedule's learning rate at steps `0..total_steps-1` (or `steps`)."""
    steps = np.arange(schedule.total_steps) if steps is None else np.asarray(steps)
    return _curve(
        _NumpyOps,
        schedule.kind,
        schedule.peak_lr,
        schedule.total_steps,
        schedule.warmup_steps,
        steps.astype("float64"),
    )


class _NumpyOps:
    """The few `keras.ops` the curve uses, in NumPy."""

    cos, floor, minimum, maximum, where, power = (
        np.cos,
        np.floor,
        np.minimum,
        np.maximum,
        np.where,
        np.power,
    )

    @staticmethod
    def cast(x, dtype):
        return np.asarray(x, dtype=dtype)


def _curve(xp, kind, peak, total, warmup, step):
    """One formula for Keras and NumPy (`xp` is `keras.ops` or `_NumpyOps`)."""
    if kind == "onecycle":
        ramp = max(1.0, ONE_CYCLE["ramp"] * total)
        start = peak / ONE_CYCLE["start_divisor"]
        final = peak / ONE_CYCLE["final_divisor"]
        up = xp.minimum(step / ramp, 1.0)
        down = xp.minimum(xp.maximum((step - ramp) / max(1.0, total - ramp), 0.0), 1.0)
        rising = start + (peak - start) * 0.5 * (1.0 - xp.cos(math.pi * up))
        falling = final + (peak - final) * 0.5 * (1.0 + xp.cos(math.pi * down))
        return xp.where(step < ramp, rising, falling)
    progress = xp.minimum(
        xp.maximum((step - warmup) / max(1.0, total - warmup), 0.0), 1.0
    )
    if kind == "cosine":
        after = peak * 0.5 * (1.0 + xp.cos(math.pi * progress))
    elif kind == "step":
        drops = xp.floor(xp.minimum(progress, 0.999999) * STEP_DECAY["drops"])
        after = peak * xp.power(STEP_DECAY["factor"], drops)
    else:
        after = peak + 0.0 * progress
    if not warmup:
        return after
    rising = peak * (step + 1.0) / (warmup + 1.0)
    return xp.where(step < warmup, rising, after)


# === Layer-wise (discriminative) learning rates ===


def layer_multipliers(model, lr_mult: float, *, inner=None) -> dict[str, float]:
    """Learning-rate multipliers per variable path: geometric over the depth.

    The trainable layers of `inner` (the backbone inside `model`; default: the
    whole model) get `lr_mult ** (1 - depth)` with depth 0 at the first
    trainable layer and 1 after the last one, so the earliest layer learns at
    `lr_mult` x the rate and the last backbone layer at nearly the full rate;
    every other variable (the head) at the full rate. This is the "layer decay"
    of timm and BEiT, and fastai's discriminative learning rates made smooth.

    Args:
        model: The classifier.
        lr_mult: Multiplier of the earliest trainable layer, in (0, 1].
        inner: The backbone model inside `model`. Defaults to None (`model`).

    Returns:
        `{variable.path: multiplier}` for the variables scaled below 1.
    """
    if not 0.0 < lr_mult <= 1.0:
        raise ValueError(f"--lr-mult must be in (0, 1], got {lr_mult}")
    groups: list[list] = []
    for variable in (inner or model).trainable_weights:
        owner = variable.path.rsplit("/", 1)[0]
        if not groups or groups[-1][0] != owner:
            groups.append([owner])
        groups[-1].append(variable)
    multipliers = {}
    for index, (_, *variables) in enumerate(groups):
        scale = lr_mult ** (1.0 - index / max(1, len(groups)))
        for variable in variables:
            multipliers[variable.path] = float(scale)
    return multipliers


class LayerwiseLearningRates:
    """Mixin: scale each variable's learning rate by `multipliers[path]`."""

    def __init__(self, *args, multipliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.multipliers = dict(multipliers or {})

    def build(self, variables):
        super().build(variables)
        self._scales = [self.multipliers.get(v.path, 1.0) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        scale = self._scales[optimizer_variable_index(self, variable)]
        if scale != 1.0:
            learning_rate = ops.multiply(learning_rate, scale)
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "multipliers": self.multipliers}


def _layerwise_class(base):
    name = f"Layerwise{base.__name__}"
    cls = type(name, (LayerwiseLearningRates, base), {"__module__": __name__})
    return keras.saving.register_keras_serializable(package="kerasvision")(cls)


#: A layer-wise subclass of each optimizer kerasvision builds.
_LAYERWISE = {
    "adam": _layerwise_class(keras.optimizers.Adam),
    "sgd": _layerwise_class(keras.optimizers.SGD),
    "adamw": _layerwise_class(keras.optimizers.AdamW),
    "rmsprop": _layerwise_class(keras.optimizers.RMSprop),
}
assert set(_LAYERWISE) == set(OPTIMIZERS)


def layerwise_optimizer(name: str, multipliers: dict, **kwargs):
    """The `name` optimizer (see `OPTIMIZERS`) with per-variable multipliers."""
    return _LAYERWISE[name](multipliers=multipliers, **kwargs)
