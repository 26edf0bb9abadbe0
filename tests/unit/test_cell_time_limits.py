"""The fast engine's cell time limit, whatever the cell catches: forkserver.py run as
the grading sandbox runs it (here without the sandbox, which does not change the timer)."""

from __future__ import annotations

import json
import subprocess
import sys

from autograde.grading.fast import FORKSERVER

CAUGHT = "import time\nwhile True:\n    try:\n        time.sleep(100)\n    except BaseException:\n        pass"
STUCK = "import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])\nwhile True:\n    pass"


def run(cells, timeout=1, kill_after=3):
    proc = subprocess.Popen([sys.executable, str(FORKSERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(proc.stdout.readline())["status"] == "ready"
        request = {"cells": cells, "workdir": "/tmp", "timeout": timeout, "kill_after": kill_after, "wall": 600, "limits": {}}
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


def ename(outputs):
    return [o.get("ename") for o in outputs if o["output_type"] == "error"]


def test_a_cell_that_catches_every_timeout_costs_that_cell_only():
    reply = run(["x = 41", CAUGHT, "print(x + 1)"])
    assert reply["status"] == "ok", reply
    first, caught, after = reply["outputs"]
    assert ename(caught) == ["CellTimeoutError"]  # stopped inside the cell, not by a kill from outside
    assert "killed" not in json.dumps(caught)
    assert after == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]  # the next cell ran, with its state


def test_except_exception_does_not_catch_the_timeout():
    reply = run(["import time\ntry:\n    time.sleep(100)\nexcept Exception:\n    print('caught')", "1 + 1"])
    stopped, after = reply["outputs"]
    assert ename(stopped) == ["CellTimeoutError"]
    assert not [o for o in stopped if o["output_type"] == "stream"]  # 'caught' never printed
    assert after[0]["data"] == {"text/plain": "2"}


def test_a_cell_that_blocks_the_timer_is_killed_from_outside_and_the_rest_still_run():
    reply = run(["x = 41", STUCK, "print('after', x)"])
    assert reply["status"] == "ok", reply
    _, stuck, after = reply["outputs"]
    assert ename(stuck) == ["CellTimeoutError"] and "the cell was killed" in json.dumps(stuck)
    assert after == [{"output_type": "stream", "name": "stdout", "text": "after 41\n"}]  # earlier cells re-run for their state
