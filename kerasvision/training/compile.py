"""Optimizers, losses and metrics: compiling classifiers and autoencoders."""

from __future__ import annotations

from kerasvision._choices import OPTIMIZERS

__all__ = [
    "compile_autoencoder",
    "compile_classifier",
    "has_multi_label_head",
    "make_optimizer",
]


def make_optimizer(
    name: str = "adam",
    lr=1e-3,
    *,
    weight_decay=None,
    momentum=None,
    ema=None,
    multipliers=None,
    accumulate=None,
):
    """A Keras optimizer by name ("adam", "sgd" with momentum 0.9, "adamw", "rmsprop").

    Args:
        name: One of `OPTIMIZERS`. Defaults to "adam".
        lr: Learning rate (a float or a Keras schedule, e.g.
            `kerasvision.optimization.WarmupSchedule`). Defaults to 1e-3.
        weight_decay: AdamW's decoupled decay. Defaults to None (1e-4 for
            "adamw").
        momentum: Momentum of "sgd" (0 is plain gradient descent) or
            "rmsprop". Defaults to None (0.9 for "sgd", Keras's 0 for
            "rmsprop").
        ema: Momentum of an exponential moving average of the weights (Keras's
            `use_ema`; the averages replace the weights at the end of `fit`).
            Defaults to None (no EMA).
        multipliers: `{variable.path: factor}` learning-rate multipliers
            (`kerasvision.optimization.layer_multipliers`). Defaults to None.
        accumulate: Update the weights once every `accumulate` batches with
            the average of their gradients (Keras's
            `gradient_accumulation_steps`). Learning-rate schedules still count
            batches. Defaults to None (every batch).

    Returns:
        The optimizer.

    Raises:
        ValueError: On an unknown name, a non-positive learning rate or
            `accumulate` < 1.

    Example:
        >>> optimizer = make_optimizer("sgd", 0.01, ema=0.99)
        >>> larger_batch = make_optimizer("adam", 1e-3, accumulate=4)
    """
    import keras

    from kerasvision.optimization import layerwise_optimizer

    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    if isinstance(lr, int | float) and not lr > 0:
        raise ValueError(f"learning rate must be > 0, got {lr}")
    options = {"learning_rate": lr}
    if accumulate is not None:
        if isinstance(accumulate, bool) or not int(accumulate) == accumulate >= 1:
            raise ValueError(f"accumulate must be an integer >= 1, got {accumulate!r}")
        if accumulate > 1:  # Keras takes 2 or more
            options["gradient_accumulation_steps"] = int(accumulate)
    if ema is not None:
        options.update(use_ema=True, ema_momentum=float(ema))
    if name == "sgd":
        options["momentum"] = 0.9 if momentum is None else float(momentum)
    elif name == "rmsprop" and momentum is not None:
        options["momentum"] = float(momentum)
    if name == "adamw":
        options["weight_decay"] = 1e-4 if weight_decay is None else weight_decay
    if multipliers:
        return layerwise_optimizer(name, multipliers, **options)
    classes = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "adamw": keras.optimizers.AdamW,
        "rmsprop": keras.optimizers.RMSprop,
    }
    return classes[name](**options)


def _classifier_loss(units, label_mode, num_classes, label_smoothing):
    import keras

    if units == 1:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
        return loss, [keras.metrics.BinaryAccuracy(name="accuracy")]
    if label_mode == "categorical":
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
        if num_classes >= 10:
            metrics.append(
                keras.metrics.TopKCategoricalAccuracy(5, name="top5_accuracy")
            )
        return loss, metrics
    loss = keras.losses.SparseCategoricalCrossentropy()
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if num_classes >= 10:
        metrics.append(
            keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5_accuracy")
        )
    return loss, metrics


def _multi_label_loss(units, label_smoothing, positive_weights):
    """Binary cross-entropy per label (with positive weights: the
    `--class-weight` of a multi-label run), per-slot accuracy and the PR AUC."""
    import keras

    if positive_weights is None:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    else:
        from kerasvision.layers.label_sets import LabelWeightedBinaryCrossentropy

        loss = LabelWeightedBinaryCrossentropy(
            positive_weights, label_smoothing=label_smoothing
        )
    metrics = [
        keras.metrics.BinaryAccuracy(name="accuracy"),
        keras.metrics.AUC(
            curve="PR", multi_label=True, num_labels=units, name="pr_auc"
        ),
    ]
    return loss, metrics


def has_multi_label_head(model) -> bool:
    """Whether `model` ends in several sigmoid units (one per label)."""
    from kerasvision.models.heads import output_layer

    layer = output_layer(model)
    activation = getattr(getattr(layer, "activation", None), "__name__", "")
    return model.outputs[0].shape[-1] > 1 and activation == "sigmoid"


def compile_classifier(
    model,
    optimizer,
    *,
    label_mode: str = "int",
    num_classes=None,
    label_smoothing: float = 0.0,
    aux_loss_weight: float = 0.3,
    jit_compile="auto",
    multi_label: bool | None = None,
    positive_weights=None,
):
    """Compile with the loss and metrics that match the head and the labels.

    One sigmoid unit -> binary cross-entropy; K softmax units -> sparse
    categorical cross-entropy for integer labels, categorical for one-hot/soft
    labels (also needed for label smoothing, applied here once: the mixers never
    smooth). Accuracy always; top-5 accuracy when there are >= 10 classes.
    K sigmoid units (multi-label) -> binary cross-entropy per label (label
    smoothing per label; `positive_weights` weigh each label's positives),
    with the per-slot accuracy and the precision-recall AUC ("pr_auc", Keras's
    interpolated estimate of the mean average precision).
    Auxiliary outputs (Inception) get the same loss, weighted by `aux_loss_weight`.
    Under the "mixed_float16" policy Keras wraps the optimizer in a
    `LossScaleOptimizer`.

    Args:
        model: A classifier.
        optimizer: A Keras optimizer (`make_optimizer`).
        label_mode: "int" or "categorical" (one-hot/soft targets). Defaults to
            "int".
        num_classes: Number of classes. Defaults to None (from the output).
        label_smoothing: Label smoothing of the loss. Defaults to 0.0.
        aux_loss_weight: Weight of each auxiliary output's loss. Defaults to 0.3.
        jit_compile: Keras's `jit_compile` (True: XLA, False, or "auto").
            Defaults to "auto".
        multi_label: The head is one sigmoid unit per label. Defaults to None
            (`has_multi_label_head`).
        positive_weights: Multi-label only: a loss weight per label on its
            positives (`LabelWeightedBinaryCrossentropy`). Defaults to None.

    Returns:
        The compiled model.

    Raises:
        ValueError: If label smoothing is asked with integer labels of a softmax
            head.
    """
    units = model.outputs[0].shape[-1]
    num_classes = num_classes or (2 if units == 1 else units)
    if multi_label is None:
        multi_label = has_multi_label_head(model)
    if multi_label:
        loss, metrics = _multi_label_loss(units, label_smoothing, positive_weights)
    elif label_smoothing and label_mode != "categorical" and units != 1:
        raise ValueError("label smoothing needs one-hot (categorical) labels")
    else:
        loss, metrics = _classifier_loss(
            units, label_mode, num_classes, label_smoothing
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


def compile_autoencoder(model, task: str, lr: float):
    """Adam at `lr`; MSE on 0-1 pixels, the VAE's own loss, or per-pixel
    cross-entropy with pixel accuracy for segmentation."""
    import keras

    optimizer = keras.optimizers.Adam(lr)
    if task == "vae":
        model.compile(optimizer=optimizer)
    elif task == "segmentation":
        model.compile(
            optimizer=optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy")],
        )
    else:
        model.compile(optimizer=optimizer, loss="mse")
    return model
