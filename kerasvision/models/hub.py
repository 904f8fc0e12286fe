"""KerasHub image backbones: `--backbone hub:PRESET` (keras_hub imported lazily).

A preset is a KerasHub preset name (e.g. "resnet_50_imagenet", downloaded and
cached by KerasHub, so it needs internet the first time), a Kaggle/Hugging Face
handle, or a local preset directory written by `Backbone.save_to_preset` and
`ImageConverter.save_to_preset`. The preset's `ImageConverter` goes inside the
transfer classifier (named `preprocessing`), so the model and its exports take raw
0-255 pixels. Only its scale and offset act there: its resize is switched off
and the data pipeline resizes instead (to `--image-size`, by default the
preset's size), which is what keras.applications backbones do too.
"""

from __future__ import annotations

import os
import re

__all__ = [
    "HUB_MIN_SIZE",
    "HUB_PREFIX",
    "build_hub_backbone",
    "hub_default_size",
    "hub_feature_layer",
    "hub_label",
    "hub_preset",
    "import_keras_hub",
    "is_hub_backbone",
    "is_hub_model",
    "load_hub_converter",
]

HUB_PREFIX = "hub:"
#: Smallest input side: 32 leaves a 1x1 map after the five stride-2 stages of
#: the usual CNN backbones (as for keras.applications).
HUB_MIN_SIZE = 32
_DEFAULT_SIZE = 224  # a converter without an image size
_MISSING = "keras_hub is not installed: pip install kerasvision[hub]"
_CONVERTER_FILE = "image_converter.json"


def is_hub_backbone(value) -> bool:
    """True when `value` is a `hub:PRESET` backbone name."""
    return isinstance(value, str) and value.startswith(HUB_PREFIX)


def hub_preset(value: str) -> str:
    """The preset part of `hub:PRESET`.

    Raises:
        ValueError: If the preset is empty.
    """
    preset = value[len(HUB_PREFIX) :].strip() if is_hub_backbone(value) else ""
    if not preset:
        raise ValueError(
            f"--backbone {value!r}: give hub:PRESET with a KerasHub preset name "
            "(e.g. hub:resnet_50_imagenet) or a local preset directory"
        )
    return preset


def hub_label(value: str) -> str:
    """A Keras-safe name for the preset (its last path part), e.g. for models."""
    tail = os.path.basename(os.path.normpath(hub_preset(value))) or "preset"
    return "hub_" + re.sub(r"[^A-Za-z0-9_]", "_", tail)


def import_keras_hub():
    """The `keras_hub` module.

    Raises:
        RuntimeError: If keras_hub is not installed (one line naming the extra).
    """
    try:
        import keras_hub
    except ImportError:
        raise RuntimeError(_MISSING) from None
    return keras_hub


def is_hub_model(model) -> bool:
    """True for a model (or layer) whose class comes from keras_hub."""
    return type(model).__module__.startswith("keras_hub")


# === Loading a preset ===


def _is_local(preset: str) -> bool:
    return "://" not in preset and (
        os.path.exists(preset) or os.sep in preset or preset.startswith(".")
    )


def _check_local(preset: str) -> None:
    if not os.path.isdir(preset):
        raise FileNotFoundError(f"KerasHub preset directory not found: {preset}")
    if not os.path.isfile(os.path.join(preset, "config.json")):
        raise ValueError(
            f"{preset} is not a KerasHub preset directory (no config.json; write "
            "one with backbone.save_to_preset(DIR))"
        )
    if not os.path.isfile(os.path.join(preset, _CONVERTER_FILE)):
        raise ValueError(_no_converter(preset))


def _no_converter(preset: str) -> str:
    return (
        f"KerasHub preset {preset!r} has no {_CONVERTER_FILE}, so kerasvision "
        "cannot put its preprocessing inside the model; save one with "
        "keras_hub.layers.ImageConverter(...).save_to_preset(DIR)"
    )


def _load(preset: str, loader):
    """Run a keras_hub preset loader, turning its failures into one clear line."""
    if _is_local(preset):
        _check_local(preset)
        return loader()
    try:
        return loader()
    except FileNotFoundError:
        raise ValueError(_no_converter(preset)) from None
    except ValueError as error:
        if "Unknown preset identifier" in str(error):
            raise ValueError(
                f"unknown KerasHub preset {preset!r}: give a KerasHub preset name "
                "(e.g. resnet_50_imagenet) or a local preset directory"
            ) from None
        raise ValueError(f"KerasHub preset {preset!r}: {error}") from None
    except Exception:  # requests/huggingface errors: no common base class
        raise RuntimeError(
            f"could not download KerasHub preset {preset!r} (offline?); pass "
            "--backbone hub:DIR with a local preset directory"
        ) from None


def load_hub_converter(value: str, *, name: str = "preprocessing"):
    """The preset's `ImageConverter`, with its resize switched off.

    Args:
        value: `hub:PRESET`.
        name: Layer name. Defaults to "preprocessing".

    Returns:
        `(converter, image_size)`: the layer, and the preset's `(height, width)`
        (None when it has none).

    Raises:
        RuntimeError: If keras_hub is missing or the preset cannot be downloaded.
        ValueError, FileNotFoundError: On a bad or unknown preset.
    """
    preset = hub_preset(value)
    keras_hub = import_keras_hub()
    converter = _load(
        preset, lambda: keras_hub.layers.ImageConverter.from_preset(preset, name=name)
    )
    size = converter.image_size
    converter.image_size = None  # the data pipeline resizes
    return converter, (tuple(int(v) for v in size) if size else None)


def hub_default_size(value: str) -> int:
    """The preset's image side (its converter's larger side), else 224."""
    _, size = load_hub_converter(value)
    return max(size) if size else _DEFAULT_SIZE


def build_hub_backbone(value: str, input_shape, *, weights="imagenet"):
    """The preset's backbone at `input_shape`, and its preprocessing layer.

    Args:
        value: `hub:PRESET`.
        input_shape: `(height, width, 3)`.
        weights: "imagenet" (any non-None value: the preset's pretrained
            weights) or None (random initialisation from the preset's
            architecture). Defaults to "imagenet".

    Returns:
        `(backbone, converter)`: a keras_hub `Backbone` (a functional
        `keras.Model` ending at a spatial feature map) and the `ImageConverter`.

    Raises:
        RuntimeError: If keras_hub is missing or the preset cannot be downloaded.
        ValueError, FileNotFoundError: On a bad preset, a weights file (presets
            bring their own weights), a too-small input, or a backbone whose
            output is not a spatial feature map (e.g. a ViT's tokens).
    """
    preset = hub_preset(value)
    if weights not in (None, "imagenet"):
        raise ValueError(
            f"--weights {weights} is for keras.applications backbones; {value} "
            "brings the preset's weights (or pass --weights none)"
        )
    height, width, channels = (int(v) for v in input_shape)
    if min(height, width) < HUB_MIN_SIZE:
        raise ValueError(
            f"image size {height}x{width} is too small for {value}: it needs at "
            f"least {HUB_MIN_SIZE}x{HUB_MIN_SIZE}"
        )
    converter, _ = load_hub_converter(value)
    keras_hub = import_keras_hub()
    import keras

    # A preset records its dtype ("float32"): follow --precision instead.
    options = {
        "load_weights": weights is not None,
        "dtype": keras.config.dtype_policy().name,
    }

    def load():
        cls = keras_hub.models.Backbone
        try:  # a fixed size: known feature-map shapes for Grad-CAM and ONNX
            return cls.from_preset(
                preset, image_shape=(height, width, channels), **options
            )
        except TypeError:  # a backbone class without `image_shape`
            return cls.from_preset(preset, **options)

    backbone = _load(preset, load)
    shape = backbone.output.shape if len(backbone.outputs) == 1 else None
    if shape is None or len(shape) != 4:
        raise ValueError(
            f"{value} is not an image backbone with a spatial feature map "
            f"(its output is {shape if shape is not None else 'a structure'}); "
            "kerasvision takes convolutional KerasHub backbones"
        )
    return backbone, converter


def hub_feature_layer(backbone) -> str:
    """Name of the layer giving the backbone's last spatial feature map."""
    from kerasvision.models.heads import output_layer

    return (output_layer(backbone) or backbone.layers[-1]).name
