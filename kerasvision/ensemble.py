"""`ensemble_runs`: several finished runs -> one run whose model averages them."""

from __future__ import annotations

import datetime
import os

import numpy as np

from kerasvision import __version__
from kerasvision.progress import Progress
from kerasvision.runs import RunWriter, load_run, require_same_classes

__all__ = ["ensemble_runs"]


def ensemble_runs(runs, output, *, overwrite: bool = False) -> dict:
    """Average the class probabilities of several runs into one exported run.

    The members must share class names, input shape and resize mode. The ensemble
    is written like a run (`model.keras`, `serving/` checked against `predict`,
    `labels.txt`, `run.json`) and, when every member was trained on the same data,
    evaluated next to each member on the test images every member held out
    (the whole test split when their splits are equal).

    Args:
        runs: Two or more run directories (or loaded `Run`s).
        output: The new run directory.
        overwrite: Replace an existing `output`. Defaults to False.

    Returns:
        `{"run_dir", "metrics", "members"}`; "metrics" is None (and "members"
        empty) when the members' data differ or no test image is held out by
        all of them.

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
    from kerasvision.data.labelsets import is_multi_label

    if any(is_multi_label(member) for member in members):
        raise ValueError("an ensemble averages runs of one class per image, not "
                         "multi-label runs")  # fmt: skip
    require_same_classes(members)
    first = members[0]
    for member in members[1:]:
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
    run = RunWriter.plan(output, overwrite=overwrite, inputs=members)
    model = build_ensemble([m.model for m in members])
    metrics, member_metrics = _evaluate_members(model, members)
    with run.open(checkpoints=False):
        run.save_model(model)
        run.write_text("labels.txt", "\n".join(first.class_names) + "\n")
        with Progress("exporting and checking serving/"):
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
        from kerasvision.export.model_card import write_model_card

        write_model_card(run, report, where=run.file("serving"))
        run.publish()
    return {"run_dir": run.final_dir, "metrics": metrics, "members": member_metrics}


def _evaluate_members(model, members):
    """The ensemble's and each member's metrics on the images every member held
    out (the first member's test split, less what any member trained or
    validated on), or `(None, [])` when they were trained on different data
    or no image is held out by all."""
    from kerasvision.evaluation import compute_metrics, predict_probabilities

    first = members[0]
    if any(
        m.info["data"].get("fingerprint") != first.info["data"].get("fingerprint")
        for m in members
    ):
        return None, []
    data = first.data()
    split = "test" if len(data.splits["test"]) else "val"
    keep = _held_out_by_all(members, split)
    if not len(keep):
        return None, []
    images = data.dataset(split, batch_size=64, shuffle=False, include_labels=False)
    labels = np.asarray(data.splits[split].labels)[keep]

    def score(network):
        probabilities = predict_probabilities(network, images)[keep]
        return compute_metrics(probabilities, labels, data.class_names)

    with Progress(f"evaluating the ensemble and its {len(members)} members",
                  len(keep) * (len(members) + 1), unit="images"):  # fmt: skip
        metrics = score(model)
        member_metrics = [
            {"run": m.path, "accuracy": score(m.model)["accuracy"]} for m in members
        ]
    metrics["split"] = split
    if len(keep) < len(data.splits[split]):
        metrics["evaluated_on"] = (
            f"{len(keep)} of the first member's {len(data.splits[split])} {split} "
            f"images: those no member trained or validated on"
        )
    return metrics, member_metrics


def _held_out_by_all(members, split) -> np.ndarray:
    """Positions in the first member's `split` of the items that are in no
    member's train or val split (all of them when the splits are equal)."""
    names = (members[0].info.get("split") or {}).get(split, [])
    seen = set()
    for member in members[1:]:
        record = member.info.get("split") or {}
        seen.update(record.get("train", []), record.get("val", []))
    return np.array([i for i, n in enumerate(names) if n not in seen], dtype=np.int64)
