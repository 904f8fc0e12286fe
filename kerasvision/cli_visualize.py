"""The `visualize` and `report` commands (thin click wrappers).

Registered on the main group in `kerasvision.cli`:
`main.add_command(visualize)` and `main.add_command(report)`. Keras and
TensorFlow load inside the command functions, through `_call`.
"""

from __future__ import annotations

import os

import click

from kerasvision._cli_support import UserError, _call, _check_path, _given
from kerasvision.report import VISUALIZATION_KINDS

__all__ = ["report", "visualize"]


@click.command()
@click.argument("run", type=click.Path(path_type=str))
@click.argument("images", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--kind",
    type=click.Choice(VISUALIZATION_KINDS),
    required=True,
    help="What to draw.",
)
@click.option(
    "--layer",
    metavar="NAME",
    help="Layer name; 'backbone/layer' or just 'layer' inside a nested backbone "
    "(default: the run's feature layer).",
)
@click.option(
    "--class",
    "class_name",
    metavar="NAME",
    help="Class to explain (default: each image's predicted class).",
)
@click.option(
    "--output",
    type=click.Path(path_type=str),
    required=True,
    help="Folder for the PNG files (created if missing).",
)
def visualize(run, images, kind, layer, class_name, output):
    """Draw filters, feature maps, saliency or Grad-CAM of RUN for IMAGES."""
    _check_path(run, "run directory")
    from kerasvision.report import visualize_run

    written = _call(
        visualize_run,
        run,
        images,
        kind=kind,
        output=output,
        **_given(layer=layer, class_name=class_name),
    )
    click.echo(f"wrote {len(written)} file(s) to {output}")
    for path in written:
        click.echo(path)


@click.command()
@click.argument("run", type=click.Path(path_type=str))
@click.option(
    "--output",
    type=click.Path(path_type=str),
    help="HTML file to write (default: RUN/report.html).",
)
def report(run, output):
    """Write RUN's self-contained HTML report (metrics, plots, Grad-CAM)."""
    _check_path(run, "run directory")
    if output is not None and os.path.isdir(output):
        raise UserError(f"--output must be a file path, got the folder {output}")
    from kerasvision.report import write_report

    path = _call(write_report, run, **_given(output=output))
    click.echo(f"report written to {path}")
