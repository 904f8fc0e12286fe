"""kerasvision._files: staged writes leave nothing behind and lose nothing."""

import errno
import os

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
