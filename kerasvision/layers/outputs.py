"""Layers on classifier outputs."""

from __future__ import annotations

import keras

from kerasvision.layers._config import ConfigFields

__all__ = ["BinaryToCategorical", "TemperatureScaling"]

#: Probabilities are clamped here before their log: the smallest normal float32,
#: so only a probability that underflowed to (near) zero is changed.
_TINY = 1.1754944e-38


@keras.saving.register_keras_serializable(package="kerasvision")
class BinaryToCategorical(ConfigFields, keras.layers.Layer):
    """One sigmoid probability `[N, 1]` -> two class probabilities `[N, 2]`.

    Args:
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> BinaryToCategorical()(np.array([[0.8]]))  # [[0.2, 0.8]]
    """

    def call(self, inputs):
        return keras.ops.concatenate([1.0 - inputs, inputs], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2)


@keras.saving.register_keras_serializable(package="kerasvision")
class TemperatureScaling(ConfigFields, keras.layers.Layer):
    """Temperature-scaled probabilities from probabilities (Guo et al. 2017).

    kerasvision classifiers end in a softmax (or one sigmoid unit), so the layer
    takes their probabilities and recovers logits as `log(p)`: `log softmax(z)`
    is `z - logsumexp(z)`, and the shift cancels in the next softmax, so
    `softmax(log(p) / T)` equals `softmax(z / T)`. A one-unit sigmoid output
    becomes `sigmoid(logit(p) / T)`. Probabilities are clamped at the smallest
    normal float32 before the log (only underflowed ones change).

    Args:
        temperature: T > 0 (T > 1 softens, T < 1 sharpens). Defaults to 1.0.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> TemperatureScaling(2.0)(np.array([[0.9, 0.1]]))  # [[0.75, 0.25]]
    """

    config_fields = ("temperature",)

    def __init__(self, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        temperature = float(temperature)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def call(self, inputs):
        ops = keras.ops
        p = ops.cast(inputs, "float32")
        log_p = ops.log(ops.maximum(p, _TINY))
        if p.shape[-1] == 1:
            logit = log_p - ops.log(ops.maximum(1.0 - p, _TINY))
            return ops.sigmoid(logit / self.temperature)
        return ops.softmax(log_p / self.temperature, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape
