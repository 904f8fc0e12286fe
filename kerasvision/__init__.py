"""kerasvision: the CNN image-classification workflow on Keras 3, one import away.

Public names are loaded lazily so that `import kerasvision` (and the CLI's
`--help`) does not import TensorFlow until a function is used.
"""

from __future__ import annotations

from kerasvision._lazy import lazy_package

__version__ = "0.1.0"

_PUBLIC = {
    # configuration and run directories
    "FitConfig": "kerasvision.config",
    "RunWriter": "kerasvision.runs",
    "load_run": "kerasvision.runs",
    "load_model": "kerasvision.saving",
    # data
    "ImageData": "kerasvision.data",
    "from_arrays": "kerasvision.data",
    "list_datasets": "kerasvision.data",
    "load_data": "kerasvision.data",
    "load_image_folder": "kerasvision.data",
    "load_images": "kerasvision.data",
    # models
    "MODELS": "kerasvision.models",
    "build_model": "kerasvision.models",
    "list_models": "kerasvision.models",
    "list_backbones": "kerasvision.models.backbones",
    "build_bipyramidal_cnn": "kerasvision.models.cnn",
    "build_lenet5": "kerasvision.models.cnn",
    "build_alexnet": "kerasvision.models.classic",
    "build_vgg": "kerasvision.models.classic",
    "build_inception_v1": "kerasvision.models.classic",
    "build_resnet": "kerasvision.models.classic",
    "build_cifar_resnet": "kerasvision.models.classic",
    "build_plain_cnn": "kerasvision.models.classic",
    "build_densenet": "kerasvision.models.classic",
    "build_mobilenet_v1": "kerasvision.models.classic",
    "count_multiply_adds": "kerasvision.models.classic",
    "strip_auxiliary_heads": "kerasvision.models.heads",
    "build_transfer_classifier": "kerasvision.models.transfer",
    "unfreeze": "kerasvision.models.transfer",
    "build_ensemble": "kerasvision.models.ensemble",
    # reuse of trained runs
    "load_backbone": "kerasvision.reuse",
    "load_encoder": "kerasvision.reuse",
    "encode": "kerasvision.reuse",
    # augmentation
    "build_augmentation": "kerasvision.augmentation",
    "apply_augmentation": "kerasvision.augmentation",
    # training
    "fit": "kerasvision.training",
    "fit_autoencoder": "kerasvision.training",
    "rerun": "kerasvision.training",
    "FitResult": "kerasvision.training",
    "AutoencoderResult": "kerasvision.training",
    "TrainingError": "kerasvision.training",
    # comparing runs and searching (kerasvision.tuning needs kerasvision[tune])
    "list_runs": "kerasvision.run_table",
    "tune": "kerasvision.tuning",
    # evaluation, export, ensembles
    "evaluate": "kerasvision.evaluation",
    "predict": "kerasvision.evaluation",
    "predict_pretrained": "kerasvision.evaluation",
    "export_saved_model": "kerasvision.export",
    "export_run": "kerasvision.export",
    "export_onnx": "kerasvision.export",
    "export_litert": "kerasvision.export",
    "ensemble_runs": "kerasvision.ensemble",
    # looking inside
    "visualize_run": "kerasvision.visualization.pictures",
    "write_report": "kerasvision.report",
    # data quality (kerasvision.doctor.doctor, kerasvision.review.review)
    "DoctorResult": "kerasvision.doctor",
    "ReviewResult": "kerasvision.review",
    "apply_review": "kerasvision.cleaning",
    "undo_clean": "kerasvision.cleaning",
}

lazy_package(__name__, _PUBLIC, globals(), also=("__version__",))
