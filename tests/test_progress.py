"""Progress of long steps: lines at least every interval off a terminal, a bar
on one, step times, Keras batches counted, and a real `fit` that is never
silent for 15 s."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

from kerasvision.progress import Progress, StepTimes, current, keras_callbacks


def test_lines_come_at_least_every_interval_with_counts_and_time_left():
    lines = []
    with Progress("working", total=6, unit="images", log=lines.append,
                  interval=0.4, announce=True) as progress:  # fmt: skip
        for _ in range(6):
            time.sleep(0.25)
            progress.update(1, detail="loss 0.5")
    assert lines[0] == "working ..."
    middle = lines[1:-1]
    assert middle and all(line.startswith("working: ") for line in middle)
    assert any("/6 images (" in line and "left" in line for line in middle)
    assert all("loss 0.5" in line for line in middle)
    assert lines[-1].startswith("working: done in ")


def test_a_quick_step_prints_nothing_but_is_timed():
    lines = []
    times = StepTimes(lines.append)
    with times.step("quick", "a quick step", announce=False):
        pass
    assert lines == [] and set(times.to_json()) == {"quick"}
    with times.step("quick", "again", announce=False):
        time.sleep(0.05)
    assert times.to_json()["quick"] >= 0.05  # the same step's times add up


def test_only_the_innermost_step_reports():
    lines = []
    with Progress("outer", log=lines.append, interval=0.3):
        with Progress("inner", log=lines.append, interval=0.3) as inner:
            assert current() is inner
            time.sleep(1.5)
        assert current() is not inner
    assert any(line.startswith("inner: still running") for line in lines)
    assert not any(line.startswith("outer: still running") for line in lines)
    assert current() is None


def test_bar_is_redrawn_in_place_on_stderr(capsys):
    with Progress("drawing", total=4, unit="files", bar=True) as progress:
        for _ in range(4):
            progress.update(1)
            time.sleep(0.25)
    err = capsys.readouterr().err
    assert "\r" in err and "drawing [" in err and "4/4 files (100%)" in err
    assert err.endswith("\n")


def test_disabled_progress_is_a_silent_timer(capsys):
    with Progress("off", bar=True, enabled=False, interval=0.1) as progress:
        time.sleep(0.3)
    assert capsys.readouterr().err == "" and progress.seconds >= 0.3


def test_keras_predictions_count_into_the_running_step():
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert keras_callbacks() == []  # no step running: nothing to count into
    with Progress("predicting", total=10, log=lambda line: None) as progress:
        model.predict(np.zeros((10, 3)), batch_size=4, callbacks=keras_callbacks())
    assert progress.done == 10


def _timestamped(command, env):
    """Run `command` (stdout and stderr are pipes, not a terminal); return the
    exit code and each line's arrival time, from the start to the exit."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env, bufsize=1,
    )  # fmt: skip
    arrivals = [(time.monotonic() - started, line.rstrip()) for line in process.stdout]
    code = process.wait(timeout=600)
    return code, arrivals + [(time.monotonic() - started, "<exit>")]


def test_transfer_fit_is_never_silent_for_15_seconds(tmp_path):
    """400 images at 224 px through MobileNetV2 (random weights: no download):
    TensorFlow's import, reading the files, the feature extraction, the epoch,
    evaluation, calibration and the export with its check each say what they
    do, and nothing is silent for 15 s from the start to the exit."""
    from helpers import write_image_folder

    write_image_folder(tmp_path / "data", classes=("a", "b"), per_class=200,
                       size=(12, 12))  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    code, lines = _timestamped(
        [sys.executable, "-m", "kerasvision", "fit", str(tmp_path / "data"),
         "--backbone", "mobilenet_v2", "--weights", "none", "--image-size", "224",
         "--epochs", "1", "--seed", "0", "--output", str(tmp_path / "run")],
        env,
    )  # fmt: skip
    text = "\n".join(f"{at:6.1f}s {line}" for at, line in lines)
    assert code == 0, text
    gaps = np.diff([0.0] + [at for at, _ in lines])
    assert gaps.max() < 15.0, text
    for expected in ("loading TensorFlow", "reading ", "images: 224x224",
                     "extracting backbone features of 360 images",
                     "exporting and checking serving/", "run written to"):  # fmt: skip
        assert any(expected in line for _, line in lines), (expected, text)
    assert not any("I0000" in line or "cuda" in line.lower() for _, line in lines)
    import json

    steps = json.loads((tmp_path / "run" / "run.json").read_text())["step_seconds"]
    assert {"load_data", "build_model", "train", "evaluate", "calibrate",
            "export"} <= set(steps)  # fmt: skip


def test_an_epoch_reports_its_batches_off_a_terminal(monkeypatch):
    """A long epoch says which batch it is at, with the running loss."""
    import keras

    from kerasvision import progress as module
    from kerasvision.training.callbacks import EpochLogger

    monkeypatch.setattr(module, "INTERVAL", 0.3)
    lines = []

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.1)

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    logger = EpochLogger(1, lines.append, quiet=False)
    model.fit(np.zeros((40, 2)), np.zeros(40), batch_size=2, epochs=1, verbose=0,
              callbacks=[Slow(), logger])  # fmt: skip
    inside = [line for line in lines if line.startswith("epoch 1/1: ")]
    assert inside and all("/20 batches (" in line for line in inside)
    assert any("loss 0.0000" in line for line in inside)
    assert lines[-1].startswith("epoch 1/1 - ")
