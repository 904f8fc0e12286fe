"""kerasvision.export.core: only our exports are replaced; destinations are locked."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from kerasvision.export import ExportError, export_saved_model, is_export
from kerasvision.export.core import (
    MARKER_FILE,
    ONNX_MARKER_KEY,
    onnx_metadata,
    require_packages,
)
from kerasvision.models.cnn import build_bipyramidal_cnn


def _model():
    return build_bipyramidal_cnn((8, 8, 3), 3, filters=(4,), dense_units=())


def _export(path, **options):
    return export_saved_model(_model(), path, class_names=["a", "b", "c"], **options)


def _users_saved_model(folder):
    """A folder of the user's own: a SavedModel-looking file and notes."""
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"\x08\x01 the user's graph")
    (folder / "NOTES.txt").write_text("my notes\n")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


# === Only what kerasvision wrote is an export ===


def test_is_export_recognises_our_marker_only(tmp_path):
    _export(tmp_path / "ours")
    marker = json.loads((tmp_path / "ours" / MARKER_FILE).read_text())
    assert marker["format"] == "savedmodel" and "kerasvision" in marker
    assert is_export(tmp_path / "ours")
    _users_saved_model(tmp_path / "theirs")
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07\x12\x04user")
    (tmp_path / "notes.onnx").write_text("not even a protobuf")
    for path in ("theirs", "model.onnx", "notes.onnx", "missing"):
        assert not is_export(tmp_path / path), path


def test_overwrite_never_replaces_a_users_folder(tmp_path):
    before = _users_saved_model(tmp_path / "serving")
    with pytest.raises(ValueError, match="not a kerasvision export") as raised:
        _export(tmp_path / "serving", overwrite=True)
    assert str(tmp_path / "serving") in str(raised.value)
    after = {p.name: p.read_bytes() for p in (tmp_path / "serving").iterdir()}
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ["serving"]  # no staging, no lock


def test_exports_of_a_run_from_before_the_marker_are_still_ours(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text("{}")
    (run / "model.keras").write_bytes(b"")
    legacy = _users_saved_model(run / "serving")
    assert legacy and is_export(run / "serving")  # inside a run directory
    assert not is_export(tmp_path / "run" / "missing")


def test_onnx_metadata_is_read_without_loading_the_model(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph)
    onnx.save(model, tmp_path / "user.onnx")
    assert onnx_metadata(tmp_path / "user.onnx") == {}
    assert not is_export(tmp_path / "user.onnx")
    helper.set_model_props(model, {"class_names": "[]", ONNX_MARKER_KEY: "{}"})
    onnx.save(model, tmp_path / "ours.onnx")
    assert onnx_metadata(tmp_path / "ours.onnx") == {
        "class_names": "[]",
        ONNX_MARKER_KEY: "{}",
    }
    assert is_export(tmp_path / "ours.onnx")


def test_missing_packages_are_one_line_naming_the_extra():
    with pytest.raises(ExportError) as raised:
        require_packages(
            ("json", "no_such_module_x.sub"), extra="thing", what="Thing export"
        )
    message = str(raised.value)
    assert message == (
        "Thing export needs the optional package(s) no-such-module-x: "
        "pip install 'kerasvision[thing]'"
    )


# === Locking ===

_HOLDER = textwrap.dedent(
    """
    import sys
    from kerasvision.export.core import destination_lock

    with destination_lock(sys.argv[1]):
        print("locked", flush=True)
        sys.stdin.read()
    """
)


def test_a_second_process_fails_at_once_naming_the_first(tmp_path):
    target = tmp_path / "serving"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError) as raised:
            _export(target)
        message = str(raised.value)
        assert message.startswith(f"export {target} is being written by process ")
        assert f"process {holder.pid} on {socket.gethostname()}" in message
        assert "\n" not in message and not target.exists()
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0
    assert sorted(os.listdir(tmp_path)) == []  # its lock is gone with it
    _export(target)
    assert sorted(os.listdir(tmp_path)) == ["serving"]


def test_a_dead_exporters_lock_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = tmp_path / ".serving.lock"
    lock.mkdir()
    (lock / ".lock").write_text(f"{dead.pid}@{socket.gethostname()}\n")
    _export(tmp_path / "serving")
    assert sorted(os.listdir(tmp_path)) == ["serving"]


def test_a_killed_export_leftover_is_removed_by_the_next_export(tmp_path):
    """Only a staging folder with our ownership marker, written by a process
    that is gone, is removed (`kerasvision._files.remove_stale_staging`)."""
    code = textwrap.dedent(f"""
        import os
        from kerasvision._files import write_marker
        folder = os.path.join({str(tmp_path)!r}, f".export-{{os.getpid()}}-abc123")
        os.makedirs(os.path.join(folder, "variables"))
        write_marker(folder, "staging")
        print(folder)
    """)
    dead = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert dead.returncode == 0, dead.stderr[-2000:]
    leftover = tmp_path / os.path.basename(dead.stdout.strip())
    assert leftover.is_dir()
    unmarked = tmp_path / f".export-{os.getpid() + 1}-nomarker"  # no marker: kept
    (unmarked / "variables").mkdir(parents=True)
    live = tmp_path / f".export-{os.getpid() + 0}-mine"  # this process: kept
    live.mkdir()
    user = tmp_path / ".export-notes"  # not ours by name: kept
    user.mkdir()
    _export(tmp_path / "serving")
    assert not leftover.exists() and live.exists() and user.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["serving", live.name, user.name, unmarked.name]
    )
