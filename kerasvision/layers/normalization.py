"""Normalization layers the classic architectures need and Keras lacks."""

from __future__ import annotations

import keras
from keras import layers, ops

from kerasvision.layers._config import ConfigFields

__all__ = ["LocalResponseNormalization"]


@keras.saving.register_keras_serializable(package="kerasvision")
class LocalResponseNormalization(ConfigFields, layers.Layer):
    """AlexNet's local response normalization across channels.

    `y[..., c] = x[..., c] / (bias + alpha * sum(x[..., c']**2)) ** beta`, the sum
    running over the `2 * depth_radius + 1` channels centred on `c` (the same
    formula as `tf.nn.local_response_normalization`; the defaults are the
    paper's k=2, n=5, alpha=1e-4, beta=0.75). Channels-last inputs of any rank.

    Args:
        depth_radius: Half-width of the channel window. Defaults to 2.
        bias: Additive constant `k`. Defaults to 2.0.
        alpha: Scale of the squared sum. Defaults to 1e-4.
        beta: Exponent. Defaults to 0.75.
        **kwargs: Base `Layer` arguments (`name`, `dtype`, ...).

    Raises:
        ValueError: If `depth_radius` is negative or `bias`/`beta` is negative.

    Example:
        >>> layer = LocalResponseNormalization(name="conv1_lrn")
        >>> layer(np.ones((1, 4, 4, 8), "float32")).shape
        (1, 4, 4, 8)
    """

    config_fields = ("depth_radius", "bias", "alpha", "beta")

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        if isinstance(depth_radius, bool) or int(depth_radius) != depth_radius:
            raise ValueError(f"depth_radius must be an integer, got {depth_radius!r}")
        if depth_radius < 0:
            raise ValueError(f"depth_radius must be >= 0, got {depth_radius}")
        if bias < 0 or beta < 0:
            raise ValueError(f"bias and beta must be >= 0, got {bias} and {beta}")
        self.depth_radius = int(depth_radius)
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def call(self, inputs):
        # Computed in float32: the squared sums overflow float16.
        x = ops.cast(inputs, "float32")
        radius = self.depth_radius
        channels = x.shape[-1]
        padding = [[0, 0]] * (len(x.shape) - 1) + [[radius, radius]]
        squared = ops.pad(ops.square(x), padding)
        window = squared[..., 0:channels]
        for offset in range(1, 2 * radius + 1):
            window = window + squared[..., offset : offset + channels]
        outputs = x / ops.power(self.bias + self.alpha * window, self.beta)
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape
