"""The classic CNN architectures built from scratch, AlexNet to PyramidNet.

Every builder takes raw 0-255 pixels (a `Rescaling(1/255)` layer comes first),
returns an uncompiled functional `keras.Model`, validates its arguments before
building and uses stable hierarchical layer names. Each has a width knob
(`width_multiplier`, `alpha`, `growth_rate` or `filters`) so that it
trains on a CPU, and a stem that adapts to small inputs: `stem="auto"` uses the
paper's ImageNet stem (large strided kernels, early pooling) for images of at
least `IMAGENET_STEM_MIN_SIZE` pixels and a stride-1 3x3 (or 5x5) stem for
smaller ones such as 32x32 digits. The head is `avg_pool`/`flatten`, `dropout`,
`predictions` (see `apply_classifier_head`).

One module per family (`alexnet`, `vgg`, `inception`, `resnet`, `densenet`,
`mobilenet`, `fractalnet`, `pyramidnet`, `attention`); this module gathers them
under one name (the registry's builders, `kerasvision.build_resnet`, ...).
`count_multiply_adds` measures the compute of any built model and
`strip_auxiliary_heads` turns a multi-output Inception v1 into its serving model.
"""

from __future__ import annotations

from kerasvision.models._common import IMAGENET_STEM_MIN_SIZE, STEMS
from kerasvision.models.alexnet import build_alexnet, build_zfnet
from kerasvision.models.attention import build_residual_attention_network
from kerasvision.models.compute import count_multiply_adds
from kerasvision.models.densenet import build_densenet
from kerasvision.models.fractalnet import build_fractalnet
from kerasvision.models.heads import strip_auxiliary_heads
from kerasvision.models.inception import INCEPTION_V1_MODULES, build_inception_v1
from kerasvision.models.mobilenet import MOBILENET_V1_BLOCKS, build_mobilenet_v1
from kerasvision.models.pyramidnet import build_pyramidnet
from kerasvision.models.resnet import (
    RESNET_DEPTHS,
    build_cifar_resnet,
    build_plain_cnn,
    build_resnet,
    build_wide_resnet,
)
from kerasvision.models.vgg import VGG_DEPTHS, build_vgg

__all__ = [
    "IMAGENET_STEM_MIN_SIZE",
    "INCEPTION_V1_MODULES",
    "MOBILENET_V1_BLOCKS",
    "RESNET_DEPTHS",
    "STEMS",
    "VGG_DEPTHS",
    "build_alexnet",
    "build_cifar_resnet",
    "build_densenet",
    "build_fractalnet",
    "build_inception_v1",
    "build_mobilenet_v1",
    "build_plain_cnn",
    "build_pyramidnet",
    "build_residual_attention_network",
    "build_resnet",
    "build_vgg",
    "build_wide_resnet",
    "build_zfnet",
    "count_multiply_adds",
    "strip_auxiliary_heads",
]
