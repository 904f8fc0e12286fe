"""Temperature calibration: the math (kerasvision.evaluation), the layer that
serves it, the fit step (kerasvision.training.calibration) and what runs record."""

import json
import shutil

import numpy as np
import pytest
from helpers import assert_keras_round_trip, assert_layer_config_round_trip

from kerasvision.config import FitConfig
from kerasvision.evaluation import (
    apply_temperature,
    calibration_scores,
    fit_temperature,
    predict,
)
from kerasvision.layers.outputs import TemperatureScaling
from kerasvision.runs import load_run


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def test_fit_temperature_recovers_the_overconfidence():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4000, 5))
    labels = np.array([rng.choice(5, p=p) for p in _softmax(logits / 2.0)])
    temperature = fit_temperature(_softmax(logits), labels)
    assert temperature == pytest.approx(2.0, rel=0.1)
    scores = calibration_scores(_softmax(logits), labels, temperature)
    assert scores["nll_after"] < scores["nll_before"]
    assert scores["ece_after"] < scores["ece_before"]


def test_fit_temperature_never_worsens_the_nll():
    probabilities = np.array([[0.9, 0.1], [0.1, 0.9], [0.8, 0.2], [0.2, 0.8]])
    labels = np.array([0, 1, 1, 0])  # 50% right: flatter is better, T > 1
    assert fit_temperature(probabilities, labels) > 1.0
    np.testing.assert_allclose(apply_temperature(probabilities, 1.0), probabilities)


@pytest.mark.parametrize("units", [1, 4], ids=["sigmoid", "softmax"])
def test_layer_matches_the_numpy_math_and_round_trips(units, tmp_path):
    import keras

    rng = np.random.default_rng(1)
    logits = rng.normal(0, 4, (6, units)).astype("float32")
    probabilities = (
        1 / (1 + np.exp(-logits)) if units == 1 else _softmax(logits)
    ).astype("float32")
    layer = TemperatureScaling(1.7)
    served = np.asarray(layer(probabilities))
    expected = apply_temperature(
        probabilities[:, 0] if units == 1 else probabilities, 1.7
    )
    np.testing.assert_allclose(
        served[:, 0] if units == 1 else served,
        expected[:, 1] if units == 1 else expected,
        atol=1e-6,
    )
    assert_layer_config_round_trip(layer)
    inputs = keras.Input((units,))
    model = keras.Model(inputs, TemperatureScaling(0.5)(inputs))
    assert_keras_round_trip(model, str(tmp_path / "t.keras"), probabilities)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        TemperatureScaling(0.0)


def test_no_calibrate_is_a_classifier_option():
    assert FitConfig(dataset="digits").calibrate is True
    assert FitConfig(dataset="digits", calibrate=False).to_json()["calibrate"] is False
    with pytest.raises(ValueError, match="--calibrate only apply"):
        FitConfig(task="autoencoder", calibrate=False)


@pytest.fixture(scope="module")
def calibrated_run(tiny_run, tmp_path_factory):
    """A copy of the tiny run (exports record into its run.json)."""
    path = tmp_path_factory.mktemp("calibrated") / "run"
    shutil.copytree(tiny_run[0], path)
    return path, tiny_run[1]


def test_fit_records_the_temperature_and_scores_before_and_after(calibrated_run):
    run = load_run(calibrated_run[0])
    record = run.info["calibration"]
    assert record["fitted_on"] == "val" and record["temperature"] > 0
    assert run.temperature == record["temperature"]
    assert run.info["arguments"]["calibrate"] is True
    metrics = json.loads((calibrated_run[0] / "metrics.json").read_text())
    block = metrics["calibration"]
    assert set(block) >= {"nll_before", "nll_after", "ece_before", "ece_after"}
    assert metrics["loss"] == pytest.approx(block["nll_after"], abs=1e-6)


def test_exports_and_predict_serve_the_calibrated_probabilities(calibrated_run):
    import tensorflow as tf

    from kerasvision.export import export_run

    run_dir, paths = calibrated_run
    run = load_run(run_dir)
    report = export_run(run_dir, run_dir / "exported", tolerance=1e-5)
    assert report["temperature"] == run.temperature
    assert load_run(run_dir).info["exports"]["savedmodel"]["path"] == report["path"]
    results = predict(run_dir, paths[:4])
    loaded = tf.saved_model.load(report["path"])
    payload = tf.constant([open(p, "rb").read() for p in paths[:4]])
    served = loaded.signatures["serving_bytes"](image_bytes=payload)
    for row, probabilities in zip(
        results, served["probabilities"].numpy(), strict=True
    ):
        got = np.array([row["probabilities"][n] for n in run.class_names])
        np.testing.assert_allclose(got, probabilities, atol=1e-5)
    _, images = run.load_images(paths[:4])
    raw = run.model.predict(images, verbose=0)
    np.testing.assert_allclose(
        apply_temperature(raw, run.temperature),
        served["probabilities"].numpy(),
        atol=1e-5,
    )


def test_min_confidence_answers_unknown(calibrated_run):
    run_dir, paths = calibrated_run
    sure = predict(run_dir, paths[:3])
    unsure = predict(run_dir, paths[:3], min_confidence=1.0)
    assert [r["class_name"] for r in unsure] == ["unknown"] * 3
    assert [r["top_k"] for r in unsure] == [r["top_k"] for r in sure]
    with pytest.raises(ValueError, match="min-confidence must be in"):
        predict(run_dir, paths[:1], min_confidence=1.5)
