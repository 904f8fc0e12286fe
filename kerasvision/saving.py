"""Loading `.keras` files that contain kerasvision's registered custom objects."""

from __future__ import annotations

import importlib

__all__ = ["load_model", "register_custom_objects"]

# Modules defining `@register_keras_serializable(package="kerasvision")` objects.
_CUSTOM_OBJECT_MODULES = (
    "kerasvision.layers",
    "kerasvision.optimization",
    "kerasvision.regularization",
    "kerasvision.augmentation",
    "kerasvision.models.autoencoders",
)


def register_custom_objects() -> None:
    """Import every module that registers custom layers/initializers (idempotent)."""
    for name in _CUSTOM_OBJECT_MODULES:
        importlib.import_module(name)


def load_model(path, *, compile: bool = True):
    """`keras.saving.load_model` with kerasvision's custom objects registered.

    Args:
        path: A `.keras` file.
        compile: Restore the optimizer/loss state. Defaults to True.

    Returns:
        The Keras model.
    """
    import keras

    register_custom_objects()
    return keras.saving.load_model(path, compile=compile)
