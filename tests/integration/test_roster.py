"""Roster and cohort imports: whole or nothing, every problem named, idempotent."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from autograde import roster
from autograde.cli import main
from autograde.config import Settings
from autograde.course import nbgrader_api as course
from autograde.roster import RosterError, import_cohorts, import_roster

COHORTS = """cohort,module,assigned,due_date
spring,01-authenticity,2026-11-02,2026-11-20
autumn,01-authenticity,,2026-11-30
"""
ROSTER = """employee_id,first_name,last_name,email,department,hire_date,cohort
ana,Ana,Reyes,ana.reyes@example.org,Permits,2026-10-05,spring
ben,Ben,Okafor,ben.okafor@example.org,Utilities,2026-10-12,spring
cora,Cora,Lin,cora.lin@example.org,Permits,2026-11-09,autumn
"""


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory) -> Path:
    """A new nbgrader gradebook, made once: nbgrader spends seconds making each one."""
    s = Settings(state_dir=tmp_path_factory.mktemp("gradebook") / "state")
    s.course_dir.mkdir(parents=True)
    course.gradebook(s).close()
    return s.course_dir / "gradebook.db"


@pytest.fixture()
def files(tmp_path, state, empty_gradebook):
    (tmp_path / "cohorts.csv").write_text(COHORTS)
    (tmp_path / "roster.csv").write_text(ROSTER)
    state.course_dir.mkdir(parents=True)
    shutil.copy(empty_gradebook, state.course_dir / "gradebook.db")
    return tmp_path


def students(s) -> dict:
    with course.gradebook(s) as gb:
        return {st.id: (st.first_name, st.last_name, st.email) for st in gb.students}


def test_import_then_reimport_changes_nothing_then_a_change_changes_only_it(state, files):
    assert import_cohorts(state, files / "cohorts.csv").summary() == "2 added, 0 updated, 0 unchanged"
    first = import_roster(state, files / "roster.csv")
    assert (first.summary(), first.added) == ("3 added, 0 updated, 0 unchanged", ["ana", "ben", "cora"])
    assert students(state)["ben"] == ("Ben", "Okafor", "ben.okafor@example.org")
    assert stat.S_IMODE(state.roster_path.stat().st_mode) == 0o600  # it names real people
    assert stat.S_IMODE((state.course_dir / "gradebook.db").stat().st_mode) == 0o600
    stored = state.roster_path.read_bytes()

    again = import_roster(state, files / "roster.csv")
    assert again.summary() == "0 added, 0 updated, 3 unchanged" and not again.changed
    assert import_cohorts(state, files / "cohorts.csv").summary() == "0 added, 0 updated, 2 unchanged"
    assert state.roster_path.read_bytes() == stored

    changed = ROSTER.replace("ben.okafor@example.org,Utilities", "ben.o@example.org,Water") + \
        "dan,Dan,Ito,dan.ito@example.org,Permits,2026-11-10,autumn\n"
    (files / "roster.csv").write_text(changed)
    report = import_roster(state, files / "roster.csv")
    assert report.summary() == "1 added, 1 updated, 2 unchanged"
    assert report.added == ["dan"] and report.updated == {"ben": ["email", "department"]}
    assert "  updated learner ben: email, department" in report.lines()
    assert students(state)["ben"] == ("Ben", "Okafor", "ben.o@example.org")
    data = roster.load(state)
    assert data.learners["ben"].department == "Water" and data.learners["dan"].cohort == "autumn"

    # A partial file (new hires only) adds them and keeps everyone else.
    (files / "new.csv").write_text(ROSTER.splitlines()[0] + "\neve,Eve,Ng,eve.ng@example.org,Parks,2026-11-11,autumn\n")
    partial = import_roster(state, files / "new.csv")
    assert partial.summary() == "1 added, 0 updated, 0 unchanged" and partial.kept == 4
    assert len(roster.load(state).learners) == 5


def test_a_malformed_roster_is_rejected_whole_naming_every_bad_row(state, files):
    import_cohorts(state, files / "cohorts.csv")
    bad = ROSTER + "\n".join([
        "dan,Dan,,dan@example.org,Permits,2026-10-05,spring",          # line 5: missing last name
        "eve,Eve,Ng,eve-at-example.org,Permits,2026-10-05,spring",      # line 6: bad email
        "fay,Fay,Poe,fay@example.org,Permits,2026-02-30,spring",        # line 7: no such day
        "ana,Ana,Again,ana2@example.org,Permits,2026-10-05,spring",     # line 8: duplicate id
        "gus,Gus,Tan,gus@example.org,Permits,2026-10-05,winter",        # line 9: unknown cohort
        "hal,Hal,Fox,hal@example.org,Permits,05/10/2026,spring",        # line 10: not ISO
        "ida,Ida,Roe,ida@example.org,Permits,2026-10-05",               # line 11: a field short
        "jo bo,Jo,Bo,JO@example.org,Permits,2026-10-05,spring",         # line 12: id with a space
        "kim,Kim,Le,ana.reyes@example.org,Permits,2026-10-05,spring",   # line 13: someone else's email
    ]) + "\n"
    (files / "roster.csv").write_text(bad)
    with pytest.raises(RosterError) as err:
        import_roster(state, files / "roster.csv")
    problems = {(line, field) for line, field, _ in err.value.problems}
    assert problems == {(5, "last_name"), (6, "email"), (7, "hire_date"), (8, "employee_id"), (9, "cohort"),
                        (10, "hire_date"), (11, None), (12, "employee_id"), (13, "email")}
    text = str(err.value)
    assert "9 problem(s); nothing was imported" in text
    assert "line 8, field 'employee_id': duplicate id 'ana' (also on line 2)" in text
    assert "line 9, field 'cohort': unknown cohort 'winter' (known: autumn, spring" in text
    assert "line 7, field 'hire_date': '2026-02-30' is not a real date" in text
    assert "line 11: has 6 field(s); the header has 7" in text
    assert not state.roster_path.exists() or roster.load(state).learners == {}
    assert students(state) == {}


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("employee_id,first_name,email\n", "the header lacks column(s) last_name, department, hire_date, cohort"),
    (ROSTER.replace("cohort\n", "cohort,salary\n", 1), "unknown column(s) 'salary'"),
    (ROSTER.splitlines()[0] + "\n", "has a header but no rows"),
])
def test_file_level_problems(state, files, content, message):
    import_cohorts(state, files / "cohorts.csv")
    (files / "roster.csv").write_text(content)
    with pytest.raises(RosterError, match=message.replace("(", "\\(").replace(")", "\\)")):
        import_roster(state, files / "roster.csv")


def test_not_utf8_and_control_characters(state, files):
    import_cohorts(state, files / "cohorts.csv")
    (files / "roster.csv").write_bytes(ROSTER.replace("Reyes", "Re\xffyes").encode("latin-1"))
    with pytest.raises(RosterError, match="is not UTF-8 text"):
        import_roster(state, files / "roster.csv")
    (files / "roster.csv").write_text(ROSTER.replace("Reyes", '"Re\nyes"'))
    with pytest.raises(RosterError, match="line 2, field 'last_name': contains a control character"):
        import_roster(state, files / "roster.csv")


def test_roster_needs_its_cohorts_first(state, files):
    with pytest.raises(RosterError, match="unknown cohort 'spring' \\(known: none yet; import the cohorts file first\\)"):
        import_roster(state, files / "roster.csv")


def test_cohorts_file_checks_and_updates(state, files):
    (files / "bad.csv").write_text("\n".join([
        "cohort,module,assigned,due_date",
        "spring,01-authenticity,2026-11-02,2026-11-20",
        "spring,01-authenticity,2026-11-02,2026-11-21",  # twice
        "spring,99-nothing,,2026-11-20",                 # no such module
        "autumn,01-authenticity,2026-12-01,2026-11-30",  # assigned after due
        "autumn,,,2026-11-30",                           # missing module
        "winter,01-authenticity,,next week",             # not a date
    ]) + "\n")
    with pytest.raises(RosterError) as err:
        import_cohorts(state, files / "bad.csv")
    assert {(line, field) for line, field, _ in err.value.problems} == {
        (3, "module"), (4, "module"), (5, "assigned"), (6, "module"), (7, "due_date")}
    assert "unknown module '99-nothing' (known: " in str(err.value)
    assert not state.roster_path.exists()

    import_cohorts(state, files / "cohorts.csv")
    (files / "cohorts.csv").write_text(COHORTS.replace("2026-11-30", "2026-12-04"))
    report = import_cohorts(state, files / "cohorts.csv")
    assert report.summary() == "0 added, 1 updated, 1 unchanged"
    assert report.updated == {"autumn/01-authenticity": ["due_date"]}
    # a cohort named in the file gets exactly the file's plan; others are kept
    (files / "only-spring.csv").write_text("cohort,module,due_date\nspring,01-authenticity,2026-11-20\n")
    report = import_cohorts(state, files / "only-spring.csv")
    assert report.summary() == "0 added, 1 updated, 0 unchanged" and report.kept == 1
    assert report.updated == {"spring/01-authenticity": ["assigned"]}  # the file gives no assigned date now
    data = json.loads(state.roster_path.read_text())
    assert data["plans"]["autumn"]["01-authenticity"]["due_date"] == "2026-12-04"


def test_gradebook_made_afresh_gets_its_students_back(state, files, empty_gradebook):
    import_cohorts(state, files / "cohorts.csv")
    import_roster(state, files / "roster.csv")
    shutil.copy(empty_gradebook, state.course_dir / "gradebook.db")  # a new, empty gradebook
    report = import_roster(state, files / "roster.csv")
    assert report.summary() == "0 added, 0 updated, 3 unchanged"
    assert report.gradebook_restored == ["ana", "ben", "cora"]
    assert set(students(state)) == {"ana", "ben", "cora"}


def test_cli_imports_and_rejects(state, files, capsys):
    args = ["--state-dir", str(state.state_dir)]
    assert main(args + ["cohorts", "import", str(files / "cohorts.csv")]) == 0
    assert main(args + ["roster", "import", str(files / "roster.csv")]) == 0
    assert main(args + ["roster", "import", str(files / "roster.csv")]) == 0
    out = capsys.readouterr().out
    assert "3 added, 0 updated, 0 unchanged" in out and "0 added, 0 updated, 3 unchanged" in out
    (files / "roster.csv").write_text(ROSTER.replace("ana.reyes@example.org", "not-an-email"))
    assert main(args + ["roster", "import", str(files / "roster.csv")]) == 2
    err = capsys.readouterr().err
    assert "line 2, field 'email': 'not-an-email' is not an email address" in err
