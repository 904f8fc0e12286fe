"""`distill`: a small student run taught by finished teacher runs."""

from __future__ import annotations

import click

from kerasvision.cli._support import call, check_path, quiet_tensorflow
from kerasvision.cli.options import SectionedCommand, fit_kwargs, fit_options, given

__all__ = ["distill"]


@click.command(cls=SectionedCommand)
@click.argument("teachers", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--temperature",
    type=click.FloatRange(min=0.0, min_open=True),
    help="Softening temperature of the teachers' and the student's probabilities "
    "(default: 4).",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0.0, 1.0),
    help="Weight of the loss on the true labels; the distillation loss gets the "
    "rest (default: 0.3).",
)
@fit_options
def distill(teachers, temperature, alpha, **options):
    """Train a small student (--model NAME or --backbone NAME, with fit's options)
    on the averaged, temperature-softened probabilities of TEACHER runs plus the
    true labels, on their data and split; prints teacher vs student accuracy,
    parameters and images/s."""
    for teacher in teachers:
        check_path(teacher, "run directory")
    quiet_tensorflow(announce=True)
    from kerasvision.training.distill import distill as distill_run

    kwargs = fit_kwargs(options) | given(temperature=temperature, alpha=alpha)
    result = call(distill_run, list(teachers), **kwargs)
    click.echo(result.fit.summary())
    click.echo(f"student run written to {result.run_dir}")
    click.echo(result.summary())
