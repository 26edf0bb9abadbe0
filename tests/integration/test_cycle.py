"""The trainer's cycle through real nbgrader: learners' submissions arrive where the
trainer collects; autograde goes on past a broken submission; each learner gets
their own feedback and nobody else's."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from autograde.cli import main
from autograde.course import cycle
from autograde.course import nbgrader_api as course
from curriculum.answers import AnswerStore

MODULE = "01-authenticity"


@pytest.fixture()
def released(state):
    course.prepare(state, [MODULE])
    course.generate(state, MODULE)
    course.release(state, MODULE)
    return state


def test_two_learners_submissions_arrive_where_the_trainer_collects(released):
    s = released
    answers = {"rosa.diaz": "a", "tom.eng": "b"}
    for sid, choice in answers.items():
        home = s.state_dir / "homes" / sid  # each learner's own home folder
        folder = course.fetch(s, MODULE, sid, home)
        assert (folder / f"{MODULE}.ipynb").is_file()
        AnswerStore(folder).put("questions", "auth-q-casual-caller", choice)
        course.submit(s, MODULE, sid, home)
    inbound = sorted(p.name.split("+")[0] for p in (s.exchange_dir / s.course_id / "inbound").iterdir())
    assert inbound == ["rosa.diaz", "tom.eng"]
    assert cycle.collect(s, progress=lambda line: None) == {MODULE: 2}
    assert cycle.collected_students(s, MODULE) == ["rosa.diaz", "tom.eng"]
    for sid, choice in answers.items():
        collected = s.course_dir / "submitted" / sid / MODULE
        assert AnswerStore(collected).get("questions", "auth-q-casual-caller") == choice
        assert (collected / "timestamp.txt").is_file()
        # nbgrader's per-learner cache holds only that learner's own submission
        cached = list((s.learner_cache_dir / sid / s.course_id).iterdir())
        assert [p.name.split("+")[0] for p in cached] == [sid]


def test_autograde_goes_on_past_a_broken_submission_then_feedback_reaches_each_learner(released, capsys):
    s = released
    stamps = {
        "ana.reyes": datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc),
        "broken": datetime(2026, 11, 18, 9, 5, tzinfo=timezone.utc),
        "zed.ortiz": datetime(2026, 11, 18, 9, 10, tzinfo=timezone.utc),
    }
    for sid, at in stamps.items():
        home = s.state_dir / "homes" / sid
        folder = course.fetch(s, MODULE, sid, home)
        if sid == "ana.reyes":
            AnswerStore(folder).put("questions", "auth-q-casual-caller", "a")  # 3 points
        course.submit(s, MODULE, sid, home, at=at)
    args = ["--state-dir", str(s.state_dir)]
    assert main(args + ["collect"]) == 0
    # a truncated notebook, as from a crashed upload
    nb = s.course_dir / "submitted" / "broken" / MODULE / f"{MODULE}.ipynb"
    nb.write_text(nb.read_text()[:500])
    assert main(args + ["autograde", MODULE]) == 1  # one failed: the exit status says so
    out = capsys.readouterr().out.splitlines()
    # one progress line per learner, [n/3] in the order they finish (the fast engine grades
    # several at once; a submission rejected before grading comes first)
    assert sorted(line.split(" ", 1)[0] for line in out if line.startswith("[")) == ["[1/3]", "[2/3]", "[3/3]"]
    assert any(re.fullmatch(rf"\[\d/3\] {MODULE} ana\.reyes \.\.\. 3/30", line) for line in out), out
    assert any(re.fullmatch(rf"\[\d/3\] {MODULE} broken \.\.\. FAILED: .+", line) for line in out), out
    assert any(re.fullmatch(rf"\[\d/3\] {MODULE} zed\.ortiz \.\.\. 0/30", line) for line in out), out
    assert "Autograded 2 of 3 submission(s); 1 failed." in out
    (failure,) = [line for line in out if line.startswith("  FAILED")]
    assert failure.startswith(f"  FAILED {MODULE} broken: NotJSONError: Notebook does not appear to be JSON")
    assert len(failure) < 300  # the reason, not nbgrader's whole traceback
    assert cycle.submission_score(s, MODULE, "zed.ortiz")[:2] == (0.0, 30.0)
    with course.gradebook(s) as gb:
        assert gb.find_submission(MODULE, "ana.reyes").timestamp == datetime(2026, 11, 18, 9, 0)

    # feedback for those autograded, released, and fetched by each learner: their own only
    nb.unlink()
    (nb.parent.parent).rename(s.state_dir / "set-aside")  # the trainer sets the broken one aside
    assert main(args + ["feedback"]) == 0
    assert f"feedback {MODULE}: 2 file(s)" in capsys.readouterr().out
    for sid in ("ana.reyes", "zed.ortiz"):
        (html,) = course.fetch_feedback(s, MODULE, sid, s.state_dir / "homes" / sid)
        text = html.read_text(encoding="utf-8")
        assert "Question auth-q-casual-caller: " + ("3" if sid == "ana.reyes" else "0") + " of 3 points." in text
        assert "BEGIN HIDDEN TESTS" not in text and "score_question(" not in text
