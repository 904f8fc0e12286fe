"""kerasvision.training.callbacks: the time budget's guard (`BudgetStop`)."""

import json
import time

import keras
import numpy as np

import kerasvision
from kerasvision.training.callbacks import BudgetStop


class _Slow(keras.callbacks.Callback):
    """Each epoch lasts at least `seconds` (before the guard's epoch end)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(self.seconds)


def _fit(epochs, *callbacks):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.zeros((8, 2)), np.zeros((8, 1))
    return model.fit(x, y, epochs=epochs, verbose=0, callbacks=list(callbacks))


def test_training_stops_when_the_next_epoch_would_pass_the_deadline():
    lines = []
    # 50 epochs of >= 0.2 s cannot fit 1 s: the guard stops well before
    guard = BudgetStop(50, time.perf_counter() + 1.0, 0.2, log=lines.append)
    history = _fit(50, _Slow(0.2), guard)
    assert guard.stopped_after is not None and 1 <= guard.stopped_after < 50
    assert len(history.history["loss"]) == guard.stopped_after
    assert guard.longest >= 0.2
    assert len(lines) == 1
    stopped = guard.stopped_after
    assert lines[0].startswith(f"time budget: stopping after epoch {stopped}")


def test_a_recorded_stop_repeats_whatever_the_clock_and_the_end_is_no_stop():
    again = BudgetStop(10, after=3)
    assert len(_fit(10, again).history["loss"]) == 3 and again.stopped_after == 3
    late = BudgetStop(3, time.perf_counter() - 1.0)  # past its deadline
    assert len(_fit(3, late).history["loss"]) == 1 and late.stopped_after == 1
    last = BudgetStop(1, time.perf_counter() - 1.0)  # the last epoch: no stop
    assert len(_fit(1, last).history["loss"]) == 1 and last.stopped_after is None
    whole = BudgetStop(3, time.perf_counter() + 3600.0)
    assert len(_fit(3, whole).history["loss"]) == 3 and whole.stopped_after is None


def test_fit_records_a_guard_stop_and_rerun_stops_at_the_same_epoch(tmp_path):
    options = {"dataset": "digits", "classes": "0,1", "epochs": 3, "seed": 0,
               "export": False, "verbose": 0, "log": lambda line: None}  # fmt: skip
    first = kerasvision.fit(output=str(tmp_path / "run"), stop_after=1, **options)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["time_budget"]["stopped_after_epoch"] == 1
    assert len(first.history["loss"]) == 1
    again = kerasvision.rerun(
        str(tmp_path / "run"), output=str(tmp_path / "again"), verbose=0,
        log=lambda line: None,
    )  # fmt: skip
    assert len(again.history["loss"]) == 1
    for a, b in zip(first.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
