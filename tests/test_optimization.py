"""Learning-rate schedules (each curve, Keras = NumPy, serialization) and
layer-wise learning rates."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasvision._choices import SCHEDULES
from kerasvision.optimization import (
    WarmupSchedule,
    keras_schedule,
    layer_multipliers,
    learning_rates,
)
from kerasvision.training.compile import make_optimizer


@pytest.mark.parametrize("kind", SCHEDULES)
def test_each_schedule_keras_equals_numpy_and_round_trips(kind):
    schedule = WarmupSchedule(kind, 1e-2, total_steps=200, warmup_steps=10)
    steps = np.arange(200)
    keras_curve = np.array([float(schedule(s)) for s in steps])
    np.testing.assert_allclose(
        keras_curve, learning_rates(schedule), rtol=1e-5, atol=1e-9
    )
    again = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(schedule)
    )
    assert again.get_config() == schedule.get_config()


@pytest.mark.parametrize("kind", SCHEDULES)
@pytest.mark.parametrize("warmup", [0, 10])
def test_the_optimizer_gets_keras_builtins_for_the_same_curve(kind, warmup):
    schedule = WarmupSchedule(kind, 1e-2, total_steps=200, warmup_steps=warmup)
    given = keras_schedule(schedule)
    steps = np.arange(220)
    if isinstance(given, float):
        curve = np.full(len(steps), given)
    else:
        curve = np.array([float(given(s)) for s in steps])
    np.testing.assert_allclose(curve, learning_rates(schedule, steps), rtol=1e-5,
                               atol=1e-9)  # fmt: skip
    builtin = kind == "cosine" or (kind == "constant" and not warmup)
    assert builtin != isinstance(given, WarmupSchedule)
    if kind == "cosine":  # serializes without kerasvision
        config = keras.saving.serialize_keras_object(given)
        assert config["module"].startswith("keras.")


def test_the_curves_have_their_shapes():
    peak, total, warm = 1e-2, 300, 15
    cosine = learning_rates(WarmupSchedule("cosine", peak, total, warm))
    assert np.all(np.diff(cosine[:warm]) > 0)  # linear warm-up
    np.testing.assert_allclose(cosine[warm], peak)
    assert np.all(np.diff(cosine[warm:]) <= 1e-12)  # then falls to ~0
    assert cosine[-1] < 1e-3 * peak
    step = learning_rates(WarmupSchedule("step", peak, total, 0))
    np.testing.assert_allclose(sorted(set(np.round(step / peak, 6))), [0.01, 0.1, 1])
    constant = learning_rates(WarmupSchedule("constant", peak, total, warm))
    np.testing.assert_allclose(constant[warm:], peak)
    onecycle = learning_rates(WarmupSchedule("onecycle", peak, total))
    top = int(np.argmax(onecycle))
    assert 0.25 * total <= top <= 0.35 * total
    np.testing.assert_allclose(onecycle[0], peak / 25, rtol=1e-3)
    assert onecycle[-1] < peak / 1e4


def test_schedule_refuses_unknown_kind():
    with pytest.raises(ValueError, match="schedule must be one of"):
        WarmupSchedule("linear", 1e-3, 10)


def _two_layer_model():
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="early")(inputs)
    outputs = keras.layers.Dense(2, name="late")(x)
    return keras.Model(inputs, outputs)


def test_layer_multipliers_are_geometric_over_depth():
    model = _two_layer_model()
    multipliers = layer_multipliers(model, 0.01)
    assert multipliers["early/kernel"] == pytest.approx(0.01)
    assert multipliers["late/kernel"] == pytest.approx(0.1)
    assert multipliers["early/bias"] == multipliers["early/kernel"]
    with pytest.raises(ValueError, match="--lr-mult"):
        layer_multipliers(model, 0.0)


def _one_update(multipliers):
    keras.utils.set_random_seed(0)
    model = _two_layer_model()
    before = [w.copy() for w in model.get_weights()]
    model.compile(make_optimizer("sgd", 0.1, multipliers=multipliers), loss="mse")
    x, y = np.ones((8, 4), "float32"), np.zeros((8, 2), "float32")
    model.train_on_batch(x, y)
    return [a - b for a, b in zip(model.get_weights(), before, strict=True)]


def test_layerwise_optimizer_scales_each_variables_update():
    plain = _one_update(None)
    scaled = _one_update({"early/kernel": 0.25, "early/bias": 0.25})
    np.testing.assert_allclose(scaled[0], 0.25 * plain[0], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(scaled[1], 0.25 * plain[1], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(scaled[2], plain[2], rtol=1e-6)


def test_layerwise_optimizer_round_trips_in_a_keras_file(tmp_path):
    from kerasvision.saving import load_model

    model = _two_layer_model()
    optimizer = make_optimizer(
        "adam",
        WarmupSchedule("cosine", 1e-3, 10, 1),
        multipliers={"early/kernel": 0.5},
        ema=0.9,
    )
    model.compile(optimizer, loss="mse")
    model.train_on_batch(np.ones((2, 4)), np.zeros((2, 2)))
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    assert again.optimizer.multipliers == {"early/kernel": 0.5}
    assert again.optimizer.use_ema
    assert again.optimizer.learning_rate.numpy() == pytest.approx(
        float(optimizer.learning_rate)
    )
