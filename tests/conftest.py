"""Shared pytest set-up: quiet TensorFlow, seed + clear Keras per test, --run-slow."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow", action="store_true", default=False, help="run tests marked slow"
    )


def pytest_configure(config):
    # Under pytest-xdist each worker gets one core's worth of TensorFlow threads,
    # so two workers on two cores do not oversubscribe them.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(2)


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed_and_clear_keras():
    # Once per test, without Keras's forced full garbage collection: over the
    # heap TensorFlow leaves, each collection cost 0.3-1.2 s, most of the time
    # of the suite's small tests. Python's own collector still runs.
    import keras

    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(1234)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One finished classifier run shared by the tests that only read it.

    3 classes (ant, bee, cow) x 8 images of 16x16 plus one corrupt file, 1 epoch,
    no export: a few seconds, built once per test process. Returns
    `(run_dir, image_paths)`. A test that changes the run copies it first.
    """
    from helpers import write_image_folder

    from kerasvision.training import fit

    root = tmp_path_factory.mktemp("tiny-run")
    data = root / "data"
    paths = write_image_folder(
        data, classes=("ant", "bee", "cow"), per_class=8, size=(16, 16)
    )
    (data / "bee" / "broken.png").write_bytes(b"\x89PNG not really")
    fit(
        str(data),
        model_kwargs={"filters": (4, 8), "dense_units": ()},
        image_size=16,
        epochs=1,
        seed=0,
        export=False,
        output=str(root / "run"),
        verbose=0,
        log=lambda line: None,
    )
    return root / "run", paths


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """One finished run on the built-in digits (8x8 grayscale, 10 classes),
    shared by the tests that only read it (device export, distillation).

    A small `bipyramidal_cnn` trained 12 epochs (test accuracy ~0.95), no
    export: about 20 s, built once per test process. Returns the run
    directory. A test that changes the run copies it first.
    """
    from kerasvision.training import fit

    root = tmp_path_factory.mktemp("digits-run")
    fit(
        dataset="digits",
        model_kwargs={"filters": (8, 16), "dense_units": ()},
        epochs=12,
        seed=0,
        export=False,
        output=str(root / "run"),
        verbose=0,
        log=lambda line: None,
    )
    return root / "run"


@pytest.fixture(scope="session")
def multilabel_run(tmp_path_factory):
    """One finished multi-label run, made with the CLI, shared by the tests
    that only read it.

    `write-dataset digits_collages` (2x2 collages of the digits, a CSV of
    label sets), cut to 480 training and 120 official test rows, then `fit
    labels.csv --label-delim ';'` (so --task multilabel) at 16 px: a small CNN,
    6 epochs, exported. About 20 s, built once per test process. Returns
    `(run_dir, data_dir)`. A test that changes the run copies it first.
    """
    from click.testing import CliRunner

    from kerasvision.cli import main

    root = tmp_path_factory.mktemp("multilabel-run")
    data = root / "collages"
    runner = CliRunner()
    written = runner.invoke(main, ["write-dataset", "digits_collages", str(data)])
    assert written.exit_code == 0, written.output
    rows = (data / "labels.csv").read_text(encoding="utf-8").splitlines()
    train = [row for row in rows[1:] if row.endswith(",train")][:480]
    test = [row for row in rows[1:] if row.endswith(",test")][:120]
    (data / "labels.csv").write_text("\n".join([rows[0], *train, *test]) + "\n")
    fitted = runner.invoke(
        main,
        ["fit", str(data / "labels.csv"), "--label-delim", ";", "--image-size",
         "16", "--epochs", "6", "--seed", "0", "--model-arg", "filters=(8,16)",
         "--model-arg", "dense_units=()", "--output", str(root / "run")],
    )  # fmt: skip
    assert fitted.exit_code == 0, fitted.output
    return root / "run", data
