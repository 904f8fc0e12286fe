"""Reliability audit: hostile command lines, data folders and destinations.

Runs the real `kerasvision` command (one process per case) on a scratch folder
holding a small image folder, two tiny trained runs, a user's folder with a file in
it, a regular file, a symlink loop, class folders with a line break or only
spaces, and a decompression bomb. For each case it records the exit code and
stderr, and compares every file under the scratch folder before and after.
Needs nothing outside the repository. Prints one line per case and the table:

  tried      cases run
  clean      the expected exit code (2 for bad input, 1 for a write failure,
             0 where the input is hostile but usable) and, on failure, one line
             of error and no traceback
  traceback  stderr shows a Python traceback
  lost       a file that existed before the case is gone or changed

Example:
    python benchmarks/audit.py
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
import time

import click
import numpy as np

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
#: Lines that TensorFlow's C++ runtime prints on its own (not errors of ours).
NOISE = ("WARNING: All log messages before absl", "I0000", "W0000", "E0000")


def _cli(*args, timeout=300):
    command = [sys.executable, "-m", "kerasvision", *map(str, args)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=ENV
    )
    return result.returncode, result.stderr


def _snapshot(root):
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as stream:
                files[path] = hashlib.sha256(stream.read()).hexdigest()
    return files


def _write_png(path, array):
    from PIL import Image

    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _setup(root):
    """The scratch folder every case runs against."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images * 255 / 16).astype("uint8")
    for index in range(60):
        label = int(digits.target[index]) % 3
        _write_png(f"{root}/data/c{label}/{index}.png", images[index])
    for name in ("empty", "user"):
        os.makedirs(f"{root}/{name}", exist_ok=True)
    with open(f"{root}/user/notes.txt", "w") as stream:
        stream.write("a user's file\n")
    with open(f"{root}/afile", "w") as stream:
        stream.write("a regular file\n")
    _write_png(f"{root}/oneclass/solo/a.png", images[0])
    # A symlink loop inside a class folder.
    for index in range(20):
        _write_png(f"{root}/loop/c{index % 2}/{index}.png", images[index])
    os.symlink(".", f"{root}/loop/c0/again")
    # A class name with a line break, one made of spaces.
    for bad in ("new\nline", "   "):
        folder = f"{root}/badclass-{len(bad)}"
        _write_png(f"{folder}/ok/a.png", images[0])
        _write_png(f"{folder}/ok/b.png", images[1])
        _write_png(f"{folder}/{bad}/a.png", images[2])
        _write_png(f"{folder}/{bad}/b.png", images[3])
    # A decompression bomb: 20000x20000 of one colour, a small PNG.
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    bomb = Image.new("L", (20000, 20000))
    os.makedirs(f"{root}/bomb", exist_ok=True)
    bomb.save(f"{root}/bomb/bomb.png", optimize=True)
    for seed, name in ((0, "run"), (1, "run2")):
        code, err = _cli("fit", f"{root}/data", "--epochs", "1", "--seed", seed,
                         "--output", f"{root}/{name}")  # fmt: skip
        assert code == 0, err


#: `(name, expected exit codes, command line)`; `{r}` is the scratch folder.
CASES = [
    # --- bad options and arguments: exit 2, one line ---
    ("fit missing data", {2}, "fit {r}/missing"),
    ("fit empty data", {2}, "fit {r}/empty"),
    ("fit one class", {2}, "fit {r}/oneclass"),
    ("fit data is a file", {2}, "fit {r}/afile"),
    ("fit unknown model", {2}, "fit --model resnet9000"),
    ("fit unknown dataset", {2}, "fit --dataset imagenet"),
    ("fit epochs text", {2}, "fit --epochs ten"),
    ("fit epochs 0", {2}, "fit --epochs 0"),
    ("fit epochs -1", {2}, "fit --epochs -1"),
    ("fit image size text", {2}, "fit --image-size big"),
    ("fit image size 0", {2}, "fit --image-size 0"),
    ("fit image size 100000", {2}, "fit --image-size 100000"),
    ("fit image size 3x", {2}, "fit --image-size 3x"),
    ("fit batch size 0", {2}, "fit --batch-size 0"),
    ("fit batch size 1e20", {2}, "fit --batch-size 99999999999999999999"),
    ("fit lr inf", {2}, "fit --lr inf"),
    ("fit lr nan", {2}, "fit --lr nan"),
    ("fit lr -1", {2}, "fit --lr -1"),
    ("fit lr text", {2}, "fit --lr fast"),
    ("fit model-arg without =", {2}, "fit --model-arg filters"),
    ("fit model-arg bad value", {2}, "fit --model-arg 'filters=oops('"),
    ("fit model-arg unknown key", {2}, "fit --model-arg nokey=3"),
    ("fit val split 1.5", {2}, "fit --val-split 1.5"),
    ("fit splits sum > 1", {2}, "fit --val-split 0.6 --test-split 0.5"),
    ("fit label smoothing 2", {2}, "fit --label-smoothing 2"),
    ("fit dropout 1", {2}, "fit --dropout-rate 1"),
    ("fit augment unknown", {2}, "fit --augment wobble=3"),
    ("fit augment bad value", {2}, "fit --augment rotate=abc"),
    ("fit schedule unknown", {2}, "fit --schedule wiggly"),
    ("fit ema 2", {2}, "fit --ema 2"),
    ("fit time budget -5", {2}, "fit --time-budget -5"),
    ("fit class weight count", {2}, "fit {r}/data --class-weight 1,2,3,4"),
    ("fit class weight text", {2}, "fit --class-weight heavy"),
    ("fit unknown class", {2}, "fit --dataset digits --classes 3,99"),
    ("fit initializer unknown", {2}, "fit --kernel-initializer zeros:x:y"),
    ("fit resize unknown", {2}, "fit --resize squash"),
    ("fit channels 2", {2}, "fit --channels 2"),
    ("fit mode without backbone", {2}, "fit --mode fine-tune"),
    ("fit unfreeze without backbone", {2}, "fit --unfreeze blocks:2"),
    ("fit weights without backbone", {2}, "fit --weights none"),
    ("fit unknown backbone", {2}, "fit --backbone nope_net"),
    ("fit backbone weights missing", {2},
     "fit {r}/data --backbone mobilenet_v2 --weights {r}/no.h5"),
    ("fit unfreeze blocks:999", {2},
     "fit {r}/data --backbone mobilenet_v2 --weights none --image-size 32 "
     "--mode fine-tune --unfreeze blocks:999"),
    ("fit unfreeze unknown layer", {2},
     "fit {r}/data --backbone mobilenet_v2 --weights none --image-size 32 "
     "--mode fine-tune --unfreeze from:nolayer"),
    ("fit unfreeze bad spec", {2},
     "fit --backbone mobilenet_v2 --mode fine-tune --unfreeze some"),
    ("fit resume nothing", {2}, "fit --resume --output {r}/empty"),
    ("fit output under a file", {1}, "fit {r}/data --output {r}/afile/run"),
    ("fit output exists", {2}, "fit {r}/data --output {r}/run"),
    ("fit output = data --overwrite", {2},
     "fit {r}/data --output {r}/data --overwrite"),
    ("fit output inside data", {2}, "fit {r}/data --output {r}/data/c0/run"),
    ("fit onto a user folder --overwrite", {2},
     "fit {r}/data --output {r}/user --overwrite"),
    # --- hostile data ---
    ("fit symlink loop (usable)", {0}, "fit {r}/loop --epochs 1 --output {r}/out-loop"),
    ("fit class name with a line break", {2}, "fit {r}/badclass-8"),
    ("fit class name of spaces", {2}, "fit {r}/badclass-3"),
    ("predict a decompression bomb", {2}, "predict {r}/run {r}/bomb/bomb.png"),
    # --- the other commands ---
    ("evaluate missing run", {2}, "evaluate {r}/missing"),
    ("evaluate not a run", {2}, "evaluate {r}/empty"),
    ("evaluate run is a file", {2}, "evaluate {r}/afile"),
    ("evaluate missing data", {2}, "evaluate {r}/run {r}/missing"),
    ("evaluate data of other classes", {2}, "evaluate {r}/run {r}/oneclass"),
    ("evaluate tta unknown", {2}, "evaluate {r}/run --tta spin"),
    ("predict not a run", {2}, "predict {r}/empty {img}"),
    ("predict missing image", {2}, "predict {r}/run {r}/missing.png"),
    ("predict not an image", {2}, "predict {r}/run {r}/afile"),
    ("predict min-confidence 2", {2}, "predict {r}/run {img} --min-confidence 2"),
    ("predict top-k 0", {2}, "predict {r}/run {img} --top-k 0"),
    ("predict unknown pretrained", {2}, "predict --pretrained nope {img}"),
    ("export missing run", {2}, "export {r}/missing"),
    ("export onto a user folder", {2}, "export {r}/run --output {r}/user"),
    ("export onto a user folder --overwrite", {2},
     "export {r}/run --output {r}/user --overwrite"),
    ("export onto a regular file", {2}, "export {r}/run --output {r}/afile"),
    ("export onto the run", {2}, "export {r}/run --output {r}/run --overwrite"),
    ("export onto the run's parent", {2}, "export {r}/run --output {r} --overwrite"),
    ("export under a file", {1}, "export {r}/run --output {r}/afile/x"),
    ("export format unknown", {2}, "export {r}/run --format pdf"),
    ("export quantize without tflite", {2}, "export {r}/run --quantize int8"),
    ("export min-confidence -1", {2}, "export {r}/run --min-confidence -1"),
    ("visualize unknown kind", {2}, "visualize {r}/run --kind xray"),
    ("visualize unknown layer", {2},
     "visualize {r}/run {img} --kind feature-maps --layer nolayer"),
    ("visualize unknown class", {2},
     "visualize {r}/run {img} --kind saliency --class yak"),
    ("visualize output under a file", {1, 2},
     "visualize {r}/run --kind filters --output {r}/afile/x"),
    ("report missing run", {2}, "report {r}/missing"),
    ("report output under a file", {1, 2}, "report {r}/run --output {r}/afile/x.html"),
    ("ensemble a run with itself", {2}, "ensemble {r}/run {r}/run --output {r}/ens"),
    ("ensemble with a non-run", {2}, "ensemble {r}/run {r}/empty --output {r}/ens"),
    ("ensemble onto a user folder", {2},
     "ensemble {r}/run {r}/run2 --output {r}/user --overwrite"),
    ("encode a classifier run", {2}, "encode {r}/run {img}"),
    ("augment unknown spec", {2},
     "augment {r}/data --augment wobble --preview {r}/p.png"),
    ("augment preview under a file", {1},
     "augment {r}/data --augment flip --preview {r}/afile/p.png"),
    ("lr-find missing data", {2}, "lr-find {r}/missing"),
    ("doctor missing data", {2}, "doctor {r}/missing"),
    ("review missing run", {2}, "review {r}/missing"),
    ("clean missing csv", {2}, "clean {r}/data --apply {r}/missing.csv"),
    ("clean csv is not a review", {2}, "clean {r}/data --apply {r}/afile"),
    ("rerun missing run", {2}, "rerun {r}/missing"),
    ("rerun onto itself", {2}, "rerun {r}/run --output {r}/run"),
    ("write-dataset unknown", {2}, "write-dataset nope {r}/w"),
    ("write-dataset into a file", {1, 2}, "write-dataset digits {r}/afile"),
    ("unknown command", {2}, "fly"),
]  # fmt: skip


def _clean(code, expected, err):
    lines = [
        line for line in err.splitlines() if line.strip() and not line.startswith(NOISE)
    ]
    if code not in expected:
        return False
    if code == 0:
        return "Traceback" not in err
    # click's usage errors print "Usage: ..." and "Try ..." before the error line.
    errors = [line for line in lines if not line.startswith(("Usage:", "Try ", "  "))]
    return len(errors) == 1 and "Traceback" not in err


@click.command()
@click.option("--only", default=None, help="Run the cases whose name contains this.")
def main(only):
    """Hostile inputs to every command: clean errors, no tracebacks, nothing lost."""
    table = {"tried": 0, "clean": 0, "traceback": 0, "lost": 0}
    with tempfile.TemporaryDirectory() as root:
        tick = time.perf_counter()
        _setup(root)
        print(f"set-up (images, a trained run): {time.perf_counter() - tick:.0f} s")
        image = os.path.join(root, "data", "c0", "0.png")
        for name, expected, line in CASES:
            if only and only not in name:
                continue
            before = _snapshot(root)
            code, err = _cli(*shlex.split(line.format(r=root, img=image)))
            after = _snapshot(root)
            lost = [p for p, digest in before.items() if after.get(p) != digest]
            clean = _clean(code, expected, err)
            table["tried"] += 1
            table["clean"] += clean
            table["traceback"] += "Traceback" in err
            table["lost"] += bool(lost)
            last = [line for line in err.splitlines() if line.strip()][-1:] or [""]
            mark = "ok " if clean and not lost else "BAD"
            lost_note = f"  LOST {len(lost)} files" if lost else ""
            print(f"{mark} {name:38s} exit {code}  {last[0][:100]}{lost_note}",
                  flush=True)  # fmt: skip
    print("\n| tried | clean | traceback | lost |\n|---|---|---|---|")
    print(f"| {table['tried']} | {table['clean']} | {table['traceback']} "
          f"| {table['lost']} |")  # fmt: skip


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
