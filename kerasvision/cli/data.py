"""Data commands: `write-dataset`, `augment --preview`, `datasets`."""

from __future__ import annotations

import os

import click

from kerasvision.cli._support import call, check_path, quiet_tensorflow
from kerasvision.cli.options import (
    data_dir_argument,
    dataset_option,
    given,
    image_size_option,
    replace_option,
    seed_option,
)

__all__ = ["augment", "datasets_command", "write_dataset"]


def _dataset_choice():
    from kerasvision.data.datasets import list_datasets

    return click.Choice(list_datasets())


@click.command("write-dataset")
@click.argument("name", type=_dataset_choice())
@click.argument("directory", type=click.Path(path_type=str))
@click.option("--image-size", help="N or HxW to resize to (default: natural size).")
@click.option(
    "--format",
    "image_format",
    type=click.Choice(["png", "jpg", "bmp"]),
    help="Image file format (default: png).",
)
@click.option(
    "--layout",
    type=click.Choice(["class-folders", "pre-split", "csv"]),
    help="class-folders (DIRECTORY/<class>/, the default), pre-split "
    "(DIRECTORY/<train|val|test>/<class>/) or csv (images and labels.csv).",
)
@click.option(
    "--splits",
    metavar="TRAIN,VAL,TEST",
    help="Split fractions, seeded and stratified, e.g. 70/15/15 (pre-split: "
    "default 80/10/10; csv: a split column).",
)
@click.option("--seed", type=int, help="Seed of the split (default: 0).")
def write_dataset(name, directory, image_size, image_format, **layout):
    """Write built-in dataset NAME as image files in DIRECTORY/<class>/ (or
    pre-split, or with a CSV of labels)."""
    quiet_tensorflow()
    from kerasvision.data.datasets import DATASETS
    from kerasvision.data.writing import write_builtin_dataset as write

    written, class_names = call(
        write,
        name,
        directory,
        **given(image_size=image_size, image_format=image_format, **layout),
    )
    n = len(class_names)
    what = {
        "pre-split": f"in train/ val/ test/ folders of {n} classes",
        "csv": f"of {n} classes with labels.csv",
    }.get(layout["layout"], f"in {n} class folders")
    if DATASETS[name].multi_label:
        table = os.path.join(directory, "labels.csv")
        what = (f"of {n} labels with labels.csv (label sets joined by ';': fit "
                f"{table} --label-delim ';')")  # fmt: skip
    click.echo(f"wrote {len(written)} images {what} to {directory}")


@click.command()
@data_dir_argument
@dataset_option
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
@image_size_option
@click.option("--count", type=click.IntRange(1, 32), help="Images per row (8).")
@seed_option
@replace_option
def augment(data_dir, dataset, spec, preview, image_size, count, seed, replace):
    """Preview an augmentation spec on images of DATA_DIR (or a built-in dataset)."""
    check_path(data_dir, "data directory")
    quiet_tensorflow()
    from kerasvision.visualization.augmentation import preview_dataset as preview_data

    path = call(
        preview_data,
        data_dir,
        spec,
        preview,
        **given(
            dataset=dataset,
            image_size=image_size,
            count=count,
            seed=seed,
            overwrite=replace,
        ),
    )
    click.echo(f"preview written to {path}")


@click.command("datasets")
def datasets_command():
    """List the built-in datasets."""
    from kerasvision.data.datasets import DATASETS, list_datasets

    for name in list_datasets():
        spec = DATASETS[name]
        where = "offline" if spec.offline else "download"
        click.echo(f"{name:14s} {where:8s} {spec.description}")
