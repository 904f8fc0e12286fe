"""`ensemble_runs`: several finished runs -> one run whose model averages them."""

from __future__ import annotations

import datetime
import os

from kerasvision import __version__
from kerasvision.runs import RunWriter, load_run

__all__ = ["ensemble_runs"]


def ensemble_runs(runs, output, *, overwrite: bool = False) -> dict:
    """Average the class probabilities of several runs into one exported run.

    The members must share class names, input shape and resize mode. The ensemble
    is written like a run (`model.keras`, `serving/` checked against `predict`,
    `labels.txt`, `run.json`) and, when every member was trained on the same data
    and split, evaluated on that test split next to each member.

    Args:
        runs: Two or more run directories (or loaded `Run`s).
        output: The new run directory.
        overwrite: Replace an existing `output`. Defaults to False.

    Returns:
        `{"run_dir", "metrics" (None if the members' data differ), "members"}`.

    Raises:
        ValueError: On fewer than two runs, incompatible members, or an existing
            output without `overwrite`.
        FileNotFoundError: If a run does not exist.

    Example:
        >>> ensemble_runs(["saved_models/a", "saved_models/b"], "saved_models/ab")
    """
    from kerasvision.export import export_saved_model
    from kerasvision.models.ensemble import build_ensemble

    members = [load_run(run) for run in runs]
    if len(members) < 2:
        raise ValueError("an ensemble needs at least two runs")
    first = members[0]
    for member in members[1:]:
        if member.class_names != first.class_names:
            raise ValueError(
                f"{member.path} has classes {member.class_names}, "
                f"{first.path} has {first.class_names}"
            )
        if member.model.input_shape != first.model.input_shape:
            raise ValueError(
                f"{member.path} takes {member.model.input_shape[1:]} images, "
                f"{first.path} takes {first.model.input_shape[1:]}"
            )
        if member.resize != first.resize:
            raise ValueError(
                f"{member.path} resizes by {member.resize!r}, not {first.resize!r}"
            )
    if len({os.path.realpath(m.path) for m in members}) < len(members):
        raise ValueError("an ensemble needs distinct runs (a run was given twice)")
    run = RunWriter.plan(output, overwrite=overwrite)
    model = build_ensemble([m.model for m in members])
    metrics, member_metrics = _evaluate_members(model, members)
    with run.open(checkpoints=False):
        run.save_model(model)
        run.write_text("labels.txt", "\n".join(first.class_names) + "\n")
        report = export_saved_model(
            model,
            run.file("serving"),
            class_names=first.class_names,
            resize=first.resize,
            sample_images=first.sample_images(16),
        )
        report["path"] = os.path.join(run.final_dir, "serving")
        if metrics is not None:
            run.write_json("metrics.json", metrics)
        run.record(
            {
                "kerasvision_version": __version__,
                "status": "complete",
                "kind": "ensemble",
                "created": datetime.datetime.now().isoformat(timespec="seconds"),
                "members": [m.path for m in members],
                "member_metrics": member_metrics,
                "model": {
                    "name": "ensemble",
                    "input_shape": list(first.model.input_shape[1:]),
                    "num_classes": len(first.class_names),
                    "params": int(model.count_params()),
                },
                "data": first.info["data"],
                "split": first.info.get("split"),
                "metrics": None
                if metrics is None
                else {
                    k: v for k, v in metrics.items() if not isinstance(v, dict | list)
                },
                "export": report,
            }
        )
        run.publish()
    return {"run_dir": run.final_dir, "metrics": metrics, "members": member_metrics}


def _evaluate_members(model, members):
    """The ensemble's and each member's metrics on the members' common test
    split, or `(None, [])` when they were trained on different data/splits."""
    from kerasvision.evaluation import evaluate_model

    first = members[0]
    same_data = all(
        m.info["data"].get("fingerprint") == first.info["data"].get("fingerprint")
        and m.info.get("split") == first.info.get("split")
        for m in members
    )
    if not same_data:
        return None, []
    data = first.data()
    split = "test" if len(data.splits["test"]) else "val"
    metrics = evaluate_model(model, data, split)
    member_metrics = [
        {"run": m.path, "accuracy": evaluate_model(m.model, data, split)["accuracy"]}
        for m in members
    ]
    return metrics, member_metrics
