"""Model registry: names -> builder specs, `build_model` and `list_models`.

The registry is plain data so that the CLI can offer the names as choices without
importing Keras or TensorFlow (`kerasvision --help` stays fast). Builders are
referenced by import path and resolved only when a model is built.
"""

from __future__ import annotations

import fnmatch

from kerasvision._registry import lookup
from kerasvision.models._classic_specs import CLASSIC_MODELS
from kerasvision.models._spec import ModelSpec
from kerasvision.models.applications import application_specs

__all__ = [
    "MODELS",
    "ModelSpec",
    "build_model",
    "feature_layer_name",
    "find_feature_layer",
    "get_model_spec",
    "list_models",
]


MODELS: dict[str, ModelSpec] = {
    "bipyramidal_cnn": ModelSpec(
        builder="kerasvision.models.cnn:build_bipyramidal_cnn",
        description="Conv blocks (3x3 convs + 2x2 pooling), filters doubling, "
        "dense head; the lectures' scratch CNN.",
        default_size=64,
        min_size=8,
    ),
    "lenet5": ModelSpec(
        builder="kerasvision.models.cnn:build_lenet5",
        description="LeNet-5 (LeCun et al. 1998): tanh convs, average pooling, "
        "120-84 dense head.",
        default_size=32,
        min_size=32,
        feature_layer="c3_conv",
    ),
    "mlp": ModelSpec(
        builder="kerasvision.models.mlp:build_mlp",
        description="Multilayer perceptron: flatten, dense 256-128 with dropout; "
        "the no-convolution baseline.",
        default_size=32,
        min_size=1,
    ),
    **CLASSIC_MODELS,
    **application_specs(),
}


def list_models(pattern: str = "*") -> list[str]:
    """Names of the registered models matching a glob pattern, sorted.

    Args:
        pattern: `fnmatch` pattern on the name. Defaults to `"*"`.

    Returns:
        The sorted list of matching names.

    Example:
        >>> list_models("lenet*")
        ['lenet5']
    """
    return sorted(name for name in MODELS if fnmatch.fnmatch(name, pattern))


def get_model_spec(name: str) -> ModelSpec:
    """The registry entry for `name`; `ValueError` naming the choices if unknown."""
    return lookup(MODELS, name, "unknown model {name!r}; choose one of: {listed}")


def build_model(name: str, input_shape, num_classes: int, **kwargs):
    """Build a registered architecture by name.

    Args:
        name: A key of `MODELS` (see `list_models()`).
        input_shape: `(height, width, channels)` of the raw-pixel input.
        num_classes: Number of classes (2 gives one sigmoid unit by default).
        **kwargs: Builder keyword arguments, applied over the entry's `defaults`.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        ValueError: If the name is unknown or an argument is invalid.

    Example:
        >>> model = build_model("bipyramidal_cnn", (32, 32, 3), 5, filters=(8, 16))
    """
    spec = get_model_spec(name)
    builder = spec.resolve_builder()
    return builder(tuple(input_shape), num_classes, **{**spec.defaults, **kwargs})


def find_feature_layer(model) -> str:
    """Name of the last layer whose output is a spatial map of at least 2x2.

    Nested models count as one layer (their output is what the parent sees). This
    is the Grad-CAM default when a registry entry names no feature layer.

    Raises:
        ValueError: If the model has no such layer.
    """
    for layer in reversed(model.layers):
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if shape is not None and len(shape) == 4:
            height, width = shape[1], shape[2]
            if height is not None and width is not None and height >= 2 and width >= 2:
                if not layer.name.endswith("pool") and "input" not in layer.name:
                    return layer.name
    raise ValueError(f"model {model.name!r} has no spatial feature layer (>= 2x2)")


def feature_layer_name(model, name: str | None = None) -> str:
    """The feature layer of `model`: the registry's name if it exists, else found."""
    if name in MODELS and MODELS[name].feature_layer:
        candidate = MODELS[name].feature_layer
        if any(layer.name == candidate for layer in model.layers):
            return candidate
    return find_feature_layer(model)
