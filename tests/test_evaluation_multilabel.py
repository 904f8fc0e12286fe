"""Multi-label metrics (against scikit-learn), F1-maximizing thresholds and
per-label temperatures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    hamming_loss,
)

from kerasvision.evaluation_multilabel import (
    apply_label_temperatures,
    best_thresholds,
    label_top_losses,
    multilabel_metrics,
)

NAMES = ["cat", "dog", "sofa"]


def _predictions(seed=0, count=80):
    rng = np.random.default_rng(seed)
    targets = (rng.random((count, 3)) < [0.5, 0.3, 0.0]).astype("float32")
    noise = rng.normal(0, 0.25, targets.shape)
    probabilities = np.clip(0.25 + 0.5 * targets + noise, 0.001, 0.999)
    return probabilities, targets


def test_metrics_equal_scikit_learn_at_the_thresholds():
    probabilities, targets = _predictions()
    thresholds = np.array([0.5, 0.4, 0.6])
    metrics = multilabel_metrics(probabilities, targets, NAMES, thresholds)
    decided = (probabilities >= thresholds).astype(int)
    present = [0, 1]  # sofa has no positive: left out of mAP and macro F1
    aps = [average_precision_score(targets[:, i], probabilities[:, i]) for i in present]
    assert metrics["map"] == pytest.approx(np.mean(aps))
    assert metrics["micro_f1"] == pytest.approx(
        f1_score(targets, decided, average="micro", zero_division=0)
    )
    assert metrics["macro_f1"] == pytest.approx(
        f1_score(targets, decided, average="macro", labels=present, zero_division=0)
    )
    assert metrics["subset_accuracy"] == pytest.approx(accuracy_score(targets, decided))
    assert metrics["hamming_loss"] == pytest.approx(hamming_loss(targets, decided))
    assert metrics["labels_without_support"] == ["sofa"]
    assert metrics["per_class"]["sofa"]["ap"] is None
    assert metrics["per_class"]["dog"]["threshold"] == 0.4


def test_thresholds_maximize_each_labels_f1_between_two_scores():
    probabilities, targets = _predictions(seed=1)
    thresholds, record = best_thresholds(probabilities, targets, NAMES)
    for index in (0, 1):
        scores = probabilities[:, index]
        best = max(
            f1_score(targets[:, index], scores >= cut, zero_division=0)
            for cut in np.unique(scores)
        )
        chosen = f1_score(targets[:, index], scores >= thresholds[index])
        assert chosen == pytest.approx(best)
        assert record["f1"][NAMES[index]] == pytest.approx(best)
        assert not np.any(np.isclose(scores, thresholds[index]))  # between two
    assert thresholds[2] == 0.5 and record["fallback"] == ["sofa"]


def test_label_temperatures_soften_each_label_on_its_own():
    import keras

    from kerasvision.layers.label_sets import LabelTemperatureScaling

    p = np.array([[0.9, 0.9], [0.2, 0.2]])
    scaled = apply_label_temperatures(p, [2.0, 1.0])
    assert scaled[0, 0] == pytest.approx(0.75)
    np.testing.assert_array_equal(scaled[:, 1], p[:, 1])  # T = 1: unchanged
    layer = LabelTemperatureScaling([2.0, 1.0])
    served = keras.ops.convert_to_numpy(layer(p.astype("float32")))
    np.testing.assert_allclose(served, scaled, atol=1e-6)


def test_top_losses_per_label_are_the_worst_decisions():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    targets = np.array([[0, 0], [1, 1], [1, 1]])
    np.testing.assert_array_equal(
        label_top_losses(probabilities, targets, 2), [[0, 1], [2, 1]]
    )
