"""The lecture arithmetic of convolutional networks, in one import.

Output sizes, parameter counts and receptive fields follow Keras's conventions, so
every number here can be checked against a real `keras.layers` layer. The numpy
reference operations (`conv2d`, `max_pool2d`, `avg_pool2d`) exist for teaching:
they spell out the sliding window that the Keras layers hide.

The functions live by topic in `shapes` (output sizes, receptive fields),
`parameters` (parameter counts), `connectivity` (window coverage, weight
sharing), `convolution` (numpy convolution and pooling, named kernels) and
`losses` (softmax, cross-entropy); this module gathers their public names.
Everything imports numpy only, so the CLI can use it without loading TensorFlow.

Example:
    >>> from kerasvision.teaching import arithmetic
    >>> arithmetic.conv_output_shape((224, 224, 3), 32, 3)
    (222, 222, 32)
    >>> arithmetic.conv2d_params(3, 3, 32)
    896
    >>> arithmetic.receptive_field([(3, 1), (3, 1)])
    5
    >>> arithmetic.weight_sharing_counts(5, 3, 5)  # the 25 -> 13 -> 3 slide
    WeightSharingCounts(fully_connected=25, locally_connected=13, shared=3)
"""

from __future__ import annotations

from kerasvision.teaching.connectivity import (
    WeightSharingCounts,
    coverage_map,
    weight_sharing_counts,
)
from kerasvision.teaching.convolution import (
    KERNELS,
    NamedKernel,
    apply_kernel,
    avg_pool2d,
    conv2d,
    max_pool2d,
)
from kerasvision.teaching.losses import (
    binary_cross_entropy,
    categorical_cross_entropy,
    softmax,
)
from kerasvision.teaching.parameters import (
    cnn_weights,
    conv2d_params,
    dense_params,
    depthwise_separable_params,
    mlp_weights,
)
from kerasvision.teaching.shapes import (
    conv_output_shape,
    conv_output_size,
    effective_kernel_size,
    pool_output_shape,
    receptive_field,
    same_padding,
    stacked_receptive_field,
)

__all__ = [
    "KERNELS",
    "NamedKernel",
    "WeightSharingCounts",
    "apply_kernel",
    "avg_pool2d",
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "cnn_weights",
    "conv2d",
    "conv2d_params",
    "conv_output_shape",
    "conv_output_size",
    "coverage_map",
    "dense_params",
    "depthwise_separable_params",
    "effective_kernel_size",
    "max_pool2d",
    "mlp_weights",
    "pool_output_shape",
    "receptive_field",
    "same_padding",
    "softmax",
    "stacked_receptive_field",
    "weight_sharing_counts",
]
