"""Applying a reviewed csv to a data folder, and undoing it (`kerasvision clean`).

The csv (as written by `kerasvision review`) has a `path` column (relative to
the data folder), the label the file was reviewed under (`given_label`, or
`label`) and an `action`: `keep`, `relabel:CLASS` (move the file into the
folder of CLASS, keeping its path below the class folder) or `remove` (move it
to `DATA/.kerasvision-quarantine/`, keeping its relative path; the loader skips
hidden folders, so quarantined files are out of training).

Nothing is ever deleted or overwritten: a move whose target exists is refused.
Before the first move the whole plan is written (atomically) to
`DATA/.kerasvision-quarantine/clean-log.json`; `undo_clean` restores every move
of every session, newest first, deciding from the files themselves whether a
move happened, so an interrupted apply is undone too. Each move is a hard link
then an unlink (a rename that cannot replace a file), so a file is always
either at its old or its new place. Rows that cannot be applied (unknown file,
unknown class, a label that no longer matches the file's folder, an existing
target, an unknown action) are reported and skipped; the rest is applied.

Every path is checked where it resolves (symlinks followed): nothing outside
the data folder is ever moved, through a symlinked class folder or a log
edited by hand (`undo_clean` refuses a log naming a path outside the data
folder). An apply or undo holds the lock of the quarantine folder
(`.kerasvision-quarantine/.lock`, waiting for another one to finish), so
concurrent applies never lose each other's undo record.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import errno
import os
from dataclasses import dataclass, field

from kerasvision._files import read_json, write_error, write_json
from kerasvision._process import release_lock, take_lock

__all__ = [
    "CleanResult",
    "LOG_NAME",
    "QUARANTINE",
    "apply_review",
    "undo_clean",
]

QUARANTINE = ".kerasvision-quarantine"
LOG_NAME = "clean-log.json"
_LABEL_COLUMNS = ("given_label", "label", "given")
#: How long an apply or undo waits for another one on the same folder.
LOCK_WAIT_SECONDS = 600.0


@dataclass
class CleanResult:
    """What `apply_review` / `undo_clean` did.

    Attributes:
        data_dir: The data folder.
        moved: `(from, to, action)` relative paths of the moves made.
        skipped: `(row or path, reason)` of what was not done.
        kept: Rows whose action was `keep`.
        log: The undo log path.
    """

    data_dir: str
    moved: list[tuple[str, str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    kept: int = 0
    log: str = ""

    def count(self, action: str) -> int:
        return sum(1 for _, _, a in self.moved if a == action)


def _log_path(root: str) -> str:
    return os.path.join(root, QUARANTINE, LOG_NAME)


def _inside(root: str, relative) -> bool:
    """Whether `root/relative` resolves (symlinks followed) inside `root`."""
    if not isinstance(relative, str) or not relative or os.path.isabs(relative):
        return False
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root, relative))
    return real.startswith(real_root + os.sep)


def _read_log(root: str) -> dict:
    """The undo log, every path in it checked to resolve inside `root`.

    Raises:
        ValueError: If the log is not one `apply_review` writes, or names a path
            outside the data folder (edited by hand?): nothing is undone.
    """
    path = _log_path(root)
    if not os.path.isfile(path):
        return {"sessions": []}
    log = read_json(path)
    sessions = log.get("sessions") if isinstance(log, dict) else None
    if not isinstance(sessions, list) or not all(
        isinstance(s, dict)
        and isinstance(s.get("moves"), list)
        and isinstance(s.get("created_dirs", []), list)
        and all(isinstance(m, dict) for m in s["moves"])
        for s in sessions
    ):
        raise ValueError(f"{path} is not a clean log (sessions of moves)")
    for session in sessions:
        named = [m.get(k) for m in session["moves"] for k in ("from", "to")]
        for relative in named + list(session.get("created_dirs", [])):
            if not _inside(root, relative):
                raise ValueError(
                    f"{path} names {relative!r}, outside the data folder {root}; "
                    f"nothing undone (was the log edited?)"
                )
    return log


@contextlib.contextmanager
def _locked(root: str):
    """Hold the quarantine folder's lock (waiting for another apply/undo); the
    folder is removed afterwards when nothing is left in it."""
    folder = os.path.join(root, QUARANTINE)
    if os.path.islink(folder):
        raise ValueError(f"{folder} is a symlink, not kerasvision's folder; remove it")
    for _ in range(3):  # the folder vanishes when the holder before us empties it
        try:
            os.makedirs(folder, exist_ok=True)
            lock = take_lock(
                folder,
                what=f"data folder {root}",
                advice="wait for that clean to finish",
                wait=LOCK_WAIT_SECONDS,
            )
            break
        except FileNotFoundError:
            continue
        except OSError as error:
            raise write_error(error, folder) from None
    else:
        raise ValueError(f"cannot lock {folder}")
    try:
        yield
    finally:
        release_lock(lock)
        _remove_empty(folder)


def _classes(root: str) -> set[str]:
    return {
        e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")
    }


def _read_rows(csv_path: str) -> list[dict]:
    if not os.path.isfile(csv_path):
        raise FileNotFoundError(f"review csv not found: {csv_path}")
    # utf-8-sig: a csv saved by Excel starts with a byte order mark.
    with open(csv_path, newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream)
        columns = reader.fieldnames or []
        if "path" not in columns or "action" not in columns:
            raise ValueError(
                f"{csv_path} needs the columns path and action (found: "
                f"{', '.join(columns) or 'none'})"
            )
        return list(reader)


def _plan_row(root, classes, row, planned):
    """`(from, to, action)` for one csv row (None for keep), or a reason string."""
    path = (row.get("path") or "").strip()
    action = (row.get("action") or "keep").strip()
    if action == "keep":
        return None
    full = os.path.normpath(os.path.join(root, path))
    relative = os.path.relpath(full, root)
    parts = relative.split(os.sep)
    if relative.startswith("..") or len(parts) < 2 or parts[0] not in classes:
        return f"unknown file {path!r} (not in a class folder of the data)"
    if not os.path.isfile(full):
        return f"unknown file {path!r} (not found)"
    if not _inside(root, relative):
        return f"{path} resolves outside the data folder (a symlink); not moved"
    given = next((row[c] for c in _LABEL_COLUMNS if row.get(c)), None)
    if given is not None and given.strip() != parts[0]:
        return f"{path} is in class {parts[0]!r}, not {given.strip()!r} (stale csv?)"
    if action == "remove":
        target = os.path.join(QUARANTINE, relative)
    elif action.startswith("relabel:"):
        new_class = action.split(":", 1)[1].strip()
        if new_class not in classes:
            return f"unknown class {new_class!r} for {path}"
        if new_class == parts[0]:
            return f"{path} is already in class {new_class!r}"
        target = os.path.join(new_class, *parts[1:])
    else:
        return f"unknown action {action!r} (keep, relabel:CLASS or remove)"
    if not _inside(root, target):
        return f"target {target} resolves outside the data folder; not moved"
    if relative in planned["from"]:
        return f"{path} appears twice"
    if os.path.lexists(os.path.join(root, target)) or target in planned["to"]:
        return f"target {target} exists; not overwritten"
    planned["from"].add(relative)
    planned["to"].add(target)
    return relative, target, "remove" if action == "remove" else "relabel"


def _move(root: str, source: str, target: str, created: list[str]) -> None:
    """Move without ever replacing a file (link + unlink; rename as fallback)."""
    for relative in (source, target):
        if not _inside(root, relative):  # checked before; the folders may change
            raise OSError(f"{relative} resolves outside the data folder; not moved")
    src, dst = os.path.join(root, source), os.path.join(root, target)
    folder = os.path.dirname(dst)
    missing = []
    while not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for folder in reversed(missing):
        os.mkdir(folder)
        created.append(os.path.relpath(folder, root))
    try:
        os.link(src, dst)
    except OSError as error:
        if error.errno == errno.EEXIST:
            raise FileExistsError(f"target {target} exists; not overwritten") from None
        if os.path.lexists(dst):
            raise
        os.rename(src, dst)  # file systems without hard links
        return
    os.unlink(src)


def apply_review(data_dir, csv_path) -> CleanResult:
    """Apply the actions of a reviewed csv to a data folder (undo: `undo_clean`).

    Args:
        data_dir: The folder-per-class data folder the csv was written for.
        csv_path: The csv with `path`, `given_label` and `action` columns.

    Returns:
        A `CleanResult` (moves made, rows skipped with the reason).

    Raises:
        FileNotFoundError: If the folder or the csv does not exist.
        ValueError: If the csv lacks the `path` / `action` columns.

    Example:
        >>> apply_review("data/flowers", "saved_models/run/review.csv").moved
    """
    root = os.path.abspath(os.fspath(data_dir))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"data directory not found: {root}")
    rows = _read_rows(os.fspath(csv_path))
    result = CleanResult(root, log=_log_path(root))
    with _locked(root):
        moves = _plan(root, rows, result)
        if not moves:
            return result
        log = _read_log(root)
        session = {
            "applied": datetime.datetime.now().isoformat(timespec="seconds"),
            "csv": os.path.abspath(os.fspath(csv_path)),
            "moves": [{"from": s, "to": t, "action": a} for s, t, a in moves],
            "created_dirs": [],
        }
        log["sessions"].append(session)
        write_json(result.log, log)  # the plan is on disk before anything moves
        for source, target, action in moves:
            try:
                _move(root, source, target, session["created_dirs"])
            except OSError as error:
                result.skipped.append((source, str(error)))
                continue
            result.moved.append((source, target, action))
        write_json(result.log, log)
    return result


def _plan(root: str, rows: list[dict], result: CleanResult) -> list[tuple]:
    """The moves of the csv rows; `keep` rows and refused rows go to `result`."""
    classes = _classes(root)
    planned = {"from": set(), "to": set()}
    moves = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        plan = _plan_row(root, classes, row, planned)
        if plan is None:
            result.kept += 1
        elif isinstance(plan, str):
            result.skipped.append((f"line {number}", plan))
        else:
            moves.append(plan)
    return moves


def _restore(root: str, move: dict) -> str | None:
    """Move one file back; None when done (or never moved), else why not."""
    source, target = move["from"], move["to"]
    src, dst = os.path.join(root, source), os.path.join(root, target)
    if not os.path.lexists(dst):
        return None if os.path.lexists(src) else f"{target} is gone"
    if os.path.lexists(src):
        if os.path.samefile(src, dst):  # interrupted between link and unlink
            os.unlink(dst)
            return None
        return f"{source} exists again; {target} left in place"
    _move(root, target, source, [])
    return None


def undo_clean(data_dir) -> CleanResult:
    """Restore every move made by `apply_review` in `data_dir`, newest first.

    Folders the moves created are removed when empty, and the log is removed
    when everything was restored (else it keeps what could not be).

    Args:
        data_dir: The data folder.

    Returns:
        A `CleanResult` whose `moved` lists the restored moves (to -> from).

    Raises:
        FileNotFoundError: If the folder does not exist.
        ValueError: If there is nothing to undo.
    """
    root = os.path.abspath(os.fspath(data_dir))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"data directory not found: {root}")
    result = CleanResult(root, log=_log_path(root))
    with _locked(root):
        log = _read_log(root)
        if not log["sessions"]:
            raise ValueError(f"nothing to undo in {root} (no {QUARANTINE}/{LOG_NAME})")
        remaining = []
        for session in reversed(log["sessions"]):
            left = []
            for move in reversed(session["moves"]):
                problem = _restore(root, move)
                if problem is None:
                    result.moved.append((move["to"], move["from"], move.get("action")))
                else:
                    result.skipped.append((move["to"], problem))
                    left.append(move)
            for folder in sorted(
                session.get("created_dirs", []), key=len, reverse=True
            ):
                _remove_empty(os.path.join(root, folder))
            if left:
                remaining.insert(0, {**session, "moves": left[::-1]})
        if remaining:
            write_json(result.log, {"sessions": remaining})
        else:
            os.unlink(result.log)
    return result


def _remove_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:  # not empty (or gone): leave it
        pass
