"""Scoring rules, called by the hidden test cells that nbgrader runs at autograde.

nbgrader's partial-credit rule: a test cell scores the float value of its last
expression (0 .. the cell's points); an error or any stderr output scores 0; a
value above the points aborts the learner's notebook. So these functions never
print to stderr, never raise on a learner's data, and clamp to ``[0, points]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .answers import AnswerStore
from .kinds import KINDS


def _fraction(kind: str, given: Any, key: Sequence[str]) -> float:
    """Share of the credit earned, 0.0 .. 1.0, for one answer against its key (curriculum/kinds.py)."""
    rule = KINDS.get(kind)
    return rule.share(given, key) if rule else 0.0


def question_score(kind: str, given: Any, key: Sequence[str], points: float) -> float:
    return round(min(points, max(0.0, points * _fraction(kind, given, key))), 4)


def score_question(question_id: str, kind: str, key: Sequence[str], points: float, folder: str = ".",
                   explanation: str | None = None) -> float:
    """Score the saved answer to one question. Used by hidden tests. The explanation
    (why the best answer is best) is printed with the score, so the learner reads it in
    their feedback, after grading."""
    given = AnswerStore(folder).get("questions", question_id)
    score = question_score(kind, given, key, points)
    print(f"Question {question_id}: {score:g} of {points:g} points.")
    if explanation:
        print(f"Why: {explanation}")
    return float(score)


def score_roleplay(roleplay_id: str, points: float, folder: str = ".") -> float:
    """Full points once the role-play has been played through to an ending."""
    record = AnswerStore(folder).get("roleplays", roleplay_id)
    completed = record.get("completed") if isinstance(record, dict) else None
    if isinstance(completed, list) and completed and isinstance(completed[-1], dict):
        last = completed[-1]
        path = last.get("path") if isinstance(last.get("path"), list) else []
        steps = ", ".join(f"{p.get('step')}: {chr(ord('A') + p['choice'])}" for p in path
                          if isinstance(p, dict) and isinstance(p.get("choice"), int) and 0 <= p["choice"] < 26)
        print(f"Role-play {roleplay_id}: played to the ending '{last.get('ending')}' "
              f"({len(completed)} time(s)); last path: {steps}.")
        return float(points)
    print(f"Role-play {roleplay_id}: not yet played through to an ending.")
    return 0.0
