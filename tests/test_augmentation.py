"""Augmentation: the spec parser, per-image layers, CutMix/MixUp, preview."""

import hashlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import assert_keras_round_trip, assert_layer_config_round_trip
from PIL import Image
from scipy import ndimage

from kerasvision.augmentation import (
    AUGMENTATIONS,
    AugmentStep,
    PixelGaussianNoise,
    RandomBlur,
    RandomPadCrop,
    RandomResolution,
    _layer_seeds,
    _tile_title,
    apply_augmentation,
    build_augmentation,
    format_augment_spec,
    parse_augment_spec,
    preview_augmentation,
)

IMAGE_STEPS = [name for name, spec in AUGMENTATIONS.items() if spec.kind == "image"]
ALL_STEPS = ",".join(AUGMENTATIONS)


def _images(count=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (count, size, size, 3)).astype("float32")


def _dataset(images, labels, batch_size=4, repeat=1):
    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .batch(batch_size)
        .repeat(repeat)
    )


def _stream(dataset):
    digest = hashlib.sha256()
    for images, labels in dataset:
        digest.update(np.asarray(images).tobytes())
        digest.update(np.asarray(labels).tobytes())
    return digest.hexdigest()


# === Parser ===


@pytest.mark.parametrize("name", list(AUGMENTATIONS), ids=list(AUGMENTATIONS))
def test_parser_accepts_and_rejects_every_entry(name):
    spec = AUGMENTATIONS[name]
    (step,) = parse_augment_spec(name)
    assert step.name == name
    assert step.values == tuple(p.default for p in spec.params)
    assert step.probability == (1.0 if spec.kind == "batch" else None)
    # The canonical text parses back to the same step.
    assert parse_augment_spec(str(step)) == [step]
    param = spec.params[0]
    if param.kind == "choice":
        text, expected = f"{name}={param.choices[-1].upper()}", param.choices[-1]
        bad = ["diagonal", "1"]
    else:
        expected = param.maximum
        text = f"{name}={expected:g}"
        bad = [f"{param.maximum * 2 + 1:g}", f"{param.minimum:g}", "-1", "nan", "x"]
    (step,) = parse_augment_spec(text)
    assert step.value == expected
    for value in bad:
        with pytest.raises(ValueError, match=f"augmentation '{name}'"):
            parse_augment_spec(f"{name}={value}")
    with pytest.raises(ValueError, match=f"'{name}' is given twice"):
        parse_augment_spec(f"{name},{name}")


def test_parser_reads_the_documented_example():
    steps = parse_augment_spec(" flip, rotate=0.1,zoom=0.2 ,cutmix=1.0,mixup=0.2")
    assert [s.name for s in steps] == ["flip", "rotate", "zoom", "cutmix", "mixup"]
    assert format_augment_spec(steps) == (
        "flip=horizontal,rotate=0.1,zoom=0.2,cutmix=1@0.5,mixup=0.2@0.5"
    )
    assert parse_augment_spec("") == []
    assert parse_augment_spec(None) == []
    assert parse_augment_spec(["flip", "rotate=0.2"]) == parse_augment_spec(
        "flip,rotate=0.2"
    )
    # Steps run in registry order, whatever the text order.
    steps = parse_augment_spec("mixup,noise=5,flip=vertical")
    assert [s.name for s in steps] == ["flip", "noise", "mixup"]
    assert steps[0].value == "vertical"


def test_randaugment_takes_magnitude_and_num_ops():
    (step,) = parse_augment_spec("randaugment=0.3:4")
    assert step.values == (0.3, 4)
    assert step.layer_kwargs()["num_ops"] == 4
    assert step.layer_kwargs()["factor"] == 0.3
    with pytest.raises(ValueError, match="num_ops must be a whole number"):
        parse_augment_spec("randaugment=0.3:2.5")
    with pytest.raises(ValueError, match="takes randaugment=magnitude:num_ops"):
        parse_augment_spec("randaugment=0.3:2:1")


MIXER_PROBABILITIES = {
    "cutmix": {"cutmix": 1.0},
    "mixup": {"mixup": 1.0},
    "cutmix,mixup": {"cutmix": 0.5, "mixup": 0.5},
    "cutmix=2@0.3,mixup": {"cutmix": 0.3, "mixup": 0.7},
    "mixup=0.4@0.25,cutmix@0.25": {"cutmix": 0.25, "mixup": 0.25},
    "cutmix=1.0@0.5": {"cutmix": 0.5},
}


def test_mixer_probabilities():
    for text, expected in MIXER_PROBABILITIES.items():
        steps = parse_augment_spec(text)
        assert {s.name: s.probability for s in steps} == pytest.approx(expected), text


REJECTED = {
    "flp": "unknown augmentation 'flp'; valid: flip, crop, rotate",
    "rotate=abc": "factor must be a number, got 'abc'",
    "rotate=0.7": r"factor must be in \(0, 0.5\], got 0.7",
    "flip,rotate,flip": "'flip' is given twice",
    "rotate=0.1@0.5": "takes no '@probability'; only the batch mixers",
    "cutmix@0.7,mixup@0.6": r"add up to 1.3 \(> 1\)",
    "cutmix@1,mixup": "no probability left for mixup",
    "cutmix@0": r"probability must be in \(0, 1\]",
    "flip,,rotate": "empty step",
    "rotate=": "missing value",
    "flip=sideways": "mode must be one of horizontal, vertical",
}


def test_parser_rejects_with_one_line_messages():
    for text, message in REJECTED.items():
        with pytest.raises(ValueError, match=message) as error:
            parse_augment_spec(text)
        assert "\n" not in str(error.value), text
    with pytest.raises(ValueError, match="factor must be in"):
        parse_augment_spec([AugmentStep("rotate", (3.0,))])


# === Per-image layers ===


@pytest.mark.parametrize("name", IMAGE_STEPS, ids=IMAGE_STEPS)
def test_every_image_augmentation_is_identity_without_training(name):
    images = _images(8)
    augment = build_augmentation(name, seed=0)
    assert [layer.name for layer in augment.layers] == [f"augment_{name}"]
    np.testing.assert_array_equal(np.asarray(augment(images, training=False)), images)
    augmented = np.asarray(augment(images, training=True))
    assert augmented.shape == images.shape
    assert not np.array_equal(augmented, images)
    assert augmented.min() >= -1e-3 and augmented.max() <= 255 + 1e-3


def test_build_augmentation_skips_mixers_and_keeps_registry_order():
    augment = build_augmentation("mixup,zoom,flip", seed=1)
    assert [layer.name for layer in augment.layers] == ["augment_flip", "augment_zoom"]
    assert build_augmentation("cutmix,mixup") is None
    assert build_augmentation("") is None


def test_layer_seeds_stay_put_when_entries_are_added():
    seeds = _layer_seeds(7)
    assert list(seeds) == list(AUGMENTATIONS)
    assert len(set(seeds.values())) == len(AUGMENTATIONS)
    # The seeds of seed 7 before shear, resolution, blur and cutout were added.
    assert {name: seeds[name] for name in ("flip", "randaugment", "erasing")} == {
        "flip": 2083679832,
        "randaugment": 860110766,
        "erasing": 1396522860,
    }
    assert _layer_seeds(None) == dict.fromkeys(AUGMENTATIONS)


def test_random_pad_crop_takes_a_window_of_the_reflect_padded_image():
    images = _images(6, size=8)
    layer = RandomPadCrop(0.25, seed=3)
    output = np.asarray(layer(images, training=True))
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect")
    offsets = set()
    for index in range(len(images)):
        matches = [
            (top, left)
            for top in range(5)
            for left in range(5)
            if np.array_equal(
                padded[index, top : top + 8, left : left + 8], output[index]
            )
        ]
        assert matches, f"image {index} is not a window of its padded image"
        offsets.add(matches[0])
    assert len(offsets) > 1  # every image gets its own offset


def test_kerasvision_layers_config_round_trip():
    assert_layer_config_round_trip(RandomPadCrop(0.2, seed=1))
    assert_layer_config_round_trip(PixelGaussianNoise(5.0, seed=2))
    assert_layer_config_round_trip(RandomBlur(2.0, seed=3))
    assert_layer_config_round_trip(RandomBlur((0.5, 1.5), seed=3))
    assert_layer_config_round_trip(RandomResolution(0.25, seed=4))
    assert_layer_config_round_trip(RandomResolution((0.5, 0.5), seed=4))


def test_new_layers_round_trip_through_a_keras_file(tmp_path):
    images = _images(2, size=8)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            RandomBlur((0.5, 1.5), seed=1, name="blur"),
            RandomResolution(0.5, seed=2, name="resolution"),
        ]
    )
    loaded = assert_keras_round_trip(model, tmp_path / "augment.keras", images)
    for name in ("blur", "resolution"):
        assert loaded.get_layer(name).get_config() == model.get_layer(name).get_config()


@pytest.mark.parametrize(
    ("layer", "value"),
    [
        (RandomBlur, 0.0),
        (RandomBlur, -1.0),
        (RandomBlur, (2.0, 1.0)),
        (RandomBlur, float("nan")),
        (RandomResolution, 0.0),
        (RandomResolution, 1.5),
        (RandomResolution, (0.5, 1.2)),
        (RandomResolution, "half"),
    ],
)
def test_new_layers_reject_bad_ranges(layer, value):
    with pytest.raises(ValueError):
        layer(value)


def _high_frequency_energy(images):
    """Per image: mean squared difference of neighbouring pixels."""
    rows = np.diff(images, axis=1) ** 2
    cols = np.diff(images, axis=2) ** 2
    return rows.mean(axis=(1, 2, 3)) + cols.mean(axis=(1, 2, 3))


def test_blur_is_the_gaussian_filter_and_lowers_high_frequencies():
    images = _images(4, size=16)
    fixed = np.asarray(RandomBlur((1.5, 1.5))(images, training=True))
    # scipy's "mirror" is reflect padding without the edge pixel, as here; the
    # kernel radius is ceil(3 * 1.5) = 5.
    expected = ndimage.gaussian_filter(
        images.astype("float64"), (0, 1.5, 1.5, 0), mode="mirror", truncate=5 / 1.5
    )
    np.testing.assert_allclose(fixed, expected, atol=1e-3)

    blurred = np.asarray(build_augmentation("blur=2", seed=0)(images, training=True))
    before, after = _high_frequency_energy(images), _high_frequency_energy(blurred)
    # Sigma is drawn in [0, 2], so a nearly untouched image is allowed; none
    # gains high frequencies and on average they drop a lot.
    assert np.all(after <= before * (1 + 1e-5))
    assert after.mean() < 0.5 * before.mean()
    # A blur averages pixels: the mean brightness stays, the range shrinks.
    np.testing.assert_allclose(
        blurred.mean(axis=(1, 2)), images.mean(axis=(1, 2)), rtol=0.02
    )
    assert blurred.min() >= images.min() and blurred.max() <= images.max()
    # Sigma is drawn per image: the four images are blurred by different amounts.
    assert len(np.unique(np.round(after / before, 4))) == 4


def _down_up(images, size):
    """The reference: tf.image.resize down by area, back up by nearest."""
    height, width = images.shape[1:3]
    small = tf.image.resize(images, size, method="area")
    return tf.image.resize(small, (height, width), method="nearest").numpy()


@pytest.mark.parametrize("scale", [0.5, 0.3, 0.7, 0.85])
def test_resolution_equals_a_down_up_resize(scale):
    images = np.random.default_rng(1).uniform(0, 255, (3, 12, 20, 3)).astype("float32")
    size = (int(np.floor(scale * 12 + 0.5)), int(np.floor(scale * 20 + 0.5)))

    output = np.asarray(RandomResolution((scale, scale))(images, training=True))

    np.testing.assert_allclose(output, _down_up(images, size), atol=1e-3)


def test_resolution_half_gives_2x2_blocks_and_varies_per_image():
    images = _images(8, size=16)
    half = np.asarray(RandomResolution((0.5, 0.5))(images, training=True))
    # Every 2x2 block is one pixel: the mean of the four it replaces.
    blocks = images.reshape(8, 8, 2, 8, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(
        half, blocks.repeat(2, axis=1).repeat(2, axis=2), atol=1e-3
    )

    # The registry step draws a scale in [0.5, 1] per image: each output is the
    # down-up resize of its image at one of those sizes.
    output = np.asarray(
        build_augmentation("resolution=0.5", seed=0)(images, training=True)
    )
    sizes = []
    for image, augmented in zip(images, output, strict=True):
        matches = [
            size
            for size in range(1, 17)
            if np.allclose(_down_up(image[None], (size, size))[0], augmented, atol=1e-3)
        ]
        assert matches and min(matches) >= 8, matches
        sizes.append(matches[0])
    assert len(set(sizes)) > 1


def _bilinear(image, rows, cols):
    """Sample `image` at float coordinates (inside the image) bilinearly."""
    height, width = image.shape[:2]
    rows, cols = np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)
    top, left = np.floor(rows).astype(int), np.floor(cols).astype(int)
    dy, dx = (rows - top)[..., None], (cols - left)[..., None]
    bottom, right = np.minimum(top + 1, height - 1), np.minimum(left + 1, width - 1)
    return (
        image[top, left] * (1 - dy) * (1 - dx)
        + image[top, right] * (1 - dy) * dx
        + image[bottom, left] * dy * (1 - dx)
        + image[bottom, right] * dy * dx
    )


def test_shear_moves_pixels_along_the_shear_matrix():
    images = _images(4, size=16)
    layer = build_augmentation("shear=0.5", seed=3).layers[0]
    assert isinstance(layer, keras.layers.RandomShear)
    transformation = layer.get_random_transformation(images, training=True)
    output = np.asarray(layer.transform_images(images, transformation, training=True))
    factors = np.asarray(transformation["shear_factor"])
    assert np.all(np.abs(factors) <= 0.5) and np.any(np.abs(factors) > 0.1)

    # Output pixel (row y, column x) comes from column x + s_x y, row y + s_y x.
    rows, cols = np.mgrid[0:16, 0:16].astype("float64")
    for image, augmented, (shear_x, shear_y) in zip(
        images, output, factors, strict=True
    ):
        source_cols, source_rows = cols + shear_x * rows, rows + shear_y * cols
        inside = (
            (source_cols >= 0)
            & (source_cols <= 15)
            & (source_rows >= 0)
            & (source_rows <= 15)
        )
        expected = _bilinear(image, source_rows, source_cols)
        assert inside.sum() > 100
        np.testing.assert_allclose(augmented[inside], expected[inside], atol=1e-2)
        assert not np.allclose(augmented, image)


def test_cutout_erases_the_box_erasing_would_with_grey():
    images = _images(6, size=16)
    erasing = keras.layers.RandomErasing(
        **AugmentStep("erasing", (1.0,)).layer_kwargs(), seed=5
    )
    cutout = keras.layers.RandomErasing(
        **AugmentStep("cutout", (1.0,)).layer_kwargs(), seed=5
    )
    erased = np.asarray(erasing(images, training=True))
    cut = np.asarray(cutout(images, training=True))

    for index in range(len(images)):
        changed = np.any(cut[index] != images[index], axis=-1)
        rows, cols = np.nonzero(changed)
        assert rows.size > 0
        box = np.zeros_like(changed)
        box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
        # Cutout: one solid grey rectangle, the rest untouched ...
        np.testing.assert_array_equal(changed, box)
        np.testing.assert_array_equal(cut[index][box], 127.5)
        # ... exactly where erasing (same seed) puts its noise.
        np.testing.assert_array_equal(erased[index][~box], images[index][~box])
        assert np.mean(erased[index][box] != images[index][box]) > 0.9
    (step,) = parse_augment_spec("cutout")
    assert step.value == 1.0  # DeVries & Taylor cut every image
    (step,) = parse_augment_spec("cutout=0.5")
    assert step.layer_kwargs()["factor"] == (0.5, 0.5)


# === tf.data pipeline ===


def test_stream_is_reproducible_for_a_seed_and_differs_otherwise():
    images, labels = _images(4), np.array([0, 1, 2, 0])
    source = _dataset(images, labels)
    # Every step at once: each layer must take the per-batch seed.
    first, one_hot = apply_augmentation(source, ALL_STEPS, num_classes=3, seed=7)
    again, _ = apply_augmentation(source, ALL_STEPS, num_classes=3, seed=7)
    other, _ = apply_augmentation(source, ALL_STEPS, num_classes=3, seed=8)
    assert one_hot
    epoch1 = _stream(first)
    assert _stream(again) == epoch1
    assert _stream(other) != epoch1
    assert _stream(first) != epoch1  # the next epoch gets new augmentations
    batch_images, batch_labels = next(iter(first))
    assert batch_images.shape == (4, 16, 16, 3)
    assert batch_images.dtype == tf.float32
    assert batch_labels.shape == (4, 3)
    np.testing.assert_allclose(np.sum(batch_labels, axis=1), 1.0, atol=1e-6)


def test_label_format_and_one_hot_flag():
    images, labels = _images(4), np.array([0, 2, 1, 2])
    source = _dataset(images, labels)
    same, one_hot = apply_augmentation(source, "", num_classes=3)
    assert same is source and not one_hot
    flipped, one_hot = apply_augmentation(source, "flip", num_classes=3, seed=0)
    assert not one_hot
    np.testing.assert_array_equal(next(iter(flipped))[1], labels)
    forced, one_hot = apply_augmentation(source, "flip", num_classes=3, one_hot=True)
    assert one_hot
    np.testing.assert_array_equal(next(iter(forced))[1], np.eye(3)[labels])
    soft = _dataset(images, np.eye(3, dtype="float32")[labels])
    _, one_hot = apply_augmentation(soft, "flip", num_classes=3, seed=0)
    assert one_hot


def test_apply_augmentation_rejects_unbatched_or_mismatched_data():
    images, labels = _images(4), np.array([0, 1, 2, 0])
    unbatched = tf.data.Dataset.from_tensor_slices((images, labels))
    with pytest.raises(ValueError, match="batched images"):
        apply_augmentation(unbatched, "flip", num_classes=3)
    soft = _dataset(images, np.eye(3, dtype="float32")[labels])
    with pytest.raises(ValueError, match="3 columns but num_classes is 5"):
        apply_augmentation(soft, "cutmix", num_classes=5)


def _constant_batch():
    """4 images of one constant value each, with distinct labels 0..3."""
    values = np.array([10.0, 80.0, 150.0, 220.0], dtype="float32")
    images = np.broadcast_to(values[:, None, None, None], (4, 16, 16, 3)).copy()
    return values, images, np.arange(4)


def test_cutmix_label_weights_equal_the_pasted_area():
    values, images, labels = _constant_batch()
    dataset, one_hot = apply_augmentation(
        _dataset(images, labels, repeat=25), "cutmix=1.0", num_classes=4, seed=0
    )
    assert one_hot
    partial = 0
    for batch_images, batch_labels in dataset:
        batch_images, batch_labels = np.asarray(batch_images), np.asarray(batch_labels)
        np.testing.assert_allclose(batch_labels.sum(axis=1), 1.0, atol=1e-6)
        for index in range(4):
            pixels = batch_images[index]
            # Every pixel comes from one of the images, whole (no blending) ...
            assert np.all(np.isin(pixels, values))
            # ... and each image's label weight is its fraction of the pixels.
            fractions = np.array([np.mean(pixels == v) for v in values])
            np.testing.assert_allclose(batch_labels[index], fractions, atol=1e-6)
            partial += 0.0 < fractions[index] < 1.0
    assert partial > 20  # the boxes were neither always empty nor always full


def test_mixup_blends_images_exactly_like_labels():
    values, images, labels = _constant_batch()
    dataset, _ = apply_augmentation(
        _dataset(images, labels, repeat=10), "mixup=0.4", num_classes=4, seed=0
    )
    weights = []
    for batch_images, batch_labels in dataset:
        batch_images, batch_labels = np.asarray(batch_images), np.asarray(batch_labels)
        np.testing.assert_allclose(batch_labels.sum(axis=1), 1.0, atol=1e-6)
        assert np.all(batch_labels >= 0)
        expected = batch_labels @ values  # the same convex combination
        np.testing.assert_allclose(
            batch_images,
            np.broadcast_to(expected[:, None, None, None], images.shape),
            rtol=1e-5,
            atol=1e-3,
        )
        weights.extend(batch_labels.max(axis=1))
    assert min(weights) < 0.95  # some images were really mixed


def test_both_mixers_switch_per_batch():
    values, images, labels = _constant_batch()
    dataset, _ = apply_augmentation(
        _dataset(images, labels, repeat=40),
        "cutmix@0.4,mixup@0.4",
        num_classes=4,
        seed=0,
    )
    kinds = set()
    for batch_images, batch_labels in dataset:
        batch_images, batch_labels = np.asarray(batch_images), np.asarray(batch_labels)
        if np.array_equal(batch_labels, np.eye(4)):
            kinds.add("none")
        elif np.all(np.isin(batch_images, values)):
            kinds.add("cutmix")
        else:
            kinds.add("mixup")
    assert kinds == {"none", "cutmix", "mixup"}


# === Preview ===


def test_preview_writes_a_png_grid(tmp_path):
    names = ["cat", "dog", "owl"]
    assert _tile_title([0.62, 0.38, 0.0], names) == "0.62 cat + 0.38 dog"
    assert _tile_title([0.0, 1.0, 0.0], names) == "dog"
    images = _images(3, size=16)
    path = tmp_path / "sub" / "preview.png"
    result = preview_augmentation(
        images,
        np.array([0, 1, 2]),
        "flip,rotate,cutmix,mixup",
        path,
        class_names=names,
        count=3,
        rows=2,
    )
    assert result == str(path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width > 100 and height > 100
    assert [p.name for p in path.parent.iterdir()] == ["preview.png"]  # no temp left
    with pytest.raises(ValueError, match="nothing to preview"):
        preview_augmentation(images, [0, 1, 2], "", path, class_names=["a", "b", "c"])


def test_pixel_gaussian_noise_is_the_additive_layer_in_pixel_units(tmp_path):
    from kerasvision.layers.noise import AdditiveGaussianNoise

    images = _images(2, size=8)
    old = PixelGaussianNoise(8.0, seed=3)
    new = AdditiveGaussianNoise(8.0, (0, 255), seed=3, relative=False)
    np.testing.assert_array_equal(
        np.asarray(old(images, training=True)), np.asarray(new(images, training=True))
    )
    # A model saved with the old layer name loads as before.
    model = keras.Sequential([keras.Input((8, 8, 3)), PixelGaussianNoise(8.0, seed=3)])
    loaded = assert_keras_round_trip(model, tmp_path / "old.keras", images)
    assert type(loaded.layers[0]).__name__ == "PixelGaussianNoise"
    assert loaded.layers[0].stddev == 8.0 and not loaded.layers[0].relative
