"""Retention on the tiny cohort's real state (tests/hr_cohort.py: ana's reflections carry a planted
phrase; ana and ben submitted, cora did not): HR's schedule, a legal hold, disposal run twice, a
learner's export. Expected by hand: ana left 2027-01-15, so her work (90 days) is due on
2027-04-15 and her grades (1 year) on 2028-01-15; ben left 2027-03-01 and is on a legal hold."""

from __future__ import annotations

import json
import subprocess
import zipfile
from datetime import date, timedelta

import pytest

from autograde import cli, roster
from autograde.course import nbgrader_api as course
from autograde.course import retention
from autograde.record import audit
from autograde.reporting import completion, report
from tests.hr_cohort import MODULE, PLANTED

ROSTER = """employee_id,first_name,last_name,email,department,hire_date,cohort,status,separation_date
ana,Ana,Reyes,ana.reyes@example.org,Permits,2026-10-05,spring,separated,2027-01-15
ben,Ben,Okafor,ben.okafor@example.org,Utilities,2026-10-12,spring,separated,2027-03-01
cora,Cora,Lin,cora.lin@example.org,Permits,2026-11-09,autumn,active,
"""


def holding(folder, text: str) -> list[str]:
    """Every file under ``folder`` whose bytes hold ``text`` (grep, so binary databases count)."""
    out = subprocess.run(["grep", "-rl", "--binary-files=text", text, str(folder)], capture_output=True, text=True)
    return sorted(out.stdout.split())


def hcwh(s, *args) -> int:
    return cli.main(["--state-dir", str(s.state_dir), *args])


@pytest.fixture()
def state(tiny_cohort_copy):
    s = tiny_cohort_copy.settings
    path = tiny_cohort_copy.root / "roster-separated.csv"
    path.write_text(ROSTER)
    roster.import_roster(s, path)
    for record_type, period in (("learner_work", "90d"), ("completion", "1y"), ("acknowledgement", "1y"),
                                ("certificate", "1y"), ("report_snapshot", "30d")):
        assert hcwh(s, "retention", "set", record_type, period) == 0
    return s


def test_disposal_on_schedule_keeps_what_is_held_and_leaves_no_trace(state, tmp_path, capsys):
    s = state
    assert holding(s.state_dir, PLANTED), "the planted reflection should be in ana's submission to begin with"
    snapshot = report.write_report(s, as_of=date(2026, 11, 26)).folder
    assert hcwh(s, "retention", "hold", "--learner", "ben", "--reason", "grievance 2027-014") == 0

    # a records request first: everything about ana, her reflection included
    out = retention.export(s, "ana", tmp_path / "requests" / "ana.zip")
    assert out.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(out) as z:
        record = json.loads(z.read("record.json"))
        work = [n for n in z.namelist() if n.startswith("work/")]
        assert any(PLANTED in z.read(n).decode("utf-8", "replace") for n in work)
    assert record["learner"]["last_name"] == "Reyes" and record["learner"]["separation_date"] == "2027-01-15"
    assert [(g["assignment"], g["score"]) for g in record["grades"]] == [(MODULE, 21.0)]  # autograded, reflections unscored

    # a dry run changes nothing
    dry = retention.run(s, as_of=date(2027, 4, 20), dry_run=True)
    assert "learner_work: ana" in dry.disposed and holding(s.state_dir, PLANTED)

    # 2027-04-20: ana's work is past its 90 days; her grades are not; ben's work is not due until
    # 2027-05-30 (2027-03-01 + 90 days); the snapshot is past its 30 days
    first = retention.run(s, as_of=date(2027, 4, 20), by="hr1")
    assert [d.split(" (")[0] for d in first.disposed] == ["learner_work: ana", f"report_snapshot: {snapshot.name}"]
    assert first.held == []
    assert holding(s.state_dir, PLANTED) == []  # no copy of her reflection is left anywhere
    assert not snapshot.exists()
    assert (s.course_dir / "submitted" / "ben" / MODULE).is_dir()  # held: kept
    table = completion.completion_table(s, as_of=date(2027, 4, 20)).set_index("employee_id")
    assert table.loc["ana", "autograded_score"] == 21.0  # her completion record stays until 2028-01-15
    # the same run again has nothing left to do
    assert retention.run(s, as_of=date(2027, 4, 20), by="hr1").disposed == []

    # 2028-01-20: her grades, then her roster entry, go; nothing names her any more
    assert {"gradebook.db", "gradebook.backup.db", "roster.json"} <= {p.rsplit("/", 1)[-1] for p in holding(s.state_dir, "Reyes")}
    second = retention.run(s, as_of=date(2028, 1, 20), by="hr1")
    assert [d.split(" (")[0] for d in second.disposed] == ["completion: ana", "roster entry: ana"]
    assert second.held == ["ben (learner)"]  # everything of his is due by now, and held
    assert (s.course_dir / "submitted" / "ben" / MODULE).is_dir()
    assert "ana" not in roster.load(s).learners
    with course.gradebook(s) as gb:
        assert "ana" not in {st.id for st in gb.students}
    assert holding(s.state_dir, "Reyes") == [] and holding(s.state_dir, "ana.reyes@example.org") == []
    assert "ben" in completion.completion_table(s, as_of=date(2028, 1, 20))["employee_id"].tolist()

    # the audit trail: one line per disposal, a pseudonym, never the name; and it still verifies
    lines = [json.loads(line) for line in audit.log_path(s).read_text().splitlines()]
    disposals = [e for e in lines if e["event"] == "disposal"]
    assert [e["record_type"] for e in disposals] == ["learner_work", "report_snapshot", "completion", "roster entry"]
    assert all(e.get("learner") in (None, audit.pseudonym(s, "ana")) for e in disposals)
    assert audit.verify(audit.log_path(s)).ok

    # the hold released, ben's records go on the next run
    assert hcwh(s, "retention", "release", "--learner", "ben") == 0
    third = retention.run(s, as_of=date(2028, 3, 5), by="hr1")
    assert [d.split(" (")[0] for d in third.disposed] == ["completion: ben", "learner_work: ben", "roster entry: ben"]
    assert holding(s.state_dir, "Okafor") == []


def test_a_type_without_a_period_is_kept_and_named(tiny_cohort_copy):
    s = tiny_cohort_copy.settings
    roster.mark_separated(s, "ana", date(2026, 12, 1))
    assert roster.mark_separated(s, "ana", date(2027, 6, 1)).separation_date == "2026-12-01"  # the first date stays
    result = retention.run(s, as_of=date(2030, 1, 1))
    assert result.disposed == [] and set(result.not_set) == set(retention.LEARNER_TYPES) | {"report_snapshot"}
    assert holding(s.state_dir, PLANTED)


@pytest.mark.parametrize("args, message", [
    (["set", "grades", "7y"], "unknown record type 'grades'"),
    (["set", "completion", "seven years"], "'seven years' is not a period"),
    (["set", "audit_log", "7y"], "never cut"),
    (["release", "--learner", "cora"], "no legal hold is in force on learner 'cora'"),
    (["hold", "--learner", "zed", "--reason", "x"], "'zed' is not on the roster"),
    (["export", "zed", "/tmp/never-written.zip"], "'zed' is not on the roster"),
])
def test_bad_requests_are_refused_by_name(tiny_cohort_copy, capsys, args, message):
    assert hcwh(tiny_cohort_copy.settings, "retention", *args) == 2
    assert message in capsys.readouterr().err


def test_periods_are_days_as_stated():
    assert [retention.parse_period(p) for p in ("90d", "18m", "7y", "1 year")] == [90, 540, 2555, 365]
    assert date(2027, 1, 15) + timedelta(days=90) == date(2027, 4, 15)  # the docstring's date, by the calendar
