"""The demo's real nbgrader cycle: gradebook scores equal what each learner saved,
reflections are scored as a trainer would, and HR's report reflects it all."""

from __future__ import annotations

from datetime import date

import nbformat
import pandas as pd
import pytest

from autograde.course.demo import COHORT, LEAVER, UNGRADED, run_demo
from curriculum.answers import AnswerStore
from curriculum.scoring import question_score

AS_OF = date(2026, 11, 26)


def expected_autograded(module, folder) -> float:
    store = AnswerStore(folder)
    total = sum(question_score(q.kind, store.get("questions", q.id), q.answer, q.points) for q in module.questions)
    total += sum(rp.points for rp in module.roleplays if (store.get("roleplays", rp.id) or {}).get("completed"))
    return total


def test_demo_cycle_grades_every_learner_as_they_answered(state, modules):
    lines = []
    table = run_demo(state, modules, progress=lines.append, as_of=AS_OF)
    demo_state = state.state_dir / "demo"
    assert any(str(demo_state / "course" / "gradebook.db") in line for line in lines)
    by_id = {l.student_id: l for l in COHORT}
    assert set(table) == set(by_id)  # everyone on the roster is in the gradebook
    for student_id, row in table.items():
        learner = by_id[student_id]
        for n, module in enumerate(modules):
            result = row[module.id]
            if learner.diligence < 0 or (learner.modules_done is not None and n >= learner.modules_done):
                assert result is None
                continue
            submitted = demo_state / "course" / "submitted" / student_id / module.id
            if student_id == LEAVER:  # the demo's retention run disposed of the leaver's work; grades stay
                assert not submitted.exists() and result["autograded"] == 0
                continue
            assert result["autograded"] == pytest.approx(expected_autograded(module, submitted))
            assert result["score"] == pytest.approx(result["autograded"] + result["manual"])
            assert result["max_score"] == module.points
    ana = table["ana.reyes"]
    for module in modules:
        autograded_points = sum(q.points for q in module.questions) + sum(r.points for r in module.roleplays)
        assert ana[module.id]["autograded"] == autograded_points
        if module.reflections:  # she wrote every reflection; the trainer scored them all
            assert not ana[module.id]["needs_manual_grade"] and ana[module.id]["manual"] > 0
        assert table["eli.novak"][module.id]["score"] == 0
    waiting = {sid for sid, row in table.items() for v in row.values() if v and v["needs_manual_grade"]}
    assert waiting <= UNGRADED and waiting  # only the learners the trainer has not reached yet
    scores = sorted(v["score"] for row in table.values() for v in row.values() if v)
    assert len(set(scores)) >= 4  # varying quality, not one canned result
    # submissions are never modified by grading
    nb = nbformat.read(demo_state / "course" / "submitted" / "ben.okafor" / modules[0].id / f"{modules[0].id}.ipynb", 4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")

    # the trainers' report: its own folder, apart from HR's, with the practice replays counted
    (insight_line,) = [line for line in lines if line.startswith("Trainers' report:")]
    (trainer_snapshot,) = (demo_state / "trainer-reports").iterdir()
    assert str(trainer_snapshot / "insight.html") in insight_line
    choices = pd.read_csv(trainer_snapshot / "choices.csv")
    assert choices["practice_plays"].sum() > 0 and choices["scored_play"].sum() > 0

    # feedback went back to a learner, and HR's report agrees with the gradebook
    assert any("fetched their feedback" in line for line in lines)
    (report_line,) = [line for line in lines if line.startswith("Report:")]
    folder = demo_state / "reports"
    snapshot, recert_snapshot = sorted(folder.iterdir())  # the second: after the framework text changed
    assert report_line.endswith(str(snapshot / "report.html"))
    done = pd.read_csv(snapshot / "completion.csv")
    first = done[done["module"] == modules[0].id].set_index("employee_id")
    assert first.loc["fatima.haddad", "status"] == "overdue"  # cohort-1's first module was due 4 days ago
    assert first.loc["gus.tanaka", "status"] == "not started"  # cohort-2's is due in 3 days: at risk
    assert bool(first.loc["ben.okafor", "late"]) and not bool(first.loc["ana.reyes", "late"])
    for sid, row in first.iterrows():
        result = table[sid][modules[0].id]
        if result:
            assert row["score"] == pytest.approx(result["score"])
    at_risk = pd.read_csv(snapshot / "at-risk.csv")
    assert "gus.tanaka" in set(at_risk["employee_id"])
    # HR's record: the text changed and who must re-acknowledge, a retention run, the trail and a tampered copy
    assert any(line.startswith("  HR decided: acknowledge. Must re-acknowledge") and "ana.reyes" in line for line in lines)
    assert f"    disposed of learner_work: {LEAVER} " in "\n".join(lines)
    assert any(line.endswith("chain intact") for line in lines)
    assert any("audit-hand-edited-copy.jsonl: line 2: its content does not match its hash" in line for line in lines)
    recert_csv = pd.read_csv(recert_snapshot / "recertification.csv").set_index(["employee_id", "module"])
    assert recert_csv.loc[("ana.reyes", modules[1].id), "status"] == "re-acknowledge: text changed"
