"""The record's database: SQLite at ``<state>/record/record.db`` (0600), the project's own tables,
keyed by nbgrader's ids (the assignment name is nbgrader's ``Assignment.name``); never a column
in nbgrader's schema.

Migrations are numbered steps in ``MIGRATIONS``; ``schema_version`` holds the last one applied.
``connect`` applies the missing ones in order, each in one transaction with its version row, so a
step either happens whole or not at all. A database newer than this code is refused by name.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from autograde.config import Settings
from autograde.errors import HcwhError
from autograde.private import FILE_MODE, private_dir

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE module_versions (
    assignment TEXT NOT NULL,        -- nbgrader's assignment name, e.g. 01-authenticity or 01-authenticity-2027
    version TEXT NOT NULL,           -- versions.version_of: sha256 over the three archived files
    framework_sha256 TEXT NOT NULL,  -- the framework text, archived under archive/<sha256>
    module_sha256 TEXT NOT NULL,     -- the module YAML
    notebook_sha256 TEXT NOT NULL,   -- the built learner notebook (release/)
    released_at TEXT NOT NULL,       -- UTC, ISO 8601
    released_by TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    PRIMARY KEY (assignment, version)
);
"""),
    (2, """
CREATE TABLE reminders_sent (
    employee_id TEXT NOT NULL,       -- nbgrader's student id
    assignment TEXT NOT NULL,        -- nbgrader's assignment name
    kind TEXT NOT NULL,              -- 'due soon' or 'overdue' (reporting/reminders.py)
    due_date TEXT NOT NULL,          -- the due date the reminder named: a new date is a new reminder
    sent_at TEXT NOT NULL,           -- UTC, ISO 8601
    message_id TEXT NOT NULL,
    PRIMARY KEY (employee_id, assignment, kind, due_date)
);
"""),
    (3, """
CREATE TABLE retention_schedule (    -- set by HR (course/retention.py), no row: kept
    record_type TEXT PRIMARY KEY,
    keep_days INTEGER NOT NULL,      -- from the separation date (learners' records) or the day made
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL             -- UTC, ISO 8601
);
CREATE TABLE legal_holds (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('learner', 'cohort')),
    key TEXT NOT NULL,               -- the employee id or the cohort's name
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    released_by TEXT,
    released_at TEXT                 -- NULL while the hold is in force
);
"""),
    (4, """
CREATE TABLE recert_expiry (         -- reporting/recert.py: how long a completion stays valid
    scope TEXT PRIMARY KEY,          -- an assignment name, or '*' for the whole programme
    valid_days INTEGER NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE TABLE recert_decisions (      -- HR's decision on a newer version of a module
    assignment TEXT NOT NULL,
    version TEXT NOT NULL,
    requirement TEXT NOT NULL CHECK (requirement IN ('retrain', 'acknowledge', 'none')),
    note TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (assignment, version),
    FOREIGN KEY (assignment, version) REFERENCES module_versions (assignment, version)
);
"""),
    (5, """
CREATE TABLE xapi_sent (             -- reporting/xapi.py: each statement the LRS accepted, once
    statement_id TEXT PRIMARY KEY,   -- uuid5 over what the statement says
    verb TEXT NOT NULL,
    learner TEXT NOT NULL,           -- nbgrader's student id
    assignment TEXT NOT NULL,
    sent_at TEXT NOT NULL            -- UTC
);
"""),
    (6, """
CREATE TABLE calibration_samples (   -- grader calibration (autograde/record/calibration.py)
    id INTEGER PRIMARY KEY,
    assignment TEXT NOT NULL,        -- nbgrader's assignment name
    student TEXT NOT NULL,           -- nbgrader's student id: this database is the course account's, 0600
    notebook TEXT NOT NULL,
    cell TEXT NOT NULL,              -- the reflection's graded cell (nbgrader's grade_id, <reflection>-answer)
    marked_by TEXT NOT NULL,         -- the trainer who put it in the sample
    marked_at TEXT NOT NULL,         -- UTC, ISO 8601
    how TEXT NOT NULL,               -- 'random, seed N' or 'by hand'
    UNIQUE (assignment, student, notebook, cell)
);
CREATE TABLE calibration_scores (
    sample INTEGER NOT NULL REFERENCES calibration_samples (id),
    criterion INTEGER NOT NULL,      -- the rubric criterion's place in the reflection's rubric, from 0
    grader TEXT NOT NULL,            -- the trainer's hub name
    score REAL NOT NULL,
    max_points REAL NOT NULL,        -- the criterion's points when it was scored
    graded_at TEXT NOT NULL,         -- UTC, ISO 8601
    PRIMARY KEY (sample, criterion, grader)
);
CREATE TABLE calibration_finals (
    sample INTEGER PRIMARY KEY REFERENCES calibration_samples (id),
    score REAL NOT NULL,             -- what was written to the gradebook
    rule TEXT NOT NULL,              -- the rule, in words, with the graders' totals
    graders TEXT NOT NULL,           -- whose scores it comes from, comma-separated
    written_by TEXT NOT NULL,
    written_at TEXT NOT NULL
);
"""),
    (7, """
CREATE TABLE acknowledgements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,           -- nbgrader's student id (the hub's login name)
    assignment TEXT NOT NULL,        -- nbgrader's assignment name
    version TEXT NOT NULL,           -- module_versions.version in force when it was recorded
    choice TEXT NOT NULL CHECK (choice IN ('acknowledged', 'question')),
    typed_name TEXT NOT NULL,        -- what the learner typed (or the trainer, for an assisted record)
    recorded_at TEXT NOT NULL,       -- UTC, ISO 8601, the recording server's clock
    way TEXT NOT NULL CHECK (way IN ('self', 'assisted', 'paper')),
    recorded_by TEXT NOT NULL,       -- the hub identity that sent it (the learner), or the trainer
    reason TEXT NOT NULL DEFAULT '', -- why a trainer recorded it (assisted, paper)
    FOREIGN KEY (assignment, version) REFERENCES module_versions (assignment, version)
);
CREATE UNIQUE INDEX one_acknowledgement_per_version ON acknowledgements (learner, assignment, version)
    WHERE choice = 'acknowledged';
CREATE TRIGGER acknowledgements_never_edited BEFORE UPDATE ON acknowledgements
BEGIN
    SELECT RAISE(ABORT, 'an acknowledgement is never edited');
END;
CREATE TABLE certificates (
    id TEXT PRIMARY KEY,             -- random, in the verification code
    learner TEXT NOT NULL,
    issued_at TEXT NOT NULL,         -- UTC
    issued_by TEXT NOT NULL,
    payload TEXT NOT NULL,           -- the signed canonical JSON (learner, modules, versions, dates)
    signature TEXT NOT NULL,         -- Ed25519 over payload, by the signer helper (base64url)
    public_key_sha256 TEXT NOT NULL  -- which signing key
);
CREATE TRIGGER certificates_never_edited BEFORE UPDATE ON certificates
BEGIN
    SELECT RAISE(ABORT, 'a certificate is never edited; revoke it and issue a new one');
END;
CREATE TABLE certificate_revocations (
    certificate TEXT PRIMARY KEY REFERENCES certificates (id),
    revoked_at TEXT NOT NULL,
    revoked_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
"""),
]
LATEST = MIGRATIONS[-1][0]


class RecordError(HcwhError, RuntimeError):
    """The record cannot be opened or used; the message names the file and why."""


def record_dir(s: Settings) -> Path:
    return s.state_dir / "record"


def db_path(s: Settings) -> Path:
    return record_dir(s) / "record.db"


def schema_version(con: sqlite3.Connection) -> int:
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = con.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return row[0] or 0


def statements(sql: str) -> list[str]:
    """A migration's statements, whole (a trigger's body holds semicolons of its own)."""
    out, buf = [], ""
    for piece in sql.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf)
            buf = ""
    if buf.strip(" \n;"):
        out.append(buf)  # incomplete: sqlite names the fault when it runs
    return out


def migrate(con: sqlite3.Connection, where: Path) -> int:
    """Apply the missing migrations; return the version now in force."""
    current = schema_version(con)
    con.commit()
    if current > LATEST:
        raise RecordError(f"{where}: the record is at schema version {current}, newer than this code knows "
                          f"({LATEST}); upgrade the project before opening it")
    for number, sql in MIGRATIONS:
        if number <= current:
            continue
        try:
            con.execute("BEGIN")
            for statement in statements(sql):
                con.execute(statement)
            con.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            con.execute("ROLLBACK")
            raise RecordError(f"{where}: migration {number} failed, nothing of it kept: {exc}") from exc
        current = number
    return current


def connect(s: Settings) -> sqlite3.Connection:
    path = db_path(s)
    private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    con = sqlite3.connect(path, isolation_level=None)  # autocommit; migrate() opens its own transactions
    con.row_factory = sqlite3.Row
    migrate(con, path)
    return con


@contextmanager
def transaction(s: Settings) -> Iterator[sqlite3.Connection]:
    """One write to the record, whole or not at all: rows written inside (and the audit line the caller
    writes with them) are committed only when the block ends without an exception."""
    con = connect(s)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()
