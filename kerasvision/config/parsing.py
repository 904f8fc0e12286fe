"""Text -> value for the options that need more than a number or a choice.

Used by `FitConfig` (normalization) and by the command line (through
`Cli.parse`); each raises a one-line `ValueError` naming the option.
"""

from __future__ import annotations

import ast

__all__ = [
    "parse_channels",
    "parse_class_weight",
    "parse_learning_rate",
    "parse_model_args",
]


def parse_class_weight(value):
    """ "balanced", "1,2.5,1" (per class, in label order), a list or a dict."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str):
        if value.strip() == "balanced":
            return "balanced"
        try:
            return [float(v) for v in value.split(",")]
        except ValueError:
            raise ValueError(
                f"--class-weight must be 'balanced' or comma-separated numbers, got "
                f"{value!r}"
            ) from None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(
            f"class_weight must be 'balanced', numbers or a dict, got {value!r}"
        ) from None


def parse_learning_rate(value):
    """A positive number, or "auto" (run the learning-rate finder first)."""
    if value is None or value == "auto":
        return value
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"--lr: {value!r} is not a number or auto") from None


def parse_channels(value):
    """1, 3 or 4 (text or number)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def parse_model_args(items) -> dict | None:
    """`KEY=VALUE` items -> a dict (values as Python literals, else strings)."""
    parsed = {}
    for item in items or ():
        key, sep, raw = str(item).partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--model-arg must be KEY=VALUE, got {item!r}")
        try:
            parsed[key.strip()] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            if any(c in raw for c in "()[]{},'\""):
                raise ValueError(
                    f"--model-arg {key.strip()}: {raw!r} is not a valid Python "
                    f"literal (e.g. 16, 0.5, True, (16, 32), 'relu')"
                ) from None
            parsed[key.strip()] = raw
    return parsed or None
