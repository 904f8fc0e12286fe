"""kerasvision.run_evaluations: evaluations on other data, recorded in the run."""

import os
import shutil

from helpers import write_image_folder

from kerasvision.run_evaluations import (
    evaluate_and_record,
    evaluation_summary,
    recorded_evaluations,
)


def test_each_data_gets_its_own_record_and_a_rerun_replaces_it(tiny_run, tmp_path):
    source, _ = tiny_run
    run = tmp_path / "run"
    shutil.copytree(source, run)
    for where in ("a", "b"):
        write_image_folder(
            tmp_path / where / "holdout", classes=("ant", "cow"), per_class=2
        )
    first = evaluate_and_record(run, tmp_path / "a" / "holdout")
    again = evaluate_and_record(run, tmp_path / "a" / "holdout")
    other = evaluate_and_record(run, tmp_path / "b" / "holdout")
    assert (
        first["record"] == again["record"] == str(run / "evaluations" / "holdout.json")
    )
    assert other["record"] == str(run / "evaluations" / "holdout-2.json")
    assert [name for name, _ in recorded_evaluations(run)] == ["holdout", "holdout-2"]
    assert first["count"] == 4 and first["evaluated_on"] == str(
        tmp_path / "a" / "holdout"
    )
    line = evaluation_summary(first)
    assert line.startswith("accuracy ") and line.endswith(
        f"recorded in {first['record']}"
    )
    own = evaluate_and_record(run)  # the run's own split: nothing recorded
    assert "record" not in own and len(os.listdir(run / "evaluations")) == 2
