"""kerasvision.config.FitConfig: validation, defaults, the run.json record."""

import json

import pytest

import kerasvision
from kerasvision.config import FitConfig, parse_class_weight


def test_defaults_resolve_per_task():
    config = FitConfig(dataset="digits", seed=0).resolved()
    assert config.model == "bipyramidal_cnn" and config.epochs is None  # data's
    assert config.resolved(train_images=1437).epochs == 15
    transfer = FitConfig(dataset="digits", backbone="mobilenet_v2").resolved()
    assert transfer.model is None
    denoising = FitConfig(dataset="digits", task="denoising").resolved()
    assert denoising.model_label == "denoising"


def test_scratch_default_epochs_shrink_on_large_training_sets():
    from kerasvision.config import RECIPES

    cap = RECIPES["scratch"].epoch_cap
    scratch = FitConfig(dataset="digits")
    sizes = {10_000: 15, 20_000: 7, 48_000: 3, 10**6: cap["min_epochs"]}
    for train_images, epochs in sizes.items():
        assert scratch.resolved(train_images=train_images).epochs == epochs
    given = FitConfig(dataset="digits", epochs=20).resolved(train_images=48_000)
    assert given.epochs == 20
    transfer = FitConfig(dataset="digits", backbone="mobilenet_v2")
    assert transfer.resolved(train_images=48_000).epochs == 15
    autoencoder = FitConfig(dataset="digits", task="autoencoder")
    assert autoencoder.resolved(train_images=48_000).epochs == 10


def test_json_round_trip_is_exact():
    config = FitConfig(
        dataset="digits",
        epochs=3,
        seed=7,
        model_kwargs={"filters": (4, 8)},
        augment="flip,rotate=0.1",
        class_weight="balanced",
    )
    record = json.loads(json.dumps(config.to_json()))
    assert FitConfig.from_json(record) == FitConfig.from_json(config.to_json())
    assert FitConfig.from_json(record).to_json() == record


def test_reads_the_0_1_vocabulary():
    record = json.loads(
        open("tests/data/legacy_classifier_run/run.json", encoding="utf-8").read()
    )["arguments"]
    record["model_kwargs"] = {"pooling": "avg", "head": "gmp"}
    config = FitConfig.from_json(record)
    assert config.model_kwargs["block_pooling"] == "avg"
    assert config.model_kwargs["pooling"] == "max"


def test_given_and_with_seed():
    config = FitConfig(dataset="digits", epochs=2)
    assert set(config.given()) == {"dataset", "epochs"}
    seeded = config.with_seed()
    assert isinstance(seeded.seed, int) and seeded.with_seed() == seeded


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"epochs": 0}, "epochs"),
        ({"lr": float("inf")}, "lr must be a finite number"),
        ({"image_size": 100000}, "image"),
        ({"image_size": 4096, "batch_size": 65536}, "memory available"),
        ({"unfreeze": "top:3"}, "--unfreeze only apply with --backbone"),
        ({"weights": "none"}, "--weights only apply with --backbone"),
        ({"task": "denoising", "backbone": "mobilenet_v2"}, "--backbone only apply"),
        ({"latent_dim": 4}, "--latent-dim only apply to --task autoencoder"),
        ({"task": "segmentation", "latent_dim": 4}, "latent-dim"),
        ({"noise": "gaussian=0.1"}, "--noise"),
        ({"weight_decay": 0.1}, "adamw"),
        ({"model": "lenet5", "backbone": "mobilenet_v2"}, "not both"),
        ({"task": "gan"}, "task must be one of"),
    ],
)
def test_invalid_options_are_one_line_errors(options, fragment):
    with pytest.raises(ValueError, match=fragment) as caught:
        FitConfig(dataset="digits", **options)
    assert "\n" not in str(caught.value)


def test_unknown_option_names_it():
    with pytest.raises(ValueError, match="unknown fit option.*colour"):
        FitConfig.from_options(dataset="digits", colour="red")


def test_fit_refuses_options_the_task_ignores(tmp_path):
    with pytest.raises(ValueError, match="only apply to --task classification"):
        kerasvision.fit(
            dataset="digits",
            task="denoising",
            augment="flip",
            output=str(tmp_path / "r"),
            verbose=0,
        )
    assert not (tmp_path / "r").exists()


def test_class_weight_parsing():
    assert parse_class_weight("balanced") == "balanced"
    assert parse_class_weight("1,2.5") == [1.0, 2.5]
    with pytest.raises(ValueError, match="class"):
        parse_class_weight("1,x")
