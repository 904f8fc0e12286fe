"""Option choices shared by the library and the CLI (no heavy imports here)."""

RESIZE_MODES = ("stretch", "crop", "pad")
OPTIMIZERS = ("adam", "sgd", "adamw", "rmsprop")
CACHE_MODES = ("auto", "memory", "none")
PREDICT_FORMATS = ("csv", "json")
TRANSFER_MODES = ("feature-extraction", "fine-tune")
BN_CHOICES = ("frozen", "train")
FEATURE_CACHE_CHOICES = ("auto", "on", "off")
EXPORT_FORMATS = ("savedmodel", "onnx")
AUTOENCODER_TASKS = ("autoencoder", "denoising", "sparse", "vae", "segmentation")
# fit options that mean nothing for the autoencoder/segmentation tasks.
CLASSIFIER_ONLY_OPTIONS = (
    "model",
    "backbone",
    "mode",
    "weights",
    "unfreeze",
    "warmup_epochs",
    "fine_tune_lr",
    "bn",
    "feature_cache",
    "augment",
    "label_smoothing",
    "class_weight",
    "weight_decay",
    "kernel_initializer",
    "resume",
    "early_stopping",
    "optimizer",
    "resize",
    "cache",
    "tensorboard",
    "precision",
    "jit_compile",
    "distribute",
    "dropout_rate",
    "batch_norm",
    "l1",
    "l2",
)
