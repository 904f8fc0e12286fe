"""`--time-budget`: measure throughput on a few steps, then choose the epochs.

The whole command (from the process start on the command line: start-up,
reading the data, training, evaluation and export) should end within the
budget with its learning-rate schedule complete, so the number of epochs is
fixed before training starts: a clone of the model takes a few timed training
and inference steps on real batches of the run and is saved once (what each
epoch's two checkpoints and the export cost), and the rest of the budget
(minus what has been spent already, the first step's tracing and a reserve for
evaluation and export) is divided by the estimated epoch time. Epochs that turn
out slower than measured are caught at run time: `training.callbacks.BudgetStop`
ends training at an epoch's end when the next one and the reserve
("reserve_seconds" of the plan) would not fit.
"""

from __future__ import annotations

import math
import time

__all__ = ["BUDGET", "budget_guard", "plan_epochs"]

#: Timed steps after one (tracing) step; the share of the budget kept back;
#: the export (model.keras, the SavedModel, its trace and check) as the
#: seconds of this many saves of the model, and at least `export_seconds`;
#: each epoch's own cost beyond its steps and checkpoints (callbacks, the
#: history, progress lines); the most epochs a budget may choose. Measured on
#: digits (45 s) and flowers5 at 64 px (300 s): see benchmarks/README.md.
BUDGET = {
    "steps": 3,
    "margin": 0.05,
    "export_saves": 10,
    "export_seconds": 3.0,
    "epoch_seconds": 0.1,
    "max_epochs": 100,
}


def _seconds_per_step(step, batch, count) -> tuple[float, float]:
    """`(seconds of the first call (tracing), seconds per later call)`."""
    tick = time.perf_counter()
    step(batch)
    first = time.perf_counter() - tick
    tick = time.perf_counter()
    for _ in range(count):
        step(batch)
    return first, (time.perf_counter() - tick) / count


def _seconds_to_save(model) -> float:
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kerasvision-budget-") as folder:
        tick = time.perf_counter()
        model.save(os.path.join(folder, "model.keras"))
        return time.perf_counter() - tick


def measure(model, data, config) -> dict:
    """Seconds per training step and per inference batch, of the first
    (tracing) steps, and of saving, on a clone of `model`."""
    import keras

    from kerasvision.training.compile import compile_classifier
    from kerasvision.training.pipelines import pipelines, uses_categorical_labels

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    if config.is_transfer and config.mode == "fine-tune":
        clone.trainable = True  # the costlier, fine-tuning phase
    compile_classifier(
        clone,
        keras.optimizers.Adam(1e-9),
        label_mode="categorical" if uses_categorical_labels(config, data) else "int",
        num_classes=data.num_classes,
        label_smoothing=float(config.label_smoothing or 0.0),
    )
    train, _ = pipelines(model, data, config)
    batch = next(iter(train))
    count = BUDGET["steps"]
    trace, train_step = _seconds_per_step(
        lambda b: clone.train_on_batch(*b), batch, count
    )
    predict_trace, predict_batch = _seconds_per_step(
        lambda b: clone.predict_on_batch(b[0]), batch, count
    )
    return {
        "train_step": train_step,
        "predict_batch": predict_batch,
        "trace": trace + predict_trace,
        "save": _seconds_to_save(clone),
    }


def plan_epochs(model, data, config, *, elapsed: float, log=None) -> tuple[int, dict]:
    """`(epochs, plan)`: the epochs that fit `config.time_budget`.

    Args:
        model: The built classifier of the run.
        data: The run's `ImageData`.
        config: A resolved `FitConfig` with `time_budget` set.
        elapsed: Seconds the run has spent already (loading, building).
        log: Receives the decision line. Defaults to None (silent).

    Returns:
        The epochs of the (last) phase and the plan recorded in run.json.
    """
    from kerasvision.training.phases import steps_per_epoch, use_feature_cache

    tick = time.perf_counter()
    speed = measure(model, data, config)
    elapsed += time.perf_counter() - tick
    batch = config.batch_size
    batches = {k: math.ceil(len(data.splits[k]) / batch) for k in data.splits}
    frozen_cached = config.is_transfer and config.mode == "feature-extraction"
    # last.keras and best.keras, the callbacks: every epoch
    checkpoints = 2 * speed["save"] + BUDGET["epoch_seconds"]
    if frozen_cached and use_feature_cache(config, _first_phase(config)):
        # One pass of the backbone over train+val, then near-free head epochs.
        fixed = (batches["train"] + batches["val"]) * speed["predict_batch"]
        epoch = 0.02 * fixed + 0.05 + checkpoints
    else:
        fixed = speed["trace"]
        epoch = steps_per_epoch(data, config) * speed["train_step"]
        epoch += batches["val"] * speed["predict_batch"] + checkpoints
    export = max(BUDGET["export_seconds"], BUDGET["export_saves"] * speed["save"])
    reserve = batches["test"] * speed["predict_batch"] + export
    spare = config.time_budget * (1 - BUDGET["margin"]) - elapsed - fixed - reserve
    warmup = 0
    if config.is_transfer and config.mode == "fine-tune":
        warmup = 1 if config.warmup_epochs is None else config.warmup_epochs
    epochs = int(min(BUDGET["max_epochs"], spare // epoch - warmup))
    plan = {
        "time_budget": config.time_budget,
        "epochs": max(1, epochs),
        "estimated_epoch_seconds": round(epoch, 3),
        "estimated_fixed_seconds": round(fixed + reserve, 3),
        "reserve_seconds": round(reserve, 3),
        "spent_before_training": round(elapsed, 3),
        **{f"seconds_per_{k}": round(v, 5) for k, v in speed.items()},
    }
    if log is not None:
        note = "" if epochs >= 1 else " (the budget is too small for more)"
        log(
            f"time budget {config.time_budget:g}s: {plan['epochs']} epochs of about "
            f"{epoch:.1f}s{note}"
        )
    return plan["epochs"], plan


def _first_phase(config):
    from kerasvision.training.phases import plan_phases

    return plan_phases(config)[0]


def budget_guard(config, plan, started, stop_after=None, log=None):
    """The `BudgetStop` of a run planned by `plan_epochs` (`plan`; its
    deadline: the budget from `started`, a `time.perf_counter()` value, less
    the evaluation/export reserve), or of a rerun of one it stopped
    (`stop_after` epochs); else None."""
    from kerasvision.training.callbacks import BudgetStop
    from kerasvision.training.phases import plan_phases

    total = plan_phases(config)[-1].end
    if stop_after is not None:
        return BudgetStop(total, after=int(stop_after))
    if not plan or "reserve_seconds" not in plan:
        return None
    deadline = started + float(plan["time_budget"])
    return BudgetStop(total, deadline, plan["reserve_seconds"], log=log)
