"""Every manual score attributed: who set it, when, from what to what.

nbgrader's gradebook keeps one manual score per grade cell and no grader, so this project
keeps its own record, ``<state>/attribution.db`` (SQLite, 0600; never a column added to
nbgrader's schema). Two writers, one function (``recorded``):

* formgrader: this module is a Jupyter server extension (``autograde.course.attribution``) that
  puts a thin subclass of formgrader's own grade handler in front of it (its rule first in
  the router), so each ``PUT …/formgrader/api/grade/<id>`` is recorded with the request's
  identity: under the hub (formgrader as a ``jupyterhub-singleuser`` service) that is the
  trainer's hub name, never a field in the request;
* the project's own screens and scripts: ``set_manual_score(s, gb, grade, score, trainer)``,
  which wraps ``cycle.set_manual_score``.

The record's row is written in the same step as the gradebook's commit: if the gradebook
refuses the score, no row is kept. Each kept row is also a "manual score" line of the audit trail
(``autograde/record/audit.py``), the learner named by pseudonym.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from autograde.config import Settings
from autograde.record import audit

SCHEMA = """
CREATE TABLE IF NOT EXISTS manual_grades (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,                -- UTC, ISO 8601
    trainer TEXT NOT NULL,           -- the hub's name for whoever set the score
    via TEXT NOT NULL,               -- 'formgrader' or the project's own tool ('hcwh', ...)
    grade_id TEXT NOT NULL,          -- nbgrader's Grade.id
    assignment TEXT, student TEXT, notebook TEXT, cell TEXT,
    old_manual_score REAL, new_manual_score REAL,
    old_extra_credit REAL, new_extra_credit REAL
)
"""
COLUMNS = ("at", "trainer", "via", "grade_id", "assignment", "student", "notebook", "cell",
           "old_manual_score", "new_manual_score", "old_extra_credit", "new_extra_credit")


def record_path(s: Settings) -> Path:
    return s.state_dir / "attribution.db"


def _connect(s: Settings) -> sqlite3.Connection:
    path = record_path(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute(SCHEMA)
    return db


@contextlib.contextmanager
def recorded(s: Settings, grade, trainer: str, via: str):
    """Around a change of ``grade`` (an nbgrader Grade): the body changes and commits the
    gradebook; the record's row is committed only if the body succeeds."""
    if not trainer:
        raise ValueError("a manual score needs the name of the trainer who gives it")
    old = (grade.manual_score, grade.extra_credit)
    db = _connect(s)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        nb = grade.notebook
        row = (datetime.now(timezone.utc).isoformat(), trainer, via, grade.id, nb.assignment.name, nb.student.id,
               nb.name, grade.name, old[0], grade.manual_score, old[1], grade.extra_credit)
        db.execute(f"INSERT INTO manual_grades ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", row)
        audit.record(s, "manual score", learner=nb.student.id, trainer=trainer, via=via, grade_id=grade.id,
                     assignment=nb.assignment.name, notebook=nb.name, cell=grade.name, old_manual_score=old[0],
                     new_manual_score=grade.manual_score, old_extra_credit=old[1], new_extra_credit=grade.extra_credit)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.close()


def records(s: Settings) -> list[dict]:
    if not record_path(s).exists():
        return []
    db = _connect(s)
    try:
        rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM manual_grades ORDER BY id").fetchall()
    finally:
        db.close()
    return [dict(zip(COLUMNS, r)) for r in rows]


def set_manual_score(s: Settings, gb, grade, score: float | None, trainer: str, via: str = "hcwh") -> None:
    """The project's own reflection scoring (``cycle.set_manual_score``), attributed to ``trainer``."""
    from autograde.course.cycle import set_manual_score as set_score

    with recorded(s, grade, trainer, via):
        set_score(gb, grade, score)


# -- the formgrader hook -----------------------------------------------------------------


def _grade_handler():
    from nbgrader.api import MissingEntry
    from nbgrader.server_extensions.formgrader.apihandlers import GradeHandler
    from tornado import web

    class AttributedGradeHandler(GradeHandler):
        """formgrader's grade API, each write recorded with the request's identity."""

        @web.authenticated
        def put(self, grade_id):
            user = self.current_user
            trainer = getattr(user, "username", None) or getattr(user, "name", None) or str(user)
            try:
                grade = self.gradebook.find_grade_by_id(grade_id)
            except MissingEntry:
                raise web.HTTPError(404)
            with recorded(Settings.from_env(), grade, trainer, "formgrader"):
                super().put(grade_id)  # formgrader's own handler: sets, commits, answers

    return AttributedGradeHandler


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join

    webapp = serverapp.web_app
    pattern = url_path_join(webapp.settings["base_url"], r"/formgrader/api/grade/([^/]+)")
    webapp.add_handlers(".*$", [(pattern, _grade_handler())])
    # first in the router, whatever order the extensions load in: formgrader's own rule is never reached
    rules = webapp.default_router.rules
    rules.insert(0, rules.pop(-2))
    serverapp.log.info("autograde.course.attribution: formgrader's manual scores are recorded in %s",
                       record_path(Settings.from_env()))


def _jupyter_server_extension_points():
    return [{"module": "autograde.course.attribution"}]
