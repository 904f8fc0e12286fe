"""The lectures' regularization experiment: does the train-test gap shrink?

Trains the same bipyramidal CNN five ways — no regularization, with augmentation,
with dropout + early stopping, with batch norm, with CutMix — and prints train
accuracy (clean training images, after training), test accuracy and the gap.
Every variant turns off the scratch recipe's label smoothing, so the baseline is
truly unregularized and each other variant adds exactly its own regularizer.
The digits get label-preserving augmentations only: no flips (a mirrored 3 is
no digit), small rotations and shifts.
Default data: ../shared/data/flowers5 at 64x64 (override the folder with --shared
or the KERASVISION_SHARED environment variable); --digits runs a fast version on
the built-in digits instead.

Example:
    python apps/regularization.py --digits
"""

from __future__ import annotations

import os
import time

import click
from _shared import shared_root

import kerasvision
from kerasvision.evaluation import evaluate_model

#: What every variant shares: no label smoothing (the scratch recipe's 0.1) and
#: no dropout unless the variant adds it.
UNREGULARIZED = {"label_smoothing": 0.0, "model_kwargs": {"dropout_rate": 0.0}}
#: Label-preserving augmentations: photos can be mirrored, digits cannot.
AUGMENTATIONS = {
    "photos": "flip,rotate=0.1,zoom=0.15,translate=0.1,contrast=0.2",
    "digits": "rotate=0.03,zoom=0.1,translate=0.1,contrast=0.2",
}
MIXING = {"photos": "flip,cutmix=1.0", "digits": "cutmix=1.0"}


def variants(kind: str = "photos") -> list[tuple[str, dict]]:
    """(label, fit keyword arguments on top of `UNREGULARIZED`) of each variant;
    `kind` "digits" keeps the augmentations label-preserving for digits."""
    return [
        ("none", {}),
        ("augmentation", {"augment": AUGMENTATIONS[kind]}),
        (
            "dropout + early stopping",
            {"model_kwargs": {"dropout_rate": 0.5}, "early_stopping": 4},
        ),
        ("batch norm", {"model_kwargs": {"batch_norm": True}}),
        ("cutmix", {"augment": MIXING[kind]}),
    ]


def variant_arguments(extra: dict) -> dict:
    """`UNREGULARIZED` with the variant's own arguments on top."""
    model_kwargs = {**UNREGULARIZED["model_kwargs"], **extra.get("model_kwargs", {})}
    return {**UNREGULARIZED, **extra, "model_kwargs": model_kwargs}


@click.command()
@click.option("--digits", is_flag=True, help="Fast mode on the built-in digits.")
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--image-size", default=64, show_default=True)
@click.option("--epochs", default=None, type=int, help="Default 25 (digits 30).")
@click.option("--seed", default=0, show_default=True)
@click.option("--output", default="saved_models", show_default=True)
@click.option(
    "--only",
    "only",
    multiple=True,
    help="Train only these variants (e.g. --only none); repeatable.",
)
def main(digits, shared, image_size, epochs, seed, output, only):
    """Train the bipyramidal CNN with and without regularization; print the gaps."""
    if digits:
        data, size, label = None, 16, "digits"
        # Few training images make the unregularized CNN overfit visibly.
        common = {"dataset": "digits", "val_split": 0.1, "test_split": 0.5}
        epochs = epochs or 30
    else:
        data = os.path.join(shared_root(shared), "data", "flowers5")
        if not os.path.isdir(data):
            raise click.UsageError(f"not found: {data} (pass --shared or --digits)")
        size, label, common = (
            image_size,
            "flowers5",
            {"val_split": 0.1, "test_split": 0.2},
        )
        epochs = epochs or 25
    chosen = variants("digits" if digits else "photos")
    unknown = set(only) - {name for name, _ in chosen}
    if unknown:
        raise click.UsageError(f"unknown variant {sorted(unknown)[0]!r}")
    rows = []
    for name, extra in chosen:
        if only and name not in only:
            continue
        kwargs = {**common, **variant_arguments(extra)}
        model_kwargs = kwargs.pop("model_kwargs")
        start = time.perf_counter()
        result = kerasvision.fit(
            data,
            image_size=size,
            epochs=epochs,
            seed=seed,
            overwrite=True,
            export=False,  # only the accuracies are compared
            model_kwargs=model_kwargs,
            output=os.path.join(output, f"regularization-{label}-{name.split()[0]}"),
            **kwargs,
        )
        train = evaluate_model(result.model, result.data, "train")["accuracy"]
        test = result.metrics["accuracy"]
        rows.append(
            (
                name,
                train,
                test,
                train - test,
                len(result.history["loss"]),
                time.perf_counter() - start,
            )
        )
        click.echo(f"{name}: train {train:.4f} test {test:.4f}")
    click.echo(f"\n{label} at {size}x{size}, seed {seed}")
    click.echo(
        f"{'variant':26s} {'train acc':>9s} {'test acc':>9s} {'gap':>7s} "
        f"{'epochs':>6s} {'wall s':>7s}"
    )
    for name, train, test, gap, count, seconds in rows:
        click.echo(
            f"{name:26s} {train:9.4f} {test:9.4f} {gap:7.4f} {count:6d} {seconds:7.0f}"
        )


if __name__ == "__main__":
    main()
