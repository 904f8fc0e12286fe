"""Latent-code layers: VAE reparameterization sampling and k-sparse activations."""

from __future__ import annotations

import math

import keras
from keras import ops

from kerasvision.layers._config import ConfigFields

__all__ = ["KSparse", "Sampling"]


@keras.saving.register_keras_serializable(package="kerasvision")
class Sampling(ConfigFields, keras.layers.Layer):
    """Reparameterization trick: `z = mean + exp(0.5 * log_var) * eps`, eps ~ N(0, I).

    Called on `[mean, log_var]`. At inference (`training=False`) it returns `mean`
    (the deterministic code) unless `sample_in_inference` is set, so predictions
    of a VAE are reproducible.

    Args:
        seed: Integer seed of eps. Defaults to None.
        sample_in_inference: Also sample when `training=False`. Defaults to False.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> z = Sampling(seed=0)([np.zeros((4, 2)), np.zeros((4, 2))], training=True)
    """

    config_fields = ("seed", "sample_in_inference")

    def __init__(self, seed=None, sample_in_inference: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.sample_in_inference = bool(sample_in_inference)
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        mean, log_var = inputs
        if not training and not self.sample_in_inference:
            return mean
        epsilon = keras.random.normal(
            ops.shape(mean), dtype=mean.dtype, seed=self.generator
        )
        return mean + ops.exp(0.5 * log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="kerasvision")
class KSparse(ConfigFields, keras.layers.Layer):
    """Keep the `k` largest activations of each sample and zero the rest.

    The k-sparse autoencoder code (Makhzani & Frey, 2013): exactly `k` units stay
    (ties are broken by position), in training and at inference. Spatial inputs
    `[B, h, w, c]` are ranked over all `h * w * c` values of a sample. Gradients
    flow through the kept units only.

    Args:
        k: Number of units kept per sample, >= 1. Defaults to 16.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Raises:
        ValueError: If `k` < 1, or (when built) larger than the units per sample.

    Example:
        >>> np.asarray(KSparse(2)(np.array([[0.1, 0.5, -0.2, 0.3]])))
        array([[0. , 0.5, 0. , 0.3]])
    """

    config_fields = ("k",)

    def __init__(self, k: int = 16, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        self.k = k

    def build(self, input_shape):
        units = input_shape[1:]
        if all(v is not None for v in units):
            total = math.prod(units)
            if self.k > total:
                raise ValueError(
                    f"KSparse k={self.k} is larger than the {total} units per sample"
                )

    def call(self, inputs):
        shape = ops.shape(inputs)
        flat = ops.reshape(inputs, (shape[0], -1))
        _, indices = ops.top_k(flat, self.k, sorted=False)
        mask = ops.sum(ops.one_hot(indices, ops.shape(flat)[1], dtype=flat.dtype), 1)
        return ops.reshape(flat * mask, shape)

    def compute_output_shape(self, input_shape):
        return input_shape
