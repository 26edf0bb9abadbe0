"""Where things live: one source, standard library only.

Runtime state (the course folder nbgrader works in, submissions, autograded
copies, feedback, the gradebook, the exchange) lives under a state folder that
is never committed: ``<project>/var`` unless ``HCWH_STATE_DIR`` says otherwise.
``HCWH_DB_URL`` points the gradebook at another database, e.g.
``postgresql+psycopg2://user@host/db``. ``HCWH_TIMEZONE`` (an IANA name such
as ``America/Chicago``; default ``UTC``) is the city's clock: due dates are
calendar days in it and submission times are shown in it.
``HCWH_EXCHANGE=hub`` with ``HCWH_EXCHANGE_URL`` (the hub service's address) sends every
nbgrader exchange operation through the hub exchange (``autograde/exchange/``); unset, the
exchange is nbgrader's shared folder ``<state>/exchange`` (the single-machine demo).
``autograde/course/nbconfig.py`` turns these settings into nbgrader's configuration (for
``hcwh``, and through ``nbgrader_config.py`` at the project root for JupyterLab's nbgrader
extensions). This module imports nothing beyond the standard library, so anything may use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "how-can-we-help"


@dataclass(frozen=True)
class Settings:
    project: Path = PROJECT_ROOT
    state_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    db_url: str | None = None  # None: SQLite in the course folder
    course_id: str = COURSE_ID
    timeout: int = 60  # seconds a cell may run under validate/autograde
    # Autograde runs each learner notebook in a bubblewrap sandbox (autograde/grading/sandbox.py);
    # HCWH_NO_SANDBOX=1 opts out, with a loud warning.
    sandbox: bool = field(default_factory=lambda: not sandbox_opted_out())
    timezone: str = "UTC"  # the city's clock: due dates are days in it
    exchange: str = "filesystem"  # or "hub": the hub exchange service at exchange_url (autograde/exchange/)
    exchange_url: str | None = None
    # Only clicks count: grading runs the module's own code in every code cell, never code a
    # learner typed. True runs typed code anyway, ONLY so that tests can attack the sandbox with
    # hostile code; no environment variable or command sets it.
    run_typed_code: bool = False

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        s = cls()
        if os.environ.get("HCWH_STATE_DIR"):
            s = replace(s, state_dir=Path(os.environ["HCWH_STATE_DIR"]).resolve())
        if os.environ.get("HCWH_DB_URL"):
            s = replace(s, db_url=os.environ["HCWH_DB_URL"])
        if os.environ.get("HCWH_TIMEZONE"):
            s = replace(s, timezone=os.environ["HCWH_TIMEZONE"])
        if os.environ.get("HCWH_EXCHANGE"):
            s = replace(s, exchange=os.environ["HCWH_EXCHANGE"].strip().lower())
        if os.environ.get("HCWH_EXCHANGE_URL"):
            s = replace(s, exchange_url=os.environ["HCWH_EXCHANGE_URL"])
        s = replace(s, **overrides)
        if s.exchange not in EXCHANGES:
            raise ValueError(f"HCWH_EXCHANGE={s.exchange!r} is not an exchange (known: {', '.join(EXCHANGES)})")
        if s.exchange == "hub" and not s.exchange_url:
            raise ValueError("HCWH_EXCHANGE=hub needs HCWH_EXCHANGE_URL, the exchange service's address "
                             "(e.g. http://127.0.0.1:8000/services/hcwh-exchange/)")
        return s

    @property
    def source_dir(self) -> Path:
        return self.project / "source"

    @property
    def release_dir(self) -> Path:
        return self.project / "release"

    @property
    def course_dir(self) -> Path:
        return self.state_dir / "course"

    @property
    def exchange_dir(self) -> Path:
        return self.state_dir / "exchange"

    @property
    def learner_cache_dir(self) -> Path:
        """nbgrader's submission caches (one folder per learner) for learner-side
        calls made in this process (fetch, submit, fetch_feedback)."""
        return self.state_dir / "learner-cache"

    @property
    def roster_path(self) -> Path:
        """The roster and cohort plans (personal data: mode 0600)."""
        return self.state_dir / "roster.json"

    @property
    def reports_dir(self) -> Path:
        """HR report snapshots, one dated folder each, never overwritten."""
        return self.state_dir / "reports"

    @property
    def trainer_reports_dir(self) -> Path:
        """The trainers' report snapshots (``hcwh insight``): per-learner figures, so never under
        ``reports_dir``, which HR's report service serves."""
        return self.state_dir / "trainer-reports"

    @property
    def gradebook_url(self) -> str:
        return self.db_url or f"sqlite:///{self.course_dir / 'gradebook.db'}"


EXCHANGES = ("filesystem", "hub")
NO_SANDBOX_ENV = "HCWH_NO_SANDBOX"


def sandbox_opted_out() -> bool:
    """True when the environment asks to grade without a sandbox (HCWH_NO_SANDBOX=1)."""
    return os.environ.get(NO_SANDBOX_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
