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
import functools
import json
import os
import shutil
import tempfile

__all__ = [
    "WriteError",
    "current_umask",
    "disk_errno",
    "json_default",
    "made_dirs",
    "read_json",
    "replace_path",
    "save_model",
    "staged_dir",
    "staged_file",
    "staged_files",
    "write_error",
    "write_json",
    "write_text",
]

# The failures of writing that are the file system's, not a bug: one line each.
_DISK_ERRORS = (
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTDIR,
    errno.EEXIST,
)


class WriteError(RuntimeError):
    """A file or folder could not be written (one line: what, where, why)."""


def disk_errno(error: BaseException) -> int | None:
    """The errno of a file-system failure: an `OSError`, or TensorFlow's error
    for one (its message carries the C library's text), else None."""
    if isinstance(error, OSError):
        return error.errno if error.errno in _DISK_ERRORS else None
    if type(error).__module__.startswith("tensorflow"):
        message = str(getattr(error, "message", error))
        for code in _DISK_ERRORS:
            if os.strerror(code) in message:
                return code
    return None


def _regular_file_above(path: str) -> str | None:
    """The nearest existing ancestor of `path` when it is not a folder."""
    parent = os.path.abspath(path)
    while parent != os.path.dirname(parent):
        if os.path.lexists(parent):
            return None if os.path.isdir(parent) else parent
        parent = os.path.dirname(parent)
    return None


def write_error(error: BaseException, path=None) -> WriteError:
    """The one-line `WriteError` for a failure to write `path`.

    Args:
        error: An `OSError` (or TensorFlow's error for one).
        path: What was being written. Defaults to None (`error.filename`).
    """
    if path is None:
        path = getattr(error, "filename", None) or "a file"
    path = os.fspath(path)
    code = disk_errno(error)
    if code in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left" if code == errno.ENOSPC else "disk quota exceeded"
        return WriteError(f"{what} writing {path}")
    if code == errno.EROFS:
        return WriteError(f"read-only file system: cannot write {path}")
    if code in (errno.EACCES, errno.EPERM):
        return WriteError(f"permission denied: cannot write {path}")
    if code in (errno.ENOTDIR, errno.EEXIST):  # makedirs meets a file
        above = _regular_file_above(path)
        if above is not None:
            return WriteError(
                f"cannot write {path}: {above} is a regular file, not a folder"
            )
        if code == errno.EEXIST:
            return WriteError(f"cannot write {path}: it already exists")
    reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
    return WriteError(f"cannot write {path}: {reason}")


@contextlib.contextmanager
def _translated(path):
    try:
        yield
    except WriteError:
        raise
    except Exception as error:
        if disk_errno(error) is None:
            raise
        raise write_error(error, path) from None


@contextlib.contextmanager
def made_dirs(folder):
    """Create `folder` and its missing parents; on an exception remove those of
    them that are still empty (never anything that was there before).

    Raises:
        WriteError: If the folders cannot be created.
    """
    folder = os.path.abspath(os.fspath(folder))
    missing = []
    parent = folder
    while not os.path.lexists(parent) and parent != os.path.dirname(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    try:
        with _translated(folder):
            os.makedirs(folder, exist_ok=True)
        yield folder
    except BaseException:
        for created in missing:  # deepest first
            with contextlib.suppress(OSError):
                os.rmdir(created)
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
    with made_dirs(parent), _translated(destination):
        try:
            remove_stale_staging(parent, prefix)
            staging = make(parent, f"{prefix}{os.getpid()}-")
            yield staging
            finish(staging, destination)
        except WriteError as error:  # name the destination, not the staging
            if staging is None:
                raise
            _remove(staging)
            raise WriteError(str(error).replace(staging, destination)) from None
        except BaseException:
            if staging is not None:
                _remove(staging)
            raise


def _proc_umask() -> int | None:
    """The umask from the `Umask:` line of `/proc/self/status` (Linux >= 4.7)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


@functools.cache
def _swapped_umask() -> int:
    # Setting the umask is the only portable way to read it, and a process-wide
    # change that races with other threads' file creation: done once, lazily.
    umask = os.umask(0)
    os.umask(umask)
    return umask


def current_umask() -> int:
    """The process's umask, read without changing it where the system shows it.

    Linux shows it in `/proc/self/status`, read at each call; elsewhere it is
    read once, at the first call, by setting it and putting it back.
    """
    umask = _proc_umask()
    return _swapped_umask() if umask is None else umask


def _publish_file(staging: str, destination: str) -> None:
    if os.path.isfile(staging):
        os.chmod(staging, 0o666 & ~current_umask())  # mkstemp creates 0600 files
    os.replace(staging, destination)


def staged_dir(destination, *, prefix: str = ".export-"):
    """Yield a temporary folder beside `destination`; move it there on success.

    On an exception the temporary folder is removed and `destination` is left
    as it was.

    Example:
        >>> with staged_dir("RUN/serving") as staging:
        ...     write_everything_into(staging)
    """

    return _staged(destination, prefix, _make_dir, _publish_dir)


def _make_dir(parent: str, prefix: str) -> str:
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


def _publish_dir(staging: str, destination: str) -> None:
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp creates 0700 folders
    replace_path(staging, destination)


def _merge_dir(staging: str, destination: str) -> None:
    if not os.path.lexists(destination):
        _publish_dir(staging, destination)
        return
    if not os.path.isdir(destination):
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", destination)
    for name in sorted(os.listdir(staging)):
        os.replace(os.path.join(staging, name), os.path.join(destination, name))
    os.rmdir(staging)


def staged_files(folder, *, prefix: str = ".tmp-"):
    """Yield a temporary folder beside `folder`; its files join `folder` on success.

    For commands writing several files into a folder that may hold the user's
    other files: on an exception none of the new files appears, the temporary
    folder is removed and so are the folders this created. Files of the same
    name in `folder` are replaced, each atomically.

    Example:
        >>> with staged_files("viz") as staging:
        ...     draw_pictures_into(staging)
    """
    return _staged(folder, prefix, _make_dir, _merge_dir)


def staged_file(destination, *, suffix: str = "", prefix: str = ".export-"):
    """Yield a temporary file path beside `destination`; move it there on success."""

    def make(parent, prefix):
        return _temp_name(parent, prefix, suffix)

    return _staged(destination, prefix, make, _publish_file)
