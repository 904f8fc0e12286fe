"""Training-time augmentation: the `--augment` mini-syntax, its layers and mixers.

- `spec`: the registry `AUGMENTATIONS` and `parse_augment_spec` /
  `format_augment_spec` (plain data: importing this package stays cheap, no
  Keras or TensorFlow).
- `pipeline`: `build_augmentation` (the per-image layers) and
  `apply_augmentation` (a seeded tf.data training pipeline).
- `mixers`: CutMix and MixUp over a batch.

The kerasvision random layers live in `kerasvision.layers.augment` (re-exported
here for older imports); the preview picture in
`kerasvision.visualization.augmentation`.
"""

from __future__ import annotations

from kerasvision.augmentation import spec
from kerasvision.augmentation.spec import *  # noqa: F403 (its __all__)

_PIPELINE = ("apply_augmentation", "build_augmentation")
_LAYERS = ("PixelGaussianNoise", "RandomBlur", "RandomPadCrop", "RandomResolution")

__all__ = sorted([*spec.__all__, *_PIPELINE, *_LAYERS])


def __getattr__(name: str):
    # The Keras-backed names load on first use, so that validating a spec
    # (`kerasvision.config`) does not import TensorFlow.
    if name in _PIPELINE:
        from kerasvision.augmentation import pipeline

        value = getattr(pipeline, name)
    elif name in _LAYERS:
        from kerasvision.layers import augment

        value = getattr(augment, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
