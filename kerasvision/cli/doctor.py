"""Data-quality commands: `doctor` (check a dataset), `review` (suspected label
errors of a run), `clean` (apply or undo a reviewed csv)."""

from __future__ import annotations

import os

import click

from kerasvision.cli._support import UserError, call, check_path, quiet_tensorflow
from kerasvision.cli.options import (
    config_option,
    given,
    output_option,
    run_argument,
)

__all__ = ["clean_command", "doctor_command", "review_command"]


@click.command("doctor")
@click.argument("data", type=click.Path(path_type=str))
@output_option(
    "Folder for doctor.html/doctor.json (default: ./doctor-<DATA name>, "
    "numbered so nothing existing is touched)."
)
@click.option(
    "--strict",
    is_flag=True,
    default=None,
    help="Exit 1 on duplicates across classes, bad files or empty classes.",
)
@click.option(
    "--backbone",
    metavar="NAME|PATH",
    help="Confirm near-duplicates with this backbone's pooled features "
    "(keras.applications name, hub:PRESET, or a kerasvision run / .keras file).",
)
@click.option(
    "--weights", help="Weights of a named --backbone: imagenet (default), none, PATH."
)
@config_option("labels")
@config_option("path_column")
@config_option("label_column")
@config_option("split_column")
@config_option("label_delim")
@click.pass_context
def doctor_command(context, data, output, strict, backbone, weights, **table):
    """Check DATA (one folder per class, train/ val/ test/ folders, or a CSV of
    labels): bad files, duplicates, sizes, balance, splits."""
    check_path(data, "data directory")
    quiet_tensorflow()
    from kerasvision.doctor import doctor
    from kerasvision.doctor_report import label_sets_line

    options = given(output=output, strict=strict, backbone=backbone, weights=weights)
    result = call(doctor, data, **options, **given(**table))
    s, splits = result.summary(), result.splits
    counts = ", ".join(f"{n} {sum(c.values())}" for n, c in (splits or {}).get(
        "counts", {}).items())  # fmt: skip
    click.echo(f"layout: {result.layout.get('description', s['layout'])}"
               + (f"; {counts} images" if counts else ""))  # fmt: skip
    click.echo(
        f"{s['valid_images']} images in {s['classes']} classes, "
        f"{s['bad_files']} bad file(s); duplicate groups: {s['exact_groups']} exact, "
        f"{s['near_groups']} near, {s['cross_class_groups']} across classes"
    )
    if result.layout.get("label_sets"):
        click.echo(label_sets_line(result.layout["label_sets"]))
    for line in result.warnings:
        click.echo(f"warning: {line}", err=True)
    click.echo(f"report written to {os.path.join(result.output, 'doctor.html')}")
    if result.failed:
        context.exit(1)


@click.command("clean")
@click.argument("data", type=click.Path(path_type=str))
@click.option(
    "--apply",
    "csv_path",
    type=click.Path(path_type=str),
    help="Reviewed csv (path, given_label, action: keep|relabel:CLASS|remove).",
)
@click.option("--undo", is_flag=True, default=None, help="Restore every move made.")
def clean_command(data, csv_path, undo):
    """Apply a reviewed csv to DATA (moves only, logged), or --undo it."""
    check_path(data, "data directory")
    if (csv_path is None) == (undo is None):
        raise UserError("give exactly one of --apply CSV and --undo")
    quiet_tensorflow()
    from kerasvision.cleaning import apply_review, undo_clean

    if undo:
        result = call(undo_clean, data)
        click.echo(f"restored {len(result.moved)} file(s) in {data}")
    else:
        result = call(apply_review, data, csv_path)
        click.echo(
            f"relabelled {result.count('relabel')}, quarantined "
            f"{result.count('remove')}, kept {result.kept}; undo with "
            f"`kerasvision clean {data} --undo`"
        )
    for where, reason in result.skipped:
        click.echo(f"skipped {where}: {reason}", err=True)


@click.command("review")
@run_argument
@click.argument("data", required=False, type=click.Path(path_type=str))
@output_option("Folder for review.html/review.csv (default: RUN).")
@click.option("--folds", type=click.IntRange(min=2), help="k of the k-fold (5).")
def review_command(run, data, output, folds):
    """Rank suspected label errors of RUN's images (or of DATA) for `clean`."""
    check_path(run, "run directory")
    check_path(data, "data directory")
    quiet_tensorflow()
    from kerasvision.review import review

    result = call(review, run, data, **given(output=output, folds=folds))
    click.echo(f"suspected label errors (cleanlab): {len(result.issues)} of "
               f"{len(result.paths)} images")  # fmt: skip
    pairs = result.confused_pairs(3)
    if pairs:
        click.echo("most frequent disagreements (given label -> out-of-sample "
                   "prediction, whether or not flagged):")  # fmt: skip
    for given_name, predicted, count in pairs:
        click.echo(f"  {given_name} -> {predicted}: {count} image(s)")
    click.echo(f"wrote {os.path.join(result.output, 'review.html')} and review.csv")
