"""Grader calibration's own tables in the record database (``db.py``, migration 2).

A *sample* is one learner's reflection cell put up for double grading (who marked it, when, how
chosen); a *score* is one grader's points on one rubric criterion of a sample (who, when); a
*final* is the score the stated rule gave and that was written to the gradebook. No reflection
text is stored here: the screen reads it from the submitted notebook when a trainer opens it.

Each change is one transaction and one line of the audit trail (learners by pseudonym).
Standard library only, like the rest of ``record/``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timezone

from autograde.config import Settings
from autograde.record import audit, db
from autograde.record.db import RecordError


class CalibrationError(RecordError):
    """A calibration step that cannot be done as asked; the message says which sample and why."""


@dataclass(frozen=True)
class Sample:
    id: int
    assignment: str
    student: str
    notebook: str
    cell: str
    marked_by: str
    marked_at: str
    how: str


@dataclass(frozen=True)
class Score:
    sample: int
    criterion: int
    grader: str
    score: float
    max_points: float
    graded_at: str


@dataclass(frozen=True)
class Final:
    sample: int
    score: float
    rule: str
    graders: str
    written_by: str
    written_at: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def _transaction(s: Settings):
    """One write transaction on the record: everything in the body is kept, or nothing."""
    con = db.connect(s)
    try:
        con.execute("BEGIN IMMEDIATE")
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def _rows(s: Settings, sql: str, assignment: str | None) -> list[tuple]:
    """``sql`` with its ``(assignment, assignment)`` parameters: every row, or one module's."""
    con = db.connect(s)
    try:
        return con.execute(sql, (assignment, assignment)).fetchall()
    finally:
        con.close()


def mark(s: Settings, cells: list[tuple[str, str, str, str]], marked_by: str, how: str) -> list[Sample]:
    """Put each (assignment, student, notebook, cell) in the sample; those already in it are left
    as they are. Returns the samples added (all of them, or none on an error)."""
    if not marked_by:
        raise CalibrationError("marking a sample needs the name of the trainer who marks it")
    added: list[Sample] = []
    with _transaction(s) as con:
        at = _now()
        for assignment, student, notebook, cell in cells:
            cur = con.execute("INSERT OR IGNORE INTO calibration_samples (assignment, student, notebook, cell, "
                              "marked_by, marked_at, how) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              (assignment, student, notebook, cell, marked_by, at, how))
            if cur.rowcount:
                added.append(Sample(cur.lastrowid, assignment, student, notebook, cell, marked_by, at, how))
        for sample in added:
            audit.record(s, "calibration sample", learner=sample.student, sample=sample.id,
                         assignment=sample.assignment, cell=sample.cell, by=marked_by, how=how)
    return added


def samples(s: Settings, assignment: str | None = None) -> list[Sample]:
    return [Sample(*r) for r in _rows(s, "SELECT id, assignment, student, notebook, cell, marked_by, marked_at, how "
                                         "FROM calibration_samples WHERE ? IS NULL OR assignment = ? ORDER BY id",
                                      assignment)]


def sample(s: Settings, sample_id: int) -> Sample:
    found = [x for x in samples(s) if x.id == sample_id]
    if not found:
        raise CalibrationError(f"there is no calibration sample {sample_id}")
    return found[0]


def scores(s: Settings, assignment: str | None = None) -> list[Score]:
    return [Score(*r) for r in _rows(s, "SELECT c.sample, c.criterion, c.grader, c.score, c.max_points, c.graded_at "
                                        "FROM calibration_scores c JOIN calibration_samples x ON x.id = c.sample "
                                        "WHERE ? IS NULL OR x.assignment = ? "
                                        "ORDER BY c.sample, c.grader, c.criterion", assignment)]


def finals(s: Settings, assignment: str | None = None) -> list[Final]:
    return [Final(*r) for r in _rows(s, "SELECT f.sample, f.score, f.rule, f.graders, f.written_by, f.written_at "
                                        "FROM calibration_finals f JOIN calibration_samples x ON x.id = f.sample "
                                        "WHERE ? IS NULL OR x.assignment = ? ORDER BY f.sample", assignment)]


def put_scores(s: Settings, sample_id: int, grader: str, points: list[tuple[float, float]]) -> None:
    """One grader's score for every criterion of a sample, ``points[i] = (score, criterion's max)``,
    all kept or none. A grader may correct their own scores until the sample's final is written."""
    if not grader:
        raise CalibrationError(f"sample {sample_id}: a score needs the name of the trainer who gives it")
    x = sample(s, sample_id)
    with _transaction(s) as con:
        if con.execute("SELECT 1 FROM calibration_finals WHERE sample = ?", (sample_id,)).fetchone():
            raise CalibrationError(f"sample {sample_id}: its final score is already in the gradebook; "
                                   "scores can no longer change")
        at = _now()
        con.execute("DELETE FROM calibration_scores WHERE sample = ? AND grader = ?", (sample_id, grader))
        con.executemany("INSERT INTO calibration_scores VALUES (?, ?, ?, ?, ?, ?)",
                        [(sample_id, i, grader, score, top, at) for i, (score, top) in enumerate(points)])
        audit.record(s, "calibration score", learner=x.student, sample=sample_id, assignment=x.assignment,
                     cell=x.cell, grader=grader, scores=[score for score, _ in points])


def put_final(s: Settings, sample_id: int, score: float, rule: str, graders: list[str], written_by: str,
              write) -> None:
    """Record a sample's final score; ``write()`` puts it in the gradebook inside the same step, so
    the row is kept only if the gradebook took the score."""
    with _transaction(s) as con:
        if con.execute("SELECT 1 FROM calibration_finals WHERE sample = ?", (sample_id,)).fetchone():
            raise CalibrationError(f"sample {sample_id}: its final score was written already")
        con.execute("INSERT INTO calibration_finals VALUES (?, ?, ?, ?, ?, ?)",
                    (sample_id, score, rule, ",".join(graders), written_by, _now()))
        write()
