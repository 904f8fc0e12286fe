"""The keras.applications input conventions as layers.

`preprocessing_layer` gives plain Keras layers where they can express the
convention ("tf": `Rescaling`, "torch": `Normalization`), so a model holding
them loads with `keras.saving.load_model` alone; "caffe" (RGB -> BGR, minus
the mean) needs the registered `ImagenetPreprocessing`.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasvision.layers._config import ConfigFields

__all__ = ["PREPROCESSING_MODES", "ImagenetPreprocessing", "preprocessing_layer"]

PREPROCESSING_MODES = ("caffe", "tf", "torch")
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="kerasvision")
class ImagenetPreprocessing(ConfigFields, keras.layers.Layer):
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

    config_fields = ("mode",)

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


def preprocessing_layer(mode: str, *, name: str = "preprocessing"):
    """The layer that maps raw 0-255 RGB pixels to what a backbone of `mode`
    expects (see `ImagenetPreprocessing` for the modes).

    "tf" is `keras.layers.Rescaling` (x / 127.5 - 1) and "torch" one
    `keras.layers.Normalization` ((x / 255 - mean) / std, as
    (x - 255 mean) / (255 std)): built-in layers, so the model needs no
    kerasvision import to load. "caffe" reverses the channels, which no
    built-in layer does: `ImagenetPreprocessing`.

    Example:
        >>> preprocessing_layer("tf")(np.full((1, 2, 2, 3), 255.0)).numpy().max()
        1.0
    """
    if mode not in PREPROCESSING_MODES:
        raise ValueError(f"mode must be one of {PREPROCESSING_MODES}, got {mode!r}")
    if mode == "tf":
        return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name=name)
    if mode == "torch":
        mean = [255.0 * m for m in _TORCH_MEAN]
        variance = [(255.0 * s) ** 2 for s in _TORCH_STD]
        return keras.layers.Normalization(mean=mean, variance=variance, name=name)
    return ImagenetPreprocessing(mode, name=name)
