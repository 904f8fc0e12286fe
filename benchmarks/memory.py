"""Memory benchmark: peak RSS of `kerasvision fit` on a large JPEG folder (goal < 3 GB).

Writes a generated folder of `--count` JPEG images (default 20,000 at 224x224, in
4 class folders) under the system temporary folder, runs the real command

    kerasvision fit DIR --image-size 224 --epochs 1 --model-arg "filters=(4, 8)" ...

as a child process under `/usr/bin/time -v` (peak RSS from "Maximum resident set
size"; `resource.getrusage` of the children when GNU time is missing), prints the
peak, the wall time and what a full in-memory cache of the decoded images would
take (the pipeline caches uint8 images in memory only under a 1 GiB budget, so
20,000 x 224 x 224 x 3 = 3.0 GB must stream), and deletes the folder.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import click
import numpy as np

CLASSES = ("red", "green", "blue", "grey")


def _write_class(args):
    folder, index, count, size, seed = args
    from PIL import Image

    rng = np.random.default_rng(seed + index)
    os.makedirs(folder, exist_ok=True)
    ramp = np.linspace(0, 1, size, dtype="float32")
    tint = np.full(3, 90.0)
    if index < 3:
        tint[index] = 200.0
    for item in range(count):
        shade = ramp[:, None, None] * rng.uniform(0.5, 1.0) * tint
        pixels = shade + rng.normal(0, 12, (size, size, 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))
        image.save(os.path.join(folder, f"{item:05d}.jpg"), quality=85)
    return count


def _write_folder(root, count, size, seed):
    per_class = [count // len(CLASSES)] * len(CLASSES)
    per_class[0] += count - sum(per_class)
    jobs = [
        (os.path.join(root, name), index, per_class[index], size, seed)
        for index, name in enumerate(CLASSES)
    ]
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        return sum(pool.map(_write_class, jobs))


def _folder_bytes(root):
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(root)
        for name in names
    )


@click.command()
@click.option("--count", default=20_000, show_default=True, help="Images.")
@click.option("--image-size", default=224, show_default=True)
@click.option("--batch-size", default=64, show_default=True)
@click.option("--epochs", default=1, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--keep", is_flag=True, help="Keep the generated folder.")
def main(count, image_size, batch_size, epochs, seed, keep):
    """Peak RSS of `kerasvision fit` over a generated JPEG folder."""
    root = tempfile.mkdtemp(prefix="kerasvision-memory-")
    try:
        data = os.path.join(root, "images")
        start = time.perf_counter()
        written = _write_folder(data, count, image_size, seed)
        seconds = time.perf_counter() - start
        print(
            f"wrote {written:,} JPEGs ({image_size}x{image_size}, "
            f"{_folder_bytes(data) / 1e6:.0f} MB) in {seconds:.0f} s"
        )
        decoded = written * image_size * image_size * 3
        mode = "streams" if decoded > 1 << 30 else "cached"
        print(
            f"all decoded uint8 images: {decoded / 1e9:.2f} GB "
            f"(memory cache budget 1 GiB: {mode})"
        )
        kerasvision = os.path.join(os.path.dirname(sys.executable), "kerasvision")
        if not os.path.isfile(kerasvision):
            kerasvision = shutil.which("kerasvision") or "kerasvision"
        command = [
            kerasvision,
            "fit",
            data,
            "--image-size",
            str(image_size),
            "--epochs",
            str(epochs),
            "--batch-size",
            str(batch_size),
            "--model-arg",
            "filters=(4, 8)",
            "--model-arg",
            "dense_units=(8,)",
            "--seed",
            str(seed),
            "--output",
            os.path.join(root, "run"),
        ]
        gnu_time = shutil.which("time") or "/usr/bin/time"
        use_time = os.path.isfile(gnu_time)
        if use_time:
            command = [gnu_time, "-v", *command]
        print("running:", " ".join(command))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        start = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise click.ClickException(
                f"kerasvision fit failed ({result.returncode}): {result.stderr[-2000:]}"
            )
        print(result.stdout.strip())
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
        if match:
            peak_kb = int(match.group(1))
            source = "/usr/bin/time -v"
        else:
            peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            source = "getrusage(RUSAGE_CHILDREN)"
        print(
            f"peak RSS {peak_kb / 1e6:.2f} GB ({source}); fit wall time "
            f"{seconds:.0f} s for {epochs} epoch(s) over {written:,} images"
        )
        print("goal: peak RSS < 3 GB")
    finally:
        if keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
