"""FractalNet (Larsson et al. 2016): ultra-deep networks without residuals.

A fractal block repeats the expansion rule `f_1(z) = conv(z)`,
`f_{C+1}(z) = join(f_C(f_C(z)), conv(z))`: C columns of 1, 2, 4, ...,
`2 ** (C - 1)` convolutions side by side, whose paths are averaged by join
layers wherever they end at the same depth (one join merges all of them).
"""

from __future__ import annotations

from keras import layers

from kerasvision.layers.drop_path import FractalJoin
from kerasvision.models._common import (
    HeadOptions,
    check_dropout,
    check_positive_ints,
    image_input,
)
from kerasvision.models.blocks import apply_conv_block
from kerasvision.models.heads import check_input_shape
from kerasvision.models.normalization import resolve_norm

__all__ = ["apply_fractal_block", "build_fractalnet"]


def apply_fractal_block(
    x,
    filters: int,
    *,
    columns: int = 4,
    drop_path_rate: float = 0.15,
    norm: str = "batch",
    seed: int | None = None,
    name: str,
):
    """One fractal block of `columns` columns (`2 ** columns - 1` convolutions).

    Column c (1 = the shallowest) has `2 ** (c - 1)` conv-norm-ReLU layers,
    `{name}_col{c}_conv{i}` (+ `_bn`, `_relu`). The paths that end at the same
    depth are averaged: inner joins `{name}_join{j}`, the block output
    `{name}_out`. With `drop_path_rate` > 0 the joins are `FractalJoin`s (local
    drop-path while training), else `keras.layers.Average`.

    Args:
        x: Input Keras tensor.
        filters: Filters of every convolution of the block.
        columns: Number of columns C. Defaults to 4 (the paper's CIFAR nets).
        drop_path_rate: Local drop-path probability of each join input.
            Defaults to 0.15.
        norm: Normalization after each convolution. Defaults to "batch".
        seed: Seed of the drop-path draws. Defaults to None.
        name: Prefix of the block's layer names, e.g. "block1"; required.

    Returns:
        The block output tensor (`{name}_out`).

    Example:
        >>> x = keras.Input((16, 16, 8))
        >>> apply_fractal_block(x, 16, columns=3, name="block1").shape
        (None, 16, 16, 16)
    """
    (columns,) = check_positive_ints("columns", columns)
    counters = {"conv": {}, "join": 0, "seed": 0}

    def conv(z, column):
        index = counters["conv"].get(column, 0) + 1
        counters["conv"][column] = index
        return apply_conv_block(
            z, filters, norm=norm, name=f"{name}_col{column}_conv{index}"
        )

    def join(paths, layer_name=None):
        if len(paths) == 1:
            return paths[0]
        if layer_name is None:
            counters["join"] += 1
            layer_name = f"{name}_join{counters['join']}"
        if drop_path_rate:
            counters["seed"] += 1  # each join draws its own drops
            join_seed = None if seed is None else seed + counters["seed"]
            return FractalJoin(drop_path_rate, seed=join_seed, name=layer_name)(paths)
        return layers.Average(name=layer_name)(paths)

    def fractal(z, depth, first_column):
        """The paths of `f_depth(z)` over columns `first_column`.., unjoined."""
        if depth == 1:
            return [conv(z, first_column)]
        shallow = conv(z, first_column)
        middle = join(fractal(z, depth - 1, first_column + 1))
        return [shallow] + fractal(middle, depth - 1, first_column + 1)

    return join(fractal(x, columns, 1), f"{name}_out")


def build_fractalnet(
    input_shape,
    num_classes: int,
    *,
    filters=(64, 128, 256, 512, 512),
    columns: int = 4,
    drop_path_rate: float = 0.15,
    norm: str = "batch",
    dropout_rate: float = 0.0,
    seed: int | None = None,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """FractalNet (Larsson et al. 2016), CIFAR layout.

    One fractal block per entry of `filters` (`apply_fractal_block`), a 2x2 max
    pooling between blocks, global average pooling and predictions: `B` blocks
    of `C` columns have `B * 2 ** (C - 1)` convolutions on their deepest path
    (the paper's FractalNet-40: B=5, C=4, 64..512 filters). Training uses the
    paper's local drop-path in every join (`FractalJoin`); its global drop-path
    (one column for the whole network) is left out. The last pooling is the
    head's global one, so the feature layer, the last block's `block{B}_out`,
    stays spatial.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            `2 ** len(filters)`.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        filters: Filters of each block. Defaults to (64, 128, 256, 512, 512).
        columns: Columns per block. Defaults to 4.
        drop_path_rate: Local drop-path rate of the joins; 0 makes them plain
            `Average` layers. Defaults to 0.15.
        norm: "batch", "layer", "group", "instance" or "none". Defaults to
            "batch".
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        seed: Seed of the drop-path draws. Defaults to None.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "fractalnet{depth}" (the convolutions of
            the deepest path, as the paper's FractalNet-20 and -40). Defaults
            to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an invalid argument or a too small input.

    Example:
        >>> model = build_fractalnet((32, 32, 1), 10, filters=(8, 16, 32), columns=3)
        >>> model.name, model.get_layer("block3_out").output.shape
        ('fractalnet12', (None, 8, 8, 32))
    """
    filters = check_positive_ints("filters", filters)
    (columns,) = check_positive_ints("columns", columns)
    drop_path_rate = check_dropout(drop_path_rate)
    norm = resolve_norm(norm)
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    name = name or f"fractalnet{len(filters) * 2 ** (columns - 1)}"
    shape = check_input_shape(input_shape, min_size=2 ** len(filters), model_name=name)

    inputs, x = image_input(shape)
    # === Fractal blocks ===
    for index, block_filters in enumerate(filters, start=1):
        if index > 1:
            x = layers.MaxPooling2D(2, name=f"block{index - 1}_pool")(x)
        x = apply_fractal_block(
            x,
            block_filters,
            columns=columns,
            drop_path_rate=drop_path_rate,
            norm=norm,
            seed=None if seed is None else seed + 100 * index,
            name=f"block{index}",
        )
    # === Head ===
    return head.model(inputs, x, name=name)
