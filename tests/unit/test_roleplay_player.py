"""The learner's role-play player (curriculum/learner.py) on the builder's data: state carried
forward on screen, quality recorded, the ending's recap, replay, and what a scored play tells
the learner. Real ipywidgets objects built outside a kernel (display() shows nothing)."""

from __future__ import annotations

import json

from curriculum.answers import AnswerStore
from curriculum.builder import presented_choices, roleplay_data
from curriculum.learner import RolePlayer
from curriculum.schema import RolePlay
from tests.unit.test_roleplay import carried


def player(tmp_path, scoring="completion") -> RolePlayer:
    rp = RolePlay.model_validate({**carried(), "scoring": scoring})
    return RolePlayer(roleplay_data(rp), AnswerStore(tmp_path))


def pick(p: RolePlayer, choice_id: str) -> None:
    (n,) = [n for n, c in enumerate(p.steps[p.step_id]["choices"]) if c["id"] == choice_id]
    p.choose(n)


def screen(p: RolePlayer) -> str:
    return " ".join(getattr(c, "value", "") for c in p.box.children if hasattr(c, "value"))


def buttons(p: RolePlayer) -> list[str]:
    return [row.children[1].value for row in p.box.children if hasattr(row, "children") and row.children]


def test_the_player_shows_choices_in_the_builders_shuffled_order():
    rp = RolePlay.model_validate(carried())
    data = roleplay_data(rp)
    for step, shown in zip(rp.steps, data["steps"]):
        assert [c["id"] for c in shown["choices"]] == [c.id for c in presented_choices(rp, step)]
        assert sorted(c["id"] for c in shown["choices"]) == sorted(c.id for c in step.choices)


def test_an_earlier_choice_changes_what_comes_next_and_quality_is_recorded(tmp_path):
    p = player(tmp_path)
    pick(p, "spanish")
    p.show_step()
    assert "She goes on in Spanish." in screen(p)
    shown = buttons(p)
    assert len(shown) == 2 and any("go poor" in b for b in shown)  # switch-back offered, find-helper not
    pick(p, "explain")  # with 'spanish' it leads to 'good'
    saved = json.loads((tmp_path / "answers.json").read_text())
    assert saved["schema_version"] == 2
    assert saved["roleplays"]["rp-test"] == {"current": [], "completed": [
        {"ending": "good", "path": [{"step": "open", "choice": "spanish", "quality": "best"},
                                    {"step": "details", "choice": "explain", "quality": "best"}]}]}
    p.restart()
    pick(p, "english")
    p.show_step()
    assert "At details." in screen(p) and len(buttons(p)) == 2
    pick(p, "explain")  # without 'spanish': the other reaction, and the partly resolved ending
    assert "She follows half of it." in screen(p)
    assert p.completed[-1]["ending"] == "mixed"


def test_a_half_played_path_resumes_with_its_flags(tmp_path):
    p = player(tmp_path)
    pick(p, "spanish")
    again = player(tmp_path)  # a restarted kernel
    assert again.step_id == "details" and "spanish" in again.flags
    assert "She goes on in Spanish." in screen(again)


def test_the_ending_recaps_the_path_and_a_practice_play_shows_the_best_one(tmp_path):
    p = player(tmp_path)
    pick(p, "english")
    pick(p, "explain")
    p.show_ending(p.endings["mixed"])
    assert p.recap(p.completed[-1]) == ["Your path:", "1. go details (acceptable)", "2. go good (a best choice)",
                                        "The best path:", "1. go details", "2. go good"]
    assert "Outcome: partly resolved." in screen(p) and "Play again" in p.box.children[-1].description


def test_a_scored_play_says_the_first_play_counts_and_never_shows_the_best_path(tmp_path):
    p = player(tmp_path, "path")
    assert "this first complete play is the one that counts" in screen(p)
    assert "quality" not in json.dumps(p.data) and "best" not in p.data  # its key stays in the hidden test
    pick(p, "english")
    pick(p, "explain")
    p.show_ending(p.endings["mixed"])
    assert p.recap(p.completed[-1]) == ["Your path:", "1. go details", "2. go good"]
    assert "This was your scored play" in screen(p) and "The best path:" not in screen(p)
    saved = json.loads((tmp_path / "answers.json").read_text())["roleplays"]["rp-test"]["completed"]
    assert saved == [{"ending": "mixed", "path": [{"step": "open", "choice": "english"}, {"step": "details", "choice": "explain"}]}]
    p.restart()
    assert "your scored play is done, so this one does not change your score" in screen(p)
