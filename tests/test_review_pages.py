"""kerasvision.review_pages: the ranking, review.csv and the page both reviews share."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pytest

from kerasvision.review_pages import MAX_SHOWN, ReviewedImages, review_page


@dataclass
class _Review(ReviewedImages):
    scores: np.ndarray = None
    issues: np.ndarray = None

    CSV_COLUMNS = ("score", "label_issue")

    def suspicion_order(self):
        return np.argsort(-self.scores, kind="stable")

    def csv_values(self, index, flagged):
        return [f"{self.scores[index]:.1f}", flagged]

    def caption_html(self, index):
        return f"<b>{self.paths[index]}</b>"


def _review(tmp_path, count=5):
    paths = [f"c/{i}.png" for i in range(count)]
    return _Review(str(tmp_path), ["c"], paths, np.arange(count, dtype=float),
                   np.array([1, 3]), method={"run": "RUN<1>"},
                   output=str(tmp_path / "out"))  # fmt: skip


def test_suspects_come_first_then_the_suspicion_order(tmp_path):
    review = _review(tmp_path)
    assert review.ranking().tolist() == [1, 3, 4, 2, 0]
    rows = list(csv.reader(io.StringIO(review.csv_text())))
    assert rows[0] == ["rank", "path", "score", "label_issue", "action"]
    assert rows[1] == ["1", "c/1.png", "1.0", "True", "keep"]
    assert rows[3] == ["3", "c/4.png", "4.0", "False", "keep"]


def test_the_page_counts_images_shows_the_method_and_escapes_it(tmp_path):
    review = _review(tmp_path)
    section = review.issues_section("Suspects", "suspects", "Fix <b>them</b>.")
    assert section[0] == "issues" and section[2].startswith(
        '<p class="note">2 suspects (cleanlab), all in review.csv (label_issue = '
        "True). Fix <b>them</b>.</p>"
    )
    html = review_page(review, [("x", 1)], [section])
    assert "RUN&lt;1&gt;" in html and "RUN<1>" not in html
    assert html.index(">images<") < html.index(">x<") and 'id="method"' in html
    assert "are shown" not in html  # all suspects shown: no count line
    many = _review(tmp_path, count=70)
    many.issues = np.arange(65)
    assert "The first 60 are shown.</p>" in many.issues_section("S", "s", "")[2]


def test_files_are_written_together(tmp_path):
    review = _review(tmp_path)
    review.write("<html></html>")
    out = tmp_path / "out"
    assert (out / "review.html").read_text() == "<html></html>"
    assert (out / "review.csv").read_text().startswith("rank,path")
    assert MAX_SHOWN == 60


def test_method_and_output_are_keyword_only(tmp_path):
    with pytest.raises(TypeError):
        _Review(str(tmp_path), ["c"], [], np.zeros(0), np.zeros(0), {}, "out")
