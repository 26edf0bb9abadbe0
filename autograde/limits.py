"""The limits every grading engine applies to a learner's notebook: one definition.

Read by the nbgrader engine's sandboxed kernel (``sandbox.SandboxedKernelManager``,
``sandbox.SandboxedExecute``) and by the fast engine (``fastgrade.SandboxedTemplate``,
run by ``forkserver.py``), so the two cannot drift apart. The cell time limit is
``Settings.timeout`` (nbgrader's ``Execute.timeout``). The size of a submission is here too,
shared by the hub exchange (``exchange/archive.py``) and preflight.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

MiB = 1024 * 1024
# A submission, as the exchange takes it in and preflight checks it: every file together.
MAX_SUBMISSION_BYTES = 64 * MiB
MAX_SUBMISSION_FILES = 200
# answers.json: a module's clicks write a few KB; anything far larger is not clicks, and is
# refused before a kernel reads it (so a kernel that dies is never the learner's doing).
MAX_ANSWERS_BYTES = 1 * MiB


@dataclass(frozen=True)
class Limits:
    timeout: int = 60  # wall seconds per cell; then the cell is stopped (and killed from outside)
    output_bytes: int = 4 * MiB  # printed output kept per notebook; results and errors always kept
    cpu_seconds: int = 300  # CPU seconds per notebook (RLIMIT_CPU, then killed)
    memory_bytes: int = 2048 * MiB  # address space per process (RLIMIT_AS)
    file_bytes: int = 64 * MiB  # largest file written (RLIMIT_FSIZE)
    tmp_bytes: int = 64 * MiB  # the sandbox's private /tmp and /dev/shm
    processes: int = 128  # per sandbox, where a cgroup can be made
    group_memory_bytes: int = 4096 * MiB  # every process of one sandbox together, where a cgroup can be made

    @property
    def kill_after(self) -> float:
        """Seconds after a cell's start at which the cell is killed from outside, if it
        caught every stop raised inside it (twice its time limit, and at least 5 s more)."""
        return 2 * self.timeout + 5

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT = Limits()
