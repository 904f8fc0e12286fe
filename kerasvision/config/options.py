"""One declaration per option: the metadata every `FitConfig` field carries.

A field of a config section is declared with `option(default, help, ...)`:
its help text, the tasks and recipes it applies to, whether `lr-find` takes
it, and how the command line parses it (`Cli`, plain data: the click options
are generated from it in `kerasvision.cli.options`). From the same
declarations come the "option X does not apply" checks
(`kerasvision.config.validation`) and the option list of `kerasvision.fit`'s
docstring (`options_doc`). Nothing here imports click, Keras or TensorFlow.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Cli",
    "Option",
    "declared_options",
    "flag_name",
    "option",
    "options_doc",
]

_MISSING = dataclasses.MISSING


@dataclass(frozen=True)
class Cli:
    """How the command line spells and parses one option.

    Attributes:
        kind: "text", "int", "float", "choice", "flag" (`--x`), "toggle"
            (`--x/--no-x`), "optional" (`--x [VALUE]`: `flag_value` when the
            value is left out) or "multiple" (repeatable).
        choices: Allowed values, or a function returning them (read when the
            CLI is built; e.g. the registered models).
        minimum: Lower bound of a number. Defaults to None.
        maximum: Upper bound of a number. Defaults to None.
        min_open: Whether `minimum` itself is excluded. Defaults to False.
        max_open: Whether `maximum` itself is excluded. Defaults to False.
        metavar: What the help shows for the value. Defaults to None.
        flag: The option's spelling when it is not `--field-name`.
        flag_value: The value of an "optional" option given bare.
        parse: `text -> value`, raising `ValueError` on bad input (the CLI
            turns that into a one-line usage error). Defaults to None.
        argument: A positional argument instead of an option (its metavar).
    """

    kind: str = "text"
    choices: Any = None
    minimum: float | None = None
    maximum: float | None = None
    min_open: bool = False
    max_open: bool = False
    metavar: str | None = None
    flag: str | None = None
    flag_value: Any = None
    parse: Callable[[str], Any] | None = None
    argument: str | None = None

    def choice_values(self) -> tuple:
        choices = self.choices() if callable(self.choices) else self.choices
        return tuple(choices or ())


@dataclass(frozen=True)
class Option:
    """What a config field declares about itself.

    Attributes:
        help: One line for `--help` (and the first line of its docstring entry).
        doc: More of the docstring entry (defaults that come from a table...).
        tasks: The tasks it applies to: a family ("classifier",
            "autoencoder"), a task name or a tuple of task names; None: all.
        recipes: The recipes it applies to (`kerasvision.config.recipes`);
            None: all of its tasks'.
        lr_find: Whether `lr-find` takes it. Defaults to True.
        cli: How the command line parses it; None: not on the command line.
        section: Set by the section class (`Data`, `Model`...).
    """

    help: str
    doc: str = ""
    tasks: Any = None
    recipes: tuple[str, ...] | None = None
    lr_find: bool = True
    cli: Cli | None = Cli()
    section: str = ""


def option(default=_MISSING, help: str = "", *, default_factory=_MISSING, **meta):
    """A dataclass field carrying its `Option` (see there for `meta`)."""
    kwargs = {"metadata": {"option": Option(help, **meta)}}
    if default_factory is not _MISSING:
        kwargs["default_factory"] = default_factory
    else:
        kwargs["default"] = default
    return dataclasses.field(**kwargs)


def flag_name(name: str) -> str:
    """`--field-name` of a field (what errors call the option)."""
    return f"--{name.replace('_', '-')}"


def declared_options(cls) -> list[tuple[dataclasses.Field, Option]]:
    """`(field, option)` of every declared field of a config class, in
    declaration order, each option carrying its section."""
    sections = {}
    for klass in reversed(cls.__mro__):
        title = klass.__dict__.get("SECTION")
        for name in klass.__dict__.get("__annotations__", {}):
            if title:
                sections[name] = title
    result = []
    for item in dataclasses.fields(cls):
        declared = item.metadata.get("option")
        if declared is None:
            continue
        section = sections.get(item.name, "")
        result.append((item, dataclasses.replace(declared, section=section)))
    return result


def field_default(item: dataclasses.Field):
    if item.default_factory is not _MISSING:
        return item.default_factory()
    return item.default


def options_doc(cls, *, indent: int = 12) -> str:
    """The `Args:` entries of every declared option, by section (for
    `kerasvision.fit`'s docstring)."""
    lines, section = [], None
    for item, declared in declared_options(cls):
        if declared.section != section:
            section = declared.section
            lines.append(" " * (indent - 4) + f"({section})")
        default = field_default(item)
        shown = "None" if default is None else repr(default)
        text = " ".join(p for p in (declared.help, declared.doc) if p).rstrip(".")
        entry = f"{item.name}: {text}. Defaults to {shown}."
        lines.extend(
            textwrap.wrap(
                entry,
                width=88,
                initial_indent=" " * (indent - 4),
                subsequent_indent=" " * indent,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)
