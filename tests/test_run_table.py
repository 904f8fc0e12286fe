"""`list_runs`: one row per run directory, whatever state it is in."""

from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import make_runs_folder

from kerasvision.run_table import RUN_COLUMNS, format_runs, list_runs


def test_every_run_is_a_row_whatever_its_state(tmp_path, tiny_run):
    root = make_runs_folder(tmp_path, tiny_run)
    rows = {row.name: row for row in list_runs(root)}
    assert set(rows) == {"a", "b", "nested/c", "half", "broken"}
    assert rows["b"].status == "complete" and rows["b"].value == 0.9
    assert rows["b"].metric == "test accuracy" and rows["b"].epochs == 1
    assert rows["b"].model == "bipyramidal_cnn" and rows["b"].data == "data"
    assert rows["b"].task == "classification" and rows["b"].seconds is not None
    assert rows["half"].status == "interrupted" and rows["half"].epochs == 1
    assert "--resume" in rows["half"].note
    assert rows["broken"].status == "unreadable" and "run.json" in rows["broken"].note


def test_sorting_and_formats(tmp_path, tiny_run):
    root = make_runs_folder(tmp_path, tiny_run)
    best_first = [row.name for row in list_runs(root, sort="metric")]
    assert best_first[:3] == ["b", "nested/c", "a"]
    by_date = [r.name for r in list_runs(root)]  # newest first
    assert by_date.index("b") < by_date.index("nested/c") < by_date.index("a")
    assert by_date[-1] == "broken"  # no date: last
    rows = list_runs(root, sort="name")
    table = format_runs(rows).splitlines()
    assert table[0].split()[:3] == ["run", "status", "task"]
    assert any("test accuracy 0.9000" in line for line in table)
    parsed = list(csv.DictReader(io.StringIO(format_runs(rows, "csv"))))
    assert len(parsed) == 5 and tuple(parsed[0]) == RUN_COLUMNS
    assert len(json.loads(format_runs(rows, "json"))) == 5
    with pytest.raises(ValueError, match="--sort must be one of"):
        list_runs(root, sort="size")
    with pytest.raises(FileNotFoundError):
        list_runs(tmp_path / "missing")
    assert format_runs([]) == "no runs found"
