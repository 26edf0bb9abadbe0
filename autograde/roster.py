"""The roster (who is in training, in which cohort) and the cohorts' plans (which
module is due when).

Two CSV files, each imported whole or not at all:

* roster: ``employee_id,first_name,last_name,email,department,hire_date,cohort`` and,
  optionally, ``manager_email`` (copied on reminders), ``status`` (active or separated) and
  ``separation_date`` (with separated: starts the retention clock), one learner per row. The employee id is
  the learner's nbgrader student id.
* cohorts: ``cohort,module,due_date`` and, optionally, ``assigned``: one row per
  module a cohort must complete (dates ``YYYY-MM-DD``; a module is due by the
  end of ``due_date`` on the city's clock). A cohort named in the file gets
  exactly the plan the file gives it; cohorts not named are left alone.
* due-date rules: ``department,module,days_after_hire``: a learner of that department is due
  that many days after their hire date, instead of their cohort's date. The file is the whole
  set of rules: importing it replaces the rules before.

A module's due date for one learner (``RosterData.due``), in this order of precedence: an
extension granted to that learner (``add_extension``: a date, a reason and an approver), else a
department's rule, else the cohort's date. Only what the cohort plan assigns is due at all.

Any bad row rejects the whole file, with every problem named by line and field.
A good file updates nbgrader's students (``Gradebook.update_or_create_student``)
and this project's store, ``<state>/roster.json`` (mode 0600: it names real
people). Importing the same file again changes nothing; a changed file changes
only what differs, and the report says what.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from autograde.config import Settings
from autograde.private import replace_private
from curriculum.errors import HcwhError

ROSTER_COLUMNS = ("employee_id", "first_name", "last_name", "email", "department", "hire_date", "cohort")
ROSTER_OPTIONAL = ("manager_email", "status", "separation_date")
STATUSES = ("active", "separated")  # separated: left the city's employment; starts the retention clock
RULE_COLUMNS = ("department", "module", "days_after_hire")
MAX_RULE_DAYS = 3660  # ten years: a larger figure is a typing mistake
COHORT_COLUMNS = ("cohort", "module", "due_date")
COHORT_OPTIONAL = ("assigned",)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # also safe as a folder name and nbgrader id
_COHORT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_TEXT = 128  # nbgrader's Student columns are String(128)


@dataclass(frozen=True)
class Learner:
    employee_id: str
    first_name: str
    last_name: str
    email: str
    department: str
    hire_date: str  # ISO date
    cohort: str
    manager_email: str = ""  # optional: copied on reminders
    status: str = ""  # "active", "separated", or "" when no file has said (active)
    separation_date: str = ""  # ISO date, with status "separated": starts the retention clock

    @property
    def separated(self) -> bool:
        return self.status == "separated"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class PlannedModule:
    cohort: str
    module: str
    due_date: str  # ISO date
    assigned: str | None = None  # ISO date, or None when the file gives none


@dataclass(frozen=True)
class DueRule:
    department: str
    module: str
    days_after_hire: int


@dataclass(frozen=True)
class Extension:
    employee_id: str
    module: str
    until: str  # ISO date: the new due date
    reason: str
    approved_by: str
    recorded_by: str
    recorded_at: str  # UTC, ISO 8601


@dataclass(frozen=True)
class Due:
    """A module's due date for one learner, and where it comes from."""

    date: str  # ISO date
    source: str  # "extension", "rule" or "cohort"
    cohort_date: str  # the cohort's own date, for the record


@dataclass
class RosterData:
    learners: dict[str, Learner] = field(default_factory=dict)
    plans: dict[str, dict[str, PlannedModule]] = field(default_factory=dict)  # cohort -> module -> plan
    rules: dict[tuple[str, str], DueRule] = field(default_factory=dict)  # (department, module) -> rule
    extensions: dict[tuple[str, str], Extension] = field(default_factory=dict)  # (employee id, module) -> latest

    def due(self, employee_id: str, module: str) -> Due | None:
        """The learner's due date for ``module`` (extension over rule over cohort date), or None
        when their cohort's plan does not assign it. The one definition every reader uses."""
        learner = self.learners.get(employee_id)
        plan = self.plans.get(learner.cohort, {}).get(module) if learner else None
        if plan is None:
            return None
        extension = self.extensions.get((employee_id, module))
        if extension is not None:
            return Due(extension.until, "extension", plan.due_date)
        rule = self.rules.get((learner.department, module))
        if rule is not None:
            when = date.fromisoformat(learner.hire_date) + timedelta(days=rule.days_after_hire)
            return Due(when.isoformat(), "rule", plan.due_date)
        return Due(plan.due_date, "cohort", plan.due_date)


class RosterError(HcwhError, ValueError):
    """A file that cannot be imported. ``problems`` holds (line, field, message)."""

    def __init__(self, path: Path | str, problems: list[tuple[int | None, str | None, str]]):
        self.path = str(path)
        self.problems = problems
        lines = [f"{self.path}: {len(problems)} problem(s); nothing was imported"]
        for line, fld, message in problems:
            where = ", ".join(x for x in (f"line {line}" if line else None, f"field '{fld}'" if fld else None) if x)
            lines.append(f"  - {where}: {message}" if where else f"  - {message}")
        super().__init__("\n".join(lines))


@dataclass
class ImportReport:
    """What an import changed. ``updated`` maps each changed key to its changed fields."""

    what: str  # "learner" or "cohort module"
    added: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    kept: int = 0  # in the store but not in this file, left as they were
    gradebook_restored: list[str] = field(default_factory=list)  # unchanged here, missing there

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated"]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        parts.append(f"{self.unchanged} unchanged")
        return ", ".join(parts)

    def lines(self) -> list[str]:
        out = [self.summary()]
        out += [f"  added {self.what} {key}" for key in self.added]
        out += [f"  updated {self.what} {key}: {', '.join(fields)}" for key, fields in self.updated.items()]
        out += [f"  removed {self.what} {key}" for key in self.removed]
        if self.kept:
            out.append(f"  {self.kept} {self.what}(s) already in the store but not in this file were kept")
        if self.gradebook_restored:
            out.append(f"  gradebook: {len(self.gradebook_restored)} missing student record(s) restored: "
                       f"{', '.join(self.gradebook_restored)}")
        return out


# -- the store -----------------------------------------------------------------


class RosterStore:
    """``roster.json``: learners and cohort plans. Written atomically, mode 0600."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> RosterData:
        if not self.path.exists():
            return RosterData()
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        rules = [DueRule(**r) for r in raw.get("rules", [])]
        extensions = [Extension(**e) for e in raw.get("extensions", [])]
        return RosterData(
            learners={k: Learner(**v) for k, v in raw.get("learners", {}).items()},
            plans={c: {m: PlannedModule(**p) for m, p in mods.items()} for c, mods in raw.get("plans", {}).items()},
            rules={(r.department, r.module): r for r in rules},
            extensions={(e.employee_id, e.module): e for e in extensions},
        )

    def save(self, data: RosterData) -> None:
        raw = {
            "version": 1,
            "learners": {k: asdict(v) for k, v in sorted(data.learners.items())},
            "plans": {c: {m: asdict(p) for m, p in sorted(mods.items())} for c, mods in sorted(data.plans.items())},
            "rules": [asdict(r) for _, r in sorted(data.rules.items())],
            "extensions": [asdict(e) for _, e in sorted(data.extensions.items())],
        }
        replace_private(self.path, json.dumps(raw, indent=1, ensure_ascii=False) + "\n")


def load(s: Settings) -> RosterData:
    return RosterStore(s.roster_path).load()


# -- reading a CSV file ----------------------------------------------------------


Problems = list[tuple[int | None, str | None, str]]


def _read_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> tuple[list[tuple[int, dict[str, str]]], Problems]:
    """(first line of the row, {column: stripped value}) for each well-formed,
    non-blank row, and the problems of the others (a wrong number of fields).
    Raises RosterError at once when the file itself cannot be read as rows."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM from Excel is fine
    except UnicodeDecodeError as exc:
        raise RosterError(path, [(None, None, f"is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8")]) from None
    except OSError as exc:
        raise RosterError(path, [(None, None, f"cannot be read: {exc.strerror}")]) from None
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        raise RosterError(path, [(None, None, f"is empty; expected a header line: {','.join(required)}")]) from None
    except csv.Error as exc:
        raise RosterError(path, [(1, None, f"is not valid CSV: {exc}")]) from None
    names = [h.strip().lower() for h in header]
    problems: Problems = []
    missing = [c for c in required if c not in names]
    if missing:
        problems.append((1, None, f"the header lacks column(s) {', '.join(missing)}; expected {','.join(required)}"))
    unknown = [n for n in names if n not in required + optional]
    if unknown:
        problems.append((1, None, f"unknown column(s) {', '.join(repr(n) for n in unknown)}; expected {','.join(required + optional)}"))
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        problems.append((1, None, f"column(s) {', '.join(doubled)} appear more than once"))
    if problems:
        raise RosterError(path, problems)
    rows: list[tuple[int, dict[str, str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append((start, None, f"is not valid CSV: {exc}"))
            break
        if not any(v.strip() for v in values):
            continue  # blank line
        if len(values) != len(names):
            problems.append((start, None, f"has {len(values)} field(s); the header has {len(names)}"))
            continue
        rows.append((start, {n: v.strip() for n, v in zip(names, values)}))
    if not rows and not problems:
        raise RosterError(path, [(None, None, "has a header but no rows")])
    return rows, problems


def _check_date(value: str) -> str | None:
    """None if ``value`` is a real ISO date, else the message."""
    if not _DATE.match(value):
        return f"'{value}' is not a date written YYYY-MM-DD"
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"'{value}' is not a real date"
    return None


def parse_roster(path: Path, known_cohorts: set[str]) -> list[Learner]:
    """Every row as a Learner, or RosterError naming every bad row and field."""
    rows, problems = _read_rows(path, ROSTER_COLUMNS, ROSTER_OPTIONAL)
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, tuple[int, str]] = {}
    learners: list[Learner] = []
    for line, row in rows:
        bad = False
        for col in ROSTER_COLUMNS:
            if not row[col]:
                problems.append((line, col, "is missing"))
                bad = True
            elif len(row[col]) > MAX_TEXT:
                problems.append((line, col, f"is longer than {MAX_TEXT} characters"))
                bad = True
            elif any(ord(ch) < 32 or ord(ch) == 127 for ch in row[col]):
                problems.append((line, col, "contains a control character (a line break or tab inside the value?)"))
                bad = True
        if bad:
            continue
        eid, email, cohort = row["employee_id"], row["email"], row["cohort"]
        if not _ID.match(eid):
            problems.append((line, "employee_id", f"'{eid}' is not a valid id (letters, digits, '.', '_', '-'; "
                                                  "at most 64; starting with a letter or digit)"))
        elif eid in seen_ids:
            problems.append((line, "employee_id", f"duplicate id '{eid}' (also on line {seen_ids[eid]})"))
        seen_ids.setdefault(eid, line)
        if not _EMAIL.match(email):
            problems.append((line, "email", f"'{email}' is not an email address"))
        elif email.lower() in seen_emails and seen_emails[email.lower()][1] != eid:
            other_line, other_id = seen_emails[email.lower()]
            problems.append((line, "email", f"'{email}' is also the email of '{other_id}' (line {other_line})"))
        seen_emails.setdefault(email.lower(), (line, eid))
        manager = row.get("manager_email", "")
        if manager and (not _EMAIL.match(manager) or len(manager) > MAX_TEXT
                        or any(ord(ch) < 32 or ord(ch) == 127 for ch in manager)):
            problems.append((line, "manager_email", f"'{manager}' is not an email address"))
        elif manager and manager.lower() == email.lower():
            problems.append((line, "manager_email", "is the learner's own email"))
        message = _check_date(row["hire_date"])
        if message:
            problems.append((line, "hire_date", message))
        status, left = row.get("status", "").lower(), row.get("separation_date", "")
        if status and status not in STATUSES:
            problems.append((line, "status", f"'{row['status']}' is not one of {', '.join(STATUSES)}"))
        elif status == "separated" and not left:
            problems.append((line, "separation_date", "is missing: a separated learner needs the date they left"))
        elif left and status != "separated":
            problems.append((line, "separation_date", "is given but status is not 'separated'"))
        elif left and _check_date(left):
            problems.append((line, "separation_date", _check_date(left)))
        elif left and not message and left < row["hire_date"]:
            problems.append((line, "separation_date", f"{left} is before the hire date {row['hire_date']}"))
        if cohort not in known_cohorts:
            known = ", ".join(sorted(known_cohorts)) or "none yet"
            problems.append((line, "cohort", f"unknown cohort '{cohort}' (known: {known}; import the cohorts file first)"))
        learners.append(Learner(**{c: row[c] for c in ROSTER_COLUMNS}, manager_email=manager, status=status,
                                separation_date=left))
    if problems:
        raise RosterError(path, sorted(problems, key=lambda p: p[0] or 0))
    return learners


def parse_cohorts(path: Path, known_modules: set[str]) -> list[PlannedModule]:
    rows, problems = _read_rows(path, COHORT_COLUMNS, COHORT_OPTIONAL)
    seen: dict[tuple[str, str], int] = {}
    plans: list[PlannedModule] = []
    for line, row in rows:
        bad = False
        for col in COHORT_COLUMNS:
            if not row[col]:
                problems.append((line, col, "is missing"))
                bad = True
        if bad:
            continue
        cohort, module, due = row["cohort"], row["module"], row["due_date"]
        assigned = row.get("assigned") or None
        if not _COHORT.match(cohort):
            problems.append((line, "cohort", f"'{cohort}' is not a valid cohort name (letters, digits, space, "
                                             "'.', '_', '-'; at most 64)"))
        if module not in known_modules:
            known = ", ".join(sorted(known_modules)) or "none built yet"
            problems.append((line, "module", f"unknown module '{module}' (known: {known})"))
        if (cohort, module) in seen:
            problems.append((line, "module", f"'{module}' is planned twice for cohort '{cohort}' (also on line {seen[cohort, module]})"))
        seen.setdefault((cohort, module), line)
        for col, value in (("due_date", due), ("assigned", assigned)):
            message = _check_date(value) if value else None
            if message:
                problems.append((line, col, message))
        if assigned and not _check_date(assigned) and not _check_date(due) and assigned > due:
            problems.append((line, "assigned", f"{assigned} is after the due date {due}"))
        plans.append(PlannedModule(cohort=cohort, module=module, due_date=due, assigned=assigned))
    if problems:
        raise RosterError(path, sorted(problems, key=lambda p: p[0] or 0))
    return plans


def parse_rules(path: Path, known_modules: set[str]) -> list[DueRule]:
    """Every row as a DueRule, or RosterError naming every bad row and field."""
    rows, problems = _read_rows(path, RULE_COLUMNS)
    seen: dict[tuple[str, str], int] = {}
    rules: list[DueRule] = []
    for line, row in rows:
        missing = [c for c in RULE_COLUMNS if not row[c]]
        problems += [(line, c, "is missing") for c in missing]
        if missing:
            continue
        department, module, days = row["department"], row["module"], row["days_after_hire"]
        if len(department) > MAX_TEXT or any(ord(ch) < 32 or ord(ch) == 127 for ch in department):
            problems.append((line, "department", "is longer than 128 characters or holds a control character"))
        if module not in known_modules:
            known = ", ".join(sorted(known_modules)) or "none built yet"
            problems.append((line, "module", f"unknown module '{module}' (known: {known})"))
        if not days.isdigit() or not 0 < int(days) <= MAX_RULE_DAYS:
            problems.append((line, "days_after_hire", f"'{days}' is not a whole number of days from 1 to {MAX_RULE_DAYS}"))
        if (department, module) in seen:
            problems.append((line, "module", f"'{module}' has a second rule for department '{department}' "
                                             f"(also on line {seen[department, module]})"))
        seen.setdefault((department, module), line)
        if days.isdigit():
            rules.append(DueRule(department, module, int(days)))
    if problems:
        raise RosterError(path, sorted(problems, key=lambda p: p[0] or 0))
    return rules


# -- importing -------------------------------------------------------------------


def _changed_fields(old, new) -> list[str]:
    a, b = asdict(old), asdict(new)
    return [k for k in b if a.get(k) != b[k]]


def import_cohorts(s: Settings, path: Path) -> ImportReport:
    """Import a cohorts file (see the module docstring). Nothing changes on any error."""
    from autograde.catalog import module_catalog

    plans = parse_cohorts(Path(path), set(module_catalog(s)))
    store = RosterStore(s.roster_path)
    data = store.load()
    report = ImportReport(what="cohort module")
    named = {p.cohort for p in plans}
    report.kept = sum(len(mods) for c, mods in data.plans.items() if c not in named)
    for cohort in sorted(named):
        old = data.plans.get(cohort, {})
        new = {p.module: p for p in plans if p.cohort == cohort}
        for module, plan in new.items():
            key = f"{cohort}/{module}"
            if module not in old:
                report.added.append(key)
            elif old[module] != plan:
                report.updated[key] = _changed_fields(old[module], plan)
            else:
                report.unchanged += 1
        report.removed += [f"{cohort}/{m}" for m in old if m not in new]
        data.plans[cohort] = new
    if report.changed or not s.roster_path.exists():
        store.save(data)
    return report


def import_roster(s: Settings, path: Path) -> ImportReport:
    """Import a roster file into the store and nbgrader's students. Nothing changes on any error."""
    from autograde.gradebook import gradebook

    store = RosterStore(s.roster_path)
    data = store.load()
    learners = parse_roster(Path(path), set(data.plans))
    report = ImportReport(what="learner")
    in_file = {l.employee_id for l in learners}
    report.kept = sum(1 for eid in data.learners if eid not in in_file)
    for learner in learners:
        old = data.learners.get(learner.employee_id)
        if old is not None and not learner.status:  # the file says nothing of it: keep what was recorded
            learner = replace(learner, status=old.status, separation_date=old.separation_date)
        if old is None:
            report.added.append(learner.employee_id)
        elif old != learner:
            report.updated[learner.employee_id] = _changed_fields(old, learner)
        else:
            report.unchanged += 1
        data.learners[learner.employee_id] = learner
    # nbgrader's students: created or brought up to date, whatever the store says
    # (a gradebook made afresh gets everyone back from the same file).
    s.course_dir.mkdir(parents=True, exist_ok=True)
    with gradebook(s) as gb:
        existing = {st.id: (st.first_name, st.last_name, st.email) for st in gb.students}
        for l in learners:
            if existing.get(l.employee_id) != (l.first_name, l.last_name, l.email):
                gb.update_or_create_student(l.employee_id, first_name=l.first_name, last_name=l.last_name, email=l.email)
                if l.employee_id not in existing and l.employee_id not in report.added:
                    report.gradebook_restored.append(l.employee_id)
    protect_gradebook(s)
    if report.changed or not s.roster_path.exists():
        store.save(data)
    return report


def protect_gradebook(s: Settings) -> None:
    """An SQLite gradebook holds names and emails: keep it 0600 like the roster."""
    if s.db_url is None:
        path = s.course_dir / "gradebook.db"
        if path.exists():
            os.chmod(path, 0o600)


def import_rules(s: Settings, path: Path) -> ImportReport:
    """Replace the due-date rules with the file's (see the module docstring). Nothing changes on any error."""
    from autograde.catalog import module_catalog

    rules = {(r.department, r.module): r for r in parse_rules(Path(path), set(module_catalog(s)))}
    store = RosterStore(s.roster_path)
    data = store.load()
    report = ImportReport(what="due-date rule")
    for key, rule in sorted(rules.items()):
        name = f"{key[0]}/{key[1]}"
        if key not in data.rules:
            report.added.append(name)
        elif data.rules[key] != rule:
            report.updated[name] = _changed_fields(data.rules[key], rule)
        else:
            report.unchanged += 1
    report.removed = [f"{d}/{m}" for d, m in sorted(data.rules) if (d, m) not in rules]
    data.rules = rules
    if report.changed:
        store.save(data)
    return report


class ExtensionRefused(HcwhError, ValueError):
    """An extension that cannot be granted; the message says why."""


def add_extension(s: Settings, employee_id: str, module: str, until: str, reason: str,
                  approved_by: str, recorded_by: str) -> tuple[Extension, Due]:
    """Grant one learner a later due date for one module. Returns the extension and the due
    date it replaces. The latest extension for a learner and module is the one in force."""
    store = RosterStore(s.roster_path)
    data = store.load()
    if employee_id not in data.learners:
        raise ExtensionRefused(f"'{employee_id}' is not on the roster ({s.roster_path})")
    before = data.due(employee_id, module)
    if before is None:
        cohort = data.learners[employee_id].cohort
        raise ExtensionRefused(f"module '{module}' is not assigned to '{employee_id}' (cohort '{cohort}')")
    message = _check_date(until)
    if message:
        raise ExtensionRefused(f"--until: {message}")
    if until <= before.date:
        raise ExtensionRefused(f"--until {until} is not after the learner's due date {before.date} "
                               f"(from the {before.source}); an extension only moves a date later")
    for name, value in (("--reason", reason), ("--approved-by", approved_by)):
        if not value.strip():
            raise ExtensionRefused(f"{name} is required: an extension names why and who approved it")
        if len(value) > 500 or any(ord(ch) < 32 for ch in value):
            raise ExtensionRefused(f"{name} must be one line of at most 500 characters")
    extension = Extension(employee_id, module, until, reason.strip(), approved_by.strip(), recorded_by,
                          datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"))
    data.extensions[employee_id, module] = extension
    store.save(data)
    return extension, before


def mark_separated(s: Settings, employee_id: str, on: date) -> Learner:
    """Record that a learner left on ``on`` (``hcwh roster leave``): the retention clock starts.
    A date already recorded is kept."""
    store = RosterStore(s.roster_path)
    data = store.load()
    learner = data.learners.get(employee_id)
    if learner is None:
        raise RosterError(s.roster_path, [(None, "employee_id", f"'{employee_id}' is not on the roster")])
    if not learner.separated:
        learner = replace(learner, status="separated", separation_date=on.isoformat())
        data.learners[employee_id] = learner
        store.save(data)
    return learner
