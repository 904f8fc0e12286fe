"""Duplicate detection shared by `kerasvision.doctor` and leakage-safe splits.

Exact duplicates share the sha256 of their bytes (computed by the loader's
check). Near-duplicates: 64-bit perceptual hash (`imagehash.phash`, the optional
extra `kerasvision[doctor]`) within a Hamming distance of `NEAR_DISTANCE`, and
16x16 grayscale thumbnails correlated at >= `PIXEL_CORRELATION`; the choice and
its measurement are in `kerasvision.doctor`'s docstring. `duplicate_group_ids`
gives every file a group id for `group_stratified_split`, caching the
fingerprints per file (by size and modification time) so a second `fit` on the
same folder hashes only new or changed files.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

__all__ = [
    "NEAR_DISTANCE",
    "PIXEL_CORRELATION",
    "THUMB_SIZE",
    "UnionFind",
    "confirm_by_pixels",
    "cross_class_duplicates",
    "cross_class_note",
    "duplicates_note",
    "duplicate_group_ids",
    "fingerprint",
    "grouping_method",
    "near_pairs",
]

NEAR_DISTANCE = 8
PIXEL_CORRELATION = 0.98
THUMB_SIZE = 16


def fingerprint(path: str):
    """`(phash uint8[8], thumbnail uint8[256])` of a valid image file.

    Decoded like the loader (`decode_image_file`: EXIF orientation applied),
    in grayscale.

    Raises:
        ImportError: If imagehash is not installed.
        ValueError: If the file cannot be decoded.
    """
    import imagehash
    from PIL import Image

    from kerasvision.data.images import decode_image_file

    gray = Image.fromarray(decode_image_file(path, 1)[..., 0])
    code = np.packbits(imagehash.phash(gray).hash.flatten())
    thumb = gray.resize((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BOX)
    return code, np.asarray(thumb, dtype=np.uint8).ravel()


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # NumPy >= 2.0
        return np.bitwise_count(values)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[values.view(np.uint8)].reshape(*values.shape, -1).sum(-1)


def near_pairs(codes: np.ndarray, max_distance: int) -> np.ndarray:
    """Index pairs `(i, j)`, i < j, of 64-bit hashes within a Hamming distance.

    Args:
        codes: uint8 `[N, 8]` packed hashes.
        max_distance: Largest Hamming distance kept.

    Returns:
        int64 `[P, 2]` pairs (compared block by block: memory stays bounded).
    """
    words = np.ascontiguousarray(codes, dtype=np.uint8).view(np.uint64).ravel()
    count = len(words)
    block = max(1, (1 << 22) // max(count, 1))
    found = [np.zeros((0, 2), dtype=np.int64)]
    for start in range(0, count, block):
        distances = _popcount(words[start : start + block, None] ^ words[None, :])
        rows, cols = np.nonzero(distances <= max_distance)
        rows = rows + start
        keep = cols > rows
        found.append(np.stack([rows[keep], cols[keep]], axis=1).astype(np.int64))
    return np.concatenate(found)


def confirm_by_pixels(thumbs: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Boolean mask of `pairs` whose thumbnails correlate >= `PIXEL_CORRELATION`."""
    values = thumbs.astype(np.float32)
    values -= values.mean(axis=1, keepdims=True)
    values /= np.linalg.norm(values, axis=1, keepdims=True) + 1e-6
    left, right = values[pairs[:, 0]], values[pairs[:, 1]]
    return np.einsum("ij,ij->i", left, right) >= PIXEL_CORRELATION


class UnionFind:
    """Disjoint sets over `0..size-1` (path halving; the smaller index is root)."""

    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


# === Groups for splits (cached fingerprints) ===


def grouping_method() -> str:
    """How a split made now groups copies, in words (`run.json`'s
    "split"."duplicates"): exact copies always, near-duplicates only when
    imagehash is installed. A split made with and without it can differ, which
    is why `rerun` trains on the recorded split's files instead of splitting
    again."""
    try:
        import imagehash  # noqa: F401
    except ImportError:
        return "exact copies (sha256); no near-duplicates (imagehash not installed)"
    return (
        f"exact copies (sha256) and near-duplicates (imagehash phash, Hamming <= "
        f"{NEAR_DISTANCE}, 16x16 correlation >= {PIXEL_CORRELATION})"
    )


def _cache_file(root: str) -> str:
    base = os.environ.get("KERASVISION_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "kerasvision"
    )
    key = hashlib.sha256(os.path.realpath(root).encode()).hexdigest()[:24]
    return os.path.join(base, "fingerprints", f"{key}.npz")


def _file_key(path: str, root: str) -> str:
    status = os.stat(path)
    return f"{os.path.relpath(path, root)}\0{status.st_size}\0{status.st_mtime_ns}"


def _cached_fingerprints(paths, root):
    """Fingerprints of `paths`, reading/updating the cache; None without imagehash."""
    try:
        import imagehash  # noqa: F401
    except ImportError:
        return None
    cache = _cache_file(root)
    known = {}
    if os.path.isfile(cache):
        try:
            with np.load(cache) as stored:
                pairs = zip(stored["codes"], stored["thumbs"], strict=True)
                known = dict(zip(stored["keys"].tolist(), pairs, strict=True))
        except (OSError, ValueError, KeyError):  # a damaged cache is rebuilt
            known = {}
    keys = [_file_key(p, root) for p in paths]
    codes = np.zeros((len(paths), 8), dtype=np.uint8)
    thumbs = np.zeros((len(paths), THUMB_SIZE * THUMB_SIZE), dtype=np.uint8)
    for index, (path, key) in enumerate(zip(paths, keys, strict=True)):
        if key not in known:
            known[key] = fingerprint(path)
        codes[index], thumbs[index] = known[key]
    _write_cache(cache, keys, codes, thumbs)
    return codes, thumbs


def _write_cache(cache, keys, codes, thumbs) -> None:
    from kerasvision._files import WriteError, staged_file

    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with staged_file(cache, suffix=".npz", prefix=".tmp-") as temp:
            np.savez(temp, keys=np.array(keys), codes=codes, thumbs=thumbs)
    except (OSError, WriteError):  # a cache is optional
        pass


def duplicate_group_ids(paths, digests, *, root, near: bool = True) -> np.ndarray:
    """A group id per file: files with equal bytes or near-duplicates share one.

    Args:
        paths: Valid image files.
        digests: Their sha256 hex digests (`FileCheck.digest`).
        root: The data folder (the cache key).
        near: Also join near-duplicates (needs imagehash; skipped without it).
            Defaults to True.

    Returns:
        int64 `[N]` ids (the smallest index of each group).
    """
    sets = UnionFind(len(paths))
    first_of: dict[str, int] = {}
    for index, digest in enumerate(digests):
        sets.union(index, first_of.setdefault(digest, index))
    fingerprints = _cached_fingerprints(list(paths), root) if near else None
    if fingerprints is not None:
        codes, thumbs = fingerprints
        unique = np.array(sorted(first_of.values()), dtype=np.int64)
        pairs = unique[near_pairs(codes[unique], NEAR_DISTANCE)].reshape(-1, 2)
        for a, b in pairs[confirm_by_pixels(thumbs, pairs)]:
            sets.union(int(a), int(b))
    return np.array([sets.find(i) for i in range(len(paths))], dtype=np.int64)


def cross_class_duplicates(paths, digests, labels, *, listed: int = 20) -> dict | None:
    """Identical files (equal bytes) filed under more than one class, or None.

    The same picture under two labels teaches the model both (a copy in two
    class folders, or a symlink from one class folder into another).

    Args:
        paths: The files (e.g. relative to the data folder).
        digests: Their sha256 hex digests (`FileCheck.digest`).
        labels: Their integer labels.
        listed: Groups listed (all are counted). Defaults to 20.

    Returns:
        `{"groups", "files", "listed"}` (the first `listed` groups' paths, in
        path order), or None when there is none.
    """
    members: dict[str, list[int]] = {}
    for index, digest in enumerate(digests):
        members.setdefault(digest, []).append(index)
    labels = np.asarray(labels)
    groups = sorted(
        sorted(str(paths[i]) for i in indices)
        for indices in members.values()
        if len(set(labels[indices].tolist())) > 1
    )
    if not groups:
        return None
    return {
        "groups": len(groups),
        "files": sum(len(g) for g in groups),
        "listed": groups[:listed],
    }


def duplicates_note(found: dict, what: str, where: str, then: str, key: str) -> str:
    """One warning line for `fit` about groups of identical files: `found` is
    `cross_class_duplicates`'s (or the split check's) record, `key` its name
    under run.json's data record."""
    example = " = ".join(found["listed"][0][:2])
    return (
        f"warning: {found['groups']} {what} ({found['files']} files) {where}, "
        f"e.g. {example}; {then} (listed in run.json: data.{key})"
    )


def cross_class_note(found: dict) -> str:
    """One line for `fit`: identical files under different labels."""
    return duplicates_note(
        found,
        "group(s) of identical files",
        "are filed under different classes",
        "the model is taught both labels",
        "cross_class_duplicates; `kerasvision doctor` shows them",
    )
