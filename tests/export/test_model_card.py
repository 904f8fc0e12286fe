"""kerasvision.export.model_card: MODEL_CARD.md beside every export, linked
from the report."""

import json
import shutil

import pytest

from kerasvision.export import export_run
from kerasvision.export.model_card import (
    FEW_IMAGES,
    MODEL_CARD_FILE,
    card_path,
    model_card,
    read_front_matter,
    run_cards,
)
from kerasvision.runs import load_run


@pytest.fixture(scope="module")
def carded_run(tiny_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("card") / "run"
    shutil.copytree(tiny_run[0], path)
    report = export_run(path)
    return path, report


def test_the_card_holds_the_runs_own_figures(carded_run):
    run_dir, report = carded_run
    card = run_dir / "serving" / MODEL_CARD_FILE
    assert report["model_card"] == str(card)
    text = card.read_text()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    front = read_front_matter(card)
    assert front["metrics"]["accuracy"] == metrics["accuracy"]
    assert front["metrics"]["loss"] == metrics["loss"]
    for heading in ("## Intended use", "## Data", "## Training recipe",
                    "## Test metrics", "### Per-class results", "## Export formats",
                    "## Limitations", "## How to use"):  # fmt: skip
        assert heading in text, heading
    run = load_run(run_dir)
    for name in run.class_names:  # per-class rows and counts
        assert f"| {name} |" in text
    # The tiny run has 8 images per class: every class is named as few.
    assert f"fewer than {FEW_IMAGES} training images" in text
    assert "temperature" in text and str(report["path"]) in text
    assert text.startswith("---\nlibrary_name: kerasvision\n")


def test_the_report_links_every_card(carded_run):
    from kerasvision.report import write_report

    run_dir, _ = carded_run
    run = load_run(run_dir)
    card = str(run_dir / "serving" / MODEL_CARD_FILE)
    assert run_cards(run) == [("savedmodel", card)]
    html = open(write_report(run_dir, top_losses=0), encoding="utf-8").read()
    assert 'href="serving/MODEL_CARD.md"' in html


def test_card_paths_and_a_users_file_is_left_alone(tmp_path):
    folder = tmp_path / "serving"
    folder.mkdir()
    assert card_path(folder) == str(folder / MODEL_CARD_FILE)
    assert card_path(tmp_path / "model.onnx") == str(tmp_path / "model.MODEL_CARD.md")
    from kerasvision.export.model_card import write_model_card

    mine = folder / MODEL_CARD_FILE
    mine.write_text("my own notes\n")

    class Run:
        path, info = str(tmp_path), {"data": {"class_names": ["a", "b"]}}

    assert write_model_card(Run(), {"path": str(folder)}) is None
    assert mine.read_text() == "my own notes\n"


def test_a_card_without_metrics_still_renders():
    text = model_card({"model": {"name": "x"}}, {}, ["a", "b"], {"path": "/x/serving"})
    assert "# x image classifier (2 classes)" in text
    assert "model-index:" in text and "## Limitations" in text
