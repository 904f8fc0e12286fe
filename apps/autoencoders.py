"""Autoencoders on digits and flowers5: denoising, feature learning and a VAE.

For each dataset (digits always; flowers5 at 64x64 unless --quick) it trains:

(a) a denoising conv autoencoder at Gaussian sigma = 0.3 (0-1 pixel units) and
    reports the held-out PSNR of the noisy inputs and of the denoised outputs
    (goal: at least +6 dB);
(b) an autoencoder with a dense code of D units, then fits scikit-learn's
    LogisticRegression on the codes of the training split and scores it on the
    test split, against the same classifier on a D-component PCA of the raw
    pixels (goal: codes >= PCA);
(c) a VAE: held-out ELBO terms and a grid of samples from the prior.

The flowers part reads ../shared/data/flowers5 (override the shared folder with
--shared or the KERASVISION_SHARED environment variable). Digits are the 1,797
real 8x8 scikit-learn digits, upscaled to 16x16 by default (like the CNN app
upscales them) because at 8x8 nearly every pixel is stroke edge; pass
--digits-size 8 for the native size. All runs share one seeded split per dataset
(recorded in each run directory) and end with one table.

Example:
    python apps/autoencoders.py --quick
    python apps/autoencoders.py --flowers-epochs 15
"""

from __future__ import annotations

import os
import time

import click
import numpy as np
from _shared import shared_root

from kerasvision.training import fit_autoencoder

NOISE = "gaussian=0.3"


def split_arrays(data, split):
    """Raw pixels and labels of one split, in a fixed order."""
    images, labels = [], []
    for x, y in data.dataset(split, batch_size=256, shuffle=False, cache="none"):
        images.append(np.asarray(x))
        labels.append(np.asarray(y))
    return np.concatenate(images), np.concatenate(labels)


def linear_probe(result, seed):
    """Test accuracy of LogisticRegression on codes vs on PCA of raw pixels."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, y_train = split_arrays(result.data, "train")
    x_test, y_test = split_arrays(result.data, "test")

    def codes(images):
        values = result.encoder.predict(images, batch_size=256, verbose=0)
        return values.reshape(len(values), -1)

    def probe(*steps):
        return make_pipeline(
            *steps, StandardScaler(), LogisticRegression(max_iter=5000)
        )

    train_codes = codes(x_train)
    dims = train_codes.shape[1]
    on_codes = probe().fit(train_codes, y_train)
    code_accuracy = on_codes.score(codes(x_test), y_test)
    pixels = probe(PCA(dims, random_state=seed))
    pixels.fit(x_train.reshape(len(x_train), -1) / 255.0, y_train)
    pca_accuracy = pixels.score(x_test.reshape(len(x_test), -1) / 255.0, y_test)
    return dims, float(code_accuracy), float(pca_accuracy)


def experiments(label, data, settings, *, seed, output, log, verbose=False):
    """Run (a), (b), (c) on one dataset; returns the table row."""
    common = dict(
        image_size=settings["size"],
        seed=seed,
        overwrite=True,
        verbose=2 if verbose else 0,
        log=log,
        val_split=0.1,
        test_split=0.15,
        **data,
    )
    row = {"dataset": label, "size": settings["size"]}
    start = time.perf_counter()

    click.echo(f"[{label}] (a) denoising autoencoder, {NOISE}")
    denoise = fit_autoencoder(
        task="denoising",
        noise=NOISE,
        epochs=settings["epochs"],
        model_kwargs=settings["denoise"],
        output=os.path.join(output, f"{label}-denoising"),
        **common,
    )
    metrics = denoise.metrics
    row.update(
        noisy_psnr=metrics["noisy_psnr"],
        psnr=metrics["psnr"],
        gain=metrics["psnr_gain"],
        denoise_run=denoise.run_dir,
    )
    click.echo(
        f"    noisy {metrics['noisy_psnr']:.2f} dB -> denoised {metrics['psnr']:.2f} "
        f"dB ({metrics['psnr_gain']:+.2f} dB) on {metrics['count']} test images"
    )

    click.echo(f"[{label}] (b) autoencoder features vs PCA")
    features = fit_autoencoder(
        task="autoencoder",
        latent_dim=settings["code"],
        epochs=settings["epochs"],
        model_kwargs=settings["features"],
        output=os.path.join(output, f"{label}-features"),
        **common,
    )
    dims, code_accuracy, pca_accuracy = linear_probe(features, seed)
    row.update(dims=dims, code_accuracy=code_accuracy, pca_accuracy=pca_accuracy)
    click.echo(
        f"    logistic regression, {dims}-d: codes {code_accuracy:.4f} vs PCA "
        f"{pca_accuracy:.4f}"
    )

    click.echo(f"[{label}] (c) variational autoencoder")
    vae = fit_autoencoder(
        task="vae",
        latent_dim=settings["vae_latent"],
        epochs=settings["epochs"],
        model_kwargs=settings["vae"],
        output=os.path.join(output, f"{label}-vae"),
        **common,
    )
    metrics = vae.metrics
    row.update(
        elbo=metrics["elbo"],
        reconstruction=metrics["reconstruction_loss"],
        kl=metrics["kl_loss"],
        vae_latent=metrics["latent_dim"],
        samples=os.path.join(vae.run_dir, "samples.png"),
    )
    click.echo(
        f"    held-out ELBO {metrics['elbo']:.2f} nats/image (reconstruction "
        f"{metrics['reconstruction_loss']:.2f} + KL {metrics['kl_loss']:.2f})"
    )
    row["seconds"] = time.perf_counter() - start
    return row


def print_table(rows):
    click.echo("\n(a) denoising at Gaussian sigma 0.3 (held-out PSNR, goal >= +6 dB)")
    click.echo(
        f"{'dataset':10s} {'size':>5s} {'noisy':>8s} {'denoised':>9s} {'gain':>7s}"
    )
    for row in rows:
        mark = "ok" if row["gain"] >= 6 else "below goal"
        click.echo(
            f"{row['dataset']:10s} {row['size']:>5d} {row['noisy_psnr']:>8.2f} "
            f"{row['psnr']:>9.2f} {row['gain']:>+7.2f}  {mark}"
        )
    click.echo("\n(b) logistic regression on the test split (goal: codes >= PCA)")
    click.echo(f"{'dataset':10s} {'dims':>5s} {'AE codes':>9s} {'PCA':>8s}")
    for row in rows:
        mark = "ok" if row["code_accuracy"] >= row["pca_accuracy"] else "below PCA"
        click.echo(
            f"{row['dataset']:10s} {row['dims']:>5d} {row['code_accuracy']:>9.4f} "
            f"{row['pca_accuracy']:>8.4f}  {mark}"
        )
    click.echo("\n(c) VAE, held-out, nats per image")
    click.echo(
        f"{'dataset':10s} {'latent':>6s} {'ELBO':>9s} {'recon':>9s} {'KL':>7s}  samples"
    )
    for row in rows:
        click.echo(
            f"{row['dataset']:10s} {row['vae_latent']:>6d} {row['elbo']:>9.2f} "
            f"{row['reconstruction']:>9.2f} {row['kl']:>7.2f}  {row['samples']}"
        )
    click.echo("")
    for row in rows:
        click.echo(f"{row['dataset']}: {row['seconds']:.0f}s")


@click.command()
@click.option(
    "--shared",
    type=click.Path(),
    help="The shared folder holding data/flowers5 (default ../shared, or "
    "$KERASVISION_SHARED).",
)
@click.option("--quick", is_flag=True, help="Digits only, fewer epochs (minutes).")
@click.option("--digits-size", default=16, show_default=True, help="Digits size.")
@click.option("--digits-epochs", default=None, type=int, help="[default: 40, 25 quick]")
@click.option("--flowers-size", default=64, show_default=True, help="Flowers size.")
@click.option("--flowers-epochs", default=15, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--output",
    default=os.path.join("saved_models", "autoencoders"),
    show_default=True,
    help="Folder of the run directories (replaced if they exist).",
)
@click.option("--verbose", is_flag=True, help="One line per epoch.")
def main(
    shared,
    quick,
    digits_size,
    digits_epochs,
    flowers_size,
    flowers_epochs,
    seed,
    output,
    verbose,
):
    """Denoising, feature learning and a VAE on digits and ../shared flowers5.

    The flowers part uses ../shared/data/flowers5 (path overridable with --shared
    or the KERASVISION_SHARED environment variable); --quick runs digits only.
    """
    flowers = os.path.join(shared_root(shared), "data", "flowers5")
    if not quick and not os.path.isdir(flowers):
        raise click.UsageError(f"not found: {flowers} (pass --shared, or --quick)")

    def log(line):
        if verbose:
            click.echo(f"    {line}")

    digits = {
        "size": digits_size,
        "epochs": digits_epochs or (25 if quick else 40),
        "denoise": {"filters": (32, 64), "downsample": "strided"},
        "features": {"filters": (32, 64), "downsample": "strided"},
        "code": 16,
        "vae": {"filters": (32, 64), "dense_units": 64},
        "vae_latent": 2,
    }
    rows = [
        experiments(
            "digits",
            {"dataset": "digits"},
            digits,
            seed=seed,
            output=output,
            log=log,
            verbose=verbose,
        )
    ]
    if not quick:
        flower_settings = {
            "size": flowers_size,
            "epochs": flowers_epochs,
            "denoise": {"filters": (32, 64, 128), "downsample": "strided"},
            "features": {"filters": (32, 64, 128), "downsample": "strided"},
            "code": 64,
            "vae": {"filters": (32, 64, 128), "dense_units": 256},
            "vae_latent": 32,
        }
        rows.append(
            experiments(
                "flowers5",
                {"data": flowers},
                flower_settings,
                seed=seed,
                output=output,
                log=log,
                verbose=verbose,
            )
        )
    print_table(rows)


if __name__ == "__main__":
    main()
