"""The demo: one real nbgrader cycle on a small synthetic cohort, HR report included.

The trainer imports a roster and two cohorts' due dates, releases to a local
exchange; learners of varying diligence fetch, answer (as their widget clicks
and typed reflections would) and submit: some on time, one late, one only part
of the modules, two never. The trainer collects, autogrades, scores reflections
as formgrader would (leaving one learner's for later), generates and releases
feedback; HR gets its report, trainers theirs (``hcwh insight``). Everything lands under ``<state>/demo``; nothing
real is touched. The learners are fictional.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from nbgrader.api import MissingEntry

from autograde.config import Settings
from autograde.course import nbgrader_api as course
from curriculum.answers import AnswerStore
from curriculum.kinds import KINDS
from curriculum.roleplay import paths, winning_path
from curriculum.schema import Module, Question


@dataclass(frozen=True)
class Learner:
    student_id: str
    first_name: str
    last_name: str
    email: str
    diligence: float  # chance of getting each item right / doing it at all; <0: never submits
    department: str = "Permits and Licensing"
    cohort: str = "cohort-1"
    late: bool = False  # submits the day after the due date
    modules_done: int | None = None  # submits only the first N modules (None: all)


COHORT = (
    Learner("ana.reyes", "Ana", "Reyes", "ana.reyes@example.org", 1.0, "Permits and Licensing", "cohort-1"),
    Learner("ben.okafor", "Ben", "Okafor", "ben.okafor@example.org", 0.8, "Utility Billing", "cohort-1", late=True),
    Learner("chen.liu", "Chen", "Liu", "chen.liu@example.org", 0.55, "Parks and Recreation", "cohort-2"),
    Learner("dana.whitehorse", "Dana", "Whitehorse", "dana.whitehorse@example.org", 0.3, "Utility Billing", "cohort-2",
            modules_done=1),
    Learner("eli.novak", "Eli", "Novak", "eli.novak@example.org", 0.0, "Permits and Licensing", "cohort-1"),
    Learner("fatima.haddad", "Fatima", "Haddad", "fatima.haddad@example.org", -1.0, "Parks and Recreation", "cohort-1"),
    Learner("gus.tanaka", "Gus", "Tanaka", "gus.tanaka@example.org", -1.0, "311 Contact Center", "cohort-2"),
)
# Days from the as-of date to each cohort's first due date; later modules are due a week apart.
# cohort-1's first module is past due (overdue, late), cohort-2's is due in 3 days (at risk).
FIRST_DUE = {"cohort-1": -4, "cohort-2": 3}
UNGRADED = {"chen.liu"}  # the trainer has not reached these learners' reflections yet


def due_dates(module_ids: list[str], as_of: date) -> dict[tuple[str, str], date]:
    return {(cohort, m): as_of + timedelta(days=first + 7 * n)
            for cohort, first in FIRST_DUE.items() for n, m in enumerate(module_ids)}


def roster_csv() -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["employee_id", "first_name", "last_name", "email", "department", "hire_date", "cohort"])
    for n, l in enumerate(COHORT):
        w.writerow([l.student_id, l.first_name, l.last_name, l.email, l.department, f"2026-0{1 + n % 9}-15", l.cohort])
    return out.getvalue()


def cohorts_csv(module_ids: list[str], as_of: date) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["cohort", "module", "assigned", "due_date"])
    for (cohort, m), due in due_dates(module_ids, as_of).items():
        w.writerow([cohort, m, (due - timedelta(days=14)).isoformat(), due.isoformat()])
    return out.getvalue()


def submitted_at(learner: Learner, due: date, as_of: date, tz: str) -> datetime:
    """When this learner submits: two days early (never after yesterday), or the day after it was due."""
    day = due + timedelta(days=1) if learner.late else min(due - timedelta(days=2), as_of - timedelta(days=1))
    return datetime.combine(day, time(14, 30), tzinfo=ZoneInfo(tz))


def wrong_answer(q: Question, rng: random.Random) -> object:
    """A plausible mistake of the kind a learner makes for this question type (curriculum/kinds.py)."""
    return KINDS[q.kind].mistake(q.answer, [o.id for o in q.options], rng)


def answer_module(module: Module, learner: Learner, folder, rng: random.Random) -> None:
    """Leave the fetched folder as this learner's clicks and typing would."""
    store = AnswerStore(folder)
    for q in module.questions:
        if rng.random() < learner.diligence:
            store.put("questions", q.id, KINDS[q.kind].stored(q.answer))
        elif learner.diligence > 0 and rng.random() < 0.8:
            store.put("questions", q.id, wrong_answer(q, rng))
    for rp in module.roleplays:
        if rng.random() < learner.diligence:
            path, ending = winning_path(rp)
            plays = [{"ending": ending, "path": path}]
            # the choices themselves, from a generator of their own (the draws above stay as they were):
            # a less diligent learner's first play of a practice role-play may take another path (it
            # earns the same completion credit), and some replay for practice
            own = random.Random(f"{learner.student_id}/{rp.id}")
            if rp.scoring == "completion" and own.random() > learner.diligence:
                path, ending = own.choice(paths(rp))
                plays = [{"ending": ending, "path": path}]
            if learner.diligence < 1 and own.random() < 0.5:
                path, ending = own.choice(paths(rp))
                plays.append({"ending": ending, "path": path})
            store.put("roleplays", rp.id, {"current": [], "completed": plays})
    for r in module.reflections:  # typed in the page's text boxes: answers.json, filled in at submit
        if rng.random() < learner.diligence:
            store.put("reflections", f"{r.id}-answer", (
                f"In my role I would start from the resident's situation. {r.prompt.split('?')[0]}? "
                f"For me it means being genuine, checking my department's procedure, and following up."
            ))


def grade_reflections(s: Settings, submitted: list[tuple[str, str]], rng: random.Random,
                      progress: Callable[[str], None]) -> int:
    """Score every reflection waiting for a trainer, as formgrader's score box does,
    except those of the learners in UNGRADED. Returns how many were scored."""
    from autograde.course.cycle import reflection_grades, set_manual_score

    by_id = {l.student_id: l for l in COHORT}
    n = 0
    with course.gradebook(s) as gb:
        for module_id, student_id in submitted:
            if student_id in UNGRADED:
                continue
            for grade in reflection_grades(gb, module_id, student_id):
                if grade.needs_manual_grade:
                    full = rng.random() < by_id[student_id].diligence
                    set_manual_score(gb, grade, grade.max_score if full else max(0.0, grade.max_score - 1))
                    n += 1
    progress(f"Trainer scored {n} reflection(s) against their rubrics; {', '.join(sorted(UNGRADED))}'s wait in formgrader.")
    return n


def run_demo(s: Settings, modules: list[Module], progress: Callable[[str], None] = print,
             as_of: date | None = None) -> dict:
    """Run the whole cycle under ``<state>/demo`` with the already-built ``modules``.
    ``as_of`` (default: today) is the day the due dates are set around and HR's report judges."""
    from autograde import roster
    from autograde.course import cycle
    from autograde.reporting import insight, report
    from autograde.reporting.completion import today

    demo = replace(s, state_dir=s.state_dir / "demo", db_url=None)
    shutil.rmtree(demo.state_dir, ignore_errors=True)  # the demo always starts clean
    as_of = as_of or today(demo)
    module_ids = [m.id for m in modules]
    course.prepare(demo, module_ids)

    progress("== Trainer: cohorts and roster")
    (demo.state_dir / "cohorts.csv").write_text(cohorts_csv(module_ids, as_of), encoding="utf-8")
    (demo.state_dir / "roster.csv").write_text(roster_csv(), encoding="utf-8")
    progress(f"cohorts.csv: {roster.import_cohorts(demo, demo.state_dir / 'cohorts.csv').summary()}")
    progress(f"roster.csv:  {roster.import_roster(demo, demo.state_dir / 'roster.csv').summary()}")

    progress("== Trainer: release")
    for module_id in module_ids:
        course.generate(demo, module_id)
        course.release(demo, module_id)
        progress(f"Released {module_id} to the exchange {demo.exchange_dir}")

    progress("== Learners: fetch, answer, submit")
    dues = due_dates(module_ids, as_of)
    rng = random.Random(2026)
    submitted = []
    for learner in COHORT:
        if learner.diligence < 0:
            progress(f"  {learner.student_id}: does not submit")
            continue
        todo = modules[: learner.modules_done] if learner.modules_done is not None else modules
        for module in todo:
            home = demo.state_dir / "learners" / learner.student_id
            folder = course.fetch(demo, module.id, learner.student_id, home)
            answer_module(module, learner, folder, rng)
            at = submitted_at(learner, dues[learner.cohort, module.id], as_of, demo.timezone)
            course.submit(demo, module.id, learner.student_id, home, at=at)
            submitted.append((module.id, learner.student_id))
        how = "late" if learner.late else "on time"
        progress(f"  {learner.student_id}: fetched, answered and submitted {len(todo)} of {len(modules)} module(s), {how}")

    progress("== Trainer: collect, autograde, grade reflections, feedback")
    cycle.collect(demo, module_ids, progress=progress)
    cycle.autograde(demo, module_ids, progress=progress)
    grade_reflections(demo, submitted, rng, progress)
    cycle.feedback(demo, module_ids, progress=progress)
    first = next(l for l in COHORT if l.diligence >= 0)
    fetched = course.fetch_feedback(demo, module_ids[0], first.student_id, demo.state_dir / "learners" / first.student_id)
    for path in fetched:
        progress(f"  {first.student_id} fetched their feedback: {path}")

    table = scores(demo, module_ids)
    progress("")
    progress("Scores (questions and role-plays autograded, reflections as the trainer scored them):")
    for student_id, row in table.items():
        cells = "  ".join(f"{m}: {v['score']:g}/{v['max_score']:g}{' (+reflections to grade)' if v['needs_manual_grade'] else ''}"
                          if v else f"{m}: not submitted" for m, v in row.items())
        progress(f"  {student_id:18} {cells}")

    progress("")
    progress(f"== HR: report as of {as_of.isoformat()}")
    files = report.write_report(demo, as_of=as_of)
    progress(f"Report:      {files.html}")
    progress(f"Spreadsheet: {files.xlsx}")
    progress(f"CSV:         {', '.join(str(p) for p in files.csv.values())}")
    progress(f"Snapshot:    {files.folder} (kept for audit, never overwritten)")
    progress("")
    progress("== Trainers: what the cohort learned")
    insight_files = insight.write_insight(demo)
    progress(f"Trainers' report: {insight_files.html} (trainers only; CSV beside it)")
    progress("")
    progress(f"Roster:      {demo.roster_path}")
    progress(f"Gradebook:   {demo.gradebook_url}")
    progress(f"Autograded:  {demo.course_dir / 'autograded'}")
    progress(f"Feedback:    {demo.course_dir / 'feedback'}")
    progress(f"Exchange:    {demo.exchange_dir}")
    (demo.state_dir / "scores.json").write_text(json.dumps(table, indent=1, sort_keys=True))
    progress(f"Scores JSON: {demo.state_dir / 'scores.json'}")
    return table


def scores(s: Settings, module_ids: list[str]) -> dict[str, dict[str, dict | None]]:
    """learner -> module -> {score, autograded, manual, max_score, needs_manual_grade}, from the gradebook."""
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
                    "autograded": round(sub.code_score, 4),  # role-plays and questions
                    "manual": round(sub.written_score, 4),  # reflections, as scored so far
                    "max_score": sub.max_score,
                    "needs_manual_grade": bool(sub.needs_manual_grade),
                }
            out[student.id] = row
    return out
