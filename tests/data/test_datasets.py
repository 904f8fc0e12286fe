"""kerasvision.data.datasets and .archives: `--classes top:K`, the published files
of the built-in datasets read from a local folder, and the folder datasets."""

import gzip
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest
from helpers import write_image_folder
from PIL import Image

from kerasvision.data.datasets import (
    DATASETS,
    load_builtin,
    most_frequent_classes,
    parse_classes,
    select_classes,
)
from kerasvision.data.sources import load_data


@pytest.fixture
def datasets_home(tmp_path, monkeypatch):
    """An empty datasets folder, pointed at by KERASVISION_DATASETS."""
    home = tmp_path / "datasets"
    home.mkdir()
    monkeypatch.setenv("KERASVISION_DATASETS", str(home))
    return home


# === --classes top:K ===


def test_top_k_picks_the_largest_classes_ties_by_name():
    assert parse_classes("top:3") == parse_classes(" TOP:03 ") == "top:3"
    for bad in ("top:1", "top:x", "top:"):
        with pytest.raises(ValueError, match="top:K"):
            parse_classes(bad)
    labels = [0] * 5 + [1] * 2 + [2] * 7 + [3] * 5 + [4] * 1
    names = ["e", "d", "c", "b", "a"]
    # c (7), then b and e (5 each, by name), never d (2) or a (1).
    assert most_frequent_classes(labels, names, 3) == ["c", "b", "e"]
    keep, relabelled, chosen = select_classes(labels, names, "top:3")
    assert chosen == ["c", "b", "e"] and keep.sum() == 17
    assert relabelled[:5].tolist() == [2] * 5  # the e's are now label 2
    with pytest.raises(ValueError, match="only 5 classes"):
        select_classes(labels, names, "top:6")
    # Digits: 183 threes, then 182 ones and 182 fives.
    _, y, digit_names = load_builtin("digits", "top:3")
    assert digit_names == ["3", "1", "5"]
    assert np.bincount(y).tolist() == [183, 182, 182]


def test_top_k_folder_run_records_the_names(tmp_path):
    from kerasvision.training import fit

    data = tmp_path / "data"
    for name, count in (("ant", 3), ("bee", 6), ("cow", 4), ("dog", 4)):
        write_image_folder(data, classes=(name,), per_class=count, size=(8, 8))
    image_data = load_data(str(data), classes="top:3", image_size=8, seed=0)
    assert image_data.class_names == ["bee", "cow", "dog"]
    assert image_data.source["classes"] == ["bee", "cow", "dog"]
    run = tmp_path / "run"
    fit(
        str(data),
        classes="top:3",
        model_kwargs={"filters": (4,), "dense_units": ()},
        image_size=8,
        epochs=1,
        seed=0,
        export=False,
        output=str(run),
        verbose=0,
        log=lambda line: None,
    )
    record = json.loads((run / "run.json").read_text())
    # As explicit classes would be: the chosen names, in label order.
    assert record["arguments"]["classes"] == "top:3"
    assert record["data"]["source"]["classes"] == ["bee", "cow", "dog"]
    assert record["data"]["class_names"] == ["bee", "cow", "dog"]


# === Published files read from the datasets folder ===


def _add_to_tar(archive, name, content: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(content)
    archive.addfile(info, io.BytesIO(content))


def test_cifar10_from_a_local_archive_of_the_published_layout(datasets_home):
    rng = np.random.default_rng(0)
    batches = {}
    with tarfile.open(datasets_home / "cifar-10-python.tar.gz", "w:gz") as archive:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            data = rng.integers(0, 256, (2, 3072), dtype=np.uint8)
            labels = rng.integers(0, 10, 2).tolist()
            batches[name] = (data, labels)
            content = pickle.dumps({b"data": data, b"labels": labels})
            _add_to_tar(archive, f"cifar-10-batches-py/{name}", content)
        _add_to_tar(archive, "cifar-10-batches-py/batches.meta", b"not read")
    x, y, names, is_test = load_builtin("cifar10", with_test_mask=True)
    assert x.shape == (12, 32, 32, 3) and x.dtype == np.uint8
    assert names[0] == "airplane" and is_test.tolist() == [False] * 10 + [True] * 2
    # Channels-first rows of 3072 bytes become channels-last images.
    first = batches["data_batch_1"][0][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(x[0], first)
    assert y[-2:].tolist() == batches["test_batch"][1]
    # Through `fit`'s loader: the official test split is the test split.
    data = load_data(dataset="cifar10", val_split=0.2, seed=0)
    assert len(data.splits["test"]) == 2


def test_mnist_and_fashion_mnist_from_local_files(datasets_home):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    np.savez(
        datasets_home / "mnist.npz",
        x_train=images[:3],
        y_train=np.array([1, 2, 3], np.uint8),
        x_test=images[3:],
        y_test=np.array([4, 5], np.uint8),
    )
    x, y, _, is_test = load_builtin("mnist", with_test_mask=True)
    assert x.shape == (5, 28, 28, 1) and y.tolist() == [1, 2, 3, 4, 5]
    assert is_test.tolist() == [False, False, False, True, True]
    for prefix, count in (("train", 3), ("t10k", 2)):
        header = np.array([0, 0, 8, 1, 0, 0, 0, count], np.uint8).tobytes()
        labels = header + np.arange(count, dtype=np.uint8).tobytes()
        with gzip.open(datasets_home / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(labels)
        with gzip.open(datasets_home / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(bytes(16) + images[:count].tobytes())
    x, y, names = load_builtin("fashion_mnist", "trouser,t-shirt")
    assert names == ["trouser", "t-shirt"] and y.tolist() == [1, 0, 1, 0]
    np.testing.assert_array_equal(x[0, ..., 0], images[0])


def test_a_missing_folder_dataset_names_the_files(datasets_home):
    pytest.importorskip("scipy")
    try:
        import tensorflow_datasets  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="102flowers.tgz, imagelabels.mat"):
            load_data(dataset="oxford_flowers102")
    with pytest.raises(ValueError, match="folder dataset"):
        load_builtin("caltech101")


def _jpeg(rng, size=(12, 10)):
    stream = io.BytesIO()
    pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(stream, format="JPEG")
    return stream.getvalue()


def test_oxford_flowers102_from_local_archives_keeps_the_official_split(
    datasets_home,
):
    from scipy.io import savemat

    rng = np.random.default_rng(2)
    # 12 images of 3 classes (labels 1, 2, 77: "pink primrose", ...).
    labels = np.array([1, 2, 77] * 4)
    with tarfile.open(datasets_home / "102flowers.tgz", "w:gz") as archive:
        for index in range(1, 13):
            _add_to_tar(archive, f"jpg/image_{index:05d}.jpg", _jpeg(rng))
    savemat(datasets_home / "imagelabels.mat", {"labels": labels[None]})
    savemat(
        datasets_home / "setid.mat",
        {
            "trnid": np.arange(1, 7)[None],
            "valid": np.arange(7, 10)[None],
            "tstid": np.arange(10, 13)[None],
        },
    )
    assert DATASETS["oxford_flowers102"].official_test
    data = load_data(dataset="oxford_flowers102", image_size=16, seed=0)
    assert data.class_names == ["hard-leaved_pocket_orchid", "passion_flower",
                                "pink_primrose"]  # fmt: skip
    counts = {split: len(data.splits[split]) for split in data.splits}
    assert counts == {"train": 6, "val": 3, "test": 3}
    prepared = datasets_home / "kerasvision" / "oxford_flowers102"
    assert sorted(os.listdir(prepared)) == ["test", "train", "val"]
    assert (prepared / "test" / "pink_primrose" / "image_00010.jpg").is_file()
    # Prepared once: a second load reads the folder (the archive can go).
    os.remove(datasets_home / "102flowers.tgz")
    again = load_data(dataset="oxford_flowers102", image_size=16, classes="top:2")
    assert len(again.class_names) == 2


def test_caltech101_from_a_local_archive_without_the_background_class(
    datasets_home,
):
    rng = np.random.default_rng(3)
    path = datasets_home / "101_ObjectCategories.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, count in (
            ("accordion", 4),
            ("Faces_easy", 5),
            ("BACKGROUND_Google", 3),
        ):
            for index in range(1, count + 1):
                member = f"101_ObjectCategories/{name}/image_{index:04d}.jpg"
                _add_to_tar(archive, member, _jpeg(rng))
        _add_to_tar(archive, "../outside.jpg", _jpeg(rng))  # never written
    data = load_data(dataset="caltech101", image_size=16, seed=0, test_split=0.2)
    assert data.class_names == ["Faces_easy", "accordion"]
    assert sum(len(split) for split in data.splits.values()) == 9
    assert not (datasets_home / "kerasvision" / "outside.jpg").exists()
    assert not (datasets_home.parent / "outside.jpg").exists()
