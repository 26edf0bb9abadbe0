"""The gradebook in a real PostgreSQL server, started here in a temporary folder.

The server listens on a Unix socket in that folder only (no TCP port). PostgreSQL
refuses to run as root, so as root the server runs as the unprivileged system
user ``hcwh-pg`` (created if missing). With no ``initdb`` on the machine this
test FAILS, it does not skip: ``bash scripts/system-deps.sh`` installs it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from autograde.course import nbgrader_api as course
from autograde.reporting import completion, report
from tests.hr_cohort import AS_OF, EXPECTED_AUTOGRADED, MODULE, build_tiny_cohort, grade_ana

PG_USER = "hcwh-pg"


def pg_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    def version(path: str) -> int:  # /usr/lib/postgresql/15/bin/initdb -> 15
        part = Path(path).parts[-3]
        return int(part) if part.isdigit() else 0

    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version)
    return versions[-1] if versions else None


def require_pg_programs() -> tuple[str, str]:
    initdb, pg_ctl = pg_program("initdb"), pg_program("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.fail("PostgreSQL's initdb and pg_ctl are not installed (looked on PATH and in "
                    "/usr/lib/postgresql/*/bin): run `bash scripts/system-deps.sh`, which runs "
                    "`apt-get install postgresql`", pytrace=False)
    return initdb, pg_ctl


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@dataclass(frozen=True)
class Server:
    url: str  # for HCWH_DB_URL / Settings.db_url
    socket_dir: Path


@pytest.fixture(scope="module")
def postgres():
    initdb, pg_ctl = require_pg_programs()
    # A folder in /tmp itself: pytest's own tmp tree is 0700 root, where the server's user cannot go.
    root = Path(tempfile.mkdtemp(prefix="hcwh-pg-"))
    as_server = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER])
        shutil.chown(root, PG_USER, PG_USER)
        as_server = ["runuser", "-u", PG_USER, "--"]
    data, log = root / "data", root / "server.log"
    started = False
    try:
        run(as_server + [initdb, "-D", str(data), "-U", "hcwh", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        options = f"-c listen_addresses='' -c unix_socket_directories={root} -c fsync=off -c full_page_writes=off"
        run(as_server + [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"])
        started = True
        conn = psycopg2.connect(host=str(root), user="hcwh", dbname="postgres")
        try:
            conn.autocommit = True  # CREATE DATABASE refuses to run in a transaction
            with conn.cursor() as cur:
                cur.execute("CREATE DATABASE gradebook")
        finally:
            conn.close()
        yield Server(url=f"postgresql+psycopg2://hcwh@/gradebook?host={root}", socket_dir=root)
    finally:
        if started:
            subprocess.run(as_server + [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


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
