"""The training-recipe registry: every entry is selected and plans its phases."""

from __future__ import annotations

import pytest

from kerasvision.config import RECIPES, FitConfig
from kerasvision.config.recipes import select_recipe
from kerasvision.training.phases import plan_phases


@pytest.mark.parametrize("name", list(RECIPES), ids=list(RECIPES))
def test_every_recipe_is_selected_and_plans_its_phases(name):
    recipe = RECIPES[name]
    backbone = "mobilenet_v2" if recipe.backbone else None
    assert select_recipe(recipe.family, backbone, recipe.mode or "x") is recipe
    if recipe.family != "classifier":
        return
    options = {"backbone": backbone} if backbone else {}
    if recipe.mode:
        options["mode"] = recipe.mode
    config = FitConfig(dataset="digits", epochs=2, **options).resolved(train_images=100)
    for option, value in recipe.defaults.items():
        if option != "epochs":
            assert getattr(config, option) == value, option
    phases = plan_phases(config)
    assert [p.name for p in phases] == [spec.name for spec in recipe.phases]
    assert phases[-1].end == sum(p.end - p.start for p in phases)
    assert recipe.requirement


# --- the transfer recipes' head rate by the length of the head's phase ---


def test_a_long_head_phase_lowers_the_default_rate():
    head = FitConfig(backbone="mobilenet_v2")
    assert head.resolved().lr is None  # settled once the training set is known
    assert head.resolved(train_images=192).lr == 1e-2  # 15 x 6 = 90 steps
    assert head.resolved(train_images=400).lr == 1e-2  # 15 x 13 = 195
    # five flowers5 classes: 15 x 92 = 1,380 steps, 1e-2 x 400 / 1,380
    assert head.resolved(train_images=2926).lr == 0.0029
    assert head.first_phase_steps(2926) == 1380
    # the steps follow the given epochs, batch size and accumulation
    short = FitConfig(backbone="mobilenet_v2", epochs=3)
    assert short.resolved(train_images=2926).lr == 1e-2
    assert FitConfig(backbone="mobilenet_v2", batch_size=64, accumulate=2).resolved(
        train_images=2926
    ).lr == pytest.approx(1e-2)  # 15 x 23 = 345 steps
    # fine-tuning: the warm-up is its first phase; the fine-tune rate stays
    tuned = FitConfig(backbone="mobilenet_v2", mode="fine-tune", warmup_epochs=30)
    resolved = tuned.resolved(train_images=2926)
    assert (resolved.lr, resolved.fine_tune_lr) == (0.0014, 1e-4)  # 2,760 steps
    # a given rate, and recipes without the rule, are left alone
    given = FitConfig(backbone="mobilenet_v2", lr=0.05)
    assert given.resolved(train_images=100_000).lr == 0.05
    assert FitConfig(dataset="digits").resolved(train_images=100_000).lr == 1e-3


# --- the scratch recipe's default model by input size ---

FOUR = {"filters": [32, 64, 128, 256], "convs_per_block": 1, "norm": "batch"}


@pytest.mark.parametrize(
    "shape, given, expected",
    [
        ((64, 64, 3), {}, FOUR),
        ((48, 64, 3), {}, FOUR),
        ((32, 32, 3), {}, {}),
        ((28, 28, 1), {}, {}),  # small inputs: the builder's (the lectures') CNN
        ((8, 8, 1), {"filters": (4,)}, {"filters": [4]}),
        ((64, 64, 3), {"filters": (8, 16)}, {**FOUR, "filters": [8, 16]}),
        # norm and batch_norm are one choice: the user's, whichever they gave
        ((64, 64, 3), {"batch_norm": False},
         {"filters": FOUR["filters"], "convs_per_block": 1, "batch_norm": False}),
        ((64, 64, 3), {"norm": "group"}, {**FOUR, "norm": "group"}),
    ],
)  # fmt: skip
def test_the_scratch_model_follows_the_input_size(shape, given, expected):
    config = FitConfig(dataset="digits", model_kwargs=given).resolved()
    assert config.model_kwargs == {k: list(v) if isinstance(v, tuple) else v
                                   for k, v in given.items()}  # fmt: skip
    sized = config.resolved(input_shape=shape)
    assert sized.model_kwargs == expected
    assert sized.resolved(input_shape=shape) == sized  # idempotent


@pytest.mark.parametrize(
    "options",
    [{"model": "resnet20"}, {"backbone": "mobilenet_v2"}, {"task": "denoising"}],
)
def test_other_models_keep_their_builders_defaults(options):
    config = FitConfig(dataset="digits", **options).resolved()
    assert config.resolved(input_shape=(64, 64, 3)).model_kwargs == config.model_kwargs


def test_records_before_version_4_rebuild_the_lectures_blocks():
    old = FitConfig(dataset="digits", model_kwargs={"filters": (4,)}).to_json()
    old["config_version"] = 3
    pinned = FitConfig.from_json(old).resolved(input_shape=(8, 8, 1))
    assert pinned.model_kwargs == {"filters": [4], "convs_per_block": 2,
                                   "norm": "none"}  # fmt: skip
    old["model_kwargs"] = {"batch_norm": True}
    pinned = FitConfig.from_json(old).resolved(input_shape=(64, 64, 3))
    assert pinned.model_kwargs == {"filters": [32, 64, 128], "convs_per_block": 2,
                                   "batch_norm": True}  # fmt: skip
    new = FitConfig(dataset="digits").resolved(input_shape=(8, 8, 1))
    assert FitConfig.from_json(new.to_json()) == new  # version 4 reads back as is
