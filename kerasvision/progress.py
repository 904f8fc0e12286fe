"""Progress and timing of long steps: one owner for both.

Every step that can take more than a few seconds (reading a folder, extracting
features, an epoch, evaluating, calibrating, exporting, predicting over a
folder, doctor, review, lr-find, ensembles) runs inside a `Progress`:

- on a terminal, a bar redrawn in place on stderr (counts, elapsed time and
  what is left when the step knows its total);
- otherwise, a line at least every `INTERVAL` seconds. A background heartbeat
  prints it, so a step whose work is one long call (a TensorFlow graph, a
  SavedModel export) still reports; when nothing was printed for a whole
  interval the line says how far the step is.

`StepTimes` records each step's seconds for `run.json` ("step_seconds").
Only the standard library is imported here (the CLI imports it before
TensorFlow).

Example:
    >>> with Progress("predicting", total=len(paths), unit="images") as progress:
    ...     for batch in batches:
    ...         progress.update(len(batch))
"""

from __future__ import annotations

import sys
import threading
import time

__all__ = [
    "INTERVAL",
    "Progress",
    "StepTimes",
    "batch_callback",
    "current",
    "keras_callbacks",
    "reported",
    "stderr_line",
]

#: Longest silence (seconds) of a step when stderr is not a terminal.
INTERVAL = 10.0

_LOCK = threading.RLock()
_ACTIVE: list[Progress] = []  # innermost last; only it reports
_LAST_LINE = [0.0]  # monotonic time of the last progress line written


def stderr_line(line: str) -> None:
    """The default log: one line on stderr, flushed."""
    print(line, file=sys.stderr, flush=True)
    _LAST_LINE[0] = time.monotonic()


def current() -> Progress | None:
    """The innermost running `Progress`, or None."""
    with _LOCK:
        return _ACTIVE[-1] if _ACTIVE else None


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s"


class Progress:
    """One step's progress: call `update(n)` as work completes (optional).

    Args:
        label: What the step does, e.g. "extracting features".
        total: Units of work, when known. Defaults to None.
        unit: What is counted ("images", "batches", ...). Defaults to "".
        log: Receives the lines. Defaults to None (the enclosing step's log,
            else `stderr_line`).
        bar: Redraw a bar in place on stderr instead of lines. Defaults to None
            (when lines go to stderr and it is a terminal).
        announce: Write "label ..." when the step starts. Defaults to False.
        interval: Longest silence in seconds. Defaults to None (`INTERVAL`).
        enabled: False makes it a timer only. Defaults to True.
        on_close: Called with the step's seconds when it ends. Defaults to
            None.
        done_line: After lines, end with "label: done in N s" (when the caller
            prints no result line of its own). Defaults to True.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "",
        log=None,
        bar: bool | None = None,
        announce: bool = False,
        interval: float | None = None,
        enabled: bool = True,
        on_close=None,
        done_line: bool = True,
    ):
        outer = current()
        self.label = label
        self.total = None if total is None else int(total)
        self.unit = unit
        self.log = log or (outer.log if outer is not None else stderr_line)
        if bar is None:
            bar = self.log is stderr_line and _isatty()
        self.bar = bool(bar) and enabled
        self.announce = announce
        self.interval = float(INTERVAL if interval is None else interval)
        self.enabled = enabled
        self.on_close = on_close
        self.done_line = done_line
        self.done = 0
        self.detail = ""  # extra text of the next line, e.g. the running loss
        self.started = None
        self.seconds = 0.0
        self._lines = 0
        self._drawn = 0.0
        self._stop = threading.Event()
        self._thread = None

    # --- use ---

    def __enter__(self) -> Progress:
        return self.start()

    def __exit__(self, exc_type, *exc_info) -> None:
        self.close(failed=exc_type is not None)

    def start(self) -> Progress:
        self.started = time.monotonic()
        if not self.enabled:
            return self
        with _LOCK:
            _ACTIVE.append(self)
        if self.announce and not self.bar:
            self._write(self._line(start=True))
        self._thread = threading.Thread(
            target=self._heartbeat, name=f"progress: {self.label}", daemon=True
        )
        self._thread.start()
        return self

    def update(self, count: int = 1, *, detail: str | None = None) -> None:
        """`count` more units done (and the detail shown with the next line)."""
        self.done += int(count)
        if detail is not None:
            self.detail = detail
        if self.bar and time.monotonic() - self._drawn >= 0.2:
            self._draw()

    def close(self, *, failed: bool = False) -> float:
        """Stop reporting; returns the step's seconds (closing twice is a no-op)."""
        if self.started is None or self._stop.is_set():
            return self.seconds
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.seconds = time.monotonic() - self.started
        with _LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)
        if self.on_close is not None:
            self.on_close(self.seconds)
        if not self.enabled:
            return self.seconds
        if self.bar and self._drawn:
            if failed:
                sys.stderr.write("\n")
                sys.stderr.flush()
            else:
                self._draw(final=True)
        elif failed or not self.done_line:
            return self.seconds
        elif self._lines and self.seconds >= self.interval:
            self._write(f"{self.label}: done in {_duration(self.seconds)}")
        return self.seconds

    # --- drawing ---

    def _heartbeat(self) -> None:
        tick = 0.5 if self.bar else min(1.0, self.interval / 4)
        while not self._stop.wait(tick):
            now = time.monotonic()
            with _LOCK:
                innermost = _ACTIVE and _ACTIVE[-1] is self
                silent = now - _LAST_LINE[0]
            if not innermost:
                continue
            if self.bar:
                if now - self.started >= 1.0:
                    self._draw()
            elif silent >= self.interval and now - self.started >= self.interval:
                self._write(self._line())

    def _counts(self) -> str:
        if self.total:
            share = min(1.0, self.done / self.total)
            return f"{self.done:,}/{self.total:,} {self.unit}".rstrip() + (
                f" ({share:.0%})"
            )
        if self.done:
            return f"{self.done:,} {self.unit}".rstrip()
        return ""

    def _left(self, elapsed: float) -> str:
        if not self.total or not self.done or self.done >= self.total:
            return ""
        rate = self.done / max(elapsed, 1e-9)
        return f", about {_duration((self.total - self.done) / rate)} left"

    def _line(self, *, start: bool = False) -> str:
        if start:
            return f"{self.label} ..."
        elapsed = time.monotonic() - self.started
        parts = [p for p in (self._counts(), self.detail) if p]
        where = (", ".join(parts) + ", ") if parts else "still running, "
        return f"{self.label}: {where}{_duration(elapsed)}{self._left(elapsed)}"

    def _write(self, line: str) -> None:
        with _LOCK:
            self.log(line)
            self._lines += 1
            _LAST_LINE[0] = time.monotonic()

    def _draw(self, *, final: bool = False) -> None:
        now = time.monotonic()
        elapsed = now - self.started
        if self.total:
            share = min(1.0, self.done / self.total)
            filled = int(round(24 * share))
            gauge = "[" + "#" * filled + "." * (24 - filled) + "] "
        else:
            gauge = ""
        counts = self._counts()
        text = f"{self.label} {gauge}{counts + ' ' if counts else ''}"
        text += (
            _duration(elapsed) if final else (_duration(elapsed) + self._left(elapsed))
        )
        if self.detail:
            text += f" {self.detail}"
        with _LOCK:
            sys.stderr.write("\r\x1b[K" + text + ("\n" if final else ""))
            sys.stderr.flush()
            self._drawn = now
            _LAST_LINE[0] = now


def _isatty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class StepTimes:
    """Each step's seconds, in the order run, for `run.json` ("step_seconds").

    Example:
        >>> times = StepTimes(log)
        >>> with times.step("evaluate", "evaluating on 40 test images"):
        ...     ...
        >>> times.to_json()
        {'evaluate': 1.234}
    """

    def __init__(self, log=None, *, bar: bool | None = None, enabled: bool = True):
        self.log = log
        self.bar = bar
        self.enabled = enabled
        self.seconds: dict[str, float] = {}

    def step(self, name: str, label: str, total=None, *, unit="", announce=True):
        """A `Progress` (use it in a `with`) whose seconds are recorded under
        `name` when it ends."""
        return Progress(
            label, total, unit=unit, log=self.log, bar=self.bar, announce=announce,
            enabled=self.enabled, on_close=lambda seconds: self.add(name, seconds),
        )  # fmt: skip

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + float(seconds)

    def to_json(self) -> dict[str, float]:
        return {name: round(value, 3) for name, value in self.seconds.items()}


def batch_callback(progress: Progress | None, batch_size: int | None = None):
    """A Keras callback counting `model.predict` / `evaluate` batches into
    `progress` (images when `batch_size` is given); None gives None."""
    if progress is None:
        return None
    import keras

    class _Batches(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            progress.update(_count(logs, batch_size))

        def on_test_batch_end(self, batch, logs=None):
            progress.update(_count(logs, batch_size))

    return _Batches()


def reported(label: str, *, unit: str = "images"):
    """Decorator: run the function inside a `Progress(label)` (its Keras
    predictions count through `keras_callbacks`).

    Example:
        >>> @reported("evaluating")
        ... def evaluate(run): ...
    """
    import functools

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with Progress(label, unit=unit):
                return function(*args, **kwargs)

        return wrapper

    return decorate


def keras_callbacks() -> list:
    """`[batch_callback(current())]` inside a running step, else `[]`: pass
    to `model.predict(..., callbacks=...)` so its batches count in the step."""
    progress = current()
    return [] if progress is None else [batch_callback(progress)]


def _count(logs, batch_size) -> int:
    outputs = (logs or {}).get("outputs")
    if isinstance(outputs, list | tuple) and outputs:
        outputs = outputs[0]
    shape = getattr(outputs, "shape", None)
    if shape is not None and len(shape):
        return int(shape[0])
    return int(batch_size or 1)
