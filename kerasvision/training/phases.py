"""Training phases: the transfer schedule (head warm-up, fine-tuning) and the
feature cache that trains a frozen backbone's head on precomputed features."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = [
    "Phase",
    "cached_head",
    "enter_phase",
    "phase_optimizer",
    "phase_schedule",
    "plan_phases",
    "steps_per_epoch",
    "use_feature_cache",
]


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
    """One phase, or warm-up + fine-tune, for a resolved `FitConfig`."""
    epochs, lr = config.epochs, config.lr
    if config.backbone is None:
        return [Phase("train", 0, epochs, lr)]
    if config.mode == "feature-extraction":
        return [Phase("head", 0, epochs, lr, False)]
    warmup = 1 if config.warmup_epochs is None else config.warmup_epochs
    fine_lr = config.fine_tune_lr or lr / 10
    phases = [Phase("warm-up", 0, warmup, lr, False)] if warmup else []
    part = config.unfreeze or "all"
    phases.append(Phase("fine-tune", warmup, warmup + epochs, fine_lr, part))
    return phases


def steps_per_epoch(data, config) -> int:
    """Optimizer steps of one epoch over the training split."""
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
    return make_optimizer(
        config.optimizer,
        phase_schedule(config, data, phase),
        weight_decay=config.weight_decay,
        ema=config.ema,
        multipliers=multipliers,
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

    Only while the backbone is frozen, and only when nothing random runs before
    the head (augmentation would be frozen into the cache).
    """
    if config.backbone is None or phase.trainable:
        return False
    if config.feature_cache == "off":
        return False
    return not config.augment


def cached_head(
    network, data, config, *, binary, one_hot, seed, class_weights=None, epoch=None
):
    """The head as its own model (sharing the layers) and datasets of features.

    The frozen backbone and the pooling run once over train/val; the returned
    head model reuses the very layer objects of `network`, so training it trains
    `network`'s head. With `epoch` (an `epoch_variable()`) the training order of
    each epoch is a function of `(seed, epoch)`, as in the uncached pipeline.

    Returns:
        `(head_model, train_dataset, val_dataset or None)`; compile the head.
    """
    import keras
    import tensorflow as tf

    pooling = ("avg_pool", "max_pool", "flatten")
    pool = next(layer for layer in network.layers if layer.name in pooling)
    features_model = keras.Model(network.inputs, pool.output)
    after = network.layers[network.layers.index(pool) + 1 :]
    head_input = keras.Input(shape=pool.output.shape[1:], name="features")
    x = head_input
    for layer in after:
        x = layer(x)
    head = keras.Model(head_input, x, name=f"{network.name}_head")

    def features(split):
        part = data.splits[split]
        images = data.dataset(
            split, batch_size=64, shuffle=False, include_labels=False, cache="none"
        )
        values = features_model.predict(images, verbose=0)
        targets = data.targets(part, one_hot)
        if binary:
            targets = (
                targets[:, 1:2] if targets.ndim == 2 else targets[:, None]
            ).astype("float32")
        return tf.data.Dataset.from_tensor_slices((values, targets))

    batch = config.batch_size
    from kerasvision.data.epochs import shuffle_per_epoch

    train = shuffle_per_epoch(features("train"), len(data.splits["train"]), seed, epoch)
    train = train.batch(batch)
    if class_weights is not None:
        from kerasvision.regularization import add_sample_weights

        train = add_sample_weights(train, class_weights)
    train = train.prefetch(tf.data.AUTOTUNE)
    val = None
    if len(data.splits["val"]):
        val = features("val").batch(batch).prefetch(tf.data.AUTOTUNE)
    return head, train, val
