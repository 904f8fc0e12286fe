"""Scaling benchmark: training images/s with 1 process vs 2 multi-worker processes.

Trains the same model on the same data, seed and global batch three ways, each as
fresh processes on this machine:

1. one process, `distribute="none"`;
2. one process, `distribute="multiworker"` without TF_CONFIG (a one-worker
   cluster: the cost of the strategy alone);
3. two processes, `distribute="multiworker"` with TF_CONFIG on 127.0.0.1 (each
   global batch split in two, gradients all-reduced over gRPC).

images/s = training images / the training pass of an epoch (validation excluded),
median over epochs 2+ (epoch 1 includes tracing), from the chief. Two workers on
one small machine share its cores, so expect no speed-up here: the figure shows the
overhead; the speed-up needs one worker per machine (or per GPU).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click  # noqa: E402


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for item in sockets:
            item.bind(("127.0.0.1", 0))
        return [item.getsockname()[1] for item in sockets]
    finally:
        for item in sockets:
            item.close()


def _launch(folder, label, workers, distribute, options):
    """Start `workers` processes of this script in worker mode; wait for them."""
    ports = _free_ports(workers)
    processes = []
    for index in range(workers):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        env.pop("TF_CONFIG", None)
        if workers > 1:
            cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
            task = {"type": "worker", "index": index}
            env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": task})
        result = os.path.join(folder, f"{label}-{index}.json")
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker-result",
            result,
            "--distribute",
            distribute,
            "--output",
            os.path.join(folder, label),
            *options,
        ]
        processes.append((subprocess.Popen(command, env=env), result))
    try:
        for process, _ in processes:
            if process.wait(timeout=1800) != 0:
                raise click.ClickException(f"{label}: a worker failed")
    finally:
        for process, _ in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    with open(processes[0][1]) as stream:
        return json.load(stream)


def _worker(result, distribute, output, dataset, image_size, epochs, batch, filters):
    import kerasvision

    fit = kerasvision.fit(
        dataset=dataset,
        image_size=image_size,
        model_kwargs={"filters": filters, "dropout_rate": 0.0},
        epochs=epochs,
        batch_size=batch,
        seed=0,
        distribute=distribute,
        output=output,
        export=False,
        verbose=0,
        log=lambda line: None,
    )
    with open(result, "w") as stream:
        json.dump(
            {
                "train_images": len(fit.data.splits["train"]),
                "train_epoch_seconds": fit.train_epoch_seconds,
                "accuracy": fit.metrics["accuracy"],
            },
            stream,
        )


@click.command()
@click.option("--dataset", default="digits", show_default=True)
@click.option("--image-size", default=48, show_default=True)
@click.option("--epochs", default=4, show_default=True)
@click.option("--batch-size", default=128, show_default=True, help="Global batch.")
@click.option("--filters", default="16,32", show_default=True)
@click.option("--worker-result", hidden=True)
@click.option("--distribute", hidden=True)
@click.option("--output", hidden=True)
def main(
    dataset,
    image_size,
    epochs,
    batch_size,
    filters,
    worker_result,
    distribute,
    output,
):
    """Images/s of fit with 1 vs 2 multi-worker processes on this machine."""
    filters = tuple(int(v) for v in filters.split(","))
    if worker_result:
        _worker(
            worker_result,
            distribute,
            output,
            dataset,
            image_size,
            epochs,
            batch_size,
            filters,
        )
        return
    options = [
        "--dataset",
        dataset,
        "--image-size",
        str(image_size),
        "--epochs",
        str(epochs),
        "--batch-size",
        str(batch_size),
        "--filters",
        ",".join(map(str, filters)),
    ]
    print(
        f"{dataset} at {image_size}x{image_size}, bipyramidal_cnn filters {filters}, "
        f"global batch {batch_size}, {epochs} epochs, {os.cpu_count()} CPU(s)"
    )
    runs = [
        ("1 process, none", 1, "none"),
        ("1 process, multiworker", 1, "multiworker"),
        ("2 processes, multiworker", 2, "multiworker"),
    ]
    with tempfile.TemporaryDirectory(prefix="kerasvision-scaling-") as folder:
        rows = []
        for index, (label, workers, mode) in enumerate(runs):
            start = time.perf_counter()
            result = _launch(folder, f"run{index}", workers, mode, options)
            wall = time.perf_counter() - start
            seconds = result["train_epoch_seconds"]
            steady = statistics.median(seconds[1:] or seconds)
            rows.append((label, result["train_images"] / steady, wall, result))
    base = rows[0][1]
    print(
        f"{'run':26s} {'img/s (epochs 2+)':>18s} {'vs 1 process':>12s} {'wall s':>7s}"
    )
    for label, rate, wall, _ in rows:
        print(f"{label:26s} {rate:18.1f} {rate / base:12.2f} {wall:7.1f}")
    print(
        f"train images per epoch: {rows[0][3]['train_images']}; test accuracy "
        + ", ".join(f"{row[3]['accuracy']:.3f}" for row in rows)
    )


if __name__ == "__main__":
    main()
