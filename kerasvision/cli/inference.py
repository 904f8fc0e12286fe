"""Using finished runs: `evaluate`, `predict`, `export`, `encode`, `ensemble`."""

from __future__ import annotations

import json
import sys

import click

from kerasvision._choices import PREDICT_FORMATS
from kerasvision.cli._support import (
    UserError,
    call,
    check_path,
    quiet_tensorflow,
    warn_bad_file,
)
from kerasvision.cli.options import (
    batch_size_option,
    data_dir_argument,
    dataset_option,
    export_format_option,
    given,
    min_confidence_option,
    output_option,
    overwrite_option,
    quantize_option,
    representative_option,
    run_argument,
    tta_option,
)
from kerasvision.export.formats import describe_export, destination_help

__all__ = ["encode", "ensemble", "evaluate", "export", "predict"]


@click.command()
@run_argument
@data_dir_argument
@batch_size_option
@tta_option
def evaluate(run, data_dir, batch_size, tta):
    """Evaluate RUN on its recorded test split, or on DATA_DIR (a folder per
    class, a pre-split folder's test/ or a CSV of labels; recorded in
    RUN/evaluations/); prints JSON."""
    check_path(run, "run directory")
    check_path(data_dir, "data directory")
    quiet_tensorflow()
    from kerasvision.run_evaluations import evaluate_and_record, evaluation_summary
    from kerasvision.runs import load_run

    loaded = call(load_run, run)
    options = given(batch_size=batch_size, tta=tta)
    metrics = call(evaluate_and_record, loaded, data_dir, **options)
    if loaded.data_warning:  # its data changed since it trained
        click.echo(loaded.data_warning, err=True)
    if data_dir is not None:
        click.echo(evaluation_summary(metrics), err=True)
    click.echo(json.dumps(metrics, indent=2))


def _write_label_sets(results, output_format) -> None:
    """A multi-label run's answers: JSON, or CSV rows of the labels decided
    and their probabilities (`;`-separated), then the top-k when asked."""
    if output_format == "json":
        shown = [{k: v for k, v in r.items() if k != "probabilities"} for r in results]
        click.echo("[\n" + ",\n".join(json.dumps(row) for row in shown) + "\n]")
        return
    import csv

    k = len(results[0].get("top_k", ()))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    header = ["path", "labels", "probabilities"]
    writer.writerow(header + [f"{n}_{r}" for r in range(1, k + 1)
                              for n in ("class", "probability")])  # fmt: skip
    for row in results:
        cells = [
            row["path"],
            ";".join(item["class_name"] for item in row["labels"]),
            ";".join(f"{item['probability']:.6f}" for item in row["labels"]),
        ]
        for item in row.get("top_k", ()):
            cells += [item["class_name"], f"{item['probability']:.6f}"]
        writer.writerow(cells)


def _write_predictions(results, output_format, answer: bool = False) -> None:
    """JSON, or CSV rows (with an `answer` column: the class or "unknown");
    a multi-label run's label sets (`_write_label_sets`)."""
    if results and "labels" in results[0]:
        _write_label_sets(results, output_format)
        return
    if output_format == "json":  # one image a line, its top-k only
        shown = [{k: v for k, v in r.items() if k != "probabilities"} for r in results]
        click.echo("[\n" + ",\n".join(json.dumps(row) for row in shown) + "\n]")
        return
    import csv

    k = len(results[0]["top_k"])
    writer = csv.writer(sys.stdout, lineterminator="\n")
    header = ["path", "answer"] if answer else ["path"]
    for rank in range(1, k + 1):
        header += [f"class_{rank}", f"probability_{rank}"]
    writer.writerow(header)
    for row in results:
        cells = [row["path"], row["class_name"]] if answer else [row["path"]]
        for item in row["top_k"]:
            cells += [item["class_name"], f"{item['probability']:.6f}"]
        writer.writerow(cells)


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    help="Classes per image (default 1; 5 with --pretrained; a multi-label run "
    "lists its decided labels, and the k most probable with --top-k).",
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
@tta_option
@min_confidence_option
def predict(inputs, top_k, output_format, pretrained, weights, tta, min_confidence):
    """Classify images: `predict RUN IMAGE_OR_DIR...` or `predict --pretrained NAME
    IMAGE...` (ImageNet top-5)."""
    if pretrained:
        if tta or min_confidence:
            raise UserError("--tta and --min-confidence need a RUN, not --pretrained")
        quiet_tensorflow()
        from kerasvision.evaluation import predict_pretrained as function

        results = call(
            function, pretrained, inputs, **given(top_k=top_k, weights=weights)
        )
    else:
        if len(inputs) < 2:
            raise UserError("give a RUN directory and at least one image or folder")
        check_path(inputs[0], "run directory")
        quiet_tensorflow()
        from kerasvision.evaluation import predict as function

        results = call(
            function,
            inputs[0],
            inputs[1:],
            on_bad_file=warn_bad_file,
            **given(top_k=top_k, tta=tta, min_confidence=min_confidence),
        )
    _write_predictions(results, output_format, answer=min_confidence is not None)


@click.command()
@run_argument
@output_option(destination_help())
@export_format_option
@quantize_option
@representative_option
@min_confidence_option
@tta_option
@overwrite_option
def export(run, output, export_format, overwrite, **options):
    """Export RUN as a SavedModel (pixels + image-bytes signatures), ONNX or LiteRT,
    checked."""
    check_path(run, "run directory")
    quiet_tensorflow()
    from kerasvision.export import export_run

    options = given(format=export_format, overwrite=overwrite, **options)
    click.echo(describe_export(call(export_run, run, output, **options)))


@click.command()
@run_argument
@click.argument("images", nargs=-1, type=click.Path(path_type=str))
@dataset_option
@output_option("Write the vectors to a .npy or .csv file.")
def encode(run, images, dataset, output):
    """Latent vectors of IMAGES (files or folders), or of every image of a
    built-in --dataset, from an autoencoder RUN."""
    check_path(run, "run directory")
    quiet_tensorflow()
    from kerasvision.reuse import encode as encode_images

    inputs = list(images) or None
    vectors = call(encode_images, run, inputs, dataset=dataset, output=output)
    click.echo(
        f"{len(vectors)} vectors of {vectors.shape[1]} dims"
        + (f" written to {output}" if output else "")
    )
    if not output:
        import numpy as np

        np.savetxt(sys.stdout, vectors, fmt="%.6g", delimiter=",")


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=str))
@output_option("The ensemble's run directory.", required=True)
@overwrite_option
def ensemble(runs, output, overwrite):
    """Average the probabilities of RUNS into one exported model at --output."""
    for run in runs:
        check_path(run, "run directory")
    quiet_tensorflow()
    from kerasvision.ensemble import ensemble_runs

    result = call(ensemble_runs, runs, output, **given(overwrite=overwrite))
    for member in result["members"]:
        click.echo(f"member {member['run']}: accuracy {member['accuracy']:.4f}")
    metrics = result["metrics"]
    if metrics is not None:
        click.echo(f"ensemble accuracy: {metrics['accuracy']:.4f} on "
                   f"{metrics['count']} {metrics['split']} images held out by every "
                   f"member")  # fmt: skip
    else:
        click.echo("ensemble accuracy: not measured (the members were trained on "
                   "different data, or no test image is held out by all)")  # fmt: skip
    click.echo(f"ensemble written to {result['run_dir']}")
