"""Reflections at submit: the words typed in the module page go into the cells nbgrader grades.

A learner types each reflection in a text box of the module page; the kernel saves it to
``answers.json`` (``"reflections"``, keyed by the grade id of the reflection cell). That
file is the single source of a reflection's words. Just before a submission leaves the
learner's server, :func:`filled_notebooks` writes each text into its reflection cell (the
Markdown ``solution`` + ``grade`` cell formgrader shows for manual grading), in the copy
being submitted. Whatever that cell held is replaced: an edit made elsewhere (in
JupyterLab, say) is ignored, and when there was one a line for the trainer says so in the
cell. A reflection never typed leaves the cell as released, so nbgrader still sees "no
response".

Both ways of submitting use it: the hub exchange's submit packs the filled notebooks in
place of the learner's (``autograde/exchange/client.py``), and nbgrader's own shared-folder
submit fills its copies with :func:`fill_folder` (``autograde/grading/nbhooks.py``,
``ReflectionFillingSubmit``). The learner's own notebook is never changed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .answers import ANSWERS_FILE
from .cells import REFLECTION_STUB, is_reflection
from .errors import HcwhError

EDITED_NOTE = (
    "[Note for the trainer: this reflection box was also changed outside the module page; that "
    "change was ignored. What is graded is what the learner typed in the page.]"
)


class ReflectionsRefused(HcwhError):
    """The reflections cannot be filled in: the message names the file and what is wrong."""


def texts_from_answers(data: object, where: str) -> dict[str, str]:
    """The ``"reflections"`` section of a parsed ``answers.json``, checked: grade id → text."""
    if not isinstance(data, dict):
        raise ReflectionsRefused(f"{where}: the answers file does not hold a JSON object")
    texts = data.get("reflections", {})
    if not isinstance(texts, dict):
        raise ReflectionsRefused(f"{where}: 'reflections' is not an object of grade id → text")
    bad = sorted(str(k) for k, v in texts.items() if not isinstance(v, str))
    if bad:
        raise ReflectionsRefused(f"{where}: reflection(s) {', '.join(bad)} hold no text (a string is expected)")
    return texts


def fill(nb: NotebookNode, texts: dict[str, str]) -> list[str]:
    """Write ``texts`` into ``nb``'s reflection cells (in place); one note per cell edited elsewhere.

    A cell counts as edited elsewhere when it holds anything but the released stub or the
    very text being written (a submit repeated on the same copy)."""
    notes = []
    for cell in nb.cells:
        if not is_reflection(cell):
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        text = texts.get(grade_id, "").strip()
        words = text or REFLECTION_STUB
        if cell.source.strip() not in (REFLECTION_STUB, text):
            words = f"{words}\n\n{EDITED_NOTE}"
            notes.append(f"{grade_id}: the cell was changed outside the module page; the change was ignored")
        cell.source = words
    return notes


def filled_notebooks(folder: Path | str) -> tuple[dict[str, str], list[str]]:
    """Each notebook directly in ``folder`` that has reflection cells, filled from the folder's
    ``answers.json``: ``({file name: notebook text}, notes)``. Nothing is written.

    An ``answers.json`` or notebook that is a link (or a special file) is left alone: the hub
    exchange and preflight refuse those, naming them. Bad input otherwise raises
    :class:`ReflectionsRefused` naming the file."""
    folder = Path(folder)
    answers = folder / ANSWERS_FILE
    if answers.is_symlink() or (answers.exists() and not answers.is_file()):
        return {}, []  # a link or special file: sent as it is, for the exchange and preflight to refuse by name
    try:
        data = json.loads(answers.read_text(encoding="utf-8")) if answers.exists() else {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReflectionsRefused(f"{answers}: cannot be read as JSON ({exc})") from None
    texts = texts_from_answers(data, str(answers))
    filled: dict[str, str] = {}
    notes: list[str] = []
    for path in sorted(folder.glob("*.ipynb")):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except (OSError, UnicodeDecodeError, ValueError, nbformat.reader.NotJSONError) as exc:
            raise ReflectionsRefused(f"{path}: not a readable notebook ({exc})") from None
        if not any(is_reflection(c) for c in nb.get("cells", [])):
            continue
        notes += [f"{path.name}, {n}" for n in fill(nb, texts)]
        filled[path.name] = nbformat.writes(nb) + "\n"
    return filled, notes


def fill_folder(folder: Path | str) -> list[str]:
    """:func:`filled_notebooks`, written in place (each by write-then-rename): for a copy being
    submitted, never the learner's own folder. Every notebook is filled before any is written,
    so bad input is refused with the folder as it was."""
    folder = Path(folder)
    filled, notes = filled_notebooks(folder)
    for name, text in filled.items():
        path = folder / name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, path.stat().st_mode & 0o777)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return notes
