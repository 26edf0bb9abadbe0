"""Grading yields the CPU to learners' pages (issue 17: a module page opened while a cohort is
autograded). Niceness alone does not do it where Linux groups each session into an autogroup:
the grading sandbox starts a session of its own (bwrap --new-session), so its autogroup must be
lowered too, and the fast engine's per-learner children must stay in the template's session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograde.grading import priority, sandbox
from autograde.grading.fast import FORKSERVER
from autograde.limits import DEFAULT, LearnerLimits

REPORT = ("import os, json; ag = open('/proc/self/autogroup').read() if os.path.exists('/proc/self/autogroup') else None;"
          " print(json.dumps({'nice': os.nice(0), 'autogroup': ag}))")
HAS_AUTOGROUP = Path("/proc/self/autogroup").exists()


def _autogroup_name(text: str) -> str:
    """``/autogroup-N`` from a line of /proc/self/autogroup. A process in the kernel's default
    autogroup (its session never called setsid, as PID 1's and a CI runner's may not have) reads
    an empty file: its name is then the empty string, which no session of its own has."""
    return text.split()[0] if text.split() else ""


def _run(cmd: list[str]) -> dict:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, start_new_session=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_grading_runs_below_learners_pages_by_default():
    # Linux's weights: nice 10 is 110; a learner's page (cpu_weight 50) has cpu.shares 512
    assert DEFAULT.nice == 10
    assert LearnerLimits().cpu_shares == 512


def test_nice_zero_leaves_the_command_as_it_is():
    assert priority.yielding(["python", "-c", "1"], 0) == ["python", "-c", "1"]
    assert priority.yielding(["python", "-c", "1"], None) == ["python", "-c", "1"]


def test_a_yielding_command_has_niceness_19_and_so_has_its_sessions_autogroup():
    got = _run(priority.yielding([sys.executable, "-c", REPORT], 19))
    assert got["nice"] == 19  # 19 whatever this process's niceness (19 at most)
    if not HAS_AUTOGROUP:
        pytest.skip("this kernel has no autogroups (/proc/self/autogroup): niceness alone is what counts here")
    assert got["autogroup"].split()[-2:] == ["nice", "19"], got


def test_a_grading_worker_lowers_itself_in_a_session_of_its_own():
    code = ("import os, json; from autograde.grading.priority import lower_own_priority; lower_own_priority(19); "
            + REPORT.replace("'nice': os.nice(0)", "'nice': os.nice(0), 'leads': os.getsid(0) == os.getpid()"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)  # same session
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["nice"] == 19 and got["leads"] is True
    if not HAS_AUTOGROUP:
        pytest.skip("this kernel has no autogroups (/proc/self/autogroup): niceness alone is what counts here")
    assert got["autogroup"].split()[-2:] == ["nice", "19"], got
    assert got["autogroup"].split()[0] != _autogroup_name(Path("/proc/self/autogroup").read_text())  # not ours


def test_a_workers_sandbox_gets_the_workers_niceness_not_twice_it():
    """A worker at nice 10 starts its sandbox through ``yielding(…, 10)``: the sandbox runs at 10,
    not at 10 + 10 (19, where a busy machine starves it)."""
    child = "import os; print(os.nice(0))"
    code = ("import subprocess, sys; from autograde.grading import priority; priority.lower_own_priority(10); "
            f"print(subprocess.run(priority.yielding([sys.executable, '-c', {child!r}], 10), "
            "capture_output=True, text=True, check=True).stdout.strip())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) == max(10, os.nice(0))


def test_the_sandbox_runs_learner_code_at_the_given_niceness():
    if sandbox.bwrap_path() is None or sandbox.prlimit_path() is None:
        pytest.skip("bwrap or prlimit is not installed here: the grading sandbox cannot start")
    work = Path(tempfile.mkdtemp(prefix="hcwh-nice-"))
    os.chmod(work, 0o777)
    try:
        got = _run(sandbox.sandbox_argv([sys.executable, "-c", REPORT], work, nice=7))
    finally:
        work.rmdir()
    assert got["nice"] == max(7, os.nice(0))  # that niceness, or this process's if higher (never lowered)
    if HAS_AUTOGROUP:
        assert got["autogroup"].split()[-2:] == ["nice", "7"], got


def test_each_learners_child_stays_in_the_templates_session_in_a_group_of_its_own():
    """The template's session (and so its lowered autogroup) holds every learner's notebook run;
    each child still has its own process group, which is what is killed after it."""
    cell = "import os\nprint(os.getpid(), os.getpgid(0), os.getsid(0), os.getppid())"
    proc = subprocess.Popen([sys.executable, str(FORKSERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        assert json.loads(proc.stdout.readline())["status"] == "ready"
        request = {"cells": [cell], "workdir": "/tmp", "timeout": 10, "kill_after": 30, "wall": 60, "limits": {}}
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        reply = json.loads(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()
    assert reply["status"] == "ok", reply
    pid, pgid, sid, parent = map(int, reply["outputs"][0][0]["text"].split())
    assert parent == proc.pid  # the child of the template
    assert sid == proc.pid  # the template's session (it leads it: started with a new session)
    assert pgid == pid != sid  # its own process group
