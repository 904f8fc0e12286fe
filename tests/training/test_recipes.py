"""Training recipes: the schedule in history and run.json, EMA weights are the
exported ones, lr-find, --lr auto, --time-budget and the official test split."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from helpers import small_digits

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

    # The table's cap scaled to three digit classes: 900 images / 430 -> 2 epochs.
    small = dataclasses.replace(
        RECIPES["scratch"], epoch_cap={"images": 900, "min_epochs": 1}
    )
    monkeypatch.setitem(RECIPES, "scratch", small)
    lines = []
    result = fit(dataset="digits", classes="0,1,2", seed=0, export=False,
                 output=str(tmp_path / "run"), log=lines.append, **TINY)  # fmt: skip
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["default_epochs"]["train_images"] == len(result.data.splits["train"])
    assert info["arguments"]["epochs"] == info["default_epochs"]["epochs"] == 2
    assert len(result.history["loss"]) == 2
    assert any(line.startswith("2 epochs (the default 15") for line in lines)
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


def test_suggest_finds_the_falling_stretch():
    from kerasvision.training.lr_find import suggest

    rates = np.logspace(-6, 1, 100)
    losses = np.concatenate(
        [np.full(40, 2.0), np.linspace(2.0, 0.5, 40), np.linspace(0.5, 3, 20)]
    )
    valley, steepest = suggest(rates, losses)
    assert rates[40] <= valley <= rates[79]
    assert rates[39] <= steepest <= rates[80]


def test_lr_find_command_writes_only_the_plot(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kerasvision.cli import main

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main,
        ["lr-find", "--dataset", "digits", "--classes", "0,1,2", "--seed", "0",
         "--model-arg", "filters=(4,8)", "--model-arg", "dense_units=()"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "suggested learning rate" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_find.png"]


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
    assert len(result.history["loss"]) == budget["epochs"]
    assert (tmp_path / "run" / "lr_find.png").is_file()
    again = rerun(str(tmp_path / "run"), output=str(tmp_path / "again"), log=_quiet)
    assert again.metrics["loss"] == pytest.approx(result.metrics["loss"], abs=1e-6)


def test_official_split_keeps_the_test_set_and_carves_validation():
    from kerasvision.data.splits import official_split

    labels = np.array([0, 1] * 50 + [0, 1] * 10)
    is_test = np.arange(120) >= 100
    record = official_split(labels, is_test, 0.1, seed=0)
    assert record["test"] == list(range(100, 120))
    assert len(record["val"]) == 10 and max(record["val"]) < 100
    assert sorted(record["train"] + record["val"]) == list(range(100))
    assert np.bincount(labels[record["val"]]).tolist() == [5, 5]


def test_test_split_is_refused_for_datasets_with_an_official_one():
    from kerasvision.config import FitConfig
    from kerasvision.data.datasets import load_builtin

    with pytest.raises(ValueError, match="official"):
        FitConfig(dataset="mnist", test_split=0.2)
    assert load_builtin("digits", with_test_mask=True)[3] is None
