"""Every released module's version, with the files it was made from archived.

One definition: a module's **version** is the SHA-256 over the SHA-256s of the three files a
learner's training rests on (the framework text, the module YAML, the built learner notebook in
``release/``), so the same files always give the same version and any change gives a new one.
The files are kept content-addressed in ``<state>/record/archive/<sha256>`` (0600, written once);
``unreferenced`` lists the ones no record points to, the only ones that may ever be disposed of.

A retraining is a new assignment, not a new version of the old one: a module YAML named
``01-authenticity-2027.yaml`` builds the assignment ``01-authenticity-2027``, which nbgrader keeps
beside ``01-authenticity``, so the original completion stays.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from autograde.config import Settings
from autograde.private import FILE_MODE, private_dir
from autograde.record import audit
from autograde.record.db import RecordError, connect, record_dir


@dataclass(frozen=True)
class Sources:
    framework: Path
    module: Path
    notebook: Path

    def shas(self) -> tuple[str, str, str]:
        out = []
        for label, path in (("framework text", self.framework), ("module YAML", self.module),
                            ("learner notebook", self.notebook)):
            if not path.is_file():
                raise RecordError(f"{path}: the {label} is missing; build the module before releasing it")
            out.append(hashlib.sha256(path.read_bytes()).hexdigest())
        return tuple(out)


def sources(s: Settings, assignment: str) -> Sources:
    from curriculum.builder import MODULES_DIR
    from curriculum.framework import FRAMEWORK_DIR

    return Sources(Path(str(FRAMEWORK_DIR / "customer-service-framework.txt")),
                   MODULES_DIR / f"{assignment}.yaml",
                   s.release_dir / assignment / f"{assignment}.ipynb")


def version_of(framework_sha: str, module_sha: str, notebook_sha: str) -> str:
    text = f"framework {framework_sha}\nmodule {module_sha}\nnotebook {notebook_sha}\n"
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def archive_dir(s: Settings) -> Path:
    return record_dir(s) / "archive"


def archive(s: Settings, path: Path) -> str:
    """Keep ``path``'s bytes under their SHA-256 (once; an existing copy is checked, never rewritten)."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    target = private_dir(archive_dir(s)) / sha
    if target.exists():
        if hashlib.sha256(target.read_bytes()).hexdigest() != sha:
            raise RecordError(f"{target}: the archived copy no longer matches its name; the archive was altered")
        return sha
    tmp = target.with_name(f".{sha}.incoming")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return sha


def record_release(s: Settings, assignment: str, released_by: str, approved_by: str,
                   found: Sources | None = None, released_at: datetime | None = None) -> str:
    """Archive the module's files, record its version (once per version) and audit the release.
    ``released_at``: now, unless a demo or test cohort lives on a calendar of its own."""
    if not approved_by.strip():
        raise RecordError(f"releasing {assignment}: the approver's name is empty; a release needs its approver")
    found = found or sources(s, assignment)
    shas = found.shas()
    version = version_of(*shas)
    for path in (found.framework, found.module, found.notebook):
        archive(s, path)
    con = connect(s)
    try:
        con.execute("INSERT OR IGNORE INTO module_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (assignment, version, *shas, (released_at or datetime.now(timezone.utc)).isoformat(),
                     released_by, approved_by))
    finally:
        con.close()
    audit.record(s, "release", assignment=assignment, version=version, released_by=released_by,
                 approved_by=approved_by)
    return version


def released(s: Settings, assignment: str) -> list[dict]:
    """The assignment's recorded versions, oldest first."""
    con = connect(s)
    try:
        rows = con.execute("SELECT * FROM module_versions WHERE assignment = ? ORDER BY released_at",
                           (assignment,)).fetchall()
    finally:
        con.close()
    return [dict(r) for r in rows]


def current(s: Settings, assignment: str) -> str | None:
    """The version in force: the one released last (None: never released with ``hcwh release``)."""
    found = released(s, assignment)
    return found[-1]["version"] if found else None


def unreferenced(s: Settings) -> list[Path]:
    """Archived files no recorded version points to (the only ones that may be disposed of)."""
    con = connect(s)
    try:
        kept = {sha for row in con.execute(
            "SELECT framework_sha256, module_sha256, notebook_sha256 FROM module_versions") for sha in row}
    finally:
        con.close()
    folder = archive_dir(s)
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in kept) \
        if folder.is_dir() else []
