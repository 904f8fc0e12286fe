"""The learning-rate finder: the suggestion rule and the lr-find command."""

from __future__ import annotations

import numpy as np


def test_suggest_finds_the_falling_stretch():
    from kerasvision.training.lr_find import suggest

    rates = np.logspace(-6, 1, 100)
    losses = np.concatenate(
        [np.full(40, 2.0), np.linspace(2.0, 0.5, 40), np.linspace(0.5, 3, 20)]
    )
    valley, steepest = suggest(rates, losses)
    assert rates[40] <= valley <= rates[79]
    assert rates[39] <= steepest <= rates[80]


def test_lr_find_command_writes_only_the_plot(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kerasvision.cli import main

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main,
        ["lr-find", "--dataset", "digits", "--classes", "0,1,2", "--seed", "0",
         "--model-arg", "filters=(4,8)", "--model-arg", "dense_units=()"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "suggested learning rate" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_find.png"]
