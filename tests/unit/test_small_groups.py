"""HR sees no cohort or department figure for a group of fewer than 5 learners (plan review H4):
the completion and mean score of such a group are blanked in the totals, the HTML and the XLSX."""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd

from autograde.reporting import completion, report


def _table() -> pd.DataFrame:
    """Seven learners, one module: Parks has five (four complete at 80, 60, 100, 40; one not
    started), Water two (both complete, at 90 and 50)."""
    people = [("p1", "Parks", 80.0), ("p2", "Parks", 60.0), ("p3", "Parks", 100.0), ("p4", "Parks", 40.0),
              ("p5", "Parks", None), ("w1", "Water", 90.0), ("w2", "Water", 50.0)]
    done = [p is not None for _, _, p in people]
    return pd.DataFrame({
        "employee_id": [e for e, _, _ in people],
        "name": [e.upper() for e, _, _ in people],
        "department": [d for _, d, _ in people],
        "cohort": ["spring"] * 5 + ["autumn"] * 2,
        "module": "01-authenticity",
        "standard": "Authenticity",
        "status": pd.Categorical(["complete" if d else "not started" for d in done], dtype=completion.STATUS_DTYPE),
        "due": pd.Timestamp("2026-12-31"),
        "late": False,
        "percent": [p if p is not None else float("nan") for _, _, p in people],
    })


def test_groups_under_five_learners_are_suppressed_and_larger_ones_kept():
    by_dept = completion.suppress_small(completion.totals(_table(), "department")).set_index("department")
    # Parks: 5 learners, 4 of 5 complete = 80 %; mean of the complete ones (80+60+100+40)/4 = 70
    assert by_dept.loc["Parks", ["learners", "suppressed"]].tolist() == [5, False]
    assert by_dept.loc["Parks", "completion_percent"] == 80.0 and by_dept.loc["Parks", "mean_percent"] == 70.0
    # Water: 2 learners, whose mean (90+50)/2 = 70 would be nearly each one's score: blanked
    assert by_dept.loc["Water", ["learners", "complete", "suppressed"]].tolist() == [2, 2, True]
    assert math.isnan(by_dept.loc["Water", "completion_percent"]) and math.isnan(by_dept.loc["Water", "mean_percent"])


def test_the_hr_report_shows_small_groups_as_not_shown():
    t = report.make_tables(_table(), date(2026, 11, 26))
    assert t.cohorts.set_index("cohort")["suppressed"].to_dict() == {"autumn": True, "spring": False}
    assert t.departments.set_index("department")["suppressed"].to_dict() == {"Parks": False, "Water": True}
    page = report.render_html(t, datetime(2026, 11, 26, 9, 30), "America/Denver")
    dept = page[page.index('id="by-department"'):page.index('id="by-cohort"')]
    cohort = page[page.index('id="by-cohort"'):page.index('id="overdue"')]
    # Parks shows 80.0% and 70.0%; Water's row says why it has no figures
    parks, water = dept[dept.index("<td>Parks</td>"):], dept[dept.index("<td>Water</td>"):]
    assert "80.0%" in parks.split("</tr>")[0] and "70.0%" in parks.split("</tr>")[0]
    assert "not shown: fewer than 5 learners" in water.split("</tr>")[0] and "%" not in water.split("</tr>")[0]
    autumn = cohort[cohort.index("<td>autumn</td>"):].split("</tr>")[0]
    assert "not shown: fewer than 5 learners" in autumn and "%" not in autumn
