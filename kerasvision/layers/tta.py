"""Test-time augmentation: deterministic views of a batch, and their average.

`TestTimeViews` stacks V views of a batch `[N, H, W, C]` into `[V * N, H, W, C]`
(view-major); the classifier runs once on them and `ViewAverage(V)` averages
the probabilities back to `[N, K]`. `kerasvision.models.heads.serving_model`
wires them around a classifier, so evaluation, prediction and every export use
the same graph.

Views (`TTA_MODES`): "flip" is the image and its left-right mirror; "flip+crop"
adds the central 87.5% crop resized back to the input size, and its mirror.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasvision._choices import TTA_MODES
from kerasvision.layers._config import ConfigFields

__all__ = ["CROP_FRACTION", "TTA_MODES", "TestTimeViews", "ViewAverage", "view_count"]

CROP_FRACTION = 0.875


def view_count(mode: str) -> int:
    """How many views `mode` makes (2 or 4)."""
    if mode not in TTA_MODES:
        raise ValueError(f"tta must be one of {TTA_MODES}, got {mode!r}")
    return 2 if mode == "flip" else 4


@keras.saving.register_keras_serializable(package="kerasvision")
class TestTimeViews(ConfigFields, keras.layers.Layer):
    """`[N, H, W, C]` -> `[V * N, H, W, C]`: the deterministic views of `mode`.

    Args:
        mode: "flip" or "flip+crop". Defaults to "flip".
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> TestTimeViews("flip")(np.zeros((2, 8, 8, 3))).shape
        (4, 8, 8, 3)
    """

    config_fields = ("mode",)

    def __init__(self, mode: str = "flip", **kwargs):
        super().__init__(**kwargs)
        view_count(mode)
        self.mode = mode

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        views = [x, ops.flip(x, axis=2)]
        if self.mode == "flip+crop":
            height, width = int(x.shape[1]), int(x.shape[2])
            crop_h = max(1, round(height * CROP_FRACTION))
            crop_w = max(1, round(width * CROP_FRACTION))
            top, left = (height - crop_h) // 2, (width - crop_w) // 2
            crop = x[:, top : top + crop_h, left : left + crop_w, :]
            crop = ops.image.resize(crop, (height, width), interpolation="bilinear")
            crop = ops.clip(ops.round(crop), 0.0, 255.0)  # raw pixels stay 0-255
            views += [crop, ops.flip(crop, axis=2)]
        return ops.concatenate(views, axis=0)

    def compute_output_shape(self, input_shape):
        count = view_count(self.mode)
        batch = None if input_shape[0] is None else input_shape[0] * count
        return (batch, *input_shape[1:])


@keras.saving.register_keras_serializable(package="kerasvision")
class ViewAverage(ConfigFields, keras.layers.Layer):
    """`[V * N, K]` (view-major) -> `[N, K]`: the mean over the V views.

    Args:
        views: V. Defaults to 2.
        **kwargs: Base `Layer` arguments (e.g. `name`).

    Example:
        >>> ViewAverage(2)(np.array([[1.0, 0.0], [0.0, 1.0]]))  # [[0.5, 0.5]]
    """

    config_fields = ("views",)

    def __init__(self, views: int = 2, **kwargs):
        super().__init__(**kwargs)
        if int(views) < 1:
            raise ValueError(f"views must be >= 1, got {views}")
        self.views = int(views)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        x = ops.reshape(x, (self.views, -1, x.shape[-1]))
        return ops.mean(x, axis=0)

    def compute_output_shape(self, input_shape):
        return (None, input_shape[-1])
