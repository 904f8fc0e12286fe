"""Processes: whether one runs (pid and start time), lock files, the umask.

A lock is a `.lock` file holding `pid@host`, created exclusively: a second
process fails (or waits) naming the holder; a lock whose process is gone is
taken over. Run directories, exports and the clean log use it.
"""

from __future__ import annotations

import contextlib
import functools
import os

__all__ = [
    "LOCK_FILE",
    "current_umask",
    "pid_alive",
    "process_start",
    "read_lock",
    "release_lock",
    "take_lock",
]


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):  # not a pid at all
        return False
    return True


def process_start(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, from `/proc`), or None
    where the system does not show it or the process is gone. With the pid it
    names one process: a pid reused by a later process has another start."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as stream:
            fields = stream.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()  # field 22 of stat(5); 20th after the name
    except (OSError, IndexError, ValueError):
        return None


def started_at() -> float | None:
    """When this process started, as `time.time()` (from `/proc`: its start in
    clock ticks since boot and the boot time), or None where `/proc` does not
    show it. A command's `--time-budget` counts from here: the interpreter's
    and TensorFlow's start-up are part of what the user waits for."""
    try:
        ticks = int(process_start(os.getpid()))
        with open("/proc/stat", encoding="ascii") as stream:
            boot = next(int(line.split()[1]) for line in stream
                        if line.startswith("btime "))  # fmt: skip
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (TypeError, ValueError, OSError, StopIteration):
        return None


LOCK_FILE = ".lock"


def read_lock(path) -> tuple[int, str] | None:
    """`(pid, host)` of a lock file, or None when it is missing or unreadable."""
    try:
        with open(os.fspath(path), encoding="utf-8") as stream:
            pid, _, host = stream.read().strip().partition("@")
        return int(pid), host
    except (OSError, ValueError):
        return None


def _lock_is_stale(holder) -> bool:
    import socket

    return holder is not None and (
        holder[1] == socket.gethostname() and not pid_alive(holder[0])
    )


def take_lock(
    folder,
    *,
    what: str | None = None,
    advice: str = "wait for it or choose another --output",
    wait: float = 0.0,
) -> str:
    """Create `folder/.lock` (pid@host) exclusively for this process.

    A lock held by this process is returned as is; one whose process is gone
    (on this machine) is taken over; one held by a live process is waited for
    up to `wait` seconds, then refused.

    Args:
        folder: The existing folder to lock.
        what: What is locked, for the message. Defaults to None ("run FOLDER").
        advice: What the user can do, for the message. Defaults to "wait for
            it or choose another --output".
        wait: Seconds to wait for a live holder. Defaults to 0.

    Returns:
        The lock file's path (`release_lock` it).

    Raises:
        ValueError: If a live process holds the lock.
        OSError: If the lock cannot be written (`kerasvision._files.write_error`
            makes it one line).
    """
    import socket
    import time

    folder = os.fspath(folder)
    path = os.path.join(folder, LOCK_FILE)
    me = f"{os.getpid()}@{socket.gethostname()}"
    deadline = time.monotonic() + wait
    while True:
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = read_lock(path)
            if holder is not None and holder[0] == os.getpid():
                return path
            if _lock_is_stale(holder):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # its process is gone: take it over
                continue
            if time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            who = (
                "an unknown process"
                if holder is None
                else f"process {holder[0]} on {holder[1]}"
            )
            raise ValueError(
                f"{what or f'run {folder}'} is being written by {who}; {advice} "
                f"(delete {path} if that process is gone)"
            ) from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(me + "\n")
        except OSError:
            os.unlink(path)
            raise
        return path


def release_lock(path) -> None:
    """Remove a lock file `take_lock` returned (when this process holds it)."""
    holder = read_lock(path)
    if holder is not None and holder[0] == os.getpid():
        with contextlib.suppress(OSError):
            os.unlink(path)


# === The umask ===


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
