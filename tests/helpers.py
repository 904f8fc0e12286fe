"""Checks shared by several test modules (instead of copy-paste)."""

from __future__ import annotations

import hashlib
import os

import numpy as np
from PIL import Image


def assert_layer_config_round_trip(layer):
    """`from_config(get_config())` rebuilds a layer with the same config."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def assert_keras_round_trip(model, path, inputs, atol=1e-6):
    """Save as .keras, reload, and compare predictions."""
    from kerasvision.saving import load_model

    model.save(path)
    loaded = load_model(path)
    expected = model.predict(inputs, verbose=0)
    actual = loaded.predict(inputs, verbose=0)
    np.testing.assert_allclose(actual, expected, atol=atol)
    return loaded


def write_image_folder(
    root, classes=("cats", "dogs"), per_class=6, size=(20, 24), seed=0, fmt="png"
):
    """Write a small folder-per-class dataset whose classes differ by brightness."""
    rng = np.random.default_rng(seed)
    paths = []
    for index, name in enumerate(classes):
        folder = os.path.join(root, name)
        os.makedirs(folder, exist_ok=True)
        for item in range(per_class):
            base = 40 + 160 * index / max(1, len(classes) - 1)
            pixels = np.clip(base + rng.normal(0, 10, (*size, 3)), 0, 255).astype(
                "uint8"
            )
            path = os.path.join(folder, f"{name}_{item}.{fmt}")
            Image.fromarray(pixels).save(path)
            paths.append(path)
    return paths


def small_digits(per_class=12, seed=0):
    """A class-balanced subset of scikit-learn's digits as raw 0-255 uint8 images."""
    from kerasvision.data.datasets import load_builtin

    x, y, names = load_builtin("digits")
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == c), per_class, replace=False)
            for c in range(10)
        ]
    )
    keep.sort()
    return x[keep], y[keep], names


def write_planted_digits(root, per_class=30, seed=0, flip_fraction=0.05):
    """Digits as 32x32 PNGs in `root/<digit>/` with planted problems.

    Planted: exact copies into another class (label conflicts), exact copies in
    the same class, JPEG re-encodes (quality 75), resized copies (64x64 and
    24x24), and `flip_fraction` of the originals moved to a wrong class.

    Returns:
        dict with `pairs` (set of frozensets of two relative paths: original and
        copy), `family` (relative path -> id of the original it shows),
        `cross_class` (pairs across classes), `flipped` ({relative path: true
        class}) and `names`.
    """
    x, y, names = small_digits(per_class=per_class, seed=seed)
    rng = np.random.default_rng(seed)
    count = len(x)
    flipped_index = set(
        rng.choice(count, int(round(flip_fraction * count)), replace=False).tolist()
    )
    family, placed, flipped = {}, {}, {}
    for index in range(count):
        label = int(y[index])
        if index in flipped_index:
            label = int(rng.choice([c for c in range(10) if c != y[index]]))
        relative = os.path.join(names[label], f"{index:04d}.png")
        os.makedirs(os.path.join(root, names[label]), exist_ok=True)
        image = Image.fromarray(x[index][..., 0]).resize((32, 32))
        image.save(os.path.join(root, relative))
        family[relative], placed[index] = index, (relative, label, image)
        if index in flipped_index:
            flipped[relative] = names[int(y[index])]
    clean = [i for i in range(count) if i not in flipped_index]
    chosen = rng.choice(clean, 44, replace=False).tolist()
    pairs, cross = set(), set()
    plans = [("cross", chosen[:8]), ("exact", chosen[8:16]), ("jpeg", chosen[16:28])]
    plans += [("large", chosen[28:36]), ("small", chosen[36:44])]
    for kind, indices in plans:
        for index in indices:
            relative, label, image = placed[index]
            if kind == "cross":
                label = (label + 1 + int(rng.integers(9))) % 10
            suffix = "jpg" if kind == "jpeg" else "png"
            copy = os.path.join(names[label], f"{index:04d}_{kind}.{suffix}")
            target = os.path.join(root, copy)
            if kind in ("cross", "exact"):
                with open(os.path.join(root, relative), "rb") as source:
                    content = source.read()
                with open(target, "wb") as stream:
                    stream.write(content)
            elif kind == "jpeg":
                image.convert("RGB").save(target, "JPEG", quality=75)
            else:
                image.resize((64, 64) if kind == "large" else (24, 24)).save(target)
            family[copy] = index
            pairs.add(frozenset((relative, copy)))
            if kind == "cross":
                cross.add(frozenset((relative, copy)))
    return {
        "pairs": pairs,
        "family": family,
        "cross_class": cross,
        "flipped": flipped,
        "names": names,
    }


def tree_hash(root):
    """sha256 over every file's relative path and content (hidden ones too),
    and every folder's relative path."""
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        digest.update(os.path.relpath(folder, root).encode() + b"/\0")
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            digest.update(open(path, "rb").read())
    return digest.hexdigest()


def make_runs_folder(root, tiny_run):
    """Runs for `kerasvision runs`, under `root`: 3 finished runs (test accuracy
    0.5, 0.9, 0.7), an interrupted one and one whose run.json is damaged."""
    import json
    import shutil

    run_dir, _ = tiny_run
    finished = (
        ("a", 0.5, "2026-01-01T10:00:00"),
        ("b", 0.9, "2026-01-03T10:00:00"),
        ("nested/c", 0.7, "2026-01-02T10:00:00"),
    )
    for name, accuracy, created in finished:
        target = root / name
        shutil.copytree(run_dir, target)
        info = json.loads((target / "run.json").read_text())
        info["metrics"]["accuracy"] = accuracy
        info["created"] = created
        (target / "run.json").write_text(json.dumps(info))
    partial = root / ".half.partial"
    shutil.copytree(run_dir, partial)
    info = json.loads((partial / "run.json").read_text())
    info.update(status="running", epochs_trained=None)
    (partial / "run.json").write_text(json.dumps(info))
    (partial / "checkpoints" / "state.json").write_text('{"epoch": 1}')
    (partial / "model.keras").unlink()
    (root / "broken").mkdir()
    (root / "broken" / "run.json").write_text('{"kind": "classifier", ')
    return root
