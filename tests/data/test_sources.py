"""kerasvision.data.sources: scanning, checking, folders, arrays, built-in datasets.

The decoding and resizing tests here exercise `kerasvision.data.images`.
"""

import os

import numpy as np
import pytest
from helpers import small_digits, write_image_folder
from PIL import Image

from kerasvision import data as kvdata
from kerasvision.data.datasets import list_datasets, load_builtin


def _decode_path(path, channels=3, size=None, resize="stretch", native=None):
    import tensorflow as tf

    check = kvdata.check_image_file(path)
    assert check.error is None, check.error
    native = check.native if native is None else native
    if size is None:
        size = Image.open(path).size[::-1]
    image = kvdata.decode_and_resize(
        tf.constant(path),
        tf.constant(native),
        image_size=size,
        channels=channels,
        resize=resize,
    )
    return image.numpy()


# === Scanning ===


def test_scan_finds_nested_images_of_every_extension(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)
    files = {
        "a/one.jpg": "JPEG",
        "a/deep/er/two.PNG": "PNG",
        "a/three.jpeg": "JPEG",
        "b/four.bmp": "BMP",
        "b/five.gif": "GIF",
        "b/x/six.webp": "WEBP",
    }
    for relative, fmt in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, format=fmt)
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden").mkdir()
    paths, labels, classes = kvdata.scan_image_folder(tmp_path)
    assert classes == ["a", "b"]
    assert len(paths) == 6
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert any(p.endswith(os.path.join("deep", "er", "two.PNG")) for p in paths)


@pytest.mark.parametrize(
    "layout, message",
    [
        ({}, "at least 2 class folders"),
        ({"only": 2}, "found only 'only'"),
        ({"a": 2, "b": 0}, "contains no images"),
    ],
    ids=["empty", "one-class", "empty-class"],
)
def test_scan_rejects_bad_layouts(tmp_path, layout, message):
    for name, count in layout.items():
        write_image_folder(tmp_path, classes=(name,), per_class=count) if count else (
            (tmp_path / name).mkdir()
        )
    with pytest.raises(ValueError, match=message):
        kvdata.scan_image_folder(tmp_path)


def test_scan_missing_directory_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        kvdata.scan_image_folder(tmp_path / "nope")


# === Bad files ===


def test_bad_files_are_found_skipped_and_listed(tmp_path):
    write_image_folder(tmp_path, per_class=4)
    good = tmp_path / "cats" / "cats_0.png"
    jpeg = tmp_path / "dogs" / "full.jpg"
    Image.open(tmp_path / "dogs" / "dogs_0.png").convert("RGB").save(jpeg, quality=95)
    content = jpeg.read_bytes()
    bad = {
        tmp_path / "cats" / "zero.jpg": b"",
        tmp_path / "cats" / "text.png": b"hello, not an image",
        tmp_path / "dogs" / "truncated.jpg": content[: len(content) // 2],
        tmp_path / "dogs" / "truncated.png": good.read_bytes()[:-40],
    }
    for path, payload in bad.items():
        path.write_bytes(payload)
    reported = []
    data = kvdata.load_image_folder(
        tmp_path, image_size=8, on_bad_file=lambda p, r: reported.append(p)
    )
    assert sorted(reported) == sorted(str(p) for p in bad)
    assert sorted(p for p, _ in data.bad_files) == sorted(str(p) for p in bad)
    reasons = dict(data.bad_files)
    assert "empty" in reasons[str(tmp_path / "cats" / "zero.jpg")]
    assert "not an image" in reasons[str(tmp_path / "cats" / "text.png")]
    assert "truncated" in reasons[str(tmp_path / "dogs" / "truncated.jpg")]
    all_paths = [p for s in data.splits.values() for p in s.paths]
    assert len(all_paths) == 9 and not set(all_paths) & {str(p) for p in bad}


def test_class_with_only_bad_files_is_an_error(tmp_path):
    write_image_folder(tmp_path, classes=("good",), per_class=3)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="'broken' has no valid images"):
        kvdata.load_image_folder(tmp_path)


# === Decoding every mode ===


def test_modes_convert_to_rgb_and_gray(tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (6, 7, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    cases = {
        "gray.png": image.convert("L"),
        "rgba.png": image.convert("RGBA"),
        "palette.png": image.convert("P"),
        "cmyk.jpg": image.convert("CMYK"),
    }
    for name, img in cases.items():
        img.save(tmp_path / name)
    gray = np.asarray(image.convert("L"))
    np.testing.assert_array_equal(
        _decode_path(str(tmp_path / "gray.png"))[..., 0], gray
    )
    np.testing.assert_array_equal(
        _decode_path(str(tmp_path / "gray.png"))[..., 2], gray
    )
    np.testing.assert_array_equal(_decode_path(str(tmp_path / "rgba.png")), rgb)
    palette = np.asarray(Image.open(tmp_path / "palette.png").convert("RGB"))
    np.testing.assert_array_equal(_decode_path(str(tmp_path / "palette.png")), palette)
    cmyk = np.asarray(Image.open(tmp_path / "cmyk.jpg").convert("RGB")).astype(int)
    decoded = _decode_path(str(tmp_path / "cmyk.jpg")).astype(int)
    assert decoded.shape == (6, 7, 3) and np.abs(decoded - cmyk).max() <= 1
    # RGB -> 1 channel uses ITU-R 601 luma like Pillow's "L" (within rounding).
    image.save(tmp_path / "rgb.png")
    luma = _decode_path(str(tmp_path / "rgb.png"), channels=1)
    assert luma.shape == (6, 7, 1)
    assert np.abs(luma[..., 0].astype(int) - gray.astype(int)).max() <= 1


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257 * 100], [257 * 200, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    decoded = _decode_path(str(tmp_path / "deep.png"), channels=1)
    np.testing.assert_array_equal(decoded[..., 0], [[0, 100], [200, 255]])


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((4, 8, 3), dtype=np.uint8)
    pixels[:, :4] = 255  # left half white
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    check = kvdata.check_image_file(str(tmp_path / "rotated.jpg"))
    assert check.error is None and check.native is False  # goes through Pillow
    decoded = _decode_path(str(tmp_path / "rotated.jpg"), size=(8, 4))
    assert decoded.shape == (8, 4, 3)
    # After a clockwise rotation the white left half is on top.
    assert decoded[:3].mean() > 200 and decoded[5:].mean() < 50


@pytest.mark.parametrize("fmt", ["png", "bmp", "gif"])
def test_native_and_pillow_decoders_agree(tmp_path, fmt):
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 255, (9, 11, 3), dtype=np.uint8)).save(
        tmp_path / f"x.{fmt}"
    )
    path = str(tmp_path / f"x.{fmt}")
    for channels in (1, 3):
        native = _decode_path(path, channels, native=True)
        pillow = _decode_path(path, channels, native=False)
        np.testing.assert_array_equal(native, pillow)


# === Resizing ===


def test_resize_modes():
    import tensorflow as tf

    image = np.zeros((10, 20, 1), dtype=np.float32)
    image[:, 5:15] = 255.0  # a bright centre band, 10 px wide
    stretched = kvdata.resize_image(tf.constant(image), (10, 10), "stretch").numpy()
    cropped = kvdata.resize_image(tf.constant(image), (10, 10), "crop").numpy()
    padded = kvdata.resize_image(tf.constant(image), (10, 10), "pad").numpy()
    assert stretched.shape == cropped.shape == padded.shape == (10, 10, 1)
    assert np.all(cropped == 255.0)  # centre crop keeps exactly the band
    assert np.all(padded[:2] == 0) and np.all(padded[-2:] == 0)  # black bars
    assert stretched[:, 0].max() == 0 and stretched[:, 5].min() == 255
    with pytest.raises(ValueError, match="resize must be one of"):
        kvdata.resize_image(tf.constant(image), (5, 5), "squash")


@pytest.mark.parametrize(
    "value, expected",
    [
        (64, (64, 64)),
        ("32", (32, 32)),
        ("24x48", (24, 48)),
        ((8, 16), (8, 16)),
        (None, None),
    ],
)
def test_parse_image_size(value, expected):
    assert kvdata.parse_image_size(value) == expected


@pytest.mark.parametrize("value", ["abc", "0", "3x-1", "1x2x3"])
def test_parse_image_size_rejects(value):
    with pytest.raises(ValueError, match="image size"):
        kvdata.parse_image_size(value)


# === Splits ===


def test_folder_split_record_reproduces_exactly(tmp_path):
    write_image_folder(tmp_path, per_class=10)
    first = kvdata.load_image_folder(tmp_path, seed=5, image_size=8)
    record = first.split_record()
    assert record["counts"] == {"train": 16, "val": 2, "test": 2}
    again = kvdata.load_image_folder(tmp_path, split_record=record, image_size=8)
    for name in ("train", "val", "test"):
        assert again.splits[name].paths == first.splits[name].paths
    assert first.fingerprint == again.fingerprint and len(first.fingerprint) == 64
    (tmp_path / "cats" / "cats_0.png").unlink()
    changed = kvdata.load_image_folder(tmp_path, seed=5, image_size=8)
    assert changed.fingerprint != first.fingerprint


def test_from_arrays_label_kinds():
    x, y, _ = small_digits(per_class=5)
    from_int = kvdata.from_arrays(x, y, seed=0)
    assert from_int.num_classes == 10 and from_int.label_mode == "int"
    strings = np.array([f"digit{v}" for v in y])
    from_str = kvdata.from_arrays(x, strings, seed=0)
    assert from_str.class_names[0] == "digit0" and from_str.num_classes == 10
    one_hot = np.eye(10)[y]
    from_hot = kvdata.from_arrays(x, one_hot, seed=0)
    assert from_hot.label_mode == "categorical"
    _, targets = next(iter(from_hot.dataset("train", batch_size=4)))
    assert targets.shape == (4, 10)
    with pytest.raises(ValueError, match="labels"):
        kvdata.from_arrays(x, y[:-1])
    with pytest.raises(ValueError, match="2 classes"):
        kvdata.from_arrays(x, np.zeros_like(y))


def test_from_arrays_scales_unit_floats_and_resizes():
    x, y, _ = small_digits(per_class=3)
    unit = x.astype("float32") / 255.0
    data = kvdata.from_arrays(
        unit, y, image_size=16, channels=3, val_split=0, test_split=0
    )
    images, _ = next(iter(data.dataset("train", batch_size=30, shuffle=False)))
    assert images.shape == (30, 16, 16, 3)
    assert 200 <= float(images.numpy().max()) <= 255


def test_builtin_digits_is_real_and_offline():
    assert "digits" in list_datasets()
    x, y, names = load_builtin("digits")
    assert x.shape == (1797, 8, 8, 1) and x.dtype == np.uint8
    assert x.max() == 255 and names == [str(d) for d in range(10)]
    assert np.bincount(y).min() >= 170


def test_keras_dataset_downloads_or_fails_with_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # empty cache: must download
    try:
        x, y, names = load_builtin("mnist")
    except RuntimeError as error:
        message = str(error)
        assert "\n" not in message
        assert "mnist.npz" in message and "~/.keras/datasets" in message
    else:  # online machine: the real loader worked
        assert x.shape == (70000, 28, 28, 1) and len(names) == 10


def test_load_data_dispatch(tmp_path):
    write_image_folder(tmp_path, per_class=3)
    assert kvdata.load_data(str(tmp_path)).source["kind"] == "folder"
    assert kvdata.load_data(None).source == {"kind": "dataset", "name": "digits"}
    x, y, _ = small_digits(per_class=2)
    assert kvdata.load_data((x, y)).source["kind"] == "arrays"
    with pytest.raises(ValueError, match="unknown dataset"):
        kvdata.load_data(None, dataset="imagenet")


def test_classes_subset_of_a_folder_and_a_builtin_dataset(tmp_path):
    from kerasvision.config import FitConfig
    from kerasvision.data import load_data

    write_image_folder(
        tmp_path / "f", classes=("a", "b", "c"), per_class=4, size=(8, 9)
    )
    data = load_data(str(tmp_path / "f"), classes="c,a", val_split=0.0, test_split=0.0)
    assert data.class_names == ["c", "a"] and data.source["classes"] == ["c", "a"]
    train = data.splits["train"]
    assert sorted(set(train.labels.tolist())) == [0, 1] and len(train) == 8
    assert all(
        path.split("/")[-2] == ("c" if label == 0 else "a")
        for path, label in zip(train.paths, train.labels, strict=True)
    )
    x, y, names = load_builtin("digits", "9,3")
    assert names == ["9", "3"] and set(y.tolist()) == {0, 1}
    all_x, all_y, _ = load_builtin("digits")
    np.testing.assert_array_equal(x[y == 0], all_x[all_y == 9])
    with pytest.raises(ValueError, match="unknown class 'x'"):
        load_data(dataset="digits", classes="1,x")
    with pytest.raises(ValueError, match="at least 2"):
        FitConfig(dataset="digits", classes="1")
    assert FitConfig(dataset="digits", classes="3, 5").to_json()["classes"] == [
        "3",
        "5",
    ]


@pytest.mark.parametrize(
    "folder, file_name, what",
    [("a\nb", "x.png", "class folder"), ("   ", "x.png", "class folder"),
     ("a", "x\ny.png", "file")],
)  # fmt: skip
def test_names_that_break_one_name_per_line_files_are_refused(
    tmp_path, folder, file_name, what
):
    from kerasvision.data.sources import scan_image_folder

    write_image_folder(tmp_path, classes=("c", "d"), per_class=2)
    (tmp_path / folder).mkdir(exist_ok=True)
    Image.new("RGB", (8, 8)).save(tmp_path / folder / file_name, format="PNG")
    with pytest.raises(ValueError, match=f"{what} name .* line break") as caught:
        scan_image_folder(tmp_path)
    assert "\n" not in str(caught.value)


def test_multi_hot_arrays_and_builtin_label_sets():
    from kerasvision.data.sources import from_arrays, load_data

    x, y, names = load_builtin("digits_collages")
    assert x.shape == (2000, 16, 16, 1) and y.shape == (2000, 10)
    assert 1 <= y.sum(axis=1).min() and y.sum(axis=1).max() <= 4
    data = from_arrays(x[:200], y[:200], multi_label=True, seed=0)
    assert data.multi_label and data.label_mode == "categorical"
    assert data.summary()["counts"]["train"]["3"] == int(
        data.splits["train"].targets[:, 3].sum()
    )
    with pytest.raises(ValueError, match="0/1"):
        from_arrays(x[:10], y[:10] * 0.5, multi_label=True)
    with pytest.raises(ValueError, match="--task multilabel"):
        load_data(dataset="digits_collages")
    with pytest.raises(ValueError, match="one class per image"):
        load_data(dataset="digits", multi_label=True)
    official = load_data(dataset="digits_collages", multi_label=True, seed=0)
    assert len(official.splits["test"]) == 400  # built from other digit images
