"""Fine-tuning never ends below its own warm-up: keep the better of the two.

On a few hundred images, fine-tuning a backbone's top blocks can end worse on
validation than the head it started from (the issue's 245-photo set: 0.948 with
feature extraction, 0.922 fine-tuned). The warm-up phase's model is saved when
that phase ends (`checkpoints/warmup.weights.h5`, so a resumed run has it too);
after the last phase both models are scored on the validation split and the
warm-up head is kept only when it classifies more validation images correctly
(`keeps_warm_up`); at equal accuracy the fine-tuned model, the one asked for,
stays. The choice is printed and recorded in `run.json` ("fine_tune_choice");
with no validation split nothing is chosen. When the warm-up is kept, the
fine-tuned weights stay in the run (`checkpoints/fine_tuned.weights.h5`):
nothing trained is thrown away.

Why accuracy and not the validation loss (the first rule): fine-tuned models
are more confident, so their loss can be higher while they are right more often,
and the run fits a temperature to the kept model's probabilities afterwards
anyway. `benchmarks/fine_tune.py` scores both candidates of every run on
held-out photos: over 10 two-class flowers5 subsets the loss rule kept the head
in 3 runs where the fine-tuned model was level or better on validation
accuracy and 0.9-1.6 points better held out; on all five classes it kept the
head at equal validation accuracy, 3.2 points below the fine-tuned model
(0.8818 vs 0.9138). Over the 11 runs the accuracy rule loses nowhere to the
loss rule (small subsets: FT - FE mean +0.0046 instead of +0.0010).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

__all__ = [
    "FINE_TUNED_WEIGHTS",
    "WARMUP_WEIGHTS",
    "keep_better_of_warmup",
    "keeps_warm_up",
    "load_model_weights",
    "save_warmup",
]

#: Where the warm-up phase's weights are kept inside the run.
WARMUP_WEIGHTS = ("checkpoints", "warmup.weights.h5")
#: Where the fine-tuned weights are kept when the warm-up model wins.
FINE_TUNED_WEIGHTS = ("checkpoints", "fine_tuned.weights.h5")


def save_warmup(model, run) -> str:
    """Save the model's weights at the end of the warm-up phase."""
    return _save_weights(model, run, WARMUP_WEIGHTS)


def _save_weights(model, run, where) -> str:
    from kerasvision._files import staged_file

    path = run.file(*where)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with staged_file(path, suffix=".weights.h5", prefix=".tmp-") as staging:
        model.save_weights(staging)
    return path


def _validation_scores(model, data) -> dict:
    if getattr(data, "multi_label", False):  # a sigmoid per label
        return _label_scores(model, data)
    from kerasvision.evaluation import (
        as_probability_matrix,
        negative_log_likelihood,
        predict_probabilities,
    )

    images = data.dataset("val", batch_size=64, shuffle=False, include_labels=False)
    probabilities = as_probability_matrix(predict_probabilities(model, images))
    labels = np.asarray(data.splits["val"].labels)
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == labels))
    return {
        "val_loss": round(negative_log_likelihood(probabilities, labels), 6),
        "val_accuracy": round(accuracy, 6),
    }


def _label_scores(model, data) -> dict:
    """A multi-label model's validation binary cross-entropy and per-slot
    accuracy at 0.5 (what Keras reports as its loss and accuracy)."""
    from kerasvision.evaluation_multilabel import binary_losses, split_probabilities

    probabilities = split_probabilities(model, data, "val")
    targets = np.asarray(data.splits["val"].targets) > 0.5
    accuracy = float(np.mean((probabilities >= 0.5) == targets))
    return {
        "val_loss": round(float(binary_losses(probabilities, targets).mean()), 6),
        "val_accuracy": round(accuracy, 6),
    }


def load_model_weights(model, path) -> None:
    """`model.load_weights(path)` for the model's weights only: the file may
    hold another phase's optimizer, which Keras skips with a warning a user
    need not read."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        model.load_weights(path)


def keeps_warm_up(warm: dict, tuned: dict) -> bool:
    """Whether the warm-up head beats the fine-tuned model, given both
    validation scores (`{"val_loss", "val_accuracy"}`): only by being right on
    more validation images (per label slot for multi-label runs)."""
    return warm["val_accuracy"] > tuned["val_accuracy"]


def keep_better_of_warmup(model, data, run, *, log=None) -> dict | None:
    """Score the fine-tuned model and the saved warm-up model on validation and
    leave `model` holding the better one (`keeps_warm_up`).

    Args:
        model: The fine-tuned classifier (its weights may be replaced).
        data: The run's `ImageData`.
        run: The open `RunWriter` (its `checkpoints/warmup.weights.h5`).
        log: Receives the decision line. Defaults to None (silent).

    Returns:
        The record (both scores and "kept": "fine-tuned" or "warm-up"), or
        None when there is no warm-up model or no validation split.
    """
    path = run.file(*WARMUP_WEIGHTS)
    if not os.path.isfile(path) or not len(data.splits["val"]):
        return None
    tuned = _validation_scores(model, data)
    weights = model.get_weights()
    load_model_weights(model, path)
    warm = _validation_scores(model, data)
    kept = "warm-up" if keeps_warm_up(warm, tuned) else "fine-tuned"
    record = {"fine_tuned": tuned, "warm_up": warm, "kept": kept}
    if kept == "warm-up":  # keep the fine-tuned weights beside it, in the run
        warm_weights = model.get_weights()
        model.set_weights(weights)
        _save_weights(model, run, FINE_TUNED_WEIGHTS)
        record["fine_tuned_weights"] = "/".join(FINE_TUNED_WEIGHTS)
        weights = warm_weights
    model.set_weights(weights)
    if log is not None:
        log(choice_line(record))
    return record


def choice_line(record: dict) -> str:
    """The decision in words, from `keep_better_of_warmup`'s record (run.json
    "fine_tune_choice"): what the run prints and its report shows."""
    tuned, warm, kept = record["fine_tuned"], record["warm_up"], record["kept"]
    why = ""
    if kept == "warm-up":
        why = (" (it is right on more validation images; the fine-tuned "
               f"weights are in {record['fine_tuned_weights']})")  # fmt: skip
    return (
        f"fine-tuned: val_loss {tuned['val_loss']:.4f}, accuracy "
        f"{tuned['val_accuracy']:.4f}; warm-up head alone: val_loss "
        f"{warm['val_loss']:.4f}, accuracy {warm['val_accuracy']:.4f}; keeping "
        f"the {kept} model{why}"
    )
