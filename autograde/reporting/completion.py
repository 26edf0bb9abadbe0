"""Cohort completion for HR: one row per learner × assigned module, checked by a schema.

Inputs: the roster and cohort plans (``roster.json``), the module catalog
(``release/``), the gradebook (read in two queries, whatever its size) and the
submissions not yet autograded (the exchange's inbound folder and the course's
``submitted/`` folder). :func:`build_table` turns them into the table; it is a
pure function of DataFrames, which the benchmark drives with synthetic data.

Definitions (also printed in the HR report):

* status, one of :data:`STATUSES`:
  ``complete`` autograded, nothing left to grade; ``awaiting reflection
  grading`` autograded, a trainer has reflections to score; ``submitted``
  submitted but not yet autograded; ``overdue`` not submitted and the due date
  is before the as-of date; ``not started`` not submitted, not yet overdue.
* late: the (latest) submission was made after the due date, city clock.
* at risk: not submitted, due within the next :data:`AT_RISK_DAYS` days
  (as-of date included).
* autograded score: role-plays and questions; manual score: reflections as
  scored so far; score: their sum; percent: score / max_score × 100.
* ``as_of`` only judges due dates (overdue, at risk); scores are the gradebook's now.

No reflection text and no answer is read: only scores and timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from nbgrader.api import (
    Assignment,
    Grade,
    GradeCell,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from nbgrader.utils import parse_utc
from sqlalchemy import case, func, select

from autograde import roster
from autograde.catalog import module_catalog
from autograde.config import Settings
from autograde.exchange.store import latest_received
from autograde.gradebook import gradebook
from curriculum.errors import HcwhError

STATUSES = ("not started", "submitted", "awaiting reflection grading", "complete", "overdue")
STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))
AT_RISK_DAYS = 7


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # string | date | datetime | float | bool | status
    nullable: bool
    description: str


SCHEMA: tuple[Column, ...] = (
    Column("employee_id", "string", False, "employee id, also the nbgrader student id"),
    Column("name", "string", False, "first and last name"),
    Column("department", "string", False, "department, from the roster"),
    Column("cohort", "string", False, "training cohort, from the roster"),
    Column("module", "string", False, "module id, e.g. 01-authenticity"),
    Column("standard", "string", False, "the standard the module teaches"),
    Column("assigned", "date", True, "date the module opens for the cohort (cohorts file)"),
    Column("due", "date", False, "due date for the cohort (cohorts file)"),
    Column("submitted_at", "datetime", True, "latest submission, city clock"),
    Column("status", "status", False, "one of: " + ", ".join(STATUSES)),
    Column("autograded_score", "float", True, "points from role-plays and questions"),
    Column("manual_score", "float", True, "points from reflections, as scored so far"),
    Column("score", "float", True, "autograded_score + manual_score"),
    Column("max_score", "float", False, "points the module is worth"),
    Column("percent", "float", True, "score / max_score × 100"),
    Column("late", "bool", False, "submitted after the due date"),
)
COLUMNS = [c.name for c in SCHEMA]


class UnknownCohort(HcwhError, ValueError):
    pass


class SchemaError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the completion table breaks its schema:\n" + "\n".join(f"  - {p}" for p in problems))


def _kind_ok(series: pd.Series, kind: str) -> bool:
    dtype = series.dtype
    if kind == "string":
        return isinstance(dtype, pd.StringDtype)
    if kind in ("date", "datetime"):
        if not pd.api.types.is_datetime64_dtype(dtype) or isinstance(dtype, pd.DatetimeTZDtype):
            return False
        return kind == "datetime" or bool((series.dropna() == series.dropna().dt.normalize()).all())
    if kind == "float":
        return pd.api.types.is_float_dtype(dtype)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
    if kind == "status":
        return isinstance(dtype, pd.CategoricalDtype) and list(dtype.categories) == list(STATUSES)
    raise ValueError(kind)


def validate(table: pd.DataFrame) -> pd.DataFrame:
    """Check columns (names and order), dtypes, nulls and status values; raise
    :class:`SchemaError` listing every problem. Returns the table unchanged."""
    problems = []
    if list(table.columns) != COLUMNS:
        missing = [c for c in COLUMNS if c not in table.columns]
        extra = [c for c in table.columns if c not in COLUMNS]
        problems.append(f"columns are {list(table.columns)}; expected {COLUMNS}"
                        + (f" (missing {missing})" if missing else "") + (f" (unexpected {extra})" if extra else ""))
    for col in SCHEMA:
        if col.name not in table.columns:
            continue
        series = table[col.name]
        if col.kind == "status" and not _kind_ok(series, "status"):
            bad = sorted({str(v) for v in series.dropna().unique()} - set(STATUSES))
            problems.append(f"column 'status' must be categorical over {list(STATUSES)} (dtype {series.dtype}"
                            + (f"; values not allowed: {bad}" if bad else "") + ")")
        elif not _kind_ok(series, col.kind):
            problems.append(f"column '{col.name}' has dtype {series.dtype}; expected {col.kind}")
        if not col.nullable and series.isna().any():
            problems.append(f"column '{col.name}' has {int(series.isna().sum())} empty value(s); it may not")
    if problems:
        raise SchemaError(problems)
    return table


# -- reading the inputs -------------------------------------------------------------


def _local(utc_naive: pd.Series, tz: str) -> pd.Series:
    """Naive UTC timestamps -> naive timestamps on the city's clock."""
    s = pd.to_datetime(utc_naive)
    return s.dt.tz_localize("UTC").dt.tz_convert(ZoneInfo(tz)).dt.tz_localize(None)


def graded_cells(*columns):
    """``select(*columns)`` over every grade of every submitted notebook, joined to its cell,
    submission, module and learner: the one join both reports query."""
    return (
        select(*columns)
        .select_from(Grade)
        .join(GradeCell, GradeCell.id == Grade.cell_id)
        .join(SubmittedNotebook, SubmittedNotebook.id == Grade.notebook_id)
        .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
        .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
        .join(Student, Student.id == SubmittedAssignment.student_id)
    )


def read_gradebook(s: Settings) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every autograded submission's scores, in one grouped query, and each module's
    maximum, in another. Columns: employee_id, module, submitted_at (city clock),
    autograded_score, manual_score, graded_max, needs_manual_grade."""
    with gradebook(s) as gb:
        per_type = (
            graded_cells(
                Student.id.label("employee_id"),
                Assignment.name.label("module"),
                SubmittedAssignment.timestamp.label("timestamp"),
                GradeCell.cell_type.label("cell_type"),
                func.sum(Grade.score).label("score"),
                func.sum(GradeCell.max_score).label("max_score"),
                func.max(case((Grade.needs_manual_grade, 1), else_=0)).label("needs_manual"),
            )
            .group_by(SubmittedAssignment.id, Student.id, Assignment.name, SubmittedAssignment.timestamp, GradeCell.cell_type)
        )
        rows = gb.db.execute(per_type).all()
        maxima = {name: float(m) for name, m in gb.db.execute(select(Assignment.name, Assignment.max_score)).all()}
    raw = pd.DataFrame(rows, columns=["employee_id", "module", "timestamp", "cell_type", "score", "max_score", "needs_manual"])
    return graded_frame(raw, s.timezone), maxima


def graded_frame(raw: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Per (learner, module, cell type) sums -> one row per submission. Code cells are
    the autograded tests; markdown grade cells are the reflections."""
    cols = ["employee_id", "module", "submitted_at", "autograded_score", "manual_score", "graded_max", "needs_manual_grade"]
    if raw.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(cols, ["str", "str", "datetime64[us]", "float", "float", "float", "bool"])})
    raw = raw.assign(score=raw["score"].astype(float), max_score=raw["max_score"].astype(float))
    # nbgrader keeps one submission per learner and module. Its timestamp may be NULL (a submission
    # placed in submitted/ without timestamp.txt): never a grouping key, since pandas drops NaN keys.
    keys = ["employee_id", "module"]
    wide = raw.pivot_table(index=keys, columns="cell_type", values="score", aggfunc="sum", fill_value=0.0)
    out = pd.DataFrame({
        "autograded_score": wide.get("code", pd.Series(0.0, index=wide.index)).astype(float),
        "manual_score": wide.get("markdown", pd.Series(0.0, index=wide.index)).astype(float),
    })
    per_sub = raw.groupby(keys).agg(graded_max=("max_score", "sum"), needs_manual_grade=("needs_manual", "max"),
                                    timestamp=("timestamp", "max"))
    out = out.join(per_sub).reset_index()
    out["needs_manual_grade"] = out["needs_manual_grade"].astype(bool)
    out["submitted_at"] = _local(out.pop("timestamp"), tz)
    return out[cols]


def read_pending(s: Settings) -> pd.DataFrame:
    """Submissions not necessarily autograded yet: collected (``submitted/``) and
    waiting in the exchange (the shared folder's ``inbound/``, or the hub exchange's receipts:
    the server's clock); the newest per learner and module,
    city clock. Columns: employee_id, module, submitted_at."""
    found: dict[tuple[str, str], datetime] = {}

    def note(sid: str, module: str, stamp: str) -> None:
        try:
            when = parse_utc(stamp.strip())
        except (ValueError, OverflowError):
            return  # an unreadable stamp is nbgrader's to report at collect
        if when is not None and ((sid, module) not in found or when > found[sid, module]):
            found[sid, module] = when

    for path in (s.course_dir / "submitted").glob("*/*/timestamp.txt"):
        note(path.parent.parent.name, path.parent.name, path.read_text(encoding="utf-8"))
    for (sid, module), stamp in latest_received(s).items():  # waiting in the hub exchange
        note(sid, module, stamp)
    inbound = s.exchange_dir / s.course_id / "inbound"
    if inbound.is_dir():
        for entry in inbound.iterdir():
            parts = entry.name.split("+")
            if len(parts) >= 3:
                note(parts[0], parts[1], parts[2])
    frame = pd.DataFrame(
        [(sid, m, when.replace(tzinfo=None)) for (sid, m), when in sorted(found.items())],
        columns=["employee_id", "module", "submitted_at"],
    )
    frame["submitted_at"] = _local(frame["submitted_at"].astype("datetime64[us]"), s.timezone)
    return frame.astype({"employee_id": "str", "module": "str"})


def roster_frames(data: roster.RosterData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(learners: employee_id, name, department, cohort; plan: cohort, module, assigned, due)."""
    learners = pd.DataFrame(
        [(l.employee_id, l.name, l.department, l.cohort) for l in data.learners.values()],
        columns=["employee_id", "name", "department", "cohort"],
    )
    plan = pd.DataFrame(
        [(p.cohort, p.module, p.assigned, p.due_date) for mods in data.plans.values() for p in mods.values()],
        columns=["cohort", "module", "assigned", "due"],
    )
    return learners, plan


def due_overrides(data: roster.RosterData) -> pd.DataFrame:
    """(employee_id, module, due) where a learner's due date is not their cohort's: an extension
    or a department's rule (``RosterData.due``, the one rule of precedence)."""
    rows = []
    for eid, learner in data.learners.items():
        for module in data.plans.get(learner.cohort, {}):
            due = data.due(eid, module)
            if due.source != "cohort":
                rows.append((eid, module, due.date))
    return pd.DataFrame(rows, columns=["employee_id", "module", "due"]).astype({"employee_id": "str", "module": "str"})


# -- the table ------------------------------------------------------------------------


def build_table(learners: pd.DataFrame, plan: pd.DataFrame, modules: pd.DataFrame,
                graded: pd.DataFrame, pending: pd.DataFrame, as_of: date,
                overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """The completion table from its inputs (see the module docstring). Pure.

    learners: employee_id, name, department, cohort
    plan:     cohort, module, assigned (ISO date or None), due (ISO date)
    modules:  module, standard, max_score
    graded:   employee_id, module, submitted_at, autograded_score, manual_score, graded_max, needs_manual_grade
    pending:  employee_id, module, submitted_at
    overrides: employee_id, module, due: one learner's own due date (``due_overrides``), or None
    """
    rows = learners.merge(plan, on="cohort", how="inner")
    if overrides is not None and len(overrides):
        mine = rows[["employee_id", "module"]].merge(overrides, on=["employee_id", "module"], how="left")["due"]
        rows["due"] = mine.where(mine.notna(), rows["due"]).to_numpy()
    rows = rows.merge(modules, on="module", how="left")
    rows = rows.merge(graded, on=["employee_id", "module"], how="left")
    rows = rows.merge(pending.rename(columns={"submitted_at": "pending_at"}), on=["employee_id", "module"], how="left")

    is_graded = rows["autograded_score"].notna().to_numpy()
    needs_manual = rows["needs_manual_grade"].fillna(False).astype(bool).to_numpy()
    due = pd.to_datetime(rows["due"]).astype("datetime64[us]")
    submitted_at = rows["submitted_at"].where(is_graded, rows["pending_at"]).astype("datetime64[us]")
    has_submission = submitted_at.notna().to_numpy()
    as_of_ts = pd.Timestamp(as_of)
    status = np.select(
        [is_graded & needs_manual, is_graded, has_submission, (due < as_of_ts).to_numpy()],
        ["awaiting reflection grading", "complete", "submitted", "overdue"],
        default="not started",
    )
    autograded = rows["autograded_score"].astype(float)
    manual = rows["manual_score"].astype(float)
    score = autograded + manual
    max_score = rows["graded_max"].astype(float).fillna(rows["max_score"].astype(float))
    out = pd.DataFrame({
        "employee_id": rows["employee_id"],
        "name": rows["name"],
        "department": rows["department"],
        "cohort": rows["cohort"],
        "module": rows["module"],
        "standard": rows["standard"].fillna("(unknown)"),
        "assigned": pd.to_datetime(rows["assigned"]).astype("datetime64[us]"),
        "due": due,
        "submitted_at": submitted_at,
        "status": pd.Categorical(status, dtype=STATUS_DTYPE),
        "autograded_score": autograded,
        "manual_score": manual,
        "score": score,
        "max_score": max_score,
        "percent": (score / max_score * 100).where(max_score > 0),
        "late": (submitted_at.dt.normalize() > due).fillna(False).astype(bool),
    })
    for col in ("employee_id", "name", "department", "cohort", "module", "standard"):
        out[col] = out[col].astype("str")
    out = out.sort_values(["cohort", "name", "employee_id", "module"], kind="stable", ignore_index=True)
    return validate(out)


def today(s: Settings) -> date:
    return datetime.now(ZoneInfo(s.timezone)).date()


def completion_table(s: Settings, as_of: date | None = None, cohort: str | None = None) -> pd.DataFrame:
    """The validated completion table for every learner in the roster (or one cohort)."""
    data = roster.load(s)
    if cohort is not None and cohort not in data.plans:
        known = ", ".join(sorted(data.plans)) or "none imported"
        raise UnknownCohort(f"unknown cohort '{cohort}' (known: {known})")
    learners, plan = roster_frames(data)
    if cohort is not None:
        learners = learners[learners["cohort"] == cohort]
        plan = plan[plan["cohort"] == cohort]
    catalog = module_catalog(s)
    graded, maxima = read_gradebook(s)
    modules = pd.DataFrame(
        [(m.id, m.standard, maxima.get(m.id, m.points)) for m in catalog.values()]
        + [(name, "(unknown)", top) for name, top in maxima.items() if name not in catalog],  # recorded, no longer built
        columns=["module", "standard", "max_score"],
    )
    return build_table(learners, plan, modules, graded, read_pending(s), as_of or today(s), due_overrides(data))


# -- totals and lists -----------------------------------------------------------------

GROUPS = {
    "learner": ["employee_id", "name", "department", "cohort"],
    "module": ["module", "standard"],
    "standard": ["standard"],
    "cohort": ["cohort"],
    "department": ["department"],
}
COUNTS = {status: status.replace(" ", "_") for status in STATUSES}


def totals(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Counts per status, completion and mean score, per learner / module / standard / cohort / department.

    assignments: learner × module pairs; completion_percent: complete / assignments;
    mean_percent: the mean percent of the complete ones (empty if none is complete)."""
    keys = GROUPS[by]
    extra = [] if "employee_id" in keys else ["employee_id"]
    flags = table[keys + extra + ["late", "percent"]].copy()
    for status, col in COUNTS.items():
        flags[col] = (table["status"] == status).to_numpy()
    aggs = {} if by == "learner" else {"learners": ("employee_id", "nunique")}
    aggs |= {"assignments": ("late", "size"), **{col: (col, "sum") for col in COUNTS.values()}, "late": ("late", "sum")}
    out = flags.groupby(keys, sort=True, observed=True).agg(**aggs)
    out["completion_percent"] = out["complete"] / out["assignments"] * 100
    complete = flags[flags["complete"]]
    out["mean_percent"] = complete.groupby(keys, sort=True, observed=True)["percent"].mean()
    out = out.reset_index()
    count_cols = ["learners", "assignments", *COUNTS.values(), "late"]
    return out.astype({c: "int64" for c in count_cols if c in out.columns})


MIN_GROUP = 5  # HR sees no group figure for fewer learners than this (plan review H4)
SUPPRESSED = ("completion_percent", "mean_percent")


def suppress_small(totals_frame: pd.DataFrame, min_learners: int = MIN_GROUP) -> pd.DataFrame:
    """A copy of a cohort or department ``totals`` frame in which every group of fewer than
    ``min_learners`` learners has its completion and mean score blanked, with ``suppressed``
    True: with two learners, a group's mean is nearly a person's score. Counts stay (HR already
    sees each learner's status)."""
    out = totals_frame.copy()
    small = (out["learners"] < min_learners).to_numpy()
    for col in SUPPRESSED:
        out[col] = out[col].astype(float).where(~small)
    out["suppressed"] = small
    return out


def overdue(table: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Not submitted and past due, most overdue first."""
    rows = table[table["status"] == "overdue"]
    out = rows[["employee_id", "name", "department", "cohort", "module", "due"]].copy()
    out["days_overdue"] = (pd.Timestamp(as_of) - rows["due"]).dt.days.astype("int64")
    return out.sort_values(["days_overdue", "cohort", "name", "module"], ascending=[False, True, True, True],
                           kind="stable", ignore_index=True)


def at_risk(table: pd.DataFrame, as_of: date, days: int = AT_RISK_DAYS) -> pd.DataFrame:
    """Not submitted and due within ``days`` days from ``as_of`` (inclusive), soonest first."""
    start = pd.Timestamp(as_of)
    rows = table[(table["status"] == "not started") & (table["due"] >= start) & (table["due"] <= start + timedelta(days=days))]
    out = rows[["employee_id", "name", "department", "cohort", "module", "due"]].copy()
    out["days_left"] = (rows["due"] - start).dt.days.astype("int64")
    return out.sort_values(["days_left", "cohort", "name", "module"], kind="stable", ignore_index=True)
