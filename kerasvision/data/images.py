"""Image files: finding, checking, decoding and resizing (one owner for all callers).

Training, evaluation, prediction, reports, encoding and the SavedModel's bytes
signature all decode and resize through these functions, so a file gives the same
pixels everywhere. Common files (8-bit JPEG/PNG/GIF/BMP without EXIF rotation)
decode with TensorFlow's native ops; every other file (CMYK, 16-bit,
EXIF-rotated, WebP, palette BMP...) decodes with Pillow in the same pipeline.
The SavedModel's bytes signature cannot call Pillow: `kerasvision.data.encoded`
gives it the same pixels with TensorFlow ops alone.
"""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from kerasvision._choices import RESIZE_MODES

__all__ = [
    "IMAGE_EXTENSIONS",
    "FileCheck",
    "check_image_file",
    "check_image_files",
    "check_inputs",
    "decode_and_resize",
    "decode_image_file",
    "decode_native",
    "find_images",
    "images_dataset",
    "is_image_name",
    "load_images",
    "outside_links_note",
    "parse_image_size",
    "printable_path",
    "resize_image",
    "to_channels",
    "walk_images",
]

#: The most pixels an image may have, in training and in serving: Pillow's own
#: decompression-bomb limit (twice `Image.MAX_IMAGE_PIXELS`, ~179 megapixels).
MAX_PIXELS = 2 * 89_478_485

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

# Formats and Pillow modes that TensorFlow's own decoders turn into the same
# 8-bit RGB as Pillow's convert("RGB"). Anything else goes through Pillow.
_NATIVE_MODES = {
    "JPEG": {"RGB", "L"},
    "PNG": {"RGB", "RGBA", "L", "LA", "P"},
    "GIF": {"P", "L", "RGB"},
    "BMP": {"RGB"},
}


# === Small parsers ===


def parse_image_size(value) -> tuple[int, int] | None:
    """`128`, `"128"`, `"96x128"`, `(96, 128)` -> `(height, width)`; None stays None.

    Raises:
        ValueError: If the value is not one or two positive integers.
    """
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().replace("×", "x").split("x")
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"image size must be N or HxW (e.g. 64 or 96x128), got {value!r}"
            ) from None
    elif isinstance(value, int | np.integer):
        numbers = [int(value)]
    else:
        numbers = [int(v) for v in value]
    if len(numbers) == 1:
        numbers = numbers * 2
    if len(numbers) != 2 or min(numbers) < 1:
        raise ValueError(f"image size must be positive (N or HxW), got {value!r}")
    return numbers[0], numbers[1]


# === Finding image files ===


def is_image_name(name: str) -> bool:
    """A visible file name with one of `IMAGE_EXTENSIONS` (case-insensitive)."""
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def _outside(path: str, within: str | None) -> str | None:
    """Where symlink `path` leads when that is outside folder `within`, else None."""
    if within is None or not os.path.islink(path):
        return None
    target = os.path.realpath(path)
    inside = target == within or target.startswith(within.rstrip(os.sep) + os.sep)
    return None if inside else target


def walk_images(folder, *, on_loop=None, within=None, on_skip=None) -> list[str]:
    """Every image below `folder` (symlinks followed, each real folder once), sorted.

    Hidden files and folders are skipped. A symlink that leads back to a folder
    already being walked (a loop, e.g. `ln -s . loop`) is not followed again;
    `on_loop(path)` is told its path. A file reached twice through links counts
    once. With `within`, a symlink (to a file or a folder, `folder` itself
    included) leading outside that folder is not followed: `on_skip(path,
    reason)` is told once per link. Files that are not regular files (a pipe
    named `x.png` would block a reader forever) or whose names are not valid
    UTF-8 are listed: `check_image_file` reports them as bad files.

    Args:
        folder: The folder to search.
        on_loop: Called with the path of each symlink loop. Defaults to None.
        within: The folder symlinks must not leave (the data folder). Defaults
            to None (symlinks followed anywhere).
        on_skip: Called as `on_skip(path, reason)` for each symlink not
            followed. Defaults to None.

    Returns:
        The image paths, sorted.
    """
    found: list[str] = []
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    within = None if within is None else os.path.realpath(within)

    def leaves(path: str) -> bool:
        target = _outside(path, within)
        if target is not None and on_skip is not None:
            on_skip(path, f"symlink to {target}, outside the data folder; not followed")
        return target is not None

    if leaves(os.fspath(folder).rstrip(os.sep)):
        return found
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            if on_loop is not None:
                on_loop(dirpath)
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and not leaves(os.path.join(dirpath, d))
        )
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not is_image_name(name) or leaves(path):
                continue
            target = os.path.realpath(path)
            if target not in seen_files:
                seen_files.add(target)
                found.append(path)
    return sorted(found)


def outside_links_note(links, root) -> str:
    """One line for `fit`: the symlinks `walk_images(within=root)` did not
    follow because they lead outside the data folder."""
    shown = ", ".join(printable_path(os.path.relpath(p, root)) for p in links[:3])
    more = f" and {len(links) - 3} more" if len(links) > 3 else ""
    return (
        f"warning: {len(links)} symlink(s) lead outside the data folder and were "
        f"not followed (their files are not used): {shown}{more}"
    )


def find_images(inputs) -> list[tuple[str, bool]]:
    """`[(path, explicit)]`: files named directly, then the images in folders.

    Args:
        inputs: Image file(s) and/or folder(s) (searched recursively).

    Returns:
        `(path, explicit)` pairs in the given order (a folder's images sorted);
        `explicit` is True for a file named directly.

    Raises:
        FileNotFoundError: If an input does not exist.
        ValueError: If a folder holds no image, or nothing was given.
    """
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    paths: list[tuple[str, bool]] = []
    for item in items:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = walk_images(item)
            if not found:
                raise ValueError(f"no images found in {item}")
            paths += [(path, False) for path in found]
        elif os.path.isfile(item):
            paths.append((item, True))
        elif os.path.exists(item):
            raise ValueError(f"{item}: {_unusable_file(item)}")
        else:
            raise FileNotFoundError(f"image not found: {item}")
    if not paths:
        raise ValueError("no images given")
    return paths


# === Checking ===


@dataclass(frozen=True)
class FileCheck:
    """Result of checking one file: `error` is None for a good image."""

    path: str
    error: str | None
    native: bool
    digest: str


def printable_path(path) -> str:
    """`path` as text that every file and terminal takes: bytes of a name that
    are not valid UTF-8 shown as `\\xff` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _unusable_file(path: str) -> str | None:
    """Why `path` must not be opened as an image (a pipe, a device, a socket:
    reading one can block forever; a name that is not UTF-8), else None."""
    import stat

    if printable_path(path) != os.fspath(path):
        return "file name is not valid UTF-8; rename it"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # open() says why
    if stat.S_ISDIR(mode):
        return "a folder, not an image file"
    if not stat.S_ISREG(mode):
        return "not a regular file (a pipe, device or socket)"
    return None


def check_image_file(path: str) -> FileCheck:
    """Fully decode one file with Pillow and classify it.

    Catches zero-byte, non-image, truncated and undecodable files and
    decompression bombs (more pixels than Pillow's `MAX_IMAGE_PIXELS` allows
    twice over), and never opens a pipe, device or socket, nor a file whose
    name is not valid UTF-8 (its `FileCheck.path` shows the name with escapes).
    `native` tells whether TensorFlow's decoders give the same pixels (no
    Pillow needed).
    """
    from PIL import Image, UnidentifiedImageError

    unusable = _unusable_file(path)
    if unusable is not None:
        return FileCheck(printable_path(path), unusable, False, "")
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as error:
        return FileCheck(path, f"unreadable ({error.strerror})", False, "")
    digest = hashlib.sha256(content).hexdigest()
    if not content:
        return FileCheck(path, "empty file (0 bytes)", False, digest)
    try:
        with Image.open(io.BytesIO(content)) as image:
            image_format, mode = image.format, image.mode
            orientation = image.getexif().get(0x0112, 1)
            width, height = image.size
            if image_format == "JPEG":
                # Decoding at 1/8 scale still reads every scan: truncation shows.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
    except UnidentifiedImageError:
        return FileCheck(path, "not an image (unrecognised format)", False, digest)
    except Image.DecompressionBombError as error:
        return FileCheck(path, f"decompression bomb ({error})", False, digest)
    except (OSError, SyntaxError, ValueError) as error:
        return FileCheck(path, f"truncated or corrupt ({error})", False, digest)
    if width < 1 or height < 1:
        return FileCheck(path, "image has no pixels", False, digest)
    native = mode in _NATIVE_MODES.get(image_format, set()) and orientation in (
        1,
        None,
    )
    return FileCheck(path, None, bool(native), digest)


def check_image_files(paths, *, workers: int | None = None) -> list[FileCheck]:
    """`check_image_file` over many files with a thread pool (Pillow drops the GIL)."""
    workers = workers or min(8, 2 * (os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(check_image_file, paths, chunksize=16))


def check_inputs(inputs, *, on_bad_file=None) -> list[FileCheck]:
    """Find and check images: a bad file named directly is an error, one found in
    a folder is skipped (and reported to `on_bad_file(path, reason)`).

    Raises:
        FileNotFoundError: If an input does not exist.
        ValueError: If a file named directly is not a valid image, or no valid
            image is left.
    """
    checks = []
    for path, explicit in find_images(inputs):
        check = check_image_file(path)
        if check.error and explicit:
            raise ValueError(f"{check.path}: {check.error}")
        if check.error:
            if on_bad_file is not None:
                on_bad_file(check.path, check.error)
            continue
        checks.append(check)
    if not checks:
        raise ValueError("no valid images given")
    return checks


# === Decoding (shared by training, prediction and export) ===


def decode_image_file(path_or_bytes, channels: int = 3) -> np.ndarray:
    """Decode any supported image with Pillow to uint8 `[H, W, channels]`.

    Applies EXIF orientation; converts grayscale, RGBA (alpha dropped), palette,
    CMYK and 16-bit images to the requested channels (1, 3 or 4); takes the first
    frame of animations.

    Raises:
        ValueError: If the file cannot be decoded.
    """
    from PIL import Image, ImageOps

    if isinstance(path_or_bytes, bytes | bytearray):
        source = io.BytesIO(path_or_bytes)
        label = "<bytes>"
    else:
        source = label = os.fsdecode(path_or_bytes)
    try:
        with Image.open(source) as image:
            image = ImageOps.exif_transpose(image)
            array = _convert_mode(image, channels)
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"cannot decode image {label}: {error}") from None
    return array


def _convert_mode(image, channels: int) -> np.ndarray:
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        # 16/32-bit grayscale: Pillow's convert("L") clips instead of scaling.
        values = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16") or values.max(initial=0) > 255:
            values = values / 257.0
        gray = np.clip(np.round(values), 0, 255).astype(np.uint8)
        if channels == 1:
            return gray[..., None]
        return (
            np.repeat(gray[..., None], channels, axis=-1)
            if channels == 3
            else (
                np.concatenate(
                    [
                        np.repeat(gray[..., None], 3, -1),
                        np.full_like(gray[..., None], 255),
                    ],
                    -1,
                )
            )
        )
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    target = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    if image.mode == "L" and channels == 1:
        return np.asarray(image, dtype=np.uint8)[..., None]
    if image.mode in ("RGBA", "LA", "PA") and channels != 4:
        # Drop alpha like TensorFlow's decoders so both paths agree.
        image = image.convert("RGBA").convert("RGB")
    array = np.asarray(image.convert(target), dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def resize_image(image, size, mode: str = "stretch"):
    """Resize a `[H, W, C]` or `[N, H, W, C]` tensor to `size` -> float32 0-255.

    Args:
        image: Image tensor (any real dtype, 0-255 values).
        size: `(height, width)`.
        mode: "stretch" (ignore aspect), "crop" (centre crop to the target aspect,
            then resize) or "pad" (resize to fit, pad with black). Defaults to
            "stretch".

    Returns:
        float32 tensor rounded to integers in [0, 255].
    """
    import tensorflow as tf

    if mode not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}, got {mode!r}")
    height, width = int(size[0]), int(size[1])
    image = tf.cast(image, tf.float32)
    if mode == "crop":
        shape = tf.shape(image)
        in_h, in_w = shape[-3], shape[-2]
        target_ratio = width / height
        crop_w = tf.minimum(
            in_w, tf.cast(tf.round(tf.cast(in_h, tf.float32) * target_ratio), tf.int32)
        )
        crop_h = tf.minimum(
            in_h, tf.cast(tf.round(tf.cast(in_w, tf.float32) / target_ratio), tf.int32)
        )
        crop_w = tf.maximum(crop_w, 1)
        crop_h = tf.maximum(crop_h, 1)
        top = (in_h - crop_h) // 2
        left = (in_w - crop_w) // 2
        image = image[..., top : top + crop_h, left : left + crop_w, :]
        image = tf.image.resize(image, (height, width), antialias=True)
    elif mode == "pad":
        image = tf.image.resize_with_pad(image, height, width, antialias=True)
    else:
        image = tf.image.resize(image, (height, width), antialias=True)
    return tf.clip_by_value(tf.round(image), 0.0, 255.0)


def decode_native(content):
    """Graph function: JPEG/PNG/GIF/BMP bytes -> uint8 `[H, W, 3]` with
    TensorFlow's decoders (first frame of a GIF).

    JPEGs use the accurate integer DCT, libjpeg's default and Pillow's: the
    default fast DCT differs from Pillow's pixels by up to ~8 levels.
    """
    import tensorflow as tf

    return tf.cond(
        tf.io.is_jpeg(content),
        lambda: tf.io.decode_jpeg(content, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(content, channels=3, expand_animations=False),
    )


def decode_and_resize(path, native, *, image_size, channels, resize):
    """Graph function: file path -> uint8 `[H, W, channels]` at `image_size`."""
    import tensorflow as tf

    def native_decode():
        return tf.cast(decode_native(tf.io.read_file(path)), tf.uint8)

    def pillow_decode():
        image = tf.numpy_function(
            lambda p: decode_image_file(_as_path(p), 3),
            [path],
            tf.uint8,
            stateful=False,
        )
        return tf.reshape(image, tf.stack([tf.shape(image)[0], tf.shape(image)[1], 3]))

    if channels == 4:
        image = tf.numpy_function(
            lambda p: decode_image_file(_as_path(p), 4),
            [path],
            tf.uint8,
            stateful=False,
        )
        image = tf.reshape(image, tf.stack([tf.shape(image)[0], tf.shape(image)[1], 4]))
    else:
        image = tf.cond(native, native_decode, pillow_decode)
        image.set_shape([None, None, 3])
        image = to_channels(image, channels)
    image = resize_image(image, image_size, resize)
    image = tf.cast(image, tf.uint8)
    image.set_shape([image_size[0], image_size[1], channels])
    return image


def _as_path(value) -> str:
    # numpy_function hands over bytes (graph) or a 0-d bytes array (eager).
    if isinstance(value, np.ndarray):
        value = value.item()
    return os.fsdecode(value)


def to_channels(image, channels: int):
    """RGB uint8/float tensor -> `channels` (1: ITU-R 601 luma, like Pillow's "L")."""
    import tensorflow as tf

    if channels == 3:
        return image
    if channels == 1:
        gray = tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))
        return tf.cast(tf.clip_by_value(tf.round(gray), 0, 255), image.dtype)
    raise ValueError(f"channels must be 1, 3 or 4, got {channels}")


# === Loading checked files like a run ===


def images_dataset(checks, *, image_size, channels, resize, batch_size: int = 64):
    """A batched `tf.data.Dataset` of float32 0-255 images from checked files.

    Decoding and resizing are the training pipeline's (`decode_and_resize`).

    Args:
        checks: `FileCheck`s of valid images (`check_inputs`).
        image_size: `(height, width)`.
        channels: 1, 3 or 4.
        resize: "stretch", "crop" or "pad".
        batch_size: Batch size. Defaults to 64.

    Returns:
        The dataset (images only, in the order of `checks`).
    """
    import tensorflow as tf

    size = parse_image_size(image_size)
    dataset = tf.data.Dataset.from_tensor_slices(
        ([c.path for c in checks], np.array([c.native for c in checks], dtype=bool))
    )
    return dataset.map(
        lambda path, native: tf.cast(
            decode_and_resize(
                path, native, image_size=size, channels=channels, resize=resize
            ),
            tf.float32,
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).batch(batch_size)


def load_images(
    inputs, *, image_size, channels: int = 3, resize: str = "stretch", on_bad_file=None
):
    """Decode image files exactly as the training pipeline does, into memory.

    Args:
        inputs: Image file(s) and/or folder(s) (searched recursively).
        image_size: N or `(height, width)`.
        channels: 1, 3 or 4. Defaults to 3.
        resize: "stretch", "crop" or "pad". Defaults to "stretch".
        on_bad_file: See `check_inputs`. Defaults to None.

    Returns:
        `(paths, images)`: the valid files and float32 `[N, H, W, C]` 0-255 pixels.

    Raises:
        FileNotFoundError, ValueError: See `check_inputs`.

    Example:
        >>> paths, images = load_images(["cat.jpg"], image_size=64)
    """
    checks = check_inputs(inputs, on_bad_file=on_bad_file)
    batches = images_dataset(
        checks, image_size=image_size, channels=channels, resize=resize
    )
    images = np.concatenate([np.asarray(batch) for batch in batches])
    return [c.path for c in checks], images
