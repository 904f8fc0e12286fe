"""Temperature calibration: the math (kerasvision.evaluation), the layer that
serves it, the fit step (kerasvision.training.calibration) and what runs record."""

import json
import shutil

import numpy as np
import pytest
from helpers import assert_keras_round_trip, assert_layer_config_round_trip

from kerasvision.config import FitConfig
from kerasvision.evaluation import apply_temperature, calibration_scores, predict
from kerasvision.layers.outputs import TemperatureScaling
from kerasvision.runs import load_run
from kerasvision.training.calibration import (
    MIN_ERRORS,
    calibration_skip_reason,
    fit_temperature,
)


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
    """A copy of the tiny run (exports record into its run.json) serving a
    temperature of 1.7, so that every way out serves it."""
    path = tmp_path_factory.mktemp("calibrated") / "run"
    shutil.copytree(tiny_run[0], path)
    load_run(path).record(calibration={"temperature": 1.7, "fitted_on": "val"})
    return path, tiny_run[1]


def test_too_few_validation_errors_keep_the_trained_probabilities(tiny_run):
    """The tiny run's validation split (3 images) cannot support a temperature:
    T = 1, the reason is recorded, metrics.json scores before == after."""
    run = load_run(tiny_run[0])
    record = run.info["calibration"]
    assert record["temperature"] == 1.0 and run.temperature == 1.0
    assert "misclassified image" in record["skipped"]
    assert f"at least {MIN_ERRORS}" in record["skipped"]
    assert run.info["arguments"]["calibrate"] is True
    metrics = json.loads((tiny_run[0] / "metrics.json").read_text())
    block = metrics["calibration"]
    assert block["skipped"] == record["skipped"] and block["split"] == "test"
    assert block["nll_after"] == block["nll_before"] == metrics["loss"]
    assert block["ece_after"] == block["ece_before"]


def test_skip_reason_counts_the_validation_errors():
    right = np.array([[0.9, 0.1], [0.2, 0.8]] * 10)
    labels = np.array([0, 1] * 10)
    assert "0 misclassified images of 20" in calibration_skip_reason(right, labels)
    wrong = labels.copy()
    wrong[:4] = 1 - wrong[:4]
    assert "4 misclassified images" in calibration_skip_reason(right, wrong)
    wrong[:MIN_ERRORS] = 1 - labels[:MIN_ERRORS]
    assert calibration_skip_reason(right, wrong) is None


def test_calibrate_fits_a_temperature_on_enough_validation_errors(tmp_path):
    """An over-confident untrained model with many validation errors: T > 1
    is fitted on validation, and the served (test) metrics are the tempered
    ones, with NLL and ECE before and after."""
    import keras

    from kerasvision.data import from_arrays
    from kerasvision.evaluation import evaluate_model
    from kerasvision.runs import RunWriter
    from kerasvision.training.calibration import calibrate

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (120, 8, 8, 1)).astype("float32")
    data = from_arrays(x, rng.integers(0, 3, 120), val_split=0.25, test_split=0.25)
    inputs = keras.Input((8, 8, 1))
    logits = keras.layers.Dense(3)(keras.layers.Flatten()(inputs / 10.0))
    model = keras.Model(inputs, keras.layers.Softmax()(logits))
    metrics = evaluate_model(model, data, "test")
    lines = []
    with RunWriter.create(tmp_path / "run") as run:
        served = calibrate(model, data, run, metrics, log=lines.append)
        record = run.info["calibration"]
    assert record["fitted_on"] == "val" and record["temperature"] > 1.0
    assert record["val"]["nll_after"] < record["val"]["nll_before"]
    block = served["calibration"]
    assert set(block) >= {"nll_before", "nll_after", "ece_before", "ece_after"}
    assert block["nll_before"] == pytest.approx(metrics["loss"], abs=1e-6)
    assert served["loss"] == pytest.approx(block["nll_after"], abs=1e-6)
    assert served["accuracy"] == metrics["accuracy"]  # T never changes argmax
    assert lines and lines[0].startswith(f"calibration: T = {record['temperature']:g}")


def test_exports_and_predict_serve_the_calibrated_probabilities(calibrated_run):
    import tensorflow as tf

    from kerasvision.export import export_run

    run_dir, paths = calibrated_run
    run = load_run(run_dir)
    assert run.temperature == 1.7
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


def test_cli_fit_on_a_perfectly_separable_validation_split(tmp_path):
    """Validation is 100% right: no temperature is fitted (before the rule,
    T ran to its 0.05 bound and every answer, wrong ones included, printed
    1.000000). The test NLL is not made worse, and answers on ambiguous
    images print the trained model's probability."""
    import csv
    import io

    from click.testing import CliRunner
    from helpers import write_image_folder
    from PIL import Image

    from kerasvision.cli import main

    data = tmp_path / "data"
    write_image_folder(data, classes=("dark", "light"), per_class=30, size=(16, 16))
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "fit", str(data), "--image-size", "16", "--epochs", "10", "--lr", "0.01",
        "--seed", "0", "--val-split", "0.2", "--test-split", "0.2",
        "--model-arg", "filters=(4, 8)", "--output", str(run_dir),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    record = load_run(run_dir).info["calibration"]
    assert record["skipped"].startswith("the validation split has 0 misclassified")
    assert "calibration skipped: the validation split has 0" in result.output
    block = json.loads((run_dir / "metrics.json").read_text())["calibration"]
    assert block["nll_after"] <= block["nll_before"]
    # Grey images between the two classes, half labelled each way.
    rng = np.random.default_rng(1)
    hard, truth = tmp_path / "hard", {}
    hard.mkdir()
    for index in range(8):
        level = 100 + 8 * index + rng.normal(0, 10, (16, 16, 3))
        path = hard / f"grey_{index}.png"
        Image.fromarray(np.clip(level, 0, 255).astype("uint8")).save(path)
        truth[str(path)] = ("dark", "light")[index % 2]  # any threshold errs
    printed = CliRunner().invoke(main, ["predict", str(run_dir), str(hard)])
    assert printed.exit_code == 0, printed.output
    rows = list(csv.DictReader(io.StringIO(printed.output)))
    run = load_run(run_dir)
    paths, images = run.load_images([row["path"] for row in rows])
    raw = run.model.predict(images, verbose=0)
    wrong = 0
    for row, probabilities in zip(rows, raw, strict=True):
        shown = float(row["probability_1"])
        assert shown == pytest.approx(float(probabilities.max()), abs=1e-6)
        if row["class_1"] != truth[row["path"]]:
            wrong += 1
            assert shown <= max(0.99, float(probabilities.max()) + 1e-6)
    assert wrong >= 1  # the check above had something to check
