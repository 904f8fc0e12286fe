"""The `kerasvision` command: thin click wrappers around the library.

Each command parses options, calls one public library function and echoes the
result. TensorFlow/Keras are imported inside the commands so `--help` is fast.
Options default to None and only the ones given are passed on, so every default
lives once, in the library signature.
"""

from __future__ import annotations

import json
import os
import sys

import click

from kerasvision import __version__
from kerasvision._choices import (
    AUTOENCODER_TASKS,
    BN_CHOICES,
    CACHE_MODES,
    CLASSIFIER_ONLY_OPTIONS,
    EXPORT_FORMATS,
    FEATURE_CACHE_CHOICES,
    OPTIMIZERS,
    PREDICT_FORMATS,
    RESIZE_MODES,
    TRANSFER_MODES,
)
from kerasvision._cli_support import (
    UserError,
    _call,
    _check_path,
    _given,
    _library,
    _warn_bad_file,
)
from kerasvision.datasets import list_datasets
from kerasvision.distribute import DISTRIBUTE_MODES
from kerasvision.models import list_models

# TensorFlow's C++ logging (incl. harmless "cuInit failed" on CPU machines);
# real failures still surface as Python exceptions. Users can override.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class _Group(click.Group):
    """Prints every error as one `Error: ...` line (no usage block, no traceback)."""

    def main(self, args=None, prog_name=None, complete_var=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            result = super().main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            )
        except click.ClickException as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)


def _parse_model_args(values):
    import ast

    parsed = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--model-arg must be KEY=VALUE, got {item!r}")
        try:
            parsed[key.strip()] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            parsed[key.strip()] = raw
    return parsed


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kerasvision")
def main():
    """CNN image classification with Keras 3: fit, evaluate, predict, export."""


@main.command()
@click.argument("data_dir", required=False, type=click.Path(path_type=str))
@click.option(
    "--dataset",
    type=click.Choice(list_datasets()),
    help="Built-in dataset when DATA_DIR is not given (default: digits).",
)
@click.option(
    "--model",
    type=click.Choice(list_models()),
    help="Registered architecture (default: bipyramidal_cnn).",
)
@click.option(
    "--model-arg",
    "model_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Builder argument, e.g. --model-arg 'filters=(16,32)'. Repeatable.",
)
@click.option("--image-size", help="N or HxW (default: natural size / model default).")
@click.option(
    "--channels",
    type=click.Choice(["1", "3", "4"]),
    help="Image channels (default: 3 for folders).",
)
@click.option("--resize", type=click.Choice(RESIZE_MODES), help="Resize mode.")
@click.option("--epochs", type=click.IntRange(min=1), help="Training epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), help="Optimizer.")
@click.option(
    "--lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate."
)
@click.option(
    "--val-split",
    type=click.FloatRange(0, 1, max_open=True),
    help="Validation fraction.",
)
@click.option(
    "--test-split", type=click.FloatRange(0, 1, max_open=True), help="Test fraction."
)
@click.option("--seed", type=int, help="Seed: same seed, identical weights (CPU).")
@click.option(
    "--early-stopping",
    type=click.IntRange(min=1),
    metavar="PATIENCE",
    help="Stop after PATIENCE epochs without val_loss improvement.",
)
@click.option(
    "--output",
    type=click.Path(path_type=str),
    help="Run directory (default: saved_models/<model>-<data>-<time>).",
)
@click.option("--overwrite", is_flag=True, default=None, help="Replace --output.")
@click.option(
    "--resume",
    is_flag=True,
    default=None,
    help="Continue the interrupted run at --output (or the latest one).",
)
@click.option(
    "--tensorboard", is_flag=True, default=None, help="Write TensorBoard logs."
)
@click.option("--cache", type=click.Choice(CACHE_MODES), help="Decoded-image cache.")
@click.option(
    "--backbone",
    help="Transfer learning: keras.applications backbone (see `kerasvision "
    "backbones`) or a kerasvision .keras model / run directory (Model A).",
)
@click.option("--mode", type=click.Choice(TRANSFER_MODES), help="Transfer mode.")
@click.option(
    "--weights", help="Backbone weights: imagenet (default), none, or a .h5 path."
)
@click.option(
    "--unfreeze", metavar="all|top:N|from:LAYER|blocks:K", help="Fine-tuned part."
)
@click.option(
    "--warmup-epochs", type=click.IntRange(min=0), help="Head-only epochs first."
)
@click.option(
    "--fine-tune-lr",
    type=click.FloatRange(min=0, min_open=True),
    help="Fine-tuning learning rate (default: --lr / 10).",
)
@click.option("--bn", type=click.Choice(BN_CHOICES), help="BatchNorm policy.")
@click.option(
    "--feature-cache",
    type=click.Choice(FEATURE_CACHE_CHOICES),
    help="Train the head on cached backbone features while frozen.",
)
@click.option(
    "--augment",
    metavar="SPEC",
    help="Training-only augmentation, e.g. 'flip,rotate=0.1,zoom=0.2,cutmix=1.0@0.5,"
    "mixup=0.2@0.5' (names: flip crop rotate zoom translate brightness contrast "
    "randaugment noise erasing cutmix mixup).",
)
@click.option("--label-smoothing", type=click.FloatRange(0, 1, max_open=True))
@click.option(
    "--class-weight",
    metavar="balanced|W1,W2,...",
    help="Per-class loss weights (as per-sample weights).",
)
@click.option(
    "--weight-decay", type=click.FloatRange(min=0), help="AdamW decoupled decay."
)
@click.option(
    "--kernel-initializer",
    metavar="NAME",
    help="uniform, normal, constant[=V], he_uniform, he_normal, glorot_uniform, "
    "glorot_normal, torch_uniform.",
)
@click.option("--dropout-rate", type=click.FloatRange(0, 1, max_open=True))
@click.option("--batch-norm/--no-batch-norm", default=None, help="Scratch CNNs.")
@click.option("--l1", type=click.FloatRange(min=0), help="L1 kernel regularization.")
@click.option("--l2", type=click.FloatRange(min=0), help="L2 kernel regularization.")
@click.option(
    "--precision",
    type=click.Choice(["float32", "mixed_float16", "mixed_bfloat16"]),
    help="Keras dtype policy (outputs stay float32).",
)
@click.option(
    "--jit-compile/--no-jit-compile", default=None, help="XLA (default: Keras auto)."
)
@click.option(
    "--distribute",
    type=click.Choice(DISTRIBUTE_MODES),
    help="Data-parallel training: mirrored (this machine's GPUs) or multiworker "
    "(the processes in TF_CONFIG; only the chief writes the run). --batch-size is "
    "the global batch.",
)
@click.option(
    "--task",
    type=click.Choice(("classification", *AUTOENCODER_TASKS)),
    help="What to train (default: classification).",
)
@click.option("--latent-dim", type=click.IntRange(min=1), help="Autoencoder code size.")
@click.option(
    "--noise",
    metavar="gaussian=0.3|salt_pepper=0.1|mask=0.25[@PATCH]",
    help="Denoising task: the training-only corruption.",
)
def fit(data_dir, model_args, channels, dropout_rate, batch_norm, l1, l2, **options):
    """Train a CNN on DATA_DIR (one sub-folder per class) or a built-in dataset."""
    kwargs = _given(**options)
    _check_path(data_dir, "data directory")
    if kwargs.get("task", "classification") != "classification":
        classifier_only = sorted(
            f"--{name.replace('_', '-')}"
            for name in kwargs
            if name in CLASSIFIER_ONLY_OPTIONS
        )
        if classifier_only:
            raise UserError(
                f"{', '.join(classifier_only)} only apply to --task classification"
            )
    fit_run = _library("kerasvision.training", "fit")
    if channels is not None:
        kwargs["channels"] = int(channels)
    model_kwargs = _parse_model_args(model_args) if model_args else {}
    model_kwargs.update(
        _given(dropout_rate=dropout_rate, batch_norm=batch_norm, l1=l1, l2=l2)
    )
    if model_kwargs:
        kwargs["model_kwargs"] = model_kwargs
    if "class_weight" in kwargs and kwargs["class_weight"] != "balanced":
        try:
            kwargs["class_weight"] = [
                float(v) for v in kwargs["class_weight"].split(",")
            ]
        except ValueError:
            raise UserError(
                f"--class-weight must be 'balanced' or comma-separated numbers, got "
                f"{kwargs['class_weight']!r}"
            ) from None
    if kwargs.get("weights") in ("none", "None"):
        kwargs["weights"] = None
    if kwargs.get("resume") and data_dir:
        raise UserError("--resume takes the data from the run; do not give DATA_DIR")
    result = _call(fit_run, data_dir, **kwargs)
    metrics = result.metrics
    if "accuracy" in metrics:
        click.echo(
            f"{metrics['split']} accuracy: {metrics['accuracy']:.4f} "
            f"({metrics['count']} images, loss {metrics['loss']:.4f})"
        )
    else:  # autoencoder / segmentation tasks
        shown = (
            "psnr",
            "ssim",
            "mse",
            "noisy_psnr",
            "psnr_gain",
            "elbo",
            "pixel_accuracy",
            "mean_iou",
        )
        values = ", ".join(
            f"{name} {metrics[name]:.4f}" for name in shown if name in metrics
        )
        click.echo(f"{metrics.get('split', 'test')} split: {values}")
    if result.run_dir is None:  # a non-chief multiworker process
        click.echo(
            f"worker {result.distribution['task']} done; the chief writes the run"
        )
    else:
        click.echo(f"run written to {result.run_dir}")


@main.command()
@click.argument("run", type=click.Path(path_type=str))
@click.argument("data_dir", required=False, type=click.Path(path_type=str))
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size.")
def evaluate(run, data_dir, batch_size):
    """Evaluate RUN on its recorded test split, or on DATA_DIR; prints JSON."""
    _check_path(run, "run directory")
    _check_path(data_dir, "data directory")
    evaluate_run = _library("kerasvision.evaluation", "evaluate")
    metrics = _call(evaluate_run, run, data_dir, **_given(batch_size=batch_size))
    click.echo(json.dumps(metrics, indent=2))


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    help="Classes per image (default 1; 5 with --pretrained).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(PREDICT_FORMATS),
    default="csv",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--pretrained",
    metavar="BACKBONE",
    help="Classify with a keras.applications model's own ImageNet head instead of "
    "a run (all INPUTS are images).",
)
@click.option(
    "--weights", help="With --pretrained: a local full-model .h5 instead of imagenet."
)
def predict(inputs, top_k, output_format, pretrained, weights):
    """Classify images: `predict RUN IMAGE_OR_DIR...` or `predict --pretrained NAME
    IMAGE...` (ImageNet top-5)."""
    if pretrained:
        predict_pretrained = _library("kerasvision.evaluation", "predict_pretrained")
        results = _call(
            predict_pretrained,
            pretrained,
            inputs,
            **_given(top_k=top_k, weights=weights),
        )
    else:
        if len(inputs) < 2:
            raise UserError("give a RUN directory and at least one image or folder")
        run, images = inputs[0], inputs[1:]
        _check_path(run, "run directory")
        predict_images = _library("kerasvision.evaluation", "predict")
        results = _call(
            predict_images,
            run,
            images,
            on_bad_file=_warn_bad_file,
            **_given(top_k=top_k),
        )
    if output_format == "json":
        click.echo(json.dumps(results, indent=2))
        return
    import csv

    k = len(results[0]["top_k"])
    writer = csv.writer(sys.stdout, lineterminator="\n")
    header = ["path"]
    for rank in range(1, k + 1):
        header += [f"class_{rank}", f"probability_{rank}"]
    writer.writerow(header)
    for row in results:
        cells = [row["path"]]
        for item in row["top_k"]:
            cells += [item["class_name"], f"{item['probability']:.6f}"]
        writer.writerow(cells)


@main.command()
@click.argument("run", type=click.Path(path_type=str))
@click.option(
    "--output",
    type=click.Path(path_type=str),
    help="Destination (default: RUN/serving, or RUN/model.onnx with --format onnx).",
)
@click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    help="savedmodel (default) or onnx (needs: pip install 'kerasvision[onnx]').",
)
def export(run, output, export_format):
    """Export RUN as a SavedModel (pixels + image-bytes signatures) or ONNX, checked."""
    _check_path(run, "run directory")
    export_run = _library("kerasvision.export", "export_run")
    report = _call(export_run, run, output, **_given(format=export_format))
    if report.get("format") == "onnx":
        click.echo(
            f"exported {report['path']} (ONNX opset {report['opset']}, images -> "
            f"probabilities; max |delta prob| vs predict in ONNX Runtime "
            f"{report['max_abs_diff']:.2g})"
        )
        return
    click.echo(
        f"exported {report['path']} (signatures: {', '.join(report['signatures'])}; "
        f"max |delta prob| vs predict {report['max_abs_diff']:.2g})"
    )


@main.command("models")
def models_command():
    """List the registered architectures."""
    from kerasvision.models import MODELS

    for name in list_models():
        spec = MODELS[name]
        click.echo(f"{name:18s} min {spec.min_size:>3}px  {spec.description}")


@main.command("write-dataset")
@click.argument("name", type=click.Choice(list_datasets()))
@click.argument("directory", type=click.Path(path_type=str))
@click.option("--image-size", help="N or HxW to resize to (default: natural size).")
@click.option(
    "--format",
    "image_format",
    type=click.Choice(["png", "jpg", "bmp"]),
    help="Image file format (default: png).",
)
def write_dataset(name, directory, image_size, image_format):
    """Write built-in dataset NAME as image files in DIRECTORY/<class>/."""
    save = _library("kerasvision.data", "save_image_folder")
    load = _library("kerasvision.datasets", "load_builtin")
    x, y, class_names = _call(load, name)
    written = _call(
        save,
        x,
        y,
        class_names,
        directory,
        **_given(image_size=image_size, image_format=image_format),
    )
    click.echo(
        f"wrote {len(written)} images in {len(class_names)} class folders "
        f"to {directory}"
    )


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--output",
    required=True,
    type=click.Path(path_type=str),
    help="The ensemble's run directory.",
)
@click.option("--overwrite", is_flag=True, default=None, help="Replace --output.")
def ensemble(runs, output, overwrite):
    """Average the probabilities of RUNS into one exported model at --output."""
    for run in runs:
        _check_path(run, "run directory")
    ensemble_runs = _library("kerasvision.ensemble", "ensemble_runs")
    result = _call(ensemble_runs, runs, output, **_given(overwrite=overwrite))
    for member in result["members"]:
        click.echo(f"member {member['run']}: accuracy {member['accuracy']:.4f}")
    if result["metrics"] is not None:
        click.echo(
            f"ensemble accuracy: {result['metrics']['accuracy']:.4f} "
            f"({result['metrics']['count']} images)"
        )
    click.echo(f"ensemble written to {result['run_dir']}")


@main.command()
@click.argument("data_dir", required=False, type=click.Path(path_type=str))
@click.option(
    "--dataset",
    type=click.Choice(list_datasets()),
    help="Built-in dataset when DATA_DIR is not given (default: digits).",
)
@click.option(
    "--augment",
    "spec",
    metavar="SPEC",
    default="flip,rotate=0.1,zoom=0.2,cutmix,mixup",
    show_default=True,
    help="Augmentation spec (as for fit --augment).",
)
@click.option(
    "--preview",
    required=True,
    type=click.Path(path_type=str),
    help="PNG to write: originals, then augmented versions.",
)
@click.option("--image-size", help="N or HxW (default: natural size / 128).")
@click.option("--count", type=click.IntRange(1, 32), help="Images per row (8).")
@click.option("--seed", type=int, help="Seed (0).")
def augment(data_dir, dataset, spec, preview, image_size, count, seed):
    """Preview an augmentation spec on images of DATA_DIR (or a built-in dataset)."""
    _check_path(data_dir, "data directory")
    preview_data = _library("kerasvision.augmentation", "preview_dataset")
    path = _call(
        preview_data,
        data_dir,
        spec,
        preview,
        **_given(dataset=dataset, image_size=image_size, count=count, seed=seed),
    )
    click.echo(f"preview written to {path}")


@main.command()
@click.argument("run", type=click.Path(path_type=str))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--output",
    type=click.Path(path_type=str),
    help="Write the vectors to a .npy or .csv file.",
)
def encode(run, images, output):
    """Latent vectors of IMAGES (files or folders) from an autoencoder RUN."""
    _check_path(run, "run directory")
    encode_images = _library("kerasvision.autoencoding", "encode")
    vectors = _call(encode_images, run, list(images), output=output)
    click.echo(
        f"{len(vectors)} vectors of {vectors.shape[1]} dims"
        + (f" written to {output}" if output else "")
    )
    if not output:
        import numpy as np

        np.savetxt(sys.stdout, vectors, fmt="%.6g", delimiter=",")


@main.command("backbones")
@click.option("--pattern", default="*", show_default=True, help="Glob on names.")
def backbones_command(pattern):
    """List the keras.applications backbones: sizes, parameters, preprocessing."""
    from kerasvision.models.backbones import BACKBONES, list_backbones

    click.echo(
        f"{'name':22s} {'default':>7s} {'min':>4s} {'params (no top)':>16s}  "
        f"preprocessing"
    )
    for name in list_backbones(pattern):
        spec = BACKBONES[name]
        click.echo(
            f"{name:22s} {spec.default_size:>7d} {spec.min_size:>4d} "
            f"{spec.params:>16,d}  {spec.preprocessing or 'inside the model'}"
        )


@main.command("datasets")
def datasets_command():
    """List the built-in datasets."""
    from kerasvision.datasets import DATASETS

    for name in list_datasets():
        spec = DATASETS[name]
        where = "offline" if spec.offline else "download"
        click.echo(f"{name:14s} {where:8s} {spec.description}")


# Commands defined in their own module (visualization), registered here.
from kerasvision.cli_visualize import report, visualize  # noqa: E402

main.add_command(visualize)
main.add_command(report)


if __name__ == "__main__":  # pragma: no cover
    main()
