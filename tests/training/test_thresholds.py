"""A temperature per label under the calibration guard."""

from __future__ import annotations

import numpy as np
import pytest

from kerasvision.training.calibration import MIN_ERRORS, MIN_TEMPERATURE
from kerasvision.training.thresholds import (
    fit_label_temperature,
    fit_label_temperatures,
)


def test_a_label_with_few_wrong_decisions_keeps_t_1():
    p = np.array([0.99, 0.98, 0.02, 0.01, 0.97])
    y = np.array([1, 1, 0, 0, 1])
    temperature, reason = fit_label_temperature(p, y)
    assert temperature == 1.0
    assert f"at least {MIN_ERRORS}" in reason


def test_an_overconfident_label_is_softened_and_never_sharpened_past_the_floor():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    right = rng.random(400) < 0.8  # 80% right, yet every answer at 0.99
    p = np.where(right == (y == 1), 0.99, 0.01)
    temperature, reason = fit_label_temperature(p, y)
    assert reason is None and temperature > 1.5
    sure = np.where(y == 1, 0.6, 0.4)  # always right, under-confident
    sure[:MIN_ERRORS] = 1 - sure[:MIN_ERRORS]
    assert fit_label_temperature(sure, y)[0] >= MIN_TEMPERATURE
    temperatures, per_label = fit_label_temperatures(
        np.stack([p, p], axis=1)[:, :2], np.stack([y, y], axis=1), ["a", "b"]
    )
    assert temperatures.tolist() == pytest.approx([temperature, temperature])
    assert "skipped" not in per_label["a"]
