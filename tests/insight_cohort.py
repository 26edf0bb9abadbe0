"""A hand-computed cohort for the trainers' report (tests/unit/test_insight.py), beside hr_cohort.py.

One small module, ``01-tiny`` (real content records, written here so the figures never move when
the curriculum is edited):

* q1, single, 2 points, options a b c d (key a), names AUTH-B1
* q2, multiple, 2 points, options a b c d (key a, b), names AUTH-B1 and AUTH-B2
* rp, path-scored, 2 points: decision s1: x (best, AUTH-B2) or y (poor, AUTH-C1), then
  decision s2: u (best, AUTH-B1, ends e-good) or v (acceptable, AUTH-B2, ends e-ok)
* r1, a reflection, rubric 1.5 + 1.5 = 3 points, names AUTH-C1

Four learners: L1 and L2 in department A, L3 and L4 in B; L1 and L3 in cohort c1, L2 and L4 in c2.

====  ==========  ============  ===========  =============================  =====================
who   q1 (pick)   q2 (picks)    r1           scored play (first complete)   practice plays after
====  ==========  ============  ===========  =============================  =====================
L1    a: 2        a, b: 2       3            s1 x, s2 u: e-good             s1 y, s2 v: e-ok
L2    b: 0        a: 1          not scored   s1 y, s2 v: e-ok               twice s1 x, s2 u: e-good
L3    a: 2        c, d: 0       1.5          s1 x, s2 v: e-ok (claims v     none
                                             is "best": the content says
                                             acceptable)
L4    c: 0        c: 0          0            never played                   none
====  ==========  ============  ===========  =============================  =====================

Each scored play has two decisions, so each decision weighs 2 / 2 = 1 point; credit = weight × share
(best 1, acceptable 0.5, poor 0). Hand-computed credit, earned / possible (exercises):

* L1: B1 q1 2/2 + q2 2/2 + s2 1/1 = 5/5 (3);  B2 q2 2/2 + s1 1/1 = 3/3 (2);  C1 r1 3/3 (1)
* L2: B1 q1 0/2 + q2 1/2 = 1/4 (2);  B2 q2 1/2 + s2 0.5/1 = 1.5/3 (2);  C1 s1 0/1 (1; r1 not scored yet)
* L3: B1 q1 2/2 + q2 0/2 = 2/4 (2);  B2 q2 0/2 + s1 1/1 + s2 0.5/1 = 1.5/4 (3);  C1 r1 1.5/3 (1)
* L4: B1 0/4 (2);  B2 0/2 (1);  C1 0/3 (1)
"""

from __future__ import annotations

import pandas as pd

from curriculum.schema import Module

MODULE = "01-tiny"


def _choice(cid, quality, items, nxt):
    return {"id": cid, "text": f"option {cid}", "quality": quality, "reaction": "r", "coaching": "c",
            "exercises": items, "next": nxt}


def module() -> Module:
    return Module.model_validate({
        "schema_version": 1, "id": MODULE, "title": "Tiny", "standard": "AUTH", "introduction": "Tiny.",
        "questions": [
            {"id": "q1", "kind": "single", "prompt": "p", "points": 2, "answer": ["a"], "exercises": ["AUTH-B1"],
             "options": [{"id": o, "text": f"q1 option {o}"} for o in "abcd"]},
            {"id": "q2", "kind": "multiple", "prompt": "p", "points": 2, "answer": ["a", "b"],
             "exercises": ["AUTH-B1", "AUTH-B2"], "options": [{"id": o, "text": f"q2 option {o}"} for o in "abcd"]},
        ],
        "roleplays": [{
            "id": "rp", "title": "t", "setting": "s", "scoring": "path", "points": 2,
            "steps": [
                {"id": "s1", "situation": "one", "choices": [_choice("x", "best", ["AUTH-B2"], "s2"),
                                                             _choice("y", "poor", ["AUTH-C1"], "s2")]},
                {"id": "s2", "situation": "two", "choices": [_choice("u", "best", ["AUTH-B1"], "e-good"),
                                                             _choice("v", "acceptable", ["AUTH-B2"], "e-ok")]},
            ],
            "endings": [{"id": "e-good", "outcome": "resolved", "debrief": "d"},
                        {"id": "e-ok", "outcome": "partly resolved", "debrief": "d"}],
        }],
        "reflections": [{"id": "r1", "prompt": "p", "exercises": ["AUTH-C1"], "example_answer": "e",
                         "rubric": [{"text": "one", "points": 1.5}, {"text": "two", "points": 1.5}]}],
    })


LEARNERS = pd.DataFrame([
    ("L1", "Lee One", "A", "c1"), ("L2", "Lou Two", "A", "c2"), ("L3", "Liv Three", "B", "c1"), ("L4", "Lin Four", "B", "c2"),
], columns=["employee_id", "name", "department", "cohort"])

SCORES = {"L1": (2, 2, 3), "L2": (0, 1, None), "L3": (2, 0, 1.5), "L4": (0, 0, 0)}
GRADES = pd.DataFrame(
    [(sid, MODULE, cell, float("nan") if v is None else float(v))
     for sid, values in SCORES.items() for cell, v in zip(("q1-test", "q2-test", "r1-answer"), values)],
    columns=["employee_id", "module", "cell", "score"])

PLANTED = "PLANTED-REFLECTION-7731 my neighbour's story"


def _play(ending, *taken):
    return {"ending": ending, "path": [{"step": s, "choice": c, **({"quality": q} if q else {})} for s, c, q in taken]}


ANSWERS = {
    ("L1", MODULE): {"questions": {"q1": "a", "q2": ["a", "b"]}, "reflections": {"r1-answer": PLANTED},
                     "roleplays": {"rp": {"current": [], "completed": [
                         _play("e-good", ("s1", "x", None), ("s2", "u", None)),
                         _play("e-ok", ("s1", "y", None), ("s2", "v", None))]}}},
    ("L2", MODULE): {"questions": {"q1": "b", "q2": ["a"]}, "roleplays": {"rp": {"current": [{"step": "s1", "choice": "x"}], "completed": [
        _play("e-ok", ("s1", "y", None), ("s2", "v", None)),
        _play("e-good", ("s1", "x", None), ("s2", "u", None)),
        _play("e-good", ("s1", "x", None), ("s2", "u", None))]}}},
    ("L3", MODULE): {"questions": {"q1": "a", "q2": ["c", "d"]}, "roleplays": {"rp": {"current": [], "completed": [
        _play("e-ok", ("s1", "x", "best"), ("s2", "v", "best"))]}}},  # forged quality: ignored
    ("L4", MODULE): {"questions": {"q1": "c", "q2": ["c"]}, "roleplays": {}},
}
