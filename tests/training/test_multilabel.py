"""Multi-label runs: what they record, positive weights, transfer learning on
cached features, mixed multi-hot targets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerasvision.data.datasets import load_builtin
from kerasvision.data.sources import from_arrays
from kerasvision.training import fit


def _collages(count=96, seed=0):
    x, y, names = load_builtin("digits_collages")
    keep = np.random.default_rng(seed).choice(len(x), count, replace=False)
    return x[keep], y[keep], names


def test_run_records_its_label_decisions_and_metrics(multilabel_run):
    run_dir, data = multilabel_run
    info = json.loads((run_dir / "run.json").read_text())
    names = info["data"]["class_names"]
    assert info["data"]["multi_label"] is True
    assert info["arguments"]["label_delim"] == ";"
    assert info["model"]["num_classes"] == len(names) == 10
    thresholds = info["thresholds"]
    assert set(thresholds["values"]) == set(names)
    assert all(0.0 <= t <= 1.0 for t in thresholds["values"].values())
    assert set(thresholds["f1"]) | set(thresholds["fallback"]) == set(names)
    temperatures = info["calibration"]["temperatures"]
    assert len(temperatures) == 10 and all(0.5 <= t <= 20 for t in temperatures)
    assert "temperature" not in info["calibration"]  # one per label only
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["count"] == 120
    assert set(metrics["per_class"]) == set(names)
    for row in metrics["per_class"].values():
        assert {"precision", "recall", "f1", "ap", "support", "threshold"} <= set(row)
    assert metrics["calibration"]["split"] == "test"
    counts = info["data"]["counts"]["train"]
    assert sum(counts.values()) > info["split"]["counts"]["train"]  # label sets
    assert (run_dir / "pr_curves.png").is_file()
    rows = (data / "labels.csv").read_text().splitlines()
    cells = [row.split(",")[1] for row in rows]
    assert any(";" in cell for cell in cells)  # write-dataset's label sets


def test_positive_weights_are_negatives_over_positives():
    from kerasvision.config import FitConfig
    from kerasvision.training.multilabel import positive_weights

    x, y, names = _collages(60)
    data = from_arrays(x, y, class_names=names, multi_label=True, seed=0)
    config = FitConfig(task="multilabel", class_weight="balanced")
    weights = positive_weights(config, data)
    train = data.splits["train"].targets
    expected = (len(train) - train.sum(axis=0)) / train.sum(axis=0)
    np.testing.assert_allclose(weights, expected)
    given = positive_weights(config.replace(class_weight=[2.0] * 10), data)
    np.testing.assert_allclose(given, 2.0)
    with pytest.raises(ValueError, match="one per label"):
        positive_weights(config.replace(class_weight=[1.0, 2.0]), data)


def test_frozen_backbone_trains_a_sigmoid_head_on_cached_features(tiny_run, tmp_path):
    import keras

    run_dir, _ = tiny_run
    x, y, _ = _collages(96)
    lines = []
    result = fit(
        (x, y), task="multilabel", backbone=str(run_dir / "model.keras"),
        class_weight="balanced", epochs=1, seed=0, export=False,
        output=str(tmp_path / "run"), verbose=0, log=lines.append,
    )  # fmt: skip
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["feature_cache_seconds"] > 0  # the head trained on cached features
    head = result.model.get_layer("predictions")
    assert head.units == 10 and head.activation is keras.activations.sigmoid
    assert any(line.startswith("positive weights per label:") for line in lines)
    assert set(result.metrics) >= {"map", "micro_f1", "subset_accuracy"}


def test_mixed_and_smoothed_multi_hot_targets_train(tmp_path):
    x, y, _ = _collages(64)
    result = fit(
        (x, y), task="multilabel", augment="flip,mixup=0.4@1.0",
        label_smoothing=0.1, model_kwargs={"filters": (4, 8), "dense_units": ()},
        epochs=1, seed=0, export=False, output=str(tmp_path / "run"), verbose=0,
        log=lambda line: None,
    )  # fmt: skip
    assert np.isfinite(result.history["loss"]).all()
    assert "pr_auc" in result.history
