"""The upgrade path (scripts/upgrade.sh; README "Patching and upgrades"), from the previous release's
state: the previous landed commit (``main~1``, or ``HCWH_PREVIOUS_RELEASE``), unpacked with ``git
archive`` into a temporary folder, runs its own demo cycle; this checkout's script then backs that
state up, upgrades its databases (nbgrader's ``db upgrade``, the record's migrations), passes the
smoke check, catches a changed grade, and rolls back to the byte-identical backup. The hub's side
(``jupyterhub upgrade-db`` on a live hub's database, the hub answering, a learner reaching her page)
is in tests/e2e/test_hub.py's restart test.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys

import pytest

from autograde.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "upgrade.sh"
NBGRADER_HEAD = "e43177bfe90b"  # by hand: the last of nbgrader 0.9.6's alembic/versions chain (down_revision links)


def tree(folder):
    """relative path -> sha256 (files) or 'dir', with each entry's mode and owner."""
    out = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        what = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[str(path.relative_to(folder))] = (what, st.st_mode, st.st_uid)
    return out


def run(*args, env_extra=None, check=True):
    env = {k: v for k, v in os.environ.items() if k != "HCWH_DB_URL"}
    env.update(NO_ENVS="1", **(env_extra or {}))
    done = subprocess.run(["bash", str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert done.returncode == 0, f"upgrade.sh {' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def previous_state(tmp_path_factory):
    rev = os.environ.get("HCWH_PREVIOUS_RELEASE", "main~1")
    found = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        pytest.skip(f"no previous release {rev!r} in this clone (set HCWH_PREVIOUS_RELEASE): {found.stderr.strip()}")
    root = tmp_path_factory.mktemp("previous")
    prev = root / "code"
    prev.mkdir()
    archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", found.stdout.strip()], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(prev)], input=archive.stdout, check=True)
    env = {**os.environ, "PYTHONPATH": str(prev), "HCWH_STATE_DIR": str(root / "var")}
    env.pop("HCWH_DB_URL", None)
    demo = subprocess.run([sys.executable, "-m", "autograde.cli", "demo"], cwd=prev, env=env,
                          capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, f"the previous release's demo failed:\n{demo.stdout[-3000:]}\n{demo.stderr[-3000:]}"
    return root / "var" / "demo"


def test_backup_upgrade_smoke_and_rollback_from_the_previous_release(previous_state, tmp_path):
    state, backup = tmp_path / "state", tmp_path / "backup"
    subprocess.run(["cp", "-a", str(previous_state), str(state)], check=True)
    before = tree(state)
    assert "course/gradebook.db" in before

    out = run("backup", state, backup).stdout
    assert "backup:" in out
    assert tree(backup / "state") == before  # a whole copy, modes and owners kept
    assert tree(state) == before  # and the state untouched by it

    out = run("upgrade", state).stdout
    assert "the gradebook is at nbgrader 0.9.6's schema" in out, out
    with sqlite3.connect(state / "course" / "gradebook.db") as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(NBGRADER_HEAD,)]
    assert "gradebook rows unchanged" in run("smoke", state, backup).stdout

    # a grade that changed in an upgrade is caught, named, and the smoke check fails
    with sqlite3.connect(state / "course" / "gradebook.db") as con:
        con.execute("UPDATE grade SET manual_score = 0.5 WHERE id = (SELECT MIN(id) FROM grade WHERE manual_score IS NOT NULL)")
    bad = run("smoke", state, backup, check=False)
    assert bad.returncode != 0
    assert "the gradebook changed in the upgrade (row " in bad.stderr and "0.5" in bad.stderr, bad.stderr

    out = run("rollback", state, backup).stdout
    assert tree(state) == before  # byte for byte the previous release's state again
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("state.upgraded-")]
    assert len(aside) == 1 and (aside[0] / "course" / "gradebook.db").is_file()  # the upgraded one kept, not deleted
    assert str(aside[0]) in out
    assert "gradebook rows unchanged" in run("smoke", state, backup).stdout


def test_nothing_is_copied_while_the_hub_runs(previous_state, tmp_path):
    state, backup = tmp_path / "state", tmp_path / "backup"
    subprocess.run(["cp", "-a", str(previous_state), str(state)], check=True)
    (state / "hub").mkdir(exist_ok=True)
    (state / "hub" / "jupyterhub.pid").write_text(str(os.getpid()))  # a live process: this test's own
    for step in (("backup", state, backup), ("upgrade", state), ("rollback", state, backup)):
        done = run(*step, check=False)
        assert done.returncode == 2 and f"the hub of {state} is running (pid {os.getpid()}" in done.stderr, done.stderr
    assert not backup.exists()
    # a gradebook in PostgreSQL is not in the state folder: said, and nothing copied
    (state / "hub" / "jupyterhub.pid").unlink()
    done = run("backup", state, backup, env_extra={"HCWH_DB_URL": "postgresql://gb@127.0.0.1/gradebook"}, check=False)
    assert done.returncode == 2 and "HCWH_DB_URL is set" in done.stderr and "pg_dump" in done.stderr, done.stderr
    assert not backup.exists()
