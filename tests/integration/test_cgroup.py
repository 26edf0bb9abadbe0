"""A sandbox's cgroup: the process cap holds, the group is removed with everything in it,
and groups left by a grader that died are swept away."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from autograde.grading import cgroup

BOMB = """import os, time
n = 0
try:
    for _ in range(400):
        if os.fork() == 0:
            os.close(1), os.close(2)  # or the grader would wait for their output to end
            time.sleep(30)
            os._exit(0)
        n += 1
finally:
    print(n, flush=True)
"""


def test_the_process_cap_holds_and_remove_kills_what_is_left(capsys):
    group = cgroup.create(max_pids=50)
    if group is None:  # not root and no delegated cgroup: autograde must say so
        cgroup._noted = False
        cgroup.note_if_unavailable(print)
        assert "no cgroup can be created here" in capsys.readouterr().out
        pytest.skip("no cgroup can be created here (needs root or a delegated cgroup v2): the process cap is not tested")
    try:
        done = subprocess.run(group.enter_argv([sys.executable, "-c", BOMB]), capture_output=True, text=True,
                              timeout=60)
        assert int(done.stdout.split()[0]) < 50, done.stdout  # the shell became python: one of the 50
        assert "BlockingIOError" in done.stderr
        left = group.pids()  # the sleeping children outlive their parent
        assert len(left) >= 40
    finally:
        group.remove()
    assert not any(folder.exists() for folder in group.folders)
    for _ in range(500):  # killed; reaped by init a moment later
        if not any(cgroup._alive(pid) for pid in left):
            break
        time.sleep(0.01)
    assert not any(cgroup._alive(pid) for pid in left)


def test_groups_of_dead_graders_are_swept(tmp_path):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    (tmp_path / f"hcwh-{dead}-1").mkdir()  # left by a grader that died: swept
    (tmp_path / f"hcwh-{os.getpid()}-1").mkdir()  # a live grader's: kept
    (tmp_path / f"hcwh-{dead}-2" / "busy").mkdir(parents=True)  # not empty (a group still in use): kept
    (tmp_path / "other").mkdir()
    cgroup.sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"hcwh-{os.getpid()}-1", f"hcwh-{dead}-2", "other"])
