"""A learner's due date: extension over department rule over cohort date (roster.RosterData.due),
the rules file's checks, the roster's optional manager column, and which modules a reminder names."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from autograde import roster
from autograde.reporting import reminders
from autograde.roster import DueRule, Extension, Learner, PlannedModule, RosterData

pytestmark = pytest.mark.unit


def data() -> RosterData:
    ana = Learner("ana", "Ana", "Reyes", "ana@city.example.gov", "Permits", "2026-10-05", "spring")
    ben = Learner("ben", "Ben", "Okafor", "ben@city.example.gov", "Utilities", "2026-10-12", "spring")
    return RosterData(
        learners={"ana": ana, "ben": ben},
        plans={"spring": {"01-authenticity": PlannedModule("spring", "01-authenticity", "2026-11-20"),
                          "02-anticipation": PlannedModule("spring", "02-anticipation", "2026-12-04")}},
        rules={("Permits", "01-authenticity"): DueRule("Permits", "01-authenticity", 30)},
        extensions={("ben", "02-anticipation"): Extension("ben", "02-anticipation", "2026-12-18", "surgery",
                                                          "M. Chen", "hr1", "2026-11-30T10:00:00Z")},
    )


def test_precedence_extension_over_rule_over_cohort_date():
    d = data()
    # ana is in Permits: 2026-10-05 + 30 days = 2026-11-04 (October has 31 days: 26 left, then 4)
    assert d.due("ana", "01-authenticity") == roster.Due("2026-11-04", "rule", "2026-11-20")
    assert d.due("ana", "02-anticipation") == roster.Due("2026-12-04", "cohort", "2026-12-04")  # no rule for 02
    assert d.due("ben", "01-authenticity") == roster.Due("2026-11-20", "cohort", "2026-11-20")  # Utilities: no rule
    assert d.due("ben", "02-anticipation") == roster.Due("2026-12-18", "extension", "2026-12-04")
    d.rules[("Utilities", "02-anticipation")] = DueRule("Utilities", "02-anticipation", 10)
    assert d.due("ben", "02-anticipation").source == "extension"  # the extension still wins over a rule


def test_nothing_is_due_that_the_cohort_does_not_assign():
    d = data()
    assert d.due("ana", "03-engagement") is None
    assert d.due("nobody", "01-authenticity") is None


def test_the_store_keeps_rules_and_extensions(tmp_path: Path):
    store = roster.RosterStore(tmp_path / "roster.json")
    store.save(data())
    again = store.load()
    assert again.rules == data().rules and again.extensions == data().extensions
    assert again.due("ben", "02-anticipation").date == "2026-12-18"


def test_bad_rules_are_named_by_line_and_field(tmp_path: Path):
    path = tmp_path / "rules.csv"
    path.write_text("department,module,days_after_hire\n"
                    "Permits,01-authenticity,30\n"
                    "Permits,01-authenticity,45\n"
                    "Utilities,09-nothing,10\n"
                    "Utilities,01-authenticity,ten\n"
                    "Parks,01-authenticity,0\n")
    with pytest.raises(roster.RosterError) as err:
        roster.parse_rules(path, {"01-authenticity"})
    problems = [(line, fld) for line, fld, _ in err.value.problems]
    assert problems == [(3, "module"), (4, "module"), (5, "days_after_hire"), (6, "days_after_hire")]
    assert "nothing was imported" in str(err.value)


def test_the_roster_takes_an_optional_manager_email(tmp_path: Path):
    path = tmp_path / "roster.csv"
    head = "employee_id,first_name,last_name,email,department,hire_date,cohort"
    path.write_text(f"{head}\nana,Ana,Reyes,ana@city.example.gov,Permits,2026-10-05,spring\n")
    assert roster.parse_roster(path, {"spring"})[0].manager_email == ""
    path.write_text(f"{head},manager_email\n"
                    "ana,Ana,Reyes,ana@city.example.gov,Permits,2026-10-05,spring,lee@city.example.gov\n"
                    "ben,Ben,Okafor,ben@city.example.gov,Utilities,2026-10-12,spring,not-an-address\n"
                    "cy,Cy,Moss,cy@city.example.gov,Utilities,2026-10-12,spring,cy@city.example.gov\n")
    with pytest.raises(roster.RosterError) as err:
        roster.parse_roster(path, {"spring"})
    assert [(line, fld) for line, fld, _ in err.value.problems] == [(3, "manager_email"), (4, "manager_email")]


def table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["employee_id", "module", "status", "due"]).assign(
        due=lambda f: pd.to_datetime(f["due"]))


def test_which_modules_a_reminder_names():
    t = table([
        ("ana", "01", "not started", "2026-11-30"),   # 4 days left on the 26th: due soon
        ("ana", "02", "not started", "2026-12-03"),   # 7 days left: due soon (the 7th day counts)
        ("ana", "03", "not started", "2026-12-04"),   # 8 days left: not yet
        ("ben", "01", "overdue", "2026-11-20"),       # past: overdue
        ("ben", "02", "submitted", "2026-11-20"),     # sent, late: no reminder
        ("cy", "01", "awaiting reflection grading", "2026-11-26"),
        ("cy", "02", "not started", "2026-11-26"),    # due today: due soon, not overdue
    ])
    got = reminders.due_items(t, date(2026, 11, 26), days=7)
    assert got == {
        "ana": [reminders.Item("01", "due soon", "2026-11-30"), reminders.Item("02", "due soon", "2026-12-03")],
        "ben": [reminders.Item("01", "overdue", "2026-11-20")],
        "cy": [reminders.Item("02", "due soon", "2026-11-26")],
    }


ENV = {"HCWH_MAIL_DOMAINS": "city.example.gov", "HCWH_MAIL_FROM": "training@city.example.gov"}


def test_mail_settings_from_the_environment():
    m = reminders.MailSettings.from_env(ENV)
    assert (m.security, m.port, m.domains, m.weekdays) == ("starttls", 587, ("city.example.gov",), (0, 1, 2, 3, 4))
    from datetime import datetime
    assert m.in_hours(datetime(2026, 11, 26, 8, 0)) and not m.in_hours(datetime(2026, 11, 26, 17, 0))  # Thursday
    assert not m.in_hours(datetime(2026, 11, 28, 10, 0))  # Saturday
    assert m.is_city("Lee@City.Example.Gov") and not m.is_city("lee@example.com")
    assert not m.is_city("lee@evil-city.example.gov.attacker.net")


@pytest.mark.parametrize("change, named", [
    ({"HCWH_MAIL_DOMAINS": ""}, "HCWH_MAIL_DOMAINS"),
    ({"HCWH_MAIL_FROM": "training"}, "HCWH_MAIL_FROM"),
    ({"HCWH_SMTP_SECURITY": "ssl3"}, "HCWH_SMTP_SECURITY"),
    ({"HCWH_SMTP_PORT": "70000"}, "HCWH_SMTP_PORT"),
    ({"HCWH_MAIL_HOURS": "17:00-08:00"}, "HCWH_MAIL_HOURS"),
    ({"HCWH_MAIL_DAYS": "Mon-Someday"}, "HCWH_MAIL_DAYS"),
])
def test_bad_mail_settings_are_named(change, named):
    with pytest.raises(reminders.MailError, match=named):
        reminders.MailSettings.from_env({**ENV, **change})
