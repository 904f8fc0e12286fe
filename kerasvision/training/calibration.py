"""The calibration step of a classifier run: a temperature fitted on validation.

`calibrate` runs after `evaluate`: it fits T on the validation split
(`fit_temperature`), records it in `run.json`
("calibration"), and rewrites `metrics.json` for the calibrated model with the
NLL and ECE before and after on the evaluation split (the test split when
there is one). Exports and `predict` then serve `TemperatureScaling(T)` on top
of the model (`serving_model`); `model.keras` itself stays the trained model.

**When a temperature is fitted.** Only when the validation split has at least
`MIN_ERRORS` misclassified images; otherwise T = 1 (the trained probabilities
are served) and one line says why. With no error the validation NLL falls as
T falls, so the fit runs to its lower bound (0.05) and serves 1.000000 for
every answer, wrong ones included; with a few errors T is mostly noise.

Measured on flowers5 (each run scored on photos it never saw): MobileNetV2
feature-extraction runs on three 2-class pairs (120 training, 15 validation
per class; seeds 0 and 1) and on the 5 classes, and a scratch CNN on the 5
classes. Fitting on every validation split: the run with 0 validation errors
got T = 0.056 and its unseen NLL went 0.055 -> 0.275 (wrong answers served at
1.0000); one with 1 error, T = 0.37: 0.174 -> 0.295. Over 100 random
30-image validation sets drawn from the unseen photos of each 2-class run,
always fitting worsened the NLL of the rest by +0.10 to +0.14 on average;
fitting only on 5 or more errors changed it by +0.000 to +0.005 (it fitted in
0-8% of the draws). Where a temperature helps, the rule keeps the gain: the
5-class feature-extraction run, 75-image validation sets: -0.014 (always
fitting: -0.012, worst draw +0.124 vs +0.060); the scratch CNN (label
smoothing, under-confident; 32 errors in its 75 validation images): T = 0.81,
unseen NLL 1.013 -> 0.995, ECE 0.049 -> 0.024.

A fitted temperature also never sharpens by more than 2 (T >= `MIN_TEMPERATURE`):
in the same draws T < 0.5 came out 3 times in 1,600, on 30- and 75-image
validation sets; the floor never worsened the unseen NLL and cut the worst
draw from +0.124 to +0.099 (a 12-image validation split with 6 errors fitted
T = 0.15 for a chance-level model).
"""

from __future__ import annotations

import numpy as np

from kerasvision.evaluation import (
    apply_temperature,
    as_labels,
    as_probability_matrix,
    negative_log_likelihood,
)

__all__ = [
    "MIN_ERRORS",
    "MIN_TEMPERATURE",
    "TEMPERATURE_RANGE",
    "calibrate",
    "calibration_skip_reason",
    "fit_temperature",
]

#: Fewest misclassified validation images a temperature is fitted on.
MIN_ERRORS = 5

#: Lowest temperature served (sharpening by at most 2).
MIN_TEMPERATURE = 0.5

#: Temperatures searched by `fit_temperature` (log-uniform bounds). The NLL is
#: convex in 1/T, so the lower bound is the optimum whenever it lies below.
TEMPERATURE_RANGE = (MIN_TEMPERATURE, 20.0)


def fit_temperature(probabilities, labels) -> float:
    """The temperature T minimising the NLL of `softmax(log(p) / T)`.

    A bounded 1-D search on log T (`scipy.optimize.minimize_scalar`) within
    `TEMPERATURE_RANGE`; argmax and accuracy are unchanged by any T.

    Args:
        probabilities: `[N, K]` validation probabilities (or `[N]` P(class 1)).
        labels: `[N]` integer true labels.

    Returns:
        T, rounded to 4 significant digits.

    Raises:
        ValueError: On mismatched shapes or no items.

    Example:
        >>> fit_temperature([[0.99, 0.01], [0.98, 0.02], [0.02, 0.98]], [0, 1, 1])
    """
    from scipy.optimize import minimize_scalar

    probabilities = as_probability_matrix(probabilities)
    labels = as_labels(labels, len(probabilities))
    if len(labels) == 0:
        raise ValueError("no items to fit a temperature on")

    def nll(log_t):
        return negative_log_likelihood(
            apply_temperature(probabilities, np.exp(log_t)), labels
        )

    low, high = np.log(TEMPERATURE_RANGE)
    found = minimize_scalar(nll, bounds=(low, high), method="bounded")
    temperature = float(np.exp(found.x))
    if nll(0.0) <= found.fun:  # never worse than leaving it alone
        temperature = 1.0
    return float(f"{temperature:.4g}")


def _split_probabilities(model, data, split, batch_size):
    from kerasvision.evaluation import predict_probabilities

    dataset = data.dataset(
        split, batch_size=batch_size, shuffle=False, include_labels=False
    )
    return predict_probabilities(model, dataset), data.splits[split].labels


def calibration_skip_reason(probabilities, labels) -> str | None:
    """Why no temperature should be fitted on these validation predictions
    (fewer than `MIN_ERRORS` misclassified images), or None to fit one.

    Example:
        >>> calibration_skip_reason([[0.9, 0.1], [0.2, 0.8]], [0, 1])
        'the validation split has 0 misclassified images of 2 (a temperature ...'
    """
    probabilities = as_probability_matrix(probabilities)
    labels = as_labels(labels, len(probabilities))
    errors = int(np.sum(np.argmax(probabilities, axis=1) != labels))
    if errors >= MIN_ERRORS:
        return None
    return (
        f"the validation split has {errors} misclassified image"
        f"{'' if errors == 1 else 's'} of {len(labels)} (a temperature needs at "
        f"least {MIN_ERRORS})"
    )


def calibrate(
    model, data, run, metrics, *, enabled=True, batch_size=64, log=None
) -> dict:
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
        log: Receives one line: the temperature, or why there is none.
            Defaults to None (no line).

    Returns:
        The metrics of the served (calibrated) model, with a "calibration"
        block `{"temperature", "nll_before", "nll_after", "ece_before",
        "ece_after", "split"}` (plus "skipped": the reason, when T = 1 was
        kept).

    Example:
        >>> metrics = calibrate(outcome.model, data, run, metrics)
    """
    reason = None
    if not enabled:
        reason = "--no-calibrate"
    elif not len(data.splits["val"]):
        reason = "no validation split"
    val = None
    if reason is None:
        val = _split_probabilities(model, data, "val", batch_size)
        reason = calibration_skip_reason(*val)
    split = metrics["split"]
    probabilities, labels = _split_probabilities(model, data, split, batch_size)
    if reason is not None:
        return _keep_trained(run, metrics, probabilities, labels, reason, log)
    return _fit(model, data, run, split, val, (probabilities, labels), log)


def _keep_trained(run, metrics, probabilities, labels, reason, log) -> dict:
    """T = 1: the record says why; metrics.json gets the (equal) scores."""
    from kerasvision.evaluation import calibration_scores

    split = metrics["split"]
    scores = calibration_scores(probabilities, labels, 1.0)
    run.record(calibration={"temperature": 1.0, "skipped": reason, split: scores})
    metrics = {
        **metrics,
        "calibration": {**scores, "split": split, "skipped": reason},
    }
    run.write_json("metrics.json", metrics)
    if log is not None:
        log(f"calibration skipped: {reason}; serving the trained probabilities")
    return metrics


def _fit(model, data, run, split, val, scored, log) -> dict:
    from kerasvision.evaluation import calibration_scores, compute_metrics

    val_probabilities, val_labels = val
    probabilities, labels = scored
    temperature = fit_temperature(val_probabilities, val_labels)
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
    if log is not None:
        log(
            f"calibration: T = {temperature:g} fitted on {len(val_labels)} "
            f"validation images; {split} NLL {scores['nll_before']:.4f} -> "
            f"{scores['nll_after']:.4f}, ECE {scores['ece_before']:.4f} -> "
            f"{scores['ece_after']:.4f}"
        )
    return calibrated
