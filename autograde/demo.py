"""The demo: one real nbgrader cycle on a small synthetic cohort.

Release to a local exchange, learners of varying diligence fetch, answer (as
their widget clicks and typed reflections would) and submit, the trainer
collects and autogrades. Everything lands under ``<state>/demo``; nothing
real is touched. The learners are fictional.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace

import nbformat

from curriculum.answers import AnswerStore
from curriculum.builder import _winning_path
from curriculum.schema import Module, Question

from nbgrader.api import MissingEntry

from . import course
from .settings import Settings


@dataclass(frozen=True)
class Learner:
    student_id: str
    first_name: str
    last_name: str
    email: str
    diligence: float  # chance of getting each item right / doing it at all; <0: never submits


COHORT = (
    Learner("ana.reyes", "Ana", "Reyes", "ana.reyes@example.org", 1.0),
    Learner("ben.okafor", "Ben", "Okafor", "ben.okafor@example.org", 0.8),
    Learner("chen.liu", "Chen", "Liu", "chen.liu@example.org", 0.55),
    Learner("dana.whitehorse", "Dana", "Whitehorse", "dana.whitehorse@example.org", 0.3),
    Learner("eli.novak", "Eli", "Novak", "eli.novak@example.org", 0.0),
    Learner("fatima.haddad", "Fatima", "Haddad", "fatima.haddad@example.org", -1.0),
)


def wrong_answer(q: Question, rng: random.Random) -> object:
    """A plausible mistake of the kind a learner makes for this question type."""
    ids = [o.id for o in q.options]
    if q.kind == "single":
        return rng.choice([i for i in ids if i != q.answer[0]])
    if q.kind == "multiple":
        wrong = [i for i in ids if i not in q.answer]
        return list(q.answer[:-1]) + wrong[:1]  # misses one, ticks one wrong
    shuffled = list(q.answer)
    shuffled[0], shuffled[1] = shuffled[1], shuffled[0]  # two swapped
    return shuffled


def answer_module(module: Module, learner: Learner, folder, rng: random.Random) -> None:
    """Leave the fetched folder as this learner's clicks and typing would."""
    store = AnswerStore(folder)
    for q in module.questions:
        if rng.random() < learner.diligence:
            store.put("questions", q.id, q.answer[0] if q.kind == "single" else list(q.answer))
        elif learner.diligence > 0 and rng.random() < 0.8:
            store.put("questions", q.id, wrong_answer(q, rng))
    for rp in module.roleplays:
        if rng.random() < learner.diligence:
            path, ending = _winning_path(rp)
            store.put("roleplays", rp.id, {"current": [], "completed": [{"ending": ending, "path": path}]})
    nb_path = folder / f"{module.id}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    wanted = {f"{r.id}-answer": r for r in module.reflections}
    for cell in nb.cells:
        r = wanted.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if r is not None and rng.random() < learner.diligence:
            cell.source = (
                f"In my role I would start from the resident's situation. {r.prompt.split('?')[0]}? "
                f"For me it means being genuine, checking my department's procedure, and following up."
            )
    nbformat.write(nb, nb_path)


def run_demo(s: Settings, modules: list[Module], progress: Callable[[str], None] = print) -> dict:
    """Run the cycle under ``<state>/demo`` with the already-built ``modules``."""
    demo = replace(s, state_dir=s.state_dir / "demo", db_url=None)
    shutil.rmtree(demo.state_dir, ignore_errors=True)  # the demo always starts clean
    module_ids = [m.id for m in modules]
    course.prepare(demo, module_ids)
    for module_id in module_ids:
        course.generate(demo, module_id)
        course.release(demo, module_id)
        progress(f"Released {module_id} to the exchange {demo.exchange_dir}")
    with course.gradebook(demo) as gb:
        for l in COHORT:
            gb.update_or_create_student(l.student_id, first_name=l.first_name, last_name=l.last_name, email=l.email)
    rng = random.Random(2026)
    submitted = []
    for learner in COHORT:
        if learner.diligence < 0:
            progress(f"  {learner.student_id}: does not submit")
            continue
        for module in modules:
            home = demo.state_dir / "learners" / learner.student_id
            folder = course.fetch(demo, module.id, learner.student_id, home)
            answer_module(module, learner, folder, rng)
            course.submit(demo, module.id, learner.student_id, home)
            submitted.append((module.id, learner.student_id))
        progress(f"  {learner.student_id}: fetched, answered and submitted {len(modules)} module(s)")
    for module_id in module_ids:
        course.collect(demo, module_id)
    for n, (module_id, student_id) in enumerate(submitted, start=1):
        progress(f"Autograding [{n}/{len(submitted)}] {module_id} for {student_id}")
        course.autograde(demo, module_id, student_id)
    table = scores(demo, module_ids)
    progress("")
    progress("Scores (autograded; reflections wait for a trainer in formgrader):")
    for student_id, row in table.items():
        cells = "  ".join(f"{m}: {v['score']:g}/{v['max_score']:g}{' (+reflections to grade)' if v['needs_manual_grade'] else ''}"
                          if v else f"{m}: not submitted" for m, v in row.items())
        progress(f"  {student_id:18} {cells}")
    progress("")
    progress(f"Gradebook:   {demo.gradebook_url}")
    progress(f"Autograded:  {demo.course_dir / 'autograded'}")
    progress(f"Exchange:    {demo.exchange_dir}")
    (demo.state_dir / "scores.json").write_text(json.dumps(table, indent=1, sort_keys=True))
    progress(f"Scores JSON: {demo.state_dir / 'scores.json'}")
    return table


def scores(s: Settings, module_ids: list[str]) -> dict[str, dict[str, dict | None]]:
    """learner -> module -> {score, max_score, needs_manual_grade}, read from the gradebook."""
    out: dict[str, dict[str, dict | None]] = {}
    with course.gradebook(s) as gb:
        for student in sorted(gb.students, key=lambda st: st.id):
            row: dict[str, dict | None] = {}
            for module_id in module_ids:
                try:
                    sub = gb.find_submission(module_id, student.id)
                except MissingEntry:
                    row[module_id] = None
                    continue
                row[module_id] = {
                    "score": round(sub.score, 4),
                    "max_score": sub.max_score,
                    "needs_manual_grade": bool(sub.needs_manual_grade),
                }
            out[student.id] = row
    return out
