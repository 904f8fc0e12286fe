"""Classic CNN architectures side by side, and the "going deeper" experiment.

1. Compare: trains each classic architecture (AlexNet, VGG, Inception v1,
   ResNet, DenseNet, MobileNet v1, ... at the registry's small default widths)
   briefly on the built-in digits (scikit-learn's 1,797 real 8x8 digits, upscaled
   to 32x32; offline) and prints a table of parameters, multiply-adds per image
   (from the built layers' kernel and output shapes), steady-state seconds per
   epoch and test accuracy, plus a PNG bar chart. With --long it repeats the
   comparison on the real flower photos of ../shared/data/flowers5 (4,064 JPEGs,
   5 classes) at a small size (path overridable by --shared or the
   KERASVISION_SHARED environment variable).
2. Going deeper (He et al. 2015): a deep plain CNN and its residual twin (same
   depth, same widths, skip connections added) trained on the same data with the
   same seed; prints both training-loss curves as a table and plots them to a PNG.
   The plain network trains worse at equal depth (degradation), the residual one
   trains.

Every training is a `kerasvision.fit` run directory under --output. Expect about
15 minutes for the default digits comparison and going-deeper experiment on 2 CPU
cores (most of the first epoch of the deep models is graph tracing); pick models
with --models to go faster.

Example:
    python apps/architectures.py --models alexnet --models resnet20 --epochs 2
    python apps/architectures.py --long --flowers-size 64
"""

from __future__ import annotations

import csv
import os
import statistics

import click
from _shared import shared_root

import kerasvision
from kerasvision.models import MODELS

CLASSIC_NAMES = [
    name
    for name, spec in MODELS.items()
    if spec.builder.startswith("kerasvision.models.classic:")
]


def accuracy_of(result) -> float:
    """Test accuracy of a `kerasvision.fit` result."""
    value = getattr(result, "test_accuracy", None)
    if value is None:
        metrics = result.metrics
        value = metrics.get("test_accuracy", metrics.get("accuracy", float("nan")))
    return float(value)


def steady_epoch_seconds(result) -> float:
    """Median epoch time after the first (which also traces the graph)."""
    seconds = list(result.epoch_seconds) or [float("nan")]
    return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)


def compare(names, *, data, dataset, image_size, epochs, seed, output, label):
    """Train each architecture; rows of (name, params, MACs, s/epoch, accuracy)."""
    from kerasvision.models.classic import count_multiply_adds, strip_auxiliary_heads

    rows = []
    for name in names:
        click.echo(f"\n=== {label}: {name} ===", err=True)
        result = kerasvision.fit(
            data,
            dataset=dataset,
            model=name,
            image_size=image_size,
            epochs=epochs,
            seed=seed,
            output=os.path.join(output, label, name),
            overwrite=True,
            export=False,
        )
        # Auxiliary heads (Inception v1) only train; serving cost is without them.
        serving = strip_auxiliary_heads(result.model)
        rows.append(
            {
                "model": name,
                "keras_name": result.model.name,
                "params": serving.count_params(),
                "multiply_adds": count_multiply_adds(serving),
                "first_epoch_s": result.epoch_seconds[0]
                if result.epoch_seconds
                else float("nan"),
                "epoch_s": steady_epoch_seconds(result),
                "test_accuracy": accuracy_of(result),
                "run_dir": result.run_dir,
            }
        )
    return rows


def print_comparison(rows, title):
    click.echo(f"\n{title}")
    header = (
        f"{'model':15s} {'keras name':14s} {'params':>11s} {'M mult-adds':>12s} "
        f"{'1st epoch s':>11s} {'s/epoch':>8s} {'test acc':>8s}"
    )
    click.echo(header)
    click.echo("-" * len(header))
    for row in rows:
        click.echo(
            f"{row['model']:15s} {row['keras_name']:14s} {row['params']:>11,} "
            f"{row['multiply_adds'] / 1e6:>12.1f} {row['first_epoch_s']:>11.1f} "
            f"{row['epoch_s']:>8.1f} {row['test_accuracy']:>8.3f}"
        )


def write_csv(rows, path):
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def plot_comparison(rows, path, title):
    """Four horizontal bar panels: params, multiply-adds, s/epoch, test accuracy."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from kerasvision.visualization.plots import save_figure

    names = [row["model"] for row in rows]
    panels = [
        ("parameters", [row["params"] for row in rows], True),
        ("multiply-adds / image", [row["multiply_adds"] for row in rows], True),
        ("seconds / epoch", [row["epoch_s"] for row in rows], False),
        ("test accuracy", [row["test_accuracy"] for row in rows], False),
    ]
    figure, axes = plt.subplots(1, 4, figsize=(18, 0.45 * len(rows) + 1.5), sharey=True)
    for axis, (panel_title, values, log_scale) in zip(axes, panels, strict=True):
        axis.barh(names, values, color="tab:blue")
        axis.set_title(panel_title)
        if log_scale:
            axis.set_xscale("log")
            axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.grid(axis="x", alpha=0.3)
    axes[-1].set_xlim(0, 1)
    axes[0].invert_yaxis()
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


def going_deeper(*, depth, epochs, seed, output):
    """Train plain_cnn and residual_cnn at `depth`; returns {name: result}."""
    results = {}
    for name in ("plain_cnn", "residual_cnn"):
        click.echo(f"\n=== going deeper: {name}, depth {depth} ===", err=True)
        results[name] = kerasvision.fit(
            dataset="digits",
            model=name,
            model_kwargs={"depth": depth},
            image_size=32,
            epochs=epochs,
            seed=seed,
            output=os.path.join(output, "deeper", f"{name}{depth}"),
            overwrite=True,
            export=False,
        )
    return results


def print_going_deeper(results, depth):
    plain, residual = results["plain_cnn"], results["residual_cnn"]
    click.echo(
        f"\nGoing deeper on digits: {depth}-layer plain CNN vs its residual twin "
        f"({plain.model.count_params():,} vs {residual.model.count_params():,} "
        "parameters; the difference is the 1x1 projection shortcuts)"
    )
    click.echo(f"{'epoch':>5s} {'plain loss':>11s} {'residual loss':>14s}")
    for epoch, (a, b) in enumerate(
        zip(plain.history["loss"], residual.history["loss"], strict=True), start=1
    ):
        click.echo(f"{epoch:>5d} {a:>11.4f} {b:>14.4f}")
    click.echo(f"{'':5s} {'plain':>11s} {'residual':>14s}")
    for key in ("loss", "accuracy"):
        click.echo(
            f"{'final train ' + key:>20s} {plain.history[key][-1]:>8.4f} "
            f"{residual.history[key][-1]:>14.4f}"
        )
    click.echo(
        f"{'test accuracy':>20s} {accuracy_of(plain):>8.4f} "
        f"{accuracy_of(residual):>14.4f}"
    )


def plot_going_deeper(results, depth, path):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from kerasvision.visualization.plots import save_figure

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, style in (("plain_cnn", "tab:red"), ("residual_cnn", "tab:green")):
        history = results[name].history
        epochs = range(1, len(history["loss"]) + 1)
        label = f"{'plain' if name == 'plain_cnn' else 'residual'}-{depth}"
        axes[0].plot(epochs, history["loss"], marker="o", color=style, label=label)
        axes[1].plot(
            epochs, history["accuracy"], marker="o", color=style, label=f"{label} train"
        )
        if "val_accuracy" in history:
            axes[1].plot(
                epochs,
                history["val_accuracy"],
                linestyle="--",
                color=style,
                label=f"{label} val",
            )
    axes[0].set_title("training loss")
    axes[1].set_title("accuracy")
    for axis in axes:
        axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(f"Going deeper: plain vs residual, {depth} layers, digits")
    figure.tight_layout()
    return save_figure(figure, path)


@click.command()
@click.option(
    "--models",
    "names",
    multiple=True,
    type=click.Choice(CLASSIC_NAMES),
    help="Architectures to compare (repeatable). Default: all classic ones.",
)
@click.option("--epochs", default=3, show_default=True, help="Epochs on digits.")
@click.option("--seed", default=0, show_default=True, help="Seed (split, init).")
@click.option(
    "--long", "long_mode", is_flag=True,
    help="Also compare on ../shared/data/flowers5 at --flowers-size.",
)  # fmt: skip
@click.option(
    "--shared", default=None,
    help="Shared folder holding data/flowers5 (default: $KERASVISION_SHARED or "
    "../shared).",
)  # fmt: skip
@click.option("--flowers-size", default=64, show_default=True, help="--long size.")
@click.option("--long-epochs", default=5, show_default=True, help="--long epochs.")
@click.option(
    "--deeper-depth", default=56, show_default=True,
    help="Depth of the plain/residual pair (6n+2).",
)  # fmt: skip
@click.option(
    "--deeper-epochs", default=8, show_default=True,
    help="Epochs of the going-deeper pair; 0 skips the experiment.",
)  # fmt: skip
@click.option(
    "--skip-compare", is_flag=True, help="Only run the going-deeper experiment."
)
@click.option(
    "--output", default="saved_models/architectures", show_default=True,
    help="Folder for the run directories, tables and PNGs.",
)  # fmt: skip
def main(
    names,
    epochs,
    seed,
    long_mode,
    shared,
    flowers_size,
    long_epochs,
    deeper_depth,
    deeper_epochs,
    skip_compare,
    output,
):
    """Compare classic CNN architectures and run the going-deeper experiment.

    Trains on the built-in digits; with --long also on the flower photos of
    ../shared/data/flowers5 (override with --shared or KERASVISION_SHARED).
    """
    names = list(names) or CLASSIC_NAMES
    flowers = os.path.join(shared_root(shared), "data", "flowers5")
    if long_mode and not os.path.isdir(flowers):
        raise click.UsageError(
            f"--long needs the flowers5 folder, not found at {flowers}; "
            "set --shared or KERASVISION_SHARED"
        )
    os.makedirs(output, exist_ok=True)
    try:
        if not skip_compare:
            rows = compare(
                names, data=None, dataset="digits", image_size=32, epochs=epochs,
                seed=seed, output=output, label="digits",
            )  # fmt: skip
            title = f"Classic architectures on digits (32x32, {epochs} epochs)"
            print_comparison(rows, title)
            click.echo(f"table: {write_csv(rows, os.path.join(output, 'digits.csv'))}")
            png = plot_comparison(rows, os.path.join(output, "digits.png"), title)
            click.echo(f"chart: {png}")
            if long_mode:
                rows = compare(
                    names, data=flowers, dataset=None, image_size=flowers_size,
                    epochs=long_epochs, seed=seed, output=output, label="flowers5",
                )  # fmt: skip
                title = (
                    f"Classic architectures on flowers5 ({flowers_size}x"
                    f"{flowers_size}, {long_epochs} epochs)"
                )
                print_comparison(rows, title)
                table = write_csv(rows, os.path.join(output, "flowers5.csv"))
                click.echo(f"table: {table}")
                png = plot_comparison(rows, os.path.join(output, "flowers5.png"), title)
                click.echo(f"chart: {png}")
        if deeper_epochs:
            results = going_deeper(
                depth=deeper_depth, epochs=deeper_epochs, seed=seed, output=output
            )
            print_going_deeper(results, deeper_depth)
            png = plot_going_deeper(
                results, deeper_depth, os.path.join(output, "going_deeper.png")
            )
            click.echo(f"curves: {png}")
    except (ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None


if __name__ == "__main__":
    main()
