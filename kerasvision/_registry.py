"""Registries as data: a name -> entry table, built once, and its lookup.

The tasks, recipes, export formats and models are each such a table; adding an
entry is adding one item to its `by_name(...)` call.
"""


def by_name(*entries) -> dict:
    """`{entry.name: entry}` in the given order; a repeated name is an error."""
    table = {}
    for entry in entries:
        if entry.name in table:
            raise ValueError(f"two registry entries are named {entry.name!r}")
        table[entry.name] = entry
    return table


def lookup(table: dict, name, message: str):
    """`table[name]`, else a `ValueError` with `message` filled in.

    `message` may use `{name!r}` (what was asked for), `{names}` (the tuple of
    names in registry order) and `{listed}` (the names sorted, comma-joined).
    """
    try:
        return table[name]
    except (KeyError, TypeError):
        listed = ", ".join(sorted(table))
        raise ValueError(
            message.format(name=name, names=tuple(table), listed=listed)
        ) from None
