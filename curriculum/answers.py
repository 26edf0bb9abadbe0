"""The learner's answers, saved beside the notebook as they are made.

Widgets live in the kernel and vanish with it; nbgrader's autograde re-runs the
notebook in a fresh, headless kernel. So every click is written at once to
``answers.json`` in the notebook's folder (the kernel's working directory).
``nbgrader submit`` carries that file with the notebook, ``collect`` and
``autograde`` copy it, and the hidden tests score what it holds.

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
SECTIONS = ("questions", "roleplays", "reflections")


class AnswerStore:
    """A small JSON file: ``{"questions": {id: value}, "roleplays": {id: record}, "reflections": {grade_id: text}}``."""

    def __init__(self, folder: Path | str = "."):
        self.path = Path(folder) / ANSWERS_FILE

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # Missing or damaged: the learner simply has no saved answers.
            return {name: {} for name in SECTIONS}
        if not isinstance(data, dict):
            return {name: {} for name in SECTIONS}
        return {name: data.get(name) if isinstance(data.get(name), dict) else {} for name in SECTIONS}

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
