"""Feedback shows a learner their scores and coaching, never hidden tests or keys (nbgrader #1363)."""

from __future__ import annotations

from autograde.course import nbgrader_api as course
from curriculum.answers import AnswerStore
from tests.integration.test_no_keys import MARKERS, key_fingerprints, leaks


def test_feedback_has_scores_and_coaching_but_no_keys(state, modules):
    module = next(m for m in modules if m.id == "01-authenticity")
    course.prepare(state, [module.id])
    course.generate(state, module.id)
    course.release(state, module.id)
    home = state.state_dir / "learner"
    folder = course.fetch(state, module.id, "learner1", home)
    store = AnswerStore(folder)
    wrong = next(q for q in module.questions if q.kind == "single")
    store.put("questions", wrong.id, next(o.id for o in wrong.options if o.id != wrong.answer[0]))
    course.submit(state, module.id, "learner1", home)
    course.collect(state, module.id)
    course.autograde(state, module.id, "learner1")
    result = course.api(state).generate_feedback(module.id, "learner1")
    assert result["success"], result.get("log")
    (html_path,) = (state.course_dir / "feedback" / "learner1" / module.id).glob("*.html")
    html = html_path.read_text(encoding="utf-8")
    assert f"Question {wrong.id}: 0 of {wrong.points:g} points." in html  # the learner's score
    assert wrong.explanation and f"Why: {' '.join(wrong.explanation.split())[:60]}" in " ".join(html.split())
    assert module.roleplays[0].steps[0].choices[0].coaching.split()[0] in html  # coaching is there
    assert leaks({"feedback.html": html}, [module]) == []
    assert not any(m in html for m in MARKERS)
    assert "score_question" not in html
    # and the autograded notebook really did run the hidden tests (so the check above means something)
    autograded = (state.course_dir / "autograded" / "learner1" / module.id / f"{module.id}.ipynb").read_text()
    assert any(fp in autograded for fp in key_fingerprints(module))
