"""Atomic file writing: every file kerasvision writes goes through here.

A file is written to a temporary name in its destination folder and renamed into
place, so a crash, a full disk or a kill never leaves a half-written file under
the final name, and never loses the previous one. Folders (exports) are staged
the same way. Failures of the file system (no space left, read-only, permission
denied) become one-line `WriteError`s naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile

__all__ = [
    "WriteError",
    "json_default",
    "read_json",
    "replace_path",
    "save_model",
    "staged_dir",
    "staged_file",
    "write_json",
    "write_text",
]

_UMASK = os.umask(0)
os.umask(_UMASK)

_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a parent is not a folder",
    errno.EEXIST: "it already exists",
}


class WriteError(RuntimeError):
    """A file or folder could not be written (one line: what, where, why)."""


def write_error(error: OSError, path) -> WriteError:
    """`WriteError` for an `OSError` raised while writing `path`."""
    reason = _REASONS.get(error.errno, error.strerror or str(error))
    return WriteError(f"cannot write {os.fspath(path)}: {reason}")


@contextlib.contextmanager
def _translated(path):
    try:
        yield
    except WriteError:
        raise
    except OSError as error:
        if error.errno in _REASONS:
            raise write_error(error, path) from None
        raise


def _temp_name(folder: str, prefix: str, suffix: str = "") -> str:
    handle, temp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    os.close(handle)
    return temp


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        with contextlib.suppress(OSError):
            os.unlink(path)


def write_text(path, text: str) -> None:
    """Write a text file atomically (temp file in the same folder, then rename).

    Raises:
        WriteError: On a full disk, a read-only or unwritable folder.
    """
    with staged_file(path, prefix=".tmp-") as temp:
        with open(temp, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)


def json_default(value):
    """JSON for NumPy scalars/arrays, tuples and sets; anything else as `str`."""
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    if isinstance(value, tuple | set):
        return list(value)
    return str(value)


def write_json(path, payload) -> None:
    """Write JSON atomically (indented, NumPy values converted)."""
    write_text(path, json.dumps(payload, indent=2, default=json_default) + "\n")


def read_json(path):
    with open(os.fspath(path), encoding="utf-8") as stream:
        return json.load(stream)


def save_model(model, path) -> None:
    """`model.save(path)` atomically (a `.keras` file)."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    temp = os.path.join(folder or ".", f".{name}.tmp.keras")
    with _translated(path):
        try:
            model.save(temp)
            os.replace(temp, path)
        except BaseException:
            _remove(temp)
            raise


def replace_path(source: str, destination: str) -> None:
    """Move `source` onto `destination`, replacing it without a window of loss.

    The old destination is renamed aside first and removed only once `source`
    is in place.
    """
    with _translated(destination):
        if not os.path.lexists(destination):
            os.replace(source, destination)
            return
        folder = os.path.dirname(os.path.abspath(destination))
        backup = tempfile.mkdtemp(prefix=".replaced-", dir=folder)
        os.rmdir(backup)
        os.replace(destination, backup)
        try:
            os.replace(source, destination)
        except BaseException:
            os.replace(backup, destination)
            raise
        _remove(backup)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(folder: str, prefix: str) -> list[str]:
    """Remove `prefix<pid>-*` leftovers in `folder` whose process is gone.

    A killed command leaves its temporary file or folder behind; the next one
    of the same kind in the same folder removes it. Leftovers of a live
    process (a concurrent command) are kept.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        pid, _, rest = name[len(prefix) :].partition("-")
        if not (name.startswith(prefix) and rest and pid.isdigit()):
            continue
        if int(pid) != os.getpid() and not pid_alive(int(pid)):
            _remove(os.path.join(folder, name))
            removed.append(name)
    return removed


@contextlib.contextmanager
def _staged(destination, prefix: str, make, finish):
    """Yield `make(parent, prefix)` beside `destination`; `finish` it on success."""
    destination = os.path.abspath(os.fspath(destination))
    parent = os.path.dirname(destination)
    staging = None
    with _translated(destination):
        try:
            os.makedirs(parent, exist_ok=True)
            remove_stale_staging(parent, prefix)
            staging = make(parent, f"{prefix}{os.getpid()}-")
            yield staging
            finish(staging, destination)
        except BaseException:
            if staging is not None:
                _remove(staging)
            raise


def _publish_file(staging: str, destination: str) -> None:
    if os.path.isfile(staging):
        os.chmod(staging, 0o666 & ~_UMASK)  # mkstemp creates 0600 files
    os.replace(staging, destination)


def staged_dir(destination, *, prefix: str = ".export-"):
    """Yield a temporary folder beside `destination`; move it there on success.

    On an exception the temporary folder is removed and `destination` is left
    as it was.

    Example:
        >>> with staged_dir("RUN/serving") as staging:
        ...     write_everything_into(staging)
    """

    def make(parent, prefix):
        return tempfile.mkdtemp(prefix=prefix, dir=parent)

    return _staged(destination, prefix, make, replace_path)


def staged_file(destination, *, suffix: str = "", prefix: str = ".export-"):
    """Yield a temporary file path beside `destination`; move it there on success."""

    def make(parent, prefix):
        return _temp_name(parent, prefix, suffix)

    return _staged(destination, prefix, make, _publish_file)
