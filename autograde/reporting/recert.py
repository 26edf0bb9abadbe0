"""Recertification: who is current, expiring soon, expired, or out of date because the text changed.

Two causes bring a learner back:

* **Time.** HR sets how long a completion stays valid, per module or for the whole programme
  (``set_expiry``: a module's own period over the programme's); a completed module expires that
  many days after the day it was submitted.
* **The text changed.** Each release records the module's version (``record/versions.py``: the
  framework text, module YAML and learner notebook). A learner completed the version in force when
  they submitted (the newest released at or before that moment). When a newer version exists,
  HR reads what changed (``diff``) and decides, per version (``decide``): ``acknowledge`` (the
  learner acknowledges the new text), ``retrain`` (a new versioned assignment, e.g.
  ``01-authenticity-2027``) or ``none`` (an editorial change). Until HR decides, the learner shows as
  *text changed: HR to decide*. The strongest requirement among the newer versions counts
  (retrain over acknowledge over none).

``statuses`` is pure: completion rows, versions, periods, decisions and acknowledgements in, one
row per completed module out. Only completed modules (HR's status ``complete``) are judged here;
the rest are in HR's completion table.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pandas as pd

from autograde.config import Settings
from autograde.errors import HcwhError
from autograde.record import audit, db, versions

PROGRAMME = "*"  # the expiry row that applies to every module without one of its own
REQUIREMENTS = ("retrain", "acknowledge", "none")  # strongest first
SOON_DAYS = 30
DATE_COLUMNS = ("completed_on", "expires_on")  # calendar days
STATUSES = ("current", "expiring soon", "expired", "re-acknowledge: text changed", "retrain: text changed",
            "text changed: HR to decide")
COLUMNS = ["employee_id", "name", "department", "cohort", "module", "completed_on", "completed_version",
           "current_version", "expires_on", "status"]


class RecertError(HcwhError, ValueError):
    """A period, decision or diff that cannot be made; the message says why."""


@dataclass(frozen=True)
class Inputs:
    versions: dict[str, list[tuple[str, datetime]]]  # module -> [(version, released_at UTC)], oldest first
    expiry_days: dict[str, int]  # module or PROGRAMME -> days
    decisions: dict[tuple[str, str], str]  # (module, version) -> requirement
    acknowledged: set[tuple[str, str, str]]  # (learner, module, version)


def version_at(released: list[tuple[str, datetime]], when: datetime) -> str | None:
    before = [v for v, at in released if at <= when]
    return before[-1] if before else (released[0][0] if released else None)


def statuses(table: pd.DataFrame, inputs: Inputs, as_of: date, soon_days: int = SOON_DAYS) -> pd.DataFrame:
    """One row per completed module (see the module docstring). Pure."""
    rows = []
    done = table[table["status"] == "complete"]
    for r in done.itertuples(index=False):
        submitted = r.submitted_at.to_pydatetime().replace(tzinfo=timezone.utc)
        released = inputs.versions.get(r.module, [])
        had = version_at(released, submitted)
        current = released[-1][0] if released else None
        status, expires = "current", None
        days = inputs.expiry_days.get(r.module, inputs.expiry_days.get(PROGRAMME))
        if days is not None:
            expires = submitted.date() + timedelta(days=days)
            if expires < as_of:
                status = "expired"
            elif (expires - as_of).days <= soon_days:
                status = "expiring soon"
        if had is not None and current != had:
            newer = [v for v, _ in released][[v for v, _ in released].index(had) + 1:]
            asked = [inputs.decisions.get((r.module, v)) for v in newer]
            if "retrain" in asked:
                status = "retrain: text changed"
            elif None in asked:
                status = "text changed: HR to decide"
            elif "acknowledge" in asked and (r.employee_id, r.module, current) not in inputs.acknowledged:
                status = "re-acknowledge: text changed"
        rows.append((r.employee_id, r.name, r.department, r.cohort, r.module, submitted.date(), had, current,
                     expires, status))
    out = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("completed_version", "current_version"):
        out[col] = out[col].fillna("").astype("str")
    for col in ("completed_on", "expires_on"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    return out


# -- HR's settings, in the record ------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def set_expiry(s: Settings, scope: str, days: int, by: str) -> None:
    """A completion of ``scope`` (a module id, or PROGRAMME for all) stays valid ``days`` days."""
    if not 0 < days <= 3660:
        raise RecertError(f"{days} days: a validity period is from 1 day to 10 years")
    if scope != PROGRAMME and not versions.released(s, scope):
        raise RecertError(f"module '{scope}' has no released version in the record (hcwh release it first)")
    con = db.connect(s)
    try:
        con.execute("INSERT OR REPLACE INTO recert_expiry (scope, valid_days, set_by, set_at) VALUES (?, ?, ?, ?)",
                    (scope, days, by, _now()))
    finally:
        con.close()
    audit.record(s, "recertification period", scope=scope, valid_days=days, by=by)


def decide(s: Settings, module: str, version: str, requirement: str, by: str, note: str = "") -> str:
    """HR's decision on one newer version; ``version`` may be a unique prefix. Returns the full version."""
    if requirement not in REQUIREMENTS:
        raise RecertError(f"'{requirement}' is not one of {', '.join(REQUIREMENTS)}")
    released = [r["version"] for r in versions.released(s, module)]
    matches = [v for v in released if v.startswith(version)]
    if len(matches) != 1:
        raise RecertError(f"version '{version}' of {module}: {'no' if not matches else 'more than one'} released "
                          f"version matches (released: {', '.join(v[:12] for v in released) or 'none'})")
    if matches[0] == released[0]:
        raise RecertError(f"{matches[0][:12]} is {module}'s first version: nothing changed before it")
    con = db.connect(s)
    try:
        con.execute("INSERT OR REPLACE INTO recert_decisions (assignment, version, requirement, note, decided_by, "
                    "decided_at) VALUES (?, ?, ?, ?, ?, ?)", (module, matches[0], requirement, note, by, _now()))
    finally:
        con.close()
    audit.record(s, "recertification decision", assignment=module, version=matches[0], requirement=requirement, by=by)
    return matches[0]


def read_inputs(s: Settings) -> Inputs:
    con = db.connect(s)
    try:
        found: dict[str, list[tuple[str, datetime]]] = {}
        for r in con.execute("SELECT assignment, version, released_at FROM module_versions ORDER BY released_at"):
            found.setdefault(r["assignment"], []).append((r["version"], datetime.fromisoformat(r["released_at"])))
        expiry = {r["scope"]: r["valid_days"] for r in con.execute("SELECT scope, valid_days FROM recert_expiry")}
        decisions = {(r["assignment"], r["version"]): r["requirement"]
                     for r in con.execute("SELECT assignment, version, requirement FROM recert_decisions")}
        acks = {(r["learner"], r["assignment"], r["version"]) for r in con.execute(
            "SELECT learner, assignment, version FROM acknowledgements WHERE choice = 'acknowledged'")}
    finally:
        con.close()
    return Inputs(found, expiry, decisions, acks)


def table_for(s: Settings, completion_table: pd.DataFrame, as_of: date, soon_days: int = SOON_DAYS) -> pd.DataFrame:
    return statuses(completion_table, read_inputs(s), as_of, soon_days)


def diff(s: Settings, module: str, old: str | None = None, new: str | None = None) -> str:
    """What changed between two released versions (default: the two newest), as a unified diff of
    the framework text and the module YAML from the archive."""
    released = versions.released(s, module)
    if len(released) < 2 and (old is None or new is None):
        raise RecertError(f"{module} has {len(released)} released version(s): nothing to compare")

    def pick(prefix: str | None, default: dict) -> dict:
        if prefix is None:
            return default
        matches = [r for r in released if r["version"].startswith(prefix)]
        if len(matches) != 1:
            raise RecertError(f"version '{prefix}' of {module}: {len(matches)} released versions match")
        return matches[0]

    a, b = pick(old, released[-2] if len(released) > 1 else released[0]), pick(new, released[-1])
    out = [f"{module}: {a['version'][:12]} (released {a['released_at'][:10]}) -> "
           f"{b['version'][:12]} (released {b['released_at'][:10]})"]
    for label, col in (("framework text", "framework_sha256"), ("module YAML", "module_sha256")):
        if a[col] == b[col]:
            out.append(f"== {label}: unchanged")
            continue
        before = (versions.archive_dir(s) / a[col]).read_text(encoding="utf-8").splitlines()
        after = (versions.archive_dir(s) / b[col]).read_text(encoding="utf-8").splitlines()
        out.append(f"== {label}: changed")
        out += list(difflib.unified_diff(before, after, f"{label} {a['version'][:12]}", f"{label} {b['version'][:12]}",
                                         lineterm="", n=2))
    if a["notebook_sha256"] != b["notebook_sha256"] and a["module_sha256"] == b["module_sha256"] \
            and a["framework_sha256"] == b["framework_sha256"]:
        out.append("== learner notebook: rebuilt (the builder changed, not the text)")
    return "\n".join(out)
