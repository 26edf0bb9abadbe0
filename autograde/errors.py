"""Error types shared by the whole of autograde (standard library and curriculum.errors only).

A :class:`MachineFault` is a fault of the machine, never of the learner's submission:
a grading worker or sandbox that cannot start or stops answering, a gradebook that is
locked or gone, a full disk, the grader itself stopped. When one is raised, autograde
records no score, deletes no graded copy and writes no rejection note: the learner in
flight is put back as before and the run stops, saying what broke
(``hcwh autograde`` exits with :data:`EXIT_MACHINE_FAULT`).
"""

from __future__ import annotations

import errno
import re

from curriculum.errors import HcwhError

EXIT_MACHINE_FAULT = 3  # hcwh autograde: the machine broke, no learner was changed
EXIT_STOPPED = 130  # hcwh autograde: stopped by Ctrl-C or SIGTERM, as a shell reports SIGINT


class NbgraderError(HcwhError, RuntimeError):
    """nbgrader reported a failure, or a course step cannot run yet (the message says which)."""


class MachineFault(RuntimeError):
    """Grading could not go on because of the machine, not the submission."""


class Stopped(KeyboardInterrupt):
    """The grader was asked to stop (SIGTERM; Ctrl-C raises KeyboardInterrupt itself)."""


# errno values that say the machine, not the notebook, is at fault
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOMEM, errno.EMFILE,
                            errno.ENFILE})

# Words in an engine's log or an exception's text that mark a machine fault, with what to
# tell the trainer. Looked for in this order.
_MACHINE_WORDS = (
    (re.compile(r"database is locked|database table is locked", re.I),
     "the gradebook database is locked by another program (formgrader or another tool writing to it)"),
    (re.compile(r"database or disk is full|No space left on device|Errno 28\b|Disk quota exceeded|Errno 122\b", re.I),
     "the disk is full"),
    (re.compile(r"unable to open database file|no such table|disk I/O error|readonly database|"
                r"attempt to write a readonly database|Read-only file system|Errno 30\b", re.I),
     "the gradebook database cannot be read or written (gone, moved or read-only)"),
    (re.compile(r"Kernel died before replying to kernel_info|Kernel didn't respond in \d+ seconds|"
                r"Failed to start the kernel|SandboxUnavailable", re.I),
     "the grading kernel or its sandbox could not start"),
    (re.compile(r"the grading worker could not start|the grading sandbox did not start|"
                r"the grading sandbox stopped answering", re.I),
     "the grading worker or its sandbox could not start, or stopped answering"),
)


def machine_fault_in(text: str) -> str | None:
    """What broke, in words, if ``text`` (an engine's log or an error message) shows a
    machine fault; None if it does not (then the submission is to blame)."""
    for pattern, words in _MACHINE_WORDS:
        if pattern.search(text):
            return words
    return None


def as_machine_fault(exc: BaseException) -> MachineFault | None:
    """``exc`` as a MachineFault if it is one of the machine's (a database error, a full
    disk, ...), else None. Looks along the exception's causes."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MachineFault):
            return seen
        if isinstance(seen, OSError) and seen.errno in MACHINE_ERRNOS:
            return MachineFault(f"{_errno_words(seen.errno)}: {seen}")
        module = type(seen).__module__
        if type(seen).__name__ == "OperationalError" and module.split(".")[0] in ("sqlite3", "sqlalchemy"):
            words = machine_fault_in(str(seen)) or "the gradebook database failed"
            return MachineFault(f"{words}: {_first_line(seen)}")
        seen = seen.__cause__ or seen.__context__
    return None


def _errno_words(code: int | None) -> str:
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    if code == errno.EROFS:
        return "the file system is read-only"
    if code in (errno.EMFILE, errno.ENFILE, errno.ENOMEM):
        return "the machine ran out of resources"
    return "the disk failed"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
