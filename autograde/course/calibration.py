"""Grader calibration, the trainer's workflow (README, *Grader calibration*).

1. ``sample``: a trainer marks reflections for double grading, chosen at random with a seed
   (``hcwh calibrate sample MODULE --n N --seed S``) or one by hand (``mark``).
2. ``to_score`` / ``view`` / ``score``: in the trainer console's calibration screen each grader scores a
   sampled reflection criterion by criterion, seeing the learner's words and the rubric, never another
   grader's scores or name, nor the gradebook's score.
3. ``finalize``: each sample whose graders are done gets the final score by the stated rule
   (``reporting.calibration.final_score``), written to the gradebook with ``attribution.set_manual_score``
   (so attribution.db and the audit trail hold it) together with the sample's ``calibration_finals`` row.

The tables are in the record (``autograde/record/calibration.py``); the learner's words are read from
the submitted notebook when a grader opens a sample, and are stored nowhere else.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from autograde.config import Settings
from autograde.course import attribution
from autograde.course import nbgrader_api as course
from autograde.record import audit
from autograde.record import calibration as store
from autograde.record.calibration import CalibrationError
from autograde.reporting import calibration as rules
from curriculum.schema import Reflection


def reflection_of(cell: str) -> Reflection:
    from curriculum.builder import load_modules

    for m in load_modules():
        for r in m.reflections:
            if f"{r.id}-answer" == cell:
                return r
    raise CalibrationError(f"no module in curriculum/modules/ has the reflection cell {cell!r}")


def _written(s: Settings, module_id: str, student: str, notebook: str) -> set[str]:
    """The reflection cells of a submitted notebook that hold the learner's words (not left as released)."""
    import nbformat

    from curriculum.cells import REFLECTION_STUB, is_reflection

    path = s.course_dir / "submitted" / student / module_id / f"{notebook}.ipynb"
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return set()  # not there or unreadable: nothing a second grader could read
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if is_reflection(c) and c.source.strip() not in ("", REFLECTION_STUB)}


def candidates(s: Settings, module_id: str) -> list[tuple[str, str, str, str]]:
    """Every written reflection of every graded submission of ``module_id``: (assignment, student, notebook,
    cell). A reflection the learner never wrote is left out: there is nothing to grade twice."""
    from nbgrader.api import MissingEntry

    with course.gradebook(s) as gb:
        try:
            assignment = gb.find_assignment(module_id)
        except MissingEntry:
            raise CalibrationError(f"{module_id}: no such module in the gradebook (released modules: "
                                   f"{', '.join(a.name for a in gb.assignments) or 'none'})") from None
        cells = [(module_id, sub.student.id, nb.name, g.name) for sub in assignment.submissions
                 for nb in sub.notebooks for g in nb.grades if g.cell_type == "markdown"]
    written = {key: _written(s, module_id, *key) for key in {(c[1], c[2]) for c in cells}}
    return sorted(c for c in cells if c[3] in written[(c[1], c[2])])


def sample(s: Settings, module_id: str, n: int, seed: int, trainer: str) -> tuple[list[store.Sample], int]:
    """Mark ``n`` reflections of ``module_id`` not yet in the sample, chosen at random with ``seed``
    (the same seed on the same submissions picks the same ones). Returns (added, how many there were to choose from)."""
    if n < 1:
        raise CalibrationError(f"--n {n}: give how many reflections to sample, at least 1")
    taken = {(x.assignment, x.student, x.notebook, x.cell) for x in store.samples(s, module_id)}
    pool = [c for c in candidates(s, module_id) if c not in taken]
    if not pool:
        raise CalibrationError(f"{module_id}: no graded reflection is left to sample (collect and autograde "
                               "first; reflections already in the sample are not picked again)")
    chosen = sorted(random.Random(seed).sample(pool, min(n, len(pool))))
    return store.mark(s, chosen, trainer, f"random, seed {seed}"), len(pool)


def mark(s: Settings, module_id: str, student: str, reflection: str, trainer: str) -> store.Sample:
    """Mark one learner's reflection (its id, as in the module file) by hand."""
    cell = f"{reflection.removesuffix('-answer')}-answer"
    wanted = [c for c in candidates(s, module_id) if c[1] == student and c[3] == cell]
    if not wanted:
        raise CalibrationError(f"{module_id}: {student} has no graded reflection {reflection!r} with words in it")
    added = store.mark(s, wanted, trainer, "by hand")
    if not added:
        raise CalibrationError(f"{module_id}: {student}'s {reflection} is in the sample already")
    return added[0]


@dataclass(frozen=True)
class Progress:
    """Where one sample stands, for its graders' list and for ``finalize``."""
    sample: store.Sample
    graders: list[str]          # who scored every criterion
    outcome: rules.Outcome      # the rule's verdict on their totals
    final: store.Final | None


def progress(s: Settings, module_id: str | None = None) -> list[Progress]:
    items, _ = rules.load(s, module_id)
    finals = {f.sample: f for f in store.finals(s, module_id)}
    samples = {x.id: x for x in store.samples(s, module_id)}
    return [Progress(samples[i.sample], sorted(i.points), rules.final_score(i.totals), finals.get(i.sample))
            for i in items]


def to_score(s: Settings, trainer: str) -> list[store.Sample]:
    """The samples this trainer may score now: not final, not scored by them, and still needing a grader."""
    return [p.sample for p in progress(s) if p.final is None and trainer not in p.graders and p.outcome.score is None]


def scored_by(s: Settings, trainer: str) -> list[store.Sample]:
    return [p.sample for p in progress(s) if trainer in p.graders]


@dataclass(frozen=True)
class View:
    """What a grader sees of one sample: the learner's words, the prompt and rubric, and their own scores only."""
    sample: store.Sample
    reflection: Reflection
    text: str
    own: list[float] | None
    final: store.Final | None
    # once the final score is written, for the calibration meeting: each criterion's scores, lowest
    # first, without the graders' names; before that, nothing of anyone else's
    given: list[list[float]] | None = None


def view(s: Settings, sample_id: int, trainer: str) -> View:
    from autograde.course.cycle import reflection_text

    x = store.sample(s, sample_id)
    try:
        text = reflection_text(s, x.assignment, x.student, x.cell)
    except (OSError, KeyError) as exc:
        raise CalibrationError(f"sample {sample_id}: the submitted notebook of {x.student} for {x.assignment} "
                               f"cannot be read ({exc}); collect it again") from exc
    scores = [sc for sc in store.scores(s, x.assignment) if sc.sample == sample_id]
    own = {sc.criterion: sc.score for sc in scores if sc.grader == trainer}
    r = reflection_of(x.cell)
    final = next((f for f in store.finals(s, x.assignment) if f.sample == sample_id), None)
    given = None
    if final is not None:
        graders = set(final.graders.split(","))
        given = [sorted(sc.score for sc in scores if sc.criterion == n and sc.grader in graders)
                 for n in range(len(r.rubric))]
    return View(x, r, text, [own[i] for i in range(len(r.rubric))] if len(own) == len(r.rubric) else None, final,
                given)


def parse_points(sample_id: int, r: Reflection, values: list[str]) -> list[tuple[float, float]]:
    """The grader's answers, one per criterion, checked: a number from 0 to the criterion's points in half points."""
    if len(values) != len(r.rubric):
        raise CalibrationError(f"sample {sample_id}: give a score for each of the {len(r.rubric)} criteria "
                               f"({len(values)} given)")
    out = []
    for n, (value, c) in enumerate(zip(values, r.rubric), start=1):
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise CalibrationError(f"sample {sample_id}, criterion {n}: {value!r} is not a number") from None
        if not 0 <= x <= c.points or (x / rules.STEP) != int(x / rules.STEP):
            raise CalibrationError(f"sample {sample_id}, criterion {n}: {value} is not a score from 0 to "
                                   f"{c.points:g} in half points")
        out.append((x, float(c.points)))
    return out


def score(s: Settings, sample_id: int, trainer: str, values: list[str]) -> None:
    """One grader's scores for a sample, criterion by criterion."""
    x = store.sample(s, sample_id)
    points = parse_points(sample_id, reflection_of(x.cell), values)
    mine = next(p for p in progress(s, x.assignment) if p.sample.id == sample_id)
    if trainer not in mine.graders and mine.outcome.score is not None:
        raise CalibrationError(f"sample {sample_id}: it has its graders already; no further score is needed")
    store.put_scores(s, sample_id, trainer, points)


def finalize(s: Settings, module_id: str, by: str) -> list[str]:
    """Write the final score of every sample of ``module_id`` that the rule settles; one line per sample."""
    lines = []
    with course.gradebook(s) as gb:
        for p in progress(s, module_id):
            x = p.sample
            if p.final is not None:
                continue
            if p.outcome.score is None:
                lines.append(f"sample {x.id} ({x.student}, {x.cell.removesuffix('-answer')}): not final, "
                             f"{p.outcome.rule}")
                continue
            grade = gb.find_grade(x.cell, x.notebook, x.assignment, x.student)

            def write(grade=grade, p=p, x=x):
                attribution.set_manual_score(s, gb, grade, p.outcome.score, ", ".join(p.graders), via="calibration")
                audit.record(s, "calibration final", learner=x.student, sample=x.id, assignment=x.assignment,
                             cell=x.cell, score=p.outcome.score, rule=p.outcome.rule, graders=p.graders, by=by)

            store.put_final(s, x.id, p.outcome.score, p.outcome.rule, p.graders, by, write)
            lines.append(f"sample {x.id} ({x.student}, {x.cell.removesuffix('-answer')}): {p.outcome.score:g} "
                         f"written to the gradebook ({p.outcome.rule})")
    return lines or [f"{module_id}: no sample to finalize"]
