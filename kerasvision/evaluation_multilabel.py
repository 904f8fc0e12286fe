"""Multi-label metrics (scikit-learn), decision thresholds, per-label
temperatures, and evaluating and predicting with a multi-label run.

A multi-label run scores each label on its own: a sigmoid probability per
label, calibrated by the label's temperature, and a decision at the label's
threshold (both fitted on the validation split, `run.json` "calibration" and
"thresholds"). Its metrics (`multilabel_metrics`, `metrics.json`):

- `map`: mean average precision, the macro average of each label's average
  precision (scikit-learn's `average_precision_score`, the area under the
  step-wise precision-recall curve), over the labels with a positive in the
  split; threshold-free, the headline;
- `micro_f1` / `macro_f1` at the chosen thresholds (micro: every label slot
  pooled; macro: the mean of the labels' F1, over labels with a positive);
- `subset_accuracy` (the whole label set right), `hamming_loss` (the fraction
  of wrong label slots);
- `per_class`: each label's precision, recall, F1, AP, support (images holding
  it) and threshold.
"""

from __future__ import annotations

import numpy as np

from kerasvision.data.labelsets import decide, recorded_thresholds
from kerasvision.progress import keras_callbacks

__all__ = [
    "DEFAULT_THRESHOLD",
    "apply_label_temperatures",
    "best_thresholds",
    "binary_losses",
    "evaluate_multilabel_model",
    "evaluate_run",
    "label_top_losses",
    "multilabel_metrics",
    "multilabel_run_data",
    "predict_run",
    "split_probabilities",
]

#: The threshold of a label without validation positives (no F1 to maximize).
DEFAULT_THRESHOLD = 0.5

EPSILON = 1e-7  # Keras's clipping of probabilities in cross-entropy


def _as_targets(targets, shape) -> np.ndarray:
    targets = np.asarray(targets, dtype="float64")
    if targets.shape != tuple(shape):
        raise ValueError(
            f"targets must be multi-hot of shape {tuple(shape)}, got {targets.shape}"
        )
    return targets > 0.5


def binary_losses(probabilities, targets) -> np.ndarray:
    """`[N, K]` binary cross-entropy of each label slot (probabilities clipped
    to [1e-7, 1 - 1e-7], as Keras clips them)."""
    p = np.clip(np.asarray(probabilities, dtype="float64"), EPSILON, 1 - EPSILON)
    y = _as_targets(targets, p.shape)
    return -np.where(y, np.log(p), np.log(1.0 - p))


def apply_label_temperatures(probabilities, temperatures) -> np.ndarray:
    """`sigmoid(logit(p_k) / T_k)` per label: what `LabelTemperatureScaling`
    serves (a label with T = 1 is unchanged)."""
    p = np.asarray(probabilities, dtype="float64")
    temperatures = np.asarray(temperatures, dtype="float64").reshape(-1)
    if p.ndim != 2 or temperatures.shape != (p.shape[1],):
        raise ValueError(
            f"need one temperature per label: {temperatures.shape} for {p.shape}"
        )
    if np.any(temperatures <= 0):
        raise ValueError(f"temperatures must be > 0, got {temperatures.tolist()}")
    logit = np.log(np.maximum(p, 1e-38)) - np.log(np.maximum(1.0 - p, 1e-38))
    scaled = 1.0 / (1.0 + np.exp(-logit / temperatures))
    return np.where(temperatures == 1.0, p, scaled)


def _best_cut(scores, positive) -> tuple[float, float]:
    """`(threshold, F1)`: the F1-maximizing cut of one label's scores, placed
    halfway between the lowest score taken and the next lower one."""
    order = np.argsort(-scores, kind="stable")
    scores, positive = scores[order], positive[order]
    distinct = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_pos = np.cumsum(positive)[distinct]
    taken = distinct + 1
    f1 = 2 * true_pos / (taken + positive.sum())
    best = int(np.argmax(f1))  # ties: the highest threshold
    below = scores[distinct[best] + 1] if distinct[best] + 1 < len(scores) else 0.0
    return float((scores[distinct[best]] + below) / 2.0), float(f1[best])


def best_thresholds(probabilities, targets, class_names) -> tuple[np.ndarray, dict]:
    """Per label, the threshold that maximizes its F1 on these (validation)
    predictions.

    Each label's candidate cuts are its distinct scores; the best is placed
    halfway between its score and the next lower one, so the decisions on
    these images are those of the best cut and a tiny numeric difference in
    an export cannot flip them. A label without positives here keeps
    `DEFAULT_THRESHOLD` (0.5).

    Args:
        probabilities: `[N, K]` (calibrated) probabilities.
        targets: `[N, K]` multi-hot labels.
        class_names: The K label names.

    Returns:
        `(thresholds [K], record)`: the record is what `run.json` keeps as
        "thresholds" (`{"values": {label: t}, "f1": {label: F1 at t},
        "fallback": [labels at 0.5], ...}`).

    Example:
        >>> best_thresholds([[0.9, 0.2], [0.4, 0.1]], [[1, 0], [0, 0]], ["a", "b"])[0]
        array([0.65, 0.5 ])
    """
    p = np.asarray(probabilities, dtype="float64")
    y = _as_targets(targets, p.shape)
    thresholds = np.full(p.shape[1], DEFAULT_THRESHOLD)
    f1, fallback = {}, []
    for index, name in enumerate(class_names):
        if not y[:, index].any():
            fallback.append(name)
            continue
        thresholds[index], f1[name] = _best_cut(p[:, index], y[:, index])
    thresholds = np.round(thresholds, 6)
    record = {
        "values": dict(zip(class_names, thresholds.tolist(), strict=True)),
        "rule": "per label, the F1-maximizing cut of the validation probabilities",
        "f1": f1,
        "fallback": fallback,
        "default": DEFAULT_THRESHOLD,
    }
    return thresholds, record


def multilabel_metrics(probabilities, targets, class_names, thresholds) -> dict:
    """Multi-label metrics at the given thresholds (see the module docstring).

    Args:
        probabilities: `[N, K]` served probabilities.
        targets: `[N, K]` multi-hot true labels.
        class_names: The K label names.
        thresholds: `[K]` decision thresholds.

    Returns:
        A JSON-able dict: "count", "loss", "map", "micro_f1", "macro_f1",
        "subset_accuracy", "hamming_loss", "micro_avg"/"macro_avg" (precision,
        recall, F1), "label_cardinality" (true, predicted), "per_class", and
        "labels_without_support" when some label has no positive.
    """
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        hamming_loss,
        precision_recall_fscore_support,
    )

    p = np.asarray(probabilities, dtype="float64")
    y = _as_targets(targets, p.shape).astype("int64")
    decided = decide(p, thresholds).astype("int64")
    precision, recall, f1, support = precision_recall_fscore_support(
        y, decided, average=None, zero_division=0
    )
    present = np.flatnonzero(support > 0)
    ap = {i: float(average_precision_score(y[:, i], p[:, i])) for i in present}
    per_class = {
        name: {
            "precision": float(precision[i]), "recall": float(recall[i]),
            "f1": float(f1[i]), "ap": ap.get(i), "support": int(support[i]),
            "threshold": float(np.asarray(thresholds)[i]),
        }
        for i, name in enumerate(class_names)
    }  # fmt: skip
    averages = {}
    for average, labels in (("micro", None), ("macro", present)):
        values = (0.0, 0.0, 0.0)  # no label with a positive: nothing to average
        if labels is None or len(labels):
            values = precision_recall_fscore_support(
                y, decided, labels=labels, average=average, zero_division=0
            )[:3]
        averages[f"{average}_avg"] = dict(
            zip(("precision", "recall", "f1"), map(float, values), strict=True)
        )
    metrics = {
        "count": int(len(y)),
        "loss": float(binary_losses(p, y).mean()) if len(y) else 0.0,
        "map": float(np.mean(list(ap.values()))) if ap else 0.0,
        "micro_f1": averages["micro_avg"]["f1"],
        "macro_f1": averages["macro_avg"]["f1"],
        "subset_accuracy": float(accuracy_score(y, decided)) if len(y) else 0.0,
        "hamming_loss": float(hamming_loss(y, decided)) if len(y) else 0.0,
        **averages,
        "label_cardinality": {
            "true": float(y.sum(axis=1).mean()) if len(y) else 0.0,
            "predicted": float(decided.sum(axis=1).mean()) if len(y) else 0.0,
        },
        "per_class": per_class,
    }
    absent = [class_names[i] for i in range(len(class_names)) if support[i] == 0]
    if absent:
        metrics["labels_without_support"] = absent
    return metrics


def label_top_losses(probabilities, targets, count: int = 4) -> np.ndarray:
    """`[K, count]` indices: for each label, the images whose decision on it
    costs most (binary cross-entropy of that label), worst first."""
    losses = binary_losses(probabilities, targets)
    count = min(int(count), len(losses))
    return np.argsort(-losses, axis=0, kind="stable")[:count].T


# === Runs ===


def split_probabilities(model, data, split, batch_size: int = 64) -> np.ndarray:
    """`[N, K]` probabilities of a multi-label classifier over one split."""
    dataset = data.dataset(
        split, batch_size=batch_size, shuffle=False, include_labels=False
    )
    return _probabilities(model, dataset)


def _probabilities(model, dataset) -> np.ndarray:
    outputs = model.predict(dataset, verbose=0, callbacks=keras_callbacks())
    if isinstance(outputs, list | tuple):  # auxiliary heads: keep the main output
        outputs = outputs[0]
    return np.asarray(outputs, dtype="float64")


def evaluate_multilabel_model(
    model, data, split: str, thresholds, *, batch_size: int = 64
) -> dict:
    """`multilabel_metrics` of `model` on one split of a multi-label `ImageData`,
    plus "split"."""
    probabilities = split_probabilities(model, data, split, batch_size)
    metrics = multilabel_metrics(
        probabilities, data.splits[split].targets, data.class_names, thresholds
    )
    metrics["split"] = split
    return metrics


def _run_thresholds(run) -> np.ndarray:
    found = recorded_thresholds(run, run.class_names)
    if found is None:
        return np.full(len(run.class_names), DEFAULT_THRESHOLD)
    return found


def multilabel_run_data(run, data=None):
    """The run's own data, or a CSV of label sets (split by the run's
    delimiter, else ";") all in the test split."""
    if data is None:
        return run.data()
    from kerasvision.data.sources import evaluation_data

    source = (run.info.get("data") or {}).get("source") or {}
    return evaluation_data(
        data,
        run.class_names,
        label_delim=source.get("label_delim") or ";",
        image_size=run.image_size,
        channels=run.channels,
        resize=run.resize,
    )


def evaluate_run(run, data=None, *, batch_size: int = 64, tta=None) -> dict:
    """A multi-label run's metrics on its recorded test split, or on a CSV of
    label sets (`kerasvision.evaluation.evaluate` for a multi-label run).

    The served probabilities (each label's temperature) are scored at the
    run's recorded thresholds; `tta` adds a "tta" block as for single-label
    runs.
    """
    from kerasvision.models.heads import serving_model

    image_data = multilabel_run_data(run, data)
    split = "test" if len(image_data.splits["test"]) else "val"
    if not len(image_data.splits[split]):
        raise ValueError(f"run {run.path} has no test or validation split to evaluate")
    thresholds = _run_thresholds(run)
    model = serving_model(run.model, temperature=run.temperature)
    metrics = evaluate_multilabel_model(
        model, image_data, split, thresholds, batch_size=batch_size
    )
    if tta is None:
        return metrics
    augmented = serving_model(run.model, temperature=run.temperature, tta=tta)
    scores = evaluate_multilabel_model(
        augmented, image_data, split, thresholds, batch_size=batch_size
    )
    metrics["tta"] = {
        "mode": tta,
        **{k: v for k, v in scores.items() if isinstance(v, float)},
    }
    if data is None:
        run.update_metrics(tta=metrics["tta"])
    return metrics


def predict_run(
    run, inputs, *, top_k=None, batch_size: int = 64, on_bad_file=None, tta=None,
    min_confidence=None,
) -> list[dict]:  # fmt: skip
    """Label sets of image files with a multi-label run
    (`kerasvision.evaluation.predict` for a multi-label run).

    Returns:
        One dict per image: `{"path", "labels": [{"class_name",
        "probability"}, ...] (the labels at or above their thresholds, most
        probable first), "probabilities": {label: p}}`, and `"top_k"` (the k
        most probable labels, decided or not) when `top_k` is given.

    Raises:
        ValueError: With `min_confidence` (each label has its own threshold),
            or on a `top_k` out of range, bad inputs.
    """
    from kerasvision.data.images import check_inputs, images_dataset
    from kerasvision.models.heads import serving_model

    names = run.class_names
    if min_confidence is not None:
        raise ValueError(
            "--min-confidence does not apply to a multi-label run: each label "
            'has its own threshold (run.json "thresholds")'
        )
    if top_k is not None and not 1 <= top_k <= len(names):
        raise ValueError(f"top_k must be between 1 and {len(names)}, got {top_k}")
    checks = check_inputs(inputs, on_bad_file=on_bad_file)
    dataset = images_dataset(
        checks, image_size=run.image_size, channels=run.channels,
        resize=run.resize, batch_size=batch_size,
    )  # fmt: skip
    model = serving_model(run.model, temperature=run.temperature, tta=tta)
    probabilities = _probabilities(model, dataset)
    decided = decide(probabilities, _run_thresholds(run))
    results = []
    for check, row, chosen in zip(checks, probabilities, decided, strict=True):
        order = np.argsort(-row, kind="stable")
        result = {
            "path": check.path,
            "labels": [
                {"class_name": names[i], "probability": float(row[i])}
                for i in order
                if chosen[i]
            ],
            "probabilities": {n: float(p) for n, p in zip(names, row, strict=True)},
        }
        if top_k is not None:
            result["top_k"] = [
                {"class_name": names[i], "probability": float(row[i])}
                for i in order[:top_k]
            ]
        results.append(result)
    return results
