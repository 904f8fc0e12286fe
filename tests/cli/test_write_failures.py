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
    """Two copies of the shared classifier run (an ensemble needs two runs) and
    a tiny autoencoder run."""
    from kerasvision.training import fit_autoencoder

    root = tmp_path_factory.mktemp("writers")
    # copies: exports record themselves in run.json, and tiny_run is shared
    shutil.copytree(tiny_run[0], root / "run")
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
        "run": root / "run",
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
    from kerasvision._files import MARKER_NAME
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
    temporary = [n for n in names if n.startswith(".") and n != MARKER_NAME]
    assert not temporary, names  # the run's ownership marker is not a temp file
    os.remove(small_disk / "filler")
    resumed = _invoke("fit", "--resume", "--output", small_disk / "run")
    assert resumed.exit_code == 0, resumed.output
    assert is_run_dir(small_disk / "run") and not os.path.exists(partial)


# === Nothing of the user's is replaced or removed ===


def _refused(result, fragment):
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and fragment in errors[0], result.output


def test_user_folders_named_like_staging_survive(runs, tmp_path):
    for name in (".tmp-2024-tax-returns", ".export-2023-photos", ".doctor-7-notes"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mine.txt").write_text("the user's file")
    before = _tree(tmp_path)
    preview = ["augment", runs["data"], "--augment", "flip", "--image-size", "16"]
    assert _invoke(*preview, "--preview", tmp_path / "p.png").exit_code == 0
    assert _invoke("export", runs["run"], "--output", tmp_path / "exp1").exit_code == 0
    after = _tree(tmp_path)
    assert {k: after.get(k) for k in before} == before
    assert sorted(os.listdir(tmp_path))[-2:] == ["exp1", "p.png"]


def test_existing_user_files_are_replaced_only_with_overwrite(runs, tmp_path):
    (tmp_path / "pics").mkdir()
    for name in ("pics/filters.png", "fig.png", "fig2.png", "index.html"):
        (tmp_path / name).write_bytes(b"the user's " + name.encode())
    before = _tree(tmp_path)
    data = ["--image-size", "16", "--model-arg", "filters=(4,)"]
    commands = [
        ["visualize", runs["run"], "--kind", "filters", "--output", tmp_path / "pics"],
        [
            "augment",
            runs["data"],
            "--image-size",
            "16",
            "--preview",
            tmp_path / "fig.png",
        ],
        ["lr-find", runs["data"], *data, "--output", tmp_path / "fig2.png"],
        ["report", runs["run"], "--output", tmp_path / "index.html"],
    ]
    for command in commands:
        _refused(_invoke(*command), "already exists")
    assert _tree(tmp_path) == before
    assert _invoke(*commands[-1], "--overwrite").exit_code == 0
    assert b"<html" in (tmp_path / "index.html").read_bytes()[:200].lower()


def test_outputs_that_are_not_regular_files_are_refused(runs, tmp_path):
    os.mkfifo(tmp_path / "null")
    if os.geteuid() == 0:  # a real device node, as `mknod fakedev/null c 1 3`
        os.mknod(tmp_path / "null2", 0o600 | 0o020000, os.makedev(1, 3))
    else:
        os.mkfifo(tmp_path / "null2")
    data = [runs["data"], "--image-size", "16"]
    for command in (
        ["report", runs["run"], "--output", tmp_path / "null"],
        ["lr-find", *data, "--output", tmp_path / "null2"],
        ["augment", *data, "--preview", tmp_path / "null2", "--overwrite"],
    ):
        _refused(_invoke(*command), "is not a regular file or folder")
    assert not (tmp_path / "null").is_file() and not (tmp_path / "null2").is_file()


def test_outputs_inside_the_data_and_onto_an_input_run_are_refused(runs, tmp_path):
    from helpers import tree_hash

    data, before = runs["data"], tree_hash(runs["data"])
    for command in (
        ["augment", data, "--image-size", "16", "--preview", f"{data}/ant/p.png"],
        ["lr-find", data, "--image-size", "16", "--output", f"{data}/bee/lr.png"],
    ):
        _refused(_invoke(*command), "inside the data folder")
    assert tree_hash(data) == before
    twin = tree_hash(runs["twin"])
    ensemble = ["ensemble", runs["run"], runs["twin"], "--overwrite", "--output"]
    _refused(_invoke(*ensemble, runs["twin"]), "is (or contains) the input run")
    assert tree_hash(runs["twin"]) == twin


def test_write_dataset_stopped_by_sigterm_leaves_nothing(tmp_path):
    import signal
    import sys
    import time

    command = [sys.executable, "-m", "kerasvision", "write-dataset", "digits"]
    process = subprocess.Popen(
        [*command, str(tmp_path / "out")], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(name.startswith(".dataset-") for name in os.listdir(tmp_path)):
            process.send_signal(signal.SIGTERM)
            break
        time.sleep(0.01)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err, err
    assert os.listdir(tmp_path) == []
