"""Built-in datasets: a light registry (no TensorFlow import) and their loaders.

`digits` ships with scikit-learn and works offline; the `keras.datasets` entries go
through Keras's real download and cache (`~/.keras/datasets`) and fail with one
clear line when offline and not cached.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DATASETS", "DatasetSpec", "list_datasets", "load_builtin"]


@dataclass(frozen=True)
class DatasetSpec:
    """One built-in dataset.

    Attributes:
        loader: Name of the function in this module returning
            `(x uint8 [N, H, W(, C)], y int [N], class_names)`.
        description: One line for `kerasvision datasets`.
        offline: Whether it works without internet after `pip install`.
    """

    loader: str
    description: str
    offline: bool


DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec(
        "_load_digits",
        "1,797 real 8x8 handwritten digits, 10 classes (scikit-learn, offline)",
        True,
    ),
    "mnist": DatasetSpec(
        "_load_mnist", "70,000 28x28 handwritten digits (keras.datasets)", False
    ),
    "fashion_mnist": DatasetSpec(
        "_load_fashion_mnist", "70,000 28x28 clothing images (keras.datasets)", False
    ),
    "cifar10": DatasetSpec(
        "_load_cifar10",
        "60,000 32x32 colour images, 10 classes (keras.datasets)",
        False,
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


def load_builtin(name: str):
    """Load a built-in dataset as raw 0-255 uint8 pixels.

    Args:
        name: A key of `DATASETS`.

    Returns:
        `(x, y, class_names)`: x uint8 `[N, H, W, C]`, y int64 `[N]`, and the
        class names in label order.

    Raises:
        ValueError: If the name is unknown.
        RuntimeError: If a download is needed and fails (offline).
    """
    import numpy as np

    if name not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; choose one of: {', '.join(list_datasets())}"
        )
    x, y, class_names = globals()[DATASETS[name].loader]()
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    return x.astype("uint8"), np.asarray(y).reshape(-1).astype("int64"), class_names


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

    return np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])


def _load_mnist():
    x, y = _keras_download("mnist", "mnist.npz")
    return x, y, [str(d) for d in range(10)]


def _load_fashion_mnist():
    x, y = _keras_download("fashion_mnist", "the fashion-mnist .gz files")
    return x, y, list(FASHION_CLASSES)


def _load_cifar10():
    x, y = _keras_download("cifar10", "cifar-10-python.tar.gz")
    return x, y, list(CIFAR10_CLASSES)
