"""Options shared by the commands: one decorator each, choices from the registries.

Every option defaults to None so that only what the user set is passed on and
each default lives once, in the library. Values are converted here (click
callbacks); checking them is the library's job (`FitConfig`).
"""

from __future__ import annotations

import click

from kerasvision._choices import (
    AUTOENCODER_TASKS,
    BN_POLICIES,
    CACHE_MODES,
    DISTRIBUTE_MODES,
    EXPORT_FORMATS,
    FEATURE_CACHE_MODES,
    NORMALIZATIONS,
    OPTIMIZERS,
    PRECISIONS,
    QUANTIZE_MODES,
    RESIZE_MODES,
    SCHEDULES,
    TRANSFER_MODES,
    TTA_MODES,
)
from kerasvision.cli._support import UserError

__all__ = [
    "batch_size_option",
    "data_dir_argument",
    "dataset_option",
    "fit_options",
    "lr_find_options",
    "given",
    "image_size_option",
    "min_confidence_option",
    "output_option",
    "overwrite_option",
    "run_argument",
    "seed_option",
    "tta_option",
]


def given(**options) -> dict:
    """Only the options the user set (so library defaults apply)."""
    return {key: value for key, value in options.items() if value is not None}


def _dataset_names():
    from kerasvision.data.datasets import list_datasets

    return list_datasets()


def _model_names():
    from kerasvision.models import list_models

    return list_models()


def _parse_model_args(context, parameter, values):
    """`KEY=VALUE` items -> a dict (values as Python literals, else strings)."""
    import ast

    parsed = {}
    for item in values or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--model-arg must be KEY=VALUE, got {item!r}")
        try:
            parsed[key.strip()] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            if any(c in raw for c in "()[]{},'\""):
                raise UserError(
                    f"--model-arg {key.strip()}: {raw!r} is not a valid Python "
                    f"literal (e.g. 16, 0.5, True, (16, 32), 'relu')"
                ) from None
            parsed[key.strip()] = raw
    return parsed or None


def _to_int(context, parameter, value):
    return None if value is None else int(value)


# === Arguments and options of several commands ===

data_dir_argument = click.argument(
    "data_dir", required=False, type=click.Path(path_type=str)
)
run_argument = click.argument("run", type=click.Path(path_type=str))
dataset_option = click.option(
    "--dataset",
    type=click.Choice(_dataset_names()),
    help="Built-in dataset when DATA_DIR is not given (default: digits).",
)
image_size_option = click.option(
    "--image-size", help="N or HxW (default: natural size / model default)."
)
seed_option = click.option(
    "--seed", type=int, help="Seed: same seed, identical weights (CPU)."
)
batch_size_option = click.option(
    "--batch-size", type=click.IntRange(min=1), help="Batch size."
)
overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    default=None,
    help="Replace an earlier kerasvision run/export at --output (nothing else).",
)


def _to_learning_rate(context, parameter, value):
    if value is None or value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number or auto") from None


def output_option(help_text: str, *, required: bool = False):
    return click.option(
        "--output", required=required, type=click.Path(path_type=str), help=help_text
    )


export_format_option = click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    help="savedmodel (default), onnx (pip install 'kerasvision[onnx]') or tflite "
    "(LiteRT; pip install 'kerasvision[litert]').",
)
quantize_option = click.option(
    "--quantize",
    type=click.Choice(QUANTIZE_MODES),
    help="With --format tflite: none (default), float16, dynamic or int8.",
)
representative_option = click.option(
    "--representative",
    type=click.IntRange(min=1),
    metavar="N",
    help="With --quantize int8: training images that set the ranges (default 200).",
)
tta_option = click.option(
    "--tta",
    type=click.Choice(TTA_MODES),
    help="Test-time augmentation: average the probabilities of flipped (and "
    "cropped) views.",
)
min_confidence_option = click.option(
    "--min-confidence",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    metavar="P",
    help="Answer 'unknown' when the top probability is below P.",
)


# === fit ===

_FIT_OPTIONS = [
    dataset_option,
    click.option(
        "--model",
        type=click.Choice(_model_names()),
        help="Registered architecture (default: bipyramidal_cnn).",
    ),
    click.option(
        "--model-arg",
        "model_args",
        multiple=True,
        metavar="KEY=VALUE",
        callback=_parse_model_args,
        help="Builder argument, e.g. --model-arg 'filters=(16,32)'. Repeatable.",
    ),
    image_size_option,
    click.option(
        "--channels",
        type=click.Choice(["1", "3", "4"]),
        callback=_to_int,
        help="Image channels (default: 3 for folders).",
    ),
    click.option("--resize", type=click.Choice(RESIZE_MODES), help="Resize mode."),
    click.option(
        "--classes",
        metavar="A,B,...",
        help="Train on these classes only, labelled 0..k-1 in this order.",
    ),
    click.option(
        "--epochs",
        type=click.IntRange(min=1),
        help="Training epochs [default: 15; scratch: fewer on sets over 10,000 "
        "training images, at least 3; fine-tune and autoencoders: 10].",
    ),
    batch_size_option,
    click.option("--optimizer", type=click.Choice(OPTIMIZERS), help="Optimizer."),
    click.option(
        "--lr",
        metavar="RATE|auto",
        callback=_to_learning_rate,
        help="Learning rate (peak of the schedule); auto: run lr-find first.",
    ),
    click.option(
        "--schedule",
        type=click.Choice(SCHEDULES),
        help="Learning-rate curve of each phase, after a linear warm-up "
        "(default: cosine; constant for the autoencoder tasks).",
    ),
    click.option(
        "--lr-warmup",
        type=click.FloatRange(0.0, 1.0, max_open=True),
        metavar="FRACTION",
        help="Linear warm-up over this fraction of each phase's steps (default: 0.05).",
    ),
    click.option(
        "--ema",
        type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
        is_flag=False,
        flag_value=0.99,
        metavar="[MOMENTUM]",
        help="Average the weights (EMA, momentum 0.99 if no value); validation, "
        "test and export use the averages.",
    ),
    click.option(
        "--time-budget",
        type=click.FloatRange(min=1.0),
        metavar="SECONDS",
        help="Choose --epochs so that training, evaluation and export end within "
        "SECONDS (measured on the first steps).",
    ),
    click.option("--val-split", type=float, help="Validation fraction."),
    click.option("--test-split", type=float, help="Test fraction."),
    click.option(
        "--group-by",
        metavar="REGEX",
        help="Keep files whose paths share the regex's key (first group) in one "
        "split; duplicates always are.",
    ),
    seed_option,
    click.option(
        "--early-stopping",
        type=click.IntRange(min=1),
        metavar="PATIENCE",
        help="Stop after PATIENCE epochs without val_loss improvement.",
    ),
    click.option(
        "--calibrate/--no-calibrate",
        default=None,
        help="Fit a temperature on the validation split (default: on).",
    ),
    output_option("Run directory (default: saved_models/<model>-<data>-<time>)."),
    overwrite_option,
    click.option(
        "--resume",
        is_flag=True,
        default=None,
        help="Continue the interrupted run at --output (or the latest one).",
    ),
    click.option(
        "--tensorboard", is_flag=True, default=None, help="Write TensorBoard logs."
    ),
    click.option(
        "--cache", type=click.Choice(CACHE_MODES), help="Decoded-image cache."
    ),
    click.option(
        "--backbone",
        help="Transfer learning: keras.applications backbone (see `kerasvision "
        "backbones`), a kerasvision .keras model / run directory (Model A), or "
        "hub:PRESET (a KerasHub preset name or directory; kerasvision[hub]).",
    ),
    click.option("--mode", type=click.Choice(TRANSFER_MODES), help="Transfer mode."),
    click.option(
        "--weights", help="Backbone weights: imagenet (default), none, or a .h5 path."
    ),
    click.option(
        "--unfreeze", metavar="all|top:N|from:LAYER|blocks:K", help="Fine-tuned part."
    ),
    click.option(
        "--warmup-epochs", type=click.IntRange(min=0), help="Head-only epochs first."
    ),
    click.option(
        "--fine-tune-lr",
        type=float,
        help="Fine-tuning learning rate (default: 1e-4, or --lr / 10 with --lr).",
    ),
    click.option(
        "--lr-mult",
        type=click.FloatRange(0.0, 1.0, min_open=True),
        help="Fine-tuning: the earliest backbone layer learns at this multiple of "
        "the rate, later ones geometrically closer to it (default: 0.1).",
    ),
    click.option("--bn", type=click.Choice(BN_POLICIES), help="BatchNorm policy."),
    click.option(
        "--feature-cache",
        type=click.Choice(FEATURE_CACHE_MODES),
        help="Train on cached backbone features while frozen, and on cached "
        "activations of the frozen part while fine-tuning.",
    ),
    click.option(
        "--augment",
        metavar="SPEC",
        help="Training-only augmentation, e.g. 'flip,rotate=0.1,zoom=0.2,"
        "cutmix=1.0@0.5,mixup=0.2@0.5' (see `kerasvision augment --help`).",
    ),
    click.option("--label-smoothing", type=float, help="Label smoothing (0-1)."),
    click.option(
        "--class-weight",
        metavar="balanced|W1,W2,...",
        help="Per-class loss weights (as per-sample weights).",
    ),
    click.option("--weight-decay", type=float, help="AdamW decoupled decay."),
    click.option(
        "--kernel-initializer",
        metavar="NAME",
        help="Scratch models' kernels, e.g. he_uniform, normal, normal:0,1, "
        "uniform:-0.1,0.1, constant:0.1, torch_uniform.",
    ),
    click.option("--dropout-rate", type=float, help="Dropout before the output."),
    click.option("--batch-norm/--no-batch-norm", default=None, help="Scratch CNNs."),
    click.option(
        "--norm",
        type=click.Choice(NORMALIZATIONS),
        help="Scratch models' normalization after each convolution.",
    ),
    click.option("--l1", type=float, help="L1 kernel regularization."),
    click.option("--l2", type=float, help="L2 kernel regularization."),
    click.option(
        "--precision",
        type=click.Choice(PRECISIONS),
        help="Keras dtype policy (outputs stay float32).",
    ),
    click.option(
        "--jit-compile/--no-jit-compile",
        default=None,
        help="XLA (default: Keras auto).",
    ),
    click.option(
        "--distribute",
        type=click.Choice(DISTRIBUTE_MODES),
        help="Data-parallel training: mirrored (this machine's GPUs) or multiworker "
        "(the processes in TF_CONFIG; only the chief writes the run). --batch-size "
        "is the global batch.",
    ),
    click.option(
        "--task",
        type=click.Choice(("classification", *AUTOENCODER_TASKS)),
        help="What to train (default: classification).",
    ),
    click.option(
        "--latent-dim", type=click.IntRange(min=1), help="Autoencoder code size."
    ),
    click.option(
        "--noise",
        metavar="gaussian=0.3|salt_pepper=0.1|mask=0.25[@PATCH]",
        help="Denoising task: the training-only corruption.",
    ),
]

#: Options that go into the builder's `model_kwargs`.
_MODEL_KWARG_OPTIONS = ("dropout_rate", "batch_norm", "norm", "l1", "l2")


#: What `lr-find` does not take of `fit`'s options (it trains nothing for real).
_NOT_FOR_LR_FIND = (
    "output", "overwrite", "resume", "tensorboard", "distribute", "epochs", "lr",
    "schedule", "lr_warmup", "ema", "time_budget", "early_stopping", "task",
    "latent_dim", "noise",
)  # fmt: skip


def fit_options(command, *, exclude=()):
    """Every `fit` option but `exclude` (also for commands that train like `fit`)."""
    for option in reversed(_FIT_OPTIONS):
        command = option(command)
    if exclude:
        command.__click_params__ = [
            p for p in command.__click_params__ if p.name not in exclude
        ]
    return command


def lr_find_options(command):
    """`fit`'s data and model options, as `lr-find` takes them."""
    return fit_options(command, exclude=_NOT_FOR_LR_FIND)


def fit_kwargs(options: dict) -> dict:
    """The set fit options as `kerasvision.fit` keywords (`model_kwargs` merged)."""
    kwargs = given(**options)
    model_kwargs = dict(kwargs.pop("model_args", None) or {})
    for name in _MODEL_KWARG_OPTIONS:
        if name in kwargs:
            model_kwargs[name] = kwargs.pop(name)
    if model_kwargs:
        kwargs["model_kwargs"] = model_kwargs
    return kwargs
