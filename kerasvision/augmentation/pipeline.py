"""The augmentation of a tf.data training pipeline: layers, seeds, mixers.

`build_augmentation` turns a spec into its per-image layers; `apply_augmentation`
maps a batched `(images, labels)` dataset through them and then through at most
one batch mixer (CutMix/MixUp). Everything works on raw float pixels in
[0, 255] (what `ImageData.dataset` yields) and only ever on the training split:
augmentation never lives inside an exported model.

Reproducibility: `apply_augmentation` draws one stateless seed per batch from
`tf.data.Dataset.random(seed)` (or from `(seed, epoch)`), and every layer draws
its random parameters from a seed derived from it, passed through the layer's
public API: `layer.get_random_transformation(images, training=True, seed=...)`,
then `layer.transform_images(images, transformation)`. The augmented stream is
then a function of the seed alone, parallel map calls included, and different in
every epoch; the layers' own `SeedGenerator`s are never used or touched.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerasvision._keras_internals import rand_augment_transformation
from kerasvision.augmentation.mixers import mix_batch
from kerasvision.augmentation.spec import AUGMENTATIONS, parse_augment_spec
from kerasvision.layers import augment as kerasvision_layers

__all__ = [
    "StatelessSeeds",
    "apply_augmentation",
    "augment_images",
    "build_augmentation",
    "random_transformation",
]

_LAYER_PREFIX = "augment_"

#: Seed slot of every registry entry: the order the entries were added in (new
#: ones go last), so adding an entry never changes the seeds of the others.
_SEED_SLOTS = (
    "flip",
    "crop",
    "rotate",
    "zoom",
    "translate",
    "brightness",
    "contrast",
    "randaugment",
    "noise",
    "erasing",
    "cutmix",
    "mixup",
    "shear",
    "resolution",
    "blur",
    "cutout",
)


def _layer_seeds(seed) -> dict:
    """Registry name -> integer layer seed, independent of which steps are present.

    `SeedSequence.generate_state(n)` extends, not reshuffles, when `n` grows, so
    every slot keeps its seed as entries are added.
    """
    if seed is None:
        return dict.fromkeys(AUGMENTATIONS)
    state = np.random.SeedSequence(int(seed)).generate_state(len(_SEED_SLOTS))
    slots = {
        name: int(v) % (2**31 - 1) for name, v in zip(_SEED_SLOTS, state, strict=True)
    }
    return {name: slots[name] for name in AUGMENTATIONS}


def build_augmentation(spec, *, seed: int | None = None):
    """The per-image augmentation layers of a spec, as a `keras.Sequential`.

    The batch mixers (cutmix, mixup) are not layers and are left out: use
    `apply_augmentation` for a tf.data pipeline. Layers are named
    `augment_<name>` and are the identity when called with `training=False`.

    Args:
        spec: Anything `parse_augment_spec` accepts.
        seed: Seed of the layers' random generators (used when the layers are
            called; `apply_augmentation` passes per-batch seeds instead).
            Defaults to None.

    Returns:
        A `keras.Sequential` named "augmentation", or None when the spec has no
        per-image step.

    Raises:
        ValueError: If the spec is invalid.

    Example:
        >>> augment = build_augmentation("flip,rotate=0.1", seed=0)
        >>> augmented = augment(images, training=True)
    """
    steps = parse_augment_spec(spec)
    seeds = _layer_seeds(seed)
    layers = []
    for step in steps:
        if step.is_mixer:
            continue
        name = step.spec.layer
        cls = getattr(keras.layers, name, None) or getattr(kerasvision_layers, name)
        layers.append(
            cls(
                **step.layer_kwargs(),
                seed=seeds[step.name],
                name=f"{_LAYER_PREFIX}{step.name}",
            )
        )
    if not layers:
        return None
    return keras.Sequential(layers, name="augmentation")


class StatelessSeeds(keras.random.SeedGenerator):
    """A `SeedGenerator` without state: draw i is `stateless_fold_in(seed, i)`.

    Keras's random layers pass their `seed=` argument to every random op they
    call (RandomZoom draws twice, RandomErasing five times), and the ops accept
    an int (the same seed for every draw) or a `SeedGenerator` (a new seed per
    draw, from its `next()`), not a tensor. A plain `SeedGenerator` keeps its
    state in a variable, which a tf.data function cannot create and parallel map
    calls would race on; this one derives every draw from one seed tensor, so
    what a traced function draws depends on that tensor only.

    Args:
        seed: Stateless seed, an int32/int64 tensor of shape `[2]`.

    Example:
        >>> seeds = StatelessSeeds(tf.constant([1, 2], tf.int64))
        >>> transformation = layer.get_random_transformation(
        ...     images, training=True, seed=seeds
        ... )
    """

    def __init__(self, seed):
        # No super().__init__(): it would create the state variable.
        self.name = "stateless_seeds"
        self.seed = tf.convert_to_tensor(seed)
        self.draws = 0

    def next(self, ordered=True):
        self.draws += 1
        return tf.random.experimental.stateless_fold_in(self.seed, self.draws)

    def get_config(self):
        raise TypeError("StatelessSeeds lives inside one traced function only")


def random_transformation(layer, images, seed):
    """`layer.get_random_transformation(images, training=True)` from a seed tensor.

    Args:
        layer: A Keras random image layer (`BaseImagePreprocessingLayer`), as
            `build_augmentation` makes them.
        images: The batch `[B, H, W, C]`.
        seed: Stateless seed, an int tensor of shape `[2]`.

    Returns:
        The layer's transformation, for `layer.transform_images`.

    Example:
        >>> transformation = random_transformation(layer, images, seed)
        >>> images = layer.transform_images(images, transformation)
    """
    seeds = StatelessSeeds(seed)
    if isinstance(layer, keras.layers.RandAugment):
        return rand_augment_transformation(layer, images, seeds)
    return layer.get_random_transformation(images, training=True, seed=seeds)


def augment_images(augmenter, images, seed):
    """Run `build_augmentation`'s layers on a batch, every draw from `seed`.

    Each layer's seed is `seed` folded with its registry entry's slot, so it
    does not depend on the other steps of the spec.

    Args:
        augmenter: The `keras.Sequential` of `build_augmentation`.
        images: Float images `[B, H, W, C]`.
        seed: Stateless seed of the batch, an int tensor of shape `[2]`.

    Returns:
        The augmented images.

    Raises:
        ValueError: If a layer is not one `build_augmentation` names.

    Example:
        >>> augment = build_augmentation("flip,rotate=0.1")
        >>> images = augment_images(augment, images, tf.constant([0, 1]))
    """
    for layer in augmenter.layers:
        name = layer.name.removeprefix(_LAYER_PREFIX)
        if name not in _SEED_SLOTS or layer.name == name:
            raise ValueError(
                f"augment_images needs the layers of build_augmentation, got "
                f"{layer.name!r}"
            )
        slot = _SEED_SLOTS.index(name) + 1
        layer_seed = tf.random.experimental.stateless_fold_in(seed, slot)
        transformation = random_transformation(layer, images, layer_seed)
        images = layer.transform_images(images, transformation, training=True)
    return images


def _check_dataset(dataset, num_classes) -> tuple:
    """`(image_spec, labels_one_hot)` of a batched `(images, labels)` dataset."""
    element = dataset.element_spec
    if not (isinstance(element, tuple) and len(element) == 2):
        raise ValueError(
            "apply_augmentation needs a dataset of (images, labels) pairs, got "
            f"{element}"
        )
    image_spec, label_spec = element
    if image_spec.shape.rank != 4:
        raise ValueError(
            f"apply_augmentation needs batched images [B, H, W, C], got shape "
            f"{image_spec.shape} (batch the dataset first)"
        )
    if not isinstance(num_classes, int | np.integer) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    labels_one_hot = label_spec.shape.rank == 2
    if labels_one_hot and label_spec.shape[-1] not in (None, num_classes):
        raise ValueError(
            f"labels have {label_spec.shape[-1]} columns but num_classes is "
            f"{num_classes}"
        )
    if label_spec.shape.rank not in (1, 2):
        raise ValueError(f"labels must be int [B] or float [B, K], got {label_spec}")
    return image_spec, labels_one_hot


def _batch_seeds(seed, epoch):
    """An endless dataset of stateless seeds `[2]`, one per batch."""
    if epoch is None or seed is None:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    else:
        from kerasvision.data.epochs import epoch_seed, per_epoch

        seeds = per_epoch(
            lambda value: tf.data.Dataset.random(seed=epoch_seed(seed, value)),
            epoch,
            tf.data.INFINITE_CARDINALITY,
        )
    return seeds.batch(2)


def apply_augmentation(
    dataset,
    spec,
    *,
    num_classes: int,
    seed: int | None = None,
    one_hot: bool = False,
    epoch=None,
):
    """Augment a batched `(images, labels)` training dataset.

    Per batch: the per-image layers with `training=True`, then at most one batch
    mixer. Integer labels become one-hot float `[B, K]` when there is a mixer (or
    `one_hot=True`), and mixed labels are soft; one-hot/soft input labels stay
    float. Only `dataset` is touched: pass the training split only.

    Args:
        dataset: Batched `tf.data.Dataset` of `(float images [B, H, W, C] 0-255,
            labels)`, labels int `[B]` or float `[B, K]`.
        spec: Anything `parse_augment_spec` accepts.
        num_classes: Number of classes K (for one-hot labels).
        seed: Seed of the augmentation stream: the same seed (and TensorFlow
            global seed, which `keras.utils.set_random_seed` sets) gives the same
            stream, parallel map calls included; every epoch differs. Defaults to
            None (not reproducible).
        one_hot: Return one-hot labels even without a mixer (e.g. for label
            smoothing, which needs a categorical loss). Defaults to False.
        epoch: An `epoch_variable()` (`kerasvision.data.epochs`): each epoch's
            stream is then a function of `(seed, epoch)`, as a resumed run needs.
            Defaults to None (tf.data's per-iteration streams).

    Returns:
        `(dataset, labels_one_hot)`: the new dataset and whether its labels are
        float `[B, K]` (compile with categorical cross-entropy then) rather than
        int `[B]`.

    Raises:
        ValueError: If the spec is invalid or the dataset is not batched
            `(images, labels)` with K-class labels.

    Example:
        >>> train = data.dataset("train", batch_size=32, seed=0)
        >>> train, one_hot = apply_augmentation(
        ...     train, "flip,rotate=0.1,cutmix", num_classes=data.num_classes, seed=0
        ... )
    """
    steps = parse_augment_spec(spec)
    image_spec, labels_one_hot = _check_dataset(dataset, num_classes)
    mixers = [s for s in steps if s.is_mixer]
    to_one_hot = not labels_one_hot and (one_hot or bool(mixers))
    augmenter = build_augmentation(steps, seed=seed)
    if augmenter is None and not mixers and not to_one_hot:
        return dataset, labels_one_hot
    if "randaugment" in [s.name for s in steps] and image_spec.shape[-1] != 3:
        raise ValueError(
            f"randaugment needs RGB images (3 channels), got {image_spec.shape[-1]}"
        )

    def transform(batch, batch_seed):
        images, labels = batch
        images = tf.cast(images, tf.float32)
        layer_seed, mix_seed = tf.unstack(
            tf.random.experimental.stateless_split(batch_seed, 2)
        )
        if augmenter is not None:
            images = tf.cast(augment_images(augmenter, images, layer_seed), tf.float32)
            images.set_shape(image_spec.shape)
        if to_one_hot:
            labels = tf.one_hot(tf.cast(labels, tf.int32), num_classes)
        elif labels_one_hot:
            labels = tf.cast(labels, tf.float32)
        if mixers:
            images, labels = mix_batch(images, labels, mix_seed, mixers)
        return images, labels

    augmented = tf.data.Dataset.zip((dataset, _batch_seeds(seed, epoch))).map(
        transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return augmented.prefetch(tf.data.AUTOTUNE), labels_one_hot or to_one_hot
