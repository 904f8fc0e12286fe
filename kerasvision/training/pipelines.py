"""The classifier's tf.data pipelines: augmented training batches, validation,
and the targets each head and label mode needs."""

from __future__ import annotations

__all__ = ["pipelines", "uses_categorical_labels"]


def uses_categorical_labels(config, data) -> bool:
    """One-hot targets: given so, mixed (CutMix/MixUp) or label-smoothed."""
    if data.label_mode == "categorical" or config.label_smoothing:
        return True
    if not config.augment:
        return False
    from kerasvision.augmentation import parse_augment_spec

    return any(step.is_mixer for step in parse_augment_spec(config.augment))


def _targets_for_head(dataset, binary):
    """One-sigmoid-unit heads take float `[B, 1]` targets (P(class 1))."""
    if not binary:
        return dataset
    import tensorflow as tf

    def to_binary(images, labels, *weights):
        labels = tf.cast(labels, tf.float32)
        labels = labels[:, 1:2] if labels.shape.rank == 2 else labels[:, None]
        return (images, labels, *weights)

    return dataset.map(to_binary)


def pipelines(model, data, config, *, initial_epoch=0, class_weights=None, epoch=None):
    """`(train, val or None)` tf.data pipelines of the run (augmented train).

    With `epoch` (an `EpochSeeds.epoch` variable) the training order and
    augmentation of each epoch are functions of `(seed, epoch)`; without it the
    streams start from `seed + initial_epoch`.
    """
    seed = config.seed if epoch is not None else config.seed + initial_epoch
    binary = model.outputs[0].shape[-1] == 1
    categorical = uses_categorical_labels(config, data)
    one_hot = data.label_mode == "categorical"
    train = data.dataset(
        "train",
        batch_size=config.batch_size,
        cache=config.cache,
        seed=seed,
        one_hot=one_hot,
        epoch=epoch,
    )
    if config.augment or (categorical and not one_hot):
        from kerasvision.augmentation import apply_augmentation

        # Training split only: validation, test and export never see it.
        train, _ = apply_augmentation(
            train,
            config.augment or [],
            num_classes=data.num_classes,
            seed=seed,
            one_hot=categorical,
            epoch=epoch,
        )
    if class_weights is not None:
        from kerasvision.regularization import add_sample_weights

        train = add_sample_weights(train, class_weights)
    train = _targets_for_head(train, binary)
    val = None
    if len(data.splits["val"]):
        val = _targets_for_head(
            data.dataset(
                "val",
                batch_size=config.batch_size,
                cache=config.cache,
                one_hot=categorical,
            ),
            binary,
        )
    if len(model.outputs) > 1:
        count = len(model.outputs)
        train = train.map(lambda x, y, *w: (x, tuple([y] * count), *w))
        if val is not None:
            val = val.map(lambda x, y: (x, tuple([y] * count)))
    return train, val
