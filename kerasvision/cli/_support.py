"""Helpers shared by the click commands (no TensorFlow import here)."""

from __future__ import annotations

import os

import click

from kerasvision._quiet import quiet_tensorflow

__all__ = [
    "UserError",
    "call",
    "check_path",
    "quiet_tensorflow",
    "warn_bad_file",
]


class UserError(click.ClickException):
    """Bad input: one line on stderr, exit code 2."""

    exit_code = 2


def call(function, *args, **kwargs):
    """Run a library call, mapping expected failures to one-line CLI errors.

    The one place where a failure of the file system (no space left, read-only,
    permission denied, a regular file where a folder must be) that the library
    did not name already becomes one line, exit 1.
    """
    from kerasvision._files import disk_errno, write_error

    quiet_tensorflow()
    try:
        return function(*args, **kwargs)
    except (ValueError, FileNotFoundError, NotADirectoryError) as error:
        raise UserError(str(error)) from None
    except PermissionError as error:
        raise UserError(f"permission denied: {error.filename or error}") from None
    except RuntimeError as error:  # TrainingError, ExportError, WriteError, ...
        raise click.ClickException(str(error)) from None
    except Exception as error:
        if not isinstance(error, OSError) and disk_errno(error) is None:
            raise  # a bug: keep its traceback
        raise click.ClickException(str(write_error(error))) from None


def warn_bad_file(path, reason):
    click.echo(f"skipping bad file {path}: {reason}", err=True)


def check_path(path, what):
    """Fail fast (before TensorFlow loads) when a required folder is missing."""
    if path is not None and not os.path.exists(path):
        from kerasvision.runs import partial_dir

        if what == "run directory" and os.path.isdir(partial_dir(path)):
            return  # load_run explains how to resume it
        raise UserError(f"{what} not found: {path}")
