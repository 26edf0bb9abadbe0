"""The role-play graph (curriculum/roleplay.py): reachability and the winning path.

Graphs are written by hand; expected answers are worked out by hand in the comments."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from curriculum.roleplay import graph_problems, reachable, winning_path
from curriculum.schema import ContentError, RolePlay, parse_module
from tests.conftest import ROOT

AUTH = ROOT / "curriculum" / "modules" / "01-authenticity.yaml"


def play(steps: dict[str, list[str]], endings: dict[str, str]) -> RolePlay:
    """A role-play from {step: [next, ...]} (first key is the start) and {ending: outcome}."""
    return RolePlay.model_validate({
        "id": "rp-test", "title": "A test", "setting": "A counter.",
        "steps": [{"id": s, "situation": f"At {s}.",
                   "choices": [{"text": f"go {t}", "reaction": "ok", "coaching": "ok", "next": t} for t in nexts]}
                  for s, nexts in steps.items()],
        "endings": [{"id": e, "outcome": o, "debrief": "done"} for e, o in endings.items()],
    })


def test_a_loop_with_no_exit_and_an_island_are_both_reported():
    # s1 <-> s2 never leave; s3 <-> s4 -> end is an island nobody reaches (the review's E2).
    rp = play({"s1": ["s2", "s2"], "s2": ["s1", "s1"], "s3": ["s4", "s4"], "s4": ["s3", "end"]},
              {"end": "resolved"})
    assert reachable(rp) == {"s1", "s2"}
    problems = graph_problems(rp)
    assert problems == [
        ("steps[0] (id 's1')", "no ending can be reached from step 's1': a learner there could only go round in circles"),
        ("steps[1] (id 's2')", "no ending can be reached from step 's2': a learner there could only go round in circles"),
        ("steps[2] (id 's3')", "step 's3' is never reached from the first step 's1'"),
        ("steps[3] (id 's4')", "step 's4' is never reached from the first step 's1'"),
        ("endings[0] (id 'end')", "ending 'end' is never reached from the first step 's1'"),
    ]
    with pytest.raises(ValueError, match="no ending reachable"):
        winning_path(rp)


def test_reachability_is_transitive_not_just_some_choice_points_there():
    # s3 is the target of a choice of s4, and s4 of s3: each is "some choice's next", yet neither is reached.
    rp = play({"s1": ["end", "end"], "s3": ["s4", "s4"], "s4": ["s3", "end"]}, {"end": "resolved"})
    assert [w for w, _ in graph_problems(rp)] == ["steps[1] (id 's3')", "steps[2] (id 's4')"]


def test_a_finishable_play_has_no_problems_and_the_best_ending_wins_over_the_shortest():
    # s1 -> poor (1 click, not resolved) or s1 -> s2 -> s3 -> good (3 clicks, resolved): resolved wins.
    rp = play({"s1": ["poor", "s2"], "s2": ["s1", "s3"], "s3": ["mixed", "good"]},
              {"good": "resolved", "mixed": "partly resolved", "poor": "not resolved"})
    assert graph_problems(rp) == []
    assert winning_path(rp) == ([{"step": "s1", "choice": 1}, {"step": "s2", "choice": 1},
                                 {"step": "s3", "choice": 1}], "good")


def test_of_equal_endings_the_fewest_clicks_win():
    rp = play({"s1": ["s2", "a"], "s2": ["b", "b"]}, {"a": "partly resolved", "b": "partly resolved"})
    assert winning_path(rp) == ([{"step": "s1", "choice": 1}], "a")


def test_validation_names_file_role_play_and_step():
    data = yaml.safe_load(AUTH.read_text())
    data = copy.deepcopy(data)
    steps = data["roleplays"][0]["steps"]  # greet -> options -> endings
    for choice in steps[1]["choices"]:
        choice["next"] = "greet"  # options only goes back: no ending can be reached
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with pytest.raises(ContentError) as exc:
        parse_module(text, Path("curriculum/modules/01-authenticity.yaml"))
    message = str(exc.value)
    assert message.startswith("curriculum/modules/01-authenticity.yaml: ")
    assert ("roleplays[0] (id 'auth-rp-parking-counter') > steps[1] (id 'options'): no ending can be reached "
            "from step 'options'") in message
    assert "roleplays[0] (id 'auth-rp-parking-counter') > endings[0] (id 'ending-good'): ending 'ending-good' " \
           "is never reached" in message
