"""The trainers' report's figures against the hand computation in tests/insight_cohort.py."""

from __future__ import annotations

import json
import math
import os
import stat
from datetime import datetime, timezone

import pandas as pd
import pytest

from autograde.record.audit import Head
from autograde.reporting import insight, items
from tests import insight_cohort as tiny


@pytest.fixture(scope="module")
def built():
    return insight.build([tiny.module()], tiny.LEARNERS, tiny.GRADES, tiny.ANSWERS)


def _share(frame, **where):
    rows = frame
    for key, value in where.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1, where
    row = rows.iloc[0]
    return row["earned"], row["possible"], row["share"], row["exercises"]


def test_mastery_per_learner_by_hand(built):
    m = built.mastery["learner"]
    expected = {  # (learner, item): earned, possible, exercises — tests/insight_cohort.py's table
        ("L1", "AUTH-B1"): (5, 5, 3), ("L1", "AUTH-B2"): (3, 3, 2), ("L1", "AUTH-C1"): (3, 3, 1),
        ("L2", "AUTH-B1"): (1, 4, 2), ("L2", "AUTH-B2"): (1.5, 3, 2), ("L2", "AUTH-C1"): (0, 1, 1),
        ("L3", "AUTH-B1"): (2, 4, 2), ("L3", "AUTH-B2"): (1.5, 4, 3), ("L3", "AUTH-C1"): (1.5, 3, 1),
        ("L4", "AUTH-B1"): (0, 4, 2), ("L4", "AUTH-B2"): (0, 2, 1), ("L4", "AUTH-C1"): (0, 3, 1),
    }
    assert len(m) == len(expected)
    for (sid, item), (earned, possible, n) in expected.items():
        assert _share(m, employee_id=sid, item=item) == pytest.approx((earned, possible, earned / possible, n)), (sid, item)
    assert set(m.loc[m["employee_id"] == "L2", "department"]) == {"A"}


def test_mastery_per_cohort_department_and_everyone_by_hand(built):
    everyone = built.mastery["all"]
    # B1: L1 5/5, L2 1/4, L3 2/4, L4 0/4 -> 8/17 over q1, q2, rp/s2 (3 exercises)
    assert _share(everyone, item="AUTH-B1") == pytest.approx((8, 17, 8 / 17, 3))
    # B2: 3 + 1.5 + 1.5 + 0 over 3 + 3 + 4 + 2 = 6/12 over q2, rp/s1, rp/s2
    assert _share(everyone, item="AUTH-B2") == pytest.approx((6, 12, 0.5, 3))
    # C1: 3 + 0 + 1.5 + 0 over 3 + 1 + 3 + 3 = 4.5/10 over r1 and rp/s1
    assert _share(everyone, item="AUTH-C1") == pytest.approx((4.5, 10, 0.45, 2))
    assert list(everyone["learners"]) == [4, 4, 4]
    dept = built.mastery["department"]
    assert _share(dept, department="A", item="AUTH-B1")[:3] == pytest.approx((6, 9, 6 / 9))
    assert _share(dept, department="A", item="AUTH-C1")[:3] == pytest.approx((3, 4, 0.75))
    assert _share(dept, department="B", item="AUTH-B2")[:3] == pytest.approx((1.5, 6, 0.25))
    cohort = built.mastery["cohort"]
    assert _share(cohort, cohort="c1", item="AUTH-B1")[:3] == pytest.approx((7, 9, 7 / 9))
    assert _share(cohort, cohort="c2", item="AUTH-B2")[:3] == pytest.approx((1.5, 5, 0.3))
    assert _share(cohort, cohort="c2", item="AUTH-C1")[:3] == pytest.approx((0, 4, 0))
    # the framework's order: behaviors B1, B2, then considerations
    assert list(everyone["item"]) == ["AUTH-B1", "AUTH-B2", "AUTH-C1"]


def test_choice_counts_scored_and_practice_by_hand(built):
    c = built.choices.set_index(["step", "choice"])
    # scored plays: s1 x by L1 and L3, y by L2; s2 u by L1, v by L2 and L3
    assert c.loc[("s1", "x"), "scored_play"] == 2 and c.loc[("s1", "y"), "scored_play"] == 1
    assert c.loc[("s2", "u"), "scored_play"] == 1 and c.loc[("s2", "v"), "scored_play"] == 2
    assert c.loc[("s1", "x"), "scored_share"] == pytest.approx(2 / 3)
    # practice: L1 once (y, v), L2 twice (x, u): in aggregate only
    assert c.loc[("s1", "x"), "practice_plays"] == 2 and c.loc[("s1", "y"), "practice_plays"] == 1
    assert c.loc[("s2", "u"), "practice_plays"] == 2 and c.loc[("s2", "v"), "practice_plays"] == 1
    assert c.loc[("s2", "v"), "quality"] == "acceptable"  # the content's, not L3's forged "best"
    assert "employee_id" not in built.choices.columns and "employee_id" not in built.paths.columns
    e = built.endings.set_index("ending")
    assert (e.loc["e-good", "scored_play"], e.loc["e-ok", "scored_play"]) == (1, 2)
    assert (e.loc["e-good", "practice_plays"], e.loc["e-ok", "practice_plays"]) == (2, 1)
    paths = {(r["path"], r["ending"]): r["learners"] for r in built.paths.to_dict("records")}
    assert paths == {("s1: x → s2: u", "e-good"): 1, ("s1: y → s2: v", "e-ok"): 1, ("s1: x → s2: v", "e-ok"): 1}


def test_item_analysis_and_options_by_hand(built):
    a = built.items.set_index("question")
    # q1 = [2, 0, 2, 0] of 2: facility 4 / 4 / 2 = 0.5; q2 = [2, 1, 0, 0]: 3 / 4 / 2 = 0.375
    assert a.loc["q1", "facility"] == pytest.approx(0.5) and a.loc["q2", "facility"] == pytest.approx(0.375)
    # rest of q1 is q2: d_item [1,-1,1,-1], d_rest [1.25,.25,-.75,-.75]; sum of products 1.25-.25-.75+.75 = 1;
    # sums of squares 4 and 2.75: r = 1 / sqrt(11); q2 against q1 the same
    assert a.loc["q1", "discrimination"] == pytest.approx(1 / math.sqrt(11))
    assert a.loc["q2", "discrimination"] == pytest.approx(1 / math.sqrt(11))
    assert list(a["learners"]) == [4, 4]
    assert "small cohort" in a.loc["q1", "flags"] and "options nobody picked: d" in a.loc["q1", "flags"]
    assert "nobody picked" not in a.loc["q2", "flags"]
    o = built.options.set_index(["question", "option"])["learners"].to_dict()
    assert o == {("q1", "a"): 2, ("q1", "b"): 1, ("q1", "c"): 1, ("q1", "d"): 0,
                 ("q2", "a"): 2, ("q2", "b"): 1, ("q2", "c"): 2, ("q2", "d"): 1}
    keys = built.options.set_index(["question", "option"])["key"].to_dict()
    assert [k for k, v in keys.items() if v] == [("q1", "a"), ("q2", "a"), ("q2", "b")]


def test_ordering_and_matching_picks_count_per_slot():
    from curriculum.builder import load_modules

    m = next(m for m in load_modules() if m.id == "01-authenticity")
    order = next(q for q in m.questions if q.kind == "ordering")
    match = next(q for q in m.questions if q.kind == "matching")
    assert insight._pick_counts(order, [["listen", "greet", "nonsense", "confirm"], ["listen"], "greet", None]) == {
        ("position 1", "listen"): 2, ("position 2", "greet"): 1, ("position 4", "confirm"): 1}
    assert insight._pick_counts(match, [["positivity", 7], ["positivity", "positivity"]]) == {
        (match.items[0].id, "positivity"): 2, (match.items[1].id, "positivity"): 1}
    single = next(q for q in m.questions if q.kind == "single")
    multiple = next(q for q in m.questions if q.kind == "multiple")
    assert insight._pick_counts(single, ["a", "a", "zz", ["a"], 3]) == {("", "a"): 2}
    assert insight._pick_counts(multiple, [["a", "a", "b"], "a", ["zz", "b"]]) == {("", "a"): 1, ("", "b"): 2}


def test_malformed_answers_are_skipped_never_raised():
    bad = {("L1", tiny.MODULE): {"questions": {"q1": ["a"], "q2": "a"}, "roleplays": {
        "rp": {"completed": ["x", {"path": "no"}, {"ending": 3, "path": [{"step": "s1", "choice": 1}, {"step": "s1", "choice": "zz"}]}]},
        "ghost": {"completed": [{"ending": "e", "path": [{"step": "a", "choice": "b"}]}]}}}}
    out = insight.build([tiny.module()], tiny.LEARNERS, tiny.GRADES[tiny.GRADES["employee_id"] == "L1"], bad)
    assert out.choices["scored_play"].sum() == 0  # "zz" and the unknown role-play match no content choice
    assert set(out.options["learners"]) == {0}
    assert set(out.mastery["learner"]["item"]) == {"AUTH-B1", "AUTH-B2", "AUTH-C1"}  # from the gradebook alone


def test_the_snapshot_is_private_self_contained_and_holds_no_reflection(built, tmp_path):
    when = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
    files = insight.write_files(tmp_path / "trainer-reports", built, when, "UTC", Head(0, ""))
    assert files.folder.name == "2026-11-26T0930"
    assert stat.S_IMODE(os.stat(tmp_path / "trainer-reports").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(files.folder).st_mode) == 0o700
    for path in files.all():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        assert tiny.PLANTED not in path.read_text(encoding="utf-8"), path
    html = files.html.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    assert html.count("<caption>") >= 6 and "<title id=" in html  # tables with captions, SVG titled
    assert f"fewer than {items.MIN_LEARNERS}" in html  # the small-cohort warning
    assert "Not measured yet" in html  # the calibration section waits for its figures
    assert "AUTH-B1" in html and "47.1%" in html  # B1 for everyone: 8/17
    manifest = json.loads(files.manifest.read_text())
    assert set(manifest["sha256"]) == {"insight.html", *(f"{n}.csv" for n in insight.CSV_FILES)}
    again = insight.write_files(tmp_path / "trainer-reports", built, when, "UTC", Head(0, ""))
    assert again.folder.name == "2026-11-26T0930-2" and files.html.read_text(encoding="utf-8") == html
    wide = pd.read_csv(files.csv["mastery-learners"]).set_index("employee_id")
    assert list(wide.columns) == ["name", "department", "cohort", "AUTH-B1 share", "AUTH-B1 exercises",
                                  "AUTH-B2 share", "AUTH-B2 exercises", "AUTH-C1 share", "AUTH-C1 exercises"]
    assert wide.loc["L3", "AUTH-B2 share"] == 0.375 and wide.loc["L3", "AUTH-B2 exercises"] == 3  # 1.5 / 4
    assert wide.loc["L2", "AUTH-B1 share"] == 0.25 and wide.loc["L2", "name"] == "Lou Two"
    for name in ("choices", "paths", "endings", "items", "options", "mastery-cohorts", "mastery-departments", "mastery-all"):
        assert "employee_id" not in pd.read_csv(files.csv[name]).columns, name


def test_calibration_rows_are_printed_when_given(built, tmp_path):
    from dataclasses import replace

    # rows as reporting/calibration.agreement_table gives them
    with_cal = replace(built, calibration=[{"module": "01-authenticity", "reflection": "own-words", "criterion": "1",
                                             "text": "names the resident's need", "points": 2, "reflections": 12,
                                             "alpha": 0.81, "mean_difference": 0.25}],
                       disagreements=[{"sample": 7, "module": "01-authenticity", "reflection": "own-words",
                                       "criteria_spread": 2.0, "total_gap": 1.5, "totals": [1.0, 2.5]}])
    html = insight.render_html(with_cal, datetime(2026, 11, 26, tzinfo=timezone.utc), "UTC")
    assert "names the resident&#39;s need" in html and "0.81" in html and "Not measured yet" not in html
    assert "Where graders disagree most" in html and ">7<" in html


def test_no_gradebook_yet_is_named_and_nothing_is_written(tmp_path):
    from autograde.config import Settings

    s = Settings(state_dir=tmp_path / "state")
    with pytest.raises(insight.NothingGraded, match=r"no gradebook at .*gradebook\.db"):
        insight.write_insight(s)
    assert not s.trainer_reports_dir.exists()


def test_nothing_graded_yet_still_writes_a_report(tmp_path):
    empty = insight.build([tiny.module()], tiny.LEARNERS, tiny.GRADES.iloc[:0], {})
    assert (empty.learners, empty.submissions) == (0, 0)
    files = insight.write_files(tmp_path, empty, datetime(2026, 11, 26, tzinfo=timezone.utc), "UTC", Head(0, ""))
    assert "0</b> learners with graded work" in files.html.read_text(encoding="utf-8")
    assert pd.read_csv(files.csv["choices"])["scored_play"].sum() == 0


@pytest.mark.parametrize("pool_from", [10**9, 2], ids=["serial", "worker-pool"])
def test_reading_the_files_gives_the_figures_the_parsed_answers_give(tmp_path, monkeypatch, pool_from, built):
    from autograde.config import Settings

    s = Settings(state_dir=tmp_path / "state")
    for (sid, module), data in tiny.ANSWERS.items():
        folder = s.course_dir / "autograded" / sid / module
        folder.mkdir(parents=True)
        (folder / "answers.json").write_text(json.dumps(data), encoding="utf-8")
    damaged = s.course_dir / "autograded" / "L9" / tiny.MODULE
    damaged.mkdir(parents=True)
    (damaged / "answers.json").write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(insight, "POOL_FROM", pool_from)  # 2: even four files go to the worker processes
    submissions = sorted(tiny.ANSWERS) + [("L9", tiny.MODULE)]
    read = insight.read_answers(s, submissions, [tiny.module()])
    assert read.keys == submissions
    out = insight.build([tiny.module()], tiny.LEARNERS, tiny.GRADES, read)
    for name, frame in insight.frames(out).items():
        pd.testing.assert_frame_equal(frame, insight.frames(built)[name], obj=name)


def test_the_spreadsheets_shares_and_counts_are_written_as_a_person_reads_them(tmp_path):
    nan = float("nan")
    # rounded to 4 places, as Python writes the rounded float; a trainer's score above the points
    # gives a share above 1, which is written too; no share, an empty cell
    assert list(insight._share_text(pd.Series([0.5, 1 / 3, nan, 1.0, 0.0, 1.23456, 2 / 3]).to_numpy())) == [
        "0.5", "0.3333", None, "1.0", "0.0", "1.2346", "0.6667"]
    rows = pd.DataFrame({  # L2 has no exercise naming X2; X1 comes first in the framework's order
        "employee_id": ["L1", "L1", "L2"], "name": ["One", "One", "Two"], "department": ["D", "D", "D"],
        "cohort": ["C", "C", "C"], "item": ["X1", "X2", "X1"], "share": [0.25, 1 / 7, 1.0], "exercises": [2, 1, 3]})
    wide = insight.learners_wide(rows, ["X1", "X2"])
    path = tmp_path / "wide.csv"
    insight.report.write_csv(path, wide)
    assert path.read_text().splitlines() == [
        "employee_id,name,department,cohort,X1 share,X1 exercises,X2 share,X2 exercises",
        "L1,One,D,C,0.25,2,0.1429,1",
        "L2,Two,D,C,1.0,3,,"]
