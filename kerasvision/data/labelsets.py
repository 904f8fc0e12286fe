"""Multi-label data: label sets as multi-hot arrays, and what describes them.

A multi-label item has a set of labels (a photo with a dog and a cat). Its
targets are a float32 multi-hot row (`[N, K]`, 1.0 where the label applies);
`ImageData.multi_label` data keeps them as every split's `targets`, and one of
the item's labels (its rarest) as `labels`, for bookkeeping only (duplicate
checks, a label without images). Folders cannot express label sets: a CSV with
`--label-delim`, `(x, Y)` arrays with `Y` multi-hot, or a built-in multi-label
dataset can.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NO_LABEL_SETS",
    "cooccurrence",
    "decide",
    "is_multi_label",
    "label_statistics",
    "multi_hot",
    "primary_labels",
    "recorded_thresholds",
]

#: Why a multi-label task refuses a folder layout.
NO_LABEL_SETS = (
    "multi-label data needs a set of labels per image, which folders cannot "
    "express: give a CSV with --labels and --label-delim, (x, Y) arrays with Y "
    "multi-hot, or --dataset digits_collages"
)


def primary_labels(targets) -> np.ndarray:
    """Each row's rarest label (of the whole set), `[N]` int64; 0 for a row
    without labels. For bookkeeping only: training uses the targets."""
    targets = np.asarray(targets, dtype="float32")
    if not len(targets):
        return np.zeros(0, "int64")
    rarity = (targets > 0.5) / np.maximum((targets > 0.5).sum(axis=0), 1.0)
    return np.argmax(rarity, axis=1).astype("int64")


def multi_hot(y, class_names=None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`(primary labels, float32 targets, class names)` of a multi-hot `Y`.

    Args:
        y: `[N, K]` of 0/1 (K >= 2 labels).
        class_names: The K label names. Defaults to None ("0".."K-1").

    Raises:
        ValueError: On another shape, values other than 0/1, or K names that
            do not match.

    Example:
        >>> multi_hot([[1, 0, 1], [0, 1, 0]], ["cat", "dog", "sofa"])[0]
        array([0, 1])
    """
    y = np.asarray(y)
    if y.ndim != 2 or y.shape[1] < 2:
        raise ValueError(
            f"multi-label y must be multi-hot [N, K] with K >= 2 labels, got shape "
            f"{y.shape}"
        )
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError("multi-label y must hold 0/1 (multi-hot) values")
    names = list(class_names) if class_names else [str(i) for i in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise ValueError(f"{len(names)} class names for {y.shape[1]} label columns")
    targets = y.astype("float32")
    return primary_labels(targets), targets, names


def cooccurrence(targets) -> np.ndarray:
    """`[K, K]` int64: images holding both labels (the diagonal: each label's
    images)."""
    positive = (np.asarray(targets) > 0.5).astype("int64")
    return positive.T @ positive


def label_statistics(targets, class_names) -> dict:
    """Label frequencies, cardinality and co-occurrence of label sets.

    Returns:
        `{"images", "frequencies": {label: images}, "cardinality": mean labels
        per image, "max_labels", "without_labels": images, "distinct_sets",
        "cooccurrence": [[...]], "top_pairs": [[a, b, images], ...]}`
        (`top_pairs`: the 10 most frequent pairs).

    Example:
        >>> label_statistics([[1, 1], [1, 0]], ["a", "b"])["cardinality"]
        1.5
    """
    positive = np.asarray(targets) > 0.5
    names = list(class_names)
    matrix = cooccurrence(positive)
    per_image = positive.sum(axis=1)
    pairs = [
        (names[a], names[b], int(matrix[a, b]))
        for a in range(len(names))
        for b in range(a + 1, len(names))
        if matrix[a, b]
    ]
    pairs.sort(key=lambda pair: (-pair[2], pair[0], pair[1]))
    return {
        "images": int(len(positive)),
        "frequencies": dict(zip(names, positive.sum(axis=0).tolist(), strict=True)),
        "cardinality": round(float(per_image.mean()), 4) if len(positive) else 0.0,
        "max_labels": int(per_image.max(initial=0)),
        "without_labels": int(np.sum(per_image == 0)),
        "distinct_sets": int(len(np.unique(positive, axis=0))) if len(positive) else 0,
        "cooccurrence": matrix.tolist(),
        "top_pairs": [list(pair) for pair in pairs[:10]],
    }


# === A multi-label run's decisions ===


def is_multi_label(info) -> bool:
    """Whether a run (its `run.json`, or a loaded run) is multi-label."""
    info = getattr(info, "info", info) or {}
    return bool((info.get("data") or {}).get("multi_label"))


def recorded_thresholds(info, class_names) -> np.ndarray | None:
    """A multi-label run's decision thresholds in label order (`run.json`
    "thresholds"), or None when it records none (0.5 is then the rule).

    Raises:
        ValueError: If a label of `class_names` has no threshold.
    """
    info = getattr(info, "info", info) or {}
    values = (info.get("thresholds") or {}).get("values")
    if values is None:
        return None
    missing = [name for name in class_names if name not in values]
    if missing:
        raise ValueError(f"run.json records no threshold for label(s) {missing}")
    return np.array([float(values[name]) for name in class_names], dtype="float64")


def decide(probabilities, thresholds) -> np.ndarray:
    """Multi-hot decisions `[N, K]` (int8): 1 where a probability reaches its
    label's threshold, compared in float32 as every export compares.

    Example:
        >>> decide([[0.6, 0.2]], [0.5, 0.3])
        array([[1, 0]], dtype=int8)
    """
    probabilities = np.asarray(probabilities, dtype="float32")
    thresholds = np.asarray(thresholds, dtype="float32")
    return (probabilities >= thresholds).astype("int8")
