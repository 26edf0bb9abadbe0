"""nbgrader's partial-credit rule, as applied to clicked answers."""

import pytest

from curriculum.answers import AnswerStore
from curriculum.scoring import question_score, score_question, score_roleplay


@pytest.mark.parametrize(
    "kind,given,key,expected",
    [
        ("single", "b", ["b"], 3.0),
        ("single", "a", ["b"], 0.0),
        ("single", None, ["b"], 0.0),
        ("multiple", ["a", "c", "e"], ["a", "c", "e"], 3.0),
        ("multiple", ["a", "c"], ["a", "c", "e"], 2.0),
        ("multiple", ["a", "c", "b"], ["a", "c", "e"], 1.0),
        ("multiple", ["b", "d"], ["a", "c", "e"], 0.0),  # never below zero
        ("multiple", ["a", "b", "c", "d", "e"], ["a", "c", "e"], 1.0),  # ticking everything is not a strategy
        ("ordering", ["w", "x", "y", "z"], ["w", "x", "y", "z"], 3.0),
        ("ordering", ["x", "w", "y", "z"], ["w", "x", "y", "z"], 2.0),  # one step to move: 2 of 3 shares
        ("ordering", ["x", "y", "z", "w"], ["w", "x", "y", "z"], 2.0),  # first step put last: still one move
        ("ordering", ["y", "z", "w", "x"], ["w", "x", "y", "z"], 1.0),  # two to move
        ("ordering", ["z", "y", "x", "w"], ["w", "x", "y", "z"], 0.0),  # reversed: three to move
        ("ordering", ["w", "w", "x", "y"], ["w", "x", "y", "z"], 2.0),  # a step chosen twice, one missing
        ("ordering", ["w", None, None, "z"], ["w", "x", "y", "z"], 1.0),  # half answered
        ("ordering", [None, None, None, None], ["w", "x", "y", "z"], 0.0),
        ("matching", ["p", "q", "r"], ["p", "q", "r"], 3.0),
        ("matching", ["p", "r", "q"], ["p", "q", "r"], 1.0),
        ("matching", "garbage", ["p", "q", "r"], 0.0),
        ("multiple", [1, {"x": 2}], ["a"], 0.0),
    ],
)
def test_question_score(kind, given, key, expected):
    assert question_score(kind, given, key, 3.0) == pytest.approx(expected)


def test_scores_read_what_the_widgets_saved(tmp_path, capsys):
    AnswerStore(tmp_path).put("questions", "q1", ["a", "c"])
    assert score_question("q1", "multiple", ["a", "c", "e"], 3.0, folder=tmp_path) == 2.0
    assert score_question("q2", "single", ["a"], 3.0, folder=tmp_path) == 0.0
    out = capsys.readouterr()
    assert "2 of 3" in out.out and out.err == ""  # stderr would zero the cell under nbgrader
    score_question("q1", "multiple", ["a", "c", "e"], 3.0, folder=tmp_path, explanation="Listen first.")
    out = capsys.readouterr()
    assert out.out.splitlines() == ["Question q1: 2 of 3 points.", "Why: Listen first."] and out.err == ""


def test_roleplay_scores_only_after_an_ending(tmp_path):
    store = AnswerStore(tmp_path)
    store.put("roleplays", "rp", {"current": [{"step": "s1", "choice": 0}], "completed": []})
    assert score_roleplay("rp", 2, folder=tmp_path) == 0.0
    store.put("roleplays", "rp", {"current": [], "completed": [{"ending": "good", "path": [{"step": "s1", "choice": 1}]}]})
    assert score_roleplay("rp", 2, folder=tmp_path) == 2.0


def test_a_damaged_answers_file_scores_zero_not_an_error(tmp_path):
    (tmp_path / "answers.json").write_text("{not json")
    assert score_question("q1", "single", ["a"], 3.0, folder=tmp_path) == 0.0
    (tmp_path / "answers.json").write_text('["a list"]')
    assert score_roleplay("rp", 2, folder=tmp_path) == 0.0


QUALITY = {"s1.a": "best", "s1.b": "acceptable", "s2.a": "best", "s2.b": "poor"}


def test_a_path_scored_play_counts_its_first_complete_play_only(tmp_path, capsys):
    store = AnswerStore(tmp_path)
    first = [{"step": "s1", "choice": "b"}, {"step": "s2", "choice": "b"}]  # 0.5 + 0 over 2 -> 0.25 of 4 = 1
    best = [{"step": "s1", "choice": "a"}, {"step": "s2", "choice": "a"}]
    store.put("roleplays", "rp", {"current": [], "completed": [{"ending": "bad", "path": first},
                                                               {"ending": "good", "path": best}]})
    assert score_roleplay("rp", 4, folder=tmp_path, scoring="path", quality=QUALITY, best=["s1.a", "s2.a"]) == 1.0
    out = capsys.readouterr().out.splitlines()
    assert out == ["Role-play rp: 1 of 4 points for your first play (later plays were practice), ending 'bad'.",
                   "  s1: you chose b (acceptable)", "  s2: you chose b (poor)", "Best path: s1.a, s2.a."]
    # the same plays under completion scoring: full points, whatever the path
    assert score_roleplay("rp", 4, folder=tmp_path) == 4.0
    assert "completion credit" in capsys.readouterr().out


def test_a_path_scored_play_gives_nothing_for_a_choice_not_in_its_key(tmp_path):
    store = AnswerStore(tmp_path)
    store.put("roleplays", "rp", {"completed": [{"ending": "x", "path": [{"step": "s1", "choice": "zz"},
                                                                          {"step": "s2", "choice": "a"}]}]})
    # zz: 0, s2.a: 1 -> 0.5 of 2 = 1
    assert score_roleplay("rp", 2, folder=tmp_path, scoring="path", quality=QUALITY) == 1.0
    store.put("roleplays", "rp", {"completed": [{"ending": "x", "path": []}]})
    assert score_roleplay("rp", 2, folder=tmp_path, scoring="path", quality=QUALITY) == 0.0
