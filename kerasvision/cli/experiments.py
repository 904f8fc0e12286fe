"""`runs` (a table of the run directories) and `tune` (a hyperparameter search)."""

from __future__ import annotations

import click

from kerasvision.cli._support import call, check_path, quiet_tensorflow
from kerasvision.cli.options import (
    SectionedCommand,
    data_dir_argument,
    fit_kwargs,
    fit_options_except,
    given,
)
from kerasvision.run_table import SORT_KEYS
from kerasvision.tuning.search import TUNERS

__all__ = ["runs", "tune"]


@click.command()
@click.argument("runs_dir", required=False, type=click.Path(path_type=str))
@click.option(
    "--sort",
    type=click.Choice(SORT_KEYS),
    help="Order: date (newest first, the default), metric (best first), time, "
    "epochs, name, task, model or data.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("table", "csv", "json")),
    help="Output: an aligned table (default), CSV or JSON.",
)
def runs(runs_dir, sort, output_format):
    """List the runs under RUNS_DIR (default: saved_models/): name, status,
    task, model, data, epochs, test accuracy (the task's headline metric), wall
    time and date; interrupted and unreadable runs are listed as such."""
    from kerasvision.run_table import format_runs, list_runs

    rows = call(list_runs, runs_dir, **given(sort=sort))
    click.echo(format_runs(rows, output_format or "table"))


def _search_option(*declarations, **kwargs):
    """A `tune` option of its own, listed under "Search options"."""

    def decorator(command):
        command = click.option(*declarations, **kwargs)(command)
        command.__click_params__[-1].section = "Search"
        return command

    return decorator


@click.command(cls=SectionedCommand)
@data_dir_argument
@fit_options_except("time_budget", "resume")
@_search_option(
    "--trials",
    type=click.IntRange(min=1),
    metavar="N",
    help="Trials in all, the recipe's defaults included (default: 10).",
)
@_search_option(
    "--time-budget",
    type=click.FloatRange(min=1.0),
    metavar="SECONDS",
    help="The whole command ends within SECONDS: no trial starts that "
    "would leave too little time to train the best afterwards.",
)
@_search_option(
    "--tuner",
    type=click.Choice(TUNERS),
    help="KerasTuner's search: hyperband (default), random or bayesian.",
)
def tune(data_dir, trials, time_budget, tuner, **options):  # fmt: skip
    """Search the learning rate, schedule, augmentation strength, dropout and
    label smoothing (with --mode fine-tune also the unfrozen part and its
    rates) with KerasTuner; each trial a fit on the training split scored on
    the validation split. The options given stay fixed. Writes tune.json and
    trains the best as OUTPUT/best (default OUTPUT:
    saved_models/tune-<model>-<data>); the same command again continues."""
    check_path(data_dir, "data directory")
    quiet_tensorflow(announce=True)
    from kerasvision.tuning import tune as search

    kwargs = fit_kwargs(options) | given(
        trials=trials, time_budget=time_budget, tuner=tuner
    )
    result = call(search, data_dir, **kwargs)
    click.echo(result.leaderboard())
    click.echo(result.summary())
