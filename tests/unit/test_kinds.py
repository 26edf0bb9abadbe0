"""The question kinds table (curriculum/kinds.py): every part reads the same row."""

from __future__ import annotations

import random

import pytest

from curriculum import learner
from curriculum.kinds import KIND_NAMES, KINDS
from curriculum.schema import Question


def test_every_kind_has_its_widget_and_the_schema_takes_exactly_the_table():
    assert KIND_NAMES == ("single", "multiple", "ordering", "matching")
    for kind in KINDS.values():
        assert callable(getattr(learner.Module, kind.widget)), kind.name
    field = Question.model_fields["kind"].annotation
    assert set(field.__args__) == set(KIND_NAMES)


@pytest.mark.parametrize("name, given, key, share", [
    ("single", "b", ["b"], 1.0),
    ("single", "a", ["b"], 0.0),
    ("multiple", ["a", "b", "x"], ["a", "b", "c"], 1 / 3),  # two right, one wrong: (2 - 1) / 3
    ("multiple", "a", ["a"], 0.0),  # not a list
    ("ordering", ["b", "a", "c", "d"], ["a", "b", "c", "d"], 2 / 3),  # 3 in order of 4: (3 - 1) / 3
    ("matching", ["x", "y", "q"], ["x", "y", "z"], 2 / 3),
])
def test_shares_by_hand(name, given, key, share):
    assert KINDS[name].share(given, key) == pytest.approx(share)


def test_key_problems_name_the_field():
    assert KINDS["single"].key_problems(["a", "b"], ["a", "b"], 0)[0][0] == "answer"
    assert KINDS["ordering"].key_problems(["a"], ["a", "b"], 0)[0][0] == "answer"
    assert KINDS["matching"].key_problems(["a"], ["a", "b"], 1) == [("items", "a matching question needs at least 2 items")]
    assert KINDS["multiple"].key_problems(["a", "b"], ["a", "b", "c"], 0) == []


def test_the_demos_mistakes_are_mistakes():
    rng = random.Random(1)
    assert KINDS["single"].mistake(["a"], ["a", "b", "c"], rng) in {"b", "c"}
    assert KINDS["multiple"].mistake(["a", "b"], ["a", "b", "c"], rng) == ["a", "c"]
    assert KINDS["ordering"].mistake(["a", "b", "c"], ["a", "b", "c"], rng) == ["b", "a", "c"]
    assert KINDS["single"].stored(["a"]) == "a" and KINDS["matching"].stored(("x", "y")) == ["x", "y"]
