"""Metrics (scikit-learn where it exists), calibration, evaluation of runs, and
prediction: classifier metrics, top losses, calibration bins and ECE, image
quality (autoencoders) and segmentation metrics."""

from __future__ import annotations

import os

import numpy as np

from kerasvision.data.labelsets import is_multi_label
from kerasvision.progress import keras_callbacks, reported

__all__ = [
    "as_labels",
    "apply_temperature",
    "as_probability_matrix",
    "calibration_bins",
    "calibration_scores",
    "compute_metrics",
    "evaluate",
    "evaluate_model",
    "expected_calibration_error",
    "image_quality",
    "negative_log_likelihood",
    "predict",
    "predict_pretrained",
    "predict_probabilities",
    "segmentation_metrics",
    "top_losses",
]

EPSILON = 1e-7  # Keras's clipping of probabilities in cross-entropy


def compute_metrics(probabilities, labels, class_names, *, targets=None) -> dict:
    """Loss, accuracy, top-k, per-class precision/recall/F1 and confusion matrix.

    Args:
        probabilities: `[N, K]` class probabilities.
        labels: `[N]` integer true labels.
        class_names: The K class names.
        targets: `[N, K]` soft/one-hot targets for the loss, when training used
            them. Defaults to None (one-hot of `labels`).

    Returns:
        A JSON-able dict.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    probabilities = np.asarray(probabilities, dtype="float64")
    labels = np.asarray(labels, dtype="int64")
    num_classes = len(class_names)
    if targets is None:
        targets = np.eye(num_classes)[labels]
    clipped = np.clip(probabilities, EPSILON, 1 - EPSILON)
    loss = float(np.mean(-np.sum(targets * np.log(clipped), axis=1)))
    predicted = np.argmax(probabilities, axis=1)
    metrics = {
        "count": int(len(labels)),
        "loss": loss,
        "accuracy": float(np.mean(predicted == labels)),
    }
    if num_classes >= 10:
        top5 = np.argsort(-probabilities, axis=1)[:, :5]
        metrics["top5_accuracy"] = float(
            np.mean(np.any(top5 == labels[:, None], axis=1))
        )
    everything = list(range(num_classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=everything, zero_division=0
    )
    metrics["per_class"] = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    # Classes absent from these labels (no support) have no recall to average:
    # the averages are over the classes present, and say which are left out.
    present = [i for i in everything if support[i] > 0]
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            labels, predicted, labels=present, average=average, zero_division=0
        )
        metrics[f"{average}_avg"] = {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
        }
    absent = [class_names[i] for i in everything if support[i] == 0]
    if absent:
        metrics["classes_without_support"] = absent
    metrics["confusion_matrix"] = confusion_matrix(
        labels, predicted, labels=everything
    ).tolist()
    return metrics


# === Per-item losses and calibration ===


def as_probability_matrix(probabilities) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype="float64")
    if probabilities.ndim == 1:  # P(class 1) of a binary model
        probabilities = np.stack([1.0 - probabilities, probabilities], axis=1)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise ValueError(
            f"probabilities must be [N, K] (K >= 2) or [N], got shape "
            f"{probabilities.shape}"
        )
    return probabilities


def as_labels(labels, count) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != count or labels.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be {count} integer class indices, got shape {labels.shape}"
        )
    return labels.astype("int64")


def top_losses(probabilities, labels, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The `k` items with the highest cross-entropy loss, worst first.

    Args:
        probabilities: `[N, K]` class probabilities (or `[N]` P(class 1)).
        labels: `[N]` integer true labels.
        k: How many to return (fewer when N < k). Defaults to 8.

    Returns:
        `(indices, losses)`: positions in the input and their losses
        `-log(max(p_true, 1e-7))`.

    Raises:
        ValueError: On mismatched shapes or `k` < 1.

    Example:
        >>> top_losses([[0.9, 0.1], [0.2, 0.8]], [1, 1], k=1)
        (array([0]), array([2.30258509]))
    """
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    probabilities = as_probability_matrix(probabilities)
    labels = as_labels(labels, len(probabilities))
    true = probabilities[np.arange(len(labels)), labels]
    losses = -np.log(np.clip(true, 1e-7, 1.0))
    order = np.argsort(-losses, kind="stable")[: int(k)]
    return order, losses[order]


# === Calibration ===


def calibration_bins(probabilities, labels, bins: int = 15) -> dict:
    """Confidence/accuracy per equal-width confidence bin (Guo et al. 2017).

    Confidence is the top-class probability; bin m holds confidences in
    `((m - 1) / bins, m / bins]` (a confidence of exactly 0 goes to the first).

    Args:
        probabilities: `[N, K]` class probabilities (or `[N]` P(class 1)).
        labels: `[N]` integer true labels.
        bins: Number of bins. Defaults to 15.

    Returns:
        `{"edges": [bins + 1], "counts": [bins], "accuracy": [bins],
        "confidence": [bins]}` (accuracy/confidence are NaN for empty bins).

    Raises:
        ValueError: On mismatched shapes, no items, or `bins` < 1.
    """
    if int(bins) < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    bins = int(bins)
    probabilities = as_probability_matrix(probabilities)
    labels = as_labels(labels, len(probabilities))
    if len(labels) == 0:
        raise ValueError("no items to calibrate")
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    index = np.clip(np.ceil(confidence * bins).astype("int64") - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(index, weights=correct, minlength=bins) / counts
        totals = np.bincount(index, weights=confidence, minlength=bins)
        mean_confidence = totals / counts
    return {
        "edges": np.linspace(0.0, 1.0, bins + 1),
        "counts": counts,
        "accuracy": accuracy,
        "confidence": mean_confidence,
    }


def expected_calibration_error(probabilities, labels, bins: int = 15) -> float:
    """Expected calibration error: sum over bins of (n_b / N) |accuracy_b - conf_b|.

    Args:
        probabilities: `[N, K]` class probabilities (or `[N]` P(class 1)).
        labels: `[N]` integer true labels.
        bins: Equal-width confidence bins (see `calibration_bins`). Defaults to 15.

    Returns:
        The ECE in [0, 1].

    Raises:
        ValueError: On mismatched shapes, no items, or `bins` < 1.

    Example:
        >>> expected_calibration_error([[0.9, 0.1], [0.4, 0.6]], [0, 0], bins=2)
        0.25
    """
    stats = calibration_bins(probabilities, labels, bins)
    counts = stats["counts"]
    filled = counts > 0
    gaps = np.abs(stats["accuracy"][filled] - stats["confidence"][filled])
    return float(np.sum(counts[filled] / counts.sum() * gaps))


def negative_log_likelihood(probabilities, labels) -> float:
    """Mean `-log(max(p_true, 1e-7))` (the cross-entropy Keras reports)."""
    probabilities = as_probability_matrix(probabilities)
    labels = as_labels(labels, len(probabilities))
    true = probabilities[np.arange(len(labels)), labels]
    return float(np.mean(-np.log(np.clip(true, EPSILON, 1.0))))


def apply_temperature(probabilities, temperature: float) -> np.ndarray:
    """`softmax(log(p) / T)` per row: what `TemperatureScaling` serves.

    Args:
        probabilities: `[N, K]` class probabilities (or `[N]` P(class 1)).
        temperature: T > 0, or one per label (a list: a multi-label run's
            sigmoid probabilities, `apply_label_temperatures`).

    Returns:
        `[N, K]` float64 tempered probabilities (1.0 gives them back unchanged).
    """
    if isinstance(temperature, list | tuple | np.ndarray):
        from kerasvision.evaluation_multilabel import apply_label_temperatures

        return apply_label_temperatures(probabilities, temperature)
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    probabilities = as_probability_matrix(probabilities)
    if float(temperature) == 1.0:  # exactly the trained probabilities
        return probabilities
    logits = np.log(np.maximum(probabilities, 1e-38)) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    tempered = np.exp(logits)
    return tempered / tempered.sum(axis=1, keepdims=True)


def calibration_scores(probabilities, labels, temperature: float) -> dict:
    """NLL and ECE before and after the temperature, on one split.

    Returns:
        `{"temperature", "nll_before", "nll_after", "ece_before", "ece_after"}`.
    """
    after = apply_temperature(probabilities, temperature)
    return {
        "temperature": float(temperature),
        "nll_before": negative_log_likelihood(probabilities, labels),
        "nll_after": negative_log_likelihood(after, labels),
        "ece_before": expected_calibration_error(probabilities, labels),
        "ece_after": expected_calibration_error(after, labels),
    }


# === Autoencoders and segmentation ===


def image_quality(reference, images) -> dict:
    """Mean MSE, PSNR and SSIM of 0-1 images against 0-1 references.

    PSNR and SSIM (`tf.image.psnr` / `tf.image.ssim`, max value 1) are computed per
    image and averaged; the SSIM window is 11 pixels, or the image size if smaller.

    Args:
        reference: Clean images `[N, H, W, C]` in 0-1.
        images: Images to score, same shape, in 0-1.

    Returns:
        `{"mse", "psnr", "ssim"}` as floats.
    """
    import tensorflow as tf

    reference = tf.convert_to_tensor(np.asarray(reference, dtype="float32"))
    images = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    size = min(11, int(reference.shape[1]), int(reference.shape[2]))
    psnr = tf.image.psnr(reference, images, max_val=1.0).numpy()
    ssim = tf.image.ssim(reference, images, max_val=1.0, filter_size=size).numpy()
    return {
        "mse": float(tf.reduce_mean(tf.square(reference - images))),
        "psnr": float(np.mean(np.minimum(psnr, 100.0))),  # identical images: inf
        "ssim": float(np.mean(ssim)),
    }


def segmentation_metrics(true_masks, predicted_masks, class_names) -> dict:
    """Pixel accuracy, per-class IoU and mean IoU (over classes that occur).

    Args:
        true_masks: Integer class indices `[N, H, W]`.
        predicted_masks: Predicted indices, same shape.
        class_names: Class names in index order.

    Returns:
        `{"pixel_accuracy", "mean_iou", "iou": {class: value or None},
        "confusion_matrix", "count"}`.
    """
    k = len(class_names)
    true = np.asarray(true_masks).reshape(-1).astype("int64")
    pred = np.asarray(predicted_masks).reshape(-1).astype("int64")
    matrix = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
    tp = np.diag(matrix).astype("float64")
    union = matrix.sum(0) + matrix.sum(1) - tp
    iou = {
        name: (float(tp[i] / union[i]) if union[i] else None)
        for i, name in enumerate(class_names)
    }
    present = [value for value in iou.values() if value is not None]
    return {
        "pixel_accuracy": float(tp.sum() / max(1, matrix.sum())),
        "mean_iou": float(np.mean(present)) if present else 0.0,
        "iou": iou,
        "confusion_matrix": matrix.tolist(),
        "count": int(len(np.asarray(true_masks))),
    }


# === Runs ===


def predict_probabilities(model, dataset):
    """`[N, K]` probabilities of a classifier over a dataset of images (or batches)."""
    from kerasvision.models.heads import serving_probabilities

    outputs = model.predict(dataset, verbose=0, callbacks=keras_callbacks())
    if isinstance(outputs, list | tuple):  # auxiliary heads: keep the main output
        outputs = outputs[0]
    return np.asarray(serving_probabilities(outputs))


def evaluate_model(model, data, split: str = "test", *, batch_size: int = 64) -> dict:
    """Metrics of `model` on one split of an `ImageData`.

    Args:
        model: A trained classifier taking raw 0-255 pixels.
        data: An `ImageData` at the model's input size.
        split: "train", "val" or "test". Defaults to "test".
        batch_size: Prediction batch size. Defaults to 64.

    Returns:
        The `compute_metrics` dict, plus "split".
    """
    part = data.splits[split]
    dataset = data.dataset(
        split, batch_size=batch_size, shuffle=False, include_labels=False
    )
    probabilities = predict_probabilities(model, dataset)
    metrics = compute_metrics(
        probabilities, part.labels, data.class_names, targets=part.targets
    )
    metrics["split"] = split
    return metrics


@reported("evaluating")
def evaluate(run, data=None, *, batch_size: int = 64, tta=None) -> dict:
    """Evaluate a finished run on its recorded test split or on a folder.

    The run's calibrated probabilities are scored (its temperature, 1.0 for
    runs without one).

    Args:
        run: Run directory (or a loaded `Run`).
        data: Folder-per-class directory; its classes must be the run's. Defaults
            to None (the run's own recorded test split, rebuilt exactly).
        batch_size: Prediction batch size. Defaults to 64.
        tta: Also score test-time augmentation ("flip" or "flip+crop"), under
            "tta"; on the run's own split the block is also written into its
            `metrics.json` beside the plain scores. Defaults to None.

    Returns:
        The metrics dict.

    Raises:
        FileNotFoundError: If the run or the data folder is missing.
        ValueError: If the run/data is invalid.

    Example:
        >>> metrics = evaluate("saved_models/bipyramidal_cnn-digits-20261121-101500")
    """
    from kerasvision.models.heads import serving_model
    from kerasvision.runs import load_run, require_classifier

    run = require_classifier(load_run(run))
    if is_multi_label(run):
        from kerasvision.evaluation_multilabel import evaluate_run

        return evaluate_run(run, data, batch_size=batch_size, tta=tta)
    image_data = run.data(data)
    split = "test" if len(image_data.splits["test"]) else "val"
    if not len(image_data.splits[split]):
        raise ValueError(f"run {run.path} has no test or validation split to evaluate")
    model = serving_model(run.model, temperature=run.temperature)
    metrics = evaluate_model(model, image_data, split, batch_size=batch_size)
    if tta is None:
        return metrics
    augmented = serving_model(run.model, temperature=run.temperature, tta=tta)
    scores = evaluate_model(augmented, image_data, split, batch_size=batch_size)
    metrics["tta"] = {
        "mode": tta,
        **{k: v for k, v in scores.items() if isinstance(v, float)},
    }
    if data is None:
        run.update_metrics(tta=metrics["tta"])
    return metrics


@reported("predicting")
def predict(
    run,
    inputs,
    *,
    top_k: int | None = None,
    batch_size: int = 64,
    on_bad_file=None,
    tta=None,
    min_confidence=None,
) -> list[dict]:
    """Classify image files with a finished run (a multi-label run answers
    label sets: `kerasvision.evaluation_multilabel.predict_run`).

    Images are decoded and resized exactly as in training; probabilities are
    the run's calibrated ones (its temperature).

    Args:
        run: Run directory (or a loaded `Run`).
        inputs: Image files and/or folders (searched recursively).
        top_k: Classes reported per image. Defaults to None (1; a
            multi-label run lists its decided labels, and the k most probable
            only when given).
        batch_size: Prediction batch size. Defaults to 64.
        on_bad_file: Called as `on_bad_file(path, reason)` for an invalid image
            found inside a folder, which is then skipped. Defaults to None (skip
            silently).
        tta: Average the probabilities of test-time views ("flip" or
            "flip+crop"). Defaults to None (none).
        min_confidence: Answer "unknown" as `class_name` when the top
            probability is below it (0 < P <= 1). Defaults to None (never).

    Returns:
        One dict per image: `{"path", "class_name", "probability", "top_k":
        [{"class_name", "probability"}, ...], "probabilities": {...}}`.

    Raises:
        FileNotFoundError: If an input does not exist.
        ValueError: If a file named directly is not a valid image, no valid image
            is left, or `top_k` is out of range.
    """
    from kerasvision.data.images import check_inputs, images_dataset
    from kerasvision.models.heads import (
        UNKNOWN_CLASS,
        serving_model,
        unknown_threshold,
    )
    from kerasvision.runs import load_run, require_classifier

    run = require_classifier(load_run(run))
    if is_multi_label(run):
        from kerasvision.evaluation_multilabel import predict_run

        return predict_run(run, inputs, top_k=top_k, batch_size=batch_size,
                           on_bad_file=on_bad_file, tta=tta,
                           min_confidence=min_confidence)  # fmt: skip
    names = run.class_names
    top_k = 1 if top_k is None else top_k
    if not 1 <= top_k <= len(names):
        raise ValueError(f"top_k must be between 1 and {len(names)}, got {top_k}")
    threshold = unknown_threshold(min_confidence, names)
    checks = check_inputs(inputs, on_bad_file=on_bad_file)
    paths = [c.path for c in checks]
    dataset = images_dataset(
        checks,
        image_size=run.image_size,
        channels=run.channels,
        resize=run.resize,
        batch_size=batch_size,
    )
    model = serving_model(run.model, temperature=run.temperature, tta=tta)
    probabilities = predict_probabilities(model, dataset)
    results = []
    for path, row in zip(paths, probabilities, strict=True):
        order = np.argsort(-row)[:top_k]
        unsure = threshold is not None and row[order[0]] < threshold
        results.append(
            {
                "path": path,
                "class_name": UNKNOWN_CLASS if unsure else names[order[0]],
                "probability": float(row[order[0]]),
                "top_k": [
                    {"class_name": names[i], "probability": float(row[i])}
                    for i in order
                ],
                "probabilities": {n: float(p) for n, p in zip(names, row, strict=True)},
            }
        )
    return results


def predict_pretrained(backbone, inputs, *, top_k: int = 5, weights="imagenet"):
    """ImageNet top-k of image files with a keras.applications model's own head.

    Args:
        backbone: Registry or keras.applications name (e.g. "mobilenet_v2").
        inputs: Image files and/or folders.
        top_k: Classes per image. Defaults to 5.
        weights: "imagenet" (Keras download and cache) or a local full-model
            (with top) `.h5` file. Defaults to "imagenet".

    Returns:
        One dict per image, as `predict`.

    Raises:
        RuntimeError: If the weights or the ImageNet class index must be
            downloaded and cannot be (one line naming the file).
        FileNotFoundError, ValueError: On bad inputs.
    """
    import importlib

    import keras

    from kerasvision.data.images import load_images
    from kerasvision.models.backbones import (
        get_backbone_spec,
        load_with_weights,
        raise_download_error,
    )

    key, spec = get_backbone_spec(backbone)
    if not 1 <= top_k <= 1000:
        raise ValueError(f"top_k must be between 1 and 1000, got {top_k}")
    if weights not in (None, "imagenet") and not os.path.isfile(os.fspath(weights)):
        raise FileNotFoundError(f"weights file not found: {weights}")

    def refuse(path, reason):
        raise ValueError(f"{path}: {reason}")

    size = (spec.default_size, spec.default_size)
    paths, images = load_images(inputs, image_size=size, on_bad_file=refuse)
    constructor = getattr(keras.applications, spec.constructor)
    try:
        model = load_with_weights(constructor, weights, include_top=True)
    except Exception as error:  # Keras raises a bare Exception for URL failures
        raise_download_error(error, f"{key} with its ImageNet head")
        raise
    module = importlib.import_module(f"keras.applications.{spec.module}")
    probabilities = model.predict(module.preprocess_input(images), verbose=0)
    try:
        decoded = module.decode_predictions(probabilities, top=top_k)
    except Exception as error:  # the class index is downloaded on first use
        raise_download_error(error, "ImageNet class names", "~/.keras/models/")
        raise
    return [
        {
            "path": path,
            "class_name": rows[0][1],
            "probability": float(rows[0][2]),
            "top_k": [
                {"class_name": name, "wnid": wnid, "probability": float(p)}
                for wnid, name, p in rows
            ],
        }
        for path, rows in zip(paths, decoded, strict=True)
    ]
