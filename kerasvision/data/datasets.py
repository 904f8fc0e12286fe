"""Built-in datasets: a light registry (no TensorFlow import) and their loaders.

`digits` ships with scikit-learn and works offline; the `keras.datasets` entries
read their published files from the datasets folder (`KERASVISION_DATASETS`, else
`~/.keras/datasets`) when they are there, else go through Keras's real download
and cache, and fail with one clear line when offline. `oxford_flowers102` and
`caltech101` are folder datasets, unpacked once into class folders
(`kerasvision.data.archives`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "dataset_folder",
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
        folder: Whether it is a folder dataset (images of any size, unpacked
            into class folders and read like any folder); `loader` is then
            unused.
        multi_label: Each image has a set of labels: `loader` returns `y`
            multi-hot `[N, K]` (`fit` trains it with `--task multilabel`).
    """

    loader: str
    description: str
    offline: bool
    official_test: bool = False
    folder: bool = False
    multi_label: bool = False


DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec(
        "_load_digits",
        "1,797 real 8x8 handwritten digits, 10 classes (scikit-learn, offline)",
        True,
    ),
    "digits_collages": DatasetSpec(
        "_load_digits_collages",
        "2,000 synthetic 16x16 2x2 collages of the digits, multi-label: the "
        "labels are the digits present (offline; official 400 test, built from "
        "other digit images)",
        True,
        official_test=True,
        multi_label=True,
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
    "oxford_flowers102": DatasetSpec(
        "",
        "8,189 flower photos, 102 classes (Oxford; official train/val/test split; "
        "102flowers.tgz, imagelabels.mat, setid.mat or tensorflow-datasets)",
        False,
        official_test=True,
        folder=True,
    ),
    "caltech101": DatasetSpec(
        "",
        "8,677 object photos, 101 classes (Caltech; 101_ObjectCategories.tar.gz "
        "or tensorflow-datasets)",
        False,
        folder=True,
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


def parse_classes(classes) -> list[str] | str | None:
    """`--classes a,b,c` (or a sequence) as a list of names; None stays None.

    `top:K` (K >= 2) stays a string: the K classes with the most images, chosen
    by `select_classes` from the data (ties by name); the run records their
    names.

    Raises:
        ValueError: On fewer than 2 names, an empty name or a repeated one.
    """
    if classes is None:
        return None
    if isinstance(classes, str) and classes.strip().lower().startswith("top:"):
        count = classes.strip()[4:].strip()
        if not count.isdigit() or int(count) < 2:
            raise ValueError(
                f"--classes top:K needs a whole number K >= 2, got {classes!r}"
            )
        return f"top:{int(count)}"
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
        classes: The names to keep (`parse_classes` forms), "top:K" (the K
            classes with the most items, most first, ties by name), or None for
            all.

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
    if isinstance(names, str):
        names = most_frequent_classes(labels, class_names, int(names[4:]))
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


def most_frequent_classes(labels, class_names, count: int) -> list[str]:
    """The `count` classes with the most items, most first (ties by name).

    Raises:
        ValueError: If the data has fewer than `count` classes with items.

    Example:
        >>> most_frequent_classes([0, 1, 1, 2, 2], ["a", "b", "c"], 2)
        ['b', 'c']
    """
    import numpy as np

    counts = np.bincount(np.asarray(labels, dtype="int64"), minlength=len(class_names))
    present = [
        (-int(counts[i]), str(n)) for i, n in enumerate(class_names) if counts[i]
    ]
    if len(present) < count:
        raise ValueError(
            f"--classes top:{count}: the data has only {len(present)} classes with "
            f"images"
        )
    return [name for _, name in sorted(present)[:count]]


def dataset_folder(name: str) -> str | None:
    """The prepared folder of a folder dataset (unpacked on first use), or None
    for an array dataset.

    Raises:
        RuntimeError: If its files are missing and cannot be fetched (one line
            naming them).
    """
    spec = DATASETS.get(name)
    if spec is None or not spec.folder:
        return None
    from kerasvision.data.archives import prepare_folder_dataset

    return prepare_folder_dataset(name)


def load_builtin(name: str, classes=None, *, with_test_mask: bool = False):
    """Load a built-in dataset as raw 0-255 uint8 pixels.

    Args:
        name: A key of `DATASETS`.
        classes: Class names to keep, relabelled 0..k-1 in this order (e.g.
            "3,5,8"), "top:K" (the K largest classes), or None for all.
            Defaults to None.
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
    if DATASETS[name].folder:
        raise ValueError(
            f"{name} is a folder dataset (images of different sizes): load it with "
            f"load_data(dataset={name!r}) or fit --dataset {name}"
        )
    x, y, class_names, *test_count = globals()[DATASETS[name].loader]()
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if DATASETS[name].multi_label:
        if classes is not None:
            raise ValueError(f"--classes does not apply to {name} (multi-label)")
        keep = np.ones(len(x), dtype=bool)
    else:
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


#: Collages of `_load_digits_collages`: training, official test.
COLLAGES = (1600, 400)


def _collages(x, y, sources, count, rng):
    """`count` 2x2 collages of 8x8 digits drawn from `sources`: 1 to 4 cells
    filled (the others black), labels = the digits present."""
    import numpy as np

    images = np.zeros((count, 16, 16), dtype="uint8")
    targets = np.zeros((count, 10), dtype="float32")
    for index in range(count):
        filled = int(rng.integers(1, 5))
        cells = rng.choice(4, filled, replace=False)
        for cell, source in zip(cells, rng.choice(sources, filled), strict=True):
            row, column = divmod(int(cell), 2)
            images[index, 8 * row : 8 * row + 8, 8 * column : 8 * column + 8] = x[
                source
            ]
            targets[index, y[source]] = 1.0
    return images, targets


def _load_digits_collages():
    """Synthetic multi-label images: 2x2 collages of scikit-learn's digits.

    A fixed seed draws a fifth of the 1,797 digit images as the test digits;
    1,600 training collages are made of the others and 400 official test
    collages of the test digits only, so no digit image is in both. Each
    collage fills 1-4 of its cells; its labels are the distinct digits shown
    (a digit may appear twice). Synthetic: for tests and trying multi-label
    training, not a benchmark of real photos.
    """
    import numpy as np

    x, y, names = _load_digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    cut = len(x) // 5
    train = _collages(x, y, order[cut:], COLLAGES[0], rng)
    test = _collages(x, y, order[:cut], COLLAGES[1], rng)
    images = np.concatenate([train[0], test[0]])
    return images, np.concatenate([train[1], test[1]]), names, COLLAGES[1]


def _keras_download(loader_name: str, filename: str):
    """The arrays from the published files in the datasets folder, else through
    keras.datasets (its download and cache)."""
    import numpy as np

    from kerasvision.data.archives import local_arrays

    local = local_arrays(loader_name)
    if local is not None:
        x_train, y_train, x_test, y_test = local
        x = np.concatenate([x_train, x_test])
        return x, np.concatenate([y_train, y_test]).reshape(-1), len(x_test)
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(
            keras.datasets, loader_name
        ).load_data()
    except Exception as error:  # urllib/HTTP/OS errors differ per platform
        raise RuntimeError(
            f"could not download {filename} for keras.datasets.{loader_name} "
            f"({type(error).__name__}); connect to the internet once, or place "
            f"{filename} in ~/.keras/datasets/ (or the folder KERASVISION_DATASETS "
            f"names), or use --dataset digits (offline)"
        ) from None

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
