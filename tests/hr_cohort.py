"""A tiny cohort run through real nbgrader, for the HR tests (tests/conftest.py: ``tiny_cohort``).

Three learners, two cohorts, two departments, module 01-authenticity:

* ana  (spring, Permits):   every question and role-play right, three reflections
  written (with a planted phrase that must never reach HR); submitted on time.
* ben  (spring, Utilities): some answers right, some partly; one role-play; no
  reflection; submitted a day late.
* cora (autumn, Permits):   never submits.

Hand-computed autograded scores (5 questions × 3 points, 3 role-plays × 2 points,
3 reflections × 3 points by a trainer; 30 points in all):

* ana: 15 + 6 = 21
* ben: casual-caller right 3; positivity a,c,b: (2 right − 1 wrong)/3 × 3 = 1;
  ordering greet,explain,listen,confirm: one step to move, (3 in order − 1)/3 × 3 = 2;
  matching 1 of 3 right = 1; trail question wrong 0; one role-play 2  →  9
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path


from autograde import roster
from autograde.config import Settings
from autograde.course import cycle
from autograde.course import nbgrader_api as course
from curriculum.answers import AnswerStore
from curriculum.builder import MODULES_DIR
from curriculum.roleplay import winning_path
from curriculum.schema import load_module

MODULE = "01-authenticity"
AS_OF = date(2026, 11, 26)
PLANTED = "ZEBRA-QUINCE-4417 my brother-in-law's private story"

COHORTS_CSV = """cohort,module,assigned,due_date
spring,01-authenticity,2026-11-02,2026-11-20
autumn,01-authenticity,2026-11-16,2026-11-30
"""
ROSTER_CSV = """employee_id,first_name,last_name,email,department,hire_date,cohort
ana,Ana,Reyes,ana.reyes@example.org,Permits,2026-10-05,spring
ben,Ben,Okafor,ben.okafor@example.org,Utilities,2026-10-12,spring
cora,Cora,Lin,cora.lin@example.org,Permits,2026-11-09,autumn
"""
SUBMITTED_AT = {
    "ana": datetime(2026, 11, 18, 10, 30, tzinfo=timezone.utc),
    "ben": datetime(2026, 11, 21, 15, 0, tzinfo=timezone.utc),  # a day after spring's due date
}
EXPECTED_AUTOGRADED = {"ana": 21.0, "ben": 9.0}
ANA_REFLECTION_SCORES = (3.0, 2.0, 1.0)  # what the trainer gives her three reflections


@dataclass(frozen=True)
class TinyCohort:
    root: Path
    settings: Settings


def module():
    return load_module(MODULES_DIR / f"{MODULE}.yaml")


def check_assumptions(m) -> None:
    """The hand computation above assumes this shape of the module."""
    assert [(q.id, q.kind, q.points) for q in m.questions] == [
        ("auth-q-casual-caller", "single", 3), ("auth-q-positivity", "multiple", 3),
        ("auth-q-order-greeting", "ordering", 3), ("auth-q-match-behaviors", "matching", 3),
        ("auth-q-trail-question", "single", 3),
    ], "01-authenticity's questions changed: update the hand-computed values in tests/hr_cohort.py"
    assert [rp.points for rp in m.roleplays] == [2, 2, 2]
    assert [r.points for r in m.reflections] == [3, 3, 3]
    assert m.points == 30


def answer_ana(m, folder: Path) -> None:
    store = AnswerStore(folder)
    for q in m.questions:
        store.put("questions", q.id, q.answer[0] if q.kind == "single" else list(q.answer))
    for rp in m.roleplays:
        path, ending = winning_path(rp)
        store.put("roleplays", rp.id, {"current": [], "completed": [{"ending": ending, "path": path}]})
    for r in m.reflections:  # typed in the page's text boxes: answers.json, filled in at submit
        store.put("reflections", f"{r.id}-answer",
                  f"When my {PLANTED} came to the counter, I learned to listen first and stay myself.")


def answer_ben(m, folder: Path) -> None:
    store = AnswerStore(folder)
    store.put("questions", "auth-q-casual-caller", "a")  # right: 3
    store.put("questions", "auth-q-positivity", ["a", "c", "b"])  # 2 right, 1 wrong: 1
    store.put("questions", "auth-q-order-greeting", ["greet", "explain", "listen", "confirm"])  # one to move: 2
    store.put("questions", "auth-q-match-behaviors", ["positivity", "representative", "originality"])  # 1 of 3: 1
    store.put("questions", "auth-q-trail-question", "b")  # wrong: 0
    rp = m.roleplays[0]
    path, ending = winning_path(rp)
    store.put("roleplays", rp.id, {"current": [], "completed": [{"ending": ending, "path": path}]})  # 2


def build_tiny_cohort(root: Path, db_url: str | None = None) -> TinyCohort:
    """Import, release, submit, collect and autograde: reflections left for the trainer."""
    m = module()
    check_assumptions(m)
    s = Settings(state_dir=root / "state", db_url=db_url)
    (root / "cohorts.csv").write_text(COHORTS_CSV)
    (root / "roster.csv").write_text(ROSTER_CSV)
    course.prepare(s, [MODULE])
    roster.import_cohorts(s, root / "cohorts.csv")
    roster.import_roster(s, root / "roster.csv")
    course.generate(s, MODULE)
    course.release(s, MODULE)
    for sid, answer in (("ana", answer_ana), ("ben", answer_ben)):
        home = s.state_dir / "learners" / sid
        folder = course.fetch(s, MODULE, sid, home)
        answer(m, folder)
        course.submit(s, MODULE, sid, home, at=SUBMITTED_AT[sid])
    cycle.collect(s, [MODULE], progress=lambda line: None)
    report = cycle.autograde(s, [MODULE], progress=lambda line: None)
    assert not report.failures, report.summary()
    return TinyCohort(root, s)


def grade_ana(s: Settings) -> None:
    """A trainer scores Ana's three reflections, as formgrader would."""
    with course.gradebook(s) as gb:
        grades = sorted(cycle.reflection_grades(gb, MODULE, "ana"), key=lambda g: g.name)
        assert len(grades) == 3 and all(g.needs_manual_grade for g in grades)
        for grade, score in zip(grades, ANA_REFLECTION_SCORES):
            cycle.set_manual_score(gb, grade, score)
