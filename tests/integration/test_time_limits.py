"""Time limits hold in both engines whatever the learner's code catches: a cell that
catches every stop (``except BaseException`` in a loop) is stopped at its limit, costs that
cell only (the next cell runs, with the state before it), and both engines give the same
score. Before kernelstop.py the nbgrader engine failed the whole notebook (nbclient's wait
for output timed out); before the re-raised BaseException the fast engine ran such a cell to
the notebook's wall limit and failed it."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograde.course import cycle
from autograde.course.nbconfig import nbgrader_config
from autograde.grading.sandbox import SandboxedExecute
from tests.integration.test_nothing_lost import MODULE, NOTEBOOK, collected, quiet, scores  # noqa: F401

CAUGHT = "import time\nwhile True:\n    try:\n        time.sleep(100)\n    except BaseException:\n        pass"


def test_the_nbgrader_engines_kernel_stops_a_cell_that_catches_the_interrupt(tmp_path, collected):  # noqa: F811
    s = replace(collected, timeout=3)
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o777)
    nb = new_notebook(cells=[new_code_cell("x = 41"), new_code_cell(CAUGHT), new_code_cell("print(x + 1)")])
    nb, _ = SandboxedExecute(config=nbgrader_config(s)).preprocess(nb, {"metadata": {"path": str(work)}})
    _, caught, after = nb.cells
    assert "CellTimeoutError" in [o.get("ename") for o in caught.outputs]
    assert [o.get("text") for o in after.outputs] == ["42\n"]  # the next cell ran, with the state before


@pytest.fixture()
def catcher(collected, tmp_path):  # noqa: F811
    """ana's submission with the caught loop in her first answer (solution) code cell; her
    answers file is untouched, so she deserves her honest autograded score, 21/30 by hand
    (test_nothing_lost: 21 of 30 before her reflections are scored)."""
    s = replace(collected, state_dir=tmp_path / "state", timeout=10, run_typed_code=True)  # the attack needs its code run
    shutil.copytree(collected.state_dir, s.state_dir, symlinks=True)
    path = s.course_dir / "submitted" / "ana" / MODULE / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    cell.source = CAUGHT
    nbformat.write(nb, path)
    return s, cell.metadata["nbgrader"]["grade_id"]


@pytest.mark.parametrize("engine", ["fast", "nbgrader"])
def test_a_caught_timeout_costs_that_cell_only_and_both_engines_agree(catcher, engine):
    s, cell_id = catcher
    report = cycle.autograde(s, [MODULE], progress=quiet, engine=engine, workers=1)
    assert scores(report)["ana"] == (True, 21.0, True)
    notes = report.result(MODULE, "ana").notes
    assert any(cell_id in n and "time limit" in n for n in notes), notes
    graded = json.loads((s.course_dir / "autograded" / "ana" / MODULE / NOTEBOOK).read_text())
    stopped = next(c for c in graded["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == cell_id)
    assert {o.get("ename") for o in stopped["outputs"]} & {"CellTimeoutError", "KeyboardInterrupt"}
