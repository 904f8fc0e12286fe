"""The multi-label family: what serves and trains a set of labels per image.

A multi-label classifier ends in one sigmoid unit per label
(`classifier_units(K, "multilabel")`). `LabelTemperatureScaling` calibrates
each label's probability with its own temperature, `LabelDecisions` turns the
probabilities into multi-hot decisions at each label's threshold (both baked
into every export), and `LabelWeightedBinaryCrossentropy` is the training loss
when `--class-weight` weighs each label's positives.
"""

from __future__ import annotations

import keras

from kerasvision.layers._config import ConfigFields

__all__ = [
    "LabelDecisions",
    "LabelTemperatureScaling",
    "LabelWeightedBinaryCrossentropy",
]

#: Probabilities are clamped here before their logit (the smallest normal
#: float32), as `TemperatureScaling` does.
_TINY = 1.1754944e-38


def _positive_values(values, name: str) -> list[float]:
    values = [float(v) for v in values]
    if not values or any(not v > 0 for v in values):
        raise ValueError(f"{name} must be numbers > 0, got {values!r}")
    return values


@keras.saving.register_keras_serializable(package="kerasvision")
class LabelTemperatureScaling(ConfigFields, keras.layers.Layer):
    """A temperature per label: `sigmoid(logit(p_k) / T_k)` of sigmoid outputs.

    The multi-label form of `TemperatureScaling` (Guo et al. 2017, per label):
    each label's probability is that of its logit divided by its own
    temperature; a label with T = 1 is passed through unchanged (exactly).
    Decisions at a threshold move with the temperature, so thresholds are
    chosen on the calibrated probabilities.

    Args:
        temperatures: One T > 0 per label (T > 1 softens, T < 1 sharpens).
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> LabelTemperatureScaling([2.0, 1.0])(np.array([[0.9, 0.9]]))
        # [[0.75, 0.9]]
    """

    config_fields = ("temperatures",)

    def __init__(self, temperatures, **kwargs):
        super().__init__(**kwargs)
        self.temperatures = _positive_values(temperatures, "temperatures")

    def call(self, inputs):
        ops = keras.ops
        p = ops.cast(inputs, "float32")
        temperatures = ops.convert_to_tensor(self.temperatures, "float32")
        logit = ops.log(ops.maximum(p, _TINY)) - ops.log(ops.maximum(1.0 - p, _TINY))
        scaled = ops.sigmoid(logit / temperatures)
        return ops.where(ops.equal(temperatures, 1.0), p, scaled)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="kerasvision")
class LabelDecisions(ConfigFields, keras.layers.Layer):
    """Multi-hot decisions: 1.0 where a label's probability reaches its threshold.

    The comparison is in float32 (`p >= float32(threshold)`), as
    `kerasvision.data.labelsets.decide` makes it in NumPy, so `predict` and every
    export decide alike.

    Args:
        thresholds: One threshold in [0, 1] per label.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> LabelDecisions([0.5, 0.3])(np.array([[0.6, 0.2]]))  # [[1.0, 0.0]]
    """

    config_fields = ("thresholds",)

    def __init__(self, thresholds, **kwargs):
        super().__init__(**kwargs)
        thresholds = [float(t) for t in thresholds]
        if not thresholds or any(not 0.0 <= t <= 1.0 for t in thresholds):
            raise ValueError(f"thresholds must be in [0, 1], got {thresholds!r}")
        self.thresholds = thresholds

    def call(self, inputs):
        ops = keras.ops
        thresholds = ops.convert_to_tensor(self.thresholds, "float32")
        decided = ops.greater_equal(ops.cast(inputs, "float32"), thresholds)
        return ops.cast(decided, "float32")

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="kerasvision")
class LabelWeightedBinaryCrossentropy(ConfigFields, keras.losses.Loss):
    """Binary cross-entropy with a weight on each label's positive term.

    `-(w_k y log p + (1 - y) log(1 - p))`, averaged over the labels (as
    `keras.losses.BinaryCrossentropy`, which it equals with every w_k = 1);
    "balanced" weights are each label's negatives over its positives, so a
    rare label's few positives count as much as its many negatives (PyTorch's
    `pos_weight`). Label smoothing moves each target towards 0.5.

    Args:
        positive_weights: One weight >= 0 per label.
        label_smoothing: In [0, 1). Defaults to 0.0.
        name: Defaults to "label_weighted_binary_crossentropy".
        **kwargs: Base `Loss` arguments (`reduction`, `dtype`).

    Example:
        >>> loss = LabelWeightedBinaryCrossentropy([1.0, 4.0])
    """

    config_fields = ("positive_weights", "label_smoothing")

    def __init__(
        self,
        positive_weights,
        label_smoothing: float = 0.0,
        name: str = "label_weighted_binary_crossentropy",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.positive_weights = [float(w) for w in positive_weights]
        if any(not w >= 0 for w in self.positive_weights):
            raise ValueError(
                f"positive_weights must be >= 0, got {self.positive_weights!r}"
            )
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        ops = keras.ops
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        epsilon = keras.config.epsilon()
        p = ops.clip(y_pred, epsilon, 1.0 - epsilon)
        weights = ops.convert_to_tensor(self.positive_weights, "float32")
        losses = -(weights * y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
        return ops.mean(losses, axis=-1)
