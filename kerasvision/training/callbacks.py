"""Callbacks of every training run: progress, NaN guard, best and last checkpoints."""

from __future__ import annotations

import math
import os
import sys
import time

import keras

from kerasvision._files import save_model
from kerasvision._keras_internals import seed_generator_states
from kerasvision.progress import Progress

__all__ = [
    "BestCheckpoint",
    "BudgetStop",
    "EmaValidation",
    "EpochLogger",
    "EpochSeeds",
    "LearningRateLogger",
    "LastCheckpoint",
    "NaNGuard",
    "progress_modes",
    "reseed_random_layers",
    "restore_callback_state",
]


def progress_modes(verbose) -> tuple[int, bool]:
    """`(keras_verbose, quiet_logger)` for `verbose` ("auto", 0, 1 or 2).

    "auto": Keras's progress bar on a terminal, one line per epoch otherwise.
    Keras draws the bar (1); `EpochLogger` prints the lines (2).
    """
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    return (1 if verbose == 1 else 0), verbose != 2


class EpochLogger(keras.callbacks.Callback):
    """One line per epoch (when not quiet) + the timing of each epoch.

    Inside an epoch, when not quiet, a line at least every
    `kerasvision.progress.INTERVAL` seconds (batch, running loss, time left)
    and during a long first-batch compilation or validation pass (a `Progress`
    heartbeat); on a terminal Keras draws its bar instead (quiet).
    """

    def __init__(self, epochs, log, quiet):
        super().__init__()
        self.epochs = epochs
        self.log = log
        self.quiet = quiet
        self.seconds = []
        self.train_seconds = []  # the training pass alone, without validation
        self._start = 0.0
        self._in_epoch = False
        self._progress = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._in_epoch = True
        if not self.quiet:
            self._progress = Progress(
                f"epoch {epoch + 1}/{self.epochs}",
                total=(self.params or {}).get("steps"),
                unit="batches",
                log=self.log,
                bar=False,
                done_line=False,
            ).start()

    def on_train_batch_end(self, batch, logs=None):
        if self._progress is not None:
            loss = (logs or {}).get("loss")
            detail = None if loss is None else f"loss {float(loss):.4f}"
            self._progress.update(1, detail=detail)

    def on_test_begin(self, logs=None):
        if self._in_epoch:  # validation of this epoch starts: training pass done
            self.train_seconds.append(time.perf_counter() - self._start)
            self._in_epoch = False
            if self._progress is not None:
                self._progress.detail = "validating"

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._start
        self.seconds.append(elapsed)
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        if self._in_epoch:
            self.train_seconds.append(elapsed)
            self._in_epoch = False
        if not self.quiet:
            values = " - ".join(
                f"{k} {v:.3g}" if k == "learning_rate" else f"{k} {v:.4f}"
                for k, v in (logs or {}).items()
            )
            self.log(f"epoch {epoch + 1}/{self.epochs} - {elapsed:.1f}s - {values}")

    def on_train_end(self, logs=None):
        if self._progress is not None:  # stopped inside an epoch
            self._progress.close(failed=True)
            self._progress = None


class LearningRateLogger(keras.callbacks.Callback):
    """Puts the optimizer's learning rate at the end of each epoch into the logs
    (so `history.csv` and `curves.png` show the schedule). List it first."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )


class EmaValidation(keras.callbacks.Callback):
    """Validates on the optimizer's EMA weights (`use_ema`), as test and export
    will; the raw weights go back for the next training step."""

    def __init__(self):
        super().__init__()
        self._raw = None

    def on_test_begin(self, logs=None):
        from kerasvision._keras_internals import ema_weights

        pairs = ema_weights(self.model)
        if pairs:
            self._raw = [(v, keras.ops.copy(v.value)) for v, _ in pairs]
            for variable, average in pairs:
                variable.assign(average)

    def on_test_end(self, logs=None):
        for variable, value in self._raw or []:
            variable.assign(value)
        self._raw = None


class NaNGuard(keras.callbacks.Callback):
    """Stops at the first NaN/inf loss and remembers where it happened."""

    def __init__(self):
        super().__init__()
        self.where = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.where = (self._epoch + 1, batch + 1)
            self.model.stop_training = True


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the run's model at the best `monitor` value so far.

    One instance lives through all phases of a run; `target` is the full model
    when only its head is being fitted (feature cache), else the fitted model.
    """

    def __init__(self, path, monitor):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.target = None
        self.best = math.inf
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and math.isfinite(float(value)) and value < self.best:
            self.best = float(value)
            self.best_epoch = epoch + 1
            save_model(self.target or self.model, self.path)


class LastCheckpoint(keras.callbacks.Callback):
    """After each epoch: model + optimizer and the resume state, atomically.

    `tracked` maps names to callbacks whose `best`/`wait`/`best_epoch` must
    survive a resume; `target` is the full model when only its head is fitted.
    """

    def __init__(self, writer, monitor, tracked, target=None):
        super().__init__()
        self.writer = writer
        self.monitor = monitor
        self.tracked = tracked
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        state = {"epoch": epoch + 1, "monitor": self.monitor}
        for name, callback in self.tracked.items():
            state[name] = {
                "best": _finite_or_none(getattr(callback, "best", None)),
                "wait": int(getattr(callback, "wait", 0)),
                "best_epoch": int(getattr(callback, "best_epoch", 0)),
            }
        self.writer.save_checkpoint(self.target or self.model, state)


class BudgetStop(keras.callbacks.Callback):
    """`--time-budget`'s guard: at the end of an epoch before the last
    (`total`, the run's epochs over all phases), stop training when another
    epoch as long as the longest so far plus `reserve` seconds (evaluation,
    export) would end after `deadline` (a `time.perf_counter()` value). With
    `after` (what a budgeted run recorded; `rerun` passes it), stop after that
    many epochs in all instead, whatever the clock says.

    One instance serves every phase of a run: `stopped_after` counts the
    epochs trained when it stopped (None: it never did), and `train` starts no
    later phase once it is set.
    """

    def __init__(self, total, deadline=None, reserve=0.0, *, after=None, log=None):
        super().__init__()
        self.total = int(total)
        self.deadline = deadline
        self.reserve = float(reserve)
        self.after = after
        self.log = log
        self.epochs = 0
        self.longest = 0.0
        self.stopped_after = None
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._start)
        if self.stopped_after is not None or epoch + 1 >= self.total:
            return
        if self.after is not None:
            expired = self.epochs >= int(self.after)
        else:
            expired = now + self.longest + self.reserve > self.deadline
        if not expired:
            return
        self.model.stop_training = True
        self.stopped_after = self.epochs
        if self.log is not None and self.after is None:
            self.log(
                f"time budget: stopping after epoch {epoch + 1} of {self.total}: "
                f"epochs took up to {self.longest:.1f} s, longer than measured, and "
                f"the next would not fit (recorded: a rerun stops there too)"
            )


class EpochSeeds(keras.callbacks.Callback):
    """At each epoch start, every random stream of training restarts from
    `(seed, epoch)`: the tf.data pipelines' shuffle and augmentation (through
    the `epoch` variable they read, `kerasvision.data.epochs`), the model's
    random layers (dropout, noise: `reseed_random_layers`), Python and NumPy.

    So the state of every stream is a function of the epoch alone, and a run
    resumed from an epoch checkpoint trains exactly as an uninterrupted one.
    """

    def __init__(self, seed: int, initial_epoch: int = 0):
        super().__init__()
        from kerasvision.data.epochs import epoch_variable

        self.seed = int(seed)
        self.epoch = epoch_variable(initial_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        import random

        import numpy as np

        self.epoch.assign(epoch)
        reseed_random_layers(self.model, self.seed, epoch)
        value = np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0]
        random.seed(int(value))
        np.random.seed(value)


def reseed_random_layers(model, seed: int, epoch: int) -> int:
    """Set the state of every Keras `SeedGenerator` in `model` (its dropout and
    noise layers, nested models included) from `(seed, epoch)` and the name of
    its layer.

    Keras does not save these states in `.keras` files, so without this a
    resumed run's dropout masks would differ from an uninterrupted run's. Layer
    names are saved with the model (generator names are not: Keras numbers them
    per process), and a head cut from the model keeps them.

    Returns:
        How many generators were reseeded.
    """
    import zlib

    import numpy as np

    states = dict(_seed_states(model))
    for key, state in states.items():
        code = zlib.crc32(key.encode("utf-8"))
        value = np.random.SeedSequence([int(seed), int(epoch), code]).generate_state(1)
        state.assign(np.array([value[0], 0]).astype(state.dtype))
    return len(states)


def _seed_states(model, prefix=""):
    """`(layer path/index, seed generator state)` of every layer of `model`."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _seed_states(layer, f"{prefix}{layer.name}/")
            continue
        for index, state in enumerate(seed_generator_states(layer)):
            yield f"{prefix}{layer.name}/{index}", state


def _finite_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def restore_callback_state(state, tracked, checkpoint_dir) -> None:
    """Give the tracked callbacks the `best`/`wait` of the checkpointed epoch."""
    for name, callback in tracked.items():
        saved = state.get(name) or {}
        if saved.get("best") is not None:
            callback.best = saved["best"]
        if hasattr(callback, "wait"):
            callback.wait = saved.get("wait", 0)
        if hasattr(callback, "best_epoch"):
            callback.best_epoch = saved.get("best_epoch", 0)
        if name == "early_stopping":
            best_path = os.path.join(checkpoint_dir, "best.keras")
            if os.path.isfile(best_path):
                from kerasvision.saving import load_model

                callback.best_weights = load_model(
                    best_path, compile=False
                ).get_weights()
