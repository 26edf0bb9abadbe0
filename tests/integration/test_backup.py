"""Backup and restore (autograde/hub/backup.py): a real state from a real nbgrader cycle (the tiny cohort:
tests/hr_cohort.py), a learner's work in progress in their home, an audit trail with a release line;
backed up, restored into an empty folder, compared. A changed archive, a wrong key and a non-empty
folder are refused and write nothing. With the gradebook in a real PostgreSQL server (started by the
test), pg_dump and pg_restore carry it."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from autograde.cli import main
from autograde.config import Settings
from autograde.course import nbgrader_api as course
from autograde.hub import backup
from autograde.record.versions import record_release
from curriculum.answers import AnswerStore
from tests.hr_cohort import EXPECTED_AUTOGRADED, MODULE, build_tiny_cohort, grade_ana

QUIET = {"progress": lambda line: None}


def gradebook_rows(s: Settings) -> list[tuple]:
    """Every grade in nbgrader's gradebook: learner, cell, auto score, manual score, needs manual grade."""
    with course.gradebook(s) as gb:
        return sorted((sub.student_id, nb.name, g.name, g.auto_score, g.manual_score, g.needs_manual_grade)
                      for sub in gb.assignment_submissions(MODULE) for nb in sub.notebooks for g in nb.grades)


def scores(s: Settings) -> dict[str, float]:
    with course.gradebook(s) as gb:
        return {sid: gb.find_submission(MODULE, sid).score for sid in EXPECTED_AUTOGRADED}


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def in_progress(s: Settings, homes: Path) -> Path:
    """cora fetched the module in her home and answered one question; she has not submitted."""
    home = homes / "cora"
    home.mkdir(parents=True)
    os.chmod(home, 0o700)
    folder = course.fetch(s, MODULE, "cora", home)
    AnswerStore(folder).put("questions", "auth-q-casual-caller", "a")
    return folder


@pytest.fixture()
def key(tmp_path) -> Path:
    return backup.make_key(tmp_path / "keys" / "backup.key")


@pytest.fixture()
def made(tiny_cohort_copy, tmp_path, key):
    """The tiny cohort with Ana's reflections scored, a release in the audit trail, cora's work in progress; backed up."""
    s = tiny_cohort_copy.settings
    grade_ana(s)
    record_release(s, MODULE, "trainer-one", "lead-trainer")
    folder = in_progress(s, tmp_path / "home")
    hub = s.state_dir / "hub"  # the hub's own state: a database (kept) and a secret (made again at install)
    hub.mkdir(mode=0o700)
    with sqlite3.connect(hub / "jupyterhub.sqlite") as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO users VALUES ('ana')")
    db.close()
    (hub / "jupyterhub_cookie_secret").write_text("ab" * 32)
    archive = tmp_path / "out" / "set.hcwhbak"
    archive.parent.mkdir()
    summary = backup.backup(s, archive, key, home_base=tmp_path / "home", **QUIET)
    return s, archive, summary, folder


def test_restore_into_an_empty_folder_gives_back_the_gradebook_answers_and_audit_trail(made, tmp_path, key):
    s, archive, summary, folder = made
    assert summary.homes == ["cora"]
    assert "state/course/gradebook.db" in summary.databases
    assert (archive.stat().st_mode & 0o777) == 0o600
    assert not [p for p in archive.parent.iterdir() if p != archive]  # no temporary left beside it
    raw = archive.read_bytes()
    assert b"auth-q-casual-caller" not in raw and b"ana.reyes@example.org" not in raw  # encrypted

    into, homes = tmp_path / "restored" / "state", tmp_path / "newhome"
    homes.mkdir()
    result = backup.restore(archive, into, key, home_base=homes, **QUIET)
    r = replace(s, state_dir=into)
    # hand-computed (tests/hr_cohort.py): ana 21 autograded + 2+2+2 for her reflections, ben 9
    assert scores(r) == {"ana": pytest.approx(27.0), "ben": pytest.approx(9.0)}
    assert gradebook_rows(r) == gradebook_rows(s) and len(gradebook_rows(r)) > 10
    restored_folder = homes / "cora" / folder.relative_to(tmp_path / "home" / "cora")
    assert AnswerStore(restored_folder).get("questions", "auth-q-casual-caller") == "a"
    assert json.loads((restored_folder / "answers.json").read_text()) == json.loads((folder / "answers.json").read_text())
    assert (homes / "cora").stat().st_mode & 0o777 == 0o700
    assert (into / "roster.json").stat().st_mode & 0o777 == 0o600
    assert (into / "roster.json").read_bytes() == s.roster_path.read_bytes()
    # every file of the state folder came back byte for byte, except SQLite databases (copied by the backup API)
    original = {p.relative_to(s.state_dir): p for p in s.state_dir.rglob("*") if p.is_file()}
    back = {p.relative_to(into): p for p in into.rglob("*") if p.is_file()}
    secret = Path("hub/jupyterhub_cookie_secret")
    assert set(back) == set(original) - {secret}
    assert any(str(s.state_dir / secret) in line for line in summary.skipped)
    del original[secret]
    for rel, p in original.items():
        if backup._is_sqlite(p):  # gradebook, record.db, attribution.db...: the same rows
            assert dump(back[rel]) == dump(p), rel
        else:
            assert back[rel].read_bytes() == p.read_bytes(), rel
    assert {"course/gradebook.db", "record/record.db", "hub/jupyterhub.sqlite"} <= {str(rel) for rel, p in original.items()
                                                           if backup._is_sqlite(p)}
    log = (into / "record" / "audit.jsonl").read_text().splitlines()
    assert any(json.loads(line)["event"] == "release" for line in log)
    assert main(["--state-dir", str(into), "audit", "verify"]) == 0
    assert any("hub-setup.sh" in step for step in result.next_steps)


def test_owners_come_back_by_account_name(tiny_cohort_copy, tmp_path, key):
    if os.geteuid() != 0:
        pytest.skip("owners are restored only by root; run as root to check them")
    import pwd
    import shutil
    import tempfile

    s = tiny_cohort_copy.settings
    nobody = pwd.getpwnam("nobody").pw_uid
    os.chown(s.roster_path, nobody, -1)
    folder = in_progress(s, tmp_path / "home")
    for p in [tmp_path / "home" / "cora", *(tmp_path / "home" / "cora").rglob("*")]:
        os.lchown(p, nobody, -1)
    archive = tmp_path / "set.hcwhbak"
    backup.backup(s, archive, key, home_base=tmp_path / "home", **QUIET)
    into = tmp_path / "restored"
    # the homes on another file system (tmpfs): moved by copying, owners set again after
    other_disk = Path(tempfile.mkdtemp(dir="/dev/shm")) if os.path.isdir("/dev/shm") else tmp_path / "homes"
    try:
        backup.restore(archive, into, key, home_base=other_disk, **QUIET)
        assert pwd.getpwuid((into / "roster.json").stat().st_uid).pw_name == "nobody"
        assert (into / "roster.json").stat().st_mode & 0o777 == 0o600
        answers = other_disk / "cora" / folder.relative_to(tmp_path / "home" / "cora") / "answers.json"
        assert answers.stat().st_uid == nobody and (other_disk / "cora").stat().st_uid == nobody
        assert (other_disk / "cora").stat().st_mode & 0o777 == 0o700
    finally:
        shutil.rmtree(other_disk, ignore_errors=True)


def test_an_account_this_machine_lacks_is_named_with_the_fix(tiny_cohort_copy, tmp_path, key):
    if os.geteuid() != 0:
        pytest.skip("owners are restored only by root; run as root to check them")
    import pwd
    import subprocess

    s, name = tiny_cohort_copy.settings, "hcwhbk-gone"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        owned = s.state_dir / "learners"  # ana's and ben's copies in the tiny cohort
        for p in [owned, *owned.rglob("*")]:
            os.lchown(p, pwd.getpwnam(name).pw_uid, -1)
        archive = tmp_path / "set.hcwhbak"
        backup.backup(s, archive, key, home_base=None, **QUIET)
    finally:
        subprocess.run(["userdel", name], check=True)  # the restoring machine has no such account
    result = backup.restore(archive, tmp_path / "restored", key, home_base=None, **QUIET)
    assert result.owners_missing == {name}
    assert (tmp_path / "restored" / "learners").stat().st_uid == 0
    assert any(f"chown -R {name}: {tmp_path / 'restored' / 'learners'}" in step for step in result.next_steps), \
        result.next_steps


def test_a_changed_archive_is_refused_and_nothing_is_written(made, tmp_path, key):
    _, archive, _, _ = made
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed = tmp_path / "changed.hcwhbak"
    changed.write_bytes(bytes(data))
    into = tmp_path / "restored" / "state"
    with pytest.raises(backup.BackupError, match="fails authentication: the archive was changed or damaged"):
        backup.restore(changed, into, key, home_base=tmp_path / "newhome", **QUIET)
    assert not into.exists() and not (tmp_path / "newhome").exists()
    assert not list((tmp_path / "restored").iterdir())  # no staging folder left
    cut = tmp_path / "cut.hcwhbak"
    cut.write_bytes(archive.read_bytes()[:-100])
    with pytest.raises(backup.BackupError, match="cut short|fails authentication"):
        backup.restore(cut, into, key, home_base=None, **QUIET)
    assert not into.exists()


def test_a_wrong_key_is_named(made, tmp_path, capsys):
    _, archive, _, _ = made
    other = backup.make_key(tmp_path / "other.key")
    into = tmp_path / "restored"
    assert main(["restore", str(archive), "--into", str(into), "--key", str(other), "--no-homes"]) == 2
    err = capsys.readouterr().err
    assert "was made with a different backup key" in err and "Traceback" not in err
    assert not into.exists()


def test_restore_into_a_folder_that_is_not_empty_is_refused_or_moves_it_aside(made, tmp_path, key):
    _, archive, _, _ = made
    into = tmp_path / "busy"
    into.mkdir()
    (into / "keep.txt").write_text("was here")
    with pytest.raises(backup.BackupError, match="is not empty"):
        backup.restore(archive, into, key, home_base=None, **QUIET)
    assert [p.name for p in into.iterdir()] == ["keep.txt"]
    result = backup.restore(archive, into, key, home_base=None, move_aside=True, **QUIET)
    assert (result.moved_aside / "keep.txt").read_text() == "was here"
    assert (into / "roster.json").is_file()


def test_a_backup_that_fails_half_way_leaves_no_archive(tiny_cohort_copy, tmp_path, key):
    s = tiny_cohort_copy.settings
    (s.state_dir / "zz-broken.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)  # a damaged database, last
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(backup.BackupError, match="zz-broken.db"):
        backup.backup(s, out / "set.hcwhbak", key, home_base=None, **QUIET)
    assert list(out.iterdir()) == []  # neither the archive nor its temporary file, nor a scratch folder


def test_a_backup_by_an_account_that_cannot_read_everything_is_refused():
    """Run by an account that is not root (here: nobody), a state with a root-only folder (as the hub's is)
    is refused, naming the folder; no archive with a hole in it is written."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to run the backup as another account")
    import shutil
    import subprocess
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="hcwh-backup-test-"))  # in /tmp itself: nobody can reach it
    try:
        os.chmod(root, 0o755)
        state = root / "state"
        (state / "hub").mkdir(parents=True)
        (state / "hub" / "logins.json").write_text("{}")
        os.chmod(state / "hub", 0o700)  # root's, like <state>/hub
        (root / "out").mkdir()
        shutil.chown(root / "out", "nobody")
        key = backup.make_key(root / "backup.key")
        shutil.chown(key, "nobody")
        hcwh = Path(sys.executable).with_name("hcwh")
        done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(hcwh),
                               "--state-dir", str(state), "backup", str(root / "out" / "set.hcwhbak"),
                               "--key", str(key), "--no-homes"], capture_output=True, text=True, cwd=root,
                              check=False)
        assert done.returncode == 2, done.stderr
        assert f"cannot read {state / 'hub'}: run `hcwh backup` as root" in done.stderr
        assert list((root / "out").iterdir()) == []
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_keys_and_archives_are_kept_apart(tiny_cohort_copy, tmp_path, key):
    s = tiny_cohort_copy.settings
    with pytest.raises(backup.BackupError, match="inside the state folder"):
        backup.make_key(s.state_dir / "backup.key", s.state_dir)
    with pytest.raises(backup.BackupError, match="inside the state folder"):
        backup.backup(s, s.state_dir / "set.hcwhbak", key, home_base=None, **QUIET)
    os.chmod(key, 0o644)
    with pytest.raises(backup.BackupError, match="mode 0644"):
        backup.backup(s, tmp_path / "set.hcwhbak", key, home_base=None, **QUIET)
    with pytest.raises(backup.BackupError, match="is missing"):
        backup.backup(s, tmp_path / "set.hcwhbak", tmp_path / "nokey", home_base=None, **QUIET)
    assert not (tmp_path / "set.hcwhbak").exists()


def test_the_gradebook_in_postgresql_is_carried_by_pg_dump(tmp_path, key):
    import psycopg2

    from tests.postgres_server import postgres_server

    with postgres_server() as server:
        (tmp_path / "cohort").mkdir()
        s = build_tiny_cohort(tmp_path / "cohort", db_url=server.url).settings
        grade_ana(s)
        before = gradebook_rows(s)
        archive = tmp_path / "pg.hcwhbak"
        summary = backup.backup(s, archive, key, home_base=None, **QUIET)
        assert backup.PG_DUMP in summary.databases
        conn = psycopg2.connect(host=str(server.socket_dir), user="hcwh", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE restored")
        conn.close()
        into = tmp_path / "restored"
        with pytest.raises(backup.BackupError, match="set HCWH_DB_URL"):
            backup.restore(archive, into, key, home_base=None, **QUIET)
        assert not into.exists()
        url = server.url.replace("/gradebook?", "/restored?")
        backup.restore(archive, into, key, home_base=None, db_url=url, **QUIET)
        r = Settings(state_dir=into, db_url=url)
        assert gradebook_rows(r) == before
        assert scores(r) == {"ana": pytest.approx(27.0), "ben": pytest.approx(9.0)}
