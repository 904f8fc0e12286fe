"""kerasvision.export.run_exports: `export_run` / `kerasvision export` of a run,
with destinations that are not ours or that another exporter is writing."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from kerasvision.cli import main
from kerasvision.export import export_run, is_export
from kerasvision.export.core import MARKER_FILE
from kerasvision.runs import load_run


@pytest.fixture
def two_runs(tiny_run, tmp_path):
    """Two copies of the tiny run: `(run, run2)`."""
    runs = tmp_path / "run", tmp_path / "run2"
    for run in runs:
        shutil.copytree(tiny_run[0], run)
    return runs


def _one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_export_overwrite_leaves_a_users_folder_alone(two_runs, tmp_path):
    users = tmp_path / "mine"
    users.mkdir()
    (users / "saved_model.pb").write_bytes(b"\x08\x01 the user's own graph")
    (users / "NOTES.txt").write_text("do not delete\n")
    before = {p.name: p.read_bytes() for p in users.iterdir()}
    result = CliRunner().invoke(
        main, ["export", str(two_runs[0]), "--output", str(users), "--overwrite"]
    )
    _one_line_error(result, str(users), "not a kerasvision export")
    assert {p.name: p.read_bytes() for p in users.iterdir()} == before
    assert "exports" not in load_run(two_runs[0]).info
    assert sorted(os.listdir(tmp_path)) == ["mine", "run", "run2"]


def _kerasvision():
    script = shutil.which("kerasvision")
    return [script] if script else [sys.executable, "-m", "kerasvision"]


def test_a_second_export_to_the_same_output_fails_at_once(two_runs, tmp_path):
    """`export run --output ce & export run2 --output ce`: the second exporter
    fails at once naming the first; `run`'s record is its own export."""
    run, run2 = two_runs
    target = tmp_path / "ce"
    lock = tmp_path / ".ce.lock" / ".lock"
    first = subprocess.Popen(
        [*_kerasvision(), "export", str(run), "--output", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    try:
        deadline = time.monotonic() + 300
        while not lock.exists() and first.poll() is None:
            assert time.monotonic() < deadline, "the first export never locked"
            time.sleep(0.01)
        second = CliRunner().invoke(
            main, ["export", str(run2), "--output", str(target)]
        )
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    _one_line_error(second, f"export {target} is being written by process {first.pid}")
    assert f"exported {target}" in out
    assert load_run(run).info["exports"]["savedmodel"]["path"] == str(target)
    assert "exports" not in load_run(run2).info
    assert sorted(os.listdir(tmp_path)) == ["ce", "run", "run2"]
    again = CliRunner().invoke(main, ["export", str(run2), "--output", str(target)])
    _one_line_error(again, "already exists", "--overwrite")


def test_a_runs_own_exports_from_before_the_marker_are_replaced(two_runs, tmp_path):
    run = two_runs[0]
    export_run(run)
    os.remove(run / "serving" / MARKER_FILE)  # as an older kerasvision wrote it
    assert is_export(run / "serving")
    report = export_run(run)
    assert report["path"] == str(run / "serving")
    assert (run / "serving" / MARKER_FILE).exists()
    elsewhere = tmp_path / "copied"
    shutil.copytree(run / "serving", elsewhere)
    os.remove(elsewhere / MARKER_FILE)
    with pytest.raises(ValueError, match="not a kerasvision export"):
        export_run(run, elsewhere, overwrite=True)
    recorded = json.loads((run / "run.json").read_text())["exports"]
    assert list(recorded) == ["savedmodel"]


@pytest.fixture
def read_only_run(tiny_run, tmp_path):
    """A copy of the tiny run in a folder no new file can be written to
    (`chmod`, or for root, which ignores it, the immutable attribute)."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run[0], run)
    if os.geteuid() != 0:
        run.chmod(0o555)
        undo = lambda: run.chmod(0o755)  # noqa: E731
    elif (
        shutil.which("chattr")
        and not subprocess.run(
            ["chattr", "+i", str(run)], capture_output=True
        ).returncode
    ):
        undo = lambda: subprocess.run(["chattr", "-i", str(run)], check=True)  # noqa: E731
    else:
        pytest.skip("cannot make a folder read-only for root here (no chattr +i)")
    try:
        yield run
    finally:
        undo()


def test_export_of_a_read_only_run_stands_and_says_it_is_not_listed(
    read_only_run, tmp_path
):
    """The checked export is written elsewhere; only the run's record of it
    cannot be, which the one printed line says (exit 0, run.json unchanged)."""
    before = (read_only_run / "run.json").read_bytes()
    files = sorted(os.listdir(read_only_run))
    output = tmp_path / "served"
    result = CliRunner().invoke(
        main, ["export", str(read_only_run), "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"exported {output}")
    assert "(not listed in the run: " in lines[0]
    assert str(read_only_run / "run.json") in lines[0]
    assert is_export(str(output))
    assert (output / "MODEL_CARD.md").is_file()
    assert (read_only_run / "run.json").read_bytes() == before
    assert sorted(os.listdir(read_only_run)) == files
