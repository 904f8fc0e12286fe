"""Label review of a multi-label run (`kerasvision.review.review` for one).

Every image of the run's data (or of another CSV of label sets) gets an
out-of-sample probability per label from k-fold one-vs-rest logistic
regression (scikit-learn, standardized features of the run's model, as for a
single-label review), and `cleanlab.multilabel_classification` ranks the
images whose given label set is suspect (`find_label_issues`, by
self-confidence) and scores every image's label quality
(`get_label_quality_scores`). Each suspect image names its suspect labels:
`-LABEL` given but unlikely, `+LABEL` likely but not given.

`review.csv` has one row per image, suspects first (path, given labels,
suggested labels, label quality, suspect labels, action `keep`); label sets
live in the CSV of labels, so they are corrected there (`kerasvision clean`
moves files between class folders, which a multi-label dataset has not).
`review.html` shows the suspects and the lowest label qualities.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from kerasvision.progress import Progress
from kerasvision.review_pages import ReviewedImages, review_page

__all__ = [
    "LabelSetReview",
    "out_of_sample_label_probabilities",
    "review_label_sets",
]


@dataclass
class LabelSetReview(ReviewedImages):
    """Out-of-sample label probabilities of a multi-label dataset and the
    suspect label sets.

    Attributes (besides `ReviewedImages`'):
        targets: Given label sets, multi-hot `[N, K]`.
        probabilities: Out-of-sample probabilities `[N, K]`.
        issues: Indices of suspect images, most suspect first.
        quality: cleanlab's label quality score of each image (low: suspect).
    """

    targets: np.ndarray
    probabilities: np.ndarray
    issues: np.ndarray
    quality: np.ndarray

    @property
    def suggested(self) -> np.ndarray:
        """Multi-hot label sets the probabilities suggest (p >= 0.5)."""
        return (self.probabilities >= 0.5).astype("int8")

    def _names(self, row) -> str:
        return ";".join(self.class_names[i] for i in np.flatnonzero(row))

    def suspects(self, index: int) -> list[str]:
        """`-LABEL` (given, unlikely) and `+LABEL` (likely, not given)."""
        given = self.targets[index] > 0.5
        likely = self.suggested[index] > 0
        return [f"-{self.class_names[i]}" for i in np.flatnonzero(given & ~likely)] + [
            f"+{self.class_names[i]}" for i in np.flatnonzero(likely & ~given)
        ]

    def suspicion_order(self) -> np.ndarray:
        """Every index, lowest label quality first."""
        return np.argsort(self.quality, kind="stable")

    def confused_pairs(self, count: int = 10) -> list[tuple[str, str, int]]:
        """The most frequent disagreements per label: `(label, "not
        predicted", images)` (given, not suggested) and `("not given", label,
        images)` (suggested, not given)."""
        given, likely = self.targets > 0.5, self.suggested > 0
        pairs = []
        for index, name in enumerate(self.class_names):
            pairs.append(
                (
                    name,
                    "not predicted",
                    int(np.sum(given[:, index] & ~likely[:, index])),
                )
            )
            pairs.append(
                ("not given", name, int(np.sum(likely[:, index] & ~given[:, index])))
            )
        pairs = [pair for pair in pairs if pair[2]]  # fmt: skip
        return sorted(pairs, key=lambda pair: -pair[2])[:count]

    def caption_html(self, index: int) -> str:
        """The page's caption of image `index`: given and suspect labels."""
        from kerasvision.pages import escape

        given = self._names(self.targets[index] > 0.5) or "-"
        return (
            f"given <b>{escape(given)}</b><br>suspect "
            f"<b>{escape(' '.join(self.suspects(index)) or '-')}</b><br>"
            f"quality {self.quality[index]:.2f}<br>{escape(self.paths[index])}"
        )

    CSV_COLUMNS = ("given_labels", "suggested_labels", "label_quality",
                   "suspect_labels", "label_issue")  # fmt: skip

    def csv_values(self, index: int, flagged: bool) -> list:
        """review.csv's `CSV_COLUMNS` of image `index`."""
        return [
            self._names(self.targets[index] > 0.5),
            self._names(self.suggested[index]),
            f"{self.quality[index]:.4f}",
            " ".join(self.suspects(index)),
            flagged,
        ]


def out_of_sample_label_probabilities(features, targets, *, folds=5, seed=0):
    """k-fold one-vs-rest logistic regression: each row's label probabilities
    from models not fitted on it.

    Returns:
        `(probabilities [N, K], folds used)`.

    Raises:
        ValueError: With fewer than 2 images per fold.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    targets = (np.asarray(targets) > 0.5).astype("int64")
    folds = max(2, min(int(folds), len(targets) // 2))
    if len(targets) < 4:
        raise ValueError("a k-fold review needs at least 4 images")
    probabilities = np.zeros(targets.shape, dtype=np.float64)
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    label = f"review: {folds}-fold one-vs-rest logistic regression"
    with Progress(label, folds, unit="folds") as progress:
        for train, held_out in splitter.split(features):
            fitted = make_pipeline(
                StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=2000))
            )
            seen = targets[train]
            constant = seen.min(axis=0) == seen.max(axis=0)  # a label without both
            probabilities[np.ix_(held_out, np.flatnonzero(constant))] = seen[
                0, constant
            ]
            varying = np.flatnonzero(~constant)
            if len(varying):
                fitted.fit(features[train], targets[np.ix_(train, varying)])
                probabilities[np.ix_(held_out, varying)] = fitted.predict_proba(
                    features[held_out]
                )
            progress.update(1)
    return probabilities, folds


def review_label_sets(run, data_dir, *, output, folds, seed, features):
    """Review a multi-label run's images (see the module docstring).

    Args:
        run: The loaded multi-label run.
        data_dir: A CSV of label sets to review instead of the run's data, or
            None.
        output: Folder for review.html and review.csv (None: the run).
        folds: Folds of the regression.
        seed: Fold seed.
        features: `features(run, data)` -> `(features, paths, labels,
            description)` (the single-label review's feature extraction).

    Returns:
        A `LabelSetReview`.
    """
    from cleanlab.multilabel_classification.filter import find_label_issues
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    from kerasvision.evaluation_multilabel import multilabel_run_data
    from kerasvision.runs import check_not_overlapping

    data = multilabel_run_data(run, data_dir)
    root = data.source.get("path")
    output = os.path.abspath(os.fspath(output or run.path))
    if root:
        check_not_overlapping(output, root)
    vectors, paths, _, description = features(run, data)
    targets = np.asarray(data.as_test_split().splits["test"].targets)
    probabilities, used = out_of_sample_label_probabilities(
        vectors, targets, folds=folds, seed=seed
    )
    given = [list(np.flatnonzero(row > 0.5)) for row in targets]
    issues = find_label_issues(
        labels=given, pred_probs=probabilities,
        return_indices_ranked_by="self_confidence",
    )  # fmt: skip
    result = LabelSetReview(
        data_dir=root, class_names=list(run.class_names), paths=paths,
        targets=targets, probabilities=probabilities,
        issues=np.asarray(issues, dtype=np.int64),
        quality=np.asarray(get_label_quality_scores(given, probabilities)),
        method={
            "features": description, "feature_size": int(vectors.shape[1]),
            "probabilities": f"{used}-fold one-vs-rest logistic regression "
                             f"(scikit-learn)",
            "label_issues": "cleanlab.multilabel_classification "
                            "(find_label_issues, self_confidence)",
            "run": run.path,
        },
        output=output,
    )  # fmt: skip
    result.write(_html(result))
    return result


def _html(result: LabelSetReview) -> str:
    from kerasvision.pages import table

    lowest = np.argsort(result.quality, kind="stable")[:24]
    pairs = result.confused_pairs()
    sections = [
        result.issues_section(
            "Suspect label sets",
            "images with a suspect label set",
            "-LABEL: given but unlikely, +LABEL: likely but not given; correct "
            "them in the CSV of labels.",
        ),
        ("quality", "Lowest label quality", result.gallery_html(lowest)),
        ("labels", "Disagreements per label",
         table(("given", "suggested", "images"), pairs, numeric_from=2)),
    ]  # fmt: skip
    agreement = float(np.mean(result.suggested == (result.targets > 0.5)))
    kpis = [
        ("labels", len(result.class_names)),
        ("suspect images", len(result.issues)),
        ("label slots agreeing", f"{agreement:.1%}"),
    ]
    return review_page(result, kpis, sections)
