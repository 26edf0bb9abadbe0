"""The demo's real nbgrader cycle: gradebook scores equal what each learner saved."""

from __future__ import annotations

import nbformat
import pytest

from autograde.demo import COHORT, run_demo
from curriculum.answers import AnswerStore
from curriculum.scoring import question_score


def expected_autograded(module, folder) -> float:
    store = AnswerStore(folder)
    total = sum(question_score(q.kind, store.get("questions", q.id), q.answer, q.points) for q in module.questions)
    total += sum(rp.points for rp in module.roleplays if (store.get("roleplays", rp.id) or {}).get("completed"))
    return total


def test_demo_cycle_grades_every_learner_as_they_answered(state, modules):
    lines = []
    table = run_demo(state, modules, progress=lines.append)
    demo_state = state.state_dir / "demo"
    assert any(str(demo_state / "course" / "gradebook.db") in line for line in lines)
    by_id = {l.student_id: l for l in COHORT}
    for student_id, row in table.items():
        for module in modules:
            result = row[module.id]
            if by_id[student_id].diligence < 0:
                assert result is None
                continue
            submitted = demo_state / "course" / "submitted" / student_id / module.id
            assert result["score"] == pytest.approx(expected_autograded(module, submitted))
            assert result["max_score"] == module.points
    ana = table["ana.reyes"]
    for module in modules:
        autograded_points = sum(q.points for q in module.questions) + sum(r.points for r in module.roleplays)
        assert ana[module.id]["score"] == autograded_points
        assert ana[module.id]["needs_manual_grade"]  # her reflections wait for a trainer
        assert table["eli.novak"][module.id]["score"] == 0
    scores = sorted(v["score"] for row in table.values() for v in row.values() if v)
    assert len(set(scores)) >= 4  # varying quality, not one canned result
    # submissions are never modified by grading
    nb = nbformat.read(demo_state / "course" / "submitted" / "eli.novak" / modules[0].id / f"{modules[0].id}.ipynb", 4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
