"""preflight.check_scores and explain on hand-made executed cells (expected words by hand)."""

from __future__ import annotations

from autograde.grading import preflight


def graded_cell(gid: str, source: str, outputs: list, points: float = 3.0) -> dict:
    return {"cell_type": "code", "source": source, "execution_count": 1, "outputs": outputs,
            "metadata": {"nbgrader": {"grade": True, "solution": False, "grade_id": gid, "points": points}}}


def result(text: str) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": text}}


def test_a_score_outside_its_points_or_not_a_number_scores_zero():
    nb = {"cells": [graded_cell("ok", "score()", [result("2.0")]),
                    graded_cell("big", "score()", [result("99.0")]),
                    graded_cell("neg", "score()", [result("-1.0")]),
                    graded_cell("text", "score()", [result("'full'")]),
                    graded_cell("none", "score()", [{"output_type": "stream", "name": "stdout", "text": "hi"}])]}
    notes = preflight.check_scores(nb)
    assert nb["cells"][0]["outputs"] == [result("2.0")]  # a valid score is untouched
    assert [c["outputs"][-1]["ename"] for c in nb["cells"][1:]] == ["InvalidScore"] * 4
    assert notes == [
        "test big scored 0: it ended with 99.0, outside 0 to 3; code in an answer cell probably changed the scoring",
        "test neg scored 0: it ended with -1.0, outside 0 to 3; code in an answer cell probably changed the scoring",
        "test text scored 0: it ended with \"'full'\", not a number from 0 to 3; code in an answer cell probably changed the scoring",
        "test none scored 0: it gave no score (a number from 0 to 3 was expected); code in an answer cell probably changed the scoring",
    ]


def test_explain_groups_cells_with_the_same_story():
    err = {"output_type": "error", "ename": "KeyboardInterrupt", "evalue": "", "traceback": []}
    warn = {"output_type": "stream", "name": "stderr", "text": "UserWarning: careful\nmore"}
    nb = {"cells": [graded_cell("t1", "x", [err]), graded_cell("t2", "x", [err]), graded_cell("t3", "x", [warn])]}
    assert preflight.explain(nb, timeout=4) == [
        "tests t1, t2: scored 0: it ran past the 4 s time limit and was stopped",
        "test t3: scored 0: it wrote to stderr (UserWarning: careful)",
    ]
