"""Nothing lost: each learner's grading is all-or-nothing, re-runs keep trainers' work,
an interrupted run is repaired by the next, personal data stays private.

Before an engine grades a learner, :class:`Journal` writes down what the gradebook
held for that submission (every grade, comment and the timestamp) and moves the
learner's previous graded folder aside, in ``<course>/.autograde-journal/``.
When the learner is done (graded, or failed and scored 0) the journal is cleared.
If the run is interrupted in between (Ctrl-C, an exception, the process killed),
the gradebook and the graded folder are put back as they were: at once for an
exception, by the next run for a killed process. So the gradebook never keeps a
half-graded learner past the next run, and the next run grades everything again.

Plain gradebook API (``nbgrader.api.Gradebook``), independent of the grading
engine; SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograde.config import Settings
from autograde.errors import NbgraderError
from autograde.private import DIR_MODE, FILE_MODE, replace_private

JOURNAL_DIR = ".autograde-journal"
BACKUP_NAME = "gradebook.backup.db"


class AlreadyRunning(NbgraderError):
    pass


# -- one learner's gradebook record ----------------------------------------------------------


def snapshot(gb: Gradebook, module_id: str, student_id: str) -> dict | None:
    """Everything the gradebook holds for one submission, as JSON-able data (None: no submission)."""
    try:
        sub = gb.find_submission(module_id, student_id)
    except MissingEntry:
        return None
    return {
        "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
        "notebooks": {
            nb.name: {
                "flagged": bool(nb.flagged),
                "late_submission_penalty": nb.late_submission_penalty,
                "grades": {g.name: [g.auto_score, g.manual_score, g.extra_credit, bool(g.needs_manual_grade)]
                           for g in nb.grades},
                "comments": {c.name: [c.auto_comment, c.manual_comment] for c in nb.comments},
            }
            for nb in sub.notebooks
        },
    }


def restore(gb: Gradebook, module_id: str, student_id: str, snap: dict | None) -> None:
    """Put one submission's record back as :func:`snapshot` saw it."""
    if snap is None:
        try:
            gb.remove_submission(module_id, student_id)
        except MissingEntry:
            pass
        return
    sub = gb.update_or_create_submission(module_id, student_id)
    sub.timestamp = datetime.fromisoformat(snap["timestamp"]) if snap["timestamp"] else None
    for nb in sub.notebooks:
        saved = snap["notebooks"].get(nb.name)
        if saved is None:
            continue
        nb.flagged = saved["flagged"]
        nb.late_submission_penalty = saved["late_submission_penalty"]
        for g in nb.grades:
            if g.name in saved["grades"]:
                g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade = saved["grades"][g.name]
        for c in nb.comments:
            if c.name in saved["comments"]:
                c.auto_comment, c.manual_comment = saved["comments"][c.name]
    gb.db.commit()


def keep_manual_work(gb: Gradebook, module_id: str, student_id: str, before: dict | None) -> int:
    """After re-grading the *same* submission: a score a trainer gave and finished stays finished.

    nbgrader marks every grade that has a manual score "needs manual grade" again on each
    autograde, so a re-run would send finished reflections back to the trainer's queue (and HR's
    status back to "awaiting reflection grading"). For a new submission (a later timestamp) that
    is right, the learner's text may have changed; for the same one it is not. Returns how many
    grades were kept finished."""
    if before is None:
        return 0
    sub = gb.find_submission(module_id, student_id)
    stamp = sub.timestamp.isoformat() if sub.timestamp else None
    if stamp != before["timestamp"]:
        return 0
    kept = 0
    for nb in sub.notebooks:
        saved = before["notebooks"].get(nb.name, {}).get("grades", {})
        for g in nb.grades:
            auto, manual, _, needs = saved.get(g.name, (None, None, None, True))
            if manual is not None and not needs and g.manual_score == manual and g.needs_manual_grade:
                g.needs_manual_grade = False
                kept += 1
    if kept:
        gb.db.commit()
    return kept


def record_zero(gb: Gradebook, module_id: str, student_id: str, timestamp: datetime | None) -> None:
    """A submission that could not be graded: a complete record scoring 0 (as nbgrader scores a
    missing notebook), not a half-made one. Scores a trainer gave by hand are kept."""
    try:
        gb.find_student(student_id)
    except MissingEntry:
        gb.add_student(student_id)
    when = {"timestamp": timestamp.astimezone(timezone.utc).replace(tzinfo=None)} if timestamp else {}
    sub = gb.update_or_create_submission(module_id, student_id, **when)
    for nb in sub.notebooks:
        nb.late_submission_penalty = None
        for g in nb.grades:
            g.auto_score = 0.0
            g.needs_manual_grade = False
        for c in nb.comments:
            c.auto_comment = None
    gb.db.commit()


# -- the journal -----------------------------------------------------------------------------------


class Journal:
    """The learner being graded right now, and how to put them back (see the module docstring)."""

    def __init__(self, s: Settings):
        self.s = s
        self.folder = s.course_dir / JOURNAL_DIR
        self.path = self.folder / "journal.json"
        self.previous = self.folder / "previous"
        self._lock_fd: int | None = None

    # a run holds the lock from start to end: two runs at once would undo each other's work
    def lock(self) -> None:
        self.folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(self.folder, DIR_MODE)
        fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(f"another autograde is running on {self.s.course_dir}; wait for it to finish") from None
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the lock
            self._lock_fd = None

    def _graded_folder(self, module_id: str, student_id: str) -> Path:
        return self.s.course_dir / "autograded" / student_id / module_id

    def pending(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def begin(self, gb: Gradebook, module_id: str, student_id: str) -> dict | None:
        """Write down the learner's record and move their graded folder aside; returns the record."""
        before = snapshot(gb, module_id, student_id)
        _rmtree(self.previous)
        graded = self._graded_folder(module_id, student_id)
        moved = graded.is_dir()
        entry = {"module": module_id, "student": student_id, "before": before, "moved": moved,
                 "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        replace_private(self.path, json.dumps(entry))
        if moved:
            graded.rename(self.previous)
        return before

    def commit(self) -> None:
        """The learner is done (graded, or scored 0): forget the old state."""
        self.path.unlink(missing_ok=True)
        _rmtree(self.previous)

    def restore_graded(self) -> None:
        """The graded copy of the learner being graded back as it was. Needs no database, so
        a locked or lost gradebook still leaves the copy as it was (the record stays in the
        journal until :meth:`rollback` can write it). Safe to repeat."""
        entry = self.pending()
        if entry is None:
            return
        graded = self._graded_folder(entry["module"], entry["student"])
        if entry["moved"] and self.previous.is_dir():  # the old graded copy back, not the engine's half
            _rmtree(graded)
            graded.parent.mkdir(parents=True, exist_ok=True)
            self.previous.rename(graded)
        elif not entry["moved"]:  # there was none: none now
            remove_graded(self.s, entry["module"], entry["student"])

    def rollback(self, gb: Gradebook) -> tuple[str, str] | None:
        """Put the learner being graded back as they were; returns (module, student) or None."""
        entry = self.pending()
        if entry is None:
            return None
        module_id, student_id = entry["module"], entry["student"]
        self.restore_graded()
        restore(gb, module_id, student_id, entry["before"])
        self.path.unlink(missing_ok=True)
        return module_id, student_id


def _rmtree(path: Path) -> None:
    """Remove a graded folder (nbgrader leaves its files read-only; folders must be writable)."""
    if not path.exists():
        return
    for dirpath, _, _ in os.walk(path):
        os.chmod(dirpath, DIR_MODE)
    shutil.rmtree(path)


def remove_graded(s: Settings, module_id: str, student_id: str) -> None:
    """No graded copy for a submission scored 0 (and no empty learner folder left behind)."""
    learner = s.course_dir / "autograded" / student_id
    _rmtree(learner / module_id)
    try:
        learner.rmdir()
    except OSError:
        pass  # other modules' graded copies live there


# -- backups and privacy -------------------------------------------------------------------------


def backup_gradebook(s: Settings) -> Path | None:
    """Copy an SQLite gradebook (consistently, with SQLite's backup API) to
    ``<course>/gradebook.backup.db``, mode 0600: the state before this run. None for
    other databases (back those up with the database's own tools)."""
    src = s.course_dir / "gradebook.db"
    if s.db_url is not None or not src.exists():
        return None
    dest = s.course_dir / BACKUP_NAME
    tmp = s.course_dir / f".{BACKUP_NAME}.tmp"
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.close(fd)
    a, b = sqlite3.connect(src), sqlite3.connect(tmp)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, dest)
    return dest


PRIVATE_FOLDERS = ("submitted", "autograded", "feedback", "source")


def protect(s: Settings) -> None:
    """The course folder holds learners' work, names, scores and the hidden tests: 0700, so
    nothing in it is reachable by another account whatever modes nbgrader gives its files
    (submitted folders arrive world-writable from the exchange). The SQLite gradebook and
    its backup are 0600 too."""
    if s.course_dir.is_dir():
        os.chmod(s.course_dir, DIR_MODE)
        for name in PRIVATE_FOLDERS:
            if (s.course_dir / name).is_dir():
                os.chmod(s.course_dir / name, DIR_MODE)
    if s.db_url is None:
        for name in ("gradebook.db", "gradebook.db-journal", "gradebook.db-wal", BACKUP_NAME):
            if (s.course_dir / name).exists():
                os.chmod(s.course_dir / name, FILE_MODE)
