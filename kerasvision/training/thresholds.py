"""The decisions of a multi-label run: a temperature and a threshold per label,
fitted on the validation split.

`calibrate_labels` is the multi-label run's calibration step (in place of
`kerasvision.training.calibration.calibrate`):

1. **A temperature per label** (`fit_label_temperatures`): each label's
   sigmoid probability becomes `sigmoid(logit(p) / T)`, T minimising the
   label's binary NLL on validation, under the single-label rule of
   `kerasvision.training.calibration` applied per label: a label is fitted only
   when at least `MIN_ERRORS` of its validation decisions at 0.5 are wrong (else
   T = 1: with no error the NLL falls as T falls and the fit collapses to
   its lower bound), T stays within `TEMPERATURE_RANGE` (never sharpening by
   more than 2), and T = 1 is kept when it is not worse.
2. **A threshold per label** (`best_thresholds`): the cut of the calibrated
   validation probabilities that maximizes the label's F1; 0.5 for a label
   without validation positives (one line says which).

Both are recorded in `run.json` ("calibration": "temperatures"; "thresholds")
and baked into every export (`LabelTemperatureScaling`, `LabelDecisions`);
`metrics.json` is rewritten with the served probabilities' metrics at the
thresholds.
"""

from __future__ import annotations

import numpy as np

from kerasvision.evaluation_multilabel import (
    DEFAULT_THRESHOLD,
    apply_label_temperatures,
    best_thresholds,
    binary_losses,
    multilabel_metrics,
    split_probabilities,
)
from kerasvision.training.calibration import MIN_ERRORS, TEMPERATURE_RANGE

__all__ = ["calibrate_labels", "fit_label_temperature", "fit_label_temperatures"]


def fit_label_temperature(probabilities, targets) -> tuple[float, str | None]:
    """One label's temperature on validation, or 1.0 and why not.

    Args:
        probabilities: `[N]` sigmoid probabilities of the label.
        targets: `[N]` 0/1 true labels.

    Returns:
        `(T, reason)`: T rounded to 4 significant digits; `reason` is None
        when T was fitted, else why T = 1 (too few wrong decisions).
    """
    from scipy.optimize import minimize_scalar

    p = np.asarray(probabilities, dtype="float64").reshape(-1, 1)
    y = np.asarray(targets, dtype="float64").reshape(-1, 1)
    errors = int(np.sum((p >= 0.5) != (y > 0.5)))
    if errors < MIN_ERRORS:
        return 1.0, (
            f"{errors} wrong decision{'' if errors == 1 else 's'} at 0.5 of "
            f"{len(y)} (a temperature needs at least {MIN_ERRORS})"
        )

    def nll(log_t):
        scaled = apply_label_temperatures(p, [np.exp(log_t)])
        return float(binary_losses(scaled, y).mean())

    low, high = np.log(TEMPERATURE_RANGE)
    found = minimize_scalar(nll, bounds=(low, high), method="bounded")
    if nll(0.0) <= found.fun:  # never worse than leaving it alone
        return 1.0, None
    return float(f"{float(np.exp(found.x)):.4g}"), None


def fit_label_temperatures(probabilities, targets, class_names):
    """A temperature per label (`fit_label_temperature`).

    Returns:
        `(temperatures [K], per_label)`: `per_label[name]` holds "temperature"
        and, when T = 1 was kept for want of errors, "skipped" (the reason).
    """
    p = np.asarray(probabilities, dtype="float64")
    y = np.asarray(targets, dtype="float64")
    temperatures, per_label = np.ones(p.shape[1]), {}
    for index, name in enumerate(class_names):
        value, reason = fit_label_temperature(p[:, index], y[:, index])
        temperatures[index] = value
        per_label[name] = {"temperature": value}
        if reason is not None:
            per_label[name]["skipped"] = reason
    return temperatures, per_label


def _slot_ece(probabilities, targets, bins: int = 15) -> float:
    """Expected calibration error over every label slot: the frequency of the
    label against the mean probability in 15 equal-width probability bins."""
    p = np.asarray(probabilities, dtype="float64").reshape(-1)
    y = (np.asarray(targets) > 0.5).reshape(-1).astype("float64")
    if not len(p):
        return 0.0
    index = np.clip(np.ceil(p * bins).astype("int64") - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    filled = counts > 0
    frequency = np.bincount(index, weights=y, minlength=bins)[filled] / counts[filled]
    confidence = np.bincount(index, weights=p, minlength=bins)[filled] / counts[filled]
    return float(np.sum(counts[filled] / len(p) * np.abs(frequency - confidence)))


def _scores(before, after, targets) -> dict:
    return {
        "nll_before": float(binary_losses(before, targets).mean()),
        "nll_after": float(binary_losses(after, targets).mean()),
        "ece_before": _slot_ece(before, targets),
        "ece_after": _slot_ece(after, targets),
    }


def _temperatures(val, names, enabled, log):
    """`(temperatures, record)` fitted on validation (or all 1 and why)."""
    reason = "--no-calibrate" if not enabled else None
    if reason is None and val is None:
        reason = "no validation split"
    if reason is not None:
        if log is not None:
            log(f"calibration skipped: {reason}; serving the trained probabilities")
        return np.ones(len(names)), {"skipped": reason}
    temperatures, per_label = fit_label_temperatures(*val, names)
    fitted = [n for n in names if "skipped" not in per_label[n]]
    if log is not None:
        shown = ", ".join(f"{n} {per_label[n]['temperature']:g}" for n in fitted)
        log(
            f"calibration: a temperature per label on {len(val[0])} validation "
            f"images: {len(fitted)} of {len(names)} fitted"
            + (f" ({shown})" if fitted else "")
            + (
                f"; the others keep T = 1 (fewer than {MIN_ERRORS} wrong decisions)"
                if len(fitted) < len(names)
                else ""
            )  # fmt: skip
        )
    return temperatures, {"fitted_on": "val", "val_count": int(len(val[0])),
                          "per_label": per_label}  # fmt: skip


def _thresholds(val_calibrated, names, log):
    """`(thresholds, record)`: per label max F1 on validation (0.5 without)."""
    if val_calibrated is None:
        thresholds = np.full(len(names), DEFAULT_THRESHOLD)
        record = {
            "values": dict.fromkeys(names, DEFAULT_THRESHOLD),
            "rule": "no validation split: 0.5 for every label",
            "fallback": list(names),
            "default": DEFAULT_THRESHOLD,
        }
    else:
        thresholds, record = best_thresholds(*val_calibrated, names)
        record["fitted_on"] = "val"
    fallback = record["fallback"]
    if log is not None and fallback:
        log(
            f"thresholds: {DEFAULT_THRESHOLD} for {len(fallback)} label(s) without "
            f"validation positives: {', '.join(fallback)}"
        )
    return thresholds, record


def calibrate_labels(
    model, data, run, metrics, *, enabled=True, batch_size=64, log=None
) -> dict:
    """Fit each label's temperature, then its threshold, on validation; returns
    the metrics of the served model at the thresholds (see the module
    docstring).

    Args:
        model: The trained multi-label classifier.
        data: The run's multi-label `ImageData`.
        run: The open `RunWriter` (gets "calibration" and "thresholds" in
            `run.json`, and a new `metrics.json`).
        metrics: `evaluate`'s metrics (their "split" is scored).
        enabled: Fit temperatures (`FitConfig.calibrate`); False keeps T = 1
            (thresholds are chosen all the same). Defaults to True.
        batch_size: Prediction batch size. Defaults to 64.
        log: Receives the calibration line and, when some label has no
            validation positive, the fallback line. Defaults to None.

    Returns:
        `multilabel_metrics` of the served probabilities, with "split" and a
        "calibration" block (NLL and ECE over every label slot, before/after).
    """
    names = data.class_names
    val = None
    if len(data.splits["val"]):
        val = (
            split_probabilities(model, data, "val", batch_size),
            data.splits["val"].targets,
        )
    temperatures, calibration = _temperatures(val, names, enabled, log)
    val_calibrated = None
    if val is not None:
        val_calibrated = (apply_label_temperatures(val[0], temperatures), val[1])
    thresholds, record = _thresholds(val_calibrated, names, log)
    split = metrics["split"]
    trained = split_probabilities(model, data, split, batch_size)
    served = apply_label_temperatures(trained, temperatures)
    targets = data.splits[split].targets
    scored = multilabel_metrics(served, targets, names, thresholds)
    scores = _scores(trained, served, targets)
    scored.update(split=split, calibration={**scores, "split": split})
    run.record(
        calibration={"temperatures": temperatures.tolist(), **calibration,
                     split: scores},
        thresholds=record,
    )  # fmt: skip
    run.write_json("metrics.json", scored)
    return scored
