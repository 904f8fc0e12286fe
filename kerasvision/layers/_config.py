"""`get_config` from declared fields: one owner for the layers' serialization."""

from __future__ import annotations

__all__ = ["ConfigFields"]


class ConfigFields:
    """Mixin (first among the bases): `get_config` from `config_fields`.

    Each class names the constructor arguments it adds, `config_fields =
    ("sigma",)`, stored on attributes of the same names. `get_config` is the
    Keras base's config plus every field declared along the class hierarchy,
    tuples written as lists (what a `.keras` file's JSON keeps).
    """

    config_fields: tuple[str, ...] = ()

    def get_config(self):
        config = super().get_config()
        for cls in reversed(type(self).__mro__):
            for name in vars(cls).get("config_fields", ()):
                value = getattr(self, name)
                config[name] = list(value) if isinstance(value, tuple) else value
        return config
