"""kerasvision's registered custom layers (importing this module registers them).

Each layer is `@keras.saving.register_keras_serializable(package="kerasvision")`,
so `.keras` files that contain them load once this package is imported (or through
`kerasvision.load_model`).
"""

from kerasvision.layers.augment import (
    PixelGaussianNoise,
    RandomBlur,
    RandomPadCrop,
    RandomResolution,
)
from kerasvision.layers.drop_path import FractalJoin
from kerasvision.layers.label_sets import (
    LabelDecisions,
    LabelTemperatureScaling,
    LabelWeightedBinaryCrossentropy,
)
from kerasvision.layers.noise import (
    AdditiveGaussianNoise,
    RandomMasking,
    SaltAndPepperNoise,
)
from kerasvision.layers.normalization import LocalResponseNormalization
from kerasvision.layers.outputs import BinaryToCategorical, TemperatureScaling
from kerasvision.layers.preprocessing import ImagenetPreprocessing
from kerasvision.layers.sampling import KSparse, Sampling
from kerasvision.layers.tta import TestTimeViews, ViewAverage

__all__ = [
    "BinaryToCategorical",
    "AdditiveGaussianNoise",
    "FractalJoin",
    "ImagenetPreprocessing",
    "KSparse",
    "LabelDecisions",
    "LabelTemperatureScaling",
    "LabelWeightedBinaryCrossentropy",
    "LocalResponseNormalization",
    "PixelGaussianNoise",
    "RandomBlur",
    "RandomMasking",
    "RandomPadCrop",
    "RandomResolution",
    "SaltAndPepperNoise",
    "Sampling",
    "TemperatureScaling",
    "TestTimeViews",
    "ViewAverage",
]
