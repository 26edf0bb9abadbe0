"""Where things live, and the nbgrader configuration derived from it: one source.

Runtime state (the course folder nbgrader works in, submissions, autograded
copies, feedback, the gradebook, the exchange) lives under a state folder that
is never committed: ``<project>/var`` unless ``HCWH_STATE_DIR`` says otherwise.
``HCWH_DB_URL`` points the gradebook at another database, e.g.
``postgresql+psycopg2://user@host/db``. ``nbgrader_config.py`` at the project
root applies the same settings to JupyterLab's nbgrader extensions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from traitlets.config import Config

from curriculum.builder import SOLUTION_HINT

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "how-can-we-help"
REFLECTION_STUB = "Write your reflection here (double-click this box to edit it)."


@dataclass(frozen=True)
class Settings:
    project: Path = PROJECT_ROOT
    state_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    db_url: str | None = None  # None: SQLite in the course folder
    course_id: str = COURSE_ID
    timeout: int = 60  # seconds a cell may run under validate/autograde

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        s = cls()
        if os.environ.get("HCWH_STATE_DIR"):
            s = replace(s, state_dir=Path(os.environ["HCWH_STATE_DIR"]).resolve())
        if os.environ.get("HCWH_DB_URL"):
            s = replace(s, db_url=os.environ["HCWH_DB_URL"])
        return replace(s, **overrides)

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
    def gradebook_url(self) -> str:
        return self.db_url or f"sqlite:///{self.course_dir / 'gradebook.db'}"


def apply_nbgrader_config(c: Config, s: Settings) -> Config:
    c.CourseDirectory.root = str(s.course_dir)
    c.CourseDirectory.course_id = s.course_id
    c.CourseDirectory.db_url = s.gradebook_url
    c.Exchange.root = str(s.exchange_dir)
    c.ClearSolutions.code_stub = {"python": f"# {SOLUTION_HINT}"}
    c.ClearSolutions.text_stub = REFLECTION_STUB
    c.Execute.timeout = s.timeout
    # Quiet kernels: no "running over TCP" banner on the trainer's terminal, no
    # IPython history database written by learners' notebooks.
    c.Execute.extra_arguments = ["--log-level=ERROR", "--HistoryManager.enabled=False"]
    # Learners' answers.json travels with the notebook; nothing else is needed.
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".answers-*"]
    return c


def nbgrader_config(s: Settings) -> Config:
    return apply_nbgrader_config(Config(), s)
