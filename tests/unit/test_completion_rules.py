"""completion.graded_frame and build_table on hand-made frames: a graded submission whose
gradebook timestamp is NULL still counts (the review's B4)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from autograde.reporting.completion import build_table, graded_frame

RAW_COLS = ["employee_id", "module", "timestamp", "cell_type", "score", "max_score", "needs_manual"]


def raw_rows(stamp) -> pd.DataFrame:
    # ana: 6 + 12 autograded of 21, reflections 5 of 9 graded by hand (nothing left to grade)
    return pd.DataFrame([
        ("ana", "01-authenticity", stamp, "code", 18.0, 21.0, 0),
        ("ana", "01-authenticity", stamp, "markdown", 5.0, 9.0, 0),
        ("ben", "01-authenticity", pd.Timestamp("2026-03-10 15:00"), "code", 9.0, 21.0, 0),
        ("ben", "01-authenticity", pd.Timestamp("2026-03-10 15:00"), "markdown", 0.0, 9.0, 1),
    ], columns=RAW_COLS)


def test_a_null_timestamp_keeps_the_graded_submission():
    out = graded_frame(raw_rows(None), "UTC").set_index("employee_id")
    assert list(out.index) == ["ana", "ben"]
    assert (out.loc["ana", "autograded_score"], out.loc["ana", "manual_score"], out.loc["ana", "graded_max"]) == (18.0, 5.0, 30.0)
    assert pd.isna(out.loc["ana", "submitted_at"]) and not out.loc["ana", "needs_manual_grade"]
    assert out.loc["ben", "submitted_at"] == pd.Timestamp("2026-03-10 15:00") and out.loc["ben", "needs_manual_grade"]


def test_the_learner_with_a_null_timestamp_is_complete_not_overdue():
    learners = pd.DataFrame({"employee_id": ["ana", "ben"], "name": ["Ana Reyes", "Ben Okafor"],
                             "department": ["Parks", "Permits"], "cohort": ["spring", "spring"]})
    plan = pd.DataFrame({"cohort": ["spring"], "module": ["01-authenticity"], "assigned": [None], "due": ["2026-03-13"]})
    modules = pd.DataFrame({"module": ["01-authenticity"], "standard": ["Authenticity"], "max_score": [30.0]})
    pending = pd.DataFrame({"employee_id": pd.Series(dtype="str"), "module": pd.Series(dtype="str"),
                            "submitted_at": pd.Series(dtype="datetime64[us]")})
    table = build_table(learners, plan, modules, graded_frame(raw_rows(None), "UTC"), pending, date(2026, 4, 1))
    rows = table.set_index("employee_id")
    assert rows.loc["ana", "status"] == "complete"  # was "overdue", with no score
    assert (rows.loc["ana", "score"], rows.loc["ana", "percent"]) == (23.0, 23.0 / 30.0 * 100)
    assert rows.loc["ben", "status"] == "awaiting reflection grading"
