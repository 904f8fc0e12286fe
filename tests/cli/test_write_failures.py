"""Every writing command on a full disk, a read-only folder, or an output under a
regular file: one line, exit 1, nothing half-written, nothing there before lost.

The full disk and the read-only file system are real: a small tmpfs mounted for
the test (remounted read-only), which needs root with CAP_SYS_ADMIN. Without it
the read-only case falls back to a folder with mode 0o555 (which stops writes
only for a non-root user) and the full-disk case is skipped. An output under a
regular file needs nothing special.
"""

import contextlib
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from kerasvision.cli import main

KEEP = "keep.txt"


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _tree(root):
    """Every path under `root` with the bytes of each file."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), root)] = None
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as stream:
                found[os.path.relpath(path, root)] = stream.read()
    return found


@contextlib.contextmanager
def _tmpfs(path, size_kb):
    os.makedirs(path)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root with CAP_SYS_ADMIN")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(folder, leave_kb=0):
    """Leave about `leave_kb` KB free on the file system of `folder` (0: none)."""
    stats = os.statvfs(folder)
    size = max(0, stats.f_bavail * stats.f_frsize - leave_kb * 1024)
    handle = os.open(os.path.join(folder, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
        os.write(handle, b"\0" * size)
        while not leave_kb:  # up to the last byte
            os.write(handle, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(handle)


@pytest.fixture(scope="module")
def runs(tiny_run, tmp_path_factory):
    """The shared classifier run, a copy (an ensemble needs two runs) and a tiny
    autoencoder run."""
    from kerasvision.training import fit_autoencoder

    root = tmp_path_factory.mktemp("writers")
    shutil.copytree(tiny_run[0], root / "twin")
    fit_autoencoder(
        dataset="digits",
        epochs=1,
        seed=0,
        export=False,
        output=root / "ae",
        model_kwargs={"filters": (4,)},
        verbose=0,
        log=lambda line: None,
    )
    return {
        "run": tiny_run[0],
        "twin": root / "twin",
        "ae": root / "ae",
        "image": tiny_run[1][0],
        "data": os.path.dirname(os.path.dirname(tiny_run[1][0])),
    }


# Each writer: its arguments given the runs and an output folder OUT.
WRITERS = {
    "export": lambda r, out: ["export", r["run"], "--output", out / "serving"],
    "visualize": lambda r, out: [
        "visualize",
        r["run"],
        r["image"],
        "--kind",
        "saliency",
        "--output",
        out / "pictures",
    ],
    "augment": lambda r, out: [
        "augment",
        r["data"],
        "--preview",
        out / "preview.png",
        "--image-size",
        "16",
    ],
    "encode": lambda r, out: [
        "encode",
        r["ae"],
        r["image"],
        "--output",
        out / "codes.npy",
    ],
    "ensemble": lambda r, out: [
        "ensemble",
        r["run"],
        r["twin"],
        "--output",
        out / "ensemble",
    ],
    "report": lambda r, out: ["report", r["run"], "--output", out / "report.html"],
    "fit": lambda r, out: [
        "fit",
        r["data"],
        "--image-size",
        "16",
        "--epochs",
        "2",
        "--model-arg",
        "filters=(4, 8)",
        "--output",
        out / "run",
    ],
}


def _assert_clean_failure(result, fragment, root, before):
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert fragment in errors[0], errors[0]
    assert _tree(root) == before  # nothing new (no temp file), nothing lost


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_output_under_a_regular_file(runs, tmp_path, writer):
    (tmp_path / KEEP).write_text("the user's file")
    before = _tree(tmp_path)
    result = _invoke(*WRITERS[writer](runs, tmp_path / KEEP / "sub"))
    if writer == "report":  # checks its folder before any work
        assert result.exit_code == 2 and "output folder not found" in result.output
        return
    _assert_clean_failure(
        result, f"{tmp_path / KEEP} is a regular file", tmp_path, before
    )


@pytest.fixture(scope="module")
def read_only(tmp_path_factory):
    """A read-only folder holding a user's file."""
    root = tmp_path_factory.mktemp("ro") / "mnt"
    if os.geteuid() != 0:
        root.mkdir()
        (root / KEEP).write_text("the user's file")
        root.chmod(0o555)
        yield root, "permission denied"
        root.chmod(0o755)
        return
    with _tmpfs(root, 1024):
        (root / KEEP).write_text("the user's file")
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        yield root, "read-only file system"


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_read_only_output(runs, read_only, writer):
    root, fragment = read_only
    before = _tree(root)
    # in the folder, or in a folder to create there (report wants an existing one)
    for out in (root,) if writer == "report" else (root, root / "new"):
        _assert_clean_failure(
            _invoke(*WRITERS[writer](runs, out)), fragment, root, before
        )


@pytest.fixture
def small_disk(tmp_path):
    with _tmpfs(tmp_path / "disk", 3072) as root:
        (root / KEEP).write_text("the user's file")
        yield root


# Every writer on a full disk; those writing more than 150 KB also with that left.
FULL_DISK_CASES = [(writer, 0) for writer in sorted(WRITERS)] + [
    (writer, 150) for writer in ("ensemble", "export", "fit", "report")
]


@pytest.mark.parametrize(
    "writer, leave_kb", FULL_DISK_CASES, ids=[f"{w}-{k}kb" for w, k in FULL_DISK_CASES]
)
def test_full_disk(runs, small_disk, writer, leave_kb):
    _fill(small_disk, leave_kb)
    before = _tree(small_disk)
    result = _invoke(*WRITERS[writer](runs, small_disk))
    _assert_clean_failure(result, "no space left writing", small_disk, before)


def test_full_disk_during_training_leaves_a_resumable_run(runs, small_disk):
    """The disk fills up after a finished epoch: the partial run keeps its last
    checkpoint (no temp file), and `--resume` finishes it once there is room."""
    from kerasvision.runs import is_run_dir, partial_dir

    _fill(small_disk, 420)
    args = WRITERS["fit"](runs, small_disk)
    result = _invoke(*args)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "no space left writing" in errors[0], result.output
    partial = partial_dir(small_disk / "run")
    names = sorted(name for _, _, files in os.walk(partial) for name in files)
    assert "state.json" in names and "last.keras" in names, names
    assert not [name for name in names if name.startswith(".")], names
    os.remove(small_disk / "filler")
    resumed = _invoke("fit", "--resume", "--output", small_disk / "run")
    assert resumed.exit_code == 0, resumed.output
    assert is_run_dir(small_disk / "run") and not os.path.exists(partial)
