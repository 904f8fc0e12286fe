"""Experiment tracking: `fit --track mlflow[:URI]` logs a run to MLflow.

The run directory stays the record of a run; the tracker gets a copy of what
matters for comparing runs: the options (`FitConfig`) as parameters, every
epoch's metrics (the learning rate included), the final metrics, the run's
files (metrics, history, curves, confusion matrix, labels, report) as
artifacts, and the trained model with MLflow's Keras flavour, so that
`mlflow models serve -m models:/<model id>` serves it. `run.json` records where
(`"tracking"`: tracker, URI, experiment, run id, model URI).

Tracking never costs a run: a server that cannot be reached, or one that goes
away mid-run, is one warning line and training goes on (the run directory keeps
everything). Only a missing `mlflow` package stops `fit` before it starts
(`pip install kerasvision[mlflow]`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time

__all__ = [
    "TRACKERS",
    "MlflowTracker",
    "check_track",
    "default_tracking_uri",
    "open_tracker",
    "parse_track",
    "tracking",
]

#: What `--track` takes (`mlflow` or `mlflow:URI`).
TRACKERS = ("mlflow",)

#: MLflow's HTTP client retries for minutes by default; a tracker must not
#: hold up training that long. Its own "View run" lines on stdout are replaced
#: by one line of the tracker's. Set only where the user has not set them.
_CLIENT_SETTINGS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
_PARAM_LIMIT = 6000  # characters of an MLflow parameter value
_SKIPPED_FILES = ("model.keras",)  # logged as the model instead
_MAX_ARTIFACT_BYTES = 50 * 2**20


def parse_track(spec) -> tuple[str, str | None]:
    """`"mlflow"` -> `("mlflow", None)`, `"mlflow:URI"` -> `("mlflow", URI)`.

    Raises:
        ValueError: If the tracker is not one of `TRACKERS` or the URI is empty.
    """
    text = str(spec or "").strip()
    kind, colon, uri = text.partition(":")
    if kind not in TRACKERS or (colon and not uri.strip()):
        raise ValueError(
            f"--track must be {' or '.join(TRACKERS)} or mlflow:URI (e.g. "
            f"mlflow:http://127.0.0.1:5000), got {text!r}"
        )
    return kind, uri.strip() or None


def check_track(spec: str) -> str:
    """`spec` itself when `parse_track` takes it (the command line's check)."""
    parse_track(spec)
    return spec


def default_tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI`, else a local store in `./mlruns` (SQLite: MLflow 3
    no longer writes its plain-file store by default)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return uri
    folder = os.path.abspath("mlruns")
    return f"sqlite:///{os.path.join(folder, 'mlflow.db')}"


def open_tracker(spec, *, log, resume: dict | None = None):
    """The tracker `--track` names, connected; None (after one warning line to
    `log`) when its server cannot be reached.

    Args:
        spec: `"mlflow"` or `"mlflow:URI"` (`parse_track`).
        log: Receives the warning line.
        resume: A run's recorded `"tracking"` (`run.json`): keep logging to that
            MLflow run when it is on the same server. Defaults to None.

    Returns:
        An `MlflowTracker`, or None.

    Raises:
        ValueError: If `spec` is not a tracker.
        RuntimeError: If mlflow is not installed (`pip install kerasvision[mlflow]`).
    """
    _, uri = parse_track(spec)
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise RuntimeError(
            "--track mlflow needs MLflow: pip install kerasvision[mlflow]"
        ) from None
    uri = uri or default_tracking_uri()
    problem = _unreachable(uri)
    if problem is not None:
        log(
            f"warning: the MLflow tracking server {uri} cannot be reached "
            f"({problem}); training goes on untracked (the run directory keeps "
            f"everything)"
        )
        return None
    try:
        with _bounded_requests():
            tracker = MlflowTracker(uri, log=log)
    except Exception as error:  # e.g. a store folder that cannot be written
        log(
            f"warning: the MLflow tracking store {uri} cannot be opened "
            f"({_first_line(error)}); training goes on untracked"
        )
        return None
    if resume and resume.get("tracking_uri") == uri:
        tracker.run_id = resume.get("run_id")
    return tracker


def _unreachable(uri: str) -> str | None:
    """Why an HTTP tracking server does not answer (None: it does, or the URI
    is a local store)."""
    if not uri.startswith(("http://", "https://")):
        return None
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5):
            return None
    except urllib.error.HTTPError as error:  # it answers: MLflow says the rest
        return None if error.code < 500 else f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        return str(reason).strip() or type(error).__name__


def _quiet_store_logs() -> None:
    """No INFO lines when MLflow creates or upgrades a local store's tables."""
    import logging

    for name in ("mlflow.store.db.utils", "alembic.runtime.migration"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


@contextlib.contextmanager
def _bounded_requests():
    added = {k: v for k, v in _CLIENT_SETTINGS.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


@contextlib.contextmanager
def _process_defaults(uri, experiment_id):
    """MLflow's model logging reads the process-wide tracking URI and active
    experiment: set them for the call, then put back what was there."""
    import mlflow

    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(uri)
    added = "MLFLOW_EXPERIMENT_ID" not in os.environ and experiment_id is not None
    if added:
        os.environ["MLFLOW_EXPERIMENT_ID"] = str(experiment_id)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if added:
            os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


class MlflowTracker:
    """Logs one kerasvision run to an MLflow tracking store.

    Every call is guarded: the first failure logs one warning line and turns
    the tracker off for the rest of the run.

    Attributes:
        uri: The tracking URI.
        experiment: The experiment's name (`MLFLOW_EXPERIMENT_NAME`, else
            "kerasvision").
        run_id: The MLflow run, once started (or the one a resumed run logs to).
        model_uri: `models:/<id>` of the logged model, once logged.

    Example:
        >>> tracker = open_tracker("mlflow", log=print)
        >>> with tracking(tracker):
        ...     tracker.start(run_info)            # params, tags
        ...     model.fit(..., callbacks=[tracker.callback()])
        ...     tracker.finish("saved_models/run")  # metrics, files, model
    """

    def __init__(self, uri: str, *, log, experiment: str | None = None):
        from mlflow import MlflowClient

        _quiet_store_logs()
        self.uri = uri
        self.log = log
        self.experiment = experiment or os.environ.get(
            "MLFLOW_EXPERIMENT_NAME", "kerasvision"
        )
        self.client = MlflowClient(tracking_uri=uri)
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.model_uri: str | None = None
        self.active = True

    # --- guarded calls ---

    def _call(self, what: str, function, *args, **kwargs):
        if not self.active:
            return None
        try:
            with _bounded_requests():
                return function(*args, **kwargs)
        except Exception as error:  # tracking must never end a run
            self.active = False
            self.log(
                f"warning: MLflow tracking stopped while {what} "
                f"({_first_line(error)}); "
                f"training goes on (the run directory keeps everything)"
            )
            return None

    # --- the run ---

    def start(self, info: dict, *, run_dir) -> dict | None:
        """Open (or reopen) the MLflow run of a kerasvision run and log its
        options as parameters.

        Args:
            info: The run's `run.json` record (`"arguments"` are logged).
            run_dir: The run directory (its name names the MLflow run).

        Returns:
            The record for `run.json`'s `"tracking"`, or None when tracking
            stopped.
        """
        self._call("starting the run", self._start, info, os.fspath(run_dir))
        if self.run_id is not None and self.active:
            self.log(f"tracking: MLflow run {self.run_id} at {self.run_url()}")
        return self.record()

    def run_url(self) -> str:
        """The MLflow UI page of the run (a server), else the store's URI."""
        if not self.uri.startswith(("http://", "https://")):
            return self.uri
        return (
            f"{self.uri.rstrip('/')}/#/experiments/{self.experiment_id}/runs/"
            f"{self.run_id}"
        )

    def _start(self, info: dict, run_dir: str) -> None:
        from mlflow.entities import Param

        if self.run_id is not None:  # a resumed run: the same MLflow run
            self.experiment_id = self.client.get_run(self.run_id).info.experiment_id
            self.client.update_run(self.run_id, status="RUNNING")
            return
        self.experiment_id = self._experiment_id()
        tags = _tags(info, run_dir)
        run = self.client.create_run(
            self.experiment_id,
            run_name=tags.get("kerasvision.run"),
            tags=tags,
        )
        self.run_id = run.info.run_id
        params = [Param(k, v) for k, v in params_of(info.get("arguments") or {})]
        for start in range(0, len(params), 100):  # MLflow's batch limit
            self.client.log_batch(self.run_id, params=params[start : start + 100])
        self.client.set_tag(self.run_id, "kerasvision.status", "running")

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id
        location = None
        if self.uri.startswith("sqlite:///"):  # beside the database, not in ./mlruns
            from pathlib import Path

            folder = os.path.dirname(os.path.abspath(self.uri[len("sqlite:///") :]))
            location = Path(folder, "artifacts").as_uri()
        try:
            return self.client.create_experiment(
                self.experiment, artifact_location=location
            )
        except Exception:  # created meanwhile by another process
            found = self.client.get_experiment_by_name(self.experiment)
            if found is None:
                raise
            return found.experiment_id

    def record(self) -> dict | None:
        """What `run.json` records of the tracking (None before `start`)."""
        if self.run_id is None:
            return None
        return {
            "tracker": "mlflow",
            "tracking_uri": self.uri,
            "experiment": self.experiment,
            "experiment_id": self.experiment_id,
            "run_id": self.run_id,
            "model_uri": self.model_uri,
        }

    def log_epoch(self, epoch: int, logs: dict | None) -> None:
        """Log one epoch's metrics (Keras's `logs`) at step `epoch` (0-based,
        as `history.csv` numbers them)."""
        metrics = _numbers(logs or {})
        if metrics and self.run_id is not None:
            self._call(f"logging epoch {epoch + 1}", self._log_metrics, metrics, epoch)

    def _log_metrics(self, metrics: dict, step: int) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        batch = [Metric(k, v, stamp, step) for k, v in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch)

    def callback(self):
        """A Keras callback that logs every epoch's metrics to this run."""
        import keras

        tracker = self

        class MlflowEpochs(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                tracker.log_epoch(epoch, logs)

        return MlflowEpochs()

    def finish(self, run_dir) -> dict | None:
        """Log the finished run: its final metrics, files and model; mark the
        MLflow run finished.

        Args:
            run_dir: The published run directory.

        Returns:
            The `"tracking"` record, also written to the run's `run.json` (with
            the model's URI), or None when tracking stopped.
        """
        if self.run_id is None:
            return None
        run_dir = os.fspath(run_dir)
        self._call("logging the final metrics", self._log_final, run_dir)
        self._call("logging the model", self._log_model, run_dir)
        if self.model_uri is not None:  # before run.json goes up as a file
            from kerasvision.runs import load_run

            load_run(run_dir).record(tracking=self.record())
        self._call("logging the run's files", self._log_files, run_dir)
        self._call("closing the run", self._end, "FINISHED")
        return self.record()

    def end(self, status: str = "FAILED") -> None:
        """Mark the MLflow run FAILED or KILLED (a run that did not finish)."""
        if self.run_id is not None:
            self._call("closing the run", self._end, status)

    def _end(self, status: str) -> None:
        self.client.set_tag(self.run_id, "kerasvision.status", status.lower())
        self.client.set_terminated(self.run_id, status=status)

    def _log_final(self, run_dir: str) -> None:
        path = os.path.join(run_dir, "metrics.json")
        if not os.path.isfile(path):
            return
        with open(path, encoding="utf-8") as stream:
            metrics = json.load(stream)
        split = metrics.get("split", "test") if isinstance(metrics, dict) else "test"
        numbers = _numbers(metrics if isinstance(metrics, dict) else {})
        numbers.pop("count", None)
        final = {f"{split}_{key}": value for key, value in numbers.items()}
        info_path = os.path.join(run_dir, "run.json")
        if os.path.isfile(info_path):
            with open(info_path, encoding="utf-8") as stream:
                info = json.load(stream)
            temperature = (info.get("calibration") or {}).get("temperature")
            if isinstance(temperature, int | float):
                final["calibration_temperature"] = float(temperature)
        if final:
            self._log_metrics(final, 0)

    def _log_files(self, run_dir: str) -> None:
        for name in sorted(os.listdir(run_dir)):
            path = os.path.join(run_dir, name)
            if name.startswith(".") or name in _SKIPPED_FILES:
                continue
            if os.path.isfile(path) and os.path.getsize(path) <= _MAX_ARTIFACT_BYTES:
                self.client.log_artifact(self.run_id, path)
        splits = os.path.join(run_dir, "splits")
        if os.path.isdir(splits):
            self.client.log_artifacts(self.run_id, splits, artifact_path="splits")

    def _log_model(self, run_dir: str) -> None:
        model_file = os.path.join(run_dir, "model.keras")
        if not os.path.isfile(model_file):
            return
        import keras
        import mlflow
        import tensorflow as tf
        from mlflow.models import Model, ModelSignature
        from mlflow.types import Schema, TensorSpec

        from kerasvision.saving import load_model

        model = load_model(model_file, compile=False)
        images = TensorSpec(_float32(), (-1, *model.input_shape[1:]))
        outputs = Schema([TensorSpec(_float32(), (-1, model.output_shape[-1]))])
        labels = os.path.join(run_dir, "labels.txt")
        metadata = {"kerasvision_run": os.path.basename(os.path.abspath(run_dir))}
        if os.path.isfile(labels):
            with open(labels, encoding="utf-8") as stream:
                metadata["class_names"] = [x.rstrip("\n") for x in stream if x.strip()]
        with _process_defaults(self.uri, self.experiment_id):
            info = Model.log(
                artifact_path=None,  # positional in MLflow 3; `name` replaces it
                name="model",
                flavor=mlflow.keras,
                model=model,
                run_id=self.run_id,
                signature=ModelSignature(Schema([images]), outputs),
                # Pinned instead of inferred: inferring loads the model in a
                # new Python process (tens of seconds with TensorFlow).
                pip_requirements=[
                    f"keras=={keras.__version__}",
                    f"tensorflow=={tf.__version__}",
                ],
                metadata=metadata,
            )
        self.model_uri = info.model_uri


@contextlib.contextmanager
def tracking(tracker):
    """Mark the tracker's MLflow run FAILED (KILLED on Ctrl-C) when the block
    raises; a None tracker does nothing."""
    try:
        yield tracker
    except BaseException as error:
        if tracker is not None:
            interrupted = isinstance(error, KeyboardInterrupt)
            tracker.end("KILLED" if interrupted else "FAILED")
        raise


def params_of(arguments: dict) -> list[tuple[str, str]]:
    """`(name, text)` of every recorded option, as MLflow parameters (lists and
    dicts as JSON, values cut to MLflow's limit)."""
    params = []
    for name, value in sorted(arguments.items()):
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        params.append((name, text[:_PARAM_LIMIT]))
    return params


def _tags(info: dict, run_dir: str) -> dict:
    model = info.get("model") or {}
    data = info.get("data") or {}
    source = data.get("source") or {}
    arguments = info.get("arguments") or {}
    tags = {
        "kerasvision.version": str(info.get("kerasvision_version", "")),
        "kerasvision.kind": str(info.get("kind", "")),
        "kerasvision.task": str(arguments.get("task") or "classification"),
        "kerasvision.model": str(model.get("backbone") or model.get("name") or ""),
        "kerasvision.data": str(
            source.get("name") or source.get("path") or source.get("kind") or ""
        ),
    }
    tags["kerasvision.run_dir"] = os.path.abspath(run_dir)
    tags["kerasvision.run"] = os.path.basename(os.path.abspath(run_dir))
    return {k: v for k, v in tags.items() if v}


def _numbers(values: dict) -> dict[str, float]:
    import math

    numbers = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)  # numpy scalars, 0-d tensors
            except (TypeError, ValueError):
                continue
        value = float(value)
        if math.isfinite(value):
            numbers[str(key)] = value
    return numbers


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _float32():
    import numpy as np

    return np.dtype("float32")
