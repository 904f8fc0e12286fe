"""The training-recipe registry: defaults, phases and caching rules, as data.

A recipe is what a run's options select (scratch CNN, a frozen backbone's
head, fine-tuning, an autoencoder): its option defaults (measured, figures in
`benchmarks/README.md`), its training phases, whether a frozen backbone's
features may be cached, and the cap on its default epochs for large training
sets. Options declare which recipes they apply to (`Option.recipes`), so the
options a recipe takes are derived (`recipe_options`). Adding a recipe is one
entry here plus, where its phases are new, their code in
`kerasvision.training.phases`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kerasvision._registry import by_name, lookup

__all__ = [
    "PREVIOUS_SCRATCH_ARCHITECTURE",
    "RECIPES",
    "SCRATCH_ARCHITECTURES",
    "PhaseSpec",
    "Recipe",
    "get_recipe",
    "select_recipe",
]


@dataclass(frozen=True)
class PhaseSpec:
    """One `model.fit` call of a recipe.

    Attributes:
        name: "train", "head", "warm-up" or "fine-tune".
        epochs: The option giving its epochs ("epochs" or "warmup_epochs").
        lr: The option giving its learning rate ("lr" or "fine_tune_lr").
        trainable: None (the whole model), False (the backbone frozen: its
            features may be cached) or "unfreeze" (the `--unfreeze` part of the
            backbone trains: the activations of the frozen rest may be cached).
    """

    name: str
    epochs: str = "epochs"
    lr: str = "lr"
    trainable: Any = None


@dataclass(frozen=True)
class Recipe:
    """One training recipe.

    Attributes:
        name: The recipe's name (recorded in run.json, used by `Option.recipes`).
        family: The task family it trains ("classifier" or "autoencoder").
        backbone: Whether it needs `--backbone` (None: not for this family).
        mode: The `--mode` that selects it (transfer recipes), else None.
        defaults: Option defaults (a field left at None takes them).
        phases: Its training phases, in order.
        epoch_cap: `{"images": N, "min_epochs": M, "seconds": S}`: without
            `--epochs`, a training set whose default epochs would show more than
            N images trains for as many epochs as end training, evaluation and
            export within S seconds on the machine (measured over the first
            steps, as `--time-budget` does, and recorded so a rerun repeats
            them), at least the epochs that show N images and never fewer than
            M. None: the default epochs whatever the data size.
        architectures: `(smallest input side, model_kwargs)` rows, largest
            side first: the default model's builder arguments by input size
            (the first row the input's smaller side reaches). Arguments the
            user gives win; `norm` and `batch_norm` count as one. Empty: the
            builder's own defaults.
        lr_steps: None, or the number of optimizer steps of the first phase up
            to which the default peak rate `defaults["lr"]` holds; a longer
            first phase (a larger training set) peaks at `lr * lr_steps /
            steps`, so the rate summed over the phase stays the same (without
            `--lr`; resolved once the training set's size is known and
            recorded, so a rerun repeats it).
        description: One line for help texts.
    """

    name: str
    family: str
    backbone: bool | None
    mode: str | None
    defaults: Any
    phases: tuple[PhaseSpec, ...] = ()
    epoch_cap: Any = None
    architectures: tuple = ()
    lr_steps: int | None = None
    description: str = ""

    def default_lr(self, lr: float, steps: int) -> float:
        """The default peak rate `lr` of a first phase of `steps` optimizer
        steps (`lr_steps`), rounded to 2 significant digits."""
        if not self.lr_steps or steps <= self.lr_steps:
            return lr
        return float(f"{lr * self.lr_steps / steps:.2g}")

    def architecture(self, input_shape, given: dict) -> dict:
        """The default model's arguments for `input_shape` (`architectures`),
        under the arguments the user `given`."""
        side = min(int(input_shape[0]), int(input_shape[1]))
        row = next((kw for least, kw in self.architectures if side >= least), {})
        row = dict(row)
        if "norm" in given or "batch_norm" in given:
            row.pop("norm", None)
        return {**row, **given}

    def __post_init__(self):
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        if self.epoch_cap is not None:
            object.__setattr__(
                self, "epoch_cap", MappingProxyType(dict(self.epoch_cap))
            )

    @property
    def requirement(self) -> str:
        """How a command line selects this recipe, for error messages."""
        if self.backbone is None:
            return "to the autoencoder tasks"
        if not self.backbone:
            return "without --backbone (scratch models)"
        if self.mode == "fine-tune":
            return "with --backbone --mode fine-tune"
        return "with --backbone (transfer learning)"


#: The scratch recipe's `bipyramidal_cnn` by input size (`benchmarks/scratch.py`,
#: one run, defaults as typed, held-out accuracy and fit's wall time). From 48 px:
#: four blocks of one convolution each, followed by batch normalization; against
#: the builder's defaults (the lectures' three blocks of two convolutions, no
#: normalization) on flowers5 0.8079 in 143 s vs 0.7709 in 194 s at 64 px and
#: 0.7906 in 95 s vs 0.7512 in 111 s at 48 px. Below 48 px the builder's
#: defaults stay: level at 32 px (0.7537 vs 0.7562, 63 vs 65 s) and on digits
#: after the default 15 epochs (0.9888 both), better for short runs on digits
#: (5 epochs at 8 / 16 px: 0.978 / 0.983 vs 0.961 / 0.916).
SCRATCH_ARCHITECTURES = (
    (48, {"filters": (32, 64, 128, 256), "convs_per_block": 1, "norm": "batch"}),
    (0, {}),
)
#: The builder defaults the scratch recipe used before `SCRATCH_ARCHITECTURES`
#: (config_version 3 and earlier): what their records rebuild.
PREVIOUS_SCRATCH_ARCHITECTURE = {"filters": (32, 64, 128), "convs_per_block": 2}

#: name -> recipe. Defaults chosen by measurement (`benchmarks/recipes.py`):
#: `schedule` is each phase's learning-rate curve after a linear warm-up over
#: the `lr_warmup` fraction of its steps; `lr_mult` the learning rate of the
#: earliest fine-tuned backbone layer relative to the head.
RECIPES: dict[str, Recipe] = by_name(
    # Scratch CNNs overfit small sets: label smoothing (label-agnostic, unlike
    # flips for digits) took digits from 0.966 to 0.994 (seed 0). On a large
    # training set the epochs are those that fit `epoch_cap["seconds"]`,
    # measured on the machine: Fashion-MNIST's 54,000 28x28 training images
    # took 40-46 s per epoch on 2 cores, so 13 epochs, 0.9436 in 578 s (row f
    # of benchmarks/recipes.py). Digits (1,437 training images) and flowers5
    # at 64 px (2,935) keep all 15.
    Recipe(
        "scratch",
        "classifier",
        backbone=False,
        mode=None,
        defaults={
            "lr": 1e-3,
            "schedule": "cosine",
            "lr_warmup": 0.05,
            "label_smoothing": 0.1,
        },
        phases=(PhaseSpec("train"),),
        epoch_cap={"images": 150_000, "min_epochs": 3, "seconds": 600},
        architectures=SCRATCH_ARCHITECTURES,
        description="a scratch CNN, every layer trained",
    ),
    # A frozen backbone's head (one dense layer on cached features), 15 epochs
    # peaking at 1e-2 up to 400 optimizer steps, lower beyond (`lr_steps`).
    # Measured on flowers5 features of the offline MobileNetV2
    # (benchmarks/head_lr.py): 1e-2 is best on two-class sets of 192 training
    # photos (90 steps; 1e-3 loses 2.7 points), 2e-3-3e-3 on the five classes'
    # 2,926 (1,380 steps; 1e-2 is 1.35 points lower). End to end on the five
    # classes (benchmarks/fine_tune.py), the rule's 2.9e-3 took feature
    # extraction from 0.8818 to 0.8867 and fine-tuning from 0.9138 to 0.9187;
    # the small subsets keep 1e-2. A constant 3e-3 lost 0.6 points of feature
    # extraction on every one of ten two-class subsets.
    Recipe(
        "feature-extraction",
        "classifier",
        backbone=True,
        mode="feature-extraction",
        defaults={"lr": 1e-2, "schedule": "cosine", "lr_warmup": 0.05},
        phases=(PhaseSpec("head", trainable=False),),
        lr_steps=400,
        description="a frozen backbone, its head trained (on cached features)",
    ),
    # Fine-tuning: a full feature-extraction warm-up of the head (on cached
    # features: cheap; 15 epochs, the feature-extraction recipe's, so the
    # warm-up model is that recipe's model and `training.selection` can fall
    # back to it on small sets), then the top two blocks with layer-wise rates,
    # trained
    # on cached activations of the frozen part (about 13 s per epoch instead of
    # about 100 on flowers5's 2,900 training images at 224 px, 2 cores), so 10
    # epochs: 0.916 vs 0.899 after 3 on row b of benchmarks/recipes.py (4
    # blocks for 10 epochs: 0.914, slower).
    Recipe(
        "fine-tune",
        "classifier",
        backbone=True,
        mode="fine-tune",
        defaults={
            "lr": 1e-2,
            "fine_tune_lr": 1e-4,
            "schedule": "cosine",
            "lr_warmup": 0.05,
            "lr_mult": 0.1,
            "warmup_epochs": 15,
            "epochs": 10,
            "unfreeze": "blocks:2",
        },
        phases=(
            PhaseSpec("warm-up", epochs="warmup_epochs", trainable=False),
            PhaseSpec("fine-tune", lr="fine_tune_lr", trainable="unfreeze"),
        ),
        lr_steps=400,  # the warm-up's, as feature extraction's
        description="the head warmed up on a frozen backbone, then its top blocks",
    ),
    # Autoencoders keep a constant rate (what their figures were measured with).
    Recipe(
        "autoencoder",
        "autoencoder",
        backbone=None,
        mode=None,
        defaults={"lr": 1e-3, "schedule": "constant", "lr_warmup": 0.0},
        description="the autoencoder tasks' training",
    ),
)


def get_recipe(name: str) -> Recipe:
    return lookup(RECIPES, name, "recipe must be one of {names}, got {name!r}")


def select_recipe(family: str, backbone, mode) -> Recipe:
    """The recipe a task family, `--backbone` and `--mode` select."""
    for recipe in RECIPES.values():
        if recipe.family != family:
            continue
        if recipe.backbone is None:
            return recipe
        if recipe.backbone == (backbone is not None) and (
            recipe.mode is None or recipe.mode == mode
        ):
            return recipe
    raise ValueError(
        f"no recipe for a {family} with backbone={backbone!r}, mode={mode!r}"
    )
