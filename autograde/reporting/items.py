"""Item analysis for autograded questions (issue 15, point 3): the statistics alone, pure.

``scores``: one row per learner, one column per question of one module, each a score between 0
and the question's points (``points``: question -> points). Per question:

* facility: the mean share of its points earned (0..1);
* discrimination: the point-biserial correlation (Pearson's r) between the question's score and
  the rest of the module (the learner's total minus this question), empty when either is constant;
* flags: ``nobody misses`` (facility 1), ``everybody misses`` (facility 0), ``negative
  discrimination`` (r < 0), and ``small cohort`` when fewer than :data:`MIN_LEARNERS` learners
  answered, so the figures mean little.

Not yet wired into a trainer report: reading the picks from answers.json is still to do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_LEARNERS = 20  # below this, facility and r swing with one learner's answer


def item_analysis(scores: pd.DataFrame, points: dict[str, float]) -> pd.DataFrame:
    """One row per question: question, learners, facility, discrimination, flags (a ``; `` list)."""
    missing = [q for q in scores.columns if q not in points or not points[q] > 0]
    if missing:
        raise ValueError(f"item analysis: no positive points for question(s) {missing}")
    values = scores.to_numpy(dtype=float)
    total = values.sum(axis=1)
    rows = []
    for j, question in enumerate(scores.columns):
        item, rest = values[:, j], total - values[:, j]
        facility = float(item.mean() / points[question]) if len(item) else float("nan")
        di, dr = item - item.mean(), rest - rest.mean()
        spread = float(np.sqrt((di ** 2).sum() * (dr ** 2).sum()))
        r = float((di * dr).sum() / spread) if spread > 0 else float("nan")
        flags = []
        if facility == 1.0:
            flags.append("nobody misses")
        if facility == 0.0:
            flags.append("everybody misses")
        if r < 0:
            flags.append("negative discrimination")
        if len(item) < MIN_LEARNERS:
            flags.append("small cohort")
        rows.append((question, len(item), facility, r, "; ".join(flags)))
    return pd.DataFrame(rows, columns=["question", "learners", "facility", "discrimination", "flags"])


def unpicked(option_counts: dict[str, int], options: list[str]) -> list[str]:
    """The options of a question that no learner picked, in the question's order."""
    return [o for o in options if option_counts.get(o, 0) == 0]
