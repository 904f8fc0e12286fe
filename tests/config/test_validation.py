"""Checks of FitConfig that depend on the data source."""

from __future__ import annotations

import pytest


def test_test_split_is_refused_for_datasets_with_an_official_one():
    from kerasvision.config import FitConfig
    from kerasvision.data.datasets import load_builtin

    with pytest.raises(ValueError, match="official"):
        FitConfig(dataset="mnist", test_split=0.2)
    assert load_builtin("digits", with_test_mask=True)[3] is None
