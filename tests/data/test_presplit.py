"""kerasvision.data.presplit: pre-split folders and --val-dir / --test-dir."""

import os
import shutil

import pytest
from helpers import write_image_folder

from kerasvision.data.presplit import load_split_folders
from kerasvision.data.sources import (
    evaluation_data,
    fit_inputs,
    given_split_roles,
    load_data,
    load_recorded,
)

SMALL = {"image_size": 8, "seed": 0}


def _write_splits(root, splits=("train", "val", "test"), classes=("cats", "dogs")):
    """Each split its own images (different seeds: no copies across splits)."""
    counts = {"train": 10, "val": 3, "test": 3}
    written = {}
    for seed, split in enumerate(splits):
        paths = write_image_folder(
            root / split, classes=classes, per_class=counts[split], size=(8, 8),
            seed=seed,
        )  # fmt: skip
        written[split] = sorted(os.path.relpath(p, root) for p in paths)
    return written


def _names(data, split):
    return data.split_record()[split]


def test_pre_split_folder_keeps_its_splits(tmp_path):
    written = _write_splits(tmp_path)
    data = load_data(str(tmp_path), **SMALL)
    assert data.class_names == ["cats", "dogs"]
    for split in ("train", "val", "test"):
        assert sorted(_names(data, split)) == written[split]
    assert data.source["kind"] == "split_folders"
    assert data.source["layout"] == "pre-split"
    assert data.split_source == {s: str(tmp_path / s) for s in ("train", "val", "test")}
    assert data.messages() == []


def test_val_without_test_is_the_test_split_and_val_is_carved(tmp_path):
    written = _write_splits(tmp_path, ("train", "val"))
    data = load_data(str(tmp_path), val_split=0.2, **SMALL)
    assert sorted(_names(data, "test")) == written["val"]
    carved = _names(data, "val")
    assert len(carved) == 4 and set(carved) <= set(written["train"])
    assert sorted(carved + _names(data, "train")) == written["train"]
    assert data.split_source["test"] == str(tmp_path / "val")
    assert data.split_source["val"] == f"carved from {tmp_path / 'train'}"
    none = load_data(str(tmp_path), val_split=0.0, **SMALL)
    assert len(none.splits["val"]) == 0 and none.split_source["val"] == "none"


def test_val_dir_and_test_dir_split_as_the_pre_split_folder(tmp_path):
    _write_splits(tmp_path)
    presplit = load_data(str(tmp_path), **SMALL)
    explicit = load_data(
        str(tmp_path / "train"),
        val_dir=str(tmp_path / "val"),
        test_dir=str(tmp_path / "test"),
        **SMALL,
    )
    assert explicit.split_record() == presplit.split_record()
    assert explicit.source["layout"] == "explicit"
    shutil.rmtree(tmp_path / "test")
    two = load_data(str(tmp_path), **SMALL)
    as_test = load_data(
        str(tmp_path / "train"), test_dir=str(tmp_path / "val"), **SMALL
    )
    assert as_test.split_record() == two.split_record()
    # --val-dir is validation: the test split is then carved from DATA.
    as_val = load_data(str(tmp_path / "train"), val_dir=str(tmp_path / "val"), **SMALL)
    assert as_val.split_source["val"] == str(tmp_path / "val")
    assert as_val.split_source["test"].startswith("carved from")


def test_class_sets_that_differ_between_splits(tmp_path):
    _write_splits(tmp_path, ("train",), classes=("a", "b", "c"))
    write_image_folder(tmp_path / "val", classes=("a", "b"), per_class=2, seed=7)
    data = load_data(str(tmp_path), **SMALL)
    assert data.class_names == ["a", "b", "c"]
    warning = data.split_warning()
    assert "'c' (no test:" in warning and str(tmp_path / "val") in warning
    write_image_folder(tmp_path / "val", classes=("d",), per_class=2, seed=8)
    with pytest.raises(ValueError, match="'d' have no training images"):
        load_data(str(tmp_path), **SMALL)
    shutil.rmtree(tmp_path / "val" / "d")
    (tmp_path / "train" / "e").mkdir()
    with pytest.raises(ValueError, match="train/e contains no images"):
        load_data(str(tmp_path), **SMALL)


def test_duplicates_across_given_splits_are_reported_not_moved(tmp_path):
    written = _write_splits(tmp_path)
    copy = os.path.join("test", "cats", "copy.png")
    shutil.copy(tmp_path / written["train"][0], tmp_path / copy)
    data = load_data(str(tmp_path), **SMALL)
    assert copy in _names(data, "test")
    found = data.cross_split_duplicates
    assert found["groups"] == 1 and sorted(found["listed"][0]) == sorted(
        [copy, written["train"][0]]
    )
    assert any("straddle the given splits" in line for line in data.messages())
    assert data.summary()["cross_split_duplicates"] == found


def test_group_by_carves_by_paths_inside_the_training_folder(tmp_path):
    _write_splits(tmp_path, ("train", "val"), classes=("cats", "dogs"))
    # Relative to DATA the paths start with train/: this matches only inside it.
    data = load_data(str(tmp_path), val_split=0.3, group_by="^cats/", **SMALL)
    assert data.split_groups["grouped_files"] == 10
    cats = [n for n in _names(data, "train") + _names(data, "val") if "/cats/" in n]
    assert cats == [n for n in _names(data, "train") if "/cats/" in n]


def test_recorded_splits_rebuild_and_evaluation_reads_the_test_folder(tmp_path):
    written = _write_splits(tmp_path)
    data = load_split_folders(
        tmp_path / "train", val_dir=tmp_path / "val", test_dir=tmp_path / "test",
        **SMALL,
    )  # fmt: skip
    again = load_recorded(
        data.source, data.split_record(), class_names=data.class_names, image_size=8
    )
    assert again.split_record() == data.split_record()
    assert again.split_source == data.split_source
    held_out = evaluation_data(tmp_path, ["cats", "dogs"], image_size=8)
    assert len(held_out.splits["test"]) == len(written["test"])
    assert held_out.given_source("test") == str(tmp_path / "test")
    assert fit_inputs(data.source) == (
        str(tmp_path / "train"),
        {"val_dir": str(tmp_path / "val"), "test_dir": str(tmp_path / "test")},
    )


def test_given_split_roles_of_each_layout(tmp_path):
    _write_splits(tmp_path, ("train", "val"))
    assert given_split_roles(str(tmp_path)) == {
        "train": "train", "val": None, "test": "val"
    }  # fmt: skip
    assert given_split_roles(str(tmp_path / "train"), val_dir="v") == {
        "train": "train", "val": "val", "test": None
    }  # fmt: skip
    assert given_split_roles(str(tmp_path / "train")) is None
    assert given_split_roles(str(tmp_path / "missing")) is None
