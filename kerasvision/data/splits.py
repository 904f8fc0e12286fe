"""Index splits: seeded stratified and group-aware splits, recorded splits.

Every function here only computes indices (`{"train": idx, "val": idx, "test":
idx}`); the sources (`kerasvision.data.sources`) turn them into `Split`s.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "group_stratified_split",
    "multilabel_split",
    "official_split",
    "recorded_indices",
    "scored_split",
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


def _units(groups, count):
    """Members of each unit (a group, or a single item), in order of first item."""
    if groups is None:
        return [np.array([i]) for i in range(count)]
    _, unit_of = np.unique(np.asarray(groups), return_inverse=True)
    order = np.argsort(unit_of, kind="stable")
    bounds = np.flatnonzero(np.diff(unit_of[order])) + 1
    members = np.split(order, bounds) if len(order) else []
    return sorted(members, key=lambda m: m[0])


def _best_split(wanted, sizes, rng) -> int:
    """The split that wants most (`wanted`), then wants most items (`sizes`),
    then the seed's pick."""
    return int(np.lexsort((rng.random(len(sizes)), sizes, wanted))[-1])


def _place_units(counts, sizes, fractions, rng) -> np.ndarray:
    """Sechidis et al.'s loop: the split index of every unit."""
    closed = fractions <= 0  # a split of fraction 0 never gets a unit
    wanted = fractions[:, None] * counts.sum(axis=0)[None, :]
    wanted[closed] = -np.inf
    room = np.where(closed, -np.inf, fractions * sizes.sum())
    left = counts.sum(axis=0).astype("float64")
    split_of = np.full(len(counts), -1)
    while np.any(left > 0):
        order = rng.permutation(counts.shape[1])  # ties between labels: seeded
        label = order[np.argmin(np.where(left[order] > 0, left[order], np.inf))]
        units = np.flatnonzero((split_of < 0) & (counts[:, label] > 0))
        for unit in units[rng.permutation(len(units))]:
            split = _best_split(wanted[:, label], room, rng)
            split_of[unit] = split
            wanted[split] -= counts[unit]
            room[split] -= sizes[unit]
            left -= counts[unit]
    for unit in rng.permutation(np.flatnonzero(split_of < 0)):
        split = _best_split(room, room, rng)
        split_of[unit] = split
        room[split] -= sizes[unit]
    return split_of


def _give_every_label(split_of, counts, fractions) -> None:
    """Move the smallest training unit holding a label into a held-out split
    (of fraction > 0) that has none of it, while training keeps one."""
    sizes = counts.sum(axis=1)
    for split in (2, 1):  # test, then validation
        if fractions[split] <= 0:
            continue
        for label in range(counts.shape[1]):
            holding = counts[:, label] > 0
            if np.any(holding & (split_of == split)):
                continue
            train = np.flatnonzero(holding & (split_of == 0))
            if len(train) >= 2:
                split_of[train[np.argmin(sizes[train])]] = split


def multilabel_split(targets, val_split: float, test_split: float, seed: int,
                     groups=None):  # fmt: skip
    """Seeded split of multi-label items: iterative stratification (Sechidis,
    Tsoumakas and Vlahavas 2011), every group kept in one split.

    Each split wants its fraction of the items and of every label's positives.
    The label with the fewest positives still to place is taken first (rare
    labels are the hard ones to spread); its units (a group of items, or one
    item) go, in seeded order, each to the split that still wants most of that
    label (ties: the split that wants most items, then the seed), and every
    split's wants shrink by the unit's labels and size. Units without labels
    fill the splits' remaining sizes. Then every label gets a positive in the
    test and validation splits (fraction > 0) where training can spare one (it
    keeps at least one): the smallest training unit holding it moves there.
    Labels with too few positives for that stay missing (`ImageData` warns).

    Args:
        targets: `[N, K]` multi-hot labels (values > 0.5 count as positive).
        val_split: Validation fraction.
        test_split: Test fraction.
        seed: Seed.
        groups: `[N]` group ids kept together (duplicates, `--group-by`).
            Defaults to None (every item alone).

    Returns:
        `{"train": idx, "val": idx, "test": idx}` (sorted indices).

    Raises:
        ValueError: If a fraction is outside [0, 1), they sum to >= 1, or the
            shapes do not match.

    Example:
        >>> parts = multilabel_split(np.eye(3)[[0, 1, 2, 0, 1, 2] * 5], 0.2, 0.2, 0)
        >>> sorted(len(v) for v in parts.values())
        [6, 6, 18]
    """
    _check_fractions(val_split, test_split)
    targets = np.asarray(targets)
    if targets.ndim != 2:
        raise ValueError(f"targets must be [N, K] multi-hot, got shape {targets.shape}")
    if groups is not None and len(groups) != len(targets):
        raise ValueError(f"{len(targets)} items but {len(groups)} group ids")
    members = _units(groups, len(targets))
    positive = (targets > 0.5).astype("int64")
    counts = np.array([positive[m].sum(axis=0) for m in members]).reshape(
        len(members), targets.shape[1]
    )
    sizes = np.array([len(m) for m in members], dtype="float64")
    fractions = np.array([1.0 - val_split - test_split, val_split, test_split])
    rng = np.random.default_rng(seed)
    split_of = _place_units(counts, sizes, fractions, rng)
    _give_every_label(split_of, counts, fractions)
    parts = {}
    for index, name in enumerate(("train", "val", "test")):
        chosen = [members[u] for u in np.flatnonzero(split_of == index)]
        parts[name] = (
            np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
        )
    return parts


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
    official training items (stratified, seeded; `multilabel_split` for
    `[N, K]` multi-hot labels); the rest trains.

    Returns:
        A split record (`{"train", "val", "test": indices, "seed"}`).
    """
    labels, is_test = np.asarray(labels), np.asarray(is_test, dtype=bool)
    official_train = np.flatnonzero(~is_test)
    carve = multilabel_split if labels.ndim == 2 else stratified_split
    parts = carve(labels[official_train], val_split, 0.0, seed)
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


def split_files(paths, digests, labels, root, fractions, *, group_by, duplicates,
                targets=None):  # fmt: skip
    """Split labelled files by class, keeping grouped files in one split.

    `fractions` is `(val_split, test_split, seed)`. Files are grouped with
    `split_groups` (when a split is asked for); without any group this is
    `stratified_split`, else `group_stratified_split`. With `targets` (`[N, K]`
    multi-hot, multi-label files) it is `multilabel_split`, groups kept whole.

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
    if targets is not None:
        parts = multilabel_split(targets, val_split, test_split, seed, groups)
        if groups is None:
            return parts, None
    elif groups is None:
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
    if targets is None:
        parts = group_stratified_split(labels, groups, val_split, test_split, seed)
    return parts, grouping


def scored_split(splits: dict) -> str:
    """The split a run is scored on: test, else val, else train (`splits` maps
    each name to its indices or files)."""
    if len(splits["test"]):
        return "test"
    return "val" if len(splits["val"]) else "train"
