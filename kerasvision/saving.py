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

    Raises:
        RuntimeError: If the model holds a KerasHub backbone and keras_hub is
            not installed.
    """
    import keras

    register_custom_objects()
    if _uses_keras_hub(path):  # a KerasHub backbone registers on import
        from kerasvision.models.hub import import_keras_hub

        import_keras_hub()
    return keras.saving.load_model(path, compile=compile)


def _uses_keras_hub(path) -> bool:
    """True when a `.keras` archive's config names a keras_hub class."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return b'"keras_hub' in archive.read("config.json")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
