"""The trainer's cycle after release: collect, autograde, grade reflections, feedback.

Plain functions over nbgrader's own machinery (``course.py``); ``hcwh collect``,
``hcwh autograde`` and ``hcwh feedback`` call them. One learner's failure never
stops the others: it is recorded with its reason and summed up at the end.

Autograde is preflight (``preflight.py``: engine-independent checks of each
submission, with the reason in words for one that cannot be graded) followed by
an engine that grades the accepted ones (``_engine``: today nbgrader's own
autograde, one learner at a time), each learner all-or-nothing (``journal.py``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Grade, Gradebook, MissingEntry

from autograde.config import Settings
from autograde.course import nbgrader_api as course
from autograde.course import rejections, results
from autograde.course.nbconfig import nbgrader_config
from autograde.errors import MachineFault, NbgraderError, Stopped, as_machine_fault, machine_fault_in
from autograde.grading import cgroup, journal, preflight, sandbox
from autograde.grading.sandbox import SandboxUnavailable

Progress = Callable[[str], None]


def released_modules(s: Settings) -> list[str]:
    """Modules in the exchange's outbound folder, i.e. released to learners."""
    if s.exchange == "hub":  # hook: the hub exchange knows its releases (autograde/exchange/)
        return sorted(a["assignment_id"] for a in course.released(s))
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
    for module_id in _released(s, module_ids):
        course.collect(s, module_id)
        journal.protect(s)  # learners' work: the course folder is 0700
        out[module_id] = len(collected_students(s, module_id))
        progress(f"collected {module_id}: {out[module_id]} submission(s) in {s.course_dir / 'submitted'}")
    return out


def _released(s: Settings, module_ids: list[str] | None) -> list[str]:
    """The modules asked for (default: every released one), each released to the exchange."""
    modules = _modules(s, module_ids)
    released = set(released_modules(s))
    missing = [m for m in modules if m not in released]
    if missing:
        raise NbgraderError(f"{', '.join(missing)} has not been released to {s.exchange_dir}: run "
                            f"'hcwh release {' '.join(missing)}' first")
    return modules


@dataclass(frozen=True)
class Failure:
    module_id: str
    student_id: str
    reason: str


@dataclass(frozen=True)
class Result:
    """One learner's outcome. A submission that is not ``graded`` (rejected by preflight, or
    the engine failed on it) scores 0 and ``reason`` says why, in words."""

    module_id: str
    student_id: str
    graded: bool
    score: float
    max_score: float
    needs_manual: bool = False
    reason: str | None = None
    notes: tuple[str, ...] = ()
    late: bool = False
    on_roster: bool | None = None  # None: no roster to judge by

    def lines(self, head: str, max_notes: int = preflight.MAX_NOTES) -> list[str]:
        if self.graded:
            first = f"{head} {self.score:g}/{self.max_score:g}" + (" (reflections to grade)" if self.needs_manual else "")
        else:
            first = f"{head} FAILED: {self.reason} (scored 0/{self.max_score:g})"
        notes = [f"      - {note}" for note in self.notes[:max_notes]]
        if len(self.notes) > max_notes:
            notes.append(f"      - … and {len(self.notes) - max_notes} more")
        return [first, *notes]


@dataclass
class AutogradeReport:
    graded: list[tuple[str, str, float, float, bool]] = field(default_factory=list)  # module, learner, score, max, needs manual
    failures: list[Failure] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)  # every learner, in grading order
    recovered: tuple[str, str] | None = None  # (module, learner) an interrupted earlier run left half-graded

    def add(self, r: Result) -> None:
        self.results.append(r)
        if r.graded:
            self.graded.append((r.module_id, r.student_id, r.score, r.max_score, r.needs_manual))
        else:
            self.failures.append(Failure(r.module_id, r.student_id, r.reason or "unknown"))

    def result(self, module_id: str, student_id: str) -> Result:
        return next(r for r in self.results if (r.module_id, r.student_id) == (module_id, student_id))

    def summary(self) -> list[str]:
        total = len(self.graded) + len(self.failures)
        lines = [f"Autograded {len(self.graded)} of {total} submission(s); {len(self.failures)} failed."]
        waiting = sum(1 for *_, manual in self.graded if manual)
        if waiting:
            lines.append(f"{waiting} submission(s) have reflections waiting for a trainer in formgrader.")
        late = [f"{r.student_id} ({r.module_id})" for r in self.results if r.late]
        if late:
            lines.append(f"{len(late)} submission(s) were late, graded normally: {', '.join(late)}")
        strangers = sorted({r.student_id for r in self.results if r.on_roster is False})
        if strangers:
            lines.append(f"{len(strangers)} learner(s) not on the roster, graded: {', '.join(strangers)}")
        noted = sum(1 for r in self.results if r.graded and r.notes)
        if noted:
            lines.append(f"{noted} graded submission(s) have notes for the trainer (the '-' lines above).")
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
            return preflight.printable(f"{m['name']}: {m['text']}", 200)
    for ln in reversed(lines):
        if ln.startswith("[ERROR]") and "see the" not in ln:
            return preflight.printable(ln.removeprefix("[ERROR]").strip(), 200)
    return preflight.printable(lines[-1] if lines else "nbgrader gave no detail", 200)


# What an engine's failure means, in words (looked for in its log, in this order); the
# exception's own line follows in brackets.
_ENGINE_FAILURES = (
    ("DeadKernelError", "the notebook's kernel died while it ran (killed by code in the notebook, "
                        "or past its memory or CPU limit); nothing could be scored"),
    ("Timeout waiting for IOPub output", "a cell flooded the grader with output (printing without end), so "
                                         "its results could not be received; nothing could be scored"),
    ("UnresponsiveKernelError", "the notebook's kernel stopped responding and could not be interrupted; "
                                "nothing could be scored"),
    ("CellTimeoutError", "a cell ran past its time limit and could not be stopped; nothing could be scored"),
)


def engine_fault(s: Settings, module_id: str, student_id: str, message: str) -> MachineFault | None:
    """A kernel that died, hung, flooded or ran out of time, as a MachineFault: only clicks count,
    so the only code that runs is the module's own, and nothing a learner sends can do that
    (answers.json is data, bounded by preflight; reflections are text). None when typed code
    runs (``Settings.run_typed_code``, for the sandbox's tests): then the notebook may be to blame."""
    if s.run_typed_code or not any(needle in message for needle, _ in _ENGINE_FAILURES):
        return None
    return MachineFault(f"the grading kernel failed while grading {module_id} {student_id}, running only the "
                        f"module's own code, so the machine is at fault (memory, load, or a process killed from "
                        f"outside): {preflight.printable(failure_reason(message), 160)}")


def engine_failure_reason(message: str) -> str:
    raw = failure_reason(message)
    for needle, words in _ENGINE_FAILURES:
        if needle in message:
            return f"{words} [{preflight.printable(raw, 80)}]"
    return raw


def submission_score(s: Settings, module_id: str, student_id: str) -> tuple[float, float, bool]:
    with course.gradebook(s) as gb:
        sub = gb.find_submission(module_id, student_id)
        return float(sub.score), float(sub.max_score), bool(sub.needs_manual_grade)


class AutogradeRefused(NbgraderError, SandboxUnavailable):
    """Grading must not run: the sandbox is unavailable (the message says what to do)."""


GradeOne = Callable[[Settings, str, str], None]  # grade one accepted submission, raising when it cannot

# The engine contract: ``engine(s, ctx, book, todo, report, progress, workers)`` grades every
# (module, learner) in ``todo``: each learner through preflight's verdict, then the engine, then
# ``_settle`` (score, notes, rejection), all-or-nothing in ``book`` (the journal); a result per
# learner added to ``report`` and told to ``progress``; a machine fault raised as MachineFault
# before that learner is changed. Registered in ENGINES below, by name.
Engine = Callable[..., None]


def autograde(s: Settings, module_ids: list[str] | None = None, progress: Progress = print,
              engine: str = "fast", workers: int | None = None) -> AutogradeReport:
    """Autograde every collected submission of each module, one learner at a time.

    For each learner: preflight (``preflight.check_submission``) accepts the submission
    with notes for the trainer, or rejects it with the reason; the engine grades an
    accepted one. A rejected submission, or one the engine fails on, scores 0 with the
    reason, in a complete gradebook record. Each learner's grading is all-or-nothing
    (``journal.Journal``): an interruption puts the learner back as before, and a run
    killed outright is repaired by the next. Re-running grades everything again, with
    the same result; scores a trainer gave are kept."""
    if engine not in ENGINES:
        raise ValueError(f"unknown autograde engine {engine!r} (known: {', '.join(ENGINES)})")
    try:
        if sandbox.require_sandbox(s.sandbox):
            cgroup.note_if_unavailable(progress)
    except SandboxUnavailable as exc:
        raise AutogradeRefused(str(exc)) from None
    todo = [(m, sid) for m in _modules(s, module_ids) for sid in collected_students(s, m)]
    s.course_dir.mkdir(parents=True, exist_ok=True)
    book = journal.Journal(s)
    book.lock()
    try:
        with _stop_on_signals(), _machine_faults():
            return _autograde(s, book, todo, progress, ENGINES[engine], workers)
    finally:
        journal.protect(s)
        book.unlock()


def _autograde(s: Settings, book: journal.Journal, todo: list[tuple[str, str]], progress: Progress, engine: Engine,
               workers: int | None) -> AutogradeReport:
    journal.protect(s)
    report = AutogradeReport()
    with course.gradebook(s) as gb:
        report.recovered = book.rollback(gb)
    if report.recovered:
        progress(f"The last autograde stopped while grading {' '.join(report.recovered)}: its grades "
                 "were put back as they were; everything is graded again now.")
    journal.backup_gradebook(s)
    ctx = preflight.context(s)
    engine(s, ctx, book, todo, report, progress, workers)
    for line in report.summary():
        progress(line)
    return report


def _grade_nbgrader(s: Settings, ctx: preflight.Context, book: journal.Journal, todo: list[tuple[str, str]],
                    report: AutogradeReport, progress: Progress, workers: int | None) -> None:
    """nbgrader's own autograde (with the sandboxed Execute), one learner at a time."""
    for n, (module_id, student_id) in enumerate(todo, start=1):
        result = _grade_learner(s, ctx, book, course.autograde, module_id, student_id)
        report.add(result)
        for line in result.lines(f"[{n}/{len(todo)}] {module_id} {student_id} ..."):
            progress(line)
        _after_learner(n)


@contextmanager
def _machine_faults():
    """A database error, full disk or the like anywhere in a run is the machine's fault."""
    try:
        yield
    except MachineFault:
        raise
    except Exception as exc:
        fault = as_machine_fault(exc)
        if fault is None:
            raise
        raise fault from exc


@contextmanager
def _stop_on_signals():
    """SIGTERM stops a run as Ctrl-C does (a :class:`Stopped`, a KeyboardInterrupt): the
    learner in flight is put back by the journal and the workers are ended."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        _stopping.set()
        raise Stopped(f"stopped by {signal.Signals(signum).name}")

    _stopping.clear()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_stopping = threading.Event()  # set once a stop was asked for in this run


AFTER_LEARNER_ENV = "HCWH_TEST_AFTER_LEARNER"  # tests only: "N:SIGNAL" sends SIGNAL to this run after N learners


IN_ENGINE_ENV = "HCWH_TEST_IN_ENGINE"  # tests only: "LEARNER:SIGNAL" sends SIGNAL to this run as LEARNER's grading begins


def _before_engine(module_id: str, student_id: str) -> None:
    """Called when the nbgrader engine starts on a learner (the journal begun): a test's place."""
    learner, _, name = os.environ.get(IN_ENGINE_ENV, "").partition(":")
    if learner == student_id:
        os.kill(os.getpid(), getattr(signal, name))


def _after_learner(n: int) -> None:
    """Called once each learner is written (the journal committed): the test hook's place."""
    hook = os.environ.get(AFTER_LEARNER_ENV, "")
    if hook:
        count, _, name = hook.partition(":")
        if n == int(count):
            os.kill(os.getpid(), getattr(signal, name))


def _grade_learner(s: Settings, ctx: preflight.Context, book: journal.Journal, grade_one: GradeOne,
                   module_id: str, student_id: str) -> Result:
    verdict = preflight.check_submission(ctx, module_id, student_id)
    with course.gradebook(s) as gb:
        before = book.begin(gb, module_id, student_id)
    try:
        reason = verdict.reason
        if verdict.accepted:
            _before_engine(module_id, student_id)
            try:
                grade_one(s, module_id, student_id)
            except (NbgraderError, MissingEntry, OSError, ValueError) as exc:
                fault = as_machine_fault(exc)
                words = machine_fault_in(str(exc))
                if fault is not None:
                    raise fault from exc
                if words is not None:
                    raise MachineFault(f"{words} (while grading {module_id} {student_id}): "
                                       f"{failure_reason(str(exc))}") from exc
                if _stopping.is_set():  # nbgrader turns a Ctrl-C inside it into a failure: it is a stop
                    raise Stopped("stopped") from exc
                fault = engine_fault(s, module_id, student_id, str(exc))
                if fault is not None:
                    raise fault from exc
                reason = engine_failure_reason(str(exc))
        with course.gradebook(s) as gb:
            result = _settle(s, ctx, gb, verdict, module_id, student_id, reason, before)
        book.commit()
    except BaseException:
        _put_back(s, book)
        raise
    return result


def _put_back(s: Settings, book: journal.Journal) -> None:
    """The learner in flight as before: the graded copy at once, the record if the gradebook
    can be written (else it stays in the journal and the next run puts it back)."""
    try:
        book.restore_graded()
        with course.gradebook(s) as gb:
            book.rollback(gb)
    except Exception:
        pass


def _settle(s: Settings, ctx: preflight.Context, gb: Gradebook, verdict: preflight.Verdict, module_id: str,
            student_id: str, reason: str | None, before: dict | None) -> Result:
    """After the engine: keep the trainer's manual work on a graded learner, or record a
    complete 0 for one that failed (no graded copy left half-made; the reason kept for
    their feedback page, see rejections.py). Both engines end each learner here."""
    if reason is None:
        journal.keep_manual_work(gb, module_id, student_id, before)
        sub = gb.find_submission(module_id, student_id)
        score, max_score, manual = float(sub.score), float(sub.max_score), bool(sub.needs_manual_grade)
        notes = list(verdict.notes) + _explain(s, ctx, module_id, student_id)
        rejections.clear(s, module_id, student_id)
    else:
        journal.record_zero(gb, module_id, student_id, verdict.submitted_at)
        score, max_score, manual = 0.0, float(gb.find_assignment(module_id).max_score), False
        notes = list(verdict.notes)
        journal.remove_graded(s, module_id, student_id)
        rejections.record(s, module_id, student_id, reason, max_score)
    return Result(module_id, student_id, graded=reason is None, score=score, max_score=max_score,
                  needs_manual=manual, reason=reason, notes=tuple(notes), late=verdict.late,
                  on_roster=verdict.on_roster)


def _grade_fast(s: Settings, ctx: preflight.Context, book: journal.Journal, todo: list[tuple[str, str]],
                report: AutogradeReport, progress: Progress, workers: int | None) -> None:
    """The fast engine (autograde/grading/fast.py): the same preflight verdicts, notes, zero
    records and kept manual work as one learner at a time, for many learners at once.
    Workers grade into a staging folder; this process writes each learner in turn,
    all-or-nothing through the journal, as the nbgrader engine does."""
    from autograde.grading import fast as fastgrade

    fastgrade.remove_staging(s)  # what a stopped or killed run left: never written, so never in use
    verdicts = {job: preflight.check_submission(ctx, *job) for job in todo}
    n = 0

    def write(module_id: str, student_id: str, reason: str | None, apply=None) -> None:
        nonlocal n
        with course.gradebook(s) as gb:
            before = book.begin(gb, module_id, student_id)
        try:
            with course.gradebook(s) as gb:
                if apply is not None:
                    apply(gb)
                result = _settle(s, ctx, gb, verdicts[(module_id, student_id)], module_id, student_id, reason, before)
                gb.db.commit()
            book.commit()
        except BaseException:
            _put_back(s, book)
            raise
        report.add(result)
        n += 1
        for line in result.lines(f"[{n}/{len(todo)}] {module_id} {student_id} ..."):
            progress(line)
        _after_learner(n)

    for job, verdict in verdicts.items():
        if not verdict.accepted:
            write(*job, verdict.reason)

    def write_result(r: "fastgrade.JobResult", writer: "fastgrade.GradebookWriter") -> None:
        fault = None if r.ok else engine_fault(s, r.module_id, r.student_id, r.reason)
        if fault is not None:
            raise fault  # before this learner is begun: nothing of theirs changes

        def apply(gb: Gradebook) -> None:
            writer.apply(r, gb)  # nbgrader's rules, in this learner's session
            fastgrade.swap_in_graded(s, r)  # the old copy is in the journal until commit

        write(r.module_id, r.student_id, None if r.ok else engine_failure_reason(r.reason), apply)

    accepted = [job for job, v in verdicts.items() if v.accepted]
    fastgrade.grade(s, nbgrader_config(s), accepted, workers=workers, write=write_result)


# fast: autograde/grading/fast.py, many learners at once (the default); nbgrader: its own autograde
ENGINES: dict[str, Engine] = {"fast": _grade_fast, "nbgrader": _grade_nbgrader}


def _explain(s: Settings, ctx: preflight.Context, module_id: str, student_id: str) -> list[str]:
    notes = []
    for name in ctx.references(module_id):
        path = s.course_dir / "autograded" / student_id / module_id / f"{name}.ipynb"
        try:
            notes += preflight.explain(json.loads(path.read_text(encoding="utf-8")), timeout=s.timeout)
        except (OSError, ValueError):
            notes.append(f"the graded {name}.ipynb could not be read back")
    return notes


def feedback(s: Settings, module_ids: list[str] | None = None, progress: Progress = print) -> dict[str, int]:
    """nbgrader generate_feedback then release_feedback for each module; module -> feedback files."""
    out = {}
    for module_id in _released(s, module_ids):
        if not any((s.course_dir / "autograded").glob(f"*/{module_id}")) and not any((s.course_dir / rejections.FOLDER / module_id).glob("*.json")):
            progress(f"feedback {module_id}: nothing autograded yet (run 'hcwh collect' and 'hcwh autograde' first)")
            out[module_id] = 0
            continue
        course.generate_feedback(s, module_id)
        rejected = rejections.write_feedback(s, module_id)
        with course.gradebook(s) as gb:  # the learner's own feedback page's data, beside nbgrader's HTML
            results.write(s, module_id, gb)
        course.release_feedback(s, module_id)
        files = sorted((s.course_dir / "feedback").glob(f"*/{module_id}/*.html"))
        out[module_id] = len(files)
        progress(f"feedback {module_id}: {len(files)} file(s) generated in {s.course_dir / 'feedback'} "
                 f"and released to {s.exchange_dir / s.course_id / 'feedback'}")
        if rejected:
            progress(f"  of which {len(rejected)} ask the learner to submit again (their submission could not "
                     f"be graded): {', '.join(rejected)}")
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
