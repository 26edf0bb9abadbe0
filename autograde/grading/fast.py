"""The fast grading path: nbgrader's autograde, without its per-notebook overheads.

Stock ``nbgrader autograde`` spends most of each second on things that are not
grading: a fresh kernel per notebook (about half a second), a new converter and
new database connections per notebook, and a database commit per graded cell.
This path keeps nbgrader's *semantics* by running nbgrader's own preprocessors,
in nbgrader's own order, taken from nbgrader's own configuration (so whatever
``course.nbconfig.apply_nbgrader_config`` adds applies here too), and changes only:

- **execution**: each worker process owns one long-lived bubblewrap sandbox in
  which :mod:`autograde.grading.forkserver` waits, IPython pre-imported; each notebook runs
  in a child forked from it, sees only a scratch folder holding that learner's
  files, and leaves nothing behind (the template kills every process and empties
  the scratch folder, /tmp and /dev/shm after each learner);
- **source cells** (``OverwriteCells``, ``OverwriteKernelspec``) are read from the
  gradebook once per worker, not once per cell;
- **gradebook writes** (``SaveAutoGrades``, ``AssignLatePenalties``) are computed by
  the workers with nbgrader's ``determine_grade`` and written by the coordinating
  process while the workers go on, one commit per learner, with the same rules;
- **work is spread** over worker processes: a ``concurrent.futures`` executor
  (``ProcessPoolExecutor`` here; Dask's ``client.get_executor()`` speaks the same interface).

A fault of the machine (a worker or its sandbox that cannot start or stops answering,
a full disk, a locked gradebook) raises :class:`autograde.errors.MachineFault`: nothing
is written for the learner it hit.

``tests/integration/test_fastgrade.py`` and ``benchmarks/grading_benchmark.py`` check that every
score, and every grade and comment row, equals stock nbgrader's.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace

import nbformat
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, Execute, OverwriteCells, OverwriteKernelspec, SaveAutoGrades
from traitlets.config import Config

from autograde.config import Settings
from autograde.errors import MachineFault, as_machine_fault
from autograde.grading import cgroup, priority, sandbox
from autograde.limits import DEFAULT as LIMITS
from autograde.limits import Limits

FORKSERVER = Path(__file__).with_name("forkserver.py")
MiB = 1024 * 1024
STAGING_DIR = ".autograde-staging"  # in the course folder: graded copies not yet written to the gradebook


# -- results ----------------------------------------------------------------------

@dataclass
class NotebookGrades:
    """What SaveAutoGrades would write for one notebook."""

    grades: dict[str, float | None] = field(default_factory=dict)  # grade cell -> auto_score
    comments: dict[str, str | None] = field(default_factory=dict)  # solution/task cell -> auto_comment


@dataclass
class JobResult:
    module_id: str
    student_id: str
    ok: bool = True
    reason: str = ""
    fault: str = ""  # a machine fault, not the learner's: nothing may be written for them
    timestamp: object = None  # datetime from timestamp.txt, as nbgrader reads it
    notebooks: dict[str, NotebookGrades] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # notebooks not submitted: scored 0
    staged: str = ""  # the graded folder, beside the learner's current one until the result is written
    seconds: float = 0.0


# -- the gradebook's source cells, read once ------------------------------------------

class SourceCells:
    """The parts of nbgrader's Gradebook that OverwriteCells/OverwriteKernelspec read,
    loaded once from the gradebook into plain objects."""

    def __init__(self, db_url: str, course_id: str, module_ids: Iterable[str]):
        self.notebooks: dict[tuple[str, str], SimpleNamespace] = {}
        self.notebook_names: dict[str, list[str]] = {}
        with Gradebook(db_url, course_id=course_id) as gb:
            for module_id in module_ids:
                assignment = gb.find_assignment(module_id)
                self.notebook_names[module_id] = [nb.name for nb in assignment.notebooks]
                for nb in assignment.notebooks:
                    def plain(cells, *attrs):
                        return [SimpleNamespace(**{a: getattr(c, a) for a in attrs}) for c in cells]

                    self.notebooks[(module_id, nb.name)] = SimpleNamespace(
                        name=nb.name,
                        kernelspec=nb.kernelspec,
                        source_cells=plain(nb.source_cells, "name", "cell_type", "locked", "source", "checksum"),
                        grade_cells=plain(nb.grade_cells, "name", "max_score", "cell_type"),
                        solution_cells=plain(nb.solution_cells, "name"),
                        task_cells=plain(nb.task_cells, "name", "max_score"),
                    )

    def find_notebook(self, notebook_id: str, assignment_id: str) -> SimpleNamespace:
        try:
            return self.notebooks[(assignment_id, notebook_id)]
        except KeyError:
            raise MissingEntry() from None

    def _find(self, cells: str, name: str, notebook_id: str, assignment_id: str) -> SimpleNamespace:
        for cell in getattr(self.find_notebook(notebook_id, assignment_id), cells):
            if cell.name == name:
                return cell
        raise MissingEntry()

    def find_source_cell(self, name: str, notebook_id: str, assignment_id: str) -> SimpleNamespace:
        return self._find("source_cells", name, notebook_id, assignment_id)

    def find_graded_cell(self, name: str, notebook_id: str, assignment_id: str) -> SimpleNamespace:
        try:
            return self._find("grade_cells", name, notebook_id, assignment_id)
        except MissingEntry:
            return self._find("task_cells", name, notebook_id, assignment_id)


class CachedOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells, reading source cells from :class:`SourceCells`."""

    source: SourceCells | None = None

    def preprocess(self, nb: NotebookNode, resources: dict):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = self.source
        nb, resources = super(OverwriteCells, self).preprocess(nb, resources)  # per cell, nbgrader's logic
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class CachedOverwriteKernelspec(OverwriteKernelspec):
    source: SourceCells | None = None

    def preprocess(self, nb: NotebookNode, resources: dict):
        kernelspec = self.source.find_notebook(resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"]).kernelspec
        if kernelspec is not None:
            kernelspec = json.loads(kernelspec)
        if kernelspec:
            nb.metadata["kernelspec"] = kernelspec
        return nb, resources


# -- the sandboxed template ---------------------------------------------------------

class ExecutionFailed(RuntimeError):
    pass


class SandboxedTemplate:
    """One long-lived sandbox running autograde/grading/forkserver.py, with a scratch folder
    (the only thing bound writable) that holds one learner's files at a time."""

    def __init__(self, s: Settings, limits: Limits):
        self.settings = s
        self.timeout = limits.timeout
        self.kill_after = limits.kill_after
        self.nice = limits.nice
        self.limits = {"cpu": limits.cpu_seconds, "memory": limits.memory_bytes, "fsize": limits.file_bytes,
                       "output": limits.output_bytes}
        self.root = Path(tempfile.mkdtemp(prefix="hcwh-fast-")).resolve()
        os.chmod(self.root, 0o700)
        self.work = self.root / "work"
        self.proc: subprocess.Popen | None = None
        self.group: cgroup.Group | None = None

    def _start(self) -> None:
        self.work.mkdir(exist_ok=True)
        os.chmod(self.work, 0o777)  # the sandbox's "nobody" writes here
        argv = [sys.executable, str(FORKSERVER)]
        if self.settings.sandbox:
            argv.append("--sandboxed")
            self.group = cgroup.create()  # one learner at a time runs here: the caps are per learner
            cmd = sandbox.sandbox_argv(
                argv, self.work, env={"NBGRADER_EXECUTION": "autograde"},
                cpu_seconds=10**6,  # the template itself; each child gets limits["cpu"]
                memory_bytes=4096 * MiB, file_bytes=self.limits["fsize"], extra_ro=[str(FORKSERVER)],
                group=self.group, nice=self.nice,
            )
        else:
            cmd = priority.yielding(argv, self.nice)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     cwd=self.work, start_new_session=True)
        ready = self._read_line(60)
        if not ready or json.loads(ready).get("status") != "ready":
            self.stop()
            raise MachineFault(f"the grading sandbox did not start: {ready!r}")

    def _read_line(self, timeout: float) -> str | None:
        """One reply line, or None if the template died or went silent."""
        assert self.proc and self.proc.stdout
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buf = b""
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            buf += chunk
        return buf.decode("utf-8")

    def run(self, files_from: Path, cells: list[str]) -> list[list[dict]] | str:
        """Run ``cells`` with a copy of ``files_from`` as the working folder.
        Returns the outputs per cell, or the reason the notebook could not run."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        _empty(self.work)
        for entry in files_from.iterdir():
            if entry.is_file() and not entry.is_symlink():
                shutil.copyfile(entry, self.work / entry.name)
                os.chmod(self.work / entry.name, 0o666)
        wall = min(3600, self.kill_after * max(1, len(cells)))
        request = {"cells": cells, "workdir": str(self.work), "timeout": self.timeout, "kill_after": self.kill_after,
                   "wall": wall, "limits": self.limits}
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
            line = self._read_line(wall + 30)
        except BrokenPipeError:
            line = None
        finally:
            _empty(self.work)
        if line is None:
            self.stop()  # restarted for the next run
            raise MachineFault("the grading sandbox stopped answering (its process died or was killed)")
        reply = json.loads(line)
        if reply.get("status") != "ok":
            return reply.get("reason", "the notebook could not run")
        return reply["outputs"]

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None
        if self.group is not None:
            self.group.remove()
            self.group = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _empty(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


# -- one worker process ---------------------------------------------------------------

def _resolve(cls) -> type:
    """nbgrader's preprocessor lists hold classes or dotted names."""
    if isinstance(cls, str):
        from traitlets.utils.importstring import import_item

        return import_item(cls)
    return cls


class Worker:
    """Grades one submission at a time with nbgrader's preprocessors and the template."""

    def __init__(self, s: Settings, config: Config, module_ids: list[str]):
        self.settings = s
        self.config = config
        self.coursedir = CourseDirectory(config=self.config)
        self.source = SourceCells(s.gradebook_url, s.course_id, module_ids)
        converter = Autograde(coursedir=self.coursedir, config=self.config)
        self.before = [self._make(cls) for cls in converter.sanitize_preprocessors]
        after = [_resolve(cls) for cls in converter.autograde_preprocessors]
        executes = [i for i, cls in enumerate(after) if issubclass(cls, Execute)]
        if len(executes) != 1:
            raise RuntimeError(f"expected one Execute preprocessor in nbgrader's autograde list, found {len(executes)}")
        self.after = [self._make(cls) for cls in after[executes[0] + 1:]]
        self.timeout = int(self.config.Execute.get("timeout", 30) or 30)
        self.template = SandboxedTemplate(s, worker_limits(self.config, self.timeout))

    def _make(self, cls):
        cls = _resolve(cls)
        if cls is OverwriteCells:
            pp = CachedOverwriteCells(config=self.config)
        elif cls is OverwriteKernelspec:
            pp = CachedOverwriteKernelspec(config=self.config)
        elif cls in (SaveAutoGrades, AssignLatePenalties):
            return None  # the coordinator writes these (see GradebookWriter)
        else:
            pp = cls(config=self.config)
        if isinstance(pp, (CachedOverwriteCells, CachedOverwriteKernelspec)):
            pp.source = self.source
        return pp

    @staticmethod
    def _apply(pps, nb: NotebookNode, resources: dict) -> NotebookNode:
        for pp in pps:
            if pp is not None:
                nb, resources = pp(nb, resources)  # __call__ honours each one's `enabled`
        return nb

    def grade(self, module_id: str, student_id: str) -> JobResult:
        started = time.monotonic()
        result = JobResult(module_id, student_id)
        cd = self.coursedir
        src = Path(cd.format_path(cd.submitted_directory, student_id, module_id))
        # graded into a staging folder, swapped in by the coordinator once written: a fault,
        # a stop or a kill leaves the learner's graded copy as it was
        dest = Path(cd.root) / STAGING_DIR / student_id / module_id
        try:
            result.timestamp = cd.get_existing_timestamp(str(src))
            if dest.exists():
                _rmtree(dest)
            dest.mkdir(parents=True)
            ignore = cd.ignore + ["*.ipynb"]
            for filename in utils.find_all_files(str(src), ignore):
                target = dest / os.path.relpath(filename, src)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(filename, target)
            source_dir = Path(cd.format_path(cd.source_directory, ".", module_id))
            for filename in utils.find_all_files(str(source_dir), ignore):
                target = dest / os.path.relpath(filename, source_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)
                shutil.copy(filename, target)
            for notebook_id in self.source.notebook_names[module_id]:
                path = src / f"{notebook_id}.ipynb"
                if not path.exists():
                    result.missing.append(notebook_id)
                    continue
                result.notebooks[notebook_id] = self._grade_notebook(path, dest, module_id, student_id, notebook_id)
            for path in dest.rglob("*"):
                if path.is_file():
                    os.chmod(path, 0o444)  # as nbgrader leaves autograded files
            result.staged = str(dest)
        except MachineFault as exc:
            _rmtree(dest)
            result.ok, result.fault = False, str(exc)
        except (ExecutionFailed, OSError, ValueError, RuntimeError, nbformat.reader.NotJSONError) as exc:
            _rmtree(dest)  # nbgrader removes a failed assignment too
            fault = as_machine_fault(exc)
            result.ok = False
            if fault is not None:
                result.fault = str(fault)
            else:
                result.reason = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ExecutionFailed) else str(exc)
        result.seconds = time.monotonic() - started
        return result

    def _grade_notebook(self, path: Path, dest: Path, module_id: str, student_id: str, notebook_id: str) -> NotebookGrades:
        nb = nbformat.read(path, as_version=4)
        resources = {
            "unique_key": notebook_id,
            "output_files_dir": f"{notebook_id}_files",
            "nbgrader": {"student": student_id, "assignment": module_id, "notebook": notebook_id,
                         "db_url": self.settings.gradebook_url},
        }
        nb = self._apply(self.before, nb, resources)
        code = [c for c in nb.cells if c.cell_type == "code"]
        outputs = self.template.run(dest, [c.source for c in code])
        if isinstance(outputs, str):
            raise ExecutionFailed(outputs)
        for count, (cell, outs) in enumerate(zip(code, outputs), start=1):
            cell.outputs = [nbformat.from_dict(o) for o in outs]
            cell.execution_count = count
            for out in cell.outputs:
                if out.output_type == "execute_result":
                    out.execution_count = count
        nb = self._apply(self.after, nb, resources)
        grades = NotebookGrades()
        for cell in nb.cells:
            if utils.is_grade(cell):
                grades.grades[cell.metadata.nbgrader["grade_id"]] = utils.determine_grade(cell)[0]
            if utils.is_solution(cell) or utils.is_task(cell):
                unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
                grades.comments[cell.metadata.nbgrader["grade_id"]] = (
                    "No response." if unchanged and not utils.is_task(cell) else None)
        nbformat.write(nb, dest / f"{notebook_id}.ipynb")
        return grades

    def close(self) -> None:
        self.template.close()


def worker_limits(config, timeout: int) -> Limits:
    """The fast engine's limits: the same nbgrader config values the kernel sandbox reads
    (``SandboxedKernelManager.*``, ``SandboxedExecute.max_output_bytes``), defaults from
    :mod:`autograde.limits`."""
    km, ex = config.SandboxedKernelManager, config.SandboxedExecute
    return Limits(timeout=timeout, output_bytes=int(ex.get("max_output_bytes", LIMITS.output_bytes)),
                  cpu_seconds=int(km.get("cpu_seconds", LIMITS.cpu_seconds)),
                  memory_bytes=int(km.get("memory_bytes", LIMITS.memory_bytes)),
                  file_bytes=int(km.get("file_bytes", LIMITS.file_bytes)),
                  tmp_bytes=int(km.get("tmp_bytes", LIMITS.tmp_bytes)), nice=int(km.get("nice", LIMITS.nice)))


def _rmtree(path: Path) -> None:
    """Remove a folder nbgrader's way of leaving it (read-only files); nothing if absent."""
    if not path.exists():
        return
    for sub in [path, *path.rglob("*")]:
        if sub.is_dir() and not sub.is_symlink():
            os.chmod(sub, 0o700)
    shutil.rmtree(path)


_worker: Worker | None = None
_worker_error: str = ""
FAULT_ENV = "HCWH_TEST_WORKER_FAULT"  # tests only: the worker's start raises this text (a machine fault)


def _die_with_parent() -> None:
    """A worker whose coordinator was killed outright gets SIGTERM (Linux PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the coordinator died before the line above
        os._exit(1)


def _init_worker(s: Settings, config: Config, module_ids: list[str]) -> None:
    # The coordinator alone decides when to stop (Ctrl-C reaches the whole process group):
    # a worker ignores SIGINT and dies of SIGTERM, its sandbox with it (--die-with-parent).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    priority.lower_own_priority(worker_limits(config, s.timeout).nice)  # learners' pages first
    # An executor whose initializer raises is broken for good, and says only that: keep
    # the error and report it with each job, as a machine fault (see _grade_job).
    global _worker, _worker_error
    from multiprocessing.util import Finalize

    try:
        if os.environ.get(FAULT_ENV):
            raise MachineFault(os.environ[FAULT_ENV])
        _worker = Worker(s, config, module_ids)
    except Exception as exc:  # noqa: BLE001 - reported per job, see _grade_job
        _worker_error = f"the grading worker could not start: {type(exc).__name__}: {exc}"
        return
    # A worker leaves with os._exit, which skips atexit; multiprocessing's own finalizers
    # do run at a normal shutdown (a terminated worker's sandbox dies with it, and
    # cgroup.create sweeps its group away later).
    Finalize(_worker, _worker.close, exitpriority=10)


def _grade_job(job: tuple[str, str]) -> JobResult:
    if _worker is None:
        return JobResult(job[0], job[1], ok=False, fault=_worker_error or "the grading worker did not start")
    return _worker.grade(*job)


# -- the coordinator's gradebook writes -------------------------------------------------

class GradebookWriter:
    """Applies results as SaveAutoGrades and AssignLatePenalties would. The caller commits
    once per learner (nbgrader's update_or_create_* commit on their own as well)."""

    def __init__(self, s: Settings, config: Config):
        self.gb = Gradebook(s.gradebook_url, course_id=s.course_id)
        self.config = config
        self.plugin = AssignLatePenalties(config=self.config).plugin_class(config=self.config)

    def apply(self, r: JobResult, gb: Gradebook | None = None) -> None:
        gb = gb or self.gb
        gb.update_or_create_student(r.student_id)
        if r.timestamp:
            submission = gb.update_or_create_submission(r.module_id, r.student_id, timestamp=r.timestamp)
        else:
            submission = gb.update_or_create_submission(r.module_id, r.student_id)
        by_name = {nb.name: nb for nb in submission.notebooks}
        for notebook_id in r.missing:  # as nbgrader's Autograde.init_assignment
            for grade in by_name[notebook_id].grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        if r.ok:
            for notebook_id, result in r.notebooks.items():
                sub_nb = by_name[notebook_id]
                grades = {g.name: g for g in sub_nb.grades}
                for name, auto_score in result.grades.items():
                    grade = grades[name]
                    grade.auto_score = auto_score
                    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
                comments = {c.name: c for c in sub_nb.comments}
                for name, text in result.comments.items():
                    comments[name].auto_comment = text
                gb.db.flush()
                gb.db.expire(sub_nb)  # its score is a SQL expression: read it afresh
                sub_nb.late_submission_penalty = None
                if submission.total_seconds_late > 0:
                    penalty = self.plugin.late_submission_penalty(r.student_id, sub_nb.score, submission.total_seconds_late)
                    if penalty is not None:
                        sub_nb.late_submission_penalty = min(max(penalty, 0), sub_nb.score)

    def close(self) -> None:
        try:
            self.gb.db.rollback()  # whatever a stopped learner left uncommitted
        finally:
            self.gb.close()


def remove_staging(s: Settings) -> None:
    _rmtree(s.course_dir / STAGING_DIR)


def swap_in_graded(s: Settings, r: JobResult) -> None:
    """Put a result's graded folder in place of the learner's (after the old one was moved
    aside by the journal, or removed); drop it if the learner failed."""
    if not r.staged:
        return
    staged = Path(r.staged)
    final = s.course_dir / "autograded" / r.student_id / r.module_id
    if r.ok:
        _rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        staged.rename(final)
    else:
        _rmtree(staged)


# -- the entry point ----------------------------------------------------------------------

def executor(s: Settings, config: Config, module_ids: list[str], workers: int | None = None) -> ProcessPoolExecutor:
    """Worker processes on this machine (default: one per core), forked from this one so
    they inherit the imported nbgrader; each starts its sandboxed template once."""
    return ProcessPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1),
                               mp_context=multiprocessing.get_context("fork"),
                               initializer=_init_worker, initargs=(s, config, module_ids))


def stop_executor(pool: Executor) -> None:
    """Stop now: cancel what has not started and end the workers (and so their sandboxes)."""
    # ProcessPoolExecutor has no public way to end running workers (3.14 adds terminate_workers)
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        try:
            proc.terminate()
        except (OSError, ValueError):
            pass
    for proc in procs:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join(10)
    pool.shutdown(wait=True)


def grade(s: Settings, config: Config, jobs: list[tuple[str, str]], progress: Callable[[JobResult, int, int], None] | None = None,
          workers: int | None = None, pool: Executor | None = None,
          write: Callable[[JobResult, GradebookWriter], object] | None = None) -> list[JobResult]:
    """Grade ``jobs`` ((module id, learner id) pairs, already collected) and write the
    gradebook, with nbgrader's ``config`` for these settings (``course.nbconfig.nbgrader_config``:
    the caller wires nbgrader, this engine only runs it). One learner's failure is recorded in its result and never stops the others;
    a machine fault raises :class:`MachineFault` before anything of that learner is written.

    ``pool`` is any ``concurrent.futures.Executor`` whose workers ran ``_init_worker``
    (default: :func:`executor`; for Dask, ``client.get_executor()`` with a WorkerPlugin
    calling ``_init_worker``). ``write(result, writer)`` writes one result (default:
    ``writer.apply``, a commit and the graded folder swapped in); cycle.py passes its own,
    wrapped in the journal."""
    if s.sandbox:
        sandbox.require_sandbox(True)
    if not jobs:
        return []
    module_ids = sorted({m for m, _ in jobs})
    own_pool = pool is None
    pool = pool or executor(s, config, module_ids, workers)
    writer = GradebookWriter(s, config)
    results = []
    finished = False
    try:
        futures = [pool.submit(_grade_job, job) for job in jobs]
        for n, future in enumerate(as_completed(futures), start=1):
            try:
                result = future.result()
            except BrokenProcessPool as exc:
                raise MachineFault(f"a grading worker process died ({exc})") from exc
            if result.fault:
                swap_in_graded(s, replace(result, ok=False))
                raise MachineFault(f"{result.fault} (while grading {result.module_id} {result.student_id})")
            if write is not None:
                write(result, writer)
            else:
                writer.apply(result)
                writer.gb.db.commit()
                swap_in_graded(s, result)
            results.append(result)
            if progress:
                progress(result, n, len(jobs))
        finished = True
    finally:
        writer.close()
        if own_pool:
            if finished:
                pool.shutdown(wait=True)
            else:
                stop_executor(pool)
    return results


def gradebook_rows(s: Settings) -> dict[tuple[str, str, str, str], tuple]:
    """Every autograde-written row, for comparing two grading runs:
    (module, learner, notebook, cell) -> (auto_score, needs_manual_grade, auto_comment)."""
    rows: dict[tuple[str, str, str, str], tuple] = {}
    with Gradebook(s.gradebook_url, course_id=s.course_id) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                for nb in submission.notebooks:
                    comments = {c.name: c.auto_comment for c in nb.comments}
                    for g in nb.grades:
                        rows[(assignment.name, submission.student_id, nb.name, g.name)] = (
                            g.auto_score, g.needs_manual_grade, comments.pop(g.name, None))
                    for name, text in comments.items():
                        rows[(assignment.name, submission.student_id, nb.name, name)] = (None, None, text)
                    rows[(assignment.name, submission.student_id, nb.name, "(late penalty)")] = (
                        nb.late_submission_penalty, None, None)
    return rows
