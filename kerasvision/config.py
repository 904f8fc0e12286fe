"""`FitConfig`: every option of `fit`, validated once; what `run.json` records.

A config is a frozen dataclass. Constructing one normalizes and checks every
option (one `ValueError` naming the option), including options that mean nothing
for the chosen task or without a backbone. `resolved()` fills the defaults that
depend on the task from `TASK_DEFAULTS` (plain data), `to_json()` is the
`"arguments"` record of `run.json` and `from_json()` reads it back (also from
runs written by kerasvision 0.1), so `kerasvision rerun RUN` trains the same run
again.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

from kerasvision._choices import (
    AUTOENCODER_TASKS,
    BN_POLICIES,
    CACHE_MODES,
    DISTRIBUTE_MODES,
    FEATURE_CACHE_MODES,
    OPTIMIZERS,
    PRECISIONS,
    RESIZE_MODES,
    SCHEDULES,
    TASKS,
    TRANSFER_MODES,
)

__all__ = [
    "CLASSIFIER_ONLY",
    "MAX_BATCH_SIZE",
    "MAX_IMAGE_SIDE",
    "RECIPE_DEFAULTS",
    "EPOCH_CAPS",
    "TASK_DEFAULTS",
    "TRANSFER_ONLY",
    "FitConfig",
    "parse_class_weight",
]

#: Defaults that depend on the task (None in the dataclass = "from this table").
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "classification": {"epochs": 15, "model": "bipyramidal_cnn"},
    "autoencoder": {"epochs": 10},
    "denoising": {"epochs": 10, "noise": "gaussian=0.3"},
    "sparse": {"epochs": 10},
    "vae": {"epochs": 10, "latent_dim": 2},
    "segmentation": {"epochs": 10},
}

#: Training defaults per recipe (None in the dataclass = "from this table"),
#: chosen by measurement (`benchmarks/recipes.py`, figures in its README):
#: `schedule` is each phase's learning-rate curve after a linear warm-up over
#: the `lr_warmup` fraction of its steps; `lr_mult` the learning rate of the
#: earliest fine-tuned backbone layer relative to the head (geometric in between).
RECIPE_DEFAULTS: dict[str, dict[str, Any]] = {
    # Scratch CNNs overfit small sets: label smoothing (label-agnostic, unlike
    # flips for digits) took digits from 0.966 to 0.994 (seed 0).
    "scratch": {
        "lr": 1e-3,
        "schedule": "cosine",
        "lr_warmup": 0.05,
        "label_smoothing": 0.1,
    },
    # A frozen backbone's head (one dense layer on cached features) reaches the
    # linear probe's optimum in 15 epochs at 1e-2, not at 1e-3 (flowers5 pair).
    "feature-extraction": {"lr": 1e-2, "schedule": "cosine", "lr_warmup": 0.05},
    # Fine-tuning: a full feature-extraction warm-up of the head (on cached
    # features: cheap), then the top two blocks with layer-wise rates, trained
    # on cached activations of the frozen part (about 13 s per epoch instead of
    # about 100 on flowers5's 2,900 training images at 224 px, 2 cores), so 10
    # epochs: 0.916 vs 0.899 after 3 on row b of benchmarks/recipes.py (4
    # blocks for 10 epochs: 0.914, slower).
    "fine-tune": {
        "lr": 1e-2,
        "fine_tune_lr": 1e-4,
        "schedule": "cosine",
        "lr_warmup": 0.05,
        "lr_mult": 0.1,
        "warmup_epochs": 10,
        "epochs": 10,
        "unfreeze": "blocks:2",
    },
    # Autoencoders keep a constant rate (what their figures were measured with).
    "autoencoder": {"lr": 1e-3, "schedule": "constant", "lr_warmup": 0.0},
}

#: A recipe's default epochs shrink on a large training set: to the most whole
#: epochs that show at most `images` training images, never fewer than
#: `min_epochs` (a given --epochs is kept as is). The scratch CNN takes about
#: 130-160 s per epoch over 48,000 28x28 images on 2 cores, so 15 epochs of a
#: 60,000-image set would take over 35 minutes; 3 take about 8 (row e of
#: benchmarks/recipes.py). Digits (1,437 training images) and flowers5 at 64 px
#: (2,935) keep all 15.
EPOCH_CAPS: dict[str, dict[str, int]] = {
    "scratch": {"images": 150_000, "min_epochs": 3},
}

#: Options that only mean something with a backbone (transfer learning).
TRANSFER_ONLY = (
    "mode",
    "weights",
    "unfreeze",
    "warmup_epochs",
    "fine_tune_lr",
    "lr_mult",
    "bn",
    "feature_cache",
)
#: Options that only a classifier takes (an autoencoder task refuses them).
CLASSIFIER_ONLY = (
    "model",
    "backbone",
    *TRANSFER_ONLY,
    "augment",
    "label_smoothing",
    "class_weight",
    "weight_decay",
    "kernel_initializer",
    "early_stopping",
    "ema",
    "time_budget",
    "calibrate",
    "optimizer",
    "resize",
    "classes",
    "cache",
    "tensorboard",
    "precision",
    "jit_compile",
    "distribute",
)
#: Options of the autoencoder tasks only.
AUTOENCODER_ONLY = ("latent_dim", "noise")

#: Largest image side accepted (a 4096x4096x3 float32 batch of 32 is 6 GiB).
MAX_IMAGE_SIDE = 4096
MAX_BATCH_SIZE = 65536


def _option(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def parse_class_weight(value):
    """ "balanced", "1,2.5,1" (per class, in label order), a list or a dict."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str):
        if value.strip() == "balanced":
            return "balanced"
        try:
            return [float(v) for v in value.split(",")]
        except ValueError:
            raise ValueError(
                f"--class-weight must be 'balanced' or comma-separated numbers, got "
                f"{value!r}"
            ) from None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(
            f"class_weight must be 'balanced', numbers or a dict, got {value!r}"
        ) from None


def _positive_int(name, value, *, maximum=None, allow_none=False, minimum=1):
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(
            f"{name} must be an integer >= {minimum}, got {value!r}"
            if minimum != 1
            else f"{name} must be a positive integer, got {value!r}"
        )
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def _positive_float(name, value, *, allow_none=False, allow_zero=False):
    if value is None and allow_none:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    low_ok = number >= 0 if allow_zero else number > 0
    if not math.isfinite(number) or not low_ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


@dataclass(frozen=True)
class FitConfig:
    """Every option of `kerasvision.fit`; see `fit` for what each one does.

    Fields left at None take the task's default from `TASK_DEFAULTS` in
    `resolved()`. Constructing a config validates it.

    Example:
        >>> config = FitConfig(dataset="digits", epochs=5, seed=0)
        >>> config.resolved().model
        'bipyramidal_cnn'
    """

    # === Data ===
    data: str | None = None
    dataset: str | None = None
    image_size: Any = None
    channels: int | None = None
    classes: list | None = None
    resize: str = "stretch"
    val_split: float = 0.1
    test_split: float = 0.1
    group_by: str | None = None
    cache: str = "auto"
    # === Task and model ===
    task: str = "classification"
    model: str | None = None
    model_kwargs: dict = field(default_factory=dict)
    backbone: str | None = None
    mode: str = "feature-extraction"
    weights: str | None = "imagenet"
    unfreeze: str | None = None
    warmup_epochs: int | None = None
    fine_tune_lr: float | None = None
    lr_mult: float | None = None
    bn: str = "frozen"
    feature_cache: str = "auto"
    kernel_initializer: str | None = None
    latent_dim: int | None = None
    noise: str | None = None
    # === Training ===
    epochs: int | None = None
    batch_size: int = 32
    optimizer: str = "adam"
    lr: Any = None
    schedule: str | None = None
    lr_warmup: float | None = None
    ema: float | None = None
    time_budget: float | None = None
    weight_decay: float | None = None
    label_smoothing: float | None = None
    class_weight: Any = None
    augment: str | None = None
    early_stopping: int | None = None
    calibrate: bool = True
    seed: int | None = None
    precision: str = "float32"
    jit_compile: bool | None = None
    distribute: str = "none"
    tensorboard: bool = False
    # Runs recorded before it trained with per-run streams: reruns keep those.
    epoch_seeds: bool = True

    def __post_init__(self):
        normalized = _normalize(self)
        for name, value in normalized.items():
            object.__setattr__(self, name, value)
        _validate(self)

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

    def resolved(self, train_images: int | None = None) -> FitConfig:
        """The config with the task's and the recipe's defaults filled in
        (`TASK_DEFAULTS`, `RECIPE_DEFAULTS`).

        Args:
            train_images: The size of the training split. The default epochs
                of a recipe in `EPOCH_CAPS` depend on it, so without it they
                stay None (to be resolved once the data is loaded). Defaults
                to None.
        """
        defaults = {**TASK_DEFAULTS[self.task], **RECIPE_DEFAULTS[self.recipe]}
        cap = EPOCH_CAPS.get(self.recipe) if self.task == "classification" else None
        if cap is not None and self.epochs is None:
            if train_images is None:
                defaults.pop("epochs", None)
            else:
                most = cap["images"] // max(1, int(train_images))
                defaults["epochs"] = max(
                    cap["min_epochs"], min(defaults["epochs"], most)
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
        return self.replace(**changes) if changes else self

    def with_seed(self) -> FitConfig:
        """This config, with a freshly drawn seed when it has none."""
        if self.seed is not None:
            return self
        import numpy as np

        seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
        return self.replace(seed=seed)

    def given(self) -> list[str]:
        """Names of the options that differ from their defaults."""
        given = []
        for item in dataclasses.fields(self):
            default_value = (
                item.default_factory()
                if item.default_factory is not dataclasses.MISSING
                else item.default
            )
            if getattr(self, item.name) != default_value:
                given.append(item.name)
        return given

    @property
    def is_transfer(self) -> bool:
        return self.backbone is not None

    @property
    def recipe(self) -> str:
        """The `RECIPE_DEFAULTS` row: scratch, feature-extraction, fine-tune or
        autoencoder."""
        if self.task != "classification":
            return "autoencoder"
        return self.mode if self.is_transfer else "scratch"

    @property
    def model_label(self) -> str:
        """What run names and records call the model."""
        if self.task != "classification":
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
            record[item.name] = value
        record["model"] = self.model_label if self.task == "classification" else None
        record["config_version"] = CONFIG_VERSION
        return record

    @classmethod
    def from_json(cls, record: dict) -> FitConfig:
        """Read `run.json`'s "arguments" back (also those of kerasvision 0.1)."""
        names = {f.name for f in dataclasses.fields(cls)}
        options = {k: v for k, v in record.items() if k in names}
        if options.get("task") not in (None, "classification"):
            # What an autoencoder record holds of them are old defaults.
            options = {k: v for k, v in options.items() if k not in CLASSIFIER_ONLY}
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
        return cls(**options)


#: `run.json` "arguments" carry this; a record without it is kerasvision 0.1's.
CONFIG_VERSION = 3


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


def _as_lists(value):
    """Tuples (also nested in dicts and lists) as lists, as JSON reads them back."""
    if isinstance(value, dict):
        return {key: _as_lists(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_as_lists(item) for item in value]
    return value


def _normalize(config: FitConfig) -> dict:
    """Canonical forms: paths as str, sizes as lists, "none" weights as None."""
    changes = {}
    for name in ("data", "backbone"):
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
    if isinstance(config.channels, str) and config.channels.isdigit():
        changes["channels"] = int(config.channels)
    changes["model_kwargs"] = _as_lists(dict(config.model_kwargs or {}))
    changes["class_weight"] = parse_class_weight(config.class_weight)
    if config.classes is not None:
        from kerasvision.data.datasets import parse_classes

        changes["classes"] = parse_classes(config.classes)
    if config.noise is not None:
        changes["noise"] = str(config.noise)
    return changes


def _validate(config: FitConfig) -> None:
    _choice("task", config.task, TASKS)
    _validate_task_options(config)
    _validate_data(config)
    _validate_training(config)
    _check_batch_memory(config)
    if config.task == "classification":
        _validate_classifier(config)
    else:
        _validate_autoencoder(config)


def _validate_task_options(config: FitConfig) -> None:
    given = set(config.given())
    if config.task != "classification":
        wrong = [name for name in CLASSIFIER_ONLY if name in given]
        if wrong:
            raise ValueError(
                f"{', '.join(_option(n) for n in wrong)} only apply to --task "
                f"classification (got --task {config.task})"
            )
    else:
        wrong = [name for name in AUTOENCODER_ONLY if name in given]
        if wrong:
            raise ValueError(
                f"{', '.join(_option(n) for n in wrong)} are for the autoencoder tasks "
                f"(--task {'|'.join(AUTOENCODER_TASKS)})"
            )
        if config.backbone is None:
            wrong = [name for name in TRANSFER_ONLY if name in given]
            if wrong:
                raise ValueError(
                    f"{', '.join(_option(n) for n in wrong)} only apply with "
                    f"--backbone (transfer learning)"
                )
    if config.noise is not None and config.task != "denoising":
        raise ValueError(
            f"--noise is for the denoising task (got --task {config.task}); use "
            f"--task denoising"
        )


def _validate_data(config: FitConfig) -> None:
    if config.data is not None and config.dataset is not None:
        raise ValueError("give either a data directory or --dataset, not both")
    if config.dataset is not None and "test_split" in config.given():
        from kerasvision.data.datasets import DATASETS

        spec = DATASETS.get(config.dataset)
        if spec is not None and spec.official_test:
            raise ValueError(
                f"--test-split does not apply to {config.dataset}: its official "
                f"test split is the test set (validation comes from its training set)"
            )
    if config.image_size is not None:
        from kerasvision.data.images import parse_image_size

        size = parse_image_size(config.image_size)
        if max(size) > MAX_IMAGE_SIDE:
            raise ValueError(
                f"--image-size {size[0]}x{size[1]} is too large: at most "
                f"{MAX_IMAGE_SIDE} pixels per side"
            )
    if config.channels is not None:
        _choice("channels", config.channels, (1, 3, 4))
    _choice("resize", config.resize, RESIZE_MODES)
    _choice("cache", config.cache, CACHE_MODES)
    for name in ("val_split", "test_split"):
        value = getattr(config, name)
        if not isinstance(value, int | float) or not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    if config.val_split + config.test_split >= 1.0:
        raise ValueError(
            f"val_split + test_split must be < 1, got {config.val_split} + "
            f"{config.test_split}"
        )
    if config.group_by is not None:
        import re

        try:
            re.compile(config.group_by)
        except (re.error, TypeError) as error:
            raise ValueError(f"--group-by {config.group_by!r}: {error}") from None


def _available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux), else total RAM."""
    try:
        with open("/proc/meminfo", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def _check_batch_memory(config: FitConfig) -> None:
    """Refuse a batch whose float32 input tensor alone needs over half the memory
    available (the model's activations need several times more)."""
    if config.image_size is None:
        return
    from kerasvision.data.images import parse_image_size

    height, width = parse_image_size(config.image_size)
    need = config.batch_size * height * width * (config.channels or 3) * 4
    available = _available_memory()
    if available is not None and need > available // 2:
        raise ValueError(
            f"--image-size {height}x{width} with --batch-size {config.batch_size} "
            f"needs {need / 2**30:.1f} GiB for one input batch alone, more than half "
            f"the {available / 2**30:.1f} GiB of memory available; lower one of them"
        )


def _validate_training(config: FitConfig) -> None:
    _positive_int("epochs", config.epochs, allow_none=True, maximum=100_000)
    _positive_int("batch_size", config.batch_size, maximum=MAX_BATCH_SIZE)
    if config.lr not in (None, "auto"):
        _positive_float("lr", config.lr)
    elif config.lr == "auto" and config.task != "classification":
        raise ValueError("--lr auto (the learning-rate finder) is for classifiers")
    if config.schedule is not None:
        _choice("schedule", config.schedule, SCHEDULES)
    if config.lr_warmup is not None and not 0.0 <= config.lr_warmup < 1.0:
        raise ValueError(f"--lr-warmup must be in [0, 1), got {config.lr_warmup}")
    if config.ema is not None and not 0.0 < float(config.ema) < 1.0:
        raise ValueError(f"--ema momentum must be in (0, 1), got {config.ema}")
    _positive_float("time_budget", config.time_budget, allow_none=True)
    if config.seed is not None:
        if not isinstance(config.seed, int) or isinstance(config.seed, bool):
            raise ValueError(f"seed must be an integer, got {config.seed!r}")
    _choice("optimizer", config.optimizer, OPTIMIZERS)
    _choice("precision", config.precision, PRECISIONS)
    _choice("distribute", config.distribute, DISTRIBUTE_MODES)
    if not isinstance(config.epoch_seeds, bool):
        raise ValueError(
            f"epoch_seeds must be True or False, got {config.epoch_seeds!r}"
        )
    _positive_int("early_stopping", config.early_stopping, allow_none=True)


def _validate_classifier(config: FitConfig) -> None:
    if config.backbone is None:
        from kerasvision.models import get_model_spec

        get_model_spec(config.model or TASK_DEFAULTS["classification"]["model"])
    else:
        _validate_transfer(config)
    if config.augment:
        from kerasvision.augmentation import parse_augment_spec

        parse_augment_spec(config.augment)
    if not 0.0 <= float(config.label_smoothing or 0.0) < 1.0:
        raise ValueError(
            f"label_smoothing must be in [0, 1), got {config.label_smoothing}"
        )
    decay = _positive_float(
        "weight_decay", config.weight_decay, allow_none=True, allow_zero=True
    )
    if decay and config.optimizer != "adamw":
        raise ValueError("--weight-decay needs --optimizer adamw (decoupled decay)")
    if config.kernel_initializer:
        if config.backbone is not None:
            raise ValueError(
                "--kernel-initializer is for scratch models, not a backbone"
            )
        from kerasvision.regularization import get_initializer

        get_initializer(config.kernel_initializer)


def _validate_transfer(config: FitConfig) -> None:
    from kerasvision.models.backbones import get_backbone_spec, is_backbone_reference
    from kerasvision.models.transfer import parse_unfreeze

    if config.model is not None:
        raise ValueError("give either --model (scratch) or --backbone, not both")
    from kerasvision.models.hub import hub_preset, is_hub_backbone

    if is_hub_backbone(config.backbone):
        hub_preset(config.backbone)  # loaded (keras_hub, maybe a download) later
    elif not is_backbone_reference(config.backbone):
        get_backbone_spec(config.backbone)
    elif not os.path.exists(config.backbone):
        raise FileNotFoundError(f"backbone model not found: {config.backbone}")
    _choice("mode", config.mode, TRANSFER_MODES)
    _choice("bn", config.bn, BN_POLICIES)
    _choice("feature_cache", config.feature_cache, FEATURE_CACHE_MODES)
    if config.unfreeze is not None:
        parse_unfreeze(config.unfreeze)
    if config.mode == "feature-extraction":
        given = set(config.given())
        fine_tune_only = ("unfreeze", "warmup_epochs", "fine_tune_lr", "lr_mult")
        wrong = [n for n in fine_tune_only if n in given]
        if wrong:
            raise ValueError(
                f"{', '.join(_option(n) for n in wrong)} only apply with --mode "
                f"fine-tune"
            )
    _positive_int("warmup_epochs", config.warmup_epochs, allow_none=True, minimum=0)
    _positive_float("fine_tune_lr", config.fine_tune_lr, allow_none=True)
    if config.lr_mult is not None and not 0.0 < config.lr_mult <= 1.0:
        raise ValueError(f"--lr-mult must be in (0, 1], got {config.lr_mult}")
    weights = config.weights
    if weights not in (None, "imagenet"):
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"weights file not found: {weights}")
        if not weights.endswith(".h5"):
            raise ValueError(
                f"--weights must be imagenet, none or a .h5/.weights.h5 file: {weights}"
            )


def _validate_autoencoder(config: FitConfig) -> None:
    from kerasvision._choices import AUTOENCODER_ARCHITECTURES

    _positive_int("latent_dim", config.latent_dim, allow_none=True)
    if config.latent_dim is not None and config.task == "segmentation":
        raise ValueError("--latent-dim is not an option of the segmentation task")
    if config.noise is not None:
        from kerasvision.layers.noise import parse_noise

        parse_noise(config.noise)
    if config.task == "segmentation" and config.dataset is not None:
        raise ValueError("segmentation needs a data folder, not a built-in dataset")
    architecture = config.model_kwargs.get("architecture", "conv")
    _choice("architecture", architecture, AUTOENCODER_ARCHITECTURES)
    if architecture == "dense" and config.task in ("vae", "segmentation"):
        raise ValueError(f"the {config.task} task has no dense architecture")
