"""The lectures' first CNN notebook on the built-in digits (runs offline, no ../shared).

Trains the bipyramidal CNN on scikit-learn's 1,797 real 8x8 digits (upscaled to
32x32 so three pooling stages fit), prints the Keras summary, a per-layer table of
output shapes and parameter counts checked against the closed-form formulas of
`kerasvision.teaching.arithmetic`, and the test accuracy.

Example:
    python apps/first_cnn_digits.py --epochs 10
"""

from __future__ import annotations

import click

import kerasvision
from kerasvision.teaching import arithmetic


def parameter_table(model):
    """Rows `(layer, output shape, Keras params, formula params)` per weighted layer."""
    import keras

    rows = []
    for layer in model.layers:
        params = layer.count_params()
        formula = None
        if isinstance(layer, keras.layers.Conv2D):
            kernel = layer.kernel.shape
            formula = arithmetic.conv2d_params(
                tuple(kernel[:2]), kernel[2], layer.filters, use_bias=layer.use_bias
            )
        elif isinstance(layer, keras.layers.Dense):
            formula = arithmetic.dense_params(
                layer.kernel.shape[0], layer.units, use_bias=layer.use_bias
            )
        elif params == 0:
            continue
        rows.append((layer.name, tuple(layer.output.shape[1:]), params, formula))
    return rows


@click.command()
@click.option("--epochs", default=10, show_default=True, help="Training epochs.")
@click.option("--image-size", default=32, show_default=True, help="Upscaled size.")
@click.option("--seed", default=0, show_default=True, help="Seed (split, init).")
@click.option(
    "--output",
    default="saved_models/first_cnn_digits",
    show_default=True,
    help="Run directory (replaced if it exists).",
)
def main(epochs, image_size, seed, output):
    """Train the bipyramidal CNN on digits and explain its parameters."""
    result = kerasvision.fit(
        dataset="digits",
        image_size=image_size,
        epochs=epochs,
        seed=seed,
        output=output,
        overwrite=True,
    )
    model = result.model
    model.summary()
    click.echo(f"\n{'layer':16s} {'output shape':16s} {'params':>9s} {'formula':>9s}")
    for name, shape, params, formula in parameter_table(model):
        mark = "" if formula is None else ("ok" if formula == params else "MISMATCH")
        formula_text = "-" if formula is None else f"{formula:,}"
        click.echo(
            f"{name:16s} {str(shape):16s} {params:>9,} {formula_text:>9s} {mark}"
        )
    click.echo(f"total parameters: {model.count_params():,}")
    metrics = result.metrics
    click.echo(
        f"test accuracy {metrics['accuracy']:.4f} on {metrics['count']} held-out "
        f"digits; run in {result.run_dir}"
    )


if __name__ == "__main__":
    main()
