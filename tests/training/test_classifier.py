"""The classifier steps: the schedule in history and run.json, the train/val gap
line, default epochs, EMA weights are the exported ones, --lr auto and
--time-budget, and the README's step-by-step example."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re

import numpy as np
import pytest
from helpers import small_digits

import kerasvision
from kerasvision.optimization import WarmupSchedule, learning_rates

TINY = {"model_kwargs": {"filters": (4, 8), "dense_units": ()}, "verbose": 0}


def _quiet(line):
    return None


def test_history_records_the_schedule_of_run_json(tiny_run):
    run_dir, _ = tiny_run
    info = json.loads((run_dir / "run.json").read_text())
    (phase,) = info["schedule"]
    assert phase["kind"] == "cosine" and phase["phase"] == "train"
    schedule = WarmupSchedule(
        phase["kind"], phase["peak_lr"], phase["total_steps"], phase["warmup_steps"]
    )
    with open(run_dir / "history.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    steps_per_epoch = phase["total_steps"] // len(rows)
    expected = learning_rates(
        schedule, [steps_per_epoch * (i + 1) for i in range(len(rows))]
    )
    np.testing.assert_allclose(
        [float(r["learning_rate"]) for r in rows], expected, rtol=1e-5, atol=1e-9
    )


def test_run_reports_its_train_val_gap_and_what_held_it_down(tiny_run):
    run_dir, _ = tiny_run
    report = json.loads((run_dir / "run.json").read_text())["overfitting"]
    with open(run_dir / "history.csv", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    assert report["train_accuracy"] == pytest.approx(float(last["accuracy"]), abs=1e-4)
    assert report["val_accuracy"] == pytest.approx(
        float(last["val_accuracy"]), abs=1e-4
    )
    gap = report["train_accuracy"] - report["val_accuracy"]
    assert report["gap"] == pytest.approx(gap, abs=2e-4)
    assert report["held_down_by"] == [
        "cosine learning-rate schedule",
        "dropout 0.3",
        "label smoothing 0.1",
    ]


def test_default_epochs_follow_the_training_set_size(tmp_path, monkeypatch):
    import dataclasses

    from kerasvision.config import RECIPES
    from kerasvision.training import fit, rerun

    # The table's cap scaled to three digit classes: 900 images / 430 -> 2
    # epochs at least; a 0.5 s time target fits fewer, so 2 (on any machine).
    small = dataclasses.replace(
        RECIPES["scratch"],
        epoch_cap={"images": 900, "min_epochs": 1, "seconds": 0.5},
    )
    monkeypatch.setitem(RECIPES, "scratch", small)
    lines = []
    result = fit(dataset="digits", classes="0,1,2", seed=0, export=False,
                 output=str(tmp_path / "run"), log=lines.append, **TINY)  # fmt: skip
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["default_epochs"]["train_images"] == len(result.data.splits["train"])
    assert info["arguments"]["epochs"] == info["default_epochs"]["epochs"] == 2
    assert len(result.history["loss"]) == 2
    # The model line announces the range; the measurement then says the count.
    model_line = next(line for line in lines if line.startswith("model: "))
    assert "2-15 epochs (as many as fit 0.5 s on this machine" in model_line
    assert not any(line.startswith("2 epochs (the default 15") for line in lines)
    assert any(line.startswith("2 epochs: what fits 0.5 s") for line in lines)
    assert info["default_epochs"]["time_target"]["time_budget"] == 0.5
    monkeypatch.undo()  # a rerun takes the recorded epochs, not the table's
    again = rerun(str(tmp_path / "run"), output=str(tmp_path / "again"), log=_quiet)
    assert len(again.history["loss"]) == 2


def test_ema_weights_are_the_trained_and_exported_ones(tmp_path):
    from kerasvision._keras_internals import ema_weights
    from kerasvision.training import fit

    x, y, _ = small_digits(per_class=6)
    result = fit(
        (x, y), ema=0.5, epochs=2, seed=0, output=str(tmp_path / "run"),
        log=_quiet, **TINY,
    )  # fmt: skip
    pairs = ema_weights(result.model)
    assert pairs
    for variable, average in pairs:
        np.testing.assert_array_equal(np.asarray(variable), np.asarray(average))
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["schedule"][0]["ema"] == 0.5
    # Every epoch counts its real steps (a per-epoch-seeded pipeline keeps its
    # cardinality), so the schedule ends with the last epoch.
    assert int(result.model.optimizer.iterations) == info["schedule"][0]["total_steps"]
    assert info["export"]["max_abs_diff"] <= 1e-5  # serving = the EMA weights


def test_fit_lr_auto_and_time_budget_record_their_choices(tmp_path):
    from kerasvision.training import fit, rerun

    result = fit(
        dataset="digits", classes="0,1,2", lr="auto", time_budget=18, seed=0,
        output=str(tmp_path / "run"), export=False, log=_quiet, **TINY,
    )  # fmt: skip
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    found, budget = info["lr_find"], info["time_budget"]
    assert 1e-7 <= found["suggested"] <= 10 and found["rule"] == "valley"
    assert info["arguments"]["lr"] == found["suggested"]
    assert info["arguments"]["epochs"] == budget["epochs"] >= 1
    assert info["arguments"]["time_budget"] is None
    # all the planned epochs, unless they ran slower than measured (a loaded
    # machine) and the guard stopped early: then rerun stops there too
    trained = budget.get("stopped_after_epoch", budget["epochs"])
    assert len(result.history["loss"]) == trained <= budget["epochs"]
    assert (tmp_path / "run" / "lr_find.png").is_file()
    again = rerun(str(tmp_path / "run"), output=str(tmp_path / "again"), log=_quiet)
    assert again.metrics["loss"] == pytest.approx(result.metrics["loss"], abs=1e-6)


README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def _step_by_step_code() -> str:
    text = open(README, encoding="utf-8").read()
    section = text.split("### Step by step", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_step_by_step_equals_fit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_step_by_step_code(), "README step by step", "exec"), {})
    match = re.search(r"test accuracy ([\d.]+), loss ([\d.]+)", printed.getvalue())
    assert match, printed.getvalue()
    run = kerasvision.load_run(str(tmp_path / "saved_models" / "step-by-step"))
    assert run.info["status"] == "complete"
    one_call = kerasvision.fit(
        dataset="digits",
        epochs=3,
        seed=1,
        output=str(tmp_path / "fit"),
        verbose=0,
        export=False,  # the step-by-step run exports; the metrics are compared
    )
    assert float(match.group(2)) == pytest.approx(one_call.metrics["loss"], abs=1e-6)
    # printed with 4 decimals
    assert float(match.group(1)) == pytest.approx(
        one_call.metrics["accuracy"], abs=5e-5
    )


def test_op_determinism_follows_the_deterministic_option():
    from kerasvision._keras_internals import op_determinism_enabled
    from kerasvision.config import FitConfig
    from kerasvision.training.classifier import seeded

    before = op_determinism_enabled()
    for options, expected in (({}, True), ({"deterministic": False}, False),
                              ({"jit_compile": True}, False)):  # fmt: skip
        config = FitConfig(dataset="digits", seed=0, **options)
        with seeded(config):
            assert op_determinism_enabled() is expected, options
        assert op_determinism_enabled() == before
    recorded = FitConfig(dataset="digits", deterministic=False).to_json()
    assert FitConfig.from_json(recorded).deterministic is False
    older = {k: v for k, v in recorded.items() if k != "deterministic"}
    assert FitConfig.from_json(older).deterministic is True  # recorded before it
