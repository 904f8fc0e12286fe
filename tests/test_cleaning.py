"""clean --apply / --undo: moves only, refused overwrites, byte-identical undo."""

import csv
import os

import pytest
from click.testing import CliRunner
from helpers import tree_hash, write_image_folder

from kerasvision.cleaning import QUARANTINE, apply_review, undo_clean
from kerasvision.cli import main
from kerasvision.data.sources import scan_image_folder


def _write_csv(path, rows):
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "given_label", "suggested_label", "action"])
        writer.writerows(rows)


@pytest.fixture
def data(tmp_path):
    root = str(tmp_path / "data")
    write_image_folder(root, classes=("cats", "dogs", "fox"), per_class=4)
    os.makedirs(os.path.join(root, "cats", "nested"))
    os.rename(
        os.path.join(root, "cats", "cats_3.png"),
        os.path.join(root, "cats", "nested", "cats_3.png"),
    )
    with open(os.path.join(root, "dogs", "cats_1.png"), "wb") as stream:
        stream.write(b"a different file with a clashing name")
    return root


def test_apply_then_undo_is_byte_identical(data, tmp_path):
    before = tree_hash(data)
    review = str(tmp_path / "review.csv")
    _write_csv(
        review,
        [
            ["cats/cats_0.png", "cats", "dogs", "relabel:dogs"],
            ["cats/nested/cats_3.png", "cats", "fox", "relabel:fox"],
            ["dogs/dogs_2.png", "dogs", "dogs", "remove"],
            ["fox/fox_0.png", "fox", "fox", "keep"],
            ["cats/cats_1.png", "cats", "dogs", "relabel:dogs"],  # target exists
            ["cats/missing.png", "cats", "dogs", "relabel:dogs"],  # unknown file
            ["cats/cats_2.png", "cats", "wolf", "relabel:wolf"],  # unknown class
            ["fox/fox_1.png", "dogs", "fox", "remove"],  # stale label
            ["fox/fox_2.png", "fox", "fox", "burn"],  # unknown action
            ["../outside.png", "cats", "dogs", "remove"],
        ],
    )
    result = apply_review(data, review)
    assert sorted(result.moved) == [
        ("cats/cats_0.png", "dogs/cats_0.png", "relabel"),
        ("cats/nested/cats_3.png", "fox/nested/cats_3.png", "relabel"),
        ("dogs/dogs_2.png", f"{QUARANTINE}/dogs/dogs_2.png", "remove"),
    ]
    assert result.kept == 1 and len(result.skipped) == 6
    reasons = " | ".join(reason for _, reason in result.skipped)
    for expected in ("exists; not overwritten", "unknown file", "unknown class"):
        assert expected in reasons
    assert "stale csv" in reasons and "unknown action" in reasons
    assert (
        open(os.path.join(data, "dogs", "cats_1.png"), "rb")
        .read()
        .startswith(b"a different")
    )
    assert os.path.isfile(os.path.join(data, QUARANTINE, "clean-log.json"))
    paths, _, names = scan_image_folder(data)
    assert names == ["cats", "dogs", "fox"]
    assert not any(QUARANTINE in p for p in paths)  # the loader skips it
    assert len(paths) == 12 + 1 - 1
    undone = undo_clean(data)
    assert len(undone.moved) == 3 and not undone.skipped
    assert tree_hash(data) == before


def test_two_sessions_and_interrupted_move(data, tmp_path):
    before = tree_hash(data)
    first, second = str(tmp_path / "a.csv"), str(tmp_path / "b.csv")
    _write_csv(first, [["cats/cats_0.png", "cats", "dogs", "relabel:dogs"]])
    _write_csv(second, [["dogs/cats_0.png", "dogs", "fox", "relabel:fox"]])
    apply_review(data, first)
    apply_review(data, second)
    # As if the second move had crashed between its link and its unlink: the
    # file is at both places (one inode).
    os.link(
        os.path.join(data, "fox", "cats_0.png"),
        os.path.join(data, "dogs", "cats_0.png"),
    )
    assert len(undo_clean(data).moved) == 2
    assert tree_hash(data) == before
    with pytest.raises(ValueError, match="nothing to undo"):
        undo_clean(data)


def test_cli_clean(data, tmp_path):
    before = tree_hash(data)
    review = str(tmp_path / "review.csv")
    _write_csv(
        review,
        [
            ["cats/cats_0.png", "cats", "dogs", "relabel:dogs"],
            ["cats/missing.png", "cats", "dogs", "remove"],
        ],
    )
    runner = CliRunner()
    result = runner.invoke(main, ["clean", data, "--apply", review])
    assert result.exit_code == 0, result.output
    assert "relabelled 1, quarantined 0, kept 0" in result.output
    assert "skipped line 3: unknown file" in result.output
    result = runner.invoke(main, ["clean", data, "--undo"])
    assert result.exit_code == 0 and "restored 1 file(s)" in result.output
    assert tree_hash(data) == before
    result = runner.invoke(main, ["clean", data])
    assert result.exit_code == 2
    assert "exactly one of --apply CSV and --undo" in result.output
    bad = str(tmp_path / "bad.csv")
    with open(bad, "w") as stream:
        stream.write("file,label\nx,y\n")
    result = runner.invoke(main, ["clean", data, "--apply", bad])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
