"""Scoring rules, called by the hidden test cells that nbgrader runs at autograde.

nbgrader's partial-credit rule: a test cell scores the float value of its last
expression (0 .. the cell's points); an error or any stderr output scores 0; a
value above the points aborts the learner's notebook. So these functions never
print to stderr, never raise on a learner's data, and clamp to ``[0, points]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import roleplay
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


def _taken(path: list) -> list[dict]:
    return [p for p in path if isinstance(p, dict) and isinstance(p.get("step"), str) and isinstance(p.get("choice"), str)]


def score_roleplay(roleplay_id: str, points: float, folder: str = ".", scoring: str = "completion",
                   quality: dict[str, str] | None = None, best: list[str] | None = None) -> float:
    """Score a role-play from the saved plays (curriculum/answers.py).

    ``completion``: full points once it has been played through to an ending. ``path``: the
    first complete play counts (later plays are practice): points times the mean share of its
    choices (best 1, acceptable 0.5, poor 0; ``quality`` keyed ``step.choice``, from the hidden
    test). Prints each choice of the counted play with its quality and, for ``path``, the best
    path (``best``: ``step.choice`` ids): the learner reads them in the feedback, after grading."""
    record = AnswerStore(folder).get("roleplays", roleplay_id)
    completed = record.get("completed") if isinstance(record, dict) else None
    plays = [p for p in completed if isinstance(p, dict)] if isinstance(completed, list) else []
    if not plays:
        print(f"Role-play {roleplay_id}: not yet played through to an ending.")
        return 0.0
    if scoring != "path":
        last = plays[-1]
        path = _taken(last.get("path") if isinstance(last.get("path"), list) else [])
        steps = ", ".join(f"{p['step']}: {p['choice']}" + (f" ({p['quality']})" if isinstance(p.get("quality"), str) else "")
                          for p in path)
        print(f"Role-play {roleplay_id}: completion credit for playing to the ending '{last.get('ending')}' "
              f"({len(plays)} time(s)); last path: {steps}.")
        return float(points)
    quality = quality or {}
    first = plays[0]
    path = _taken(first.get("path") if isinstance(first.get("path"), list) else [])
    shares = [roleplay.QUALITY_SHARE.get(quality.get(f"{p['step']}.{p['choice']}"), 0.0) for p in path]
    score = round(min(points, max(0.0, points * sum(shares) / len(shares))), 4) if shares else 0.0
    print(f"Role-play {roleplay_id}: {score:g} of {points:g} points for your first play (later plays were practice), "
          f"ending '{first.get('ending')}'.")
    for p in path:
        print(f"  {p['step']}: you chose {p['choice']} ({quality.get(p['step'] + '.' + p['choice'], 'not a choice of this play')})")
    if best:
        print("Best path: " + ", ".join(best) + ".")
    return float(score)
