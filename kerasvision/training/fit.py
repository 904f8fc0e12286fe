"""`fit` (the one-call API), `--resume`, `rerun`, and distributed runs."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING

from kerasvision.config import FitConfig, options_doc
from kerasvision.progress import stderr_line

if TYPE_CHECKING:
    from kerasvision.training.lr_find import LrFindResult

__all__ = [
    "fit",
    "fit_autoencoder",
    "fit_distributed",
    "lr_find",
    "rerun",
    "resume_run",
]


_stderr = stderr_line


def fit(
    data=None,
    *,
    config=None,
    output=None,
    overwrite: bool = False,
    resume: bool = False,
    export: bool = True,
    verbose="auto",
    log=None,
    split=None,
    track=None,
    started=None,
    stop_after=None,
    **options,
):
    """Train a CNN (or an autoencoder) on a folder, arrays or a built-in dataset.

        Writes a complete run directory: `model.keras`, `serving/` (SavedModel,
        checked against `predict`), `labels.txt`, `history.csv`, `metrics.json`,
        `confusion_matrix.png`, `curves.png`, `splits/*.txt`, `bad_files.txt` (if
        any), `checkpoints/best.keras` and `run.json`. The options are validated all
        at once (`kerasvision.FitConfig`) before any work: an option that means
        nothing for the task, or without a backbone, is an error naming it.

        The steps are public: `kerasvision.training.classifier` (`load_data`,
        `build_model`, `record`, `train`, `evaluate`, `save_and_export`) and
        `kerasvision.training.autoencoder`.

        Args:
            data: Folder-per-class directory, `(x, y)` arrays, or an `ImageData`
                (segmentation: a segmentation folder or `(images, masks)`). Defaults
                to None (a built-in dataset).
            config: A `FitConfig`, instead of keyword options. Defaults to None.
            output: Run directory. Defaults to None
                (`saved_models/<model>-<data>-<timestamp>`).
            overwrite: Replace a finished kerasvision run at `output` (nothing else
                is ever replaced). Defaults to False.
            resume: Continue the interrupted run at `output` (or the latest one in
                `saved_models/`) from its last epoch checkpoint; every option comes
                from that run (only `distribute` may be given). Defaults to False.
            export: Export and check the SavedModel. Defaults to True.
            verbose: "auto" (progress bar on a TTY, one line per epoch otherwise), 0,
                1 or 2. Defaults to "auto".
            log: Function receiving progress lines. Defaults to None (stderr).
            split: A recorded split (`run.json`'s "split") to train on instead of
                splitting the data anew, as `rerun` does: the split then depends
                on nothing installed (e.g. imagehash's near-duplicate grouping).
                Defaults to None.
            track: Log the run to an experiment tracker: "mlflow" (at
                `MLFLOW_TRACKING_URI`, else a local `./mlruns` store) or
                "mlflow:URI" (`kerasvision.tracking`; classification runs). An
                unreachable server is one warning line. Defaults to None.
            started: When the wait began, as `time.time()`: `time_budget` counts
                from here (the command line passes its process start, so the
                budget bounds the whole command). Defaults to None (this call).
            stop_after: Stop after this many epochs in all, where a recorded
                run's time budget stopped it early (`rerun` passes run.json's
                "time_budget" "stopped_after_epoch"; classifier tasks).
                Defaults to None.
            **options: The `FitConfig` options (`kerasvision.config.sections`):
    {options}

        Returns:
            A `FitResult` (an `AutoencoderResult` for the autoencoder tasks).

        Raises:
            ValueError: On invalid options or data.
            FileNotFoundError: If the data folder does not exist.
            TrainingError: If the loss becomes NaN, or (multiworker) another worker
                stops.
            kerasvision.export.ExportError: If the export fails its parity check.

        Example:
            >>> result = kerasvision.fit(dataset="digits", epochs=5, seed=0)
            >>> result.metrics["accuracy"]
    """
    log = log or _stderr
    if resume:
        extra = sorted(set(options) - {"distribute"})
        if extra or data is not None or config is not None:
            given = ", ".join(["data"] * (data is not None) + extra)
            raise ValueError(
                f"--resume takes every option from the run; drop {given or 'config'}"
            )
        return resume_run(
            output, verbose=verbose, log=log, distribute=options.get("distribute"),
            track=track,
        )  # fmt: skip
    if config is None:
        if isinstance(data, str | os.PathLike):
            options.setdefault("data", os.fspath(data))
        config = FitConfig.from_options(**options)
    elif options:
        raise ValueError("give either config or keyword options, not both")
    config = config.resolved().with_seed()
    kwargs = {"output": output, "overwrite": overwrite, "export": export}
    if split is not None:
        kwargs["split"] = split
    if started is not None and config.family == "classifier":
        kwargs["started"] = started
    if stop_after is not None and config.family == "classifier":
        kwargs["stop_after"] = stop_after
    if config.family != "classifier":
        if track is not None:
            raise ValueError("--track only applies to the classifier tasks")
        from kerasvision.training.autoencoder import run_autoencoder

        return run_autoencoder(data, config, verbose=verbose, log=log, **kwargs)
    from kerasvision.tracking import open_tracker, tracking

    tracker = open_tracker(track, log=log) if track is not None else None
    with tracking(tracker):
        return fit_distributed(
            data, config, verbose=verbose, log=log, tracker=tracker, **kwargs
        )


fit.__doc__ = fit.__doc__.replace("{options}", options_doc(FitConfig, indent=16))


def fit_autoencoder(data=None, *, config=None, **options):
    """Train an autoencoder (or a U-Net) and write a complete run directory.

    Tasks (`task=`):
    - "autoencoder": `build_conv_autoencoder`, MSE on 0-1 pixels.
    - "denoising": the same with a training-only noise layer before the encoder
      (`noise`, default "gaussian=0.3"); trained to output the clean image.
    - "sparse": the same with an L1 activity penalty on the code (default factor
      1e-4; or `model_kwargs={"sparsity": ...}` / `{"k_sparse": k}`).
    - "vae": `build_vae` (default `latent_dim` 2), reconstruction + beta * KL.
    - "segmentation": `build_unet` on a segmentation folder (see
      `load_segmentation_folder`) or `(images, masks)` arrays; per-pixel
      cross-entropy.

    Labels of folder-per-class data and built-in datasets are not used for
    training; they only colour the latent scatter plot.

    metrics.json holds, on the test split (else val, else train): `mse`, `psnr`,
    `ssim` of the reconstructions (0-1 images; for "denoising" the outputs for
    noisy inputs, with `noisy_mse`, `noisy_psnr`, `noisy_ssim` of the noisy inputs
    and `psnr_gain`), `code_zero_fraction`/`code_mean_abs`; for "vae" also
    `reconstruction_loss`, `kl_loss`, `loss` and `elbo` (per image, sampled
    codes); for "segmentation" `pixel_accuracy`, `mean_iou` and per-class `iou`.

    Args:
        data: Folder-per-class directory, `(x, y)` arrays or an `ImageData`; for
            "segmentation" a segmentation folder, `(images, masks)` arrays or a
            `SegmentationData`. Defaults to None (a built-in dataset).
        config: A `FitConfig` (then `options` holds only `kerasvision.fit`'s
            run arguments). Defaults to None.
        **options: `kerasvision.fit`'s run arguments — `output` (default
            `saved_models/<task>-<data>-<timestamp>`), `overwrite`, `export`
            (write and check `encoder_serving/`, `serving/` for segmentation),
            `verbose`, `log` — and `FitConfig` options: `task` (default "autoencoder"),
            `dataset`, `latent_dim`, `noise`, `image_size`, `channels`, `epochs`
            (default 10), `batch_size`, `lr`, `val_split`, `test_split`, `seed`,
            `model_kwargs` (filters, downsample, upsample, batch_norm, sparsity,
            k_sparse, beta...; `architecture="dense"`).

    Returns:
        An `AutoencoderResult`.

    Raises:
        ValueError: On invalid arguments or data.
        FileNotFoundError: If the data folder does not exist.
        kerasvision.training.TrainingError: If the loss becomes NaN.
        kerasvision.export.ExportError: If the export fails its parity check.

    Example:
        >>> result = fit_autoencoder(dataset="digits", task="denoising", epochs=20)
        >>> result.metrics["psnr_gain"]
    """
    from kerasvision.config.tasks import get_task

    task = (
        config.task if config is not None else options.setdefault("task", "autoencoder")
    )
    if get_task(task).family == "classifier":
        raise ValueError("fit_autoencoder needs an autoencoder task (task=...)")
    return fit(data, config=config, **options)


def fit_distributed(data, config, *, resume=None, **kwargs):
    """`fit_classifier` under the run's dtype policy and distribution strategy.

    The strategy is created first: `MultiWorkerMirroredStrategy` must exist
    before TensorFlow runs any operation in the process. The global dtype policy
    is restored afterwards.
    """
    import keras

    from kerasvision.distribute import make_distribution
    from kerasvision.training.classifier import fit_classifier

    distribution = make_distribution(config.distribute)
    if (
        distribution.strategy is not None
        and config.batch_size < distribution.num_replicas
    ):
        raise ValueError(
            f"batch_size {config.batch_size} is the global batch and must be at "
            f"least the number of replicas ({distribution.num_replicas})"
        )
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        if distribution.is_chief:
            return fit_classifier(
                data, config, distribution=distribution, resume=resume, **kwargs
            )
        return _fit_on_worker(data, config, distribution, resume, **kwargs)
    except Exception as error:
        if distribution.mode == "multiworker" and _lost_peer(error):
            from kerasvision.training.results import TrainingError

            task = distribution.task
            raise TrainingError(
                f"{task.task_type or 'worker'} {task.task_index} lost contact with "
                f"the other workers (one stopped or failed: see its output): "
                f"{_first_line(error)}"
            ) from error
        raise
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _first_line(error) -> str:
    """The telling line of a failed collective op (TF prints a whole trace)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    keys = ("aborted", "refused", "closed", "unavailable", "deadline", "cancel")
    telling = [line for line in lines if any(k in line.lower() for k in keys)]
    detail = (telling or lines or [""])[0]
    return f"{type(error).__name__}: {detail[:200]}"


def _lost_peer(error) -> bool:
    """A collective op failed because another worker went away."""
    import tensorflow as tf

    lost = (
        tf.errors.UnavailableError,
        tf.errors.AbortedError,
        tf.errors.CancelledError,
        tf.errors.DeadlineExceededError,
    )
    return isinstance(error, lost)


def _fit_on_worker(data, config, distribution, resume, *, output, tracker=None,
                   **kwargs):  # fmt: skip
    """A non-chief worker: the same steps as the chief, in a deleted scratch folder.

    Collective ops (gradient all-reduce, variable broadcast, metric reduction) need
    every worker at every step, so the worker runs the whole run too, but only
    the chief's run directory is kept (and only the chief logs to a tracker). On
    `--resume` the worker starts from the chief's checkpoint (read at the same
    `output` path).
    """
    from kerasvision.runs import RunWriter, partial_dir
    from kerasvision.training.classifier import fit_classifier

    task = distribution.task
    scratch = tempfile.mkdtemp(prefix=f"kerasvision-{task.task_type}{task.task_index}-")
    try:
        name = os.path.basename(os.path.abspath(os.fspath(output))) if output else "run"
        local = os.path.join(scratch, name)
        local_resume = None
        if resume is not None:
            resume.close()  # the chief holds the run; this worker only reads it
            chief, mine = partial_dir(resume.final_dir), partial_dir(local)
            # What resuming reads: the checkpoints, the record and the history.
            shutil.copytree(
                os.path.join(chief, "checkpoints"),
                os.path.join(mine, "checkpoints"),
                ignore=shutil.ignore_patterns(".*"),
            )
            for name in ("run.json", "history.csv"):
                if os.path.isfile(os.path.join(chief, name)):
                    shutil.copy2(os.path.join(chief, name), mine)
            local_resume = RunWriter.resume(local)
        kwargs["overwrite"] = True
        result = fit_classifier(
            data,
            config,
            distribution=distribution,
            resume=local_resume,
            output=local,
            **kwargs,
        )
        result.run_dir = None
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def resume_run(output=None, *, verbose="auto", log=None, distribute=None,
               track=None):  # fmt: skip
    """Continue the interrupted run at `output` (or the latest in saved_models/).

    A run that was tracked (`run.json`'s "tracking") goes on logging to the
    same MLflow run; `track` names a tracker for a run that was not (or
    another one).

    Raises:
        ValueError: If there is nothing to resume, or the run was trained on
            in-memory arrays.
    """
    from kerasvision.config import FitConfig
    from kerasvision.data.sources import fit_inputs
    from kerasvision.runs import RunWriter

    writer = RunWriter.resume(output)
    try:
        config = FitConfig.from_json(writer.info["arguments"])
        if distribute is not None:  # a resume may change the strategy
            config = config.replace(distribute=distribute)
        source = writer.info["data"]["source"]
        if source["kind"] == "arrays":
            raise ValueError(
                "--resume: runs on in-memory arrays cannot be resumed from disk"
            )
        data, changes = fit_inputs(source, writer.path)
        config = config.replace(**changes) if changes else config
        tracker = _resumed_tracker(writer.info.get("tracking"), track, log or _stderr)
    except BaseException:
        writer.close()
        raise
    from kerasvision.tracking import tracking

    with tracking(tracker):
        return fit_distributed(
            data,
            config,
            resume=writer,
            output=writer.final_dir,
            export=True,
            verbose=verbose,
            log=log or _stderr,
            tracker=tracker,
        )


def _resumed_tracker(recorded, track, log):
    """The tracker of a resumed run: `track`, else the one it recorded (which
    keeps logging to the recorded MLflow run), else None."""
    recorded = recorded if isinstance(recorded, dict) else None
    if track is None and recorded is not None and recorded.get("tracking_uri"):
        track = f"mlflow:{recorded['tracking_uri']}"
    if track is None:
        return None
    from kerasvision.tracking import open_tracker

    return open_tracker(track, log=log, resume=recorded)


def rerun(
    run_dir, *, output=None, overwrite: bool = False, verbose="auto", log=None,
    track=None,
):  # fmt: skip
    """Train again from a finished run's recorded config (`run.json`).

    Same seed, same data, same options, and the recorded split's files (not
    a split made anew, which could group near-duplicates differently with
    imagehash installed or not): on CPU the new run reproduces the old one
    (weights and metrics).

    Args:
        run_dir: A finished run directory.
        output: The new run's directory. Defaults to None (a new name in
            `saved_models/`).
        overwrite: Replace a finished run at `output`. Defaults to False.
        verbose: See `fit`. Defaults to "auto".
        log: Receives progress lines. Defaults to None (stderr).
        track: Log the new run to a tracker (see `fit`). Defaults to None.

    Returns:
        The `FitResult` / `AutoencoderResult` of the new run.

    Raises:
        ValueError: If the run was trained on in-memory arrays, or its data
            folder is gone.

    Example:
        >>> again = rerun("saved_models/digits-cnn", output="saved_models/again")
        >>> again.metrics["accuracy"]
    """
    from kerasvision.config import FitConfig
    from kerasvision.data.sources import fit_inputs
    from kerasvision.runs import load_run

    run = load_run(run_dir)
    if run.kind == "ensemble":
        raise ValueError(f"{run.path} is an ensemble; rerun its members instead")
    if not isinstance(run.info.get("arguments"), dict):
        raise ValueError(f"{run.path}/run.json records no arguments to rerun with")
    config = FitConfig.from_json(run.info["arguments"])
    source = run.info["data"].get("source") or {"kind": "arrays"}
    if source["kind"] == "arrays":
        raise ValueError(
            f"{run.path} was trained on in-memory arrays, which a rerun cannot read "
            f"back; call kerasvision.fit with the arrays and this run's options"
        )
    data, changes = fit_inputs(source, run.path)
    config = config.replace(**changes) if changes else config
    if data is not None and not os.path.isdir(data):
        raise FileNotFoundError(f"the data folder of {run.path} is gone: {data}")
    result = fit(
        data,
        config=config,
        output=output,
        overwrite=overwrite,
        verbose=verbose,
        log=log,
        split=run.info.get("split"),  # the same files, whatever is installed
        track=track,
        # where the time budget's guard stopped the run (`BudgetStop`)
        stop_after=(run.info.get("time_budget") or {}).get("stopped_after_epoch"),
    )
    if getattr(result, "data", None) is not None:
        from kerasvision.runs import data_change

        change = data_change(run, result.data)  # the rerun trained on other files
        if change:
            (log or _stderr)(change)
    return result


def lr_find(
    data=None, *, output: str = "lr_find.png", overwrite: bool = False, **options
) -> LrFindResult:
    """`kerasvision lr-find`: load and build like `fit`, sweep, plot; no run.

    Args:
        data: As `fit`'s `data`. Defaults to None (a built-in dataset).
        output: The PNG of smoothed loss vs learning rate. Defaults to
            "lr_find.png".
        overwrite: Replace an existing file at `output`. Defaults to False.
        **options: `fit`'s data and model options (`FitConfig`).

    Returns:
        An `LrFindResult` (its `plot` is `output`).

    Example:
        >>> result = lr_find(dataset="digits", seed=0, output="/tmp/lr.png")
        >>> result.suggested
    """
    from kerasvision._files import check_output_file
    from kerasvision.config import FitConfig
    from kerasvision.training.classifier import (
        build_model,
        load_data,
        resolve_backbone,
        seeded,
    )

    if isinstance(data, str | os.PathLike):
        options.setdefault("data", os.fspath(data))
    check_output_file(output, overwrite=overwrite, data_dir=options.get("data"))
    options.pop("lr", None)
    config = FitConfig.from_options(**options).resolved().with_seed()
    if config.family != "classifier":
        raise ValueError("lr-find is for classifiers (classification, multilabel)")
    from kerasvision.training.lr_find import choose_lr

    with seeded(config):
        backbone = resolve_backbone(config)
        image_data = load_data(data, config, backbone=backbone)
        model = build_model(config, image_data, backbone=backbone)
        return choose_lr(model, image_data, config, plot=output)
