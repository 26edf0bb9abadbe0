"""A hub service ends when the hub that started it is gone.

JupyterHub stops its managed services when it shuts down cleanly; a hub that is killed outright
(SIGKILL, an out-of-memory kill, a crash) leaves them running, holding their ports, so the next hub
start finds its service ports taken. Each of the project's services calls ``end_with_parent`` before
it serves: it watches its parent process and stops the service's event loop when the parent changes
(the orphan is re-parented to init or a subreaper). Standard library and tornado only.

Services that are not the project's own (nbgrader's formgrader, ``jupyterhub_idle_culler``) are
started through ``ends_with_hub``: util-linux ``setpriv --pdeathsig TERM`` asks the kernel to send
them SIGTERM the moment the hub process that started them ends, however it ends. Without it, a hub
stopped with SIGTERM whose service clean-up outlasted its stop (JupyterHub stops its services one
after another, up to 20 s each) left them running with ppid 1.
"""
from __future__ import annotations

import os
import sys

CHECK_MS = 2000


def end_with_parent(name: str, check_ms: int = CHECK_MS) -> None:
    """Stop the current tornado IOLoop once this process's parent is no longer the one it had."""
    from tornado.ioloop import IOLoop, PeriodicCallback

    parent = os.getppid()
    loop = IOLoop.current()

    def check() -> None:
        if os.getppid() != parent:
            print(f"{name}: the hub that started this service (pid {parent}) is gone: stopping",
                  file=sys.stderr, flush=True)
            watch.stop()
            loop.stop()

    watch = PeriodicCallback(check, check_ms)
    watch.start()


def ends_with_hub(command: list[str]) -> list[str]:
    """``command`` wrapped so the kernel sends it SIGTERM when the hub that started it ends.

    The setting survives the service's change of account (JupyterHub switches account before it runs
    the command) and its ``exec`` of a Python or a Jupyter server; the hub starts services from its main
    thread, whose end is the hub's end."""
    return ["setpriv", "--pdeathsig", "TERM", "--", *command]
