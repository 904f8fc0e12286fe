"""Saving and loading `.keras` files (kerasvision's registered objects included).

A run's `model.keras` is saved for inference (`inference_model`): the trained
layers and weights without the training state (optimizer, loss), so plain
`keras.saving.load_model` opens it when the model holds only Keras layers.
Checkpoints keep the optimizer, which `--resume` needs.
"""

from __future__ import annotations

__all__ = ["inference_model", "load_model", "register_custom_objects"]


def register_custom_objects() -> None:
    """Import every module that registers custom layers, initializers,
    schedules or optimizers (idempotent)."""
    import kerasvision.layers  # noqa: F401
    import kerasvision.models.autoencoders  # noqa: F401
    import kerasvision.optimization  # noqa: F401
    import kerasvision.regularization  # noqa: F401


def inference_model(model):
    """`model` without its training state: an uncompiled copy of a functional
    or sequential model with the same layers' configs and weights (the model
    itself when it cannot be cloned, e.g. a subclassed one)."""
    if not getattr(model, "compiled", False):
        return model
    try:  # not keras.models.clone_model: it compiles the copy again
        copy = type(model).from_config(model.get_config())
    except (ValueError, TypeError, NotImplementedError):
        return model
    copy.set_weights(model.get_weights())
    return copy


def load_model(path, *, compile: bool = True):
    """`keras.saving.load_model` with kerasvision's custom objects registered.

    Args:
        path: A `.keras` file.
        compile: Restore the optimizer/loss state. Defaults to True.

    Returns:
        The Keras model.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not an intact `.keras` archive (one line naming it).
        RuntimeError: If the model holds a KerasHub backbone and keras_hub is
            not installed.
    """
    import keras

    _check_archive(path)
    register_custom_objects()
    if _uses_keras_hub(path):  # a KerasHub backbone registers on import
        from kerasvision.models.hub import import_keras_hub

        import_keras_hub()
    return keras.saving.load_model(path, compile=compile)


def _check_archive(path) -> None:
    """`ValueError` naming `path` unless it is an intact `.keras` zip archive
    (Keras itself calls a damaged one "File not found")."""
    import os
    import zipfile

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()  # reads every member, checks its CRC
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ValueError(f"{path} is damaged or not a .keras file ({error})") from None
    if damaged is not None or "config.json" not in names:
        what = f"{damaged} is corrupt" if damaged else "no config.json"
        raise ValueError(f"{path} is damaged or not a .keras file ({what})")


def _uses_keras_hub(path) -> bool:
    """True when a `.keras` archive's config names a keras_hub class."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return b'"keras_hub' in archive.read("config.json")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
