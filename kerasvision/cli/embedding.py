"""`embed`: distances between images in pixel space and in a run's feature space."""

from __future__ import annotations

import json

import click

from kerasvision.cli._support import call, check_path, quiet_tensorflow
from kerasvision.cli.options import run_argument

__all__ = ["embed"]


@click.command()
@run_argument
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--layer",
    metavar="NAME",
    help="The feature layer (default: the input of the predictions layer).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="Output format.",
)
def embed(run, images, layer, output_format):
    """Pairwise distances of IMAGES (files or folders) in pixel space and in the
    feature space of RUN: two 4s can be far apart in pixels, yet close in
    features."""
    check_path(run, "run directory")
    quiet_tensorflow()
    from kerasvision.embedding import embed as embed_images
    from kerasvision.embedding import format_distances

    result = call(embed_images, run, list(images), layer=layer)
    if output_format == "table":
        click.echo(format_distances(result))
        return
    for key in ("pixel_distances", "feature_distances"):
        result[key] = [[round(float(v), 6) for v in row] for row in result[key]]
    click.echo(json.dumps(result, indent=2))
