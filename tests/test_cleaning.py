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


# --- crafted logs, symlinked class folders, concurrent applies, Excel's csv ---


def _victim(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("the victim's file")
    (victim / "planted.png").write_bytes(b"planted")
    (tmp_path / "victim_emptydir").mkdir()
    return victim


@pytest.mark.parametrize(
    "move, created",
    [
        ({"from": "cats/cats_0.png", "to": "../victim/precious.txt"}, []),
        ({"from": "../victim/planted.png", "to": "cats/planted.png"}, []),
        ({"from": "cats/cats_0.png", "to": f"{QUARANTINE}/cats/cats_0.png"},
         ["../victim_emptydir"]),
        ({"from": "/etc/passwd", "to": "cats/passwd"}, []),
    ],
    ids=["to-outside", "from-outside", "created-dir-outside", "absolute"],
)  # fmt: skip
def test_undo_refuses_a_log_naming_paths_outside_the_data(
    data, tmp_path, move, created
):
    import json

    _victim(tmp_path)
    review = str(tmp_path / "review.csv")
    _write_csv(review, [["cats/cats_0.png", "cats", "", "remove"]])
    apply_review(data, review)
    log = os.path.join(data, QUARANTINE, "clean-log.json")
    crafted = {"sessions": [{"moves": [{**move, "action": "remove"}],
                             "created_dirs": created}]}  # fmt: skip
    with open(log, "w") as stream:
        json.dump(crafted, stream)
    before = tree_hash(str(tmp_path))
    with pytest.raises(ValueError, match="outside the data folder"):
        undo_clean(data)
    assert tree_hash(str(tmp_path)) == before  # nothing moved, nothing removed


def test_apply_does_not_follow_a_class_folder_symlinked_out_of_the_data(tmp_path):
    outside = tmp_path / "outside" / "c2"
    write_image_folder(str(tmp_path / "outside"), classes=("c2",), per_class=2)
    data = tmp_path / "h" / "symclass"
    write_image_folder(str(data), classes=("c0", "c1"), per_class=2)
    os.symlink(outside, data / "c2")
    name = sorted(os.listdir(outside))[0]
    review = str(tmp_path / "review.csv")
    _write_csv(
        review,
        [
            [f"c2/{name}", "c2", "", "remove"],
            [f"c2/{name}", "c2", "", "relabel:c0"],
            ["c0/c0_0.png", "c0", "", "relabel:c2"],  # into the outside folder
        ],
    )
    before = tree_hash(str(tmp_path / "outside"))
    result = apply_review(str(data), review)
    assert result.moved == [] and len(result.skipped) == 3
    assert all("resolves outside the data folder" in why for _, why in result.skipped)
    assert tree_hash(str(tmp_path / "outside")) == before


_SLOW_APPLY = """
import sys, time
import kerasvision.cleaning as cleaning
real = cleaning._move
def slow(*args):
    time.sleep(0.25)
    return real(*args)
cleaning._move = slow
print("applying", flush=True)
cleaning.apply_review(sys.argv[1], sys.argv[2])
"""


def test_concurrent_applies_keep_both_undo_records(data, tmp_path):
    import subprocess
    import sys
    import time

    before = tree_hash(data)
    first, second = str(tmp_path / "a.csv"), str(tmp_path / "b.csv")
    _write_csv(first, [[f"cats/cats_{i}.png", "cats", "", "remove"] for i in (0, 1)]
               + [["cats/nested/cats_3.png", "cats", "", "remove"]])  # fmt: skip
    _write_csv(
        second, [[f"fox/fox_{i}.png", "fox", "", "relabel:dogs"] for i in (0, 1)]
    )
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_APPLY, data, first],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "applying"
        time.sleep(0.4)  # the other apply holds the lock and is moving files
        result = apply_review(data, second)  # waits for it, then applies
    finally:
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert len(result.moved) == 2
    undone = undo_clean(data)
    assert len(undone.moved) == 5 and not undone.skipped  # both records kept
    assert tree_hash(data) == before


def test_a_csv_saved_by_excel_with_a_byte_order_mark_is_read(data, tmp_path):
    review = tmp_path / "review.csv"
    _write_csv(str(review), [["cats/cats_0.png", "cats", "", "remove"]])
    review.write_bytes(b"\xef\xbb\xbf" + review.read_bytes())
    assert len(apply_review(data, str(review)).moved) == 1
