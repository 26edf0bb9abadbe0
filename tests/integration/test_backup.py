"""Backup and restore (issue 13): the tiny cohort's real state (a gradebook with grades from real
nbgrader, the record with a release, the audit trail, HR's report), a learner's work in progress in
her home folder, and a hub secret that must not travel; restored into an empty folder and checked
file by file, row by row."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from autograde import cli
from autograde.config import Settings
from autograde.course import nbgrader_api as course
from autograde.hub import backup
from autograde.record import audit, versions
from autograde.reporting import completion, report
from tests.hr_cohort import AS_OF, MODULE, grade_ana


@pytest.fixture()
def world(tiny_cohort_copy, tmp_path):
    s = tiny_cohort_copy.settings
    grade_ana(s)
    versions.record_release(s, MODULE, "trainer1", "hr.lead")
    audit.record(s, "collect", by="trainer1", assignments=[MODULE])
    audit.record(s, "extension", learner="cora", assignment=MODULE, until="2026-12-10", by="hr1")  # makes the key
    report.write_report(s, as_of=AS_OF)
    homes = tmp_path / "home"
    wip = homes / "cora" / MODULE
    wip.mkdir(parents=True)
    (wip / "answers.json").write_text(json.dumps({"schema_version": 2, "reflections": {"r1": "half a thought"}}))
    (homes / "cora" / ".jupyter").mkdir()
    (homes / "cora" / ".jupyter" / "runtime-token").write_text("never backed up")
    (s.state_dir / "hub").mkdir(exist_ok=True)
    (s.state_dir / "hub" / "jupyterhub_cookie_secret").write_text("c0ffee" * 10)
    key = backup.make_key(tmp_path / "keys" / "backup.key")
    return s, homes, key, tmp_path


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return sorted(con.execute(sql).fetchall())
    finally:
        con.close()


def grades(s: Settings) -> list[tuple]:
    with course.gradebook(s) as gb:
        return sorted((sub.student.id, sub.assignment.name, sub.score, sub.max_score, sub.timestamp)
                      for a in gb.assignments for sub in a.submissions)


def test_a_restore_into_an_empty_folder_brings_everything_back(world, capsys):
    s, homes, key, tmp = world
    made = backup.backup(s, tmp / "backups", key, homes)
    assert made.archive.stat().st_mode & 0o777 == 0o600 and made.archive.name.endswith(".hcwhbk")
    assert made.homes == ["cora"]
    assert any("jupyterhub_cookie_secret" in x for x in made.skipped)
    assert b"half a thought" not in made.archive.read_bytes() and b"Reyes" not in made.archive.read_bytes()  # encrypted

    new_homes = tmp / "new-home"
    assert cli.main(["restore", str(made.archive), "--into", str(tmp / "new-state"), "--key", str(key),
                     "--homes", str(new_homes)]) == 0
    assert "every file matched its SHA-256" in capsys.readouterr().out
    r = Settings(state_dir=tmp / "new-state")
    # the gradebook: every submission, score and timestamp
    assert grades(r) == grades(s) and len(grades(r)) == 2
    # HR's table from the restored state equals the original's
    assert completion.completion_table(r, as_of=AS_OF).equals(completion.completion_table(s, as_of=AS_OF))
    # the learner's work in progress, and nothing hidden of her home
    assert json.loads((new_homes / "cora" / MODULE / "answers.json").read_text())["reflections"]["r1"] == "half a thought"
    assert not (new_homes / "cora" / ".jupyter").exists()
    # the record and the audit trail, which still verifies, with the pseudonym key that made it
    assert rows(r.state_dir / "record" / "record.db", "SELECT * FROM module_versions") == \
        rows(s.state_dir / "record" / "record.db", "SELECT * FROM module_versions")
    assert audit.verify(audit.log_path(r)).ok and audit.head(r) == audit.head(s)
    assert audit.pseudonym(r, "ana") == audit.pseudonym(s, "ana")
    # modes kept, the secret not carried
    assert (r.state_dir / "roster.json").stat().st_mode & 0o777 == (s.state_dir / "roster.json").stat().st_mode & 0o777
    assert not (r.state_dir / "hub" / "jupyterhub_cookie_secret").exists()
    assert [p.name for p in (r.state_dir / "reports").iterdir()] == [p.name for p in s.reports_dir.iterdir()]


def test_a_changed_archive_a_wrong_key_and_a_used_folder_are_refused(world):
    s, homes, key, tmp = world
    archive = backup.backup(s, tmp / "backups", key, homes).archive
    changed = tmp / "changed.hcwhbk"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed.write_bytes(bytes(data))
    with pytest.raises(backup.BackupError, match="damaged or was changed"):
        backup.restore(changed, tmp / "a", key, tmp / "h")
    cut = tmp / "cut.hcwhbk"
    cut.write_bytes(archive.read_bytes()[:-100])
    with pytest.raises(backup.BackupError, match="damaged or was changed"):
        backup.restore(cut, tmp / "b", key, tmp / "h")
    other = backup.make_key(tmp / "other.key")
    with pytest.raises(backup.BackupError, match="not made with this key"):
        backup.restore(archive, tmp / "c", other, tmp / "h")
    used = tmp / "used"
    used.mkdir()
    (used / "roster.json").write_text("{}")
    with pytest.raises(backup.BackupError, match="is not empty"):
        backup.restore(archive, used, key, tmp / "h")
    assert (used / "roster.json").read_text() == "{}"  # nothing lost
    assert not any((tmp / x).exists() for x in ("a", "b", "c"))  # nothing half-made
    assert not list(tmp.glob(".*.restoring-*"))


def test_the_key_must_be_kept_apart(world):
    s, homes, key, tmp = world
    inside = backup.make_key(s.state_dir / "backup.key")
    with pytest.raises(backup.BackupError, match="inside the state folder"):
        backup.backup(s, tmp / "backups", inside, homes)
    with pytest.raises(backup.BackupError, match="already exists"):
        backup.make_key(key)
    key.chmod(0o644)
    with pytest.raises(backup.BackupError, match="mode 644"):
        backup.backup(s, tmp / "backups", key, homes)
    assert not list((tmp / "backups").glob("*")) if (tmp / "backups").exists() else True
