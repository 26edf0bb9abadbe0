"""Grader calibration's rules (autograde/reporting/calibration.py): alpha and the final-score rule,
checked against values worked out by hand here, never by the code under test."""

from __future__ import annotations

import pytest

from autograde.record.calibration import Sample, Score
from autograde.reporting import calibration as cal

# Two graders (A, B) x five reflections (the same reflection cell) x two criteria, 1 point each,
# half points allowed:
#                 reflection  1    2    3    4    5
CRITERION_1 = {"A": [1.0, 1.0, 0.5, 0.0, 1.0],
               "B": [1.0, 0.5, 0.5, 0.0, 1.0]}
CRITERION_2 = {"A": [1.0, 0.0, 1.0, 0.5, 0.0],
               "B": [0.0, 0.0, 1.0, 0.5, 1.0]}
#
# Krippendorff's alpha, interval: alpha = 1 - D_o / D_e over the n pairable values.
#   D_o = (1/n) * sum over units of  sum_{ordered pairs c != k in the unit} (c - k)^2 / (m_u - 1);
#         with two graders per unit (m_u = 2) each unit gives 2 (a - b)^2.
#   D_e = 1 / (n (n - 1)) * sum over all ordered pairs of values i != j of (v_i - v_j)^2.
#
# Criterion 1: differences 0, .5, 0, 0, 0  ->  sum 2 * .25 = .5;  n = 10  ->  D_o = .05.
#   values: 1 x5, .5 x3, 0 x2; unordered pairs (1,.5) 15 * .25 = 3.75, (1,0) 10 * 1 = 10, (.5,0) 6 * .25 = 1.5
#   -> 15.25, ordered 30.5;  D_e = 30.5 / 90;  alpha = 1 - .05 * 90 / 30.5 = 1 - 4.5 / 30.5 = 52/61.
ALPHA_1 = 52 / 61           # 0.85246
# Criterion 2: differences 1, 0, 0, 0, 1  ->  sum 2 * (1 + 1) = 4;  D_o = .4.
#   values: 1 x4, 0 x4, .5 x2; pairs (1,0) 16, (1,.5) 8 * .25 = 2, (0,.5) 8 * .25 = 2  ->  20, ordered 40;
#   D_e = 40 / 90;  alpha = 1 - .4 * 90 / 40 = 1 - .9 = .1
ALPHA_2 = 0.1
# Overall (all ten criterion-units pooled, n = 20): D_o = (.5 + 4) / 20 = .225.
#   values: 1 x9, .5 x5, 0 x6; pairs (1,.5) 45 * .25 = 11.25, (1,0) 54, (.5,0) 30 * .25 = 7.5  ->  72.75,
#   ordered 145.5;  D_e = 145.5 / 380;  alpha = 1 - .225 * 380 / 145.5 = 1 - 85.5 / 145.5 = 40/97.
ALPHA_OVERALL = 40 / 97     # 0.41237
CELL = "auth-r-x-answer"
RUBRIC = {CELL: [("Names something.", 1.0), ("Says how.", 1.0)]}


def _items():
    samples = [Sample(n, "01-authenticity", f"learner{n}", "01-authenticity", CELL, "jlee", "t", "by hand")
               for n in range(1, 6)]
    scores = [Score(n, c, g, crit[g][n - 1], 1.0, "t")
              for c, crit in enumerate((CRITERION_1, CRITERION_2)) for g in ("A", "B") for n in range(1, 6)]
    return cal.graded(samples, scores, {CELL: 2})


def test_alpha_per_criterion_and_overall_as_computed_by_hand():
    rows = cal.agreement(_items(), RUBRIC)
    assert [(r["criterion"], r["reflections"], r["graders"]) for r in rows] == [("1", 5, 2), ("2", 5, 2), ("overall", 5, 2)]
    assert rows[0]["alpha"] == pytest.approx(ALPHA_1)
    assert rows[1]["alpha"] == pytest.approx(ALPHA_2)
    assert rows[2]["alpha"] == pytest.approx(ALPHA_OVERALL)
    # mean of |A - B|: criterion 1 .5 / 5 = .1; criterion 2 2 / 5 = .4; overall 2.5 / 10 = .25
    assert [r["mean_difference"] for r in rows] == pytest.approx([0.1, 0.4, 0.25])
    assert rows[0]["text"] == "Names something." and rows[0]["points"] == 1.0


def test_a_reflection_scored_by_one_grader_only_is_left_out_of_alpha():
    items = _items()
    lone = cal.Graded(6, "01-authenticity", CELL, {"A": [0.0, 0.0]})  # no second score: not pairable
    rows = cal.agreement(items + [lone], RUBRIC)
    assert rows[0]["alpha"] == pytest.approx(ALPHA_1) and rows[0]["reflections"] == 5


def test_alpha_cannot_be_computed_without_variation_or_with_one_reflection():
    assert cal.alpha([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]) is None  # every score the same
    assert cal.alpha([[1.0, None], [0.0, 1.0]]) is None            # only one reflection has two graders
    assert cal.alpha([[1.0, 0.0], [1.0, 0.0]]) == pytest.approx(1.0)


def test_the_disagreements_for_the_meeting_come_widest_first_without_names():
    rows = cal.disagreements(_items())
    # criteria spread (sum of |A - B| per criterion): reflection 1: 0 + 1, 2: .5 + 0, 5: 0 + 1; 3 and 4 agree
    assert [(r["sample"], r["criteria_spread"], r["total_gap"]) for r in rows] == [(1, 1.0, 1.0), (5, 1.0, 1.0),
                                                                                  (2, 0.5, 0.5)]
    assert rows[0]["totals"] == [1.0, 2.0]  # A 2, B 1: sorted, not said whose
    assert not any("A" in str(v) or "B" in str(v) for r in rows for k, v in r.items() if k != "reflection")


@pytest.mark.parametrize("totals, score", [
    ([2.0, 1.0], 1.5),    # mean 1.5, on the half-point grid
    ([1.0, 0.5], 1.0),    # mean .75, up to 1.0
    ([1.5, 1.5], 1.5),
    ([0.5, 0.0], 0.5),    # mean .25, up to .5
    ([3.0, 2.0], 2.5),    # exactly 1 point apart: still the mean
    ([3.0, 1.0, 2.5], 2.5),  # three graders: the median
    ([0.0, 3.0, 1.0, 1.5], 1.5),  # four: median (1 + 1.5) / 2 = 1.25, up to 1.5
])
def test_the_final_score_rule(totals, score):
    assert cal.final_score(totals).score == score


def test_two_graders_more_than_a_point_apart_need_a_third():
    outcome = cal.final_score([3.0, 1.5])
    assert outcome.score is None and "third grader" in outcome.rule and "1.5 points apart" in outcome.rule
    assert cal.final_score([2.0]).score is None
