"""Checks of FitConfig that depend on the data source."""

from __future__ import annotations

import pytest


def test_test_split_is_refused_for_datasets_with_an_official_one():
    from kerasvision.config import FitConfig
    from kerasvision.data.datasets import load_builtin

    with pytest.raises(ValueError, match="official"):
        FitConfig(dataset="mnist", test_split=0.2)
    assert load_builtin("digits", with_test_mask=True)[3] is None


@pytest.mark.parametrize(
    "options, message",
    [
        ({"dataset": "digits", "labels": "x.csv"}, "--labels need a data folder"),
        ({"dataset": "digits", "val_dir": "v"}, "--val-dir need a data folder"),
        ({"data": "d", "path_column": "p"}, "--path-column only apply with --labels"),
        ({"data": "d", "labels": "x.csv", "test_dir": "t"}, "do not apply with a CSV"),
        ({"data": "d.csv", "val_dir": "v"}, "do not apply with a CSV"),
        ({"data": "d", "val_dir": "v", "test_dir": "./v"}, "the same folder"),
        ({"data": "d", "labels": "x.csv", "label_delim": ""}, "non-empty"),
        ({"task": "autoencoder", "data": "d", "labels": "x.csv"},
         "only apply to --task classification"),
    ],
    ids=["labels-dataset", "val-dir-dataset", "column-alone", "dirs-and-csv",
         "dirs-and-csv-data", "same-dirs", "empty-delim", "autoencoder"],
)  # fmt: skip
def test_data_source_options_are_checked(options, message):
    from kerasvision.config import FitConfig

    with pytest.raises(ValueError, match=message):
        FitConfig(**options)


def test_split_fractions_only_size_carved_splits(tmp_path):
    from helpers import write_image_folder

    from kerasvision.config import FitConfig

    write_image_folder(tmp_path / "train", per_class=1)
    write_image_folder(tmp_path / "val", per_class=1)
    data = str(tmp_path)
    with pytest.raises(ValueError, match="--test-split does not apply: the data "
                       "gives the test split"):  # fmt: skip
        FitConfig(data=data, test_split=0.2)
    assert FitConfig(data=data, val_split=0.0).val_split == 0.0  # carved from train
    with pytest.raises(ValueError, match="--val-split does not apply"):
        FitConfig(data=str(tmp_path / "train"), val_dir=str(tmp_path / "val"),
                  val_split=0.2)  # fmt: skip
    config = FitConfig(data=str(tmp_path / "train"), test_dir=str(tmp_path / "val"))
    assert config.to_json()["test_dir"] == str(tmp_path / "val")


def test_a_dataframe_of_labels_is_recorded_as_the_runs_copy():
    pandas = pytest.importorskip("pandas")
    from kerasvision.config import FitConfig

    frame = pandas.DataFrame({"path": ["a.png", "b.png"], "label": ["x", None]})
    config = FitConfig(data="d", labels=frame)
    assert config.labels.rows == (("a.png", "x"), ("b.png", ""))
    assert config.to_json()["labels"] == "RUN/labels.csv"
    assert "labels" in config.given()
    with pytest.raises(ValueError, match="a CSV path or a pandas DataFrame"):
        FitConfig(data="d", labels=3)


def test_accumulate_is_checked_and_the_memory_check_suggests_it(monkeypatch):
    from kerasvision.config import FitConfig, validation

    assert FitConfig(dataset="digits", accumulate=4).accumulate == 4
    with pytest.raises(ValueError, match="accumulate must be a positive integer"):
        FitConfig(dataset="digits", accumulate=0)
    with pytest.raises(ValueError, match="--accumulate only apply to --task"):
        FitConfig(task="autoencoder", accumulate=2)
    # Memory for 64 float32 images of 512x512x3 at most: batch 256 is refused,
    # with the batch that fits and the accumulation keeping 256.
    monkeypatch.setattr(validation, "_available_memory", lambda: 2 * 64 * 512**2 * 12)
    with pytest.raises(ValueError) as refused:
        FitConfig(dataset="digits", image_size=512, batch_size=256)
    message = str(refused.value)
    assert "--batch-size 64 --accumulate 4" in message and "\n" not in message


@pytest.mark.parametrize(
    "options, message",
    [
        ({"task": "multilabel", "data": "d", "val_dir": "v"}, "--val-dir do not apply"),
        ({"task": "multilabel", "dataset": "digits_collages", "classes": "1,2"},
         "--classes do not apply to --task multilabel"),
        ({"task": "multilabel", "model_kwargs": {"classifier_activation": "softmax"}},
         "one sigmoid unit per label"),
    ],
    ids=["val-dir", "classes", "head"],
)  # fmt: skip
def test_multilabel_refuses_what_label_sets_rule_out(options, message):
    from kerasvision.config import FitConfig

    with pytest.raises(ValueError, match=message):
        FitConfig(**options)


def test_label_delim_or_a_multilabel_dataset_chooses_the_task():
    from kerasvision.config import FitConfig

    assert FitConfig(data="d.csv", label_delim=";").task == "multilabel"
    assert FitConfig(dataset="digits_collages").task == "multilabel"
    assert FitConfig(dataset="digits").task == "classification"
    record = FitConfig(data="d.csv", label_delim=";").to_json()
    assert FitConfig.from_json(record).label_delim == ";"  # classifier options kept
