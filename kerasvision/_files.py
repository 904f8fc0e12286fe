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

from kerasvision._process import current_umask, pid_alive, process_start

__all__ = [
    "MARKER_NAME",
    "WriteError",
    "check_not_overlapping",
    "check_output_file",
    "check_path_fits",
    "check_replaceable",
    "current_umask",
    "disk_errno",
    "json_default",
    "made_dirs",
    "marker_process_alive",
    "read_json",
    "read_marker",
    "remove_stale_staging",
    "replace_path",
    "save_model",
    "staged_dir",
    "staged_file",
    "staged_files",
    "write_error",
    "write_json",
    "write_marker",
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
    """The JSON in file `path`.

    Raises:
        ValueError: If it is not valid JSON (one line naming the file).
    """
    path = os.fspath(path)
    with open(path, encoding="utf-8") as stream:
        try:
            return json.load(stream)
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"{path} is not valid JSON ({error})") from None


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


# === Ownership markers ===

#: The marker file kerasvision writes into the folders it owns (staging folders,
#: runs, exports): nothing else is ever removed or replaced as "ours".
MARKER_NAME = ".kerasvision.json"
_MARKER_KEY = "kerasvision_marker"


def write_marker(folder, kind: str, **fields) -> str:
    """Write the ownership marker of `folder`: what it is and which process made it.

    Args:
        folder: An existing folder this process created.
        kind: What the folder is ("staging", "run", "export", ...).
        **fields: More JSON-able fields to record.

    Returns:
        The marker's path (`folder/.kerasvision.json`).
    """
    import datetime
    import socket

    marker = {
        _MARKER_KEY: 1,
        "kind": kind,
        "pid": os.getpid(),
        "started": process_start(os.getpid()),
        "host": socket.gethostname(),
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        **fields,
    }
    path = os.path.join(os.fspath(folder), MARKER_NAME)
    with _translated(path), open(path, "w", encoding="utf-8") as stream:
        json.dump(marker, stream)
    return path


def read_marker(folder, kind: str | None = None) -> dict | None:
    """The ownership marker of `folder` (of that `kind`), or None when there is
    none: no marker file, not one kerasvision wrote, or another kind."""
    folder = os.fspath(folder)
    path = os.path.join(folder, MARKER_NAME)
    if os.path.islink(folder) or os.path.islink(path) or not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as stream:
            marker = json.load(stream)
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get(_MARKER_KEY) != 1:
        return None
    if not (isinstance(marker.get("pid"), int) and isinstance(marker.get("kind"), str)):
        return None
    return marker if kind is None or marker["kind"] == kind else None


def marker_process_alive(marker: dict) -> bool:
    """Whether the process that wrote `marker` still runs (same pid, same start;
    a marker of another machine counts as alive: it cannot be checked)."""
    import socket

    if marker.get("host") not in (None, socket.gethostname()):
        return True
    pid = marker["pid"]
    if not pid_alive(pid):
        return False
    started = marker.get("started")
    return started is None or process_start(pid) in (None, started)


# === Staging ===


def remove_stale_staging(folder: str, prefix: str) -> list[str]:
    """Remove `prefix<pid>-*` leftovers in `folder` that are provably ours and dead.

    A killed command leaves its staging folder behind; the next one of the
    same kind in the same folder removes it. Only a real folder holding our
    ownership marker, written by that same pid, whose process is gone (or is
    another process by now: its start time differs) is removed; anything else
    with such a name (a user's `.tmp-2024-tax-returns/`, a live command's
    staging) is kept.
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
        path = os.path.join(folder, name)
        marker = read_marker(path)
        if marker is None or marker["pid"] != int(pid) or int(pid) == os.getpid():
            continue
        if not marker_process_alive(marker):
            _remove(path)
            removed.append(name)
    return removed


def check_replaceable(
    path, *, folder: bool = False, overwrite: bool = True, option: str = "--output"
) -> None:
    """`ValueError` unless writing `path` may replace what is there.

    Nothing is not a regular file or folder (a device node, a pipe, a socket)
    is ever replaced, nor a folder by a file or a file by a folder; an existing
    file or folder only with `overwrite`.

    Args:
        path: The destination.
        folder: The destination is a folder. Defaults to False (a file).
        overwrite: An existing destination of the right type may be replaced.
            Defaults to True.
        option: The option that named `path`, for the message. Defaults to
            "--output".
    """
    import stat

    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing, or a dangling symlink (the link is replaced)
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(
            f"{option} {path} is not a regular file or folder (a device, pipe or "
            f"socket); nothing there is replaced"
        )
    if stat.S_ISDIR(mode) and not folder:
        raise ValueError(f"{option} {path} is a folder; give a file path")
    if stat.S_ISREG(mode) and folder:
        raise ValueError(f"{option} {path} is a regular file, not a folder")
    if not overwrite:
        raise ValueError(
            f"{option} {path} already exists; pass --overwrite to replace it"
        )


def check_not_overlapping(output, data_dir, *, what: str = "--output") -> None:
    """`ValueError` when `output` is inside `data_dir` or contains it (symlinks
    resolved): the next training would read what was written there."""
    out = os.path.realpath(os.fspath(output))
    data = os.path.realpath(os.fspath(data_dir))
    if out == data or out.startswith(data + os.sep):
        raise ValueError(f"{what} {output} is inside the data folder {data_dir}")
    if data.startswith(out + os.sep):
        raise ValueError(f"{what} {output} contains the data folder {data_dir}")


def check_output_file(
    path, *, overwrite: bool = False, data_dir=None, option: str = "--output"
) -> None:
    """Check, before any work, that a command may write file `path`.

    Args:
        path: The file to write.
        overwrite: An existing regular file there may be replaced. Defaults
            to False.
        data_dir: A data folder `path` must not lie in (a path, or None).
            Defaults to None.
        option: The option that named `path`, for messages. Defaults to
            "--output".

    Raises:
        ValueError: If `path` is too long, lies in `data_dir`, is not a
            regular file (a folder, a device...), or exists without `overwrite`.
    """
    check_path_fits(path)
    if isinstance(data_dir, str | os.PathLike) and os.path.isdir(data_dir):
        check_not_overlapping(path, data_dir, what=option)
    check_replaceable(path, overwrite=overwrite, option=option)


def _new_staging(parent: str, prefix: str, destination: str) -> str:
    """A fresh staging folder `prefix<pid>-*` in `parent`, with its marker."""
    staging = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent)
    try:
        write_marker(staging, "staging")
    except WriteError as error:  # name the destination, not the marker
        _remove(staging)
        marker = os.path.join(staging, MARKER_NAME)
        raise WriteError(str(error).replace(marker, destination)) from None
    except BaseException:
        _remove(staging)
        raise
    return staging


def _drop_staging_marker(staging: str) -> None:
    """Remove the staging marker (a marker of another kind, e.g. an export's
    written into the staging folder, stays with the content)."""
    if read_marker(staging, "staging") is not None:
        os.unlink(os.path.join(staging, MARKER_NAME))


@contextlib.contextmanager
def _staged(destination, prefix: str, yielded, finish, *, folder: bool):
    """Stage beside `destination` in a marked folder; `finish` it on success.

    `yielded(staging)` is what the block gets (the folder, or a file in it).
    """
    destination = os.path.abspath(os.fspath(destination))
    check_path_fits(destination)
    check_replaceable(destination, folder=folder)
    parent = os.path.dirname(destination)
    staging = None
    with made_dirs(parent), _translated(destination):
        try:
            remove_stale_staging(parent, prefix)
            staging = _new_staging(parent, prefix, destination)
            yield yielded(staging)
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


def check_path_fits(path) -> None:
    """`ValueError` when `path` is longer than the file system takes (a name
    over NAME_MAX bytes, the whole over PATH_MAX), before anything is created."""
    path = os.path.abspath(os.fspath(path))
    encoded = os.fsencode(path)
    try:
        name_max = os.pathconf("/", "PC_NAME_MAX")
        path_max = os.pathconf("/", "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - not POSIX
        name_max, path_max = 255, 4096
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if len(encoded) >= path_max or longest > name_max:
        shown = path if len(path) <= 80 else f"{path[:60]}...{path[-15:]}"
        raise ValueError(
            f"path too long ({len(encoded)} bytes, a name of {longest}; the file "
            f"system takes {path_max} and {name_max}): {shown}"
        )


def _staged_payload(suffix: str):
    def payload(staging: str) -> str:
        return os.path.join(staging, f"file{suffix}")

    return payload


def _publishing_file(suffix: str):
    def publish(staging: str, destination: str) -> None:
        payload = _staged_payload(suffix)(staging)
        if os.path.isfile(payload):
            os.chmod(payload, 0o666 & ~current_umask())  # as a new file's mode
        os.replace(payload, destination)
        _remove(staging)

    return publish


def staged_dir(destination, *, prefix: str = ".export-"):
    """Yield a temporary folder beside `destination`; move it there on success.

    The temporary folder (`<prefix><pid>-*`) holds the ownership marker of a
    staging folder until it is published, so a leftover of a killed process is
    recognised (and removed) by the next staging in the same folder. On an
    exception the temporary folder is removed and `destination` is left as it
    was. A marker of another kind written into it (`write_marker(staging,
    "export")`) is published with the content.

    Raises:
        ValueError: If `destination` is a regular file, a device, a pipe...

    Example:
        >>> with staged_dir("RUN/serving") as staging:
        ...     write_everything_into(staging)
    """
    return _staged(destination, prefix, _as_is, _publish_dir, folder=True)


def _as_is(staging: str) -> str:
    return staging


def _publish_dir(staging: str, destination: str) -> None:
    _drop_staging_marker(staging)
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp creates 0700 folders
    replace_path(staging, destination)


def _merging(overwrite: bool):
    def merge(staging: str, destination: str) -> None:
        if not os.path.lexists(destination):
            _publish_dir(staging, destination)
            return
        if not os.path.isdir(destination):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", destination)
        names = sorted(n for n in os.listdir(staging) if n != MARKER_NAME)
        for name in names:
            check_replaceable(
                os.path.join(destination, name),
                folder=os.path.isdir(os.path.join(staging, name)),
                overwrite=overwrite,
            )
        for name in names:
            os.replace(os.path.join(staging, name), os.path.join(destination, name))
        _remove(staging)

    return merge


def staged_files(folder, *, prefix: str = ".tmp-", overwrite: bool = True):
    """Yield a temporary folder beside `folder`; its files join `folder` on success.

    For commands writing several files into a folder that may hold the user's
    other files: on an exception none of the new files appears, the temporary
    folder is removed and so are the folders this created. Files of the same
    name in `folder` are replaced, each atomically, with `overwrite`; without
    it, none is written and a `ValueError` names the first.

    Example:
        >>> with staged_files("viz") as staging:
        ...     draw_pictures_into(staging)
    """
    return _staged(folder, prefix, _as_is, _merging(overwrite), folder=True)


def staged_file(destination, *, suffix: str = "", prefix: str = ".export-"):
    """Yield a temporary file path (in a marked staging folder beside
    `destination`, ending with `suffix`); move it there on success.

    Raises:
        ValueError: If `destination` is a folder, a device, a pipe...
    """
    return _staged(
        destination,
        prefix,
        _staged_payload(suffix),
        _publishing_file(suffix),
        folder=False,
    )
