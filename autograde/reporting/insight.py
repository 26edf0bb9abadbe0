"""The trainers' report (issue 15, points 1, 2, 3 and 6): what a cohort learned, per framework item.

``hcwh insight`` writes ``<state>/trainer-reports/<date>T<time>/`` (0700, files 0600; never under HR's
``reports/``): ``insight.html`` (self-contained: no script, inline SVG with its figures in words),
CSV files and ``manifest.json`` (SHA-256 of each file, the audit trail's head), by the HR report's
own writers (``report.snapshot_folder``, ``write_csv``, ``write_manifest``, ``_shared.html.j2``).

Inputs, each read once: the content (``curriculum/modules/*.yaml``: which framework items each
question, role-play choice and reflection exercises, each choice's quality, each question's options
and points; never taken from a learner's file, which could claim any quality); the gradebook (one
score per grade cell of each graded submission, one query); each graded submission's
``answers.json`` (the graded copy, ``<course>/autograded/<learner>/<module>/``: which options were
clicked, every play of every role-play; reflection words are never read); the roster (name,
department, cohort). A submission autograde rejected (``<course>/rejected/``) is left out: its zero
is about the file, not the learner's answers.

**Mastery** of a framework item (a behavior, consideration, value or standard a module tags) is the
share of the credit earned on the exercises tagged with it, ``earned / possible``, pooled over a
learner, a cohort, a department or everyone, with the number of exercises (and learners) behind it:

* a question: its gradebook score out of its points, for each item the question names;
* a reflection, once a trainer has scored it: its score out of its rubric's points, for each item it
  names (the gradebook keeps one score per reflection, not one per rubric criterion);
* a role-play decision on the learner's **scored play**, their first complete play: the choice
  taken credits the items *it* names with its quality's share (best 1, acceptable 0.5, poor 0:
  ``curriculum.roleplay.QUALITY_SHARE``, the rule that scores a path-scored play) of the
  decision's weight, the play's points divided by the decisions on that path. Later plays are
  practice: counted in aggregate (choices and endings), never per person, never credited.

An unanswered question or an empty reflection (nbgrader scores it 0) counts 0; a role-play never
played to an ending has no decision to count, so it adds nothing.

**Item analysis** (``items.item_analysis``) for every autograded question, over the learners whose
submission of the module was graded, with how often each option was picked (per slot: the position
of an ordering, the item of a matching) and the options nobody picked.

:func:`build` is pure (content, DataFrames and the answers in; frames out): the benchmark drives
it. :func:`read_answers` turns each file, as it is parsed, into :class:`Answers` (flat arrays: one
row per complete play and per option picked), in a pool of worker processes for a large cohort;
:class:`Scores` codes the gradebook's rows as integers once, and the figures are sums over those
codes. Grader calibration (``reporting/calibration.py``) fills ``Insight.calibration`` and
``Insight.disagreements``; this report prints them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Iterable
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pandas as pd
from nbgrader.api import Assignment, Grade, GradeCell, Student

from autograde import roster
from autograde.config import Settings
from autograde.gradebook import gradebook
from autograde.private import create_private
from autograde.record import audit
from autograde.reporting import completion, items, report
from curriculum.answers import ANSWERS_FILE, SCHEMA_VERSION, migrate
from curriculum.errors import HcwhError
from curriculum.framework import load_framework
from curriculum.roleplay import QUALITY_SHARE
from curriculum.schema import Module

TITLE = "Customer Service Framework training: what the cohort learned (trainers only)"
WEAK = 0.5  # a learner's item under this share is listed as one to revisit
MAX_ANSWERS_BYTES = 1_000_000  # an answers file larger than this is not read (the exchange caps submissions)
CSV_FILES = ("mastery-learners", "mastery-cohorts", "mastery-departments", "mastery-all",
             "choices", "paths", "endings", "items", "options")


class NoContent(HcwhError):
    """The module content (the YAML files with the tags) is not where the report looks."""


class NothingGraded(HcwhError):
    """There is no gradebook yet: nothing to report on."""


# -- the content: what each exercise is worth and which items it names -----------------------------


def exercise_table(modules: list[Module]) -> pd.DataFrame:
    """Questions and reflections: module, cell (the grade cell's name), exercise, kind, item, possible."""
    rows = []
    for m in modules:
        for q in m.questions:
            rows += [(m.id, f"{q.id}-test", f"{m.id}:{q.id}", "question", item, float(q.points))
                     for item in dict.fromkeys(q.exercises)]
        for r in m.reflections:
            rows += [(m.id, f"{r.id}-answer", f"{m.id}:{r.id}", "reflection", item, float(r.points))
                     for item in dict.fromkeys(r.exercises)]
    return pd.DataFrame(rows, columns=["module", "cell", "exercise", "kind", "item", "possible"])


def choice_table(modules: list[Module]) -> pd.DataFrame:
    """Every role-play choice, one row each in content order: module, roleplay, step, choice, quality,
    share, text, points (the play's)."""
    rows = [(m.id, rp.id, s.id, c.id, c.quality, QUALITY_SHARE[c.quality], " ".join(c.text.split()), float(rp.points))
            for m in modules for rp in m.roleplays for s in rp.steps for c in s.choices]
    return pd.DataFrame(rows, columns=["module", "roleplay", "step", "choice", "quality", "share", "text", "points"])


def _choice_items(modules: list[Module]) -> pd.DataFrame:
    """(row of choice_table, exercise, item) for every item a choice names."""
    rows, n = [], 0
    for m in modules:
        for rp in m.roleplays:
            for s in rp.steps:
                for c in s.choices:
                    rows += [(n, f"{m.id}:{rp.id}/{s.id}", item) for item in dict.fromkeys(c.exercises)]
                    n += 1
    return pd.DataFrame(rows, columns=["choice_row", "exercise", "item"])


# -- what the report reads from answers.json: flat tables, one row per play, decision and pick ------


@dataclass(frozen=True)
class Content:
    """What reading an answers file needs from the content: the row of ``choice_table`` of each
    choice of each step of each role-play, and the row of ``option_table`` of each (slot, option) of
    each autograded question. Plain dicts and tuples, so that it travels to worker processes; nested
    by step and slot, so that reading a file builds no key tuples."""

    roleplays: tuple[tuple[str, str], ...]  # (module, role-play), a role-play's code is its position
    choice_rows: dict[tuple[str, str], tuple[int, dict[str, dict[str, int]]]]  # (module, rp) -> (code, step -> choice -> row)
    questions: dict[str, tuple[tuple[str, str, tuple[dict[str, int], ...]], ...]]
    # module -> (question id, kind, per slot: option id -> row of option_table) per question
    option_rows: dict[tuple[str, str], dict[tuple[str, str], int]]  # (module, question) -> (slot, option) -> row

    @classmethod
    def of(cls, modules: list[Module]) -> Content:
        choices = choice_table(modules)
        roleplays = tuple(dict.fromkeys(zip(choices["module"], choices["roleplay"])))
        rows: dict = {key: (code, {}) for code, key in enumerate(roleplays)}
        for n, (m, rp, st, ch) in enumerate(zip(choices["module"], choices["roleplay"], choices["step"], choices["choice"])):
            rows[m, rp][1].setdefault(st, {})[ch] = n
        questions, option_rows, n = {}, {}, 0
        for m in modules:
            qs = []
            for q in m.questions:
                slots = _slots(q)
                per_slot = tuple({o.id: n + j * len(q.options) + k for k, o in enumerate(q.options)} for j in range(len(slots)))
                n += len(slots) * len(q.options)
                option_rows[m.id, q.id] = {(slot, o): row for slot, rows in zip(slots, per_slot) for o, row in rows.items()}
                qs.append((q.id, q.kind, per_slot))
            questions[m.id] = tuple(qs)
        return cls(roleplays, rows, questions, option_rows)


PLAY_DTYPES = ("int64", "int64", bool, "O", "O")  # file, role-play, first, ending, path


@dataclass
class Answers:
    """The answers files of graded submissions as the report reads them (curriculum/answers.py's
    format): every complete play of a role-play the content has, and every option picked.
    Anything malformed is skipped, never raised. Arrays, not the parsed files: 60,000 files of
    nested lists and dicts took seconds to walk and to collect."""

    keys: list[tuple[str, str]]  # (learner, module) of each file, its code its position
    play_file: np.ndarray  # per complete play, in the files' order: its file,
    play_roleplay: np.ndarray  # its role-play (position in Content.roleplays),
    play_first: np.ndarray  # whether it is the first complete play of its role-play (the scored play),
    play_ending: np.ndarray  # its ending (a string; "(unknown)" when the file names none),
    play_path: np.ndarray  # its decisions, a tuple of choice_table rows (-1: a choice the content lacks)
    pick_file: np.ndarray  # per option picked (per slot): its file
    pick_row: np.ndarray  # and the row of option_table

    @classmethod
    def of(cls, content: Content, answers: Iterable[tuple[tuple[str, str], dict]]) -> Answers:
        """From parsed answers files: ((learner, module), the file's content) each, read one by one
        (each file can be dropped once read)."""
        keys, plays, picks, picks_per_file = [], [], [], []
        for n, (key, data) in enumerate(answers):
            keys.append(key)
            _read_plays(n, key[1], data, content, plays)
            before = len(picks)
            _read_picks(key[1], data, content, picks)
            picks_per_file.append(len(picks) - before)
        pick_file = np.repeat(np.arange(len(keys)), picks_per_file)
        return cls(keys, *_columns(plays, PLAY_DTYPES), pick_file, np.array(picks, dtype="int64"))

    @classmethod
    def concat(cls, parts: list[Answers]) -> Answers:
        offsets = np.cumsum([0] + [len(p.keys) for p in parts[:-1]])
        return cls(list(chain.from_iterable(p.keys for p in parts)),
                   *(np.concatenate([getattr(p, f) + k if f.endswith("_file") else getattr(p, f) for p, k in zip(parts, offsets)])
                     for f in ("play_file", "play_roleplay", "play_first", "play_ending", "play_path", "pick_file", "pick_row")))


def _columns(rows: list[tuple], dtypes: tuple) -> list[np.ndarray]:
    """The columns of ``rows``, one array of each dtype ("O": Python objects, kept as they are)."""
    cols = list(zip(*rows)) if rows else [()] * len(dtypes)
    return [np.fromiter(col, dtype=dtype, count=len(col)) for col, dtype in zip(cols, dtypes)]


def _taken(path: list) -> list[tuple[str, str]]:
    """(step, choice) of each decision of a play; entries that are not a step and a choice are skipped."""
    return [(t["step"], t["choice"]) for t in path
            if isinstance(t, dict) and isinstance(t.get("step"), str) and isinstance(t.get("choice"), str)]


NOWHERE: dict[str, int] = {}  # the choices of a step the content lacks


def _read_plays(n: int, module: str, data: dict, content: Content, out: list) -> None:
    """Append (file, role-play, first, ending, path) for each complete play in file ``n``: the first
    complete play of each role-play is the scored play, the later ones practice."""
    record_of = data.get("roleplays") if isinstance(data, dict) else None
    if not isinstance(record_of, dict):
        return
    for rp_id, record in record_of.items():
        completed = record.get("completed") if isinstance(record, dict) else None
        code, known = content.choice_rows.get((module, rp_id), (None, None))
        if not isinstance(completed, list) or known is None:
            continue
        first = True
        for play in completed:
            try:  # a well-formed play, the fast way
                path = play["path"]
                if type(path) is not list:
                    continue
                found = tuple([known.get(t["step"], NOWHERE).get(t["choice"], -1) for t in path])
                ending = play["ending"]
            except (TypeError, KeyError, AttributeError):  # anything else, entry by entry (curriculum.scoring's rule)
                path = play.get("path") if isinstance(play, dict) else None
                if not isinstance(path, list):
                    continue
                found = tuple(known.get(st, NOWHERE).get(ch, -1) for st, ch in _taken(path))
                ending = play.get("ending")
            out.append((n, code, first, ending if type(ending) is str else "(unknown)", found))
            first = False


def _picked(kind: str, per_slot: tuple[dict, ...], given) -> list:
    """What ``per_slot`` (per slot, option id -> a value: its row of option_table) gives for each
    option one stored answer picks: one slot for single and multiple (an option picked twice counts
    once), one per position of an ordering or item of a matching; anything that is not an option id
    is skipped, never raised."""
    if kind == "single":
        return [per_slot[0][given]] if isinstance(given, str) and given in per_slot[0] else []
    if not isinstance(given, list):
        return []
    if kind == "multiple":
        rows = per_slot[0]
        return [rows[o] for o in dict.fromkeys(g for g in given if isinstance(g, str) and g in rows)]
    return [rows[o] for rows, o in zip(per_slot, given) if isinstance(o, str) and o in rows]


def _read_picks(module: str, data: dict, content: Content, out: list) -> None:
    """Append the row of option_table of each option a file picks."""
    given = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(given, dict):
        return
    for qid, kind, per_slot in content.questions.get(module, ()):
        if qid in given:
            out += _picked(kind, per_slot, given[qid])


@dataclass
class Plays:
    """What the learners played. Scored plays per person; practice plays only as counts."""

    decisions: pd.DataFrame  # scored plays: learner (position in the roster), play (a number), choice_row (-1: unknown)
    scored_paths: Counter  # (module, roleplay, (choice_row, ...), ending) -> learners whose scored play it was
    practice_choices: np.ndarray  # per row of choice_table: times taken in practice plays
    practice_endings: Counter  # (module, roleplay, ending) -> practice plays ending there


def plays(answers: Answers, content: Content, choices: pd.DataFrame, file_learner: np.ndarray) -> Plays:
    """The plays of the learners on the roster (``file_learner``: each file's learner's position
    in it, -1 off it): the scored ones per learner, the practice ones counted."""
    learner = file_learner[answers.play_file]
    sizes = np.fromiter(map(len, answers.play_path), dtype="int64", count=len(answers.play_path))
    decision_play = np.repeat(np.arange(len(sizes)), sizes)
    rows = np.fromiter(chain.from_iterable(answers.play_path), dtype="int64", count=int(sizes.sum()))
    scored = (learner >= 0) & answers.play_first
    practice = (learner >= 0) & ~answers.play_first
    on = scored[decision_play]
    decisions = pd.DataFrame({"learner": learner[decision_play[on]], "play": decision_play[on], "choice_row": rows[on]})
    module = np.array([m for m, _ in content.roleplays] or [""], dtype=object)
    roleplay = np.array([rp for _, rp in content.roleplays] or [""], dtype=object)

    def count(mask, *cols):
        code = answers.play_roleplay[mask]
        return Counter(zip(module[code], roleplay[code], *(c[mask] for c in cols)))

    picked = rows[practice[decision_play]]
    return Plays(decisions, count(scored, answers.play_path, answers.play_ending),
                 np.bincount(picked[picked >= 0], minlength=len(choices)), count(practice, answers.play_ending))


# -- mastery ---------------------------------------------------------------------------------------


@dataclass
class Scores:
    """The gradebook's rows of learners on the roster, as codes: one entry per grade cell."""

    learner: np.ndarray  # position in the roster
    cell: np.ndarray  # position in Scores.cells_of(modules) (-1: a cell the content lacks)
    score: np.ndarray  # float; NaN while a reflection waits for a trainer
    submissions: int  # distinct (learner, module) among them

    @staticmethod
    def cells_of(exercises: pd.DataFrame) -> pd.MultiIndex:
        """(module, cell) of every grade cell the content has (``exercise_table``'s rows)."""
        return pd.MultiIndex.from_frame(exercises[["module", "cell"]].drop_duplicates())

    @classmethod
    def of(cls, grades: pd.DataFrame, roster: pd.Index, cells: pd.MultiIndex) -> Scores:
        """Each string column hashed once: 10,000 learners' gradebook is 620,000 rows."""
        learner = roster.get_indexer(grades["employee_id"])
        on = np.flatnonzero(learner >= 0)
        module, modules = pd.factorize(grades["module"].to_numpy()[on])
        cell, names = pd.factorize(grades["cell"].to_numpy()[on])
        pair = cells.get_indexer(pd.MultiIndex.from_product([modules, names]))  # (module, cell) -> cell code
        submissions = len(np.unique(learner[on] * max(len(modules), 1) + module))
        return cls(learner[on], pair[module * len(names) + cell], grades["score"].to_numpy(dtype=float)[on], submissions)


def _join(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An inner join on integer codes: (position in ``left``, position in ``right``) of every pair of
    equal codes, in ``left``'s order (a code < 0 matches nothing)."""
    size = int(max(left.max(initial=-1), right.max(initial=-1))) + 1
    order = np.argsort(right, kind="stable")
    per = np.bincount(right[right >= 0], minlength=size)
    start = np.cumsum(per) - per
    ok = np.flatnonzero(left >= 0)
    n = per[left[ok]]
    li = np.repeat(ok, n)
    within = np.arange(len(li)) - np.repeat(np.cumsum(n) - n, n)
    return li, order[np.count_nonzero(right < 0) + np.repeat(start[left[ok]], n) + within]


def credit(modules: list[Module], choices: pd.DataFrame, scores: Scores, cells: pd.MultiIndex,
           decisions: pd.DataFrame) -> tuple[dict[str, np.ndarray], pd.Index]:
    """One entry per learner × exercise × item it names, as codes (learner: position in the roster;
    exercise, item: positions in ``exercise_table`` and in the index returned), with earned and
    possible credit (module docstring): columns learner, ex_code, item_code, earned, possible.
    Integers all through: 10,000 learners make millions of them."""
    ex = exercise_table(modules)
    by_choice = _choice_items(modules)
    exercises = pd.Index(pd.unique(pd.concat([ex["exercise"], by_choice["exercise"]])))
    item_index = pd.Index(pd.unique(pd.concat([ex["item"], by_choice["item"]])))
    ex_cell = cells.get_indexer(pd.MultiIndex.from_frame(ex[["module", "cell"]]))
    ex_code, ex_item = exercises.get_indexer(ex["exercise"]), item_index.get_indexer(ex["item"])
    scored = np.flatnonzero(~np.isnan(scores.score))  # a reflection not yet scored by a trainer earns nothing yet
    g, e = _join(scores.cell[scored], ex_cell)
    known = decisions[decisions["choice_row"] >= 0]  # a choice the content no longer has: no credit
    play, rows = known["play"].to_numpy(), known["choice_row"].to_numpy()
    weight = choices["points"].to_numpy()[rows] / np.bincount(play)[play]
    d, c = _join(rows, by_choice["choice_row"].to_numpy())
    return {
        "learner": np.concatenate([scores.learner[scored][g], known["learner"].to_numpy()[d]]),
        "ex_code": np.concatenate([ex_code[e], exercises.get_indexer(by_choice["exercise"])[c]]),
        "item_code": np.concatenate([ex_item[e], item_index.get_indexer(by_choice["item"])[c]]),
        "earned": np.concatenate([scores.score[scored][g], (weight * choices["share"].to_numpy()[rows])[d]]),
        "possible": np.concatenate([ex["possible"].to_numpy()[e], weight[d]]),
    }, item_index


MASTERY_KEYS = {"learner": ["employee_id", "name", "department", "cohort"], "cohort": ["cohort"],
                "department": ["department"], "all": []}


def _in_item_order(keys: dict[str, np.ndarray], item_code: np.ndarray, figures: dict[str, np.ndarray],
                   group_rank: np.ndarray, items_of: np.ndarray, names: dict[str, str]) -> pd.DataFrame:
    """One mastery table (the group's keys, item, item_text, the figures, share), sorted by group
    (``group_rank``: each row's group's place in the order of its keys), then by item in the
    framework's order (items it lacks last, by id). Sorted as integer codes: sorting half a
    million rows by their strings took most of a second."""
    order = {item: n for n, item in enumerate(names)}
    place = sorted(range(len(items_of)), key=lambda c: (order.get(items_of[c], len(order)), items_of[c]))
    item_rank = np.empty(len(items_of), dtype="int64")
    item_rank[place] = np.arange(len(place))
    rows = np.argsort(group_rank * len(items_of) + item_rank[item_code], kind="stable")
    texts = np.array([names.get(item, item) for item in items_of], dtype=object)
    out = pd.DataFrame({**{k: v[rows] for k, v in keys.items()}, "item": items_of[item_code[rows]],
                        "item_text": texts[item_code[rows]], **{k: v[rows] for k, v in figures.items()}})
    out["share"] = (out["earned"] / out["possible"]).where(out["possible"] > 0)
    return out


def _rank(values: np.ndarray) -> np.ndarray:
    """Each value's place among the distinct ``values`` in sorted order (equal values, equal places)."""
    return np.unique(values, return_inverse=True)[1].reshape(-1)


def mastery(rows: dict[str, np.ndarray], item_index: pd.Index, learners: pd.DataFrame, names: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Per learner, cohort, department and everyone (``MASTERY_KEYS``), per item: earned, possible,
    share, exercises (behind the figure: a learner's, or the distinct exercises of a group) and, for
    groups, learners; items in the framework's order. ``rows``, ``item_index``: :func:`credit`'s.
    Summed by ``np.bincount`` over dense (group, item) codes: 10,000 learners × 51 items is half a
    million cells, where grouping millions of rows by pandas took most of a second."""
    n_items, n_learners = len(item_index), len(learners)
    items_of = item_index.to_numpy()
    learner, item, exercise = rows["learner"], rows["item_code"], rows["ex_code"]
    cell = learner * n_items + item
    count = np.bincount(cell, minlength=n_learners * n_items)
    earned = np.bincount(cell, weights=rows["earned"], minlength=len(count))
    possible = np.bincount(cell, weights=rows["possible"], minlength=len(count))
    present = np.flatnonzero(count)  # the (learner, item) pairs some exercise names
    who, what = np.divmod(present, n_items)
    out = {}
    for by, keys in MASTERY_KEYS.items():
        if by == "learner":
            rank = learners.groupby(keys, sort=True, dropna=False).ngroup().to_numpy()  # the learners in keys' order
            out[by] = _in_item_order({k: learners[k].to_numpy()[who] for k in keys}, what,
                                     {"earned": earned[present], "possible": possible[present],
                                      "exercises": count[present]}, rank[who], items_of, names)
            continue
        codes, groups = pd.factorize(learners[keys[0]]) if keys else (np.zeros(n_learners, dtype="int64"), ["all"])
        groups = np.asarray(groups, dtype=object)
        n_cells = len(groups) * n_items
        group_cell = codes[who] * n_items + what  # per (learner, item) pair: its group's cell
        g_learners = np.bincount(group_cell, minlength=n_cells)
        g_earned = np.bincount(group_cell, weights=earned[present], minlength=n_cells)
        g_possible = np.bincount(group_cell, weights=possible[present], minlength=n_cells)
        n_ex = int(exercise.max(initial=-1)) + 1
        seen = np.zeros(n_cells * max(n_ex, 1), dtype=bool)  # (group, item, exercise): some row names it
        seen[(codes[learner] * n_items + item) * n_ex + exercise] = True
        distinct = seen.reshape(n_cells, -1).sum(axis=1)
        kept = np.flatnonzero(g_learners)
        group, item_code = np.divmod(kept, n_items)
        out[by] = _in_item_order({keys[0]: groups[group]} if keys else {}, item_code,
                                 {"earned": g_earned[kept], "possible": g_possible[kept], "exercises": distinct[kept],
                                  "learners": g_learners[kept]}, _rank(groups)[group], items_of, names)
    return out


# -- role-play choices and paths -------------------------------------------------------------------


def choice_counts(choices: pd.DataFrame, p: Plays) -> pd.DataFrame:
    """Every choice of every decision: learners who took it on their scored play (and their share of
    those who decided there), and how often it was taken in practice plays (in aggregate only)."""
    keys = ["module", "roleplay", "step", "choice"]
    rows = p.decisions["choice_row"].to_numpy()
    out = choices[keys + ["quality", "text"]].copy()
    out["scored_play"] = np.bincount(rows[rows >= 0], minlength=len(choices)).astype("int64")
    out["practice_plays"] = p.practice_choices.astype("int64")
    deciders = out.groupby(["module", "roleplay", "step"], sort=False)["scored_play"].transform("sum")
    out["scored_share"] = (out["scored_play"] / deciders).where(deciders > 0)
    return out[keys + ["quality", "scored_play", "scored_share", "practice_plays", "text"]]


def path_counts(choices: pd.DataFrame, p: Plays) -> pd.DataFrame:
    """Each distinct path of the scored plays, with its ending and how many learners took it, most taken first."""
    label = [f"{st}: {ch}" for st, ch in zip(choices["step"], choices["choice"])]
    rows = [(m, rp, " → ".join(label[n] if n >= 0 else "(a choice the content does not have)" for n in path), ending, k)
            for (m, rp, path, ending), k in p.scored_paths.items()]
    out = pd.DataFrame(rows, columns=["module", "roleplay", "path", "ending", "learners"]).astype({"learners": "int64"})
    return out.sort_values(["module", "roleplay", "learners", "path"], ascending=[True, True, False, True],
                           kind="stable", ignore_index=True)


def ending_counts(modules: list[Module], p: Plays) -> pd.DataFrame:
    """Every ending of every role-play: outcome, learners reaching it on their scored play, practice plays."""
    keys = ["module", "roleplay", "ending"]
    content = pd.DataFrame([(m.id, rp.id, e.id, e.outcome) for m in modules for rp in m.roleplays for e in rp.endings],
                           columns=keys + ["outcome"])
    scored = Counter()
    for (m, rp, _, ending), k in p.scored_paths.items():
        scored[m, rp, ending] += k
    out = content.copy()
    out["scored_play"] = np.array([scored.get(k, 0) for k in zip(*(content[c] for c in keys))], dtype="int64")
    out["practice_plays"] = [p.practice_endings.get(k, 0) for k in zip(*(content[c] for c in keys))]
    return out


# -- item analysis ------------------------------------------------------------------------------


def _slots(q) -> list[str]:
    if q.kind == "ordering":
        return [f"position {k + 1}" for k in range(len(q.options))]
    if q.kind == "matching":
        return [i.id for i in q.items]
    return [""]


def _pick_counts(q, answers: list) -> Counter:
    """(slot, option id) -> how many of ``answers`` (stored answers to ``q``, as answers.json holds
    them) pick it (:func:`_picked`)."""
    per_slot = tuple({o.id: (slot, o.id) for o in q.options} for slot in _slots(q))
    return Counter(chain.from_iterable(_picked(q.kind, per_slot, a) for a in answers))


def _is_key(q, slot: str, option: str) -> bool:
    if q.kind in ("single", "multiple"):
        return option in q.answer
    slots = _slots(q)
    return slot in slots and slots.index(slot) < len(q.answer) and q.answer[slots.index(slot)] == option


def item_tables(modules: list[Module], scores: Scores, cells: pd.MultiIndex, roster: pd.Index, answers: Answers,
                file_learner: np.ndarray, content: Content) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(analysis: module, question, kind, learners, facility, discrimination, flags; options: module,
    question, slot, option, key, learners, text) for every autograded question of every module,
    over the learners with a score for each of its questions."""
    analyses, options = [], []
    file_module = np.array([m for _, m in answers.keys], dtype=object)
    n_rows = sum(map(len, content.option_rows.values()))
    column = np.full(len(cells) + 1, -1)  # per cell code (and -1, the last entry): its question's column
    for m in modules:
        codes = cells.get_indexer([(m.id, f"{q.id}-test") for q in m.questions])
        column[:] = -1
        column[codes] = np.arange(len(codes))
        on = np.flatnonzero(column[scores.cell] >= 0)
        if not len(on):
            continue
        n_q = len(codes)
        key = scores.learner[on] * n_q + column[scores.cell[on]]
        score = scores.score[on]
        total = np.bincount(key, weights=np.nan_to_num(score), minlength=len(roster) * n_q).reshape(-1, n_q)
        given = np.bincount(key[~np.isnan(score)], minlength=len(roster) * n_q).reshape(-1, n_q) > 0
        asked = given.any(axis=0)  # questions some learner has a score for
        analysed = np.flatnonzero(given[:, asked].all(axis=1))  # learners with a score for each of them
        if not len(analysed):
            continue
        qs = [q for q, a in zip(m.questions, asked) if a]
        wide = pd.DataFrame(total[analysed][:, asked], index=roster[analysed], columns=[q.id for q in qs])
        out = items.item_analysis(wide, {q.id: q.points for q in qs})
        out.insert(0, "module", m.id)
        out.insert(2, "kind", [q.kind for q in qs])
        in_analysis = np.zeros(len(roster) + 1, dtype=bool)  # per learner (and -1, off the roster: the last entry)
        in_analysis[analysed] = True
        graded = (file_module == m.id) & in_analysis[file_learner]  # the files of the learners analysed
        counts = np.bincount(answers.pick_row[graded[answers.pick_file]], minlength=n_rows)
        for n, q in enumerate(qs):
            texts = {o.id: " ".join(o.text.split()) for o in q.options}
            picks = {key: int(counts[row]) for key, row in content.option_rows[m.id, q.id].items()}
            for slot in _slots(q):
                options += [(m.id, q.id, slot, o.id, _is_key(q, slot, o.id), picks[slot, o.id], texts[o.id])
                            for o in q.options]
            if q.kind != "ordering":  # an ordering places every option somewhere
                per_option = Counter()
                for (_, o), k in picks.items():
                    per_option[o] += k
                nobody = items.unpicked(per_option, [o.id for o in q.options])
                if nobody:
                    flag = "options nobody picked: " + ", ".join(nobody)
                    out.loc[n, "flags"] = "; ".join(f for f in (out.loc[n, "flags"], flag) if f)
        analyses.append(out)
    columns = ["module", "question", "kind", "learners", "facility", "discrimination", "flags"]
    analysis = pd.concat(analyses, ignore_index=True) if analyses else pd.DataFrame(columns=columns)
    return analysis[columns], pd.DataFrame(options, columns=["module", "question", "slot", "option", "key", "learners", "text"])


# -- the whole report ---------------------------------------------------------------------------


@dataclass
class Insight:
    """Everything the trainers' report shows (frames as in :data:`CSV_FILES`)."""

    learners: int
    submissions: int
    mastery: dict[str, pd.DataFrame]  # learner, cohort, department, all
    choices: pd.DataFrame
    paths: pd.DataFrame
    endings: pd.DataFrame
    items: pd.DataFrame
    options: pd.DataFrame
    cohort: str | None = None
    notes: list[str] = field(default_factory=list)
    calibration: list[dict] | None = None  # grader agreement per rubric criterion (reporting/calibration.py)
    disagreements: list[dict] = field(default_factory=list)  # the double-graded answers furthest apart


def item_names() -> dict[str, str]:
    """Item id -> its words, in the framework's order: the 42 items, then the values and standards."""
    fw = load_framework()
    names = {i.id: f"{i.id}: {i.text}" for i in fw.items.values()}
    names |= {v.id: f"{v.id}: the value {v.name}" for v in fw.values}
    names |= {s.id: f"{s.id}: the standard {s.name}" for s in fw.standards}
    return names


def build(modules: list[Module], learners: pd.DataFrame, grades: pd.DataFrame,
          answers: Answers | dict[tuple[str, str], dict], cohort: str | None = None) -> Insight:
    """The report's figures from its inputs. Pure.

    learners: employee_id, name, department, cohort (the roster, already narrowed to a cohort)
    grades:   employee_id, module, cell, score (NaN: not yet scored by a trainer) — graded submissions only
    answers:  the answers files of the same submissions, as :func:`read_answers` reads them for
              ``modules``, or parsed: (employee_id, module) -> the file's content
    """
    learners = learners.reset_index(drop=True)
    roster = pd.Index(learners["employee_id"])
    cells = Scores.cells_of(exercise_table(modules))
    scores = Scores.of(grades, roster, cells)
    content = Content.of(modules)
    if not isinstance(answers, Answers):
        answers = Answers.of(content, answers.items())
    file_learner = roster.get_indexer([sid for sid, _ in answers.keys])  # -1: off the roster
    choices = choice_table(modules)
    played = plays(answers, content, choices, file_learner)
    analysis, options = item_tables(modules, scores, cells, roster, answers, file_learner, content)
    rows, item_index = credit(modules, choices, scores, cells, played.decisions)
    return Insight(
        learners=len(np.unique(scores.learner)),
        submissions=scores.submissions,
        mastery=mastery(rows, item_index, learners, item_names()),
        choices=choice_counts(choices, played),
        paths=path_counts(choices, played),
        endings=ending_counts(modules, played),
        items=analysis,
        options=options,
        cohort=cohort,
    )


# -- reading the inputs -------------------------------------------------------------------------


def read_grades(s: Settings) -> pd.DataFrame:
    """Every grade cell of every graded submission, one query: employee_id, module, cell, score
    (the trainer's score where given, else the autograder's; NaN while a reflection waits)."""
    with gradebook(s) as gb:
        query = completion.graded_cells(Student.id, Assignment.name, GradeCell.name, Grade.auto_score,
                                        Grade.manual_score, Grade.needs_manual_grade)
        rows = gb.db.execute(query).all()
    raw = pd.DataFrame(rows, columns=["employee_id", "module", "cell", "auto", "manual", "needs_manual"])
    score = raw["manual"].astype(float).fillna(raw["auto"].astype(float))
    score = score.where(~raw["needs_manual"].astype(bool))  # waiting for a trainer: no score yet
    return raw[["employee_id", "module", "cell"]].assign(score=score)


def read_answers_file(path: Path | str) -> dict:
    """One answers.json, parsed (and migrated, if of an older version); a link, a special file, an oversized or damaged file
    reads as no answers (grading refused such a submission already)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return migrate({})
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ANSWERS_BYTES:
            return migrate({})
        data = os.read(fd, MAX_ANSWERS_BYTES + 1)
    finally:
        os.close(fd)
    try:
        parsed = orjson.loads(data)  # strict UTF-8 and JSON, as json.loads; 2.5x as fast on these files
    except orjson.JSONDecodeError:
        return migrate({})
    # a file of this version is read as it is (the readers skip whatever is malformed); migrate() copies it
    return parsed if type(parsed) is dict and parsed.get("schema_version") == SCHEMA_VERSION else migrate(parsed)


POOL_FROM = 2_000  # answers files from which read_answers parses them in a pool of worker processes


def read_answers(s: Settings, submissions: list[tuple[str, str]], modules: list[Module]) -> Answers:
    """The graded copy's answers.json of each (learner, module), read for ``modules``' content.
    A large cohort's files are parsed in a pool of worker processes (one per CPU), in order."""
    base = os.fspath(s.course_dir / "autograded")  # plain strings: joining 60,000 Paths alone took half a second
    content = Content.of(modules)
    workers = os.cpu_count() or 1
    if workers < 2 or len(submissions) < POOL_FROM:
        return _read_part(base, content, submissions)
    size = -(-len(submissions) // (4 * workers))  # a few parts per worker, so that none waits long for the last
    parts = [submissions[k:k + size] for k in range(0, len(submissions), size)]
    # a worker holds only what it parses (no reference cycles: reference counting frees it all), so
    # Python's cycle collector is off there: each collection walked everything parsed so far again
    with multiprocessing.get_context("fork").Pool(workers, initializer=gc.disable) as pool:
        return Answers.concat(pool.map(partial(_read_part, base, content), parts))


def _read_part(base: str, content: Content, submissions: list[tuple[str, str]]) -> Answers:
    return Answers.of(content, (((sid, m), read_answers_file(os.path.join(base, sid, m, ANSWERS_FILE))) for sid, m in submissions))


def rejected(s: Settings) -> set[tuple[str, str]]:
    """(learner, module) whose latest submission autograde rejected (course/rejections.py's notes)."""
    return {(p.stem, p.parent.name) for p in (s.course_dir / "rejected").glob("*/*.json")}


def load_content() -> list[Module]:
    from curriculum.builder import MODULES_DIR, load_modules

    found = load_modules()
    if not found:
        raise NoContent(f"no module content in {MODULES_DIR}: the trainers' report reads which framework items "
                        "each exercise names from those files (run it from the course's checkout)")
    return found


def gather(s: Settings, cohort: str | None = None) -> Insight:
    """Read the roster, content, gradebook and answers, then :func:`build`."""
    sqlite = s.course_dir / "gradebook.db"
    if s.db_url is None and not sqlite.is_file():
        raise NothingGraded(f"no gradebook at {sqlite}: nothing has been autograded under {s.state_dir} yet "
                            "(hcwh collect, then hcwh autograde)")
    data = roster.load(s)
    if cohort is not None and cohort not in data.plans:
        known = ", ".join(sorted(data.plans)) or "none imported"
        raise completion.UnknownCohort(f"unknown cohort '{cohort}' (known: {known})")
    learners, _ = completion.roster_frames(data)
    if cohort is not None:
        learners = learners[learners["cohort"] == cohort]
    grades = read_grades(s)
    out = rejected(s)
    keys = list(zip(grades["employee_id"], grades["module"]))
    left_out = grades[[k in out for k in keys]]
    grades = grades[[k not in out for k in keys]]
    off_roster = sorted(set(grades["employee_id"]) - set(data.learners))
    submissions = sorted(set(zip(grades["employee_id"], grades["module"])))
    content = load_content()
    insight = build(content, learners, grades, read_answers(s, submissions, content), cohort)
    if len(left_out):
        insight.notes.append(f"{left_out[['employee_id', 'module']].drop_duplicates().shape[0]} submission(s) that autograde "
                             "rejected are left out (the learner hears why in their feedback).")
    if off_roster and cohort is None:
        insight.notes.append(f"{len(off_roster)} graded learner(s) not on the roster are left out: {', '.join(off_roster)}.")
    from autograde.reporting import calibration  # double grading: its own tables in the record

    insight.calibration = calibration.agreement_table(s) or None
    insight.disagreements = calibration.disagreement_table(s, top=10)
    return insight


# -- writing ------------------------------------------------------------------------------------


@dataclass
class InsightFiles:
    folder: Path
    html: Path
    csv: dict[str, Path]
    manifest: Path

    def all(self) -> list[Path]:
        return [self.html, *self.csv.values(), self.manifest]


SHARE_PLACES = 4  # the spreadsheet's shares are rounded to this many decimal places
_SHARE_TEXT = np.array([repr(k / 10 ** SHARE_PLACES) for k in range(10 ** SHARE_PLACES + 1)], dtype=object)


def _share_text(values: np.ndarray) -> np.ndarray:
    """Shares rounded to ``SHARE_PLACES`` as the text Python writes for the rounded float ("0.5",
    "0.2913", "1.0"; None where there is none), from a table: a million floats written one by one
    took most of the spreadsheet's half second."""
    scaled = np.rint(values * 10 ** SHARE_PLACES)
    out = np.full(len(values), None, dtype=object)
    table = (scaled >= 0) & (scaled <= 10 ** SHARE_PLACES)  # NaN is neither
    out[table] = _SHARE_TEXT[scaled[table].astype("int64")]
    other = np.flatnonzero(~table & ~np.isnan(values))  # a share above 1 (a trainer's score above the points)
    out[other] = [repr(round(float(v), SHARE_PLACES)) for v in values[other]]
    return out


def learners_wide(rows: pd.DataFrame, items: list[str]) -> pd.DataFrame:
    """The per-learner mastery as a spreadsheet reads it: one row per learner (by employee id), and
    per item of ``items`` (in that order) its share, as text rounded to ``SHARE_PLACES``, and the
    exercises behind it (``AUTH-B1 share``, ``AUTH-B1 exercises``; empty where no exercise of the
    learner's names the item). ``rows``: :func:`mastery`'s per-learner table."""
    keys = MASTERY_KEYS["learner"]
    learner, who = pd.factorize(rows["employee_id"], sort=True)  # an employee id is one learner
    item = pd.Index(items).get_indexer(rows["item"])
    share = np.full((len(who), len(items)), np.nan)
    share[learner, item] = rows["share"].to_numpy(dtype=float)
    exercises = np.zeros((len(who), len(items)), dtype="int64")
    exercises[learner, item] = rows["exercises"].to_numpy()
    named = np.zeros((len(who), len(items)), dtype=bool)
    named[learner, item] = True
    first = np.zeros(len(who), dtype="int64")
    first[learner[::-1]] = np.arange(len(rows))[::-1]  # each learner's first row
    columns = {}
    for k, it in enumerate(items):
        columns[f"{it} share"] = _share_text(share[:, k])
        columns[f"{it} exercises"] = pd.arrays.IntegerArray(exercises[:, k], ~named[:, k])  # missing: an empty cell
    return pd.concat([rows.iloc[first][keys].reset_index(drop=True), pd.DataFrame(columns)], axis=1)


def frames(t: Insight) -> dict[str, pd.DataFrame]:
    m = t.mastery
    return {"mastery-learners": learners_wide(m["learner"], list(m["all"]["item"])), "mastery-cohorts": m["cohort"], "mastery-departments": m["department"],
            "mastery-all": m["all"], "choices": t.choices, "paths": t.paths, "endings": t.endings,
            "items": t.items, "options": t.options}


def _pivot(rows: pd.DataFrame, by: str) -> dict:
    """Items × groups: each cell the share and the exercises behind it, for the HTML."""
    groups = sorted(rows[by].unique()) if len(rows) else []
    cells: dict[str, dict[str, dict]] = {}
    for r in rows.to_dict("records"):
        cells.setdefault(r["item_text"], {})[r[by]] = r
    return {"groups": groups, "rows": [(text, cells[text]) for text in dict.fromkeys(rows["item_text"])]}


def _learner_rows(rows: pd.DataFrame) -> list[dict]:
    """One row per learner (``rows``: the per-learner mastery, each learner's rows together): their
    overall share, items, and the items under ``WEAK``; by cohort, then name."""
    if rows.empty:
        return []
    sid = rows["employee_id"].to_numpy()
    start = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    earned, possible = (np.add.reduceat(rows[c].to_numpy(dtype=float), start) for c in ("earned", "possible"))
    item, under = rows["item"].to_numpy(), (rows["share"] < WEAK).to_numpy()
    bounds = np.r_[start, len(rows)]
    weak = [", ".join(item[a:b][under[a:b]]) if under[a:b].any() else "" for a, b in zip(bounds[:-1], bounds[1:])]
    total = rows.iloc[start][["employee_id", "name", "department", "cohort"]].reset_index(drop=True)
    total = total.assign(earned=earned, possible=possible, items=np.diff(bounds), share=earned / possible, weak=weak)
    return total.sort_values(["cohort", "name", "employee_id"]).to_dict("records")


def render_html(t: Insight, generated_at: datetime, timezone_name: str) -> str:
    everyone = t.mastery["all"]
    weakest = everyone[everyone["possible"] > 0].sort_values(["share", "item"]).head(5)
    item_chart = report.bar_chart([(r["item"], 100 * r["share"],
                                    f"{100 * r['share']:.1f}% ({r['exercises']} ex.)")
                                   for r in everyone.to_dict("records")])
    ending_charts = []
    for (module, rp), group in t.endings.groupby(["module", "roleplay"], sort=False):
        played = int(group["scored_play"].sum())
        rows = [(f"{r['ending']} ({r['outcome']})", r["scored_play"], f"{r['scored_play']} of {played} learners")
                for r in group.to_dict("records")]
        ending_charts.append({"module": module, "roleplay": rp, "played": played,
                              "chart": report.bar_chart(rows, maximum=max(played, 1), ticks=(0, max(played, 1)), unit="")})
    small = [(m, int(n)) for m, n in t.items.groupby("module", sort=False)["learners"].max().items() if n < items.MIN_LEARNERS]
    context = {
        "title": TITLE, "cohort": t.cohort, "generated_at": generated_at, "timezone": timezone_name,
        "learner_count": t.learners, "submission_count": t.submissions, "notes": t.notes,
        "weakest": weakest.to_dict("records"), "item_chart": item_chart,
        "by_cohort": _pivot(t.mastery["cohort"], "cohort"), "by_department": _pivot(t.mastery["department"], "department"),
        "learners": _learner_rows(t.mastery["learner"]), "weak_below": WEAK,
        "choices": t.choices.to_dict("records"), "paths": t.paths.to_dict("records"), "ending_charts": ending_charts,
        "items": t.items.to_dict("records"), "options": t.options.to_dict("records"),
        "small": small, "min_learners": items.MIN_LEARNERS, "calibration": t.calibration, "disagreements": t.disagreements,
        "csv_files": [f"{name}.csv" for name in CSV_FILES], "quality_share": QUALITY_SHARE,
    }
    return report.environment().get_template("insight.html.j2").render(**context)


def write_files(folder_root: Path, t: Insight, generated_at: datetime, timezone_name: str,
                audit_head: audit.Head) -> InsightFiles:
    """One new snapshot folder of ``t`` under ``folder_root`` (the trainers' folder); returns the paths."""
    folder = report.snapshot_folder(folder_root, generated_at)
    files = InsightFiles(folder, folder / "insight.html", {n: folder / f"{n}.csv" for n in CSV_FILES},
                         folder / "manifest.json")
    with create_private(files.html) as f:
        f.write(render_html(t, generated_at, timezone_name))
    data = frames(t)
    for name, path in files.csv.items():
        report.write_csv(path, data[name])
    report.write_manifest(files.manifest, [files.html, *files.csv.values()], {
        "report": "trainers' insight (hcwh insight)", "generated_at": generated_at.isoformat(timespec="seconds"),
        "cohort": t.cohort, "timezone": timezone_name, "learners": t.learners, "submissions": t.submissions,
        "rows": {name: len(frame) for name, frame in data.items()},
    }, audit_head)
    return files


def write_insight(s: Settings, cohort: str | None = None, now: datetime | None = None) -> InsightFiles:
    """``hcwh insight``: gather, build and write a snapshot in ``s.trainer_reports_dir``."""
    insight = gather(s, cohort)
    generated_at = (now or datetime.now(ZoneInfo(s.timezone))).astimezone(ZoneInfo(s.timezone))
    return write_files(s.trainer_reports_dir, insight, generated_at, s.timezone, audit.head(s))
