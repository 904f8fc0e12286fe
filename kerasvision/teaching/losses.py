"""Softmax and the cross-entropy losses, in a chosen log base.

The natural log matches Keras's losses; `base=10` reproduces lecture slides.

Example:
    >>> round(binary_cross_entropy(0.73, 1, base=10), 3)
    0.137
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["binary_cross_entropy", "categorical_cross_entropy", "softmax"]


def binary_cross_entropy(p, y, *, base: float = math.e):
    """Binary cross-entropy `-(y log p + (1 - y) log(1 - p))` in a chosen log base.

    The natural log (the default) matches `keras.losses.binary_crossentropy`;
    `base=10` reproduces lecture slides that compute BCE(0.73, 1) = 0.137.
    Unlike Keras, probabilities are not clipped, so `p = 0` with `y = 1` is `inf`
    and a confident correct prediction costs exactly 0.

    Args:
        p: Predicted probability of the positive class, scalar or array in [0, 1].
        y: Target, scalar or array in [0, 1] (soft labels allowed).
        base: Base of the logarithm, positive and not 1. Defaults to `math.e`.

    Returns:
        A float for scalar inputs, else an array of elementwise losses (no mean).

    Raises:
        ValueError: If `p` or `y` lies outside [0, 1] or `base` is invalid.

    Example:
        >>> round(binary_cross_entropy(0.73, 1, base=10), 3)
        0.137
    """
    if not base > 0 or base == 1:
        raise ValueError(f"base must be positive and not 1, got {base!r}.")
    probability = np.asarray(p, dtype="float64")
    target = np.asarray(y, dtype="float64")
    for name, value in (("p", probability), ("y", target)):
        if np.any((value < 0) | (value > 1)) or np.any(np.isnan(value)):
            raise ValueError(f"{name} must lie in [0, 1], got {value!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        # A zero-weight term contributes 0 even where its log is -inf (0 log 0 = 0).
        positive = np.where(target > 0, target * np.log(probability), 0.0)
        negative = np.where(target < 1, (1 - target) * np.log1p(-probability), 0.0)
    # + 0.0 turns the -0.0 of a zero loss into 0.0.
    loss = -(positive + negative) / math.log(base) + 0.0
    return float(loss) if loss.ndim == 0 else loss


def softmax(logits, *, axis: int = -1) -> np.ndarray:
    """Softmax `exp(z_i) / sum_j exp(z_j)`: logits to class probabilities.

    Computed as `exp(z - max z)`, so large logits do not overflow; the result is
    the same because softmax ignores a constant added to every logit.

    Args:
        logits: Array of real scores, classes along `axis`.
        axis: Class axis. Defaults to -1.

    Returns:
        float64 array of the logits' shape; every slice along `axis` sums to 1.

    Raises:
        ValueError: If a logit is NaN or infinite, or the array is empty.

    Example:
        >>> softmax([2.0, 1.0, 0.1]).round(3).tolist()
        [0.659, 0.242, 0.099]
    """
    logits = np.asarray(logits, dtype="float64")
    if logits.size == 0 or not np.all(np.isfinite(logits)):
        raise ValueError(f"logits must be finite and non-empty, got {logits!r}.")
    shifted = np.exp(logits - np.max(logits, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def categorical_cross_entropy(p, y, *, base: float = math.e):
    """Categorical cross-entropy `-sum_k y_k log p_k` in a chosen log base.

    The natural log (the default) matches `keras.losses.categorical_crossentropy`
    (and `sparse_categorical_crossentropy` for integer labels). For a one-hot
    target it is `-log p` of the true class. As in `binary_cross_entropy`,
    probabilities are not clipped: a zero probability for the true class is
    `inf`, a certain correct prediction costs exactly 0, and `0 log 0 = 0`.

    Args:
        p: Class probabilities, classes on the last axis, each row summing to 1
            (e.g. from `softmax`).
        y: Targets of `p`'s shape (one-hot or soft, in [0, 1]), or integer class
            indices of shape `p.shape[:-1]`.
        base: Base of the logarithm, positive and not 1. Defaults to `math.e`.

    Returns:
        A float for one distribution, else an array of per-row losses (no mean).

    Raises:
        ValueError: If `p` is outside [0, 1] or a row does not sum to 1, `y` has
            neither form, a class index is out of range, or `base` is invalid.

    Example:
        >>> round(categorical_cross_entropy([0.7, 0.2, 0.1], [1, 0, 0]), 4)
        0.3567
        >>> round(categorical_cross_entropy([0.7, 0.2, 0.1], 0, base=2), 4)
        0.5146
    """
    if not base > 0 or base == 1:
        raise ValueError(f"base must be positive and not 1, got {base!r}.")
    probability = np.asarray(p, dtype="float64")
    if probability.ndim == 0 or probability.shape[-1] == 0:
        raise ValueError(f"p needs a class axis, got shape {probability.shape}.")
    if np.any((probability < 0) | (probability > 1)) or np.any(np.isnan(probability)):
        raise ValueError(f"p must lie in [0, 1], got {probability!r}.")
    if not np.allclose(probability.sum(axis=-1), 1.0, rtol=0, atol=1e-6):
        raise ValueError(
            f"every row of p must sum to 1, got sums {probability.sum(axis=-1)!r}."
        )
    classes = probability.shape[-1]
    target = np.asarray(y)
    if target.shape == probability.shape[:-1] and (
        np.issubdtype(target.dtype, np.integer) or target.dtype == bool
    ):
        if np.any((target < 0) | (target >= classes)):
            raise ValueError(
                f"class indices must be in [0, {classes}), got {target!r}."
            )
        target = np.eye(classes)[target]
    elif target.shape != probability.shape:
        raise ValueError(
            f"y must have p's shape {probability.shape} or be integer class indices "
            f"of shape {probability.shape[:-1]}, got shape {target.shape}."
        )
    target = target.astype("float64")
    if np.any((target < 0) | (target > 1)) or np.any(np.isnan(target)):
        raise ValueError(f"y must lie in [0, 1], got {target!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(target > 0, target * np.log(probability), 0.0)
    # + 0.0 turns the -0.0 of a zero loss into 0.0.
    loss = -np.sum(terms, axis=-1) / math.log(base) + 0.0
    return float(loss) if loss.ndim == 0 else loss
