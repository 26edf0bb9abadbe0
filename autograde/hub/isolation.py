"""Learners cannot reach each other or the course: what the hub sets up around each learner's server.

Two parts, both set up by the hub (root) and both switchable off only by name, for a host that
cannot have them (README "Isolation between learners"):

- ``IsolatedSpawner``: the course's spawner (``autograde/hub/spawner.py``: JupyterHub's
  ``LocalProcessSpawner``, a server per learner as their own OS account) whose server starts in **its own mount namespace**, made after the fork and before
  privileges are dropped: a private, empty ``/tmp``, ``/var/tmp``, ``/dev/shm`` and ``/run/lock``
  (tmpfs, gone with the server), and ``/proc`` mounted again with ``hidepid=invisible`` (a learner
  sees their own processes only), and ``no_new_privs`` (no set-uid program such as ``sudo`` gives
  the page any privilege back). The host's own mounts are untouched. Paths under those folders
  that a learner's server must still read (the learners' nbgrader config when the state folder is
  under ``/tmp``, as in the tests) are bound in read-only (``keep_visible``).
  ``HCWH_LEARNER_NAMESPACE=off`` turns it off.
- ``apply_firewall``: an owner-matched egress rule (iptables and ip6tables, the chain
  ``hcwh-learners``): a socket made by a process of the group ``hcwh-learners`` may answer
  connections made to it and open TCP connections to 127.0.0.1 on the hub's ports (the proxy's
  public port, the hub's API, and the exchange service's own port, which learners' exchange
  client uses so that it needs no TLS) only; everything else is refused (``icmp-admin-prohibited``).
  One hub per machine: the chain holds the running hub's ports. ``HCWH_LEARNER_FIREWALL=off``
  turns it off (the host's own firewall must then do it).

- **Limits** (issue 13 point 3): each learner's page and everything it starts (kernels, Voilà's
  kernels, anything a kernel forks) in its own cgroup, ``hcwh-learner-<login>``
  (``autograde/grading/cgroup.py``, the grading sandbox's code): memory, processes (and threads),
  a CPU weight and a CPU quota, from ``autograde.limits.LearnerLimits``. The hub (root) makes the
  group before the page starts; the page's first process enters it before it drops root, so
  nothing it starts is outside it. The group, and anything still in it, goes when the page stops
  (or is found stopped). ``HCWH_LEARNER_LIMITS=off`` turns it off.

Kernels talk to their server over Unix sockets (``KernelManager.transport=ipc``, set in
``hub/jupyterhub_config.py``), since the firewall refuses a learner's TCP to any other local port.

Standard library plus JupyterHub's spawner; runs in the hub's process, as root.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import subprocess
import sys

from traitlets import Any, Bool, List, Unicode

from autograde.grading import cgroup
from autograde.hub.spawner import CourseSpawner
from autograde.limits import LearnerLimits

CHAIN = "hcwh-learners"
LEARNERS_GROUP = "hcwh-learners"
PRIVATE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")

_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_NO_NEW_PRIVS = 38


class IsolationError(Exception):
    """Isolation could not be set up on this host; the message names the step and the switch."""


_libc = ctypes.CDLL(None, use_errno=True)


def _call(what: str, fn, *args) -> None:
    if fn(*args) != 0:
        err = ctypes.get_errno()
        # written to the server's stderr (the hub's log): Popen itself only says "preexec_fn failed"
        os.write(2, f"hcwh isolation: {what} failed: {os.strerror(err)} (errno {err})\n".encode())
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(what: str, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = (lambda s: None if s is None else s.encode())
    _call(what, _libc.mount, enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def private_view(keep_visible: list[str], tmp_size: str):
    """A function for ``preexec_fn`` (root, after the fork): a new mount namespace with private
    temporary folders and a ``hidepid`` /proc. Everything it needs is computed here, before the fork."""
    dirs = [d for d in PRIVATE_DIRS if os.path.isdir(d)]
    keep = [os.path.realpath(p) for p in keep_visible if os.path.isdir(p)]
    keep = [p for p in keep if any(p == d or p.startswith(d + "/") for d in dirs)]
    tmpfs_opts = f"mode=1777,size={tmp_size}"

    def enter() -> None:
        _call("unshare(CLONE_NEWNS)", _libc.unshare, _CLONE_NEWNS)
        _mount("making / private", None, "/", None, _MS_REC | _MS_PRIVATE, None)
        fds = [os.open(p, os.O_PATH | os.O_DIRECTORY) for p in keep]  # reachable once /tmp is covered
        for d in dirs:
            _mount(f"a private tmpfs on {d}", "tmpfs", d, "tmpfs", _MS_NOSUID | _MS_NODEV, tmpfs_opts)
        for p, fd in zip(keep, fds):
            os.makedirs(p, mode=0o755, exist_ok=True)
            _mount(f"binding {p} into the private view", f"/proc/self/fd/{fd}", p, None, _MS_BIND | _MS_REC, None)
            _mount(f"making {p} read-only", None, p, None,
                   _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, None)
            os.close(fd)
        _mount("/proc with hidepid=invisible", "proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
               "hidepid=invisible")
        # no set-uid program (sudo, su, …) can give the page back any privilege
        _call("prctl(PR_SET_NO_NEW_PRIVS)", _libc.prctl, ctypes.c_int(_PR_SET_NO_NEW_PRIVS),
              *(ctypes.c_ulong(v) for v in (1, 0, 0, 0)))

    return enter


def check_private_view(keep_visible: list[str], tmp_size: str) -> None:
    """Start one throwaway process the way a learner's server starts (the hub's start-up check):
    an ``IsolationError`` naming the step if this host forbids it."""
    enter = private_view(keep_visible, tmp_size)
    done = subprocess.run(["/bin/sh", "-c", "ls -d /proc/[0-9]* | wc -l"], preexec_fn=enter, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise IsolationError(f"learners' private /tmp and hidden processes cannot be set up on this host: "
                             f"{done.stderr.strip() or 'the namespace step failed'}; set HCWH_LEARNER_NAMESPACE=off "
                             f"to run without them (not on a city server: README \"Isolation between learners\")")


def check_limits(limits: LearnerLimits) -> None:
    """Make and remove one throwaway group with ``limits`` (the hub's start-up check): an
    ``IsolationError`` if this host cannot cap a learner's page."""
    group = cgroup.create(limits.processes, limits.memory_bytes, cpu_weight=limits.cpu_weight, cpus=limits.cpus,
                          name="hcwh-learner-check")
    if group is None:
        raise IsolationError("learners' memory, process and CPU limits cannot be set on this host: no cgroup with the "
                             "pids, memory and cpu controllers can be made beside the hub's own (run the hub as root on "
                             "a host with cgroups); set HCWH_LEARNER_LIMITS=off to run without them (not on a city "
                             "server: README \"Limits and housekeeping\")")
    group.remove()


class IsolatedSpawner(CourseSpawner):
    """The course's spawner (autograde/hub/spawner.py), each server in its own mount namespace (private /tmp,
    hidepid /proc) and its own cgroup (memory, processes, CPU)."""

    keep_visible = List(Unicode(), help="Folders under /tmp etc. bound read-only into each learner's view").tag(
        config=True)
    private_tmp_size = Unicode("512m", help="Size of each learner's private /tmp (tmpfs size=)").tag(config=True)
    private_namespace = Bool(True, help="Each page in its own mount namespace (HCWH_LEARNER_NAMESPACE)").tag(config=True)
    learner_limits = Any(None, help="autograde.limits.LearnerLimits for each page's cgroup; None: no caps").tag(
        config=True)

    _group = None

    @property
    def cgroup_name(self) -> str:
        return f"hcwh-learner-{self.user.name}"  # login names are letters, digits, - and _ (autograde/identity.py)

    async def start(self):
        limits = self.learner_limits
        if limits is not None:
            loop = asyncio.get_running_loop()
            self._group = await loop.run_in_executor(None, lambda: cgroup.create(
                limits.processes, limits.memory_bytes, cpu_weight=limits.cpu_weight, cpus=limits.cpus,
                name=self.cgroup_name))
            if self._group is None:
                raise RuntimeError(f"the limits of {self.user.name}'s page cannot be set (no cgroup {self.cgroup_name}); "
                                   "the page was not started")
        try:
            return await super().start()
        except BaseException:
            await self._remove_group()
            raise

    async def stop(self, now=False):
        try:
            await super().stop(now=now)
        finally:
            await self._remove_group()

    async def poll(self):
        status = await super().poll()
        if status is not None and self.pending != "spawn":  # the page is gone: so is its group
            await self._remove_group()
        return status

    async def _remove_group(self) -> None:
        if self.learner_limits is None:
            return
        self._group = None
        # kills whatever is left in it (a kernel whose server died), then removes it; off the hub's event loop
        await asyncio.get_running_loop().run_in_executor(None, lambda: cgroup.named(self.cgroup_name).remove())

    def make_preexec_fn(self, name):
        drop = super().make_preexec_fn(name)
        enter = private_view(self.keep_visible, self.private_tmp_size) if self.private_namespace else None
        group = self._group

        def preexec():
            if group is not None:
                group.enter()  # first, as root: everything the page starts is counted
            if enter is not None:
                enter()
            drop()

        return preexec


# -- the egress rule -------------------------------------------------------------------------------------


def firewall_rules(ports: list[int]) -> dict[str, list[list[str]]]:
    """The chain's rules for ``iptables`` and ``ip6tables`` (arguments after the program name)."""
    if not ports or not all(isinstance(p, int) and 0 < p < 65536 for p in ports):
        raise ValueError(f"the hub's ports must be TCP port numbers, got {ports!r}")
    answer = ["-A", CHAIN, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"]
    return {
        "iptables": [answer,
                     ["-A", CHAIN, "-o", "lo", "-d", "127.0.0.1", "-p", "tcp", "-m", "multiport", "--dports",
                      ",".join(str(p) for p in sorted(set(ports))), "-j", "ACCEPT"],
                     ["-A", CHAIN, "-j", "REJECT", "--reject-with", "icmp-admin-prohibited"]],
        "ip6tables": [answer, ["-A", CHAIN, "-j", "REJECT", "--reject-with", "icmp6-adm-prohibited"]],
    }


JUMP = ["OUTPUT", "-m", "owner", "--gid-owner", LEARNERS_GROUP, "-j", CHAIN]


def _tables(program: str, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    exe = shutil.which(program, path="/usr/sbin:/sbin:/usr/bin:/bin")
    if exe is None:
        raise IsolationError(f"{program} is not installed (apt-get install iptables): learners' network cannot be "
                             f"limited; set HCWH_LEARNER_FIREWALL=off to run without it (the host's firewall must "
                             f"then do it: README \"Isolation between learners\")")
    done = subprocess.run([exe, "-w", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise IsolationError(f"{program} {' '.join(args)} failed: {done.stderr.strip()}; learners' network cannot "
                             f"be limited on this host; set HCWH_LEARNER_FIREWALL=off to run without it (the host's "
                             f"firewall must then do it: README \"Isolation between learners\")")
    return done


def remove_firewall() -> None:
    """Take the chain and its jump out again (idempotent; nothing to do when they are absent)."""
    for program in ("iptables", "ip6tables"):
        if shutil.which(program, path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
            continue
        while _tables(program, ["-D", *JUMP], check=False).returncode == 0:
            pass
        _tables(program, ["-F", CHAIN], check=False)
        _tables(program, ["-X", CHAIN], check=False)


def apply_firewall(ports: list[int]) -> None:
    """Learners' processes may reach only ``ports`` on 127.0.0.1 (and answer what connects to them)."""
    import grp

    rules = firewall_rules(ports)
    remove_firewall()
    try:
        for program, chain_rules in rules.items():
            _tables(program, ["-N", CHAIN])
            for rule in chain_rules:
                _tables(program, rule)
            try:
                grp.getgrnam(LEARNERS_GROUP)
            except KeyError:  # iptables would say only 'Bad value for "--gid-owner"'
                raise IsolationError(f"the learners' group {LEARNERS_GROUP} does not exist, so no firewall rule can "
                                     f"name it: run scripts/hub-setup.sh (make hub does) first") from None
            _tables(program, ["-I", *JUMP[:1], "1", *JUMP[1:]])
    except IsolationError:
        remove_firewall()  # never half a rule set
        raise


def firewall_active() -> bool:
    """True if the jump into the chain is in place (iptables)."""
    try:
        return _tables("iptables", ["-C", *JUMP], check=False).returncode == 0
    except IsolationError:
        return False


def fail(message: str) -> None:
    """Stop the hub at start-up with the message (from hub/jupyterhub_config.py)."""
    print(f"hcwh hub: {message}", file=sys.stderr)
    raise SystemExit(2)


__all__ = ["IsolatedSpawner", "IsolationError", "apply_firewall", "check_limits", "check_private_view", "firewall_rules",
           "remove_firewall", "firewall_active", "fail", "private_view"]
