"""Autograde runs learners' code in a bubblewrap sandbox (autograde/grading/sandbox.py).

One real nbgrader cycle (prepare, generate, release, fetch, submit, collect,
autograde) with hostile learners: their answer cells (solution cells, which a
learner can edit and autograde does not restore) try to read the hidden tests,
the gradebook, another learner's work, the answer keys in the checkout and the
trainer's files; to write outside their folder; to reach the network and the
grader's process; to leave traps (symlinks, a fifo, a set-uid file) for the
trainer's tools; to loop forever, eat memory, flood output, fill the disk. Every
attack cell prints what it managed; each must have failed, and an honest learner
graded in the same run must score exactly what it scores without a sandbox.
"""

from __future__ import annotations

import ast
import json
import os
import secrets
import signal
import socket
import stat
import sys
import sysconfig
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from autograde.config import Settings
from autograde.course import nbgrader_api as course
from autograde.errors import NbgraderError
from autograde.grading import sandbox
from curriculum.answers import AnswerStore
from tests.conftest import ROOT

MODULE = "01-authenticity"
NOTEBOOK = f"{MODULE}.ipynb"
TIMEOUT = 5  # seconds per cell: bounds the infinite loop (honest cells take well under 1 s)
HONEST, INTRUDER, LOOPER, CPUHOG = "honest", "intruder", "looper", "cpuhog"


def secret() -> str:
    return f"HCWH-SECRET-{secrets.token_hex(12)}"


def answer_cells(nb) -> list:
    """The learner-editable code cells (nbgrader solution cells named '*-answer')."""
    return [c for c in nb.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("solution")
            and c.metadata["nbgrader"].get("grade_id", "").endswith("-answer")]


def honest_answers(module) -> tuple[dict, dict, float]:
    """Every question right but the first single-choice one, the first role-play played:
    (questions, roleplays, expected score)."""
    questions = {q.id: (q.answer[0] if q.kind == "single" else list(q.answer)) for q in module.questions}
    wrong = next(q for q in module.questions if q.kind == "single")
    questions[wrong.id] = next(o.id for o in wrong.options if o.id != wrong.answer[0])
    first = module.roleplays[0]
    roleplays = {first.id: {"current": [], "completed": [{"ending": "x", "path": []}]}}
    expected = sum(q.points for q in module.questions if q is not wrong) + first.points
    return questions, roleplays, expected


def learner_submits(s: Settings, student: str, module, attack_cells: list[str] = (), extra: dict | None = None) -> None:
    home = s.state_dir / "homes" / student
    folder = course.fetch(s, MODULE, student, home)
    questions, roleplays, _ = honest_answers(module)
    store = AnswerStore(folder)
    for qid, value in {**questions, **(extra or {})}.items():
        store.put("questions", qid, value)
    for rid, record in roleplays.items():
        store.put("roleplays", rid, record)
    if attack_cells:
        path = folder / NOTEBOOK
        nb = nbformat.read(path, as_version=4)
        cells = answer_cells(nb)
        assert len(cells) >= len(attack_cells)
        for cell, code in zip(cells, attack_cells):
            cell.source = code
        nbformat.write(nb, path)
    course.submit(s, MODULE, student, home)


# ---------------------------------------------------------------- attack cells

READ = '''
import glob, os, re
def _read(label, pattern):
    for p in glob.glob(pattern) or [pattern]:
        try:
            with open(p, "rb") as f:
                data = f.read()
        except Exception as e:
            print(f"BLOCKED read {{label}}: {{type(e).__name__}}")
        else:
            print(f"LEAK read {{label}}: {{p}} {{len(data)}} bytes", re.findall(rb"HCWH-SECRET-[0-9a-f]+", data))
def _list(label, path):
    try:
        print(f"SEEN list {{label}}: {{sorted(os.listdir(path))!r}}")
    except Exception as e:
        print(f"BLOCKED list {{label}}: {{type(e).__name__}}")
for label, pattern in {reads!r}:
    _read(label, pattern)
for label, path in {lists!r}:
    _list(label, path)
print("LEAK env" if any("HCWH-SECRET" in v for v in os.environ.values()) else "BLOCKED env")
'''

WRITE = '''
for label, path in {writes!r}:
    try:
        with open(path, "ab") as f:
            f.write(b"pwned")
    except Exception as e:
        print(f"BLOCKED write {{label}}: {{type(e).__name__}}")
    else:
        print(f"WROTE {{label}}")
'''

REACH = '''
import os, signal, socket, subprocess
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"pwned")
    print("LEAK net")
except Exception as e:
    print(f"BLOCKED net: {{type(e).__name__}}")
try:
    os.kill({grader_pid}, signal.SIGUSR1)
    print("LEAK signal")
except Exception as e:
    print(f"BLOCKED signal: {{type(e).__name__}}")
try:
    open("/proc/{grader_pid}/environ").read()
    print("LEAK proc")
except Exception as e:
    print(f"BLOCKED proc: {{type(e).__name__}}")
# a process that tries to outlive the kernel
subprocess.Popen(["/bin/sh", "-c", "while :; do sleep 1; done # {orphan}"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("STARTED orphan")
'''

TRAPS = '''
import os
os.remove({notebook!r})
os.symlink({victim!r}, {notebook!r})          # nbgrader writes the graded notebook here
os.symlink({victim!r}, "victim-link.txt")     # nbgrader chmods and copies every file
os.symlink({gradebook!r}, "gradebook-link.txt")
os.mkfifo("trap.fifo")                        # a copy would block forever
with open("suid.sh", "w") as f:
    f.write("#!/bin/sh\\n")
os.chmod("suid.sh", 0o6755)
os.mkdir("sub")
os.symlink("/", "sub/root-link")
print("PLANTED traps")
'''

LOOP = '''
print("LOOP starts")
while True:
    pass
'''

MEMORY = '''
def _bomb():
    hog = []
    try:
        while True:
            hog.append(bytearray(64 * 1024 * 1024))
    except MemoryError:
        return len(hog) * 64
try:
    bytearray(64 * 1024 ** 3)
    print("LEAK memory: 64 GiB at once")
except MemoryError:
    print("BLOCKED memory at once")
print(f"BLOCKED memory after {{_bomb()}} MiB")
'''

FLOOD = '''
for i in range(6000):
    print("x" * 1000)
'''

DISK = '''
import os
def _fill(label, folder, files):
    written = 0
    try:
        for n in range(files):
            with open(os.path.join(folder, f"fill-{{n}}.bin"), "wb") as f:
                for _ in range(128):
                    f.write(b"\\0" * 1024 * 1024)
                    written += 1
        print(f"LEAK disk {{label}}: {{written}} MiB")
    except OSError as e:
        print(f"BLOCKED disk {{label}} after {{written}} MiB: errno {{e.errno}}")
    finally:
        for n in range(files):
            try:
                os.remove(os.path.join(folder, f"fill-{{n}}.bin"))
            except OSError:
                pass
_fill("file size", ".", 1)
_fill("tmp", "/tmp", 2)
_fill("shm", "/dev/shm", 2)
'''

CPU = '''
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)   # no interrupt at the cell timeout
signal.signal(signal.SIGXCPU, signal.SIG_IGN)
while True:
    pass
'''


# ---------------------------------------------------------------- the graded run

def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
            else:
                parts.append(json.dumps(out.get("data", {})))
    return "\n".join(parts)


def cell_scores(s: Settings, student: str) -> dict[str, float]:
    with course.gradebook(s) as gb:
        nb = gb.find_submission_notebook(MODULE, MODULE, student)
        return {g.name: g.score for g in nb.grades}


class Run:
    pass


@pytest.fixture(scope="module")
def run(tmp_path_factory, modules):
    if not (ROOT / "source" / MODULE).is_dir():
        pytest.fail(f"source/{MODULE} is not built: run 'hcwh build'")
    assert sandbox.require_sandbox(True)
    module = next(m for m in modules if m.id == MODULE)
    tmp = tmp_path_factory.mktemp("sandbox")
    r = Run()
    r.module = module
    # only clicks count in grading; here hostile answer cells must run: the sandbox is under test
    r.s = s = Settings(state_dir=tmp / "state", timeout=TIMEOUT, sandbox=True, run_typed_code=True)
    r.secrets = {name: secret() for name in ("source", "gradebook", "honest", "outside", "home", "env")}
    r.token = secrets.token_hex(6)
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(r.secrets["outside"])
    r.victim = outside / "victim.txt"
    r.victim.write_text("untouched")
    trainer_home = tmp / "trainer-home"
    trainer_home.mkdir()
    (trainer_home / ".netrc").write_text(r.secrets["home"])
    site = Path(sysconfig.get_paths()["purelib"])
    r.host_writes = {
        "course folder": s.course_dir / f"PWNED-{r.token}.txt",
        "gradebook": s.course_dir / "gradebook.db",
        "outside folder": outside / f"PWNED-{r.token}.txt",
        "trainer home": trainer_home / f"PWNED-{r.token}.txt",
        "checkout": ROOT / "curriculum" / f"PWNED-{r.token}.txt",
        "venv": site / f"PWNED-{r.token}.txt",
        "host /tmp": Path("/tmp") / f"hcwh-pwned-{r.token}.txt",
    }

    course.prepare(s, [MODULE])
    course.generate(s, MODULE)
    course.release(s, MODULE)
    # Secrets the learners must never see: in the source notebook (not its cells),
    # in the gradebook, in the honest learner's answers.json.
    src = s.course_dir / "source" / MODULE / NOTEBOOK
    nb = nbformat.read(src, as_version=4)
    nb.metadata["hcwh_test_secret"] = r.secrets["source"]
    nbformat.write(nb, src)
    with course.gradebook(s) as gb:
        gb.update_or_create_student(HONEST, first_name=r.secrets["gradebook"])

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    signals = []
    old_handler = signal.signal(signal.SIGUSR1, lambda *_: signals.append(1))

    reads = [
        ("source notebook", str(src)),
        ("gradebook", str(s.course_dir / "gradebook.db")),
        ("other learner's submission", str(s.course_dir / "submitted" / HONEST / MODULE / "answers.json")),
        ("other learner's graded folder", str(s.course_dir / "autograded" / HONEST / MODULE / "answers.json")),
        ("exchange", str(s.exchange_dir / s.course_id / "inbound" / "*" / "answers.json")),
        ("answer keys in the checkout", str(ROOT / "curriculum" / "modules" / f"{MODULE}.yaml")),
        ("trainer code in the checkout", str(ROOT / "autograde" / "config.py")),
        ("file outside", str(outside / "secret.txt")),
        ("trainer home", str(trainer_home / ".netrc")),
    ]
    r.lists = {
        "course folder": s.course_dir,
        "graded learners": s.course_dir / "autograded",
        "checkout": ROOT,
        "learner package": ROOT / "curriculum",
        "trainer package": ROOT / "autograde",
        "grading room": ROOT / "autograde" / "grading",
        "home": Path.home(),
    }
    attacks = [
        READ.format(reads=reads, lists=[(k, str(v)) for k, v in r.lists.items()]),
        WRITE.format(writes=[(k, str(v)) for k, v in r.host_writes.items()]),
        REACH.format(port=listener.getsockname()[1], grader_pid=os.getpid(), orphan=f"hcwh-orphan-{r.token}"),
        TRAPS.format(notebook=NOTEBOOK, victim=str(r.victim), gradebook=str(s.course_dir / "gradebook.db")),
    ]
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("HOME", str(trainer_home))
            mp.setenv("HCWH_TEST_SECRET", r.secrets["env"])
            learner_submits(s, HONEST, module, extra={"zz-note": r.secrets["honest"]})
            learner_submits(s, INTRUDER, module, attacks)
            learner_submits(s, LOOPER, module, [LOOP, MEMORY.format(), DISK.format(), FLOOD])
            learner_submits(s, CPUHOG, module, [CPU])
            course.collect(s, MODULE)
            for student in (HONEST, INTRUDER, LOOPER):
                course.autograde(s, MODULE, student)
            r.honest_cells = cell_scores(s, HONEST)
            # The learner whose kernel ignores interrupts is stopped by its CPU limit.
            config = course.nbgrader_config

            def short_cpu(settings, _config=config):
                c = _config(settings)
                c.SandboxedKernelManager.cpu_seconds = 2
                return c

            mp.setattr(course, "nbgrader_config", short_cpu)
            with pytest.raises(NbgraderError) as r.cpuhog_error:  # a long cell timeout: the CPU limit acts
                course.autograde(replace(s, timeout=60), MODULE, CPUHOG)
        try:
            r.connection = listener.accept()
        except BlockingIOError:
            r.connection = None
        r.signals = list(signals)
        r.orphans = [p for p in Path("/proc").glob("[0-9]*") if _cmdline_has(p, f"hcwh-orphan-{r.token}")]
        r.graded = {
            student: nbformat.read(s.course_dir / "autograded" / student / MODULE / NOTEBOOK, as_version=4)
            for student in (HONEST, INTRUDER, LOOPER)
        }
        yield r
    finally:
        signal.signal(signal.SIGUSR1, old_handler)
        listener.close()
        for name, path in r.host_writes.items():  # only if an attack got through
            if name not in ("gradebook",) and path.exists():
                path.unlink()


def _cmdline_has(proc: Path, needle: str) -> bool:
    try:
        return needle.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def lines(r: Run, student: str, prefix: str) -> list[str]:
    return [ln for ln in outputs_text(r.graded[student]).splitlines() if ln.startswith(prefix)]


# ---------------------------------------------------------------- the tests

def test_honest_learner_scores_exactly_as_expected(run):
    _, _, expected = honest_answers(run.module)
    with course.gradebook(run.s) as gb:
        assert gb.find_submission(MODULE, HONEST).score == expected
        # an attacker's own score is untouched by its attacks: its answers are the honest ones
        assert gb.find_submission(MODULE, INTRUDER).score == expected
        assert gb.find_submission(MODULE, LOOPER).score == expected


def test_nothing_outside_the_learners_folder_can_be_read(run):
    text = outputs_text(run.graded[INTRUDER])
    blocked = lines(run, INTRUDER, "BLOCKED read")
    assert len(blocked) == 9, text  # the attack ran, every read failed
    assert not lines(run, INTRUDER, "LEAK"), text
    assert "BLOCKED env" in text  # the grader's environment does not reach the kernel
    whole = json.dumps(run.graded[INTRUDER])
    for name, value in run.secrets.items():
        assert value not in whole, name
    # What the sandbox shows of the host's folders: only the way to what is bound.
    seen = {ln.split(": ", 1)[0].removeprefix("SEEN list "): ast.literal_eval(ln.split(": ", 1)[1])
            for ln in lines(run, INTRUDER, "SEEN list")}
    assert set(seen.get("course folder", [])) <= {"autograded"}
    assert seen.get("graded learners", []) == [INTRUDER]  # not the other learners
    assert set(seen.get("checkout", [])) <= {".venv", "curriculum", "autograde"}
    # of the trainer's package, only the file that stops a cell at its time limit (bound read-only)
    assert seen.get("trainer package", ["grading"]) == ["grading"]
    assert seen.get("grading room", ["kernelstop.py"]) == ["kernelstop.py"]
    if "learner package" in seen:  # an editable install: the package is bound from the checkout...
        assert "modules" not in seen["learner package"]  # ...without the answer keys
        assert "scoring.py" in seen["learner package"]
    home_ok = {Path(p).relative_to(Path.home()).parts[0] for p in (sys.prefix, sys.base_prefix)
               if Path.home() in Path(p).parents}
    assert set(seen.get("home", [])) <= home_ok


def test_nothing_outside_the_learners_folder_can_be_written(run):
    text = outputs_text(run.graded[INTRUDER])
    assert len(lines(run, INTRUDER, "BLOCKED write")) + len(lines(run, INTRUDER, "WROTE")) == len(run.host_writes), text
    # Only the sandbox's own /tmp (a private, bounded tmpfs: the test's state folder lives
    # under /tmp too) takes a write...
    wrote = [ln.removeprefix("WROTE ") for ln in lines(run, INTRUDER, "WROTE")]
    assert "host /tmp" in wrote
    assert all(Path("/tmp") in run.host_writes[name].parents for name in wrote), wrote
    assert "BLOCKED write venv" in text
    if Path("/tmp") not in ROOT.parents:
        assert "BLOCKED write checkout" in text
    # (a checkout under /tmp, as in a CI clone, is shadowed by the sandbox's private
    # /tmp: a write there lands in that tmpfs, never in the checkout, as checked below)
    # ...and nothing reached the host.
    for name, path in run.host_writes.items():
        if name != "gradebook":
            assert not path.exists(), name
    assert b"pwned" not in (run.s.course_dir / "gradebook.db").read_bytes()
    assert run.victim.read_text() == "untouched"


def test_no_network_no_signals_no_process_outlives_the_kernel(run):
    text = outputs_text(run.graded[INTRUDER])
    for what in ("net", "signal", "proc"):
        assert f"BLOCKED {what}" in text, text
    assert "STARTED orphan" in text
    assert run.connection is None  # the listener on 127.0.0.1 saw nobody
    assert run.signals == []
    assert run.orphans == []


def test_traps_left_in_the_folder_are_removed_before_nbgrader_follows_them(run):
    assert "PLANTED traps" in outputs_text(run.graded[INTRUDER])
    folder = run.s.course_dir / "autograded" / INTRUDER / MODULE
    for path in folder.rglob("*"):
        st = path.lstat()
        assert stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode), path
        assert not st.st_mode & (stat.S_ISUID | stat.S_ISGID), path
    assert (folder / NOTEBOOK).is_file()  # nbgrader wrote the graded notebook in the folder, not the victim
    assert run.victim.read_text() == "untouched"
    # Feedback copies the folder's files: no key, no secret, nothing hangs on a fifo.
    result = course.api(run.s).generate_feedback(MODULE, INTRUDER)
    assert result["success"], result.get("log")
    feedback = run.s.course_dir / "feedback" / INTRUDER / MODULE
    for path in feedback.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for name, value in run.secrets.items():
                assert value.encode() not in data, (path, name)


def test_loops_memory_output_and_disk_are_bounded(run):
    text = outputs_text(run.graded[LOOPER])
    assert "LOOP starts" in text
    assert "CellTimeoutError" in text or "KeyboardInterrupt" in text, text  # interrupted at the cell timeout
    assert "BLOCKED memory at once" in text, text
    (bomb,) = lines(run, LOOPER, "BLOCKED memory after")
    assert int(bomb.split()[3]) <= 2048
    assert len(json.dumps(run.graded[LOOPER])) < 5 * 1024 * 1024  # the flood is not kept
    assert len(lines(run, LOOPER, "BLOCKED disk")) == 3, text
    assert not lines(run, LOOPER, "LEAK"), text


def test_a_kernel_that_ignores_interrupts_is_killed_by_its_cpu_limit(run):
    # killed by its 2 CPU seconds (SIGKILL: a dead kernel), not stopped by the 60 s cell timeout,
    # which would have raised a CellTimeoutError instead; no wall-clock figure is asserted
    assert "DeadKernelError" in str(run.cpuhog_error.value)
    assert "CellTimeoutError" not in str(run.cpuhog_error.value)
    with course.gradebook(run.s) as gb:  # and the others' grades stand
        _, _, expected = honest_answers(run.module)
        assert gb.find_submission(MODULE, HONEST).score == expected


def test_sandboxed_and_unsandboxed_grading_agree_for_an_honest_learner(run):
    unsandboxed = replace(run.s, sandbox=False)  # the same course, graded again without a sandbox
    course.autograde(unsandboxed, MODULE, HONEST)
    again = cell_scores(unsandboxed, HONEST)
    assert again == run.honest_cells
    assert sum(again.values()) == honest_answers(run.module)[2]


def test_output_cap_drops_printing_but_keeps_what_scores(tmp_path):
    """The grader keeps at most max_output_bytes of printed output per notebook, so a flood
    cannot fill its memory; results and errors (what nbgrader scores) are always kept."""
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("for i in range(3000):\n    print('x' * 1000)"),
        new_code_cell("print('after the flood')\n1.5"),
        new_code_cell("import sys\nfor i in range(3):\n    print('bad' * 1000, file=sys.stderr, flush=True)\n1.5"),
        new_code_cell("1 / 0"),
    ])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    ex = sandbox.SandboxedExecute(timeout=30, max_output_bytes=1024 * 1024)
    ex.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    flood, result, stderr, error = nb.cells
    assert sum(len(o.get("text", "")) for o in flood.outputs) < 1.1 * 1024 * 1024
    assert "output limit reached" in flood.outputs[-1].text
    assert [o.output_type for o in result.outputs] == ["execute_result"]
    assert result.outputs[0].data["text/plain"] == "1.5"
    # stderr makes nbgrader score a test cell 0: it is kept (once per cell), never dropped
    assert [(o.output_type, o.get("name")) for o in stderr.outputs] == [("stream", "stderr"), ("execute_result", None)]
    assert [o.output_type for o in error.outputs] == ["error"]


def test_grading_refuses_to_run_without_bwrap(monkeypatch, tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="'bwrap' is not installed.*HCWH_NO_SANDBOX=1"):
        sandbox.require_sandbox()
    nb = new_notebook(cells=[new_code_cell("1")])
    with pytest.raises(sandbox.SandboxUnavailable):  # before any kernel starts
        sandbox.SandboxedExecute().preprocess(nb, {"metadata": {"path": str(tmp_path)}})


def test_opting_out_takes_an_explicit_setting_and_is_loud(monkeypatch, capsys):
    from autograde.course.nbconfig import nbgrader_config

    monkeypatch.delenv(sandbox.NO_SANDBOX_ENV, raising=False)
    on = Settings()
    assert on.sandbox
    assert nbgrader_config(on).Autograde.autograde_preprocessors[0] == "autograde.grading.sandbox.SandboxedExecute"
    monkeypatch.setenv(sandbox.NO_SANDBOX_ENV, "1")
    monkeypatch.setattr(sandbox, "_warned", False)
    off = Settings()
    assert not off.sandbox
    unsandboxed = nbgrader_config(off).Autograde.autograde_preprocessors  # nbgrader's Execute, preflight's rules kept
    assert "autograde.grading.sandbox.SandboxedExecute" not in unsandboxed
    assert unsandboxed[0] == "nbgrader.preprocessors.execute.Execute" and "autograde.grading.nbhooks.CheckScores" in unsandboxed
    assert "WITHOUT a sandbox" in capsys.readouterr().err
    assert sandbox.require_sandbox() is False


def test_the_kernel_imports_the_very_package_copy_the_sandbox_binds(monkeypatch, tmp_path):
    """The hub's course environment is built once, an editable install of whichever checkout came
    first; a later checkout's grader binds its own ``curriculum``. The kernel must import that
    bound copy (found through PYTHONPATH), not the venv's pointer to a folder the sandbox hides:
    otherwise every hidden test fails with ModuleNotFoundError and a learner's click scores 0."""
    import subprocess

    outside = tmp_path / "elsewhere"
    (outside / "hcwhprobe").mkdir(parents=True)
    (outside / "hcwhprobe" / "__init__.py").write_text("WHERE = __file__\n")
    monkeypatch.syspath_prepend(str(outside))  # found by the grader, as PYTHONPATH finds a checkout
    work = tmp_path / "work"
    work.mkdir()
    argv = sandbox.sandbox_argv([sys.executable, "-c", "import hcwhprobe; print(hcwhprobe.WHERE)"], work,
                                env={}, packages=["hcwhprobe"])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(outside / "hcwhprobe" / "__init__.py")
