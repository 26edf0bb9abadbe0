"""The fast grading path gives exactly stock nbgrader's grades, and isolates learners.

One small cohort is submitted once, then graded twice from identical copies of the
course: by stock ``nbgrader autograde`` (sandboxed kernels, one per notebook) and by
:mod:`autograde.grading.fast` (forked from one sandboxed template per worker). Every
gradebook row autograde writes must be equal. A second test grades two learners
in one worker, one after the other, and checks that nothing the first left behind
(files in /tmp, /dev/shm or the working folder, a process still running) reaches
the second.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from autograde.config import Settings
from autograde.course import nbgrader_api as course
from autograde.course.demo import COHORT, answer_module
from autograde.course.nbconfig import nbgrader_config
from autograde.grading import fast as fastgrade
from tests.integration.test_sandbox import answer_cells

MODULES = ("00-welcome", "01-authenticity")


def _prepare(s: Settings, modules) -> None:
    course.prepare(s, [m.id for m in modules])
    for m in modules:
        course.generate(s, m.id)
        course.release(s, m.id)


def _submit(s: Settings, module, student: str, edit=None, rng=None, learner=None) -> None:
    home = s.state_dir / "homes" / student
    folder = course.fetch(s, module.id, student, home)
    if learner is not None:
        answer_module(module, learner, folder, rng)
    if edit is not None:
        path = folder / f"{module.id}.ipynb"
        nb = nbformat.read(path, as_version=4)
        edit(nb)
        nbformat.write(nb, path)
    course.submit(s, module.id, student, home)


def _set_answer_cell(n: int, code: str):
    def edit(nb):
        answer_cells(nb)[n].source = code
    return edit


def _tamper_test_cell(nb):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            cell.source = "1000.0"  # restored from the gradebook by OverwriteCells


def _delete_first_test_cell(nb):
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            del nb.cells[i]
            return


@pytest.fixture(scope="module")
def graded_twice(tmp_path_factory, modules):
    """(stock settings, fast settings, fast results) for one cohort graded both ways."""
    base = tmp_path_factory.mktemp("fastgrade")
    stock = Settings(state_dir=base / "stock", timeout=10, run_typed_code=True)  # hostile cells must run: the sandbox is under test
    mods = [m for m in modules if m.id in MODULES]
    _prepare(stock, mods)
    rng = random.Random(7)
    jobs = []
    for learner in COHORT[:4]:  # diligence 1.0, 0.8, 0.55, 0.3
        for m in mods:
            _submit(stock, m, learner.student_id, rng=rng, learner=learner)
            jobs.append((m.id, learner.student_id))
    auth = next(m for m in mods if m.id == "01-authenticity")
    broken = {
        "untouched": None,
        "raises": _set_answer_cell(0, "raise RuntimeError('a learner broke this cell')"),
        "stderr": _set_answer_cell(1, "import sys, warnings\nsys.stderr.write('noise\\n')\nwarnings.warn('careful')"),
        "tamperer": _tamper_test_cell,
        "deleter": _delete_first_test_cell,
        "looper": _set_answer_cell(2, "while True:\n    pass"),
    }
    for student, edit in broken.items():
        _submit(stock, auth, student, edit=edit)
        jobs.append((auth.id, student))
    for m in mods:
        course.collect(stock, m.id)
    fast = replace(stock, state_dir=base / "fast")
    shutil.copytree(stock.state_dir, fast.state_dir, symlinks=True)
    for module_id, student in jobs:
        course.autograde(stock, module_id, student)
    results = fastgrade.grade(fast, nbgrader_config(fast), jobs, workers=2)
    return stock, fast, results, jobs


def test_every_gradebook_row_equals_stock_nbgrader(graded_twice):
    stock, fast, results, jobs = graded_twice
    assert sorted((r.module_id, r.student_id) for r in results) == sorted(jobs)
    assert [r for r in results if not r.ok] == []
    stock_rows, fast_rows = fastgrade.gradebook_rows(stock), fastgrade.gradebook_rows(fast)
    assert len(stock_rows) > 100
    assert fast_rows == stock_rows
    with course.gradebook(stock) as a, course.gradebook(fast) as b:
        for module_id, student in jobs:
            assert b.find_submission(module_id, student).score == a.find_submission(module_id, student).score


def test_scores_are_the_ones_each_case_deserves(graded_twice):
    _, fast, _, _ = graded_twice
    with course.gradebook(fast) as gb:
        score = {s: gb.find_submission("01-authenticity", s).score for s in
                 ("ana.reyes", "untouched", "raises", "tamperer", "looper", "stderr")}
    assert score["ana.reyes"] == 21  # every autograded point (reflections wait for a person)
    assert score["untouched"] == 0
    for tricky in ("raises", "tamperer", "looper", "stderr"):
        assert score[tricky] == 0  # nothing answered: breaking or faking cells earns nothing


def test_autograded_notebooks_hold_the_hidden_tests_output(graded_twice):
    _, fast, _, _ = graded_twice
    nb = nbformat.read(fast.course_dir / "autograded" / "ana.reyes" / "01-authenticity" / "01-authenticity.ipynb", 4)
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("of 3 points" in t for t in texts)


def _outputs(s: Settings, student: str, module_id: str = "01-authenticity") -> str:
    nb = nbformat.read(s.course_dir / "autograded" / student / module_id / f"{module_id}.ipynb", 4)
    return json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])


LEAVE_TRACES = """\
import os, subprocess
open('/tmp/hcwh-trace', 'w').write('first learner was here')
open('/dev/shm/hcwh-trace', 'w').write('first learner was here')
open('trace-in-workdir.txt', 'w').write('first learner was here')
subprocess.Popen(['/bin/sh', '-c', 'while true; do echo spy > spy.txt; cp answers.json stolen.json 2>/dev/null; sleep 0.05; done'],
                 start_new_session=True)
print('LEFT traces')
"""

LOOK_FOR_TRACES = """\
import os, json
found = {p: os.path.exists(p) for p in ['/tmp/hcwh-trace', '/dev/shm/hcwh-trace', 'trace-in-workdir.txt', 'spy.txt', 'stolen.json']}
procs = [d for d in os.listdir('/proc') if d.isdigit()]
cmdlines = [open(f'/proc/{d}/cmdline', 'rb').read() for d in procs if os.path.exists(f'/proc/{d}/cmdline')]
print('FOUND', json.dumps(found), 'SPIES', sum(b'spy' in c for c in cmdlines))
print('TOUCH', os.listdir('/tmp'), sorted(os.listdir('.')))
try:
    print('READ', open(%r).read()[:40])
except OSError as e:
    print('BLOCKED', type(e).__name__)
"""


def test_nothing_of_one_learner_reaches_the_next(tmp_path, modules):
    s = Settings(state_dir=tmp_path / "state", timeout=10, run_typed_code=True)  # hostile cells must run
    auth = next(m for m in modules if m.id == "01-authenticity")
    _prepare(s, [auth])
    source = s.course_dir / "source" / auth.id / f"{auth.id}.ipynb"
    for place in (Path(tempfile.gettempdir()), Path("/dev/shm")):
        (place / "hcwh-trace").unlink(missing_ok=True)  # so only this test's learner could leave one
    _submit(s, auth, "first", edit=_set_answer_cell(0, LEAVE_TRACES))
    _submit(s, auth, "second", edit=_set_answer_cell(0, LOOK_FOR_TRACES % str(source)))
    course.collect(s, auth.id)
    results = fastgrade.grade(s, nbgrader_config(s), [(auth.id, "first"), (auth.id, "second")], workers=1)  # same worker, in turn
    assert [r.ok for r in results] == [True, True], [r.reason for r in results]
    assert "LEFT traces" in _outputs(s, "first")
    second = _outputs(s, "second")
    assert 'FOUND {\\"/tmp/hcwh-trace\\": false, \\"/dev/shm/hcwh-trace\\": false, \\"trace-in-workdir.txt\\": false, \\"spy.txt\\": false, \\"stolen.json\\": false} SPIES 0' in second, second
    assert "BLOCKED" in second and "READ" not in second  # the hidden tests in source/ are out of sight
    # and the grader's side of the machine has none of it either
    assert not (s.course_dir / "autograded" / "second" / auth.id / "stolen.json").exists()
    for place in (Path(tempfile.gettempdir()), Path("/dev/shm")):  # where a leak from the sandbox's /tmp would land
        assert not (place / "hcwh-trace").exists(), place


def test_flooding_output_cannot_hide_a_test_result(tmp_path, modules):
    """Printed output past the budget is dropped, results never: with nothing answered the
    hidden tests still return 0 (nbgrader scores a test cell with *no* output full marks)."""
    s = Settings(state_dir=tmp_path / "state", timeout=20, run_typed_code=True)  # hostile cells must run
    auth = next(m for m in modules if m.id == "01-authenticity")
    _prepare(s, [auth])
    _submit(s, auth, "flooder", edit=_set_answer_cell(0, "import sys\nfor _ in range(12):\n    sys.stdout.write('x' * (1 << 20))"))
    course.collect(s, auth.id)
    (result,) = fastgrade.grade(s, nbgrader_config(s), [(auth.id, "flooder")], workers=1)
    assert result.ok, result.reason
    grades = result.notebooks[auth.id].grades
    assert grades and all(score == 0 for score in grades.values()), grades
    with course.gradebook(s) as gb:
        assert gb.find_submission(auth.id, "flooder").score == 0
    nb = nbformat.read(s.course_dir / "autograded" / "flooder" / auth.id / f"{auth.id}.ipynb", 4)
    tests = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert tests and all(any(o.output_type == "execute_result" for o in c.outputs) for c in tests)  # results kept
