"""kerasvision.data.pipeline: `ImageData` tf.data pipelines (batch, cache, shuffle)."""

import numpy as np
from helpers import small_digits, write_image_folder

from kerasvision import data as kvdata


def test_folder_pipeline_batches_labels_and_streams(tmp_path):
    write_image_folder(tmp_path, per_class=5, size=(12, 18))
    data = kvdata.load_image_folder(
        tmp_path, image_size=(6, 9), val_split=0, test_split=0
    )
    batches = list(data.dataset("train", batch_size=4, cache="none", shuffle=False))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    assert images.shape == (10, 6, 9, 3) and images.dtype == np.float32
    # cats are dark, dogs bright (see write_image_folder)
    brightness = images.mean(axis=(1, 2, 3))
    assert np.all(brightness[labels == 0] < 100) and np.all(
        brightness[labels == 1] > 150
    )


def test_cache_modes_give_the_same_images(tmp_path):
    write_image_folder(tmp_path, per_class=4)
    data = kvdata.load_image_folder(tmp_path, image_size=8, val_split=0, test_split=0)

    def collect(cache):
        batches = data.dataset("train", batch_size=3, cache=cache, shuffle=False)
        return np.concatenate([x for x, _ in batches])

    memory = collect("memory")
    np.testing.assert_array_equal(memory, collect("none"))
    np.testing.assert_array_equal(memory, collect(str(tmp_path / "cachefile")))


def test_shuffle_is_seeded_and_reshuffles_each_epoch(tmp_path):
    x, y, names = small_digits(per_class=4)
    data = kvdata.from_arrays(x, y, class_names=names, val_split=0, test_split=0)
    dataset = data.dataset("train", batch_size=100, seed=7)
    first = next(iter(dataset))[1].numpy()
    second = next(iter(dataset))[1].numpy()
    again = next(iter(data.dataset("train", batch_size=100, seed=7)))[1].numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)


def test_pipelines_run_without_tf_datas_autotuning_model(tmp_path):
    # Deleting an iterator waits for its autotuning thread: with the model on,
    # some epochs stood still for 20-35 s at their start (benchmarks/epoch_start.py).
    from kerasvision.augmentation import apply_augmentation

    write_image_folder(tmp_path, per_class=4)
    folder = kvdata.load_image_folder(tmp_path, image_size=8, val_split=0.25)
    x, y, names = small_digits(per_class=4)
    arrays = kvdata.from_arrays(x, y, class_names=names)
    for data, split in ((folder, "train"), (folder, "val"), (arrays, "train")):
        dataset = data.dataset(split, batch_size=4)
        assert dataset.options().autotune.enabled is False
        assert next(iter(dataset))[0].shape[0] > 0  # and it still yields
    augmented, _ = apply_augmentation(
        arrays.dataset("train", batch_size=4), "flip", num_classes=10, seed=0
    )
    assert augmented.options().autotune.enabled is False
