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
MANAGERS = {"Permits and Licensing": "rosa.mendez@example.org", "Utility Billing": "sam.osei@example.org"}  # copied on reminders
UNGRADED = {"chen.liu"}  # the trainer has not reached these learners' reflections yet


def due_dates(module_ids: list[str], as_of: date) -> dict[tuple[str, str], date]:
    return {(cohort, m): as_of + timedelta(days=first + 7 * n)
            for cohort, first in FIRST_DUE.items() for n, m in enumerate(module_ids)}


def roster_csv() -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["employee_id", "first_name", "last_name", "email", "department", "hire_date", "cohort", "manager_email"])
    for n, l in enumerate(COHORT):
        w.writerow([l.student_id, l.first_name, l.last_name, l.email, l.department, f"2026-0{1 + n % 9}-15", l.cohort,
                    MANAGERS.get(l.department, "")])
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
    from autograde.record import versions

    released_at = datetime.combine(as_of - timedelta(days=30), time(9, 0), tzinfo=ZoneInfo(demo.timezone))
    for module_id in module_ids:
        course.generate(demo, module_id)
        version = versions.record_release(demo, module_id, "demo-trainer", "demo-hr-lead", released_at=released_at)
        course.release(demo, module_id)
        progress(f"Released {module_id} (version {version[:12]}, archived) to the exchange {demo.exchange_dir}")

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

    acknowledge_and_certify(demo, module_ids, progress)

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
    progress(f"== HR: reminders as of {as_of.isoformat()}, a dry run (nothing sent)")
    from autograde.reporting import reminders

    mail = reminders.MailSettings.from_env({"HCWH_MAIL_DOMAINS": "example.org", "HCWH_MAIL_FROM": "training@example.org"})
    sent = reminders.run(demo, mail, as_of=as_of, dry_run=demo.state_dir / "reminders-dry-run")
    for line in sent.lines():
        progress(line)
    progress("")
    text_changes_retention_and_audit(demo, module_ids, as_of, progress)
    progress("")
    progress(f"Roster:      {demo.roster_path}")
    progress(f"Gradebook:   {demo.gradebook_url}")
    progress(f"Autograded:  {demo.course_dir / 'autograded'}")
    progress(f"Feedback:    {demo.course_dir / 'feedback'}")
    progress(f"Exchange:    {demo.exchange_dir}")
    (demo.state_dir / "scores.json").write_text(json.dumps(table, indent=1, sort_keys=True))
    progress(f"Scores JSON: {demo.state_dir / 'scores.json'}")
    return table


SIGNS = "ana.reyes"  # acknowledges every standard's commitment, then gets her certificate
ASKS = "ben.okafor"  # has a question for his supervisor about the first standard


def demo_signer(s: Settings, progress: Callable[[str], None]) -> None:
    """The demo's certificate signer: $HCWH_SIGNER and $HCWH_SIGNER_PUBLIC_KEY if set, else a key made
    for the demo in ``<state>/signer/`` run as the demo's own account (a demonstration only: in service
    the signer runs as an account of its own, README, The compliance record)."""
    import os
    import subprocess
    import sys

    from autograde.reporting.certificate import PUBLIC_KEY_ENV, SIGNER_ENV

    if os.environ.get(SIGNER_ENV) and os.environ.get(PUBLIC_KEY_ENV):
        progress(f"Signer: ${SIGNER_ENV} ({os.environ[SIGNER_ENV].split()[0]} ...)")
        return
    from autograde.private import private_dir

    key = private_dir(s.state_dir / "signer") / "certificate.key"
    if not key.exists():
        subprocess.run([sys.executable, "-m", "autograde.record.signer", "init", str(key)], check=True,
                       capture_output=True)
    os.environ[SIGNER_ENV] = f"{sys.executable} -m autograde.record.signer sign {key}"
    os.environ[PUBLIC_KEY_ENV] = f"{key}.pub"
    progress(f"Signer: the demo's own key {key} (in service: an account of its own holds it)")


def acknowledge_and_certify(s: Settings, module_ids: list[str], progress: Callable[[str], None]) -> None:
    """What the exchange service records when a learner signs on their Acknowledge page (here without a
    hub, so the demo calls the same record function), then the certificate and its check."""
    from autograde import catalog
    from autograde.reporting import certificate
    from autograde.record import acknowledgements

    progress("== Learners: acknowledge each standard's commitment")
    by_id = {l.student_id: l for l in COHORT}
    standards = [m for m in module_ids if catalog.commitment(s, m)]
    for module_id in standards:
        name, words = catalog.commitment(s, module_id)
        row = acknowledgements.record(s, SIGNS, module_id, f"{by_id[SIGNS].first_name} {by_id[SIGNS].last_name}",
                                      "acknowledged", recorded_by=SIGNS)
        progress(f"  {SIGNS} acknowledged {module_id} ({name}: \"{words}\") version {row['version'][:12]} "
                 f"at {row['recorded_at']}")
    if standards:
        row = acknowledgements.record(s, ASKS, standards[0], f"{by_id[ASKS].first_name} {by_id[ASKS].last_name}",
                                      "question", recorded_by=ASKS)
        progress(f"  {ASKS}: \"I have a question for my supervisor\" on {standards[0]}, recorded at {row['recorded_at']}")

    progress("== HR: certificate of completion")
    demo_signer(s, progress)
    done = certificate.issue(s, SIGNS, "demo-hr-officer")
    progress(f"Certificate: {done.page}")
    progress(f"Code:        {done.code}")
    verdict = certificate.verify(s, done.code)
    progress(f"hcwh verify: {verdict.words}")
    import os

    progress(f"  (to check it again: {certificate.PUBLIC_KEY_ENV}={os.environ[certificate.PUBLIC_KEY_ENV]} "
             f"hcwh --state-dir {s.state_dir} verify {done.code})")
    waiting = sorted(UNGRADED)[0]  # the trainer has not scored their reflections yet
    try:
        certificate.issue(s, waiting, "demo-hr-officer")
    except certificate.CertificateError as exc:
        progress(f"  {waiting}: no certificate yet ({exc})")
    from autograde.record import audit

    verdict = audit.verify(audit.log_path(s))
    progress(f"Audit trail: {audit.log_path(s)}: {verdict.head.lines} lines, "
             f"{'verifies' if verdict.ok else 'BROKEN at line %s' % verdict.line}")


LEAVER = "eli.novak"  # left the city 120 days before the demo's day: the retention run takes their work


def text_changes_retention_and_audit(s: Settings, module_ids: list[str], as_of: date,
                                     progress: Callable[[str], None]) -> None:
    """The rest of HR's record: the framework text changes (a copy of it: the city's own file is never
    touched) and HR's report lists who must re-acknowledge; a retention run; the audit trail verified,
    then a hand-edited copy of it caught."""
    from autograde import roster
    from autograde.course import retention
    from autograde.record import audit, versions
    from autograde.reporting import completion, recert, report

    standard = next((m for m in module_ids if m != module_ids[0]), module_ids[0])
    progress(f"== HR: the framework text changes, {standard} is released again")
    real = versions.sources(s, standard)
    changed = s.state_dir / "framework-changed.txt"
    changed.write_text(real.framework.read_text(encoding="utf-8").rstrip("\n")
                       + "\n(Demo only: a sentence the city added to the framework.)\n", encoding="utf-8")
    new = versions.record_release(s, standard, "demo-trainer", "demo-hr-lead",
                                  versions.Sources(changed, real.module, real.notebook))
    for line in recert.diff(s, standard).splitlines():
        if line.startswith(("==", "+(")):
            progress(f"  {line}")
    recert.decide(s, standard, new, "acknowledge", "demo-hr-lead", "a sentence added")
    recert.set_expiry(s, recert.PROGRAMME, 365, "demo-hr-lead")
    files = report.write_report(s, as_of=as_of)
    frame = recert.table_for(s, completion.completion_table(s, as_of=as_of), as_of)
    must = frame[frame["status"] == "re-acknowledge: text changed"]
    progress(f"  HR decided: acknowledge. Must re-acknowledge {standard} ({len(must)}): "
             f"{', '.join(must['employee_id']) or 'nobody'}")
    progress(f"  Report: {files.html} (Recertification), {files.csv['recertification']}")

    progress("== HR: retention")
    left = (as_of - timedelta(days=120)).isoformat()
    store = roster.RosterStore(s.roster_path)
    data = store.load()
    data.learners[LEAVER] = replace(data.learners[LEAVER], status="separated", separation_date=left)
    store.save(data)
    progress(f"  {LEAVER} left the city on {left} (roster status separated)")
    for record_type, period in (("learner_work", "90d"), ("completion", "7y"), ("acknowledgement", "7y"),
                                ("certificate", "7y"), ("report_snapshot", "7y")):
        retention.set_schedule(s, record_type, period, "demo-hr-lead")
    progress("  schedule (demo values, the city sets its own): learner_work 90 days, the rest 7 years")
    for line in retention.run(s, as_of=as_of, by="demo-hr-lead").lines():
        progress(f"  {line}")

    progress("== Audit: the trail, then a hand-edited copy of it")
    log = audit.log_path(s)
    verdict = audit.verify(log)
    progress(f"  hcwh audit verify: {verdict.head.lines} lines, {'chain intact' if verdict.ok else 'BROKEN'}")
    copy = s.state_dir / "audit-hand-edited-copy.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["at"] = "2020-01-01T00:00:00+00:00"  # someone moves line 2's time back, without its hash
    lines[1] = json.dumps(entry, separators=(",", ":"), sort_keys=True)
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    edited = audit.verify(copy)
    progress(f"  hcwh audit verify --log {copy}: line {edited.line}: {edited.problem}" if not edited.ok
             else "  the edited copy verified (this is a bug)")


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
