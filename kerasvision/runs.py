"""Run directories: atomic creation, `run.json`, and loading a finished run.

A run is written to a hidden sibling `.<name>.partial/` while it trains and renamed
to `<name>/` only when everything (model, export, metrics, plots) is in place, so
a crash never leaves a half-written run under the final name and never touches an
existing one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field

__all__ = [
    "Run",
    "RUN_FILE",
    "load_run",
    "partial_dir",
    "read_json",
    "write_json",
    "write_text",
]

RUN_FILE = "run.json"
_UMASK = os.umask(0)
os.umask(_UMASK)


def partial_dir(final_dir: str) -> str:
    """Where the run destined for `final_dir` lives while it is in progress."""
    final_dir = os.path.abspath(final_dir)
    parent, name = os.path.split(final_dir.rstrip(os.sep))
    return os.path.join(parent, f".{name}.partial")


def write_text(path: str, text: str) -> None:
    """Write a file atomically (temp file in the same folder, then rename)."""
    folder = os.path.dirname(path) or "."
    handle, temp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, 0o666 & ~_UMASK)  # mkstemp creates 0600 files
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def write_json(path: str, payload) -> None:
    write_text(path, json.dumps(payload, indent=2, default=_json_default) + "\n")


def read_json(path: str):
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def _json_default(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    if isinstance(value, tuple | set):
        return list(value)
    return str(value)


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

    @property
    def model(self):
        """The trained Keras model (`model.keras`), loaded on first use."""
        if self._model is None:
            from kerasvision.saving import load_model

            self._model = load_model(os.path.join(self.path, "model.keras"))
        return self._model

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

    def data(self, data_dir=None):
        """The run's data: its recorded split, or all of `data_dir` as "test".

        Args:
            data_dir: Folder-per-class directory to evaluate on; its class
                folders must be among the run's classes. Defaults to None (the
                run's own data with its recorded split).

        Returns:
            An `ImageData`.
        """
        from kerasvision.data import load_builtin_dataset, load_image_folder

        common = {
            "image_size": self.image_size,
            "channels": self.channels,
            "resize": self.resize,
        }
        if data_dir is not None:
            return load_image_folder(
                data_dir,
                class_names=self.class_names,
                split_record=None,
                val_split=0.0,
                test_split=0.0,
                **common,
            ).as_test_split()
        source = self.info["data"]["source"]
        split = self.info["split"]
        if source["kind"] == "folder":
            return load_image_folder(
                source["path"],
                class_names=self.class_names,
                split_record=split,
                **common,
            )
        if source["kind"] == "dataset":
            return load_builtin_dataset(source["name"], split_record=split, **common)
        raise ValueError(
            f"run {self.path} was trained on in-memory arrays; give a data directory "
            f"to evaluate it"
        )

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


def require_classifier(run: Run) -> Run:
    """`ValueError` unless `run` is a classifier run (not an autoencoder run)."""
    if run.info.get("kind") == "autoencoder":
        raise ValueError(
            f"{run.path} is an autoencoder run ({run.info.get('task')}); use "
            f"`kerasvision encode` or its encoder_serving/ SavedModel"
        )
    return run


def load_run(path) -> Run:
    """Open a finished run directory.

    Raises:
        FileNotFoundError: If the folder does not exist.
        ValueError: If it is not a finished kerasvision run.
    """
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
    labels = os.path.join(path, "labels.txt")
    class_names = []
    if os.path.isfile(labels):  # autoencoder runs on unlabelled data have none
        with open(labels, encoding="utf-8") as stream:
            class_names = [line.rstrip("\n") for line in stream if line.strip()]
    return Run(path=path, info=info, class_names=class_names)
