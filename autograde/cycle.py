"""The trainer's cycle after release: collect, autograde, grade reflections, feedback.

Plain functions over nbgrader's own machinery (``course.py``); ``hcwh collect``,
``hcwh autograde`` and ``hcwh feedback`` call them. One learner's failure never
stops the others: it is recorded with its reason and summed up at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, Grade, MissingEntry

from . import course
from .course import NbgraderError
from .settings import Settings

Progress = Callable[[str], None]


def released_modules(s: Settings) -> list[str]:
    """Modules in the exchange's outbound folder, i.e. released to learners."""
    outbound = s.exchange_dir / s.course_id / "outbound"
    return sorted(p.name for p in outbound.glob("*") if p.is_dir()) if outbound.is_dir() else []


def collected_students(s: Settings, module_id: str) -> list[str]:
    """Learners whose submission of ``module_id`` has been collected into the course folder."""
    return sorted(p.parent.name for p in (s.course_dir / "submitted").glob(f"*/{module_id}") if p.is_dir())


def _modules(s: Settings, module_ids: list[str] | None) -> list[str]:
    if module_ids:
        return list(module_ids)
    found = released_modules(s)
    if not found:
        raise NbgraderError(f"no module has been released to {s.exchange_dir}: run 'hcwh release' first")
    return found


def collect(s: Settings, module_ids: list[str] | None = None, progress: Progress = print) -> dict[str, int]:
    """nbgrader collect (newest submission of each learner) for each module; module -> learners collected."""
    out = {}
    for module_id in _modules(s, module_ids):
        course.collect(s, module_id)
        out[module_id] = len(collected_students(s, module_id))
        progress(f"collected {module_id}: {out[module_id]} submission(s) in {s.course_dir / 'submitted'}")
    return out


@dataclass(frozen=True)
class Failure:
    module_id: str
    student_id: str
    reason: str


@dataclass
class AutogradeReport:
    graded: list[tuple[str, str, float, float, bool]] = field(default_factory=list)  # module, learner, score, max, needs manual
    failures: list[Failure] = field(default_factory=list)

    def summary(self) -> list[str]:
        total = len(self.graded) + len(self.failures)
        lines = [f"Autograded {len(self.graded)} of {total} submission(s); {len(self.failures)} failed."]
        waiting = sum(1 for *_, manual in self.graded if manual)
        if waiting:
            lines.append(f"{waiting} submission(s) have reflections waiting for a trainer in formgrader.")
        for f in self.failures:
            lines.append(f"  FAILED {f.module_id} {f.student_id}: {f.reason}")
        return lines


_EXCEPTION = re.compile(r"^(?:[\w.]+\.)?(?P<name>\w*(?:Error|Exception|Timeout\w*)):\s*(?P<text>.*)$")
_GENERIC = {"NbGraderException", "NbgraderError", "RuntimeError"}  # "see the traceback above"


def failure_reason(message: str) -> str:
    """The line of nbgrader's log that says why (the innermost named exception,
    e.g. ``NotJSONError: Notebook does not appear to be JSON``), not the traceback."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    for ln in reversed(lines):
        m = _EXCEPTION.match(ln)
        if m and m["name"] not in _GENERIC:
            return f"{m['name']}: {m['text']}"[:200]
    for ln in reversed(lines):
        if ln.startswith("[ERROR]") and "see the" not in ln:
            return ln.removeprefix("[ERROR]").strip()[:200]
    return (lines[-1] if lines else "nbgrader gave no detail")[:200]


def submission_score(s: Settings, module_id: str, student_id: str) -> tuple[float, float, bool]:
    with course.gradebook(s) as gb:
        sub = gb.find_submission(module_id, student_id)
        return float(sub.score), float(sub.max_score), bool(sub.needs_manual_grade)


def autograde(s: Settings, module_ids: list[str] | None = None, progress: Progress = print) -> AutogradeReport:
    """Autograde every collected submission of each module, one learner at a time."""
    todo = [(m, sid) for m in _modules(s, module_ids) for sid in collected_students(s, m)]
    report = AutogradeReport()
    for n, (module_id, student_id) in enumerate(todo, start=1):
        head = f"[{n}/{len(todo)}] {module_id} {student_id} ..."
        try:
            course.autograde(s, module_id, student_id)
            score, max_score, manual = submission_score(s, module_id, student_id)
        except (NbgraderError, MissingEntry, OSError, ValueError) as exc:
            report.failures.append(Failure(module_id, student_id, failure_reason(str(exc))))
            progress(f"{head} FAILED: {report.failures[-1].reason}")
            continue
        report.graded.append((module_id, student_id, score, max_score, manual))
        progress(f"{head} {score:g}/{max_score:g}" + (" (reflections to grade)" if manual else ""))
    for line in report.summary():
        progress(line)
    return report


def feedback(s: Settings, module_ids: list[str] | None = None, progress: Progress = print) -> dict[str, int]:
    """nbgrader generate_feedback then release_feedback for each module; module -> feedback files."""
    out = {}
    for module_id in _modules(s, module_ids):
        course.generate_feedback(s, module_id)
        course.release_feedback(s, module_id)
        files = sorted((s.course_dir / "feedback").glob(f"*/{module_id}/*.html"))
        out[module_id] = len(files)
        progress(f"feedback {module_id}: {len(files)} file(s) generated in {s.course_dir / 'feedback'} "
                 f"and released to {s.exchange_dir / s.course_id / 'feedback'}")
    return out


# -- reflections, graded as a trainer does in formgrader ---------------------------


def reflection_grades(gb: Gradebook, module_id: str, student_id: str) -> list[Grade]:
    """The learner's grades for manually graded written answers (the reflections)."""
    sub = gb.find_submission(module_id, student_id)
    return [g for nb in sub.notebooks for g in nb.grades if g.cell_type == "markdown"]


def set_manual_score(gb: Gradebook, grade: Grade, score: float | None) -> None:
    """What formgrader's score box does (nbgrader's GradeHandler.put)."""
    if score is not None and not 0 <= score <= grade.max_score:
        raise ValueError(f"{grade.name}: {score} is outside 0..{grade.max_score:g}")
    grade.manual_score = score
    grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
    gb.db.commit()


def reflection_text(s: Settings, module_id: str, student_id: str, grade_id: str) -> str:
    """The learner's answer in a reflection cell of their submitted notebook (for graders only)."""
    import nbformat

    path: Path = s.course_dir / "submitted" / student_id / module_id / f"{module_id}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(grade_id)
