"""Lazy public names for a package: import a submodule only when a name is used.

`kerasvision`, `kerasvision.data` and `kerasvision.visualization` expose many
functions without importing TensorFlow at `import` time (the CLI's `--help`
stays fast). Each declares a `{name: module}` table and calls `lazy_package`.
The first name resolved quiets TensorFlow (`kerasvision._quiet`): the API
prints none of its C++/absl log lines unless asked; `import kerasvision`
itself has no side effect.
"""

from __future__ import annotations

import importlib

from kerasvision._quiet import quiet_tensorflow

__all__ = ["lazy_names", "lazy_package"]


def lazy_package(package: str, table: dict[str, str], namespace: dict, *, also=()):
    """Make `package` lazy: its `__getattr__` and `__dir__` resolve `table`'s
    names on first use (`lazy_names`), and its `__all__` is `also` followed by
    the table's names, sorted."""
    getattr_, dir_ = lazy_names(package, table, namespace)
    namespace.update(
        __getattr__=getattr_, __dir__=dir_, __all__=[*also, *sorted(table)]
    )


def lazy_names(package: str, table: dict[str, str], namespace: dict):
    """Return `(__getattr__, __dir__)` resolving `table`'s names on first use.

    Args:
        package: The package's `__name__` (used in the AttributeError).
        table: Public name -> module that defines it; a module name starting
            with "." is relative to `package`.
        namespace: The package's `globals()`; resolved names are cached there.
    """

    def __getattr__(name: str):
        module_name = table.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        quiet_tensorflow()
        module = importlib.import_module(module_name, package)
        value = getattr(module, name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
