"""kerasvision._files: staged writes leave nothing behind and lose nothing."""

import errno
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
from kerasvision import _files
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
fallback = _files._swapped_umask()  # where /proc/self/status is missing
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
