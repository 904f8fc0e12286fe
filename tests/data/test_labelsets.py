"""kerasvision.data.labelsets: label sets as multi-hot arrays and decisions."""

from __future__ import annotations

import numpy as np
import pytest

from kerasvision.data.labelsets import (
    decide,
    is_multi_label,
    label_statistics,
    multi_hot,
    recorded_thresholds,
)


def test_multi_hot_checks_its_labels():
    labels, targets, names = multi_hot([[1, 0, 1], [0, 0, 1], [0, 1, 1]])
    assert names == ["0", "1", "2"] and targets.dtype == np.float32
    assert labels.tolist() == [0, 2, 1]  # each row's rarest label
    for bad, message in (([[0.5, 1.0]], "0/1"), ([1, 0, 1], r"\[N, K\]"),
                         ([[1, 0]] * 2, "class names")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            multi_hot(bad, ["a", "b", "c"] if message == "class names" else None)


def test_label_statistics_count_sets_and_pairs():
    found = label_statistics([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0]], "abc")
    assert found["frequencies"] == {"a": 3, "b": 2, "c": 1}
    assert found["cardinality"] == 1.5 and found["without_labels"] == 1
    assert found["top_pairs"][0] == ["a", "b", 2]
    assert found["cooccurrence"][0] == [3, 2, 1]


def test_decisions_and_recorded_thresholds_of_a_run():
    info = {"data": {"multi_label": True},
            "thresholds": {"values": {"a": 0.3, "b": 0.7}}}  # fmt: skip
    assert is_multi_label(info) and not is_multi_label({"data": {}})
    thresholds = recorded_thresholds(info, ["b", "a"])
    np.testing.assert_array_equal(thresholds, [0.7, 0.3])
    np.testing.assert_array_equal(decide([[0.7, 0.29]], thresholds), [[1, 0]])
    assert recorded_thresholds({"data": {}}, ["a"]) is None
    with pytest.raises(ValueError, match="no threshold"):
        recorded_thresholds(info, ["a", "c"])
