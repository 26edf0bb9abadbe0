"""Item analysis: facility, point-biserial discrimination and flags, computed by hand here."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from autograde.reporting.items import item_analysis, unpicked


def test_facility_discrimination_and_flags_by_hand():
    # four learners, questions q1 (1 point), q2 (2 points), q3 (1 point), q4 (1 point)
    scores = pd.DataFrame({"q1": [1, 0, 1, 0], "q2": [2, 0, 1, 1], "q3": [1, 1, 1, 1], "q4": [0, 1, 0, 1]})
    out = item_analysis(scores, {"q1": 1, "q2": 2, "q3": 1, "q4": 1}).set_index("question")
    # q1: facility 2/4 = 0.5. rest (q2+q3+q4) = [3, 2, 2, 3]; d_item = [.5,-.5,.5,-.5], d_rest = [.5,-.5,-.5,.5]
    # sum of products = .25+.25-.25-.25 = 0 -> r = 0
    assert out.loc["q1", "facility"] == 0.5 and out.loc["q1", "discrimination"] == pytest.approx(0.0)
    # q2: facility mean 1 of 2 points = 0.5. rest = q1+q3+q4 = [2, 2, 2, 2]: constant, r empty
    assert out.loc["q2", "facility"] == 0.5 and math.isnan(out.loc["q2", "discrimination"])
    # q3: everyone scores: facility 1, constant, r empty, flagged
    assert out.loc["q3", "facility"] == 1.0 and "nobody misses" in out.loc["q3", "flags"]
    # q4: facility 0.5; rest = q1+q2+q3 = [4, 1, 3, 2]; d_item = [-.5,.5,-.5,.5], d_rest = [1.5,-1.5,.5,-.5]
    # products = -.75-.75-.25-.25 = -2; sum d_item^2 = 1, sum d_rest^2 = 2.25+2.25+.25+.25 = 5
    # r = -2 / sqrt(5) = -0.8944
    assert out.loc["q4", "discrimination"] == pytest.approx(-2 / math.sqrt(5))
    assert "negative discrimination" in out.loc["q4", "flags"]
    assert all("small cohort" in f for f in out["flags"])  # 4 learners
    assert "negative discrimination" not in out.loc["q1", "flags"]


def test_everybody_misses_and_unpicked_options():
    out = item_analysis(pd.DataFrame({"a": [0, 0], "b": [1, 0]}), {"a": 1, "b": 1}).set_index("question")
    assert out.loc["a", "flags"] == "everybody misses; small cohort"
    assert unpicked({"x": 3, "z": 1}, ["x", "y", "z"]) == ["y"]


def test_a_question_without_points_is_named():
    with pytest.raises(ValueError, match=r"\['b'\]"):
        item_analysis(pd.DataFrame({"a": [1], "b": [0]}), {"a": 1})
