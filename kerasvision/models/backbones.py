"""Registry of keras.applications backbones (plain data; no Keras import here).

Each entry says how to build the backbone without its top, which preprocessing
it expects (applied inside kerasvision models by `ImagenetPreprocessing`, or
`None` when the family already includes it: MobileNetV3, EfficientNet(V2),
ConvNeXt), its default and minimum input size, its last spatial feature layer
(`None`: the backbone's own output layer, for families whose last layer has an
auto-generated name), its parameter count without top, and how its layers group
into blocks (for `unfreeze("blocks:K")`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from kerasvision.models.hub import HUB_PREFIX

__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "build_backbone",
    "get_backbone_spec",
    "is_backbone_reference",
    "list_backbones",
    "load_with_weights",
    "raise_download_error",
]

_URL = re.compile(r"https?://\S+?/([^/\s:]+\.h5)")
# Keras's ways of saying that a weights file holds another architecture.
_MISMATCHES = (
    (
        re.compile(
            r"named ([^)]+)\)\s*for weight (\S+)\. Weight expects shape (\([^)]*\))\."
            r" Received saved weight with shape (\([^)]*\))"
        ),
        "layer {0} weight {1} is {2} in the model but {3} in the file",
    ),
    (
        re.compile(
            r"variable\.shape=(\([^)]*\)), Received: value\.shape=(\([^)]*\))\. "
            r"Target variable: <Variable path=([^,]+),"
        ),
        "weight {2} is {0} in the model but {1} in the file",
    ),
    (
        re.compile(r"Layer '([^']+)' expected (\d+) variables, but received (\d+)"),
        "layer {0} has {1} weight(s) in the model but {2} in the file",
    ),
)


@dataclass(frozen=True)
class BackboneSpec:
    """One keras.applications backbone.

    Attributes:
        constructor: Name of the `keras.applications` function.
        module: `keras.applications` submodule with `preprocess_input` and
            `decode_predictions`.
        preprocessing: "caffe", "tf", "torch", or None when the model includes it.
        default_size: ImageNet training resolution.
        min_size: Smallest input height/width keras.applications accepts.
        feature_layer: Last spatial feature layer, or None for the output layer.
        params: Parameters without the top (`include_top=False`).
        block_pattern: Regex whose first group names a layer's block.
        block_style: "prefix" (block names are in the layer names) or "boundary"
            (a matching layer closes a block, e.g. Inception's `mixedN`).
        fixed_size_with_weights: ImageNet weights need exactly `default_size`.
    """

    constructor: str
    module: str
    preprocessing: str | None
    default_size: int
    min_size: int
    feature_layer: str | None
    params: int
    block_pattern: str
    block_style: str = "prefix"
    fixed_size_with_weights: bool = False

    def block_of(self, layer_name: str) -> str | None:
        match = re.match(self.block_pattern, layer_name)
        return match.group(1) if match else None


def _entry(
    constructor,
    module,
    preprocessing,
    default_size,
    feature_layer,
    params,
    block_pattern,
    *,
    min_size=32,
    block_style="prefix",
    fixed=False,
):
    return BackboneSpec(
        constructor,
        module,
        preprocessing,
        default_size,
        min_size,
        feature_layer,
        params,
        block_pattern,
        block_style,
        fixed,
    )


_RESNET_BLOCKS = r"^(conv\d+_block\d+)_"
_EFFICIENTNET_BLOCKS = r"^(block\d+[a-z])_"
_CONVNEXT_BLOCKS = r"^(convnext_[a-z]+_(?:stage_\d+_block_\d+|downsampling_block_\d+))"

BACKBONES: dict[str, BackboneSpec] = {
    "vgg16": _entry("VGG16", "vgg16", "caffe", 224, "block5_conv3", 14714688,
                    r"^(block\d+)_"),
    "vgg19": _entry("VGG19", "vgg19", "caffe", 224, "block5_conv4", 20024384,
                    r"^(block\d+)_"),
    "resnet50": _entry("ResNet50", "resnet", "caffe", 224, "conv5_block3_out",
                       23587712, _RESNET_BLOCKS),
    "resnet101": _entry("ResNet101", "resnet", "caffe", 224, "conv5_block3_out",
                        42658176, _RESNET_BLOCKS),
    "resnet152": _entry("ResNet152", "resnet", "caffe", 224, "conv5_block3_out",
                        58370944, _RESNET_BLOCKS),
    "resnet50_v2": _entry("ResNet50V2", "resnet_v2", "tf", 224, "post_relu",
                          23564800, _RESNET_BLOCKS),
    "resnet101_v2": _entry("ResNet101V2", "resnet_v2", "tf", 224, "post_relu",
                           42626560, _RESNET_BLOCKS),
    "resnet152_v2": _entry("ResNet152V2", "resnet_v2", "tf", 224, "post_relu",
                           58331648, _RESNET_BLOCKS),
    "inception_v3": _entry("InceptionV3", "inception_v3", "tf", 299, "mixed10",
                           21802784, r"^(mixed\d+)$", min_size=75,
                           block_style="boundary"),
    "inception_resnet_v2": _entry(
        "InceptionResNetV2", "inception_resnet_v2", "tf", 299, "conv_7b_ac",
        54336736, r"^(block\d+_\d+_ac|mixed_\w+)$", min_size=75,
        block_style="boundary",
    ),
    "xception": _entry("Xception", "xception", "tf", 299, "block14_sepconv2_act",
                       20861480, r"^(block\d+)_", min_size=71),
    "mobilenet": _entry("MobileNet", "mobilenet", "tf", 224, "conv_pw_13_relu",
                        3228864, r"^conv_(?:dw|pw|pad)_(\d+)"),
    "mobilenet_v2": _entry("MobileNetV2", "mobilenet_v2", "tf", 224, "out_relu",
                           2257984, r"^(block_\d+|expanded_conv)_"),
    "mobilenet_v3_small": _entry("MobileNetV3Small", "mobilenet_v3", None, 224, None,
                                 939120, r"^(expanded_conv(?:_\d+)?)_"),
    "mobilenet_v3_large": _entry("MobileNetV3Large", "mobilenet_v3", None, 224, None,
                                 2996352, r"^(expanded_conv(?:_\d+)?)_"),
    "densenet121": _entry("DenseNet121", "densenet", "torch", 224, "relu", 7037504,
                          r"^(conv\d+_block\d+|pool\d+)_"),
    "densenet169": _entry("DenseNet169", "densenet", "torch", 224, "relu", 12642880,
                          r"^(conv\d+_block\d+|pool\d+)_"),
    "densenet201": _entry("DenseNet201", "densenet", "torch", 224, "relu", 18321984,
                          r"^(conv\d+_block\d+|pool\d+)_"),
    "nasnet_mobile": _entry("NASNetMobile", "nasnet", "tf", 224, None, 4269716,
                            r"^(normal_concat_\d+|reduction_concat_\w+)$",
                            block_style="boundary", fixed=True),
    "nasnet_large": _entry("NASNetLarge", "nasnet", "tf", 331, None, 84916818,
                           r"^(normal_concat_\d+|reduction_concat_\w+)$",
                           block_style="boundary", fixed=True),
    **{
        f"efficientnet_b{i}": _entry(
            f"EfficientNetB{i}", "efficientnet", None, size, "top_activation", params,
            _EFFICIENTNET_BLOCKS,
        )
        for i, (size, params) in enumerate([
            (224, 4049571), (240, 6575239), (260, 7768569), (300, 10783535),
            (380, 17673823), (456, 28513527), (528, 40960143), (600, 64097687),
        ])
    },
    **{
        f"efficientnet_v2_{variant.lower()}": _entry(
            f"EfficientNetV2{variant}", "efficientnet_v2", None, size,
            "top_activation", params, _EFFICIENTNET_BLOCKS,
        )
        for variant, size, params in [
            ("B0", 224, 5919312), ("B1", 240, 6931124), ("B2", 260, 8769374),
            ("B3", 300, 12930622), ("S", 384, 20331360), ("M", 480, 53150388),
            ("L", 480, 117746848),
        ]
    },
    **{
        f"convnext_{variant.lower()}": _entry(
            f"ConvNeXt{variant}", "convnext", None, 224, None, params, _CONVNEXT_BLOCKS
        )
        for variant, params in [
            ("Tiny", 27820128), ("Small", 49454688), ("Base", 87566464),
            ("Large", 196230336), ("XLarge", 348147968),
        ]
    },
}  # fmt: skip

_ALIASES = {spec.constructor.lower(): name for name, spec in BACKBONES.items()}


def list_backbones(pattern: str = "*") -> list[str]:
    """Registered backbone names matching a glob pattern, sorted."""
    import fnmatch

    return sorted(name for name in BACKBONES if fnmatch.fnmatch(name, pattern))


def get_backbone_spec(name: str) -> tuple[str, BackboneSpec]:
    """`(canonical name, spec)` for a registry name or a keras.applications name.

    Raises:
        ValueError: If the name is unknown.
    """
    key = name.lower().replace("-", "_")
    key = key if key in BACKBONES else _ALIASES.get(key.replace("_", ""), key)
    if key not in BACKBONES:
        raise ValueError(
            f"unknown backbone {name!r}; choose one of: {', '.join(list_backbones())}"
            " (or a path to a kerasvision .keras model / run directory, or "
            "hub:PRESET for a KerasHub backbone)"
        )
    return key, BACKBONES[key]


# === Building ===


def is_backbone_reference(value) -> bool:
    """True when `value` names a file or run directory (Model A) not a registry key.

    A `hub:PRESET` name (KerasHub, `kerasvision.models.hub`) is not one, even when
    its preset is a local directory.
    """
    text = os.fspath(value)
    if text.startswith(HUB_PREFIX):
        return False
    return text.endswith(".keras") or os.sep in text or os.path.exists(text)


def _check_weights(weights):
    if weights is None or weights == "imagenet":
        return weights
    path = os.fspath(weights)
    if path.lower() == "none":
        return None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    if not path.endswith(".h5"):
        raise ValueError(
            f"weights must be 'imagenet', None or a .h5/.weights.h5 file: {path}"
        )
    return path


def build_backbone(name: str, input_shape, *, weights=None):
    """A keras.applications backbone without its top.

    Args:
        name: Registry name (`list_backbones()`) or keras.applications name.
        input_shape: `(height, width, 3)`.
        weights: "imagenet" (Keras download and cache), None (random) or a path to
            a local `.h5` / `.weights.h5` file. Defaults to None.

    Returns:
        The backbone (a functional `keras.Model`).

    Raises:
        ValueError: On an unknown name, a too-small input, or an input size that
            the ImageNet weights of this family do not allow.
        FileNotFoundError: If a weights path does not exist.
        RuntimeError: If ImageNet weights must be downloaded and cannot be.
    """
    key, spec = get_backbone_spec(name)
    weights = _check_weights(weights)
    height, width, channels = (int(v) for v in input_shape)
    if min(height, width) < spec.min_size:
        raise ValueError(
            f"image size {height}x{width} is too small for {key}: it needs at least "
            f"{spec.min_size}x{spec.min_size}"
        )
    if channels != 3:
        raise ValueError(f"{key} takes 3-channel (RGB) images, got {channels} channels")
    if (
        weights == "imagenet"
        and spec.fixed_size_with_weights
        and (height, width) != (spec.default_size, spec.default_size)
    ):
        raise ValueError(
            f"{key}'s ImageNet weights need {spec.default_size}x{spec.default_size} "
            f"inputs, got {height}x{width}"
        )
    import keras

    constructor = getattr(keras.applications, spec.constructor)
    try:
        return load_with_weights(
            constructor, weights, include_top=False, input_shape=(height, width, 3)
        )
    except Exception as error:  # Keras raises a bare Exception for URL failures
        if weights == "imagenet":
            raise_download_error(error, f"{key} (ImageNet weights)")
        raise


def load_with_weights(constructor, weights, **kwargs):
    """`constructor(weights=weights, **kwargs)`; a local weights file of another
    architecture is one line naming the first layer and shapes that differ.

    Keras's warnings while loading are kept back when the load fails (they are
    its symptoms) and re-issued when it succeeds.

    Raises:
        ValueError: If `weights` is a file that does not fit the model.
    """
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = constructor(weights=weights, **kwargs)
        except ValueError as error:
            if weights in (None, "imagenet"):
                raise
            raise ValueError(
                f"--weights {weights} does not fit {constructor.__name__} (weights "
                f"of another architecture?): {_mismatch(str(error))}"
            ) from None
    for warning in caught:
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
    return model


def _mismatch(message: str) -> str:
    for pattern, template in _MISMATCHES:
        match = pattern.search(message)
        if match:
            return template.format(*match.groups())
    return message.strip().splitlines()[0]


def raise_download_error(error, what: str, cache: str = "~/.keras/models/"):
    """Turn Keras's URL-fetch failure into one clear line (RuntimeError)."""
    message = str(error)
    if "URL fetch failure" in message or "http" in message:
        match = _URL.search(message) or re.search(r"https?://\S+?/([^/\s:]+)", message)
        filename = match.group(1) if match else "a file"
        raise RuntimeError(
            f"could not download {filename} for {what} (offline?); pass --weights "
            f"PATH to a local .h5/.weights.h5 file, or put {filename} in {cache}"
        ) from None
