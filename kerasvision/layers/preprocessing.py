"""`ImagenetPreprocessing`: the keras.applications input conventions as a layer."""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["PREPROCESSING_MODES", "ImagenetPreprocessing"]

PREPROCESSING_MODES = ("caffe", "tf", "torch")
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="kerasvision")
class ImagenetPreprocessing(keras.layers.Layer):
    """Map raw 0-255 RGB pixels to what a keras.applications backbone expects.

    Modes, as in `keras.applications.imagenet_utils.preprocess_input`:
    "caffe" (RGB -> BGR, minus the ImageNet BGR mean; VGG, ResNet v1), "tf"
    (scaled to [-1, 1]; ResNet v2, Inception, Xception, MobileNet v1/v2, NASNet) and
    "torch" (scaled to [0, 1], minus mean, over std per channel; DenseNet).

    Args:
        mode: "caffe", "tf" or "torch". Defaults to "tf".
        **kwargs: Base layer arguments (name, dtype...).

    Example:
        >>> layer = ImagenetPreprocessing("caffe")
        >>> layer(np.zeros((1, 4, 4, 3))).shape
        (1, 4, 4, 3)
    """

    def __init__(self, mode: str = "tf", **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(f"mode must be one of {PREPROCESSING_MODES}, got {mode!r}")
        self.mode = mode

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, dtype=x.dtype)
            std = ops.convert_to_tensor(_TORCH_STD, dtype=x.dtype)
            return (x / 255.0 - mean) / std
        mean = ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=x.dtype)
        return ops.flip(x, axis=-1) - mean

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
