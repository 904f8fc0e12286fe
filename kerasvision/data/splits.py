"""Index splits: seeded stratified and group-aware splits, recorded splits.

Every function here only computes indices (`{"train": idx, "val": idx, "test":
idx}`); the sources (`kerasvision.data.sources`) turn them into `Split`s.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "group_stratified_split",
    "official_split",
    "recorded_indices",
    "split_files",
    "split_from_record",
    "split_groups",
    "stratified_split",
]


def _check_fractions(val_split: float, test_split: float) -> None:
    for name, value in (("val_split", val_split), ("test_split", test_split)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if val_split + test_split >= 1.0:
        raise ValueError(
            f"val_split + test_split must be < 1, got {val_split} + {test_split}"
        )


def _split_counts(count: int, val_split: float, test_split: float):
    """`(n_test, n_val)` of a class of `count` items (at least one each when the
    fraction is > 0 and the class is big enough)."""
    n_test = int(round(count * test_split))
    n_val = int(round(count * val_split))
    if test_split > 0 and n_test == 0 and count >= 3:
        n_test = 1
    if val_split > 0 and n_val == 0 and count - n_test >= 2:
        n_val = 1
    return n_test, n_val


def stratified_split(labels, val_split: float, test_split: float, seed: int):
    """Seeded stratified split by item: `{"train": idx, "val": idx, "test": idx}`.

    Each class is shuffled with the seed and cut by the fractions (rounded, at
    least one test/val item per class when the fraction is > 0 and the class has
    enough items), so class proportions are kept in every split.

    Raises:
        ValueError: If a fraction is outside [0, 1) or they sum to >= 1.
    """
    _check_fractions(val_split, test_split)
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_test, n_val = _split_counts(len(members), val_split, test_split)
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def group_stratified_split(
    labels, groups, val_split: float, test_split: float, seed: int
):
    """Seeded split that keeps every group in one split, stratified by class.

    Each group counts for the class most of its members have. Per class, the
    groups are shuffled with the seed and taken into test, then val, while they
    fit the class's target counts (as `stratified_split` computes them); the
    rest go to train. A split that would stay empty although its fraction is
    > 0 gets the smallest group. With every group a single item this is exactly
    `stratified_split`.

    Args:
        labels: `[N]` integer labels.
        groups: `[N]` group ids (equal ids: same group, e.g. copies of one image
            or one patient's images).
        val_split: Validation fraction.
        test_split: Test fraction.
        seed: Seed.

    Returns:
        `{"train": idx, "val": idx, "test": idx}` (sorted indices).

    Raises:
        ValueError: If a fraction is outside [0, 1) or they sum to >= 1, or the
            lengths differ.
    """
    _check_fractions(val_split, test_split)
    labels, groups = np.asarray(labels), np.asarray(groups)
    if len(labels) != len(groups):
        raise ValueError(f"{len(labels)} labels but {len(groups)} group ids")
    _, group_of = np.unique(groups, return_inverse=True)
    order = np.argsort(group_of, kind="stable")
    bounds = np.flatnonzero(np.diff(group_of[order])) + 1
    members = np.split(order, bounds) if len(order) else []
    members.sort(key=lambda m: m[0])  # groups in order of their first item
    majority = np.array([np.bincount(labels[m]).argmax() for m in members])
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        candidates = [members[g] for g in np.flatnonzero(majority == label)]
        candidates = [candidates[i] for i in rng.permutation(len(candidates))]
        count = sum(len(m) for m in candidates)
        n_test, n_val = _split_counts(count, val_split, test_split)
        filled = {"test": 0, "val": 0}
        for group in candidates:
            for name, target in (("test", n_test), ("val", n_val)):
                if filled[name] + len(group) <= target:
                    filled[name] += len(group)
                    parts[name].append(group)
                    break
            else:
                parts["train"].append(group)
    for name, fraction in (("test", test_split), ("val", val_split)):
        if fraction > 0 and not parts[name] and len(parts["train"]) > 1:
            # Every group was bigger than its class's share: rather than an
            # empty split, take the smallest group (still whole).
            smallest = min(
                range(len(parts["train"])), key=lambda i: len(parts["train"][i])
            )
            parts[name].append(parts["train"].pop(smallest))
    return {
        name: np.sort(np.concatenate(chunks)) if chunks else np.zeros(0, np.int64)
        for name, chunks in parts.items()
    }


def split_groups(
    paths, digests, *, root, group_by=None, duplicates: bool = True
) -> np.ndarray | None:
    """Group ids for a leakage-safe split, or None when every file is alone.

    With `duplicates`, files with equal bytes and near-duplicates (when
    imagehash is installed; fingerprints cached by file size and modification
    time) are grouped; with
    `group_by`, files whose path relative to `root` gives the same key are
    grouped. The key is the regex's first capture group, else its whole match
    (`re.search`); a path without a match stays alone.

    Raises:
        ValueError: If `group_by` is not a valid regular expression.
    """
    import re

    from kerasvision.data.duplicates import UnionFind, duplicate_group_ids

    if duplicates:
        ids = duplicate_group_ids(paths, digests, root=root)
    else:
        ids = np.arange(len(paths), dtype=np.int64)
    if group_by is not None:
        try:
            pattern = re.compile(group_by)
        except re.error as error:
            raise ValueError(f"--group-by {group_by!r}: {error}") from None
        sets, first = UnionFind(len(paths)), {}
        for index, group in enumerate(ids):
            sets.union(index, int(group))
        for index, path in enumerate(paths):
            match = pattern.search(os.path.relpath(path, root))
            if match:
                key = match.group(1) if pattern.groups else match.group(0)
                sets.union(index, first.setdefault(key, index))
        ids = np.array([sets.find(i) for i in range(len(paths))], dtype=np.int64)
    return ids if len(np.unique(ids)) < len(ids) else None


def split_from_record(record: dict, names: list[str], *, where: str) -> dict:
    """Indices of a recorded split (`{"train": [name, ...], ...}`) into `names`.

    Raises:
        FileNotFoundError: If a recorded item is no longer among `names`.
    """
    index_of = {name: i for i, name in enumerate(names)}
    parts = {}
    for part in ("train", "val", "test"):
        items = record.get(part, [])
        missing = [item for item in items if item not in index_of]
        if missing:
            raise FileNotFoundError(
                f"{os.path.join(where, str(missing[0]))} of the recorded {part} split "
                f"is missing or no longer a valid image"
            )
        parts[part] = np.array([index_of[item] for item in items], dtype="int64")
    return parts


def official_split(labels, is_test, val_split: float, seed: int) -> dict:
    """The official test items as the test split; validation carved from the
    official training items (stratified, seeded); the rest trains.

    Returns:
        A split record (`{"train", "val", "test": indices, "seed"}`).
    """
    labels, is_test = np.asarray(labels), np.asarray(is_test, dtype=bool)
    official_train = np.flatnonzero(~is_test)
    parts = stratified_split(labels[official_train], val_split, 0.0, seed)
    return {
        "train": official_train[parts["train"]].tolist(),
        "val": official_train[parts["val"]].tolist(),
        "test": np.flatnonzero(is_test).tolist(),
        "seed": seed,
    }


def recorded_indices(split_record: dict) -> dict[str, np.ndarray]:
    """Indices of a split recorded as positions (arrays, built-in datasets)."""
    return {
        k: np.asarray(split_record.get(k, []), dtype="int64")
        for k in ("train", "val", "test")
    }


def split_files(paths, digests, labels, root, fractions, *, group_by, duplicates):
    """Split labelled files by class, keeping grouped files in one split.

    `fractions` is `(val_split, test_split, seed)`. Files are grouped with
    `split_groups` (when a split is asked for); without any group this is
    `stratified_split`, else `group_stratified_split`.

    Returns:
        `(parts, grouping)`: the index split and, when files grouped, the record
        of how (`{"by", "groups", "grouped_files"}`), else None.
    """
    val_split, test_split, seed = fractions
    groups = None
    if (val_split or test_split) and (duplicates or group_by is not None):
        groups = split_groups(
            paths, digests, root=root, group_by=group_by, duplicates=duplicates
        )
    if groups is None:
        return stratified_split(labels, val_split, test_split, seed), None
    _, sizes = np.unique(groups, return_counts=True)
    rules = (["duplicates"] if duplicates else []) + (
        [f"regex {group_by}"] if group_by is not None else []
    )
    grouping = {
        "by": " + ".join(rules),
        "groups": int(np.sum(sizes > 1)),
        "grouped_files": int(np.sum(sizes[sizes > 1])),
    }
    return group_stratified_split(labels, groups, val_split, test_split, seed), grouping
