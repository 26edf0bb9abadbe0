"""nbgrader cell factories: the only place that writes nbgrader metadata.

Each returns an nbformat v4 cell with a stable id (so builds are byte-for-byte
reproducible) and the metadata nbgrader's own validator expects.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell

from .tags import REFLECTION_CELL_TAG

NBGRADER_SCHEMA = 3
# What nbgrader's ClearSolutions writes into a learner's copy: the code stub of an answer cell
# (as a comment) and the text stub of a reflection.
SOLUTION_HINT = "Your answer is saved as you click. Nothing to type here."
REFLECTION_STUB = "Write your reflection here (double-click this box to edit it)."


def _nbgrader(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
              points: float | None = None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return meta


def _cell_id(grade_id: str) -> str:
    return grade_id[:64]


def text(grade_id: str, source: str) -> NotebookNode:
    """Read-only Markdown: restored by autograde if a learner changes it."""
    cell = new_markdown_cell(source, id=_cell_id(grade_id))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, locked=True)
    return cell


def setup(grade_id: str, source: str) -> NotebookNode:
    """Read-only code that every later cell relies on; input collapsed."""
    cell = new_code_cell(source, id=_cell_id(grade_id))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, locked=True)
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell.metadata["editable"] = False
    return cell


def answer_widget(grade_id: str, source: str) -> NotebookNode:
    """The widget a learner clicks. A solution cell: its ``BEGIN SOLUTION``
    block (the key, recorded as a perfect learner would) is cleared on release,
    and autograde never overwrites it with the source version."""
    cell = new_code_cell(source, id=_cell_id(grade_id))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, solution=True)
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell.metadata["editable"] = False
    return cell


def autograded_test(grade_id: str, source: str, points: float) -> NotebookNode:
    """A graded test cell; autograde restores it (hidden tests included)."""
    cell = new_code_cell(source, id=_cell_id(grade_id))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, locked=True, points=points)
    cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def written_answer(grade_id: str, source: str, points: float) -> NotebookNode:
    """A Markdown answer a person grades in formgrader (manual, partial credit)."""
    cell = new_markdown_cell(source, id=_cell_id(grade_id))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=True, points=points)
    cell.metadata["tags"] = [REFLECTION_CELL_TAG]
    return cell


def is_graded(cell: NotebookNode) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


def is_reflection(cell: NotebookNode) -> bool:
    """A reflection's graded cell: Markdown, a solution a person grades."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def is_autograded_test(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"
