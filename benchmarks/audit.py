"""Reliability audit: hostile command lines, data folders and destinations.

Runs the real `kerasvision` command (one process per case) on a scratch folder
holding `data` (3 class folders of 30 digit PNGs), two tiny trained runs (`run`,
`run2`: `fit data --image-size 16 --epochs 1 --seed 0|1`), a user's folder with a
file in it, a regular file, a symlink loop, class folders with a line break or
only spaces, and a decompression bomb; the hostile-input cases add their own
material (a device node, a pipe named `pipe.png`, a crafted clean log, a class
folder symlinked out of the data, a hand-made "run", a full or read-only disk...).
For each case it records the exit code and stderr, and compares every file,
folder, link and device under the scratch folder before and after. Needs nothing
outside the repository (the full and read-only disk cases mount a small tmpfs:
root only, else they are skipped). Prints one line per case and the table:

  tried      cases run
  clean      the expected exit code (2 for bad input, 1 for a write failure,
             0 where the input is hostile but usable), on failure one line of
             error naming the problem (the file or option), no traceback, and
             the case's own check passed (nothing left behind, a warning given)
  lost       a file, folder or device that existed before is gone or changed
  security   a case about the data folder's boundary (a crafted clean log, a
             symlinked class folder) touched something outside it
  silent     a silently wrong result: an output written into the data folder,
             a warning missing (symlinks out of the data, one image under two
             labels, changed data), an option that cannot train accepted
  traceback  stderr shows a Python traceback
  hang       the command ran past its time limit and was killed

Example:
    python benchmarks/audit.py
    python benchmarks/audit.py --only clean
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import click
import numpy as np

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
#: Lines that TensorFlow's C++ runtime prints on its own (not errors of ours).
NOISE = ("WARNING: All log messages before absl", "I0000", "W0000", "E0000")
COMMAND = [sys.executable, "-m", "kerasvision"]


def _cli(*args, timeout=300):
    result = subprocess.run(
        [*COMMAND, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )
    return result.returncode, result.stderr


def _snapshot(root):
    """`{path: what}` of every entry under `root` (links not followed): a file's
    digest, a folder, a link's target, a device's or pipe's type and number."""
    found = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[path] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[path] = ("folder",)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as stream:
                    found[path] = ("file", hashlib.sha256(stream.read()).hexdigest())
            else:  # a device, a pipe: never opened (a pipe would block)
                found[path] = ("special", stat.S_IFMT(info.st_mode), info.st_rdev)
    return found


def _write_png(path, array):
    from PIL import Image

    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images * 255 / 16).astype("uint8"), digits.target


def _setup(root):
    """The scratch folder every case runs against."""
    images, target = _digits()
    counts = [0, 0, 0]
    for index in range(len(images)):
        label = int(target[index]) % 3
        if counts[label] < 30:
            counts[label] += 1
            _write_png(f"{root}/data/c{label}/{index}.png", images[index])
    for name in ("empty", "user"):
        os.makedirs(f"{root}/{name}", exist_ok=True)
    with open(f"{root}/user/notes.txt", "w") as stream:
        stream.write("a user's file\n")
    with open(f"{root}/afile", "w") as stream:
        stream.write("a regular file\n")
    _write_png(f"{root}/oneclass/solo/a.png", images[0])
    # A symlink loop inside a class folder.
    for index in range(20):
        _write_png(f"{root}/loop/c{index % 2}/{index}.png", images[index])
    os.symlink(".", f"{root}/loop/c0/again")
    # A class name with a line break, one made of spaces.
    for bad in ("new\nline", "   "):
        folder = f"{root}/badclass-{len(bad)}"
        _write_png(f"{folder}/ok/a.png", images[0])
        _write_png(f"{folder}/ok/b.png", images[1])
        _write_png(f"{folder}/{bad}/a.png", images[2])
        _write_png(f"{folder}/{bad}/b.png", images[3])
    # A decompression bomb: 20000x20000 of one colour, a small PNG.
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    bomb = Image.new("L", (20000, 20000))
    os.makedirs(f"{root}/bomb", exist_ok=True)
    bomb.save(f"{root}/bomb/bomb.png", optimize=True)
    for seed, name in ((0, "run"), (1, "run2")):
        code, err = _cli("fit", f"{root}/data", "--image-size", 16, "--epochs", 1,
                         "--seed", seed, "--output", f"{root}/{name}")  # fmt: skip
        assert code == 0, err


@dataclass
class Case:
    """One command line (or `run(root)`) and what it must do.

    Attributes:
        name: Shown in the table.
        expected: Acceptable exit codes.
        line: The command after `kerasvision`; `{r}` is the scratch folder,
            `{img}` one image.
        kind: The column a failure of its own check (or, for "security", a
            loss) counts in: "lost", "security", "silent" or "error".
        setup: `setup(root)` makes the case's material (before the snapshot);
            False skips the case (e.g. no tmpfs without root).
        check: `check(root, code, stderr)` -> a problem, or None.
        names: A fragment the error line must hold (the file or option).
        may_change: Paths under the scratch folder the case may change.
        run: `run(root)` -> `(code, stderr)` instead of `line`.
        timeout: Seconds before the command counts as hung.
    """

    name: str
    expected: set
    line: str = ""
    kind: str = "error"
    setup: object = None
    check: object = None
    names: str | None = None
    may_change: tuple = ()
    run: object = None
    timeout: int = 300
    extra: dict = field(default_factory=dict)


#: `(name, expected exit codes, command line)`: the first audit's cases.
BASIC_CASES = [
    # --- bad options and arguments: exit 2, one line ---
    ("fit missing data", {2}, "fit {r}/missing"),
    ("fit empty data", {2}, "fit {r}/empty"),
    ("fit one class", {2}, "fit {r}/oneclass"),
    ("fit data is a file", {2}, "fit {r}/afile"),
    ("fit unknown model", {2}, "fit --model resnet9000"),
    ("fit unknown dataset", {2}, "fit --dataset imagenet"),
    ("fit epochs text", {2}, "fit --epochs ten"),
    ("fit epochs 0", {2}, "fit --epochs 0"),
    ("fit epochs -1", {2}, "fit --epochs -1"),
    ("fit image size text", {2}, "fit --image-size big"),
    ("fit image size 0", {2}, "fit --image-size 0"),
    ("fit image size 100000", {2}, "fit --image-size 100000"),
    ("fit image size 3x", {2}, "fit --image-size 3x"),
    ("fit batch size 0", {2}, "fit --batch-size 0"),
    ("fit batch size 1e20", {2}, "fit --batch-size 99999999999999999999"),
    ("fit lr inf", {2}, "fit --lr inf"),
    ("fit lr nan", {2}, "fit --lr nan"),
    ("fit lr -1", {2}, "fit --lr -1"),
    ("fit lr text", {2}, "fit --lr fast"),
    ("fit model-arg without =", {2}, "fit --model-arg filters"),
    ("fit model-arg bad value", {2}, "fit --model-arg 'filters=oops('"),
    ("fit model-arg unknown key", {2}, "fit --model-arg nokey=3"),
    ("fit val split 1.5", {2}, "fit --val-split 1.5"),
    ("fit splits sum > 1", {2}, "fit --val-split 0.6 --test-split 0.5"),
    ("fit label smoothing 2", {2}, "fit --label-smoothing 2"),
    ("fit dropout 1", {2}, "fit --dropout-rate 1"),
    ("fit augment unknown", {2}, "fit --augment wobble=3"),
    ("fit augment bad value", {2}, "fit --augment rotate=abc"),
    ("fit schedule unknown", {2}, "fit --schedule wiggly"),
    ("fit ema 2", {2}, "fit --ema 2"),
    ("fit time budget -5", {2}, "fit --time-budget -5"),
    ("fit class weight count", {2}, "fit {r}/data --class-weight 1,2,3,4"),
    ("fit class weight text", {2}, "fit --class-weight heavy"),
    ("fit unknown class", {2}, "fit --dataset digits --classes 3,99"),
    ("fit initializer unknown", {2}, "fit --kernel-initializer zeros:x:y"),
    ("fit resize unknown", {2}, "fit --resize squash"),
    ("fit channels 2", {2}, "fit --channels 2"),
    ("fit mode without backbone", {2}, "fit --mode fine-tune"),
    ("fit unfreeze without backbone", {2}, "fit --unfreeze blocks:2"),
    ("fit weights without backbone", {2}, "fit --weights none"),
    ("fit unknown backbone", {2}, "fit --backbone nope_net"),
    ("fit backbone weights missing", {2},
     "fit {r}/data --backbone mobilenet_v2 --weights {r}/no.h5"),
    ("fit unfreeze blocks:999", {2},
     "fit {r}/data --backbone mobilenet_v2 --weights none --image-size 32 "
     "--mode fine-tune --unfreeze blocks:999"),
    ("fit unfreeze unknown layer", {2},
     "fit {r}/data --backbone mobilenet_v2 --weights none --image-size 32 "
     "--mode fine-tune --unfreeze from:nolayer"),
    ("fit unfreeze bad spec", {2},
     "fit --backbone mobilenet_v2 --mode fine-tune --unfreeze some"),
    ("fit resume nothing", {2}, "fit --resume --output {r}/empty"),
    ("fit output under a file", {1}, "fit {r}/data --output {r}/afile/run"),
    ("fit output exists", {2}, "fit {r}/data --output {r}/run"),
    ("fit output = data --overwrite", {2},
     "fit {r}/data --output {r}/data --overwrite"),
    ("fit output inside data", {2}, "fit {r}/data --output {r}/data/c0/run"),
    ("fit onto a user folder --overwrite", {2},
     "fit {r}/data --output {r}/user --overwrite"),
    # --- hostile data ---
    ("fit symlink loop (usable)", {0}, "fit {r}/loop --epochs 1 --output {r}/out-loop"),
    ("fit class name with a line break", {2}, "fit {r}/badclass-8"),
    ("fit class name of spaces", {2}, "fit {r}/badclass-3"),
    ("predict a decompression bomb", {2}, "predict {r}/run {r}/bomb/bomb.png"),
    # --- the other commands ---
    ("evaluate missing run", {2}, "evaluate {r}/missing"),
    ("evaluate not a run", {2}, "evaluate {r}/empty"),
    ("evaluate run is a file", {2}, "evaluate {r}/afile"),
    ("evaluate missing data", {2}, "evaluate {r}/run {r}/missing"),
    ("evaluate data of other classes", {2}, "evaluate {r}/run {r}/oneclass"),
    ("evaluate tta unknown", {2}, "evaluate {r}/run --tta spin"),
    ("predict not a run", {2}, "predict {r}/empty {img}"),
    ("predict missing image", {2}, "predict {r}/run {r}/missing.png"),
    ("predict not an image", {2}, "predict {r}/run {r}/afile"),
    ("predict min-confidence 2", {2}, "predict {r}/run {img} --min-confidence 2"),
    ("predict top-k 0", {2}, "predict {r}/run {img} --top-k 0"),
    ("predict unknown pretrained", {2}, "predict --pretrained nope {img}"),
    ("export missing run", {2}, "export {r}/missing"),
    ("export onto a user folder", {2}, "export {r}/run --output {r}/user"),
    ("export onto a user folder --overwrite", {2},
     "export {r}/run --output {r}/user --overwrite"),
    ("export onto a regular file", {2}, "export {r}/run --output {r}/afile"),
    ("export onto the run", {2}, "export {r}/run --output {r}/run --overwrite"),
    ("export onto the run's parent", {2}, "export {r}/run --output {r} --overwrite"),
    ("export under a file", {1}, "export {r}/run --output {r}/afile/x"),
    ("export format unknown", {2}, "export {r}/run --format pdf"),
    ("export quantize without tflite", {2}, "export {r}/run --quantize int8"),
    ("export min-confidence -1", {2}, "export {r}/run --min-confidence -1"),
    ("visualize unknown kind", {2}, "visualize {r}/run --kind xray"),
    ("visualize unknown layer", {2},
     "visualize {r}/run {img} --kind feature-maps --layer nolayer"),
    ("visualize unknown class", {2},
     "visualize {r}/run {img} --kind saliency --class yak"),
    ("visualize output under a file", {1, 2},
     "visualize {r}/run --kind filters --output {r}/afile/x"),
    ("report missing run", {2}, "report {r}/missing"),
    ("report output under a file", {1, 2}, "report {r}/run --output {r}/afile/x.html"),
    ("ensemble a run with itself", {2}, "ensemble {r}/run {r}/run --output {r}/ens"),
    ("ensemble with a non-run", {2}, "ensemble {r}/run {r}/empty --output {r}/ens"),
    ("ensemble onto a user folder", {2},
     "ensemble {r}/run {r}/run2 --output {r}/user --overwrite"),
    ("encode a classifier run", {2}, "encode {r}/run {img}"),
    ("augment unknown spec", {2},
     "augment {r}/data --augment wobble --preview {r}/p.png"),
    ("augment preview under a file", {1},
     "augment {r}/data --augment flip --preview {r}/afile/p.png"),
    ("lr-find missing data", {2}, "lr-find {r}/missing"),
    ("doctor missing data", {2}, "doctor {r}/missing"),
    ("review missing run", {2}, "review {r}/missing"),
    ("clean missing csv", {2}, "clean {r}/data --apply {r}/missing.csv"),
    ("clean csv is not a review", {2}, "clean {r}/data --apply {r}/afile"),
    ("rerun missing run", {2}, "rerun {r}/missing"),
    ("rerun onto itself", {2}, "rerun {r}/run --output {r}/run"),
    ("write-dataset unknown", {2}, "write-dataset nope {r}/w"),
    ("write-dataset into a file", {1, 2}, "write-dataset digits {r}/afile"),
    ("unknown command", {2}, "fly"),
]  # fmt: skip


# === Material of the hostile-input cases (each made once, before its case) ===


def _copy(root, source, name):
    target = f"{root}/{name}"
    if not os.path.exists(target):
        shutil.copytree(f"{root}/{source}", target, symlinks=True)
    return target


def _write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode) as stream:
        stream.write(content)


def _user_folder(relative):
    def setup(root):
        _write(f"{root}/{relative}/mine.txt", "a user's file\n")

    return setup


def _device(relative):
    """A character device like /dev/null (a pipe without root)."""

    def setup(root):
        path = f"{root}/{relative}"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            return
        try:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            os.mkfifo(path)

    return setup


def _is_special(relative):
    def check(root, code, err):
        path = f"{root}/{relative}"
        kept = os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode)
        return None if kept else f"{relative} was replaced by a regular file"

    return check


def _crafted_log(name, moves, created=()):
    """A data folder `name/data` whose clean log moves files across its
    boundary, and a victim's folder beside it."""

    def setup(root):
        base = f"{root}/{name}"
        _copy(root, "data", f"{name}/data")
        _write(f"{base}/victim/precious.txt", "the victim's file\n")
        _write(f"{base}/victim/planted.png", b"planted")
        os.makedirs(f"{base}/victim_emptydir", exist_ok=True)
        log = {"sessions": [{"moves": moves, "created_dirs": list(created)}]}
        _write(f"{base}/data/.kerasvision-quarantine/clean-log.json", json.dumps(log))

    return setup


def _symlinked_class(root):
    images, _ = _digits()
    _write_png(f"{root}/c6/outside/c2/113.png", images[5])
    for label in (0, 1):
        for index in range(3):
            _write_png(f"{root}/c6/h/symclass/c{label}/{index}.png", images[index])
    if not os.path.lexists(f"{root}/c6/h/symclass/c2"):
        os.symlink(f"{root}/c6/outside/c2", f"{root}/c6/h/symclass/c2")
    _write(f"{root}/c6/review.csv", "path,given_label,action\nc2/113.png,c2,remove\n")


def _two_reviews(root):
    _copy(root, "data", "c7/data")
    names = sorted(os.listdir(f"{root}/c7/data/c0"))[:20]
    for part, chosen in (("a", names[:10]), ("b", names[10:])):
        rows = "".join(f"c0/{name},c0,remove\n" for name in chosen)
        _write(f"{root}/c7/{part}.csv", "path,given_label,action\n" + rows)
    _write(f"{root}/c7/before.json", json.dumps(_tree_digest(f"{root}/c7/data")))


def _tree_digest(folder):
    return {
        os.path.relpath(path, folder): what
        for path, what in _snapshot(folder).items()
        if ".kerasvision-quarantine" not in path
    }


def _concurrent_applies(root):
    """`clean --apply a.csv` and `kerasvision.apply_review(b.csv)` at once."""
    data = f"{root}/c7/data"
    apply_b = (
        "import sys, kerasvision; kerasvision.apply_review(sys.argv[1], sys.argv[2])"
    )
    first = subprocess.Popen([*COMMAND, "clean", data, "--apply", f"{root}/c7/a.csv"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, env=ENV)  # fmt: skip
    second = subprocess.Popen([sys.executable, "-c", apply_b, data, f"{root}/c7/b.csv"],
                              stderr=subprocess.PIPE, text=True, env=ENV)  # fmt: skip
    errors = [process.communicate(timeout=300)[1] for process in (first, second)]
    code = first.returncode or second.returncode
    return code, "\n".join(e for e in errors if "Traceback" in e or code)


def _undo_restores_everything(root, code, err):
    data = f"{root}/c7/data"
    log = json.load(open(f"{data}/.kerasvision-quarantine/clean-log.json"))
    moves = sum(len(s["moves"]) for s in log["sessions"])
    if moves != 20:
        return f"the undo log holds {moves} of the 20 moves"
    undo, undo_err = _cli("clean", data, "--undo")
    before = json.load(open(f"{root}/c7/before.json"))
    after = json.loads(json.dumps(_tree_digest(data)))
    return None if undo == 0 and after == before else f"undo left {undo_err[-200:]}"


def _hand_made_run(root):
    _write(f"{root}/myproject/src/main.py", "print('my work')\n")
    _write(f"{root}/myproject/run.json", '{"name": "myproject", "status": "complete"}')
    _write(f"{root}/myproject/model.keras", b"PK\x03\x04 my own model")


def _user_outputs(root):
    for name in ("pics/filters.png", "fig.png", "fig2.png", "index.html"):
        _write(f"{root}/{name}", b"the user's " + name.encode())


def _not_written(*relatives):
    def check(root, code, err):
        written = [r for r in relatives if os.path.lexists(f"{root}/{r}")]
        return f"wrote {written[0]}" if written else None

    return check


def _data_with(name, change):
    def setup(root):
        if not os.path.exists(f"{root}/{name}"):
            _copy(root, "data", name)
            change(f"{root}/{name}")

    return setup


def _warns(fragment, run_file=None, key=None):
    """The command warned (stderr holds `fragment`) and, if given, recorded
    `key` in `run_file`'s data."""

    def check(root, code, err):
        if fragment not in err:
            return f"no warning with {fragment!r}"
        if run_file is not None:
            info = json.load(open(f"{root}/{run_file}/run.json"))
            if key not in info["data"]:
                return f"run.json does not record data.{key}"
        return None

    return check


def _trained_on_own_files(run_file, at_most):
    def check(root, code, err):
        counts = json.load(open(f"{root}/{run_file}/run.json"))["split"]["counts"]
        total = sum(counts.values())
        if "symlink(s) lead outside the data folder" not in err:
            return "no word about the symlink leaving the data folder"
        return None if total <= at_most else f"trained on {total} images"

    return check


def _changed_data(root):
    """A run on a copy of the data, then 3 of its test images replaced."""
    if os.path.exists(f"{root}/r16"):
        return
    _copy(root, "data", "d16")
    code, err = _cli("fit", f"{root}/d16", "--image-size", 16, "--epochs", 1,
                     "--seed", 0, "--output", f"{root}/r16")  # fmt: skip
    assert code == 0, err
    rng = np.random.default_rng(0)
    for name in json.load(open(f"{root}/r16/run.json"))["split"]["test"][:3]:
        _write_png(f"{root}/d16/{name}", rng.integers(0, 255, (8, 8), dtype=np.uint8))


def _delete_during_training(root):
    """`fit --cache none`, and a class folder removed after the first epoch."""
    _copy(root, "data", "d18")
    process = subprocess.Popen(
        [*COMMAND, "fit", f"{root}/d18", "--cache", "none", "--image-size", "16",
         "--epochs", "3", "--seed", "0", "--output", f"{root}/o18"],
        stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("epoch 1/"):
            shutil.rmtree(f"{root}/d18/c2")
    process.wait(timeout=300)
    return process.returncode, "".join(lines)


def _edited_run(name, edit):
    def setup(root):
        if not os.path.exists(f"{root}/{name}"):
            edit(_copy(root, "run", name))

    return setup


def _without_data(run):
    info = json.load(open(f"{run}/run.json"))
    del info["data"]
    _write(f"{run}/run.json", json.dumps(info))


def _damaged_state(root):
    partial = f"{root}/.r25s.partial"
    _write(f"{partial}/run.json", "{}")
    _write(f"{partial}/checkpoints/state.json", '{"epoch": "three"}')


def _ensemble(root):
    if not os.path.exists(f"{root}/ens25"):
        code, err = _cli("ensemble", f"{root}/run", f"{root}/run2", "--output",
                         f"{root}/ens25")  # fmt: skip
        assert code == 0, err


def _bom_review(root):
    _copy(root, "data", "c25/data")
    name = sorted(os.listdir(f"{root}/c25/data/c0"))[0]
    text = f"path,given_label,action\nc0/{name},c0,remove\n"
    _write(f"{root}/c25/excel.csv", b"\xef\xbb\xbf" + text.encode())


def _quarantined(relative):
    def check(root, code, err):
        folder = f"{root}/{relative}/.kerasvision-quarantine/c0"
        return None if os.path.isdir(folder) else "the row was not applied"

    return check


LONG = "/".join(["a" * 249] * 20)


@contextlib.contextmanager
def _mounted_tmpfs(path, size_kb):
    os.makedirs(path, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", path],
        capture_output=True,
    )
    if mounted.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", path], check=False)


def _on_small_disk(command, *, read_only=False, copy_run=False):
    """`run(root)`: `command` (with `{d}`: a small tmpfs, full or read-only)."""

    def run(root):
        disk = f"{root}/disk-{len(os.listdir(root))}"
        with _mounted_tmpfs(disk, 16384 if copy_run else 2048) as mounted:
            if not mounted:
                return None, "skipped: mounting a tmpfs needs root"
            if copy_run:
                shutil.copytree(f"{root}/run", f"{disk}/run")
            if read_only:
                subprocess.run(["mount", "-o", "remount,ro", disk], check=True)
            else:
                _fill(disk)
            before = _snapshot(disk)
            code, err = _cli(*shlex.split(command.format(r=root, d=disk)))
            left = sorted(set(_snapshot(disk)) - set(before))
            if left:
                err += f"\nLEFT BEHIND {os.path.relpath(left[0], disk)}"
            return code, err

    return run


def _fill(folder):
    handle = os.open(os.path.join(folder, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(handle, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(handle)


def _nothing_left(*relatives):
    def check(root, code, err):
        if "LEFT BEHIND" in err:
            return err.split("LEFT BEHIND")[-1].strip()
        left = [r for r in relatives if os.path.lexists(f"{root}/{r}")]
        return f"left {left[0]}" if left else None

    return check


def _sigterm_write_dataset(root):
    """`write-dataset` stopped by SIGTERM while it writes."""
    os.makedirs(f"{root}/w26", exist_ok=True)
    process = subprocess.Popen([*COMMAND, "write-dataset", "digits", f"{root}/w26/out"],
                               stderr=subprocess.PIPE, text=True, env=ENV)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(n.startswith(".dataset-") for n in os.listdir(f"{root}/w26")):
            process.send_signal(signal.SIGTERM)
            break
        time.sleep(0.01)
    _, err = process.communicate(timeout=120)
    left = os.listdir(f"{root}/w26")
    return process.returncode, err + (f"\nLEFT BEHIND {left[0]}" if left else "")


_FIT = "--image-size 16 --epochs 1 --seed 0"

#: The hostile-input cases: one per problem found by the audit of 311 cases
#: (numbered as in that issue; the export items are the export module's).
HOSTILE_CASES = [
    # --- 1. the staging sweep never removes a user's folder ---
    Case("1 sweep keeps .tmp-2024-tax-returns", {0},
         "augment {r}/data --augment flip --image-size 16 --preview {r}/s1/p.png",
         kind="lost", setup=_user_folder("s1/.tmp-2024-tax-returns")),
    Case("1 sweep keeps .export-2023-photos", {0},
         "export {r}/run --output {r}/s2/exp1", kind="lost",
         setup=_user_folder("s2/.export-2023-photos"),
         may_change=("run/run.json",)),  # the export is recorded in its run
    Case("1 sweep keeps .doctor-7-notes", {0},
         "doctor {r}/data --output {r}/s3/doc", kind="lost",
         setup=_user_folder("s3/.doctor-7-notes")),
    # --- 2. an output that is a device node ---
    Case("2 report --output a device", {2},
         "report {r}/run --output {r}/fakedev/null", kind="lost",
         setup=_device("fakedev/null"), check=_is_special("fakedev/null"),
         names="fakedev/null"),
    Case("2 lr-find --output a device", {2},
         "lr-find {r}/data --image-size 16 --output {r}/fakedev/null2", kind="lost",
         setup=_device("fakedev/null2"), check=_is_special("fakedev/null2"),
         names="fakedev/null2"),
    # --- 5. clean --undo with a crafted log ---
    Case("5 undo log: to outside the data", {2},
         "clean {r}/c5a/data --undo", kind="security",
         setup=_crafted_log("c5a", [{"from": "c0/gone.png",
                                     "to": "../victim/precious.txt"}]),
         names="outside the data folder"),
    Case("5 undo log: from outside the data", {2},
         "clean {r}/c5b/data --undo", kind="security",
         setup=_crafted_log("c5b", [{"from": "../victim/planted.png",
                                     "to": "c0/planted.png"}]),
         names="outside the data folder"),
    Case("5 undo log: created dir outside", {2},
         "clean {r}/c5c/data --undo", kind="security",
         setup=_crafted_log("c5c", [], ["../victim_emptydir"]),
         names="outside the data folder"),
    # --- 6. clean --apply through a class folder symlinked out of the data ---
    Case("6 apply through a symlinked class", {0, 2},
         "clean {r}/c6/h/symclass --apply {r}/c6/review.csv", kind="security",
         setup=_symlinked_class),
    # --- 7. two applies at once keep both undo records ---
    Case("7 two clean --apply at once", {0}, kind="lost", setup=_two_reviews,
         run=_concurrent_applies, check=_undo_restores_everything,
         may_change=("c7/",)),
    # --- 8. --overwrite replaces only a run kerasvision wrote ---
    Case("8 fit --overwrite a hand-made run", {2},
         f"fit {{r}}/data {_FIT} --output {{r}}/myproject --overwrite",
         kind="lost", setup=_hand_made_run, names="myproject"),
    # --- 10. existing user files need --overwrite ---
    Case("10 visualize onto pics/filters.png", {2},
         "visualize {r}/run --kind filters --output {r}/pics", kind="lost",
         setup=_user_outputs, names="filters.png"),
    Case("10 augment --preview onto fig.png", {2},
         "augment {r}/data --image-size 16 --preview {r}/fig.png", kind="lost",
         setup=_user_outputs, names="fig.png"),
    Case("10 lr-find --output onto fig2.png", {2},
         "lr-find {r}/data --image-size 16 --output {r}/fig2.png", kind="lost",
         setup=_user_outputs, names="fig2.png"),
    Case("10 report --output onto index.html", {2},
         "report {r}/run --output {r}/index.html", kind="lost",
         setup=_user_outputs, names="index.html"),
    # --- 11. an ensemble onto one of its members ---
    Case("11 ensemble --output a member", {2},
         "ensemble {r}/run {r}/run2 --output {r}/run --overwrite", kind="lost",
         names="input run"),
    # --- 12. outputs inside the data folder ---
    Case("12 augment --preview into the data", {2},
         "augment {r}/data --image-size 16 --preview {r}/data/c0/preview.png",
         kind="silent", check=_not_written("data/c0/preview.png"),
         names="inside the data folder"),
    Case("12 lr-find --output into the data", {2},
         "lr-find {r}/data --image-size 16 --output {r}/data/c1/lr.png",
         kind="silent", check=_not_written("data/c1/lr.png"),
         names="inside the data folder"),
    # --- 13. a symlink out of the data (ln -s /usr d/c0/usr) ---
    Case("13 fit with c0/usr -> /usr", {0}, f"fit {{r}}/d13 {_FIT} --output {{r}}/o13",
         kind="silent",
         setup=_data_with("d13", lambda d: os.symlink("/usr", f"{d}/c0/usr")),
         check=_trained_on_own_files("o13", 90)),
    # --- 14. one image under two labels ---
    Case("14 fit with c0/link -> ../c1", {0},
         f"fit {{r}}/d14 {_FIT} --output {{r}}/o14", kind="silent",
         setup=_data_with("d14", lambda d: os.symlink("../c1", f"{d}/c0/link")),
         check=_warns("filed under different classes", "o14",
                      "cross_class_duplicates")),
    # --- 16. the data changed since the run trained ---
    Case("16 evaluate on changed data", {0}, "evaluate {r}/r16", kind="silent",
         setup=_changed_data, check=_warns("3 changed: ")),
    Case("16 rerun on changed data", {0}, "rerun {r}/r16 --output {r}/r16b",
         kind="silent", setup=_changed_data, check=_warns("3 changed: ")),
    # --- 17. an option that cannot train ---
    Case("17 fit --class-weight 0,0,0", {2},
         f"fit {{r}}/data {_FIT} --class-weight 0,0,0 --output {{r}}/o17",
         kind="silent", names="--class-weight"),
    # --- 18-25. tracebacks, hangs, errors that do not name the problem ---
    Case("18 images deleted during training", {1}, kind="error",
         run=_delete_during_training, names="d18/c2/"),
    Case("19 --model-arg dense_units=64.0", {2},
         f"fit {{r}}/data {_FIT} --model-arg dense_units=64.0", names="dense_units"),
    Case("19 --model-arg dense_units=1e999", {2},
         f"fit {{r}}/data {_FIT} --model-arg dense_units=1e999", names="dense_units"),
    Case("20 evaluate: run.json without data", {2}, "evaluate {r}/r20",
         setup=_edited_run("r20", _without_data), names="run.json"),
    Case("20 report: run.json without data", {2}, "report {r}/r20",
         setup=_edited_run("r20", _without_data), names="run.json"),
    Case("21 predict: labels.txt too short", {2}, "predict {r}/r21s {img}",
         setup=_edited_run("r21s", lambda r: _write(f"{r}/labels.txt", "c0\nc1\n")),
         names="labels.txt"),
    Case("21 predict: labels.txt too long", {2}, "predict {r}/r21l {img}",
         setup=_edited_run("r21l", lambda r: _write(f"{r}/labels.txt", "a\nb\nc\nd\n")),
         names="labels.txt"),
    Case("22 fit with a pipe named pipe.png", {0},
         f"fit {{r}}/d22 {_FIT} --output {{r}}/o22", timeout=240,
         setup=_data_with("d22", lambda d: os.mkfifo(f"{d}/c0/pipe.png"))),
    Case("22 doctor with a pipe named pipe.png", {0},
         "doctor {r}/d22 --output {r}/doc22", timeout=240,
         setup=_data_with("d22", lambda d: os.mkfifo(f"{d}/c0/pipe.png"))),
    Case("23 fit --channels 4", {2}, f"fit {{r}}/data {_FIT} --channels 4 "
         "--output {r}/o23", check=_nothing_left(".o23.partial", "o23"),
         names="--channels 4"),
    Case("23 fit --group-by giving one group", {0, 2},
         f"fit {{r}}/data {_FIT} --group-by c --output {{r}}/o23b",
         check=_nothing_left(".o23b.partial")),
    Case("24 --model-arg kernel_size=100", {2},
         f"fit {{r}}/data {_FIT} --model-arg kernel_size=100", timeout=120,
         names="kernel_size"),
    Case("25 evaluate: corrupt model.keras", {2}, "evaluate {r}/r25k",
         setup=_edited_run("r25k", lambda r: _write(f"{r}/model.keras", b"garbage")),
         names="model.keras"),
    Case("25 evaluate: corrupt run.json", {2}, "evaluate {r}/r25j",
         setup=_edited_run("r25j", lambda r: _write(f"{r}/run.json", "{")),
         names="run.json"),
    Case("25 report: corrupt metrics.json", {0, 2}, "report {r}/r25m",
         setup=_edited_run("r25m", lambda r: _write(f"{r}/metrics.json", "[1,")),
         names="metrics.json"),
    Case("25 resume: damaged state.json", {2}, "fit --resume --output {r}/r25s",
         setup=_damaged_state, names="state.json"),
    Case("25 fit: a name that is not UTF-8", {0},
         f"fit {{r}}/d25n {_FIT} --output {{r}}/o25n",
         setup=_data_with("d25n", lambda d: shutil.copy(
             f"{d}/c0/{sorted(os.listdir(f'{d}/c0'))[0]}",
             os.fsdecode(os.fsencode(d) + b"/c0/bad\xff.png"))),
         check=_warns("bad\\xff.png")),
    Case("25 review an ensemble", {1, 2}, "review {r}/ens25",
         setup=_ensemble, names="ensemble"),
    Case("25 clean: a csv with a BOM (Excel)", {0},
         "clean {r}/c25/data --apply {r}/c25/excel.csv", setup=_bom_review,
         check=_quarantined("c25/data"), may_change=("c25/data/",)),
    Case("26 fit --output of 5,000 characters", {2},
         f"fit {{r}}/data {_FIT} --output {{r}}/long/{LONG}",
         check=_nothing_left("long"), names="path too long"),
    Case("26 write-dataset stopped by SIGTERM", {130}, run=_sigterm_write_dataset,
         check=_nothing_left("w26/out")),
    Case("26 write-dataset on a full disk", {1},
         run=_on_small_disk("write-dataset digits {d}/w"),
         check=_nothing_left(), names="no space left"),
    Case("26 review --output on a full disk", {1, 2},
         run=_on_small_disk("review {r}/run --output {d}/rev"),
         check=_nothing_left()),
    Case("26 export from a read-only run", {0, 1, 2},
         run=_on_small_disk("export {d}/run --output {r}/exp26", read_only=True,
                            copy_run=True),
         check=lambda root, code, err: None if code == 0 or not os.path.exists(
             f"{root}/exp26") else "the export stayed although the command failed"),
]  # fmt: skip


CASES = [Case(name, expected, line) for name, expected, line in BASIC_CASES]
CASES += HOSTILE_CASES


def _error_lines(err):
    lines = [
        line for line in err.splitlines() if line.strip() and not line.startswith(NOISE)
    ]
    # click's usage errors print "Usage: ..." and "Try ..." before the error line.
    return [line for line in lines if not line.startswith(("Usage:", "Try ", "  "))]


def _clean(case, code, err):
    """Whether the exit code is expected and a failure is one line naming it."""
    if code not in case.expected or "Traceback" in err:
        return False
    if code in (0, 130):
        return True
    errors = [line for line in _error_lines(err) if line.startswith("Error")]
    errors = errors or _error_lines(err)
    return len(errors) == 1 and (case.names is None or case.names in errors[0])


def _run_case(case, root, image):
    """`(code, stderr, problem)`: code None when it hung."""
    if case.run is not None:
        try:
            code, err = case.run(root)
        except subprocess.TimeoutExpired:
            return None, "", "hung"
        return code, err, None
    line = shlex.split(case.line.format(r=root, img=image))
    try:
        code, err = _cli(*line, timeout=case.timeout)
    except subprocess.TimeoutExpired:
        return None, "", f"ran past {case.timeout} s"
    return code, err, None


def _lost(before, after, root, case):
    allowed = tuple(os.path.join(root, prefix) for prefix in case.may_change)
    return [
        path
        for path, what in before.items()
        if after.get(path) != what and not path.startswith(allowed)
    ]


def _judge(case, root, image, table):
    """Run one case and count it; returns its line for the log."""
    if case.setup is not None and case.setup(root) is False:
        return f"--- {case.name:44s} skipped"
    before = _snapshot(root)
    code, err, hung = _run_case(case, root, image)
    if code is None and hung is None:  # run() could not set up (no tmpfs)
        return f"--- {case.name:44s} {err}"
    after = _snapshot(root)
    lost = _lost(before, after, root, case)
    problem = None if hung or not case.check else case.check(root, code, err)
    clean = hung is None and problem is None and _clean(case, code, err)
    table["tried"] += 1
    table["clean"] += clean
    table["traceback"] += "Traceback" in err
    table["hang"] += hung is not None
    if case.kind == "security" and (lost or problem):
        table["security"] += 1
    else:
        table["lost"] += bool(lost) or (case.kind == "lost" and problem is not None)
        table["silent"] += case.kind == "silent" and (
            problem is not None or code == 0 and 0 not in case.expected
        )
    last = ([line for line in err.splitlines() if line.strip()][-1:] or [""])[0]
    notes = (
        (f"  LOST {os.path.relpath(lost[0], root)}" if lost else "")
        + (f"  PROBLEM {problem}" if problem else "")
        + (f"  HUNG ({hung})" if hung else "")
    )
    mark = "ok " if clean and not lost else "BAD"
    return f"{mark} {case.name:44s} exit {code}  {last[:100]}{notes}"


@click.command()
@click.option(
    "--only",
    default=None,
    help="Run the cases whose name contains one of these (comma-separated).",
)
def main(only):
    """Hostile inputs to every command: clean errors, no tracebacks, nothing lost."""
    columns = ("tried", "clean", "lost", "security", "silent", "traceback", "hang")
    table = dict.fromkeys(columns, 0)
    with tempfile.TemporaryDirectory() as root:
        tick = time.perf_counter()
        _setup(root)
        print(f"set-up (images, two trained runs): {time.perf_counter() - tick:.0f} s")
        image = os.path.join(root, "data", "c0", "0.png")
        for case in CASES:
            if only and not any(part in case.name for part in only.split(",")):
                continue
            try:
                print(_judge(case, root, image, table), flush=True)
            except Exception as error:  # the audit's own set-up failed
                print(f"--- {case.name:44s} not run: {error!r:.200}", flush=True)
        subprocess.run(["umount", "-l", *_mounts(root)], capture_output=True)
    print(f"\n| {' | '.join(columns)} |\n|{'---|' * len(columns)}")
    print(f"| {' | '.join(str(table[c]) for c in columns)} |")


def _mounts(root):
    with open("/proc/mounts") as stream:
        return [line.split()[1] for line in stream if line.split()[1].startswith(root)]


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
