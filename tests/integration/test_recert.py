"""Recertification on the tiny cohort's real record: the framework text changes after Ana
completed the module, HR reads the diff, decides, and HR's report lists who must act."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from autograde import cli
from autograde.record import versions
from autograde.reporting import completion, recert, report
from tests.hr_cohort import MODULE, grade_ana


def hcwh(s, *args) -> int:
    return cli.main(["--state-dir", str(s.state_dir), *args])


@pytest.fixture()
def two_versions(tiny_cohort_copy, tmp_path):
    """Ana's module graded (complete), then released twice: the second time with one line of the
    framework text changed."""
    s = tiny_cohort_copy.settings
    grade_ana(s)
    real = versions.sources(s, MODULE)
    framework = tmp_path / "framework.txt"
    framework.write_text(real.framework.read_text(encoding="utf-8"), encoding="utf-8")
    first = versions.record_release(s, MODULE, "trainer1", "hr.lead", versions.Sources(framework, real.module, real.notebook))
    framework.write_text(framework.read_text(encoding="utf-8").rstrip("\n") + "\nA sentence the city added in 2027.\n", encoding="utf-8")
    second = versions.record_release(s, MODULE, "trainer1", "hr.lead", versions.Sources(framework, real.module, real.notebook))
    assert first != second
    return s, first, second


def test_hr_sees_what_changed_decides_and_the_report_lists_who_must_act(two_versions, capsys):
    s, first, second = two_versions
    assert hcwh(s, "recert", "diff", MODULE) == 0
    out = capsys.readouterr().out
    assert "== framework text: changed" in out and "+A sentence the city added in 2027." in out
    assert "== module YAML: unchanged" in out

    as_of = date(2026, 12, 10)
    table = completion.completion_table(s, as_of=as_of)
    assert table.set_index("employee_id").loc[["ana", "ben", "cora"], "status"].tolist() == [
        "complete", "complete", "overdue"]  # ben wrote no reflection: nothing waits for a trainer; cora was due 11-30
    # both submitted in November, before either release was recorded: the first recorded version is theirs
    frame = recert.table_for(s, table, as_of).set_index("employee_id")
    assert sorted(frame.index) == ["ana", "ben"]
    assert frame["status"].tolist() == ["text changed: HR to decide"] * 2
    assert (frame.loc["ana", "completed_version"], frame.loc["ana", "current_version"]) == (first, second)
    assert hcwh(s, "recert", "decide", MODULE, second[:10], "acknowledge", "--note", "new sentence") == 0
    assert hcwh(s, "recert", "expiry", "all", "1y") == 0
    files = report.write_report(s, as_of=as_of)
    csv = pd.read_csv(files.csv["recertification"]).set_index("employee_id")
    assert csv.loc["ana", "status"] == "re-acknowledge: text changed" and csv.loc["ana", "expires_on"] == "2027-11-18"
    assert csv.loc["ben", "expires_on"] == "2027-11-21"  # submitted 2026-11-21, plus 365 days
    html = files.html.read_text(encoding="utf-8")
    assert "Recertification (2 to act on)" in html and "re-acknowledge: text changed" in html
    # a year on, the decision aside: expired
    assert hcwh(s, "recert", "decide", MODULE, second[:10], "none") == 0
    later = recert.table_for(s, completion.completion_table(s, as_of=date(2027, 11, 20)), date(2027, 11, 20))
    assert later.set_index("employee_id")["status"].to_dict() == {"ana": "expired", "ben": "expiring soon"}


@pytest.mark.parametrize("args, message", [
    (["decide", MODULE, "zzz", "acknowledge"], "no released version matches"),
    (["expiry", "09-nothing", "1y"], "has no released version"),
    (["diff", "09-nothing"], "0 released version(s)"),
])
def test_bad_requests_are_named(two_versions, capsys, args, message):
    s, first, _ = two_versions
    assert hcwh(s, "recert", *args) == 2
    assert message in capsys.readouterr().err
    assert hcwh(s, "recert", "decide", MODULE, first[:12], "none") == 2
    assert "first version" in capsys.readouterr().err
