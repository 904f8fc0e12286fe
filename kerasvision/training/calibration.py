"""The calibration step of a classifier run: a temperature fitted on validation.

`calibrate` runs after `evaluate`: it fits T on the validation split
(`kerasvision.evaluation.fit_temperature`), records it in `run.json`
("calibration"), and rewrites `metrics.json` for the calibrated model with the
NLL and ECE before and after on the evaluation split. Exports and `predict`
then serve `TemperatureScaling(T)` on top of the model (`serving_model`);
`model.keras` itself stays the trained model.
"""

from __future__ import annotations

__all__ = ["calibrate"]


def _split_probabilities(model, data, split, batch_size):
    from kerasvision.evaluation import predict_probabilities

    dataset = data.dataset(
        split, batch_size=batch_size, shuffle=False, include_labels=False
    )
    return predict_probabilities(model, dataset), data.splits[split].labels


def calibrate(model, data, run, metrics, *, enabled=True, batch_size=64) -> dict:
    """Fit the run's temperature on validation; returns the calibrated metrics.

    Args:
        model: The trained classifier.
        data: The run's `ImageData`.
        run: The open `RunWriter` (gets "calibration" in `run.json` and a new
            `metrics.json`).
        metrics: `evaluate`'s metrics (their "split" is scored before/after).
        enabled: Fit a temperature (`FitConfig.calibrate`); False records T =
            1. Defaults to True.
        batch_size: Prediction batch size. Defaults to 64.

    Returns:
        The metrics of the calibrated model, with a "calibration" block
        `{"temperature", "nll_before", "nll_after", "ece_before", "ece_after",
        "split"}` (or `metrics` unchanged when not calibrated).

    Example:
        >>> metrics = calibrate(outcome.model, data, run, metrics)
    """
    from kerasvision.evaluation import (
        apply_temperature,
        calibration_scores,
        compute_metrics,
        fit_temperature,
    )

    if not enabled or not len(data.splits["val"]):
        reason = "--no-calibrate" if not enabled else "no validation split"
        run.record(calibration={"temperature": 1.0, "skipped": reason})
        return metrics
    val_probabilities, val_labels = _split_probabilities(model, data, "val", batch_size)
    temperature = fit_temperature(val_probabilities, val_labels)
    split = metrics["split"]
    probabilities, labels = _split_probabilities(model, data, split, batch_size)
    scores = calibration_scores(probabilities, labels, temperature)
    calibrated = compute_metrics(
        apply_temperature(probabilities, temperature),
        labels,
        data.class_names,
        targets=data.splits[split].targets,
    )
    calibrated.update(split=split, calibration={**scores, "split": split})
    val_scores = calibration_scores(val_probabilities, val_labels, temperature)
    run.record(
        calibration={
            "temperature": temperature,
            "fitted_on": "val",
            "val_count": int(len(val_labels)),
            "val": val_scores,
            split: scores,
        }
    )
    run.write_json("metrics.json", calibrated)
    return calibrated
