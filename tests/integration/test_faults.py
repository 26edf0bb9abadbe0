"""Faults are the machine's: a worker or sandbox that cannot start or stops answering, a
locked gradebook, a full disk, the grader killed or stopped. Each is injected for real
(an initializer that raises, a sandbox process killed from outside, an exclusive SQLite
lock held by another connection, a full tmpfs, SIGKILL/SIGINT/SIGTERM to a real
``hcwh autograde``) into a cohort already graded (ana 27/30, ben 11/30, cora's truncated
upload 0/30, with a trainer's work), on both engines. Each asserts that every gradebook
row, graded copy and rejection note is exactly as before, and that the next run completes.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from autograde.course import cycle
from autograde.errors import EXIT_MACHINE_FAULT, EXIT_STOPPED, MachineFault
from autograde.grading import fast as fastgrade
from autograde.grading import journal, sandbox
from tests.conftest import ROOT
from tests.integration.test_nothing_lost import MODULE, collected, dump, hashes, quiet, scores, trainer_grades  # noqa: F401

ENGINES = tuple(cycle.ENGINES)  # every registered engine
FINAL = {"ana": (True, 27.0, False), "ben": (True, 11.0, False), "cora": (False, 0.0, False)}


def graded_state(s) -> dict:
    """Everything a fault must leave alone: gradebook rows (with ids), graded copies, rejection notes."""
    return {"rows": dump(s), "graded": hashes(s.course_dir / "autograded"),
            "rejected": hashes(s.course_dir / "rejected")}


@pytest.fixture()
def graded(collected, tmp_path):  # noqa: F811
    s = replace(collected, state_dir=tmp_path / "state")
    shutil.copytree(collected.state_dir, s.state_dir, symlinks=True)
    return s


def _grade_once(s, engine):
    cycle.autograde(s, [MODULE], progress=quiet, engine=engine, workers=1)
    trainer_grades(s)
    return graded_state(s)


def _next_run_completes(s, engine, reference):
    report = cycle.autograde(s, [MODULE], progress=quiet, engine=engine, workers=1)
    assert scores(report) == FINAL
    after = graded_state(s)
    assert after["rows"] == reference["rows"] and after["rejected"] == reference["rejected"]
    assert after["graded"].keys() == reference["graded"].keys()  # graded again (execution times differ)


def _assert_fault(s, engine, reference, words):
    lines: list[str] = []
    try:
        cycle.autograde(s, [MODULE], progress=lines.append, engine=engine, workers=1)
    except MachineFault as exc:
        assert words in str(exc), str(exc)
        return exc
    pytest.fail("no MachineFault; the run said:\n" + "\n".join(lines))


# -- worker or sandbox cannot start ------------------------------------------------------

def test_fast_worker_that_cannot_start_changes_nobody(graded, monkeypatch):
    reference = _grade_once(graded, "fast")
    monkeypatch.setenv(fastgrade.FAULT_ENV, "no sandbox today")  # the worker's initializer raises
    _assert_fault(graded, "fast", reference, "the grading worker could not start: MachineFault: no sandbox today")
    assert graded_state(graded) == reference
    monkeypatch.delenv(fastgrade.FAULT_ENV)
    _next_run_completes(graded, "fast", reference)


def test_nbgrader_kernel_sandbox_that_cannot_start_changes_nobody(graded, monkeypatch, tmp_path):
    reference = _grade_once(graded, "nbgrader")
    broken = tmp_path / "bwrap"
    broken.write_text("#!/bin/sh\necho 'bwrap: cannot start' >&2\nexit 1\n")
    broken.chmod(0o755)
    # once grading has begun (the sandbox check passed), bwrap stops working
    monkeypatch.setattr(cycle, "_before_engine", lambda m, sid: monkeypatch.setattr(sandbox, "bwrap_path", lambda: str(broken)))
    _assert_fault(graded, "nbgrader", reference, "could not start")
    assert graded_state(graded) == reference
    monkeypatch.undo()
    _next_run_completes(graded, "nbgrader", reference)


# -- the sandbox stops answering ---------------------------------------------------------

def _before_each_notebook_reply(monkeypatch, act) -> None:
    """Run ``act(template)`` as the fast engine's template starts waiting for a notebook's reply."""
    read_line = fastgrade.SandboxedTemplate._read_line

    def acted_then_read(self, timeout):
        if timeout != 60:  # the reply to a notebook (60: the ready line)
            act(self)
        return read_line(self, timeout)

    monkeypatch.setattr(fastgrade.SandboxedTemplate, "_read_line", acted_then_read)


def test_fast_sandbox_killed_from_outside_changes_nobody(graded, monkeypatch):
    reference = _grade_once(graded, "fast")
    _before_each_notebook_reply(monkeypatch, lambda template: os.killpg(template.proc.pid, signal.SIGKILL))
    _assert_fault(graded, "fast", reference, "the grading sandbox stopped answering")
    assert graded_state(graded) == reference
    monkeypatch.undo()
    _next_run_completes(graded, "fast", reference)


def _pythons_running(marker: bytes) -> dict[int, int]:
    """pid -> parent pid of every Python process whose command line holds ``marker`` (not bwrap, prlimit)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if argv.split(b"\0", 1)[0].endswith((b"python", b"python3")) and marker in argv:
            found[int(proc.name)] = ppid
    return found


def _kill_the_kernel() -> None:
    """SIGKILL the sandboxed kernel (python -m ipykernel_launcher) from outside, as the OOM killer would."""
    for pid in _pythons_running(b"ipykernel_launcher"):
        os.kill(pid, signal.SIGKILL)


def test_nbgrader_kernel_killed_from_outside_while_it_runs_changes_nobody(graded, monkeypatch):
    """Only the module's own code runs, so a kernel that dies mid-notebook is the machine's, never a zero."""
    reference = _grade_once(graded, "nbgrader")
    run_cell = sandbox.SandboxedExecute.preprocess_cell
    cells = []

    def killed_at_the_third_code_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cells.append(index)
            if len(cells) == 3:
                _kill_the_kernel()
        return run_cell(self, cell, resources, index)

    monkeypatch.setattr(sandbox.SandboxedExecute, "preprocess_cell", killed_at_the_third_code_cell)
    _assert_fault(graded, "nbgrader", reference, "the grading kernel failed while grading")
    assert len(cells) == 3  # the notebook was running, and stopped there
    assert graded_state(graded) == reference
    monkeypatch.undo()
    _next_run_completes(graded, "nbgrader", reference)


def _kill_a_forked_notebook(deadline: float) -> bool:
    """SIGKILL a notebook's process in the fast engine's sandbox (a child of the forkserver template)."""
    while time.monotonic() < deadline:
        servers = _pythons_running(b"forkserver.py")
        for pid, ppid in servers.items():
            if ppid in servers:  # forked by the template: a notebook running
                os.kill(pid, signal.SIGKILL)
                return True
        time.sleep(0.005)
    return False


def test_fast_notebook_killed_from_outside_while_it_runs_changes_nobody(graded, monkeypatch):
    """The fast engine's notebook process killed mid-run (the template lives on): the machine's."""
    reference = _grade_once(graded, "fast")
    killed = []

    def kill_once(template):
        if not killed:
            killed.append(_kill_a_forked_notebook(time.monotonic() + 60))

    _before_each_notebook_reply(monkeypatch, kill_once)
    _assert_fault(graded, "fast", reference, "the grading kernel failed while grading")
    assert graded_state(graded) == reference
    monkeypatch.undo()
    _next_run_completes(graded, "fast", reference)


# -- the gradebook is locked by another program -------------------------------------------

class ExclusiveLock:
    """Another program holding the SQLite gradebook (BEGIN EXCLUSIVE) until released."""

    def __init__(self, path: Path):
        self.path, self.conn = path, None

    def take(self, *args) -> None:
        if self.conn is None:
            self.conn = sqlite3.connect(self.path, isolation_level=None)
            self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        if self.conn is not None:
            self.conn.execute("ROLLBACK")
            self.conn.close()
            self.conn = None


@pytest.mark.parametrize("engine", ENGINES)
def test_a_locked_gradebook_changes_nobody(graded, monkeypatch, engine):
    reference = _grade_once(graded, engine)
    lock = ExclusiveLock(graded.course_dir / "gradebook.db")
    if engine == "fast":  # after cora (rejected, written first): the workers and the writer meet the lock
        monkeypatch.setattr(cycle, "_after_learner", lambda n: lock.take() if n == 1 else None)
    else:  # inside ana's grading: nbgrader's own autograde meets the lock
        monkeypatch.setattr(cycle, "_before_engine", lock.take)
    try:
        _assert_fault(graded, engine, reference, "the gradebook database is locked")
    finally:
        lock.release()
    assert graded_state(graded) == reference
    monkeypatch.undo()
    _next_run_completes(graded, engine, reference)


# -- the disk is full ------------------------------------------------------------------------

@pytest.fixture()
def small_disk(graded, tmp_path):
    """The course's state on its own 64 MiB tmpfs, which a test can fill."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", str(mnt)], check=True)
    try:
        s = replace(graded, state_dir=mnt / "state")
        shutil.copytree(graded.state_dir, s.state_dir, symlinks=True)
        yield s
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
                    f.flush()
            except OSError:
                pass
    return filler


@pytest.mark.parametrize("engine", ENGINES)
def test_a_full_disk_changes_nobody(small_disk, monkeypatch, engine):
    s = small_disk
    reference = _grade_once(s, engine)
    filled = []
    take = lambda *a: filled.append(fill(s.state_dir)) if not filled else None  # noqa: E731
    if engine == "fast":
        monkeypatch.setattr(cycle, "_after_learner", lambda n: take() if n == 1 else None)
    else:
        monkeypatch.setattr(cycle, "_before_engine", take)
    _assert_fault(s, engine, reference, "the disk is full")
    filled[0].unlink()
    monkeypatch.undo()
    # a rollback that could not write the gradebook leaves its journal: the next run says so and repairs
    assert graded_state(s) == reference
    _next_run_completes(s, engine, reference)


# -- the grader killed or stopped: a real hcwh autograde -------------------------------------

def _changed_input(s) -> None:
    """ana's answers file gone from her (same) submission: every autograded test scores 0;
    the trainer's reflection scores (3 + 2 + 1) are kept, so ana scores 6/30."""
    (s.course_dir / "submitted" / "ana" / MODULE / "answers.json").unlink()


CHANGED = {"ana": (True, 6.0, False), "ben": (True, 11.0, False), "cora": (False, 0.0, False)}


def _hcwh(s, engine, hook=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCWH_")}
    if hook:
        env[cycle.AFTER_LEARNER_ENV] = hook
    return subprocess.Popen([sys.executable, "-m", "autograde.cli", "--state-dir", str(s.state_dir), "autograde",
                             MODULE, "--engine", engine, "--workers", "1"], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ana_score(s) -> float:
    return cycle.submission_score(s, MODULE, "ana")[0]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_stopped_or_killed_run_leaves_a_consistent_gradebook_the_next_run_completes(graded, engine, how):
    reference = _grade_once(graded, engine)
    _changed_input(graded)
    # the run signals itself once its 2nd learner is written: fast (1 worker): cora, then ana;
    # nbgrader: ana, then ben. Either way ana (changed) is written and graded again.
    proc = _hcwh(graded, engine, hook=f"2:{how}")
    lines, signalled = [], None
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("[2/3]"):
                signalled = time.monotonic()
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything of that run left behind (a SIGKILLed coordinator's workers)
        except ProcessLookupError:
            pass
    seconds = time.monotonic() - signalled
    stderr = proc.stderr.read()
    print(f"{engine} {how}: exited {code} {seconds:.2f} s after the signal")
    assert code == {"SIGKILL": -9, "SIGINT": EXIT_STOPPED, "SIGTERM": EXIT_STOPPED}[how], (code, stderr)
    if how != "SIGKILL":
        assert "was put back as before" in stderr, stderr
    # nothing of the bound on the rest of the run: it must simply stop (60 s above) and be consistent
    assert _ana_score(graded) == 6.0  # the changed learner was written before the stop
    rows = dump(graded)
    assert rows["counts"] == reference["rows"]["counts"]
    assert rows["submissions"][MODULE, "ben"] == reference["rows"]["submissions"][MODULE, "ben"]
    assert rows["submissions"][MODULE, "cora"] == reference["rows"]["submissions"][MODULE, "cora"]
    if engine == "fast":  # ben was in flight in the worker: his graded copy untouched
        ben = lambda h: {k: v for k, v in h.items() if k.startswith("ben/")}  # noqa: E731
        assert ben(hashes(graded.course_dir / "autograded")) == ben(reference["graded"])
    report = cycle.autograde(graded, [MODULE], progress=quiet, engine=engine, workers=1)  # the next run completes
    assert scores(report) == CHANGED
    assert not (graded.course_dir / journal.JOURNAL_DIR / "journal.json").exists()


def test_hcwh_autograde_exits_with_the_machine_fault_code(graded):
    reference = _grade_once(graded, "fast")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCWH_")}
    env[fastgrade.FAULT_ENV] = "no sandbox today"
    done = subprocess.run([sys.executable, "-m", "autograde.cli", "--state-dir", str(graded.state_dir), "autograde",
                           MODULE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_MACHINE_FAULT, (done.returncode, done.stderr)
    assert "the machine is at fault" in done.stderr and "no sandbox today" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert graded_state(graded) == reference
