"""Grading takes the CPU only when learners' pages leave it (issue 17: a module page opened while a
cohort is autograded must still be ready in 3 s).

Niceness alone does not do that on Linux, which by default groups each session into an
"autogroup" and shares the CPU between autogroups first, each at the weight of a default group:
twice a learner's page's (``LearnerLimits.cpu_weight``, their cgroups). A grading process in a
session of its own (each fast-engine worker; its sandbox, since bwrap --new-session starts one)
therefore also lowers its session's autogroup to the same niceness, where the kernel has them
(``/proc/self/autogroup``; without them niceness is what counts). The niceness itself is one limit,
``Limits.nice`` (autograde/limits.py).
"""

from __future__ import annotations

import errno
import os
import time

AUTOGROUP = "/proc/self/autogroup"
TRIES = 3  # an unprivileged write is refused (EAGAIN) for 0.1 s after any other, machine-wide

# The same steps in /bin/sh, run inside the sandbox before the command ($0: the niceness). Like
# lower_own_priority, it sets that niceness, not that much more: ``nice -n`` adds to the niceness
# the sandbox inherited (a worker's, already lowered), so it is given the difference, if any.
_YIELDING = (f'if [ -e {AUTOGROUP} ]; then for t in {" ".join(map(str, range(TRIES)))}; do '
             f'echo "$0" 2>/dev/null >{AUTOGROUP} && break; sleep 0.1; done; fi; '
             'd=$(( $0 - $(nice) )); [ "$d" -gt 0 ] || d=0; exec nice -n "$d" "$@"')


def yielding(argv: list[str], nice: int | None) -> list[str]:
    """``argv`` at CPU niceness ``nice`` (or its own, if higher; None or 0: as it is), its
    session's autogroup too."""
    if not nice:
        return list(argv)
    return ["/bin/sh", "-c", _YIELDING, str(nice), *argv]


def lower_own_priority(nice: int | None) -> None:
    """This process, in a new session whose autogroup is at niceness ``nice``, at that niceness.
    Only for a process nothing signals through its process group (a fast-engine worker: the
    coordinator ends it by its pid, and it dies with its parent). Best effort: a host that refuses
    leaves grading at its priority, which is slower for learners' pages but grades the same."""
    if not nice:
        return
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    if os.path.exists(AUTOGROUP):
        for _ in range(TRIES):
            try:
                with open(AUTOGROUP, "w") as f:
                    f.write(str(nice))
                break
            except OSError as exc:
                if exc.errno != errno.EAGAIN:
                    break
                time.sleep(0.1)
    try:
        os.nice(max(0, nice - os.nice(0)))
    except OSError:
        pass
