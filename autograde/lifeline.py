"""A hub service ends when the hub that started it is gone.

JupyterHub stops its managed services when it shuts down cleanly; a hub that is killed outright
(SIGKILL, an out-of-memory kill, a crash) leaves them running, holding their ports, so the next hub
start finds its service ports taken. Each of the project's services calls ``end_with_parent`` before
it serves: it watches its parent process and stops the service's event loop when the parent changes
(the orphan is re-parented to init or a subreaper). Standard library and tornado only.
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
