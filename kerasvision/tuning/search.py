"""`kerasvision tune`: search a recipe's hyperparameters with KerasTuner.

Each trial is a real `fit` (the same steps, no second training loop) on the
training split, scored on the validation split only (the test split is set
aside until the end). Trial 0 is the recipe's defaults, so the best trial is
never worse than them on validation; KerasTuner (Hyperband by default, or
random search, or Bayesian optimization) proposes the others: the learning
rate, the schedule, the augmentation's strength, dropout and label smoothing,
and with `--mode fine-tune` also how much of the backbone trains, its
layer-wise rate (`lr_mult`) and the fine-tuning rate. Options given on the
command line stay fixed.

The search lives in one folder (`saved_models/tune-<model>-<data>` unless
`output`): `tune.json` (every trial's options and score, the best, its run),
`search/` (KerasTuner's state) and `best/`, the best configuration trained
again as a normal run directory (same seed, same split: the same model as its
trial, now also scored on the test split and exported), so `rerun`,
`evaluate` and the exports work on it. Running the same command again
continues the search (the trials already scored are kept).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import os
import shutil
import tempfile
import time

from kerasvision.progress import stderr_line
from kerasvision.tuning.result import OBJECTIVE, TuneResult, ranked
from kerasvision.tuning.space import (
    describe_values,
    hyperparameters,
    search_space,
    searched_values,
    trial_config,
)

__all__ = ["TUNERS", "TUNE_FILE", "fit_trial", "tune"]

#: What `--tuner` takes; the first is the default.
TUNERS = ("hyperband", "random", "bayesian")
TUNE_FILE = "tune.json"
#: Options `tune` does not take: its own `--time-budget` is the search's.
_REFUSED = ("time_budget",)

# === Budget ===


class _Budget:
    """How long trials take (measured) and whether one more fits in the time
    left, with the best configuration's final run still to train after it."""

    def __init__(self, seconds, started, load_seconds):
        self.seconds = seconds
        self.deadline = None if seconds is None else started + float(seconds)
        self.load_seconds = load_seconds
        self.trials: list[dict] = []  # scored trials: seconds, epochs, per epoch

    def add(self, record: dict) -> None:
        if record.get("seconds") is not None and record.get("epochs"):
            self.trials.append(record)

    def estimate(self, epochs: int) -> float:
        """Seconds of a trial of `epochs` epochs (0 before any was measured)."""
        if not self.trials:
            return 0.0
        per_epoch = max(t.get("epoch_seconds") or 0.0 for t in self.trials)
        overhead = max(t["seconds"] - per_epoch * t["epochs"] for t in self.trials)
        return 1.1 * (max(0.0, overhead) + per_epoch * epochs)

    def allows(self, epochs: int, best_epochs: int) -> bool:
        """Whether a trial of `epochs` and then the final run (a trial of
        `best_epochs` plus loading, testing and exporting) end in time."""
        if self.deadline is None:
            return True
        margin = max(15.0, 0.05 * self.seconds) + self.load_seconds
        final = self.estimate(best_epochs) + margin
        return time.perf_counter() + self.estimate(epochs) + final <= self.deadline


class _OutOfTime(Exception):
    """A trial that would not end within the budget (it runs next time)."""


# === Trials ===


def _quiet(line: str) -> None:
    """Trials train silently: `tune` prints one line per trial."""


def fit_trial(data, config) -> dict:
    """One trial: `kerasvision.fit` on `data` (no test split, so the run is
    scored on validation), in a scratch folder that is deleted afterwards.

    Returns:
        `{"val_accuracy", "val_loss", "seconds", "epochs", "epoch_seconds"}`.
    """
    from kerasvision.training.fit import fit

    tick = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kerasvision-trial-") as scratch:
        result = fit(
            data,
            config=config.replace(calibrate=False),  # accuracy is the same
            output=os.path.join(scratch, "run"),
            export=False,
            verbose=0,
            log=_quiet,
        )
    if result.metrics.get("split") != "val":
        raise RuntimeError(f"a trial was scored on {result.metrics.get('split')}")
    times = list(result.train_epoch_seconds or result.epoch_seconds or [0.0])
    steady = times[1:] or times  # the first epoch also compiles
    return {
        OBJECTIVE: float(result.metrics["accuracy"]),
        "val_loss": float(result.metrics.get("loss", float("nan"))),
        "seconds": time.perf_counter() - tick,
        "epochs": int(config.epochs),
        "epoch_seconds": float(sum(steady) / len(steady)),
    }


class _Search:
    """The state one `tune` call shares with its KerasTuner trials."""

    def __init__(self, config, space, data, budget, log, *, units=None):
        self.config, self.space, self.data = config, space, data
        self.budget, self.log = budget, log
        self.units = units  # Hyperband: its epoch units per `config.epochs`
        self.best_epochs = config.epochs
        self.count = 0
        self.tuner = None  # KerasTuner's, once the search starts

    def epochs(self, values: dict) -> int:
        """A trial's epochs (Hyperband's `tuner/epochs` units, scaled)."""
        if self.units is None or "tuner/epochs" not in values:
            return int(self.config.epochs)
        share = float(values["tuner/epochs"]) / self.units
        return max(1, round(self.config.epochs * share))

    def run(self, trial) -> dict:
        everything = trial.hyperparameters.values
        values = searched_values(everything)
        epochs = self.epochs(everything)
        if not self.budget.allows(epochs, self.best_epochs):
            raise _OutOfTime()
        record = fit_trial(self.data, trial_config(self.config, values, epochs))
        self.budget.add(record)
        self.count += 1
        self.log(
            f"trial {trial.trial_id} ({epochs} epochs): {describe_values(values)} "
            f"-> val accuracy {record[OBJECTIVE]:.4f} ({record['seconds']:.0f} s)"
        )
        return record


def _tuner_class():
    import keras_tuner

    class SearchTuner(keras_tuner.Tuner):
        """KerasTuner's `Tuner` whose trials are kerasvision fits."""

        def __init__(self, oracle, *, search, **kwargs):
            super().__init__(oracle, **kwargs)
            self.search_state = search

        def run_trial(self, trial, *args, **kwargs):
            try:
                return self.search_state.run(trial)
            except _OutOfTime:  # FatalError: out of the search loop, unscored
                raise _stop_error() from None

    return SearchTuner


def _stop_error():
    from keras_tuner.errors import FatalError

    return FatalError("time budget")


def _oracle(kind: str, hp, trials: int, *, epochs: int, seed: int):
    """The KerasTuner oracle of `kind` (and Hyperband's epoch units or None)."""
    import keras_tuner

    common = {
        "objective": keras_tuner.Objective(OBJECTIVE, direction="max"),
        "hyperparameters": hp,
        "seed": int(seed) + 1,  # KerasTuner draws a random seed for seed 0
        "max_consecutive_failed_trials": max(3, trials),
    }
    if kind == "random":
        return keras_tuner.oracles.RandomSearchOracle(max_trials=trials, **common), None
    if kind == "bayesian":
        initial = max(2, min(trials // 2, 3 * len(hp.space)))
        oracle = keras_tuner.oracles.BayesianOptimizationOracle(
            max_trials=trials, num_initial_points=initial, **common
        )
        return oracle, None
    # Hyperband's resource is a share of the recipe's epochs: with 3 units (a
    # third, then all of them) one Hyperband iteration is 6 trials; 9 units
    # (a ninth, a third, all) need 23 trials for one iteration.
    units = 9 if epochs >= 9 and trials >= 23 else max(1, min(3, epochs))
    oracle = keras_tuner.oracles.HyperbandOracle(
        max_epochs=units, factor=3, hyperband_iterations=trials, **common
    )
    oracle.max_trials = trials  # Hyperband alone runs whole iterations
    return oracle, units


# === The search ===


def tune(
    data=None,
    *,
    trials: int = 10,
    time_budget: float | None = None,
    tuner: str = "hyperband",
    output=None,
    overwrite: bool = False,
    track=None,
    verbose="auto",
    log=None,
    **options,
) -> TuneResult:
    """Search the recipe's hyperparameters, then train the best as a run.

    Trial "defaults" (the recipe as `fit` would train it) runs first; then
    KerasTuner proposes the rest (`search_space`), each a real `fit` on the
    training split scored on the validation split. The best trial (the
    defaults on a tie) is trained again as a normal run directory at
    `<folder>/best`, scored on the test split and exported. Calling it again
    with the same options continues the search in the same folder.

    Args:
        data: As `kerasvision.fit`'s. Defaults to None (a built-in dataset).
        trials: Trials in all, the defaults included. Defaults to 10.
        time_budget: Seconds for the whole call: no trial starts that would
            not leave time to train the best configuration afterwards.
            Defaults to None (no limit).
        tuner: One of `TUNERS`: "hyperband" (trials of a third of the epochs,
            the best trained to the full epochs), "random" or "bayesian".
            Defaults to "hyperband".
        output: The search folder. Defaults to None
            (`saved_models/tune-<model>-<data>`).
        overwrite: Start the search in `output` afresh. Defaults to False.
        track: Log the best configuration's run to a tracker (see `fit`).
            Defaults to None.
        verbose: The final run's progress (see `fit`). Defaults to "auto".
        log: Receives progress lines. Defaults to None (stderr).
        **options: `fit`'s options (`FitConfig`), fixed during the search.

    Returns:
        A `TuneResult`; `tune.json` in the folder holds the same.

    Raises:
        ValueError: On invalid options, a missing validation split, or a
            folder holding a search with other options.
        RuntimeError: If KerasTuner is missing (`pip install kerasvision[tune]`).

    Example:
        >>> result = tune(dataset="digits", trials=6, time_budget=300, seed=0)
        >>> print(result.leaderboard())
    """
    started = time.perf_counter()
    log = log or stderr_line
    base, kind = _check_arguments(data, trials, time_budget, tuner, options)
    folder = os.path.abspath(os.fspath(output or _default_folder(base)))
    state = _open_state(folder, base, kind, overwrite)
    base = base.replace(seed=state["seed"])
    tick = time.perf_counter()
    image_data, config = _load(data, base, state.get("split"))
    budget = _Budget(time_budget, started, time.perf_counter() - tick)
    state.update(split=image_data.split_record(), epochs=config.epochs)
    space = search_space(config, _given(base))
    state["space"] = space
    trial_data = _without_test(image_data)
    defaults = state.get("defaults")
    if defaults is None:
        log(f"searching in {folder}: trial defaults ({config.epochs} epochs) first")
        values = {name: spec["default"] for name, spec in space.items()}
        record = fit_trial(trial_data, trial_config(config, values, config.epochs))
        defaults = {"trial": "defaults", "values": values, **record,
                    "status": "COMPLETED"}  # fmt: skip
        log(f"trial defaults: val accuracy {record[OBJECTIVE]:.4f} "
            f"({record['seconds']:.0f} s)")  # fmt: skip
        state["defaults"] = defaults
        _write_state(folder, state)
    budget.add(defaults)
    search = _Search(config, space, trial_data, budget, log)
    stopped = _search(folder, kind, search, trials - 1, config.seed)
    result = TuneResult(folder, [defaults, *_tuner_trials(folder, kind, search)])
    result.best, result.stopped = ranked(result.trials)[0], stopped
    state.update(trials=result.trials, best=result.best, stopped=stopped)
    _write_state(folder, state)
    result.run_dir, result.metrics = _train_best(
        data, image_data, config, result.best, folder, state,
        track=track, verbose=verbose, log=log,
    )  # fmt: skip
    state["run"] = {"trial": result.best["trial"], "run_dir": result.run_dir,
                    "metrics": result.metrics}  # fmt: skip
    _write_state(folder, state)
    result.seconds = time.perf_counter() - started
    return result


def _check_arguments(data, trials, time_budget, tuner, options):
    from kerasvision.config import FitConfig

    refused = [name for name in _REFUSED if name in options]
    if refused:
        raise ValueError("tune's --time-budget is the whole search's (give it once)")
    if tuner not in TUNERS:
        raise ValueError(f"--tuner must be one of {', '.join(TUNERS)}, got {tuner!r}")
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise ValueError(f"--trials must be an integer >= 1, got {trials!r}")
    if time_budget is not None and not float(time_budget) > 0:
        raise ValueError(f"--time-budget must be > 0 seconds, got {time_budget}")
    if isinstance(data, str | os.PathLike):
        options.setdefault("data", os.fspath(data))
    base = FitConfig.from_options(**options)
    if base.task != "classification":
        raise ValueError("tune searches classifiers (--task classification)")
    if base.lr == "auto":
        raise ValueError("--lr auto does not apply to tune (it searches the rate)")
    try:
        import keras_tuner  # noqa: F401
    except ImportError:
        raise RuntimeError(
            "tune needs KerasTuner: pip install kerasvision[tune]"
        ) from None
    return base, tuner


def _default_folder(config) -> str:
    """`saved_models/tune-<model>-<data>`: the same command finds it again."""
    from kerasvision.runs import DEFAULT_RUNS_DIR

    if config.data is not None:
        name = os.path.basename(os.path.normpath(config.data))
    else:
        name = config.dataset or "digits"
    label = config.backbone or config.model or "bipyramidal_cnn"
    label = os.path.basename(os.path.normpath(str(label)))
    return os.path.join(DEFAULT_RUNS_DIR, f"tune-{label}-{name}")


def _given(config) -> set[str]:
    """The options (and builder arguments) the user set: they are not searched."""
    return set(config.given()) | set(config.model_kwargs)


def _recorded_options(config) -> dict:
    record = config.to_json()
    record.pop("config_version", None)
    return record


def _open_state(folder: str, base, kind: str, overwrite: bool) -> dict:
    """The search's `tune.json` record: new, or the one to continue."""
    from kerasvision._files import read_json

    path = os.path.join(folder, TUNE_FILE)
    if os.path.exists(folder) and not os.path.isfile(path):
        if os.listdir(folder):
            raise ValueError(
                f"{folder} exists and holds no search ({TUNE_FILE}); choose "
                f"another --output"
            )
    elif os.path.isfile(path) and overwrite:
        shutil.rmtree(folder)
    elif os.path.isfile(path):
        try:
            state = read_json(path)
            recorded = dict(state["options"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} cannot be read ({error}); pass --overwrite "
                             f"to start the search again") from None  # fmt: skip
        seed = base.seed if base.seed is not None else state["seed"]
        current = _recorded_options(base.replace(seed=seed))
        changed = sorted(k for k in recorded.keys() | current.keys()
                         if recorded.get(k) != current.get(k))  # fmt: skip
        if state.get("tuner") != kind:
            changed.insert(0, "tuner")
        if changed:
            raise ValueError(
                f"{folder} holds a search with other options ({', '.join(changed)})"
                f"; choose another --output, or pass --overwrite to start again"
            )
        return state
    from kerasvision import __version__

    seed = base.with_seed().seed
    return {
        "kerasvision_version": __version__,
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "tuner": kind,
        "objective": OBJECTIVE,
        "seed": seed,
        "options": _recorded_options(base.replace(seed=seed)),
    }


def _write_state(folder: str, state: dict) -> None:
    from kerasvision._files import write_json

    os.makedirs(folder, exist_ok=True)
    state["updated"] = datetime.datetime.now().isoformat(timespec="seconds")
    write_json(os.path.join(folder, TUNE_FILE), state)


def _load(data, base, split_record):
    """The data (once, for every trial) and the resolved config."""
    from kerasvision.training.classifier import load_data, resolve_backbone, seeded

    config = base.resolved()
    with seeded(config):
        backbone = resolve_backbone(config)
        image_data = load_data(data, config, backbone=backbone,
                               split_record=split_record)  # fmt: skip
    if not len(image_data.splits["val"]):
        raise ValueError(
            "tune scores trials on the validation split, which is empty; give "
            "--val-split > 0 (or a validation folder)"
        )
    config = base.resolved(train_images=len(image_data.splits["train"]))
    return image_data, config


def _without_test(data):
    """The data with an empty test split: a trial is scored on validation."""
    test = data.splits["test"]
    empty = dataclasses.replace(test, **{
        item.name: getattr(test, item.name)[:0]
        for item in dataclasses.fields(test)
        if getattr(test, item.name) is not None
    })  # fmt: skip
    return dataclasses.replace(data, splits={**data.splits, "test": empty})


def _search(folder: str, kind: str, search: _Search, trials: int, seed: int) -> str:
    """Run (or continue) KerasTuner's search; why it stopped."""
    if trials < 1:
        return "trials"
    oracle, units = _oracle(kind, hyperparameters(search.space), trials,
                            epochs=search.config.epochs, seed=seed)  # fmt: skip
    search.units = units
    with contextlib.redirect_stdout(io.StringIO()):  # "Reloading Tuner from ..."
        tuner = _tuner_class()(oracle, search=search, directory=folder,
                               project_name="search", overwrite=False)  # fmt: skip
    search.tuner = tuner
    from keras_tuner.errors import FatalError

    try:
        tuner.search(verbose=0)  # quiet: one line per trial comes from `run`
    except FatalError as error:
        if str(error) != "time budget":
            raise
        return "time budget"
    done = len(oracle.trials)
    return "trials" if done >= trials else "search space exhausted"


def _tuner_trials(folder: str, kind: str, search: _Search) -> list[dict]:
    """Every KerasTuner trial as a `tune.json` record, in start order."""
    tuner = search.tuner
    if tuner is None:
        return []
    oracle = tuner.oracle
    records = []
    for trial_id in oracle.start_order:
        trial = oracle.trials[trial_id]
        if trial.status in ("RUNNING", "IDLE"):  # not run yet (the time budget)
            continue
        everything = trial.hyperparameters.values
        record = {
            "trial": trial_id,
            "values": searched_values(everything),
            "epochs": search.epochs(everything),
            "status": trial.status,
        }
        for name in (OBJECTIVE, "val_loss", "seconds", "epoch_seconds"):
            if trial.metrics.exists(name):
                record[name] = float(trial.metrics.get_last_value(name))
        if trial.status != "COMPLETED":
            record.pop(OBJECTIVE, None)
            lines = (trial.message or "").strip().splitlines()
            record["message"] = lines[-1][:300] if lines else trial.status.lower()
        records.append(record)
    return records


def _train_best(data, image_data, config, best, folder, state, *, track, verbose,
                log):  # fmt: skip
    """Train the best trial's configuration as `<folder>/best` (kept when an
    earlier call already trained this trial); `(run_dir, test metrics)`."""
    from kerasvision.runs import is_kerasvision_run, load_run
    from kerasvision.training.fit import fit

    run_dir = os.path.join(folder, "best")
    done = state.get("run") or {}
    if done.get("trial") == best["trial"] and is_kerasvision_run(run_dir):
        log(f"best configuration already trained: {run_dir}")
        return run_dir, load_run(run_dir).metrics()
    best_config = trial_config(config, best["values"], best["epochs"])
    log(f"training the best configuration (trial {best['trial']}) as {run_dir}")
    source = data if isinstance(data, str | os.PathLike) or data is None else image_data
    result = fit(
        source,
        config=best_config,
        output=run_dir,
        overwrite=True,
        split=image_data.split_record(),  # the trials' split, whatever changed
        track=track,
        verbose=verbose,
        log=log,
    )
    return result.run_dir, {k: v for k, v in result.metrics.items()
                            if not isinstance(v, dict | list)}  # fmt: skip
