"""Training a classifier as short public steps over a `RunWriter`.

`fit_classifier` is the one-call composition; the steps can also be called one by
one (see the README's "Step by step")::

    config = FitConfig(dataset="digits", epochs=5, seed=1).resolved()
    data = load_data(None, config)
    model = build_model(config, data)
    with RunWriter.create("saved_models/digits-steps") as run:
        record(run, config, data, model)
        outcome = train(model, data, config, run)
        metrics = evaluate(outcome.model, data, run)
        save_and_export(outcome.model, data, run)
        run.publish()
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from kerasvision import __version__
from kerasvision.progress import Progress, StepTimes, stderr_line
from kerasvision.runs import software_versions
from kerasvision.training.calibration import calibrate
from kerasvision.training.pipelines import pipelines, uses_categorical_labels
from kerasvision.training.selection import keep_better_of_warmup, save_warmup
from kerasvision.training.thresholds import calibrate_labels

__all__ = [
    "Backbone",
    "TrainingOutcome",
    "build_model",
    "calibrate",
    "compile_model",
    "evaluate",
    "fit_classifier",
    "load_data",
    "pipelines",
    "record",
    "resolve_backbone",
    "save_and_export",
    "train",
]


_stderr = stderr_line


# === Backbone and input size ===


@dataclass
class Backbone:
    """What `--backbone` names, resolved once (a registry entry or a loaded model).

    Attributes:
        name: The registry key, or the path of Model A / the encoder run.
        min_size: Smallest input side.
        default_size: Input side used when the data has no natural size.
        exact_size: `(height, width)` a loaded model takes, else None.
        channels: Channels the backbone takes.
        model: The loaded Model A / encoder (None for a registry entry).
        feature_layer: The loaded model's feature layer (None for a registry
            entry: its spec names it).
    """

    name: str
    min_size: int
    default_size: int
    exact_size: tuple | None = None
    channels: int = 3
    model: object = None
    feature_layer: str | None = None


def resolve_backbone(config) -> Backbone | None:
    """The run's backbone (loading Model A / an encoder run once), or None."""
    if config.backbone is None:
        return None
    from kerasvision.models.backbones import get_backbone_spec, is_backbone_reference

    if is_backbone_reference(config.backbone):
        from kerasvision.reuse import load_backbone

        model, feature = load_backbone(config.backbone)
        height, width, channels = (int(v) for v in model.input_shape[1:])
        return Backbone(
            config.backbone, 1, height, (height, width), channels, model, feature
        )
    from kerasvision.models.hub import HUB_MIN_SIZE, hub_default_size, is_hub_backbone

    if is_hub_backbone(config.backbone):  # reads the preset's converter (no weights)
        size = hub_default_size(config.backbone)
        return Backbone(config.backbone, HUB_MIN_SIZE, size)
    key, spec = get_backbone_spec(config.backbone)
    return Backbone(key, spec.min_size, spec.default_size)


def _size_rules(config, backbone):
    """`(label, min_size, default_size, exact_size, channels or None)`."""
    if backbone is not None:
        label = "the backbone model" if backbone.model is not None else backbone.name
        return (
            label,
            backbone.min_size,
            backbone.default_size,
            backbone.exact_size,
            backbone.channels,
        )
    from kerasvision.models import get_model_spec

    spec = get_model_spec(config.model)
    return config.model, spec.min_size, spec.default_size, None, None


def _resolve_image_size(data, image_size, rules):
    from kerasvision.data.images import parse_image_size

    label, min_size, default_size, exact, _ = rules
    requested = parse_image_size(image_size)
    if exact is not None:
        if requested is not None and tuple(requested) != tuple(exact):
            raise ValueError(
                f"{label} takes {exact[0]}x{exact[1]} images; drop --image-size "
                f"or pass --image-size {exact[0]}x{exact[1]}"
            )
        return data.with_image_size(exact)
    if requested is not None:
        if min(requested) < min_size:
            raise ValueError(
                f"--image-size {requested[0]}x{requested[1]} is too small for "
                f"{label}: it needs at least {min_size}x{min_size}"
            )
        return data.with_image_size(requested)
    if data.size_source == "default":
        # A folder without an explicit size: the model's preferred size.
        return data.with_image_size(max(default_size, min_size))
    height, width = data.image_size
    if min(height, width) < min_size and data.size_source == "explicit":
        raise ValueError(
            f"image size {height}x{width} is too small for {label}: it needs at "
            f"least {min_size}x{min_size}"
        )
    if min(height, width) < min_size:
        scale = math.ceil(min_size / min(height, width))
        return data.with_image_size((height * scale, width * scale))
    return data


def load_data(data, config, *, backbone=None, split_record=None, on_bad_file=None):
    """The run's `ImageData`, at the size and channels the model takes.

    Args:
        data: A folder, `(x, y)` arrays, an `ImageData`, or None (the built-in
            `config.dataset`, default "digits").
        config: A resolved `FitConfig`.
        backbone: `resolve_backbone(config)`. Defaults to None (resolved here).
        split_record: A recorded split to rebuild (resume). Defaults to None.
        on_bad_file: Called as `on_bad_file(path, reason)`. Defaults to None.

    Returns:
        An `ImageData`.

    Raises:
        ValueError, FileNotFoundError: On bad data or sizes.
    """
    from kerasvision.config import get_task
    from kerasvision.data.sources import SOURCE_OPTIONS
    from kerasvision.data.sources import load_data as load_any

    if backbone is None and config.backbone is not None:
        backbone = resolve_backbone(config)
    rules = _size_rules(config, backbone)
    channels = config.channels
    if rules[4] is not None:
        if channels not in (None, rules[4]):
            raise ValueError(
                f"the backbone takes {rules[4]}-channel images; drop --channels"
            )
        channels = rules[4]
    kwargs = {
        "channels": channels,
        "resize": config.resize,
        "val_split": config.val_split,
        "test_split": config.test_split,
        "seed": config.seed,
        "split_record": split_record,
        "classes": config.classes,
    }
    kwargs.update({name: getattr(config, name) for name in SOURCE_OPTIONS})
    if isinstance(data, str | os.PathLike) or config.labels is not None:
        kwargs["on_bad_file"] = on_bad_file
        kwargs["group_by"] = config.group_by
    elif config.group_by is not None:
        raise ValueError("--group-by needs a data folder (file paths to group)")
    multi_label = get_task(config.task).multi_label
    image_data = load_any(data, dataset=config.dataset, multi_label=multi_label,
                          **kwargs)  # fmt: skip
    return _resolve_image_size(image_data, config.image_size, rules)


# === Model ===


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
        fixed = ("weights", "input_shape", "bn", "kernel_initializer")
        given = {k: v for k, v in kwargs.items() if k not in fixed}
        if not given:
            raise
        shown = ", ".join(f"{k}={v!r}" for k, v in given.items())
        raise ValueError(
            f"--model-arg {shown}: a value of the wrong type ({text})"
        ) from None


def build_model(config, data, *, backbone=None, distribution=None):
    """The run's uncompiled classifier (scratch model or transfer classifier).

    Args:
        config: A resolved `FitConfig`.
        data: The run's `ImageData` (its input shape and classes).
        backbone: `resolve_backbone(config)`. Defaults to None (resolved here).
        distribution: A `Distribution` whose scope holds the variables.
            Defaults to None.

    Returns:
        A functional `keras.Model` taking raw 0-255 pixels.
    """
    import contextlib

    from kerasvision.config import get_task

    scope = distribution.scope() if distribution else contextlib.nullcontext()
    # The recipe's default model arguments for this input size (idempotent).
    kwargs = dict(config.resolved(input_shape=data.input_shape).model_kwargs)
    head = get_task(config.task).activation  # "multilabel": a sigmoid per label
    if head is not None:
        kwargs["classifier_activation"] = head
    if config.backbone is not None:
        from kerasvision.models.transfer import build_transfer_classifier

        backbone = backbone or resolve_backbone(config)
        with scope:
            return _build_checked(
                build_transfer_classifier,
                backbone.model if backbone.model is not None else backbone.name,
                data.num_classes,
                weights=config.weights,
                input_shape=data.input_shape,
                bn=config.bn,
                **kwargs,
            )
    from kerasvision.models import build_model as build_registered

    if config.kernel_initializer:
        from kerasvision.regularization import get_initializer

        kwargs["kernel_initializer"] = get_initializer(
            config.kernel_initializer, seed=config.seed
        )
    with scope:
        model = _build_checked(
            build_registered, config.model, data.input_shape, data.num_classes, **kwargs
        )
    if "kernel_size" in kwargs:
        _check_kernels(model, kwargs["kernel_size"])
    return model


def _check_kernels(model, value) -> None:
    """`ValueError` when a convolution's kernel is larger than the feature map it
    slides over (`--model-arg kernel_size=100` at 16 px: all padding, minutes
    per epoch, nothing learned)."""
    import keras

    for layer in model.layers:
        if not isinstance(layer, keras.layers.Conv2D):
            continue
        try:
            height, width = layer.input.shape[1:3]
        except (AttributeError, ValueError):
            continue
        if height and width and max(layer.kernel_size) > max(height, width):
            raise ValueError(
                f"--model-arg kernel_size={value}: layer {layer.name} sees "
                f"{height}x{width} feature maps, smaller than its "
                f"{layer.kernel_size[0]}x{layer.kernel_size[1]} kernel; use a "
                f"smaller kernel_size or a larger --image-size"
            )


def compile_model(model, config, data, phase, *, distribution=None):
    """Compile for a phase of the run (`phase_optimizer`: the phase's schedule,
    EMA, layer-wise rates; the loss matching head and labels)."""
    import contextlib

    from kerasvision.models import get_model_spec
    from kerasvision.training.compile import compile_classifier
    from kerasvision.training.multilabel import positive_weights
    from kerasvision.training.phases import phase_optimizer

    aux_weight = 0.3
    if config.backbone is None:
        aux_weight = get_model_spec(config.model).aux_loss_weight or aux_weight
    scope = distribution.scope() if distribution else contextlib.nullcontext()
    with scope:  # the optimizer's variables are mirrored too
        return compile_classifier(
            model,
            phase_optimizer(model, config, data, phase),
            label_mode="categorical"
            if uses_categorical_labels(config, data)
            else "int",
            num_classes=data.num_classes,
            label_smoothing=float(config.label_smoothing or 0.0),
            aux_loss_weight=aux_weight,
            jit_compile="auto" if config.jit_compile is None else config.jit_compile,
            multi_label=data.multi_label,
            positive_weights=data.multi_label and positive_weights(config, data),
        )


def _feature_layer(config, model, backbone) -> str:
    from kerasvision.models import feature_layer_name

    if config.backbone is None:
        return feature_layer_name(model, config.model)
    if backbone is not None and backbone.feature_layer is not None:
        return backbone.feature_layer
    from kerasvision.models.transfer import transfer_feature_layer

    return transfer_feature_layer(model, backbone.name)


# === Record ===


def record(run, config, data, model, *, backbone=None, distribution=None) -> dict:
    """Write `run.json` (status "running"), labels, splits and bad files. The
    recorded arguments hold the model's arguments `build_model` used."""
    from kerasvision.training.phases import phase_schedule, plan_phases

    config = config.resolved(input_shape=data.input_shape)
    model_info = {}
    if config.backbone is not None:
        from kerasvision.models.transfer import get_backbone

        backbone = backbone or resolve_backbone(config)
        model_info = {
            "backbone": config.backbone,
            "backbone_layer": get_backbone(model).name,
            "weights": config.weights,
            "mode": config.mode,
            "bn": config.bn,
            "phases": [phase.to_json() for phase in plan_phases(config)],
        }
    info = {
        "kerasvision_version": __version__,
        "kind": "classifier",
        "status": "running",
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "arguments": config.to_json(),
        "seed": config.seed,
        "versions": software_versions(),
        "model": {
            "name": config.model_label,
            "keras_name": model.name,
            "input_shape": list(data.input_shape),
            "num_classes": data.num_classes,
            "params": int(model.count_params()),
            "feature_layer": _feature_layer(config, model, backbone),
            "binary_head": bool(model.outputs[0].shape[-1] == 1),
            **model_info,
        },
        "data": data.summary(),
        "split": data.split_record(),
        "schedule": [
            {"phase": phase.name, "ema": config.ema, "lr_mult": config.lr_mult}
            | phase_schedule(config, data, phase).to_json()
            for phase in plan_phases(config)
        ],
    }
    if distribution is not None and distribution.strategy is not None:
        info["distribution"] = distribution.summary()
    if run.state is not None:  # resuming: keep the history of the record
        previous = run.info
        info["created"] = previous.get("created", info["created"])
        info.update(
            {k: previous[k] for k in ("lr_find", "time_budget") if k in previous}
        )
        info["resumed"] = previous.get("resumed", []) + [
            {
                "at": datetime.datetime.now().isoformat(timespec="seconds"),
                "epoch": int(run.state["epoch"]),
            }
        ]
    run.info = {}
    run.record(info)
    run.write_data(data)
    return info


# === Train ===


def class_weights_of(config, data, log=None):
    """The per-class weights of `config.class_weight` (None when not set; a
    multi-label run's are a weight per label in its loss: `positive_weights`)."""
    if config.class_weight is None:
        return None
    if data.multi_label:
        from kerasvision.training.multilabel import positive_weights

        positive_weights(config, data, log)
        return None
    from kerasvision.regularization import compute_class_weights

    weights = compute_class_weights(
        data.splits["train"].labels,
        data.num_classes,
        config.class_weight,
        class_names=data.class_names,
    )
    if log is not None:
        log(
            "class weights: "
            + ", ".join(
                f"{n} {w:.3f}" for n, w in zip(data.class_names, weights, strict=True)
            )
        )
    return weights


@dataclass
class TrainingOutcome:
    """What `train` did: the trained model, timings, and the history."""

    model: object
    history: dict
    epoch_seconds: list = field(default_factory=list)
    train_epoch_seconds: list = field(default_factory=list)
    train_seconds: float = 0.0
    feature_cache_seconds: float = 0.0
    #: Fine-tuning: the warm-up or the fine-tuned model, by validation loss.
    fine_tune_choice: dict | None = None


class _PhaseRunner:
    """The state shared by the phases of one `train` call."""

    def __init__(self, model, data, config, run, distribution, log, verbose):
        import keras

        from kerasvision.distribute import Distribution
        from kerasvision.training.callbacks import (
            BestCheckpoint,
            EpochLogger,
            NaNGuard,
            progress_modes,
        )
        from kerasvision.training.phases import plan_phases

        self.model, self.data, self.config, self.run = model, data, config, run
        self.distribution = distribution or Distribution()
        self.log = log
        self.initial_epoch = int(run.state["epoch"]) if run.state else 0
        self.phases = plan_phases(config)
        self.keras_verbose, quiet = progress_modes(verbose)
        self.monitor = "val_loss" if len(data.splits["val"]) else "loss"
        if self.monitor == "loss":
            log("no validation split: no early stopping; checkpoints/best.keras "
                "is chosen by training loss")  # fmt: skip
        self.logger = EpochLogger(self.phases[-1].end, log, quiet=quiet)
        self.nan_guard = NaNGuard()
        self.best = BestCheckpoint(run.file("checkpoints", "best.keras"), self.monitor)
        if run.state is not None:
            run.truncate_history(self.initial_epoch)
        self.csv_logger = keras.callbacks.CSVLogger(run.history_file, append=True)
        self.epoch_seeds = None
        if config.epoch_seeds:
            from kerasvision.training.callbacks import EpochSeeds

            self.epoch_seeds = EpochSeeds(config.seed, self.initial_epoch)
        self.tensorboard = (
            keras.callbacks.TensorBoard(run.file("logs"))
            if config.tensorboard
            else None
        )
        self.class_weights = class_weights_of(config, data, log)
        self.binary = model.outputs[0].shape[-1] == 1
        self.datasets = None
        self.frozen = None  # the fine-tuning phase's FrozenPart, once computed
        self.extra_callbacks = []  # e.g. a tracker's (`train(callbacks=...)`)
        self.cache_seconds = 0.0
        self.wrap, self.fitted = None, None  # distilling: what Keras fits

    def compiled(self, phase) -> None:
        """Compile the model for `phase` (and wrap it again, distilling)."""
        compile_model(
            self.model, self.config, self.data, phase, distribution=self.distribution
        )
        if self.wrap is not None:
            self.fitted = self.wrap(self.model)

    def fit_phase(self, phase) -> None:
        from kerasvision.training.phases import use_feature_cache, use_prefix_cache

        start = max(phase.start, self.initial_epoch)
        continuing = self.run.state is not None and start == self.initial_epoch > (
            phase.start
        )
        if self.config.is_transfer:
            self._prepare_transfer_phase(phase, start, continuing)
        tracked, stopper = self._tracked_callbacks()
        if self.run.state is not None and start == self.initial_epoch:
            from kerasvision.training.callbacks import restore_callback_state

            restore_callback_state(self.run.state, tracked, self.run.checkpoint_dir)
        cached = None
        config = self.config
        if self.wrap is None and (  # a teacher needs the images
            use_feature_cache(config, phase) or use_prefix_cache(config, phase)
        ):
            cached = self._cached_phase(phase)
        if cached is not None:
            fit_model, train_ds, val_ds = cached
            target = self.model
        else:
            self.datasets = self.datasets or pipelines(
                self.model,
                self.data,
                self.config,
                initial_epoch=self.initial_epoch,
                class_weights=self.class_weights,
                epoch=self.epoch_seeds and self.epoch_seeds.epoch,
            )
            fit_model, target = self.model, None
            if self.fitted is not None:  # checkpoints keep the student
                fit_model, target = self.fitted, self.model
            train_ds, val_ds = (self.distribution.shard(d) for d in self.datasets)
        self.best.target = target
        self._fit(fit_model, phase, start, train_ds, val_ds, tracked, stopper, target)

    def _prepare_transfer_phase(self, phase, start, continuing) -> None:
        from kerasvision.models.transfer import trainability_table
        from kerasvision.training.phases import enter_phase

        if not continuing:
            enter_phase(self.model, phase, bn=self.config.bn)
            self.compiled(phase)
        table = trainability_table(self.model, lr=phase.lr, bn=self.config.bn)
        self.log(f"phase {phase.name} (epochs {start + 1}-{phase.end}):\n{table}")
        with open(self.run.file("trainability.txt"), "a", encoding="utf-8") as stream:
            stream.write(f"phase {phase.name}\n{table}\n\n")

    def _tracked_callbacks(self):
        import keras

        tracked = {"best_checkpoint": self.best}
        stopper = None
        if self.config.early_stopping and self.monitor == "val_loss":
            # A fresh EarlyStopping per phase: fine-tuning starts its own patience.
            stopper = keras.callbacks.EarlyStopping(
                monitor=self.monitor,
                patience=self.config.early_stopping,
                restore_best_weights=True,
            )
            tracked["early_stopping"] = stopper
        return tracked, stopper

    def _cached_phase(self, phase):
        """`(model, train, val)` on cached features (a frozen backbone) or on
        cached activations of the frozen part (fine-tuning); None when the
        backbone cannot be cut (`frozen_part`)."""
        from kerasvision.training.phases import CachedTargets, cached_head, cached_top

        tick = time.perf_counter()
        count = len(self.data.splits["train"]) + len(self.data.splits["val"])
        label = f"extracting backbone features of {count:,} images (once)"
        shown = self.keras_verbose == 1 or not self.logger.quiet  # not verbose=0
        progress = Progress(
            label, count, unit="images", log=self.log, announce=True, enabled=shown
        )
        with self.distribution.scope(), progress:
            frozen = self._frozen_part(phase)
            if phase.trainable and frozen is None:
                return None  # the backbone cannot be cut: train on images
            targets = CachedTargets(
                self.binary,
                uses_categorical_labels(self.config, self.data),
                self.config.seed,
                self.class_weights,
                self.epoch_seeds and self.epoch_seeds.epoch,
            )
            cache = cached_top if phase.trainable else cached_head
            cached = cache(self.model, self.data, self.config, targets, frozen=frozen)
        head, train_ds, val_ds = cached
        compile_model(
            head, self.config, self.data, phase, distribution=self.distribution
        )
        self.cache_seconds += time.perf_counter() - tick
        shard = self.distribution.shard
        return head, shard(train_ds), None if val_ds is None else shard(val_ds)

    def _frozen_part(self, phase):
        """The cached frozen part of the run's fine-tuning phase, computed once,
        in the warm-up already (its pooled features then come from the cache
        too, so the images pass through the backbone once); None when that
        phase trains on images."""
        from kerasvision.training.phases import (
            enter_phase,
            frozen_part,
            use_prefix_cache,
        )

        tuned = next((p for p in self.phases if p.trainable), None)
        if tuned is None or not use_prefix_cache(self.config, tuned):
            return None
        if self.frozen is None:
            if not phase.trainable:  # see which part the fine-tuning trains
                enter_phase(self.model, tuned, bn=self.config.bn)
            self.frozen = frozen_part(self.model, self.data, self.config) or False
            if not phase.trainable:
                enter_phase(self.model, phase, bn=self.config.bn)
        return self.frozen or None

    def _fit(self, fit_model, phase, start, train_ds, val_ds, tracked, stopper, target):
        from kerasvision.training.callbacks import (
            EmaValidation,
            LastCheckpoint,
            LearningRateLogger,
        )
        from kerasvision.training.results import TrainingError

        callbacks = [c for c in (self.epoch_seeds,) if c is not None]
        callbacks += [LearningRateLogger(), EmaValidation(), self.nan_guard]
        callbacks += [self.logger, self.csv_logger, self.best]
        callbacks += [c for c in (stopper, self.tensorboard) if c is not None]
        callbacks.append(LastCheckpoint(self.run, self.monitor, tracked, target))
        callbacks += self.extra_callbacks
        with self.distribution.scope(), _missing_files_stop(self.run):
            self.distribution.prepare_fit(fit_model, train_ds)
            fit_model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=phase.end,
                initial_epoch=start,
                callbacks=callbacks,
                verbose=self.keras_verbose,
                shuffle=False,  # the tf.data pipeline shuffles (seeded)
            )
        if self.nan_guard.where is not None:
            epoch, batch = self.nan_guard.where
            raise TrainingError(
                f"loss became NaN/inf at epoch {epoch}, batch {batch}; try a lower "
                f"--lr (was {phase.lr}); partial run kept at {self.run.path}"
            )


@contextlib.contextmanager
def _missing_files_stop(run):
    """An image file deleted (or emptied) while training stops the run with one
    line naming it; the epochs already checkpointed stay resumable."""
    import re

    import tensorflow as tf

    from kerasvision.training.results import TrainingError

    try:
        yield
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as error:
        message = str(getattr(error, "message", error))
        found = re.search(r"([^\s;]+); No such file or directory", message)
        if found is None and "ReadFile" not in message and "decode" not in message:
            raise
        what = found.group(1) if found else message.strip().splitlines()[0][:200]
        resume = (
            f"restore it, then continue with `kerasvision fit --resume --output "
            f"{run.final_dir}`"
            if run.resumable
            else "restore it and start again"
        )
        raise TrainingError(
            f"an image file went missing or changed during training ({what}); {resume}"
        ) from None


def train(
    model, data, config, run, *, distribution=None, log=None, verbose="auto",
    callbacks=(), wrap=None,
):  # fmt: skip
    """Train `model` phase by phase, checkpointing every epoch into `run`.

    A scratch model that is not compiled yet is compiled at `config.lr`; a
    transfer classifier is frozen/unfrozen and recompiled at each phase. With
    `run.state` set (a resumed run) training continues from its epoch.

    Args:
        model: The classifier (`build_model`, or the resumed checkpoint).
        data: The run's `ImageData`.
        config: A resolved `FitConfig` with a seed.
        run: The open `RunWriter`.
        distribution: A `Distribution`. Defaults to None (none).
        log: Receives progress lines. Defaults to None (stderr).
        verbose: "auto", 0, 1 or 2 (see `fit`). Defaults to "auto".
        callbacks: More Keras callbacks for every phase, called after the
            run's own (e.g. a tracker's). Defaults to ().
        wrap: `wrap(compiled model)` -> the compiled model Keras fits in its
            place (a distiller, `kerasvision.training.distill`), made again at
            each compile; checkpoints, evaluation and export keep `model`, and
            no feature cache is used. Defaults to None (fit `model`).

    Returns:
        A `TrainingOutcome` (its model is local, outside any strategy).

    Raises:
        TrainingError: If the loss becomes NaN/inf.
    """
    log = log or _stderr
    runner = _PhaseRunner(model, data, config, run, distribution, log, verbose)
    runner.extra_callbacks = list(callbacks)
    runner.wrap = wrap
    if not config.is_transfer and (wrap is not None or not model.compiled):
        runner.compiled(runner.phases[0])
    tick = time.perf_counter()
    tuned = any(phase.trainable for phase in runner.phases)
    for phase in runner.phases:
        if any(getattr(c, "stopped_after", None) for c in runner.extra_callbacks):
            break  # a time budget's guard stopped training (`BudgetStop`)
        if phase.end > runner.initial_epoch:
            runner.fit_phase(phase)
            if tuned and phase.trainable is False:
                save_warmup(model, run)
    train_seconds = time.perf_counter() - tick
    if runner.distribution.strategy is not None:
        model = _without_strategy(model, run.path)
    choice = keep_better_of_warmup(model, data, run, log=log) if tuned else None
    return TrainingOutcome(
        fine_tune_choice=choice,
        model=model,
        history=run.read_history(),
        epoch_seconds=runner.logger.seconds,
        train_epoch_seconds=runner.logger.train_seconds,
        train_seconds=train_seconds,
        feature_cache_seconds=runner.cache_seconds,
    )


def _without_strategy(network, folder):
    """The trained model, reloaded outside the distribution strategy.

    Evaluation, plots and export are local work: on a model built under a
    strategy every `predict` would be distributed (under MultiWorkerMirrored-
    Strategy, a cross-worker gather per batch).
    """
    from kerasvision.saving import load_model

    path = os.path.join(folder, ".distributed.tmp.keras")
    network.save(path)
    try:
        return load_model(path, compile=False)
    finally:
        os.remove(path)


# === Evaluate and export ===


def evaluate(model, data, run, *, batch_size: int = 64) -> dict:
    """Score the model on the evaluation split: `metrics.json` and the plots."""
    from kerasvision.evaluation import evaluate_model
    from kerasvision.visualization.plots import (
        plot_confusion_matrix,
        plot_training_curves,
    )

    if data.multi_label:  # scored at 0.5; calibrate_labels fits the thresholds
        from kerasvision.training.multilabel import evaluate_labels

        return evaluate_labels(model, data, run, batch_size=batch_size)
    split = data.scored_split
    metrics = evaluate_model(model, data, split, batch_size=batch_size)
    run.write_json("metrics.json", metrics)
    recorded = run.info.get("model", {})
    name = recorded.get("backbone") or recorded.get("name", model.name)
    plot_confusion_matrix(
        metrics["confusion_matrix"],
        data.class_names,
        run.file("confusion_matrix.png"),
        title=f"{name} - {split} split ({metrics['count']} images)",
    )
    plot_training_curves(run.read_history(), run.file("curves.png"))
    return metrics


def save_and_export(model, data, run, *, export: bool = True) -> dict | None:
    """`model.keras`, and the checked SavedModel `serving/` (unless `export`
    is False). Returns the export report."""
    run.save_model(model)
    if not export:
        return None
    from kerasvision.data.labelsets import recorded_thresholds
    from kerasvision.export import export_saved_model
    from kerasvision.models.heads import serving_model
    from kerasvision.training.multilabel import served_temperature

    temperature = served_temperature(run.info)  # one per label: multi-label

    samples = next(
        iter(
            data.dataset(
                data.scored_split,
                batch_size=16,
                shuffle=False,
                include_labels=False,
            )
        )
    )
    report = export_saved_model(
        serving_model(model, temperature=temperature),
        run.file("serving"),
        class_names=data.class_names,
        resize=data.resize,
        sample_images=np.asarray(samples),
        thresholds=recorded_thresholds(run.info, data.class_names),
    )
    report["path"] = os.path.join(run.final_dir, "serving")
    from kerasvision.export.model_card import write_model_card

    if write_model_card(run, report, where=run.file("serving")):
        report["model_card"] = os.path.join(report["path"], "MODEL_CARD.md")
    return report


# === One call ===


@contextlib.contextmanager
def seeded(config):
    """Seed Keras, NumPy and TensorFlow from `config.seed`, with op determinism.

    Inside the block a seeded CPU run is bit-reproducible; determinism is
    switched off for `deterministic=False` and for `jit_compile=True` (Keras
    refuses XLA with it on), and restored afterwards.
    """
    import keras

    from kerasvision._keras_internals import op_determinism

    with op_determinism(config.deterministic and not config.jit_compile):
        keras.utils.set_random_seed(config.seed)
        yield


def fit_classifier(
    data,
    config,
    *,
    output=None,
    overwrite: bool = False,
    export: bool = True,
    verbose="auto",
    log=None,
    resume=None,
    distribution=None,
    split=None,
    tracker=None,
    teacher=None,
    started=None,
    stop_after=None,
):
    """Load, build, record, train, evaluate, export and publish one classifier run.

    Args:
        data: See `load_data`.
        config: A resolved `FitConfig` with a seed.
        output: Run directory. Defaults to None (`saved_models/<model>-<data>-
            <time>`).
        overwrite: Replace a finished run at `output`. Defaults to False.
        export: Write the checked SavedModel. Defaults to True.
        verbose: See `fit`. Defaults to "auto".
        log: Receives progress lines. Defaults to None (stderr).
        resume: A `RunWriter.resume(...)` to continue. Defaults to None.
        distribution: A `Distribution`. Defaults to None (none).
        split: A recorded split to train on (`rerun`). Defaults to None (the
            data is split anew).
        tracker: A `kerasvision.tracking.MlflowTracker` that logs the run
            (options, epochs, files, model). Defaults to None.
        teacher: A `kerasvision.training.distill.Teacher`: the model learns
            from its probabilities too (`train`'s `wrap`), and run.json records
            it under "distillation". Defaults to None.
        started: When the wait began (`time.time()`; `time_budget` counts
            from it). Defaults to None (now).
        stop_after: Stop after this many epochs in all, as the recorded run
            did whose time budget's guard stopped it (`rerun`). Defaults to
            None.

    Returns:
        A `FitResult`.
    """

    from kerasvision.training.budget import budget_guard
    from kerasvision.training.explain import split_grouping
    from kerasvision.training.results import FitResult

    log = log or _stderr
    if distribution is not None and distribution.strategy is not None:
        log(distribution.describe(config.batch_size))
    now = time.perf_counter()
    started = now if started is None else now - max(0.0, time.time() - started)
    times = StepTimes(log, enabled=verbose != 0)
    with seeded(config):
        config, run, model, image_data, backbone = _start(
            data, config, output, overwrite, resume, distribution, log, times, export,
            split=split,
        )  # fmt: skip
        with run:
            notes = {}
            if resume is None:
                config, model, notes = plan(
                    model, image_data, config, run, backbone=backbone,
                    distribution=distribution, log=log, started=started,
                )  # fmt: skip
            recorded = resume.info["split"] if resume is not None else split
            grouping = split_grouping(image_data, recorded)  # before the record
            record(run, config, image_data, model, backbone=backbone,
                   distribution=distribution)  # fmt: skip
            run.record(**notes)
            run.record(split={**run.info["split"], "duplicates": grouping})
            if teacher is not None:
                run.record(distillation=teacher.to_json())
            if tracker is not None:
                run.record(tracking=tracker.start(run.info, run_dir=run.final_dir))
            extra = [tracker.callback()] if tracker is not None else []
            guard = budget_guard(
                config, notes.get("time_budget"), started, stop_after, log
            )
            outcome = train(
                model, image_data, config, run,
                distribution=distribution, log=log, verbose=verbose,
                callbacks=extra + [guard] * (guard is not None),
                wrap=teacher and teacher.wrap,
            )  # fmt: skip
            if guard is not None and guard.stopped_after is not None:
                budget = {**run.info.get("time_budget", {}),
                          "stopped_after_epoch": guard.stopped_after}  # fmt: skip
                run.record(time_budget=budget)
            gap = overfitting(outcome.history, config, outcome.model, log=log)
            run.record(overfitting=gap)
            if outcome.fine_tune_choice is not None:
                run.record(fine_tune_choice=outcome.fine_tune_choice)
            metrics, report = _finish_steps(
                outcome, image_data, run, config, times, export=export, log=log
            )
            finish_record(run, outcome, metrics, report)
            run.publish()
    if tracker is not None:
        tracker.finish(run.final_dir)
    return FitResult(
        run_dir=run.final_dir,
        metrics=metrics,
        history=outcome.history,
        epoch_seconds=outcome.epoch_seconds,
        train_epoch_seconds=outcome.train_epoch_seconds,
        model=outcome.model,
        data=image_data,
        export=report,
        distribution=run.info.get("distribution"),
        config=config,
    )


def _finish_steps(outcome, data, run, config, times, *, export, log):
    """Evaluate, calibrate and export (each a timed step with progress); the
    served metrics, a word when they mean little, and the export report."""
    from kerasvision.training.explain import result_warning

    split = data.scored_split
    count = len(data.splits[split])
    batch_size = max(64, config.batch_size)
    with times.step("evaluate", f"evaluating on {count:,} {split} images", count,
                    unit="images", announce=count >= 1000):  # fmt: skip
        metrics = evaluate(outcome.model, data, run, batch_size=batch_size)
    with times.step("calibrate", "calibrating", announce=False):
        fitted = calibrate_labels if data.multi_label else calibrate  # per label
        metrics = fitted(outcome.model, data, run, metrics,
                         enabled=config.calibrate, log=log)  # fmt: skip
    epochs = len(outcome.history.get("loss", []))
    warning = result_warning(metrics, config, data, epochs_trained=epochs)
    if warning:
        log(warning)
        run.record(warnings=[warning])
    label = "saving model.keras" + (", exporting and checking serving/" * export)
    with times.step("export", label):
        report = save_and_export(outcome.model, data, run, export=export)
    times.add("feature_extraction", outcome.feature_cache_seconds)
    times.add("train", outcome.train_seconds - outcome.feature_cache_seconds)
    run.record(step_seconds=times.to_json())
    return metrics, report


def _start(
    data, config, output, overwrite, resume, distribution, log, times=None, export=True,
    *, split=None,
):  # fmt: skip
    """The config with the model's arguments for the data's input size, the
    data, the writer (checked, then opened once the model is built) and model."""
    from kerasvision.runs import DEFAULT_RUNS_DIR, RunWriter, default_run_name
    from kerasvision.training.explain import describe_run, size_reason

    times = times or StepTimes(log)
    with times.step("resolve_backbone", "loading the backbone", announce=False):
        backbone = resolve_backbone(config)

    def on_bad_file(path, reason):
        log(f"skipping bad file {path}: {reason}")

    split_record = resume.info["split"] if resume is not None else split
    with times.step("load_data", _reading_label(data, config)):
        image_data = load_data(
            data, config, backbone=backbone, split_record=split_record,
            on_bad_file=on_bad_file,
        )  # fmt: skip
    label, _, _, exact, _ = _size_rules(config, backbone)
    reason = size_reason(config, image_data, label, exact)
    for line in describe_run(config, image_data, size_reason=reason,
                             recorded=split_record is not None):  # fmt: skip
        log(line)
    for line in image_data.messages():
        log(line)
    class_weights_of(config, image_data)  # a bad --class-weight fails here, early
    if export and image_data.channels == 4:  # fail before training, not after
        raise ValueError(
            "--channels 4: the exported SavedModel decodes image bytes to RGB or "
            "grayscale only; train with --channels 3 (alpha dropped) or 1"
        )
    if resume is not None:
        model = _load_checkpoint(resume, distribution)
        log(f"resuming {resume.final_dir} from epoch {resume.state['epoch']}")
        return config, resume, model, image_data, backbone
    config = config.resolved(input_shape=image_data.input_shape)
    output = output or os.path.join(
        DEFAULT_RUNS_DIR, default_run_name(config.model_label, image_data.source)
    )
    data_dir = image_data.source.get("path")
    run = RunWriter.plan(output, overwrite=overwrite, data_dir=data_dir)
    with times.step("build_model", "building the model", announce=False):
        model = build_model(
            config, image_data, backbone=backbone, distribution=distribution
        )
    _check_unfreeze(config, model)
    run.open()  # created only now: a model that fails to build leaves nothing
    log(f"run directory: {run.final_dir} (in progress at {run.path})")
    return config, run, model, image_data, backbone


def _reading_label(data, config) -> str:
    if isinstance(data, str | os.PathLike):
        return f"reading {os.fspath(data)} (every file is decoded once)"
    if getattr(config, "labels", None) is not None:
        return f"reading the images listed in {config.labels}"
    if data is None:
        return f"loading the {config.dataset or 'digits'} dataset"
    return "preparing the in-memory images"


def plan(model, data, config, run, *, backbone=None, distribution=None, log=None,
         started=None):  # fmt: skip
    """Settle the recipe's default rate for the training set's size,
    `lr="auto"` (the learning-rate finder) and `time_budget` (the epochs) on
    the built model.

    The finder and the budget consume random numbers, so when either ran the
    model is built again from a freshly seeded state: the run then equals one
    given the chosen values (`kerasvision rerun`). Without either, the model
    stays as built.

    Returns:
        `(config, model, notes)`: the config the run trains with and records,
        the model to train, and the choices for run.json ("lr_find",
        "time_budget").
    """
    import keras

    log = log or _stderr
    notes = {}
    sized = _sized_epochs(config, data, log)
    if config.lr is None:  # the recipe's default depends on the set's size
        config = _default_lr(config, data, log)
    if config.lr == "auto":
        from kerasvision.training.lr_find import choose_lr

        found = choose_lr(model, data, config, log=log, plot=run.file("lr_find.png"))
        notes["lr_find"] = found.to_json()
        config = config.replace(lr=found.suggested)
    if config.time_budget is not None:
        from kerasvision.training.budget import plan_epochs

        spent = time.perf_counter() - started if started is not None else 0.0
        epochs, notes["time_budget"] = plan_epochs(
            model, data, config, elapsed=spent, log=log
        )
        config = config.replace(epochs=epochs, time_budget=None)
    if sized is not None and sized.get("cap", {}).get("seconds"):
        sized = _timed_epochs(model, data, config, sized, started, log)
    if notes or (sized and "time_target" in sized):
        keras.utils.set_random_seed(config.seed)
        model = build_model(config, data, backbone=backbone, distribution=distribution)
    if sized is not None:
        config, notes["default_epochs"] = config.replace(epochs=sized["epochs"]), sized
    return config, model, notes


def _default_lr(config, data, log):
    """The config with the recipe's default peak rate for this training set
    (`Recipe.lr_steps`), said in one line when it is scaled down."""
    recipe = config.recipe_entry
    default = recipe.defaults["lr"]
    steps = config.first_phase_steps(len(data.splits["train"]))
    lr = recipe.default_lr(default, steps)
    if lr != default:
        log(f"{recipe.phases[0].name} learning rate {lr:g}: the default "
            f"{default:g} scaled by {recipe.lr_steps} / {steps:,} steps of the "
            f"phase (recorded; --lr to choose)")  # fmt: skip
    return config.replace(lr=lr)


def _timed_epochs(model, data, config, sized, started, log) -> dict:
    """A large training set's default epochs from the recipe's time target:
    as many as let training, evaluation and export end within
    `epoch_cap["seconds"]` (measured like `--time-budget`), between the
    image cap's epochs and the recipe's default."""
    from kerasvision.config import get_task
    from kerasvision.training.budget import plan_epochs

    cap, full = sized["cap"], get_task(config.task).defaults["epochs"]
    if sized["epochs"] >= full:
        return sized
    spent = time.perf_counter() - started if started is not None else 0.0
    budget = config.replace(epochs=full, time_budget=float(cap["seconds"]))
    fitting, target = plan_epochs(model, data, budget, elapsed=spent)
    epochs = max(sized["epochs"], min(full, fitting))
    log(f"{epochs} epochs: what fits {cap['seconds']:g} s on this machine "
        f"(measured; the default {full} would take longer; --epochs to choose, "
        f"recorded for rerun)")  # fmt: skip
    return {**sized, "epochs": epochs, "time_target": target}


def _sized_epochs(config, data, log) -> dict | None:
    """The default epochs of a large training set (the recipe's `epoch_cap`),
    or None when the epochs were given (or are a time budget's to choose)."""
    from kerasvision.config import get_task

    if config.epochs is not None or config.time_budget is not None:
        return None
    train_images = len(data.splits["train"])
    epochs = config.resolved(train_images=train_images).epochs
    full = get_task(config.task).defaults["epochs"]
    cap = dict(config.recipe_entry.epoch_cap)
    if epochs < full and not cap.get("seconds"):  # else `_timed_epochs` says it
        shown = full * train_images
        log(f"{epochs} epochs (the default {full} would show {shown:,} "
            f"training images; --epochs to choose)")  # fmt: skip
    return {"epochs": epochs, "train_images": train_images, "cap": cap}


def _check_unfreeze(config, model) -> None:
    """Resolve the fine-tuning spec on the built model before any training."""
    if config.backbone is None or config.mode != "fine-tune":
        return
    from kerasvision.models.transfer import resolve_unfreeze

    resolve_unfreeze(model, config.unfreeze or "all", bn=config.bn)


def _load_checkpoint(run, distribution):
    import contextlib

    from kerasvision.saving import load_model

    scope = distribution.scope() if distribution else contextlib.nullcontext()
    with scope:
        return load_model(run.file("checkpoints", "last.keras"))


#: What `overfitting` names among the run's options, in this order.
_HELD_DOWN_BY = (
    ("label_smoothing", "label smoothing"),
    ("augment", "augmentation"),
    ("weight_decay", "weight decay"),
    ("ema", "weight EMA"),
    ("early_stopping", "early stopping, patience"),
)


def overfitting(history, config, model, *, log=None) -> dict | None:
    """The last epoch's train/validation accuracy gap and what held it down
    (run.json's "overfitting"; one line to `log`). None without both curves.

    The training accuracy is Keras's running figure over the last epoch (with
    dropout and label smoothing on), so it understates the true train accuracy
    a little; a second pass over the training set would cost a third of an epoch.
    """
    import keras

    train, val = history.get("accuracy"), history.get("val_accuracy")
    if not train or not val:
        return None
    held = [f"{config.schedule} learning-rate schedule"]
    rates = {
        round(float(layer.rate), 3)
        for layer in model.layers
        if isinstance(layer, keras.layers.Dropout) and layer.rate
    }
    held += [f"dropout {rate:g}" for rate in sorted(rates)]
    for name, label in _HELD_DOWN_BY:
        value = getattr(config, name)
        if value:
            held.append(f"{label} {value if isinstance(value, str) else f'{value:g}'}")
    if config.is_transfer and config.mode == "feature-extraction":
        held.append("a frozen backbone")
    train, val = float(train[-1]), float(val[-1])
    report = {
        "train_accuracy": round(train, 4),
        "val_accuracy": round(val, 4),
        "gap": round(train - val, 4),
        "held_down_by": held,
    }
    if log is not None:
        log(
            f"last epoch: train accuracy {train:.4f}, val {val:.4f} "
            f"(gap {train - val:+.4f}); against overfitting: {', '.join(held)}"
        )
    return report


def finish_record(run, outcome, metrics, report) -> None:
    """Complete `run.json`: status, timings, headline metrics and the export check."""
    run.record(
        status="complete",
        finished=datetime.datetime.now().isoformat(timespec="seconds"),
        epochs_trained=len(outcome.history.get("loss", [])),
        train_seconds=round(outcome.train_seconds, 3),
        epoch_seconds=[round(s, 3) for s in outcome.epoch_seconds],
        feature_cache_seconds=round(outcome.feature_cache_seconds, 3),
        metrics={k: v for k, v in metrics.items() if not isinstance(v, dict | list)},
        export=report,
    )
