"""What a learner's feedback page shows, written once per learner per module by the feedback step.

nbgrader's feedback HTML is the graded notebook rendered: code cells, widget representations,
"No response" under clicked answers. So ``hcwh feedback`` also writes ``results.json`` beside
that HTML (``<course>/feedback/<learner>/<module>/``), released and fetched with it through the
exchange, for the learner's own feedback page (``autograde/learner/pages.py``) to render:

    {"results_version": 1, "module", "title", "submitted_at" (nbgrader's timestamp text),
     "score", "max_score", "awaiting": reflections a trainer has not scored yet,
     "exercises": [
       {"kind": "question", "id", "prompt", "points", "score", "correct",
        "chosen": [what the learner picked, as its text], "right": [the key, as text] (only when missed),
        "why": the explanation (only when missed)},
       {"kind": "roleplay", "id", "title", "points", "score",
        "path": [{"situation", "chose", "quality"}], "outcome", "debrief"},
       {"kind": "reflection", "id", "prompt", "points", "score" (None: not scored yet), "words"}]}

Keys appear only here, and this file exists only once a trainer has run the feedback step
(after grading). ``model`` is pure: the module (with its key), the learner's ``answers.json``
and their grades from the gradebook in, the page's data out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autograde.config import Settings
from autograde.exchange.names import RESULTS_FILE
from curriculum.schema import Module, Question, RolePlay, load_module

RESULTS_VERSION = 1

# grade ids of each exercise's graded cell (curriculum/builder.py names them so)
QUESTION_CELL, ROLEPLAY_CELL, REFLECTION_CELL = "{}-test", "{}-done", "{}-answer"

Grades = Mapping[str, tuple[float | None, float]]  # grade id -> (score, or None while a trainer has yet to score; max)


def _texts(options, ids) -> list[str]:
    by_id = {o.id: o.text for o in options}
    return [by_id.get(i, "(an option this question does not have)") for i in ids]


def _as_list(given: Any) -> list[str]:
    if isinstance(given, str):
        return [given]
    if isinstance(given, list):
        return [g for g in given if isinstance(g, str)]
    return []


def _question(q: Question, given: Any, score: float, points: float) -> dict:
    ids = _as_list(given)
    if q.kind == "matching":
        items = [i.text for i in q.items]
        chosen = [f"{item} → {text}" for item, text in zip(items, _texts(q.options, ids))]
        right = [f"{item} → {text}" for item, text in zip(items, _texts(q.options, q.answer))]
    else:
        chosen, right = _texts(q.options, ids), _texts(q.options, q.answer)
    correct = score >= points
    out = {"kind": "question", "id": q.id, "prompt": q.prompt, "points": points, "score": score,
           "correct": correct, "chosen": chosen}
    if not correct:
        out["right"] = right
        out["why"] = q.explanation
    return out


def _roleplay(rp: RolePlay, record: Any, score: float, points: float) -> dict:
    plays = [p for p in (record or {}).get("completed", []) if isinstance(p, dict)] if isinstance(record, dict) else []
    counted = (plays[0] if rp.scoring == "path" else plays[-1]) if plays else None
    steps = {s.id: s for s in rp.steps}
    path = []
    for taken in (counted or {}).get("path", []) if isinstance((counted or {}).get("path"), list) else []:
        step = steps.get(taken.get("step")) if isinstance(taken, dict) else None
        choice = next((c for c in step.choices if c.id == taken.get("choice")), None) if step else None
        if choice is not None:
            path.append({"situation": step.situation, "chose": choice.text, "quality": choice.quality})
    ending = next((e for e in rp.endings if counted and e.id == counted.get("ending")), None)
    return {"kind": "roleplay", "id": rp.id, "title": rp.title, "points": points, "score": score, "path": path,
            "outcome": ending.outcome if ending else None, "debrief": ending.debrief if ending else None}


def model(module: Module, answers: Mapping[str, Any], grades: Grades, submitted_at: str | None = None) -> dict:
    """The feedback page's data for one learner's graded submission of ``module``."""
    questions = answers.get("questions") if isinstance(answers.get("questions"), dict) else {}
    plays = answers.get("roleplays") if isinstance(answers.get("roleplays"), dict) else {}
    typed = answers.get("reflections") if isinstance(answers.get("reflections"), dict) else {}
    exercises = []

    def grade(cell: str, points: float) -> tuple[float | None, float]:
        return grades.get(cell, (0.0, points))

    for rp in module.roleplays:
        score, points = grade(ROLEPLAY_CELL.format(rp.id), rp.points)
        exercises.append(_roleplay(rp, plays.get(rp.id), score or 0.0, points))
    for q in module.questions:
        score, points = grade(QUESTION_CELL.format(q.id), q.points)
        exercises.append(_question(q, questions.get(q.id), score or 0.0, points))
    for r in module.reflections:
        cell = REFLECTION_CELL.format(r.id)
        score, points = grade(cell, r.points)
        words = typed.get(cell)
        exercises.append({"kind": "reflection", "id": r.id, "prompt": r.prompt, "points": points, "score": score,
                          "words": len(words.split()) if isinstance(words, str) else 0})
    return {"results_version": RESULTS_VERSION, "module": module.id, "title": module.title,
            "submitted_at": submitted_at,
            "score": round(sum(e["score"] or 0.0 for e in exercises), 4),
            "max_score": round(sum(e["points"] for e in exercises), 4),
            "awaiting": sum(1 for e in exercises if e["score"] is None),
            "exercises": exercises}


def write(s: Settings, module_id: str, gb) -> list[Path]:
    """``results.json`` in each learner's feedback folder of ``module_id`` that nbgrader generated
    from a graded copy (a rejected submission's page has none); the paths written."""
    module = load_module(s.project / "curriculum" / "modules" / f"{module_id}.yaml")
    written = []
    for folder in sorted((s.course_dir / "feedback").glob(f"*/{module_id}")):
        learner = folder.parent.name
        graded = s.course_dir / "autograded" / learner / module_id
        if not (folder / f"{module_id}.html").is_file() or not graded.is_dir():
            continue
        try:
            answers = json.loads((graded / "answers.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            answers = {}
        sub = gb.find_submission(module_id, learner)
        grades = {g.name: (None if g.needs_manual_grade else float(g.score or 0.0), float(g.max_score))
                  for nb in sub.notebooks for g in nb.grades}
        stamp = folder / "timestamp.txt"
        data = model(module, answers if isinstance(answers, dict) else {}, grades,
                     stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else None)
        out = folder / RESULTS_FILE
        tmp = out.with_name(f".{RESULTS_FILE}.new")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(out)
        written.append(out)
    return written
