"""The multi-label steps of a classifier run (`--task multilabel`).

Training itself is the classifier's (`kerasvision.training.classifier`): the
task's head is one sigmoid unit per label (`Task.activation`), the loss binary
cross-entropy per label (`compile_classifier`), the targets multi-hot. What
differs is here:

- `positive_weights`: `--class-weight` as a loss weight per label on its
  positives ("balanced": each label's negatives over its positives in the
  training split), instead of per-image weights;
- `evaluate_labels`: the evaluation step (`metrics.json` at 0.5, the
  precision-recall curves `pr_curves.png`, `curves.png`); the calibration step
  then fits a temperature and a threshold per label and rewrites the metrics
  (`kerasvision.training.thresholds.calibrate_labels`);
- `served_temperature`: what the exports serve, a temperature per label; the
  SavedModel then returns `probabilities` and `labels` (the decisions at the
  recorded thresholds, `run.json` "thresholds").
"""

from __future__ import annotations

import numpy as np

from kerasvision.evaluation_multilabel import (
    DEFAULT_THRESHOLD,
    multilabel_metrics,
    split_probabilities,
)

__all__ = ["evaluate_labels", "positive_weights", "served_temperature"]


def positive_weights(config, data, log=None) -> np.ndarray | None:
    """The loss weight of each label's positives (`--class-weight`), or None.

    "balanced" is `negatives / positives` of each label in the training split;
    `W1,W2,...` (or a dict by label name or index) gives them directly.

    Raises:
        ValueError: For "balanced" with a label without training positives,
            or a wrong number of weights.
    """
    mode = config.class_weight
    if mode is None:
        return None
    names = data.class_names
    positive = (np.asarray(data.splits["train"].targets) > 0.5).sum(axis=0)
    if mode == "balanced":
        empty = [names[i] for i in np.flatnonzero(positive == 0)]
        if empty:
            raise ValueError(
                f"balanced positive weights need training positives of every "
                f"label; none of {', '.join(empty)}"
            )
        weights = (len(data.splits["train"]) - positive) / positive
    elif isinstance(mode, dict):
        weights = np.ones(len(names))
        for key, value in mode.items():
            index = names.index(key) if key in names else key
            if not isinstance(index, int) or not 0 <= index < len(names):
                raise ValueError(f"unknown label {key!r} in --class-weight")
            weights[index] = float(value)
    else:
        weights = np.asarray(mode, dtype="float64").reshape(-1)
        if weights.shape != (len(names),):
            raise ValueError(
                f"--class-weight needs {len(names)} weights (one per label), got "
                f"{len(weights)}"
            )
    if log is not None:
        log("positive weights per label: " + ", ".join(
            f"{n} {w:.3f}" for n, w in zip(names, weights, strict=True)))  # fmt: skip
    return weights


def evaluate_labels(model, data, run, *, batch_size: int = 64) -> dict:
    """The evaluation step of a multi-label run: `metrics.json` of the trained
    probabilities at 0.5 (the calibration step rescored them at the fitted
    thresholds), `pr_curves.png` and `curves.png`."""
    from kerasvision.visualization.label_plots import plot_precision_recall_curves
    from kerasvision.visualization.plots import plot_training_curves

    split = data.scored_split
    probabilities = split_probabilities(model, data, split, batch_size)
    targets = data.splits[split].targets
    thresholds = np.full(data.num_classes, DEFAULT_THRESHOLD)
    metrics = multilabel_metrics(probabilities, targets, data.class_names, thresholds)
    metrics["split"] = split
    run.write_json("metrics.json", metrics)
    plot_precision_recall_curves(
        probabilities, targets, data.class_names, run.file("pr_curves.png"),
        title=f"{split} split ({len(targets)} images): precision-recall per label",
    )  # fmt: skip
    plot_training_curves(run.read_history(), run.file("curves.png"))
    return metrics


def served_temperature(info):
    """What a run serves: its temperature, or a multi-label run's list."""
    calibration = info.get("calibration") or {}
    if calibration.get("temperatures") is not None:
        return list(calibration["temperatures"])
    return calibration.get("temperature")
