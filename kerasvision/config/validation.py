"""Checking a `FitConfig`: each option once, in one-line `ValueError`s.

`validate` runs when a config is constructed. Which options apply to which
task and recipe is not written here: it comes from each field's declaration
(`Option.tasks`, `Option.recipes`) through `check_applicable`.
"""

from __future__ import annotations

import math
import os

from kerasvision._choices import (
    AUTOENCODER_ARCHITECTURES,
    BN_POLICIES,
    CACHE_MODES,
    DISTRIBUTE_MODES,
    FEATURE_CACHE_MODES,
    OPTIMIZERS,
    PRECISIONS,
    RESIZE_MODES,
    SCHEDULES,
    TRANSFER_MODES,
)
from kerasvision.config.options import declared_options, flag_name
from kerasvision.config.recipes import RECIPES
from kerasvision.config.tasks import get_task, tasks_of

__all__ = ["MAX_BATCH_SIZE", "MAX_IMAGE_SIDE", "check_applicable", "validate"]

#: Largest image side accepted (a 4096x4096x3 float32 batch of 32 is 6 GiB).
MAX_IMAGE_SIDE = 4096
MAX_BATCH_SIZE = 65536


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


def validate(config) -> None:
    """Every check of a constructed config (one `ValueError` naming the option)."""
    task = get_task(config.task)
    _choice("mode", config.mode, TRANSFER_MODES)
    if config.model is not None and config.backbone is not None:
        raise ValueError("give either --model (scratch) or --backbone, not both")
    check_applicable(config, config.given())
    _validate_data(config)
    _validate_training(config)
    _check_batch_memory(config)
    if task.family == "classifier":
        _validate_classifier(config)
    else:
        _validate_autoencoder(config)


def check_applicable(config, names) -> None:
    """Refuse options of `names` that mean nothing for the config's task or
    recipe, as each option declares (`Option.tasks`, `Option.recipes`).

    Raises:
        ValueError: Naming every such option of the first unmet condition, e.g.
            "--unfreeze only apply with --backbone --mode fine-tune".
    """
    declared = {item.name: option for item, option in declared_options(type(config))}
    names = [name for name in names if name in declared]
    wrong_task = {}
    for name in names:
        allowed = tasks_of(declared[name].tasks)
        if config.task not in allowed:
            wrong_task.setdefault(allowed, []).append(name)
    for allowed, wrong in wrong_task.items():
        raise ValueError(
            f"{', '.join(flag_name(n) for n in wrong)} only apply to --task "
            f"{'|'.join(allowed)} (got --task {config.task})"
        )
    recipe = config.recipe
    wrong_recipe = {}
    for name in names:
        recipes = declared[name].recipes
        if recipes is not None and recipe not in recipes:
            wrong_recipe.setdefault(_requirement(recipes), []).append(name)
    for requirement, wrong in wrong_recipe.items():
        raise ValueError(
            f"{', '.join(flag_name(n) for n in wrong)} only apply {requirement}"
        )


def _requirement(recipes) -> str:
    """What selects any of `recipes`, said once (e.g. "with --backbone")."""
    entries = [RECIPES[name] for name in recipes]
    if len(entries) == 1:
        return entries[0].requirement
    if all(entry.backbone for entry in entries):
        return "with --backbone (transfer learning)"
    return " or ".join(entry.requirement for entry in entries)


def _validate_data(config) -> None:
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
    _validate_sources(config)
    if config.group_by is not None:
        import re

        try:
            re.compile(config.group_by)
        except (re.error, TypeError) as error:
            raise ValueError(f"--group-by {config.group_by!r}: {error}") from None


_COLUMN_OPTIONS = ("path_column", "label_column", "split_column", "label_delim")


def _validate_sources(config) -> None:
    """`--val-dir`, `--test-dir`, `--labels` and the table's columns."""
    table = config.labels is not None or (
        isinstance(config.data, str) and config.data.lower().endswith(".csv")
    )
    folders = [n for n in ("val_dir", "test_dir") if getattr(config, n) is not None]
    given = [n for n in ("labels", *folders) if getattr(config, n) is not None]
    if config.dataset is not None and given:
        raise ValueError(
            f"{', '.join(flag_name(n) for n in given)} need a data folder, not "
            f"--dataset"
        )
    columns = [n for n in _COLUMN_OPTIONS if getattr(config, n) is not None]
    if columns and not table:
        raise ValueError(
            f"{', '.join(flag_name(n) for n in columns)} only apply with --labels "
            f"(a CSV of labels)"
        )
    if folders and table:
        raise ValueError(
            f"{', '.join(flag_name(n) for n in folders)} do not apply with a CSV "
            f"of labels (its split column gives the splits)"
        )
    for name in (*folders, *columns):
        if not isinstance(getattr(config, name), str) or not getattr(config, name):
            raise ValueError(f"{flag_name(name)} must be a non-empty text")
    if len(folders) == 2 and os.path.abspath(config.val_dir) == os.path.abspath(
        config.test_dir
    ):
        raise ValueError("--val-dir and --test-dir name the same folder")
    _check_fractions_apply(config)


def _check_fractions_apply(config) -> None:
    """`--val-split`/`--test-split` only apply to a split that is carved: refuse
    them when the data gives that split (a folder, or a CSV's split column)."""
    asked = [n for n in ("val_split", "test_split") if n in config.given()]
    if not asked:
        return
    from kerasvision.data.sources import given_split_roles

    roles = given_split_roles(
        config.data,
        labels=config.labels,
        val_dir=config.val_dir,
        test_dir=config.test_dir,
        split_column=config.split_column,
    )
    if roles is None:
        return
    for name in asked:
        split = name[: -len("_split")]
        if roles[split] is not None:
            raise ValueError(
                f"{flag_name(name)} does not apply: the data gives the {split} "
                f"split (its {roles[split]} split); it sizes only a split carved "
                f"from the training images"
            )


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


def _check_batch_memory(config) -> None:
    """Refuse a batch whose float32 input tensor alone needs over half the memory
    available (the model's activations need several times more)."""
    if config.image_size is None:
        return
    from kerasvision.data.images import parse_image_size

    height, width = parse_image_size(config.image_size)
    need = config.batch_size * height * width * (config.channels or 3) * 4
    available = _available_memory()
    if available is not None and need > available // 2:
        hint = _accumulation_hint(config, need // config.batch_size, available // 2)
        raise ValueError(
            f"--image-size {height}x{width} with --batch-size {config.batch_size} "
            f"needs {need / 2**30:.1f} GiB for one input batch alone, more than half "
            f"the {available / 2**30:.1f} GiB of memory available; lower one of them"
            f"{hint}"
        )


def _accumulation_hint(config, image_bytes: int, budget: int) -> str:
    """ ", or keep the effective batch ... --accumulate K" when a smaller batch
    fits `budget` bytes (classifiers train with gradient accumulation)."""
    fits = budget // max(1, image_bytes)
    if fits < 1 or get_task(config.task).family != "classifier":
        return ""
    effective = config.batch_size * (config.accumulate or 1)
    steps = math.ceil(effective / fits)
    while effective % steps:  # a batch that divides the effective one evenly
        steps += 1
    return (
        f", or keep the effective batch of {effective} with --batch-size "
        f"{effective // steps} --accumulate {steps}"
    )


def _validate_training(config) -> None:
    _positive_int("epochs", config.epochs, allow_none=True, maximum=100_000)
    _positive_int("batch_size", config.batch_size, maximum=MAX_BATCH_SIZE)
    _positive_int("accumulate", config.accumulate, allow_none=True, maximum=1024)
    if config.lr not in (None, "auto"):
        _positive_float("lr", config.lr)
    elif config.lr == "auto" and get_task(config.task).family != "classifier":
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


def _validate_multilabel(config) -> None:
    """What a set of labels per image rules out: folder layouts, whole-image
    class selection, another head."""
    wrong = [n for n in ("classes", "val_dir", "test_dir") if getattr(config, n)]
    if wrong:
        raise ValueError(
            f"{', '.join(flag_name(n) for n in wrong)} do not apply to --task "
            f"{config.task} (folders cannot express label sets; the CSV's split "
            f"column gives the splits)"
        )
    if "classifier_activation" in config.model_kwargs:
        raise ValueError(
            f"--model-arg classifier_activation does not apply to --task "
            f"{config.task}: its head is one sigmoid unit per label"
        )


def _validate_classifier(config) -> None:
    if get_task(config.task).multi_label:
        _validate_multilabel(config)
    if config.backbone is None:
        from kerasvision.models import get_model_spec

        get_model_spec(config.model or get_task(config.task).defaults["model"])
    else:
        _validate_transfer(config)
    if config.augment:
        from kerasvision.augmentation import parse_augment_spec

        parse_augment_spec(config.augment)
    if not 0.0 <= float(config.label_smoothing or 0.0) < 1.0:
        raise ValueError(
            f"label_smoothing must be in [0, 1), got {config.label_smoothing}"
        )
    _check_class_weight(config.class_weight)
    decay = _positive_float(
        "weight_decay", config.weight_decay, allow_none=True, allow_zero=True
    )
    if config.momentum is not None:
        if config.optimizer not in ("sgd", "rmsprop"):
            raise ValueError("--momentum applies to --optimizer sgd or rmsprop")
        if not 0.0 <= float(config.momentum) < 1.0:
            raise ValueError(f"--momentum must be in [0, 1), got {config.momentum}")
    if decay and config.optimizer != "adamw":
        raise ValueError("--weight-decay needs --optimizer adamw (decoupled decay)")
    if config.kernel_initializer:
        from kerasvision.regularization import get_initializer

        get_initializer(config.kernel_initializer)


def _check_class_weight(value) -> None:
    """Given weights are finite, >= 0, and not all 0 (a zero loss learns nothing)."""
    import math

    if value is None or isinstance(value, str):
        return
    weights = list(value.values()) if isinstance(value, dict) else list(value)
    try:
        numbers = [float(w) for w in weights]
    except (TypeError, ValueError):
        return  # compute_class_weights names the bad entry
    if any(not math.isfinite(w) or w < 0 for w in numbers):
        raise ValueError(f"--class-weight must be finite numbers >= 0, got {value!r}")
    if numbers and not any(numbers):
        raise ValueError(
            f"--class-weight {value!r} gives every class weight 0: the loss is 0 and "
            f"nothing is learned; give a class a positive weight"
        )


def _validate_transfer(config) -> None:
    from kerasvision.models.backbones import get_backbone_spec, is_backbone_reference
    from kerasvision.models.hub import hub_preset, is_hub_backbone
    from kerasvision.models.transfer import parse_unfreeze

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


def _validate_autoencoder(config) -> None:
    _positive_int("latent_dim", config.latent_dim, allow_none=True)
    if config.noise is not None:
        from kerasvision.layers.noise import parse_noise

        parse_noise(config.noise)
    if config.task == "segmentation" and config.dataset is not None:
        raise ValueError("segmentation needs a data folder, not a built-in dataset")
    architecture = config.model_kwargs.get("architecture", "conv")
    _choice("architecture", architecture, AUTOENCODER_ARCHITECTURES)
    if architecture == "dense" and config.task in ("vae", "segmentation"):
        raise ValueError(f"the {config.task} task has no dense architecture")
