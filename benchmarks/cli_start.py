"""CLI start-up benchmark: wall time of `kerasvision --help` (goal: median < 0.5 s).

`--help` must not import TensorFlow (the commands import it when they run). Each
command is started `--runs` times as a fresh process; the median, min and max wall
times are printed, with the bare interpreter start (`python -c pass`) for scale.
Timed: the console script installed next to this Python (what `pip install`
gives), the `kerasvision` found on PATH when that is a different file (e.g. a
pyenv shim, which adds its own start-up), and `python -m kerasvision`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

import click


def _wall_times(command, runs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run(command, env=env, capture_output=True, check=True)  # warm cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def _imports_tensorflow():
    probe = (
        "import sys; from kerasvision.cli import main; "
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return result.stdout.strip() == "True"


@click.command()
@click.option("--runs", default=10, show_default=True, help="Timed starts each.")
def main(runs):
    """Time `kerasvision --help` start-up."""
    installed = os.path.join(os.path.dirname(sys.executable), "kerasvision")
    on_path = shutil.which("kerasvision")
    commands = [("python -c pass", [sys.executable, "-c", "pass"])]
    if os.path.isfile(installed):
        commands.append((f"{installed} --help", [installed, "--help"]))
    if on_path and os.path.realpath(on_path) != os.path.realpath(installed):
        commands.append((f"{on_path} --help (PATH)", [on_path, "--help"]))
    module = [sys.executable, "-m", "kerasvision", "--help"]
    commands.append(("python -m kerasvision --help", module))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), {runs} runs each")
    print(f"importing kerasvision.cli loads TensorFlow: {_imports_tensorflow()}")
    print(f"{'command':70s} {'median s':>9s} {'min s':>7s} {'max s':>7s}")
    for label, command in commands:
        times = _wall_times(command, runs)
        print(
            f"{label[-70:]:70s} {statistics.median(times):9.3f} {min(times):7.3f} "
            f"{max(times):7.3f}"
        )
    print("goal: kerasvision --help median < 0.5 s")


if __name__ == "__main__":
    main()
