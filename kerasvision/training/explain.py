"""What a classifier run tells its user in words: the choices it made, and a
word when its result means little.

`describe_run` gives the first lines of `fit` (where the data and its split
came from, the image size and resize mode and why, the model or backbone and
its epochs), so that no default works unseen; `result_warning` gives one line
when the test accuracy is within a few points of chance, with the reasons the
run's options suggest (random backbone weights, few images, a fine-tune that
was mostly warm-up, very few epochs).
"""

from __future__ import annotations

import os

__all__ = [
    "CHANCE_MARGIN",
    "chance_level",
    "describe_run",
    "result_warning",
    "size_reason",
    "split_grouping",
]

#: Accuracy this close to chance (absolute) gets `result_warning`'s line.
CHANCE_MARGIN = 0.05

_RESIZE_WORDS = {
    "stretch": "stretched to it (aspect ratio not kept; --resize crop or pad keeps it)",
    "crop": "center-cropped to its aspect ratio, then resized",
    "pad": "padded to its aspect ratio, then resized",
}
_CHANNEL_WORDS = {1: "grayscale", 3: "RGB", 4: "RGBA"}


def describe_run(config, data, *, size_reason: str = "", recorded=False) -> list[str]:
    """The lines `fit` prints first: data and split, images, model and epochs.

    Args:
        config: The resolved `FitConfig`.
        data: The run's `ImageData` (at the size the model takes).
        size_reason: Why the images have this size, e.g. "bipyramidal_cnn's
            default size for folders". Defaults to "".
        recorded: The split is a recorded one (a resumed run). Defaults to
            False.

    Returns:
        Three lines.
    """
    return [
        _data_line(config, data, recorded),
        _image_line(data, size_reason),
        _model_line(config, data),
    ]


def size_reason(config, data, label: str, exact=None) -> str:
    """Why `data` (resolved by `fit`) has its image size, in words.

    Args:
        config: The resolved `FitConfig`.
        data: The run's `ImageData` at the model's size.
        label: What decides the size ("bipyramidal_cnn", "mobilenet_v2", "the
            backbone model").
        exact: The `(height, width)` a loaded backbone takes, else None.
    """
    if exact is not None:
        return f"the input size of {label}"
    if config.image_size is not None:
        return "--image-size"
    images = data.splits["train"].images
    if images is None:  # files: the model's size, whatever the photos' sizes
        return f"{label}'s default size for image files; --image-size to change"
    natural = tuple(int(v) for v in images.shape[1:3])
    if natural != tuple(data.image_size):
        return f"{natural[0]}x{natural[1]} scaled up to {label}'s minimum"
    return "the images' own size"


def _where(source: dict) -> str:
    if source.get("kind") == "dataset":
        return f"the built-in {source.get('name')} dataset"
    return source.get("path") or "in-memory arrays"


def _data_line(config, data, recorded) -> str:
    counts = {name: len(part) for name, part in data.splits.items()}
    total = sum(counts.values())
    parts = " / ".join(f"{counts[s]:,} {s}" for s in ("train", "val", "test"))
    kind = f"{data.num_classes} classes"
    if getattr(data, "multi_label", False):
        kind = _label_sets_words(config, data)
    return (
        f"data: {_where(data.source)}: {total:,} images in {kind} -> {parts} "
        f"({_split_origin(config, data, recorded)})"
    )


def _label_sets_words(config, data) -> str:
    """How many labels, what made the run multi-label, labels per image."""
    sizes = [(part.targets > 0.5).sum() for part in data.splits.values()]
    mean = sum(sizes) / max(1, sum(len(part) for part in data.splits.values()))
    why = "the dataset has label sets"
    if config.label_delim:
        why = f"--label-delim {config.label_delim!r} splits the label cells"
    return (
        f"{data.num_classes} labels (multi-label: --task multilabel, as {why}; "
        f"{mean:.2f} labels per image)"
    )


def _split_origin(config, data, recorded) -> str:
    if recorded:
        return "the run's recorded split"
    origin = getattr(data, "split_source", None) or {}
    if any(data.given_source(s) for s in ("val", "test") if origin.get(s)):
        return "; ".join(f"{k}: {v}" for k, v in origin.items() if v)
    words = f"seeded stratified split, seed {data.seed}"
    if getattr(data, "multi_label", False):
        words = f"seeded iterative stratification of the label sets, seed {data.seed}"
    if data.source.get("official_test_split"):
        words = f"the dataset's official test split, val carved with seed {data.seed}"
    groups = getattr(data, "split_groups", None)
    if groups and groups.get("groups"):
        words += (
            f"; {groups['grouped_files']} files in {groups['groups']} groups "
            f"({groups.get('by', 'duplicates')}) kept in one split each"
        )
    return words


def _image_line(data, size_reason) -> str:
    height, width = data.image_size
    channels = _CHANNEL_WORDS.get(data.channels, f"{data.channels}-channel")
    why = f" ({size_reason})" if size_reason else ""
    resize = _RESIZE_WORDS.get(data.resize, data.resize)
    return f"images: {height}x{width} {channels}{why}, {resize}"


def _scratch_shape(config, data) -> str:
    """What the scratch recipe's size table chose for this input size, in words
    (empty when it chose nothing: the builder's defaults or the user's)."""
    from kerasvision.config import get_task

    chosen = config.recipe_entry.architecture(data.input_shape, {})
    if not chosen or config.model != get_task(config.task).defaults.get("model"):
        return ""
    if set(chosen) & set(config.model_kwargs or {}):
        return ""  # the user's arguments decide (they win over the table)
    blocks = len(chosen.get("filters", ()))
    return (f" ({blocks} blocks of {chosen['convs_per_block']} convolution + "
            f"{chosen['norm']} normalization, the recipe's for "
            f"{min(data.input_shape[:2])} px; --model-arg to change)")  # fmt: skip


def _model_line(config, data) -> str:
    epochs = _epochs_words(config, data)
    if config.backbone is None:
        shape = _scratch_shape(config, data)
        return (f"model: {config.model}{shape} from scratch (every layer trained), "
                f"{epochs}")  # fmt: skip
    weights = config.weights
    if os.path.exists(str(config.backbone)):
        what = f"the trained model {config.backbone} as backbone"
    elif weights in (None, "none"):
        what = f"{config.backbone} backbone with random weights (--weights none)"
    elif weights == "imagenet":
        what = f"{config.backbone} backbone with ImageNet weights"
    else:
        what = f"{config.backbone} backbone with weights from {weights}"
    return f"model: {what}, {config.mode}: {epochs}"


def _default_epochs(config) -> int | None:
    from kerasvision.config import get_task

    recipe = config.recipe_entry
    return {**get_task(config.task).defaults, **recipe.defaults}.get("epochs")


def _epochs_words(config, data) -> str:
    if config.time_budget is not None:
        return f"epochs chosen to fit --time-budget {config.time_budget:g} s"
    epochs, full = config.epochs, _default_epochs(config)
    if epochs is None:  # the recipe's cap on large training sets
        epochs = config.resolved(train_images=len(data.splits["train"])).epochs
        cap = config.recipe_entry.epoch_cap or {}
        if cap.get("seconds") and full is not None and epochs < full:
            # `classifier._timed_epochs` measures, then says how many it chose.
            return (f"{epochs}-{full} epochs (as many as fit {cap['seconds']:g} s "
                    f"on this machine, measured next)")  # fmt: skip
    default = epochs == full
    hint = " (the default; --epochs to change)" if default else ""
    if config.backbone is not None and config.mode == "fine-tune":
        warmup = config.warmup_epochs or 0
        words = (
            f"{warmup} warm-up epoch(s) of the head on the frozen backbone, then "
            f"{epochs} fine-tuning epoch(s) of {config.unfreeze or 'all'}{hint}"
        )
        if warmup > epochs:
            words += (
                f"; {warmup} of the {warmup + epochs} epochs train only the head "
                f"(--warmup-epochs to change)"
            )
        return words
    return f"{epochs} epoch(s){hint}"


def split_grouping(data, recorded=None) -> str:
    """How the run's split grouped copies (`run.json`'s "split"."duplicates"):
    the recorded split's own words when it came from a record (`rerun`,
    `--resume`), else what a split of these files groups now."""
    if recorded is not None:
        return recorded.get("duplicates") or "as recorded (method not recorded)"
    if data.splits["train"].paths is None:
        return "none (in-memory images: no files to compare)"
    from kerasvision.data.duplicates import grouping_method

    return grouping_method()


def chance_level(metrics) -> float:
    """The accuracy of always answering the evaluation split's largest class
    (at least 1 / classes)."""
    supports = [
        int(row.get("support", 0)) for row in (metrics.get("per_class") or {}).values()
    ]
    if not supports or not sum(supports):
        return 0.0
    return max(max(supports) / sum(supports), 1.0 / len(supports))


def result_warning(metrics, config, data, *, epochs_trained=None) -> str | None:
    """One line when the accuracy is within `CHANCE_MARGIN` of chance, with
    the likely reasons; None otherwise.

    Args:
        metrics: The evaluation metrics ("accuracy", "per_class", "split").
        config: The resolved `FitConfig` the run trained with.
        data: The run's `ImageData`.
        epochs_trained: Epochs actually trained. Defaults to None (unknown).

    Example:
        >>> result_warning({"accuracy": 0.1, "per_class": ...}, config, data)
        'warning: test accuracy 0.1006 is at chance level (0.1000: ...'
    """
    accuracy = metrics.get("accuracy")
    chance = chance_level(metrics)
    if accuracy is None or not chance or accuracy > chance + CHANCE_MARGIN:
        return None
    reasons = _reasons(config, data, epochs_trained)
    split = metrics.get("split", "test")
    because = "; likely because " + ", ".join(reasons) if reasons else ""
    return (
        f"warning: {split} accuracy {accuracy:.4f} is within {CHANCE_MARGIN:g} of "
        f"chance ({chance:.4f}, always answering the largest class): the model "
        f"has learned next to nothing{because}"
    )


def _reasons(config, data, epochs_trained) -> list[str]:
    reasons = []
    train = len(data.splits["train"])
    if config.backbone is not None and config.weights in (None, "none"):
        reasons.append("the backbone started from random weights (--weights none)")
    if train < 100 * data.num_classes:
        reasons.append(
            f"only {train:,} training images ({train / data.num_classes:.0f} per class)"
        )
    if config.backbone is not None and config.mode == "fine-tune":
        warmup = config.warmup_epochs or 0
        if warmup >= (config.epochs or 0):
            reasons.append(
                f"{warmup} of the {warmup + (config.epochs or 0)} epochs only "
                f"warmed up the head (--warmup-epochs)"
            )
    if epochs_trained is not None and epochs_trained <= 3:
        reasons.append(f"only {epochs_trained} epoch(s) of training")
    return reasons
