"""`kerasvision runs`: one row per run directory, to compare runs at a glance.

Every folder under the runs folder (`saved_models/` by default, nested
folders too, e.g. a search's `best/` run) that holds a `run.json`, and every
in-progress `.<name>.partial/` folder, becomes a row: name, status, task,
model, data, epochs, the task's headline metric (`Task.headline`: test
accuracy for classifiers), wall time and date. A run that cannot be read
(a damaged `run.json`, a missing model) is a row that says so; reading never
raises for one run.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import socket
from dataclasses import asdict, dataclass

__all__ = ["RUN_COLUMNS", "SORT_KEYS", "RunRow", "format_runs", "list_runs"]

#: The columns, in order (also the CSV header and the JSON keys).
RUN_COLUMNS = (
    "name", "status", "task", "model", "data", "epochs", "metric", "value",
    "seconds", "date", "note",
)  # fmt: skip
#: What `--sort` takes.
SORT_KEYS = ("date", "name", "metric", "time", "epochs", "task", "model", "data")
#: Folders below the runs folder searched for runs (a search's `best/`...).
_MAX_DEPTH = 4


@dataclass
class RunRow:
    """One run directory, as `kerasvision runs` lists it.

    Attributes:
        name: Path relative to the runs folder (`.partial` folders by the name
            of the run they become).
        status: "complete", "running", "interrupted" (resumable), "partial",
            "incomplete" or "unreadable".
        task: The `--task` (classification, autoencoder...), "ensemble".
        model: The architecture or backbone.
        data: The dataset name or data folder's name.
        epochs: Epochs trained (for a partial run: epochs checkpointed).
        metric: The headline metric and its split, e.g. "test accuracy".
        value: Its value.
        seconds: Wall time from creation to the end (None if unknown).
        date: Creation time (ISO, to the second).
        note: Why a run is unreadable or how to continue it.
    """

    name: str
    status: str
    task: str | None = None
    model: str | None = None
    data: str | None = None
    epochs: int | None = None
    metric: str | None = None
    value: float | None = None
    seconds: float | None = None
    date: str | None = None
    note: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def list_runs(root=None, *, sort: str = "date") -> list[RunRow]:
    """Every run under `root`, one `RunRow` each.

    Args:
        root: The runs folder. Defaults to None (`saved_models`).
        sort: One of `SORT_KEYS`: "date" (newest first), "metric" (best
            first), "time" (shortest first), "epochs", or a text column
            (ascending). Rows without a value come last. Defaults to "date".

    Returns:
        The rows.

    Raises:
        FileNotFoundError: If `root` does not exist.
        ValueError: On an unknown `sort`.

    Example:
        >>> rows = list_runs("saved_models", sort="metric")
        >>> rows[0].name, rows[0].value
    """
    from kerasvision.runs import DEFAULT_RUNS_DIR

    root = os.fspath(root or DEFAULT_RUNS_DIR)
    if sort not in SORT_KEYS:
        raise ValueError(f"--sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
    if not os.path.isdir(root):
        raise FileNotFoundError(f"runs folder not found: {root}")
    rows = [_read_row(path, root) for path in _run_folders(root)]
    return _sorted(rows, sort)


def _run_folders(root: str):
    """Run folders (a `run.json`, or a `.partial` name) under `root`."""
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                if not entry.is_dir() or entry.is_symlink():
                    continue
            except OSError:
                continue
            partial = entry.name.startswith(".") and entry.name.endswith(".partial")
            if partial or os.path.lexists(os.path.join(entry.path, "run.json")):
                yield entry.path
            elif not entry.name.startswith(".") and depth < _MAX_DEPTH:
                stack.append((entry.path, depth + 1))


def _read_row(path: str, root: str) -> RunRow:
    name = os.path.relpath(path, root)
    folder, base = os.path.split(name)
    partial = base.startswith(".") and base.endswith(".partial")
    if partial:
        name = os.path.join(folder, base[1 : -len(".partial")])
    try:
        info = _read_json(os.path.join(path, "run.json"))
    except FileNotFoundError:
        info = None
    except Exception as error:  # a damaged record is a row, never a traceback
        return RunRow(name, "unreadable", note=f"run.json: {_first_line(error)}")
    if info is not None and not isinstance(info, dict):
        return RunRow(name, "unreadable", note="run.json is not a JSON object")
    try:
        row = _describe(name, path, info or {}, partial)
    except Exception as error:  # an odd but readable record
        return RunRow(name, "unreadable", note=f"run.json: {_first_line(error)}")
    return row


def _describe(name: str, path: str, info: dict, partial: bool) -> RunRow:
    arguments = info.get("arguments") if isinstance(info.get("arguments"), dict) else {}
    kind = info.get("kind", "classifier")
    task = "ensemble" if kind == "ensemble" else (
        info.get("task") or arguments.get("task") or "classification"
    )  # fmt: skip
    row = RunRow(
        name,
        _status(path, info, partial),
        task=str(task),
        model=_model(info, arguments),
        data=_data(info, arguments),
        date=str(info["created"]) if info.get("created") else None,
    )
    row.epochs = _epochs(path, info)
    row.seconds = _seconds(info)
    row.metric, row.value = _headline(path, info, task)
    if row.status == "interrupted":
        final = os.path.join(os.path.dirname(path), name.rsplit(os.sep, 1)[-1])
        row.note = f"continue: kerasvision fit --resume --output {final}"
    elif row.status == "partial" and not info:
        row.note = "no run.json yet (the run was starting)"
    elif row.status == "incomplete":
        row.note = "no model.keras" if info.get("status") == "complete" else (
            f"run.json status {info.get('status')!r}"
        )  # fmt: skip
    return row


def _status(path: str, info: dict, partial: bool) -> str:
    if partial:
        from kerasvision._process import LOCK_FILE, pid_alive, read_lock

        holder = read_lock(os.path.join(path, LOCK_FILE))
        if holder is not None and (
            holder[1] != socket.gethostname() or pid_alive(holder[0])
        ):
            return "running"
        state = os.path.join(path, "checkpoints", "state.json")
        resumable = os.path.isfile(state) and bool(info)
        return "interrupted" if resumable else "partial"
    if info.get("kind") == "ensemble" and info.get("status", "complete") == "complete":
        return "complete"
    model = os.path.isfile(os.path.join(path, "model.keras"))
    return "complete" if info.get("status") == "complete" and model else "incomplete"


def _model(info: dict, arguments: dict) -> str | None:
    if info.get("kind") == "ensemble":
        members = info.get("members")
        return f"ensemble of {len(members)}" if isinstance(members, list) else None
    model = info.get("model") if isinstance(info.get("model"), dict) else {}
    backbone = model.get("backbone") or arguments.get("backbone")
    if backbone:
        return str(backbone)
    name = model.get("name") or arguments.get("model")
    return str(name) if name else None


def _data(info: dict, arguments: dict) -> str | None:
    data = info.get("data") if isinstance(info.get("data"), dict) else {}
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    name = source.get("name") or arguments.get("dataset")
    if name:
        return str(name)
    path = source.get("path") or arguments.get("data")
    if path:
        return os.path.basename(os.path.normpath(str(path)))
    return str(source["kind"]) if source.get("kind") else None


def _epochs(path: str, info: dict) -> int | None:
    trained = info.get("epochs_trained")
    if isinstance(trained, int):
        return trained
    try:  # a partial run: its last checkpointed epoch
        state = _read_json(os.path.join(path, "checkpoints", "state.json"))
        return int(state["epoch"])
    except Exception:
        return None


def _seconds(info: dict) -> float | None:
    try:
        start = datetime.datetime.fromisoformat(str(info["created"]))
        end = datetime.datetime.fromisoformat(str(info["finished"]))
        return max(0.0, (end - start).total_seconds())
    except (KeyError, TypeError, ValueError):
        train = info.get("train_seconds")
        return float(train) if isinstance(train, int | float) else None


def _headline(path: str, info: dict, task: str) -> tuple[str | None, float | None]:
    from kerasvision.config.tasks import TASKS

    key = TASKS[task].headline if task in TASKS else "accuracy"
    metrics = info.get("metrics") if isinstance(info.get("metrics"), dict) else None
    if metrics is None or key not in metrics:
        try:
            metrics = _read_json(os.path.join(path, "metrics.json"))
        except Exception:
            metrics = None
    if not isinstance(metrics, dict) or not isinstance(metrics.get(key), int | float):
        return None, None
    split = metrics.get("split") or "test"
    return f"{split} {key}", float(metrics[key])


def _read_json(path: str):
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def _sorted(rows: list[RunRow], sort: str) -> list[RunRow]:
    attribute = {"time": "seconds", "metric": "value"}.get(sort, sort)
    present = [row for row in rows if getattr(row, attribute) is not None]
    missing = [row for row in rows if getattr(row, attribute) is None]
    newest_or_best_first = sort in ("date", "metric")
    present.sort(key=lambda row: getattr(row, attribute), reverse=newest_or_best_first)
    return present + sorted(missing, key=lambda row: row.name)


def format_runs(rows: list[RunRow], fmt: str = "table") -> str:
    """The rows as an aligned text table, CSV or JSON.

    Args:
        rows: From `list_runs`.
        fmt: "table", "csv" or "json". Defaults to "table".

    Returns:
        The text (a table says when there are no runs).
    """
    if fmt == "json":
        return json.dumps([row.to_json() for row in rows], indent=2)
    if fmt == "csv":
        stream = io.StringIO()
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(RUN_COLUMNS)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row.to_json().values()])
        return stream.getvalue().rstrip("\n")
    if fmt != "table":
        raise ValueError(f"format must be table, csv or json, got {fmt!r}")
    if not rows:
        return "no runs found"
    header = ("run", "status", "task", "model", "data", "epochs", "metric",
              "time", "date")  # fmt: skip
    table = [header] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) for cell, width in zip(line, widths, strict=True)
        ).rstrip()
        for line in table
    ]
    notes = [f"{row.name}: {row.note}" for row in rows if row.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def _cells(row: RunRow) -> tuple[str, ...]:
    metric = f"{row.metric} {row.value:.4f}" if row.value is not None else "-"
    date = row.date.replace("T", " ")[:16] if row.date else "-"
    return (
        row.name,
        row.status,
        row.task or "-",
        row.model or "-",
        row.data or "-",
        "-" if row.epochs is None else str(row.epochs),
        metric,
        _duration(row.seconds),
        date,
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
