"""kerasvision._files: staged writes leave nothing behind and lose nothing."""

import errno
import json
import os
import subprocess
import sys

import pytest

from kerasvision._files import (
    WriteError,
    disk_errno,
    made_dirs,
    staged_files,
    write_error,
    write_text,
)


def test_staged_files_join_a_folder_with_user_files(tmp_path):
    (tmp_path / "mine.txt").write_text("keep")
    (tmp_path / "old.png").write_text("old")
    with staged_files(tmp_path) as staging:
        for name in ("a.png", "old.png"):
            with open(os.path.join(staging, name), "w") as stream:
                stream.write("new")
    assert sorted(os.listdir(tmp_path)) == ["a.png", "mine.txt", "old.png"]
    assert (tmp_path / "mine.txt").read_text() == "keep"
    assert (tmp_path / "old.png").read_text() == "new"


def test_a_failed_staged_write_leaves_no_file_and_no_new_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(ValueError, match="late"):
        with staged_files(tmp_path / "new" / "deeper") as staging:
            write_text(os.path.join(staging, "a.png"), "half")
            raise ValueError("a bad option found late")
    assert os.listdir(tmp_path) == ["mine.txt"]
    with pytest.raises(KeyError), made_dirs(tmp_path / "x" / "y"):
        (tmp_path / "x" / "y" / "user.txt").write_text("written meanwhile")
        raise KeyError
    assert (tmp_path / "x" / "y" / "user.txt").exists()  # not empty: kept


def test_write_errors_are_one_line_naming_the_path(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(WriteError, match="afile is a regular file, not a folder"):
        write_text(tmp_path / "afile" / "sub" / "out.txt", "text")
    assert os.listdir(tmp_path) == ["afile"]
    full = write_error(OSError(errno.ENOSPC, "No space left on device"), "RUN/x")
    assert str(full) == "no space left writing RUN/x"
    read_only = write_error(OSError(errno.EROFS, "Read-only file system"), "out")
    assert str(read_only) == "read-only file system: cannot write out"


def test_tensorflow_file_system_errors_are_recognised():
    import tensorflow as tf

    full = tf.errors.ResourceExhaustedError(
        None, None, "/x/variables.data; No space left on device"
    )
    assert disk_errno(full) == errno.ENOSPC
    assert disk_errno(tf.errors.InvalidArgumentError(None, None, "bad shape")) is None
    assert disk_errno(ValueError("No space left on device")) is None


_UMASK_CHECK = """
import os, stat, sys
calls = []
real_umask = os.umask
os.umask = lambda mask: calls.append(mask) or real_umask(mask)
real_umask(0o027)
from kerasvision import _files, _process
assert calls == [], calls  # importing reads (and changes) nothing
folder = sys.argv[1]
_files.write_text(os.path.join(folder, "a.txt"), "x")
with _files.staged_dir(os.path.join(folder, "export")) as staging:
    _files.write_text(os.path.join(staging, "b.txt"), "y")
real_umask(0o077)  # a umask set after the import is the one applied
_files.write_text(os.path.join(folder, "c.txt"), "z")
modes = [
    stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode)
    for name in ("a.txt", "export", "export/b.txt", "c.txt")
]
calls_so_far = len(calls)
fallback = _process._swapped_umask()  # where /proc/self/status is missing
print(*map(oct, modes), calls_so_far, oct(fallback), oct(real_umask(0o077)))
"""


def test_the_umask_is_read_lazily_and_never_changed(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _UMASK_CHECK, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )

    *modes, umask_calls, fallback, final_umask = result.stdout.split()
    assert modes == ["0o640", "0o750", "0o640", "0o600"]
    if os.path.exists("/proc/self/status"):  # Linux shows the umask: never set
        assert umask_calls == "0"
    assert fallback == final_umask == "0o77"  # read, and put back


# === Ownership markers and the staging sweep ===


def _dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _tree_bytes(root):
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = (
                open(path, "rb").read() if os.path.isfile(path) else None
            )
    return found


def test_the_sweep_keeps_user_folders_named_like_staging(tmp_path):
    """`.tmp-2024-tax-returns/` (no marker) and a folder whose marker names
    another pid survive; a dead process's marked staging folder goes."""
    from kerasvision._files import MARKER_NAME, read_marker

    user = tmp_path / ".tmp-2024-tax-returns"
    user.mkdir()
    (user / "return.pdf").write_bytes(b"the user's taxes")
    impostor = tmp_path / ".export-2023-photos"
    impostor.mkdir()
    (impostor / MARKER_NAME).write_text('{"kerasvision_marker": 1, "kind": "x"}')
    dead = _dead_pid()
    leftover = tmp_path / f".tmp-{dead}-abc"
    leftover.mkdir()
    with staged_files(tmp_path / "out") as staging:  # writes a marker, then sweeps
        marker = read_marker(staging, "staging")
        assert marker["pid"] == os.getpid()
    (leftover / MARKER_NAME).write_text(json.dumps({**marker, "pid": dead}))
    before = _tree_bytes(tmp_path)
    write_text(tmp_path / "a.txt", "x")  # the next staging in the folder sweeps
    assert not leftover.exists()
    after = _tree_bytes(tmp_path)
    for name in (".tmp-2024-tax-returns", ".export-2023-photos"):
        kept = {k: v for k, v in before.items() if k.startswith(name)}
        assert {k: after[k] for k in kept} == kept


def test_a_reused_pid_does_not_keep_a_leftover(tmp_path):
    from kerasvision._files import MARKER_NAME, remove_stale_staging, write_marker

    live = tmp_path / f".tmp-{os.getpid()}-mine"
    live.mkdir()
    write_marker(live, "staging")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        reused = tmp_path / f".tmp-{other.pid}-old"
        reused.mkdir()
        write_marker(reused, "staging")
        marker = json.loads((reused / MARKER_NAME).read_text())
        marker["pid"] = other.pid  # a live pid, but this process's start time
        (reused / MARKER_NAME).write_text(json.dumps(marker))
        assert remove_stale_staging(str(tmp_path), ".tmp-") == [reused.name]
    finally:
        other.kill()
        other.wait()
    assert live.exists()  # this process's own staging is never swept


# === Destinations ===


def test_nothing_but_regular_files_and_folders_is_replaced(tmp_path):
    from kerasvision._files import check_output_file, staged_dir

    pipe = tmp_path / "pipe.html"
    os.mkfifo(pipe)
    with pytest.raises(ValueError, match="not a regular file or folder"):
        write_text(pipe, "x")
    with pytest.raises(ValueError, match="not a regular file or folder"):
        check_output_file(pipe, overwrite=True)
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(ValueError, match="is a regular file, not a folder"):
        with staged_dir(tmp_path / "afile"):
            pass
    with pytest.raises(ValueError, match="is a folder"):
        write_text(tmp_path, "x")
    assert (tmp_path / "afile").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["afile", "pipe.html"]


def test_an_existing_output_needs_overwrite_and_data_is_off_limits(tmp_path):
    from kerasvision._files import check_output_file

    (tmp_path / "fig.png").write_bytes(b"the user's figure")
    with pytest.raises(ValueError, match="already exists; pass --overwrite"):
        check_output_file(tmp_path / "fig.png")
    check_output_file(tmp_path / "fig.png", overwrite=True)
    (tmp_path / "data" / "c1").mkdir(parents=True)
    with pytest.raises(ValueError, match="inside the data folder"):
        check_output_file(
            tmp_path / "data" / "c1" / "lr.png", data_dir=tmp_path / "data"
        )
    with pytest.raises(ValueError, match="path too long"):
        check_output_file(tmp_path / "/".join(["a" * 250] * 20) / "x.png")
    assert not (tmp_path / ("a" * 250)).exists()


def test_staged_files_without_overwrite_replace_nothing(tmp_path):
    (tmp_path / "filters.png").write_bytes(b"the user's picture")
    with pytest.raises(ValueError, match="filters.png already exists"):
        with staged_files(tmp_path, overwrite=False) as staging:
            for name in ("new.png", "filters.png"):
                (tmp_path / staging / name).write_bytes(b"drawn")
    assert sorted(os.listdir(tmp_path)) == ["filters.png"]
    assert (tmp_path / "filters.png").read_bytes() == b"the user's picture"


def test_a_bad_json_file_is_named(tmp_path):
    from kerasvision._files import read_json

    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"metrics\.json is not valid JSON"):
        read_json(tmp_path / "metrics.json")


def test_a_lock_is_waited_for_then_refused(tmp_path):
    from kerasvision._process import release_lock, take_lock

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / ".lock").write_text(
            f"{holder.pid}@{__import__('socket').gethostname()}\n"
        )
        with pytest.raises(ValueError, match=f"being written by process {holder.pid}"):
            take_lock(tmp_path, what="data folder d", wait=0.3)
    finally:
        holder.kill()
        holder.wait()
    lock = take_lock(tmp_path, wait=0.3)  # its holder is gone: taken over
    assert open(lock).read().startswith(str(os.getpid()))
    release_lock(lock)
    assert not os.path.exists(lock)
