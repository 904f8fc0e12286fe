"""CutMix and MixUp: tf.data batch mixers (training only).

A mixer takes a batch of float images `[B, H, W, C]` and one-hot/soft labels
`[B, K]` and mixes every image with a partner of the same batch, labels alike.
All randomness comes from stateless seeds, so a pipeline is a function of its
per-batch seeds (parallel map calls included).
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["MIXERS", "cutmix", "mix_batch", "mixup"]


def _beta(shape, alpha, seeds):
    first = tf.random.stateless_gamma(shape, seed=seeds[0], alpha=alpha)
    second = tf.random.stateless_gamma(shape, seed=seeds[1], alpha=alpha)
    total = first + second
    # Both gammas underflow to 0 for tiny alpha: keep the image as it is.
    return tf.where(total > 0, first / tf.where(total > 0, total, 1.0), 1.0)


def cutmix(images, labels, partner, alpha, seeds):
    """CutMix (Yun et al. 2019) per image: box area ~ 1 - Beta, centre uniform,
    clipped.

    The label weight is recomputed from the clipped box, so it equals the exact
    fraction of pixels that came from the partner image.

    Args:
        images: Float images `[B, H, W, C]`.
        labels: One-hot/soft labels `[B, K]`.
        partner: Int `[B]`: the index of each image's partner in the batch.
        alpha: Beta distribution parameter.
        seeds: Four stateless seeds `[4, 2]`.

    Returns:
        `(mixed images, mixed labels)`.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    lam = _beta([batch], alpha, seeds[:2])
    ratio = tf.sqrt(1.0 - lam)
    cut_h = tf.cast(tf.cast(height, tf.float32) * ratio, tf.int32)
    cut_w = tf.cast(tf.cast(width, tf.float32) * ratio, tf.int32)
    centre_y = tf.random.stateless_uniform(
        [batch], seeds[2], minval=0, maxval=height, dtype=tf.int32
    )
    centre_x = tf.random.stateless_uniform(
        [batch], seeds[3], minval=0, maxval=width, dtype=tf.int32
    )
    top = tf.clip_by_value(centre_y - cut_h // 2, 0, height)
    bottom = tf.clip_by_value(centre_y + cut_h // 2, 0, height)
    left = tf.clip_by_value(centre_x - cut_w // 2, 0, width)
    right = tf.clip_by_value(centre_x + cut_w // 2, 0, width)
    rows = tf.range(height)[None, :]
    cols = tf.range(width)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < bottom[:, None])
    in_cols = (cols >= left[:, None]) & (cols < right[:, None])
    mask = in_rows[:, :, None, None] & in_cols[:, None, :, None]
    mixed = tf.where(mask, tf.gather(images, partner), images)
    area = tf.cast((bottom - top) * (right - left), tf.float32)
    kept = 1.0 - area / tf.cast(height * width, tf.float32)
    labels = kept[:, None] * labels + (1.0 - kept[:, None]) * tf.gather(labels, partner)
    return mixed, labels


def mixup(images, labels, partner, alpha, seeds):
    """MixUp (Zhang et al. 2018) per image: the same Beta weight for pixels and
    labels.

    Args:
        images: Float images `[B, H, W, C]`.
        labels: One-hot/soft labels `[B, K]`.
        partner: Int `[B]`: the index of each image's partner in the batch.
        alpha: Beta distribution parameter.
        seeds: Stateless seeds `[>= 2, 2]` (the first two are used).

    Returns:
        `(mixed images, mixed labels)`.
    """
    lam = _beta([tf.shape(images)[0]], alpha, seeds[:2])
    mixed = lam[:, None, None, None] * images + (
        1.0 - lam[:, None, None, None]
    ) * tf.gather(images, partner)
    labels = lam[:, None] * labels + (1.0 - lam[:, None]) * tf.gather(labels, partner)
    return mixed, labels


#: Registry name of a batch mixer -> its function.
MIXERS = {"cutmix": cutmix, "mixup": mixup}


def mix_batch(images, labels, seed, mixers):
    """Apply at most one mixer to the batch, chosen by the steps' probabilities.

    Args:
        images: Float images `[B, H, W, C]`.
        labels: One-hot/soft labels `[B, K]`.
        seed: Stateless seed `[2]` of this batch.
        mixers: The batch-mixer `AugmentStep`s (probabilities resolved, as
            `parse_augment_spec` returns them).

    Returns:
        `(images, labels)`: mixed by one mixer, or unchanged when the draw picks
        none.

    Example:
        >>> steps = parse_augment_spec("cutmix,mixup")
        >>> images, labels = mix_batch(images, labels, seed, steps)
    """
    seeds = tf.random.experimental.stateless_split(seed, 2 + 4 * len(mixers))
    batch = tf.shape(images)[0]
    partner = tf.argsort(tf.random.stateless_uniform([batch], seeds[0]))
    choice = tf.random.stateless_uniform([], seeds[1])

    def chain(index, threshold):
        if index == len(mixers):
            return images, labels
        step = mixers[index]
        mixer_seeds = seeds[2 + 4 * index : 6 + 4 * index]
        upper = threshold + step.probability

        def apply():
            return MIXERS[step.name](images, labels, partner, step.value, mixer_seeds)

        if index == len(mixers) - 1 and upper >= 1.0 - 1e-9:
            return apply()
        return tf.cond(choice < upper, apply, lambda: chain(index + 1, upper))

    return chain(0, 0.0)
