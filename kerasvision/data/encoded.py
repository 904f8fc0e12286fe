"""Encoded image bytes decoded in the graph (the SavedModel's `serving_bytes`).

A serving graph cannot call Pillow, so `decode_image_bytes` decodes JPEG, PNG,
GIF, BMP and WebP bytes with TensorFlow ops alone, and gives the pixels that
the training pipeline and `predict` (`kerasvision.data.images`) get from the
same file:

- a decompression bomb is refused from its header before any decoder runs
  (`check_header_pixels`: the `MAX_PIXELS` limit the Pillow path applies);
- EXIF orientation (JPEG APP1, PNG `eXIf`, WebP `EXIF`) turns the pixels as
  Pillow's `ImageOps.exif_transpose` does;
- a 16-bit grayscale PNG scales to 8 bits like the Pillow path (x / 257,
  rounded), and a WebP's alpha channel is dropped like every other format's.
"""

from __future__ import annotations

from kerasvision.data.images import MAX_PIXELS, decode_native, resize_image, to_channels

__all__ = [
    "apply_orientation",
    "check_header_pixels",
    "decode_image_bytes",
    "exif_orientation",
    "header_pixels",
    "jpeg_orientation",
]

_EXIF_HEADER = b"Exif\0\0"
_TIFF_HEADERS = (b"II*\0", b"MM\0*")
_ORIENTATION_TAG = 0x0112
_MAX_SEGMENTS = 64  # JPEG segments walked before the EXIF one (APPn come first)
_MAX_ENTRIES = 64  # IFD0 entries searched for the orientation tag


# === Reading bytes in the graph ===


def _window(content, offset, count: int):
    """`count` bytes of `content` from `offset` as int64 `[count]`, zeros past
    the end (or before the start)."""
    import tensorflow as tf

    length = tf.cast(tf.strings.length(content), tf.int64)
    offset = tf.clip_by_value(tf.cast(offset, tf.int64), 0, length)
    piece = tf.strings.substr(content, tf.cast(offset, tf.int32), count)
    padded = tf.strings.join([piece, tf.constant(b"\0" * count)])
    raw = tf.io.decode_raw(tf.strings.substr(padded, 0, count), tf.uint8)
    return tf.reshape(tf.cast(raw, tf.int64), [count])


def _matches(values, offset: int, expected: bytes):
    """Whether the int64 bytes `values[offset:]` start with `expected`."""
    import tensorflow as tf

    part = values[offset : offset + len(expected)]
    return tf.reduce_all(tf.equal(part, tf.constant(list(expected), tf.int64)))


def _little(values, offset: int, count: int):
    """The little-endian unsigned integer of `values[offset:offset + count]`."""
    import tensorflow as tf

    weights = tf.constant([256**i for i in range(count)], tf.int64)
    return tf.reduce_sum(values[offset : offset + count] * weights)


def _big(values, offset: int, count: int):
    """The big-endian unsigned integer of `values[offset:offset + count]`."""
    import tensorflow as tf

    weights = tf.constant([256 ** (count - 1 - i) for i in range(count)], tf.int64)
    return tf.reduce_sum(values[offset : offset + count] * weights)


def _is_png(head):
    return _matches(head, 0, b"\x89PNG")


def _is_webp(head):
    return _matches(head, 0, b"RIFF") & _matches(head, 8, b"WEBP")


# === Header sizes (decompression bombs) ===


def _webp_pixels(head):
    """Canvas pixels of a WebP: extended (VP8X), lossless (VP8L) or lossy (VP8)."""
    import tensorflow as tf

    bits = _little(head, 21, 4)
    extended = (1 + _little(head, 24, 3)) * (1 + _little(head, 27, 3))
    lossless = (bits % 2**14 + 1) * ((bits // 2**14) % 2**14 + 1)
    lossy = (_little(head, 26, 2) % 2**14) * (_little(head, 28, 2) % 2**14)
    return tf.where(
        _matches(head, 12, b"VP8X"),
        extended,
        tf.where(
            _matches(head, 12, b"VP8L"),
            lossless,
            tf.where(_matches(head, 12, b"VP8 "), lossy, tf.constant(0, tf.int64)),
        ),
    )


def header_pixels(content):
    """Graph function: width x height read from the header of JPEG, PNG, GIF,
    BMP or WebP bytes, without decoding (0 for anything else, which no decoder
    of the graph takes).

    The sizes are those TensorFlow's decoders allocate: a JPEG's frame, a PNG's
    IHDR, a GIF's logical screen, a BMP's signed 32-bit width and height, a
    WebP's canvas.
    """
    import tensorflow as tf

    head = _window(content, 0, 32)

    def others():
        def signed(value):  # BMP heights are negative for top-down rows
            return tf.abs(tf.where(value >= 2**31, value - 2**32, value))

        known = [
            (_is_png(head), _big(head, 16, 4) * _big(head, 20, 4)),
            (_matches(head, 0, b"GIF8"), _little(head, 6, 2) * _little(head, 8, 2)),
            (
                _matches(head, 0, b"BM"),
                signed(_little(head, 18, 4)) * signed(_little(head, 22, 4)),
            ),
            (_is_webp(head), _webp_pixels(head)),
        ]
        pixels = tf.constant(0, tf.int64)
        for condition, value in reversed(known):
            pixels = tf.where(condition, value, pixels)
        return pixels

    def jpeg():
        shape = tf.image.extract_jpeg_shape(content)[:2]
        return tf.reduce_prod(tf.cast(shape, tf.int64))

    return tf.cond(tf.io.is_jpeg(content), jpeg, others)


def check_header_pixels(content):
    """Graph op refusing a decompression bomb before it is decoded (the limit
    of the Pillow path, `MAX_PIXELS`): `InvalidArgumentError` when it runs."""
    import tensorflow as tf

    # The raw op: `tf.debugging.assert_*` wrap it in a branch, slower to trace.
    return tf.raw_ops.Assert(
        condition=header_pixels(content) <= MAX_PIXELS,
        data=[f"image has more than {MAX_PIXELS} pixels (a decompression bomb?)"],
    )


# === EXIF orientation ===


def _jpeg_tiff_offset(content):
    """Offset of the TIFF header of a JPEG's first APP1 "Exif" segment (-1: none).

    Walks the segments up to it or the start of scan.
    """
    import tensorflow as tf

    length = tf.cast(tf.strings.length(content), tf.int64)

    def walk(position, tiff, steps):
        head = _window(content, position, 10)
        marker_ok = tf.equal(head[0], 0xFF)
        segment = head[2] * 256 + head[3]
        is_exif = marker_ok & tf.equal(head[1], 0xE1) & _matches(head, 4, _EXIF_HEADER)
        stop = ~marker_ok | tf.equal(head[1], 0xDA) | tf.equal(head[1], 0xD9)
        stop = stop | (segment < 2) | is_exif
        following = tf.where(stop, length, position + 2 + segment)
        return following, tf.where(is_exif, position + 10, tiff), steps + 1

    _, tiff, _ = tf.while_loop(
        lambda position, tiff, steps: (
            (position + 4 <= length) & (steps < _MAX_SEGMENTS)
        ),
        walk,
        (tf.constant(2, tf.int64), tf.constant(-1, tf.int64), tf.constant(0)),
    )
    return tiff


def _chunk_tiff_offset(content, marker, skip):
    """Offset of the TIFF header in the first chunk named `marker` (-1: none).

    The chunk's data starts `skip` bytes after its 4-byte name (PNG `eXIf`: 0,
    WebP `EXIF`: 4, the size), with or without an "Exif\\0\\0" prefix; both may
    be tensors. Splitting the bytes at the name finds it in one pass however
    many chunks come first (a PNG may hold thousands of IDATs); an occurrence
    counts only where a TIFF header follows it.
    """
    import tensorflow as tf

    parts = tf.strings.split(content, sep=marker)
    ends = tf.cast(tf.cumsum(tf.strings.length(parts[:-1]) + 4), tf.int64)
    # The bytes after each occurrence (up to the next one), padded: substr
    # refuses to start past the end.
    after = tf.strings.join([parts[1:], tf.constant(b"\0" * 16)])
    skip = tf.cast(skip, tf.int32)

    def tiff_at(offset):
        found = tf.zeros_like(after, dtype=tf.bool)
        for header in _TIFF_HEADERS:
            found |= tf.equal(tf.strings.substr(after, offset, 4), header)
        return found

    prefixed = tf.equal(tf.strings.substr(after, skip, 6), _EXIF_HEADER)
    plain, wrapped = tiff_at(skip), prefixed & tiff_at(skip + 6)
    # A last, always valid entry (-1) keeps argmax defined without a branch.
    valid = tf.concat([plain | wrapped, [True]], 0)
    shift = tf.cast(tf.where(wrapped, skip + 6, skip), tf.int64)
    offsets = tf.concat([ends + shift, tf.constant([-1], tf.int64)], 0)
    return offsets[tf.argmax(tf.cast(valid, tf.int32), output_type=tf.int32)]


def _tiff_orientation(content, tiff):
    """Tag 0x0112 of the first IFD of the TIFF header at `tiff` (either byte
    order); 1 when `tiff` is -1 or anything is malformed."""
    import tensorflow as tf

    header = _window(content, tiff, 8)
    big = tf.equal(header[0], 0x4D)  # "MM": big-endian, "II": little-endian

    def unsigned(values):  # [..., n] bytes -> integers in the file's byte order
        weights = 256 ** tf.range(values.shape[-1] - 1, -1, -1, dtype=tf.int64)
        little = tf.reverse(weights, [0])
        return tf.reduce_sum(values * tf.where(big, weights, little), axis=-1)

    directory = tiff + unsigned(header[4:8])
    count = tf.minimum(unsigned(_window(content, directory, 2)), _MAX_ENTRIES)
    entries = tf.reshape(_window(content, directory + 2, 12 * _MAX_ENTRIES), (-1, 12))
    match = tf.equal(unsigned(entries[:, 0:2]), _ORIENTATION_TAG) & (
        tf.range(_MAX_ENTRIES, dtype=tf.int64) < count
    )
    value = tf.reduce_max(tf.where(match, unsigned(entries[:, 8:10]), 0))
    valid = (tiff >= 0) & (value >= 1) & (value <= 8)
    return tf.cast(tf.where(valid, value, 1), tf.int32)


def jpeg_orientation(content):
    """Graph function: the EXIF orientation (1-8) of JPEG bytes, 1 when absent.

    Walks the JPEG segments up to the first APP1 "Exif" one (or the start of
    scan), then reads tag 0x0112 from the TIFF header's first IFD (either byte
    order). Anything malformed gives 1 (no change), never an error.
    """
    return _tiff_orientation(content, _jpeg_tiff_offset(content))


def exif_orientation(content):
    """Graph function: the EXIF orientation (1-8) of JPEG, PNG or WebP bytes, as
    Pillow reads it (a JPEG's APP1 "Exif" segment, a PNG's `eXIf` chunk, a
    WebP's `EXIF` chunk); 1 when absent, malformed, or another format."""
    import tensorflow as tf

    head = _window(content, 0, 16)
    png = _is_png(head)
    # Selected, not branched: each finder is cheap on the other formats (the
    # JPEG walk stops at once), and branches cost time in tracing every export.
    chunk = _chunk_tiff_offset(
        content, tf.where(png, "eXIf", "EXIF"), tf.where(png, 0, 4)
    )
    tiff = tf.where(
        tf.io.is_jpeg(content),
        _jpeg_tiff_offset(content),
        tf.where(png | _is_webp(head), chunk, tf.constant(-1, tf.int64)),
    )
    return _tiff_orientation(content, tiff)


def apply_orientation(image, orientation):
    """Graph function: turn `[H, W, C]` pixels as EXIF `orientation` (1-8) says,
    as Pillow's `ImageOps.exif_transpose`."""
    import tensorflow as tf

    # Plain reverse/transpose ops (tf.image's flips and rot90 add shape checks
    # that made tracing this switch cost over a second per export).
    def transpose(pixels):
        return tf.transpose(pixels, (1, 0, 2))

    branches = [
        lambda: image,  # 1: as stored
        lambda: tf.reverse(image, [1]),  # 2: mirrored left-right
        lambda: tf.reverse(image, [0, 1]),  # 3: 180 degrees
        lambda: tf.reverse(image, [0]),  # 4: mirrored top-bottom
        lambda: transpose(image),  # 5
        lambda: tf.reverse(transpose(image), [1]),  # 6: 90 degrees clockwise
        lambda: tf.reverse(transpose(image), [0, 1]),  # 7: transverse
        lambda: transpose(tf.reverse(image, [1])),  # 8: 90 degrees counter-clockwise
    ]
    return tf.switch_case(tf.clip_by_value(orientation, 1, 8) - 1, branches)


# === Decoding ===


def _decode_rgb(content):
    """uint8 `[H, W, 3]` pixels of any format the graph takes, as stored."""
    import tensorflow as tf

    head = _window(content, 0, 26)

    def gray16():  # the Pillow path's `_convert_mode` scaling of mode "I;16"
        values = tf.cast(
            tf.io.decode_png(content, channels=1, dtype=tf.uint16), tf.float32
        )
        gray = tf.cast(tf.clip_by_value(tf.round(values / 257.0), 0, 255), tf.uint8)
        return tf.tile(gray, [1, 1, 3])

    def webp():  # RGB or RGBA as stored; alpha is dropped, as everywhere
        return tf.io.decode_image(content, channels=0, expand_animations=False)[..., :3]

    gray16_png = _is_png(head) & tf.equal(head[24], 16) & tf.equal(head[25], 0)
    image = tf.case(
        [(gray16_png, gray16), (_is_webp(head), webp)],
        default=lambda: tf.cast(decode_native(content), tf.uint8),
    )
    image.set_shape([None, None, 3])
    return image


def decode_image_bytes(content, *, image_size, channels: int, resize: str):
    """Graph function: encoded JPEG/PNG/GIF/BMP/WebP bytes -> float32
    `[H, W, channels]`.

    The pure-TensorFlow decode of the bytes signature, with the pixels of the
    training pipeline: the header's size is checked first (a decompression
    bomb raises `InvalidArgumentError` before any decoder runs), EXIF
    orientation is applied (`exif_orientation`).

    Args:
        content: A scalar string tensor.
        image_size: `(height, width)`.
        channels: 1 or 3.
        resize: "stretch", "crop" or "pad".

    Returns:
        float32 0-255 pixels at `image_size`.
    """
    import tensorflow as tf

    # Explicitly first: nothing else would order the check before the decoders.
    with tf.control_dependencies([check_header_pixels(content)]):
        content = tf.identity(content)
    image = apply_orientation(_decode_rgb(content), exif_orientation(content))
    image = to_channels(tf.cast(image, tf.float32), 1) if channels == 1 else image
    image.set_shape([None, None, channels])
    return resize_image(image, image_size, resize)
