"""Widgets on a damaged or hand-edited answers.json (the review's B12): the question shows
unanswered (or the role-play starts afresh) instead of raising in the learner's cell.
Real ipywidgets objects, built outside a kernel (display() then prints nothing)."""

from __future__ import annotations

import json

import pytest

from curriculum.learner import Module

OPTIONS = [("a", "Ask first"), ("b", "Explain the rule"), ("c", "Hang up")]
PLAY = {"id": "rp", "title": "T", "setting": "S",
        "steps": [{"id": "s1", "situation": "x", "choices": [{"text": "go", "reaction": "r", "coaching": "c", "next": "end"},
                                                             {"text": "stay", "reaction": "r", "coaching": "c", "next": "end"}]}],
        "endings": [{"id": "end", "outcome": "resolved", "debrief": "d"}]}
DAMAGED = [["a", "b"], {"x": 1}, 7, None, [["a"], {"b": 2}], True]


def module_with(tmp_path, questions=None, roleplays=None) -> Module:
    (tmp_path / "answers.json").write_text(json.dumps({"questions": questions or {}, "roleplays": roleplays or {}}))
    return Module("m", str(tmp_path))


@pytest.mark.parametrize("saved", DAMAGED)
def test_every_question_kind_survives_a_damaged_saved_value(tmp_path, saved):
    m = module_with(tmp_path, {"q": saved})
    m.single_choice("q", OPTIONS)
    m.multiple_choice("q", OPTIONS)
    m.ordering("q", OPTIONS)
    m.matching("q", [("i1", "Item 1"), ("i2", "Item 2"), ("i3", "Item 3")], OPTIONS)


@pytest.mark.parametrize("saved", [[{"a": 1}], "done", {"current": 5, "completed": "x"},
                                   {"current": [{"step": "s1", "choice": "0"}], "completed": [3]},
                                   {"current": [{"step": "s1", "choice": [0]}]}, {"current": ["s1"]}])
def test_a_roleplay_survives_a_damaged_record(tmp_path, saved):
    m = module_with(tmp_path, roleplays={"rp": saved})
    m.roleplay(PLAY)


def test_a_good_saved_value_is_still_shown(tmp_path):
    m = module_with(tmp_path, {"q": "b"})
    assert m._saved("q") == "b"
    m.single_choice("q", OPTIONS)  # no error; the value is valid
