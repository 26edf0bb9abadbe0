"""A pre-imported Python that runs learner notebooks, one forked child per notebook.

This file runs *inside* the grading sandbox (see :mod:`autograde.grading.fast`) as a
standalone script: it imports only the standard library, IPython and what the
notebooks import, so nothing of the trainer's side is visible or needed in there.

Protocol (one JSON object per line on stdin, one per line on stdout)::

    -> {"cells": ["source", ...], "workdir": "/work", "timeout": 60, "kill_after": 125, "wall": 300,
        "limits": {"cpu": 300, "memory": 2147483648, "fsize": 67108864, "output": 4194304}}
    <- {"status": "ok", "outputs": [[output, ...], ...]}
    <- {"status": "failed", "reason": "..."}            (the whole notebook could not run)

Time limits hold whatever a cell catches. At ``timeout`` seconds the cell gets a
``CellTimeoutError``, a ``BaseException`` (so ``except Exception`` does not catch it),
raised again every 0.1 s and on every line the cell's own code runs until the cell
ends: ``while True: try: ... except BaseException: pass`` ends at the ``pass``. A
cell that still has not ended at ``kill_after`` seconds (stuck in C code that never
returns to Python) is killed from outside, by this template: it is marked stopped,
and a fresh child re-runs the cells before it (outputs not kept) and then the cells
after it, so a stopped cell costs that cell only.

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


class CellTimeoutError(BaseException):
    """Raised inside a cell that ran past its time (and again until the cell ends).
    A BaseException, like the KeyboardInterrupt nbclient's timeout sends."""


TIMEOUT_TEXT = "No reply from kernel before timeout"
CELL_FILES = "<ipython-input-"  # IPython's name for a cell's code (its frames' co_filename)
MAX_KILLS = 3  # cells killed from outside per notebook before it is failed


def _limit(limits: dict) -> None:
    for name, rlimit in (("cpu", resource.RLIMIT_CPU), ("memory", resource.RLIMIT_AS), ("fsize", resource.RLIMIT_FSIZE)):
        value = limits.get(name)
        if value:
            resource.setrlimit(rlimit, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run_cells(shell, cells: list[str], timeout: float, max_output: int, report, first: int = 0,
               skip: frozenset = frozenset()) -> None:
    """Execute each cell in order except those in ``skip``; ``report(i, outputs)`` after
    each one (``outputs`` None for cells before ``first``, re-run only for their state)."""
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

    expired = {"now": False}

    def stop_lines(frame, event, arg):
        """The line tracer of a cell past its time: every line of the cell's own code raises."""
        if expired["now"] and event == "line" and frame.f_code.co_filename.startswith(CELL_FILES):
            raise CellTimeoutError(TIMEOUT_TEXT)
        return stop_lines

    def on_alarm(signum, frame):
        cell_frames = []
        f = frame
        while f is not None:
            if f.f_code.co_filename.startswith(CELL_FILES):
                cell_frames.append(f)
            f = f.f_back
        if not expired["now"]:
            expired["now"] = True
            sys.settrace(stop_lines)  # frames the cell starts from now on
        elif not cell_frames:
            return  # the cell's code has ended: IPython is reporting its error, let it finish
        for f in cell_frames:  # and the frames running now
            f.f_trace, f.f_trace_lines = stop_lines, True
        raise CellTimeoutError(TIMEOUT_TEXT)

    signal.signal(signal.SIGALRM, on_alarm)
    for i, source in enumerate(cells):
        if i in skip:
            continue
        current = []
        expired["now"] = False
        signal.setitimer(signal.ITIMER_REAL, timeout, 0.1)  # then again every 0.1 s until the cell ends
        try:
            try:
                shell.run_cell(source, store_history=True)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                sys.settrace(None)
        except CellTimeoutError:  # the timer fired inside IPython's own code, not the cell's
            current.append({"output_type": "error", "ename": "CellTimeoutError", "evalue": TIMEOUT_TEXT,
                            "traceback": [f"CellTimeoutError: {TIMEOUT_TEXT}"]})
        report(i, current if i >= first else None)


def _child(request: dict, shell, result_w: int) -> None:
    """Runs in the forked child: one learner's notebook, then exit. Writes one JSON line
    per cell as it ends ({"i": index, "outputs": [...] or null}), then {"status": "done"}."""
    os.setpgid(0, 0)  # a group of its own to kill, in the template's session: its autogroup's CPU priority
    _limit(request.get("limits", {}))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # learner code writing to the raw fds cannot corrupt the protocol
        os.dup2(devnull, fd)
    os.chdir(request["workdir"])
    os.environ["NBGRADER_EXECUTION"] = "autograde"

    def write(payload: dict) -> None:
        view = memoryview((json.dumps(payload, default=str) + "\n").encode("utf-8"))
        while view:
            view = view[os.write(result_w, view):]

    try:
        _run_cells(shell, request["cells"], request.get("timeout", 60),
                   request.get("limits", {}).get("output", 4 << 20),
                   lambda i, outputs: write({"i": i, "outputs": outputs}),
                   request.get("first", 0), frozenset(request.get("skip", ())))
        payload = {"status": "done"}
    except BaseException as exc:  # the learner's notebook broke the runner itself
        payload = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    try:
        write(payload)
    except BaseException:
        pass
    os._exit(0)


def _read_lines(fd: int, wall_deadline: float, kill_after: float, cap: int, on_line) -> str | None:
    """Hand each line the child writes to ``on_line``; return None when it is done, "cell"
    when one cell ran past ``kill_after`` seconds without ending, or the problem in words."""
    import select

    buf, size = b"", 0
    cell_deadline = time.monotonic() + kill_after
    while True:
        if size > cap:
            return "DeadKernelError: the notebook sent more output than the grader keeps"
        now = time.monotonic()
        if now >= wall_deadline:
            return "UnresponsiveKernelError: the notebook ran past its time limit and was stopped"
        if now >= cell_deadline:
            return "cell"
        ready, _, _ = select.select([fd], [], [], min(wall_deadline, cell_deadline) - now)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return "DeadKernelError: the notebook's Python process ended without a result"
        size += len(chunk)
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                return "the notebook produced an unreadable result"
            cell_deadline = time.monotonic() + kill_after
            done = on_line(message)
            if done is not None:
                return done or None


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
    import ipywidgets  # noqa: F401  (warm: every module uses them)
    from IPython.core.interactiveshell import InteractiveShell
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
        print(json.dumps(_grade(request, shell, sandboxed)), file=stdout, flush=True)


def _grade(request: dict, shell, sandboxed: bool) -> dict:
    """Run one notebook in forked children: one, or one more after each cell killed from outside."""
    cells = request["cells"]
    outputs: list = [None] * len(cells)
    skip: list[int] = []
    state = {"next": 0, "failed": None}
    wall_deadline = time.monotonic() + request.get("wall", 600)
    kill_after = request.get("kill_after", 2 * request.get("timeout", 60) + 5)
    cap = 4 * request.get("limits", {}).get("output", 4 << 20) + (16 << 20)  # results are kept beyond the budget

    def on_line(message: dict):
        if "i" in message:
            if message.get("outputs") is not None:
                outputs[message["i"]] = message["outputs"]
            state["next"] = max(state["next"], message["i"] + 1)
            return None
        if message.get("status") == "failed":
            state["failed"] = message.get("reason", "the notebook could not run")
        return ""  # done

    first = 0
    while True:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child({**request, "first": first, "skip": skip}, shell, write_fd)
        os.close(write_fd)
        problem = _read_lines(read_fd, wall_deadline, kill_after, cap, on_line)
        os.close(read_fd)
        status = _reap_everything(pid, sandboxed)
        if sandboxed and problem is not None:  # files a killed cell left: the re-run starts clean
            for scratch in ("/tmp", "/dev/shm"):
                _wipe(scratch)
        if problem == "cell" and len(skip) < MAX_KILLS and state["next"] < len(cells):
            stuck = next(i for i in range(state["next"], len(cells)) if i not in skip)
            outputs[stuck] = [{"output_type": "error", "ename": "CellTimeoutError", "evalue": TIMEOUT_TEXT,
                               "traceback": [f"CellTimeoutError: {TIMEOUT_TEXT} (the cell was killed)"]}]
            skip.append(stuck)
            first = stuck + 1
            state["next"] = 0
            continue
        break
    if sandboxed:
        for scratch in ("/tmp", "/dev/shm"):
            _wipe(scratch)
    if problem == "cell":
        problem = "UnresponsiveKernelError: cells ran past their time limit and could not be stopped"
    if problem and problem.startswith("DeadKernelError") and status is not None and os.WIFSIGNALED(status):
        problem = f"DeadKernelError: the notebook's Python process was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    if problem:
        return {"status": "failed", "reason": problem}
    if state["failed"]:
        return {"status": "failed", "reason": state["failed"]}
    return {"status": "ok", "outputs": [o if o is not None else [] for o in outputs]}


if __name__ == "__main__":
    serve()
