"""ResNet (He et al. 2015, 2016), its CIFAR and plain twins, and Wide ResNet.

Blocks are `apply_residual_block`s named `conv{s}_block{b}` (stages conv2..);
every builder takes `zero_init_residual` to start each residual branch at 0.
"""

from __future__ import annotations

from keras import layers

from kerasvision.models._common import (
    HeadOptions,
    check_dropout,
    check_multiplier,
    check_positive_ints,
    check_preset_depth,
    check_repeats_depth,
    image_input,
    resolve_stem,
    scale,
)
from kerasvision.models.blocks import (
    RESIDUAL_BLOCKS,
    apply_conv_block,
    apply_residual_block,
    check_choice,
)
from kerasvision.models.heads import check_input_shape
from kerasvision.models.normalization import (
    NORM_SUFFIXES,
    normalization_layer,
    resolve_norm,
)

__all__ = [
    "RESNET_DEPTHS",
    "build_cifar_resnet",
    "build_plain_cnn",
    "build_resnet",
    "build_wide_resnet",
]

RESNET_DEPTHS = {
    18: ((2, 2, 2, 2), "basic"),
    34: ((3, 4, 6, 3), "basic"),
    50: ((3, 4, 6, 3), "bottleneck"),
    101: ((3, 4, 23, 3), "bottleneck"),
    152: ((3, 8, 36, 3), "bottleneck"),
}


_RESNET_OPTIONS = {
    "stem": "small",
    "stem_filters": None,
    "block": "basic",
    "preact": False,
    "residual": True,
    "norm": "batch",
    "block_dropout": 0.0,
    "zero_init_residual": False,
}


def _resnet_stem(x, filters, *, stem, preact, norm):
    """conv1 (7x7/2 + 3x3/2 max pool, or 3x3/1); v2 leaves norm-ReLU to block 1."""
    kwargs = {
        "norm": "none" if preact else norm,
        "activation": None if preact else "relu",
        "name": "conv1",
    }
    if stem == "imagenet":
        x = apply_conv_block(x, filters, kernel_size=7, strides=2, **kwargs)
        return layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    return apply_conv_block(x, filters, **kwargs)


def _resnet_network(shape, head, name, stages, **options):
    """Input, stem, stages `conv2`.., (v2: `post_` norm-ReLU), head: the model.

    `stages` holds `(filters, blocks)` per stage; `options` (defaults in
    `_RESNET_OPTIONS`): `stem`, `stem_filters` (None: the first stage's
    filters), `block`, `preact`, `residual`, `norm`, `block_dropout`,
    `zero_init_residual`.
    """
    options = {**_RESNET_OPTIONS, **options}
    preact, norm = options["preact"], options["norm"]
    inputs, x = image_input(shape)
    stem_filters = options["stem_filters"] or stages[0][0]
    x = _resnet_stem(x, stem_filters, stem=options["stem"], preact=preact, norm=norm)
    for index, (stage_filters, num_blocks) in enumerate(stages):
        for block_index in range(1, num_blocks + 1):
            x = apply_residual_block(
                x,
                stage_filters,
                block=options["block"],
                strides=2 if index > 0 and block_index == 1 else 1,
                preact=preact,
                residual=options["residual"],
                norm=norm,
                dropout_rate=options["block_dropout"],
                zero_init_residual=bool(options["zero_init_residual"]),
                name=f"conv{index + 2}_block{block_index}",
            )
    if preact:
        if norm != "none":
            suffix = NORM_SUFFIXES[norm]
            x = normalization_layer(norm, int(x.shape[-1]), name=f"post_{suffix}")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    return head.model(inputs, x, name=name)


def build_resnet(
    input_shape,
    num_classes: int,
    *,
    depth=18,
    block: str | None = None,
    preact: bool = False,
    width_multiplier: float = 1.0,
    stem: str = "auto",
    norm: str = "batch",
    zero_init_residual: bool = False,
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """ResNet (He et al. 2015), v1 or pre-activation v2, ImageNet layout.

    conv1 stem -> stages conv2..conv5 (64, 128, 256, 512 filters, scaled by
    `width_multiplier`; stride 2 at the first block of conv3..conv5) -> global
    average pooling -> predictions. Blocks are named `conv{s}_block{b}` (see
    `apply_residual_block`); the feature layer is the last block's `_out`, e.g.
    `conv5_block2_out` for ResNet-18, or `post_relu` with `preact`. The "small"
    stem (CIFAR style) is a stride-1 3x3 convolution without max pooling.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            `2 * total stride` (16 with the small stem and four stages, 64 with
            the ImageNet stem).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: 18, 34, 50, 101 or 152, or a tuple of blocks per stage. Defaults
            to 18.
        block: "basic" or "bottleneck"; None takes the depth's block ("basic"
            for a tuple). Defaults to None.
        preact: Pre-activation blocks (ResNet v2). Defaults to False.
        width_multiplier: Scales the stage filters. Defaults to 1.0.
        stem: "auto", "imagenet" or "small". Defaults to "auto".
        norm: "batch", "layer", "group", "instance" or "none" after every
            convolution. Defaults to "batch".
        zero_init_residual: Initialize the scale of each block's last
            normalization to 0 (the kernel of its last convolution in v2), so
            every block starts as its shortcut (Goyal et al. 2017;
            torchvision's option of the same name). Defaults to False (the
            paper).
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "resnet{layers}" (+ "_v2"). Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an unknown depth or block, or a too small input.

    Example:
        >>> model = build_resnet((32, 32, 3), 10, depth=18, width_multiplier=0.25)
        >>> model.get_layer("conv5_block2_out").output.shape
        (None, 4, 4, 128)
    """
    entry, preset = check_preset_depth(depth, RESNET_DEPTHS, "blocks per stage")
    blocks, default_block = entry if preset else (entry, "basic")
    block = default_block if block is None else block
    check_choice("block", block, RESIDUAL_BLOCKS)
    width = check_multiplier("width_multiplier", width_multiplier)
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    norm = resolve_norm(norm)
    if name is None:
        num_layers = (2 if block == "basic" else 3) * sum(blocks) + 2
        name = f"resnet{num_layers}" + ("_v2" if preact else "")
    # Twice the total stride: the stages' 2 ** (stages - 1), times 4 with the
    # ImageNet stem.
    small = 2 ** len(blocks)
    shape, stem = resolve_stem(stem, input_shape, name, min_sizes=(4 * small, small))
    stages = [(scale(64 * 2**index, width), n) for index, n in enumerate(blocks)]
    return _resnet_network(
        shape,
        head,
        name,
        stages,
        stem=stem,
        block=block,
        preact=preact,
        norm=norm,
        zero_init_residual=zero_init_residual,
    )


def build_cifar_resnet(
    input_shape,
    num_classes: int,
    *,
    depth: int = 20,
    filters=(16, 32, 64),
    residual: bool = True,
    preact: bool = False,
    norm: str = "batch",
    zero_init_residual: bool = False,
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """The CIFAR ResNet of He et al. 2015 (section 4.2): ResNet-20/32/44/56/110.

    A 3x3 stem convolution, then one stage per entry of `filters` (16, 32, 64)
    of `n` basic blocks each, stride 2 at the start of every stage but the first,
    global average pooling and predictions: `depth = 2 * n * len(filters) + 2`
    weighted layers. With `residual=False` the skip connections are dropped: the
    "plain" network of the same depth and width that the paper shows degrading
    as it gets deeper. Blocks are named `conv{s}_block{b}` (stages conv2..); the
    feature layer is the last block's `_out`, e.g. `conv4_block3_out` for
    ResNet-20, or `post_relu` with `preact`.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            `2 ** len(filters)` (8 for three stages).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: Weighted layers, `2 * len(filters) * n + 2` (20, 32, 44, 56, 110
            for three stages). Defaults to 20.
        filters: Filters per stage; their number is the number of stages.
            Defaults to (16, 32, 64).
        residual: Keep the skip connections (projection shortcuts where the
            shape changes). Defaults to True.
        preact: Pre-activation blocks (ResNet v2). Defaults to False.
        norm: "batch", "layer", "group", "instance" or "none" after every
            convolution. Defaults to "batch".
        zero_init_residual: Start every block as its shortcut (see
            `build_resnet`). Defaults to False.
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "resnet{depth}" or "plain{depth}" (+ "_v2").
            Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: If `depth` does not fit `2 * len(filters) * n + 2`, or on
            another invalid argument or a too small input.

    Example:
        >>> build_cifar_resnet((32, 32, 3), 10, depth=20).count_params()
        274042
    """
    filters = check_positive_ints("filters", filters)
    per_stage = check_repeats_depth(depth, 2 * len(filters), f"{len(filters)} stages")
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    norm = resolve_norm(norm)
    if zero_init_residual and not residual:
        raise ValueError("zero_init_residual needs the skip connections (residual)")
    if name is None:
        name = ("resnet" if residual else "plain") + str(depth)
        name += "_v2" if preact else ""
    shape = check_input_shape(input_shape, min_size=2 ** len(filters), model_name=name)
    stages = [(stage_filters, per_stage) for stage_filters in filters]
    return _resnet_network(
        shape,
        head,
        name,
        stages,
        preact=preact,
        residual=residual,
        norm=norm,
        zero_init_residual=zero_init_residual,
    )


def build_plain_cnn(
    input_shape, num_classes: int, *, depth: int = 20, filters=(16, 32, 64), **kwargs
):
    """A deep plain CNN: `build_cifar_resnet` without the skip connections.

    Same layers, names, depth and widths as the residual twin
    `build_cifar_resnet(..., residual=True)`, except the residual network's 1x1
    projection shortcuts where a stage changes shape. Used for the "going deeper"
    experiment: at equal depth the plain network trains worse (degradation).

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            `2 ** len(filters)`.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: Weighted layers, `2 * len(filters) * n + 2`. Defaults to 20.
        filters: Filters per stage. Defaults to (16, 32, 64).
        **kwargs: The other keyword arguments of `build_cifar_resnet` (`preact`,
            `norm`, `dropout_rate`, `classifier_activation`, `name`; a None
            name gives "plain{depth}").

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: On an invalid argument or a too small input.

    Example:
        >>> build_plain_cnn((32, 32, 1), 10, depth=56, filters=(8, 16, 32)).name
        'plain56'
    """
    if "residual" in kwargs:
        raise ValueError("build_plain_cnn has no residual option (it is False)")
    return build_cifar_resnet(
        input_shape, num_classes, depth=depth, filters=filters, residual=False, **kwargs
    )


def build_wide_resnet(
    input_shape,
    num_classes: int,
    *,
    depth: int = 16,
    width: int = 4,
    block_dropout: float = 0.0,
    norm: str = "batch",
    zero_init_residual: bool = False,
    dropout_rate: float = 0.0,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """Wide ResNet WRN-`depth`-`width` (Zagoruyko & Komodakis 2016), CIFAR layout.

    A 16-filter 3x3 stem, three stages of `n = (depth - 4) / 6` pre-activation
    basic blocks with `16 * width`, `32 * width`, `64 * width` filters (stride 2
    at stages 2 and 3), BN-ReLU, global average pooling, predictions. Wider and
    shallower than the CIFAR ResNets: WRN-28-10 (36.5M parameters) beats
    ResNet-1001 on CIFAR. Blocks are `conv{s}_block{b}` (stages conv2..conv4,
    see `apply_residual_block`); the feature layer is `post_relu`.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, at least
            8x8.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        depth: Weighted layers, `6 * n + 4` (10, 16, 22, 28, 40...). Defaults to
            16.
        width: Widening factor k. Defaults to 4.
        block_dropout: Dropout between the two convolutions of every block (the
            paper's 0.3 on CIFAR). Defaults to 0.0.
        norm: "batch", "layer", "group", "instance" or "none". Defaults to
            "batch".
        zero_init_residual: Start every block as its shortcut (see
            `build_resnet`). Defaults to False.
        dropout_rate: Dropout before the output layer. Defaults to 0.0.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name; None gives "wrn{depth}_{width}". Defaults to None.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: If `depth` is not `6 * n + 4`, or on another invalid argument.

    Example:
        >>> build_wide_resnet((32, 32, 3), 10, depth=16, width=4).count_params()
        2752522
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or (depth - 4) % 6:
        raise ValueError(f"depth must be 6 * n + 4 (10, 16, 22, 28, 40), got {depth!r}")
    if depth < 10:
        raise ValueError(f"depth must be 6 * n + 4 with n >= 1, got {depth}")
    (width,) = check_positive_ints("width", width)
    block_dropout = check_dropout(block_dropout)
    head = HeadOptions(num_classes, dropout_rate, classifier_activation)
    norm = resolve_norm(norm)
    name = name or f"wrn{depth}_{width}"
    shape = check_input_shape(input_shape, min_size=8, model_name=name)
    stages = [(base * width, (depth - 4) // 6) for base in (16, 32, 64)]
    return _resnet_network(
        shape,
        head,
        name,
        stages,
        stem_filters=16,
        preact=True,
        norm=norm,
        block_dropout=block_dropout,
        zero_init_residual=zero_init_residual,
    )
