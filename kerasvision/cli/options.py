"""Options shared by the commands: one decorator each, choices from the registries.

Every option defaults to None so that only what the user set is passed on and
each default lives once, in the library. `fit`'s options (and those it shares
with other commands) are generated from their declarations
(`kerasvision.config.sections`): help, choices and parsers included. Values
are converted here (click callbacks); checking them is the library's job
(`FitConfig`).
"""

from __future__ import annotations

import click

from kerasvision._choices import QUANTIZE_MODES, TTA_MODES
from kerasvision.cli._support import UserError
from kerasvision.config import FitConfig, declared_options, flag_name
from kerasvision.export.formats import EXPORT_FORMAT_NAMES, format_help

__all__ = [
    "SectionedCommand",
    "batch_size_option",
    "config_option",
    "data_dir_argument",
    "dataset_option",
    "fit_kwargs",
    "fit_options",
    "fit_options_except",
    "given",
    "image_size_option",
    "lr_find_options",
    "min_confidence_option",
    "output_option",
    "overwrite_option",
    "replace_option",
    "run_argument",
    "seed_option",
    "tta_option",
]


def given(**options) -> dict:
    """Only the options the user set (so library defaults apply)."""
    return {key: value for key, value in options.items() if value is not None}


def config_option(name: str):
    """The decorator of `FitConfig`'s (or `RunOptions`') option `name`, for a
    command that shares it with `fit` (same spelling, help and parser)."""
    from kerasvision.config import RunOptions

    options = [*declared_options(FitConfig), *declared_options(RunOptions)]
    declared = dict((item.name, option) for item, option in options)[name]
    return lambda command: _with_params(command, [make_option(name, declared)])


# === Arguments and options of several commands ===

data_dir_argument = click.argument(
    "data_dir", required=False, type=click.Path(path_type=str)
)
run_argument = click.argument("run", type=click.Path(path_type=str))
dataset_option = config_option("dataset")
image_size_option = config_option("image_size")
seed_option = config_option("seed")
batch_size_option = config_option("batch_size")
overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    default=None,
    help="Replace an earlier kerasvision run/export at --output (nothing else).",
)


replace_option = click.option(
    "--overwrite",
    "replace",
    is_flag=True,
    default=None,
    help="Replace existing files of the same name at the output path.",
)


def output_option(help_text: str, *, required: bool = False):
    return click.option(
        "--output", required=required, type=click.Path(path_type=str), help=help_text
    )


export_format_option = click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMAT_NAMES),
    help=format_help(),
)
quantize_option = click.option(
    "--quantize",
    type=click.Choice(QUANTIZE_MODES),
    help="With --format tflite: none (default), float16, dynamic or int8.",
)
representative_option = click.option(
    "--representative",
    type=click.IntRange(min=1),
    metavar="N",
    help="With --quantize int8: training images that set the ranges (default 200).",
)
tta_option = click.option(
    "--tta",
    type=click.Choice(TTA_MODES),
    help="Test-time augmentation: average the probabilities of flipped (and "
    "cropped) views.",
)
min_confidence_option = click.option(
    "--min-confidence",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    metavar="P",
    help="Answer 'unknown' when the top probability is below P.",
)


# === fit (generated from the option declarations) ===


class SectionedCommand(click.Command):
    """A command whose `--help` lists its options by section."""

    def format_options(self, ctx, formatter):
        sections: dict[str, list] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Argument):
                continue
            record = param.get_help_record(ctx)
            if record is not None:
                title = getattr(param, "section", None)
                title = f"{title} options" if title else "Other options"
                sections.setdefault(title, []).append(record)
        other = sections.pop("Other options", None)
        for title, rows in [*sections.items(), ("Other options", other)]:
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _parse_callback(parse):
    def callback(context, parameter, value):
        if value is None or value == ():
            return None
        try:
            return parse(value)
        except ValueError as error:
            raise UserError(str(error)) from None

    return callback


def _number_type(cli, base):
    bounds = {"min": cli.minimum, "max": cli.maximum}
    if cli.minimum is None and cli.maximum is None:
        return base
    ranged = click.IntRange if base is int else click.FloatRange
    return ranged(**bounds, min_open=cli.min_open, max_open=cli.max_open)


def make_option(name: str, declared) -> click.Option:
    """The click option of one declared field (`kerasvision.config.Option`)."""
    cli = declared.cli
    flag = cli.flag or flag_name(name)
    kwargs = {"default": None, "help": f"{declared.help}.", "metavar": cli.metavar}
    kind = cli.kind
    if kind == "choice":
        kwargs["type"] = click.Choice(cli.choice_values())
    elif kind in ("int", "float"):
        kwargs["type"] = _number_type(cli, int if kind == "int" else float)
    elif kind == "optional":
        kwargs.update(type=_number_type(cli, float), is_flag=False,
                      flag_value=cli.flag_value)  # fmt: skip
    elif kind == "flag":
        kwargs["is_flag"] = True
    elif kind == "toggle":
        flag = f"{flag}/--no-{flag[2:]}"
    elif kind == "multiple":
        kwargs["multiple"] = True
    if cli.parse is not None:
        kwargs["callback"] = _parse_callback(cli.parse)
    kwargs = {k: v for k, v in kwargs.items() if v is not None or k == "default"}
    made = click.Option([flag], **kwargs)
    made.name = name
    made.section = declared.section
    return made


def declared_cli_options(*classes, lr_find: bool = False) -> list[click.Option]:
    """Click options of every declared field of `classes` that the command
    line takes (`lr_find=True`: only those `lr-find` takes)."""
    from kerasvision.config import declared_options

    made = []
    for cls in classes:
        for item, declared in declared_options(cls):
            if declared.cli is None or declared.cli.argument:
                continue
            if lr_find and not declared.lr_find:
                continue
            made.append(make_option(item.name, declared))
    return made


def fit_options(command):
    """Every `fit` option, generated from `FitConfig`, `ModelArgs` and
    `RunOptions` (also for commands that train like `fit`)."""
    from kerasvision.config import FitConfig, ModelArgs, RunOptions

    return _with_params(command, declared_cli_options(FitConfig, ModelArgs, RunOptions))


def fit_options_except(*names):
    """`fit_options` without the options `names` (for a command that trains
    like `fit` but gives those a meaning of its own, e.g. `tune`)."""

    def decorator(command):
        from kerasvision.config import FitConfig, ModelArgs, RunOptions

        params = declared_cli_options(FitConfig, ModelArgs, RunOptions)
        return _with_params(command, [p for p in params if p.name not in names])

    return decorator


def lr_find_options(command):
    """`fit`'s data, model and training options that `lr-find` takes."""
    from kerasvision.config import FitConfig, ModelArgs

    return _with_params(
        command, declared_cli_options(FitConfig, ModelArgs, lr_find=True)
    )


def _with_params(command, params):
    # click builds a command's parameters from this list in reverse order.
    command.__click_params__ = getattr(command, "__click_params__", [])
    command.__click_params__.extend(reversed(params))
    return command


def fit_kwargs(options: dict) -> dict:
    """The set fit options as `kerasvision.fit` keywords (the `ModelArgs`
    shortcuts merged into `model_kwargs`)."""
    from kerasvision.config import ModelArgs, declared_options

    kwargs = given(**options)
    model_kwargs = dict(kwargs.pop("model_kwargs", None) or {})
    for item, _ in declared_options(ModelArgs):
        if item.name in kwargs:
            model_kwargs[item.name] = kwargs.pop(item.name)
    if model_kwargs:
        kwargs["model_kwargs"] = model_kwargs
    return kwargs
