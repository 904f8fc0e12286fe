"""The `kerasvision` command: a click group over thin command modules.

Each command parses options (shared decorators in `options`), calls one public
library function and echoes the result; TensorFlow/Keras load inside the
commands, so `kerasvision --help` stays fast. Modules: `train` (fit, rerun, lr-find),
`distill`,
`inference` (evaluate, predict, export, encode, ensemble), `embedding` (embed),
`data` (write-dataset,
augment, datasets), `catalog` (models, backbones), `visualize` (visualize,
report), `doctor` (doctor, review, clean), `experiments` (runs, tune).
"""

from __future__ import annotations

import contextlib
import os
import sys

import click

from kerasvision import __version__
from kerasvision.cli import (
    catalog,
    data,
    distill,
    doctor,
    embedding,
    experiments,
    inference,
    train,
    visualize,
)

__all__ = ["main"]

# TensorFlow's C++ logging (incl. harmless "cuInit failed" on CPU machines);
# real failures still surface as Python exceptions. Users can override.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class _Group(click.Group):
    """Prints every error as one `Error: ...` line (no usage block, no traceback)."""

    def main(self, args=None, prog_name=None, complete_var=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            with _sigterm_interrupts():
                result = super().main(
                    args, prog_name, complete_var, standalone_mode=False, **extra
                )
        except click.ClickException as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)


@contextlib.contextmanager
def _sigterm_interrupts():
    """SIGTERM (`kill`, a scheduler's stop) ends a command like Ctrl-C does, so
    its cleanup runs: staging folders go, a resumable run stays."""
    import signal

    owner = os.getpid()

    def interrupt(signum, frame):
        if os.getpid() != owner:  # a forked worker (a pool being terminated)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (e.g. CliRunner in a thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kerasvision")
def main():
    """CNN image classification with Keras 3: fit, evaluate, predict, export."""


for _module in (
    train, distill, experiments, inference, embedding, data, catalog, visualize,
    doctor,
):  # fmt: skip
    for _name in _module.__all__:
        main.add_command(getattr(_module, _name))


if __name__ == "__main__":  # pragma: no cover
    main()
