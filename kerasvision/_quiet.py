"""TensorFlow without its log chatter: the one place that quiets it.

TensorFlow writes C++ lines to stderr when it loads (oneDNN, "Could not find
cuda drivers", "failed call to cuInit", some before its logging is set up, so
`TF_CPP_MIN_LOG_LEVEL` alone does not hide them) and while it runs ("NodeDef
mentions attribute ...", cache warnings), and its Python logger warns about
retracing. The CLI commands and the first use of the lazy public API
(`kerasvision._lazy`) call `quiet_tensorflow()`; importing `kerasvision` itself
does nothing. `KERASVISION_VERBOSE=1`, or a `TF_CPP_MIN_LOG_LEVEL` below 3 set
by the user, leaves TensorFlow's logging as it is.

Only the standard library is imported at module level.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["quiet_tensorflow", "verbose_requested"]

_QUIETED = [False]


def verbose_requested() -> bool:
    """True when the user asked for TensorFlow's logs (`KERASVISION_VERBOSE=1`
    or `TF_CPP_MIN_LOG_LEVEL` set below 3)."""
    if os.environ.get("KERASVISION_VERBOSE", "").strip() not in ("", "0"):
        return True
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    return level is not None and level.strip() not in ("3",)


def quiet_tensorflow(*, announce: bool = False) -> None:
    """Import TensorFlow with its C++ and Python (absl) logging hidden, once.

    Sets `TF_CPP_MIN_LOG_LEVEL=3` when unset, imports TensorFlow with stderr
    (file descriptor 2) pointed at /dev/null (its start-up lines come before
    its logging is configured), and lowers the TensorFlow and absl Python
    loggers to errors. Does nothing when `verbose_requested()`.

    Args:
        announce: Write "loading TensorFlow ..." on stderr first when it is
            not loaded yet (its import takes 4-12 s on two cores; `fit` says
            what it is doing from its first second). Defaults to False.
    """
    if announce and "tensorflow" not in sys.modules:
        print("loading TensorFlow ...", file=sys.stderr, flush=True)
    if _QUIETED[0] or verbose_requested():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:
        _import_silently()
    _QUIETED[0] = True
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging
    except ImportError:  # pragma: no cover - TensorFlow depends on absl
        return
    absl_logging.set_verbosity(absl_logging.ERROR)


def _import_silently() -> None:
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (e.g. an embedded interpreter)
        import tensorflow  # noqa: F401

        return
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
