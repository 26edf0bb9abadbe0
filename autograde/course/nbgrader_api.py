"""The nbgrader course: thin, checked wrappers over nbgrader's own API.

Every call runs nbgrader in this process (no CLI start per step) and raises
:class:`NbgraderError` with nbgrader's log when nbgrader reports a failure.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory

from autograde.config import Settings
from autograde.course.nbconfig import nbgrader_config
from autograde.errors import NbgraderError
from autograde.gradebook import gradebook  # noqa: F401 - course.gradebook(s), for the workflow
from curriculum.builder import swap_in

# nbgrader runs its database migrations through the `alembic` command of the
# environment it is installed in; make sure that environment's bin/ is on PATH
# even when hcwh is run as .venv/bin/hcwh without activating the venv.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


def api(s: Settings) -> NbGraderAPI:
    config = nbgrader_config(s)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _check(result: dict, what: str) -> dict:
    if not result.get("success"):
        detail = "\n".join(x for x in (result.get("log"), result.get("error")) if x) or "(nbgrader gave no detail)"
        raise NbgraderError(f"{what} failed:\n{detail}")
    return result


def prepare(s: Settings, module_ids: list[str]) -> None:
    """Make the course folder and exchange; copy the built source notebooks in."""
    s.course_dir.mkdir(parents=True, exist_ok=True)
    if s.exchange == "filesystem":  # the hub exchange keeps its own store (autograde/exchange/)
        s.exchange_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(s.exchange_dir, 0o777)  # nbgrader requires a world-writable exchange root
    for module_id in module_ids:
        src = s.source_dir / module_id
        if not src.is_dir():
            raise NbgraderError(f"{src} does not exist: run 'hcwh build' first")
        dest = s.course_dir / "source" / module_id
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest)


def generate(s: Settings, module_id: str) -> None:
    """nbgrader generate_assignment: records the assignment in the gradebook."""
    _check(api(s).generate_assignment(module_id, force=True, create=True), f"generate_assignment {module_id}")


def release(s: Settings, module_id: str) -> bool:
    """nbgrader release_assignment: puts the learner version in the exchange. A module
    already there (a trainer re-releasing after an edit) is replaced (nbgrader's --force);
    returns True when it replaced one. Learners who fetched the old copy keep it."""
    outbound = s.exchange_dir / s.course_id / "outbound" / module_id
    again = outbound.is_dir()
    config = nbgrader_config(s)
    config.ExchangeReleaseAssignment.force = again
    nbapi = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    _check(nbapi.release_assignment(module_id), f"release_assignment {module_id}")
    return again


def released(s: Settings) -> list[dict]:
    """What the exchange (either kind) lists as released: nbgrader's ExchangeList records."""
    config = nbgrader_config(s)
    coursedir = CourseDirectory(config=config)
    lister = ExchangeFactory(config=config).List(coursedir=coursedir, authenticator=Authenticator(config=config),
                                                 config=config)
    return lister.start()


def collect(s: Settings, module_id: str) -> None:
    _check(api(s).collect(module_id, update=True), f"collect {module_id}")


def autograde(s: Settings, module_id: str, student_id: str) -> None:
    _check(api(s).autograde(module_id, student_id, force=True, create=True), f"autograde {module_id} for {student_id}")


def generate_feedback(s: Settings, module_id: str) -> None:
    """nbgrader generate_feedback for every autograded learner (hidden tests stripped, see settings)."""
    _check(api(s).generate_feedback(module_id, force=True), f"generate_feedback {module_id}")


def release_feedback(s: Settings, module_id: str) -> None:
    """nbgrader release_feedback: puts every learner's feedback in the exchange."""
    _check(api(s).release_feedback(module_id), f"release_feedback {module_id}")


def generate_release_folder(project_source: Path, release_root: Path, module_ids: list[str]) -> None:
    """Run nbgrader's generate_assignment in a scratch course and put the results
    in ``release_root`` (the committed ``release/``). The scratch gradebook is
    thrown away: the committed release depends on no runtime state."""
    with tempfile.TemporaryDirectory(prefix="hcwh-release-") as tmp:
        s = Settings(project=project_source.parent, state_dir=Path(tmp))
        prepare(s, module_ids)
        for module_id in module_ids:
            generate(s, module_id)
        release_root.mkdir(parents=True, exist_ok=True)
        for module_id in module_ids:
            built = s.course_dir / "release" / module_id
            final = release_root / module_id
            staging = release_root / f".{module_id}.new"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(built, staging)
            swap_in(staging, final)


def exchange_factory(s: Settings, **overrides):
    """Learner-side exchange operations (fetch, submit) as a given student."""
    config = nbgrader_config(s)
    # nbgrader keeps a copy of each submission in the learner's own cache, and
    # fetch_feedback takes every submission found there as the learner's: one
    # cache per learner, in the state folder (not this account's ~/.local).
    student = overrides.get("CourseDirectory.student_id")
    config.Exchange.cache = str(s.learner_cache_dir / student if student else s.learner_cache_dir)
    for key, value in overrides.items():
        section, name = key.split(".")
        setattr(getattr(config, section), name, value)
    coursedir = CourseDirectory(config=config)
    return ExchangeFactory(config=config), coursedir, Authenticator(config=config), config


def fetch(s: Settings, module_id: str, student_id: str, into: Path) -> Path:
    """What the Assignments tab's Fetch does, for one learner."""
    factory, coursedir, auth, config = exchange_factory(
        s, **{"CourseDirectory.assignment_id": module_id, "CourseDirectory.student_id": student_id,
              "Exchange.assignment_dir": str(into)}
    )
    factory.FetchAssignment(coursedir=coursedir, authenticator=auth, config=config).start()
    return into / module_id


def submit(s: Settings, module_id: str, student_id: str, from_dir: Path, at: datetime | None = None) -> None:
    """What the Assignments tab's Submit does, for one learner.

    ``at`` (an aware datetime) stamps the submission as made at that moment
    instead of now, for the demo's and tests' late and on-time learners: nbgrader
    takes the time from ``Exchange.set_timestamp``, and everything after (the
    inbound folder name, ``timestamp.txt``, collect, the gradebook) follows it."""
    factory, coursedir, auth, config = exchange_factory(
        s, **{"CourseDirectory.assignment_id": module_id, "CourseDirectory.student_id": student_id,
              "Exchange.assignment_dir": str(from_dir)}
    )
    app = factory.Submit(coursedir=coursedir, authenticator=auth, config=config)
    if at is not None:
        if at.tzinfo is None:
            raise ValueError("submit(at=...) needs an aware datetime")
        stamp = at.astimezone(timezone.utc).strftime(app.timestamp_format)
        app.set_timestamp = lambda: setattr(app, "timestamp", stamp)
    app.start()


def fetch_feedback(s: Settings, module_id: str, student_id: str, into: Path) -> list[Path]:
    """What the Assignments tab's Fetch Feedback does, for one learner: the
    released feedback HTML files now in ``into/<module>/feedback/``."""
    factory, coursedir, auth, config = exchange_factory(
        s, **{"CourseDirectory.assignment_id": module_id, "CourseDirectory.student_id": student_id,
              "Exchange.assignment_dir": str(into)}
    )
    factory.FetchFeedback(coursedir=coursedir, authenticator=auth, config=config).start()
    return sorted((into / module_id / "feedback").rglob("*.html"))

