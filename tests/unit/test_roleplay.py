"""The role-play engine (curriculum/roleplay.py): state carried forward, conditions, reachability,
the best path; and the schema's errors for it, naming the file and the YAML location.

Graphs are written by hand; expected answers are worked out by hand in the comments."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from curriculum import roleplay
from curriculum.roleplay import Map, graph_problems, path_share, paths, replay, winning_path
from curriculum.schema import ContentError, RolePlay, parse_module
from tests.conftest import ROOT

AUTH = ROOT / "curriculum" / "modules" / "01-authenticity.yaml"


def play(steps: dict[str, list[str]], endings: dict[str, str]) -> dict:
    """A role-play from {step: [next, ...]} (first key is the start) and {ending: outcome};
    choice k of each step is id 'c<k>', the first one best, the others poor."""
    return RolePlay.model_validate({
        "id": "rp-test", "title": "A test", "setting": "A counter.", "scoring": "completion",
        "steps": [{"id": s, "situation": f"At {s}.",
                   "choices": [{"id": f"c{k}", "quality": "best" if k == 0 else "poor", "text": f"go {t}",
                                "reaction": "ok", "coaching": "ok", "next": t} for k, t in enumerate(nexts)]}
                  for s, nexts in steps.items()],
        "endings": [{"id": e, "outcome": o, "debrief": "done"} for e, o in endings.items()],
    }).model_dump()


def test_a_loop_and_an_island_are_both_reported():
    # s1 <-> s2 go round for ever (s2's second choice ends); s3 -> end is an island nobody reaches.
    rp = play({"s1": ["s2", "s2"], "s2": ["s1", "end"], "s3": ["end", "end"]}, {"end": "resolved"})
    assert Map(rp).reached == {"s1", "s2", "end"}
    assert graph_problems(rp) == [
        ("steps[2] (id 's3')", "step 's3' is never reached from the first step 's1'"),
        ("steps[0] (id 's1')", "a path can go round for ever: s1 -> s2 -> s1 (every path must end)"),
    ]


def test_reachability_is_transitive_not_just_some_choice_points_there():
    # s3 is the target of a choice of s4, and s4 of s3: each is "some choice's next", yet neither is reached.
    rp = play({"s1": ["end", "end"], "s3": ["s4", "s4"], "s4": ["s3", "end"]}, {"end": "resolved"})
    assert [w for w, _ in graph_problems(rp)] == ["steps[1] (id 's3')", "steps[2] (id 's4')"]


def carried() -> dict:
    """The spoken-language call: at 'open' the employee offers Spanish (sets 'spanish') or not.
    At 'details': the text differs with 'spanish'; choice 'switch-back' is offered only with it,
    'find-helper' only without; 'explain' reacts differently and leads to 'good' with 'spanish',
    to 'mixed' without; 'switch-back' ends 'poor'. Paths by hand:
      open.spanish  -> details: explain -> good;  switch-back -> poor
      open.english  -> details: explain -> mixed; find-helper -> good
    """
    rp = play({"open": ["details", "details"], "details": ["good", "poor", "good"]},
              {"good": "resolved", "mixed": "partly resolved", "poor": "not resolved"})
    o1, o2 = rp["steps"][0]["choices"]
    o1.update(id="spanish", sets=["spanish"])
    o2.update(id="english", quality="acceptable")
    rp["steps"][1]["variants"] = [{"when": ["spanish"], "situation": "She goes on in Spanish."}]
    explain, back, helper = rp["steps"][1]["choices"]
    explain.update(id="explain", branches=[{"when": ["not spanish"], "next": "mixed"}],
                   reactions=[{"when": ["open.english"], "text": "She follows half of it."}])
    back.update(id="switch-back", when=["spanish"])
    helper.update(id="find-helper", when=["not open.spanish"], quality="acceptable")
    return rp


def test_earlier_choices_change_text_choices_reactions_and_endings():
    rp = carried()
    assert graph_problems(rp) == []
    details = rp["steps"][1]
    at, flags, _ = replay(rp, [{"step": "open", "choice": "spanish"}])
    assert (at, sorted(flags)) == ("details", ["open.spanish", "spanish"])
    assert roleplay.situation(details, flags) == "She goes on in Spanish."
    assert [c["id"] for _, c in roleplay.offered(details, flags)] == ["explain", "switch-back"]
    assert roleplay.take(details, 0, flags)[1:] == ("ok", "good")
    at, flags, _ = replay(rp, [{"step": "open", "choice": "english"}])
    assert roleplay.situation(details, flags) == "At details."
    assert [c["id"] for _, c in roleplay.offered(details, flags)] == ["explain", "find-helper"]
    assert roleplay.take(details, 0, flags)[1:] == ("She follows half of it.", "mixed")
    found = sorted((tuple(p["choice"] for p in path), end) for path, end in paths(rp))
    assert found == [(("english", "explain"), "mixed"), (("english", "find-helper"), "good"),
                     (("spanish", "explain"), "good"), (("spanish", "switch-back"), "poor")]
    # a choice not offered on the saved path, or a path out of order, is refused
    assert replay(rp, [{"step": "open", "choice": "english"}, {"step": "details", "choice": "switch-back"}]) is None
    assert replay(rp, [{"step": "details", "choice": "explain"}]) is None


def test_the_best_path_has_the_highest_share_then_the_best_ending():
    rp = carried()
    # shares by hand: spanish(1)+explain(1) = 1.0; english(0.5)+find-helper(0.5) = 0.5; others lower
    assert winning_path(rp) == ([{"step": "open", "choice": "spanish"}, {"step": "details", "choice": "explain"}], "good")
    quality = roleplay.qualities(rp)
    assert path_share([{"step": "open", "choice": "english"}, {"step": "details", "choice": "explain"}], quality) == 0.75
    assert path_share([{"step": "open", "choice": "spanish"}, {"step": "details", "choice": "switch-back"}], quality) == 0.5
    assert path_share([], quality) == 0.0


def test_conditions_must_name_real_flags():
    rp = carried()
    rp["steps"][1]["choices"][1]["when"] = ["spansh"]
    assert graph_problems(rp) == [(
        "steps[1] (id 'details') > choices[1] (id 'switch-back'), field 'when'",
        "'spansh' is not a flag of this role-play (a choice's 'step.choice', or a name in some choice's 'sets'; known: "
        "['details.explain', 'details.find-helper', 'details.switch-back', 'open.english', 'open.spanish', 'spanish'])")]


def test_a_choice_never_offered_and_a_dead_end_are_reported():
    rp = carried()
    rp["steps"][1]["choices"][1]["when"] = ["spanish", "open.english"]  # both can never hold
    rp["steps"][1]["choices"][2]["when"] = ["open.english", "spanish"]  # ditto: after English only 'explain'
    rp["steps"][1]["choices"][0]["when"] = ["spanish"]  # ... and now not even that
    assert graph_problems(rp) == [
        ("steps[1] (id 'details') > choices[1] (id 'switch-back')",
         "this choice is never offered: its 'when' holds on no path to this step"),
        ("steps[1] (id 'details') > choices[2] (id 'find-helper')",
         "this choice is never offered: its 'when' holds on no path to this step"),
        ("endings[1] (id 'mixed')", "ending 'mixed' is never reached from the first step 'open'"),
        ("endings[2] (id 'poor')", "ending 'poor' is never reached from the first step 'open'"),
        ("steps[1] (id 'details')", "a dead end: no choice is offered when the learner arrives with flags ['open.english']"),
    ]


def module_text(edit) -> str:
    data = copy.deepcopy(yaml.safe_load(AUTH.read_text()))
    edit(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def errors(edit) -> str:
    with pytest.raises(ContentError) as exc:
        parse_module(module_text(edit), Path("curriculum/modules/01-authenticity.yaml"))
    return str(exc.value)


def test_validation_names_file_role_play_and_step():
    def loop(data):
        for choice in data["roleplays"][0]["steps"][1]["choices"]:
            choice["next"] = "greet"  # options only goes back: every path goes round for ever
    message = errors(loop)
    assert message.startswith("curriculum/modules/01-authenticity.yaml: ")
    assert ("roleplays[0] (id 'auth-rp-parking-counter') > steps[0] (id 'greet'): a path can go round for ever: "
            "greet -> options -> greet (every path must end)") in message


def test_validation_names_a_bad_condition_and_a_bad_branch_where_they_are_written():
    def bad(data):
        greet, options = data["roleplays"][0]["steps"]
        greet["choices"][0]["sets"] = ["warm-open"]
        options["choices"][1]["when"] = ["not warm-opn"]
        options["choices"][0]["branches"] = [{"when": ["warm-open"], "next": "nowhere"}]
    message = errors(bad)
    assert ("roleplays[0] (id 'auth-rp-parking-counter') > steps[1] (id 'options') > choices[0] (id 'walk-through-contest') > "
            "branches[0], field 'next': 'nowhere' is neither a step nor an ending of this role-play") in message

    def bad_flag(data):
        data["roleplays"][0]["steps"][1]["choices"][1]["when"] = ["not warm-opn"]
    assert ("roleplays[0] (id 'auth-rp-parking-counter') > steps[1] (id 'options') > choices[1] (id 'predict-outcome'), "
            "field 'when': 'warm-opn' is not a flag of this role-play") in errors(bad_flag)


def test_every_decision_needs_a_best_choice_and_distinct_choice_ids():
    def no_best(data):
        for c in data["roleplays"][0]["steps"][0]["choices"]:
            c["quality"] = "acceptable"
        data["roleplays"][0]["steps"][1]["choices"][1]["id"] = "walk-through-contest"
    message = errors(no_best)
    assert ("roleplays[0] (id 'auth-rp-parking-counter') > steps[0] (id 'greet'), field 'choices': no choice has "
            "quality 'best': every decision needs one") in message
    assert ("steps[1] (id 'options'), field 'choices': choice ids must be distinct within a step: "
            "['walk-through-contest', 'walk-through-contest', 'hand-the-sheet']") in message


def test_a_conditional_branch_as_the_readme_shows_it_is_valid():
    # the README's example, applied to the real parking play: a warm opening changes the second step
    def conditional(data):
        greet, options = data["roleplays"][0]["steps"]
        greet["choices"][1]["sets"] = ["brushed-off"]
        greet["choices"][2]["sets"] = ["brushed-off"]
        options["variants"] = [{"when": ["brushed-off"], "situation": "The visitor, still stung, asks to cancel it."}]
        options["choices"][0]["reactions"] = [{"when": ["brushed-off"], "text": "The visitor takes the form, unsmiling."}]
        options["choices"][0]["branches"] = [{"when": ["brushed-off"], "next": options["choices"][1]["next"]}]
    module = parse_module(module_text(conditional), AUTH)
    rp = module.roleplays[0]
    ends = {tuple(p["choice"] for p in path): end for path, end in paths(rp)}
    good = rp.steps[1].choices[0].next
    partly = rp.steps[1].choices[1].next
    contest = "walk-through-contest"
    assert (ends[("warm-welcome", contest)] == good and ends[("citations-final", contest)] == partly
            and ends[("joke", contest)] == partly)


def test_the_readmes_conditional_branch_is_valid_and_does_what_it_says():
    text = (ROOT / "README.md").read_text()
    block = text.split("A conditional branch:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    steps = yaml.safe_load(block)["steps"]
    rp = RolePlay.model_validate({
        "id": "readme", "title": "README", "setting": "A counter.", "scoring": "path", "steps": steps,
        "endings": [{"id": "ending-good", "outcome": "resolved", "debrief": "d"},
                    {"id": "ending-mixed", "outcome": "partly resolved", "debrief": "d"}]})
    assert graph_problems(rp) == []
    found = sorted((tuple(p["choice"] for p in path), end) for path, end in paths(rp))
    # warm: only 'contest' is offered, to the good ending; script: 'contest' branches to mixed, 'apologize' offered
    assert found == [(("script", "apologize"), "ending-mixed"), (("script", "contest"), "ending-mixed"),
                     (("warm", "contest"), "ending-good")]
    data = rp.model_dump()
    at, flags, _ = replay(data, [{"step": "greet", "choice": "script"}])
    assert roleplay.situation(data["steps"][1], flags).startswith("Still stung")
    assert roleplay.take(data["steps"][1], 0, flags)[1:] == ("The visitor takes the form without a word.", "ending-mixed")
