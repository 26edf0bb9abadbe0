"""Preflight's notebook rules, as nbgrader preprocessors (the nbgrader engine's adapters).

``settings.apply_nbgrader_config`` puts them in nbgrader's autograde, for ``hcwh``,
the demo and JupyterLab's formgrader alike:

* sanitize (before the kernel runs): ``ClearOutput``, **NormalizeSubmission**,
  then nbgrader's own ``DeduplicateIds``, ``OverwriteKernelspec``,
  ``OverwriteCells`` (restores locked cells and hidden tests from the gradebook),
  ``CheckCellMetadata``;
* autograde: ``(Sandboxed)Execute``, **SafeOutputs**, nbgrader's ``IgnorePattern``,
  ``ClearMetadataPreprocessor``, ``LimitOutput``, **CheckScores**, then
  ``SaveAutoGrades`` (writes the scores), ``AssignLatePenalties``, ``CheckCellMetadata``.

The rules themselves are plain functions in :mod:`autograde.preflight`; any other
engine applies the same ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearOutput, Execute, NbGraderPreprocessor, SaveAutoGrades
from traitlets import List, Unicode

from . import preflight


def _plain(nb) -> dict:
    return json.loads(json.dumps(nb))


class NormalizeSubmission(NbGraderPreprocessor):
    """The module's released notebook with the learner's answers (preflight.normalize)."""

    reference_dirs = List(Unicode(), [], help="folders holding <module>/<notebook>.ipynb as released").tag(config=True)

    def preprocess(self, nb, resources):
        assignment, notebook = resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"]
        for folder in self.reference_dirs:
            path = Path(folder) / assignment / f"{notebook}.ipynb"
            if path.is_file():
                break
        else:
            raise FileNotFoundError(f"no released {notebook}.ipynb of {assignment} in {', '.join(self.reference_dirs)}")
        reference = json.loads(path.read_text(encoding="utf-8"))
        out, changes = preflight.normalize(_plain(nb), reference)
        for note in changes.notes(preflight.cell_kinds(reference)):
            self.log.warning("%s", note)
        return nbformat.from_dict(out), resources


class SafeOutputs(NbGraderPreprocessor):
    """Nothing a browser could run stays in the graded notebook (preflight.make_safe)."""

    def preprocess(self, nb, resources):
        raw = _plain(nb)
        removed = preflight.make_safe(raw)
        if removed:
            self.log.info("Removed %d piece(s) of HTML, script or widget state from the graded notebook", removed)
        return nbformat.from_dict(raw), resources


class CheckScores(NbGraderPreprocessor):
    """A test's result must be a number within its points (preflight.check_scores)."""

    def preprocess(self, nb, resources):
        raw = _plain(nb)
        for note in preflight.check_scores(raw):
            self.log.warning("%s", note)
        return nbformat.from_dict(raw), resources


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def sanitize_preprocessors() -> list[str]:
    """nbgrader's sanitize preprocessors with NormalizeSubmission right after ClearOutput."""
    from nbgrader.converters import Autograde

    names = [_name(pp) if isinstance(pp, type) else pp for pp in Autograde.class_traits()["sanitize_preprocessors"].default()]
    at = names.index(_name(ClearOutput)) + 1 if _name(ClearOutput) in names else 0
    return [*names[:at], _name(NormalizeSubmission), *names[at:]]


def autograde_preprocessors(base: list[str] | None = None) -> list[str]:
    """``base`` (default: nbgrader's autograde preprocessors) with SafeOutputs right after
    the Execute step and CheckScores right before SaveAutoGrades."""
    if base is None:
        from nbgrader.converters import Autograde

        base = [_name(pp) if isinstance(pp, type) else pp for pp in Autograde.class_traits()["autograde_preprocessors"].default()]
    names = list(base)
    execute = [i for i, n in enumerate(names) if n == _name(Execute) or n.endswith("SandboxedExecute")]
    if not execute or _name(SaveAutoGrades) not in names:
        raise RuntimeError("nbgrader's autograde steps changed: autograde/nbhooks.py needs updating")
    names.insert(execute[0] + 1, _name(SafeOutputs))
    names.insert(names.index(_name(SaveAutoGrades)), _name(CheckScores))
    return names
