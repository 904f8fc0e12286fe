"""kerasvision._registry: the name -> entry tables of tasks, recipes, formats
and models."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kerasvision._registry import by_name, lookup
from kerasvision.config.recipes import RECIPES
from kerasvision.config.tasks import TASKS
from kerasvision.export.formats import EXPORT_FORMATS
from kerasvision.models import MODELS


@dataclass
class _Entry:
    name: str


def test_entries_keep_their_order_and_a_repeated_name_is_refused():
    table = by_name(_Entry("b"), _Entry("a"))
    assert list(table) == ["b", "a"]
    with pytest.raises(ValueError, match="two registry entries are named 'a'"):
        by_name(_Entry("a"), _Entry("a"))


def test_lookup_names_the_choices():
    table = by_name(_Entry("b"), _Entry("a"))
    assert lookup(table, "a", "{name!r}").name == "a"
    with pytest.raises(ValueError, match=r"^x: 'c' not in \('b', 'a'\) / a, b$"):
        lookup(table, "c", "x: {name!r} not in {names} / {listed}")
    with pytest.raises(ValueError, match=r"\[1\]"):  # unhashable: same message
        lookup(table, [1], "{name!r}")


@pytest.mark.parametrize("table", [TASKS, RECIPES, EXPORT_FORMATS],
                         ids=["tasks", "recipes", "formats"])  # fmt: skip
def test_every_registry_is_keyed_by_its_entries_names(table):
    assert table and all(key == entry.name for key, entry in table.items())


def test_an_unknown_model_names_the_models():
    from kerasvision.models import get_model_spec

    with pytest.raises(ValueError, match="unknown model 'x'; choose one of: .*lenet5"):
        get_model_spec("x")
    assert get_model_spec("lenet5") is MODELS["lenet5"]
