"""review: out-of-sample label-error ranking on planted flipped digits."""

import csv
import os

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import tree_hash, write_planted_digits

from kerasvision.cleaning import apply_review, undo_clean
from kerasvision.cli import main
from kerasvision.review import out_of_sample_probabilities, review


@pytest.fixture(scope="module")
def planted_runs(tmp_path_factory):
    """A scratch run and a feature-extraction run (on the first one, as Model A)
    trained on digits with 5% flipped labels."""
    import kerasvision

    base = tmp_path_factory.mktemp("review")
    root = str(base / "data")
    truth = write_planted_digits(root)
    common = {"channels": 1, "image_size": 32, "seed": 1, "verbose": 0, "export": False}
    scratch = str(base / "scratch")
    kerasvision.fit(root, epochs=5, output=scratch, **common)
    transfer = str(base / "transfer")
    kerasvision.fit(root, backbone=scratch, epochs=2, output=transfer, **common)
    return root, truth, scratch, transfer


def _hits(result, truth):
    k = 2 * len(truth["flipped"])
    top = {result.paths[i] for i in result.ranking()[:k]}
    return len(top & set(truth["flipped"])) / len(truth["flipped"])


@pytest.mark.parametrize("which", ["scratch", "transfer"])
def test_review_finds_flipped_labels(planted_runs, which, tmp_path):
    root, truth, scratch, transfer = planted_runs
    run = scratch if which == "scratch" else transfer
    result = review(run, output=tmp_path)
    expected = "frozen backbone pooled" if which == "transfer" else "penultimate"
    assert result.method["features"].startswith(expected)
    share = _hits(result, truth)
    print(f"{which}: {share:.0%} of {len(truth['flipped'])} flipped labels in top-2k")
    assert share >= 0.5
    assert len(result.paths) == sum(len(files) for _, _, files in os.walk(root))
    rows = list(csv.DictReader(open(tmp_path / "review.csv")))
    assert len(rows) == len(result.paths)
    assert {row["action"] for row in rows} == {"keep"}
    assert rows[0]["label_issue"] == "True"
    page = open(tmp_path / "review.html", encoding="utf-8").read()
    assert page.count('class="thumb"') >= min(len(result.issues), 60)


def test_review_csv_drives_clean(planted_runs, tmp_path):
    """Edit the csv like a user (relabel the suspects to the suggestion), apply,
    then undo."""
    root, truth, scratch, _ = planted_runs
    before = tree_hash(root)
    review(scratch, root, output=tmp_path)
    path = tmp_path / "review.csv"
    rows = list(csv.DictReader(open(path)))
    for row in rows[:5]:
        row["action"] = f"relabel:{row['suggested_label']}"
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    applied = apply_review(root, path)
    moved = len(applied.moved) + len(applied.skipped)
    assert moved == 5 and len(applied.moved) >= 3
    assert tree_hash(root) != before
    undo_clean(root)
    assert tree_hash(root) == before


def test_cli_review(planted_runs, tmp_path):
    _, _, _, transfer = planted_runs
    result = CliRunner().invoke(main, ["review", transfer, "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("suspected label errors (cleanlab): ")
    pairs = [line for line in lines if line.startswith("  ")]
    if pairs:  # every indented line sits under its own heading
        heading = lines[lines.index(pairs[0]) - 1]
        assert heading.startswith("most frequent disagreements (given label -> ")
        assert all(" -> " in line and "image(s)" in line for line in pairs)
    assert os.path.isfile(tmp_path / "review.html")
    page = (tmp_path / "review.html").read_text(encoding="utf-8")
    assert 'target="_blank" title="open the full image"><img' in page
    result = CliRunner().invoke(main, ["review", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "run directory not found" in result.output


def test_out_of_sample_probabilities_lowers_folds():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0, 1, (10, 3)), rng.normal(4, 1, (3, 3))])
    labels = np.array([0] * 10 + [1] * 3)
    probabilities, folds = out_of_sample_probabilities(features, labels)
    assert folds == 3 and probabilities.shape == (13, 2)
    np.testing.assert_allclose(probabilities.sum(1), 1.0)
    assert np.all(probabilities.argmax(1) == labels)


def test_missing_cleanlab_is_one_line(planted_runs, monkeypatch):
    import sys

    _, _, scratch, _ = planted_runs
    monkeypatch.setitem(sys.modules, "cleanlab", None)  # import fails
    result = CliRunner().invoke(main, ["review", scratch])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: cleanlab is not installed: pip install kerasvision[review]"
    )


def test_multilabel_review_flags_label_sets_with_cleanlab(multilabel_run, tmp_path):
    run_dir, data = multilabel_run
    result = review(run_dir, output=str(tmp_path / "review"), folds=2)
    assert result.probabilities.shape == (600, 10) and result.targets.shape == (600, 10)
    rows = list(csv.DictReader(open(tmp_path / "review" / "review.csv")))
    assert len(rows) == 600 and {"given_labels", "suspect_labels"} <= set(rows[0])
    assert rows[0]["label_issue"] == str(len(result.issues) > 0)
    flagged = [row for row in rows if row["label_issue"] == "True"]
    assert all(row["suspect_labels"] for row in flagged[:10])
    html = (tmp_path / "review" / "review.html").read_text()
    shown = min(len(result.issues), 60)
    assert html.count("suspect <b>") == shown + 24  # suspects + lowest quality
    if len(result.issues) > shown:
        assert f"The first {shown} are shown." in html
