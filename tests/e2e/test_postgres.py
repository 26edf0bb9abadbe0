"""The gradebook in a real PostgreSQL server, started here in a temporary folder
(``tests/postgres_server.py``).

The server listens on a Unix socket in that folder only (no TCP port). PostgreSQL
refuses to run as root, so as root the server runs as the unprivileged system
user ``hcwh-pg`` (created if missing). With no ``initdb`` on the machine this
test FAILS, it does not skip: ``bash scripts/system-deps.sh`` installs it.
"""

from __future__ import annotations

import glob
import shutil

import psycopg2
import pytest

from autograde.course import nbgrader_api as course
from autograde.reporting import completion, report
from tests.hr_cohort import AS_OF, EXPECTED_AUTOGRADED, MODULE, build_tiny_cohort, grade_ana
from tests.postgres_server import postgres_server, require_pg_programs


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as server:
        yield server


def test_a_cycle_with_the_gradebook_in_postgresql(postgres, tmp_path):
    cohort = build_tiny_cohort(tmp_path, db_url=postgres.url)  # import, release, submit, collect, autograde
    s = cohort.settings
    assert s.gradebook_url == postgres.url
    assert not (s.course_dir / "gradebook.db").exists()  # nothing went to SQLite
    with course.gradebook(s) as gb:
        assert {st.id: st.email for st in gb.students} == {
            "ana": "ana.reyes@example.org", "ben": "ben.okafor@example.org", "cora": "cora.lin@example.org"}
        for sid, expected in EXPECTED_AUTOGRADED.items():
            assert gb.find_submission(MODULE, sid).score == pytest.approx(expected)
    # the rows really are in the server
    conn = psycopg2.connect(host=str(postgres.socket_dir), user="hcwh", dbname="gradebook")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM submitted_assignment")
            assert cur.fetchone()[0] == 2
    finally:
        conn.close()

    grade_ana(s)
    table = completion.completion_table(s, as_of=AS_OF).set_index("employee_id")
    assert table.loc["ana", ["status", "autograded_score", "manual_score", "score"]].tolist() == ["complete", 21.0, 6.0, 27.0]
    assert table.loc["ben", ["status", "score", "late"]].tolist() == ["complete", 9.0, True]
    assert table.loc["cora", "status"] == "not started"
    files = report.write_report(s, as_of=AS_OF)
    assert "90.0%" in files.html.read_text()


def test_without_initdb_the_postgres_test_fails_rather_than_skips(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(glob, "glob", lambda pattern: [])
    with pytest.raises(pytest.fail.Exception, match="initdb and pg_ctl are not installed.*system-deps.sh"):
        require_pg_programs()
