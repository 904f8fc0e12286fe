"""Tests for `kerasvision.teaching.losses`: softmax and cross-entropy vs Keras."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasvision.teaching.losses import (
    binary_cross_entropy,
    categorical_cross_entropy,
    softmax,
)

# === Binary cross-entropy ===


def test_binary_cross_entropy_lecture_value_is_base_10():
    assert binary_cross_entropy(0.73, 1, base=10) == pytest.approx(0.137, abs=5e-4)
    assert binary_cross_entropy(0.73, 1, base=10) == pytest.approx(-math.log10(0.73))


def test_binary_cross_entropy_natural_log_matches_keras():
    keras_loss = keras.losses.binary_crossentropy(
        np.array([[1.0]], dtype="float32"), np.array([[0.73]], dtype="float32")
    )

    natural = binary_cross_entropy(0.73, 1)

    assert natural == pytest.approx(0.3147, abs=1e-4)
    assert natural == pytest.approx(float(keras_loss[0]), rel=1e-5)


def test_binary_cross_entropy_arrays_match_keras_per_sample():
    probabilities = np.array([0.1, 0.5, 0.73, 0.99, 0.3])
    targets = np.array([0.0, 1.0, 1.0, 0.0, 0.25])

    keras_loss = keras.losses.binary_crossentropy(
        targets[:, None].astype("float32"), probabilities[:, None].astype("float32")
    )

    np.testing.assert_allclose(
        binary_cross_entropy(probabilities, targets),
        keras.ops.convert_to_numpy(keras_loss),
        rtol=1e-5,
    )


def test_binary_cross_entropy_edges_are_exact_not_clipped():
    assert binary_cross_entropy(1.0, 1) == 0.0
    assert binary_cross_entropy(0.0, 0) == 0.0
    assert binary_cross_entropy(0.0, 1) == math.inf


def test_zero_losses_are_positive_zero():
    # -0.0 == 0.0, so compare signs: a printed "-0.0" puzzles students.
    for loss in (
        binary_cross_entropy(1, 1),
        binary_cross_entropy(0.0, 0),
        binary_cross_entropy(1.0, 1, base=10),
        categorical_cross_entropy([0.0, 1.0], 1),
        categorical_cross_entropy([0.0, 1.0, 0.0], [0, 1, 0]),
    ):
        assert loss == 0.0
        assert math.copysign(1.0, loss) == 1.0
    array = binary_cross_entropy(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    np.testing.assert_array_equal(np.signbit(array), [False, False])


@pytest.mark.parametrize(
    ("p", "y", "base"),
    [(1.5, 1, math.e), (0.5, -0.1, math.e), (0.5, 1, 1), (0.5, 1, 0)],
)
def test_binary_cross_entropy_rejects_invalid_arguments(p, y, base):
    with pytest.raises(ValueError):
        binary_cross_entropy(p, y, base=base)


# === Softmax and categorical cross-entropy ===


def test_softmax_matches_keras_and_survives_large_logits():
    logits = np.random.default_rng(9).normal(0, 3, size=(4, 5))

    probabilities = softmax(logits)

    np.testing.assert_allclose(
        probabilities,
        keras.ops.convert_to_numpy(keras.activations.softmax(tf.constant(logits))),
        rtol=1e-12,
    )
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0)
    np.testing.assert_allclose(
        softmax([2.0, 1.0, 0.1]), [0.659, 0.242, 0.099], atol=5e-4
    )
    np.testing.assert_allclose(softmax([1000.0, 1000.0]), [0.5, 0.5])
    np.testing.assert_allclose(softmax(logits.T, axis=0), probabilities.T)
    with pytest.raises(ValueError, match="finite"):
        softmax([1.0, np.inf])


def test_categorical_cross_entropy_matches_keras():
    probabilities = softmax(np.random.default_rng(10).normal(size=(5, 4)))
    labels = np.array([0, 3, 1, 1, 2])
    soft = np.full((5, 4), 0.1) + 0.6 * np.eye(4)[labels]

    dense_keras = keras.losses.categorical_crossentropy(
        np.eye(4)[labels].astype("float32"), probabilities.astype("float32")
    )
    sparse_keras = keras.losses.sparse_categorical_crossentropy(
        labels, probabilities.astype("float32")
    )
    soft_keras = keras.losses.categorical_crossentropy(
        soft.astype("float32"), probabilities.astype("float32")
    )

    np.testing.assert_allclose(
        categorical_cross_entropy(probabilities, np.eye(4)[labels]),
        keras.ops.convert_to_numpy(dense_keras),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        categorical_cross_entropy(probabilities, labels),
        keras.ops.convert_to_numpy(sparse_keras),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        categorical_cross_entropy(probabilities, soft),
        keras.ops.convert_to_numpy(soft_keras),
        rtol=1e-5,
    )


def test_categorical_cross_entropy_is_minus_log_of_the_true_class():
    p = [0.7, 0.2, 0.1]
    assert categorical_cross_entropy(p, [1, 0, 0]) == pytest.approx(-math.log(0.7))
    assert categorical_cross_entropy(p, 2, base=10) == pytest.approx(-math.log10(0.1))
    # With two classes it is the binary cross-entropy of the positive class.
    assert categorical_cross_entropy([0.27, 0.73], 1) == pytest.approx(
        binary_cross_entropy(0.73, 1)
    )
    assert categorical_cross_entropy([1.0, 0.0], 1) == math.inf
    assert categorical_cross_entropy([1.0, 0.0], 0) == 0.0


@pytest.mark.parametrize(
    ("p", "y", "base"),
    [
        ([0.5, 0.6], [1, 0], math.e),  # p does not sum to 1
        ([1.5, -0.5], [1, 0], math.e),
        ([0.5, 0.5], 2, math.e),  # class index out of range
        ([0.5, 0.5], [1, 0, 0], math.e),
        ([0.5, 0.5], [1.5, 0.0], math.e),
        ([0.5, 0.5], 1, 1),
        (0.5, 1, math.e),  # no class axis
    ],
)
def test_categorical_cross_entropy_rejects_invalid_arguments(p, y, base):
    with pytest.raises(ValueError):
        categorical_cross_entropy(p, y, base=base)
