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
    # CPU niceness of the fast engine's grading (its workers and sandboxes, and their sessions' autogroups:
    # autograde/grading/priority.py): Linux's weight 110 at nice 10, against 512 for a learner's page and
    # 1024 for anything else, so a cohort's pages come first and grading still gets a tenth of a core beside
    # a busy default process (at 19, weight 15, a busy machine could starve an honest cell past its time limit).
    nice: int = 10

    @property
    def kill_after(self) -> float:
        """Seconds after a cell's start at which the cell is killed from outside, if it
        caught every stop raised inside it (twice its time limit, and at least 5 s more)."""
        return 2 * self.timeout + 5

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT = Limits()


# -- a learner's server on the hub ------------------------------------------------------------------------
# What one learner's page (jupyterhub-singleuser, its kernels, Voilà's kernels) may use, and when idle pages
# and kernels are stopped. Read by the hub (hub/jupyterhub_config.py: the spawner's cgroup, the idle culler,
# kernel culling, spawn limits) and by the learner's page itself (autograde/idlenotice.py: the warning
# before an idle stop), each from the same environment variables, so the two cannot disagree.


@dataclass(frozen=True)
class LearnerLimits:
    memory_bytes: int = 1024 * MiB  # every process of one learner's page together (cgroup memory)
    processes: int = 256  # processes and threads of one learner's page together (cgroup pids)
    cpu_weight: int = 50  # share of the CPU when it is contended, cgroup v2 units (a default group is 100)
    cpus: float = 1.0  # at most this many cores' time (cgroup CPU quota)
    idle_timeout: int = 5400  # seconds without activity before the idle culler stops a page
    cull_every: int = 60  # how often the idle culler looks (a page stops up to this much after the timeout)
    warn_before: int = 600  # the page warns this many seconds before an idle stop ("I need more time")
    kernel_idle_timeout: int = 1200  # a kernel no page is connected to, idle this long, is shut down
    kernel_cull_interval: int = 120  # how often the learner's server looks for such kernels
    concurrent_spawns: int = 10  # pages starting at once, then "too many people" (JupyterHub 429)
    active_servers: int = 40  # pages running at once, then "too many people"
    start_timeout: int = 120  # seconds a page may take to start
    http_timeout: int = 90  # seconds a started page may take to answer

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"learner limit {name} must be above 0, got {value!r}")
        if self.cpu_weight > 10000:
            raise ValueError(f"learner limit cpu_weight must be at most 10000 (cgroup v2's range), got {self.cpu_weight}")
        if self.warn_before >= self.idle_timeout:
            raise ValueError(f"the idle warning ({self.warn_before} s before) must come after the page's last "
                             f"activity: it must be less than the idle timeout ({self.idle_timeout} s)")

    @property
    def cpu_shares(self) -> int:
        """cgroup v1's ``cpu.shares`` for ``cpu_weight`` (1024 there is 100 here)."""
        return max(2, self.cpu_weight * 1024 // 100)

    def as_env(self) -> dict[str, str]:
        """These limits as the environment variables ``from_env`` reads (for the learner's page)."""
        out = {}
        for name, (var, _, unit) in LEARNER_ENV_VARS.items():
            value = getattr(self, name)
            out[var] = str(value // unit if unit != 1 else value)
        return out

    @classmethod
    def from_env(cls, environ) -> "LearnerLimits":
        """The defaults above, each overridden by its ``HCWH_*`` variable (``LEARNER_ENV_VARS``) when set;
        a value that is not a number, or out of range, is a ``ValueError`` naming the variable."""
        values = {}
        for name, (var, kind, unit) in LEARNER_ENV_VARS.items():
            raw = environ.get(var)
            if raw in (None, ""):
                continue
            try:
                value = kind(raw.strip())
            except ValueError:
                raise ValueError(f"{var}={raw!r} is not a number ({LEARNER_ENV_HELP[name]})") from None
            if not value > 0:
                raise ValueError(f"{var}={raw!r} must be above 0 ({LEARNER_ENV_HELP[name]})")
            values[name] = value * unit
        try:
            return cls(**values)
        except ValueError as e:
            raise ValueError(f"{e} (from {', '.join(LEARNER_ENV_VARS[n][0] for n in values) or 'the defaults'})") from None


# field -> (environment variable, type, unit multiplier)
LEARNER_ENV_VARS = {
    "memory_bytes": ("HCWH_LEARNER_MEMORY_MB", int, MiB),
    "processes": ("HCWH_LEARNER_PROCESSES", int, 1),
    "cpu_weight": ("HCWH_LEARNER_CPU_WEIGHT", int, 1),
    "cpus": ("HCWH_LEARNER_CPUS", float, 1),
    "idle_timeout": ("HCWH_IDLE_TIMEOUT", int, 1),
    "cull_every": ("HCWH_IDLE_CULL_EVERY", int, 1),
    "warn_before": ("HCWH_IDLE_WARN_BEFORE", int, 1),
    "kernel_idle_timeout": ("HCWH_KERNEL_IDLE_TIMEOUT", int, 1),
    "kernel_cull_interval": ("HCWH_KERNEL_CULL_INTERVAL", int, 1),
    "concurrent_spawns": ("HCWH_CONCURRENT_SPAWNS", int, 1),
    "active_servers": ("HCWH_ACTIVE_SERVERS", int, 1),
    "start_timeout": ("HCWH_START_TIMEOUT", int, 1),
    "http_timeout": ("HCWH_HTTP_TIMEOUT", int, 1),
}
LEARNER_ENV_HELP = {
    "memory_bytes": "MiB of memory for one learner's page and everything it starts",
    "processes": "processes and threads of one learner's page",
    "cpu_weight": "CPU weight of one learner's page, 1-10000, 100 = a default group",
    "cpus": "cores' worth of CPU time one learner's page may use",
    "idle_timeout": "seconds idle before a page is stopped",
    "cull_every": "seconds between the idle culler's checks",
    "warn_before": "seconds before an idle stop that the page warns",
    "kernel_idle_timeout": "seconds an unconnected kernel may stay idle",
    "kernel_cull_interval": "seconds between the server's kernel checks",
    "concurrent_spawns": "pages starting at once",
    "active_servers": "pages running at once",
    "start_timeout": "seconds a page may take to start",
    "http_timeout": "seconds a started page may take to answer",
}


def idle_notice_times(last_activity: float, limits: LearnerLimits) -> tuple[float, float, float]:
    """When a page whose last activity (as the hub records it) was at ``last_activity`` (seconds) is warned,
    and between which two times the idle culler stops it: the culler stops a page idle longer than
    ``idle_timeout`` when it next looks, at most ``cull_every`` later. Returns (warn at, stop from, stop by)."""
    stop_from = last_activity + limits.idle_timeout
    return stop_from - limits.warn_before, stop_from, stop_from + limits.cull_every
