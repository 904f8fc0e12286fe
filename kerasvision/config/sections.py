"""The sections of `FitConfig`: every option of `fit`, declared once.

Each section is a frozen dataclass whose fields carry their `Option`
(help, the tasks and recipes they apply to, the command-line parser).
`FitConfig` is all sections together (flat: `config.epochs`), `ModelArgs`
are command-line shortcuts into `model_kwargs`, and `RunOptions` are the
arguments of `fit` itself (where the run goes), so `kerasvision fit --help`
and `kerasvision.fit`'s docstring list every one of them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kerasvision._choices import (
    BN_POLICIES,
    CACHE_MODES,
    DISTRIBUTE_MODES,
    FEATURE_CACHE_MODES,
    NORMALIZATIONS,
    OPTIMIZERS,
    PRECISIONS,
    RESIZE_MODES,
    SCHEDULES,
    TRANSFER_MODES,
)
from kerasvision.config.options import Cli, option
from kerasvision.config.parsing import (
    parse_channels,
    parse_learning_rate,
    parse_model_args,
)
from kerasvision.config.tasks import task_names

__all__ = [
    "AutoencoderOptions",
    "DataOptions",
    "ModelArgs",
    "ModelOptions",
    "RunOptions",
    "TrainingOptions",
    "TransferOptions",
]

_TRANSFER = ("feature-extraction", "fine-tune")
_FINE_TUNE = ("fine-tune",)
_AUTOENCODERS = ("autoencoder", "denoising", "sparse", "vae")


def _dataset_names():
    from kerasvision.data.datasets import list_datasets

    return list_datasets()


def _model_names():
    from kerasvision.models import list_models

    return list_models()


def _check_track(text: str) -> str:
    from kerasvision.tracking import check_track

    return check_track(text)


@dataclass(frozen=True)
class DataOptions:
    SECTION = "Data"

    data: str | None = option(
        None,
        "Folder of images: one sub-folder per class, or train/ val/ test/ "
        "folders of class folders (their splits are kept), or a CSV of labels "
        "beside the images",
        doc="(`kerasvision.fit` also takes `(x, y)` arrays or an `ImageData`)",
        cli=Cli(argument="DATA_DIR"),
    )
    dataset: str | None = option(
        None,
        "Built-in dataset when DATA_DIR is not given (default: digits)",
        cli=Cli("choice", choices=_dataset_names),
    )
    image_size: Any = option(
        None,
        "N or HxW (default: the arrays' natural size, the model's default size "
        "for folders; scaled up to the model's minimum)",
        cli=Cli(metavar="N|HxW"),
    )
    channels: int | None = option(
        None,
        "Image channels (default: 3 for folders, the arrays' own)",
        cli=Cli("choice", choices=("1", "3", "4"), parse=parse_channels),
    )
    classes: list | None = option(
        None,
        "Train on these classes only, labelled 0..k-1 in this order; top:K takes "
        "the K classes with the most images",
        doc="(folders and built-in datasets; an unknown name is an error)",
        tasks="classifier",
        cli=Cli(metavar="A,B,...|top:K"),
    )
    resize: str = option(
        "stretch",
        "How images reach the model's size: stretch, crop (to the target aspect) "
        "or pad",
        tasks="classifier",
        cli=Cli("choice", choices=RESIZE_MODES),
    )
    val_split: float = option(
        0.1,
        "Validation fraction, carved (stratified) from the training images when "
        "the data gives no validation split; 0: no validation",
        cli=Cli("float", metavar="F"),
    )
    test_split: float = option(
        0.1,
        "Test fraction, carved (stratified) when the data gives no test split",
        cli=Cli("float", metavar="F"),
    )
    group_by: str | None = option(
        None,
        "Keep files whose paths share the regex's key (first group) in one split; "
        "duplicates always are",
        cli=Cli(metavar="REGEX"),
    )
    val_dir: str | None = option(
        None,
        "Validation folder (one folder per class); DATA is then the training folder",
        tasks="classifier",
        cli=Cli(metavar="DIR"),
    )
    test_dir: str | None = option(
        None,
        "Test folder (one folder per class); DATA is then the training folder",
        tasks="classifier",
        cli=Cli(metavar="DIR"),
    )
    labels: Any = option(
        None,
        "CSV of labels with a header row (path,label[,split]) for the images "
        "of DATA (paths relative to it, or absolute inside it)",
        doc="(`kerasvision.fit` also takes a pandas DataFrame; the run stores "
        "it as labels.csv)",
        tasks="classifier",
        cli=Cli(metavar="FILE.csv"),
    )
    path_column: str | None = option(
        None,
        "The --labels column of image paths (default: the first)",
        tasks="classifier",
        cli=Cli(metavar="NAME"),
    )
    label_column: str | None = option(
        None,
        "The --labels column of labels (default: the second)",
        tasks="classifier",
        cli=Cli(metavar="NAME"),
    )
    split_column: str | None = option(
        None,
        "The --labels column of splits: train, val or test (default: a column "
        "named split, if any)",
        tasks="classifier",
        cli=Cli(metavar="NAME"),
    )
    label_delim: str | None = option(
        None,
        "Separator of several labels in one --labels cell: multi-label data, "
        "trained with --task multilabel (chosen by this option)",
        tasks="classifier",
        cli=Cli(metavar="TEXT"),
    )
    cache: str = option(
        "auto",
        "Decoded-image cache: auto (in memory when it fits 1 GiB), memory or none",
        tasks="classifier",
        cli=Cli("choice", choices=CACHE_MODES),
    )


@dataclass(frozen=True)
class ModelOptions:
    SECTION = "Model"

    task: str = option(
        "classification",
        "What to train (`kerasvision.config.TASKS`): classification, multilabel "
        "(a set of labels per image; chosen by --label-delim), or an "
        "autoencoder task (autoencoder, denoising, sparse, vae, segmentation)",
        lr_find=False,
        cli=Cli("choice", choices=task_names),
    )
    model: str | None = option(
        None,
        "Registered scratch architecture (see `kerasvision models`; default: "
        "bipyramidal_cnn)",
        tasks="classifier",
        recipes=("scratch",),
        cli=Cli("choice", choices=_model_names, metavar="NAME"),
    )
    model_kwargs: dict = option(
        default_factory=dict,
        help="Builder argument, e.g. --model-arg 'filters=(16,32)'; repeatable",
        doc="(with a backbone, `build_transfer_classifier`'s: pooling, "
        "dropout_rate, dense_units...)",
        cli=Cli("multiple", flag="--model-arg", metavar="KEY=VALUE",
                parse=parse_model_args),
    )  # fmt: skip
    kernel_initializer: str | None = option(
        None,
        "Scratch models' kernels, e.g. he_uniform, normal, normal:0,1, "
        "uniform:-0.1,0.1, constant:0.1, torch_uniform",
        tasks="classifier",
        recipes=("scratch",),
        cli=Cli(metavar="NAME"),
    )


@dataclass(frozen=True)
class TransferOptions:
    SECTION = "Transfer learning"

    backbone: str | None = option(
        None,
        "Transfer learning: a keras.applications backbone (see `kerasvision "
        "backbones`), a kerasvision .keras model / run directory (Model A), or "
        "hub:PRESET (a KerasHub preset name or directory; kerasvision[hub])",
        tasks="classifier",
        cli=Cli(metavar="NAME|PATH|hub:PRESET"),
    )
    mode: str = option(
        "feature-extraction",
        "feature-extraction (frozen backbone, --epochs of head training) or "
        "fine-tune (--warmup-epochs of head training, then --epochs with the "
        "--unfreeze part trainable at --fine-tune-lr)",
        tasks="classifier",
        recipes=_TRANSFER,
        cli=Cli("choice", choices=TRANSFER_MODES),
    )
    weights: str | None = option(
        "imagenet",
        "Backbone weights: imagenet (Keras download/cache), none, or a local "
        ".h5/.weights.h5 path",
        tasks="classifier",
        recipes=_TRANSFER,
        cli=Cli(metavar="imagenet|none|PATH"),
    )
    unfreeze: str | None = option(
        None,
        "What fine-tuning trains: all, top:N, from:LAYER or blocks:K "
        "(default: blocks:2)",
        tasks="classifier",
        recipes=_FINE_TUNE,
        cli=Cli(metavar="all|top:N|from:LAYER|blocks:K"),
    )
    warmup_epochs: int | None = option(
        None,
        "Head-only epochs before fine-tuning (default: 15, the feature-extraction "
        "recipe's epochs, on cached features)",
        tasks="classifier",
        recipes=_FINE_TUNE,
        cli=Cli("int", minimum=0),
    )
    fine_tune_lr: float | None = option(
        None,
        "Learning rate of the fine-tuning phase (default: 1e-4, or --lr / 10 "
        "with --lr)",
        tasks="classifier",
        recipes=_FINE_TUNE,
        cli=Cli("float"),
    )
    lr_mult: float | None = option(
        None,
        "Fine-tuning: the earliest backbone layer learns at this multiple of the "
        "rate, later ones geometrically closer to it (default: 0.1)",
        tasks="classifier",
        recipes=_FINE_TUNE,
        cli=Cli("float", minimum=0.0, maximum=1.0, min_open=True),
    )
    bn: str = option(
        "frozen",
        "BatchNorm of the backbone: frozen (inference mode, statistics fixed) or train",
        tasks="classifier",
        recipes=_TRANSFER,
        cli=Cli("choice", choices=BN_POLICIES),
    )
    feature_cache: str = option(
        "auto",
        "Train on cached backbone features while it is frozen, and on cached "
        "activations of its frozen part while fine-tuning (auto: when nothing "
        "random runs before the head; the model is identical)",
        tasks="classifier",
        recipes=_TRANSFER,
        cli=Cli("choice", choices=FEATURE_CACHE_MODES),
    )


@dataclass(frozen=True)
class AutoencoderOptions:
    SECTION = "Autoencoder tasks"

    latent_dim: int | None = option(
        None,
        "Autoencoder code size (default: the builder's; 2 for vae)",
        tasks=_AUTOENCODERS,
        lr_find=False,
        cli=Cli("int", minimum=1),
    )
    noise: str | None = option(
        None,
        "Denoising task: the training-only corruption (default: gaussian=0.3)",
        tasks=("denoising",),
        lr_find=False,
        cli=Cli(metavar="gaussian=0.3|salt_pepper=0.1|mask=0.25[@PATCH]"),
    )


@dataclass(frozen=True)
class TrainingOptions:
    SECTION = "Training"

    epochs: int | None = option(
        None,
        "Training epochs (of the fine-tuning phase with --mode fine-tune)",
        doc="(default: 15; scratch: fewer on large training sets, at least 3, "
        "see `kerasvision.config.RECIPES`; fine-tune and autoencoders: 10)",
        lr_find=False,
        cli=Cli("int", minimum=1),
    )
    batch_size: int = option(32, "Batch size", cli=Cli("int", minimum=1))
    accumulate: int | None = option(
        None,
        "Update the weights once every N batches with their averaged gradients "
        "(gradient accumulation): the effective batch of N x --batch-size in the "
        "memory of one --batch-size",
        tasks="classifier",
        lr_find=False,
        cli=Cli("int", minimum=1, metavar="N"),
    )
    optimizer: str = option(
        "adam",
        "Optimizer (sgd with momentum 0.9)",
        tasks="classifier",
        cli=Cli("choice", choices=OPTIMIZERS),
    )
    momentum: float | None = option(
        None,
        "Momentum of --optimizer sgd (default: 0.9; 0 is plain gradient descent, "
        "W <- W - lr * gradient) or rmsprop (default: 0)",
        tasks="classifier",
        cli=Cli("float", minimum=0.0, maximum=1.0, max_open=True),
    )
    lr: Any = option(
        None,
        "Learning rate (peak of each phase's schedule); auto: run lr-find first",
        doc="(default: 1e-3 scratch and autoencoders, 1e-2 a frozen backbone's "
        "head, scaled down when its phase has over 400 steps; the choice is "
        "recorded in run.json)",
        lr_find=False,
        cli=Cli(metavar="RATE|auto", parse=parse_learning_rate),
    )
    schedule: str | None = option(
        None,
        "Learning-rate curve of each phase after a linear warm-up: cosine (to 0), "
        "onecycle, step (x0.1 at 1/3 and 2/3) or constant (default: cosine; "
        "constant for the autoencoder tasks)",
        lr_find=False,
        cli=Cli("choice", choices=SCHEDULES),
    )
    lr_warmup: float | None = option(
        None,
        "Linear warm-up over this fraction of each phase's steps (default: 0.05)",
        lr_find=False,
        cli=Cli("float", minimum=0.0, maximum=1.0, max_open=True,
                metavar="FRACTION"),
    )  # fmt: skip
    ema: float | None = option(
        None,
        "Average the weights (EMA, momentum 0.99 if no value); validation, test "
        "and export use the averages",
        tasks="classifier",
        lr_find=False,
        cli=Cli("optional", minimum=0.0, maximum=1.0, min_open=True,
                max_open=True, flag_value=0.99, metavar="[MOMENTUM]"),
    )  # fmt: skip
    time_budget: float | None = option(
        None,
        "Choose --epochs so that training, evaluation and export end within "
        "SECONDS (measured on the first steps)",
        tasks="classifier",
        lr_find=False,
        cli=Cli("float", minimum=1.0, metavar="SECONDS"),
    )
    weight_decay: float | None = option(
        None,
        "AdamW's decoupled weight decay (needs --optimizer adamw; default 1e-4 there)",
        tasks="classifier",
        cli=Cli("float"),
    )
    label_smoothing: float | None = option(
        None,
        "Label smoothing of the loss (0-1; default: 0.1 for scratch models, 0 for "
        "transfer learning)",
        tasks="classifier",
        cli=Cli("float"),
    )
    class_weight: Any = option(
        None,
        "Per-class loss weights: balanced, or W1,W2,... in label order (as "
        "per-sample weights)",
        tasks="classifier",
        cli=Cli(metavar="balanced|W1,W2,..."),
    )
    augment: str | None = option(
        None,
        "Training-only augmentation, e.g. 'flip,rotate=0.1,zoom=0.2,"
        "cutmix=1.0@0.5,mixup=0.2@0.5' (see `kerasvision augment --help`)",
        tasks="classifier",
        cli=Cli(metavar="SPEC"),
    )
    early_stopping: int | None = option(
        None,
        "Stop after PATIENCE epochs without val_loss improvement (restoring the "
        "best weights)",
        tasks="classifier",
        lr_find=False,
        cli=Cli("int", minimum=1, metavar="PATIENCE"),
    )
    calibrate: bool = option(
        True,
        "Fit a temperature on the validation split; exports and predict serve the "
        "calibrated probabilities",
        tasks="classifier",
        cli=Cli("toggle"),
    )
    seed: int | None = option(
        None,
        "Seed of the split, initialization, shuffling and dropout: the same seed "
        "gives identical weights on CPU (default: a random seed, recorded)",
        cli=Cli("int"),
    )
    precision: str = option(
        "float32",
        "Keras dtype policy: float32, mixed_float16 or mixed_bfloat16 (outputs "
        "stay float32)",
        tasks="classifier",
        cli=Cli("choice", choices=PRECISIONS),
    )
    jit_compile: bool | None = option(
        None,
        "XLA (default: Keras auto; on turns op determinism off for the run)",
        tasks="classifier",
        cli=Cli("toggle"),
    )
    deterministic: bool = option(
        True,
        "TensorFlow op determinism, so that a seed repeats the run exactly on "
        "CPU; off trains faster (the default scratch CNN at 64 px: about 2x on "
        "2 cores) but a rerun is no longer bit-identical",
        tasks="classifier",
        cli=Cli("toggle"),
    )
    distribute: str = option(
        "none",
        "Data-parallel training: mirrored (this machine's GPUs) or multiworker "
        "(the processes in TF_CONFIG; only the chief writes the run); "
        "--batch-size is the global batch",
        tasks="classifier",
        lr_find=False,
        cli=Cli("choice", choices=DISTRIBUTE_MODES),
    )
    tensorboard: bool = option(
        False,
        "Write TensorBoard logs to RUN/logs",
        tasks="classifier",
        lr_find=False,
        cli=Cli("flag"),
    )
    # Runs recorded before it trained with per-run streams: reruns keep those.
    epoch_seeds: bool = option(
        True,
        "Seed each epoch's shuffle, augmentation and dropout from (seed, epoch), "
        "so a resumed run ends with the weights of an uninterrupted one (off: the "
        "per-run streams of runs recorded before this option)",
        cli=Cli("toggle"),
    )


@dataclass(frozen=True)
class ModelArgs:
    """Command-line shortcuts for common builder arguments (`model_kwargs`)."""

    SECTION = "Model"

    dropout_rate: float | None = option(
        None, "Dropout before the output layer", cli=Cli("float")
    )
    batch_norm: bool | None = option(
        None, "Scratch CNNs: batch normalization after each convolution",
        cli=Cli("toggle"),
    )  # fmt: skip
    norm: str | None = option(
        None,
        "Scratch models' normalization after each convolution",
        cli=Cli("choice", choices=NORMALIZATIONS),
    )
    l1: float | None = option(None, "L1 kernel regularization", cli=Cli("float"))
    l2: float | None = option(None, "L2 kernel regularization", cli=Cli("float"))


@dataclass(frozen=True)
class RunOptions:
    """The arguments of `fit` itself: where the run goes."""

    SECTION = "Run"

    output: str | None = option(
        None,
        "Run directory (default: saved_models/<model>-<data>-<time>)",
        lr_find=False,
        cli=Cli(metavar="DIR"),
    )
    overwrite: bool = option(
        False,
        "Replace a finished kerasvision run at --output (nothing else is ever "
        "replaced)",
        lr_find=False,
        cli=Cli("flag"),
    )
    resume: bool = option(
        False,
        "Continue the interrupted run at --output (or the latest one) from its "
        "last epoch checkpoint",
        lr_find=False,
        cli=Cli("flag"),
    )
    track: str | None = option(
        None,
        "Log the run to an experiment tracker: mlflow (at MLFLOW_TRACKING_URI, "
        "else a local ./mlruns store) or mlflow:URI (pip install "
        "kerasvision[mlflow])",
        lr_find=False,
        cli=Cli(metavar="mlflow|mlflow:URI", parse=_check_track),
    )
