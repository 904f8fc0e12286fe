"""`kerasvision tune`: trials scored on validation, the defaults first, the
time budget, resuming, and the best trained as a normal run."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from kerasvision.cli import main
from kerasvision.tuning import TUNERS, search_space

pytest.importorskip("keras_tuner")

TINY = {"dataset": "digits", "classes": "0,1,2", "epochs": 3, "seed": 0,
        "batch_size": 16,
        "model_kwargs": {"filters": (4,), "dense_units": ()}}  # fmt: skip
TINY_ARGS = ["--dataset", "digits", "--classes", "0,1,2", "--epochs", "3",
             "--seed", "0", "--batch-size", "16", "--model-arg", "filters=(4,)",
             "--model-arg", "dense_units=()"]  # fmt: skip


def _quiet(line):
    pass


def test_budget_stops_the_search_and_the_same_command_continues_it(tmp_path):
    from kerasvision.runs import is_kerasvision_run, load_run
    from kerasvision.tuning import tune

    folder = tmp_path / "search"
    # A budget too small for any trial after the defaults: the defaults are
    # still scored, and the best (the defaults) is trained as a run.
    result = CliRunner().invoke(
        main, ["tune", *TINY_ARGS, "--trials", "4", "--time-budget", "1",
               "--output", str(folder)], catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "stopped by time budget" in result.output
    assert "rank  trial" in result.output and "defaults" in result.output
    state = json.loads((folder / "tune.json").read_text())
    assert [t["trial"] for t in state["trials"]] == ["defaults"]
    assert state["best"]["trial"] == "defaults" and state["stopped"] == "time budget"
    assert is_kerasvision_run(folder / "best")
    assert state["run"]["metrics"]["split"] == "test"

    # The same search, with no budget: it goes on up to 4 trials in all.
    lines = []
    again = tune(trials=4, output=str(folder), log=lines.append, verbose=0, **TINY)
    assert len([x for x in lines if x.startswith("trial ")]) == 3, lines
    assert [t["trial"] for t in again.trials][0] == "defaults"
    assert len(again.trials) == 4 and again.stopped == "trials"
    defaults = again.defaults
    assert defaults["val_accuracy"] == state["defaults"]["val_accuracy"]  # kept
    assert all(t["epochs"] in (1, 3) for t in again.trials)  # Hyperband's thirds
    assert again.best["val_accuracy"] >= defaults["val_accuracy"]
    board = again.leaderboard().splitlines()
    assert len(board) == 5 and board[1].split()[1] == again.best["trial"]
    run = load_run(again.run_dir)
    assert run.info["arguments"]["epochs"] == again.best["epochs"]
    assert run.info["split"]["val"] == state["split"]["val"]  # the trials' split
    recorded = json.loads((folder / "tune.json").read_text())
    assert len(recorded["trials"]) == 4 and recorded["best"] == again.best

    # Other options in the same folder: one line, nothing lost.
    with pytest.raises(ValueError, match="holds a search with other options"):
        tune(trials=4, output=str(folder), log=_quiet, **{**TINY, "epochs": 4})


def test_tune_refuses_what_it_cannot_search(tmp_path):
    from kerasvision.tuning import tune

    with pytest.raises(ValueError, match="--lr auto does not apply"):
        tune(lr="auto", output=str(tmp_path), **{**TINY, "epochs": 1})
    with pytest.raises(ValueError, match="validation split"):
        tune(val_split=0.0, output=str(tmp_path / "x"), log=_quiet, **TINY)
    result = CliRunner().invoke(main, ["tune", "--tuner", "grid"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def _scored_search(config):
    """A search whose trials are scored by a formula instead of a fit: KerasTuner's
    loop, oracle and resumption alone (seconds instead of minutes)."""
    from kerasvision.tuning.search import _Budget, _Search

    class Scored(_Search):
        def run(self, trial):
            values = trial.hyperparameters.values
            epochs = self.epochs(values)
            score = 0.9 - abs(math.log10(values["lr"]) + 2.5) / 10 + epochs / 100
            return {"val_accuracy": score, "seconds": 1.0, "epochs": epochs,
                    "epoch_seconds": 0.1}  # fmt: skip

    space = search_space(config)
    return Scored(config, space, None, _Budget(None, 0.0, 0.0), _quiet)


@pytest.mark.parametrize("kind", TUNERS, ids=TUNERS)
def test_every_tuner_runs_its_trials_and_continues_them(tmp_path, kind):
    from kerasvision.config import FitConfig
    from kerasvision.tuning.search import _search, _tuner_trials

    config = FitConfig(dataset="digits", seed=0, epochs=9).resolved()
    search = _scored_search(config)
    assert _search(str(tmp_path), kind, search, 3, seed=0) == "trials"
    trials = _tuner_trials(str(tmp_path), kind, search)
    assert len(trials) == 3 and {t["status"] for t in trials} == {"COMPLETED"}
    assert all(set(t["values"]) == set(search.space) for t in trials)
    again = _scored_search(config)  # a new process: KerasTuner reloads its state
    assert _search(str(tmp_path), kind, again, 4, seed=0) == "trials"
    continued = _tuner_trials(str(tmp_path), kind, again)
    assert [t["trial"] for t in continued][:3] == [t["trial"] for t in trials]
    assert len(continued) == 4
    # Hyperband: three trials at a third of the epochs, the best then at all.
    epochs = [t["epochs"] for t in continued]
    assert epochs == ([3, 3, 3, 9] if kind == "hyperband" else [9, 9, 9, 9])
    if kind == "hyperband":
        best_third = max(continued[:3], key=lambda t: t["val_accuracy"])
        assert continued[3]["values"] == best_third["values"]
