"""Evaluation plots: ECE by hand, calibration bins, top losses, PNG writers."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from kerasvision.evaluation import (
    calibration_bins,
    expected_calibration_error,
    top_losses,
)
from kerasvision.visualization.plots import (
    plot_image_maps,
    plot_per_class_metrics,
    plot_reliability_diagram,
    plot_top_losses,
)


def test_expected_calibration_error_by_hand():
    # Five items, 3 classes, bins=5 (edges 0, .2, .4, .6, .8, 1):
    #   confidence  predicted  label  correct  bin
    #   0.90        0          0      yes      (0.8, 1]
    #   0.70        1          1      yes      (0.6, 0.8]
    #   0.80        2          0      no       (0.6, 0.8]   (0.8 is the bin's top)
    #   0.50        0          2      no       (0.4, 0.6]
    #   0.95        1          1      yes      (0.8, 1]
    # (0.8, 1]:   n=2, accuracy 1,   confidence 0.925 -> gap 0.075
    # (0.6, 0.8]: n=2, accuracy 0.5, confidence 0.75  -> gap 0.25
    # (0.4, 0.6]: n=1, accuracy 0,   confidence 0.5   -> gap 0.5
    # ECE = 2/5 * 0.075 + 2/5 * 0.25 + 1/5 * 0.5 = 0.03 + 0.1 + 0.1 = 0.23
    probabilities = [
        [0.90, 0.05, 0.05],
        [0.20, 0.70, 0.10],
        [0.10, 0.10, 0.80],
        [0.50, 0.30, 0.20],
        [0.03, 0.95, 0.02],
    ]
    labels = [0, 1, 0, 2, 1]
    assert expected_calibration_error(probabilities, labels, bins=5) == pytest.approx(
        0.23
    )
    stats = calibration_bins(probabilities, labels, bins=5)
    np.testing.assert_array_equal(stats["counts"], [0, 0, 1, 2, 2])
    np.testing.assert_allclose(stats["accuracy"][2:], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(stats["confidence"][2:], [0.5, 0.75, 0.925])
    assert np.isnan(stats["accuracy"][0])


def test_ece_limits_and_binary_input():
    # Always right at confidence 1: perfectly calibrated.
    assert expected_calibration_error(np.eye(3), [0, 1, 2]) == 0.0
    # Always wrong at confidence 0.9: ECE = 0.9.
    wrong = [[0.9, 0.1], [0.1, 0.9]]
    assert expected_calibration_error(wrong, [1, 0]) == pytest.approx(0.9)
    # [N] probabilities of class 1 (one sigmoid unit) mean [1 - p, p].
    assert expected_calibration_error([0.1, 0.9], [1, 0]) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="labels must be 2 integer"):
        expected_calibration_error(wrong, [1])
    with pytest.raises(ValueError, match="bins"):
        expected_calibration_error(wrong, [1, 0], bins=0)


def test_top_losses_are_sorted_worst_first():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.0, 1.0]])
    labels = np.array([0, 0, 1, 0])
    indices, losses = top_losses(probabilities, labels, k=3)
    np.testing.assert_array_equal(indices, [3, 1, 2])
    np.testing.assert_allclose(losses, [-np.log(1e-7), -np.log(0.2), -np.log(0.4)])
    assert len(top_losses(probabilities, labels, k=10)[0]) == 4


def _png_size(path):
    with Image.open(path) as image:
        return image.size


def test_plot_writers(tmp_path):
    rng = np.random.default_rng(0)
    per_class = {
        name: {"precision": p, "recall": r, "f1": f, "support": s}
        for name, p, r, f, s in [
            ("cat", 0.9, 0.8, 0.85, 10),
            ("dog", 0.5, 1.0, 0.67, 4),
        ]
    }
    table = plot_per_class_metrics(per_class, str(tmp_path / "table.png"), title="t")
    probabilities = rng.dirichlet([1, 1, 1], size=50)
    labels = rng.integers(0, 3, 50)
    diagram = plot_reliability_diagram(
        probabilities, labels, str(tmp_path / "reliability.png")
    )
    images = rng.integers(0, 255, (5, 12, 12, 1))
    gallery = plot_top_losses(
        images,
        labels[:5],
        probabilities[:5],
        ["a", "b", "c"],
        str(tmp_path / "gallery.png"),
        heatmaps=rng.uniform(size=(5, 12, 12)),
    )
    plain = plot_top_losses(
        images, labels[:5], probabilities[:5], ["a", "b", "c"], str(tmp_path / "p.png")
    )
    maps = plot_image_maps(
        images[:2], rng.uniform(size=(2, 12, 12)), str(tmp_path / "m.png")
    )
    for path in (table, diagram, gallery, plain, maps):
        width, height = _png_size(path)
        assert width > 200 and height > 100
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["table.png", "reliability.png", "gallery.png", "p.png", "m.png"]
    )
    with pytest.raises(ValueError, match="per_class is empty"):
        plot_per_class_metrics({}, str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match="images for"):
        plot_top_losses(images[:2], labels[:5], probabilities[:5], "abc", "x.png")
