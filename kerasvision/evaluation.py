"""Metrics (scikit-learn where it exists), evaluation of runs, and prediction."""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "compute_metrics",
    "evaluate",
    "evaluate_model",
    "predict",
    "predict_pretrained",
    "predict_probabilities",
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
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            labels, predicted, labels=everything, average=average, zero_division=0
        )
        metrics[f"{average}_avg"] = {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
        }
    metrics["confusion_matrix"] = confusion_matrix(
        labels, predicted, labels=everything
    ).tolist()
    return metrics


def predict_probabilities(model, dataset):
    """`[N, K]` probabilities of a classifier over a dataset of images (or batches)."""
    from kerasvision.export import serving_probabilities

    outputs = model.predict(dataset, verbose=0)
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


def evaluate(run, data=None, *, batch_size: int = 64) -> dict:
    """Evaluate a finished run on its recorded test split or on a folder.

    Args:
        run: Run directory (or a loaded `Run`).
        data: Folder-per-class directory; its classes must be the run's. Defaults
            to None (the run's own recorded test split, rebuilt exactly).
        batch_size: Prediction batch size. Defaults to 64.

    Returns:
        The metrics dict.

    Raises:
        FileNotFoundError: If the run or the data folder is missing.
        ValueError: If the run/data is invalid.

    Example:
        >>> metrics = evaluate("saved_models/bipyramidal_cnn-digits-20261121-101500")
    """
    from kerasvision.runs import Run, load_run, require_classifier

    run = require_classifier(run if isinstance(run, Run) else load_run(run))
    image_data = run.data(data)
    split = "test" if len(image_data.splits["test"]) else "val"
    if not len(image_data.splits[split]):
        raise ValueError(f"run {run.path} has no test or validation split to evaluate")
    return evaluate_model(run.model, image_data, split, batch_size=batch_size)


def _collect_images(inputs) -> list[tuple[str, bool]]:
    """`[(path, explicit)]`: files named directly, then images found in folders."""
    from kerasvision.data import IMAGE_EXTENSIONS

    paths: list[tuple[str, bool]] = []
    for item in inputs:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = []
            for dirpath, dirnames, filenames in os.walk(item):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                found += [
                    os.path.join(dirpath, f)
                    for f in filenames
                    if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".")
                ]
            if not found:
                raise ValueError(f"no images found in {item}")
            paths += [(p, False) for p in sorted(found)]
        elif os.path.isfile(item):
            paths.append((item, True))
        else:
            raise FileNotFoundError(f"image not found: {item}")
    if not paths:
        raise ValueError("no images given")
    return paths


def predict(
    run, inputs, *, top_k: int = 1, batch_size: int = 64, on_bad_file=None
) -> list[dict]:
    """Classify image files with a finished run.

    Images are decoded and resized exactly as in training.

    Args:
        run: Run directory (or a loaded `Run`).
        inputs: Image files and/or folders (searched recursively).
        top_k: Classes reported per image. Defaults to 1.
        batch_size: Prediction batch size. Defaults to 64.
        on_bad_file: Called as `on_bad_file(path, reason)` for an invalid image
            found inside a folder, which is then skipped. Defaults to None (skip
            silently).

    Returns:
        One dict per image: `{"path", "class_name", "probability", "top_k":
        [{"class_name", "probability"}, ...], "probabilities": {...}}`.

    Raises:
        FileNotFoundError: If an input does not exist.
        ValueError: If a file named directly is not a valid image, no valid image
            is left, or `top_k` is out of range.
    """
    import tensorflow as tf

    from kerasvision.data import check_image_file, decode_and_resize
    from kerasvision.runs import Run, load_run, require_classifier

    run = require_classifier(run if isinstance(run, Run) else load_run(run))
    names = run.class_names
    if not 1 <= top_k <= len(names):
        raise ValueError(f"top_k must be between 1 and {len(names)}, got {top_k}")
    checks = []
    for path, explicit in _collect_images(inputs):
        check = check_image_file(path)
        if check.error and explicit:
            raise ValueError(f"{check.path}: {check.error}")
        if check.error:
            if on_bad_file is not None:
                on_bad_file(check.path, check.error)
            continue
        checks.append(check)
    if not checks:
        raise ValueError("no valid images to predict")
    paths = [c.path for c in checks]
    size, channels, resize = run.image_size, run.channels, run.resize
    dataset = tf.data.Dataset.from_tensor_slices(
        (paths, np.array([c.native for c in checks], dtype=bool))
    )
    dataset = dataset.map(
        lambda p, n: tf.cast(
            decode_and_resize(p, n, image_size=size, channels=channels, resize=resize),
            tf.float32,
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).batch(batch_size)
    probabilities = predict_probabilities(run.model, dataset)
    results = []
    for path, row in zip(paths, probabilities, strict=True):
        order = np.argsort(-row)[:top_k]
        results.append(
            {
                "path": path,
                "class_name": names[order[0]],
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
    import tensorflow as tf

    from kerasvision.data import check_image_file, decode_and_resize
    from kerasvision.models.backbones import get_backbone_spec
    from kerasvision.models.transfer import raise_download_error

    key, spec = get_backbone_spec(backbone)
    if not 1 <= top_k <= 1000:
        raise ValueError(f"top_k must be between 1 and 1000, got {top_k}")
    if weights not in (None, "imagenet") and not os.path.isfile(os.fspath(weights)):
        raise FileNotFoundError(f"weights file not found: {weights}")
    checks = []
    for path, _ in _collect_images(inputs):
        check = check_image_file(path)
        if check.error:
            raise ValueError(f"{check.path}: {check.error}")
        checks.append(check)
    constructor = getattr(keras.applications, spec.constructor)
    try:
        model = constructor(include_top=True, weights=weights)
    except Exception as error:  # Keras raises a bare Exception for URL failures
        raise_download_error(error, f"{key} with its ImageNet head")
        raise
    module = importlib.import_module(f"keras.applications.{spec.module}")
    size = (spec.default_size, spec.default_size)
    images = np.stack(
        [
            decode_and_resize(
                tf.constant(c.path),
                tf.constant(c.native),
                image_size=size,
                channels=3,
                resize="stretch",
            )
            .numpy()
            .astype("float32")
            for c in checks
        ]
    )
    probabilities = model.predict(module.preprocess_input(images), verbose=0)
    try:
        decoded = module.decode_predictions(probabilities, top=top_k)
    except Exception as error:  # the class index is downloaded on first use
        raise_download_error(error, "ImageNet class names", "~/.keras/models/")
        raise
    return [
        {
            "path": check.path,
            "class_name": rows[0][1],
            "probability": float(rows[0][2]),
            "top_k": [
                {"class_name": name, "wnid": wnid, "probability": float(p)}
                for wnid, name, p in rows
            ],
        }
        for check, rows in zip(checks, decoded, strict=True)
    ]
