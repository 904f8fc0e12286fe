"""`fit`: data -> model -> training -> metrics, plots, export, in one run directory.

The run directory (`saved_models/<name>/`) is assembled in `.<name>.partial/` and
renamed when complete. While training, `checkpoints/last.keras` (model + optimizer
state) and `checkpoints/state.json` are rewritten atomically after every epoch so a
killed run continues with `fit(resume=True, output=...)`.
"""

from __future__ import annotations

import datetime
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from kerasvision import __version__
from kerasvision._choices import (
    CACHE_MODES,
    FEATURE_CACHE_CHOICES,
    OPTIMIZERS,
    RESIZE_MODES,
    TRANSFER_MODES,
)
from kerasvision.distribute import DISTRIBUTE_MODES
from kerasvision.runs import partial_dir, read_json, write_json, write_text

__all__ = ["FitResult", "TrainingError", "compile_classifier", "fit", "make_optimizer"]

DEFAULT_RUNS_DIR = "saved_models"
TASKS = ("classification", "autoencoder", "denoising", "sparse", "vae", "segmentation")
MODES = TRANSFER_MODES
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
FEATURE_CACHE_MODES = FEATURE_CACHE_CHOICES


class TrainingError(RuntimeError):
    """Training could not finish (e.g. the loss became NaN)."""


@dataclass
class FitResult:
    """What `fit` returns.

    Attributes:
        run_dir: The finished run directory.
        metrics: Test (else validation) metrics, see `compute_metrics`.
        history: Per-epoch values, `{"loss": [...], "val_accuracy": [...], ...}`.
        epoch_seconds: Wall time of each epoch trained in this call.
        train_epoch_seconds: The training pass of each epoch, without validation.
        model: The trained Keras model.
        data: The `ImageData` used.
        export: The export report (None when export was off).
        distribution: `fit(distribute=...)`'s strategy and this process's role
            (`kerasvision.distribute.Distribution.summary()`); on a non-chief
            worker `run_dir` is None (its temporary run folder is deleted).
    """

    run_dir: str
    metrics: dict
    history: dict
    epoch_seconds: list = field(default_factory=list)
    train_epoch_seconds: list = field(default_factory=list)
    model: object = None
    data: object = None
    export: dict | None = None
    distribution: dict | None = None

    @property
    def test_accuracy(self) -> float:
        return self.metrics.get("accuracy", float("nan"))


# === Compilation ===


def make_optimizer(name: str = "adam", lr: float = 1e-3, *, weight_decay=None):
    """A Keras optimizer by name ("adam", "sgd" with momentum 0.9, "adamw", "rmsprop").

    Raises:
        ValueError: On an unknown name or a non-positive learning rate.
    """
    import keras

    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    if not lr > 0:
        raise ValueError(f"learning rate must be > 0, got {lr}")
    if name == "adam":
        return keras.optimizers.Adam(lr)
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    return keras.optimizers.AdamW(
        lr, weight_decay=1e-4 if weight_decay is None else weight_decay
    )


def compile_classifier(
    model,
    optimizer,
    *,
    label_mode: str = "int",
    num_classes=None,
    label_smoothing: float = 0.0,
    aux_loss_weight: float = 0.3,
    jit_compile="auto",
):
    """Compile with the loss and metrics that match the head and the labels.

    One sigmoid unit -> binary cross-entropy; K softmax units -> sparse
    categorical cross-entropy for integer labels, categorical for one-hot/soft
    labels (also needed for label smoothing, applied here once: the mixers never
    smooth). Accuracy always; top-5 accuracy when there are >= 10 classes.
    Auxiliary outputs (Inception) get the same loss, weighted by `aux_loss_weight`.
    `jit_compile` is Keras's (True: XLA, False, or "auto"). Under the
    "mixed_float16" policy Keras wraps the optimizer in a `LossScaleOptimizer`.
    """
    import keras

    units = model.outputs[0].shape[-1]
    num_classes = num_classes or (2 if units == 1 else units)
    if label_smoothing and label_mode != "categorical" and units != 1:
        raise ValueError("label smoothing needs one-hot (categorical) labels")
    if units == 1:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
        metrics = [keras.metrics.BinaryAccuracy(name="accuracy")]
    elif label_mode == "categorical":
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
        if num_classes >= 10:
            metrics.append(
                keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")
            )
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if num_classes >= 10:
            metrics.append(
                keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5_accuracy")
            )
    if len(model.outputs) > 1:
        count = len(model.outputs)
        model.compile(
            optimizer=optimizer,
            loss=[loss] * count,
            loss_weights=[1.0] + [aux_loss_weight] * (count - 1),
            metrics=[metrics] + [[]] * (count - 1),
            jit_compile=jit_compile,
        )
    else:
        model.compile(
            optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit_compile
        )
    return model


# === Callbacks ===


def _callback_base():
    import keras

    return keras.callbacks.Callback


class _EpochLogger(_callback_base()):
    """One line per epoch (used when stdout is not a terminal) + epoch timing."""

    def __init__(self, epochs, log, quiet):
        super().__init__()
        self.epochs = epochs
        self.log = log
        self.quiet = quiet
        self.seconds = []
        self.train_seconds = []  # the training pass alone, without validation
        self._start = 0.0
        self._in_epoch = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._in_epoch = True

    def on_test_begin(self, logs=None):
        if self._in_epoch:  # validation of this epoch starts: training pass done
            self.train_seconds.append(time.perf_counter() - self._start)
            self._in_epoch = False

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._start
        self.seconds.append(elapsed)
        if self._in_epoch:
            self.train_seconds.append(elapsed)
            self._in_epoch = False
        if not self.quiet:
            values = " - ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items())
            self.log(f"epoch {epoch + 1}/{self.epochs} - {elapsed:.1f}s - {values}")


class _NaNGuard(_callback_base()):
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


def _save_atomically(model, path):
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f".{name}.tmp.keras")
    model.save(temp)
    os.replace(temp, path)


class _BestCheckpoint(_callback_base()):
    """Saves `target` (default: the trained model) when `monitor` improves."""

    def __init__(self, path, monitor, target=None):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.target = target
        self.best = math.inf
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and math.isfinite(float(value)) and value < self.best:
            self.best = float(value)
            self.best_epoch = epoch + 1
            _save_atomically(self.target or self.model, self.path)


class _LastCheckpoint(_callback_base()):
    """Atomically saves model + optimizer and the resume state after each epoch.

    `target` is the full model when only its head is being trained (feature cache).
    """

    def __init__(self, folder, monitor, tracked, target=None):
        super().__init__()
        self.folder = folder
        self.monitor = monitor
        self.tracked = tracked  # callbacks whose `best`/`wait` must survive a resume
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        _save_atomically(
            self.target or self.model, os.path.join(self.folder, "last.keras")
        )
        state = {"epoch": epoch + 1, "monitor": self.monitor}
        for name, callback in self.tracked.items():
            state[name] = {
                "best": _finite_or_none(getattr(callback, "best", None)),
                "wait": int(getattr(callback, "wait", 0)),
                "best_epoch": int(getattr(callback, "best_epoch", 0)),
            }
        write_json(os.path.join(self.folder, "state.json"), state)


def _finite_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# === Helpers ===


def _resolve_image_size(data, image_size, spec, model_name):
    from kerasvision.data import parse_image_size

    requested = parse_image_size(image_size)
    exact = getattr(spec, "exact_size", None)
    if exact is not None:
        if requested is not None and tuple(requested) != tuple(exact):
            raise ValueError(
                f"{model_name} takes {exact[0]}x{exact[1]} images; drop --image-size "
                f"or pass --image-size {exact[0]}x{exact[1]}"
            )
        return data.with_image_size(exact)
    if requested is not None:
        if min(requested) < spec.min_size:
            raise ValueError(
                f"--image-size {requested[0]}x{requested[1]} is too small for "
                f"{model_name}: it needs at least {spec.min_size}x{spec.min_size}"
            )
        return data.with_image_size(requested)
    if data.size_source == "default":
        # A folder without an explicit size: the model's preferred size.
        return data.with_image_size(max(spec.default_size, spec.min_size))
    height, width = data.image_size
    if min(height, width) < spec.min_size and data.size_source == "explicit":
        raise ValueError(
            f"image size {height}x{width} is too small for {model_name}: it needs "
            f"at least {spec.min_size}x{spec.min_size}"
        )
    if min(height, width) < spec.min_size:
        scale = math.ceil(spec.min_size / min(height, width))
        return data.with_image_size((height * scale, width * scale))
    return data


def _default_run_name(model_name, data):
    source = data.source
    label = source.get("name") or os.path.basename(source.get("path", "")) or "arrays"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{model_name}-{label}-{stamp}"


def _versions():
    import keras
    import matplotlib
    import sklearn
    import tensorflow as tf

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


def _prepare_partial(final_dir, *, overwrite, resume, create=True):
    if os.path.exists(final_dir) and not overwrite and not resume:
        raise ValueError(
            f"output {final_dir} already exists; choose another --output or pass "
            f"--overwrite"
        )
    partial = partial_dir(final_dir)
    if resume:
        if not os.path.isfile(os.path.join(partial, "checkpoints", "state.json")):
            if os.path.isfile(os.path.join(final_dir, "run.json")):
                raise ValueError(f"run {final_dir} already finished; nothing to resume")
            raise ValueError(
                f"--resume: {final_dir} is not an interrupted kerasvision run "
                "(no checkpoint from a finished epoch)"
            )
        return partial
    if os.path.exists(partial):
        if not os.path.isfile(os.path.join(partial, "checkpoints", "state.json")):
            # Failed before finishing an epoch: nothing there can be resumed.
            shutil.rmtree(partial)
        else:
            raise ValueError(
                f"an interrupted run exists at {partial}; continue it with --resume "
                f"or delete that folder"
            )
    parent = os.path.dirname(partial)
    blocker = parent
    while blocker and not os.path.exists(blocker):
        blocker = os.path.dirname(blocker)
    if blocker and (not os.path.isdir(blocker) or not os.access(blocker, os.W_OK)):
        raise ValueError(
            f"cannot write the run directory {partial}: {blocker} is not "
            f"a writable folder"
        )
    if not create:
        return partial
    try:
        os.makedirs(os.path.join(partial, "checkpoints"))
    except OSError as error:
        raise ValueError(
            f"cannot write the run directory {partial}: {error.strerror}"
        ) from None
    return partial


def _latest_partial(runs_dir=DEFAULT_RUNS_DIR):
    if not os.path.isdir(runs_dir):
        return None
    candidates = [
        os.path.join(runs_dir, name)
        for name in os.listdir(runs_dir)
        if name.startswith(".") and name.endswith(".partial")
    ]
    candidates = [c for c in candidates if os.path.isfile(os.path.join(c, "run.json"))]
    if not candidates:
        return None
    latest = max(candidates, key=os.path.getmtime)
    name = os.path.basename(latest)[1 : -len(".partial")]
    return os.path.join(runs_dir, name)


def _truncate_history(path, epochs_done):
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as stream:
        lines = stream.readlines()
    if not lines:
        return
    kept = [lines[0]] + [
        line
        for line in lines[1:]
        if line.strip() and int(line.split(",")[0]) < epochs_done
    ]
    write_text(path, "".join(kept))


def _read_history(path):
    import csv

    history: dict[str, list] = {}
    if not os.path.isfile(path):
        return history
    with open(path, encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            for key, value in row.items():
                if key == "epoch":
                    continue
                history.setdefault(key, []).append(float(value))
    return history


def _targets_for_head(dataset, binary):
    """One-sigmoid-unit heads take float `[B, 1]` targets (P(class 1))."""
    if not binary:
        return dataset
    import tensorflow as tf

    def to_binary(images, labels, *weights):
        labels = tf.cast(labels, tf.float32)
        labels = labels[:, 1:2] if labels.shape.rank == 2 else labels[:, None]
        return (images, labels, *weights)

    return dataset.map(to_binary)


# === fit ===


def fit(
    data=None,
    *,
    task: str = "classification",
    latent_dim: int | None = None,
    noise: str | None = None,
    dataset: str | None = None,
    model: str | None = None,
    model_kwargs: dict | None = None,
    backbone=None,
    mode: str = "feature-extraction",
    weights="imagenet",
    unfreeze: str = "all",
    warmup_epochs: int | None = None,
    fine_tune_lr: float | None = None,
    bn: str = "frozen",
    feature_cache: str = "auto",
    augment=None,
    label_smoothing: float = 0.0,
    class_weight=None,
    weight_decay: float | None = None,
    kernel_initializer: str | None = None,
    precision: str = "float32",
    jit_compile: bool | None = None,
    distribute: str = "none",
    image_size=None,
    channels: int | None = None,
    resize: str = "stretch",
    epochs: int = 15,
    batch_size: int = 32,
    optimizer: str = "adam",
    lr: float = 1e-3,
    val_split: float = 0.1,
    test_split: float = 0.1,
    seed: int | None = None,
    early_stopping: int | None = None,
    output=None,
    overwrite: bool = False,
    resume: bool = False,
    tensorboard: bool = False,
    cache: str = "auto",
    export: bool = True,
    verbose="auto",
    log=None,
) -> FitResult:
    """Train a registered CNN on a folder, arrays or a built-in dataset.

    Writes a complete run directory: `model.keras`, `serving/` (SavedModel,
    checked against `predict`), `labels.txt`, `history.csv`, `metrics.json`,
    `confusion_matrix.png`, `curves.png`, `splits/*.txt`, `bad_files.txt` (if
    any), `checkpoints/best.keras` and `run.json`.

    Args:
        data: Folder-per-class directory, `(x, y)` arrays, or an `ImageData`.
            Defaults to None (a built-in dataset).
        task: "classification", or "autoencoder", "denoising", "sparse", "vae",
            "segmentation" (`kerasvision.autoencoding.fit_autoencoder`, which takes
            the shared data/training arguments). Defaults to "classification".
        latent_dim: Autoencoder tasks: dense latent size (None: spatial).
            Defaults to None.
        noise: Denoising task: "gaussian=0.3", "salt_pepper=0.1" or "mask=0.25".
            Defaults to None.
        dataset: Built-in dataset name when `data` is None. Defaults to None
            ("digits").
        model: Registered scratch model name (`list_models()`); ignored with
            `backbone`. Defaults to None ("bipyramidal_cnn").
        model_kwargs: Builder keyword arguments (`build_transfer_classifier`'s with
            a backbone: pooling, dropout_rate, dense_units...). Defaults to None.
        backbone: Transfer learning: a keras.applications backbone name
            (`list_backbones()`), or a kerasvision `.keras` model / run directory
            (Model A, cut at its feature layer). Defaults to None (scratch model).
        mode: "feature-extraction" (frozen backbone, `epochs` of head training) or
            "fine-tune" (`warmup_epochs` of head training, then `epochs` with the
            `unfreeze` part of the backbone trainable at `fine_tune_lr`). Defaults
            to "feature-extraction".
        weights: Backbone weights: "imagenet" (Keras download/cache), None/"none"
            or a local `.h5`/`.weights.h5` path. Defaults to "imagenet".
        unfreeze: What fine-tuning trains: "all", "top:N", "from:LAYER" or
            "blocks:K". Defaults to "all".
        warmup_epochs: Head-only epochs before fine-tuning. Defaults to None (1).
        fine_tune_lr: Learning rate of the fine-tuning phase. Defaults to None
            (`lr` / 10).
        bn: "frozen" (BatchNorm in inference mode, statistics fixed) or "train".
            Defaults to "frozen".
        feature_cache: While the backbone is frozen, compute its pooled features
            once and train the head on them ("auto": when nothing random happens
            before the head, "on", "off"). The assembled model is identical.
            Defaults to "auto".
        augment: Training-only augmentation in the tf.data pipeline, in the
            mini-syntax of `kerasvision.augmentation.parse_augment_spec`, e.g.
            "flip,rotate=0.1,zoom=0.2,cutmix=1.0@0.5,mixup=0.2@0.5". Never part of
            the model or the validation/test/export paths. Defaults to None.
        label_smoothing: Label smoothing of the (categorical/binary) loss; labels
            become one-hot. Defaults to 0.0.
        class_weight: "balanced", or per-class weights (list, or dict by index or
            class name), applied as per-sample weights in tf.data. Defaults to
            None.
        weight_decay: Decoupled weight decay (AdamW; default 1e-4 with
            `optimizer="adamw"`). Defaults to None.
        kernel_initializer: Initializer of a scratch model's kernels: uniform,
            normal, constant[=V], he_uniform, he_normal, glorot_uniform,
            glorot_normal or torch_uniform (PyTorch-like U(-sqrt(k), sqrt(k))).
            Defaults to None (the builder's default).
        precision: Keras dtype policy: "float32", "mixed_float16" (loss scaling by
            Keras) or "mixed_bfloat16"; outputs stay float32. Defaults to "float32".
        jit_compile: XLA compilation of the train step: True, False, or None
            (Keras's "auto"). True turns TensorFlow op determinism off (Keras
            disables XLA under it), so such runs are not bit-reproducible.
            Defaults to None.
        distribute: Data-parallel training: "none", "mirrored"
            (`tf.distribute.MirroredStrategy` over this machine's GPUs, else its
            CPU) or "multiworker" (`MultiWorkerMirroredStrategy` over the processes
            of the `TF_CONFIG` environment variable; start the same `fit` on every
            worker). `batch_size` is the global batch, split across replicas. Only
            the chief (task "chief", else worker 0) writes the run directory; the
            other workers train alongside in a temporary folder that is deleted.
            With `resume`, every worker restarts from the chief's last checkpoint,
            read at the same `output` path (a shared filesystem, or a copy of the
            chief's `.RUN.partial/` at that path). See `kerasvision.distribute`.
            Defaults to "none".
        image_size: N or (height, width). Defaults to None (the data's natural
            size for arrays, the model's default size for folders; scaled up to the
            model's minimum).
        channels: 1, 3 or 4. Defaults to None (3 for folders, the arrays' own).
        resize: "stretch", "crop" or "pad". Defaults to "stretch".
        epochs: Training epochs. Defaults to 15.
        batch_size: Batch size. Defaults to 32.
        optimizer: "adam", "sgd", "adamw" or "rmsprop". Defaults to "adam".
        lr: Learning rate. Defaults to 1e-3.
        val_split: Validation fraction (stratified). Defaults to 0.1.
        test_split: Test fraction (stratified). Defaults to 0.1.
        seed: Seeds the split, initialisation, shuffling and dropout, and turns on
            TensorFlow op determinism: the same seed gives identical weights on
            CPU. Defaults to None (a random seed, recorded in run.json).
        early_stopping: Patience in epochs on val_loss, restoring the best
            weights. Defaults to None (off).
        output: Run directory. Defaults to None
            (`saved_models/<model>-<data>-<timestamp>`).
        overwrite: Replace an existing run at `output`. Defaults to False.
        resume: Continue the interrupted run at `output` (or the latest one in
            `saved_models/`) from its last epoch checkpoint; the other arguments
            come from that run. Defaults to False.
        tensorboard: Write TensorBoard logs to `RUN/logs`. Defaults to False.
        cache: "auto", "memory" or "none". Defaults to "auto".
        export: Export and check the SavedModel. Defaults to True.
        verbose: "auto" (progress bar on a TTY, one line per epoch otherwise), 0,
            1 or 2. Defaults to "auto".
        log: Function receiving progress lines. Defaults to None (stderr).

    Returns:
        A `FitResult`.

    Raises:
        ValueError: On invalid arguments or data.
        FileNotFoundError: If the data folder does not exist.
        TrainingError: If the loss becomes NaN, or (multiworker) another worker
            stops.
        kerasvision.export.ExportError: If the export fails its parity check.

    Example:
        >>> result = kerasvision.fit(dataset="digits", epochs=5, seed=0)
        >>> result.metrics["accuracy"]
    """
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if task != "classification":
        return _fit_other_task(
            data,
            task=task,
            latent_dim=latent_dim,
            noise=noise,
            dataset=dataset,
            model_kwargs=model_kwargs,
            image_size=image_size,
            channels=channels,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            val_split=val_split,
            test_split=test_split,
            seed=seed,
            output=output,
            overwrite=overwrite,
            export=export,
            verbose=verbose,
            log=log,
        )
    if latent_dim is not None or noise is not None:
        raise ValueError("latent_dim and noise are for the autoencoder tasks (--task)")
    if distribute not in DISTRIBUTE_MODES:
        raise ValueError(
            f"distribute must be one of {DISTRIBUTE_MODES}, got {distribute!r}"
        )
    if resume:
        return _resume(
            output, log=log, verbose=verbose, epochs=None, distribute=distribute
        )
    arguments = {
        "data": os.fspath(data) if isinstance(data, str | os.PathLike) else None,
        "dataset": dataset,
        "model": "transfer" if backbone is not None else (model or "bipyramidal_cnn"),
        "model_kwargs": dict(model_kwargs or {}),
        "backbone": os.fspath(backbone) if backbone is not None else None,
        "mode": mode,
        "weights": os.fspath(weights) if weights is not None else None,
        "unfreeze": unfreeze,
        "warmup_epochs": warmup_epochs,
        "fine_tune_lr": fine_tune_lr,
        "bn": bn,
        "feature_cache": feature_cache,
        "augment": augment,
        "label_smoothing": label_smoothing,
        "class_weight": class_weight,
        "weight_decay": weight_decay,
        "kernel_initializer": kernel_initializer,
        "precision": precision,
        "jit_compile": jit_compile,
        "distribute": distribute,
        "image_size": list(image_size)
        if isinstance(image_size, tuple | list)
        else image_size,
        "channels": channels,
        "resize": resize,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": optimizer,
        "lr": lr,
        "val_split": val_split,
        "test_split": test_split,
        "seed": seed,
        "early_stopping": early_stopping,
        "tensorboard": tensorboard,
        "cache": cache,
    }
    _validate_arguments(arguments)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
        arguments["seed"] = seed
    return _train(
        data,
        arguments,
        output=output,
        overwrite=overwrite,
        export=export,
        verbose=verbose,
        log=log,
        distribute=distribute,
    )


def _set_op_determinism(enabled: bool) -> None:
    """Bit-reproducible ops for seeded runs; off when XLA is asked for.

    Keras turns XLA off while TensorFlow op determinism is on, so a run with
    `jit_compile=True` gives up bit-reproducibility (documented) to get XLA.
    """
    import tensorflow as tf

    if enabled:
        tf.config.experimental.enable_op_determinism()
        return
    from tensorflow.python.framework import config as tf_config

    if tf_config.is_op_determinism_enabled():
        tf_config.disable_op_determinism()


def _fit_other_task(data, **kwargs):
    """Autoencoder and segmentation tasks live in `kerasvision.autoencoding`."""
    from kerasvision.autoencoding import fit_autoencoder

    return fit_autoencoder(data, **{k: v for k, v in kwargs.items() if v is not None})


def _validate_arguments(arguments):
    from kerasvision.models import get_model_spec

    if arguments.get("backbone") is None:
        get_model_spec(arguments["model"])
    else:
        from kerasvision.models.transfer import (
            BN_POLICIES,
            is_backbone_reference,
            parse_unfreeze,
        )

        if not is_backbone_reference(arguments["backbone"]):
            from kerasvision.models.backbones import get_backbone_spec

            get_backbone_spec(arguments["backbone"])
        elif not os.path.exists(arguments["backbone"]):
            raise FileNotFoundError(
                f"backbone model not found: {arguments['backbone']}"
            )
        if arguments["mode"] not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {arguments['mode']!r}")
        if arguments["bn"] not in BN_POLICIES:
            raise ValueError(
                f"bn must be one of {BN_POLICIES}, got {arguments['bn']!r}"
            )
        parse_unfreeze(arguments["unfreeze"])
        warmup = arguments["warmup_epochs"]
        if warmup is not None and (not isinstance(warmup, int) or warmup < 0):
            raise ValueError(f"warmup_epochs must be an integer >= 0, got {warmup!r}")
        if arguments["fine_tune_lr"] is not None and not arguments["fine_tune_lr"] > 0:
            raise ValueError(
                f"fine_tune_lr must be > 0, got {arguments['fine_tune_lr']}"
            )
    if arguments.get("augment"):
        from kerasvision.augmentation import parse_augment_spec

        parse_augment_spec(arguments["augment"])
    smoothing = arguments.get("label_smoothing") or 0.0
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {smoothing}")
    decay = arguments.get("weight_decay")
    if decay is not None and not decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {decay}")
    if decay and arguments["optimizer"] != "adamw":
        raise ValueError("weight_decay needs --optimizer adamw (decoupled decay)")
    if arguments.get("kernel_initializer"):
        if arguments.get("backbone") is not None:
            raise ValueError("kernel_initializer is for scratch models, not a backbone")
        from kerasvision.regularization import get_initializer

        get_initializer(arguments["kernel_initializer"])
    if arguments.get("precision", "float32") not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {PRECISIONS}, got {arguments.get('precision')!r}"
        )
    if arguments.get("feature_cache") not in FEATURE_CACHE_MODES:
        raise ValueError(
            f"feature_cache must be one of {FEATURE_CACHE_MODES}, "
            f"got {arguments.get('feature_cache')!r}"
        )
    for name in ("epochs", "batch_size"):
        value = arguments[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if arguments["optimizer"] not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {OPTIMIZERS}, got {arguments['optimizer']!r}"
        )
    if not arguments["lr"] > 0:
        raise ValueError(f"lr must be > 0, got {arguments['lr']}")
    if arguments["resize"] not in RESIZE_MODES:
        raise ValueError(
            f"resize must be one of {RESIZE_MODES}, got {arguments['resize']!r}"
        )
    if arguments["cache"] not in CACHE_MODES:
        raise ValueError(
            f"cache must be one of {CACHE_MODES}, got {arguments['cache']!r}"
        )
    patience = arguments["early_stopping"]
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(
            f"early_stopping patience must be a positive integer, got {patience!r}"
        )


def _load(data, arguments, split_record=None, on_bad_file=None):
    from kerasvision.data import load_data

    kwargs = {
        "channels": arguments["channels"],
        "resize": arguments["resize"],
        "val_split": arguments["val_split"],
        "test_split": arguments["test_split"],
        "seed": arguments["seed"],
        "split_record": split_record,
    }
    if isinstance(data, str | os.PathLike):
        kwargs["on_bad_file"] = on_bad_file
    rules = _size_rules(arguments)
    if rules.channels is not None:
        if kwargs["channels"] not in (None, rules.channels):
            raise ValueError(
                f"the backbone takes {rules.channels}-channel images; drop --channels"
            )
        kwargs["channels"] = rules.channels
    image_data = load_data(data, dataset=arguments["dataset"], **kwargs)
    return _resolve_image_size(image_data, arguments["image_size"], rules, rules.label)


@dataclass
class _SizeRules:
    label: str
    min_size: int
    default_size: int
    exact_size: tuple | None = None
    channels: int | None = None


def _size_rules(arguments) -> _SizeRules:
    """Input size and channel constraints of the scratch model or the backbone."""
    from kerasvision.models import get_model_spec

    backbone = arguments.get("backbone")
    if backbone is None:
        spec = get_model_spec(arguments["model"])
        return _SizeRules(arguments["model"], spec.min_size, spec.default_size)
    from kerasvision.models.transfer import is_backbone_reference

    if is_backbone_reference(backbone):
        import keras  # noqa: F401

        from kerasvision.models.transfer import load_model_a

        base, _ = load_model_a(backbone)
        height, width, channels = (int(v) for v in base.input_shape[1:])
        return _SizeRules("the backbone model", 1, height, (height, width), channels)
    from kerasvision.models.backbones import get_backbone_spec

    key, spec = get_backbone_spec(backbone)
    return _SizeRules(key, spec.min_size, spec.default_size, None, 3)


def _train(data, arguments, *, distribute="none", **kwargs):
    """Run `_train_in_policy` under the run's dtype policy, restoring the global one.

    The distribution strategy is created first: MultiWorkerMirroredStrategy must
    exist before TensorFlow runs any operation in the process.
    """
    import keras

    from kerasvision.distribute import make_distribution

    distribution = make_distribution(distribute)
    arguments = {**arguments, "distribute": distribute}  # a resume may change it
    if distribution.strategy is not None:
        if arguments["batch_size"] < distribution.num_replicas:
            raise ValueError(
                f"batch_size {arguments['batch_size']} is the global batch and must "
                f"be at least the number of replicas ({distribution.num_replicas})"
            )
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_global_policy(arguments.get("precision") or "float32")
    try:
        if distribution.is_chief:
            return _train_in_policy(
                data, arguments, distribution=distribution, **kwargs
            )
        return _train_on_worker(data, arguments, distribution=distribution, **kwargs)
    except Exception as error:
        if distribution.mode == "multiworker" and _lost_peer(error):
            task = distribution.task
            raise TrainingError(
                f"{task.task_type or 'worker'} {task.task_index} lost contact with "
                f"the other workers (one stopped or failed: see its output): "
                f"{_first_line(error)}"
            ) from error
        raise
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _first_line(error) -> str:
    """The telling line of a failed collective op (TF prints a whole trace)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    keys = ("aborted", "refused", "closed", "unavailable", "deadline", "cancel")
    telling = [line for line in lines if any(k in line.lower() for k in keys)]
    detail = (telling or lines or [""])[0]
    return f"{type(error).__name__}: {detail[:200]}"


def _lost_peer(error) -> bool:
    """A collective op failed because another worker went away."""
    import tensorflow as tf

    lost = (
        tf.errors.UnavailableError,
        tf.errors.AbortedError,
        tf.errors.CancelledError,
        tf.errors.DeadlineExceededError,
    )
    return isinstance(error, lost)


def _train_on_worker(data, arguments, *, distribution, output, **kwargs):
    """A non-chief worker: the same steps as the chief, in a deleted scratch folder.

    Collective ops (gradient all-reduce, variable broadcast, metric reduction) need
    every worker at every step, so the worker runs the whole `_train_in_policy`
    too, but only the chief's run directory is kept. On `--resume` the worker
    starts from the chief's checkpoint (read at the same `output` path).
    """
    task = distribution.task
    scratch = tempfile.mkdtemp(prefix=f"kerasvision-{task.task_type}{task.task_index}-")
    try:
        name = os.path.basename(os.path.abspath(os.fspath(output))) if output else "run"
        local = os.path.join(scratch, name)
        if kwargs.get("resume_state") is not None:
            chief_partial = partial_dir(os.path.abspath(os.fspath(output)))
            local_partial = partial_dir(local)
            # What resuming reads: the checkpoints and the history to truncate.
            shutil.copytree(
                os.path.join(chief_partial, "checkpoints"),
                os.path.join(local_partial, "checkpoints"),
                ignore=shutil.ignore_patterns(".*"),
            )
            history = os.path.join(chief_partial, "history.csv")
            if os.path.isfile(history):
                shutil.copy2(history, local_partial)
        kwargs["overwrite"] = True
        result = _train_in_policy(
            data, arguments, distribution=distribution, output=local, **kwargs
        )
        result.run_dir = None
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _train_in_policy(
    data,
    arguments,
    *,
    output,
    overwrite,
    export,
    verbose,
    log,
    resume_state=None,
    distribution=None,
):
    import keras

    from kerasvision.distribute import Distribution
    from kerasvision.models import build_model, feature_layer_name, get_model_spec

    # "none": no strategy object; scope() and shard() are no-ops.
    distribution = distribution or Distribution()
    if distribution.strategy is not None:
        log(distribution.describe(arguments["batch_size"]))

    seed = arguments["seed"]
    keras.utils.set_random_seed(seed)
    _set_op_determinism(not arguments.get("jit_compile"))

    bad_files = []

    def on_bad_file(path, reason):
        bad_files.append((path, reason))
        log(f"skipping bad file {path}: {reason}")

    split_record = resume_state["split"] if resume_state else None
    image_data = _load(data, arguments, split_record, on_bad_file)
    model_name = arguments["model"]
    final_dir = os.path.abspath(
        os.fspath(output)
        if output
        else os.path.join(DEFAULT_RUNS_DIR, _default_run_name(model_name, image_data))
    )
    resuming = resume_state is not None
    partial = _prepare_partial(
        final_dir, overwrite=overwrite, resume=resuming, create=False
    )
    checkpoints = os.path.join(partial, "checkpoints")

    # === Model ===
    transfer = arguments.get("backbone") is not None
    if resume_state is not None:
        from kerasvision.saving import load_model

        with distribution.scope():
            network = load_model(os.path.join(checkpoints, "last.keras"))
        initial_epoch = int(resume_state["state"]["epoch"])
        log(f"resuming {final_dir} from epoch {initial_epoch}")
    # Labels are one-hot when given so, mixed (CutMix/MixUp) or smoothed.
    smoothing = float(arguments.get("label_smoothing") or 0.0)
    categorical = (
        image_data.label_mode == "categorical"
        or _has_mixers(arguments.get("augment"))
        or smoothing > 0
    )
    aux_weight = 0.3
    if not transfer:
        aux_weight = get_model_spec(model_name).aux_loss_weight or aux_weight

    def compile_for(model, lr):
        with distribution.scope():  # the optimizer's variables are mirrored too
            return compile_classifier(
                model,
                make_optimizer(
                    arguments["optimizer"],
                    lr,
                    weight_decay=arguments.get("weight_decay"),
                ),
                label_mode="categorical" if categorical else "int",
                num_classes=image_data.num_classes,
                label_smoothing=smoothing,
                aux_loss_weight=aux_weight,
                jit_compile=(
                    "auto"
                    if arguments.get("jit_compile") is None
                    else arguments["jit_compile"]
                ),
            )

    if resume_state is None:
        if transfer:
            from kerasvision.models.transfer import build_transfer_classifier

            with distribution.scope():
                network = _build_checked(
                    build_transfer_classifier,
                    arguments["backbone"],
                    image_data.num_classes,
                    weights=arguments["weights"],
                    input_shape=image_data.input_shape,
                    bn=arguments["bn"],
                    **arguments["model_kwargs"],
                )
        else:
            model_kwargs = dict(arguments["model_kwargs"])
            if arguments.get("kernel_initializer"):
                from kerasvision.regularization import get_initializer

                model_kwargs["kernel_initializer"] = get_initializer(
                    arguments["kernel_initializer"], seed=seed
                )
            with distribution.scope():
                network = _build_checked(
                    build_model,
                    model_name,
                    image_data.input_shape,
                    image_data.num_classes,
                    **model_kwargs,
                )
            compile_for(network, arguments["lr"])
        initial_epoch = 0
    if not resuming:  # created only now: a model that fails to build leaves nothing
        _prepare_partial(final_dir, overwrite=overwrite, resume=False)
        log(f"run directory: {final_dir} (in progress at {partial})")
    binary = network.outputs[0].shape[-1] == 1
    phases = _phases(arguments)
    total_epochs = phases[-1]["end"]
    if transfer:
        from kerasvision.models.transfer import get_backbone

        inner = get_backbone(network)
        feature_layer = _backbone_feature_layer(arguments["backbone"], inner)
        model_info = {
            "backbone": arguments["backbone"],
            "backbone_layer": inner.name,
            "weights": arguments["weights"],
            "mode": arguments["mode"],
            "bn": arguments["bn"],
            "phases": phases,
        }
    else:
        feature_layer = feature_layer_name(network, model_name)
        model_info = {}

    # === Run record (written first so --resume has everything) ===
    info = {
        "kerasvision_version": __version__,
        "status": "running",
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "arguments": arguments,
        "seed": seed,
        "versions": _versions(),
        "model": {
            "name": model_name,
            "keras_name": network.name,
            "input_shape": list(image_data.input_shape),
            "num_classes": image_data.num_classes,
            "params": int(network.count_params()),
            "feature_layer": feature_layer,
            "binary_head": bool(binary),
            **model_info,
        },
        "data": image_data.summary(),
        "split": image_data.split_record(),
    }
    if distribution.strategy is not None:
        info["distribution"] = distribution.summary()
    if resume_state is not None:
        info["created"] = resume_state["info"].get("created", info["created"])
        info["resumed"] = resume_state["info"].get("resumed", []) + [
            {
                "at": datetime.datetime.now().isoformat(timespec="seconds"),
                "epoch": initial_epoch,
            }
        ]
    write_json(os.path.join(partial, "run.json"), info)
    write_text(
        os.path.join(partial, "labels.txt"), "\n".join(image_data.class_names) + "\n"
    )
    os.makedirs(os.path.join(partial, "splits"), exist_ok=True)
    for name, items in image_data.split_record().items():
        if isinstance(items, list):
            write_text(
                os.path.join(partial, "splits", f"{name}.txt"),
                "".join(f"{item}\n" for item in items),
            )
    if image_data.bad_files:
        write_text(
            os.path.join(partial, "bad_files.txt"),
            "".join(f"{path}\t{reason}\n" for path, reason in image_data.bad_files),
        )

    # === Pipelines ===
    one_hot = image_data.label_mode == "categorical"
    has_val = len(image_data.splits["val"]) > 0
    class_weights = None
    if arguments.get("class_weight") is not None:
        from kerasvision.regularization import compute_class_weights

        class_weights = compute_class_weights(
            image_data.splits["train"].labels,
            image_data.num_classes,
            arguments["class_weight"],
            class_names=image_data.class_names,
        )
        log(
            "class weights: "
            + ", ".join(
                f"{n} {w:.3f}"
                for n, w in zip(image_data.class_names, class_weights, strict=True)
            )
        )

    def pipelines():
        train = image_data.dataset(
            "train",
            batch_size=arguments["batch_size"],
            cache=arguments["cache"],
            seed=seed + initial_epoch,
            one_hot=one_hot,
        )
        if arguments.get("augment") or (categorical and not one_hot):
            from kerasvision.augmentation import apply_augmentation

            # Training split only: validation, test and export never see it.
            train, _ = apply_augmentation(
                train,
                arguments.get("augment") or [],
                num_classes=image_data.num_classes,
                seed=seed + initial_epoch,
                one_hot=categorical,
            )
        if class_weights is not None:
            from kerasvision.regularization import add_sample_weights

            train = add_sample_weights(train, class_weights)
        train = _targets_for_head(train, binary)
        val = None
        if has_val:
            val = _targets_for_head(
                image_data.dataset(
                    "val",
                    batch_size=arguments["batch_size"],
                    cache=arguments["cache"],
                    one_hot=categorical,
                ),
                binary,
            )
        if len(network.outputs) > 1:
            count = len(network.outputs)
            train = train.map(lambda x, y, *w: (x, tuple([y] * count), *w))
            if val is not None:
                val = val.map(lambda x, y: (x, tuple([y] * count)))
        return distribution.shard(train), (
            None if val is None else distribution.shard(val)
        )

    # === Callbacks ===
    monitor = "val_loss" if has_val else "loss"
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    # Keras draws the progress bar (1); our logger prints one line per epoch (2).
    quiet = verbose != 2
    verbose = 1 if verbose == 1 else 0
    epoch_logger = _EpochLogger(total_epochs, log, quiet=quiet)
    nan_guard = _NaNGuard()
    best = _BestCheckpoint(os.path.join(checkpoints, "best.keras"), monitor)
    history_path = os.path.join(partial, "history.csv")
    if resume_state is not None:
        _truncate_history(history_path, initial_epoch)
    csv_logger = keras.callbacks.CSVLogger(history_path, append=True)
    tensorboard = (
        keras.callbacks.TensorBoard(os.path.join(partial, "logs"))
        if arguments["tensorboard"]
        else None
    )

    # === Train, phase by phase ===
    start_time = time.perf_counter()
    cache_seconds = 0.0
    datasets = None
    for phase in phases:
        if phase["end"] <= initial_epoch:
            continue
        start = max(phase["start"], initial_epoch)
        continuing = (
            resume_state is not None and start == initial_epoch > phase["start"]
        )
        if transfer and not continuing:
            from kerasvision.models.transfer import freeze_backbone, unfreeze

            if phase["trainable"]:
                unfreeze(network, phase["trainable"], bn=arguments["bn"])
            else:
                freeze_backbone(network)
            compile_for(network, phase["lr"])
        if transfer:
            from kerasvision.models.transfer import trainability_table

            table = trainability_table(network, lr=phase["lr"], bn=arguments["bn"])
            log(f"phase {phase['name']} (epochs {start + 1}-{phase['end']}):\n{table}")
            with open(os.path.join(partial, "trainability.txt"), "a") as stream:
                stream.write(f"phase {phase['name']}\n{table}\n\n")
        tracked = {"best_checkpoint": best}
        stopper = None
        if arguments["early_stopping"]:
            # A fresh EarlyStopping per phase: fine-tuning starts its own patience.
            stopper = keras.callbacks.EarlyStopping(
                monitor=monitor,
                patience=arguments["early_stopping"],
                restore_best_weights=True,
            )
            tracked["early_stopping"] = stopper
        if resume_state is not None and start == initial_epoch:
            _restore_callback_state(resume_state["state"], tracked, checkpoints)
        use_cache = transfer and not phase["trainable"] and _feature_cache_on(arguments)
        fit_model = network
        if use_cache:
            tick = time.perf_counter()
            with distribution.scope():
                fit_model, train_ds, val_ds = _cached_head(
                    network,
                    image_data,
                    arguments,
                    binary,
                    categorical,
                    seed,
                    compile_fn=lambda model, lr=phase["lr"]: compile_for(model, lr),
                    class_weights=class_weights,
                )
            train_ds = distribution.shard(train_ds)
            val_ds = None if val_ds is None else distribution.shard(val_ds)
            cache_seconds += time.perf_counter() - tick
            target = network
        else:
            datasets = datasets or pipelines()
            train_ds, val_ds = datasets
            target = None
        callbacks = [nan_guard, epoch_logger, csv_logger]
        callbacks.append(_BestCheckpointProxy(best, target))
        if stopper is not None:
            callbacks.append(stopper)
        if tensorboard is not None:
            callbacks.append(tensorboard)
        callbacks.append(_LastCheckpoint(checkpoints, monitor, tracked, target=target))
        with distribution.scope():
            distribution.prepare_fit(fit_model, train_ds)
            fit_model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=phase["end"],
                initial_epoch=start,
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,  # the tf.data pipeline shuffles (seeded)
            )
        if nan_guard.where is not None:
            epoch, batch = nan_guard.where
            raise TrainingError(
                f"loss became NaN/inf at epoch {epoch}, batch {batch}; try a lower "
                f"--lr (was {phase['lr']}); partial run kept at {partial}"
            )
    train_seconds = time.perf_counter() - start_time
    if distribution.strategy is not None:
        network = _without_strategy(network, partial)

    # === Evaluate ===
    from kerasvision.evaluation import evaluate_model
    from kerasvision.visualization.plots import (
        plot_confusion_matrix,
        plot_training_curves,
    )

    eval_split = (
        "test" if len(image_data.splits["test"]) else ("val" if has_val else "train")
    )
    metrics = evaluate_model(
        network, image_data, eval_split, batch_size=max(64, arguments["batch_size"])
    )
    history = _read_history(history_path)
    write_json(os.path.join(partial, "metrics.json"), metrics)
    plot_confusion_matrix(
        metrics["confusion_matrix"],
        image_data.class_names,
        os.path.join(partial, "confusion_matrix.png"),
        title=f"{model_name} - {eval_split} split ({metrics['count']} images)",
    )
    plot_training_curves(history, os.path.join(partial, "curves.png"))

    # === Save and export ===
    temp_model = os.path.join(partial, ".model.tmp.keras")
    network.save(temp_model)
    os.replace(temp_model, os.path.join(partial, "model.keras"))
    export_report = None
    if export:
        samples = next(
            iter(
                image_data.dataset(
                    eval_split, batch_size=16, shuffle=False, include_labels=False
                )
            )
        )
        from kerasvision.export import export_saved_model

        export_report = export_saved_model(
            network,
            os.path.join(partial, "serving"),
            class_names=image_data.class_names,
            resize=image_data.resize,
            sample_images=np.asarray(samples),
        )
        export_report["path"] = os.path.join(final_dir, "serving")
    for leftover in ("last.keras", "state.json"):
        path = os.path.join(checkpoints, leftover)
        if os.path.exists(path):
            os.remove(path)
    info.update(
        status="complete",
        finished=datetime.datetime.now().isoformat(timespec="seconds"),
        epochs_trained=len(history.get("loss", [])),
        train_seconds=round(train_seconds, 3),
        epoch_seconds=[round(s, 3) for s in epoch_logger.seconds],
        feature_cache_seconds=round(cache_seconds, 3),
        metrics={k: v for k, v in metrics.items() if not isinstance(v, dict | list)},
        export=export_report,
    )
    write_json(os.path.join(partial, "run.json"), info)
    _publish(partial, final_dir)
    return FitResult(
        run_dir=final_dir,
        metrics=metrics,
        history=history,
        epoch_seconds=epoch_logger.seconds,
        train_epoch_seconds=epoch_logger.train_seconds,
        model=network,
        data=image_data,
        export=export_report,
        distribution=info.get("distribution"),
    )


def _without_strategy(network, folder):
    """The trained model, reloaded outside the distribution strategy.

    Evaluation, plots and export are local work: on a model built under a
    strategy every `predict` would be distributed (under MultiWorkerMirrored-
    Strategy, a cross-worker gather per batch).
    """
    import warnings

    from kerasvision.saving import load_model

    path = os.path.join(folder, ".distributed.tmp.keras")
    network.save(path)
    try:
        with warnings.catch_warnings():
            # A frozen-backbone run never trained `network` itself (the cached
            # head did): its unbuilt optimizer cannot fill the rebuilt one.
            warnings.filterwarnings(
                "ignore", "Skipping variable loading for optimizer", UserWarning
            )
            return load_model(path)
    finally:
        os.remove(path)


def _restore_callback_state(state, tracked, checkpoints):

    for name, callback in tracked.items():
        saved = state.get(name) or {}
        if saved.get("best") is not None:
            callback.best = saved["best"]
        if hasattr(callback, "wait"):
            callback.wait = saved.get("wait", 0)
        if hasattr(callback, "best_epoch"):
            callback.best_epoch = saved.get("best_epoch", 0)
        if name == "early_stopping":
            best_path = os.path.join(checkpoints, "best.keras")
            if os.path.isfile(best_path):
                from kerasvision.saving import load_model

                callback.best_weights = load_model(best_path).get_weights()


class _BestCheckpointProxy(_callback_base()):
    """Forwards epoch ends to the run's one `_BestCheckpoint`, saving `target`."""

    def __init__(self, best, target):
        super().__init__()
        self.best = best
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        self.best.target = self.target or self.model
        self.best.on_epoch_end(epoch, logs)


def _phases(arguments) -> list[dict]:
    """`[{name, start, end, lr, trainable}]`: one phase, or warm-up + fine-tune."""
    epochs, lr = arguments["epochs"], arguments["lr"]
    if arguments.get("backbone") is None:
        return [
            {"name": "train", "start": 0, "end": epochs, "lr": lr, "trainable": None}
        ]
    if arguments["mode"] == "feature-extraction":
        return [
            {"name": "head", "start": 0, "end": epochs, "lr": lr, "trainable": False}
        ]
    warmup = 1 if arguments["warmup_epochs"] is None else arguments["warmup_epochs"]
    fine_lr = arguments["fine_tune_lr"] or lr / 10
    phases = []
    if warmup:
        phases.append(
            {"name": "warm-up", "start": 0, "end": warmup, "lr": lr, "trainable": False}
        )
    phases.append(
        {
            "name": "fine-tune",
            "start": warmup,
            "end": warmup + epochs,
            "lr": fine_lr,
            "trainable": arguments["unfreeze"],
        }
    )
    return phases


def _has_mixers(augment) -> bool:
    if not augment:
        return False
    from kerasvision.augmentation import parse_augment_spec

    return any(step.is_mixer for step in parse_augment_spec(augment))


def _build_checked(builder, *args, **kwargs):
    """Call a builder; an option it does not take becomes a clear ValueError."""
    try:
        return builder(*args, **kwargs)
    except TypeError as error:
        text = str(error)
        if "unexpected keyword argument" in text:
            option = text.split("argument")[-1].strip(" '\"")
            raise ValueError(
                f"this model does not take the option {option!r} "
                f"(check --model-arg / the regularization options)"
            ) from None
        raise


def _feature_cache_on(arguments) -> bool:
    # Nothing random may run before the head (augmentation would be frozen in).
    mode = arguments.get("feature_cache", "auto")
    if mode == "off":
        return False
    return not arguments.get("augment")


def _backbone_feature_layer(backbone, inner) -> str:
    from kerasvision.models.backbones import get_backbone_spec
    from kerasvision.models.transfer import is_backbone_reference

    if is_backbone_reference(backbone):
        return inner.layers[-1].name
    _, spec = get_backbone_spec(backbone)
    return spec.feature_layer or inner.layers[-1].name


def _cached_head(
    network,
    image_data,
    arguments,
    binary,
    one_hot,
    seed,
    *,
    compile_fn,
    class_weights=None,
):
    """The head as its own model (sharing the layers) and datasets of features.

    The frozen backbone and the pooling run once over train/val; the returned
    head model reuses the very layer objects of `network`, so training it trains
    `network`'s head.
    """
    import keras
    import tensorflow as tf

    pool = next(
        layer for layer in network.layers if layer.name in ("avg_pool", "max_pool")
    )
    features_model = keras.Model(network.inputs, pool.output)
    after = network.layers[network.layers.index(pool) + 1 :]
    head_input = keras.Input(shape=pool.output.shape[1:], name="features")
    x = head_input
    for layer in after:
        x = layer(x)
    head = keras.Model(head_input, x, name=f"{network.name}_head")
    compile_fn(head)

    def features(split):
        part = image_data.splits[split]
        images = image_data.dataset(
            split, batch_size=64, shuffle=False, include_labels=False, cache="none"
        )
        values = features_model.predict(images, verbose=0)
        targets = image_data._targets(part, one_hot)
        if binary:
            targets = (
                targets[:, 1:2] if targets.ndim == 2 else targets[:, None]
            ).astype("float32")
        return tf.data.Dataset.from_tensor_slices((values, targets))

    batch = arguments["batch_size"]
    train = features("train").shuffle(
        len(image_data.splits["train"]), seed=seed, reshuffle_each_iteration=True
    )
    train = train.batch(batch)
    if class_weights is not None:
        from kerasvision.regularization import add_sample_weights

        train = add_sample_weights(train, class_weights)
    train = train.prefetch(tf.data.AUTOTUNE)
    val = None
    if len(image_data.splits["val"]):
        val = features("val").batch(batch).prefetch(tf.data.AUTOTUNE)
    return head, train, val


def _publish(partial, final_dir):
    """Rename the finished partial run into place (replacing an old one last)."""
    if os.path.exists(final_dir):
        old = final_dir.rstrip(os.sep) + f".old-{os.getpid()}"
        os.replace(final_dir, old)
        os.replace(partial, final_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(partial, final_dir)


def _resume(output, *, log, verbose, epochs, distribute="none"):
    final_dir = output or _latest_partial()
    if final_dir is None:
        raise ValueError(
            f"--resume: no interrupted run found in {DEFAULT_RUNS_DIR}/; "
            "pass --output RUN_DIR"
        )
    final_dir = os.path.abspath(os.fspath(final_dir))
    partial = partial_dir(final_dir)
    state_file = os.path.join(partial, "checkpoints", "state.json")
    if not os.path.isfile(state_file) or not os.path.isfile(
        os.path.join(partial, "run.json")
    ):
        if os.path.isfile(os.path.join(final_dir, "run.json")):
            raise ValueError(
                f"--resume: run {final_dir} already finished; nothing to resume"
            )
        raise ValueError(
            f"--resume: {final_dir} is not an interrupted kerasvision run "
            f"(no checkpoint from a finished epoch)"
        )
    info = read_json(os.path.join(partial, "run.json"))
    state = read_json(state_file)
    arguments = info["arguments"]
    source = info["data"]["source"]
    if source["kind"] == "arrays":
        raise ValueError(
            "--resume: runs on in-memory arrays cannot be resumed from disk"
        )
    data = source["path"] if source["kind"] == "folder" else None
    return _train(
        data,
        arguments,
        output=final_dir,
        overwrite=False,
        export=True,
        verbose=verbose,
        log=log,
        resume_state={"state": state, "split": info["split"], "info": info},
        distribute=distribute,
    )
