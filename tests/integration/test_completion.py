"""The HR completion table: hand-computed numbers, equal to the gradebook's; its schema."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from autograde.course import nbgrader_api as course
from autograde.reporting import completion
from autograde.reporting.completion import SchemaError, build_table, totals, validate
from tests.hr_cohort import AS_OF, EXPECTED_AUTOGRADED, MODULE, grade_ana


def row(table: pd.DataFrame, employee_id: str) -> dict:
    (found,) = table[table["employee_id"] == employee_id].to_dict("records")
    return found


def test_hand_computed_before_reflections_are_graded(tiny_cohort):
    table = completion.completion_table(tiny_cohort.settings, as_of=AS_OF)
    assert list(table["employee_id"]) == ["cora", "ana", "ben"]  # autumn before spring, then by name
    ana, ben, cora = row(table, "ana"), row(table, "ben"), row(table, "cora")
    assert (ana["status"], ana["autograded_score"], ana["manual_score"], ana["score"], ana["max_score"]) == (
        "awaiting reflection grading", 21.0, 0.0, 21.0, 30.0)
    assert (ben["status"], ben["autograded_score"], ben["manual_score"], ben["score"]) == ("complete", 9.0, 0.0, 9.0)
    assert ben["percent"] == pytest.approx(30.0)
    assert (ana["late"], ben["late"], cora["late"]) == (False, True, False)
    assert ana["submitted_at"] == pd.Timestamp("2026-11-18 10:30")  # UTC clock
    assert (cora["status"], np.isnan(cora["score"]), cora["max_score"]) == ("not started", True, 30.0)
    assert (ana["department"], ana["cohort"], ana["standard"], ana["name"]) == ("Permits", "spring", "Authenticity", "Ana Reyes")
    assert ana["due"] == pd.Timestamp("2026-11-20") and ana["assigned"] == pd.Timestamp("2026-11-02")
    # cora is due 2026-11-30: at risk on the 26th (4 days left), overdue on 1 December
    at_risk = completion.at_risk(table, AS_OF)
    assert at_risk[["employee_id", "days_left"]].values.tolist() == [["cora", 4]]
    assert completion.overdue(table, AS_OF).empty
    later = completion.completion_table(tiny_cohort.settings, as_of=date(2026, 12, 1))
    assert row(later, "cora")["status"] == "overdue"
    assert completion.overdue(later, date(2026, 12, 1))[["employee_id", "days_overdue"]].values.tolist() == [["cora", 1]]
    assert completion.at_risk(later, date(2026, 12, 1)).empty


def test_hand_computed_after_grading_equals_the_gradebook(tiny_cohort_copy):
    s = tiny_cohort_copy.settings
    grade_ana(s)  # 3 + 2 + 1
    table = completion.completion_table(s, as_of=AS_OF)
    ana = row(table, "ana")
    assert (ana["status"], ana["autograded_score"], ana["manual_score"], ana["score"], ana["percent"]) == (
        "complete", 21.0, 6.0, 27.0, 90.0)
    # ... and every number equals what nbgrader's own gradebook says
    with course.gradebook(s) as gb:
        for sid in ("ana", "ben"):
            sub = gb.find_submission(MODULE, sid)
            r = row(table, sid)
            assert r["score"] == pytest.approx(sub.score)
            assert r["max_score"] == pytest.approx(sub.max_score)
            assert r["autograded_score"] == pytest.approx(sub.code_score) == EXPECTED_AUTOGRADED[sid]
            assert r["manual_score"] == pytest.approx(sub.written_score)
            assert r["submitted_at"] == pd.Timestamp(sub.timestamp)
            assert (r["status"] == "awaiting reflection grading") == bool(sub.needs_manual_grade)
        assert {st.id for st in gb.students} == {"ana", "ben", "cora"}

    by_learner = totals(table, "learner").set_index("employee_id")
    assert by_learner.loc["ana", ["assignments", "complete", "late", "completion_percent", "mean_percent"]].tolist() == [1, 1, 0, 100.0, 90.0]
    assert by_learner.loc["cora", "not_started"] == 1 and np.isnan(by_learner.loc["cora", "mean_percent"])

    (by_module,) = totals(table, "module").to_dict("records")
    assert {k: by_module[k] for k in ("module", "standard", "learners", "assignments", "complete", "not_started", "late")} == {
        "module": MODULE, "standard": "Authenticity", "learners": 3, "assignments": 3, "complete": 2, "not_started": 1, "late": 1}
    assert by_module["completion_percent"] == pytest.approx(200 / 3)
    assert by_module["mean_percent"] == pytest.approx((90.0 + 30.0) / 2)

    (by_standard,) = totals(table, "standard").to_dict("records")
    assert (by_standard["standard"], by_standard["mean_percent"]) == ("Authenticity", pytest.approx(60.0))

    by_cohort = totals(table, "cohort").set_index("cohort")
    assert by_cohort.loc["spring", ["learners", "complete", "late", "completion_percent", "mean_percent"]].tolist() == [2, 2, 1, 100.0, 60.0]
    assert by_cohort.loc["autumn", ["learners", "complete", "not_started", "completion_percent"]].tolist() == [1, 0, 1, 0.0]

    by_department = totals(table, "department").set_index("department")
    assert by_department.loc["Permits", ["learners", "complete", "not_started", "completion_percent", "mean_percent"]].tolist() == [2, 1, 1, 50.0, 90.0]
    assert by_department.loc["Utilities", ["learners", "complete", "late", "mean_percent"]].tolist() == [1, 1, 1, 30.0]


def test_one_cohort_only(tiny_cohort):
    table = completion.completion_table(tiny_cohort.settings, as_of=AS_OF, cohort="spring")
    assert sorted(table["employee_id"]) == ["ana", "ben"]
    with pytest.raises(completion.UnknownCohort, match="unknown cohort 'winter' \\(known: autumn, spring\\)"):
        completion.completion_table(tiny_cohort.settings, as_of=AS_OF, cohort="winter")


# -- build_table on its own, and the schema -------------------------------------------


def inputs():
    learners = pd.DataFrame({"employee_id": ["a", "b", "c"], "name": ["A A", "B B", "C C"],
                             "department": ["D1", "D1", "D2"], "cohort": ["x", "x", "x"]})
    plan = pd.DataFrame({"cohort": ["x"], "module": ["m1"], "assigned": [None], "due": ["2026-01-10"]})
    modules = pd.DataFrame({"module": ["m1"], "standard": ["Authenticity"], "max_score": [10.0]})
    graded = pd.DataFrame({"employee_id": ["a"], "module": ["m1"], "submitted_at": [pd.Timestamp("2026-01-10 23:59")],
                           "autograded_score": [4.0], "manual_score": [2.0], "graded_max": [10.0], "needs_manual_grade": [True]})
    pending = pd.DataFrame({"employee_id": ["b"], "module": ["m1"], "submitted_at": [pd.Timestamp("2026-01-11 00:01")]})
    return learners, plan, modules, graded, pending


def test_build_table_statuses_and_late_rule():
    table = build_table(*inputs(), as_of=date(2026, 1, 12))
    got = table.set_index("employee_id")
    assert got.loc["a", "status"] == "awaiting reflection grading" and not got.loc["a", "late"]  # last minute of the day: on time
    assert got.loc["b", "status"] == "submitted" and got.loc["b", "late"]  # not autograded yet, one minute late
    assert got.loc["c", "status"] == "overdue"
    assert got.loc["a", "percent"] == 60.0 and np.isnan(got.loc["b", "score"])
    assert pd.isna(got.loc["a", "assigned"])
    on_due_day = build_table(*inputs(), as_of=date(2026, 1, 10)).set_index("employee_id")
    assert on_due_day.loc["c", "status"] == "not started"  # due today is not overdue


def test_schema_violations_are_all_named():
    table = build_table(*inputs(), as_of=date(2026, 1, 12))
    broken = table.drop(columns="late").assign(score=table["score"].astype(object), extra=1)
    broken["status"] = broken["status"].astype(str).replace("overdue", "missing")
    with pytest.raises(SchemaError) as err:
        validate(broken)
    text = str(err.value)
    assert "missing ['late']" in text and "unexpected ['extra']" in text
    assert "column 'score' has dtype object; expected float" in text
    assert "values not allowed: ['missing']" in text
    nulls = table.assign(name=table["name"].where(table["employee_id"] != "a"))
    with pytest.raises(SchemaError, match="column 'name' has 1 empty value"):
        validate(nulls)
    with pytest.raises(SchemaError, match="column 'due' .* expected date"):
        validate(table.assign(due=table["due"] + pd.Timedelta(hours=3)))
    assert validate(table) is table


def test_due_dates_are_days_on_the_city_clock():
    """03:00 UTC on the 21st is still the evening of the 20th in Chicago: on time there, late in UTC."""
    raw = pd.DataFrame({"employee_id": ["a", "a"], "module": ["m1", "m1"],
                        "timestamp": [pd.Timestamp("2026-01-11 03:00")] * 2, "cell_type": ["code", "markdown"],
                        "score": [5.0, 3.0], "max_score": [7.0, 3.0], "needs_manual": [0, 0]})
    learners, plan, modules, _, pending = inputs()
    for tz, late, shown in (("America/Chicago", False, "2026-01-10 21:00"), ("UTC", True, "2026-01-11 03:00")):
        graded = completion.graded_frame(raw, tz)
        got = build_table(learners, plan, modules, graded, pending.iloc[0:0], as_of=date(2026, 1, 12)).set_index("employee_id")
        assert (got.loc["a", "late"], got.loc["a", "submitted_at"]) == (late, pd.Timestamp(shown))
        assert (got.loc["a", "status"], got.loc["a", "score"], got.loc["a", "max_score"]) == ("complete", 8.0, 10.0)
