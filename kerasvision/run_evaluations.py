"""Evaluations of a finished run on other data, recorded in the run.

`evaluate_and_record(RUN, DATA)` scores the run on DATA (a folder per class,
the test (else val) folder of a pre-split folder, or the rows of a CSV of
labels: its test, else val, rows when it has a split column) and writes the
result to `RUN/evaluations/<name>.json` (`name` from DATA's name; the same
DATA evaluated again replaces its record, other data with the same name gets
`<name>-2`...). `recorded_evaluations(RUN)` lists them (the report shows
them all).
"""

from __future__ import annotations

import os
import re

__all__ = [
    "EVALUATIONS_DIR",
    "evaluate_and_record",
    "evaluation_split",
    "evaluation_summary",
    "recorded_evaluations",
]

EVALUATIONS_DIR = "evaluations"


def _record_name(run_path: str, data_path: str) -> str:
    """A file name for DATA's record: its own, or a free numbered one."""
    from kerasvision._files import read_json

    base = os.path.splitext(os.path.basename(data_path.rstrip(os.sep)))[0]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "data"
    folder = os.path.join(run_path, EVALUATIONS_DIR)
    number = 1
    while True:
        name = base if number == 1 else f"{base}-{number}"
        path = os.path.join(folder, f"{name}.json")
        if not os.path.exists(path):
            return name
        try:
            if read_json(path).get("data") == data_path:
                return name
        except (OSError, ValueError):
            pass
        number += 1


def evaluate_and_record(run, data=None, *, batch_size: int = 64, tta=None) -> dict:
    """Evaluate a run (`kerasvision.evaluation.evaluate`); on other data, record
    the result as `RUN/evaluations/<name>.json`.

    Args:
        run: A finished classifier run directory (or a loaded `Run`).
        data: A folder per class, a pre-split folder or a CSV of labels.
            Defaults to None (the run's own recorded test split; nothing is
            recorded, `metrics.json` holds it).
        batch_size: Prediction batch size. Defaults to 64.
        tta: Test-time augmentation to score too. Defaults to None.

    Returns:
        The metrics, with "data" (the path evaluated), "evaluated_on" (what
        of it: a folder, a pre-split folder's test folder, a table's rows)
        and "record" (the file written) for other data.

    Raises:
        FileNotFoundError: If the run or the data is missing.
        ValueError: If the run or the data is invalid.

    Example:
        >>> metrics = evaluate_and_record("saved_models/run", "holdout/")
        >>> metrics["record"]
        'saved_models/run/evaluations/holdout.json'
    """
    from kerasvision._files import write_json
    from kerasvision.evaluation import evaluate
    from kerasvision.runs import load_run, require_classifier

    run = require_classifier(load_run(run))
    if data is None:
        return evaluate(run, batch_size=batch_size, tta=tta)
    data_path = os.path.abspath(os.fspath(data))
    image_data = run.data(data_path)
    metrics = evaluate(run, image_data, batch_size=batch_size, tta=tta)
    metrics.update(data=data_path, evaluated_on=image_data.given_source("test"))
    name = _record_name(run.path, data_path)
    path = os.path.join(run.path, EVALUATIONS_DIR, f"{name}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    metrics["record"] = path
    write_json(path, metrics)
    return metrics


def evaluation_summary(metrics: dict) -> str:
    """One line: accuracy, count, loss and what was evaluated (and where the
    result was recorded)."""
    where = (
        metrics.get("evaluated_on")
        or metrics.get("data")
        or (f"the {metrics.get('split', 'test')} split")
    )
    score = (
        f"mAP {metrics['map']:.4f}, micro-F1 {metrics['micro_f1']:.4f}"
        if "map" in metrics  # a multi-label run
        else f"accuracy {metrics['accuracy']:.4f}"
    )
    line = f"{score} on {where} ({metrics['count']} images, loss {metrics['loss']:.4f})"
    if metrics.get("record"):
        line += f"; recorded in {metrics['record']}"
    return line


def recorded_evaluations(run_path) -> list[tuple[str, dict]]:
    """`(name, metrics)` of every evaluation recorded in a run, by name."""
    from kerasvision._files import read_json

    folder = os.path.join(os.fspath(run_path), EVALUATIONS_DIR)
    if not os.path.isdir(folder):
        return []
    found = []
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".json") and not entry.startswith("."):
            try:
                found.append((entry[: -len(".json")], read_json(
                    os.path.join(folder, entry))))  # fmt: skip
            except (OSError, ValueError):
                continue
    return sorted(found, key=lambda item: item[0])


def evaluation_split(run, split=None):
    """`(data, split, None)`: the run's data and the split its report
    evaluates (`split` when the data has it, else test, else val), or
    `(None, None, why)` when there is none."""
    try:
        data = run.data()
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as error:
        return None, None, f"the run's data could not be loaded ({error})"
    if split not in ("train", "val", "test") or not len(data.splits[split]):
        split = next((s for s in ("test", "val") if len(data.splits[s])), None)
    if split is None:
        return None, None, "the run has no test or validation split"
    return data, split, None
