"""Random streams of tf.data pipelines as a function of (seed, epoch).

`Dataset.shuffle(reshuffle_each_iteration=True)` and `Dataset.random(
rerandomize_each_iteration=True)` draw each epoch's seed from a generator that
advances once per iteration, a state no checkpoint holds: a run resumed at epoch
3 would see the orders of epochs 0, 1, ... again. Here each iteration reads the
epoch from an int64 `tf.Variable` (set by the training loop at every epoch
start, `kerasvision.training.callbacks.EpochSeeds`) and seeds itself from
`(seed, epoch)`, so epoch k sees the same order and augmentation whether or not
the run was interrupted before it.
"""

from __future__ import annotations

__all__ = ["epoch_seed", "epoch_variable", "per_epoch", "shuffle_per_epoch"]

_STRIDE = 1_000_003  # a prime larger than any epoch count


def epoch_variable(initial: int = 0):
    """The int64 `tf.Variable` holding the current epoch (non-trainable)."""
    import tensorflow as tf

    return tf.Variable(int(initial), dtype=tf.int64, trainable=False, name="epoch")


def epoch_seed(seed, epoch):
    """The int64 seed of epoch `epoch` of a stream seeded with `seed`."""
    import tensorflow as tf

    return tf.cast(seed, tf.int64) * _STRIDE + tf.cast(epoch, tf.int64)


def per_epoch(build, epoch, cardinality=None):
    """A dataset that is `build(e)` for the value `e` of `epoch` at the start of
    each iteration.

    Args:
        build: `int64 scalar tensor -> tf.data.Dataset`. Datasets it closes over
            are iterated afresh, caches kept.
        epoch: The `epoch_variable()`.
        cardinality: The number of elements of every `build(e)` when known
            (`tf.data.INFINITE_CARDINALITY` for endless streams). `flat_map`
            forgets it, and Keras then counts one optimizer step too many per
            epoch (a learning-rate schedule would end before the last epoch).

    Returns:
        The `tf.data.Dataset`.
    """
    import tensorflow as tf

    from kerasvision._keras_internals import tensor_seeds

    def traced(value):
        with tensor_seeds():
            return build(value)

    start = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64))
    dataset = start.map(lambda _: epoch.read_value()).flat_map(traced)
    if cardinality is not None and int(cardinality) != tf.data.UNKNOWN_CARDINALITY:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(cardinality))
    return dataset


def shuffle_per_epoch(dataset, buffer_size: int, seed: int, epoch=None):
    """`dataset` reshuffled every epoch: from `(seed, epoch)` when `epoch` (an
    `epoch_variable()`) is given, else by tf.data's per-iteration reshuffle."""
    if epoch is None:
        return dataset.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=True)

    def order(value):
        return dataset.shuffle(
            buffer_size, seed=epoch_seed(seed, value), reshuffle_each_iteration=False
        )

    return per_epoch(order, epoch, int(dataset.cardinality()))
