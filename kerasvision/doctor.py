"""Dataset doctor: what is wrong with a folder-per-class image dataset.

`doctor(DATA)` reads every file once (streaming: one file at a time per worker
thread; only small per-file records, a 64-bit hash and a 16x16 thumbnail, are
kept) and reports per class: counts and the imbalance ratio, image sizes,
aspect ratios, modes and formats, EXIF-rotated, tiny (< 32 px side) and huge
(> 4096 px side) images; bad files with the loader's reasons (`check_image_file`:
zero-byte, truncated, not an image, decompression bomb, unreadable); and
duplicate GROUPS (union-find over duplicate pairs), within one class and across
classes (label conflicts). It writes `doctor.json` and one self-contained
`doctor.html` (summary, histograms, duplicate groups as thumbnails side by side).

Exact duplicates share the sha256 of their bytes. Near-duplicates are found with
a perceptual hash (`imagehash`, the optional extra `kerasvision[doctor]`),
chosen by measuring (`benchmarks/near_duplicates.py`) on copies planted from
300 scikit-learn digits (32x32) and 300 flowers5 photos: a JPEG re-encode
(quality 70), resizes to 0.6x and 1.5x, a 4% crop off each side, brightness
x1.2 and a warm tint. Share of planted pairs found / share of pairs of distinct
originals under the Hamming threshold:

| hash (64 bit) | digits t=6 | digits t=8 | photos t=8 | photos t=10 |
| --- | --- | --- | --- | --- |
| phash | 0.975 / 0.00025 | 0.994 / 0.00094 | 0.920 / 0.00013 | 0.962 / 0.00013 |
| dhash | 0.958 / 0.0091 | 0.986 / 0.020 | 0.928 / 0.00016 | 0.966 / 0.00018 |
| ahash | 0.998 / 0.033 | 1.000 / 0.067 | 0.986 / 0.0021 | 0.996 / 0.0048 |
| whash | 1.000 / 0.049 | 1.000 / 0.100 | 0.983 / 0.0017 | 0.992 / 0.0047 |

phash separates best (a 256-bit phash found at most 61% of the copies at any
threshold: crops and recolours move it far). On photos the few pairs of
"distinct" originals under the threshold are real duplicates of flowers5; on
low-detail images (digits) different images of one class do fall under it
(0.09% of pairs at t=8), and no second hash removes them (phash AND dhash/ahash/
whash cut them by less than half). So a pair is a near-duplicate when its phash
distance is <= 8 AND the Pearson correlation of the two 16x16 grayscale
thumbnails is >= 0.98: on the 300 digits this keeps 99.7% of the
JPEG/resize/recolour copies with 0.013% false pairs (6 of 44,850; photos: 99.8%,
4 pairs, the real duplicates); slight crops are mostly missed (the correlation
is not shift-tolerant: 93.7% / 83.3% of all copies with crops). With
`backbone=...` the pixel check is replaced: pairs up to a phash distance of 12
are kept when the cosine similarity of the backbone's average-pooled features
is >= 0.95 and above the 99.9th percentile of the cosines of 256 random images
(an untrained backbone finds everything similar: with a random-weight CNN on
the planted digits of the tests a fixed 0.95 let 1,458 false pairs through, the
percentile bar 6 of 50 reported pairs; a random-weight mobilenet_v2 confirmed
none). Use trained weights (ImageNet, or a run), which can also catch crops.

Measured in `tests/test_doctor.py` (300 digits with 44 planted copies: 8 exact
into another class, 8 exact in the same class, 12 JPEG re-encodes, 8 upscaled,
8 downscaled): 100% of the planted pairs found, 0 false pairs, all 8
cross-class groups listed.
"""

from __future__ import annotations

import datetime
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from kerasvision.data.duplicates import (
    NEAR_DISTANCE,
    PIXEL_CORRELATION,
    THUMB_SIZE,
    UnionFind,
    confirm_by_pixels,
    fingerprint,
    near_pairs,
)
from kerasvision.data.inventory import inventory, split_report, split_warnings
from kerasvision.progress import Progress

__all__ = [
    "DoctorResult",
    "DuplicateGroup",
    "ImageInfo",
    "doctor",
    "duplicate_groups",
    "require_extra",
]

BACKBONE_DISTANCE = 12
BACKBONE_COSINE = 0.95
TINY_SIDE = 32
HUGE_SIDE = 4096


def require_extra(module: str, extra: str):
    """Import an optional dependency or fail with one line naming the extra.

    Raises:
        RuntimeError: `"<module> is not installed: pip install kerasvision[extra]"`.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise RuntimeError(
            f"{module} is not installed: pip install kerasvision[{extra}]"
        ) from None


# === Records ===


@dataclass(frozen=True)
class ImageInfo:
    """One file of the data folder (`path` relative to it, `label` its class)."""

    path: str
    label: str
    error: str | None
    digest: str = ""
    width: int = 0
    height: int = 0
    mode: str = ""
    format: str = ""
    rotated: bool = False
    native: bool = False
    split: str = ""  # the given split (pre-split folders, tables), else ""

    @property
    def tiny(self) -> bool:
        return self.error is None and min(self.width, self.height) < TINY_SIDE

    @property
    def huge(self) -> bool:
        return self.error is None and max(self.width, self.height) > HUGE_SIDE


@dataclass
class DuplicateGroup:
    """Files that are copies of each other: "exact" (same bytes) or "near"."""

    kind: str
    paths: list[str]
    labels: list[str]

    @property
    def cross_class(self) -> bool:
        """True when the copies carry different labels (a label conflict)."""
        return len(set(self.labels)) > 1

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "cross_class": self.cross_class,
            "classes": sorted(set(self.labels)),
            "files": [
                {"path": p, "label": c}
                for p, c in zip(self.paths, self.labels, strict=True)
            ],
        }


@dataclass
class DoctorResult:
    """What `doctor` found, and where it wrote `doctor.html` / `doctor.json`.

    Attributes:
        data_dir: The data folder (absolute).
        output: The folder written, or None.
        class_names: Class folders, sorted.
        images: One `ImageInfo` per file found.
        groups: Duplicate groups, cross-class ones first.
        method: How near-duplicates were decided (hash, thresholds, backbone).
        strict: Whether problems make the check fail (`failed`).
    """

    data_dir: str
    output: str | None
    class_names: list[str]
    images: list[ImageInfo]
    groups: list[DuplicateGroup]
    method: dict = field(default_factory=dict)
    strict: bool = False
    layout: dict = field(default_factory=dict)

    @property
    def splits(self) -> dict | None:
        """Counts per given split, classes a split lacks, duplicates straddling
        splits (`split_report`); None without given splits."""
        return split_report(self.images, self.groups, self.class_names)

    @property
    def bad_files(self) -> list[tuple[str, str]]:
        return [(i.path, i.error) for i in self.images if i.error]

    @property
    def counts(self) -> dict[str, int]:
        """Valid images per class."""
        counts = dict.fromkeys(self.class_names, 0)
        for info in self.images:
            if info.error is None:
                counts[info.label] += 1
        return counts

    @property
    def empty_classes(self) -> list[str]:
        return [name for name, count in self.counts.items() if count == 0]

    @property
    def label_counts(self) -> dict[str, int]:
        """Images per class; of a multi-label table, the images holding each
        label (`counts` files each image under its first label only)."""
        sets = self.layout.get("label_sets")
        return sets["frequencies"] if sets else self.counts

    @property
    def imbalance_ratio(self) -> float | None:
        """Largest over smallest non-empty `label_counts`, to 2 decimals (None
        without classes)."""
        sizes = [c for c in self.label_counts.values() if c > 0]
        return round(max(sizes) / min(sizes), 2) if sizes else None

    @property
    def exact_groups(self) -> list[DuplicateGroup]:
        return [g for g in self.groups if g.kind == "exact"]

    @property
    def near_groups(self) -> list[DuplicateGroup]:
        return [g for g in self.groups if g.kind == "near"]

    @property
    def cross_class_groups(self) -> list[DuplicateGroup]:
        return [g for g in self.groups if g.cross_class]

    @property
    def problems(self) -> list[str]:
        """What fails `--strict`: cross-class duplicates, bad files, empty classes."""
        found = []
        if self.cross_class_groups:
            found.append(
                f"{len(self.cross_class_groups)} duplicate group(s) across classes"
            )
        if self.bad_files:
            found.append(f"{len(self.bad_files)} bad file(s)")
        if self.empty_classes:
            found.append(f"empty class(es): {', '.join(self.empty_classes)}")
        return found

    @property
    def warnings(self) -> list[str]:
        """Everything worth a look (problems, within-class copies, odd images)."""
        lines = list(self.problems)
        within = len(self.groups) - len(self.cross_class_groups)
        if within:
            lines.append(f"{within} duplicate group(s) within a class")
        for attribute, what in (("tiny", f"< {TINY_SIDE} px"), ("huge", "huge")):
            count = sum(getattr(i, attribute) for i in self.images)
            if count:
                lines.append(f"{count} {attribute} image(s) ({what})")
        ratio = self.imbalance_ratio
        if ratio is not None and ratio >= 3:
            lines.append(f"class imbalance: largest/smallest = {ratio:.1f}")
        if self.layout.get("bad_rows"):
            lines.append(f"{len(self.layout['bad_rows'])} bad row(s) in the table")
        return lines + split_warnings(self.splits)

    @property
    def per_class(self) -> dict:
        """Files, valid/bad counts, odd files and median size per class."""
        return _per_class(self)

    @property
    def failed(self) -> bool:
        """True in strict mode when there is a problem (the CLI exits 1)."""
        return self.strict and bool(self.problems)

    def summary(self) -> dict:
        valid = [i for i in self.images if i.error is None]
        return {
            "files": len(self.images),
            "valid_images": len(valid),
            "classes": len(self.class_names),
            "bad_files": len(self.bad_files),
            "exact_groups": len(self.exact_groups),
            "near_groups": len(self.near_groups),
            "cross_class_groups": len(self.cross_class_groups),
            "duplicate_files": sum(len(g.paths) for g in self.groups),
            "empty_classes": self.empty_classes,
            "imbalance_ratio": self.imbalance_ratio,
            "exif_rotated": sum(i.rotated for i in valid),
            "tiny": sum(i.tiny for i in valid),
            "huge": sum(i.huge for i in valid),
            "layout": self.layout.get("kind", "class-folders"),
        }

    def to_json(self) -> dict:
        return {
            "data_dir": self.data_dir,
            "created": datetime.datetime.now().isoformat(timespec="seconds"),
            "summary": self.summary(),
            "warnings": self.warnings,
            "problems": self.problems,
            "per_class": _per_class(self),
            "method": self.method,
            "bad_files": [{"path": p, "reason": r} for p, r in self.bad_files],
            "groups": [g.to_json() for g in self.groups],
            "images": [asdict(i) for i in self.images],
            "layout": self.layout,
            "splits": self.splits,
        }


def _per_class(result: DoctorResult) -> dict:
    table = {}
    for name in result.class_names:
        members = [i for i in result.images if i.label == name]
        valid = [i for i in members if i.error is None]
        table[name] = {
            "files": len(members),
            "valid": len(valid),
            "bad": len(members) - len(valid),
            "exif_rotated": sum(i.rotated for i in valid),
            "tiny": sum(i.tiny for i in valid),
            "huge": sum(i.huge for i in valid),
            "median_width": int(np.median([i.width for i in valid])) if valid else 0,
            "median_height": int(np.median([i.height for i in valid])) if valid else 0,
        }
    return table


# === Reading the folder ===


def _inspect(path: str, root: str, label: str):
    """`(ImageInfo, phash bytes, 16x16 thumbnail)` of one file."""
    from PIL import Image

    from kerasvision.data.images import check_image_file

    check = check_image_file(path)
    relative = os.path.relpath(check.path, root)  # a non-UTF-8 name shown escaped
    if check.error:
        return ImageInfo(relative, label, check.error, check.digest), None, None
    try:
        with Image.open(path) as image:
            fmt, mode, (width, height) = image.format, image.mode, image.size
            orientation = image.getexif().get(0x0112, 1)
        code, thumb = fingerprint(path)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        return ImageInfo(relative, label, f"unreadable ({error})"), None, None
    info = ImageInfo(
        relative,
        label,
        None,
        check.digest,
        width,
        height,
        mode,
        fmt or "",
        orientation not in (1, None),
        check.native,
    )
    return info, code, thumb


def _progress(label: str, total=None, progress=None) -> Progress:
    """A step of `doctor`: a bar on a terminal (or with `progress=True`), a
    line at least every 10 s otherwise, nothing with `progress=False`."""
    return Progress(
        label, total, unit="images", bar=progress, enabled=progress is not False
    )


def _read_folder(listed, *, workers=None, progress=None):
    """Inspect every file of an `Inventory`: `(class names, infos, codes [N, 8],
    thumbs [N, 256])` (codes/thumbs rows of bad files are zeros)."""
    root, jobs = listed.root, listed.files
    bar = _progress("checking images", len(jobs), progress)
    codes = np.zeros((len(jobs), 8), dtype=np.uint8)
    thumbs = np.zeros((len(jobs), THUMB_SIZE * THUMB_SIZE), dtype=np.uint8)
    infos = []
    workers = workers or min(8, 2 * (os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool, bar:
        results = pool.map(lambda job: _inspect(job[0], root, job[1]), jobs)
        for index, (info, code, thumb) in enumerate(results):
            infos.append(replace(info, split=jobs[index][2] or ""))
            if code is not None:
                codes[index], thumbs[index] = code, thumb
            bar.update(1)
    return listed.class_names, infos, codes, thumbs


# === Duplicates ===


def duplicate_groups(infos, pairs) -> list[DuplicateGroup]:
    """Groups (union-find) of files joined by equal bytes or by the near `pairs`.

    Args:
        infos: `ImageInfo`s; bad files take no part.
        pairs: `(i, j)` index pairs into `infos` judged near-duplicates.

    Returns:
        Groups of >= 2 files, cross-class first, then larger first.
    """
    sets = UnionFind(len(infos))
    first_of: dict[str, int] = {}
    for index, info in enumerate(infos):
        if info.error is None:
            sets.union(index, first_of.setdefault(info.digest, index))
    for a, b in pairs:
        sets.union(int(a), int(b))
    members: dict[int, list[int]] = {}
    for index, info in enumerate(infos):
        if info.error is None:
            members.setdefault(sets.find(index), []).append(index)
    groups = []
    for indices in members.values():
        if len(indices) < 2:
            continue
        digests = {infos[i].digest for i in indices}
        groups.append(
            DuplicateGroup(
                "exact" if len(digests) == 1 else "near",
                [infos[i].path for i in indices],
                [infos[i].label for i in indices],
            )
        )
    groups.sort(key=lambda g: (not g.cross_class, -len(g.paths), g.paths[0]))
    return groups


def _confirmed_near_pairs(root, infos, codes, thumbs, backbone, weights):
    """Near pairs between files of different content, and how they were judged."""
    valid = [i for i, info in enumerate(infos) if info.error is None]
    unique = list({infos[i].digest: i for i in reversed(valid)}.values())
    unique = np.array(sorted(unique), dtype=np.int64)
    limit = NEAR_DISTANCE if backbone is None else BACKBONE_DISTANCE
    pairs = unique[near_pairs(codes[unique], limit)] if len(unique) else unique
    pairs = pairs.reshape(-1, 2)
    method = {"hash": "phash (imagehash, 64 bit)", "max_hamming": limit}
    if backbone is None:
        keep = confirm_by_pixels(thumbs, pairs)
        method["confirm"] = f"16x16 thumbnail correlation >= {PIXEL_CORRELATION}"
    else:
        cosines, bar = _cosine_similarities(root, infos, pairs, backbone, weights)
        keep = cosines >= bar
        method["confirm"] = f"{backbone} pooled-feature cosine >= {bar:.4f}"
    method["candidate_pairs"] = int(len(pairs))
    method["confirmed_pairs"] = int(np.sum(keep))
    return pairs[keep], method


# === Backbone confirmation ===


def _pooled_model(backbone, weights):
    """`(model: raw pixels -> pooled features, (height, width), channels)`."""
    import keras

    from kerasvision.models.backbones import is_backbone_reference
    from kerasvision.models.transfer import backbone_with_preprocessing

    if is_backbone_reference(backbone):
        from kerasvision.reuse import load_backbone

        base, _ = load_backbone(backbone)
        inputs = keras.Input(base.input_shape[1:])
        x = base(inputs)
    else:  # a keras.applications name or hub:PRESET, with its preprocessing
        base, preprocessing, _, shape = backbone_with_preprocessing(
            backbone, weights=weights
        )
        inputs = keras.Input(shape)
        x = inputs if preprocessing is None else preprocessing(inputs)
        x = base(x)
    if len(x.shape) == 4:
        x = keras.layers.GlobalAveragePooling2D()(x)
    height, width, channels = inputs.shape[1:]
    return keras.Model(inputs, x), (height, width), channels


def _cosine_similarities(root, infos, pairs, backbone, weights):
    """Cosine of pooled features per pair, and the bar for "the same picture":
    `BACKBONE_COSINE`, raised to the 99.9th percentile of the cosines between
    up to 256 random images (an untrained or generic backbone finds every pair
    similar, so the bar adapts to the backbone and the data)."""
    from kerasvision.data.images import FileCheck, images_dataset

    if not len(pairs):
        return np.zeros(0, dtype=np.float32), BACKBONE_COSINE
    model, size, channels = _pooled_model(backbone, weights)
    valid = [i for i, info in enumerate(infos) if info.error is None]
    rng = np.random.default_rng(0)
    sample = rng.choice(valid, min(256, len(valid)), replace=False)
    needed = np.unique(np.concatenate([pairs.ravel(), sample]))
    checks = [
        FileCheck(os.path.join(root, infos[i].path), None, infos[i].native, "")
        for i in needed
    ]
    batches = images_dataset(checks, image_size=size, channels=channels, resize="crop")
    features = np.concatenate(
        [np.asarray(model(batch, training=False)) for batch in batches]
    ).reshape(len(needed), -1)
    features /= np.linalg.norm(features, axis=1, keepdims=True) + 1e-9
    row = {int(index): position for position, index in enumerate(needed)}
    background = features[[row[int(i)] for i in sample]]
    similarities = background @ background.T
    upper = similarities[np.triu_indices(len(sample), 1)]
    bar = max(BACKBONE_COSINE, float(np.quantile(upper, 0.999)) if len(upper) else 0)
    left = features[[row[int(i)] for i in pairs[:, 0]]]
    right = features[[row[int(j)] for j in pairs[:, 1]]]
    return np.einsum("ij,ij->i", left, right), bar


# === Entry point ===


def doctor(
    data_dir,
    output=None,
    *,
    strict: bool = False,
    backbone=None,
    weights="imagenet",
    write: bool = True,
    workers: int | None = None,
    progress: bool | None = None,
    labels=None,
    **columns,
) -> DoctorResult:
    """Check a dataset; write `doctor.html` and `doctor.json`.

    Args:
        data_dir: Folder with one sub-folder per class, a pre-split folder
            (train/, val/, test/: counts per split, classes a split lacks and
            duplicates across splits are reported too), or a CSV of labels.
        output: Folder for the report; created, or replaced when it holds an
            earlier doctor report (anything else is refused, as is a folder
            inside `data_dir`). Defaults to None (`./doctor-<name>`, numbered so
            that nothing existing is touched).
        strict: Make `result.failed` True on cross-class duplicates, bad files
            or empty classes (the CLI then exits 1). Defaults to False.
        backbone: Confirm near-duplicates by the cosine similarity of pooled
            features of a keras.applications backbone name, `hub:PRESET` (a
            KerasHub backbone) or a kerasvision run / `.keras` file. Defaults
            to None (a pixel check).
        weights: Weights of a named backbone ("imagenet", None or a file).
            Defaults to "imagenet".
        write: Write the report files. Defaults to True.
        workers: Reader threads. Defaults to None (2 per CPU, at most 8).
        progress: Show a progress counter. Defaults to None (on a terminal).
        labels: A CSV of labels for the images of `data_dir` (`fit --labels`).
            Defaults to None.
        **columns: The table's `path_column`, `label_column`, `split_column`.

    Returns:
        A `DoctorResult` (`output` is the folder written).

    Raises:
        FileNotFoundError: If `data_dir` does not exist.
        ValueError: If it has no class folders, or on a refused `output`.
        RuntimeError: If imagehash is missing (`pip install kerasvision[doctor]`).

    Example:
        >>> result = doctor("data/flowers", output="doctor-flowers")
        >>> result.summary()["cross_class_groups"]
    """
    require_extra("imagehash", "doctor")
    if isinstance(weights, str) and weights.lower() == "none":
        weights = None
    from kerasvision.doctor_report import check_output, default_output

    listed = inventory(data_dir, labels=labels, **columns)
    root = listed.root
    if write:
        output = os.path.abspath(os.fspath(output or default_output(root)))
        check_output(output, root)
    names, infos, codes, thumbs = _read_folder(
        listed, workers=workers, progress=progress
    )
    with _progress("comparing near-duplicates", progress=progress):
        pairs, method = _confirmed_near_pairs(
            root, infos, codes, thumbs, backbone, weights
        )
    result = DoctorResult(
        data_dir=root,
        output=output if write else None,
        class_names=names,
        images=infos,
        groups=duplicate_groups(infos, pairs),
        method=method,
        strict=strict,
        layout=listed.layout,
    )
    if write:
        from kerasvision.doctor_report import write_doctor_report

        write_doctor_report(result, output)
    return result
