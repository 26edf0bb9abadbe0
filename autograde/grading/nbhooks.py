"""Preflight's notebook rules, as nbgrader preprocessors (the nbgrader engine's adapters).

``course.nbconfig.apply_nbgrader_config`` puts them in nbgrader's autograde, for ``hcwh``,
the demo and JupyterLab's formgrader alike:

* collect: **LinkKeepingCollect** (links in a submission stay links, for preflight to refuse);
* sanitize (before the kernel runs): ``ClearOutput``, **NormalizeSubmission** (every code
  cell the module's own; only the reflections' words from the learner),
  then nbgrader's own ``DeduplicateIds``, ``OverwriteKernelspec``,
  ``OverwriteCells`` (restores locked cells and hidden tests from the gradebook),
  ``CheckCellMetadata``;
* autograde: ``(Sandboxed)Execute``, **SafeOutputs**, nbgrader's ``IgnorePattern``,
  ``ClearMetadataPreprocessor``, ``LimitOutput``, **CheckScores**, then
  ``SaveAutoGrades`` (writes the scores), ``AssignLatePenalties``, ``CheckCellMetadata``.

The rules themselves are plain functions in :mod:`autograde.grading.preflight`; any other
engine applies the same ones.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.preprocessors import ClearOutput, Execute, NbGraderPreprocessor, SaveAutoGrades
from nbgrader.utils import ignore_patterns
from traitlets import Bool, List, Unicode

from autograde.grading import preflight
from curriculum.reflections import ReflectionsRefused, fill_folder


def _plain(nb) -> dict:
    return json.loads(json.dumps(nb))


class NormalizeSubmission(NbGraderPreprocessor):
    """The module's released notebook with the learner's answers (preflight.normalize)."""

    reference_dirs = List(Unicode(), [], help="folders holding <module>/<notebook>.ipynb as released").tag(config=True)
    keep_typed_code = Bool(False, help="run code a learner typed into answer cells: only for testing the "
                                       "sandbox with hostile code (Settings.run_typed_code)").tag(config=True)

    def preprocess(self, nb, resources):
        assignment, notebook = resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"]
        for folder in self.reference_dirs:
            path = Path(folder) / assignment / f"{notebook}.ipynb"
            if path.is_file():
                break
        else:
            raise FileNotFoundError(f"no released {notebook}.ipynb of {assignment} in {', '.join(self.reference_dirs)}")
        reference = json.loads(path.read_text(encoding="utf-8"))
        out, changes = preflight.normalize(_plain(nb), reference, keep_typed_code=self.keep_typed_code)
        for note in changes.notes(preflight.cell_kinds(reference)):
            self.log.warning("%s", note)
        return nbformat.from_dict(out), resources


class LinkKeepingCollect(ExchangeCollect):
    """nbgrader's collect, copying a link in a learner's submission as a link instead of
    copying what it points at (nbgrader's ``shutil.copytree`` follows links, as the
    trainer: a learner's ``answers.json`` linked to another learner's file would arrive
    as that learner's answers). Preflight then refuses the submission, saying so."""

    def do_copy(self, src, dest, log=None):
        if self.coursedir.groupshared:
            raise RuntimeError("CourseDirectory.groupshared is not supported by hcwh's collect")
        size = self.get_size(src)
        if size > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(f"Directory size is too big. Size is {size}, maximum size is "
                               f"{1000 * self.coursedir.max_dir_size}")
        shutil.copytree(src, dest, symlinks=True,
                        ignore=ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                               max_file_size=self.coursedir.max_file_size, log=self.log))


class ReflectionFillingSubmit(ExchangeSubmit):
    """nbgrader's shared-folder submit, with each copy it makes (the exchange's inbound one and
    the learner's cache) holding the reflections typed in the module page, from answers.json
    (``curriculum.reflections``); the learner's own folder is not changed. The hub exchange's
    submit does the same in ``autograde/exchange/client.py``."""

    def do_copy(self, src, dest, log=None):
        super().do_copy(src, dest, log=log)
        try:
            notes = fill_folder(dest)
        except ReflectionsRefused as exc:
            shutil.rmtree(dest, ignore_errors=True)  # nothing half-made is left to collect
            self.fail(f"Assignment {self.coursedir.assignment_id} not submitted: {exc}")
        for note in notes:
            self.log.warning("Reflection %s", note)


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
        raise RuntimeError("nbgrader's autograde steps changed: autograde/grading/nbhooks.py needs updating")
    names.insert(execute[0] + 1, _name(SafeOutputs))
    names.insert(names.index(_name(SaveAutoGrades)), _name(CheckScores))
    return names
