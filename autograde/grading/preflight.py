"""Preflight: every collected submission is checked before an engine grades it.

Plain functions, independent of the grading engine. ``cycle.autograde`` calls
:func:`check_submission` for each learner: a submission that cannot be graded
(no notebook of the module's name, a file that is not a notebook, one far too
large) is *rejected* with the reason in words and scored 0; an accepted one
goes to the engine with notes for the trainer (late, not on the roster, cells
deleted or edited, submitted more than once, ...).

The same module holds what every engine must do to a learner's notebook, so
that no engine can be fooled differently (``autograde/grading/nbhooks.py`` wires them
into nbgrader's autograde as preprocessors):

* :func:`normalize` — rebuild the notebook from the module's released notebook,
  taking from the submission only what a learner may change (the text of answer
  and reflection cells). Deleted, duplicated, reordered, retyped or tampered
  cells and cells the learner added cannot change what runs or how it is scored.
* :func:`check_scores` — a test cell that ends with an expression must end with
  a number within its points; anything else (99 for 3 points, a negative
  number, no result at all, text) scores 0, instead of nbgrader's full credit
  or abort of the whole notebook.
* :func:`make_safe` — the graded notebook keeps only inert output (plain text
  and widget references) and learners' Markdown cannot carry HTML or links, so
  nothing a learner wrote runs in the trainer's browser (formgrader) or in
  feedback.
* :func:`explain` — after grading: what in the graded notebook a trainer should
  know (a test that scored 0 and why, a cell stopped at the time limit, stderr).
"""

from __future__ import annotations

import ast
import copy
import json
import math
import os
import re
import stat
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from autograde import clock
from autograde.limits import MAX_ANSWERS_BYTES, MAX_SUBMISSION_BYTES, MAX_SUBMISSION_FILES, MiB
from curriculum.errors import HcwhError

MAX_NOTEBOOK_BYTES = 16 * MiB  # the released notebook is about 70 KB; a learner cannot grow it much by clicking
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SAFE_MIME = frozenset({"text/plain", WIDGET_VIEW})
INVALID_SCORE = "InvalidScore"
_MODEL_ID = re.compile(r"^[0-9a-f]{32}$")
_TIMEOUT_ERRORS = {"CellTimeoutError", "KeyboardInterrupt", "TimeoutError"}
MAX_NOTES = 8


class NothingReleased(HcwhError, FileNotFoundError):
    """No released notebook of a module to grade against: the module was never released."""


class Rejected(Exception):
    """The submission cannot be graded; ``str(exc)`` says why, in words."""


# -- small helpers over raw notebook JSON ---------------------------------------------


def _nbg(cell: Any) -> dict:
    if not isinstance(cell, dict):
        return {}
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def grade_id(cell: Any) -> str | None:
    gid = _nbg(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def is_grade(cell: Any) -> bool:
    return bool(_nbg(cell).get("grade"))


def is_solution(cell: Any) -> bool:
    return bool(_nbg(cell).get("solution"))


def source_text(cell: Any) -> str:
    src = cell.get("source") if isinstance(cell, dict) else None
    if isinstance(src, list) and all(isinstance(x, str) for x in src):
        return "".join(src)
    return src if isinstance(src, str) else ""


def printable(text: str, limit: int = 160) -> str:
    """Learner-controlled text made safe for the trainer's terminal: one line, no control characters."""
    text = " ".join(str(text).split())
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} bytes"


# -- reading a submitted notebook ---------------------------------------------------------


def read_notebook(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> dict:
    """The notebook at ``path`` as raw JSON (a dict), or :class:`Rejected` saying why not."""
    st = path.lstat()
    if not stat.S_ISREG(st.st_mode):
        raise Rejected(f"{path.name} is not a regular file")
    if st.st_size > limit:
        raise Rejected(f"{path.name} is {_size(st.st_size)}, over the {_size(limit)} limit "
                       "(it holds far more saved output than the module makes); the learner must submit again")
    data = path.read_bytes()
    if not data.strip():
        raise Rejected(f"NotJSONError: Notebook does not appear to be JSON: {path.name} is empty; "
                       "the learner must submit again")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(f"NotJSONError: Notebook does not appear to be JSON: {path.name} is not text "
                       f"(byte {exc.start}); the learner must submit again") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string"):  # runs off the end
            why = (f"{path.name} stops after {_size(len(data))}, in the middle of the notebook "
                   "(an interrupted save or upload?)")
        else:
            why = f"{path.name} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        raise Rejected(f"NotJSONError: Notebook does not appear to be JSON: {why}; the learner must submit again") from None
    problem = _structure_problem(raw)
    if problem:
        raise Rejected(f"{path.name} is not a Jupyter notebook as the module released it: {problem}; "
                       "the learner must submit again")
    return raw


def _structure_problem(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return f"the file holds a JSON {type(raw).__name__}, not a notebook"
    if raw.get("nbformat") != 4:
        return f"notebook format {printable(raw.get('nbformat'), 20)!s}, not 4"
    cells = raw.get("cells")
    if not isinstance(cells, list):
        return "it has no list of cells"
    for n, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            return f"cell {n + 1} is not a code, Markdown or raw cell"
        if not isinstance(cell.get("metadata", {}), dict):
            return f"cell {n + 1} has broken metadata"
    return None


# -- normalize: what runs is the module's notebook, with the learner's answers ------------


@dataclass
class Changes:
    """How a submitted notebook differs from the released one (grade ids)."""

    deleted: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    retyped: list[str] = field(default_factory=list)
    locked_edited: list[str] = field(default_factory=list)
    metadata_changed: list[str] = field(default_factory=list)
    code_changed: list[str] = field(default_factory=list)  # answer cells holding code the learner typed
    added: int = 0
    reordered: bool = False
    typed_code_ran: bool = False  # Settings.run_typed_code: only when testing the sandbox

    def notes(self, kinds: dict[str, str]) -> list[str]:
        def named(ids: list[str]) -> str:
            shown = [f"{i} ({kinds[i]})" if i in kinds else i for i in ids[:4]]
            return ", ".join(shown) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")

        out = []
        if self.deleted:
            out.append(f"cell(s) deleted, put back from the module: {named(self.deleted)}")
        if self.duplicated:
            out.append(f"cell(s) duplicated, the last copy used: {named(self.duplicated)}")
        if self.reordered:
            out.append("cells moved, put back in the module's order")
        if self.retyped:
            out.append(f"cell type changed, put back: {named(self.retyped)}")
        if self.locked_edited:
            out.append(f"locked cell(s) edited, the module's own used: {named(self.locked_edited)}")
        if self.metadata_changed:
            out.append(f"grading metadata (points, grade, locked) changed, put back: {named(self.metadata_changed)}")
        if self.added:
            out.append(f"{self.added} cell(s) added by the learner: dropped, not run, not graded")
        if self.code_changed and self.typed_code_ran:
            out.append(f"answer cell(s) hold code the learner typed (learners never need to): "
                       f"{named(self.code_changed)}; RUN, as run_typed_code asks (a sandbox test setting)")
        elif self.code_changed:
            out.append(f"answer cell(s) hold code the learner typed (learners never need to): "
                       f"{named(self.code_changed)}; not run: the module's own code ran, and only "
                       "the answers clicked (answers.json) and the reflections' words were graded")
        return out


_GRADING_KEYS = ("grade", "solution", "locked", "task", "points", "grade_id")


def cell_kinds(reference: dict) -> dict[str, str]:
    """grade id -> what the cell is, in words (for the trainer's notes)."""
    kinds = {}
    for cell in reference["cells"]:
        gid = grade_id(cell)
        if gid is None:
            continue
        if is_grade(cell) and is_solution(cell):
            kinds[gid] = "a reflection"
        elif is_grade(cell):
            kinds[gid] = "a test"
        elif is_solution(cell):
            kinds[gid] = "an answer"
    return kinds


def normalize(submitted: dict, reference: dict, keep_typed_code: bool = False) -> tuple[dict, Changes]:
    """The module's released notebook, in its own order, types and grading metadata, with
    the learner's words in the only cells a learner writes in: the reflections (Markdown
    solution cells). **Every code cell is the module's own**: code a learner typed into an
    answer cell is noted and not run (what a learner answers is in ``answers.json``, by
    clicking), so an instructor's source notebook submitted earns nothing from its
    solution code either. Missing cells come back as released (a deleted reflection is
    "no response"); of duplicates the last copy counts (as in nbgrader's DeduplicateIds);
    cells the learner added are dropped. Pure: returns a new notebook (raw JSON) and what
    changed. ``keep_typed_code`` runs typed code after all: only for testing the sandbox
    with hostile code (``Settings.run_typed_code``), never for grading learners."""
    ch = Changes(typed_code_ran=keep_typed_code)
    ref_ids = {grade_id(c) for c in reference["cells"]} - {None}
    found: dict[str, list[tuple[int, dict]]] = {}
    for pos, cell in enumerate(submitted.get("cells") or []):
        gid = grade_id(cell)
        if gid in ref_ids:
            found.setdefault(gid, []).append((pos, cell))
        else:
            ch.added += 1
    cells, positions = [], []
    for ref in reference["cells"]:
        new = copy.deepcopy(ref)
        new.pop("attachments", None)
        new["source"] = source_text(ref)  # one string, as nbformat holds it in memory
        gid = grade_id(ref)
        if gid is None:
            cells.append(new)
            continue
        copies = found.get(gid)
        if not copies:
            ch.deleted.append(gid)
            cells.append(new)
            continue
        if len(copies) > 1:
            ch.duplicated.append(gid)
        pos, cell = copies[-1]
        positions.append(pos)
        text = source_text(cell)
        if cell.get("cell_type") != ref["cell_type"]:
            ch.retyped.append(f"{gid} ({cell.get('cell_type')} → {ref['cell_type']})")
        sub_nbg, ref_nbg = _nbg(cell), _nbg(ref)
        if any(_norm(sub_nbg.get(k)) != _norm(ref_nbg.get(k)) for k in _GRADING_KEYS):
            ch.metadata_changed.append(gid)
        if is_solution(ref) and ref["cell_type"] == "code":
            if text != source_text(ref):
                ch.code_changed.append(gid)  # only clicks count: the module's own code runs
                if keep_typed_code:
                    new["source"] = text
        elif is_solution(ref):
            new["source"] = text  # a reflection's words: the only text taken from the submission
        elif text != source_text(ref):
            ch.locked_edited.append(gid)
        cells.append(new)
    ch.reordered = positions != sorted(positions)
    out = {k: copy.deepcopy(v) for k, v in reference.items() if k != "cells"}
    out["cells"] = cells
    return out, ch


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


# -- scores: a test that ends with an expression must end with a number in range --------


def _ends_with_expression(source: str) -> bool:
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return False
    return bool(body) and isinstance(body[-1], ast.Expr)


def score_problem(cell: dict) -> str | None:
    """Why an executed test cell's result is not a valid score (None if it is, or if the
    cell scores by nbgrader's other rules: an error or stderr means 0; a test that does
    not end with an expression earns its points when it runs without error)."""
    if not is_grade(cell) or is_solution(cell) or cell.get("cell_type") != "code":
        return None
    outputs = cell.get("outputs") or []
    if any(o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr")
           for o in outputs):
        return None  # nbgrader scores it 0
    if not _ends_with_expression(source_text(cell)):
        return None
    points = float(_nbg(cell).get("points") or 0.0)
    changed = "; code in an answer cell probably changed the scoring"
    results = [o for o in outputs if o.get("output_type") == "execute_result"]
    if not results:
        if not outputs and cell.get("execution_count") is None:
            return "no result reached the grader (the notebook's output was lost, e.g. after a flood of output)"
        return f"it gave no score (a number from 0 to {points:g} was expected){changed}"
    text = (results[-1].get("data") or {}).get("text/plain")
    if isinstance(text, list):
        text = "".join(text)
    try:
        value = float(text)
    except (TypeError, ValueError):
        return f"it ended with {printable(repr(text), 40)}, not a number from 0 to {points:g}{changed}"
    if not math.isfinite(value) or not 0.0 <= value <= points:
        return f"it ended with {printable(text, 40)}, outside 0 to {points:g}{changed}"
    return None


def check_scores(nb: dict) -> list[str]:
    """Make every test cell whose result is not a valid score score 0, by replacing its
    outputs with an ``InvalidScore`` error (nbgrader scores a cell with an error 0).
    Run after execution, before the scores are saved. Returns a note per cell."""
    notes = []
    for cell in nb.get("cells", []):
        why = score_problem(cell)
        if why is None:
            continue
        kept = [o for o in cell.get("outputs") or [] if o.get("output_type") == "stream"]
        kept.append({"output_type": "error", "ename": INVALID_SCORE, "evalue": f"scored 0: {why}",
                     "traceback": [f"{INVALID_SCORE}: scored 0: {why}"]})
        cell["outputs"] = kept
        notes.append(f"test {grade_id(cell)} scored 0: {why}")
    return notes


# -- safe to show: no learner HTML or script reaches a browser -----------------------------


def _safe_widget_view(value: Any) -> bool:
    return (isinstance(value, dict) and set(value) <= {"model_id", "version_major", "version_minor"}
            and isinstance(value.get("model_id"), str) and bool(_MODEL_ID.match(value["model_id"]))
            and all(isinstance(value.get(k, 0), int) for k in ("version_major", "version_minor")))


def literal_markdown(text: str) -> str:
    """Learner text as Markdown that shows exactly those characters and nothing else: one
    fenced code block whose fence is longer than any run of backticks in the text, so the
    text cannot close it. Inside it Markdown makes no HTML, no link (no autolinked bare URL
    either), no image, and MathJax leaves it alone (it skips ``<pre>``/``<code>``), so a
    ``$\\href{...}{...}$`` stays text. Formgrader and feedback show it as typed."""
    runs = [len(m) for m in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    body = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    return f"{fence}\n{body}\n{fence}"


def _unchanged(cell: dict) -> bool:
    """The cell is exactly as the module released it (nbgrader's checksum): its words are
    the module's, not the learner's (and nbgrader scores an unchanged answer "no response")."""
    from nbformat import from_dict
    from nbgrader.utils import compute_checksum

    want = _nbg(cell).get("checksum")
    try:
        node = from_dict(copy.deepcopy(cell))
        node.source = source_text(cell)  # one string, as nbformat holds it in memory
        return bool(want) and compute_checksum(node) == want
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


def make_safe(nb: dict) -> int:
    """Strip from an executed notebook everything a browser could run: outputs keep only
    plain text and widget references (well-formed ones), learners' Markdown answers
    become literal text (:func:`literal_markdown`), raw cells emptied, attachments and saved widget state dropped.
    Scores are untouched (a test's result is its plain text). Returns what was removed."""
    removed = 0
    meta = nb.get("metadata")
    if isinstance(meta, dict) and meta.pop("widgets", None) is not None:
        removed += 1
    for cell in nb.get("cells", []):
        if cell.pop("attachments", None):
            removed += 1
        kind = cell.get("cell_type")
        if kind == "markdown" and is_solution(cell):
            if not _unchanged(cell):  # the learner's words: shown as literal text
                cell["source"] = literal_markdown(source_text(cell))
                removed += 1
        elif kind == "raw" and source_text(cell):
            cell["source"] = ""
            removed += 1
        elif kind == "code":
            for out in cell.get("outputs") or []:
                if out.get("output_type") not in ("display_data", "execute_result", "update_display_data"):
                    continue
                data = out.get("data") or {}
                keep = {k: v for k, v in data.items()
                        if k == "text/plain" or (k == WIDGET_VIEW and _safe_widget_view(v))}
                removed += len(data) - len(keep)
                out["data"] = keep
                if out.get("metadata"):
                    out["metadata"] = {}
    return removed


# -- explain: what a trainer should know about a graded notebook ----------------------------


def _first_line(text: Any) -> str:
    if isinstance(text, list):
        text = "".join(str(t) for t in text)
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    return printable(lines[0], 100) if lines else ""


def explain(nb: dict, timeout: int | None = None) -> list[str]:
    """Notes on a graded notebook: tests that scored 0 and why, cells stopped at the
    time limit or by an error, output written to stderr, output dropped at the cap.
    Cells with the same story share one note."""
    grouped: dict[tuple[bool, str], list[str]] = {}
    capped = False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        outputs = cell.get("outputs") or []
        capped = capped or any("output limit reached" in str(o.get("text", "")) for o in outputs
                               if o.get("output_type") == "stream")
        errors = [o for o in outputs if o.get("output_type") == "error"]
        stderr = [o for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
        test = is_grade(cell) and not is_solution(cell)
        if errors:
            ename, evalue = printable(errors[0].get("ename", "Error"), 40), printable(errors[0].get("evalue", ""), 240)
            if ename == INVALID_SCORE:
                what = evalue
            elif ename in _TIMEOUT_ERRORS:
                what = f"ran past {'the ' + str(timeout) + ' s' if timeout else 'its'} time limit and was stopped"
            else:
                what = f"stopped with {ename}" + (f": {evalue}" if evalue else "")
        elif stderr:
            what = f"wrote to stderr ({_first_line(stderr[0].get('text', ''))})"
        else:
            continue
        if test and not what.startswith("scored 0"):
            what = f"scored 0: it {what}"
        grouped.setdefault((test, what), []).append(grade_id(cell) or "(a cell the learner added)")
    notes = []
    for (test, what), ids in grouped.items():
        names = ", ".join(ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
        notes.append(f"{'test' if test else 'cell'}{'s' if len(ids) > 1 else ''} {names}: {what}")
    if capped:
        notes.append("printed more output than the grader keeps; the rest was dropped")
    return notes


# -- the submission as a whole ---------------------------------------------------------------


@dataclass
class Verdict:
    module_id: str
    student_id: str
    accepted: bool
    reason: str | None = None  # why it was rejected
    notes: list[str] = field(default_factory=list)
    submitted_at: datetime | None = None  # aware, UTC
    late: bool = False
    on_roster: bool | None = None  # None: no roster to judge by


@dataclass
class Context:
    """What preflight judges by, read once per run."""

    course_dir: Path
    reference_dirs: list[Path]
    timezone: str
    learners: dict[str, Any]  # employee id -> roster.Learner
    roster: Any  # roster.RosterData: its ``due`` is the learner's due date
    submissions_made: Counter  # (student, module) -> submissions seen in the exchange
    typed_code_runs: bool = False  # Settings.run_typed_code (sandbox tests only)
    _references: dict[str, dict[str, dict]] = field(default_factory=dict)

    def references(self, module_id: str) -> dict[str, dict]:
        """notebook name -> the released notebook (raw JSON), for ``module_id``."""
        if module_id not in self._references:
            for folder in self.reference_dirs:
                paths = sorted((folder / module_id).glob("*.ipynb"))
                if paths:
                    self._references[module_id] = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in paths}
                    break
            else:
                raise NothingReleased(f"no released notebook of {module_id} in "
                                        f"{' or '.join(str(d) for d in self.reference_dirs)}: run 'hcwh release'")
        return self._references[module_id]


def context(s) -> Context:
    """The preflight context for a course (``s``: Settings)."""
    from autograde import roster

    data = roster.load(s)
    made: Counter = Counter()
    inbound = s.exchange_dir / s.course_id / "inbound"
    if inbound.is_dir():
        for entry in inbound.iterdir():
            parts = entry.name.split("+")
            if len(parts) >= 3:
                made[parts[0], parts[1]] += 1
    return Context(course_dir=s.course_dir, reference_dirs=reference_dirs(s), timezone=s.timezone,
                   learners=dict(data.learners), roster=data, submissions_made=made,
                   typed_code_runs=s.run_typed_code)


def reference_dirs(s) -> list[Path]:
    """Where the module's released notebooks are: the course's release folder (made by
    ``hcwh release``), else the committed ``release/``."""
    return [s.course_dir / "release", s.release_dir]


def submission_time(folder: Path) -> datetime | None:
    from nbgrader.utils import parse_utc

    try:
        when = parse_utc((folder / "timestamp.txt").read_text(encoding="utf-8").strip())
    except (OSError, ValueError, OverflowError):
        return None
    return when.replace(tzinfo=ZoneInfo("UTC")) if when is not None and when.tzinfo is None else when


def check_submission(ctx: Context, module_id: str, student_id: str) -> Verdict:
    """Judge ``submitted/<student>/<module>/`` without changing it: accepted (with notes) or rejected."""
    folder = ctx.course_dir / "submitted" / student_id / module_id
    v = Verdict(module_id, student_id, accepted=False)
    v.submitted_at = submission_time(folder)
    _roster_notes(ctx, v)
    made = ctx.submissions_made.get((student_id, module_id), 0)
    if made > 1:
        when = f" ({_local(v.submitted_at, ctx.timezone)})" if v.submitted_at else ""
        v.notes.append(f"submitted {made} times; the last one{when} is graded")
    try:
        references = ctx.references(module_id)
        if not folder.is_dir():
            raise Rejected("the submission folder is missing")
        notebooks = {p.stem: p for p in folder.glob("*.ipynb")}
        missing = [name for name in references if name not in notebooks]
        extra = sorted(f"{n}.ipynb" for n in notebooks if n not in references)
        if missing:
            found = f" (it holds {', '.join(printable(x, 60) for x in extra)})" if extra else ""
            raise Rejected(f"no {missing[0]}.ipynb in the submission{found}: the learner must submit "
                           "the module's own notebook, under its own name")
        if extra:
            v.notes.append(f"extra notebook(s) not graded: {', '.join(printable(x, 60) for x in extra)}")
        raws = {name: read_notebook(notebooks[name]) for name in references}
        _check_answers_file(folder)
        _check_files(folder)
        for name, reference in references.items():
            _, changes = normalize(raws[name], reference, keep_typed_code=ctx.typed_code_runs)
            v.notes += changes.notes(cell_kinds(reference))
        if not (folder / "answers.json").exists():
            v.notes.append("no answers.json: nothing was answered by clicking")
        else:
            try:
                json.loads((folder / "answers.json").read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                v.notes.append("answers.json is damaged: scored as no answers")
    except Rejected as exc:
        v.reason = str(exc)
        return v
    v.accepted = True
    return v


def _check_answers_file(folder: Path) -> None:
    """``answers.json`` must be the learner's own file, in the submission: not a link to
    another file (someone else's answers, or anything outside the submission) and not a
    special file. Such a file is refused before any engine reads or copies it."""
    path = folder / "answers.json"
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise Rejected(f"answers.json is a link to {printable(os.readlink(path), 80)}, not the learner's own "
                       "answers: it was not read and earns nothing; the learner must submit again")
    if not stat.S_ISREG(st.st_mode):
        raise Rejected("answers.json is not a regular file (a folder, fifo or device), not the learner's own "
                       "answers: it was not read and earns nothing; the learner must submit again")
    if st.st_nlink > 1:
        raise Rejected(f"answers.json is a hard link shared with {st.st_nlink - 1} other file(s), not the "
                       "learner's own answers: it was not read and earns nothing; the learner must submit again")
    if st.st_size > MAX_ANSWERS_BYTES:
        raise Rejected(f"answers.json is {_size(st.st_size)}, more than clicking can write (at most "
                       f"{_size(MAX_ANSWERS_BYTES)}): it was not read and earns nothing; the learner must submit again")


def _check_files(folder: Path) -> None:
    total, count = 0, 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):  # nbgrader would copy what it points at, as the trainer
                raise Rejected(f"the submission holds a link, {printable(os.path.relpath(full, folder), 60)} -> "
                               f"{printable(os.readlink(full), 80)}: links are not followed; the learner must "
                               "submit again")
        for name in filenames:
            count += 1
            total += os.lstat(os.path.join(dirpath, name)).st_size
    if count > MAX_SUBMISSION_FILES or total > MAX_SUBMISSION_BYTES:
        raise Rejected(f"the submission holds {count} file(s), {_size(total)} in all, over the limit "
                       f"({MAX_SUBMISSION_FILES} files, {_size(MAX_SUBMISSION_BYTES)}); the learner must submit again")


def _local(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _roster_notes(ctx: Context, v: Verdict) -> None:
    if not ctx.learners:
        return  # no roster imported: nothing to judge by
    learner = ctx.learners.get(v.student_id)
    v.on_roster = learner is not None
    if learner is None:
        v.notes.append("not on the roster: graded, but HR's report shows them only once they are "
                       "imported (hcwh roster import)")
        return
    plan = ctx.roster.due(v.student_id, v.module_id)
    if plan is None or v.submitted_at is None:
        return
    day = v.submitted_at.astimezone(ZoneInfo(ctx.timezone)).date()
    due = datetime.fromisoformat(plan.date).date()
    if day > due:
        v.late = True
        days = (day - due).days
        whose = {"cohort": f"for cohort {learner.cohort}", "rule": f"by the {learner.department} rule",
                 "extension": "by an extension"}[plan.source]
        v.notes.append(f"late: submitted {_local(v.submitted_at, ctx.timezone)}, due {plan.date} {whose} "
                       f"({days} day{'s' if days != 1 else ''} late); graded normally")
        st = clock.status()
        if not st.synced:
            v.notes.append(f"warning: {st.warning()}")
