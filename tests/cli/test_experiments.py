"""`kerasvision runs` (the table of runs) on finished, partial and damaged runs."""

from __future__ import annotations

import json

from click.testing import CliRunner
from helpers import make_runs_folder

from kerasvision.cli import main


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_runs_lists_finished_partial_and_corrupted_runs(tmp_path, tiny_run):
    root = make_runs_folder(tmp_path / "saved", tiny_run)
    table = _invoke("runs", root, "--sort", "metric")
    assert table.exit_code == 0, table.output
    assert "Traceback" not in table.output
    lines = table.output.strip().split("\n\n")[0].splitlines()
    assert len(lines) == 1 + 5  # the header and 5 runs
    assert lines[1].startswith("b ") and "complete" in lines[1]
    statuses = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert statuses == {"a": "complete", "b": "complete", "nested/c": "complete",
                        "half": "interrupted", "broken": "unreadable"}  # fmt: skip
    as_json = json.loads(_invoke("runs", root, "--format", "json").output)
    assert {row["name"] for row in as_json} == set(statuses)
    as_csv = _invoke("runs", root, "--format", "csv").output.strip().splitlines()
    assert len(as_csv) == 6 and as_csv[0].startswith("name,status,task")
    missing = _invoke("runs", tmp_path / "nothing")
    assert missing.exit_code == 2 and "runs folder not found" in missing.output
