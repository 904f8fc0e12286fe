"""`fit` (the one-call API), `--resume`, `rerun`, and distributed runs."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING

from kerasvision.config import FitConfig, options_doc

if TYPE_CHECKING:
    from kerasvision.training.lr_find import LrFindResult

__all__ = ["fit", "fit_distributed", "lr_find", "rerun", "resume_run"]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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
            output, verbose=verbose, log=log, distribute=options.get("distribute")
        )
    if config is None:
        if isinstance(data, str | os.PathLike):
            options.setdefault("data", os.fspath(data))
        config = FitConfig.from_options(**options)
    elif options:
        raise ValueError("give either config or keyword options, not both")
    config = config.resolved().with_seed()
    kwargs = {"output": output, "overwrite": overwrite, "export": export}
    if config.task != "classification":
        from kerasvision.training.autoencoder import run_autoencoder

        return run_autoencoder(data, config, verbose=verbose, log=log, **kwargs)
    return fit_distributed(data, config, verbose=verbose, log=log, **kwargs)


fit.__doc__ = fit.__doc__.replace("{options}", options_doc(FitConfig, indent=16))


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


def _fit_on_worker(data, config, distribution, resume, *, output, **kwargs):
    """A non-chief worker: the same steps as the chief, in a deleted scratch folder.

    Collective ops (gradient all-reduce, variable broadcast, metric reduction) need
    every worker at every step, so the worker runs the whole run too, but only
    the chief's run directory is kept. On `--resume` the worker starts from the
    chief's checkpoint (read at the same `output` path).
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


def resume_run(output=None, *, verbose="auto", log=None, distribute=None):
    """Continue the interrupted run at `output` (or the latest in saved_models/).

    Raises:
        ValueError: If there is nothing to resume, or the run was trained on
            in-memory arrays.
    """
    from kerasvision.config import FitConfig
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
    except BaseException:
        writer.close()
        raise
    data = source["path"] if source["kind"] == "folder" else None
    return fit_distributed(
        data,
        config,
        resume=writer,
        output=writer.final_dir,
        export=True,
        verbose=verbose,
        log=log or _stderr,
    )


def rerun(run_dir, *, output=None, overwrite: bool = False, verbose="auto", log=None):
    """Train again from a finished run's recorded config (`run.json`).

    Same seed, same data, same options: on CPU the new run reproduces the old
    one (weights and metrics).

    Args:
        run_dir: A finished run directory.
        output: The new run's directory. Defaults to None (a new name in
            `saved_models/`).
        overwrite: Replace a finished run at `output`. Defaults to False.
        verbose: See `fit`. Defaults to "auto".
        log: Receives progress lines. Defaults to None (stderr).

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
    from kerasvision.runs import load_run

    run = load_run(run_dir)
    if run.kind == "ensemble":
        raise ValueError(f"{run.path} is an ensemble; rerun its members instead")
    config = FitConfig.from_json(run.info["arguments"])
    source = run.info["data"]["source"]
    if source["kind"] == "arrays":
        raise ValueError(
            f"{run.path} was trained on in-memory arrays, which a rerun cannot read "
            f"back; call kerasvision.fit with the arrays and this run's options"
        )
    folders = ("folder", "segmentation_folder")
    data = source.get("path") if source["kind"] in folders else None
    if data is not None and not os.path.isdir(data):
        raise FileNotFoundError(f"the data folder of {run.path} is gone: {data}")
    return fit(
        data,
        config=config,
        output=output,
        overwrite=overwrite,
        verbose=verbose,
        log=log,
    )


def lr_find(data=None, *, output: str = "lr_find.png", **options) -> LrFindResult:
    """`kerasvision lr-find`: load and build like `fit`, sweep, plot; no run.

    Args:
        data: As `fit`'s `data`. Defaults to None (a built-in dataset).
        output: The PNG of smoothed loss vs learning rate. Defaults to
            "lr_find.png".
        **options: `fit`'s data and model options (`FitConfig`).

    Returns:
        An `LrFindResult` (its `plot` is `output`).

    Example:
        >>> result = lr_find(dataset="digits", seed=0, output="/tmp/lr.png")
        >>> result.suggested
    """
    from kerasvision.config import FitConfig
    from kerasvision.training.classifier import (
        build_model,
        load_data,
        resolve_backbone,
        seeded,
    )

    if isinstance(data, str | os.PathLike):
        options.setdefault("data", os.fspath(data))
    options.pop("lr", None)
    config = FitConfig.from_options(**options).resolved().with_seed()
    if config.task != "classification":
        raise ValueError("lr-find is for classifiers (--task classification)")
    from kerasvision.training.lr_find import choose_lr

    with seeded(config):
        backbone = resolve_backbone(config)
        image_data = load_data(data, config, backbone=backbone)
        model = build_model(config, image_data, backbone=backbone)
        return choose_lr(model, image_data, config, plot=output)
