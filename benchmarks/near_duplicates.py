"""Measure perceptual hashes on planted near-duplicates (the choice in doctor.py).

For originals from scikit-learn's digits (32x32 PNGs) and from a photo folder
(default: the first 300 flowers5 photos, when present), plant copies: a JPEG
re-encode (quality 70), resized copies (0.6x, 1.5x), a slight crop (4% off each
side) and a recolour (brightness x1.2, a warm tint). Prints, per hash and
Hamming threshold, the share of planted pairs found (recall) and the share of
pairs of distinct originals under the threshold (false pair rate).

    python benchmarks/near_duplicates.py [PHOTO_DIR]
"""

from __future__ import annotations

import io
import os
import sys

import imagehash
import numpy as np
from PIL import Image, ImageEnhance, ImageOps

HASHES = {
    "ahash": imagehash.average_hash,
    "dhash": imagehash.dhash,
    "phash": imagehash.phash,
    "whash": imagehash.whash,
    "phash16": lambda image: imagehash.phash(image, hash_size=16),
}


def variants(image):
    """The planted copies of one RGB image."""
    width, height = image.size
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    jpeg = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    dx, dy = max(1, round(width * 0.04)), max(1, round(height * 0.04))
    tint = Image.merge(
        "RGB",
        [
            band.point(lambda v, f=f: min(255, int(v * f)))
            for band, f in zip(image.split(), (1.1, 1.0, 0.85), strict=True)
        ],
    )
    return {
        "jpeg": jpeg,
        "small": image.resize((max(8, int(width * 0.6)), max(8, int(height * 0.6)))),
        "large": image.resize((int(width * 1.5), int(height * 1.5))),
        "crop": image.crop((dx, dy, width - dx, height - dy)),
        "bright": ImageEnhance.Brightness(image).enhance(1.2),
        "tint": tint,
    }


def bits(hash_value) -> np.ndarray:
    return np.packbits(hash_value.hash.flatten())


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(a, b)).sum(-1)


def measure(name, originals):
    print(f"\n{name}: {len(originals)} originals")
    for hash_name, function in HASHES.items():
        base = np.stack([bits(function(ImageOps.grayscale(o))) for o in originals])
        planted = {}
        for original, code in zip(originals, base, strict=True):
            for kind, copy in variants(original).items():
                planted.setdefault(kind, []).append(
                    hamming(code, bits(function(ImageOps.grayscale(copy))))
                )
        upper = np.triu_indices(len(base), 1)
        negative = hamming(base[:, None], base[None])[upper]
        row = []
        for threshold in (4, 6, 8, 10, 12, 16, 24, 32):
            found = np.mean([d <= threshold for v in planted.values() for d in v])
            false = np.mean(negative <= threshold)
            row.append(f"t={threshold}: recall {found:.3f} false {false:.5f}")
        print(f"  {hash_name}: " + " | ".join(row))
        worst = {k: int(np.percentile(v, 95)) for k, v in planted.items()}
        print(f"    95th percentile distance per copy kind: {worst}")


def thumbnail(image, size=16):
    values = np.asarray(
        ImageOps.grayscale(image).resize((size, size), Image.Resampling.BOX),
        dtype=np.float32,
    ).ravel()
    values -= values.mean()
    return values / (np.linalg.norm(values) + 1e-6)


def measure_confirmed(name, originals, distance=8, correlation=0.98):
    """phash <= distance AND 16x16 thumbnail correlation >= correlation."""
    codes = np.stack([bits(imagehash.phash(ImageOps.grayscale(o))) for o in originals])
    thumbs = np.stack([thumbnail(o) for o in originals])
    found, kinds = [], []
    for original, code, thumb in zip(originals, codes, thumbs, strict=True):
        for kind, copy in variants(original).items():
            near = hamming(code, bits(imagehash.phash(ImageOps.grayscale(copy))))
            found.append(near <= distance and thumb @ thumbnail(copy) >= correlation)
            kinds.append(kind)
    found, kinds = np.array(found), np.array(kinds)
    upper = np.triu_indices(len(codes), 1)
    negative = (hamming(codes[:, None], codes[None]) <= distance) & (
        thumbs @ thumbs.T >= correlation
    )
    print(
        f"  {name}: phash<={distance} & corr>={correlation}: recall "
        f"{found.mean():.3f} (without crops {found[kinds != 'crop'].mean():.3f}), "
        f"false {negative[upper].mean():.6f} ({negative[upper].sum()} pairs)"
    )


def main():
    from sklearn.datasets import load_digits

    digits = load_digits().images[:300] * 255 / 16
    originals = [
        Image.fromarray(d.astype(np.uint8)).resize((32, 32)).convert("RGB")
        for d in digits
    ]
    measure("digits 32x32", originals)
    measure_confirmed("digits 32x32", originals)
    photos = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/flowers5"
    if os.path.isdir(photos):
        paths = []
        for folder, _, names in sorted(os.walk(photos)):
            names = [n for n in sorted(names) if n.lower().endswith((".jpg", ".png"))]
            paths += [os.path.join(folder, n) for n in names][:60]
        images = [Image.open(p).convert("RGB") for p in paths[:300]]
        measure(f"photos {photos}", images)
        measure_confirmed(f"photos {photos}", images)


if __name__ == "__main__":
    main()
