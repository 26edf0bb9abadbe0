"""The trainers' report over the tiny cohort (tests/hr_cohort.py) through real nbgrader: its figures
against hand computation from that file's answers, and who can read it.

Module 01-authenticity's tags (tests/hr_cohort.py's check_assumptions pins the points): questions
casual-caller (AUTH-C1, AUTH-B1), positivity (AUTH-B2), order-greeting (AUTH-B1, ANTI-C3, ENGA-B2),
match-behaviors (AUTH-B1, AUTH-B2, AUTH-B3), trail-question (AUTH-C2, AUTH-B1), 3 points each; the
parking role-play's best path greet a (AUTH-B1, AUTH-B2), options a (AUTH-B2, AUTH-B1), two
decisions of 2 / 2 = 1 point each, both best.

Ben (casual 3, positivity 1, ordering 2, matching 1, trail 0; parking's best path; his three
reflections empty, which nbgrader scores 0 with nothing left for a trainer; his two unplayed
role-plays have no decision, so they add nothing):
  AUTH-B1: 3 + 2 + 1 + 0 + 1 + 1 + reply 0 = 8 of 3 + 3 + 3 + 3 + 1 + 1 + 3 = 17, over 7 exercises
  AUTH-B2: 1 + 1 + 1 + 1 + reply 0 = 4 of 3 + 3 + 1 + 1 + 3 = 11, over 5
  AUTH-C1: casual 3 + balance 0 + reply 0 = 3 of 9, over 3;  AUTH-C2: trail 0 + values 0 of 6;  ANTI-C3: 2 of 3
Ana answers every question right and plays every role-play's best path: 100% on every item until a
trainer scores her reflections 3 (balance: AUTH-C1), 2 (reply: AUTH-B1, AUTH-B2, AUTH-C1) and
1 (values: AUTH-C2, STEWARDSHIP); then AUTH-C1 = 3 + 3 + 2 of 9, AUTH-C2 = trail 3 + values 1 +
billing's draft-together 1 of 3 + 3 + 1 = 5 of 7, STEWARDSHIP = 1 of 3.
"""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from autograde.reporting import insight, report
from tests.hr_cohort import AS_OF, MODULE, PLANTED, grade_ana


def _row(frame, sid, item):
    rows = frame[(frame["employee_id"] == sid) & (frame["item"] == item)]
    assert len(rows) == 1, (sid, item)
    return tuple(rows.iloc[0][["earned", "possible", "exercises"]])


def test_figures_before_reflections_are_scored(tiny_cohort):
    t = insight.gather(tiny_cohort.settings)
    m = t.mastery["learner"]
    assert set(m["employee_id"]) == {"ana", "ben"}  # cora never submitted
    assert _row(m, "ben", "AUTH-B1") == pytest.approx((8, 17, 7))
    assert _row(m, "ben", "AUTH-B2") == pytest.approx((4, 11, 5))
    assert _row(m, "ben", "AUTH-C1") == pytest.approx((3, 9, 3))
    assert _row(m, "ben", "AUTH-C2") == pytest.approx((0, 6, 2))
    assert _row(m, "ben", "ANTI-C3") == pytest.approx((2, 3, 1))
    assert (m.loc[m["employee_id"] == "ana", "share"] == 1.0).all()
    assert "STEWARDSHIP" not in set(m.loc[m["employee_id"] == "ana", "item"])  # only her unscored reflection names it

    c = t.choices.set_index(["roleplay", "step", "choice"])["scored_play"]
    assert c[("auth-rp-parking-counter", "greet", "warm-welcome")] == 2 and c[("auth-rp-parking-counter", "greet", "citations-final")] == 0
    assert c[("auth-rp-billing-idea", "first-reaction", "invite-priya")] == 1  # ana alone played it
    e = t.endings.set_index(["roleplay", "ending"])["scored_play"]
    assert e[("auth-rp-parking-counter", "ending-good")] == 2

    a = t.items.set_index("question")
    assert a.loc["auth-q-casual-caller", "facility"] == 1.0 and "nobody misses" in a.loc["auth-q-casual-caller", "flags"]
    # positivity: ana 3, ben 1 of 3: facility 4 / 6; the rest of the module 12 and 6: two learners, r = 1
    assert a.loc["auth-q-positivity", "facility"] == pytest.approx(4 / 6)
    assert a.loc["auth-q-positivity", "discrimination"] == pytest.approx(1.0)
    assert a.loc["auth-q-trail-question", "facility"] == pytest.approx(0.5)
    assert (a["learners"] == 2).all() and a["flags"].str.contains("small cohort").all()
    o = t.options.set_index(["question", "slot", "option"])["learners"]
    assert o[("auth-q-trail-question", "", "a")] == 1 and o[("auth-q-trail-question", "", "b")] == 1  # ana a, ben b


def test_after_grading_and_who_can_read_it(tiny_cohort_copy):
    s = tiny_cohort_copy.settings
    grade_ana(s)
    hr = report.write_report(s, as_of=AS_OF)
    files = insight.write_insight(s)
    m = pd.read_csv(files.csv["mastery-learners"]).set_index("employee_id")  # shares rounded to 4 places
    assert (m.loc["ana", "AUTH-C1 share"], m.loc["ana", "AUTH-C1 exercises"]) == (round(8 / 9, 4), 3)
    assert (m.loc["ana", "AUTH-C2 share"], m.loc["ana", "AUTH-C2 exercises"]) == (round(5 / 7, 4), 3)
    assert (m.loc["ana", "STEWARDSHIP share"], m.loc["ana", "STEWARDSHIP exercises"]) == (round(1 / 3, 4), 1)
    assert m.loc["ben", "AUTH-B1 share"] == round(8 / 17, 4)

    # trainers only: its own folder, 0700, files 0600, never under HR's reports folder
    assert files.folder.parent == s.trainer_reports_dir and s.reports_dir not in files.folder.parents
    assert stat.S_IMODE(os.stat(s.trainer_reports_dir).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in files.all())
    # no reflection words in any file of either report; no trainer figure among HR's files
    for path in files.all() + hr.all():
        assert PLANTED.encode() not in path.read_bytes(), path
    for path in s.reports_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"AUTH-B1" not in data and b"mastery" not in data and b"insight" not in data, path
    html = files.html.read_text(encoding="utf-8")
    assert "Too few learners to judge 01-authenticity" in html and MODULE in html


def test_a_rejected_submission_is_left_out(tiny_cohort_copy):
    from autograde.course import rejections

    s = tiny_cohort_copy.settings
    note = rejections.note_path(s, MODULE, "ben")  # where autograde records a rejection
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text('{"reason": "not a notebook"}', encoding="utf-8")
    t = insight.gather(s)
    assert set(t.mastery["learner"]["employee_id"]) == {"ana"}
    assert t.items["learners"].eq(1).all()
    assert any("1 submission(s) that autograde rejected are left out" in n for n in t.notes)
