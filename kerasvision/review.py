"""Label review of a trained run: suspected label errors, top losses, confusions.

`review(RUN)` gives every image of the run's data (all of train, val and test,
or of another folder DATA) an out-of-sample predicted probability per class and
ranks suspected label errors with `cleanlab.filter.find_label_issues` (the
optional extra `kerasvision[review]`). The probabilities come from k-fold
logistic regression (scikit-learn, standardized features, `folds` folds
stratified by the given label), each image predicted by the folds it was not
fitted on, on features of the run's model:

- a feature-extraction transfer run: the frozen backbone's pooled features (the
  output of the head's `avg_pool` / `max_pool` layer). The backbone never saw
  the labels, so the probabilities are truly out-of-sample, and the cost is one
  pass over the images plus a few small regressions;
- every other run (scratch, fine-tuned): the input of the model's last layer
  (the penultimate features). They were trained on the given labels, noisy ones
  included, so a model that memorised a wrong label can hide it; the k-fold
  regression still predicts each image from the others only. (Retraining the
  network k times would be cleaner and k times the training cost.)

It writes `review.csv` (one row per image, suspected errors first in cleanlab's
order, then by loss: path, given label, suggested label, confidence, ... and an
`action` column, `keep` everywhere, to edit into `relabel:CLASS` or `remove`
for `kerasvision clean DATA --apply review.csv`) and a self-contained
`review.html` (thumbnails with given label, suggestion and confidence; top
losses; most-confused class pairs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from kerasvision.data.labelsets import is_multi_label
from kerasvision.progress import Progress, reported
from kerasvision.review_pages import ReviewedImages, review_page

__all__ = ["ReviewResult", "out_of_sample_probabilities", "review"]


@dataclass
class ReviewResult(ReviewedImages):
    """Out-of-sample probabilities and what they suggest.

    Attributes (besides `ReviewedImages`'):
        labels: Given labels (indices).
        probabilities: Out-of-sample probabilities `[N, K]`.
        issues: Indices of suspected label errors, most suspicious first.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    issues: np.ndarray

    @property
    def losses(self) -> np.ndarray:
        """Cross-entropy of each given label under the out-of-sample probabilities."""
        given = self.probabilities[np.arange(len(self.labels)), self.labels]
        return -np.log(np.clip(given, 1e-12, 1.0))

    @property
    def suggested(self) -> np.ndarray:
        return np.argmax(self.probabilities, axis=1)

    def top_losses(self, count: int = 20) -> np.ndarray:
        return np.argsort(-self.losses, kind="stable")[:count]

    def suspicion_order(self) -> np.ndarray:
        """Every index, highest loss first."""
        return np.argsort(-self.losses, kind="stable")

    def confused_pairs(self, count: int = 10) -> list[tuple[str, str, int]]:
        """`(given, predicted, images)` for the most frequent disagreements."""
        pairs: dict[tuple[int, int], int] = {}
        for given, predicted in zip(self.labels, self.suggested, strict=True):
            if given != predicted:
                pairs[(int(given), int(predicted))] = (
                    pairs.get((int(given), int(predicted)), 0) + 1
                )
        ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
        names = self.class_names
        return [(names[g], names[p], n) for (g, p), n in ranked[:count]]

    def caption_html(self, index: int) -> str:
        """The page's caption of image `index`: given and suggested class."""
        from kerasvision.pages import escape

        suggested = self.suggested[index]
        return (
            f"given <b>{escape(self.class_names[self.labels[index]])}</b><br>"
            f"suggested <b>{escape(self.class_names[suggested])}</b> "
            f"({self.probabilities[index, suggested]:.0%})<br>"
            f"{escape(self.paths[index])}"
        )

    CSV_COLUMNS = ("given_label", "suggested_label", "confidence",
                   "given_probability", "label_issue", "loss")  # fmt: skip

    def csv_values(self, index: int, flagged: bool) -> list:
        """review.csv's `CSV_COLUMNS` of image `index`."""
        given, suggested = self.labels[index], self.suggested[index]
        return [
            self.class_names[given],
            self.class_names[suggested],
            f"{self.probabilities[index, suggested]:.4f}",
            f"{self.probabilities[index, given]:.4f}",
            flagged,
            f"{self.losses[index]:.4f}",
        ]


def out_of_sample_probabilities(features, labels, *, folds: int = 5, seed: int = 0):
    """k-fold logistic regression: each row predicted by a model not fitted on it.

    Args:
        features: `[N, D]` features.
        labels: `[N]` integer labels.
        folds: Number of folds (lowered to the smallest class size, at least 2).
            Defaults to 5.
        seed: Fold shuffling seed. Defaults to 0.

    Returns:
        `(probabilities [N, K], folds used)` with K = `labels.max() + 1`.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels)
    present = np.unique(labels)
    smallest = int(np.bincount(labels)[present].min())
    folds = max(2, min(int(folds), smallest))
    if smallest < 2:
        raise ValueError("every class needs at least 2 images for a k-fold review")
    probabilities = np.zeros((len(labels), int(labels.max()) + 1), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    label = f"review: {folds}-fold logistic regression"
    with Progress(label, folds, unit="folds") as progress:
        for train, held_out in splitter.split(features, labels):
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            model.fit(features[train], labels[train])
            probabilities[np.ix_(held_out, model.classes_)] = model.predict_proba(
                features[held_out]
            )
            progress.update(1)
    return probabilities, folds


def _feature_model(run):
    """`(keras.Model image -> features, description)` as the module docstring says."""
    import keras

    model = run.model
    info = run.info.get("model", {})
    names = {layer.name for layer in model.layers}
    if info.get("backbone") and info.get("mode") == "feature-extraction":
        pool = next((n for n in ("avg_pool", "max_pool") if n in names), None)
        if pool is not None:
            output = model.get_layer(pool).output
            return keras.Model(model.inputs[0], output), (
                f"frozen backbone pooled features ({pool})"
            )
    last = model.layers[-1]
    return keras.Model(model.inputs[0], last.input), (
        f"penultimate features (input of {last.name})"
    )


def _features(run, data) -> tuple[np.ndarray, list[str], np.ndarray, str]:
    model, description = _feature_model(run)
    everything = data.as_test_split()
    part = everything.splits["test"]
    if part.paths is None:
        raise ValueError(
            f"run {run.path} was trained on a built-in dataset or arrays; give "
            f"the image folder to review (kerasvision review RUN DATA)"
        )
    batches = everything.dataset(
        "test", batch_size=64, shuffle=False, cache="none", include_labels=False
    )
    chunks = []
    label = f"review: features of {len(part):,} images ({description})"
    with Progress(label, len(part), unit="images") as progress:
        for batch in batches:
            chunks.append(np.asarray(model(batch, training=False)))
            progress.update(len(chunks[-1]))
    features = np.concatenate(chunks)
    features = features.reshape(len(features), -1).astype(np.float64)
    root = data.source["path"]
    paths = [os.path.relpath(p, root) for p in part.paths]
    return features, paths, part.labels, description


@reported("review")
def review(
    run_dir, data_dir=None, *, output=None, folds: int = 5, seed: int = 0
) -> ReviewResult:
    """Rank suspected label errors of a run's images; write review.html/review.csv.

    Args:
        run_dir: A finished classifier run trained on an image folder.
        data_dir: Another folder-per-class folder to review with the run (its
            classes must be among the run's). Defaults to None (the run's own
            data: train, val and test).
        output: Folder for review.html and review.csv (created; must not be
            inside the data folder). Defaults to None (the run directory).
        folds: Folds of the logistic regression. Defaults to 5.
        seed: Fold seed. Defaults to 0.

    Returns:
        A `ReviewResult`.

    Raises:
        FileNotFoundError: If the run or folder does not exist.
        ValueError: If the run is not a classifier on image files, or a class
            has fewer than 2 images.
        RuntimeError: If cleanlab is missing (`pip install kerasvision[review]`).

    Example:
        >>> result = review("saved_models/flowers-run")
        >>> result.paths[result.issues[0]]
    """
    from kerasvision.doctor import require_extra
    from kerasvision.runs import check_not_overlapping, load_run, require_classifier

    require_extra("cleanlab", "review")
    from cleanlab.filter import find_label_issues

    run = require_classifier(load_run(run_dir))
    if run.kind == "ensemble":
        raise ValueError(
            f"{run.path} is an ensemble; review one of its members "
            f"({', '.join(run.info.get('members') or [])})"
        )
    if is_multi_label(run):  # label sets: cleanlab.multilabel_classification
        from kerasvision.review_multilabel import review_label_sets

        return review_label_sets(run, data_dir, output=output, folds=folds,
                                 seed=seed, features=_features)  # fmt: skip
    data = run.data(data_dir)
    root = data.source.get("path")
    output = os.path.abspath(os.fspath(output or run.path))
    if root:
        check_not_overlapping(output, root)
    features, paths, labels, description = _features(run, data)
    probabilities, used = out_of_sample_probabilities(
        features, labels, folds=folds, seed=seed
    )
    if probabilities.shape[1] < len(run.class_names):
        padded = np.zeros((len(labels), len(run.class_names)))
        padded[:, : probabilities.shape[1]] = probabilities
        probabilities = padded
    issues = find_label_issues(
        labels, probabilities, return_indices_ranked_by="self_confidence"
    )
    result = ReviewResult(
        data_dir=root,
        class_names=list(run.class_names),
        paths=paths,
        labels=np.asarray(labels),
        probabilities=probabilities,
        issues=np.asarray(issues, dtype=np.int64),
        method={
            "features": description,
            "feature_size": int(features.shape[1]),
            "probabilities": f"{used}-fold logistic regression (scikit-learn)",
            "label_issues": "cleanlab.filter.find_label_issues (self_confidence)",
            "run": run.path,
        },
        output=output,
    )
    result.write(_html(result))
    return result


# === Page ===


def _html(result: ReviewResult) -> str:
    from kerasvision.pages import table as _table

    losses = (
        '<p class="note">The 24 images whose given label the out-of-sample '
        "probabilities support least, suspected or not (confidence: of the "
        "suggested label).</p>"
    )
    pairs = result.confused_pairs()
    sections = [
        result.issues_section(
            "Suspected label errors",
            "suspected label errors",
            "Edit its action column (keep, relabel:CLASS, remove) and run "
            "<code>kerasvision clean DATA --apply review.csv</code>.",
        ),
        (
            "top-losses",
            "Top losses",
            losses + result.gallery_html(result.top_losses(24)),
        ),
        (
            "confusions",
            "Most confused class pairs",
            _table(("given", "predicted", "images"), pairs, numeric_from=2)
            if pairs
            else '<p class="note">No disagreements.</p>',
        ),
    ]
    agreement = float(np.mean(result.suggested == result.labels))
    kpis = [
        ("classes", len(result.class_names)),
        ("suspected errors", len(result.issues)),
        ("out-of-sample agreement", f"{agreement:.1%}"),
    ]
    return review_page(result, kpis, sections)
