"""The built-in datasets' published files, read from a local folder.

`fit --dataset mnist|fashion_mnist|cifar10` first looks for the file each
dataset is published as in the datasets folder (`KERASVISION_DATASETS`, else
Keras's cache `~/.keras/datasets`) and reads it here; only when it is missing
does `keras.datasets` download it. `oxford_flowers102` and `caltech101` are
folder datasets: their published archives are unpacked once into a folder per
class (Oxford: `train/`, `val/`, `test/` with the official split) under
`<datasets folder>/kerasvision/`, through `tensorflow-datasets` when the
archives are absent and it is installed.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import tarfile
import zipfile

import numpy as np

__all__ = [
    "FOLDER_DATASETS",
    "PUBLISHED_FILES",
    "datasets_home",
    "local_arrays",
    "prepare_folder_dataset",
]

#: The files each array dataset is published as (what Keras downloads).
PUBLISHED_FILES = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": (
        "train-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ),
    "cifar10": ("cifar-10-python.tar.gz",),
}

#: Folder datasets: (published files, where from, tensorflow-datasets name).
FOLDER_DATASETS = {
    "oxford_flowers102": (
        ("102flowers.tgz", "imagelabels.mat", "setid.mat"),
        "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/",
        "oxford_flowers102",
    ),
    "caltech101": (
        ("101_ObjectCategories.tar.gz (or caltech-101.zip, which holds it)",),
        "https://data.caltech.edu/records/mzrjq-6wc02",
        "caltech101",
    ),
}

# Oxford-102 (Nilsback & Zisserman 2008) class names in label order (1..102),
# as torchvision and tensorflow-datasets name them.
OXFORD_FLOWERS102_CLASSES = (
    "pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea",
    "english marigold", "tiger lily", "moon orchid", "bird of paradise",
    "monkshood", "globe thistle", "snapdragon", "colt's foot", "king protea",
    "spear thistle", "yellow iris", "globe-flower", "purple coneflower",
    "peruvian lily", "balloon flower", "giant white arum lily", "fire lily",
    "pincushion flower", "fritillary", "red ginger", "grape hyacinth",
    "corn poppy", "prince of wales feathers", "stemless gentian", "artichoke",
    "sweet william", "carnation", "garden phlox", "love in the mist",
    "mexican aster", "alpine sea holly", "ruby-lipped cattleya", "cape flower",
    "great masterwort", "siam tulip", "lenten rose", "barbeton daisy",
    "daffodil", "sword lily", "poinsettia", "bolero deep blue", "wallflower",
    "marigold", "buttercup", "oxeye daisy", "common dandelion", "petunia",
    "wild pansy", "primula", "sunflower", "pelargonium", "bishop of llandaff",
    "gaura", "geranium", "orange dahlia", "pink-yellow dahlia",
    "cautleya spicata", "japanese anemone", "black-eyed susan", "silverbush",
    "californian poppy", "osteospermum", "spring crocus", "bearded iris",
    "windflower", "tree poppy", "gazania", "azalea", "water lily", "rose",
    "thorn apple", "morning glory", "passion flower", "lotus", "toad lily",
    "anthurium", "frangipani", "clematis", "hibiscus", "columbine",
    "desert-rose", "tree mallow", "magnolia", "cyclamen", "watercress",
    "canna lily", "hippeastrum", "bee balm", "ball moss", "foxglove",
    "bougainvillea", "camellia", "mallow", "mexican petunia", "bromelia",
    "blanket flower", "trumpet creeper", "blackberry lily",
)  # fmt: skip
# Caltech-101's clutter class, not one of the 101 object categories.
_CALTECH_BACKGROUND = "BACKGROUND_Google"


def datasets_home() -> str:
    """`$KERASVISION_DATASETS`, else Keras's cache `$KERAS_HOME/datasets`."""
    folder = os.environ.get("KERASVISION_DATASETS")
    if not folder:
        keras_home = os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
        folder = os.path.join(keras_home, "datasets")
    return os.path.abspath(os.path.expanduser(folder))


# === Array datasets ===


def local_arrays(name: str):
    """`(x_train, y_train, x_test, y_test)` from the published files of `name`
    in `datasets_home()`, or None when one is missing.

    Raises:
        ValueError: If a file is there but is not what it should be.
    """
    home = datasets_home()
    paths = [os.path.join(home, file) for file in PUBLISHED_FILES[name]]
    if not all(os.path.isfile(path) for path in paths):
        return None
    try:
        if name == "mnist":
            with np.load(paths[0], allow_pickle=False) as data:
                arrays = tuple(
                    data[k] for k in ("x_train", "y_train", "x_test", "y_test")
                )
        elif name == "fashion_mnist":
            arrays = _read_idx_gz(*paths)
        else:
            arrays = _read_cifar10(paths[0])
    except (OSError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as error:
        raise ValueError(
            f"{', '.join(paths)}: not the published {name} files ({error})"
        ) from None
    return tuple(np.asarray(a) for a in arrays)


def _read_idx_gz(train_labels, train_images, test_labels, test_images):
    """Fashion-MNIST's gzipped IDX files (the MNIST format: 8/16-byte headers)."""

    def labels(path):
        with gzip.open(path, "rb") as stream:
            return np.frombuffer(stream.read(), np.uint8, offset=8)

    def images(path, count):
        with gzip.open(path, "rb") as stream:
            return np.frombuffer(stream.read(), np.uint8, offset=16).reshape(
                count, 28, 28
            )

    y_train, y_test = labels(train_labels), labels(test_labels)
    return (
        images(train_images, len(y_train)),
        y_train,
        images(test_images, len(y_test)),
        y_test,
    )


def _read_cifar10(path):
    """`cifar-10-python.tar.gz`: pickled batches `data_batch_1..5`, `test_batch`
    of `{b"data": uint8 [N, 3072] (channels first), b"labels": [N]}`."""
    batches = {}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            base = os.path.basename(member.name)
            if member.isfile() and re.fullmatch(r"data_batch_[1-5]|test_batch", base):
                content = archive.extractfile(member).read()
                # The published format is a pickle (as keras.datasets reads it).
                batches[base] = pickle.loads(content, encoding="bytes")

    def arrays(names):
        data = np.concatenate(
            [np.asarray(batches[n][b"data"], np.uint8) for n in names]
        )
        labels = np.concatenate([np.asarray(batches[n][b"labels"]) for n in names])
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels

    x_train, y_train = arrays([f"data_batch_{i}" for i in range(1, 6)])
    x_test, y_test = arrays(["test_batch"])
    return x_train, y_train, x_test, y_test


# === Folder datasets ===


def prepare_folder_dataset(name: str) -> str:
    """The folder of a folder dataset, unpacked on first use.

    From the published archives in `datasets_home()` when they are there,
    else through `tensorflow-datasets` (its download), else one line naming
    the files needed.

    Returns:
        `<datasets home>/kerasvision/<name>`: `train/`, `val/`, `test/` of class
        folders (Oxford-102's official split) or class folders (Caltech-101).

    Raises:
        RuntimeError: If the files are missing and cannot be fetched.
    """
    home = datasets_home()
    destination = os.path.join(home, "kerasvision", name)
    if os.path.isdir(destination):
        return destination
    from kerasvision._files import made_dirs, staged_dir

    made_dirs(os.path.dirname(destination))
    files, url, tfds_name = FOLDER_DATASETS[name]
    reader = _unpack_oxford if name == "oxford_flowers102" else _unpack_caltech
    archives = reader(home, None)
    with staged_dir(destination, prefix=".prepare-") as staging:
        if archives:
            reader(home, staging)
        else:
            _from_tensorflow_datasets(tfds_name, staging, name, files, url)
    return destination


def _missing(name, files, url, why: str) -> RuntimeError:
    return RuntimeError(
        f"{name} needs {', '.join(files)} in {datasets_home()} (from {url}; or "
        f"set KERASVISION_DATASETS to their folder){why}"
    )


def _folder_name(class_name: str) -> str:
    return re.sub(r"[^0-9A-Za-z.-]+", "_", class_name.replace("'", "")).strip("_")


def _unpack_oxford(home: str, target: str | None):
    """Oxford-102: `102flowers.tgz` (jpg/image_00001.jpg...), `imagelabels.mat`
    (1-based labels) and `setid.mat` (trnid/valid/tstid, 1-based image ids).
    With `target` None: whether the three files are there."""
    paths = [os.path.join(home, f) for f in FOLDER_DATASETS["oxford_flowers102"][0]]
    if target is None:
        return all(os.path.isfile(path) for path in paths)
    from scipy.io import loadmat

    labels = np.asarray(loadmat(paths[1])["labels"]).reshape(-1)
    split_ids = loadmat(paths[2])
    split_of = {}
    for split, key in (("train", "trnid"), ("val", "valid"), ("test", "tstid")):
        for image_id in np.asarray(split_ids[key]).reshape(-1):
            split_of[int(image_id)] = split
    with tarfile.open(paths[0], "r:gz") as archive:
        for member in archive.getmembers():
            match = re.fullmatch(r"image_(\d+)\.jpg", os.path.basename(member.name))
            if not member.isfile() or not match:
                continue
            image_id = int(match.group(1))
            label = OXFORD_FLOWERS102_CLASSES[int(labels[image_id - 1]) - 1]
            folder = os.path.join(target, split_of[image_id], _folder_name(label))
            _write_member(archive, member, folder)
    return True


def _unpack_caltech(home: str, target: str | None):
    """Caltech-101: `101_ObjectCategories.tar.gz` (`101_ObjectCategories/<class>/
    image_0001.jpg`), or `caltech-101.zip` that holds it. With `target` None:
    whether one is there."""
    tar_path = os.path.join(home, "101_ObjectCategories.tar.gz")
    zip_path = os.path.join(home, "caltech-101.zip")
    if target is None:
        return os.path.isfile(tar_path) or os.path.isfile(zip_path)
    if os.path.isfile(tar_path):
        with tarfile.open(tar_path, "r:gz") as archive:
            _unpack_categories(archive, target)
        return True
    with zipfile.ZipFile(zip_path) as outer:
        inner = [
            n for n in outer.namelist() if n.endswith("101_ObjectCategories.tar.gz")
        ]
        if not inner:
            raise RuntimeError(f"{zip_path} holds no 101_ObjectCategories.tar.gz")
        with outer.open(inner[0]) as stream:
            data = io.BytesIO(stream.read())
    with tarfile.open(fileobj=data, mode="r:gz") as archive:
        _unpack_categories(archive, target)
    return True


def _unpack_categories(archive, target):
    for member in archive.getmembers():
        parts = member.name.replace("\\", "/").split("/")
        if not member.isfile() or len(parts) < 3 or parts[-2] == _CALTECH_BACKGROUND:
            continue
        if not parts[-1].lower().endswith((".jpg", ".jpeg", ".png")):
            continue
        _write_member(archive, member, os.path.join(target, _folder_name(parts[-2])))


def _write_member(archive, member, folder: str) -> None:
    """Copy one archive member into `folder` under its base name (never a path
    from the archive: no `..` or absolute names can escape the target)."""
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(member.name.replace("\\", "/"))
    with (
        archive.extractfile(member) as source,
        open(os.path.join(folder, base), "wb") as stream,
    ):
        stream.write(source.read())


def _from_tensorflow_datasets(tfds_name, target, name, files, url) -> None:
    """Write a tensorflow-datasets dataset as class folders (its splits kept)."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise _missing(
            name, files, url, ", or pip install tensorflow-datasets to download it"
        ) from None
    try:
        builder = tfds.builder(
            tfds_name, data_dir=os.path.join(datasets_home(), "tfds")
        )
        builder.download_and_prepare()
    except Exception as error:  # network and checksum failures differ by version
        raise _missing(
            name, files, url, f"; tensorflow-datasets failed: {type(error).__name__}"
        ) from None
    names = builder.info.features["label"].names
    splits = list(builder.info.splits)
    for split in splits:
        folder = {"validation": "val"}.get(split, split) if len(splits) > 1 else ""
        dataset = tfds.as_numpy(builder.as_dataset(split=split))
        for index, example in enumerate(dataset):
            label = names[int(example["label"])]
            if label.lower() == _CALTECH_BACKGROUND.lower():
                continue
            path = os.path.join(target, folder, _folder_name(label))
            os.makedirs(path, exist_ok=True)
            from PIL import Image

            Image.fromarray(example["image"]).save(
                os.path.join(path, f"{split}_{index:05d}.jpg"), quality=95
            )
