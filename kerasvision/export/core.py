"""The stage-and-check core every export goes through.

Every format is written into a temporary folder or file beside its destination,
checked there (reloaded, deterministic, within a tolerance of `model.predict`),
and only then moved into place (`stage_and_check`); a failed check leaves the
destination as it was. While it is written the destination is locked
(`claimed`: the run directories' lock, `kerasvision.runs`), so a second export
to the same path fails at once naming the first.

Only what kerasvision wrote is ever replaced (`is_export`): export folders hold
a small marker file (`MARKER_FILE`), an ONNX file a `metadata_props` entry
(`ONNX_MARKER_KEY`).

TensorFlow, Keras and the optional converters are imported inside functions:
importing `kerasvision.export` stays light (the CLI reads the format registry).
"""

from __future__ import annotations

import contextlib
import os
import socket

import numpy as np

from kerasvision._files import (
    WriteError,
    made_dirs,
    staged_dir,
    staged_file,
    write_error,
    write_json,
)

__all__ = [
    "MARKER_FILE",
    "ONNX_MARKER_KEY",
    "ExportError",
    "archive",
    "check_destination",
    "check_images",
    "claimed",
    "class_names_for",
    "destination_lock",
    "deterministic",
    "input_shape",
    "is_export",
    "marker",
    "one_line",
    "onnx_metadata",
    "pixels_spec",
    "require_packages",
    "stage_and_check",
    "two_columns",
    "within",
    "write_marker",
]

#: The file inside every export folder kerasvision writes (SavedModel, encoder,
#: LiteRT): what makes `is_export` true, so `--overwrite` replaces only these.
MARKER_FILE = ".kerasvision-export.json"
#: The `metadata_props` key of every ONNX file kerasvision writes.
ONNX_MARKER_KEY = "kerasvision_export"
#: What a run directory held as exports before the marker existed.
_LEGACY_FILES = ("saved_model.pb", "model.tflite")


class ExportError(RuntimeError):
    """The export does not reproduce the Keras model (or cannot be written)."""


# === Which paths are ours ===


def marker(format: str) -> dict:
    """The marker's content: format and the kerasvision version that wrote it."""
    from kerasvision import __version__

    return {"format": format, "kerasvision": __version__}


def write_marker(folder: str, format: str) -> None:
    write_json(os.path.join(folder, MARKER_FILE), marker(format))


def _varint(stream) -> int | None:
    value = 0
    for shift in range(0, 70, 7):
        byte = stream.read(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
    return None


def _key_value(entry: bytes) -> tuple[str, str]:
    """A `StringStringEntryProto` (key = 1, value = 2) from its bytes."""
    import io

    stream, found = io.BytesIO(entry), {1: b"", 2: b""}
    while (key := _varint(stream)) is not None:
        if key & 7 != 2:
            break
        size = _varint(stream) or 0
        found[key >> 3] = stream.read(size)
    return found[1].decode("utf-8", "replace"), found[2].decode("utf-8", "replace")


def onnx_metadata(path) -> dict[str, str]:
    """`metadata_props` of an ONNX file, read without the `onnx` package.

    Walks the top-level fields of the `ModelProto` (field 14 is
    `metadata_props`), skipping the graph and its weights unread; anything that
    is not a protobuf gives what was found so far (often `{}`).
    """
    found: dict[str, str] = {}
    with open(os.fspath(path), "rb") as stream:
        while (key := _varint(stream)) is not None:
            field, wire = key >> 3, key & 7
            if wire == 0:
                _varint(stream)
            elif wire in (1, 5):
                stream.seek(8 if wire == 1 else 4, os.SEEK_CUR)
            elif wire == 2:
                size = _varint(stream)
                if size is None:
                    break
                if field == 14 and size <= 1 << 20:
                    name, value = _key_value(stream.read(size))
                    found[name] = value
                else:
                    stream.seek(size, os.SEEK_CUR)
            else:
                break
    return found


def _legacy_export(path: str) -> bool:
    """An export that a run directory holds from before the marker existed."""
    from kerasvision.runs import is_run_dir

    if not is_run_dir(os.path.dirname(path)):
        return False
    if os.path.isdir(path):
        return any(os.path.isfile(os.path.join(path, n)) for n in _LEGACY_FILES)
    return path.endswith(".onnx") and os.path.isfile(path)


def is_export(path) -> bool:
    """Whether `path` is something kerasvision exported, i.e. safe to replace.

    An export folder (SavedModel, encoder, LiteRT) holds `MARKER_FILE`; an
    ONNX file carries `ONNX_MARKER_KEY` in its metadata. Exports inside a run
    directory written before the marker existed count too (the run directory
    is kerasvision's). A user's folder holding a `saved_model.pb`, or a user's
    `model.onnx`, is not an export.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, MARKER_FILE)):
            return True
    elif os.path.isfile(path) and path.endswith(".onnx"):
        try:
            if ONNX_MARKER_KEY in onnx_metadata(path):
                return True
        except OSError:
            return False
    return _legacy_export(path)


def check_destination(path: str, overwrite: bool) -> None:
    """`ValueError` unless `path` is free, or (with `overwrite`) an export."""
    if os.path.lexists(path) and not (overwrite and is_export(path)):
        if is_export(path):
            raise ValueError(f"export path already exists: {path} (pass --overwrite)")
        raise ValueError(
            f"{path} already exists and is not a kerasvision export; choose another "
            f"--output (nothing there is replaced)"
        )


# === Locking ===


def _lock_message(path: str, lock_file: str) -> str:
    from kerasvision.runs import _read_lock

    holder = _read_lock(lock_file)
    who = (
        "an unknown process"
        if holder is None
        else f"process {holder[0]} on {holder[1]}"
    )
    return (
        f"export {path} is being written by {who}; wait for it or choose another "
        f"--output (delete {lock_file} if that process is gone)"
    )


@contextlib.contextmanager
def destination_lock(path):
    """Hold the lock of export destination `path` for the block.

    The lock is the run directories' (`kerasvision.runs`: a `.lock` file holding
    pid@host, created exclusively; a dead holder's lock is taken over), in a
    hidden folder `.<name>.lock` beside `path`, removed afterwards. A second
    process locking the same path fails at once with a `ValueError` naming the
    holder. The lock is per process: it is held already when this process
    holds it (an export inside `export_run`), and is then left to the outer
    holder.

    Raises:
        ValueError: If another process holds the lock.
        WriteError: If the lock cannot be written (read-only folder...).
    """
    from kerasvision.runs import LOCK_FILE, _read_lock

    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    folder = os.path.join(parent, f".{name}.lock")
    lock_file = os.path.join(folder, LOCK_FILE)
    if _read_lock(lock_file) == (os.getpid(), socket.gethostname()):
        yield
        return
    with made_dirs(parent):
        lock = _take_destination_lock(path, folder, lock_file)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(lock)
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # fails (kept) when another process took it


def _take_destination_lock(path: str, folder: str, lock_file: str) -> str:
    from kerasvision.runs import _take_lock

    for _ in range(3):  # the folder can vanish under us when its holder ends
        try:
            with made_dirs(folder):
                return _take_lock(folder)
        except ValueError:
            raise ValueError(_lock_message(path, lock_file)) from None
        except FileNotFoundError:
            continue
        except WriteError as error:  # name the destination, not the lock
            raise WriteError(str(error).replace(folder, path)) from None
        except OSError as error:
            raise write_error(error, path) from None
    raise ValueError(_lock_message(path, lock_file))


@contextlib.contextmanager
def claimed(path, overwrite: bool):
    """Lock `path` (`destination_lock`), then check it may be written.

    Raises:
        ValueError: If another process writes it, or it exists and is not an
            export (or `overwrite` is False).
    """
    with destination_lock(path):
        check_destination(os.path.abspath(os.fspath(path)), overwrite)
        yield


# === Staging and checks ===


def stage_and_check(path, write, check, *, folder: bool = True, suffix: str = ""):
    """Write into a staging folder/file with `write(staging)`, `check(staging)`
    (raising `ExportError`), then move it to `path`. Returns `check`'s report."""
    stage = staged_dir(path) if folder else staged_file(path, suffix=suffix)
    with stage as staging:
        write(staging)
        return check(staging)


def require_packages(modules, *, extra: str, what: str) -> None:
    """One-line `ExportError` naming the pip extra when a module is missing."""
    import importlib.util

    missing = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package is missing
            found = False
        if not found:  # the distribution's name, as pip takes it
            missing.append(module.partition(".")[0].replace("_", "-"))
    if missing:
        raise ExportError(
            f"{what} needs the optional package(s) {', '.join(dict.fromkeys(missing))}"
            f": pip install 'kerasvision[{extra}]'"
        )


def check_images(images, shape) -> np.ndarray:
    """float32 0-255 integers for the checks (8 seeded random images if None)."""
    if images is None:
        images = np.random.default_rng(0).integers(0, 256, (8, *shape))
    return np.clip(np.round(np.asarray(images)), 0, 255).astype("float32")


def within(name: str, delta: float, tolerance: float, count: int) -> float:
    if not delta <= tolerance:
        raise ExportError(
            f"exported {name} differs from model.predict by {delta:.3g} "
            f"(> {tolerance:g}) on {count} sample images"
        )
    return delta


def deterministic(signature, images, output, where) -> np.ndarray:
    import tensorflow as tf

    first = signature(images=tf.constant(images))[output].numpy()
    second = signature(images=tf.constant(images))[output].numpy()
    if not np.array_equal(first, second):
        raise ExportError(
            f"exported model at {where} is not deterministic: two calls on the "
            f"same input differ by {np.max(np.abs(first - second)):.3g}"
        )
    return first


def archive(model, endpoints):
    """A `keras.export.ExportArchive` tracking `model` with `(name, fn, spec)`s."""
    import keras

    result = keras.export.ExportArchive()
    result.track(model)
    for name, function, signature in endpoints:
        result.add_endpoint(name, function, input_signature=signature)
    return result


def pixels_spec(shape):
    import tensorflow as tf

    return [tf.TensorSpec([None, *shape], tf.float32, name="images")]


def input_shape(model) -> tuple[int, ...]:
    return tuple(int(v) for v in model.input_shape[1:])


def class_names_for(model, class_names) -> list[str]:
    class_names = [str(c) for c in class_names]
    units = model.output_shape[-1]
    expected = 2 if units == 1 else units
    if len(class_names) != expected:
        raise ValueError(
            f"model has {expected} classes but {len(class_names)} class names given"
        )
    return class_names


def two_columns(model):
    """`model`, with a one-unit sigmoid head turned into two probabilities."""
    if model.output_shape[-1] != 1:
        return model
    import keras

    from kerasvision.layers.outputs import BinaryToCategorical

    two = BinaryToCategorical(name="probabilities")(model.outputs[0])
    return keras.Model(model.inputs, two, name=model.name)


def one_line(error: BaseException) -> str:
    """`Type: first line` of a converter's error (they raise many types)."""
    text = str(error)
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"
