"""Training autoencoders, VAEs and U-Nets as short steps over a `RunWriter`.

A run directory (`saved_models/<task>-<data>-<timestamp>/`) holds `model.keras`,
`encoder.keras` (raw 0-255 pixels -> code), `encoder_serving/` (a SavedModel of
the encoder, checked against `encoder.predict`), `history.csv`, `curves.png`,
`metrics.json`, `run.json` (`"kind": "autoencoder"`), `labels.txt` and pictures:
`reconstructions.png`, `latent.png`, and `samples.png` + `interpolation.png`
(VAE) or `segmentation.png` + `serving/` (U-Net).
"""

from __future__ import annotations

import datetime
import os
import sys
import time

import numpy as np

from kerasvision import __version__
from kerasvision.runs import software_versions

__all__ = [
    "build_model",
    "evaluate",
    "load_data",
    "record",
    "save_and_export",
    "train",
]

DEFAULT_SPARSITY = 1e-4
_PICTURE_COUNT = 8


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# === Data and model ===


def load_data(data, config, *, split_record=None):
    """An `ImageData` (labels only colour the plots), or `SegmentationData`;
    with `split_record` (a rerun) the recorded split of an image folder."""
    from kerasvision.data.images import parse_image_size

    common = {
        "image_size": config.image_size,
        "channels": config.channels,
        "val_split": config.val_split,
        "test_split": config.test_split,
        "seed": config.seed,
    }
    if split_record is not None:
        common["split_record"] = split_record
    if config.task == "segmentation":
        from kerasvision.data.segmentation import load_segmentation_data

        image_data = load_segmentation_data(data, **common)
        if len(image_data.splits["train"]) == 0:
            raise ValueError("the train split is empty; lower val_split/test_split")
        return image_data
    from kerasvision.data.sources import load_data as load_any

    image_data = load_any(data, dataset=config.dataset, **common)
    size = parse_image_size(config.image_size)
    if size is not None and tuple(image_data.image_size) != tuple(size):
        image_data = image_data.with_image_size(size)
    if len(image_data.splits["train"]) == 0:
        raise ValueError("the train split is empty; lower val_split/test_split")
    return image_data


def build_model(config, data):
    """The task's uncompiled model (`kerasvision.models.autoencoders`)."""
    from kerasvision.models import autoencoders

    kwargs = dict(config.model_kwargs)
    architecture = kwargs.pop("architecture", "conv")

    def call(builder, *args, **extra):
        try:
            return builder(*args, **{**extra, **kwargs})
        except TypeError as error:
            if "unexpected keyword argument" in str(error):
                option = str(error).split("argument")[-1].strip(" '\"")
                raise ValueError(
                    f"{builder.__name__} does not take the option {option!r}"
                ) from None
            raise

    shape, seed, task = data.input_shape, config.seed, config.task
    if task == "segmentation":
        return call(autoencoders.build_unet, shape, data.num_classes)
    if task == "vae":
        return call(
            autoencoders.build_vae, shape, latent_dim=config.latent_dim, seed=seed
        )
    extra = {"seed": seed}
    if task == "denoising":
        extra["noise"] = config.noise
    if task == "sparse" and not (kwargs.get("sparsity") or kwargs.get("k_sparse")):
        extra["sparsity"] = DEFAULT_SPARSITY
    if architecture == "dense":
        if config.latent_dim is not None:
            # latent_dim replaces the code size (the last entry of units).
            hidden = tuple(kwargs.pop("units", (256, 64)))[:-1]
            extra["units"] = (*hidden, config.latent_dim)
        return call(autoencoders.build_dense_autoencoder, shape, **extra)
    return call(
        autoencoders.build_conv_autoencoder,
        shape,
        latent_dim=config.latent_dim,
        **extra,
    )


def record(run, config, data, model, encoder, feature_layer) -> dict:
    """Write `run.json` (status "running"), labels, splits and bad files."""
    segmentation = config.task == "segmentation"
    latent_shape = list(encoder.output_shape[1:]) if encoder is not None else None
    info = {
        "kerasvision_version": __version__,
        "kind": "autoencoder",
        "task": config.task,
        "status": "running",
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "arguments": config.to_json(),
        "seed": config.seed,
        "versions": software_versions(),
        "latent_dim": int(np.prod(latent_shape)) if latent_shape else None,
        "latent_shape": latent_shape,
        "spatial_latent": bool(latent_shape and len(latent_shape) == 3),
        "model": {
            "name": config.task,
            "keras_name": model.name,
            "input_shape": list(data.input_shape),
            "params": int(model.count_params()),
            "noise": config.noise,
            "code_layer": feature_layer,
            "num_classes": data.num_classes if segmentation else None,
        },
        "data": data.summary(),
        "split": data.split_record(),
    }
    run.record(info)
    run.write_data(data)
    return info


# === Train ===


def collect(dataset):
    """Concatenate a finite dataset of `(images, labels)` or images into arrays."""
    images, labels = [], []
    for batch in dataset:
        if isinstance(batch, tuple):
            images.append(np.asarray(batch[0]))
            labels.append(np.asarray(batch[1]))
        else:
            images.append(np.asarray(batch))
    images = np.concatenate(images)
    return images, (np.concatenate(labels) if labels else None)


def corrupt(noise, clean, seed) -> np.ndarray:
    """0-1 images corrupted by a fresh seeded noise layer (the same every time)."""
    from kerasvision.layers.noise import make_noise_layer

    layer = make_noise_layer(noise, seed=seed)
    return np.asarray(layer(np.asarray(clean, dtype="float32"), training=True))


def pipelines(data, config):
    """`(train, val or None)`: reconstruction pairs, VAE images, or masks."""
    import tensorflow as tf

    size, seed, task = config.batch_size, config.seed, config.task

    def pipeline(split, shuffle):
        if task == "segmentation":
            return data.dataset(split, batch_size=size, shuffle=shuffle, seed=seed)
        images = data.dataset(
            split, batch_size=size, shuffle=shuffle, seed=seed, include_labels=False
        )
        if task == "vae":
            return images
        return images.map(lambda x: (x, x / 255.0))

    has_val = len(data.splits["val"]) > 0
    train = pipeline("train", True)
    val = pipeline("val", False) if has_val else None
    if task == "denoising" and has_val:
        # Validate denoising, not reconstruction: the model adds no noise at
        # inference, so the validation inputs are corrupted once, here (seeded).
        raw_val, _ = collect(
            data.dataset("val", batch_size=256, shuffle=False, cache="none")
        )
        noisy_val = corrupt(config.noise, raw_val / 255.0, seed + 3)
        val = tf.data.Dataset.from_tensor_slices(
            (noisy_val * 255.0, raw_val / 255.0)
        ).batch(size)
    return train, val


def train(model, data, config, run, *, log=None, verbose="auto"):
    """Fit for `config.epochs`; returns `(history, epoch_seconds, train_seconds)`.

    Raises:
        TrainingError: If the loss becomes NaN/inf.
    """
    import keras

    from kerasvision.training.callbacks import EpochLogger, NaNGuard, progress_modes
    from kerasvision.training.results import TrainingError

    log = log or _stderr
    train_ds, val_ds = pipelines(data, config)
    keras_verbose, quiet = progress_modes(verbose)
    logger = EpochLogger(config.epochs, log, quiet=quiet)
    nan_guard = NaNGuard()
    start = time.perf_counter()
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        callbacks=[nan_guard, logger, keras.callbacks.CSVLogger(run.history_file)],
        verbose=keras_verbose,
        shuffle=False,  # the tf.data pipeline shuffles (seeded)
    )
    seconds = time.perf_counter() - start
    if nan_guard.where is not None:
        epoch, batch = nan_guard.where
        raise TrainingError(
            f"loss became NaN/inf at epoch {epoch}, batch {batch}; try a lower --lr "
            f"(was {config.lr}); partial run kept at {run.path}"
        )
    return run.read_history(), logger.seconds, seconds


# === Evaluate ===


def evaluate(model, encoder, data, config, run):
    """Held-out metrics and pictures into `run`; returns `(metrics, samples)`."""
    from kerasvision.visualization.plots import plot_training_curves

    split = data.scored_split
    plot_training_curves(run.read_history(), run.file("curves.png"))
    if config.task == "segmentation":
        metrics, samples = _evaluate_segmentation(model, data, split, run)
    else:
        metrics, samples = _evaluate_reconstruction(
            model, encoder, data, split, config, run
        )
    metrics["split"] = split
    run.write_json("metrics.json", metrics)
    return metrics, samples


def _evaluate_reconstruction(model, encoder, data, split, config, run):
    from kerasvision.evaluation import image_quality
    from kerasvision.reuse import predict_in_batches
    from kerasvision.visualization.reconstructions import (
        plot_image_rows,
        plot_latent_scatter,
    )

    task, seed = config.task, config.seed
    raw, labels = collect(
        data.dataset(split, batch_size=256, shuffle=False, cache="none")
    )
    clean = raw / 255.0
    metrics: dict = {"count": int(len(raw))}
    rows = [("input", clean[:_PICTURE_COUNT])]
    if task == "denoising":
        noisy = corrupt(config.noise, clean, seed + 1)
        outputs = predict_in_batches(model, noisy * 255.0)
        quality = image_quality(clean, outputs)
        noisy_quality = image_quality(clean, noisy)
        metrics.update(quality)
        metrics.update({f"noisy_{k}": v for k, v in noisy_quality.items()})
        metrics["psnr_gain"] = quality["psnr"] - noisy_quality["psnr"]
        metrics["noise"] = config.noise
        rows.append(("noisy", noisy[:_PICTURE_COUNT]))
    else:
        outputs = predict_in_batches(model, raw)
        metrics.update(image_quality(clean, outputs))
    rows.append(("output", outputs[:_PICTURE_COUNT]))
    codes = predict_in_batches(encoder, raw).reshape(len(raw), -1)
    metrics["code_zero_fraction"] = float(np.mean(np.abs(codes) < 1e-6))
    metrics["code_mean_abs"] = float(np.mean(np.abs(codes)))
    if task == "vae":
        metrics.update(_vae_terms(model, raw, seed))
    plot_image_rows(
        rows, run.file("reconstructions.png"), title=f"{task} - {split} split"
    )
    plot_latent_scatter(
        codes,
        labels,
        data.class_names,
        run.file("latent.png"),
        title=f"latent space ({split} split, {codes.shape[1]}-d code)",
    )
    if task == "vae":
        _draw_vae(model, raw, labels, seed, run)
    return metrics, raw[:16]


def _draw_vae(model, raw, labels, seed, run) -> None:
    from kerasvision.visualization.reconstructions import plot_image_rows

    samples = model.generate(32, seed=seed)
    plot_image_rows(
        [(f"row {i + 1}", samples[i * 8 : (i + 1) * 8]) for i in range(4)],
        run.file("samples.png"),
        title="samples from the prior N(0, I)",
    )
    if labels is not None and len(np.unique(labels)) > 1:
        first, second = 0, int(np.flatnonzero(labels != labels[0])[0])
    else:
        first, second = 0, min(1, len(raw) - 1)
    strip = model.interpolate(raw[first], raw[second], steps=10)
    plot_image_rows(
        [("a -> b", strip)],
        run.file("interpolation.png"),
        title="latent interpolation between two held-out images",
    )


def _vae_terms(model, raw, seed) -> dict:
    """Held-out per-image ELBO terms with sampled codes (seeded)."""
    import keras

    keras.utils.set_random_seed(seed + 2)
    rec, kl = [], []
    for start in range(0, len(raw), 256):
        r, k = model.loss_terms(raw[start : start + 256], training=False)
        rec.append(np.asarray(r))
        kl.append(np.asarray(k))
    rec, kl = float(np.mean(np.concatenate(rec))), float(np.mean(np.concatenate(kl)))
    return {
        "reconstruction_loss": rec,
        "kl_loss": kl,
        "loss": rec + model.beta * kl,
        "elbo": -(rec + kl),
        "beta": model.beta,
        "latent_dim": model.latent_dim,
    }


def _evaluate_segmentation(model, data, split, run):
    from kerasvision.evaluation import segmentation_metrics
    from kerasvision.reuse import predict_in_batches
    from kerasvision.visualization.reconstructions import plot_segmentation

    images, masks = data.arrays(split)
    predicted = np.argmax(predict_in_batches(model, images, 64), axis=-1)
    metrics = segmentation_metrics(masks, predicted, data.class_names)
    count = min(6, len(images))
    plot_segmentation(
        images[:count],
        masks[:count],
        predicted[:count],
        data.num_classes,
        run.file("segmentation.png"),
        title=f"{split} split: pixel accuracy {metrics['pixel_accuracy']:.3f}, "
        f"mean IoU {metrics['mean_iou']:.3f}",
    )
    return metrics, images[:16]


# === Save and export ===


def save_and_export(model, encoder, samples, config, run, *, export=True):
    """`model.keras`, `encoder.keras` and the checked `encoder_serving/` (U-Net:
    `serving/`). Returns the export report."""
    from kerasvision.export import export_encoder

    run.save_model(model)
    if encoder is not None:
        run.save_model(encoder, "encoder.keras")
    if not export:
        return None
    segmentation = config.task == "segmentation"
    target, folder, output = (
        (model, "serving", "probabilities")
        if segmentation
        else (encoder, "encoder_serving", "latent")
    )
    report = export_encoder(
        target, run.file(folder), sample_images=samples, output=output
    )
    report["path"] = os.path.join(run.final_dir, folder)
    return report


# === One call ===


def run_autoencoder(
    data,
    config,
    *,
    output=None,
    overwrite=False,
    export=True,
    verbose="auto",
    log=None,
    split=None,
):
    """Train an autoencoder-family run (`kerasvision.fit`, `fit_autoencoder`)
    for a resolved config with a seed."""
    import keras

    from kerasvision._keras_internals import op_determinism
    from kerasvision.models.autoencoders import extract_encoder
    from kerasvision.runs import DEFAULT_RUNS_DIR, RunWriter, default_run_name
    from kerasvision.training.compile import compile_autoencoder
    from kerasvision.training.results import AutoencoderResult

    log = log or _stderr
    with op_determinism(True):
        keras.utils.set_random_seed(config.seed)
        data_obj = load_data(data, config, split_record=split)
        output = output or os.path.join(
            DEFAULT_RUNS_DIR, default_run_name(config.task, data_obj.source)
        )
        run = RunWriter.plan(
            output, overwrite=overwrite, data_dir=data_obj.source.get("path")
        )
        model = compile_autoencoder(
            build_model(config, data_obj), config.task, config.lr
        )
        encoder = feature_layer = None
        if config.task != "segmentation":
            encoder, feature_layer = extract_encoder(model)
        run.open(checkpoints=False)
        log(f"run directory: {run.final_dir} (in progress at {run.path})")
        with run:
            record(run, config, data_obj, model, encoder, feature_layer)
            history, epoch_seconds, seconds = train(
                model, data_obj, config, run, log=log, verbose=verbose
            )
            metrics, samples = evaluate(model, encoder, data_obj, config, run)
            report = save_and_export(
                model, encoder, samples, config, run, export=export
            )
            run.record(
                status="complete",
                finished=datetime.datetime.now().isoformat(timespec="seconds"),
                epochs_trained=len(history.get("loss", [])),
                train_seconds=round(seconds, 3),
                epoch_seconds=[round(s, 3) for s in epoch_seconds],
                metrics={
                    k: v for k, v in metrics.items() if not isinstance(v, dict | list)
                },
                export=report,
            )
            run.publish()
    log(f"run written to {run.final_dir}")
    return AutoencoderResult(
        run_dir=run.final_dir,
        metrics=metrics,
        history=history,
        model=model,
        encoder=encoder,
        data=data_obj,
        export=report,
        config=config,
    )
