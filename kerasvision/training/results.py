"""What training returns, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AutoencoderResult", "FitResult", "TrainingError"]


class TrainingError(RuntimeError):
    """Training could not finish (e.g. the loss became NaN)."""


@dataclass
class FitResult:
    """What `fit` returns for a classifier.

    Attributes:
        run_dir: The finished run directory.
        metrics: Test (else validation) metrics, see `compute_metrics`.
        history: Per-epoch values, `{"loss": [...], "val_accuracy": [...], ...}`.
        epoch_seconds: Wall time of each epoch trained in this call.
        train_epoch_seconds: The training pass of each epoch, without validation.
        model: The trained Keras model.
        data: The `ImageData` used.
        export: The export report (None when export was off).
        distribution: `fit(distribute=...)`'s strategy and this process's role
            (`kerasvision.distribute.Distribution.summary()`); on a non-chief
            worker `run_dir` is None (its temporary run folder is deleted).
        config: The resolved `FitConfig` the run recorded.
    """

    run_dir: str | None
    metrics: dict
    history: dict
    epoch_seconds: list = field(default_factory=list)
    train_epoch_seconds: list = field(default_factory=list)
    model: object = None
    data: object = None
    export: dict | None = None
    distribution: dict | None = None
    config: object = None

    @property
    def test_accuracy(self) -> float:
        return self.metrics.get("accuracy", float("nan"))

    def summary(self) -> str:
        """One line: the evaluation split's headline metrics, and where the
        splits came from when the data gave them (a folder or a table)."""
        line = summarize_metrics(self.metrics)
        given_source = getattr(self.data, "given_source", None)
        split = self.metrics.get("split", "test")
        where = given_source(split) if given_source is not None else None
        if where:
            origin = self.data.split_source
            line += (
                f" on {where} (train: {origin['train']}; validation: {origin['val']})"
            )
        return line


@dataclass
class AutoencoderResult:
    """What `fit` returns for the autoencoder and segmentation tasks.

    Attributes:
        run_dir: The finished run directory.
        metrics: Held-out metrics (see `fit_autoencoder`).
        history: Per-epoch values, `{"loss": [...], "val_loss": [...], ...}`.
        model: The trained Keras model.
        encoder: The encoder taking raw 0-255 pixels (None for segmentation).
        data: The `ImageData` or `SegmentationData` used.
        export: The export report (None when export was off).
        config: The resolved `FitConfig` the run recorded.
    """

    run_dir: str
    metrics: dict
    history: dict
    model: object = None
    encoder: object = None
    data: object = None
    export: dict | None = None
    config: object = None
    distribution: dict | None = None

    def summary(self) -> str:
        """One line: the evaluation split's headline metrics."""
        return summarize_metrics(self.metrics)


_SHOWN = (
    "psnr",
    "ssim",
    "mse",
    "noisy_psnr",
    "psnr_gain",
    "elbo",
    "pixel_accuracy",
    "mean_iou",
)


def summarize_metrics(metrics: dict) -> str:
    """ "test accuracy: 0.9833 (179 images, loss 0.0612)", or the autoencoder
    task's figures ("test split: psnr 21.3, ssim 0.81, ...")."""
    split = metrics.get("split", "test")
    if "map" in metrics:  # a multi-label run
        return (
            f"{split} mAP: {metrics['map']:.4f}, micro-F1 {metrics['micro_f1']:.4f}, "
            f"subset accuracy {metrics['subset_accuracy']:.4f} ({metrics['count']} "
            f"images, loss {metrics['loss']:.4f})"
        )
    if "accuracy" in metrics:
        return (
            f"{split} accuracy: {metrics['accuracy']:.4f} "
            f"({metrics['count']} images, loss {metrics['loss']:.4f})"
        )
    values = ", ".join(
        f"{name} {metrics[name]:.4f}" for name in _SHOWN if name in metrics
    )
    return f"{split} split: {values}"
