"""`FitConfig`: every option of `fit`, validated once; what `run.json` records.

A config is a frozen dataclass made of the sections of
`kerasvision.config.sections`, where each option is declared once.
Constructing one normalizes and checks every option (one `ValueError` naming
the option; `kerasvision.config.validation`). `resolved()` fills the defaults
that depend on the task and the recipe (`TASKS`, `RECIPES`), `to_json()` is
the `"arguments"` record of `run.json` and `from_json()` reads it back (from
every earlier `config_version` too), so `kerasvision rerun RUN` trains the
same run again.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from kerasvision.config.options import declared_options, field_default
from kerasvision.config.parsing import parse_channels, parse_class_weight
from kerasvision.config.recipes import (
    PREVIOUS_SCRATCH_ARCHITECTURE,
    Recipe,
    select_recipe,
)
from kerasvision.config.sections import (
    AutoencoderOptions,
    DataOptions,
    ModelOptions,
    TrainingOptions,
    TransferOptions,
)
from kerasvision.config.tasks import TASKS, get_task, tasks_of
from kerasvision.config.validation import validate

__all__ = ["CONFIG_VERSION", "FitConfig"]

#: `run.json` "arguments" carry this; a record without it is kerasvision 0.1's.
CONFIG_VERSION = 4


@dataclass(frozen=True)
class FitConfig(
    TrainingOptions, AutoencoderOptions, TransferOptions, ModelOptions, DataOptions
):
    """Every option of `kerasvision.fit`, by section (`kerasvision.config.sections`).

    Each field is declared once, in its section, with its help text, the tasks
    and recipes it applies to and its command-line parser. Fields left at None
    take the task's and the recipe's defaults (`TASKS`, `RECIPES`) in
    `resolved()`. Constructing a config validates it.

    Example:
        >>> config = FitConfig(dataset="digits", epochs=5, seed=0)
        >>> config.resolved().model
        'bipyramidal_cnn'
    """

    def __post_init__(self):
        for name, value in _normalize(self).items():
            object.__setattr__(self, name, value)
        validate(self)

    # --- construction ---

    @classmethod
    def from_options(cls, **options) -> FitConfig:
        """A config from keyword options; an unknown name is a `ValueError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise ValueError(
                f"unknown fit option(s) {', '.join(unknown)}; see "
                f"kerasvision.FitConfig for the options"
            )
        return cls(**options)

    def replace(self, **changes) -> FitConfig:
        """A copy with `changes` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def resolved(self, train_images: int | None = None, input_shape=None) -> FitConfig:
        """The config with the task's and the recipe's defaults filled in
        (`TASKS`, `RECIPES`).

        Args:
            train_images: The size of the training split. The default epochs
                of a recipe with an `epoch_cap`, and the default rate of one
                with `lr_steps`, depend on it, so without it they stay None
                (to be resolved once the data is loaded). Defaults to None.
            input_shape: The model's input shape. The default model's
                arguments of a recipe with `architectures` depend on it, so
                without it `model_kwargs` stays as given. Defaults to None.
        """
        recipe = self.recipe_entry
        defaults = {**get_task(self.task).defaults, **recipe.defaults}
        cap = recipe.epoch_cap
        if cap is not None and self.epochs is None:
            if train_images is None:
                defaults.pop("epochs", None)
            else:
                most = cap["images"] // max(1, int(train_images))
                defaults["epochs"] = max(
                    cap["min_epochs"], min(defaults["epochs"], most)
                )
        if recipe.lr_steps and self.lr is None:
            if train_images is None:
                defaults.pop("lr", None)
            else:
                defaults["lr"] = recipe.default_lr(
                    defaults["lr"], self.first_phase_steps(train_images)
                )
        changes = {
            name: value
            for name, value in defaults.items()
            if getattr(self, name) is None
        }
        if self.backbone is not None:
            changes.pop("model", None)
        if self.lr is not None:  # a given rate: fine-tuning at a tenth of it
            changes.pop("fine_tune_lr", None)
        model = changes.get("model", self.model)
        if input_shape is not None and model == defaults.get("model"):
            kwargs = recipe.architecture(input_shape, dict(self.model_kwargs or {}))
            if _as_lists(kwargs) != _as_lists(dict(self.model_kwargs or {})):
                changes["model_kwargs"] = kwargs
        return self.replace(**changes) if changes else self

    def first_phase_steps(self, train_images: int) -> int:
        """Optimizer steps of the recipe's first phase on `train_images`
        training images (its epochs and batch size as given, else defaults)."""
        recipe = self.recipe_entry
        defaults = {**get_task(self.task).defaults, **recipe.defaults}
        phase = recipe.phases[0]
        epochs = getattr(self, phase.epochs) or defaults[phase.epochs]
        batch = (self.batch_size or defaults["batch_size"]) * (self.accumulate or 1)
        return int(epochs) * -(-int(train_images) // int(batch))

    def with_seed(self) -> FitConfig:
        """This config, with a freshly drawn seed when it has none."""
        if self.seed is not None:
            return self
        import numpy as np

        seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
        return self.replace(seed=seed)

    def given(self) -> list[str]:
        """Names of the options that differ from their defaults."""
        return [
            item.name
            for item in dataclasses.fields(self)
            if getattr(self, item.name) != field_default(item)
        ]

    def applicable(self) -> list[str]:
        """Names of the options that mean something for this config's task and
        recipe (as each declares), e.g. for a report's arguments table."""
        recipe, task = self.recipe, self.task
        return [
            item.name
            for item, option in declared_options(type(self))
            if task in tasks_of(option.tasks)
            and (option.recipes is None or recipe in option.recipes)
        ]

    # --- what the options select ---

    @property
    def family(self) -> str:
        """The task family: "classifier" or "autoencoder"."""
        return TASKS[self.task].family

    @property
    def is_transfer(self) -> bool:
        return self.backbone is not None

    @property
    def recipe_entry(self) -> Recipe:
        """The `RECIPES` entry the task, `backbone` and `mode` select."""
        return select_recipe(self.family, self.backbone, self.mode)

    @property
    def recipe(self) -> str:
        """The recipe's name: scratch, feature-extraction, fine-tune or
        autoencoder."""
        return self.recipe_entry.name

    @property
    def model_label(self) -> str:
        """What run names and records call the model."""
        if self.family != "classifier":
            return self.task
        return "transfer" if self.is_transfer else (self.model or "bipyramidal_cnn")

    # --- run.json ---

    def to_json(self) -> dict:
        """The JSON-able record of `run.json` ("arguments")."""
        record = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, tuple):
                value = list(value)
            elif hasattr(value, "to_json"):  # an in-memory label table
                value = value.to_json()
            record[item.name] = value
        record["model"] = self.model_label if self.family == "classifier" else None
        record["config_version"] = CONFIG_VERSION
        return record

    @classmethod
    def from_json(cls, record: dict) -> FitConfig:
        """Read `run.json`'s "arguments" back, from every `config_version`
        (a record without one is kerasvision 0.1's)."""
        names = {f.name for f in dataclasses.fields(cls)}
        options = {k: v for k, v in record.items() if k in names}
        task = TASKS.get(options.get("task") or "classification")
        if task is not None and task.family != "classifier":
            # What an autoencoder record holds of them are old defaults.
            declared = {item.name: option for item, option in declared_options(cls)}
            options = {
                k: v for k, v in options.items() if declared[k].tasks != "classifier"
            }
        else:
            options.setdefault("calibrate", False)  # recorded before calibration
        if options.get("model") == "transfer":
            options["model"] = None
        options.setdefault("epoch_seeds", False)  # recorded before epoch seeds
        version = record.get("config_version", 1)
        if version < 2:
            options["model_kwargs"] = _upgrade_model_kwargs(
                dict(options.get("model_kwargs") or {}), options
            )
        if version < 3:  # before schedules and recipe defaults
            options.update(schedule="constant", lr_warmup=0.0)
            fine_tune = options.get("backbone") and options.get("mode") == "fine-tune"
            if fine_tune:
                options["lr_mult"] = 1.0
                options.setdefault("unfreeze", "all")
                if options.get("warmup_epochs") is None:
                    options["warmup_epochs"] = 1
            elif options.get("unfreeze") == "all":  # was the default everywhere
                del options["unfreeze"]
        if version < 4:  # before SCRATCH_ARCHITECTURES: the builder's defaults
            options["model_kwargs"] = _previous_scratch_kwargs(options)
        return cls(**options)


def _upgrade_model_kwargs(kwargs: dict, options: dict) -> dict:
    """kerasvision 0.1's scratch-CNN vocabulary -> Keras's (see `build_*`).

    0.1 called block pooling `pooling` and the head `head="gap"|"gmp"`; now
    blocks take `block_pooling` and the head `pooling="avg"|"max"|"flatten"`.
    """
    scratch = options.get("backbone") is None and (
        options.get("task") in (None, "classification")
    )
    if not scratch:
        return kwargs
    if "pooling" in kwargs and "block_pooling" not in kwargs:
        kwargs["block_pooling"] = kwargs.pop("pooling")
    if "head" in kwargs:
        head = kwargs.pop("head")
        kwargs["pooling"] = {"gap": "avg", "gmp": "max"}.get(head, head)
    return kwargs


def _previous_scratch_kwargs(options: dict) -> dict:
    """A scratch record's `model_kwargs` from before the recipe chose the
    default model's arguments by input size, pinned to what it was built with."""
    kwargs = dict(options.get("model_kwargs") or {})
    task = TASKS.get(options.get("task") or "classification")
    model = options.get("model") or (task.defaults.get("model") if task else None)
    scratch = options.get("backbone") is None and task is not None
    if not (scratch and task.family == "classifier" and model == "bipyramidal_cnn"):
        return kwargs
    pinned = {**PREVIOUS_SCRATCH_ARCHITECTURE, **kwargs}
    if "norm" not in kwargs and "batch_norm" not in kwargs:
        pinned["norm"] = "none"
    return pinned


def _as_lists(value):
    """Tuples (also nested in dicts and lists) as lists, as JSON reads them back."""
    if isinstance(value, dict):
        return {key: _as_lists(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_as_lists(item) for item in value]
    return value


def _label_sets(config) -> bool:
    """Whether the data is multi-label: a `--label-delim`, or a built-in
    multi-label dataset."""
    if isinstance(config.label_delim, str) and config.label_delim:
        return True
    from kerasvision.data.datasets import DATASETS

    spec = DATASETS.get(config.dataset) if isinstance(config.dataset, str) else None
    return spec is not None and spec.multi_label


def _normalize(config: FitConfig) -> dict:
    """Canonical forms: paths as str, sizes as lists, "none" weights as None."""
    changes = {}
    for name in ("data", "backbone", "val_dir", "test_dir"):
        value = getattr(config, name)
        if isinstance(value, os.PathLike):
            changes[name] = os.fspath(value)
    weights = config.weights
    if isinstance(weights, os.PathLike):
        weights = os.fspath(weights)
    if isinstance(weights, str) and weights.lower() == "none":
        weights = None
    changes["weights"] = weights
    if isinstance(config.image_size, tuple | list):
        changes["image_size"] = [int(v) for v in config.image_size]
    changes["channels"] = parse_channels(config.channels)
    changes["model_kwargs"] = _as_lists(dict(config.model_kwargs or {}))
    changes["class_weight"] = parse_class_weight(config.class_weight)
    if config.task == "classification" and _label_sets(config):
        changes["task"] = "multilabel"  # said in `fit`'s first lines
    if config.classes is not None:
        from kerasvision.data.datasets import parse_classes

        changes["classes"] = parse_classes(config.classes)
    if config.noise is not None:
        changes["noise"] = str(config.noise)
    if config.labels is not None:
        from kerasvision.data.table import as_label_table

        changes["labels"] = as_label_table(config.labels)
    return changes
