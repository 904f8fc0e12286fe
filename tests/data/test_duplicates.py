"""Duplicate grouping of splits, and reruns that do not depend on what is
installed: a run made without imagehash reruns on the same files with it."""

from __future__ import annotations

import json
import sys

from helpers import write_planted_digits

from kerasvision.data.duplicates import grouping_method


def _splits(run_dir):
    return {
        name: (run_dir / "splits" / f"{name}.txt").read_text()
        for name in ("train", "val", "test")
    }


def _fit(data, output):
    from kerasvision.training import fit

    return fit(
        str(data), image_size=32, channels=1, epochs=1, seed=0, export=False,
        model_kwargs={"filters": (4, 8)}, output=str(output), verbose=0,
        log=lambda line: None,
    )  # fmt: skip


def test_grouping_method_says_whether_near_duplicates_are_grouped(monkeypatch):
    assert "near-duplicates (imagehash phash" in grouping_method()
    monkeypatch.setitem(sys.modules, "imagehash", None)  # import fails
    assert "imagehash not installed" in grouping_method()


def test_rerun_with_imagehash_installed_keeps_a_split_made_without(
    tmp_path, monkeypatch
):
    from kerasvision.training import rerun

    monkeypatch.setenv("KERASVISION_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "digits"
    write_planted_digits(data, per_class=12)  # JPEG and resized near-copies
    with monkeypatch.context() as without:
        without.setitem(sys.modules, "imagehash", None)  # not installed
        _fit(data, tmp_path / "without")
    recorded = json.loads((tmp_path / "without" / "run.json").read_text())
    assert "imagehash not installed" in recorded["split"]["duplicates"]
    # With imagehash, a fresh split groups the near-copies: other files move.
    _fit(data, tmp_path / "with")
    assert _splits(tmp_path / "with") != _splits(tmp_path / "without")
    again = rerun(tmp_path / "without", output=str(tmp_path / "again"), verbose=0,
                  log=lambda line: None)  # fmt: skip
    assert _splits(tmp_path / "again") == _splits(tmp_path / "without")
    record = json.loads((tmp_path / "again" / "run.json").read_text())
    assert record["split"]["duplicates"] == recorded["split"]["duplicates"]
    assert again.metrics["count"] == recorded["metrics"]["count"]
