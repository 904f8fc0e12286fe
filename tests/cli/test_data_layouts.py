"""Data that arrives already split, or labelled by a CSV: `fit`, `evaluate`,
`rerun`, `doctor`, `report` and `write-dataset` on each layout."""

import csv
import json
import os
import shutil

import pytest
from click.testing import CliRunner
from helpers import write_image_folder

from kerasvision.cli import main

TINY = ["--model-arg", "filters=(4, 8)", "--model-arg", "dense_units=(8,)"]
QUICK = ["--image-size", "12", "--epochs", "1", "--seed", "0", *TINY]
DIGITS = ["--image-size", "16", "--epochs", "5", "--seed", "0"]


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _ok(*args):
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def _lines(path):
    return open(path, encoding="utf-8").read().splitlines()


def _files_below(folder, root):
    return sorted(
        os.path.relpath(os.path.join(where, name), root)
        for where, _, names in os.walk(folder)
        for name in names
    )


def _accuracy(run):
    return json.loads((run / "metrics.json").read_text())["accuracy"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """scikit-learn's digits written as train/ val/ test/ folders and as a flat
    folder with labels.csv (the same seeded 70/15/15 split)."""
    root = tmp_path_factory.mktemp("digits")
    for layout, folder in (("pre-split", "split"), ("csv", "flat")):
        written = _ok(
            "write-dataset", "digits", root / folder, "--layout", layout,
            "--splits", "70/15/15", "--seed", "0",
        )  # fmt: skip
        assert "wrote 1797 images" in written.output
    return root


@pytest.fixture(scope="module")
def split_run(digits):
    run = digits / "split-run"
    result = _ok("fit", digits / "split", *DIGITS, "--output", run)
    return run, result


def test_a_pre_split_folder_trains_on_its_splits(digits, split_run):
    run, result = split_run
    assert _lines(run / "labels.txt") == [str(d) for d in range(10)]
    assert sorted(_lines(run / "splits" / "test.txt")) == _files_below(
        digits / "split" / "test", digits / "split"
    )
    assert _accuracy(run) >= 0.95
    info = json.loads((run / "run.json").read_text())
    assert info["data"]["split_source"] == {
        s: str(digits / "split" / s) for s in ("train", "val", "test")
    }
    assert f"on {digits / 'split' / 'test'} (train: " in result.output
    own = _ok("evaluate", run)
    assert json.loads(own.output)["count"] == len(_lines(run / "splits" / "test.txt"))


def test_evaluations_on_other_data_are_recorded_and_reported(digits, split_run):
    run, _ = split_run
    table = _ok("evaluate", run, digits / "flat" / "labels.csv")
    summary, *rest = table.output.splitlines()
    assert summary.startswith("accuracy ") and "(split test)" in summary
    metrics = json.loads("\n".join(rest))
    assert metrics["data"] == str(digits / "flat" / "labels.csv")
    recorded = json.loads((run / "evaluations" / "labels.json").read_text())
    assert recorded["accuracy"] == metrics["accuracy"] >= 0.95
    _ok("evaluate", run, digits / "split")  # its test/ folder
    assert sorted(os.listdir(run / "evaluations")) == ["labels.json", "split.json"]
    _ok("report", run, "--output", digits / "report.html")
    page = (digits / "report.html").read_text()
    assert "Evaluations on other data" in page and "labels.csv (split test)" in page


def test_a_flat_folder_with_a_csv_and_bad_rows(digits, tmp_path):
    flat = digits / "flat"
    (flat / "notes.png").write_text("not an image")
    (tmp_path / "outside.png").write_bytes((flat / "000000.png").read_bytes())
    shutil.copy(flat / "000001.png", flat / "extra1.png")
    shutil.copy(flat / "000002.png", flat / "extra2.png")
    rows = list(csv.reader(open(flat / "labels.csv", encoding="utf-8")))
    planted = [
        ["missing.png", "3", "train"],
        ["extra1.png", "", "train"],
        ["extra2.png", "2", "holdout"],
        ["notes.png", "4", "train"],
        [str(tmp_path / "outside.png"), "0", "train"],
    ]
    table = tmp_path / "labels.csv"
    with open(table, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows[:100] + planted + rows[100:])
    run = tmp_path / "run"
    result = _ok("fit", flat, "--labels", table, *DIGITS, "--output", run)
    assert "skipped 5 of 1802 rows of" in result.output
    listed = _lines(run / "bad_rows.txt")
    assert [line.split("\t")[0] for line in listed] == [
        "row", "101", "102", "103", "104", "105"
    ]  # fmt: skip
    assert "unknown split value 'holdout'" in listed[3]
    assert _accuracy(run) >= 0.95
    assert f"on {table} (split test)" in result.output


def test_a_csv_whose_class_has_only_missing_files_is_a_one_line_error(tmp_path):
    """As a class folder of bad files is: not a model silently missing it."""
    paths = write_image_folder(tmp_path / "data", classes=("a", "b"), per_class=3)
    table = tmp_path / "labels.csv"
    rows = [[os.path.relpath(p, tmp_path / "data"), "a"] for p in paths[:3]]
    with open(table, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([["path", "label"], *rows, ["c/gone.png", "c"]])
    result = _invoke("fit", tmp_path / "data", "--labels", table, *QUICK,
                     "--output", tmp_path / "run")  # fmt: skip
    assert result.exit_code == 2, result.output
    error = result.output.strip().splitlines()[-1]
    assert error == (f"Error: {table}: class 'c' has no valid images (all 1 of "
                     "its rows are skipped: 1 file not found)")  # fmt: skip
    assert not (tmp_path / "run").exists()


def test_train_and_val_folders_and_the_same_split_given_as_folders(tmp_path):
    data = tmp_path / "data"
    write_image_folder(data / "train", classes=("a", "b", "c"), per_class=8)
    write_image_folder(data / "val", classes=("a", "b", "c"), per_class=3, seed=1)
    first = _ok("fit", data, *QUICK, "--output", tmp_path / "pre")
    closing = [line for line in first.output.splitlines() if "accuracy:" in line]
    assert closing[-1].startswith("test accuracy:")
    assert (
        f"on {data / 'val'} (train: {data / 'train'}; validation: carved from"
        in closing[-1]
    )
    explicit = tmp_path / "explicit"
    _ok("fit", data / "train", "--test-dir", data / "val", *QUICK, "--output", explicit)
    for split in ("train", "val", "test"):
        assert _lines(explicit / "splits" / f"{split}.txt") == _lines(
            tmp_path / "pre" / "splits" / f"{split}.txt"
        )
    _ok("rerun", explicit, "--output", tmp_path / "again")
    assert _lines(tmp_path / "again" / "splits" / "test.txt") == _lines(
        explicit / "splits" / "test.txt"
    )
    assert _accuracy(tmp_path / "again") == _accuracy(explicit)


def test_no_validation_split_trains_and_writes_a_complete_run(tmp_path):
    write_image_folder(tmp_path / "data", classes=("a", "b"), per_class=6)
    run = tmp_path / "run"
    result = _ok(
        "fit", tmp_path / "data", "--val-split", "0", "--early-stopping", "1",
        *QUICK, "--output", run,
    )  # fmt: skip
    assert result.output.count("no validation split: no early stopping") == 1
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "complete" and info["data"]["counts"]["val"] == {
        "a": 0, "b": 0
    }  # fmt: skip
    assert (run / "model.keras").exists() and (run / "curves.png").exists()
    assert not os.path.exists(tmp_path / ".run.partial")


def test_split_names_are_never_trained_as_classes(tmp_path):
    write_image_folder(tmp_path / "data", classes=("train", "val"), per_class=3)
    result = _invoke("fit", tmp_path / "data", *QUICK)
    assert result.exit_code == 2 and "split names, not classes" in result.output
    doctor = _invoke("doctor", tmp_path / "data", "--output", tmp_path / "doc")
    assert doctor.exit_code == 2 and "split names, not classes" in doctor.output


def test_doctor_reports_the_layout_and_the_splits(digits, tmp_path):
    pytest.importorskip("imagehash")
    result = _ok("doctor", digits / "split", "--output", tmp_path / "doc")
    assert "layout: pre-split (train/, val/, test/); train 1259, val 269, test 269" in (
        result.output
    )
    report = json.loads((tmp_path / "doc" / "doctor.json").read_text())
    assert report["layout"]["kind"] == "pre-split"
    assert set(report["splits"]["counts"]) == {"train", "val", "test"}
    assert report["splits"]["cross_split_groups"] >= 0
    table = _ok("doctor", digits / "flat" / "labels.csv", "--output", tmp_path / "t")
    assert "layout: a table of labels" in table.output


def test_a_dataframe_of_labels_trains_and_reruns(tmp_path):
    pandas = pytest.importorskip("pandas")
    import kerasvision
    from kerasvision.training import rerun

    paths = write_image_folder(tmp_path / "data", classes=("a", "b"), per_class=8)
    frame = pandas.DataFrame(
        {
            "path": [os.path.relpath(p, tmp_path / "data") for p in paths],
            "label": [os.path.basename(os.path.dirname(p)) for p in paths],
        }
    )
    quiet = {"verbose": 0, "log": lambda line: None, "export": False}
    first = kerasvision.fit(
        str(tmp_path / "data"), labels=frame, image_size=12, epochs=1, seed=0,
        model_kwargs={"filters": (4, 8)}, output=str(tmp_path / "run"), **quiet,
    )  # fmt: skip
    assert (tmp_path / "run" / "labels.csv").exists()
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["arguments"]["labels"] == "RUN/labels.csv"
    again = rerun(tmp_path / "run", output=str(tmp_path / "again"), verbose=0,
                  log=quiet["log"])  # fmt: skip
    assert again.metrics["accuracy"] == first.metrics["accuracy"]
    assert _lines(tmp_path / "again" / "splits" / "test.txt") == _lines(
        tmp_path / "run" / "splits" / "test.txt"
    )
    data = kerasvision.load_run(tmp_path / "again").data()
    assert data.split_record()["test"] == first.data.split_record()["test"]
