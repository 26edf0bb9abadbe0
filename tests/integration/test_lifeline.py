"""A service whose hub is killed outright stops by itself (autograde/lifeline.py): a real process
tree — a stand-in hub that starts a service running ``end_with_parent``, then is SIGKILLed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

SERVICE = """
import os, sys
from tornado.ioloop import IOLoop
from autograde.lifeline import end_with_parent
end_with_parent("test service", check_ms=100)
print(os.getpid(), flush=True)
IOLoop.current().start()
print("stopped", flush=True)
"""
HUB = f"""
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", {SERVICE!r}])
time.sleep(3600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for init is gone too
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_service_stops_when_its_hub_is_killed(tmp_path):
    out = tmp_path / "service.out"
    with out.open("w") as f:
        hub = subprocess.Popen([sys.executable, "-c", HUB], stdout=f, cwd=os.getcwd())
    deadline = time.monotonic() + 60
    while not out.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    service = int(out.read_text().split()[0])
    assert _alive(service)
    time.sleep(0.5)
    assert _alive(service)  # a living hub keeps its service
    hub.send_signal(signal.SIGKILL)
    hub.wait()
    deadline = time.monotonic() + 60
    while _alive(service) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert not _alive(service), "the service outlived its hub"
        assert "stopped" in out.read_text()
    finally:
        if _alive(service):
            os.kill(service, signal.SIGKILL)
