"""Registry entries of the classic architectures gathered in `models/classic.py`.

Plain data only (no Keras import): merged into `kerasvision.models.MODELS`. The
`defaults` shrink the paper widths so that every entry trains in seconds per
epoch on 32x32 images on a CPU; pass e.g. `width_multiplier=1.0` to `build_model`
for the paper's width. `min_size` is what the default (small-stem) build accepts;
`feature_layer` is the last spatial feature map of that build (at least 2x2 at
`default_size`).
"""

from __future__ import annotations

from kerasvision.models._spec import ModelSpec

_CLASSIC = "kerasvision.models.classic"

_VGG_LAST_CONVS = {"vgg11": 2, "vgg13": 2, "vgg16": 3, "vgg19": 4}
_VGG_LAYERS = {
    "vgg11": "8 convs",
    "vgg13": "10 convs",
    "vgg16": "13 convs",
    "vgg19": "16 convs",
}

# (depth, block, blocks per stage, blocks in the last stage)
_RESNETS = (
    (18, "basic", "(2,2,2,2)", 2),
    (34, "basic", "(3,4,6,3)", 3),
    (50, "bottleneck", "(3,4,6,3)", 3),
)
# Wide ResNets at the paper's widths (WRN-28-10: 36.5M parameters, slow on CPUs).
_WIDE_RESNETS = ((16, 4), (28, 10))

CLASSIC_MODELS: dict[str, ModelSpec] = {
    "alexnet": ModelSpec(
        builder=f"{_CLASSIC}:build_alexnet",
        description="AlexNet (Krizhevsky et al. 2012): 5 ReLU convs, overlapping "
        "max pooling, 2 dense layers, dropout; 1/4 width.",
        default_size=32,
        min_size=15,
        feature_layer="conv5_relu",
        defaults={"width_multiplier": 0.25},
    ),
    "zfnet": ModelSpec(
        builder=f"{_CLASSIC}:build_zfnet",
        description="ZFNet (Zeiler & Fergus 2013): AlexNet with a 7x7 stride-2 "
        "conv1 and stride-2 conv2; 1/4 width.",
        default_size=32,
        min_size=15,
        feature_layer="conv5_relu",
        defaults={"width_multiplier": 0.25},
    ),
    **{
        preset: ModelSpec(
            builder=f"{_CLASSIC}:build_vgg",
            description=f"{preset.upper()} (Simonyan & Zisserman 2014): "
            f"{_VGG_LAYERS[preset]} 3x3 in 5 blocks + 2 dense; 1/8 width, "
            "with batch norm.",
            default_size=32,
            min_size=32,
            feature_layer=f"block5_conv{last_conv}_relu",
            defaults={"depths": preset, "width_multiplier": 0.125, "batch_norm": True},
        )
        for preset, last_conv in _VGG_LAST_CONVS.items()
    },
    "inception_v1": ModelSpec(
        builder=f"{_CLASSIC}:build_inception_v1",
        description="GoogLeNet / Inception v1 (Szegedy et al. 2014): 9 inception "
        "modules, 2 auxiliary classifiers while training; 1/4 width.",
        default_size=32,
        min_size=16,
        feature_layer="inception5b_concat",
        defaults={"width_multiplier": 0.25},
        aux_loss_weight=0.3,
    ),
    **{
        f"resnet{depth}": ModelSpec(
            builder=f"{_CLASSIC}:build_resnet",
            description=f"ResNet-{depth} (He et al. 2015): {block} residual blocks "
            f"{stages}; 1/4 width.",
            default_size=32,
            min_size=16,
            feature_layer=f"conv5_block{last}_out",
            defaults={"depth": depth, "width_multiplier": 0.25},
        )
        for depth, block, stages, last in _RESNETS
    },
    "resnet20": ModelSpec(
        builder=f"{_CLASSIC}:build_cifar_resnet",
        description="CIFAR ResNet-20 (He et al. 2015): 3 stages x 3 basic blocks, "
        "16/32/64 filters.",
        default_size=32,
        min_size=8,
        feature_layer="conv4_block3_out",
        defaults={"depth": 20, "filters": (16, 32, 64)},
    ),
    **{
        f"wrn{depth}_{width}": ModelSpec(
            builder=f"{_CLASSIC}:build_wide_resnet",
            description=f"Wide ResNet WRN-{depth}-{width} (Zagoruyko & Komodakis "
            f"2016): 3 stages x {(depth - 4) // 6} pre-activation blocks, "
            f"{16 * width}/{32 * width}/{64 * width} filters.",
            default_size=32,
            min_size=8,
            feature_layer="post_relu",
            defaults={"depth": depth, "width": width},
        )
        for depth, width in _WIDE_RESNETS
    },
    "densenet121": ModelSpec(
        builder=f"{_CLASSIC}:build_densenet",
        description="DenseNet-121 (Huang et al. 2016): dense blocks (6,12,24,16), "
        "compression 0.5; growth rate 8.",
        default_size=32,
        min_size=16,
        feature_layer="final_relu",
        defaults={"blocks": (6, 12, 24, 16), "growth_rate": 8},
    ),
    "densenet_small": ModelSpec(
        builder=f"{_CLASSIC}:build_densenet",
        description="DenseNet-BC-40 (CIFAR style): 3 dense blocks of 6 layers, "
        "growth rate 12.",
        default_size=32,
        min_size=8,
        feature_layer="final_relu",
        defaults={"blocks": (6, 6, 6), "growth_rate": 12},
    ),
    "mobilenet_v1": ModelSpec(
        builder=f"{_CLASSIC}:build_mobilenet_v1",
        description="MobileNet v1 (Howard et al. 2017): 13 depthwise-separable "
        "blocks; alpha 0.25.",
        default_size=32,
        min_size=32,
        feature_layer="dw13_pointwise_relu",
        defaults={"alpha": 0.25},
    ),
    "plain_cnn": ModelSpec(
        builder=f"{_CLASSIC}:build_plain_cnn",
        description="Plain 32-layer CNN: residual_cnn without skip connections "
        "(the 'going deeper' degradation experiment).",
        default_size=32,
        min_size=8,
        feature_layer="conv4_block5_out",
        defaults={"depth": 32, "filters": (8, 16, 32)},
    ),
    "fractalnet": ModelSpec(
        builder=f"{_CLASSIC}:build_fractalnet",
        description="FractalNet (Larsson et al. 2016): 4 fractal blocks of 3 "
        "columns (1, 2, 4 convs), mean joins with local drop-path; 8-64 filters.",
        default_size=32,
        min_size=16,
        feature_layer="block4_out",
        defaults={"filters": (8, 16, 32, 64), "columns": 3},
    ),
    "pyramidnet": ModelSpec(
        builder=f"{_CLASSIC}:build_pyramidnet",
        description="PyramidNet (Han et al. 2017): 9 basic units widening "
        "additively from 16 to 64 channels (alpha 48), zero-padded shortcuts.",
        default_size=32,
        min_size=8,
        feature_layer="post_relu",
        defaults={"depth": 20, "alpha": 48},
    ),
    "residual_attention": ModelSpec(
        builder=f"{_CLASSIC}:build_residual_attention_network",
        description="Residual Attention Network, Attention-56 (Wang et al. "
        "2017): trunk x (1 + sigmoid mask) modules in 3 stages; 1/8 width.",
        default_size=32,
        min_size=16,
        feature_layer="post_relu",
        defaults={"depth": 56, "width_multiplier": 0.125},
    ),
    "residual_cnn": ModelSpec(
        builder=f"{_CLASSIC}:build_cifar_resnet",
        description="Residual twin of plain_cnn: same 32 layers and widths, with "
        "skip connections.",
        default_size=32,
        min_size=8,
        feature_layer="conv4_block5_out",
        defaults={"depth": 32, "filters": (8, 16, 32)},
    ),
}
