"""Nothing lost: re-running autograde is safe, trainers' work survives, an interrupted or
killed run is repaired by the next, submissions are never modified, and the files that
hold personal data are private.

A small cohort through real nbgrader (sandbox on): ana answers everything and writes
her reflections, ben answers some, cora's upload is truncated. Each test works on its
own copy of the collected course.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook

from autograde import roster
from autograde.config import Settings
from autograde.course import cycle
from autograde.course import nbgrader_api as course
from autograde.grading import journal
from tests.conftest import ROOT
from tests.hr_cohort import COHORTS_CSV, answer_ana, answer_ben, module

MODULE = "01-authenticity"
NOTEBOOK = f"{MODULE}.ipynb"
LEARNERS = ("ana", "ben", "cora")
ROSTER_CSV = """employee_id,first_name,last_name,email,department,hire_date,cohort
ana,Ana,Reyes,ana.reyes@example.org,Permits,2026-10-05,spring
ben,Ben,Okafor,ben.okafor@example.org,Utilities,2026-10-12,spring
cora,Cora,Lin,cora.lin@example.org,Permits,2026-11-09,autumn
"""
AT = datetime(2026, 11, 18, 10, 30, tzinfo=timezone.utc)


def quiet(line: str) -> None:
    pass


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Settings:
    if not (ROOT / "source" / MODULE).is_dir():
        pytest.fail(f"source/{MODULE} is not built: run 'hcwh build'")
    root = tmp_path_factory.mktemp("nothing-lost")
    s = Settings(state_dir=root / "state", timeout=30, sandbox=True)
    course.prepare(s, [MODULE])
    (root / "cohorts.csv").write_text(COHORTS_CSV)
    (root / "roster.csv").write_text(ROSTER_CSV)
    roster.import_cohorts(s, root / "cohorts.csv")
    roster.import_roster(s, root / "roster.csv")
    course.generate(s, MODULE)
    course.release(s, MODULE)
    m = module()
    for sid, answer in (("ana", answer_ana), ("ben", answer_ben), ("cora", lambda m, f: None)):
        home = s.state_dir / "learners" / sid
        folder = course.fetch(s, MODULE, sid, home)
        answer(m, folder)
        course.submit(s, MODULE, sid, home, at=AT)
    cycle.collect(s, [MODULE], progress=quiet)
    nb = s.course_dir / "submitted" / "cora" / MODULE / NOTEBOOK
    nb.write_text(nb.read_text()[:800])  # an interrupted upload
    return s


@pytest.fixture()
def s(collected, tmp_path) -> Settings:
    shutil.copytree(collected.state_dir, tmp_path / "state", symlinks=True)
    return replace(collected, state_dir=tmp_path / "state")


def dump(s: Settings) -> dict:
    """Every submission row in the gradebook, with row ids: 'the same rows' means equal dumps."""
    with course.gradebook(s) as gb:
        out = {}
        for sub in gb.db.query(SubmittedAssignment).all():
            out[sub.assignment.name, sub.student.id] = {
                "id": sub.id,
                "timestamp": sub.timestamp,
                "notebooks": {nb.name: {
                    "id": nb.id, "flagged": nb.flagged,
                    "grades": {g.name: (g.id, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                               for g in nb.grades},
                    "comments": {c.name: (c.id, c.auto_comment, c.manual_comment) for c in nb.comments},
                } for nb in sub.notebooks},
            }
        counts = tuple(gb.db.query(t).count() for t in (SubmittedAssignment, SubmittedNotebook, Grade, Comment))
    return {"submissions": out, "counts": counts}


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def trainer_grades(s: Settings) -> None:
    """What a trainer does in formgrader: ana's reflections scored and commented, one of
    ben's autograded answers overridden with extra credit, ana's notebook flagged."""
    with course.gradebook(s) as gb:
        for grade, score in zip(sorted(cycle.reflection_grades(gb, MODULE, "ana"), key=lambda g: g.name), (3, 2, 1)):
            cycle.set_manual_score(gb, grade, score)
            gb.find_comment(grade.name, MODULE, MODULE, "ana").manual_comment = f"Thoughtful ({score})"
        grade = gb.find_grade("auth-q-trail-question-test", MODULE, MODULE, "ben")
        cycle.set_manual_score(gb, grade, 1.5)
        grade.extra_credit = 0.5
        gb.find_submission_notebook(MODULE, MODULE, "ana").flagged = True
        gb.db.commit()


def scores(report: cycle.AutogradeReport) -> dict[str, tuple]:
    return {r.student_id: (r.graded, r.score, r.needs_manual) for r in report.results}


def test_rerun_is_idempotent_and_keeps_the_trainers_work(s):
    before = hashes(s.course_dir / "submitted")
    first = cycle.autograde(s, [MODULE], progress=quiet)
    assert scores(first) == {"ana": (True, 21.0, True), "ben": (True, 9.0, False), "cora": (False, 0.0, False)}
    once = dump(s)
    again = cycle.autograde(s, [MODULE], progress=quiet)
    assert dump(s) == once  # same rows (same ids), same scores
    assert scores(again) == scores(first)

    trainer_grades(s)
    graded = dump(s)
    third = cycle.autograde(s, [MODULE], progress=quiet)
    assert dump(s) == graded  # manual scores, comments, extra credit, flags, and "done" all kept
    assert scores(third) == {"ana": (True, 27.0, False), "ben": (True, 11.0, False), "cora": (False, 0.0, False)}
    with course.gradebook(s) as gb:
        assert not gb.find_submission(MODULE, "ana").needs_manual_grade  # HR sees her complete, still
    assert hashes(s.course_dir / "submitted") == before  # submissions are never modified
    assert not (s.course_dir / journal.JOURNAL_DIR / "journal.json").exists()


def test_a_new_submission_sends_scored_reflections_back_for_review(s):
    """The same submission re-graded keeps a trainer's "done"; a newer one (a learner who
    submitted again, last one counts) keeps the scores but asks the trainer to look again."""
    cycle.autograde(s, [MODULE], progress=quiet)
    trainer_grades(s)
    home = s.state_dir / "learners" / "ana"
    course.submit(s, MODULE, "ana", home, at=datetime(2026, 11, 19, 8, 0, tzinfo=timezone.utc))
    cycle.collect(s, [MODULE], progress=quiet)
    cycle.autograde(s, [MODULE], progress=quiet)
    with course.gradebook(s) as gb:
        grades = cycle.reflection_grades(gb, MODULE, "ana")
        assert sorted(g.manual_score for g in grades) == [1.0, 2.0, 3.0]
        assert all(g.needs_manual_grade for g in grades)
        assert gb.find_submission(MODULE, "ana").timestamp == datetime(2026, 11, 19, 8, 0)


def test_an_interrupted_run_puts_the_learner_back_and_the_next_run_finishes(s, monkeypatch):
    # The fast engine's stops and faults: tests/integration/test_faults.py.
    cycle.autograde(s, [MODULE], progress=quiet, engine="nbgrader")
    trainer_grades(s)
    reference = dump(s)

    # Ctrl-C between learners (raised by the progress output once the first learner is done)
    def stop_after_first(line: str) -> None:
        if line.startswith("[1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cycle.autograde(s, [MODULE], progress=stop_after_first, engine="nbgrader")
    assert dump(s) == reference
    graded_ana = hashes(s.course_dir / "autograded" / "ana")

    # Ctrl-C inside the engine, after it wrote half of ana's grades
    real = course.autograde

    def interrupted(settings, module_id, student_id):
        real(settings, module_id, student_id)
        if student_id == "ana":
            with course.gradebook(settings) as gb:
                gb.find_grade("auth-q-positivity-test", MODULE, MODULE, "ana").auto_score = None
                gb.db.commit()
            raise KeyboardInterrupt

    monkeypatch.setattr(course, "autograde", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cycle.autograde(s, [MODULE], progress=quiet, engine="nbgrader")
    assert dump(s) == reference  # ana as she was: scores, the trainer's work, nothing half-made
    assert hashes(s.course_dir / "autograded" / "ana") == graded_ana  # her graded copy too
    assert not (s.course_dir / journal.JOURNAL_DIR / "journal.json").exists()
    monkeypatch.undo()

    report = cycle.autograde(s, [MODULE], progress=quiet, engine="nbgrader")  # the next run finishes the job
    assert report.recovered is None
    assert dump(s) == reference


def test_a_killed_run_is_repaired_by_the_next(s):
    cycle.autograde(s, [MODULE], progress=quiet, engine="nbgrader")
    trainer_grades(s)
    reference = dump(s)
    entry = s.course_dir / journal.JOURNAL_DIR / "journal.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCWH_")}
    env[cycle.IN_ENGINE_ENV] = "ben:SIGSTOP"  # the run stops itself as ben's grading begins (journal written)
    proc = subprocess.Popen([sys.executable, "-m", "autograde.cli", "--state-dir", str(s.state_dir), "autograde", MODULE, "--engine", "nbgrader"],
                            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _, status = os.waitpid(proc.pid, os.WUNTRACED)  # returns once the run has stopped itself
        assert os.WIFSTOPPED(status), status
        assert json.loads(entry.read_text())["student"] == "ben"  # the journal says who is half-done
        with pytest.raises(journal.AlreadyRunning):  # a second run at the same time is refused
            cycle.autograde(s, [MODULE], progress=quiet, engine="nbgrader")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(30)
    assert json.loads(entry.read_text())["student"] == "ben"  # the journal says who was half-done

    lines: list[str] = []
    report = cycle.autograde(s, [MODULE], progress=lines.append, engine="nbgrader")
    assert report.recovered == (MODULE, "ben")
    assert lines[0] == (f"The last autograde stopped while grading {MODULE} ben: its grades were put back "
                        "as they were; everything is graded again now.")
    assert dump(s) == reference
    assert scores(report) == {"ana": (True, 27.0, False), "ben": (True, 11.0, False), "cora": (False, 0.0, False)}


def test_a_killed_fast_run_leaves_a_consistent_gradebook_the_next_run_completes(s):
    """Killed outright once one accepted learner was graded again from a changed input (ana's
    answers file gone: her autograded tests 0, the trainer's 3 + 2 + 1 kept, 6/30): that
    learner's new grade is in, the others are as they were, and the next run finishes."""
    cycle.autograde(s, [MODULE], progress=quiet, engine="fast")
    trainer_grades(s)
    reference = dump(s)
    (s.course_dir / "submitted" / "ana" / MODULE / "answers.json").unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCWH_")}
    env[cycle.AFTER_LEARNER_ENV] = "2:SIGKILL"  # 1 worker: cora (rejected) is written first, then ana
    done = subprocess.run([sys.executable, "-m", "autograde.cli", "--state-dir", str(s.state_dir), "autograde", MODULE,
                           "--engine", "fast", "--workers", "1"], cwd=ROOT, env=env, start_new_session=True,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr)
    killed = dump(s)
    assert killed != reference  # the killed run did write something: ana from her changed input
    assert cycle.submission_score(s, MODULE, "ana")[0] == 6.0
    for learner in ("ben", "cora"):
        assert killed["submissions"][MODULE, learner] == reference["submissions"][MODULE, learner]
    report = cycle.autograde(s, [MODULE], progress=quiet, engine="fast")  # the next run finishes the job
    assert scores(report) == {"ana": (True, 6.0, False), "ben": (True, 11.0, False), "cora": (False, 0.0, False)}
    assert dump(s)["submissions"][MODULE, "ben"] == reference["submissions"][MODULE, "ben"]


def test_personal_data_is_private(s):
    cycle.autograde(s, [MODULE], progress=quiet)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(s.course_dir) == 0o700  # nothing inside is reachable by another account
    for name in ("submitted", "autograded", "source"):
        assert mode(s.course_dir / name) == 0o700, name
    for path in (s.course_dir / "gradebook.db", s.course_dir / journal.BACKUP_NAME, s.roster_path):
        assert mode(path) == 0o600, path
    assert mode(s.course_dir / journal.JOURNAL_DIR) == 0o700
    # the backup is the gradebook as it was before the run
    assert (s.course_dir / journal.BACKUP_NAME).read_bytes()[:16] == b"SQLite format 3\x00"
