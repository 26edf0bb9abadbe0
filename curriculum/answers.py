"""The learner's answers, saved beside the notebook as they are made: the one module that
owns the answers file's format.

Widgets live in the kernel and vanish with it; nbgrader's autograde re-runs the
notebook in a fresh, headless kernel. So every click is written at once to
``answers.json`` in the notebook's folder (the kernel's working directory).
``nbgrader submit`` carries that file with the notebook, ``collect`` and
``autograde`` copy it, and the hidden tests score what it holds.

The file (``schema_version`` 2)::

    {"schema_version": 2,
     "questions": {question id: the answer (an option id, or a list of them)},
     "roleplays": {role-play id: {
         "current": [{"step": step id, "choice": choice id}, ...],     # the play under way
         "completed": [{"ending": ending id,                            # every play to an ending,
                        "path": [{"step", "choice", "quality"?}, ...]},  # first first
                       ...]}},
     "reflections": {grade id of a reflection cell: the words typed}}

``quality`` (best, acceptable, poor) is recorded with each choice of a ``completion`` play;
a ``path``-scored play keeps its key in the hidden test, which prints each choice's quality
at grading. Other top-level keys are kept as they are.

Version 1 (files with no ``schema_version``, written before role-play choices had ids)
recorded a choice by its place in the content file (0, 1, 2); the practice role-plays of that
version had their choices named ``a``, ``b``, ``c`` in that order when ids came, so
:func:`migrate` turns place ``n`` into id ``a`` + n. (The five plays that became
``path``-scored got ids that say what the choice does, so that the released notebook does not
show which choice the author wrote first; a version 1 record of one of them keeps its completed
plays, but their choices match no id of the play and earn no path points.) A damaged file reads as empty, never
raises: the learner simply has no saved answers.

Reflections typed in the module page's text boxes are kept here too, under
``"reflections"`` (keyed by the grade id of the reflection cell they fill): this
file is the single source of a reflection's words, written into the graded cells
at submit (:mod:`curriculum.reflections`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

ANSWERS_FILE = "answers.json"
SCHEMA_VERSION = 2
SECTIONS = ("questions", "roleplays", "reflections")


def _path_v1_to_v2(path: Any) -> Any:
    if not isinstance(path, list):
        return path
    out = []
    for taken in path:
        if (isinstance(taken, dict) and isinstance(taken.get("choice"), int) and not isinstance(taken["choice"], bool)
                and 0 <= taken["choice"] < 26):
            taken = {**taken, "choice": chr(ord("a") + taken["choice"])}
        out.append(taken)
    return out


def migrate(data: Any) -> dict[str, Any]:
    """Any parsed answers file -> the current version's shape (a new dict; the input is not changed)."""
    if not isinstance(data, dict):
        data = {}
    out = dict(data)
    for section in SECTIONS:
        out[section] = dict(data[section]) if isinstance(data.get(section), dict) else {}
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 2:  # version 1: choices by place
        for rp_id, record in out["roleplays"].items():
            if isinstance(record, dict):
                record = dict(record)
                record["current"] = _path_v1_to_v2(record.get("current"))
                if isinstance(record.get("completed"), list):
                    record["completed"] = [{**play, "path": _path_v1_to_v2(play.get("path"))} if isinstance(play, dict)
                                           else play for play in record["completed"]]
                out["roleplays"][rp_id] = record
    out["schema_version"] = SCHEMA_VERSION if not isinstance(version, int) or version < SCHEMA_VERSION else version
    return out


class AnswerStore:
    """The answers file of one notebook folder (see the module's docstring for its format)."""

    def __init__(self, folder: Path | str = "."):
        self.path = Path(folder) / ANSWERS_FILE

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}  # missing or damaged
        return migrate(data)

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.load()[section].get(key, default)

    def put(self, section: str, key: str, value: Any) -> None:
        data = self.load()
        data[section][key] = value
        self._write(data)

    def _write(self, data: dict) -> None:
        # Write-then-rename: a crash mid-save never leaves a half-written file.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".answers-", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True, ensure_ascii=False)
        os.replace(tmp, self.path)
