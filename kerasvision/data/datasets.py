"""Built-in datasets: a light registry (no TensorFlow import) and their loaders.

`digits` ships with scikit-learn and works offline; the `keras.datasets` entries go
through Keras's real download and cache (`~/.keras/datasets`) and fail with one
clear line when offline and not cached.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "list_datasets",
    "load_builtin",
    "parse_classes",
    "select_classes",
]


@dataclass(frozen=True)
class DatasetSpec:
    """One built-in dataset.

    Attributes:
        loader: Name of the function in this module returning
            `(x uint8 [N, H, W(, C)], y int [N], class_names)`.
        description: One line for `kerasvision datasets`.
        offline: Whether it works without internet after `pip install`.
        official_test: Whether it comes with an official test split, which
            `fit` keeps as its test split (validation is carved from the
            official training set), so test metrics compare with published ones.
    """

    loader: str
    description: str
    offline: bool
    official_test: bool = False


DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec(
        "_load_digits",
        "1,797 real 8x8 handwritten digits, 10 classes (scikit-learn, offline)",
        True,
    ),
    "mnist": DatasetSpec(
        "_load_mnist",
        "70,000 28x28 handwritten digits (keras.datasets; official 10,000 test)",
        False,
        official_test=True,
    ),
    "fashion_mnist": DatasetSpec(
        "_load_fashion_mnist",
        "70,000 28x28 clothing images (keras.datasets; official 10,000 test)",
        False,
        official_test=True,
    ),
    "cifar10": DatasetSpec(
        "_load_cifar10",
        "60,000 32x32 colour images, 10 classes (keras.datasets; official 10,000 test)",
        False,
        official_test=True,
    ),
}

FASHION_CLASSES = [
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle_boot",
]  # fmt: skip
CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def list_datasets() -> list[str]:
    """Names of the built-in datasets, sorted."""
    return sorted(DATASETS)


def parse_classes(classes) -> list[str] | None:
    """`--classes a,b,c` (or a sequence) as a list of names; None stays None.

    Raises:
        ValueError: On fewer than 2 names, an empty name or a repeated one.
    """
    if classes is None:
        return None
    names = classes.split(",") if isinstance(classes, str) else list(classes)
    names = [str(name).strip() for name in names]
    if any(not name for name in names):
        raise ValueError(f"--classes has an empty class name: {classes!r}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"--classes names {', '.join(repeated)} more than once")
    if len(names) < 2:
        raise ValueError(f"--classes needs at least 2 classes, got {names}")
    return names


def select_classes(labels, class_names, classes):
    """Keep only `classes` and relabel them 0..k-1 in the order given.

    Args:
        labels: int labels `[N]` indexing `class_names`.
        class_names: All class names in label order.
        classes: The names to keep (`parse_classes` forms), or None for all.

    Returns:
        `(keep, new_labels, new_class_names)`: a boolean mask `[N]`, the kept
        items' new labels and the names in their new label order.

    Raises:
        ValueError: If a name is not a class of the data (the first one named).

    Example:
        >>> select_classes([0, 1, 2, 1], ["a", "b", "c"], "c,b")[1].tolist()
        [1, 0, 1]
    """
    import numpy as np

    labels = np.asarray(labels, dtype="int64")
    names = parse_classes(classes)
    if names is None:
        return np.ones(len(labels), dtype=bool), labels, list(class_names)
    position = {str(name): index for index, name in enumerate(class_names)}
    for name in names:
        if name not in position:
            raise ValueError(
                f"--classes: unknown class {name!r}; the data has: "
                f"{', '.join(str(n) for n in class_names)}"
            )
    mapping = np.full(len(class_names), -1, dtype="int64")
    for new, name in enumerate(names):
        mapping[position[name]] = new
    keep = mapping[labels] >= 0
    return keep, mapping[labels[keep]], names


def load_builtin(name: str, classes=None, *, with_test_mask: bool = False):
    """Load a built-in dataset as raw 0-255 uint8 pixels.

    Args:
        name: A key of `DATASETS`.
        classes: Class names to keep, relabelled 0..k-1 in this order (e.g.
            "3,5,8"), or None for all. Defaults to None.
        with_test_mask: Also return which items are the official test split.
            Defaults to False.

    Returns:
        `(x, y, class_names)`: x uint8 `[N, H, W, C]`, y int64 `[N]`, and the
        class names in label order; with `with_test_mask`, a fourth item: a
        bool `[N]` mask of the official test items (None when the dataset has no
        official split). The official training items come first.

    Raises:
        ValueError: If the name or a class is unknown.
        RuntimeError: If a download is needed and fails (offline).
    """
    import numpy as np

    if name not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; choose one of: {', '.join(list_datasets())}"
        )
    x, y, class_names, *test_count = globals()[DATASETS[name].loader]()
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    y = np.asarray(y).reshape(-1)
    keep, y, class_names = select_classes(y, class_names, classes)
    x = x[keep].astype("uint8")
    if not with_test_mask:
        return x, y, class_names
    mask = None
    if test_count:
        mask = (np.arange(len(keep)) >= len(keep) - test_count[0])[keep]
    return x, y, class_names, mask


def _load_digits():
    import numpy as np
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixel values are 0-16 counts; scale to raw 0-255 pixels like any image.
    x = np.round(bunch.images * (255.0 / 16.0)).astype("uint8")
    return x, bunch.target, [str(d) for d in bunch.target_names]


def _keras_download(loader_name: str, filename: str):
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(
            keras.datasets, loader_name
        ).load_data()
    except Exception as error:  # urllib/HTTP/OS errors differ per platform
        raise RuntimeError(
            f"could not download {filename} for keras.datasets.{loader_name} "
            f"({type(error).__name__}); connect to the internet once, or place the "
            f"file in ~/.keras/datasets/, or use --dataset digits (offline)"
        ) from None
    import numpy as np

    x = np.concatenate([x_train, x_test])
    return x, np.concatenate([y_train, y_test]), len(x_test)


# Loaders with an official split return a 4th item: how many of the last items
# are the official test set.


def _load_mnist():
    x, y, test = _keras_download("mnist", "mnist.npz")
    return x, y, [str(d) for d in range(10)], test


def _load_fashion_mnist():
    x, y, test = _keras_download("fashion_mnist", "the fashion-mnist .gz files")
    return x, y, list(FASHION_CLASSES), test


def _load_cifar10():
    x, y, test = _keras_download("cifar10", "cifar-10-python.tar.gz")
    return x, y, list(CIFAR10_CLASSES), test
