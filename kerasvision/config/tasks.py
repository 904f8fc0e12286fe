"""The task registry: what `fit --task NAME` trains, as plain data.

A task names its family (what trains it: the classifier steps or the
autoencoder steps), the defaults that depend on it, and a one-line
description. Adding a task is one entry here plus the code of its family;
options declare the tasks they apply to by family or by name
(`kerasvision.config.options.Option.tasks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kerasvision._registry import by_name, lookup

__all__ = ["TASKS", "Task", "get_task", "task_names", "tasks_of"]

#: Families: which training steps a task runs.
FAMILIES = ("classifier", "autoencoder")


@dataclass(frozen=True)
class Task:
    """One `--task`.

    Attributes:
        name: The `--task` value.
        family: "classifier" (`kerasvision.training.classifier`) or
            "autoencoder" (`kerasvision.training.autoencoder`).
        description: One line for help texts.
        defaults: Option defaults of this task (a field left at None takes
            them in `FitConfig.resolved()`).
        headline: The `metrics.json` entry that tells how good a run is
            (higher is better), e.g. in `kerasvision runs`.
        multi_label: Each image has a set of labels (classifier family):
            multi-hot targets, binary cross-entropy, a decision threshold per
            label, multi-label metrics and exports. Defaults to False.
        activation: The `classifier_activation` every classifier builder gets
            (`kerasvision.models.heads.classifier_units`): None (softmax, or one
            sigmoid unit for 2 classes) or "multilabel" (one sigmoid unit per
            label). Defaults to None.
    """

    name: str
    family: str
    description: str
    defaults: Any = field(default_factory=dict)
    headline: str = "accuracy"
    multi_label: bool = False
    activation: str | None = None

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"task family must be one of {FAMILIES}")
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))


#: name -> task; the first is the default.
TASKS: dict[str, Task] = by_name(
    Task(
        "classification",
        "classifier",
        "one class per image (softmax)",
        {"epochs": 15, "model": "bipyramidal_cnn"},
    ),
    Task(
        "multilabel",
        "classifier",
        "a set of labels per image (one sigmoid per label); CSV with "
        "--label-delim, or (x, Y) arrays",
        {"epochs": 15, "model": "bipyramidal_cnn"},
        headline="map",
        multi_label=True,
        activation="multilabel",
    ),
    Task(
        "autoencoder",
        "autoencoder",
        "reconstruct the image",
        {"epochs": 10},
        headline="psnr",
    ),
    Task(
        "denoising",
        "autoencoder",
        "reconstruct the clean image from a corrupted one",
        {"epochs": 10, "noise": "gaussian=0.3"},
        headline="psnr",
    ),
    Task(
        "sparse",
        "autoencoder",
        "autoencoder with a sparse code",
        {"epochs": 10},
        headline="psnr",
    ),
    Task(
        "vae",
        "autoencoder",
        "variational autoencoder",
        {"epochs": 10, "latent_dim": 2},
        headline="psnr",
    ),
    Task(
        "segmentation",
        "autoencoder",
        "a class per pixel (U-Net on image/mask folders)",
        {"epochs": 10},
        headline="mean_iou",
    ),
)


def get_task(name: str) -> Task:
    """The registered task `name` (a `ValueError` naming the choices)."""
    return lookup(TASKS, name, "task must be one of {names}, got {name!r}")


def task_names() -> tuple[str, ...]:
    return tuple(TASKS)


def tasks_of(selector) -> tuple[str, ...]:
    """Task names a selector means: a family name, a task name or a tuple of
    task names; None means every task."""
    if selector is None:
        return task_names()
    if isinstance(selector, str):
        if selector in FAMILIES:
            return tuple(n for n, t in TASKS.items() if t.family == selector)
        return (selector,)
    return tuple(selector)
