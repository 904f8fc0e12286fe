"""What `tune` searches: the space per recipe, the augmentation strength, a
trial's config."""

from __future__ import annotations

import pytest

from kerasvision.config import FitConfig
from kerasvision.tuning import scaled_augment, search_space, trial_config


def test_scratch_space_searches_what_matters_and_keeps_what_was_given():
    config = FitConfig(dataset="digits", seed=0).resolved()
    space = search_space(config)
    assert set(space) == {"lr", "schedule", "augment", "dropout_rate",
                          "label_smoothing"}  # fmt: skip
    assert space["lr"]["default"] == 1e-3 and space["lr"]["sampling"] == "log"
    assert space["dropout_rate"]["default"] == 0.3  # bipyramidal_cnn's own
    assert space["label_smoothing"]["default"] == 0.1  # the scratch recipe's
    assert space["augment"]["default"] == 0.0
    given = FitConfig(dataset="digits", lr=0.01, model_kwargs={"dropout_rate": 0.1})
    fixed = search_space(given.resolved(), set(given.given()) | {"dropout_rate"})
    assert "lr" not in fixed and "dropout_rate" not in fixed


def test_fine_tuning_also_searches_the_unfrozen_part_and_its_rates():
    config = FitConfig(dataset="digits", backbone="mobilenet_v2", mode="fine-tune",
                       weights=None).resolved(train_images=1000)  # fmt: skip
    space = search_space(config)
    assert {"unfreeze", "lr_mult", "fine_tune_lr"} <= set(space)
    assert space["unfreeze"]["default"] == "blocks:2"
    assert space["dropout_rate"]["default"] == 0.2  # the transfer head's
    frozen = FitConfig(dataset="digits", backbone="mobilenet_v2", weights=None)
    assert "unfreeze" not in search_space(frozen.resolved(train_images=1000))


def test_augmentation_strength_scales_the_given_spec():
    assert scaled_augment(None, 0) is None
    assert scaled_augment("rotate=0.1,zoom=0.2", 0.5) == "rotate=0.05,zoom=0.1"
    assert scaled_augment("flip,rotate=0.4,cutmix", 2.0) == (
        "flip=horizontal,rotate=0.5,cutmix=1@1"  # capped at rotate's maximum
    )
    assert "translate=0.1" in scaled_augment(None, 1.0)  # the default spec


def test_a_trial_config_applies_the_values_and_epochs():
    config = FitConfig(dataset="digits", seed=0).resolved()
    values = {"lr": 0.002, "schedule": "onecycle", "augment": 1.0,
              "dropout_rate": 0.1, "label_smoothing": 0.0}  # fmt: skip
    trial = trial_config(config, values, 5)
    assert (trial.lr, trial.schedule, trial.epochs) == (0.002, "onecycle", 5)
    assert trial.model_kwargs["dropout_rate"] == 0.1
    assert trial.augment.startswith("rotate=") and trial.label_smoothing == 0.0
    assert trial_config(config, {"augment": 0.0}, 5).augment is None
    with pytest.raises(ValueError):
        trial_config(config, {"lr": -1.0}, 5)
