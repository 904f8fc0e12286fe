"""`fit`, `rerun` and `lr-find`: thin wrappers around `kerasvision.fit`."""

from __future__ import annotations

import click

from kerasvision.cli._support import call, check_path, quiet_tensorflow
from kerasvision.cli.options import (
    SectionedCommand,
    config_option,
    data_dir_argument,
    fit_kwargs,
    fit_options,
    given,
    lr_find_options,
    output_option,
    overwrite_option,
    replace_option,
    run_argument,
)

__all__ = ["fit", "lr_find", "rerun"]


def _echo_result(result) -> None:
    click.echo(result.summary())
    if result.run_dir is None:  # a non-chief multiworker process
        click.echo(
            f"worker {result.distribution['task']} done; the chief writes the run"
        )
    else:
        click.echo(f"run written to {result.run_dir}")


@click.command(cls=SectionedCommand)
@data_dir_argument
@fit_options
def fit(data_dir, **options):
    """Train a CNN on DATA_DIR (a folder per class, train/ val/ test/ folders of
    them, or a CSV of labels) or a built-in dataset."""
    check_path(data_dir, "data directory")
    quiet_tensorflow(announce=True)
    from kerasvision._process import started_at
    from kerasvision.training import fit as fit_run

    kwargs = fit_kwargs(options)  # --time-budget counts from the process start
    _echo_result(call(fit_run, data_dir, started=started_at(), **kwargs))


@click.command()
@run_argument
@output_option("The new run's directory (default: saved_models/<model>-<data>-<time>).")
@overwrite_option
@config_option("track")
def rerun(run, output, overwrite, track):
    """Train RUN again from its recorded options (same seed: same result on CPU)."""
    check_path(run, "run directory")
    quiet_tensorflow(announce=True)
    from kerasvision.training import rerun as rerun_run

    kwargs = {"output": output, "overwrite": overwrite, "track": track}
    _echo_result(call(rerun_run, run, **{k: v for k, v in kwargs.items() if v}))


@click.command("lr-find", cls=SectionedCommand)
@data_dir_argument
@click.option("--output", help="The loss-vs-learning-rate PNG (default: lr_find.png).")
@replace_option
@lr_find_options
def lr_find(data_dir, output, replace, **options):
    """Suggest a learning rate: an exponential sweep on a copy of the model that
    `fit` with the same options would train (nothing is written but the plot)."""
    check_path(data_dir, "data directory")
    quiet_tensorflow(announce=True)
    from kerasvision.training.fit import lr_find as find

    kwargs = fit_kwargs(options) | given(output=output or None, overwrite=replace)
    result = call(find, data_dir, **kwargs)
    click.echo(result.summary())
    click.echo(f"plot written to {result.plot}; use it with: fit --lr "
               f"{result.suggested:.3g}")  # fmt: skip
