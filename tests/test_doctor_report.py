"""What `doctor` writes: thumbnails big enough to judge (linked to the full
image), readable histograms for a single size, rounded ratios."""

from __future__ import annotations

import os
import re

import pytest
from helpers import write_image_folder

pytest.importorskip("imagehash")

from kerasvision.doctor import doctor  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Three classes of 16x16 images (one size), unbalanced, with a copy."""
    root = tmp_path_factory.mktemp("doctor") / "data"
    write_image_folder(root, classes=("a", "b", "c"), per_class=6, size=(16, 16))
    write_image_folder(root / "extra", classes=("a",), per_class=1, size=(16, 16))
    os.replace(root / "extra" / "a" / "a_0.png", root / "a" / "a_extra.png")
    os.rmdir(root / "extra" / "a")
    os.rmdir(root / "extra")
    with open(root / "a" / "a_0.png", "rb") as source:
        (root / "b" / "copy_of_a_0.png").write_bytes(source.read())
    return doctor(root, root.parent / "out", progress=False)


def test_thumbnails_are_large_and_open_the_full_image(report):
    page = open(os.path.join(report.output, "doctor.html"), encoding="utf-8").read()
    assert "width: 168px; height: 168px" in page  # 16 px images shown at 168
    links = re.findall(r'<a href="(file://[^"]+)" target="_blank"', page)
    assert links and all(os.path.isfile(link[len("file://") :]) for link in links)
    assert len(links) == page.count('class="thumb"')


def test_imbalance_ratio_is_rounded(report):
    assert report.imbalance_ratio == pytest.approx(7 / 6, abs=0.005)  # 7, 7, 6
    assert report.imbalance_ratio == round(report.imbalance_ratio, 2)
    page = open(os.path.join(report.output, "doctor.html"), encoding="utf-8").read()
    assert f"<td>{report.imbalance_ratio}</td>" in page


def test_one_image_size_is_one_labelled_bar():
    from matplotlib.figure import Figure

    from kerasvision.doctor_report import _size_panel

    class Info:
        width = height = 32

    axis = Figure().subplots()
    _size_panel(axis, [Info()] * 5)
    labels = [tick.get_text() for tick in axis.get_xticklabels()]
    assert labels == ["32x32"]
    assert [bar.get_height() for bar in axis.patches] == [5]
