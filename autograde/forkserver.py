"""A pre-imported Python that runs learner notebooks, one forked child per notebook.

This file runs *inside* the grading sandbox (see :mod:`autograde.fastgrade`) as a
standalone script: it imports only the standard library, IPython and what the
notebooks import, so nothing of the trainer's side is visible or needed in there.

Protocol (one JSON object per line on stdin, one per line on stdout)::

    -> {"cells": ["source", ...], "workdir": "/work", "timeout": 60, "wall": 300,
        "limits": {"cpu": 120, "memory": 2147483648, "fsize": 67108864, "output": 8388608}}
    <- {"status": "ok", "outputs": [[output, ...], ...], "counts": [1, 2, ...]}
    <- {"status": "failed", "reason": "..."}            (the whole notebook could not run)

Why fork: starting a fresh Python kernel costs about half a second; forking this
warm process costs milliseconds. Each child is a fresh copy of the template, runs
one learner's notebook, and exits; the template never runs learner code, so
nothing one learner did can reach the next. After each child the template kills
every other process in the sandbox (its pid namespace), and the caller wipes the
work folder and /tmp, so no file or process outlives one learner.

Cells run in an IPython InteractiveShell whose outputs are captured the way
ipykernel reports them to nbclient (stream, display_data, execute_result,
error), so nbgrader's ``determine_grade`` reads them exactly as it would.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import warnings

RESULT_FD_ENV = "HCWH_RESULT_FD"


class CellTimeoutError(Exception):
    """Raised inside a cell that ran past its time, as nbclient's timeout would."""


def _limit(limits: dict) -> None:
    for name, rlimit in (("cpu", resource.RLIMIT_CPU), ("memory", resource.RLIMIT_AS), ("fsize", resource.RLIMIT_FSIZE)):
        value = limits.get(name)
        if value:
            resource.setrlimit(rlimit, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run_cells(shell, cells: list[str], timeout: float, max_output: int) -> tuple[list, list]:
    """Execute each cell; return (outputs per cell, execution count per cell)."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher

    current: list[dict] = []
    budget = {"left": max_output}

    def add(output: dict, size: int, keep: bool = False) -> None:
        """Printed output and displays count against the budget; results, errors and a
        cell's first stderr are always kept, since they decide its score (nbgrader scores
        a test cell with no output full marks: dropping them would be a way to cheat)."""
        budget["left"] -= size
        if keep or budget["left"] >= 0:
            current.append(output)

    class Stream:
        """sys.stdout / sys.stderr: consecutive writes merge into one stream output."""

        def __init__(self, name: str):
            self.name = name
            self.encoding = "utf-8"

        def write(self, text: str) -> int:
            text = str(text)
            if current and current[-1].get("output_type") == "stream" and current[-1]["name"] == self.name:
                budget["left"] -= len(text)
                if budget["left"] >= 0:
                    current[-1]["text"] += text
            else:
                first_stderr = self.name == "stderr" and not any(o.get("name") == "stderr" for o in current)
                add({"output_type": "stream", "name": self.name, "text": text[:10000] if first_stderr else text},
                    len(text), keep=first_stderr)
            return len(text)

        def writelines(self, lines) -> None:
            for line in lines:
                self.write(line)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return False

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            add({"output_type": "display_data", "data": data, "metadata": metadata or {}}, len(json.dumps(data, default=str)))

        def clear_output(self, wait=False):
            current.clear()

    class Hook(DisplayHook):
        def start_displayhook(self):
            pass

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            add({"output_type": "execute_result", "data": format_dict, "metadata": md_dict or {},
                 "execution_count": self.shell.execution_count}, len(json.dumps(format_dict, default=str)), keep=True)

        def finish_displayhook(self):
            sys.stdout.flush()

    def show_traceback(etype, evalue, stb):
        add({"output_type": "error", "ename": etype.__name__ if etype else "Error", "evalue": str(evalue)[:10000],
             "traceback": [line[:10000] for line in list(stb)[-100:]]}, sum(len(s) for s in stb), keep=True)

    shell.display_pub = Publisher(shell=shell, parent=shell)
    shell.displayhook = Hook(shell=shell, cache_size=0, parent=shell)
    shell.display_trap.hook = shell.displayhook  # run_cell installs this one as sys.displayhook
    shell._showtraceback = show_traceback
    sys.stdout, sys.stderr = Stream("stdout"), Stream("stderr")

    def on_alarm(signum, frame):
        raise CellTimeoutError("No reply from kernel before timeout")

    signal.signal(signal.SIGALRM, on_alarm)
    outputs, counts = [], []
    for source in cells:
        current = []
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            shell.run_cell(source, store_history=True)
        except CellTimeoutError as exc:  # the timer fired inside IPython's own code, not the cell's
            current.append({"output_type": "error", "ename": "CellTimeoutError", "evalue": str(exc),
                            "traceback": [f"CellTimeoutError: {exc}"]})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        outputs.append(current)
        counts.append(shell.execution_count - 1)
    return outputs, counts


def _child(request: dict, shell, result_w: int) -> None:
    """Runs in the forked child: one learner's notebook, then exit."""
    os.setsid()
    _limit(request.get("limits", {}))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # learner code writing to the raw fds cannot corrupt the protocol
        os.dup2(devnull, fd)
    os.chdir(request["workdir"])
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        outputs, counts = _run_cells(shell, request["cells"], request.get("timeout", 60),
                                     request.get("limits", {}).get("output", 8 << 20))
        payload = {"status": "ok", "outputs": outputs, "counts": counts}
    except BaseException as exc:  # the learner's notebook broke the runner itself
        payload = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    data = json.dumps(payload, default=str).encode("utf-8")
    view = memoryview(data)
    while view:
        view = view[os.write(result_w, view):]
    os._exit(0)


def _read_all(fd: int, deadline: float, pid: int, cap: int) -> tuple[bytes, str | None]:
    import select

    chunks, size = [], 0
    while True:
        if size > cap:
            return b"", "DeadKernelError: the notebook sent more output than the grader keeps"
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), "UnresponsiveKernelError: the notebook ran past its time limit and was stopped"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks), None
            chunks.append(chunk)
            size += len(chunk)


def in_own_pid_namespace() -> bool:
    """True inside the bubblewrap sandbox, where pid 1 is bwrap's own init.

    Only there may the template kill "every other process": outside, the same
    call would kill every process of the user (as root: of the machine)."""
    try:
        with open("/proc/1/cmdline", "rb") as f:
            return b"bwrap" in f.read().split(b"\0")[0]
    except OSError:
        return False


def _reap_everything(pid: int, sandboxed: bool) -> int | None:
    """Kill the child and anything it left behind; return the child's exit status."""
    for target in (pid, -pid):  # the child, then its session's process group
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if sandboxed:
        try:
            os.kill(-1, signal.SIGKILL)  # every other process in this sandbox, even ones that escaped the group
        except ProcessLookupError:
            pass
    status = None
    while True:
        try:
            reaped, st = os.waitpid(-1, 0)
        except ChildProcessError:
            return status
        if reaped == pid:
            status = st


def _wipe(folder: str) -> None:
    """Empty ``folder`` (the sandbox's own /tmp, /dev/shm): nothing survives one learner."""
    import shutil

    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for name in entries:
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def serve(stdin=sys.stdin, stdout=sys.stdout) -> None:
    sandboxed = "--sandboxed" in sys.argv[1:]
    if sandboxed and not in_own_pid_namespace():
        print(json.dumps({"status": "failed", "reason": "--sandboxed given but not inside bwrap's pid namespace"}),
              file=stdout, flush=True)
        return
    warnings.simplefilter("ignore")  # nothing the template imports may print
    from IPython.core.interactiveshell import InteractiveShell
    import ipywidgets  # noqa: F401  (warm: every module uses them)
    try:
        import curriculum.learner  # noqa: F401
        import curriculum.scoring  # noqa: F401
    except ImportError:
        pass
    warnings.resetwarnings()
    shell = InteractiveShell.instance(history_length=0, colors="nocolor")
    shell.history_manager.enabled = False
    # IPython 9 copies everything a cell prints into the history manager (``_tee``), even
    # with history off: a cell printing without end would fill memory. Outputs are
    # captured (and bounded) by _run_cells instead.
    import contextlib

    shell._tee = lambda channel: contextlib.nullcontext()
    print(json.dumps({"status": "ready", "pid": os.getpid()}), file=stdout, flush=True)
    for line in stdin:
        request = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(request, shell, write_fd)
        os.close(write_fd)
        deadline = time.monotonic() + request.get("wall", 600)
        cap = 4 * request.get("limits", {}).get("output", 8 << 20) + (16 << 20)  # results are kept beyond the budget
        data, problem = _read_all(read_fd, deadline, pid, cap)
        os.close(read_fd)
        status = _reap_everything(pid, sandboxed)
        if sandboxed:
            for scratch in ("/tmp", "/dev/shm"):
                _wipe(scratch)
        if problem is None and not data:
            if status is not None and os.WIFSIGNALED(status):
                sig = signal.Signals(os.WTERMSIG(status)).name
                problem = f"DeadKernelError: the notebook's Python process was killed by {sig}"
            else:
                problem = "DeadKernelError: the notebook's Python process ended without a result"
        if problem:
            reply = {"status": "failed", "reason": problem}
        else:
            try:
                reply = json.loads(data)
            except ValueError:
                reply = {"status": "failed", "reason": "the notebook produced an unreadable result"}
        print(json.dumps(reply), file=stdout, flush=True)


if __name__ == "__main__":
    serve()
