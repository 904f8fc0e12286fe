"""Regularization helpers: weight initializers and class weights.

- `INITIALIZERS` / `get_initializer`: the lectures' initializers by name, with
  parameters where they have them (`normal:0,1`, `uniform:-1,1`, `constant:0.1`),
  including `TorchUniform` (PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
- `compute_class_weights` / `add_sample_weights`: class weights applied as
  per-sample weights in the tf.data pipeline (Keras's `class_weight` argument is
  unreliable with tf.data and with one-hot/soft labels).

(Ensembles: `kerasvision.models.ensemble.build_ensemble`.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

__all__ = [
    "INITIALIZERS",
    "InitializerSpec",
    "TorchUniform",
    "add_sample_weights",
    "compute_class_weights",
    "get_initializer",
]


# === Initializers ===


@keras.saving.register_keras_serializable(package="kerasvision")
class TorchUniform(keras.initializers.Initializer):
    """PyTorch's default weight initialization: U(-sqrt(k), sqrt(k)), k = 1/fan_in.

    `fan_in` is `prod(shape[:-1])`: inputs x kernel area for a Conv kernel
    `(kh, kw, in, out)`, inputs for a Dense kernel `(in, out)`; a 1-D shape uses
    its length. (The same distribution as
    `VarianceScaling(1/3, "fan_in", "uniform")`.)

    Args:
        seed: None (draws from Keras's global generator: new values at every call,
            reproducible after `keras.utils.set_random_seed`), an int (the same
            values at every call, like Keras's initializers) or a
            `keras.random.SeedGenerator` (new, reproducible values at every
            call). Defaults to None.

    Example:
        >>> layer = keras.layers.Conv2D(8, 3, kernel_initializer=TorchUniform())
    """

    def __init__(self, seed=None):
        if isinstance(seed, dict):
            seed = keras.saving.deserialize_keras_object(seed)
        if seed is not None and (
            isinstance(seed, bool)
            or not isinstance(seed, int | keras.random.SeedGenerator)
        ):
            raise ValueError(
                f"seed must be None, an int or a keras.random.SeedGenerator, "
                f"got {seed!r}"
            )
        self.seed = seed

    @staticmethod
    def fan_in(shape) -> int:
        """`prod(shape[:-1])` (the length of a 1-D shape; 1 for a scalar)."""
        shape = tuple(int(d) for d in shape)
        if not shape:
            return 1
        if len(shape) == 1:
            return max(1, shape[0])
        return max(1, math.prod(shape[:-1]))

    def __call__(self, shape, dtype=None):
        bound = 1.0 / math.sqrt(self.fan_in(shape))
        return keras.random.uniform(
            shape, minval=-bound, maxval=bound, dtype=dtype, seed=self.seed
        )

    def get_config(self):
        config = super().get_config()
        seed = self.seed
        if isinstance(seed, keras.random.SeedGenerator):
            seed = keras.saving.serialize_keras_object(seed)
        config.update(seed=seed)
        return config


@dataclass(frozen=True)
class InitializerSpec:
    """How a registry name becomes a Keras initializer.

    Attributes:
        class_name: `keras.initializers` class name, or a class of this module.
        description: One line for help texts.
        kwargs: Constructor arguments as `(name, value)` pairs; they are also the
            defaults of the options.
        random: Whether it takes a seed.
        options: `(user name, constructor argument)` of each number that
            `name:V1,V2` sets, in that order (e.g. `(("MEAN", "mean"), ("STD",
            "stddev"))`); empty when the initializer takes none.
        positive: User names of the options that must be > 0.
        increasing: Whether the options must be strictly increasing (LOW < HIGH).
    """

    class_name: str
    description: str
    kwargs: tuple[tuple[str, object], ...] = ()
    random: bool = True
    options: tuple[tuple[str, str], ...] = ()
    positive: tuple[str, ...] = ()
    increasing: bool = False

    def usage(self, name: str) -> str:
        """The text form, e.g. `normal:MEAN,STD` (just `name` without options)."""
        if not self.options:
            return name
        return f"{name}:{','.join(option for option, _ in self.options)}"


#: name -> spec of the lectures' weight initializers.
INITIALIZERS: dict[str, InitializerSpec] = {
    "uniform": InitializerSpec(
        "RandomUniform",
        "U(LOW, HIGH) with uniform:LOW,HIGH (e.g. uniform:-1,1); plain uniform is "
        "U(-0.05, 0.05), Keras's default",
        (("minval", -0.05), ("maxval", 0.05)),
        options=(("LOW", "minval"), ("HIGH", "maxval")),
        increasing=True,
    ),
    "normal": InitializerSpec(
        "RandomNormal",
        "N(MEAN, STD^2) with normal:MEAN,STD (e.g. normal:0,1); plain normal is "
        "N(0, 0.05^2), Keras's default",
        (("mean", 0.0), ("stddev", 0.05)),
        options=(("MEAN", "mean"), ("STD", "stddev")),
        positive=("STD",),
    ),
    "constant": InitializerSpec(
        "Constant",
        "every weight = VALUE (constant:VALUE or constant=VALUE, default 0); "
        "symmetric, so units learn alike",
        (("value", 0.0),),
        random=False,
        options=(("VALUE", "value"),),
    ),
    "he_uniform": InitializerSpec(
        "HeUniform", "U(-sqrt(6/fan_in), +): He et al. 2015, for ReLU"
    ),
    "he_normal": InitializerSpec(
        "HeNormal", "truncated N(0, 2/fan_in): He et al. 2015, for ReLU"
    ),
    "glorot_uniform": InitializerSpec(
        "GlorotUniform",
        "U(-sqrt(6/(fan_in+fan_out)), +): Glorot & Bengio 2010 (Keras default)",
    ),
    "glorot_normal": InitializerSpec(
        "GlorotNormal", "truncated N(0, 2/(fan_in+fan_out)): Glorot & Bengio 2010"
    ),
    "torch_uniform": InitializerSpec(
        "TorchUniform", "U(-1/sqrt(fan_in), +): PyTorch's default for Conv/Linear"
    ),
}


def _initializer_values(key: str, spec: InitializerSpec, text: str | None, value):
    """The option values given as text after `:`/`=`, or as `value`, checked."""
    usage = spec.usage(key)
    if text is not None and value is not None:
        raise ValueError(f"initializer value given twice: {text!r} and {value!r}")
    if text is None and value is None:
        return None
    if not spec.options:
        given = text if text is not None else value
        raise ValueError(f"initializer {key!r} takes no value, got {given!r}")
    if text is not None:
        parts = [part.strip() for part in text.split(",")]
    elif isinstance(value, str) or not hasattr(value, "__len__"):
        parts = [value]
    else:
        parts = list(value)
    if len(parts) != len(spec.options):
        raise ValueError(
            f"initializer {usage!r} takes {len(spec.options)} number(s), got "
            f"{len(parts)}: {text if text is not None else value!r}"
        )
    values = []
    for (option, _), part in zip(spec.options, parts, strict=True):
        try:
            number = float(part)
        except (TypeError, ValueError):
            raise ValueError(
                f"initializer {usage!r}: {option} must be a number, got {part!r}"
            ) from None
        if not math.isfinite(number):
            raise ValueError(
                f"initializer {usage!r}: {option} must be finite, got {number}"
            )
        if option in spec.positive and not number > 0:
            raise ValueError(
                f"initializer {usage!r}: {option} must be > 0, got {number:g}"
            )
        values.append(number)
    if spec.increasing:
        for (low_name, _), (high_name, _), low, high in zip(
            spec.options, spec.options[1:], values, values[1:], strict=False
        ):
            if not low < high:
                raise ValueError(
                    f"initializer {usage!r}: {low_name} must be < {high_name}, got "
                    f"{low:g} and {high:g}"
                )
    return values


def get_initializer(
    name: str, *, seed: int | None = None, value: float | Sequence[float] | None = None
):
    """A new Keras initializer by registry name, with optional parameters.

    The name may carry the parameters: `normal:MEAN,STD`, `uniform:LOW,HIGH`,
    `constant:VALUE` (or the older `constant=VALUE`; `=` and `:` are the same).
    Random initializers get a `keras.random.SeedGenerator`, so one instance can be
    shared by all layers of a model and still give every layer its own values
    (a Keras initializer seeded with an int, or unseeded, returns the same values
    at every call); with `seed=None` the generator is seeded from Python's
    `random`, which `keras.utils.set_random_seed` seeds.

    Args:
        name: Key of `INITIALIZERS`, optionally followed by `:` and its numbers,
            e.g. "normal:0,1", "uniform:-0.5,0.5", "constant:0.1".
        seed: Seed of the random initializers (ignored by "constant"). Defaults
            to None.
        value: The numbers instead of in `name`: one number for "constant", a
            pair for "normal" (MEAN, STD) and "uniform" (LOW, HIGH). Defaults to
            None (the registry defaults, or the numbers in `name`).

    Returns:
        A `keras.initializers.Initializer`.

    Raises:
        ValueError: On an unknown name (the message lists the valid ones), a
            wrong count of numbers, a number that is not finite, STD <= 0,
            LOW >= HIGH, or numbers for an initializer that takes none.

    Example:
        >>> init = get_initializer("normal:0,1", seed=0)  # the lectures' N(0, 1)
        >>> model = build_model("bipyramidal_cnn", (32, 32, 3), 3,
        ...                     kernel_initializer=init)
    """
    if not isinstance(name, str):
        raise ValueError(f"initializer name must be a string, got {name!r}")
    text = name.strip().lower()
    cut = min((i for i in (text.find(":"), text.find("=")) if i >= 0), default=-1)
    key, options_text = (text, None) if cut < 0 else (text[:cut], text[cut + 1 :])
    key = key.strip()
    spec = INITIALIZERS.get(key)
    if spec is None:
        raise ValueError(
            f"unknown initializer {key!r}; valid: {', '.join(INITIALIZERS)}"
        )
    kwargs = dict(spec.kwargs)
    values = _initializer_values(key, spec, options_text, value)
    if values is not None:
        for (_, argument), number in zip(spec.options, values, strict=True):
            kwargs[argument] = number
    if spec.random:
        kwargs["seed"] = keras.random.SeedGenerator(seed)
    cls = (
        getattr(keras.initializers, spec.class_name, None) or globals()[spec.class_name]
    )
    return cls(**kwargs)


# === Class weights ===


def compute_class_weights(
    labels, num_classes: int, mode="balanced", *, class_names=None
) -> np.ndarray:
    """Per-class weights, for `add_sample_weights`.

    "balanced" is scikit-learn's formula `n_samples / (num_classes * count_c)`:
    every class contributes the same total weight.

    Args:
        labels: Int labels `[N]`, or one-hot/soft `[N, K]` (counted by their sums).
        num_classes: Number of classes K.
        mode: "balanced"; a dict `{class index or name: weight}` (missing
            classes get 1.0); or a sequence of K weights. Defaults to "balanced".
        class_names: Class names, to accept names as dict keys. Defaults to None.

    Returns:
        float64 array `[K]`.

    Raises:
        ValueError: On labels outside [0, K), a class without samples for
            "balanced", unknown dict keys, or negative/non-finite weights.

    Example:
        >>> compute_class_weights([0, 0, 0, 1], 2)
        array([0.66666667, 2.        ])
    """
    if not isinstance(num_classes, int | np.integer) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if isinstance(mode, str):
        if mode != "balanced":
            raise ValueError(
                f"class weight mode must be 'balanced', a dict or {num_classes} "
                f"numbers, got {mode!r}"
            )
        counts = _class_counts(labels, num_classes)
        empty = [str(i) for i in np.flatnonzero(counts <= 0)]
        if empty:
            raise ValueError(
                f"balanced class weights need samples of every class; none of "
                f"class(es) {', '.join(empty)}"
            )
        weights = counts.sum() / (num_classes * counts)
    elif isinstance(mode, dict):
        weights = np.ones(num_classes)
        names = [str(c) for c in class_names] if class_names is not None else []
        for key, weight in mode.items():
            if isinstance(key, str) and key in names:
                index = names.index(key)
            elif isinstance(key, int | np.integer) and 0 <= key < num_classes:
                index = int(key)
            else:
                valid = ", ".join(names) if names else f"0..{num_classes - 1}"
                raise ValueError(
                    f"unknown class {key!r} in class weights; valid: {valid}"
                )
            weights[index] = float(weight)
    else:
        weights = np.asarray(mode, dtype=np.float64)
        if weights.shape != (num_classes,):
            raise ValueError(
                f"class weights need {num_classes} values, got shape {weights.shape}"
            )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(f"class weights must be finite and >= 0, got {weights}")
    return weights.astype(np.float64)


def _class_counts(labels, num_classes):
    labels = np.asarray(labels)
    if labels.ndim == 2:
        if labels.shape[1] != num_classes:
            raise ValueError(
                f"labels have {labels.shape[1]} columns but num_classes is "
                f"{num_classes}"
            )
        return labels.astype(np.float64).sum(axis=0)
    labels = labels.astype(np.int64).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must be in [0, {num_classes}), got values from {labels.min()} "
            f"to {labels.max()}"
        )
    return np.bincount(labels, minlength=num_classes).astype(np.float64)


def add_sample_weights(dataset, class_weights):
    """Map a batched `(x, y)` dataset to `(x, y, w)` with per-sample class weights.

    - int labels `[B]`: `w = class_weights[y]`;
    - one-hot/soft labels `[B, K]`: `w = sum_k y_k * class_weights[k]` (the weight
      of the class for one-hot labels, the label-weighted mean for mixed labels);
    - one sigmoid target `[B, 1]` with 2 weights: `w = (1 - y) w_0 + y w_1`.

    Apply it after `apply_augmentation` (mixed labels are weighted by their mix).
    Tuple labels (several outputs) are weighted by their first element.

    Args:
        dataset: Batched `tf.data.Dataset` of `(x, y)`.
        class_weights: `[K]` weights, e.g. from `compute_class_weights`.

    Returns:
        The `tf.data.Dataset` of `(x, y, w)`, `w` float32 `[B]`.

    Raises:
        ValueError: If the elements are not `(x, y)` pairs or the label shape
            does not fit the number of weights.

    Example:
        >>> weights = compute_class_weights(data.splits["train"].labels, 3)
        >>> train = add_sample_weights(data.dataset("train"), weights)
    """
    import tensorflow as tf

    weights = np.asarray(class_weights, dtype=np.float32).reshape(-1)
    element = dataset.element_spec
    if not (isinstance(element, tuple) and len(element) == 2):
        raise ValueError(f"add_sample_weights needs (x, y) pairs, got {element}")
    target = element[1]
    if isinstance(target, tuple | list):
        target = target[0]
    rank = target.shape.rank
    columns = target.shape[-1] if rank == 2 else None
    if rank == 2 and columns == 1:
        if len(weights) != 2:
            raise ValueError(
                f"one-column (sigmoid) labels need 2 class weights, got {len(weights)}"
            )
    elif rank == 2 and columns not in (None, len(weights)):
        raise ValueError(f"labels have {columns} columns but {len(weights)} weights")
    elif rank not in (1, 2):
        raise ValueError(f"labels must be [B] or [B, K], got shape {target.shape}")
    table = tf.constant(weights)

    def weigh(x, y):
        labels = y[0] if isinstance(y, tuple | list) else y
        if rank == 1:
            sample = tf.gather(table, tf.cast(labels, tf.int32))
        elif columns == 1:
            p = tf.cast(labels[:, 0], tf.float32)
            sample = (1.0 - p) * table[0] + p * table[1]
        else:
            sample = tf.reduce_sum(tf.cast(labels, tf.float32) * table, axis=-1)
        return x, y, sample

    return dataset.map(weigh, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
