"""Tests for `kerasvision.teaching.arithmetic`: one import gives every lecture name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kerasvision.teaching import (
    arithmetic,
    connectivity,
    convolution,
    losses,
    parameters,
    shapes,
)

TOPICS = (shapes, parameters, connectivity, convolution, losses)


def test_arithmetic_gathers_every_public_name_of_the_topics():
    gathered = [name for topic in TOPICS for name in topic.__all__]

    assert sorted(gathered) == sorted(arithmetic.__all__)
    assert len(set(gathered)) == len(gathered)  # no name in two topics
    for topic in TOPICS:
        for name in topic.__all__:
            assert getattr(arithmetic, name) is getattr(topic, name)


@pytest.mark.parametrize("module", [topic.__name__ for topic in (arithmetic, *TOPICS)])
def test_teaching_modules_import_without_keras_or_tensorflow(module):
    # The CLI may import these; a fresh interpreter shows what they really load.
    check = (
        f"import sys, {module}; "
        "print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    )

    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
