"""Optimizers: gradient accumulation (`--accumulate`) end to end."""

from __future__ import annotations

import numpy as np
import pytest

from kerasvision.training.compile import make_optimizer


def test_make_optimizer_accumulates_gradients():
    assert make_optimizer("adam", 1e-3, accumulate=4).gradient_accumulation_steps == 4
    assert make_optimizer("sgd", 0.1, accumulate=1).gradient_accumulation_steps is None
    assert make_optimizer("adam", 1e-3).gradient_accumulation_steps is None
    layerwise = make_optimizer("adam", 1e-3, accumulate=2, multipliers={"a": 0.5})
    assert layerwise.gradient_accumulation_steps == 2
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="accumulate must be an integer"):
            make_optimizer("adam", 1e-3, accumulate=bad)


def test_four_accumulated_batches_of_8_make_one_update_of_32():
    """The averaged gradients of 4 batches of 8 are the gradient of their 32."""
    import keras

    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")

    def trained(batch_size, accumulate):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        optimizer = make_optimizer("sgd", 0.1, momentum=0.0, accumulate=accumulate)
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        return model.get_weights(), int(model.optimizer.iterations)

    (weights32, steps32), (weights8, steps8) = trained(32, None), trained(8, 4)
    assert steps32 == steps8 == 1
    for a, b in zip(weights32, weights8, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_accumulate_4_of_batch_8_matches_batch_32_on_digits(tmp_path):
    """The effective batch of 32 reaches the accuracy of `--batch-size 32`, and
    the learning-rate schedule still spans the whole run (it counts batches)."""
    from kerasvision.training import fit

    common = {
        "dataset": "digits",
        "model_kwargs": {"filters": (8, 16), "dense_units": ()},
        "epochs": 6,
        "lr": 0.004,
        "seed": 0,
        "export": False,
        "calibrate": False,
        "verbose": 0,
        "log": lambda line: None,
    }
    whole = fit(output=str(tmp_path / "b32"), batch_size=32, **common)
    accumulated = fit(output=str(tmp_path / "b8x4"), batch_size=8, accumulate=4,
                      **common)  # fmt: skip
    assert abs(accumulated.metrics["accuracy"] - whole.metrics["accuracy"]) <= 0.01
    assert accumulated.metrics["accuracy"] > 0.9
    assert accumulated.config.to_json()["accumulate"] == 4
    rates = accumulated.history["learning_rate"]
    assert rates[-1] == pytest.approx(0.0, abs=1e-7) and max(rates) > 0.003
    batches = 6 * int(np.ceil(len(accumulated.data.splits["train"]) / 8))
    assert int(accumulated.model.optimizer.iterations) == batches // 4


def test_a_multilabel_head_compiles_to_binary_cross_entropy_per_label():
    import keras

    from kerasvision.layers.label_sets import LabelWeightedBinaryCrossentropy
    from kerasvision.models.cnn import build_bipyramidal_cnn
    from kerasvision.training.compile import compile_classifier, has_multi_label_head

    model = build_bipyramidal_cnn((8, 8, 1), 3, filters=(4,), dense_units=(),
                                  classifier_activation="multilabel")  # fmt: skip
    assert has_multi_label_head(model)
    assert not has_multi_label_head(
        build_bipyramidal_cnn((8, 8, 1), 3, filters=(4,), dense_units=())
    )
    compile_classifier(model, keras.optimizers.Adam(), label_smoothing=0.1)
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy)
    compile_classifier(model, keras.optimizers.Adam(), positive_weights=[1, 2, 3])
    assert isinstance(model.loss, LabelWeightedBinaryCrossentropy)
    x = np.zeros((4, 8, 8, 1), "float32")
    y = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]], "float32")
    logs = model.fit(x, y, epochs=1, verbose=0).history
    assert {"loss", "accuracy", "pr_auc"} <= set(logs)
