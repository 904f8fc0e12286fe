"""Looking inside a run: `visualize` (PNG files) and `report` (one HTML page)."""

from __future__ import annotations

import click

from kerasvision.cli._support import call, check_path, quiet_tensorflow
from kerasvision.cli.options import given, output_option, replace_option, run_argument
from kerasvision.visualization.pictures import VISUALIZATION_KINDS

__all__ = ["report", "visualize"]


@click.command()
@run_argument
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
@output_option("Folder for the PNG files (created if missing).", required=True)
@replace_option
def visualize(run, images, kind, layer, class_name, output, replace):
    """Draw filters, feature maps, saliency or Grad-CAM of RUN for IMAGES."""
    check_path(run, "run directory")
    quiet_tensorflow()
    from kerasvision.visualization.pictures import visualize_run

    written = call(
        visualize_run,
        run,
        images,
        kind=kind,
        output=output,
        **given(layer=layer, class_name=class_name, overwrite=replace),
    )
    click.echo(f"wrote {len(written)} file(s) to {output}")
    for path in written:
        click.echo(path)


@click.command()
@run_argument
@output_option("HTML file to write (default: RUN/report.html).")
@replace_option
def report(run, output, replace):
    """Write RUN's self-contained HTML report (metrics, plots, Grad-CAM)."""
    check_path(run, "run directory")
    quiet_tensorflow()
    from kerasvision.report import write_report

    options = given(output=output, overwrite=replace)
    click.echo(f"report written to {call(write_report, run, **options)}")
