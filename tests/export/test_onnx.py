"""kerasvision.export.export_onnx and `kerasvision export --format onnx`."""

import json

import numpy as np
import pytest

for _name in ("tf2onnx", "onnx", "onnxruntime"):
    pytest.importorskip(
        _name,
        reason=f"ONNX export is optional: pip install 'kerasvision[onnx]' ({_name})",
    )

import onnx  # noqa: E402
import onnxruntime  # noqa: E402
from click.testing import CliRunner  # noqa: E402

import kerasvision  # noqa: E402
from kerasvision.cli import main  # noqa: E402
from kerasvision.export import export_onnx, export_run, is_export  # noqa: E402
from kerasvision.export.core import ONNX_MARKER_KEY  # noqa: E402
from kerasvision.models.cnn import build_bipyramidal_cnn  # noqa: E402
from kerasvision.models.heads import serving_model  # noqa: E402
from kerasvision.runs import load_run  # noqa: E402

TOLERANCE = 1e-4  # |delta prob| between ONNX Runtime and Keras predict


def _model(num_classes=3, size=16):
    return build_bipyramidal_cnn(
        (size, size, 3), num_classes, filters=(4, 8), dense_units=(8,)
    )


def _images(count=6, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, size, size, 3)).astype("float32")


def _run(path, images):
    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )
    return session.run(["probabilities"], {"images": images})[0]


def test_onnx_matches_predict_for_any_batch_size(tmp_path):
    model = _model()
    images = _images()
    report = export_onnx(
        model, tmp_path / "m.onnx", class_names=["a", "b", "c"], sample_images=images
    )
    assert report["max_abs_diff"] <= TOLERANCE and report["output"] == "probabilities"
    expected = model.predict(images, verbose=0)
    for count in (1, 5):  # the batch dimension stays dynamic
        actual = _run(tmp_path / "m.onnx", images[:count])
        np.testing.assert_allclose(actual, expected[:count], atol=TOLERANCE)
    proto = onnx.load(str(tmp_path / "m.onnx"))
    metadata = {item.key: item.value for item in proto.metadata_props}
    assert json.loads(metadata["class_names"]) == ["a", "b", "c"]
    assert json.loads(metadata[ONNX_MARKER_KEY])["format"] == "onnx"
    assert is_export(tmp_path / "m.onnx")
    assert [item.name for item in proto.graph.input] == ["images"]


def test_binary_head_exports_two_probability_columns(tmp_path):
    model = _model(num_classes=2)
    images = _images(count=4)
    export_onnx(model, tmp_path / "b.onnx", class_names=["no", "yes"])
    actual = _run(tmp_path / "b.onnx", images)
    sigmoid = model.predict(images, verbose=0)[:, 0]
    assert actual.shape == (4, 2)
    np.testing.assert_allclose(actual[:, 1], sigmoid, atol=TOLERANCE)
    np.testing.assert_allclose(actual.sum(axis=1), 1.0, atol=1e-6)


def test_refuses_what_it_cannot_export_faithfully(tmp_path):
    import keras

    with pytest.raises(ValueError, match="3 classes but 2 class names"):
        export_onnx(_model(), tmp_path / "x.onnx", class_names=["a", "b"])
    (tmp_path / "keep.onnx").write_text("old")
    with pytest.raises(ValueError, match="already exists"):
        export_onnx(
            _model(), tmp_path / "keep.onnx", class_names="abc", overwrite=False
        )
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = _model()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    with pytest.raises(ValueError, match="needs a float32 model"):
        export_onnx(mixed, tmp_path / "mixed.onnx", class_names="abc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.onnx"]


def test_cli_exports_a_run_as_onnx(tmp_path):
    run = tmp_path / "run"
    result = kerasvision.fit(
        dataset="digits",
        model_kwargs={"filters": (4, 8), "dense_units": (8,)},
        epochs=1,
        seed=0,
        output=str(run),
        export=False,
        verbose=0,
    )
    invoked = CliRunner().invoke(main, ["export", str(run), "--format", "onnx"])
    assert invoked.exit_code == 0, invoked.output
    assert f"exported {run / 'model.onnx'} (ONNX opset" in invoked.output
    images = np.asarray(
        next(iter(result.data.dataset("test", batch_size=32, include_labels=False)))
    )
    served = serving_model(result.model, temperature=load_run(run).temperature)
    expected = served.predict(images, verbose=0)  # the calibrated probabilities
    np.testing.assert_allclose(_run(run / "model.onnx", images), expected, atol=1e-4)

    bad = CliRunner().invoke(main, ["export", str(run), "--format", "coreml"])
    assert bad.exit_code == 2 and "coreml" in bad.output
    with pytest.raises(ValueError, match="format must be one of"):
        export_run(str(run), format="coreml")


def test_overwrite_never_replaces_a_users_onnx_file(tiny_run, tmp_path):
    """`export --overwrite` refuses, in one line naming it, a `model.onnx` that
    kerasvision did not write (a real ONNX model without our marker)."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "users",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    target = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph), target)
    before = target.read_bytes()
    result = CliRunner().invoke(
        main,
        ["export", str(tiny_run[0]), "--format", "onnx", "--output", str(target),
         "--overwrite"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(target) in lines[0]
    assert "not a kerasvision export" in lines[0]
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
