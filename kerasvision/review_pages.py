"""What both reviews (single labels, label sets) share: the ranking, review.csv
and review.html.

One owner for the order of the images, the CSV's frame, the files' staging, the
captioned galleries and the page around them; `review` and `review_multilabel`
bring their columns, captions, notes and sections.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

__all__ = ["MAX_SHOWN", "ReviewedImages", "review_page"]

#: Suspected images shown on the page (all of them are in review.csv).
MAX_SHOWN = 60


@dataclass
class ReviewedImages:
    """What every review result has and writes (its own fields follow `paths`).

    A subclass has `issues` (indices of suspected images, most suspicious
    first) and gives `suspicion_order()`, `caption_html(index)`, `CSV_COLUMNS`
    and `csv_values(index, flagged)`.

    Attributes:
        data_dir: The data folder reviewed.
        class_names: Labels in output order.
        paths: Image paths relative to `data_dir`.
        method: How the probabilities were made (keyword only).
        output: Folder written (review.html, review.csv), or None (keyword
            only).
    """

    data_dir: str
    class_names: list[str]
    paths: list[str]
    method: dict = field(default_factory=dict, kw_only=True)
    output: str | None = field(default=None, kw_only=True)

    #: review.csv's columns between `path` and `action`.
    CSV_COLUMNS: ClassVar[tuple[str, ...]] = ()

    def ranking(self) -> np.ndarray:
        """Every index: the suspects first (cleanlab's order), then the others
        in `suspicion_order()`."""
        flagged = set(self.issues.tolist())
        rest = [i for i in self.suspicion_order() if i not in flagged]
        return np.array([*self.issues.tolist(), *rest], dtype=np.int64)

    def csv_text(self) -> str:
        """review.csv: `rank`, `path`, `CSV_COLUMNS` and `action` (`keep`), one
        row per image in `ranking()` order, most suspicious first."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["rank", "path", *self.CSV_COLUMNS, "action"])
        flagged = set(self.issues.tolist())
        for rank, index in enumerate(self.ranking(), start=1):
            values = self.csv_values(index, index in flagged)
            writer.writerow([rank, self.paths[index], *values, "keep"])
        return buffer.getvalue()

    def gallery_html(self, indices) -> str:
        """Thumbnails of the images `indices`, each captioned by `caption_html`."""
        from kerasvision.pages import gallery

        items = [(self.paths[i], self.caption_html(i)) for i in indices]
        return gallery(self.data_dir, items)

    def issues_section(self, title: str, what: str, advice: str):
        """The page's first section: how many suspects (`what`, e.g. "suspected
        label errors") cleanlab found and where they are, `advice` (HTML), how
        many are shown when not all, then the first `MAX_SHOWN` of them."""
        shown = self.issues[:MAX_SHOWN]
        note = (f'<p class="note">{len(self.issues)} {what} (cleanlab), all in '
                f"review.csv (label_issue = True). {advice}")  # fmt: skip
        if len(shown) < len(self.issues):
            note += f" The first {len(shown)} are shown."
        return ("issues", title, note + "</p>" + self.gallery_html(shown))

    def write(self, html: str) -> None:
        """Write `review.csv` (`csv_text()`) and `review.html` into `self.output`,
        staged: a failure (a full disk) leaves neither file nor a new folder."""
        from kerasvision._files import staged_files, write_text

        with staged_files(self.output) as staging:
            write_text(os.path.join(staging, "review.csv"), self.csv_text())
            write_text(os.path.join(staging, "review.html"), html)


def review_page(result, kpis, sections) -> str:
    """The review page: the data folder's name, the run reviewed, the image count
    then `kpis`, `sections` then the method (see `kerasvision.pages.page`)."""
    from kerasvision.pages import escape, key_values, page

    name = os.path.basename(result.data_dir or "")
    run = escape(result.method.get("run", ""))
    kpis = [("images", len(result.paths)), *kpis]
    sections = [*sections, ("method", "Method", key_values(result.method))]
    return page(f"kerasvision review: {name}", f"review: {name}", run, kpis, sections)
