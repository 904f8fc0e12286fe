"""What `kerasvision tune` searches: the space, and a trial's `FitConfig`.

Plain data and arithmetic over `FitConfig`s; KerasTuner is imported only to
build its `HyperParameters` (`hyperparameters`).
"""

from __future__ import annotations

import dataclasses

__all__ = [
    "DEFAULT_AUGMENT",
    "describe_values",
    "hyperparameters",
    "scaled_augment",
    "search_space",
    "searched_values",
    "trial_config",
]

#: The augmentation whose strength is searched when `--augment` is not given
#: (geometric only: a flip is not label-preserving for every dataset, digits).
DEFAULT_AUGMENT = "translate=0.1,zoom=0.1,rotate=0.05"


def search_space(config, given=()) -> dict[str, dict]:
    """What a search varies for a resolved config: `{name: spec}` (plain data).

    Options in `given` (the ones the user set) stay fixed. Each spec has a
    "kind" ("float": min/max/sampling/step, or "choice": values) and the
    "default" the recipe uses (the defaults trial).

    Args:
        config: A resolved `FitConfig` (classification).
        given: Option names (and `model_kwargs` keys) the user set. Defaults
            to ().

    Returns:
        The searched options, e.g. `{"lr": {"kind": "float", ...}, ...}`.
    """
    from kerasvision._choices import SCHEDULES

    given = set(given)
    space = {}
    if "lr" not in given:
        lr = float(config.lr)
        space["lr"] = _log_range(lr)
    if "schedule" not in given:
        space["schedule"] = {"kind": "choice", "values": list(SCHEDULES),
                             "default": config.schedule}  # fmt: skip
    space["augment"] = {"kind": "float", "min": 0.0, "max": 2.0, "step": 0.5,
                        "default": 1.0 if config.augment else 0.0}  # fmt: skip
    dropout = _default_dropout(config)
    if dropout is not None and "dropout_rate" not in given:
        space["dropout_rate"] = {"kind": "float", "min": 0.0, "max": 0.5,
                                 "step": 0.1, "default": dropout}  # fmt: skip
    if "label_smoothing" not in given:
        smoothing = float(config.label_smoothing or 0.0)
        values = sorted({0.0, 0.05, 0.1, 0.2, smoothing})
        space["label_smoothing"] = {"kind": "choice", "values": values,
                                    "default": smoothing}  # fmt: skip
    if config.recipe == "fine-tune":
        if "unfreeze" not in given:
            values = list(dict.fromkeys(
                ["blocks:1", "blocks:2", "blocks:4", "all", config.unfreeze]
            ))  # fmt: skip
            space["unfreeze"] = {"kind": "choice", "values": values,
                                 "default": config.unfreeze}  # fmt: skip
        if "lr_mult" not in given:
            values = sorted({0.03, 0.1, 0.3, 1.0, float(config.lr_mult)})
            space["lr_mult"] = {"kind": "choice", "values": values,
                                "default": float(config.lr_mult)}  # fmt: skip
        if "fine_tune_lr" not in given:
            space["fine_tune_lr"] = _log_range(float(config.fine_tune_lr))
    return space


def _log_range(value: float) -> dict:
    return {"kind": "float", "min": value / 10, "max": value * 10,
            "sampling": "log", "default": value}  # fmt: skip


def _default_dropout(config) -> float | None:
    """The model's own dropout rate (its builder's default), or None when the
    model takes none."""
    import inspect

    if "dropout_rate" in config.model_kwargs:
        return float(config.model_kwargs["dropout_rate"])
    if config.backbone is not None:
        from kerasvision.models.transfer import build_transfer_classifier as builder

        defaults = {}
    else:
        from kerasvision.models import get_model_spec

        spec = get_model_spec(config.model)
        builder, defaults = spec.resolve_builder(), spec.defaults
    if "dropout_rate" in defaults:
        return float(defaults["dropout_rate"])
    parameter = inspect.signature(builder).parameters.get("dropout_rate")
    if parameter is None or not isinstance(parameter.default, int | float):
        return None
    return float(parameter.default)


def hyperparameters(space: dict):
    """The `keras_tuner.HyperParameters` of a `search_space`."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for name, spec in space.items():
        if spec["kind"] == "choice":
            hp.Choice(name, spec["values"], default=spec["default"])
        else:
            hp.Float(name, spec["min"], spec["max"], step=spec.get("step"),
                     sampling=spec.get("sampling", "linear"),
                     default=spec["default"])  # fmt: skip
    return hp


def scaled_augment(spec: str | None, strength: float) -> str | None:
    """The augmentation `spec` with each step's main magnitude scaled by
    `strength` (capped at its maximum; flips and the batch mixers unchanged);
    None for strength 0.

    Example:
        >>> scaled_augment("rotate=0.1,zoom=0.2", 0.5)
        'rotate=0.05,zoom=0.1'
    """
    from kerasvision.augmentation.spec import format_augment_spec, parse_augment_spec

    if not strength or strength <= 0:
        return None
    steps = []
    for step in parse_augment_spec(spec or DEFAULT_AUGMENT):
        param = step.spec.params[0]
        values = list(step.values)
        if param.kind == "float" and not step.is_mixer:
            values[0] = round(min(param.maximum, values[0] * float(strength)), 6)
        steps.append(dataclasses.replace(step, values=tuple(values)))
    return format_augment_spec(",".join(str(step) for step in steps))


def trial_config(config, values: dict, epochs: int):
    """The `FitConfig` of one trial: the resolved `config` with the searched
    `values` (see `search_space`) and `epochs` (of the last phase)."""
    changes = {"epochs": int(epochs)}
    for name in ("lr", "schedule", "label_smoothing", "unfreeze", "lr_mult",
                 "fine_tune_lr"):  # fmt: skip
        if name in values:
            changes[name] = values[name]
    if "augment" in values:
        changes["augment"] = scaled_augment(config.augment, values["augment"])
    if "dropout_rate" in values:
        dropout = float(values["dropout_rate"])
        changes["model_kwargs"] = {**config.model_kwargs, "dropout_rate": dropout}
    return config.replace(**changes)


def searched_values(values: dict) -> dict:
    """A KerasTuner trial's values without its own `tuner/...` entries, floats
    cut to 12 significant digits (a stepped 0.1 * 3 is 0.3)."""
    return {
        name: float(f"{value:.12g}") if isinstance(value, float) else value
        for name, value in values.items()
        if not name.startswith("tuner/")
    }


def describe_values(values: dict) -> str:
    """One line of searched values, e.g. `lr 0.0021, schedule onecycle`."""
    parts = []
    for name, value in values.items():
        shown = f"{value:.3g}" if isinstance(value, float) else str(value)
        parts.append(f"{name.replace('_', ' ')} {shown}")
    return ", ".join(parts) or "(nothing searched)"
