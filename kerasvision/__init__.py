"""kerasvision: the CNN image-classification workflow on Keras 3, one import away.

Public names are loaded lazily so that `import kerasvision` (and the CLI's
`--help`) does not import TensorFlow until a function is used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "fit": "kerasvision.training",
    "FitResult": "kerasvision.training",
    "evaluate": "kerasvision.evaluation",
    "predict": "kerasvision.evaluation",
    "load_run": "kerasvision.runs",
    "load_model": "kerasvision.saving",
    "build_transfer_classifier": "kerasvision.models.transfer",
    "unfreeze": "kerasvision.models.transfer",
    "list_backbones": "kerasvision.models.backbones",
    "build_augmentation": "kerasvision.augmentation",
    "apply_augmentation": "kerasvision.augmentation",
    "build_ensemble": "kerasvision.regularization",
    "ensemble_runs": "kerasvision.ensemble",
    "predict_pretrained": "kerasvision.evaluation",
    "export_saved_model": "kerasvision.export",
    "export_run": "kerasvision.export",
    "export_onnx": "kerasvision.export",
    "load_data": "kerasvision.data",
    "load_image_folder": "kerasvision.data",
    "from_arrays": "kerasvision.data",
    "ImageData": "kerasvision.data",
    "build_model": "kerasvision.models",
    "list_models": "kerasvision.models",
    "MODELS": "kerasvision.models",
    "build_bipyramidal_cnn": "kerasvision.models.cnn",
    "build_lenet5": "kerasvision.models.cnn",
    "list_datasets": "kerasvision.datasets",
    "build_alexnet": "kerasvision.models.classic",
    "build_vgg": "kerasvision.models.classic",
    "build_inception_v1": "kerasvision.models.classic",
    "build_resnet": "kerasvision.models.classic",
    "build_cifar_resnet": "kerasvision.models.classic",
    "build_plain_cnn": "kerasvision.models.classic",
    "build_densenet": "kerasvision.models.classic",
    "build_mobilenet_v1": "kerasvision.models.classic",
    "strip_auxiliary_heads": "kerasvision.models.classic",
    "count_multiply_adds": "kerasvision.models.classic",
    "write_report": "kerasvision.report",
    "fit_autoencoder": "kerasvision.autoencoding",
    "encode": "kerasvision.autoencoding",
    "load_encoder": "kerasvision.autoencoding",
    "visualize_run": "kerasvision.report",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str):
    module_name = _PUBLIC.get(name)
    if module_name is None:
        raise AttributeError(f"module 'kerasvision' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
