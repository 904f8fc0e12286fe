"""apps/regularization.py: an unregularized baseline, label-preserving digits."""

import json
import os
import sys

from click.testing import CliRunner

APPS = os.path.join(os.path.dirname(__file__), "..", "..", "apps")
sys.path.insert(0, os.path.abspath(APPS))

import regularization  # noqa: E402

from kerasvision.augmentation.spec import parse_augment_spec  # noqa: E402


def test_digits_augmentations_preserve_the_label():
    for kind in ("digits", "photos"):
        names = [name for name, _ in regularization.variants(kind)]
        assert names == ["none", "augmentation", "dropout + early stopping",
                         "batch norm", "cutmix"]  # fmt: skip
    for _, extra in regularization.variants("digits"):
        if "augment" in extra:
            steps = [step.name for step in parse_augment_spec(extra["augment"])]
            assert "flip" not in steps  # a mirrored 3 is no digit
    photos = dict(regularization.variants("photos"))
    assert "flip" in photos["augmentation"]["augment"]
    # Every variant adds its own regularizer to the same unregularized base.
    for _, extra in regularization.variants("digits"):
        arguments = regularization.variant_arguments(extra)
        assert arguments["label_smoothing"] == 0.0
        assert arguments["model_kwargs"]["dropout_rate"] == extra.get(
            "model_kwargs", {}
        ).get("dropout_rate", 0.0)


def test_the_unregularized_baseline_records_no_regularizer(tmp_path):
    result = CliRunner().invoke(
        regularization.main,
        ["--digits", "--epochs", "1", "--only", "none", "--output", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "none: train" in result.output
    record = json.loads(
        (tmp_path / "regularization-digits-none" / "run.json").read_text()
    )
    arguments = record["arguments"]
    assert arguments["label_smoothing"] == 0.0
    assert arguments["model_kwargs"]["dropout_rate"] == 0.0
    for option in ("augment", "early_stopping", "weight_decay", "ema"):
        assert not arguments.get(option), option
    assert not arguments["model_kwargs"].get("batch_norm")
    # What run.json lists as holding overfitting down: the schedule only.
    assert record["overfitting"]["held_down_by"] == ["cosine learning-rate schedule"]
    unknown = CliRunner().invoke(regularization.main, ["--digits", "--only", "l2"])
    assert unknown.exit_code == 2 and "unknown variant" in unknown.output
