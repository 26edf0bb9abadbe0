"""Recertification statuses, by hand (reporting/recert.statuses is pure)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
import pytest

from autograde.reporting.recert import PROGRAMME, Inputs, statuses

pytestmark = pytest.mark.unit

M = "01-authenticity"
V1, V2 = "a" * 64, "b" * 64
RELEASED = {M: [(V1, datetime(2026, 11, 1, tzinfo=timezone.utc)), (V2, datetime(2026, 12, 1, tzinfo=timezone.utc))]}


def table() -> pd.DataFrame:
    rows = [("ana", "Ana Reyes", "Permits", "spring", M, "complete", "2026-11-18 10:30"),   # completed v1
            ("ben", "Ben Okafor", "Utilities", "spring", M, "complete", "2026-12-05 09:00"),  # completed v2
            ("cora", "Cora Lin", "Permits", "autumn", M, "submitted", "2026-12-06 09:00")]   # not complete: not judged
    frame = pd.DataFrame(rows, columns=["employee_id", "name", "department", "cohort", "module", "status", "submitted_at"])
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"])
    return frame


def status(inputs: Inputs, as_of: date) -> dict[str, str]:
    out = statuses(table(), inputs, as_of)
    return dict(zip(out["employee_id"], out["status"]))


def test_time_alone():
    # a year of validity: ana's ends 2027-11-18, ben's 2027-12-05; both versions decided "none"
    inputs = Inputs(RELEASED, {M: 365}, {(M, V2): "none"}, set())
    assert status(inputs, date(2027, 10, 1)) == {"ana": "current", "ben": "current"}  # 48 days left
    assert status(inputs, date(2027, 10, 19)) == {"ana": "expiring soon", "ben": "current"}  # 30 left; ben 47
    assert status(inputs, date(2027, 11, 19)) == {"ana": "expired", "ben": "expiring soon"}  # ben: 16 left
    out = statuses(table(), inputs, date(2027, 11, 19)).set_index("employee_id")
    assert str(out.loc["ana", "expires_on"].date()) == "2027-11-18" and out.loc["ana", "completed_version"] == V1
    assert out.loc["ben", "completed_version"] == V2 == out.loc["ben", "current_version"]


def test_a_module_period_over_the_programmes():
    inputs = Inputs(RELEASED, {PROGRAMME: 730, M: 30}, {(M, V2): "none"}, set())
    # ana 11-18 + 30 = 12-18, past; ben 12-05 + 30 = 2027-01-04, 16 days left (a 30-day period is always "soon")
    assert status(inputs, date(2026, 12, 19)) == {"ana": "expired", "ben": "expiring soon"}
    no_period = Inputs(RELEASED, {}, {(M, V2): "none"}, set())
    assert status(no_period, date(2040, 1, 1)) == {"ana": "current", "ben": "current"}


def test_the_text_changed():
    as_of = date(2027, 1, 10)
    assert status(Inputs(RELEASED, {}, {}, set()), as_of)["ana"] == "text changed: HR to decide"
    assert status(Inputs(RELEASED, {}, {(M, V2): "acknowledge"}, set()), as_of)["ana"] == "re-acknowledge: text changed"
    acked = Inputs(RELEASED, {}, {(M, V2): "acknowledge"}, {("ana", M, V2)})
    assert status(acked, as_of)["ana"] == "current"
    assert status(Inputs(RELEASED, {}, {(M, V2): "retrain"}, {("ana", M, V2)}), as_of)["ana"] == "retrain: text changed"
    assert status(Inputs(RELEASED, {}, {}, set()), as_of)["ben"] == "current"  # he completed the newest


def test_the_strongest_requirement_among_newer_versions_counts():
    v3 = "c" * 64
    three = {M: RELEASED[M] + [(v3, datetime(2027, 1, 1, tzinfo=timezone.utc))]}
    inputs = Inputs(three, {}, {(M, V2): "retrain", (M, v3): "none"}, set())
    assert status(inputs, date(2027, 2, 1)) == {"ana": "retrain: text changed", "ben": "current"}
    # ben completed v2; v3 undecided -> HR to decide for him too
    assert status(Inputs(three, {}, {(M, V2): "none"}, set()), date(2027, 2, 1))["ben"] == "text changed: HR to decide"
