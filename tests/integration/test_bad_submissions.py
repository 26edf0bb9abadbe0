"""Every bad submission handled: one cohort through ``cycle.autograde`` (sandbox on).

An honest learner and one learner per kind of bad submission, each built from the
fetched release notebook of 01-authenticity as a learner could make it (editing
the notebook's JSON or cells, or the folder), with answers saved through
``AnswerStore``. Graded once; for each learner the test checks the reason the
trainer reads (progress output and ``AutogradeReport``), the score, the gradebook
record, and that the honest learner's per-cell grades are exactly those it gets
when graded alone. The table in README.md ("Grading safety") is this test.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograde import roster
from autograde.config import Settings
from autograde.course import cycle, rejections
from autograde.course import nbgrader_api as course
from autograde.grading import sandbox
from curriculum.answers import AnswerStore
from curriculum.roleplay import winning_path
from curriculum.schema import load_module
from tests.conftest import ROOT

ENGINES = sorted(cycle.ENGINES)  # every registered engine

MODULE = "01-authenticity"
NOTEBOOK = f"{MODULE}.ipynb"
TIMEOUT = 4  # seconds per cell: bounds the loop and the flood (honest cells take well under 1 s)
COHORT, DUE = "spring", "2026-11-20"
ON_TIME = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
LATE = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)  # a day after the cohort's due date
HONEST_SCORE = 18.0  # 3 role-plays (6) + 4 of 5 questions right (12); reflections left for a trainer
MAX = 30.0

pytestmark = [  # the learners' notebooks are broken on purpose; nbformat says so while nbgrader reads them
    pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId"),
    pytest.mark.filterwarnings("ignore::nbformat.warnings.MissingIDFieldWarning"),
]


# -- what learners do to their notebook ----------------------------------------------------------


def index(nb: dict, gid: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if c["metadata"].get("nbgrader", {}).get("grade_id") == gid)


def code_in(gid: str, code: str):
    def edit(nb: dict, folder: Path) -> None:
        nb["cells"][index(nb, gid)]["source"] = code
    return edit


def restructure(nb: dict, folder: Path) -> None:
    """Deleted, duplicated, moved and retyped cells, as careless editing in JupyterLab leaves them."""
    cells = nb["cells"]
    for gid in ("auth-q-casual-caller-test", "auth-r-balance-answer"):  # a test and a reflection deleted
        del cells[index(nb, gid)]
    cells.append(copy.deepcopy(cells[index(nb, "auth-q-positivity-test")]))  # duplicated
    cells.insert(0, copy.deepcopy(cells[index(nb, "auth-rp-parking-counter-play")]))
    for gid in ("auth-rp-billing-idea-done", "auth-rp-swim-registration-done"):  # moved to the top
        cells.insert(0, cells.pop(index(nb, gid)))
    test = cells[index(nb, "auth-q-order-greeting-test")]  # a test made Markdown
    test["cell_type"] = "markdown"
    test.pop("outputs", None)
    test.pop("execution_count", None)
    refl = cells[index(nb, "auth-r-values-answer")]  # a reflection made code
    refl.update(cell_type="code", outputs=[], execution_count=None)


def tamper(nb: dict, folder: Path) -> None:
    """The test cells and their points edited, as a learner after the points could."""
    nb["cells"][index(nb, "auth-q-trail-question-test")]["source"] = "3.0"  # the question they got wrong
    nb["cells"][index(nb, "auth-q-casual-caller-test")]["metadata"]["nbgrader"]["points"] = 100
    nb["cells"][index(nb, "auth-q-positivity-test")]["metadata"]["nbgrader"]["grade"] = False


def rename(nb: dict, folder: Path) -> None:
    (folder / NOTEBOOK).rename(folder / f"{MODULE}-Copy1.ipynb")


def extra_notebook(nb: dict, folder: Path) -> None:
    (folder / "scratch.ipynb").write_text(json.dumps(nb))


NOISY = """import sys, warnings
warnings.warn("this answer cell warns")
print("and writes to stderr", file=sys.stderr)"""
NOISY_TESTS = """import warnings
import curriculum.scoring as scoring
warnings.simplefilter("always")
_score = scoring.score_question
def _noisy(*args, **kwargs):
    warnings.warn("a warning inside a test")
    return _score(*args, **kwargs)
scoring.score_question = _noisy"""
CHEAT = """import curriculum.scoring as scoring
scoring.score_question = lambda *args, **kwargs: 99.0   # more than any question's 3 points
scoring.score_roleplay = lambda *args, **kwargs: None   # no result: nbgrader would give full points"""
LOOP = "while True:\n    pass"
CRASH = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
# bytes(n) is calloc'd and never touched, so the address-space limit stops it at once. A hog
# that writes every page (bytearray) needed 1.9 s here and more than the 4 s cell limit on a
# loaded CI machine: the time limit then stopped it first, a correct outcome but a different reason.
MEMORY = "hog = []\nwhile True:\n    hog.append(bytes(64 * 1024 * 1024))"
FLOOD = "while True:\n    print('x' * 1_000_000)"
# A fork bomb, bounded so that it cannot hurt this machine when the cap is missing: 2,000 children
# that sleep. Under the sandbox's cgroup (cgroup.py: 128 processes) fork fails part-way; the bomb
# then kills its children before it stops, so the learner's later cells run as usual (children left
# alive would keep the cap full and fail the learner's own next cells, at a time that depends on
# the machine's speed).
FORKS = """import os, signal, time
children = []
try:
    for _ in range(2000):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
finally:
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)"""
# HTML, script and a forged widget reference from an answer cell, and HTML for every test result;
# the marker never appears whole in the source, only in what the cell outputs.
SCRIPT = """from IPython.display import HTML, display
mark = "XSS" + "MARK"
display(HTML("<scr" + "ipt>/*" + mark + "OUT*/</scr" + "ipt><b onmouseover='/*" + mark + "ATTR*/'>hi</b>"))
display({"application/vnd.jupyter.widget-view+json": {"model_id": "</scr" + "ipt><scr" + "ipt>/*" + mark + "WIDGET*/"},
         "text/plain": "a widget"}, raw=True)
get_ipython().display_formatter.formatters["text/html"].for_type(float, lambda x: "<i>/*" + mark + "TEST*/</i>")"""
SCRIPT_REFLECTION = ("I listen first. <script>/*XSSMARKREFL*/</script> <img src=x onerror=alert(1)> "
                     "[read more](javascript:alert(1)) https://phish.example/login <https://phish2.example> "
                     "$\\href{https://phish3.example}{click}$ ``` `")


TRAIL_KEY = next(q.answer[0] for q in load_module(ROOT / "curriculum" / "modules" / f"{MODULE}.yaml").questions
                 if q.id == "auth-q-trail-question")
TYPED_ANSWER = f"""from curriculum.answers import AnswerStore
from curriculum.schema import load_module
AnswerStore(".").put("questions", "auth-q-trail-question", {TRAIL_KEY!r})  # the one they got wrong"""


def add_cell(nb: dict, folder: Path) -> None:
    nb["cells"].insert(index(nb, "auth-q-trail-question-test"),
                       {"cell_type": "code", "metadata": {}, "source": TYPED_ANSWER, "outputs": [], "execution_count": None})


def instructor_notebook(nb: dict, folder: Path) -> None:
    """The instructor's source notebook (its solution code records every key) submitted with no
    answers clicked: nbgrader gave it 21 of 30 from its own solution code."""
    nb.clear()
    nb.update(json.loads((ROOT / "source" / MODULE / NOTEBOOK).read_text(encoding="utf-8")))
    (folder / "answers.json").unlink()


def script_reflection(nb: dict, folder: Path) -> None:
    code_in("auth-q-casual-caller-answer", SCRIPT)(nb, folder)
    # typed in the page's text box: answers.json, written into the graded cell at submit
    AnswerStore(folder).put("reflections", "auth-r-balance-answer", SCRIPT_REFLECTION)


# -- what a broken upload leaves in submitted/ (planted after collect) --------------------------------


def link_answers(path: Path) -> None:
    """answers.json made a link to the honest learner's (a relative link, as `ln -s` makes)."""
    (path.parent / "answers.json").unlink()
    (path.parent / "answers.json").symlink_to(Path("..", "..", "honest", MODULE, "answers.json"))


def hard_link_answers(path: Path) -> None:
    """answers.json made a hard link to a copy of the honest learner's answers kept outside the submission."""
    honest = path.parent.parent.parent / "honest" / MODULE / "answers.json"
    elsewhere = path.parent.parent / "elsewhere.json"
    shutil.copyfile(honest, elsewhere)
    (path.parent / "answers.json").unlink()
    os.link(elsewhere, path.parent / "answers.json")


def link_in_exchange(folder: Path) -> None:
    """In the exchange (before collect), answers.json replaced by a link to the honest learner's
    submitted answers: nbgrader's collect would copy the honest learner's answers as this one's."""
    (honest,) = folder.parent.glob(f"honest+{MODULE}+*")
    (folder / "answers.json").unlink()
    (folder / "answers.json").symlink_to(honest / "answers.json")


def truncate(path: Path) -> None:
    path.write_text(path.read_text()[:500])


def not_json(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


def not_a_notebook(path: Path) -> None:
    path.write_text('{"cells": 5, "nbformat": 4, "metadata": {}}')


def gigabytes(path: Path) -> None:
    os.truncate(path, 2 * 1024**3)  # sparse: 2 GiB of saved "output" after the notebook's text


@dataclass
class Case:
    graded: bool
    score: float
    says: list[str]  # each in the learner's reason or notes
    edit: object = None  # (nb, folder) -> None, before submitting
    plant: object = None  # (path) -> None, in submitted/ after collect
    inbound: object = None  # (folder) -> None, in the learner's exchange inbound folder before collect
    at: datetime = ON_TIME
    on_roster: bool = True
    late: bool = False
    needs_manual: bool = True


CASES: dict[str, Case] = {
    "honest": Case(True, HONEST_SCORE, []),
    "truncated": Case(False, 0.0, ["NotJSONError: Notebook does not appear to be JSON",
                                   "stops after 500 bytes, in the middle of the notebook"], plant=truncate),
    "binary": Case(False, 0.0, ["NotJSONError: Notebook does not appear to be JSON", "is not text"], plant=not_json),
    "notanotebook": Case(False, 0.0, ["is not a Jupyter notebook as the module released it: it has no list of cells"],
                         plant=not_a_notebook),
    "gigabytes": Case(False, 0.0, ["is 2.0 GiB, over the 16.0 MiB limit"], plant=gigabytes),
    "wrongname": Case(False, 0.0, [f"no {NOTEBOOK} in the submission (it holds {MODULE}-Copy1.ipynb)"], edit=rename),
    "extranotebook": Case(True, HONEST_SCORE, ["extra notebook(s) not graded: scratch.ipynb"], edit=extra_notebook),
    "restructured": Case(True, HONEST_SCORE, [
        "cell(s) deleted, put back from the module: auth-q-casual-caller-test (a test), "
        "auth-r-balance-answer (a reflection)",
        "cell(s) duplicated, the last copy used: auth-rp-parking-counter-play (an answer), "
        "auth-q-positivity-test (a test)",
        "cells moved, put back in the module's order",
        "cell type changed, put back: auth-q-order-greeting-test (markdown → code), "
        "auth-r-values-answer (code → markdown)"], edit=restructure),
    "tampered": Case(True, HONEST_SCORE, [
        "locked cell(s) edited, the module's own used: auth-q-trail-question-test (a test)",
        "grading metadata (points, grade, locked) changed, put back: auth-q-casual-caller-test (a test), "
        "auth-q-positivity-test (a test)"], edit=tamper),
    # Only clicks count: code typed into an answer cell is never run, whatever it would do.
    "looper": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=code_in("auth-q-positivity-answer", LOOP)),
    "crasher": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=code_in("auth-q-casual-caller-answer", CRASH)),
    "memoryhog": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=code_in("auth-q-casual-caller-answer", MEMORY)),
    "forker": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=code_in("auth-q-casual-caller-answer", FORKS)),
    "flooder": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=code_in("auth-q-trail-question-answer", FLOOD)),
    "noisy": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=code_in("auth-q-casual-caller-answer", NOISY)),
    "noisytests": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=code_in("auth-q-casual-caller-answer", NOISY_TESTS)),
    "cheater": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=code_in("auth-rp-parking-counter-play", CHEAT)),
    "typist": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=code_in("auth-q-trail-question-answer", TYPED_ANSWER)),
    "adder": Case(True, HONEST_SCORE, ["1 cell(s) added by the learner: dropped, not run, not graded"],
                  edit=add_cell),
    "instructor": Case(True, 0.0, ["answer cell(s) hold code the learner typed", "not run: the module's own code ran"], edit=instructor_notebook),
    "linker": Case(False, 0.0, ["answers.json is a link to ../../honest/01-authenticity/answers.json, not the "
                                "learner's own answers: it was not read and earns nothing"], plant=link_answers),
    "hardlinker": Case(False, 0.0, ["answers.json is a hard link shared with 1 other file(s), not the learner's "
                                    "own answers"], plant=hard_link_answers),
    "exchangelinker": Case(False, 0.0, ["answers.json is a link to", "it was not read and earns nothing"],
                           inbound=link_in_exchange),
    "twice": Case(True, HONEST_SCORE, ["submitted 2 times; the last one (2026-11-19 09:00) is graded"]),
    "late": Case(True, HONEST_SCORE, ["late: submitted 2026-11-21 10:00, due 2026-11-20 for cohort spring "
                                      "(1 day late); graded normally"], at=LATE, late=True),
    "stranger": Case(True, HONEST_SCORE, ["not on the roster: graded"], on_roster=False),
    "scripter": Case(True, HONEST_SCORE, ["answer cell(s) hold code the learner typed", "not run"],
                     edit=script_reflection),
}
FAILED = {sid for sid, c in CASES.items() if not c.graded}


# -- the cohort ------------------------------------------------------------------------------------------


def answer(module, folder: Path, right: bool = True) -> None:
    """Every role-play played; every question right but the last (or all wrong); reflections written."""
    store = AnswerStore(folder)
    for q in module.questions:
        wrong = "not-an-option" if q.kind == "single" else []
        value = q.answer[0] if q.kind == "single" else list(q.answer)
        store.put("questions", q.id, value if right and q.id != "auth-q-trail-question" else wrong)
    if right:
        for rp in module.roleplays:
            path, ending = winning_path(rp)
            store.put("roleplays", rp.id, {"current": [], "completed": [{"ending": ending, "path": path}]})
    nb_path = folder / NOTEBOOK
    nb = json.loads(nb_path.read_text())
    for r in module.reflections:
        nb["cells"][index(nb, f"{r.id}-answer")]["source"] = f"My answer to {r.id}: I listen first."
    nb_path.write_text(json.dumps(nb))


def submit(s: Settings, module, sid: str, case: Case) -> None:
    home = s.state_dir / "homes" / sid
    folder = course.fetch(s, MODULE, sid, home)
    if sid == "twice":  # first all wrong; the second submission, a day later, counts
        answer(module, folder, right=False)
        course.submit(s, MODULE, sid, home, at=case.at)
    answer(module, folder)
    if case.edit:
        nb = json.loads((folder / NOTEBOOK).read_text())
        case.edit(nb, folder)
        if (folder / NOTEBOOK).exists():
            (folder / NOTEBOOK).write_text(json.dumps(nb))
    course.submit(s, MODULE, sid, home, at=case.at + (timedelta(days=1) if sid == "twice" else timedelta()))


def hashes(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h = hashlib.sha256()
            with open(path, "rb") as f:
                h.update(f.read(64 * 1024 * 1024))  # the sparse 2 GiB file: its size and first 64 MiB
            out[str(path.relative_to(folder))] = f"{path.stat().st_size}:{h.hexdigest()}"
    return out


def cell_grades(s: Settings, sid: str) -> dict[str, tuple]:
    with course.gradebook(s) as gb:
        nb = gb.find_submission_notebook(MODULE, MODULE, sid)
        return {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in nb.grades}


@dataclass
class Graded:
    s: Settings
    engine: str
    report: cycle.AutogradeReport
    lines: list[str]
    seconds: float
    alone: dict[str, tuple]
    before: dict[str, str]
    after: dict[str, str]
    feedback_html: str
    graded_nb: dict[str, dict] = field(default_factory=dict)


@pytest.fixture(scope="module", params=ENGINES)
def graded(request, tmp_path_factory, modules) -> Graded:
    if not (ROOT / "source" / MODULE).is_dir():
        pytest.fail(f"source/{MODULE} is not built: run 'hcwh build'")
    assert sandbox.require_sandbox(True)
    engine = request.param
    module = next(m for m in modules if m.id == MODULE)
    tmp = tmp_path_factory.mktemp(f"bad-{engine}")
    s = Settings(state_dir=tmp / "state", timeout=TIMEOUT, sandbox=True)
    course.prepare(s, [MODULE])
    (tmp / "cohorts.csv").write_text(f"cohort,module,due_date\n{COHORT},{MODULE},{DUE}\n")
    roster.import_cohorts(s, tmp / "cohorts.csv")
    rows = [f"{sid},{sid.title()},Learner,{sid}@example.org,Permits,2026-10-05,{COHORT}"
            for sid, c in CASES.items() if c.on_roster]
    (tmp / "roster.csv").write_text("employee_id,first_name,last_name,email,department,hire_date,cohort\n"
                                    + "\n".join(rows) + "\n")
    roster.import_roster(s, tmp / "roster.csv")
    course.generate(s, MODULE)
    course.release(s, MODULE)
    for sid, case in CASES.items():
        submit(s, module, sid, case)
    for sid, case in CASES.items():
        if case.inbound:
            (folder,) = (s.exchange_dir / s.course_id / "inbound").glob(f"{sid}+{MODULE}+*")
            case.inbound(folder)
    cycle.collect(s, [MODULE], progress=lambda line: None)

    # The honest learner graded alone, in a copy of the course with nobody else's submission.
    alone = replace_state(s, tmp / "alone")
    shutil.copytree(s.state_dir, alone.state_dir, symlinks=True)
    for folder in (alone.course_dir / "submitted").iterdir():
        if folder.name != "honest":
            shutil.rmtree(folder)
    cycle.autograde(alone, [MODULE], progress=lambda line: None, engine=engine)
    alone_grades = cell_grades(alone, "honest")

    for sid, case in CASES.items():
        if case.plant:
            case.plant(s.course_dir / "submitted" / sid / MODULE / NOTEBOOK)
    before = hashes(s.course_dir / "submitted")
    lines: list[str] = []
    t0 = time.monotonic()
    report = cycle.autograde(s, [MODULE], progress=lines.append, engine=engine)
    seconds = time.monotonic() - t0
    after = hashes(s.course_dir / "submitted")
    result = course.api(s).generate_feedback(MODULE, "scripter")
    assert result["success"], result.get("log")
    html = (s.course_dir / "feedback" / "scripter" / MODULE / f"{MODULE}.html").read_text(encoding="utf-8")
    g = Graded(s, engine, report, lines, seconds, alone_grades, before, after, html)
    for sid in CASES:
        path = s.course_dir / "autograded" / sid / MODULE / NOTEBOOK
        if path.exists():
            g.graded_nb[sid] = json.loads(path.read_text(encoding="utf-8"))
    return g


def replace_state(s: Settings, state_dir: Path) -> Settings:
    from dataclasses import replace

    return replace(s, state_dir=state_dir)


def text_of(r: cycle.Result) -> str:
    return "\n".join([r.reason or "", *r.notes])


# -- the tests --------------------------------------------------------------------------------------------


# Where the fast engine differs. Its forked Python reports a killed process in its own
# words. And a flood of output does not break its channel to the grader as it breaks
# nbgrader's (whose 4 s wait for output then fails the learner): printing past the output
# budget is dropped, the looping cell is stopped at the time limit like any other, and
# the learner is graded on what they answered, with a note.
ENGINE_WORDS: dict = {}  # none since only clicks count: no learner code runs, in either engine
ENGINE_CASES: dict = {}


def case_for(graded, sid: str) -> Case:
    return ENGINE_CASES.get((graded.engine, sid), CASES[sid])


@pytest.mark.parametrize("sid", list(CASES))
def test_each_bad_submission_gets_its_reason_and_a_defined_score(graded, sid):
    case, r = case_for(graded, sid), graded.report.result(MODULE, sid)
    assert r.graded == case.graded, text_of(r)
    assert (r.score, r.max_score) == (case.score, MAX), text_of(r)
    for words in ENGINE_WORDS.get((graded.engine, sid), case.says):
        assert words in text_of(r), text_of(r)
    assert r.late == case.late
    assert r.on_roster is case.on_roster
    # a late mark on an unsynchronized clock carries a warning (autograde/clock.py); no other note does
    from autograde import clock

    assert ("clock is not synchronized" in text_of(r)) is (case.late and not clock.synced()), text_of(r)
    if sid == "honest":
        assert not r.notes and r.reason is None
    # the trainer's terminal says the same: the learner's line, then the notes
    (n,) = [i for i, ln in enumerate(graded.lines) if re.match(rf"\[\d+/{len(CASES)}\] {MODULE} {sid} \.\.\. ", ln)]
    head = graded.lines[n]
    if case.graded:
        assert head.endswith(f" ... {case.score:g}/30" + (" (reflections to grade)" if r.needs_manual else ""))
    else:
        assert head.endswith(f" ... FAILED: {r.reason} (scored 0/30)")
        assert f"  FAILED {MODULE} {sid}: {r.reason}" in graded.lines
    mine = r.lines(head.split(" ... ")[0] + " ...")
    assert graded.lines[n:n + len(mine)] == mine
    assert all(len(line) < 600 and line.isprintable() for line in mine)


@pytest.mark.parametrize("sid", list(CASES))
def test_the_gradebook_holds_a_complete_record_for_every_learner(graded, sid):
    case = case_for(graded, sid)
    with course.gradebook(graded.s) as gb:
        sub = gb.find_submission(MODULE, sid)
        assert (sub.score, sub.max_score) == (case.score, MAX)
        grades = [g for nb in sub.notebooks for g in nb.grades]
        assert len(grades) == 11
        code = [g for g in grades if g.cell_type == "code"]
        assert all(g.auto_score is not None and not g.needs_manual_grade for g in code)  # no half-made row
        if not case.graded:  # scored 0 whole, nothing left "needs manual grade", no graded copy
            assert all(g.auto_score == 0.0 and not g.needs_manual_grade for g in grades)
            assert not (graded.s.course_dir / "autograded" / sid).exists()
        else:
            assert sub.needs_manual_grade  # reflections await a trainer
            assert (graded.s.course_dir / "autograded" / sid / MODULE / NOTEBOOK).is_file()
        assert sub.timestamp == (case.at + (timedelta(days=1) if sid == "twice" else timedelta())).replace(tzinfo=None)


def test_no_other_learner_is_affected(graded):
    """The honest learner's per-cell grades, graded among all the bad submissions, are exactly
    those it gets alone."""
    assert cell_grades(graded.s, "honest") == graded.alone
    assert sum(a for a, _, _ in graded.alone.values() if a is not None) == HONEST_SCORE
    # learners whose attack only hurt themselves score what their answers earn, cell by cell
    honest_code = {k: v for k, v in graded.alone.items() if not k.startswith("auth-r-")}
    for sid in ("extranotebook", "tampered", "looper", "crasher", "memoryhog", "forker", "flooder", "noisy",
                "noisytests", "cheater", "typist", "adder", "twice", "late", "stranger", "scripter"):
        got = cell_grades(graded.s, sid)
        assert {k: v for k, v in got.items() if k in honest_code} == honest_code, sid


def test_summary_counts_and_names(graded):
    r = graded.report
    failed = {sid for sid in CASES if not case_for(graded, sid).graded}
    assert len(r.results) == len(CASES)
    assert {f.student_id for f in r.failures} == failed
    assert f"Autograded {len(CASES) - len(failed)} of {len(CASES)} submission(s); {len(failed)} failed." in graded.lines
    assert "1 submission(s) were late, graded normally: late (01-authenticity)" in graded.lines
    assert "1 learner(s) not on the roster, graded: stranger" in graded.lines


def test_submissions_are_never_modified(graded):
    assert graded.after == graded.before
    assert len(graded.before) >= 4 * len(CASES)


def test_learner_html_and_script_never_reach_a_browser(graded):
    """Formgrader and feedback render the graded notebook: it keeps plain text and widget
    references only, and the learner's Markdown is inert; scores are unchanged."""
    nb = graded.graded_nb["scripter"]
    whole = json.dumps(nb)
    for mark in ("XSSMARKOUT", "XSSMARKATTR", "XSSMARKWIDGET", "XSSMARKTEST"):
        assert mark not in whole, mark
        assert mark not in graded.feedback_html, mark
    assert "widgets" not in nb["metadata"]
    mimes = {k for c in nb["cells"] for o in c.get("outputs", []) for k in o.get("data", {})}
    assert mimes <= {"text/plain", "application/vnd.jupyter.widget-view+json"}, mimes
    html = graded.feedback_html
    assert "<script>/*XSSMARKREFL" not in html and "XSSMARKREFL" in html  # shown as text, not run
    assert not re.search(r"<img[^>]*onerror", html)
    assert not re.search(r"""href=["']?\s*javascript""", html, re.I)
    # the reflection is literal text: no bare-URL autolink, no <https://...> link, no MathJax \href
    assert "https://phish.example/login" in html and "$\\href{https://phish3.example}{click}$" in html
    assert not re.search(r"<a\s[^>]*phish", html), re.findall(r"<a\s[^>]*>", html)
    assert "<a href" not in html.split("I listen first.")[1].split("</pre>")[0]
    # the honest learner's widgets still render as widget references; scores as without the attack
    honest = graded.graded_nb["honest"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for c in honest["cells"] for o in c.get("outputs", []))
    assert graded.report.result(MODULE, "scripter").score == HONEST_SCORE


def test_grading_time_is_reported_and_every_submission_has_a_result(graded):
    """A measurement, not a bound (no test depends on how fast the machine is): the time
    is printed; what must hold is that each submission ended with a result."""
    print(f"\n{graded.engine}: {len(CASES)} submissions autograded in {graded.seconds:.1f} s")
    print("\n".join(graded.lines))
    assert sorted(r.student_id for r in graded.report.results) == sorted(CASES)


def test_an_unknown_engine_and_a_missing_sandbox_are_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    from autograde.cli import main

    s = Settings(state_dir=tmp_path / "state")
    with pytest.raises(ValueError, match="unknown autograde engine 'turbo'"):
        cycle.autograde(s, [MODULE], engine="turbo")
    monkeypatch.delenv(sandbox.NO_SANDBOX_ENV, raising=False)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(cycle.AutogradeRefused, match="'bwrap' is not installed"):
        cycle.autograde(s, [MODULE])
    assert main(["--state-dir", str(s.state_dir), "autograde", MODULE]) == 2  # a clean refusal, no traceback
    err = capsys.readouterr().err
    assert err.startswith("error: Autograde runs learners' code in a bubblewrap sandbox, but 'bwrap' is not installed")
    assert "Traceback" not in err
    assert not s.state_dir.exists()  # nothing was touched


def test_a_learner_whose_submission_failed_is_told_to_submit_again(graded):
    """nbgrader makes feedback only from a graded copy; a rejected learner gets a page saying
    why and what to do, released and fetched through nbgrader's own exchange."""
    s, lines = graded.s, []
    cycle.feedback(s, [MODULE], progress=lines.append)
    failed = sorted(sid for sid in CASES if not case_for(graded, sid).graded)
    assert f"of which {len(failed)} ask the learner to submit again" in "\n".join(lines)
    for sid in failed:
        reason = graded.report.result(MODULE, sid).reason
        pages = course.fetch_feedback(s, MODULE, sid, s.state_dir / "homes" / sid)
        assert pages, sid
        text = pages[0].read_text(encoding="utf-8")
        assert "could not be graded" in text and "Submit it again from the Assignments tab" in text, sid
        assert html.escape(reason) in text and "0 of 30 points" in text, sid
        assert stat.S_IMODE((s.course_dir / "rejected" / MODULE / f"{sid}.json").stat().st_mode) == 0o600
    assert [p.name for p in course.fetch_feedback(s, MODULE, "wrongname", s.state_dir / "homes" / "wrongname")] == [
        f"{MODULE}-Copy1.html"]  # under the name the learner submitted, where their Assignments tab looks
    # a graded learner gets nbgrader's own feedback, and no such page
    honest = course.fetch_feedback(s, MODULE, "honest", s.state_dir / "homes" / "honest")
    assert honest and "could not be graded" not in honest[0].read_text(encoding="utf-8")
    assert not (s.course_dir / "rejected" / MODULE / "honest.json").exists()

    # The learner submits again, properly. The old page is not offered for the new submission
    # (collected, not yet graded), and once the new one grades the note is gone.
    home = s.state_dir / "homes" / "wrongname"
    (home / MODULE / f"{MODULE}-Copy1.ipynb").rename(home / MODULE / NOTEBOOK)
    course.submit(s, MODULE, "wrongname", home, at=CASES["wrongname"].at + timedelta(hours=1))
    cycle.collect(s, [MODULE], progress=lambda line: None)
    assert "wrongname" not in rejections.write_feedback(s, MODULE)
    again = cycle.autograde(s, [MODULE], progress=lambda line: None, engine=graded.engine)
    assert again.result(MODULE, "wrongname").graded
    assert not (s.course_dir / "rejected" / MODULE / "wrongname.json").exists()
    assert (s.course_dir / "rejected" / MODULE / "truncated.json").exists()


def test_typed_code_never_runs_in_either_engine(graded):
    """Only clicks count: the hostile answer cells left no trace of running (no stopped cell, no
    stderr, no MemoryError, no BlockingIOError), and every graded code cell is the module's own."""
    release = json.loads((ROOT / "release" / MODULE / NOTEBOOK).read_text(encoding="utf-8"))
    def own(nb):  # code cells other than tests (whose hidden part OverwriteCells puts back)
        return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
                and not c["metadata"].get("nbgrader", {}).get("grade")]
    want = own(release)
    for sid in ("looper", "crasher", "memoryhog", "forker", "flooder", "noisy", "noisytests", "cheater",
                "typist", "adder", "instructor", "scripter"):
        text = text_of(graded.report.result(MODULE, sid))
        for trace in ("time limit", "stderr", "MemoryError", "BlockingIOError", "scored 0: it", "kernel died"):
            assert trace not in text, (sid, text)
        nb = graded.graded_nb[sid]
        assert own(nb) == want, sid
