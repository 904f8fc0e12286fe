"""FractalNet's join with local drop-path (Larsson et al. 2016)."""

from __future__ import annotations

import keras
from keras import ops

from kerasvision.layers._config import ConfigFields

__all__ = ["FractalJoin"]


@keras.saving.register_keras_serializable(package="kerasvision")
class FractalJoin(ConfigFields, keras.layers.Layer):
    """The element-wise mean of its inputs, dropping some of them in training.

    FractalNet's join layer with local drop-path: while training, each input
    (path) of each image is dropped with probability `drop_rate` and the
    survivors are averaged; at least one path of each image always survives
    (one is drawn to be kept). At inference it is the plain mean of all paths,
    like `keras.layers.Average`. Dropping paths keeps every column able to
    predict on its own, the paper's regularizer in place of residual learning.

    Args:
        drop_rate: Probability of dropping each path, in [0, 1). Defaults to
            0.15 (the paper's local drop-path rate).
        seed: Integer seed of the drops. Defaults to None.
        **kwargs: Base `Layer` arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `drop_rate` is not in [0, 1).

    Example:
        >>> join = FractalJoin(0.15, seed=0, name="block1_join")
        >>> join([np.ones((2, 4, 4, 8)), np.zeros((2, 4, 4, 8))]).shape
        (2, 4, 4, 8)
    """

    config_fields = ("drop_rate", "seed")

    def __init__(self, drop_rate=0.15, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(drop_rate) < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate!r}")
        self.drop_rate = float(drop_rate)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        stacked = ops.stack(list(inputs), axis=0)  # [paths, batch, ...]
        if not training or not self.drop_rate:
            return ops.mean(stacked, axis=0)
        paths = len(inputs)
        batch = ops.shape(stacked)[1]
        kept = keras.random.uniform((paths, batch), seed=self.generator)
        kept = ops.greater_equal(kept, self.drop_rate)
        chosen = keras.random.randint((batch,), 0, paths, seed=self.generator)
        forced = ops.transpose(ops.one_hot(chosen, paths))  # [paths, batch]
        mask = ops.cast(ops.logical_or(kept, forced > 0), stacked.dtype)
        mask = ops.reshape(mask, (paths, batch) + (1,) * (len(stacked.shape) - 2))
        return ops.sum(stacked * mask, axis=0) / ops.sum(mask, axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape[0]
