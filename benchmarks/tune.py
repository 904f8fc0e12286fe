"""`kerasvision tune` vs the recipe's defaults: the searched best on validation
and, trained as a run, on the test split.

Runs `tune` (KerasTuner, Hyperband by default) exactly as the command line
would, then trains the recipe's defaults as a plain `fit` on the same split
(the same seed and data) for their test accuracy. Prints one table: validation
accuracy (what the search compares), test accuracy (untouched by the search),
epochs, the searched options, and the wall time of the whole `tune` call
against its budget.

Example:
    python benchmarks/tune.py --epochs 6 --time-budget 3000     # flowers5, 64 px
    python benchmarks/tune.py --dataset digits --time-budget 300
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout

SHARED = os.environ.get(
    "KERASVISION_SHARED", os.path.join(os.path.dirname(HERE), "..", "shared")
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", help="image folder (default: flowers5)")
    parser.add_argument("--dataset", help="a built-in dataset instead of a folder")
    parser.add_argument("--image-size", default=None, help="default: 64 for folders")
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--time-budget", type=float, default=2400.0)
    parser.add_argument("--tuner", default="hyperband")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="default: a temporary folder")
    parser.add_argument(
        "--no-defaults-run", action="store_true",
        help="skip training the defaults for their test accuracy",
    )  # fmt: skip
    args = parser.parse_args(argv)

    from kerasvision.training import fit
    from kerasvision.tuning import describe_values, tune

    options = {"seed": args.seed}
    if args.epochs:
        options["epochs"] = args.epochs
    data = None
    if args.dataset:
        options["dataset"] = args.dataset
    else:
        data = args.data or os.path.join(SHARED, "data", "flowers5")
        options["image_size"] = args.image_size or "64"
    if args.dataset and args.image_size:
        options["image_size"] = args.image_size
    output = args.output or tempfile.mkdtemp(prefix="kerasvision-tune-")
    started = time.perf_counter()

    def log(line):
        print(f"[{time.perf_counter() - started:6.0f} s] {line}", flush=True)

    result = tune(data, trials=args.trials, time_budget=args.time_budget,
                  tuner=args.tuner, output=os.path.join(output, "search"),
                  verbose=0, log=log, **options)  # fmt: skip
    wall = time.perf_counter() - started
    print(result.leaderboard())
    defaults_test = None
    if result.best["trial"] == "defaults":  # its run is the defaults' run
        defaults_test = result.metrics["accuracy"]
    elif not args.no_defaults_run:
        with open(os.path.join(result.folder, "tune.json"), encoding="utf-8") as f:
            split = json.load(f)["split"]
        plain = fit(data, output=os.path.join(output, "defaults"), split=split,
                    verbose=0, log=lambda line: None, **options)  # fmt: skip
        defaults_test = plain.metrics["accuracy"]

    best, defaults = result.best, result.defaults
    what = args.dataset or os.path.basename(os.path.normpath(data))
    print(f"\n{what}, {args.tuner}, {args.trials} trials asked, {len(result.trials)} "
          f"scored, budget {args.time_budget:.0f} s: tune took {wall:.0f} s "
          f"(stopped by {result.stopped})\n")  # fmt: skip
    print("| configuration | epochs | val acc | test acc | options |")
    print("|---|---|---|---|---|")
    shown = "-" if defaults_test is None else f"{defaults_test:.4f}"
    print(f"| defaults | {defaults['epochs']} | {defaults['val_accuracy']:.4f} | "
          f"{shown} | {describe_values(defaults['values'])} |")  # fmt: skip
    print(f"| best (trial {best['trial']}) | {best['epochs']} | "
          f"{best['val_accuracy']:.4f} | {result.metrics['accuracy']:.4f} | "
          f"{describe_values(best['values'])} |")  # fmt: skip
    print(f"\nsearch folder: {result.folder}")


if __name__ == "__main__":
    main()
