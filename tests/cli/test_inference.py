"""Readable outputs of the commands that use finished runs: `predict`'s JSON
lists the top-k only; `ensemble` prints a test accuracy even when its members
were split with different seeds."""

from __future__ import annotations

import json

from click.testing import CliRunner
from helpers import write_image_folder

from kerasvision.cli import main


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_predict_json_lists_only_the_top_k(tiny_run):
    run_dir, paths = tiny_run
    result = _invoke("predict", run_dir, *paths[:5], "--top-k", "2",
                     "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert len(records) == 5
    for record in records:
        assert set(record) == {"path", "class_name", "probability", "top_k"}
        assert len(record["top_k"]) == 2
        assert record["top_k"][0]["probability"] == record["probability"]


def test_ensemble_of_differently_split_runs_prints_its_accuracy(tmp_path):
    write_image_folder(tmp_path / "data", classes=("a", "b"), per_class=30)
    from kerasvision.training import fit

    for seed in (1, 2):  # the seed also draws the split: the members differ
        fit(str(tmp_path / "data"), seed=seed, image_size=12, epochs=1,
            test_split=0.4, model_kwargs={"filters": (4, 8)}, export=False,
            output=str(tmp_path / f"run{seed}"), verbose=0,
            log=lambda line: None)  # fmt: skip
    splits = [json.loads((tmp_path / f"run{s}" / "run.json").read_text())["split"]
              for s in (1, 2)]  # fmt: skip
    assert splits[0]["test"] != splits[1]["test"]
    result = _invoke("ensemble", tmp_path / "run1", tmp_path / "run2",
                     "--output", tmp_path / "ens")  # fmt: skip
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "ensemble accuracy" in x)
    seen = set(splits[1]["train"]) | set(splits[1]["val"])
    held_out = [name for name in splits[0]["test"] if name not in seen]
    assert f"on {len(held_out)} test images held out by every member" in line
    metrics = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    assert metrics["count"] == len(held_out) > 0
    assert sum(line.startswith("member ") for line in result.output.splitlines()) == 2


def test_multilabel_round_trip_fit_evaluate_predict_export(multilabel_run, tmp_path):
    """Digits collages (fit by the fixture with `--label-delim`): evaluate,
    predict and export through the CLI; the SavedModel's `labels` equal
    predict's label sets on every test image, and ONNX and LiteRT decide alike."""
    import shutil

    import numpy as np
    import tensorflow as tf

    from kerasvision.runs import load_run

    source, data = multilabel_run
    run_dir = tmp_path / "run"  # the exports change the run: a copy
    shutil.copytree(source, run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["arguments"]["task"] == "multilabel"
    names = info["data"]["class_names"]
    assert set(info["thresholds"]["values"]) == set(names)
    evaluated = _invoke("evaluate", run_dir)
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.output[evaluated.output.index("{") :])
    for key in ("map", "micro_f1", "macro_f1", "subset_accuracy", "hamming_loss"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["count"] == 120
    tests = [data / row.split(",")[0] for row in
             (data / "labels.csv").read_text().splitlines()[1:] if
             row.endswith(",test")]  # fmt: skip
    predicted = _invoke("predict", run_dir, *tests, "--format", "json")
    assert predicted.exit_code == 0, predicted.output
    records = json.loads(predicted.output)
    sets = [{item["class_name"] for item in record["labels"]} for record in records]
    csv_rows = _invoke("predict", run_dir, *tests[:3], "--top-k", "2").output
    assert csv_rows.splitlines()[0] == (
        "path,labels,probabilities,class_1,probability_1,class_2,probability_2"
    )
    refused = _invoke("predict", run_dir, tests[0], "--min-confidence", "0.5")
    assert refused.exit_code != 0 and "does not apply" in refused.output
    run = load_run(run_dir)
    _, pixels = run.load_images([str(p) for p in tests])
    served = tf.saved_model.load(str(run_dir / "serving"))
    labels = served.signatures["serving_default"](images=tf.constant(pixels))["labels"]
    exported = [{names[i] for i in np.flatnonzero(row)} for row in labels.numpy()]
    assert exported == sets
    with open(tests[0], "rb") as stream:
        encoded = tf.constant([stream.read()])
    from_bytes = served.signatures["serving_bytes"](image_bytes=encoded)
    assert {names[i] for i in np.flatnonzero(from_bytes["labels"][0])} == sets[0]
    for format_args in (("--format", "onnx"), ("--format", "tflite")):
        exported = _invoke("export", run_dir, *format_args)
        assert exported.exit_code == 0, exported.output
    recorded = json.loads((run_dir / "run.json").read_text())["exports"]
    assert recorded["onnx"]["outputs"] == ["probabilities", "labels"]
    assert recorded["tflite-none"]["label_agreement"] == 1.0
    assert "multi-label" in recorded["tflite-none"]["metadata_missing"]
