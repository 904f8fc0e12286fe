"""The normalization after each convolution: batch, layer, group or instance.

`resolve_norm` turns a builder's `norm` / `batch_norm` arguments into one of
`NORMALIZATIONS`; `normalization_layer` makes the Keras layer; `NORM_SUFFIXES`
gives the layer-name suffix of each (`conv1_bn`, `conv1_ln`, `conv1_gn`,
`conv1_in`). Every layer is a Keras built-in, so a saved model loads with plain
`keras.saving.load_model`.
"""

from __future__ import annotations

import math

from keras import layers

from kerasvision._choices import NORMALIZATIONS

__all__ = [
    "BN_EPSILON",
    "BN_MOMENTUM",
    "GROUP_NORM_GROUPS",
    "NORM_SUFFIXES",
    "batch_normalization",
    "normalization_layer",
    "resolve_norm",
]

# PyTorch's default (0.1 there): Keras' 0.99 leaves the moving statistics far
# from the data after the few hundred steps of a short CPU run, and the
# inference-mode accuracy of every BN network with them.
BN_MOMENTUM = 0.9
BN_EPSILON = 1.001e-5
#: Most groups of a group normalization (Wu & He 2018); fewer when the channels
#: are not a multiple (the greatest common divisor).
GROUP_NORM_GROUPS = 32
#: Layer-name suffix of each normalization: `block1_bn1`, `conv1_ln`, `..._gn`,
#: `..._in`.
NORM_SUFFIXES = {"batch": "bn", "layer": "ln", "group": "gn", "instance": "in"}


def batch_normalization(*, name: str, gamma_initializer="ones"):
    """The `BatchNormalization` layer of every block (momentum `BN_MOMENTUM`)."""
    return layers.BatchNormalization(
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        gamma_initializer=gamma_initializer,
        name=name,
    )


def resolve_norm(norm: str | None, batch_norm: bool = False) -> str:
    """A builder's `norm` argument, with the older `batch_norm` flag folded in.

    Args:
        norm: "batch", "layer", "group", "instance", "none", or None (take
            `batch_norm`).
        batch_norm: The boolean flag: True means "batch". Defaults to False.

    Returns:
        One of `NORMALIZATIONS`.

    Raises:
        ValueError: On an unknown name, or `batch_norm=True` with another norm.

    Example:
        >>> resolve_norm(None, batch_norm=True)
        'batch'
    """
    if norm is None:
        return "batch" if batch_norm else "none"
    if norm not in NORMALIZATIONS:
        raise ValueError(f"norm must be one of {NORMALIZATIONS}, got {norm!r}")
    if batch_norm and norm != "batch":
        raise ValueError(f"batch_norm=True contradicts norm={norm!r}; give only norm")
    return norm


def normalization_layer(
    norm: str, channels: int, *, name: str, gamma_initializer="ones"
):
    """The normalization layer after a convolution with `channels` outputs.

    "batch": `batch_normalization` (statistics over the batch); "layer":
    `LayerNormalization` over height, width and channels of each image; "group":
    `GroupNormalization` with `gcd(channels, GROUP_NORM_GROUPS)` groups;
    "instance": `GroupNormalization` with one group per channel, i.e. each
    channel of each image normalized over its height and width (Ulyanov et al.
    2016). The last three behave the same in training and inference (no moving
    statistics), so they do not depend on the batch size.

    Args:
        norm: "batch", "layer", "group" or "instance" ("none" has no layer).
        channels: Channels of the normalized tensor.
        name: Layer name.
        gamma_initializer: Initializer of the scale; "zeros" makes the layer
            output its offset (0) at initialization (`zero_init_residual`).
            Defaults to "ones".

    Returns:
        A Keras layer.

    Raises:
        ValueError: On another `norm`.

    Example:
        >>> normalization_layer("instance", 16, name="conv1_in").groups
        -1
    """
    if norm == "batch":
        return batch_normalization(name=name, gamma_initializer=gamma_initializer)
    common = {"epsilon": 1e-5, "gamma_initializer": gamma_initializer, "name": name}
    if norm == "layer":
        return layers.LayerNormalization(axis=(-3, -2, -1), **common)
    if norm == "group":
        groups = math.gcd(int(channels), GROUP_NORM_GROUPS)
        return layers.GroupNormalization(groups=groups, **common)
    if norm == "instance":
        return layers.GroupNormalization(groups=-1, **common)
    raise ValueError(f"norm must be one of {NORMALIZATIONS[:-1]}, got {norm!r}")
