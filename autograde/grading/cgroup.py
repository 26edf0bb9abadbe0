"""Caps on a whole sandbox, where the machine allows them: its number of processes
(a fork bomb) and the memory of all its processes together.

rlimits bound each process on its own (``sandbox.py``): RLIMIT_NPROC does not help
here, because a trainer running as root maps the sandbox's user to root outside it,
and the kernel never applies RLIMIT_NPROC to root. A cgroup counts every process
of the sandbox whatever its user. Each sandbox gets its own group,
``hcwh-<pid>-<n>`` beside the grader's own group, in the ``pids`` and ``memory``
hierarchies (cgroup v1, as on this project's machines) or in the unified one
(cgroup v2, when the grader's group delegates those controllers). The sandbox's
command starts with a tiny ``/bin/sh`` step that puts itself in the group and
then ``exec``s, so even its first process is counted. ``Group.remove`` kills
whatever is left in the group and removes it.

Where no group can be made (no write access to the cgroup filesystem, as for
most non-root trainers), grading still runs, sandboxed, without these two caps;
``hcwh autograde`` says so (``note_if_unavailable``).

The hub uses the same groups for each learner's page (``autograde/hub/isolation.py``,
``IsolatedSpawner``): a named group, ``hcwh-learner-<login>``, with the ``cpu`` controller
too (a weight and a quota), entered by the page's first process before it drops root.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograde.limits import DEFAULT

MiB = 1024 * 1024
MAX_PIDS = DEFAULT.processes  # grading peaks at 16 (threads count too); learners never start processes
MAX_MEMORY = DEFAULT.group_memory_bytes  # every process of one sandbox together (each is also capped by RLIMIT_AS)
CONTROLLERS = ("pids", "memory")
CPU_PERIOD_US = 100_000  # the CPU quota's period (cgroup's own default)
_counter = itertools.count(1)


def _mountinfo() -> list[tuple[str, str, set[str]]]:
    """(mount point, filesystem type, super options) of each cgroup filesystem."""
    out = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) >= 5 and len(rfields) >= 3 and rfields[0] in ("cgroup", "cgroup2"):
            out.append((fields[4], rfields[0], set(rfields[2].split(","))))
    return out


def _own_paths() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's group path, from /proc/self/cgroup."""
    out = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, names, path = line.split(":", 2)
        for name in names.split(",") if names else [""]:
            out[name] = path
    return out


def parents(controllers: tuple[str, ...] = CONTROLLERS) -> dict[str, Path]:
    """Controller -> the folder in which this process may create a group, for each
    of ``controllers`` available here (empty if none)."""
    mounts, own = _mountinfo(), _own_paths()
    found: dict[str, Path] = {}
    for controller in controllers:
        for point, kind, options in mounts:
            if kind == "cgroup" and controller in options and controller in own:
                found[controller] = Path(point) / own[controller].lstrip("/")
                break
    missing = [c for c in controllers if c not in found]
    v2 = next((Path(point) for point, kind, _ in mounts if kind == "cgroup2"), None)
    if missing and v2 is not None and "" in own:
        folder = v2 / own[""].lstrip("/")
        try:
            delegated = set((folder / "cgroup.subtree_control").read_text().split())
        except OSError:
            delegated = set()
        for controller in missing:
            if controller in delegated:
                found[controller] = folder
    return found


@dataclass
class Group:
    folders: list[Path] = field(default_factory=list)  # one per hierarchy (v1), or one (v2)

    def procs_files(self) -> list[Path]:
        return [folder / "cgroup.procs" for folder in self.folders]

    def enter_argv(self, argv: list[str]) -> list[str]:
        """``argv`` started inside the group: ``sh`` writes its own pid to each group, then execs."""
        script = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"'
        files = [str(p) for p in self.procs_files()]
        return ["/bin/sh", "-c", script, "hcwh-cgroup", str(len(files)), *files, *argv]

    def enter(self) -> None:
        """Put the calling process in the group (for a ``preexec_fn``: after the fork, before exec)."""
        pid = str(os.getpid()).encode()
        for procs in self.procs_files():
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    def pids(self) -> set[int]:
        out: set[int] = set()
        for procs in self.procs_files():
            try:
                out |= {int(x) for x in procs.read_text().split()}
            except (OSError, ValueError):
                pass
        return out

    def remove(self, timeout: float = 10.0) -> None:
        """Kill every process still in the group, then remove it."""
        deadline = time.monotonic() + timeout
        for folder in self.folders:
            while folder.exists():
                for pid in self.pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break  # an empty folder left behind is harmless; never hang the grader
                    time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def sweep(folder: Path) -> None:
    """Remove empty groups left by graders that died without removing them."""
    for old in folder.glob("hcwh-*-*"):
        try:
            pid = int(old.name.split("-")[1])
        except ValueError:
            continue
        if not _alive(pid):
            try:
                old.rmdir()  # only an empty group can go; one still in use stays
            except OSError:
                pass


def create(max_pids: int = MAX_PIDS, max_memory: int = MAX_MEMORY, *, cpu_weight: int | None = None,
           cpus: float | None = None, name: str | None = None) -> Group | None:
    """A new group with these caps, or None where the machine does not allow one.

    ``cpu_weight`` (cgroup v2 units: 100 is a default group's share) and ``cpus`` (cores' worth of
    CPU time) need the ``cpu`` controller too. ``name`` gives the group a fixed name (a group of
    that name left from before is removed first, its processes killed); by default it is
    ``hcwh-<pid>-<n>``."""
    controllers = CONTROLLERS + (("cpu",) if cpu_weight is not None or cpus is not None else ())
    found = parents(controllers)
    if set(found) != set(controllers):
        return None
    for folder in dict.fromkeys(found.values()):
        sweep(folder)
    if name is None:
        name = f"hcwh-{os.getpid()}-{next(_counter)}"
    else:
        named(name, controllers).remove()
    group = Group()
    try:
        for folder in dict.fromkeys(found.values()):  # v2: one folder for all
            (folder / name).mkdir()
            group.folders.append(folder / name)
        for controller, folder in found.items():
            target = folder / name
            if controller == "pids":
                (target / "pids.max").write_text(str(max_pids))
            elif controller == "cpu":
                if (target / "cpu.weight").exists():  # v2
                    if cpu_weight is not None:
                        (target / "cpu.weight").write_text(str(cpu_weight))
                    if cpus is not None:
                        (target / "cpu.max").write_text(f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")
                else:  # v1
                    if cpu_weight is not None:
                        (target / "cpu.shares").write_text(str(max(2, cpu_weight * 1024 // 100)))
                    if cpus is not None:
                        (target / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                        (target / "cpu.cfs_quota_us").write_text(str(int(cpus * CPU_PERIOD_US)))
            elif (target / "memory.max").exists():  # v2
                (target / "memory.max").write_text(str(max_memory))
                if (target / "memory.swap.max").exists():
                    (target / "memory.swap.max").write_text("0")
            else:  # v1
                (target / "memory.limit_in_bytes").write_text(str(max_memory))
                if (target / "memory.memsw.limit_in_bytes").exists():  # no swapping past the cap either
                    (target / "memory.memsw.limit_in_bytes").write_text(str(max_memory))
    except OSError:
        group.remove()
        return None
    return group


def named(name: str, controllers: tuple[str, ...] = CONTROLLERS + ("cpu",)) -> Group:
    """The group called ``name`` beside this process's own, as far as it exists (a hub restarted since
    the group was made finds it again by its name)."""
    return Group([f / name for f in dict.fromkeys(parents(controllers).values()) if (f / name).is_dir()])


_noted = False


def note_if_unavailable(progress) -> None:
    """Say once per process when sandboxes run without the group caps."""
    global _noted
    if _noted:
        return
    group = create()
    if group is None:
        _noted = True
        progress("note: no cgroup can be created here, so a sandbox's number of processes and the memory of "
                 "all its processes together are not capped (each process still is); see README, Grading safety")
    else:
        group.remove()
