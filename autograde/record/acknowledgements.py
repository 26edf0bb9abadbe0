"""Acknowledgements: a learner's signed commitment to a standard, at the end of its module.

One row per act in ``record.db``'s ``acknowledgements`` table, never edited (a trigger refuses
any UPDATE): who (the hub identity that sent it, never a form field), which module and which
version of it (``versions.current``: the version in force), the choice (``acknowledged``, or
``question``: "I have a question for my supervisor"), the name typed, the recording clock's
UTC time, and the way: ``self`` (the learner, through the exchange service), or ``assisted`` /
``paper`` (recorded by a trainer for the learner, with the reason). A second acknowledgement of
the same version is refused (``AlreadyAcknowledged``, naming the first); questions may be
recorded as often as they are asked. Every row is also a line in the audit chain, in the same
step (a row whose audit line could not be written is not kept); the chain names the learner by
pseudonym and leaves out the typed name and the reason, which may say personal things.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from autograde.config import Settings
from autograde.record import audit, versions
from autograde.record.db import RecordError, connect, transaction

CHOICES = ("acknowledged", "question")
WAYS = ("self", "assisted", "paper")


class AlreadyAcknowledged(RecordError):
    """This learner already acknowledged this version of the module; the first stays as it was."""


def _clean(text: str) -> str:
    return " ".join((text or "").split())


def record(s: Settings, learner: str, assignment: str, typed_name: str, choice: str, *,
           way: str = "self", recorded_by: str, reason: str = "") -> dict:
    """Record one acknowledgement (or question) and audit it; returns the row as recorded."""
    typed_name, reason = _clean(typed_name), _clean(reason)
    if choice not in CHOICES:
        raise RecordError(f"acknowledgement of {assignment} for {learner}: the choice {choice!r} is not one of "
                          f"{', '.join(CHOICES)}")
    if way not in WAYS:
        raise RecordError(f"acknowledgement of {assignment} for {learner}: the way {way!r} is not one of {', '.join(WAYS)}")
    if not typed_name:
        raise RecordError(f"acknowledgement of {assignment} for {learner}: the typed name is empty")
    if way != "self" and not reason:
        raise RecordError(f"an {way} acknowledgement of {assignment} for {learner} needs its reason (--reason)")
    if way != "self" and not _clean(recorded_by):
        raise RecordError(f"an {way} acknowledgement of {assignment} for {learner} needs the trainer's name")
    version = versions.current(s, assignment)
    if version is None:
        raise RecordError(f"{assignment} has no recorded version (it was not released with hcwh release), so "
                          "there is nothing to acknowledge yet; ask your trainer")
    row = {"learner": learner, "assignment": assignment, "version": version, "choice": choice,
           "typed_name": typed_name, "recorded_at": datetime.now(timezone.utc).isoformat(), "way": way,
           "recorded_by": recorded_by, "reason": reason}
    with transaction(s) as con:
        try:
            cur = con.execute(f"INSERT INTO acknowledgements ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                              tuple(row.values()))
        except sqlite3.IntegrityError:
            first = con.execute("SELECT recorded_at, way FROM acknowledgements WHERE learner = ? AND assignment = ? "
                                "AND version = ? AND choice = 'acknowledged'", (learner, assignment, version)).fetchone()
            raise AlreadyAcknowledged(
                f"{learner} already acknowledged this version of {assignment} ({version[:12]}) on "
                f"{first['recorded_at']} ({first['way']}); an acknowledgement is never replaced, and this one was "
                "not recorded") from None
        row["id"] = cur.lastrowid
        audit.record(s, "acknowledgement", learner=learner, assignment=assignment, version=version,
                     choice=choice, way=way, recorded_by=recorded_by if way != "self" else "learner",
                     acknowledgement=row["id"])  # the reason stays in record.db: it may say personal things
    return row


def listed(s: Settings, learner: str | None = None, assignment: str | None = None) -> list[dict]:
    """Recorded acknowledgements and questions, oldest first (one learner's or a module's, or all)."""
    where, args = [], []
    for column, value in (("learner", learner), ("assignment", assignment)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    con = connect(s)
    try:
        rows = con.execute("SELECT * FROM acknowledgements" + (" WHERE " + " AND ".join(where) if where else "")
                           + " ORDER BY id", args).fetchall()
    finally:
        con.close()
    return [dict(r) for r in rows]
