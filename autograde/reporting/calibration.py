"""Grader calibration's figures: do two trainers agree on a reflection? (README, *Grader calibration*)

Pure rules over the scores kept by ``autograde/record/calibration.py``:

* ``alpha``: Krippendorff's alpha, interval level (the ``krippendorff`` package), over a
  graders × reflections matrix with gaps. 1 is perfect agreement, 0 is no better than chance;
  ``None`` when it cannot be computed (fewer than two reflections scored by two graders, or every
  score the same, so there is no variation to agree on).
* ``final_score``: the rule that gives a double-graded reflection its gradebook score.
* ``agreement``: the table for a trainer report, one row per rubric criterion and one "overall"
  row per module; ``disagreements``: the reflections graders disagree on most, for a calibration
  meeting. Neither holds a reflection's words or a grader's name: the words are read only in the
  trainers' screen, and the meeting is about the answer and the rubric, not about who scored it.

``agreement_table(s, assignment)`` and ``disagreement_table(s, assignment)`` read the record and the
modules' rubrics: the plain functions a trainer report (``hcwh insight``) or ``hcwh calibrate report`` calls.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from autograde.config import Settings
from autograde.record import calibration as store

THIRD_GRADER_ABOVE = 1.0  # points: two graders' totals further apart than this call for a third grader
STEP = 0.5                # every score, per criterion and final, is a multiple of half a point


def round_up_to_step(x: float) -> float:
    """Up to the next half point: 0.75 -> 1.0, 1.25 -> 1.5; a value already on the grid stays."""
    return math.ceil(round(x / STEP, 9)) * STEP


@dataclass(frozen=True)
class Outcome:
    score: float | None  # None: not final yet
    rule: str            # the rule applied, or what is still needed, in words


def final_score(totals: list[float]) -> Outcome:
    """The gradebook score of a reflection from its graders' totals (each grader's criteria summed).

    * one grader: not final (waiting for a second);
    * two graders at most ``THIRD_GRADER_ABOVE`` points apart: their mean, rounded up to the next
      half point (a tie goes to the learner);
    * two graders further apart: not final until a third trainer scores it;
    * three or more: the median, rounded up to the next half point.
    """
    shown = ", ".join(f"{t:g}" for t in totals)
    if len(totals) < 2:
        return Outcome(None, "waiting for a second grader")
    if len(totals) == 2:
        gap = abs(totals[0] - totals[1])
        if gap > THIRD_GRADER_ABOVE:
            return Outcome(None, f"needs a third grader: the totals ({shown}) are {gap:g} points apart, "
                                 f"more than {THIRD_GRADER_ABOVE:g}")
        return Outcome(round_up_to_step(sum(totals) / 2), f"mean of {shown}, rounded up to the next half point")
    ordered = sorted(totals)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return Outcome(round_up_to_step(median), f"median of {shown}, rounded up to the next half point")


def alpha(matrix: list[list[float | None]]) -> float | None:
    """Krippendorff's alpha, interval level; ``matrix[grader][unit]``, ``None`` where not scored."""
    import krippendorff
    import numpy as np

    data = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    pairable = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
    if pairable.shape[1] < 2:
        return None
    values = pairable[~np.isnan(pairable)]
    if np.all(values == values[0]):
        return None
    return float(krippendorff.alpha(reliability_data=pairable, level_of_measurement="interval"))


@dataclass(frozen=True)
class Graded:
    """One sample with every grader's complete scores: ``points[grader] = [score per criterion]``."""
    sample: int
    assignment: str
    cell: str
    points: dict[str, list[float]]

    @property
    def totals(self) -> list[float]:
        return [sum(v) for _, v in sorted(self.points.items())]


def graded(samples: list[store.Sample], scores: list[store.Score], criteria: dict[str, int]) -> list[Graded]:
    """Each sample with the graders who scored all of its criteria (``criteria[cell]``: how many)."""
    by: dict[int, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for x in scores:
        by[x.sample][x.grader][x.criterion] = x.score
    out = []
    for x in samples:
        n = criteria.get(x.cell, 0)
        complete = {g: [c[i] for i in range(n)] for g, c in by[x.id].items() if n and all(i in c for i in range(n))}
        out.append(Graded(x.id, x.assignment, x.cell, complete))
    return out


def _figures(units: list[tuple[Graded, int]]) -> dict:
    """alpha and the mean gap over ``units`` (a sample and a criterion's place in its rubric)."""
    graders = sorted({g for item, _ in units for g in item.points})
    columns = [[item.points[g][n] if g in item.points else None for g in graders] for item, n in units]
    matrix = [[column[k] for column in columns] for k in range(len(graders))]
    return {"graders": len(graders), "alpha": alpha(matrix), "mean_difference": _mean_gap(columns)}


def agreement(items: list[Graded], rubrics: dict[str, list[tuple[str, float]]]) -> list[dict]:
    """One row per (module, reflection, criterion), then one "overall" row per module (every criterion of
    every reflection pooled, each one unit). ``rubrics[cell] = [(criterion text, points), ...]``.
    ``reflections``: how many were scored by two graders or more; ``mean_difference``: the mean of
    (highest - lowest score) over those."""
    rows = []
    for assignment in sorted({i.assignment for i in items}):
        in_module = [i for i in items if i.assignment == assignment]
        pooled: list[tuple[Graded, int]] = []
        for cell in sorted({i.cell for i in in_module}):
            of_cell = [i for i in in_module if i.cell == cell]
            double = sum(1 for i in of_cell if len(i.points) >= 2)
            for n, (text, points) in enumerate(rubrics[cell]):
                units = [(i, n) for i in of_cell]
                pooled += units
                rows.append({"module": assignment, "reflection": cell.removesuffix("-answer"), "criterion": str(n + 1),
                             "text": text, "points": points, "reflections": double, **_figures(units)})
        rows.append({"module": assignment, "reflection": "all", "criterion": "overall", "text": "every criterion",
                     "points": None, "reflections": sum(1 for i in in_module if len(i.points) >= 2),
                     **_figures(pooled)})
    return rows


def _mean_gap(columns: list[list[float | None]]) -> float | None:
    """The mean, over units scored by two or more graders, of the highest score minus the lowest."""
    gaps = [max(v) - min(v) for v in ([x for x in c if x is not None] for c in columns) if len(v) >= 2]
    return sum(gaps) / len(gaps) if gaps else None


def disagreements(items: list[Graded], top: int = 5) -> list[dict]:
    """The double-graded reflections with the widest disagreement: the sum over criteria of (highest −
    lowest score), then the gap between totals; graders are not named."""
    rows = []
    for i in items:
        if len(i.points) < 2:
            continue
        per = list(zip(*i.points.values()))
        spread = sum(max(c) - min(c) for c in per)
        rows.append({"sample": i.sample, "module": i.assignment, "reflection": i.cell.removesuffix("-answer"),
                     "criteria_spread": spread, "total_gap": max(i.totals) - min(i.totals),
                     "totals": sorted(i.totals)})
    rows.sort(key=lambda r: (-r["criteria_spread"], -r["total_gap"], r["sample"]))
    return [r for r in rows if r["criteria_spread"] > 0][:top]


def rubrics() -> dict[str, list[tuple[str, float]]]:
    """Every reflection's graded cell name -> its rubric, from the content files."""
    from curriculum.builder import load_modules

    return {f"{r.id}-answer": [(c.text, float(c.points)) for c in r.rubric] for m in load_modules() for r in m.reflections}


def load(s: Settings, assignment: str | None = None) -> tuple[list[Graded], dict[str, list[tuple[str, float]]]]:
    rubric = rubrics()
    samples = store.samples(s, assignment)
    missing = sorted({x.cell for x in samples} - rubric.keys())
    if missing:
        raise store.CalibrationError(f"sampled cells {', '.join(missing)} have no rubric in curriculum/modules/ "
                                     "(a reflection renamed or removed since it was sampled)")
    return graded(samples, store.scores(s, assignment), {c: len(v) for c, v in rubric.items()}), rubric


def agreement_table(s: Settings, assignment: str | None = None) -> list[dict]:
    """The agreement table for a trainer report: see ``agreement``."""
    items, rubric = load(s, assignment)
    return agreement(items, rubric)


def disagreement_table(s: Settings, assignment: str | None = None, top: int = 5) -> list[dict]:
    """The calibration meeting's list for a trainer report: see ``disagreements``."""
    return disagreements(load(s, assignment)[0], top)


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


@dataclass(frozen=True)
class Written:
    folder: Path
    lines: list[str]


def lines(table: list[dict], worst: list[dict]) -> list[str]:
    """The table and the disagreements as plain text lines."""
    out = [("Grader agreement (Krippendorff's alpha, interval; 1 = full agreement, 0 = no better than chance, "
            "- = too few double-graded reflections or no variation)"),
           f"{'module':<22} {'reflection':<22} {'criterion':<9} {'double':>6} {'alpha':>6} {'mean gap':>8}"]
    for r in table:
        out.append(f"{r['module']:<22} {r['reflection']:<22} {r['criterion']:<9} {r['reflections']:>6} "
                   f"{_fmt(r['alpha']):>6} {_fmt(r['mean_difference']):>8}")
    out.append("Where graders disagree most (read each in the trainer console's Grader calibration, sample number):")
    out += [f"  sample {w['sample']}: {w['module']} {w['reflection']}: criteria apart by {w['criteria_spread']:g} "
            f"points in all, totals {', '.join(f'{t:g}' for t in w['totals'])}" for w in worst] or ["  none"]
    return out


def write_report(s: Settings, assignment: str | None = None, top: int = 5, now=None) -> Written:
    """``hcwh calibrate report``: the agreement table and the disagreements as CSV in a new dated folder
    under the trainers' reports (``<state>/trainer-reports/calibration/``, 0700/0600: never HR's folder)."""
    import csv
    from datetime import datetime

    from autograde.private import create_private, private_dir

    table, worst = agreement_table(s, assignment), disagreement_table(s, assignment, top)
    now = now or datetime.now().astimezone()
    private_dir(s.trainer_reports_dir)
    folder = private_dir(private_dir(s.trainer_reports_dir / "calibration") / now.strftime("%Y-%m-%dT%H%M%S"),
                         exist_ok=False)
    for name, rows, fields in (
            ("agreement.csv", table, ["module", "reflection", "criterion", "text", "points", "reflections",
                                      "graders", "alpha", "mean_difference"]),
            ("disagreements.csv", [{**w, "totals": " ".join(f"{t:g}" for t in w["totals"])} for w in worst],
             ["sample", "module", "reflection", "criteria_spread", "total_gap", "totals"])):
        with create_private(folder / name) as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return Written(folder, lines(table, worst))
