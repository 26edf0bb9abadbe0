"""Source notebooks score full marks with their own solutions; untouched releases score 0."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.utils import determine_grade

from autograde.course import nbgrader_api as course
from curriculum.cells import is_autograded_test
from tests.conftest import ROOT, module_ids

IDS = module_ids()


@pytest.mark.parametrize("module_id", IDS)
def test_source_scores_full_marks_with_its_own_solutions(tmp_path, module_id):
    shutil.copytree(ROOT / "source" / module_id, tmp_path / module_id)
    path = tmp_path / module_id / f"{module_id}.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(path.parent)}}).execute()
    tests = [c for c in nb.cells if is_autograded_test(c)]
    assert tests
    for cell in tests:
        score, points = determine_grade(cell)
        stderr = [o for o in cell.outputs if o.get("name") == "stderr"]
        assert (cell.metadata.nbgrader.grade_id, score, stderr) == (cell.metadata.nbgrader.grade_id, points, [])


def test_untouched_release_scores_zero_through_real_nbgrader(state):
    course.prepare(state, IDS)
    for module_id in IDS:
        course.generate(state, module_id)
        course.release(state, module_id)
        home = state.state_dir / "learner"
        course.fetch(state, module_id, "untouched", home)
        course.submit(state, module_id, "untouched", home)
        course.collect(state, module_id)
        course.autograde(state, module_id, "untouched")
    with course.gradebook(state) as gb:
        for module_id in IDS:
            sub = gb.find_submission(module_id, "untouched")
            assert sub.max_score > 0
            assert sub.score == 0
            assert not sub.needs_manual_grade  # unchanged reflections are "no response": 0
