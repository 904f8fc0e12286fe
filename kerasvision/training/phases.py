"""Training phases: the transfer schedule (head warm-up, fine-tuning) and the
feature caches that train a frozen backbone's head on precomputed features and
a fine-tuned backbone's top on precomputed activations of its frozen part."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from kerasvision.progress import keras_callbacks

__all__ = [
    "CachedTargets",
    "FrozenPart",
    "Phase",
    "cached_head",
    "cached_top",
    "enter_phase",
    "frozen_part",
    "phase_optimizer",
    "phase_schedule",
    "plan_phases",
    "steps_per_epoch",
    "use_feature_cache",
    "use_prefix_cache",
]


#: Largest cache of a fine-tuned backbone's frozen-part activations (train +
#: val, float32); above it the fine-tuning phase trains on images.
PREFIX_CACHE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Phase:
    """One `model.fit` call of a run: epochs `[start, end)` at `lr`.

    Attributes:
        name: "train" (scratch), "head" (feature extraction), "warm-up" or
            "fine-tune".
        start: First epoch (0-based).
        end: Epoch after the last one.
        lr: Learning rate.
        trainable: None (scratch: everything), False (frozen backbone) or the
            `unfreeze` spec of the fine-tuned part.
    """

    name: str
    start: int
    end: int
    lr: float
    trainable: object = None

    def to_json(self) -> dict:
        return asdict(self)


def plan_phases(config) -> list[Phase]:
    """The phases of a resolved `FitConfig`, as its recipe lists them
    (`kerasvision.config.RECIPES`); a phase of 0 epochs is left out."""
    phases, start = [], 0
    for spec in config.recipe_entry.phases:
        epochs = getattr(config, spec.epochs)
        if epochs is None and spec.epochs == "warmup_epochs":
            epochs = 1  # recorded before the recipe defaults
        lr = getattr(config, spec.lr) or config.lr / 10
        trainable = spec.trainable
        if trainable == "unfreeze":
            trainable = config.unfreeze or "all"
        if epochs is None:  # not sized yet (e.g. before --lr auto's sweep)
            phases.append(Phase(spec.name, start, None, lr, trainable))
        elif epochs:
            phases.append(Phase(spec.name, start, start + epochs, lr, trainable))
            start += epochs
    return phases


def steps_per_epoch(data, config) -> int:
    """Batches of one epoch over the training split: the steps a phase's
    learning-rate schedule counts. With `--accumulate N` the weights change
    once every N batches, but Keras's schedules still read the batch counter,
    so the curve spans the phase either way."""
    return max(1, math.ceil(len(data.splits["train"]) / config.batch_size))


def phase_schedule(config, data, phase: Phase):
    """The phase's learning-rate curve (`config.schedule`) over all its steps.

    Each phase has its own curve (warm-up, then cosine/one-cycle/step/constant)
    from `phase.lr`; a resumed phase continues it (the optimizer's step count is
    in the checkpoint).
    """
    from kerasvision.optimization import WarmupSchedule

    total = (phase.end - phase.start) * steps_per_epoch(data, config)
    warmup = int((config.lr_warmup or 0.0) * total)
    return WarmupSchedule(config.schedule or "constant", phase.lr, total, warmup)


def phase_optimizer(network, config, data, phase: Phase):
    """The optimizer of a phase: its schedule, EMA when asked, and layer-wise
    rates (`config.lr_mult`) over the backbone while it is fine-tuned."""
    from kerasvision.training.compile import make_optimizer

    multipliers = None
    if phase.trainable and (config.lr_mult or 1.0) < 1.0:
        from kerasvision.models.transfer import get_backbone
        from kerasvision.optimization import layer_multipliers

        multipliers = layer_multipliers(
            network, config.lr_mult, inner=get_backbone(network)
        )
    from kerasvision.optimization import keras_schedule

    return make_optimizer(
        config.optimizer,
        keras_schedule(phase_schedule(config, data, phase)),
        weight_decay=config.weight_decay,
        momentum=config.momentum,
        ema=config.ema,
        multipliers=multipliers,
        accumulate=config.accumulate,
    )


def enter_phase(network, phase: Phase, *, bn: str) -> None:
    """Freeze the backbone, or unfreeze the phase's part (then recompile)."""
    from kerasvision.models.transfer import freeze_backbone, unfreeze

    if phase.trainable:
        unfreeze(network, phase.trainable, bn=bn)
    else:
        freeze_backbone(network)


def use_feature_cache(config, phase: Phase) -> bool:
    """Whether the phase trains the head on cached features.

    Only while the backbone is frozen (the recipe's phase says `trainable`
    False), and only when nothing random runs before the head (augmentation
    would be frozen into the cache).
    """
    return phase.trainable is False and _may_cache(config)


def use_prefix_cache(config, phase: Phase) -> bool:
    """Whether a fine-tuning phase trains on cached activations of the frozen
    part of the backbone (the same conditions as `use_feature_cache`)."""
    return bool(phase.trainable) and _may_cache(config)


def _may_cache(config) -> bool:
    return (
        config.backbone is not None
        and config.feature_cache != "off"
        and not config.augment
    )


@dataclass(frozen=True)
class CachedTargets:
    """How the datasets of cached features are labelled, ordered and weighted.

    Attributes:
        binary: One sigmoid output (targets are the positive column).
        one_hot: Categorical targets (label smoothing, MixUp) instead of indices.
        seed: The run's seed; with `epoch` (an `epoch_variable()`) the training
            order of each epoch is a function of `(seed, epoch)`, as in the
            uncached pipeline.
        class_weights: Per-class weights, added as sample weights, or None.
        epoch: The epoch variable, or None (one fixed shuffle).
    """

    binary: bool
    one_hot: bool
    seed: int
    class_weights: object = None
    epoch: object = None


def cached_head(network, data, config, targets: CachedTargets, *, frozen=None):
    """The head as its own model (sharing the layers) and datasets of features.

    The frozen backbone and the pooling run once over train/val; the returned
    head model reuses the very layer objects of `network`, so training it trains
    `network`'s head; `targets` says how its datasets are labelled and ordered.
    With `frozen` (the `FrozenPart` a later fine-tuning phase trains on), the
    features come from its cached activations (only the top of the backbone
    runs) instead of a second pass over the images.

    Returns:
        `(head_model, train_dataset, val_dataset or None)`; compile the head.
    """
    import keras

    pooling = ("avg_pool", "max_pool", "flatten")
    pool = next(layer for layer in network.layers if layer.name in pooling)
    after = network.layers[network.layers.index(pool) + 1 :]
    if frozen is None:
        features_model = keras.Model(network.inputs, pool.output)
        values = _predict_splits(features_model, data)
    else:
        x = activations = keras.Input(shape=frozen.shape, name="activations")
        x = frozen.upper(x, training=False)
        for layer in frozen.after[: frozen.after.index(pool) + 1]:
            x = layer(x)
        features_model = keras.Model(activations, x)
        values = {
            split: features_model.predict(
                frozen.values[split], batch_size=64, verbose=0
            )
            for split in frozen.values
        }
    head_input = keras.Input(shape=pool.output.shape[1:], name="features")
    x = head_input
    for layer in after:
        x = layer(x)
    head = keras.Model(head_input, x, name=f"{network.name}_head")
    return (head, *_cached_datasets(values, data, config, targets))


@dataclass
class FrozenPart:
    """The frozen part of a fine-tuned backbone and its cached activations.

    Attributes:
        boundary: Name of the backbone's first trainable layer; everything
            before it is frozen.
        shape: Shape of one activation (the input of `boundary`).
        upper: The backbone from `boundary` on (a model sharing its layers).
        after: The network's layers after the backbone (pooling, head).
        values: `{"train": array, "val": array}` of activations.
    """

    boundary: str
    shape: tuple
    upper: object
    after: list
    values: dict


def frozen_part(network, data, config) -> FrozenPart | None:
    """Cut the backbone in front of its first trainable layer and compute the
    activations of the frozen part once over train/val.

    While only the last layers of the backbone train (`unfreeze`), everything
    before the first trainable layer computes the same activations every epoch
    (no augmentation; frozen layers, BatchNorm included, run in inference mode),
    so each fine-tuning epoch needs to run only the trainable top (for
    MobileNetV2 with two blocks unfrozen, a small fraction of the network).

    Returns:
        The `FrozenPart`, or None when the graph cannot be cut there by one
        tensor, nothing before that layer is frozen, or the activations would
        take more than `PREFIX_CACHE_BYTES` (then train on images).
    """
    import keras

    from kerasvision.models.transfer import get_backbone

    base = get_backbone(network)
    index = network.layers.index(base)
    before, after = network.layers[1:index], network.layers[index + 1 :]
    if any(layer.weights for layer in before) or not hasattr(base, "get_layer"):
        return None
    first = next(
        (layer for layer in base.layers if layer.trainable and layer.trainable_weights),
        None,
    )
    if first is None or first is base.layers[0]:
        return None
    try:
        boundary = first.input
        upper = keras.Model(boundary, base.output, name=base.name)
        lower = keras.Model(base.inputs, boundary)
    except (ValueError, TypeError, AttributeError):
        return None
    if not isinstance(boundary, keras.KerasTensor):
        return None
    count = len(data.splits["train"]) + len(data.splits["val"])
    if count * math.prod(boundary.shape[1:]) * 4 > PREFIX_CACHE_BYTES:
        return None
    x = inputs = keras.Input(shape=network.inputs[0].shape[1:])
    for layer in before:
        x = layer(x)
    prefix = keras.Model(inputs, lower(x, training=False))
    values = _predict_splits(prefix, data)
    shape = tuple(boundary.shape[1:])
    return FrozenPart(first.name, shape, upper, after, values)


def cached_top(network, data, config, targets: CachedTargets, *, frozen):
    """The fine-tuned top of the network as its own model (sharing `network`'s
    layers, as `cached_head` does) and datasets of the frozen part's cached
    activations (`frozen`, from `frozen_part`).

    Returns:
        `(top_model, train_dataset, val_dataset or None)`.
    """
    import keras

    x = top_input = keras.Input(shape=frozen.shape, name="activations")
    x = frozen.upper(x, training=False) if config.bn == "frozen" else frozen.upper(x)
    for layer in frozen.after:
        x = layer(x)
    top = keras.Model(top_input, x, name=f"{network.name}_top")
    return (top, *_cached_datasets(frozen.values, data, config, targets))


def _predict_splits(model, data) -> dict:
    """`{"train": outputs, "val": outputs}` of `model` over the splits' images."""
    values = {}
    for split in ("train", "val"):
        if split == "train" or len(data.splits[split]):
            images = data.dataset(
                split, batch_size=64, shuffle=False, include_labels=False, cache="none"
            )
            values[split] = model.predict(
                images, verbose=0, callbacks=keras_callbacks()
            )
    return values


def _cached_datasets(values, data, config, targets: CachedTargets):
    """Train/val datasets of precomputed `values` (per split) and the splits'
    targets, shuffled per epoch and batched as the image pipeline would be."""
    import tensorflow as tf

    from kerasvision.data.epochs import shuffle_per_epoch
    from kerasvision.data.pipeline import pipeline_options

    def dataset(split):
        labels = data.targets(data.splits[split], targets.one_hot)
        if targets.binary:
            labels = (labels[:, 1:2] if labels.ndim == 2 else labels[:, None]).astype(
                "float32"
            )
        return tf.data.Dataset.from_tensor_slices((values[split], labels))

    batch = config.batch_size
    train = shuffle_per_epoch(
        dataset("train"), len(data.splits["train"]), targets.seed, targets.epoch
    )
    train = train.batch(batch)
    if targets.class_weights is not None:
        from kerasvision.regularization import add_sample_weights

        train = add_sample_weights(train, targets.class_weights)
    options = pipeline_options()
    train = train.prefetch(tf.data.AUTOTUNE).with_options(options)
    val = (
        dataset("val").batch(batch).prefetch(tf.data.AUTOTUNE).with_options(options)
        if "val" in values
        else None
    )
    return train, val
