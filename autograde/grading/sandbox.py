"""Autograde runs every learner notebook inside a bubblewrap (``bwrap``) sandbox.

nbgrader re-executes each submitted notebook with the trainer's own account and
ships no sandbox: code in a learner's answer cell could read ``source/`` (the
hidden tests and keys), the gradebook (everyone's names and scores), other
learners' submissions, the trainer's home, reach the network, or overwrite any
file the trainer can. Here nbgrader's ``Execute`` preprocessor is replaced (in
``settings.apply_nbgrader_config``) by :class:`SandboxedExecute`, whose kernels
are started by :class:`SandboxedKernelManager` as::

    prlimit --cpu --as --fsize --core --  bwrap --unshare-all ... -- python -m ipykernel_launcher -f CONN

Inside the sandbox the kernel sees, read-only, only what Python needs (``/usr``
and the ``/lib*`` links, the venv and the Python installation it points to, the
learner package ``curriculum`` without ``curriculum/modules/`` which holds the
keys), plus, read-write, the notebook's own autograde folder and a private
folder holding the connection file and IPC sockets; a small tmpfs ``/tmp``,
fresh ``/proc`` and a minimal ``/dev``. There is no network (a new, empty
network namespace), no capabilities, no nested user namespaces, no inherited
environment variables (so no database URL or token leaks in), and it runs as
``nobody`` in new user, pid, ipc and uts namespaces: when the kernel stops,
every process it started dies with it. CPU time, address space, file size and
the output the grader keeps are bounded; ``Execute.timeout`` still bounds each
cell's wall time. After the kernel is gone, anything in the folder that is not a
plain file or folder (symlinks planted for nbgrader to follow later, fifos) is
removed and set-id bits are cleared, before nbgrader writes the graded notebook.

Grading refuses to run when ``bwrap`` is missing or cannot create its
namespaces, unless the trainer opts out (``Settings(sandbox=False)`` or
``HCWH_NO_SANDBOX=1``), which prints a loud warning.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import zmq
from jupyter_client.manager import AsyncKernelManager
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode

from autograde.config import NO_SANDBOX_ENV, sandbox_opted_out
from autograde.grading import KERNELSTOP, cgroup, priority
from autograde.limits import DEFAULT as LIMITS
from curriculum.errors import HcwhError

INSTALL_HINT = "install it with 'apt-get install bubblewrap' (scripts/system-deps.sh does this)"
# Folders of the learner package that are trainer material (answer keys): never bound in.
KEY_FOLDERS = frozenset({"modules"})
# Environment variables passed into the kernel (everything else is cleared).
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "NBGRADER_EXECUTION", "PYTHONHASHSEED")
STDERR_LOG = "kernel-stderr.log"
SANDBOX_UID = 65534  # "nobody" inside the sandbox (the kernel's files stay the trainer's outside)

MiB = 1024 * 1024


class SandboxUnavailable(HcwhError, RuntimeError):
    """bwrap is missing or cannot sandbox on this machine: grading must not run."""


def opted_out() -> bool:
    """True when the environment asks to grade without a sandbox (HCWH_NO_SANDBOX=1)."""
    return sandbox_opted_out()


UNSANDBOXED_WARNING = f"""
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! WARNING: autograde runs learners' notebooks WITHOUT a sandbox             !!
!! ({NO_SANDBOX_ENV}=1 or Settings(sandbox=False)). Code in a submission runs    !!
!! as you: it can read the hidden tests and the gradebook, change your files  !!
!! and use the network. Grade only submissions you trust this way.            !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""

_warned = False


def warn_unsandboxed() -> None:
    """Print the opt-out warning on stderr, once per process."""
    global _warned
    if not _warned:
        _warned = True
        print(UNSANDBOXED_WARNING, file=sys.stderr, flush=True)


def bwrap_path() -> str | None:
    return shutil.which("bwrap") or (os.access("/usr/bin/bwrap", os.X_OK) and "/usr/bin/bwrap") or None


def prlimit_path() -> str | None:
    return shutil.which("prlimit") or (os.access("/usr/bin/prlimit", os.X_OK) and "/usr/bin/prlimit") or None


def _system_binds() -> list[str]:
    """/usr read-only, the merged-/usr links (/bin, /lib, /lib64, …) as links or binds,
    and the few /etc files the dynamic loader and time functions read."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for etc in ("/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(etc):
            args += ["--ro-bind", etc, etc]
    return args


BASE_OPTIONS = [
    "--unshare-all",  # user, pid, net (no network at all), ipc, uts, cgroup namespaces
    "--unshare-user",  # always a user namespace, also when the trainer is root…
    "--disable-userns",  # …and no nested ones (which could rearrange mounts)
    "--cap-drop", "ALL",  # bwrap keeps root's capabilities unless told not to
    "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
    "--die-with-parent",  # the grader dies: the sandbox dies
    "--new-session",  # no TIOCSTI into the trainer's terminal
]


def _scratch_mounts(size: int) -> list[str]:
    """The sandbox's own tmpfs /tmp (first: binds may live under /tmp), /proc of its pid
    namespace, a minimal /dev; /tmp and /dev/shm are the only scratch space, both bounded."""
    return ["--size", str(size), "--tmpfs", "/tmp",
            "--proc", "/proc",
            "--dev", "/dev", "--size", str(size), "--tmpfs", "/dev/shm"]


# Last, after every bind: the sandbox's root and /dev (bwrap's own, unbounded tmpfs) read-only.
FINAL_OPTIONS = ["--remount-ro", "/dev", "--remount-ro", "/"]


@functools.lru_cache(maxsize=None)
def _probe(bwrap: str) -> str | None:
    """Run ``true`` in a sandbox built like the kernel's; None if it works, else why not."""
    cmd = [prlimit_path() or "prlimit", "--cpu=10", "--", bwrap, *BASE_OPTIONS, *_scratch_mounts(MiB),
           *_system_binds(), *FINAL_OPTIONS, "--clearenv", "--", "/usr/bin/true"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        return str(e)
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit status {done.returncode}")


# The kernel settings that decide whether an account other than root may create the user namespaces
# bwrap needs: (file under /proc/sys, the value that allows it, what to ask IT for).
USERNS_SETTINGS = (
    ("user/max_user_namespaces", lambda v: int(v) > 0, "user.max_user_namespaces = 10000 (it is {v})"),
    ("kernel/unprivileged_userns_clone", lambda v: v == "1", "kernel.unprivileged_userns_clone = 1 (Debian; it is {v})"),
    ("kernel/apparmor_restrict_unprivileged_userns", lambda v: v == "0",
     "kernel.apparmor_restrict_unprivileged_userns = 0, or an AppArmor profile allowing bwrap (Ubuntu 24.04; it is {v})"),
)


def userns_advice(proc_sys: Path = Path("/proc/sys")) -> list[str]:
    """The sysctl settings to ask the server's administrator for, so that the course account can
    build the grading sandbox; empty when the kernel allows it (settings absent on this kernel are
    not in the way)."""
    asks = []
    for name, allows, ask in USERNS_SETTINGS:
        try:
            value = (proc_sys / name).read_text().strip()
        except OSError:
            continue
        try:
            ok = allows(value)
        except ValueError:
            ok = False
        if not ok:
            asks.append(ask.format(v=value))
    return asks


def require_sandbox(enabled: bool | None = None) -> bool:
    """Check, before grading, that learners' notebooks can be sandboxed.

    Returns True when autograde will sandbox them. Returns False (after printing a
    loud warning) when the trainer opted out: ``enabled=False`` (``Settings.sandbox``)
    or ``HCWH_NO_SANDBOX=1``. Raises :class:`SandboxUnavailable`, with what to do,
    when bwrap is missing or cannot create its namespaces here.
    """
    if enabled is None:
        enabled = not opted_out()
    if not enabled or opted_out():
        warn_unsandboxed()
        return False
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(
            "Autograde runs learners' code in a bubblewrap sandbox, but 'bwrap' is not installed: "
            f"{INSTALL_HINT}. To grade WITHOUT a sandbox (learner code then runs as you), set {NO_SANDBOX_ENV}=1."
        )
    if prlimit_path() is None:
        raise SandboxUnavailable(
            "Autograde limits the sandbox's CPU time and memory with 'prlimit', which is not installed: "
            f"install util-linux. To grade WITHOUT a sandbox, set {NO_SANDBOX_ENV}=1."
        )
    why = _probe(bwrap)
    if why is not None:
        raise SandboxUnavailable(
            f"Autograde runs learners' code in a bubblewrap sandbox, but {bwrap} cannot create one here: {why}"
            + ("".join(f"\n  ask the server's administrator for: {a}" for a in userns_advice())
               or "\n(in a container, bwrap needs user namespaces: the container must allow them)")
            + f"\nTo grade WITHOUT a sandbox, set {NO_SANDBOX_ENV}=1."
        )
    return True


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def sandbox_argv(argv: list[str], workdir: Path, *, rw: t.Sequence[Path] = (), env: dict[str, str] | None = None,
                 info_fd: int | None = None, cpu_seconds: int = 300, memory_bytes: int = 2048 * MiB,
                 file_bytes: int = 64 * MiB, tmp_bytes: int = 64 * MiB, packages: t.Sequence[str] = ("curriculum",),
                 extra_ro: t.Sequence[str] = (), extra_env: dict[str, str] | None = None,
                 group: cgroup.Group | None = None, nice: int | None = None) -> list[str]:
    """``prlimit … -- bwrap … -- argv``: run ``argv`` in ``workdir`` (bound read-write, as are
    the ``rw`` folders) seeing only read-only system folders, the Python environment and
    ``packages`` without their KEY_FOLDERS. Shared by the kernel manager below and the
    fast grading path (autograde/grading/fast.py), so both sandboxes are built one way.
    With ``group`` (see cgroup.py) the whole sandbox starts inside that cgroup; with ``nice``,
    ``argv`` runs at that niceness (``priority.yielding``)."""
    bwrap, prlimit = bwrap_path(), prlimit_path()
    if bwrap is None or prlimit is None:
        require_sandbox(True)  # raises with the message
    workdir = Path(workdir).resolve()
    ro: list[Path] = []
    for p in {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.base_exec_prefix)}:
        ro += [p, p.resolve()]
    ro += [Path(p) for p in extra_ro]
    exe = Path(argv[0])
    if not any(_is_within(exe.resolve(), p.resolve()) or _is_within(exe, p) for p in ro):
        raise SandboxUnavailable(
            f"the kernel's interpreter {argv[0]} is outside the sandbox's read-only folders "
            f"({', '.join(sorted({str(p) for p in ro}))}); use the environment nbgrader runs in"
        )
    binds: list[tuple[Path, list[str]]] = []
    for p in sorted(set(ro), key=lambda p: len(p.parts)):
        if p.exists():
            binds.append((p, ["--ro-bind", str(p), str(p)]))
    import_path: list[str] = []  # the kernel imports exactly the copies bound here
    for name in packages:
        pkg = _package_dir(name)
        if pkg is None or any(_is_within(pkg, p) for p in ro):
            continue  # not installed, or already visible through the venv
        # On PYTHONPATH too: the venv may hold an editable install of another checkout (the hub's
        # course env is built once, from whichever checkout came first), whose folder is not bound.
        if str(pkg.parent) not in import_path:
            import_path.append(str(pkg.parent))
        binds.append((pkg, ["--dir", str(pkg)]))
        for entry in sorted(pkg.iterdir()):
            if entry.name in KEY_FOLDERS:
                continue
            binds.append((entry, ["--ro-bind", str(entry), str(entry)]))
    for folder in rw:
        binds.append((Path(folder), ["--bind", str(folder), str(folder)]))
    binds.append((workdir, ["--bind", str(workdir), str(workdir)]))

    venv_bin = Path(sys.prefix) / "bin"
    sandbox_env = {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "USER": "learner",
        "LOGNAME": "learner",
        "LANG": "C.UTF-8",
        "IPYTHONDIR": "/tmp/.ipython",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "PYTHONDONTWRITEBYTECODE": "1",
        **({"PYTHONPATH": os.pathsep.join(import_path)} if import_path else {}),
    }
    env = env if env is not None else dict(os.environ)
    sandbox_env.update({k: env[k] for k in PASSED_ENV if k in env})
    sandbox_env.update(extra_env or {})

    cmd = [
        prlimit,
        f"--cpu={cpu_seconds}",  # soft = hard: SIGKILL, not a catchable SIGXCPU
        f"--as={memory_bytes}",
        f"--fsize={file_bytes}",
        "--core=0",
        "--",
        bwrap, *BASE_OPTIONS,
        *(["--info-fd", str(info_fd)] if info_fd is not None else []),
        *_scratch_mounts(tmp_bytes),
        *_system_binds(),
    ]
    for _, args in binds:
        cmd += args
    cmd += [*FINAL_OPTIONS, "--chdir", str(workdir), "--clearenv"]
    for k, v in sandbox_env.items():
        cmd += ["--setenv", k, v]
    cmd = [*cmd, "--", *priority.yielding(argv, nice)]
    return group.enter_argv(cmd) if group is not None else cmd


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel inside bwrap, talking over IPC sockets in a private folder."""

    cpu_seconds = Integer(LIMITS.cpu_seconds, help="CPU seconds the whole kernel may use (RLIMIT_CPU; then it is killed)").tag(config=True)
    memory_bytes = Integer(LIMITS.memory_bytes, help="address space of each kernel process (RLIMIT_AS)").tag(config=True)
    file_bytes = Integer(LIMITS.file_bytes, help="largest file the kernel may write (RLIMIT_FSIZE)").tag(config=True)
    tmp_bytes = Integer(LIMITS.tmp_bytes, help="size of the kernel's private /tmp (a tmpfs)").tag(config=True)
    # Not lowered by default, unlike the fast engine (Limits.nice): nbclient waits a fixed wall time for the
    # reply of a cell it interrupted at its time limit, and a kernel at a low priority on a busy machine
    # misses it, failing the whole notebook instead of that cell.
    nice = Integer(0, help="CPU niceness of the kernel and its session's autogroup (0: not lowered)").tag(config=True)
    max_message_bytes = Integer(64 * MiB, help="largest message the grader accepts from the kernel").tag(config=True)
    packages = List(Unicode(), ["curriculum"], help="packages outside the venv to bind read-only "
                    "(editable installs), without their KEY_FOLDERS").tag(config=True)
    extra_ro_binds = List(Unicode(), [], help="more host paths to bind read-only at the same place").tag(config=True)

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self._runtime = Path(tempfile.mkdtemp(prefix="hcwh-kernel-")).resolve()
        os.chmod(self._runtime, 0o700)
        self._info_r: int | None = None
        self._pid1: int | None = None
        self._popen: subprocess.Popen | None = None
        self._group: cgroup.Group | None = None
        self.transport = "ipc"
        self.connection_file = str(self._runtime / "kernel.json")
        self.ip = str(self._runtime / "ipc")
        # Bound what the grader will hold of any one message (pyzmq: default for new sockets).
        self.context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)

    def client(self, **kwargs: t.Any):
        kc = super().client(**kwargs)
        kc.context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        return kc

    # ipykernel's own interrupt (a control message) works across the pid namespace;
    # a signal to bwrap's process group would not reach the kernel.
    async def _async_interrupt_kernel(self) -> None:
        if self.has_kernel:
            msg = self.session.msg("interrupt_request", content={})
            self._connect_control_socket()
            self.session.send(self._control_socket, msg)
        else:
            await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel  # AsyncKernelManager aliases the base's function

    def sandbox_command(self, kernel_cmd: list[str], cwd: str, env: dict[str, str] | None = None,
                        info_fd: int | None = None) -> list[str]:
        """The full command: rlimits, then bwrap, then the kernel's own command."""
        if self._group is None:
            self._group = cgroup.create()
        return sandbox_argv(
            kernel_cmd, Path(cwd), rw=[self._runtime], env=env, info_fd=info_fd,
            cpu_seconds=self.cpu_seconds, memory_bytes=self.memory_bytes, file_bytes=self.file_bytes,
            tmp_bytes=self.tmp_bytes, packages=self.packages, extra_ro=[*self.extra_ro_binds, str(KERNELSTOP)],
            extra_env=(self.kernel_spec.env or {}) if self.kernel_spec else {}, group=self._group, nice=self.nice,
        )

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: t.Any) -> None:
        cwd = kw.get("cwd")
        if not cwd:
            raise SandboxUnavailable("a sandboxed kernel needs the notebook's folder (cwd) to bind")
        self._refuse_course_folder(Path(cwd).resolve())
        kw["env"] = {k: v for k, v in (kw.get("env") or os.environ).items() if k in PASSED_ENV}
        # Nothing the kernel prints reaches the trainer's terminal (no escape sequences,
        # no fake messages); its stderr is kept, made printable, for the log.
        kw["stdout"] = subprocess.DEVNULL
        # bwrap reports, on this pipe, the host pid of the sandbox's pid 1 (see ensure_stopped).
        if self._info_r is not None:  # a restart
            os.close(self._info_r)
        self._pid1 = None
        self._info_r, info_w = os.pipe()
        kw["pass_fds"] = (info_w,)
        try:
            kernel_cmd = self.sandbox_command(kernel_cmd, cwd, env=kw["env"], info_fd=info_w)
            with open(self._runtime / STDERR_LOG, "wb") as stderr:
                kw["stderr"] = stderr
                await super()._async_launch_kernel(kernel_cmd, **kw)
            self._popen = self.provisioner.process if self.provisioner else None
        except BaseException:
            shutil.rmtree(self._runtime, ignore_errors=True)
            raise
        finally:
            os.close(info_w)

    def _sandbox_pid1(self, timeout: float = 5.0) -> int | None:
        """Host pid of the sandbox's pid 1, read once from bwrap's --info-fd."""
        if self._pid1 is None and self._info_r is not None:
            data = b""
            deadline = time.monotonic() + timeout
            while b"}" not in data and time.monotonic() < deadline:
                ready, _, _ = select.select([self._info_r], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(self._info_r, 4096) if ready else b""
                if not chunk:
                    break
                data += chunk
            os.close(self._info_r)
            self._info_r = None
            try:
                self._pid1 = int(json.loads(data.decode())["child-pid"])
            except (ValueError, KeyError, TypeError):
                self._pid1 = None
        return self._pid1

    def ensure_stopped(self, timeout: float = 10.0) -> None:
        """Make sure nothing of the sandbox runs any more, then remove its private folder.

        Kills bwrap if it still runs (--die-with-parent then kills the sandbox's pid 1),
        and waits until the sandbox's pid 1 has exited: the kernel kills every other
        process of a pid namespace before its init's exit completes, so after this
        no learner code can still touch the notebook's folder."""
        pid1 = self._sandbox_pid1()
        popen = self._popen
        if popen is not None and popen.poll() is None:
            popen.kill()
            popen.wait(timeout)
        if pid1 is not None:
            deadline = time.monotonic() + timeout
            while not _exited(pid1):
                if time.monotonic() > deadline:
                    raise SandboxUnavailable(f"the sandbox's processes (pid {pid1}) did not stop")
                time.sleep(0.01)
        if self._group is not None:
            self._group.remove()
            self._group = None
        shutil.rmtree(self._runtime, ignore_errors=True)

    def _refuse_course_folder(self, workdir: Path) -> None:
        """Never bind the course folder itself (or a folder holding it) writable."""
        root = self.config["CourseDirectory"].get("root") if "CourseDirectory" in self.config else None
        if root and _is_within(Path(root).resolve(), workdir):
            raise SandboxUnavailable(f"refusing to sandbox a kernel in {workdir}: it holds the course folder")
        try:
            home = Path.home().resolve()
        except (KeyError, RuntimeError):
            return
        if _is_within(home, workdir):
            raise SandboxUnavailable(f"refusing to sandbox a kernel in {workdir}: it holds the home folder")

    def kernel_stderr(self, limit: int = 2000) -> str:
        """The end of what the kernel wrote on stderr, with unprintable characters replaced."""
        try:
            with open(self._runtime / STDERR_LOG, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - limit))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "".join(ch if ch.isprintable() or ch == "\n" else "?" for ch in text).strip()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            err = self.kernel_stderr()
            if err:
                self.log.warning("sandboxed kernel's stderr (end):\n%s", err)
            shutil.rmtree(self._runtime, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def _exited(pid: int) -> bool:
    """True once ``pid`` is gone or a zombie (its exit, and a pid 1's killing of its namespace, is done)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat_line.rpartition(")")[2].split()[0] in {"Z", "X"}


def sanitize_folder(folder: Path) -> list[str]:
    """Remove what a sandboxed kernel may have left for the trainer's tools to trip on.

    nbgrader later follows paths in this folder as the trainer: it writes the graded
    notebook here, chmods every file, and copies files into feedback. So symlinks,
    fifos, sockets and devices are deleted and set-id bits cleared. Returns what was
    removed (relative paths), for the log.
    """
    removed = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            st = path.lstat()
            if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
                if st.st_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX):
                    os.chmod(path, stat.S_IMODE(st.st_mode) & 0o777)
                continue
            path.unlink()
            removed.append(str(path.relative_to(folder)))
            if name in dirnames:
                dirnames.remove(name)
    return removed


class SandboxedExecute(Execute):
    """nbgrader's Execute, with sandboxed kernels and a cap on the output kept."""

    max_output_bytes = Integer(
        LIMITS.output_bytes, help="stream and display output kept per notebook (errors and results, which score, are always kept)"
    ).tag(config=True)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        self._sandboxes: list[SandboxedKernelManager] = []

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if not isinstance(km, SandboxedKernelManager):
            raise SandboxUnavailable(f"{type(km).__name__} is not a sandboxed kernel manager")
        self._sandboxes.append(km)
        return km

    def preprocess(self, nb: NotebookNode, resources: t.Any = None, km: t.Any = None):
        if km is not None:
            raise SandboxUnavailable("SandboxedExecute starts its own kernels; it does not take one")
        require_sandbox(True)
        self._output_bytes = 0
        self._output_capped = False
        folder = (resources or {}).get("metadata", {}).get("path")
        try:
            return super().preprocess(nb, resources, km)
        finally:
            while self._sandboxes:
                self._sandboxes.pop().ensure_stopped()
            # The kernel, and with its pid namespace everything it started, is gone now.
            if folder:
                removed = sanitize_folder(Path(folder))
                if removed:
                    self.log.warning("Removed from %s what the notebook left there: %s", folder, ", ".join(removed))

    def output(self, outs: list[NotebookNode], msg: dict, display_id: str | None, cell_index: int):
        if msg["msg_type"] not in {"stream", "display_data", "update_display_data"}:
            return super().output(outs, msg, display_id, cell_index)  # results and errors: always kept
        self._output_bytes += len(json.dumps(msg["content"], default=str))
        if self._output_bytes <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "stream" and msg["content"].get("name") == "stderr":
            # nbgrader scores a test cell with stderr output 0: keep each cell's first
            # stderr output (shortened), so dropping output never changes a score.
            if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outs):
                return None
            content = dict(msg["content"], text=str(msg["content"].get("text", ""))[:1024])
            return super().output(outs, dict(msg, content=content), display_id, cell_index)
        if not self._output_capped:
            self._output_capped = True
            outs.append(NotebookNode(output_type="stream", name="stdout",
                                     text="\n... output limit reached: further output was dropped ...\n"))
        return None


def autograde_preprocessors() -> list[str]:
    """nbgrader's own autograde preprocessors (as import names), with Execute
    replaced by SandboxedExecute: the value for ``Autograde.autograde_preprocessors``."""
    from nbgrader.converters import Autograde

    default = Autograde.class_traits()["autograde_preprocessors"].default()
    if Execute not in default:
        raise SandboxUnavailable("nbgrader's autograde no longer runs Execute: autograde/grading/sandbox.py needs updating")
    return [f"{pp.__module__}.{pp.__qualname__}" for pp in (SandboxedExecute if pp is Execute else pp for pp in default)]
