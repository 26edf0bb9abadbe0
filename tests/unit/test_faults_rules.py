"""Pure rules, no nbgrader run: which faults are the machine's, failure reasons, and the
journal's snapshot and restore of one learner's record."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from nbgrader.api import Gradebook

from autograde.course import cycle
from autograde.errors import MachineFault, NbgraderError, as_machine_fault, machine_fault_in
from autograde.grading import journal


@pytest.mark.parametrize("text, words", [
    ("sqlite3.OperationalError: database is locked", "the gradebook database is locked"),
    ("OSError: [Errno 28] No space left on device: '/course/autograded/ana'", "the disk is full"),
    ("sqlite3.OperationalError: database or disk is full", "the disk is full"),
    ("sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) unable to open database file",
     "the gradebook database cannot be read or written"),
    ("RuntimeError: Kernel died before replying to kernel_info", "could not start"),
    ("autograde.grading.sandbox.SandboxUnavailable: bwrap cannot create one here", "could not start"),
    ("the grading sandbox stopped answering (its process died or was killed)", "stopped answering"),
])
def test_machine_faults_are_named(text, words):
    assert words in machine_fault_in(text)


@pytest.mark.parametrize("text", [
    "DeadKernelError: Kernel died",  # killed by the notebook's own code, or past its limits: the learner's
    "NotJSONError: Notebook does not appear to be JSON",
    "CellTimeoutError: No reply from kernel before timeout",
    "MemoryError",
    "ZeroDivisionError: division by zero",
])
def test_the_learners_own_failures_are_not_machine_faults(text):
    assert machine_fault_in(text) is None


def test_exceptions_are_classified_along_their_causes():
    full = OSError(errno.ENOSPC, "No space left on device")
    assert "the disk is full" in str(as_machine_fault(full))
    assert as_machine_fault(OSError(errno.ENOENT, "No such file")) is None  # a missing file is not the machine
    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as exc:
            raise NbgraderError("autograde failed") from exc
    except NbgraderError as wrapped:
        fault = as_machine_fault(wrapped)
    assert isinstance(fault, MachineFault) and "locked" in str(fault)
    assert as_machine_fault(ValueError("bad notebook")) is None


def test_failure_reason_is_the_innermost_named_exception():
    log = ("[ERROR] There was an error processing assignment\nTraceback (most recent call last):\n"
           "  File \"x.py\", line 1\nnbformat.reader.NotJSONError: Notebook does not appear to be JSON\n"
           "nbgrader.converters.base.NbGraderException: Please see the above traceback")
    assert cycle.failure_reason(log) == "NotJSONError: Notebook does not appear to be JSON"


@pytest.fixture()
def gb(tmp_path):
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", course_id="c") as gb:
        gb.update_or_create_assignment("m1")
        gb.update_or_create_notebook("m1", "m1")
        gb.update_or_create_grade_cell("q1", "m1", "m1", max_score=3, cell_type="code")
        gb.update_or_create_grade_cell("r1", "m1", "m1", max_score=2, cell_type="markdown")
        gb.update_or_create_solution_cell("r1", "m1", "m1")
        gb.add_student("ana")
        gb.add_submission("m1", "ana")
        yield gb


def test_restore_puts_a_record_back_exactly(gb):
    g = gb.find_grade("q1", "m1", "m1", "ana")
    g.auto_score, g.needs_manual_grade = 2.0, False
    r = gb.find_grade("r1", "m1", "m1", "ana")
    r.manual_score, r.extra_credit = 1.5, 0.5
    gb.find_comment("r1", "m1", "m1", "ana").manual_comment = "Good"
    gb.db.commit()
    snap = journal.snapshot(gb, "m1", "ana")
    g.auto_score, r.manual_score, r.extra_credit = 0.0, None, None
    gb.find_comment("r1", "m1", "m1", "ana").manual_comment = None
    gb.find_submission_notebook("m1", "m1", "ana").flagged = True
    gb.db.commit()
    journal.restore(gb, "m1", "ana", snap)
    assert (gb.find_grade("q1", "m1", "m1", "ana").auto_score, gb.find_grade("r1", "m1", "m1", "ana").manual_score,
            gb.find_grade("r1", "m1", "m1", "ana").extra_credit) == (2.0, 1.5, 0.5)
    assert gb.find_comment("r1", "m1", "m1", "ana").manual_comment == "Good"
    assert gb.find_submission_notebook("m1", "m1", "ana").flagged is False
    assert gb.find_submission("m1", "ana").score == 4.0  # by hand: 2 + 1.5 + 0.5 extra credit


def test_restore_of_no_record_removes_a_new_one(gb):
    gb.add_student("ben")
    assert journal.snapshot(gb, "m1", "ben") is None
    gb.add_submission("m1", "ben")
    journal.restore(gb, "m1", "ben", None)
    assert journal.snapshot(gb, "m1", "ben") is None


@pytest.mark.parametrize("message", [
    "nbclient.exceptions.DeadKernelError: Kernel died",
    "DeadKernelError: the notebook's Python process was killed by SIGKILL",
    "UnresponsiveKernelError: cells ran past their time limit and could not be stopped",
    "CellTimeoutError: A cell timed out while it was being executed, after 60 seconds.",
])
def test_a_failing_kernel_is_the_machines_when_only_clicks_count(message):
    from autograde.config import Settings
    from autograde.course.cycle import engine_fault

    fault = engine_fault(Settings(), "01-authenticity", "ana", message)
    assert isinstance(fault, MachineFault)
    assert "while grading 01-authenticity ana" in str(fault)
    # when typed code runs (the sandbox's own tests), the notebook may be to blame: the learner's failure
    assert engine_fault(Settings(run_typed_code=True), "01-authenticity", "ana", message) is None


def test_other_engine_failures_stay_the_learners():
    from autograde.config import Settings
    from autograde.course.cycle import engine_fault

    assert engine_fault(Settings(), "01-authenticity", "ana", "NotJSONError: Notebook does not appear to be JSON") is None


def test_an_answers_file_larger_than_clicks_write_is_refused(tmp_path):
    from autograde.grading.preflight import Rejected, _check_answers_file
    from autograde.limits import MAX_ANSWERS_BYTES

    (tmp_path / "answers.json").write_bytes(b" " * MAX_ANSWERS_BYTES)
    _check_answers_file(tmp_path)  # exactly the limit: taken
    (tmp_path / "answers.json").write_bytes(b" " * (MAX_ANSWERS_BYTES + 1))
    with pytest.raises(Rejected, match=r"answers.json is 1\.0 MiB, more than clicking can write \(at most 1\.0 MiB\)"):
        _check_answers_file(tmp_path)
