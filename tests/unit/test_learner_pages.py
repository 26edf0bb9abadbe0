"""The learner's own pages, their pure parts: the status and late rule of "my plan", the
feedback page's data from graded results (autograde/course/results.py), what a submit
carries, and the one-learner JupyterLab switch. Expected values are worked out here by hand."""

from __future__ import annotations

import json

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from autograde.course import results
from autograde.exchange.service import plan_status
from autograde.hub import people
from autograde.learner.pages import answer_summary, module_title, rows
from curriculum.schema import load_module
from tests.conftest import ROOT

DENVER = ZoneInfo("America/Denver")
DUE = date(2026, 12, 10)


@pytest.mark.parametrize(("received", "today", "status"), [
    # 22:00 in Denver on the due date is 05:00 UTC the next day: on time on the city's calendar
    ("2026-12-11T05:00:00+00:00", date(2026, 12, 11), "submitted"),
    # 01:00 in Denver the day after: late
    ("2026-12-11T08:00:00+00:00", date(2026, 12, 11), "submitted late"),
    (None, date(2026, 12, 10), "not started"),
    (None, date(2026, 12, 11), "overdue"),
])
def test_status_and_the_late_rule(received, today, status):
    assert plan_status(received, DUE, today, DENVER) == status


def test_the_list_in_words():
    plan = {"modules": [
        {"module": "01-authenticity", "due_date": "2026-12-10", "status": "submitted late", "submissions": 2,
         "feedback": True},
        {"module": "02-anticipation", "due_date": "2027-01-05", "status": "not started", "submissions": 0,
         "feedback": False}]}
    got = rows(plan, fetched={"01-authenticity"})
    assert [(r["title"], r["due_words"], r["status_words"], r["fetched"], r["submitted"]) for r in got] == [
        ("Module 01: Authenticity", "10 December 2026", "Submitted after the due date (late)", True, True),
        ("Module 02: Anticipation", "5 January 2027", "Not started", False, False)]
    assert module_title("05-accountability") == "Module 05: Accountability"
    # "Acknowledge the commitment" only once submitted, and only for a module that teaches a standard
    assert [r["acknowledge"] for r in got] == [False, False]
    assert [r["acknowledge"] for r in rows(plan, {"01-authenticity"}, standards={"01-authenticity"})] == [True, False]


def test_which_fetched_modules_teach_a_standard(tmp_path):
    from autograde.learner.pages import teaches_a_standard

    for name, meta in (("a", {"curriculum": {"standard": "AUTH"}}), ("b", {"curriculum": {}}), ("c", {})):
        (tmp_path / f"{name}.ipynb").write_text(json.dumps({"metadata": meta}))
    (tmp_path / "d.ipynb").write_text("{damaged")
    assert [teaches_a_standard(tmp_path / f"{n}.ipynb") for n in "abcde"] == [True, False, False, False, False]


def test_what_a_submit_carries():
    answers = {"questions": {"q1": "a", "q2": [], "q3": ["b", "c"]},
               "roleplays": {"r1": {"current": [], "completed": [{"ending": "e", "path": []}]},
                             "r2": {"current": [{"step": "s", "choice": "a"}], "completed": []}},
               "reflections": {"a-answer": "I say so and find out.", "b-answer": "   "}}
    assert answer_summary(answers) == {"questions": 2, "roleplays": 1, "reflections": [6]}
    assert answer_summary({}) == {"questions": 0, "roleplays": 0, "reflections": []}


def test_feedback_model_from_graded_results():
    m = load_module(ROOT / "curriculum" / "modules" / "01-authenticity.yaml")
    single, multiple, ordering, matching = (next(q for q in m.questions if q.id == i) for i in (
        "auth-q-casual-caller", "auth-q-positivity", "auth-q-order-greeting", "auth-q-match-behaviors"))
    billing = next(r for r in m.roleplays if r.id == "auth-rp-billing-idea")
    answers = {
        "questions": {single.id: "b", ordering.id: ["greet", "listen", "explain", "confirm"],
                      matching.id: ["positivity", "originality", "representative"]},
        "roleplays": {billing.id: {"current": [], "completed": [
            {"ending": "ending-mixed", "path": [{"step": "first-reaction", "choice": "invite-priya"},
                                                {"step": "next-step", "choice": "change-today"}]},
            {"ending": "ending-good", "path": [{"step": "first-reaction", "choice": "invite-priya"},
                                               {"step": "next-step", "choice": "draft-together"}]}]}},
        "reflections": {"auth-r-values-answer": "one two three four"},
    }
    grades = {f"{single.id}-test": (0.0, 3.0), f"{ordering.id}-test": (3.0, 3.0), f"{matching.id}-test": (0.0, 3.0),
              f"{billing.id}-done": (1.5, 2.0), "auth-r-balance-answer": (None, 3.0), "auth-r-values-answer": (2.0, 3.0)}
    out = results.model(m, answers, grades, "2026-12-02 10:42:03.000000 UTC")
    by_id = {e["id"]: e for e in out["exercises"]}
    text = {q.id: {o.id: o.text for o in q.options} for q in m.questions}

    # a question missed: what she chose, the right answer and why
    assert by_id[single.id] == {"kind": "question", "id": single.id, "prompt": single.prompt, "points": 3.0,
                                "score": 0.0, "correct": False, "chosen": [text[single.id]["b"]],
                                "right": [text[single.id]["a"]], "why": single.explanation}
    # right: no key shown beyond what she chose
    assert by_id[ordering.id]["correct"] and "right" not in by_id[ordering.id] and "why" not in by_id[ordering.id]
    # matching: item -> option, hers and the key
    items = [i.text for i in matching.items]
    assert by_id[matching.id]["chosen"] == [f"{items[0]} → {text[matching.id]['positivity']}",
                                            f"{items[1]} → {text[matching.id]['originality']}",
                                            f"{items[2]} → {text[matching.id]['representative']}"]
    assert by_id[matching.id]["right"] == [f"{items[0]} → {text[matching.id]['representative']}",
                                           f"{items[1]} → {text[matching.id]['positivity']}",
                                           f"{items[2]} → {text[matching.id]['originality']}"]
    # never answered: nothing chosen, the key and why
    assert by_id[multiple.id]["chosen"] == [] and by_id[multiple.id]["right"] == [
        text[multiple.id][k] for k in ("a", "c", "e")]
    # a path-scored play: its first play counts (later plays are practice)
    steps = {s.id: s for s in billing.steps}
    assert by_id[billing.id]["path"] == [
        {"situation": steps["first-reaction"].situation, "chose": steps["first-reaction"].choices[0].text,
         "quality": "best"},
        {"situation": steps["next-step"].situation, "chose": steps["next-step"].choices[1].text,
         "quality": "acceptable"}]
    assert by_id[billing.id]["outcome"] == "partly resolved" and by_id[billing.id]["score"] == 1.5
    # a reflection not yet scored, one scored; word counts, never the words
    assert by_id["auth-r-balance"]["score"] is None and by_id["auth-r-values"] == {
        "kind": "reflection", "id": "auth-r-values", "prompt": next(r.prompt for r in m.reflections
                                                                     if r.id == "auth-r-values"),
        "points": 3.0, "score": 2.0, "words": 4}
    assert "one two" not in str(out)
    # totals: 3 (ordering) + 1.5 (billing) + 2 (a reflection); 5 questions x 3, 3 plays x 2, 3 reflections x 3
    assert (out["score"], out["max_score"], out["awaiting"]) == (6.5, 30.0, 1)
    assert out["submitted_at"] == "2026-12-02 10:42:03.000000 UTC"


def test_jupyterlab_for_one_learner_is_read_safely(tmp_path):
    assert people.jupyterlab_learners(tmp_path) == set()
    (tmp_path / people.JUPYTERLAB_FILE).write_text("not json")
    assert people.jupyterlab_learners(tmp_path) == set()
    (tmp_path / people.JUPYTERLAB_FILE).write_text('["ana", 3, "ben"]')
    assert people.jupyterlab_learners(tmp_path) == {"ana", "ben"}


def test_the_learners_environment_needs_no_record_package():
    """The wheel in the learners' environment (pyproject's packages) has no autograde.record: the exchange
    client and the learner's pages must import without it."""
    import subprocess
    import sys

    code = ("import sys, importlib.abc\n"
            "class NoRecord(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'autograde.record' or name.startswith('autograde.record.'):\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, NoRecord())\n"
            "import autograde.exchange.client, autograde.learner.pages\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr


def test_my_modules_renders_with_and_without_a_clock_warning():
    """The list renders for every row the plan can hold (strict templates: a key missing from a row
    was a 500 on a real hub, found by test_hub after the security-log merge)."""
    from autograde.learner.pages import TEMPLATES

    plan = {"modules": [
        {"module": "01-authenticity", "assigned": None, "status": "not started", "due_date": "2026-11-20",
         "submitted_at": None, "submissions": 0, "feedback": False},  # the keys my_plan always gives
        {"module": "02-anticipation", "assigned": None, "status": "submitted late", "due_date": "2026-11-20",
         "submitted_at": "2026-11-21T10:00:00+00:00", "submissions": 1, "feedback": False,
         "clock_warning": "The server's clock was not set when this arrived."}]}
    listed = [dict(r, open="o", fetch="s", submit="u", feedback_url="f", acknowledge_url="a")
              for r in rows(plan, fetched={"01-authenticity"})]
    html = TEMPLATES.get_template("modules.html.j2").render(
        home="/", how="/how", idle_notice="/i.js", help="/how#get-help", help_contact="your trainer",
        jupyterlab=None, xsrf="", title="My modules", modules=listed, on_roster=True, problem=None)
    assert html.count("The server&#39;s clock was not set") == 1 and "My modules" in html
