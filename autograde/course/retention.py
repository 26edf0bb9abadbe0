"""Retention: HR's schedule per record type, ``hcwh retention run`` disposing of what is due,
legal holds, and one learner's export for a records request.

The schedule is HR's to set (``set_schedule``); this code invents no period. A type with no
period set is kept, and every run says so. The clock of a learner's records starts on their
``separation_date`` (the roster's ``status``/``separation_date``, or ``hcwh roster leave``); report
snapshots and backups count from the day they were made. A learner or cohort under a legal hold
is skipped, and the run names it.

What each type covers (``TYPES``) and where it lives is written once, below. A learner's roster
entry, which starts the clock, goes with the last of their records. Each disposal is an audit line
naming the type, a pseudonym and how many items went, never the person; SQLite databases are
vacuumed after a disposal so deleted rows do not linger in free pages (Debian's SQLite also
overwrites deleted content, ``secure_delete``; the vacuum covers builds that do not).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from autograde import roster
from autograde.config import Settings
from autograde.errors import HcwhError
from autograde.exchange.store import store_dir
from autograde.private import private_dir
from autograde.record import audit, db

TYPES: dict[str, str] = {
    "completion": "the learner's grades in the gradebook, grader-calibration scores, due-date extensions "
                  "and reminders sent",
    "acknowledgement": "the learner's acknowledgements of a standard's commitment",
    "certificate": "the learner's certificates of completion and their revocations",
    "learner_work": "reflection text, choices and answers: every copy of the learner's submissions, "
                    "their feedback and results",
    "report_snapshot": "HR and trainer report snapshot folders (they name learners)",
    "audit_log": "the audit trail (pseudonyms only): never cut, so that it stays verifiable",
}
LEARNER_TYPES = ("completion", "acknowledgement", "certificate", "learner_work")
_PERIOD = re.compile(r"^(\d{1,4})\s*(d|days?|m|months?|y|years?)$")
_SNAPSHOT = re.compile(r"^(\d{4}-\d{2}-\d{2})T\d{4}(-\d+)?$")


class RetentionError(HcwhError, ValueError):
    """A schedule, hold or export that cannot be done; the message says what and why."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_period(text: str) -> int:
    """'90d', '18 months', '7y' -> days (a month is 30 days, a year 365: stated, not guessed)."""
    m = _PERIOD.match(text.strip().lower())
    if not m:
        raise RetentionError(f"'{text}' is not a period: write e.g. 90d, 18m or 7y")
    n, unit = int(m.group(1)), m.group(2)[0]
    return n * {"d": 1, "m": 30, "y": 365}[unit]


def set_schedule(s: Settings, record_type: str, period: str, by: str) -> int:
    if record_type not in TYPES:
        raise RetentionError(f"unknown record type '{record_type}' (known: {', '.join(TYPES)})")
    if record_type == "audit_log":
        raise RetentionError("the audit trail is never cut by a retention run: cutting it would break "
                             "'hcwh audit verify'. It holds pseudonyms only; archive it with the backups.")
    days = parse_period(period)
    con = db.connect(s)
    try:
        con.execute("INSERT OR REPLACE INTO retention_schedule (record_type, keep_days, set_by, set_at) "
                    "VALUES (?, ?, ?, ?)", (record_type, days, by, _now()))
    finally:
        con.close()
    audit.record(s, "retention schedule", record_type=record_type, keep_days=days, by=by)
    return days


def schedule(s: Settings) -> dict[str, int]:
    con = db.connect(s)
    try:
        return {r["record_type"]: r["keep_days"] for r in con.execute("SELECT * FROM retention_schedule")}
    finally:
        con.close()


# -- legal holds ---------------------------------------------------------------------


def hold(s: Settings, *, learner: str | None = None, cohort: str | None = None, reason: str, by: str) -> None:
    if (learner is None) == (cohort is None):
        raise RetentionError("a hold is on one learner (--learner ID) or one cohort (--cohort NAME)")
    if not reason.strip():
        raise RetentionError("--reason is required: a legal hold names its matter")
    data = roster.load(s)
    if learner is not None and learner not in data.learners:
        raise RetentionError(f"'{learner}' is not on the roster ({s.roster_path})")
    if cohort is not None and cohort not in data.plans and cohort not in {l.cohort for l in data.learners.values()}:
        raise RetentionError(f"unknown cohort '{cohort}'")
    scope, key = ("learner", learner) if learner is not None else ("cohort", cohort)
    con = db.connect(s)
    try:
        con.execute("INSERT INTO legal_holds (scope, key, reason, set_by, set_at) VALUES (?, ?, ?, ?, ?)",
                    (scope, key, reason.strip(), by, _now()))
    finally:
        con.close()
    audit.record(s, "legal hold", scope=scope, **({"learner": learner} if learner else {"cohort": cohort}), by=by)


def release_hold(s: Settings, *, learner: str | None = None, cohort: str | None = None, by: str) -> int:
    scope, key = ("learner", learner) if learner is not None else ("cohort", cohort)
    con = db.connect(s)
    try:
        n = con.execute("UPDATE legal_holds SET released_by = ?, released_at = ? "
                        "WHERE scope = ? AND key = ? AND released_at IS NULL", (by, _now(), scope, key)).rowcount
    finally:
        con.close()
    if not n:
        raise RetentionError(f"no legal hold is in force on {scope} '{key}'")
    audit.record(s, "legal hold released", scope=scope, **({"learner": learner} if learner else {"cohort": cohort}), by=by)
    return n


def _held(s: Settings) -> tuple[set[str], set[str]]:
    con = db.connect(s)
    try:
        rows = con.execute("SELECT scope, key FROM legal_holds WHERE released_at IS NULL").fetchall()
    finally:
        con.close()
    return {k for sc, k in rows if sc == "learner"}, {k for sc, k in rows if sc == "cohort"}


# -- where a learner's records live --------------------------------------------------------


def work_paths(s: Settings, learner: str) -> list[Path]:
    """Every file or folder holding the learner's work (reflection text, choices, answers)."""
    course, exchange, hub = s.course_dir, s.exchange_dir / s.course_id, store_dir(s)
    found = [course / part / learner for part in ("submitted", "autograded", "feedback")]
    found += list((course / "rejected").glob(f"*/{learner}.json"))
    found += [p for p in (exchange / "inbound").glob(f"{learner}+*")]
    found += [s.learner_cache_dir / learner, s.state_dir / "learners" / learner]
    found += [hub / "submissions" / learner, hub / "feedback" / learner]
    feedback = course / "feedback" / learner
    if feedback.is_dir() and (exchange / "feedback").is_dir():  # nbgrader names released feedback by a hash
        mine = {p.read_bytes() for p in feedback.rglob("*") if p.is_file()}
        found += [p for p in (exchange / "feedback").iterdir() if p.is_file() and p.read_bytes() in mine]
    return [p for p in found if p.exists() or p.is_symlink()]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _vacuum(path: Path) -> None:
    if path.exists():
        con = sqlite3.connect(path)
        try:
            con.execute("VACUUM")
        finally:
            con.close()


def _dispose_rows(s: Settings, learner: str, tables: list[tuple[str, str]]) -> int:
    """Delete the learner's rows from the record's tables (each (table, learner column); ``db.connect``
    has applied every migration, so each table is there), their child rows first."""
    con = db.connect(s)
    n = 0
    try:
        con.execute("BEGIN")
        for table, column in tables:
            if table == "calibration_samples":  # a second grader's scores of the learner's reflections
                for child in ("calibration_scores", "calibration_finals"):
                    n += con.execute(f"DELETE FROM {child} WHERE sample IN "
                                     "(SELECT id FROM calibration_samples WHERE student = ?)", (learner,)).rowcount
            if table == "certificates":
                n += con.execute("DELETE FROM certificate_revocations WHERE certificate IN "
                                 "(SELECT id FROM certificates WHERE learner = ?)", (learner,)).rowcount
            n += con.execute(f"DELETE FROM {table} WHERE {column} = ?", (learner,)).rowcount
        con.execute("COMMIT")
    except sqlite3.Error:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return n


def _dispose_completion(s: Settings, learner: str) -> int:
    from autograde.course import nbgrader_api as course
    from autograde.grading.journal import BACKUP_NAME, backup_gradebook

    n = 0
    with course.gradebook(s) as gb:
        try:
            student = gb.find_student(learner)
        except Exception:  # nbgrader's MissingEntry: nothing of theirs in the gradebook
            student = None
        if student is not None:
            n += 1 + len(student.submissions)
            gb.remove_student(learner)
    if s.db_url is None:
        _vacuum(s.course_dir / "gradebook.db")
        if (s.course_dir / BACKUP_NAME).exists():
            backup_gradebook(s)  # the journal's copy held them too
    n += _dispose_rows(s, learner, [("reminders_sent", "employee_id"), ("calibration_samples", "student")])
    store = roster.RosterStore(s.roster_path)
    data = store.load()
    gone = [k for k in data.extensions if k[0] == learner]
    for k in gone:
        del data.extensions[k]
    if gone:
        store.save(data)
    return n + len(gone)


def _dispose_work(s: Settings, learner: str) -> int:
    paths = work_paths(s, learner)
    for path in paths:
        _remove(path)
    return len(paths)


DISPOSE: dict[str, Callable[[Settings, str], int]] = {
    "completion": _dispose_completion,
    "acknowledgement": lambda s, learner: _dispose_rows(s, learner, [("acknowledgements", "learner")]),
    "certificate": lambda s, learner: _dispose_rows(s, learner, [("certificates", "learner")]),
    "learner_work": lambda s, learner: _dispose_work(s, learner),
}


# -- the run -------------------------------------------------------------------------


@dataclass
class RunReport:
    as_of: date
    disposed: list[str] = field(default_factory=list)  # "type: id (n items)"
    held: list[str] = field(default_factory=list)
    not_set: list[str] = field(default_factory=list)
    dry_run: bool = False

    def lines(self) -> list[str]:
        verb = "would dispose of" if self.dry_run else "disposed of"
        out = [f"retention as of {self.as_of.isoformat()}: {verb} {len(self.disposed)} record set(s); "
               f"{len(self.held)} under a legal hold"]
        out += [f"  {verb} {d}" for d in self.disposed]
        out += [f"  kept (legal hold): {h}" for h in self.held]
        if self.not_set:
            out.append(f"  no period set, kept: {', '.join(self.not_set)} (hcwh retention set TYPE PERIOD)")
        return out


def _due(start: str, keep: int, as_of: date) -> bool:
    return date.fromisoformat(start) + timedelta(days=keep) <= as_of


def _snapshots(s: Settings) -> list[Path]:
    folders = []
    for base in (s.reports_dir, s.state_dir / "trainer-reports"):
        if base.is_dir():
            folders += [p for p in base.iterdir() if p.is_dir() and _SNAPSHOT.match(p.name)]
    return sorted(folders)


def run(s: Settings, as_of: date | None = None, dry_run: bool = False, by: str = "") -> RunReport:
    """Dispose of every record whose period has run out (see the module docstring)."""
    as_of = as_of or datetime.now(timezone.utc).date()
    periods = schedule(s)
    report = RunReport(as_of, dry_run=dry_run,
                       not_set=[t for t in TYPES if t not in periods and t != "audit_log"])
    held_learners, held_cohorts = _held(s)
    data = roster.load(s)
    for eid, learner in sorted(data.learners.items()):
        if not learner.separated:
            continue
        due = [t for t in LEARNER_TYPES if t in periods and _due(learner.separation_date, periods[t], as_of)]
        if not due:
            continue
        if eid in held_learners or learner.cohort in held_cohorts:
            report.held.append(f"{eid} ({'learner' if eid in held_learners else 'cohort ' + learner.cohort})")
            continue
        for record_type in due:
            if dry_run:
                report.disposed.append(f"{record_type}: {eid}")
                continue
            n = DISPOSE[record_type](s, eid)
            if n:
                audit.record(s, "disposal", learner=eid, record_type=record_type, items=n, by=by,
                             schedule_days=periods[record_type])
                report.disposed.append(f"{record_type}: {eid} ({n} item(s))")
        if not dry_run and all(t in periods and _due(learner.separation_date, periods[t], as_of)
                               for t in LEARNER_TYPES):
            # the last of their records has gone: the roster entry that started the clock goes too
            store = roster.RosterStore(s.roster_path)
            fresh = store.load()
            fresh.learners.pop(eid, None)
            store.save(fresh)
            audit.record(s, "disposal", learner=eid, record_type="roster entry", items=1, by=by)
            report.disposed.append(f"roster entry: {eid}")
    if "report_snapshot" in periods:
        for folder in _snapshots(s):
            if _due(_SNAPSHOT.match(folder.name).group(1), periods["report_snapshot"], as_of):
                if not dry_run:
                    shutil.rmtree(folder)
                    audit.record(s, "disposal", record_type="report_snapshot", snapshot=folder.name, by=by)
                report.disposed.append(f"report_snapshot: {folder.name}")
    if not dry_run and report.disposed:
        _vacuum(db.db_path(s))
    return report


# -- a records request ----------------------------------------------------------------


def export(s: Settings, learner: str, dest: Path) -> Path:
    """Everything held about one learner, as one zip file (0600) for a records request: their
    roster entry, due-date extensions, grades, acknowledgements, certificates, reminders sent,
    the audit lines under their pseudonym, and every file of their work."""
    from autograde.course import nbgrader_api as course

    data = roster.load(s)
    if learner not in data.learners:
        raise RetentionError(f"'{learner}' is not on the roster ({s.roster_path}); nothing to export")
    record: dict = {"exported_at": _now(), "learner": asdict(data.learners[learner]),
                    "extensions": [asdict(e) for k, e in sorted(data.extensions.items()) if k[0] == learner]}
    grades = []
    with course.gradebook(s) as gb:
        for sub in gb.find_student(learner).submissions if learner in {st.id for st in gb.students} else []:
            grades.append({"assignment": sub.assignment.name, "score": sub.score, "max_score": sub.max_score,
                           "timestamp": sub.timestamp.isoformat() if sub.timestamp else None})
    record["grades"] = grades
    con = db.connect(s)
    try:
        for table, column in (("acknowledgements", "learner"), ("certificates", "learner"),
                              ("reminders_sent", "employee_id"), ("calibration_samples", "student")):
            record[table] = [dict(r) for r in con.execute(f"SELECT * FROM {table} WHERE {column} = ?", (learner,))]
    finally:
        con.close()
    pseudonym = audit.pseudonym(s, learner)
    log = audit.log_path(s)
    record["audit_pseudonym"] = pseudonym
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if pseudonym in line] if log.exists() else []
    dest = Path(dest)
    private_dir(dest.parent)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.unlink(missing_ok=True)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("record.json", json.dumps(record, indent=1, ensure_ascii=False, default=str) + "\n")
        z.writestr("audit-lines.jsonl", "\n".join(lines) + ("\n" if lines else ""))
        for path in work_paths(s, learner):
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                z.write(f, "work/" + str(f.relative_to(s.state_dir)))
    tmp.chmod(0o600)
    tmp.replace(dest)
    return dest
