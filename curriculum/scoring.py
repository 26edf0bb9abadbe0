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


def _fraction(kind: str, given: Any, key: Sequence[str]) -> float:
    """Share of the credit earned, 0.0 .. 1.0, for one answer against its key."""
    if kind == "single":
        return 1.0 if given == key[0] else 0.0
    if not isinstance(given, list) or not all(isinstance(g, (str, type(None))) for g in given):
        return 0.0
    if kind == "multiple":
        # Every correct option picked earns a share; every wrong pick takes one back.
        picked = set(given)
        right = len(picked & set(key))
        wrong = len(picked - set(key))
        return max(0.0, (right - wrong) / len(key))
    if kind == "ordering":
        # Full credit for the key's order; each step that would have to be moved to reach it
        # costs a share (n - 1 moves at most). Counting steps in their exact slot instead would
        # give 0 to a learner who put only the first step last.
        if len(key) < 2:
            return 1.0 if list(given) == list(key) else 0.0
        return max(0.0, (_longest_in_order(given, key) - 1) / (len(key) - 1))
    if kind == "matching":
        # A share for each item matched right.
        hits = sum(1 for g, k in zip(given, key) if g == k)
        return hits / len(key)
    return 0.0


def _longest_in_order(given: Sequence[str | None], key: Sequence[str]) -> int:
    """How many of the learner's steps are already in the key's order (the longest
    common subsequence); the other steps are the ones to move."""
    given = list(given)[: len(key)]
    row = [0] * (len(key) + 1)  # row[j]: the longest for the steps read so far against key[:j]
    for g in given:
        diagonal = 0
        for j, k in enumerate(key, start=1):
            above = row[j]
            row[j] = diagonal + 1 if g is not None and g == k else max(above, row[j - 1])
            diagonal = above
    return row[-1]


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
