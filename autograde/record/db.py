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
