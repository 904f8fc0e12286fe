"""kerasvision.data.splits: seeded stratified splits and leakage-safe group splits.

Groups (duplicates, --group-by) stay in one split.
"""

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import write_image_folder, write_planted_digits

from kerasvision.cli import main
from kerasvision.data.sources import load_image_folder
from kerasvision.data.splits import group_stratified_split, stratified_split


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASVISION_CACHE_DIR", str(tmp_path / "cache"))


def test_stratified_split_keeps_proportions_and_is_seeded():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    split = stratified_split(labels, 0.2, 0.1, seed=3)
    again = stratified_split(labels, 0.2, 0.1, seed=3)
    other = stratified_split(labels, 0.2, 0.1, seed=4)
    for name in split:
        np.testing.assert_array_equal(split[name], again[name])
    assert not np.array_equal(split["test"], other["test"])
    everything = np.concatenate(list(split.values()))
    assert sorted(everything.tolist()) == list(range(100))  # disjoint, complete
    assert np.bincount(labels[split["test"]]).tolist() == [5, 3, 2]
    assert np.bincount(labels[split["val"]]).tolist() == [10, 6, 4]
    # Not by sort order: the test items are not the first/last of each class.
    assert split["test"].tolist() != [0, 1, 2, 3, 4, 50, 51, 52, 80, 81]


@pytest.mark.parametrize("val, test", [(-0.1, 0.1), (0.5, 0.5), (0.2, 1.0)])
def test_stratified_split_rejects_fractions(val, test):
    with pytest.raises(ValueError, match="split"):
        stratified_split(np.array([0, 1] * 5), val, test, seed=0)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_single_item_groups_give_the_stratified_split(seed):
    labels = np.random.default_rng(seed).integers(0, 4, 203)
    plain = stratified_split(labels, 0.15, 0.2, seed)
    grouped = group_stratified_split(labels, np.arange(203), 0.15, 0.2, seed)
    for name in plain:
        np.testing.assert_array_equal(plain[name], grouped[name])


def test_groups_stay_together_and_classes_stay_balanced():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 100)
    groups = rng.integers(0, 120, 300)  # ~2.5 items per group, mixed classes
    parts = group_stratified_split(labels, groups, 0.1, 0.2, seed=3)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(300))
    where = {}
    for name, indices in parts.items():
        for group in set(groups[indices].tolist()):
            assert where.setdefault(group, name) == name
    for label in range(3):
        test_share = np.mean(labels[parts["test"]] == label)
        assert 0.2 < test_share < 0.5
    again = group_stratified_split(labels, groups, 0.1, 0.2, seed=3)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)


def _families_split(data, truth):
    """How many planted families have members in more than one split."""
    root = data.source["path"]
    seen = {}
    for name, part in data.splits.items():
        for path in part.paths:
            family = truth["family"][os.path.relpath(path, root)]
            seen.setdefault(family, set()).add(name)
    return sum(len(names) > 1 for names in seen.values())


def test_folder_split_keeps_planted_copies_together(tmp_path):
    root = str(tmp_path / "data")
    truth = write_planted_digits(root)
    data = load_image_folder(root, channels=1, image_size=32, seed=0)
    assert _families_split(data, truth) == 0
    assert data.split_groups["by"] == "duplicates"
    assert data.split_groups["groups"] >= 44
    assert data.summary()["split_groups"] == data.split_groups
    plain = load_image_folder(root, channels=1, seed=0, group_duplicates=False)
    leaked = _families_split(plain, truth)
    print(f"planted families split across train/val/test: {leaked} without groups")
    assert leaked > 0 and plain.split_groups is None
    assert len(os.listdir(tmp_path / "cache" / "fingerprints")) == 1
    cached = load_image_folder(root, channels=1, image_size=32, seed=0)
    for name in data.splits:
        assert data.splits[name].paths == cached.splits[name].paths


def test_group_by_regex(tmp_path):
    root = str(tmp_path / "data")
    paths = write_image_folder(root, classes=("a", "b"), per_class=12)
    for index, path in enumerate(paths):
        folder, name = os.path.split(path)
        os.rename(path, os.path.join(folder, f"p{index % 5}_{name}"))
    data = load_image_folder(root, seed=0, group_by=r"p(\d+)_", val_split=0.2)
    keys = {}
    for name, part in data.splits.items():
        for path in part.paths:
            patient = os.path.basename(path).split("_")[0]
            assert keys.setdefault(patient, name) == name
    assert data.split_groups == {
        "by": r"duplicates + regex p(\d+)_",
        "groups": 5,
        "grouped_files": 24,
    }
    with pytest.raises(ValueError, match="--group-by"):
        load_image_folder(root, group_by="(")


def test_fit_group_by_cli(tmp_path):
    root = str(tmp_path / "data")
    write_image_folder(root, classes=("a", "b"), per_class=8, size=(16, 16))
    run = str(tmp_path / "run")
    args = ["fit", root, "--epochs", "1", "--image-size", "16", "--output", run]
    result = CliRunner().invoke(main, [*args, "--group-by", r"_(\d)\.png$"])
    assert result.exit_code == 0, result.output
    info = json.load(open(os.path.join(run, "run.json")))
    assert info["arguments"]["group_by"] == r"_(\d)\.png$"
    assert info["data"]["split_groups"]["groups"] == 8
    result = CliRunner().invoke(main, [*args[:-1], run + "-2", "--group-by", "("])
    assert result.exit_code == 2
    assert result.output.strip().startswith("Error: --group-by '(':")


def test_big_groups_never_leave_a_split_empty():
    labels = np.array([0] * 6 + [1] * 6)
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3])
    parts = group_stratified_split(labels, groups, 0.1, 0.1, seed=0)
    assert all(len(parts[name]) for name in ("train", "val", "test"))
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(12))


def test_official_split_keeps_the_test_set_and_carves_validation():
    from kerasvision.data.splits import official_split

    labels = np.array([0, 1] * 50 + [0, 1] * 10)
    is_test = np.arange(120) >= 100
    record = official_split(labels, is_test, 0.1, seed=0)
    assert record["test"] == list(range(100, 120))
    assert len(record["val"]) == 10 and max(record["val"]) < 100
    assert sorted(record["train"] + record["val"]) == list(range(100))
    assert np.bincount(labels[record["val"]]).tolist() == [5, 5]


def test_multilabel_split_stratifies_label_sets_and_keeps_groups():
    from kerasvision.data.splits import multilabel_split

    rng = np.random.default_rng(0)
    targets = (rng.random((400, 6)) < [0.5, 0.3, 0.2, 0.1, 0.02, 0.01]).astype(float)
    parts = multilabel_split(targets, 0.1, 0.2, seed=3)
    again = multilabel_split(targets, 0.1, 0.2, seed=3)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)  # seeded
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(400))
    assert abs(len(parts["test"]) - 80) <= 4 and abs(len(parts["val"]) - 40) <= 4
    totals = targets.sum(axis=0)
    for name, fraction in (("val", 0.1), ("test", 0.2)):
        held = targets[parts[name]].sum(axis=0)
        assert np.all(held >= 1)  # even the 4-image label
        common = totals >= 40
        assert np.all(np.abs(held[common] / totals[common] - fraction) < 0.05)
    groups = np.arange(400) // 4  # groups of 4 stay whole
    grouped = multilabel_split(targets, 0.1, 0.2, seed=3, groups=groups)
    owner = {}
    for name, index in grouped.items():
        for group in set(groups[index].tolist()):
            assert owner.setdefault(group, name) == name
    assert len(multilabel_split(targets, 0.0, 0.2, seed=0)["val"]) == 0
