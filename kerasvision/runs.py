"""Run directories: `RunWriter` (the only writer) and `load_run` (the reader).

A run is written to a hidden sibling `.<name>.partial/` while it trains and renamed
to `<name>/` only when everything (model, export, metrics, plots) is in place, so
a crash never leaves a half-written run under the final name and never touches an
existing one. While a process writes a partial directory it holds its lock file
(`.lock`: pid and host); a second writer fails at once naming the holder, and a
lock whose process is gone is taken over.

Layout of a finished run: `model.keras`, `serving/` (or `encoder_serving/`),
`labels.txt`, `history.csv`, `metrics.json`, `run.json`, `splits/*.txt`,
`bad_files.txt`, `checkpoints/best.keras`, plots.
"""

from __future__ import annotations

import csv
import datetime
import os
import shutil
import socket
from dataclasses import dataclass, field

from kerasvision._files import (
    check_not_overlapping,
    check_path_fits,
    read_json,
    read_marker,
    replace_path,
    save_model,
    write_error,
    write_json,
    write_marker,
    write_text,
)
from kerasvision._process import LOCK_FILE, pid_alive, take_lock
from kerasvision._process import read_lock as _read_lock

__all__ = [
    "DEFAULT_RUNS_DIR",
    "RUN_FILE",
    "Run",
    "RunWriter",
    "check_not_overlapping",
    "data_change",
    "default_run_name",
    "is_kerasvision_run",
    "is_run_dir",
    "latest_partial",
    "load_run",
    "partial_dir",
    "read_history",
    "require_classifier",
    "require_same_classes",
    "software_versions",
]

DEFAULT_RUNS_DIR = "saved_models"
RUN_FILE = "run.json"
_RESUME_FILES = ("last.keras", "state.json")


def partial_dir(final_dir) -> str:
    """Where the run destined for `final_dir` lives while it is in progress."""
    final_dir = os.path.abspath(os.fspath(final_dir))
    parent, name = os.path.split(final_dir.rstrip(os.sep))
    return os.path.join(parent, f".{name}.partial")


def default_run_name(label: str, source: dict) -> str:
    """`<label>-<data>-<YYYYmmdd-HHMMSS>` for a run without `--output`."""
    data = source.get("name") or os.path.basename(source.get("path", "")) or "arrays"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{label}-{data}-{stamp}"


def latest_partial(runs_dir=DEFAULT_RUNS_DIR) -> str | None:
    """The final path of the most recent interrupted run in `runs_dir`, or None."""
    if not os.path.isdir(runs_dir):
        return None
    candidates = [
        os.path.join(runs_dir, name)
        for name in os.listdir(runs_dir)
        if name.startswith(".") and name.endswith(".partial")
    ]
    candidates = [c for c in candidates if os.path.isfile(os.path.join(c, RUN_FILE))]
    if not candidates:
        return None
    latest = max(candidates, key=os.path.getmtime)
    name = os.path.basename(latest)[1 : -len(".partial")]
    return os.path.join(runs_dir, name)


def software_versions() -> dict:
    """Versions of kerasvision, Python and the libraries, for `run.json`."""
    import platform

    import keras
    import matplotlib
    import numpy as np
    import sklearn
    import tensorflow as tf

    from kerasvision import __version__

    return {
        "kerasvision": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "platform": platform.platform(),
    }


def read_history(path) -> dict[str, list[float]]:
    """`history.csv` as `{"loss": [...], "val_accuracy": [...], ...}` (no epoch)."""
    history: dict[str, list[float]] = {}
    if not os.path.isfile(path):
        return history
    with open(path, encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            for key, value in row.items():
                if key == "epoch":
                    continue
                try:
                    history.setdefault(key, []).append(float(value))
                except (TypeError, ValueError):
                    continue
    # Keras's CSVLogger writes "NA" val_ columns for a run without validation.
    return {key: values for key, values in history.items() if values}


def is_run_dir(path) -> bool:
    """Whether `path` is a folder kerasvision wrote as a run (run.json + model)."""
    path = os.fspath(path)
    return (
        os.path.isdir(path)
        and not os.path.islink(path)
        and os.path.isfile(os.path.join(path, RUN_FILE))
        and os.path.isfile(os.path.join(path, "model.keras"))
    )


def _recorded_by_kerasvision(info) -> bool:
    """Whether a `run.json` has the structure only kerasvision writes (runs
    from before the ownership marker): its version, creation time and either
    the recorded arguments and library versions, or an ensemble's members."""
    if not isinstance(info, dict):
        return False
    if not (isinstance(info.get("kerasvision_version"), str) and "created" in info):
        return False
    if info.get("kind") == "ensemble":
        return isinstance(info.get("members"), list)
    versions = info.get("versions")
    return (
        isinstance(info.get("arguments"), dict)
        and isinstance(versions, dict)
        and "kerasvision" in versions
    )


def is_kerasvision_run(path) -> bool:
    """Whether `path` is a finished run kerasvision wrote, i.e. safe to replace
    with `--overwrite`: a run folder holding the run marker
    (`kerasvision._files.write_marker`), or one from before the marker whose
    `run.json` has kerasvision's structure and whose model is a `.keras` archive.
    A user's folder that merely holds a `run.json` and a `model.keras` is not.
    """
    if not is_run_dir(path):
        return False
    if read_marker(path, "run") is not None:
        return True
    try:
        with open(os.path.join(path, "model.keras"), "rb") as stream:
            if stream.read(4) != b"PK\x03\x04":
                return False
        info = read_json(os.path.join(path, RUN_FILE))
    except (OSError, ValueError):
        return False
    return _recorded_by_kerasvision(info)


# === Locking ===


def _take_lock(folder: str) -> str:
    """Create `folder/.lock` for this process (`kerasvision._process.take_lock`);
    a live holder is a `ValueError`, a failure to write a `WriteError`."""
    try:
        return take_lock(folder)
    except OSError as error:
        raise write_error(error, os.path.join(folder, LOCK_FILE)) from None


def _check_writable(path: str) -> None:
    """`WriteError` when the nearest existing ancestor of `path` cannot take it."""
    import errno

    blocker = os.path.dirname(path)
    while blocker and not os.path.exists(blocker):
        blocker = os.path.dirname(blocker)
    if not blocker:
        return
    if not os.path.isdir(blocker):
        code = errno.ENOTDIR
    elif not os.access(blocker, os.W_OK):
        read_only = os.statvfs(blocker).f_flag & os.ST_RDONLY
        code = errno.EROFS if read_only else errno.EACCES
    else:
        return
    raise write_error(OSError(code, os.strerror(code), path), path)


def _checked_state(state, writer) -> dict:
    """The checkpoint state of an interrupted run, its epoch an integer >= 0."""
    epoch = state.get("epoch") if isinstance(state, dict) else None
    try:
        valid = int(epoch) >= 0 and float(epoch) == int(epoch)
    except (TypeError, ValueError, OverflowError):
        valid = False
    if not valid:
        raise ValueError(
            f"{writer.state_file} is damaged (epoch {epoch!r}); delete "
            f"{writer.path} to start again"
        )
    return state


# === Writer ===


class RunWriter:
    """Writes one run directory: partial folder, lock, record, checkpoints, publish.

    Create it with `RunWriter.plan(...)` (checks only) then `open()`, or with
    `RunWriter.create(...)` (both); continue an interrupted run with
    `RunWriter.resume(...)`. Files go into `path` (the partial folder) until
    `publish()` renames it to `final_dir`.

    Example:
        >>> with RunWriter.create("saved_models/my-run") as run:
        ...     run.record({"kind": "classifier"})
        ...     run.save_model(model)
        ...     run.publish()
    """

    def __init__(self, final_dir, *, overwrite: bool = False):
        self.final_dir = os.path.abspath(os.fspath(final_dir))
        self.path = partial_dir(self.final_dir)
        self.overwrite = overwrite
        self.info: dict = {}
        self.state: dict | None = None  # the checkpoint state when resuming
        self._lock: str | None = None

    # --- construction ---

    @classmethod
    def plan(
        cls, output, *, overwrite: bool = False, data_dir=None, inputs=()
    ) -> RunWriter:
        """Check that a new run can be written at `output`; creates nothing.

        Args:
            output: The run directory.
            overwrite: Replace a finished kerasvision run at `output` (anything
                else there is never replaced). Defaults to False.
            data_dir: The data folder, which must neither contain nor lie inside
                `output`. Defaults to None.
            inputs: Runs this one is made from (an ensemble's members, the run
                rerun), which `output` must neither be nor contain. Defaults to ().

        Raises:
            ValueError: If `output` exists (without `overwrite`, or is not a
                kerasvision run), overlaps the data folder or an input run, is
                too long, an interrupted run is there or another process writes it.
            WriteError: If its folder is read-only or under a regular file.
        """
        writer = cls(output, overwrite=overwrite)
        check_path_fits(writer.path)
        if data_dir is not None:
            check_not_overlapping(writer.final_dir, data_dir, what="--output")
        for run in inputs:
            run = os.path.realpath(os.fspath(getattr(run, "path", run)))
            final = os.path.realpath(writer.final_dir)
            if final == run or run.startswith(final + os.sep):
                raise ValueError(
                    f"--output {writer.final_dir} is (or contains) the input run "
                    f"{run}; choose another --output"
                )
        writer._check_new()
        return writer

    @classmethod
    def create(cls, output, *, overwrite: bool = False, data_dir=None) -> RunWriter:
        """`plan` then `open`."""
        return cls.plan(output, overwrite=overwrite, data_dir=data_dir).open()

    @classmethod
    def resume(cls, output=None, *, runs_dir=DEFAULT_RUNS_DIR) -> RunWriter:
        """Reopen the interrupted run at `output` (or the latest in `runs_dir`).

        Raises:
            ValueError: If there is nothing to resume there.
        """
        final_dir = output or latest_partial(runs_dir)
        if final_dir is None:
            raise ValueError(
                f"--resume: no interrupted run found in {runs_dir}/; pass --output "
                f"RUN_DIR"
            )
        writer = cls(final_dir)
        if not writer.resumable:
            if os.path.isfile(os.path.join(writer.final_dir, RUN_FILE)):
                raise ValueError(
                    f"--resume: run {writer.final_dir} already finished; nothing to "
                    f"resume"
                )
            raise ValueError(
                f"--resume: {writer.final_dir} is not an interrupted kerasvision run "
                f"(no checkpoint from a finished epoch)"
            )
        writer._lock = _take_lock(writer.path)
        try:
            writer.info = read_json(os.path.join(writer.path, RUN_FILE))
            writer.state = _checked_state(read_json(writer.state_file), writer)
        except BaseException:
            writer.close()
            raise
        return writer

    def _check_new(self) -> None:
        if os.path.lexists(self.final_dir):
            if not self.overwrite:
                raise ValueError(
                    f"output {self.final_dir} already exists; choose another --output "
                    f"or pass --overwrite"
                )
            if not is_kerasvision_run(self.final_dir):
                raise ValueError(
                    f"--overwrite replaces only a kerasvision run, and "
                    f"{self.final_dir} is not one; choose another --output"
                )
        if os.path.exists(self.path):
            holder = _read_lock(os.path.join(self.path, LOCK_FILE))
            if holder is not None and holder[0] != os.getpid():
                alive = holder[1] != socket.gethostname() or pid_alive(holder[0])
                if alive:
                    raise ValueError(
                        f"run {self.final_dir} is being written by process "
                        f"{holder[0]} on {holder[1]}; wait for it or choose another "
                        f"--output"
                    )
            if self.resumable:
                raise ValueError(
                    f"an interrupted run exists at {self.path}; continue it with "
                    f"--resume or delete that folder"
                )
        _check_writable(self.path)

    def open(self, *, checkpoints: bool = True) -> RunWriter:
        """Create the partial folder (a leftover without a checkpoint is replaced).

        Args:
            checkpoints: Create `checkpoints/` too. Defaults to True.

        Raises:
            ValueError: As `plan`.
            WriteError: If the folder cannot be created.
        """
        self._check_new()
        if os.path.exists(self.path):
            # Failed before finishing an epoch: nothing there can be resumed.
            shutil.rmtree(self.path)
        try:
            os.makedirs(self.checkpoint_dir if checkpoints else self.path)
        except OSError as error:
            raise write_error(error, self.path) from None
        try:
            self._lock = _take_lock(self.path)
            write_marker(self.path, "run")
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        return self

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        holds = self._lock is not None
        self.close()
        if exc_type is not None and holds and not self.resumable:
            # Failed before finishing an epoch (a full disk, a bad option found
            # late, Ctrl-C): nothing there can be resumed, so leave nothing.
            shutil.rmtree(self.path, ignore_errors=True)

    def close(self) -> None:
        """Release the lock (the partial folder stays, e.g. for `--resume`)."""
        if self._lock is not None:
            if os.path.exists(self._lock):
                os.unlink(self._lock)
            self._lock = None

    # --- paths ---

    def file(self, *names) -> str:
        """Path of a file inside the run being written."""
        return os.path.join(self.path, *names)

    @property
    def checkpoint_dir(self) -> str:
        return self.file("checkpoints")

    @property
    def state_file(self) -> str:
        return self.file("checkpoints", "state.json")

    @property
    def history_file(self) -> str:
        return self.file("history.csv")

    @property
    def resumable(self) -> bool:
        """Whether the partial folder holds a checkpoint of a finished epoch."""
        return os.path.isfile(self.state_file) and os.path.isfile(self.file(RUN_FILE))

    # --- writing ---

    def write_text(self, name: str, text: str) -> str:
        path = self.file(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_text(path, text)
        return path

    def write_json(self, name: str, payload) -> str:
        path = self.file(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json(path, payload)
        return path

    def record(self, info: dict | None = None, **fields) -> dict:
        """Merge into the run record and (re)write `run.json`."""
        self.info.update(info or {}, **fields)
        self.write_json(RUN_FILE, self.info)
        return self.info

    def write_data(self, data) -> None:
        """`labels.txt`, `splits/*.txt` and `bad_files.txt` of an `ImageData`
        (or `SegmentationData`)."""
        self.write_text("labels.txt", "\n".join(data.class_names) + "\n")
        for name, items in data.split_record().items():
            if isinstance(items, list):
                self.write_text(
                    os.path.join("splits", f"{name}.txt"),
                    "".join(f"{item}\n" for item in items),
                )
        if data.bad_files:
            self.write_text(
                "bad_files.txt",
                "".join(f"{path}\t{reason}\n" for path, reason in data.bad_files),
            )
        for name, text in getattr(data, "run_files", dict)().items():
            self.write_text(name, text)  # bad_rows.txt, an in-memory labels.csv

    def save_model(self, model, name: str = "model.keras") -> str:
        """Save a `.keras` file into the run atomically, for inference: without
        the training state (`kerasvision.saving.inference_model`), so plain
        Keras loads it; checkpoints keep it."""
        from kerasvision.saving import inference_model

        path = self.file(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        save_model(inference_model(model), path)
        return path

    def save_checkpoint(self, model, state: dict) -> None:
        """`checkpoints/last.keras` and `checkpoints/state.json` (resume point)."""
        save_model(model, self.file("checkpoints", "last.keras"))
        write_json(self.state_file, state)

    def read_history(self) -> dict[str, list[float]]:
        return read_history(self.history_file)

    def truncate_history(self, epochs_done: int) -> None:
        """Keep the header and the rows of the first `epochs_done` epochs."""
        if not os.path.isfile(self.history_file):
            return
        with open(self.history_file, encoding="utf-8", newline="") as stream:
            lines = stream.readlines()
        if not lines:
            return
        kept = [lines[0]] + [
            line
            for line in lines[1:]
            if line.strip() and int(line.split(",")[0]) < epochs_done
        ]
        write_text(self.history_file, "".join(kept))

    def publish(self) -> str:
        """Rename the finished run into place (an old run there is replaced last)."""
        for leftover in _RESUME_FILES:
            path = self.file("checkpoints", leftover)
            if os.path.exists(path):
                os.remove(path)
        self.close()
        replace_path(self.path, self.final_dir)
        return self.final_dir


# === Reader ===


@dataclass
class Run:
    """A finished run directory, loaded.

    Attributes:
        path: The run directory.
        info: Contents of `run.json`.
        class_names: Labels in output order (`labels.txt`).
    """

    path: str
    info: dict
    class_names: list[str]
    _model: object = field(default=None, repr=False)
    #: Set by `data()`: one line naming what changed in the run's data since
    #: it trained (`data_change`), or None.
    data_warning: str | None = field(default=None, repr=False)

    @property
    def model(self):
        """The trained Keras model (`model.keras`), loaded on first use for
        inference (without its optimizer).

        Raises:
            ValueError: If `model.keras` is damaged, or `labels.txt` does not
                name one class per output of a classifier.
        """
        if self._model is None:
            from kerasvision.saving import load_model

            model = load_model(os.path.join(self.path, "model.keras"), compile=False)
            if self.kind != "autoencoder":
                units = int(model.outputs[0].shape[-1])
                classes = len(self.class_names)
                if classes != (2 if units == 1 else units):
                    raise ValueError(
                        f"{os.path.join(self.path, 'labels.txt')} names {classes} "
                        f"classes but the model has {units} output(s)"
                        + (" (a binary head: 2 classes)" if units == 1 else "")
                    )
            self._model = model
        return self._model

    @property
    def kind(self) -> str:
        """ "classifier", "autoencoder" or "ensemble"."""
        return self.info.get("kind", "classifier")

    @property
    def image_size(self) -> tuple[int, int]:
        height, width = self.info["data"]["image_size"]
        return int(height), int(width)

    @property
    def channels(self) -> int:
        return int(self.info["data"]["channels"])

    @property
    def resize(self) -> str:
        return self.info["data"].get("resize", "stretch")

    @property
    def temperature(self) -> float | list[float]:
        """The fitted temperature ("calibration" in `run.json`); 1.0 for runs
        without one (older runs, `--no-calibrate`); a multi-label run's is a
        list, one per label ("temperatures")."""
        calibration = self.info.get("calibration") or {}
        if calibration.get("temperatures") is not None:
            return [float(t) for t in calibration["temperatures"]]
        return float(calibration.get("temperature") or 1.0)

    def record(self, **fields) -> dict:
        """Merge `fields` into this finished run's `run.json` (atomic rewrite),
        e.g. the checks of a later export."""
        self.info.update(fields)
        write_json(os.path.join(self.path, RUN_FILE), self.info)
        return self.info

    def history(self) -> dict[str, list[float]]:
        return read_history(os.path.join(self.path, "history.csv"))

    def update_metrics(self, **fields) -> dict:
        """Merge `fields` into this run's `metrics.json` (atomic rewrite)."""
        metrics = {**self.metrics(), **fields}
        write_json(os.path.join(self.path, "metrics.json"), metrics)
        return metrics

    def metrics(self) -> dict:
        path = os.path.join(self.path, "metrics.json")
        return read_json(path) if os.path.isfile(path) else {}

    def load_images(self, inputs, *, on_bad_file=None):
        """`(paths, float32 images)` decoded and resized as the run's training data."""
        from kerasvision.data.images import load_images

        return load_images(
            inputs,
            image_size=self.image_size,
            channels=self.channels,
            resize=self.resize,
            on_bad_file=on_bad_file,
        )

    def data(self, data_dir=None):
        """The run's data: its recorded split, or all of `data_dir` as "test".

        Args:
            data_dir: Data to evaluate on (`evaluation_data`): a folder per
                class, a pre-split folder (its test, else val, folder) or a CSV
                of labels; its classes must be among the run's. Defaults to
                None (the run's own data, rebuilt from its record).

        Returns:
            An `ImageData`.
        """
        from kerasvision.data.sources import evaluation_data, load_recorded

        common = {
            "image_size": self.image_size,
            "channels": self.channels,
            "resize": self.resize,
        }
        if data_dir is not None:  # a folder, a pre-split folder or a CSV
            return evaluation_data(data_dir, self.class_names, **common)
        source = self.info["data"].get("source") or {}
        split = self.info.get("split")
        if not isinstance(split, dict) or "kind" not in source:
            raise ValueError(
                f"{os.path.join(self.path, RUN_FILE)} records no data source or "
                f"split; give a data folder to evaluate the run on"
            )
        data = load_recorded(
            source, split, run_dir=self.path, class_names=self.class_names, **common
        )
        self.data_warning = data_change(self, data)
        return data

    def sample_images(self, count: int = 16):
        """Up to `count` test (else val/train) images of the run's data, or None."""
        import numpy as np

        try:
            data = self.data()
        except (ValueError, FileNotFoundError, RuntimeError):
            return None
        for split in ("test", "val", "train"):
            if len(data.splits[split]):
                batches = data.dataset(split, batch_size=count, include_labels=False)
                return np.asarray(next(iter(batches)))
        return None


def _read_digests(path: str) -> dict[str, str] | None:
    try:
        with open(path, encoding="utf-8") as stream:
            rows = [line.rstrip("\n").split("  ", 1) for line in stream]
    except (OSError, ValueError):
        return None
    return {row[1]: row[0] for row in rows if len(row) == 2}


def data_change(run: Run, data) -> str | None:
    """One line naming the files of `run`'s data that changed, went missing or
    were added since it trained (its recorded fingerprint and `digests.txt`),
    or None when the data still matches (or nothing was recorded to compare).

    Args:
        run: A finished run.
        data: The run's data as loaded now (an `ImageData`).
    """
    from kerasvision.data.pipeline import DIGESTS_FILE

    recorded = (run.info.get("data") or {}).get("fingerprint")
    if not recorded or not data.fingerprint or recorded == data.fingerprint:
        return None
    where = f"the data of run {run.path} changed since it trained"
    old = _read_digests(os.path.join(run.path, DIGESTS_FILE))
    new = getattr(data, "file_digests", None) or {}
    if old is None:  # a run from before digests.txt
        return (
            f"warning: {where} (its fingerprint differs); results describe other files"
        )
    changed = sorted(p for p in old.keys() & new.keys() if old[p] != new[p])
    missing, added = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
    counts = [
        f"{len(names)} {what}"
        for names, what in ((changed, "changed"), (missing, "missing"), (added, "new"))
        if names
    ]
    named = (changed + missing + added)[:5]
    more = ", ..." if len(changed) + len(missing) + len(added) > len(named) else ""
    detail = f"{', '.join(counts)}: {', '.join(named)}{more}" if counts else "bad files"
    return f"warning: {where} ({detail}); results describe other files"


def require_classifier(run: Run) -> Run:
    """`ValueError` unless `run` is a classifier run (not an autoencoder run)."""
    if run.kind == "autoencoder":
        raise ValueError(
            f"{run.path} is an autoencoder run ({run.info.get('task')}); use "
            f"`kerasvision encode` or its encoder_serving/ SavedModel"
        )
    return run


def require_same_classes(runs, role: str = "") -> None:
    """`ValueError` naming both runs unless every run has the first's classes
    (`role`, e.g. "teacher ", leads the message)."""
    first = runs[0]
    for run in runs[1:]:
        if run.class_names != first.class_names:
            raise ValueError(
                f"{role}{run.path} has classes {run.class_names}, {first.path} "
                f"has {first.class_names}"
            )


def load_run(path) -> Run:
    """Open a finished run directory.

    Raises:
        FileNotFoundError: If the folder does not exist.
        ValueError: If it is not a finished kerasvision run.
    """
    if isinstance(path, Run):
        return path
    path = os.path.abspath(os.fspath(path))
    if not os.path.isdir(path):
        if os.path.isdir(partial_dir(path)):
            raise ValueError(
                f"run {path} did not finish; continue it with "
                f"`kerasvision fit --resume --output {path}`"
            )
        raise FileNotFoundError(f"run directory not found: {path}")
    run_file = os.path.join(path, RUN_FILE)
    if not os.path.isfile(run_file) or not os.path.isfile(
        os.path.join(path, "model.keras")
    ):
        raise ValueError(f"{path} is not a kerasvision run (no run.json/model.keras)")
    info = read_json(run_file)
    data = info.get("data") if isinstance(info, dict) else None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("image_size"), list)
        and isinstance(data.get("channels"), int)
    ):
        raise ValueError(
            f"{run_file} has no data record (image size, channels): not a complete "
            f"kerasvision run"
        )
    labels = os.path.join(path, "labels.txt")
    class_names = []
    if os.path.isfile(labels):  # autoencoder runs on unlabelled data have none
        with open(labels, encoding="utf-8") as stream:
            class_names = [line.rstrip("\n") for line in stream if line.strip()]
    return Run(path=path, info=info, class_names=class_names)
