"""People on the hub: the roster's learners get hub logins and OS accounts, leavers are locked
out, trainers and HR get logins. Plain functions; ``hcwh roster`` and ``hcwh staff`` call them.

Every change to an account goes through the account helper (``autograde/hub/accounts.py``):
run directly when ``hcwh`` runs as root, through ``sudo -n /usr/local/sbin/hcwh-account``
otherwise (the only thing ``hcwh`` ever needs root for).

New logins get a one-time enrollment code; the codes are printed and written to
``<state>/enrollment/codes-<time>.csv`` (0600) for the supervisor to hand over in person.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograde import identity, roster
from autograde.config import Settings
from autograde.hub import seclog
from autograde.hub.accounts import TEST_PREFIX, made_by_helper
from autograde.private import replace_private
from curriculum.errors import HcwhError

INSTALLED_HELPER = "/usr/local/sbin/hcwh-account"


class AccountError(HcwhError, RuntimeError):
    """The account helper refused or failed; the message says why."""


def hub_enabled(s: Settings) -> bool:
    """The hub has been set up for this state folder (``make hub`` made ``<state>/hub``)."""
    return (s.state_dir / "hub").is_dir()


def helper(s: Settings, *args: str) -> str:
    """Run the account helper; its one line of output, or AccountError with its reason."""
    if os.geteuid() == 0:
        argv = [sys.executable, "-m", "autograde.hub.accounts", *args]
        env = {**os.environ, "HCWH_STATE_DIR": str(s.state_dir)}
        env.pop("SUDO_USER", None)
    else:
        argv, env = ["sudo", "-n", INSTALLED_HELPER, *args], None
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(s.project))
    if done.returncode != 0:
        raise AccountError(done.stderr.strip() or f"the account helper failed ({done.returncode})")
    return done.stdout.strip()


@dataclass
class Enrollment:
    name: str
    full_name: str
    role: str
    code: str
    expires: str


@dataclass
class AccountsReport:
    roster: roster.ImportReport | None = None
    enrolled: list[Enrollment] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)  # helper lines
    codes_file: Path | None = None

    def lines(self, hub_url: str) -> list[str]:
        out = self.roster.lines() if self.roster else []
        out += [f"  {line}" for line in self.accounts]
        if self.enrolled:
            out.append(f"Enrollment codes ({len(self.enrolled)}), for the supervisor to hand over in person; "
                       f"each works once, until it expires, at {hub_url.rstrip('/')}/hub/enroll :")
            out += [f"  {e.name:<24} {e.full_name:<28} {e.code}  (until {e.expires} UTC)" for e in self.enrolled]
            out.append(f"  also in {self.codes_file} (0600)")
        return out


def check_hub_ids(s: Settings, path: Path) -> None:
    """RosterError, naming each line, for ids that cannot be hub logins (autograde/identity.py)."""
    rows, problems = roster._read_rows(Path(path), roster.ROSTER_COLUMNS)
    problems = list(problems) + identity.check_ids(
        [(line, row["employee_id"]) for line, row in rows if row.get("employee_id")],
        made_by_helper=made_by_helper, known=roster.load(s).learners)
    if problems:
        raise roster.RosterError(path, sorted(problems, key=lambda p: p[0] or 0))


def _write_codes(s: Settings, enrolled: list[Enrollment]) -> Path:
    folder = s.state_dir / "enrollment"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["login", "name", "role", "code", "expires_utc"])
    for e in enrolled:
        w.writerow([e.name, e.full_name, e.role, e.code, e.expires])
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%S")
    path, n = folder / f"codes-{stamp}.csv", 1
    while path.exists():  # two imports in one second: never overwrite the first one's codes
        n += 1
        path = folder / f"codes-{stamp}-{n}.csv"
    replace_private(path, buf.getvalue())
    return path


def _enroll(s: Settings, name: str, role: str, full_name: str, report: AccountsReport) -> None:
    code, expires = helper(s, "enroll", name, role).split("\t")
    report.enrolled.append(Enrollment(name, full_name, role, code, expires))


def import_with_accounts(s: Settings, path: Path) -> AccountsReport:
    """``hcwh roster import`` on a hub: check every id as a login name (nothing imported on any
    problem), import the roster, then through the helper make or check each learner's OS account
    and give a one-time enrollment code to each learner with no hub login yet (or who had left)."""
    check_hub_ids(s, path)
    try:
        report = AccountsReport(roster=roster.import_roster(s, Path(path)))
    except Exception as exc:
        seclog.record(s.state_dir, "roster.import", seclog.caller(), Path(path).name, "refused", service="hcwh",
                      detail=str(exc)[:300])
        raise
    seclog.record(s.state_dir, "roster.import", seclog.caller(), Path(path).name, "ok", service="hcwh")
    data = roster.load(s)
    for learner in roster.parse_roster(Path(path), set(data.plans)):
        out = helper(s, "welcome", learner.employee_id, "learner")
        if "\t" in out:
            code, expires = out.split("\t")
            report.enrolled.append(Enrollment(learner.employee_id, learner.name, "learner", code, expires))
        else:
            report.accounts.append(out)
    if report.enrolled:
        report.codes_file = _write_codes(s, report.enrolled)
    return report


def add_learner(s: Settings, employee_id: str, first_name: str, last_name: str, email: str, department: str,
                hire_date: str, cohort: str) -> AccountsReport:
    """A new hire not yet on the roster file, the same day: one row, checked and imported exactly
    as a roster file would be (``hcwh roster add``)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster-add.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(roster.ROSTER_COLUMNS)
            w.writerow([employee_id, first_name, last_name, email, department, hire_date, cohort])
        return import_with_accounts(s, path)


def leave(s: Settings, employee_id: str) -> str:
    """``hcwh roster leave ID``: locked out at once (see accounts.leave); records kept, and the
    roster marks them separated today (the city's day), which starts the retention clock."""
    from zoneinfo import ZoneInfo

    out = helper(s, "leave", employee_id)
    if employee_id in roster.load(s).learners:
        learner = roster.mark_separated(s, employee_id, datetime.now(ZoneInfo(s.timezone)).date())
        out += f"\n{employee_id}: separated on {learner.separation_date} (the retention clock starts)"
    return out


def add_staff(s: Settings, name: str, role: str, full_name: str = "") -> AccountsReport:
    """``hcwh staff add NAME --role trainer|hr``: a hub login (no OS account) and its code."""
    if role not in ("trainer", "hr", "it"):
        raise AccountError(f"role '{role}' is not trainer, hr or it (learners come from the roster)")
    try:
        checked = identity.login_name(name)
    except identity.IdentityError as exc:
        raise AccountError(str(exc)) from None
    if checked != name:
        raise AccountError(f"'{name}' must be written in lower case: '{checked}'")
    report = AccountsReport()
    _enroll(s, name, role, full_name or name, report)
    report.codes_file = _write_codes(s, report.enrolled)
    return report


# -- JupyterLab for one learner ----------------------------------------------------------
# Learners land on their own pages (autograde/learner) with no link into JupyterLab. A trainer
# who wants one learner to have it asks for ``hcwh roster jupyterlab ID on``: the hub reads this
# file as that learner's page starts (hub/jupyterhub_config.py), lands them in JupyterLab and
# gives their pages a JupyterLab link; ``off`` takes it away at their next start.
JUPYTERLAB_FILE = "jupyterlab-learners.json"


def jupyterlab_learners(state_dir: Path) -> set[str]:
    """The learners given JupyterLab (none if the file is missing or unreadable)."""
    try:
        found = json.loads((state_dir / JUPYTERLAB_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {x for x in found if isinstance(x, str)} if isinstance(found, list) else set()


def set_jupyterlab(s: Settings, employee_id: str, on: bool) -> str:
    """``hcwh roster jupyterlab ID on|off``: one learner's JupyterLab, from their next page start."""
    if employee_id not in roster.load(s).learners:
        raise AccountError(f"'{employee_id}' is not a learner on the roster (hcwh roster import or add first)")
    names = jupyterlab_learners(s.state_dir)
    names = names | {employee_id} if on else names - {employee_id}
    replace_private(s.state_dir / JUPYTERLAB_FILE, json.dumps(sorted(names)) + "\n")
    seclog.record(s.state_dir, "jupyterlab.on" if on else "jupyterlab.off", seclog.caller(), employee_id, "ok",
                  service="hcwh")
    return (f"{employee_id}: JupyterLab {'on' if on else 'off'} from their next page start "
            f"(stop and start their page, or they log out and in again)")


__all__ = ["AccountError", "AccountsReport", "TEST_PREFIX", "add_learner", "add_staff", "hub_enabled",
           "import_with_accounts", "jupyterlab_learners", "leave", "set_jupyterlab"]
