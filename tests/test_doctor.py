"""Dataset doctor: planted duplicates, bad files, outputs, CLI exit codes."""

import itertools
import json
import os
import struct
import sys
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import write_image_folder, write_planted_digits
from PIL import Image

from kerasvision.cli import main
from kerasvision.data.duplicates import near_pairs
from kerasvision.doctor import doctor, duplicate_groups


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted") / "data"
    truth = write_planted_digits(str(root))
    return str(root), truth


def _reported_pairs(result):
    pairs = set()
    for group in result.groups:
        pairs |= {frozenset(p) for p in itertools.combinations(group.paths, 2)}
    return pairs


def test_doctor_finds_planted_duplicates(planted, tmp_path):
    root, truth = planted
    result = doctor(root, tmp_path / "report", progress=False)
    reported = _reported_pairs(result)
    found = len(truth["pairs"] & reported) / len(truth["pairs"])
    false = [p for p in reported if len({truth["family"][f] for f in p}) > 1]
    print(
        f"planted pairs {len(truth['pairs'])}: found {found:.1%}; reported pairs "
        f"{len(reported)}, false {len(false)} ({len(false) / len(reported):.1%})"
    )
    assert found >= 0.9
    assert len(false) / len(reported) <= 0.02
    cross_groups = [set(g.paths) for g in result.cross_class_groups]
    for pair in truth["cross_class"]:
        assert any(pair <= group for group in cross_groups), pair
    kinds = {g.kind for g in result.groups}
    assert kinds == {"exact", "near"}
    assert result.summary()["tiny"] == 8  # the 24x24 resized copies


def test_doctor_writes_self_contained_report(planted, tmp_path):
    root, _ = planted
    result = doctor(root, tmp_path / "report", progress=False)
    names = sorted(os.listdir(result.output))
    assert names == ["doctor.html", "doctor.json", "histograms.png"]
    page = open(os.path.join(result.output, "doctor.html"), encoding="utf-8").read()
    assert "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page
    assert page.count('class="thumb"') >= sum(len(g.paths) for g in result.groups[:100])
    record = json.load(open(os.path.join(result.output, "doctor.json")))
    assert record["summary"]["cross_class_groups"] == len(result.cross_class_groups)
    assert all(g["cross_class"] for g in record["groups"][:8])


def _bomb_png(path):
    """A PNG header claiming 60000x60000 pixels (no pixel data needed)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    with open(path, "wb") as stream:
        stream.write(
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
        )


def _odd_folder(root):
    write_image_folder(root, classes=("a", "b"), per_class=4, size=(40, 48))
    open(os.path.join(root, "a", "zero.png"), "wb").close()
    with open(os.path.join(root, "a", "text.jpg"), "w") as stream:
        stream.write("not an image")
    content = open(os.path.join(root, "a", "a_0.png"), "rb").read()
    with open(os.path.join(root, "b", "cut.png"), "wb") as stream:
        stream.write(content[: len(content) // 2])
    _bomb_png(os.path.join(root, "b", "bomb.png"))
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (50, 40), (200, 10, 10)).save(
        os.path.join(root, "b", "rotated.jpg"), exif=exif
    )
    Image.new("L", (10, 10), 128).save(os.path.join(root, "b", "tiny.png"))
    os.makedirs(os.path.join(root, "empty"))
    os.makedirs(os.path.join(root, ".kerasvision-quarantine", "a"))
    Image.new("RGB", (40, 40)).save(
        os.path.join(root, ".kerasvision-quarantine", "a", "x.png")
    )


def test_doctor_bad_files_and_odd_images(tmp_path):
    root = str(tmp_path / "data")
    _odd_folder(root)
    result = doctor(root, write=False, progress=False)
    reasons = dict(result.bad_files)
    assert reasons[os.path.join("a", "zero.png")].startswith("empty file")
    assert reasons[os.path.join("a", "text.jpg")].startswith("not an image")
    assert reasons[os.path.join("b", "cut.png")].startswith("truncated")
    assert reasons[os.path.join("b", "bomb.png")].startswith("decompression bomb")
    summary = result.summary()
    assert summary["exif_rotated"] == 1 and summary["tiny"] == 1
    assert result.empty_classes == ["empty"]
    assert result.class_names == ["a", "b", "empty"]  # quarantine is hidden
    assert not any("quarantine" in i.path for i in result.images)
    assert not result.failed
    strict = doctor(root, write=False, strict=True, progress=False)
    assert strict.failed and len(strict.problems) == 2


def test_output_never_overwrites_and_refuses_data(tmp_path, monkeypatch):
    root = str(tmp_path / "data")
    write_image_folder(root, per_class=3)
    monkeypatch.chdir(tmp_path)
    os.makedirs("doctor-data")
    first = doctor(root, progress=False)
    assert first.output == str(tmp_path / "doctor-data-2")
    assert os.listdir("doctor-data") == []
    again = doctor(root, output=first.output, progress=False)  # earlier report
    assert again.output == first.output
    with open("notes.txt", "w") as stream:
        stream.write("mine")
    os.makedirs("mine")
    os.rename("notes.txt", "mine/notes.txt")
    with pytest.raises(ValueError, match="not an earlier doctor output"):
        doctor(root, output="mine", progress=False)
    with pytest.raises(ValueError, match="inside the data folder"):
        doctor(root, output=os.path.join(root, "report"), progress=False)


def test_cli_exit_codes(tmp_path):
    root = str(tmp_path / "data")
    _odd_folder(root)
    runner = CliRunner()
    out = str(tmp_path / "out")
    result = runner.invoke(main, ["doctor", root, "--output", out])
    assert result.exit_code == 0, result.output
    assert "4 bad file(s)" in result.output
    assert os.path.isfile(os.path.join(out, "doctor.html"))
    result = runner.invoke(main, ["doctor", root, "--output", out, "--strict"])
    assert result.exit_code == 1
    result = runner.invoke(main, ["doctor", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert (
        result.output.strip() == f"Error: data directory not found: {tmp_path}/missing"
    )


def test_missing_imagehash_is_one_line(tmp_path, monkeypatch):
    root = str(tmp_path / "data")
    write_image_folder(root, per_class=2)
    monkeypatch.setitem(sys.modules, "imagehash", None)  # import fails
    result = CliRunner().invoke(main, ["doctor", root])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: imagehash is not installed: pip install kerasvision[doctor]"
    )


def test_near_pairs_and_groups_are_unions():
    codes = np.zeros((4, 8), dtype=np.uint8)
    codes[1, 0] = 0b111  # distance 3 from 0
    codes[2, 0] = 0b111111  # distance 3 from 1, 6 from 0
    codes[3] = 255
    pairs = near_pairs(codes, 3)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (1, 2)]
    from kerasvision.doctor import ImageInfo

    infos = [ImageInfo(f"{c}/{i}.png", c, None, str(i)) for i, c in enumerate("aabb")]
    groups = duplicate_groups(infos, pairs)
    assert len(groups) == 1 and groups[0].paths == ["a/0.png", "a/1.png", "b/2.png"]
    assert groups[0].cross_class and groups[0].kind == "near"


def test_backbone_confirmation(planted, tmp_path):
    from kerasvision.models import build_model

    root, truth = planted
    model = build_model("bipyramidal_cnn", (32, 32, 1), 10)
    path = str(tmp_path / "a.keras")
    model.save(path)
    result = doctor(root, write=False, backbone=path, progress=False)
    assert "pooled-feature cosine" in result.method["confirm"]
    reported = _reported_pairs(result)
    found = len(truth["pairs"] & reported) / len(truth["pairs"])
    false = [p for p in reported if len({truth["family"][f] for f in p}) > 1]
    print(f"backbone: found {found:.1%}, false {len(false)}/{len(reported)}")
    assert found >= 0.9


def test_progress_bar_when_asked_lines_only_for_long_steps(tmp_path, capsys):
    root = str(tmp_path / "data")
    write_image_folder(root, per_class=3)
    doctor(root, write=False, progress=True)  # a bar, as on a terminal
    assert "checking images [" in capsys.readouterr().err
    doctor(root, write=False)  # not a terminal: a line only every 10 s
    assert "checking images" not in capsys.readouterr().err
    doctor(root, write=False, progress=False)
    assert capsys.readouterr().err == ""


def test_doctor_reports_label_sets_of_a_multilabel_csv(multilabel_run, tmp_path):
    _, data = multilabel_run
    out = str(tmp_path / "out")
    table = str(data / "labels.csv")
    result = CliRunner().invoke(
        main, ["doctor", table, "--label-delim", ";", "--output", out]
    )
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("labels ("))
    assert "10, " in line and "per image" in line and "most frequent pairs" in line
    report = json.load(open(os.path.join(out, "doctor.json")))
    found = report["layout"]["label_sets"]
    assert found["images"] == 600 and 1.0 < found["cardinality"] <= 4.0
    assert len(found["cooccurrence"]) == 10
    assert 'id="label-sets"' in open(os.path.join(out, "doctor.html")).read()
    # each image is filed under its first label; the imbalance is the labels'
    frequencies = found["frequencies"].values()
    ratio = report["summary"]["imbalance_ratio"]
    assert ratio == round(max(frequencies) / min(frequencies), 2)
