"""Fine-tuning keeps the better of its warm-up head and the fine-tuned model."""

from __future__ import annotations

import html
import json
import os
import warnings

import numpy as np
import pytest


def test_fine_tuning_keeps_the_model_its_rule_chooses(tiny_run, tmp_path):
    from kerasvision.evaluation import negative_log_likelihood, predict_probabilities
    from kerasvision.report import write_report
    from kerasvision.runs import load_run
    from kerasvision.training import fit
    from kerasvision.training.selection import choice_line, keeps_warm_up

    _, paths = tiny_run
    data = paths[0].rsplit("/", 2)[0]
    output = tmp_path / "run"
    lines = []
    # 0.5 is far too large a rate for the backbone: fine-tuning hurts.
    fit(data, backbone="mobilenet_v2", weights="none", image_size=32,
        mode="fine-tune", warmup_epochs=1, epochs=1, fine_tune_lr=0.5,
        lr_mult=1.0, seed=0, export=False, output=str(output), verbose=0,
        log=lines.append)  # fmt: skip
    choice = json.loads((output / "run.json").read_text())["fine_tune_choice"]
    # one wording: the printed line and the report's, from the record
    said = choice_line(choice)
    assert said in lines and said.startswith("fine-tuned: val_loss ")
    page = open(write_report(str(output)), encoding="utf-8").read()
    assert f"On validation: {html.escape(said)}." in page
    rule = keeps_warm_up(choice["warm_up"], choice["fine_tuned"])
    assert choice["kept"] == ("warm-up" if rule else "fine-tuned")
    losses = {
        "warm-up": choice["warm_up"]["val_loss"],
        "fine-tuned": choice["fine_tuned"]["val_loss"],
    }
    assert losses["warm-up"] != losses["fine-tuned"]
    run = load_run(str(output))
    val = run.data()
    images = val.dataset("val", batch_size=64, shuffle=False, include_labels=False)
    labels = np.asarray(val.splits["val"].labels)
    kept = negative_log_likelihood(predict_probabilities(run.model, images), labels)
    assert kept == pytest.approx(losses[choice["kept"]], abs=1e-4)
    assert (output / "checkpoints" / "warmup.weights.h5").is_file()
    other = output / "checkpoints" / "fine_tuned.weights.h5"
    assert other.is_file() == (choice["kept"] == "warm-up")


def test_validation_accuracy_decides_and_a_tie_keeps_the_fine_tuned_model():
    from kerasvision.training.selection import keeps_warm_up

    def scores(loss, accuracy):
        return {"val_loss": loss, "val_accuracy": accuracy}

    assert keeps_warm_up(scores(0.9, 0.90), scores(0.1, 0.85))
    assert not keeps_warm_up(scores(0.1, 0.85), scores(0.9, 0.90))
    # Equal accuracy: the fine-tuned model stays, even with a higher loss.
    assert not keeps_warm_up(scores(0.2, 0.875), scores(0.6, 0.875))


def test_warm_up_weights_load_without_a_word_on_another_phases_optimizer(tmp_path):
    import keras

    from kerasvision.training.selection import load_model_weights

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x, y = np.ones((4, 3)), np.zeros((4, 2))
    model.compile("sgd", "mse")
    model.fit(x, y, verbose=0)
    path = str(tmp_path / "warmup.weights.h5")
    model.save_weights(path)
    saved = model.get_weights()
    model.compile(keras.optimizers.Adam(), "mse")  # the next phase's optimizer
    model.fit(x, y, verbose=0)
    with warnings.catch_warnings(record=True) as plain:
        warnings.simplefilter("always")
        model.load_weights(path)  # what Keras says (so this test can fail)
    assert any("optimizer" in str(w.message) for w in plain)
    model.fit(x, y, verbose=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model_weights(model, path)
    assert not caught
    for found, expected in zip(model.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(found, expected)


def _digits_softmax(tmp_path):
    """`(data, model, run)`: 100 digits (30% to validate), an untrained
    compiled softmax regression on them, and an open run to save into."""
    import keras
    from helpers import small_digits

    from kerasvision import data as kvdata
    from kerasvision.runs import RunWriter

    x, y, names = small_digits(per_class=10)
    data = kvdata.from_arrays(x, y, class_names=names, val_split=0.3, test_split=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(data.input_shape), keras.layers.Rescaling(1 / 255.0),
        keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    return data, model, RunWriter(tmp_path / "run")


def _train(model, data):
    model.fit(data.dataset("train", batch_size=16), epochs=15, verbose=0)


def test_a_better_fine_tuned_model_is_kept_and_said(tmp_path):
    from kerasvision.training.selection import (
        FINE_TUNED_WEIGHTS,
        keep_better_of_warmup,
        save_warmup,
    )

    data, model, run = _digits_softmax(tmp_path)
    save_warmup(model, run)  # untrained: the worse "warm-up"
    _train(model, data)
    trained = model.get_weights()
    lines = []
    choice = keep_better_of_warmup(model, data, run, log=lines.append)
    assert choice["kept"] == "fine-tuned" and "fine_tuned_weights" not in choice
    assert choice["fine_tuned"]["val_loss"] < choice["warm_up"]["val_loss"]
    assert lines and lines[0].endswith("keeping the fine-tuned model")
    for found, expected in zip(model.get_weights(), trained, strict=True):
        np.testing.assert_array_equal(found, expected)
    assert not os.path.exists(run.file(*FINE_TUNED_WEIGHTS))
    assert os.path.isfile(run.file("checkpoints", "warmup.weights.h5"))


def test_a_more_accurate_warm_up_is_kept_and_the_fine_tuned_weights_stay(tmp_path):
    from kerasvision.training.selection import (
        FINE_TUNED_WEIGHTS,
        keep_better_of_warmup,
        load_model_weights,
        save_warmup,
    )

    data, model, run = _digits_softmax(tmp_path)
    _train(model, data)
    save_warmup(model, run)  # trained: the better warm-up
    warm = model.get_weights()
    # "Fine-tuning" that wrecked the model: every weight zero, chance accuracy.
    model.set_weights([np.zeros_like(w) for w in warm])
    lines = []
    choice = keep_better_of_warmup(model, data, run, log=lines.append)
    assert choice["kept"] == "warm-up"
    assert choice["warm_up"]["val_accuracy"] > choice["fine_tuned"]["val_accuracy"]
    assert "right on more validation images" in lines[0]
    for found, expected in zip(model.get_weights(), warm, strict=True):
        np.testing.assert_array_equal(found, expected)
    load_model_weights(model, run.file(*FINE_TUNED_WEIGHTS))
    assert all(not np.any(w) for w in model.get_weights())
